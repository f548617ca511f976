"""Events the host reports to its user (the application, the CLI, ``--trace``).

Subsystems return their own action values to the host; the host turns them into packets
and, where a person or an application should know, into these events (drained with
:meth:`~tcpip6.stack.host.Host.drain_events`). Bounded: the oldest events are dropped and
counted when nobody drains them.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from ipaddress import IPv6Address


@dataclass(frozen=True, slots=True)
class HostEvent:
    now: float
    interface: str


@dataclass(frozen=True, slots=True)
class AddressConfigured(HostEvent):
    address: IPv6Address
    prefix_length: int
    origin: str


@dataclass(frozen=True, slots=True)
class AddressOptimistic(HostEvent):
    """RFC 4429 §3.3: usable while DAD runs (AddressConfigured follows when it ends)."""

    address: IPv6Address
    prefix_length: int
    origin: str


@dataclass(frozen=True, slots=True)
class DuplicateAddress(HostEvent):
    address: IPv6Address
    link_local: bool


@dataclass(frozen=True, slots=True)
class AddressRemoved(HostEvent):
    address: IPv6Address


@dataclass(frozen=True, slots=True)
class NeighborUnreachableEvent(HostEvent):
    neighbor: IPv6Address


@dataclass(frozen=True, slots=True)
class LogMessage(HostEvent):
    level: str
    text: str


class EventLog:
    """A bounded queue of host events."""

    def __init__(self, limit: int = 1024) -> None:
        self._events: deque[HostEvent] = deque()
        self.limit = limit
        self.dropped = 0

    def push(self, event: HostEvent) -> None:
        if len(self._events) >= self.limit:
            self._events.popleft()
            self.dropped += 1
        self._events.append(event)

    def drain(self) -> list[HostEvent]:
        out = list(self._events)
        self._events.clear()
        return out

    def __len__(self) -> int:
        return len(self._events)
