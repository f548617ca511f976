"""Multicast Listener Discovery for a host (RFC 2710): one listener per joined group and
interface, driven by the :mod:`~tcpip6.stack.machines.mld` graph. Sans-I/O: methods take
``now`` and return actions; random delays come from the ``random.Random`` given.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from ipaddress import IPv6Address

from tcpip6.stack.counters import CounterSet
from tcpip6.stack.machines.graph import TraceSink
from tcpip6.stack.machines.mld import GRAPH, ListenerState

#: RFC 2710 §7.10 [Unsolicited Report Interval].
UNSOLICITED_REPORT_INTERVAL = 10.0
ALL_NODES = IPv6Address("ff02::1")


@dataclass(frozen=True, slots=True)
class SendReport:
    group: IPv6Address


@dataclass(frozen=True, slots=True)
class SendDone:
    """To the link-scope all-routers address (RFC 2710 §4)."""

    group: IPv6Address


MldAction = SendReport | SendDone


@dataclass
class MldCounters(CounterSet):
    reports_sent: int = 0
    dones_sent: int = 0
    queries_received: int = 0
    reports_received: int = 0
    groups_refused: int = 0


def is_reported(group: IPv6Address) -> bool:
    """RFC 2710 §5: never report all-nodes, nor scope 0 (reserved) or 1 (interface-local)."""
    scope = group.packed[1] & 0x0F
    return group != ALL_NODES and scope > 1


class GroupListener:
    """One group on one interface: the RFC 2710 §6 listener with its timer and flag."""

    def __init__(self, group: IPv6Address, label: str = "") -> None:
        self.group = group
        self.timer: float | None = None
        #: "a flag that indicates whether we were the last node to send a Report"
        self.last_reporter = False
        self.trace_label = f"{label}{group}"
        self.trace_sink: TraceSink | None = None
        GRAPH.attach(self)
        self.state: ListenerState

    def fire(self, trigger: str, now: float) -> None:
        getattr(self, trigger)(now=now)


class MulticastListener:
    """The MLD host side of one interface."""

    def __init__(
        self,
        rng: random.Random,
        max_groups: int = 256,
        unsolicited_report_interval: float = UNSOLICITED_REPORT_INTERVAL,
        label: str = "",
    ) -> None:
        self.rng = rng
        self.max_groups = max_groups
        self.unsolicited_report_interval = unsolicited_report_interval
        self.label = label
        self.listeners: dict[IPv6Address, GroupListener] = {}
        self.refs: Counter[IPv6Address] = Counter()
        self.counters = MldCounters()
        self.trace_sink: TraceSink | None = None

    def groups(self) -> list[IPv6Address]:
        return list(self.listeners)

    def join(self, group: IPv6Address, now: float) -> list[MldAction]:
        """RFC 2710 §4: report at once, and again after a random delay up to
        [Unsolicited Report Interval] in case the first is lost. Reference counted."""
        if not is_reported(group):
            return []
        if self.refs[group]:
            self.refs[group] += 1
            return []
        if len(self.listeners) >= self.max_groups:
            self.counters.groups_refused += 1
            return []
        self.refs[group] = 1
        listener = GroupListener(group, self.label)
        listener.trace_sink = self.trace_sink
        self.listeners[group] = listener
        listener.fire("start_listening", now)
        listener.last_reporter = True
        listener.timer = now + self.rng.uniform(0.0, self.unsolicited_report_interval)
        self.counters.reports_sent += 1
        return [SendReport(group)]

    def leave(self, group: IPv6Address, now: float) -> list[MldAction]:
        """RFC 2710 §4: send Done if we were the last host to report."""
        if not self.refs[group]:
            return []
        self.refs[group] -= 1
        if self.refs[group]:
            return []
        del self.refs[group]
        listener = self.listeners.pop(group)
        listener.fire("stop_listening", now)
        listener.timer = None
        GRAPH.detach(listener)
        if listener.last_reporter:
            self.counters.dones_sent += 1
            return [SendDone(group)]
        return []

    def on_query(self, group: IPv6Address, max_response_delay: float, now: float) -> None:
        """A General Query (group ``::``) or a Multicast-Address-Specific Query."""
        self.counters.queries_received += 1
        targets = (
            list(self.listeners.values())
            if group.is_unspecified
            else [self.listeners[group]]
            if group in self.listeners
            else []
        )
        for listener in targets:
            delay = self.rng.uniform(0.0, max_response_delay)
            if listener.state is ListenerState.IDLE_LISTENER:
                listener.fire("query_received", now)
                listener.timer = now + delay
            else:
                listener.fire("query_received", now)
                # §4: reset the timer only if the Max Response Delay is less than the
                # remaining value of the running timer.
                assert listener.timer is not None
                if max_response_delay < listener.timer - now:
                    listener.timer = now + delay

    def on_report(self, group: IPv6Address, now: float) -> None:
        """Another listener reported: stop our timer and clear the flag (suppression)."""
        self.counters.reports_received += 1
        listener = self.listeners.get(group)
        if listener is None:
            return
        if listener.state is ListenerState.DELAYING_LISTENER:
            listener.fire("report_received", now)
            listener.timer = None
            listener.last_reporter = False
        else:
            listener.fire("report_received", now)

    def next_deadline(self) -> float | None:
        times = [x.timer for x in self.listeners.values() if x.timer is not None]
        return min(times) if times else None

    def poll(self, now: float) -> list[MldAction]:
        actions: list[MldAction] = []
        for listener in sorted(self.listeners.values(), key=lambda x: x.group):
            if listener.timer is not None and listener.timer <= now:
                listener.fire("timer_expired", now)
                listener.timer = None
                listener.last_reporter = True
                self.counters.reports_sent += 1
                actions.append(SendReport(listener.group))
        return actions
