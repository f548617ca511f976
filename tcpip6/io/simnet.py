"""An in-memory Ethernet segment: the embedded default (no root, no sockets).

Any number of hosts attach to a :class:`Segment` through :class:`SimPort` objects (the
:class:`~tcpip6.stack.link.FramePort` of their Ethernet link). Delivery is deterministic:
frames are events on the :class:`SimNetwork`'s queue, timed by its fake clock, and every
impairment (loss, duplication, reordering, delay) is drawn from a seeded ``random.Random``.
A whole network of hosts runs in one process; :meth:`SimNetwork.run_until` moves time.

A port behaves like a NIC's filter: it accepts frames to its own address, to broadcast,
and to the multicast addresses its host programmed (``set_multicast_filter``), unless it
is promiscuous.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from tcpip6.wire.ethernet import BROADCAST, MAC_LEN, is_multicast_mac


class Node(Protocol):
    """Something the network drives: a :class:`~tcpip6.stack.host.Host` in practice."""

    def poll(self, now: float) -> float | None: ...

    def next_deadline(self) -> float | None: ...


Receiver = Callable[[bytes, float], None]


@dataclass
class Impairments:
    """Knobs of a segment. Probabilities are per frame and per receiving port."""

    delay: float = 0.0001  # seconds from transmit to delivery
    jitter: float = 0.0  # extra uniform random delay in [0, jitter]
    loss: float = 0.0
    duplicate: float = 0.0
    reorder: float = 0.0  # probability a frame is held back by reorder_delay
    reorder_delay: float = 0.005


@dataclass
class SegmentCounters:
    frames_sent: int = 0
    frames_delivered: int = 0
    frames_lost: int = 0
    frames_duplicated: int = 0
    frames_reordered: int = 0
    frames_filtered: int = 0
    frames_too_big: int = 0


class SimPort:
    """One NIC on a segment."""

    def __init__(self, segment: Segment, mac: bytes, promiscuous: bool = False) -> None:
        if len(mac) != MAC_LEN:
            raise ValueError("a port address is 6 octets")
        self.segment = segment
        self.mac = mac
        self.promiscuous = promiscuous
        self.filter: frozenset[bytes] = frozenset()
        self.receiver: Receiver | None = None
        self.up = True

    # FramePort
    def send_frame(self, frame: bytes) -> None:
        if self.up:
            self.segment.transmit(self, frame)

    def set_multicast_filter(self, link_addresses: frozenset[bytes]) -> None:
        self.filter = frozenset(link_addresses)

    def accepts(self, dst: bytes) -> bool:
        if self.promiscuous or dst == self.mac or dst == BROADCAST:
            return True
        return is_multicast_mac(dst) and dst in self.filter


class Segment:
    """A shared Ethernet segment (a hub, or a switch that floods: same observable result for
    the hosts, since each port filters)."""

    def __init__(self, network: SimNetwork, name: str, mtu: int = 1500) -> None:
        self.network = network
        self.name = name
        self.mtu = mtu
        self.impairments = Impairments()
        self.ports: list[SimPort] = []
        self.counters = SegmentCounters()
        self.taps: list[Callable[[bytes, float], None]] = []

    def attach(self, mac: bytes, promiscuous: bool = False) -> SimPort:
        port = SimPort(self, mac, promiscuous)
        self.ports.append(port)
        return port

    def detach(self, port: SimPort) -> None:
        self.ports.remove(port)

    def transmit(self, sender: SimPort, frame: bytes) -> None:
        net = self.network
        now = net.now
        self.counters.frames_sent += 1
        if len(frame) > self.mtu + 14:
            self.counters.frames_too_big += 1
            return
        for tap in self.taps:
            tap(frame, now)
        imp = self.impairments
        rng = net.rng
        dst = frame[:MAC_LEN]
        for port in self.ports:
            if port is sender or not port.up:
                continue
            if not port.accepts(dst):
                self.counters.frames_filtered += 1
                continue
            copies = 1
            if imp.duplicate and rng.random() < imp.duplicate:
                copies = 2
                self.counters.frames_duplicated += 1
            for _ in range(copies):
                if imp.loss and rng.random() < imp.loss:
                    self.counters.frames_lost += 1
                    continue
                at = now + imp.delay
                if imp.jitter:
                    at += rng.uniform(0.0, imp.jitter)
                if imp.reorder and rng.random() < imp.reorder:
                    at += imp.reorder_delay
                    self.counters.frames_reordered += 1
                net.schedule(at, port, frame)


@dataclass(order=True)
class _Delivery:
    at: float
    seq: int
    port: SimPort = field(compare=False)
    frame: bytes = field(compare=False)


class SimNetwork:
    """The world: a fake clock, segments, the nodes it polls, and the frames in flight."""

    def __init__(self, seed: int = 0, start: float = 0.0) -> None:
        self.now = start
        self.rng = random.Random(seed)
        self.segments: dict[str, Segment] = {}
        self.nodes: list[Node] = []
        self._queue: list[_Delivery] = []
        self._seq = 0

    def segment(self, name: str, mtu: int = 1500) -> Segment:
        if name not in self.segments:
            self.segments[name] = Segment(self, name, mtu)
        return self.segments[name]

    def add_node(self, node: Node) -> None:
        self.nodes.append(node)

    def schedule(self, at: float, port: SimPort, frame: bytes) -> None:
        self._seq += 1
        heapq.heappush(self._queue, _Delivery(at, self._seq, port, frame))

    def in_flight(self) -> int:
        return len(self._queue)

    def _next_event(self) -> float | None:
        times = [d for n in self.nodes if (d := n.next_deadline()) is not None]
        if self._queue:
            times.append(self._queue[0].at)
        return min(times) if times else None

    def step(self, limit: float) -> bool:
        """Run the next event if it is due by ``limit``; False when there is none."""
        at = self._next_event()
        if at is None or at > limit:
            return False
        self.now = max(self.now, at)
        while self._queue and self._queue[0].at <= self.now:
            d = heapq.heappop(self._queue)
            if d.port.up and d.port.receiver is not None:
                d.port.segment.counters.frames_delivered += 1
                d.port.receiver(d.frame, self.now)
        for node in self.nodes:
            deadline = node.next_deadline()
            if deadline is not None and deadline <= self.now:
                node.poll(self.now)
        return True

    def run_until(self, until: float, max_events: int = 1_000_000) -> None:
        """Advance the clock to ``until``, running every event on the way."""
        for _ in range(max_events):
            if not self.step(until):
                break
        else:
            raise RuntimeError(f"simnet: more than {max_events} events before t={until}")
        self.now = max(self.now, until)

    def run_for(self, seconds: float, max_events: int = 1_000_000) -> None:
        self.run_until(self.now + seconds, max_events)

    def run_until_idle(self, max_time: float = 3600.0, max_events: int = 1_000_000) -> None:
        """Run until no frame is in flight and no deadline is due before ``now + max_time``."""
        self.run_until(self.now + max_time, max_events)


def mac_for(index: int) -> bytes:
    """A locally administered unicast MAC for simulated NIC number ``index``."""
    return bytes([0x02, 0x00, 0x5E, (index >> 16) & 0xFF, (index >> 8) & 0xFF, index & 0xFF])
