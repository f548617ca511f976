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
from dataclasses import dataclass
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
    """One NIC on a segment. ``node`` is what its receiver drives (the host): delivering a
    frame to the port is an event of that node, whose next deadline may change."""

    def __init__(
        self, segment: Segment, mac: bytes, promiscuous: bool = False, order: int = 0
    ) -> None:
        if len(mac) != MAC_LEN:
            raise ValueError("a port address is 6 octets")
        self.segment = segment
        self.mac = mac
        self.promiscuous = promiscuous
        self.filter: frozenset[bytes] = frozenset()
        self.receiver: Receiver | None = None
        self.node: Node | None = None
        #: Its place on the segment: frames reach the ports in the order they attached.
        self.order = order
        self.attached = True
        self._up = True

    @property
    def up(self) -> bool:
        return self._up

    @up.setter
    def up(self, value: bool) -> None:
        self._up = value
        if value:
            self.segment.down.discard(self)
        elif self.attached:
            self.segment.down.add(self)

    # FramePort
    def send_frame(self, frame: bytes) -> None:
        if self._up:
            self.segment.transmit(self, frame)

    def set_multicast_filter(self, link_addresses: frozenset[bytes]) -> None:
        old = self.filter
        self.filter = frozenset(link_addresses)
        self.segment.refilter(self, old, self.filter)

    def accepts(self, dst: bytes) -> bool:
        if self.promiscuous or dst == self.mac or dst == BROADCAST:
            return True
        return is_multicast_mac(dst) and dst in self.filter


class Segment:
    """A shared Ethernet segment (a hub, or a switch that floods: same observable result for
    the hosts, since each port filters). The ports are indexed by unicast address and by
    the multicast addresses they accept, so that a frame costs its receivers, not every
    port of the segment; they receive in the order they attached, as a hub would deliver."""

    def __init__(self, network: SimNetwork, name: str, mtu: int = 1500) -> None:
        self.network = network
        self.name = name
        self.mtu = mtu
        self.impairments = Impairments()
        self.ports: list[SimPort] = []
        self.counters = SegmentCounters()
        self.taps: list[Callable[[bytes, float], None]] = []
        #: Ports that are attached and down (they neither send nor receive).
        self.down: set[SimPort] = set()
        self._by_mac: dict[bytes, list[SimPort]] = {}
        self._by_group: dict[bytes, list[SimPort]] = {}
        self._promiscuous: list[SimPort] = []
        self._attached = 0

    def attach(self, mac: bytes, promiscuous: bool = False) -> SimPort:
        self._attached += 1
        port = SimPort(self, mac, promiscuous, order=self._attached)
        self.ports.append(port)
        self._by_mac.setdefault(mac, []).append(port)
        if promiscuous:
            self._promiscuous.append(port)
        return port

    def detach(self, port: SimPort) -> None:
        self.ports.remove(port)
        self._by_mac[port.mac].remove(port)
        if port in self._promiscuous:
            self._promiscuous.remove(port)
        self.refilter(port, port.filter, frozenset())
        self.down.discard(port)
        port.attached = False

    def refilter(self, port: SimPort, old: frozenset[bytes], new: frozenset[bytes]) -> None:
        """``port`` now accepts the multicast addresses ``new`` instead of ``old``."""
        if not port.attached:
            return
        for mac in old - new:
            group = self._by_group.get(mac)
            if group is not None and port in group:
                group.remove(port)
                if not group:
                    del self._by_group[mac]
        for mac in new - old:
            self._by_group.setdefault(mac, []).append(port)

    def _accepting(self, dst: bytes) -> list[SimPort]:
        """The ports whose filter takes ``dst``, in the order they attached."""
        if dst == BROADCAST:
            return self.ports
        # is_multicast_mac(dst), the I/G bit, read in place (every frame).
        index = self._by_group if dst[0] & 1 else self._by_mac
        found = index.get(dst, [])
        if self._promiscuous:
            found = list({*found, *self._promiscuous})
        if len(found) > 1:
            found = sorted(found, key=_port_order)
        return found

    def transmit(self, sender: SimPort, frame: bytes) -> None:
        net = self.network
        now = net.now
        counters = self.counters
        counters.frames_sent += 1
        if len(frame) > self.mtu + 14:
            counters.frames_too_big += 1
            return
        for tap in self.taps:
            tap(frame, now)
        imp = self.impairments
        rng = net.rng
        receivers = [p for p in self._accepting(frame[:MAC_LEN]) if p is not sender and p._up]
        # Every other port that is up and attached saw the frame and filtered it out.
        others = len(self.ports) - len(self.down) - (1 if sender.attached else 0)
        counters.frames_filtered += others - len(receivers)
        if not (imp.duplicate or imp.loss or imp.jitter or imp.reorder):
            at = now + imp.delay
            queue = net._queue
            for port in receivers:
                # net.schedule(at, port, frame), written out: every frame comes this way.
                net._seq += 1
                heapq.heappush(queue, (at, net._seq, port, frame))
            return
        for port in receivers:
            copies = 1
            if imp.duplicate and rng.random() < imp.duplicate:
                copies = 2
                counters.frames_duplicated += 1
            for _ in range(copies):
                if imp.loss and rng.random() < imp.loss:
                    counters.frames_lost += 1
                    continue
                at = now + imp.delay
                if imp.jitter:
                    at += rng.uniform(0.0, imp.jitter)
                if imp.reorder and rng.random() < imp.reorder:
                    at += imp.reorder_delay
                    counters.frames_reordered += 1
                net.schedule(at, port, frame)


def _port_order(port: SimPort) -> int:
    return port.order


class SimNetwork:
    """The world: a fake clock, segments, the nodes it polls, and the frames in flight.

    The next event is the earlier of the first frame in flight and the first node deadline,
    both kept in priority queues. A node's deadline is asked again only when the node may
    have changed it: after a frame was delivered to it, after it was polled, and, for the
    nodes added with an ``owner`` (a NIC's transmit queue, a loopback port), whenever their
    owner was (what the owner sends goes through them, and the other way round). Anything
    done to a node from outside the world (a test, an application) happens between calls:
    :meth:`run_until` and :meth:`step` ask every node once when they start.
    """

    def __init__(self, seed: int = 0, start: float = 0.0) -> None:
        self.now = start
        self.rng = random.Random(seed)
        self.segments: dict[str, Segment] = {}
        self.nodes: list[Node] = []
        self._queue: list[tuple[float, int, SimPort, bytes]] = []
        self._seq = 0
        #: Per node (by index): its deadline as last asked, when it is in the heap.
        self._node_at: list[float | None] = []
        self._node_heap: list[tuple[float, int]] = []
        #: Per node: the indices of the nodes touched with it (itself, owner, companions).
        self._group: list[list[int]] = []
        #: Per node: the nodes whose deadline polling it may change.
        self._polled: list[list[int]] = []
        self._index: dict[int, int] = {}  # id(node) -> index
        self._dirty: set[int] = set()

    def segment(self, name: str, mtu: int = 1500) -> Segment:
        if name not in self.segments:
            self.segments[name] = Segment(self, name, mtu)
        return self.segments[name]

    def add_node(
        self, node: Node, owner: Node | None = None, *, reaches_owner: bool = True
    ) -> None:
        """Drive ``node``; ``owner``: the node whose calls may change its deadline (and
        whose deadline its own calls may change, unless ``reaches_owner`` is False: a
        NIC's transmit queue hands frames to the segment, never to its host)."""
        index = len(self.nodes)
        self.nodes.append(node)
        self._index[id(node)] = index
        self._node_at.append(None)
        group = [index]
        if owner is not None:
            group = self._group[self._index[id(owner)]]
            group.append(index)
        self._group.append(group)
        self._polled.append(group if reaches_owner else [index])
        self._dirty.add(index)

    def touch(self, node: Node) -> None:
        """``node`` was called from inside the world: ask its deadline again."""
        self._dirty.update(self._group[self._index[id(node)]])

    def schedule(self, at: float, port: SimPort, frame: bytes) -> None:
        self._seq += 1
        heapq.heappush(self._queue, (at, self._seq, port, frame))

    def in_flight(self) -> int:
        return len(self._queue)

    # -- the node deadline queue ---------------------------------------------------------
    def _ask(self, index: int) -> None:
        deadline = self.nodes[index].next_deadline()
        node_at = self._node_at
        if deadline != node_at[index]:
            node_at[index] = deadline
            if deadline is not None:
                heap = self._node_heap
                heapq.heappush(heap, (deadline, index))
                if len(heap) > 4 * len(node_at) + 64:
                    self._compact()

    def _ask_dirty(self) -> None:
        dirty = self._dirty
        if not dirty:
            return
        nodes = self.nodes
        node_at = self._node_at
        heap = self._node_heap
        limit = 4 * len(node_at) + 64
        while dirty:
            index = dirty.pop()
            deadline = nodes[index].next_deadline()
            if deadline != node_at[index]:
                node_at[index] = deadline
                if deadline is not None:
                    heapq.heappush(heap, (deadline, index))
                    if len(heap) > limit:
                        self._compact()
                        heap = self._node_heap

    def _compact(self) -> None:
        self._node_heap = [(d, i) for i, d in enumerate(self._node_at) if d is not None]
        heapq.heapify(self._node_heap)

    def refresh(self) -> None:
        """Ask every node its next deadline (something outside the world may have set one)."""
        self._dirty.update(range(len(self.nodes)))
        self._ask_dirty()

    def _node_head(self) -> float | None:
        heap = self._node_heap
        at = self._node_at
        while heap:
            deadline, index = heap[0]
            if at[index] == deadline:
                return deadline
            heapq.heappop(heap)
        return None

    def _next_event(self) -> float | None:
        if self._dirty:  # (a step ends having asked every node it touched)
            self._ask_dirty()
        best = self._node_head()
        if self._queue and (best is None or self._queue[0][0] < best):
            return self._queue[0][0]
        return best

    def step(self, limit: float) -> bool:
        """Run the next event if it is due by ``limit``; False when there is none."""
        self.refresh()
        return self._step(limit)

    def _step(self, limit: float) -> bool:
        at = self._next_event()
        if at is None or at > limit:
            return False
        if at > self.now:
            self.now = at
        now = self.now
        queue = self._queue
        index = self._index
        dirty = self._dirty
        groups = self._group
        heappop = heapq.heappop
        while queue and queue[0][0] <= now:
            _, _, port, frame = heappop(queue)
            receiver = port.receiver
            if port._up and receiver is not None:
                port.segment.counters.frames_delivered += 1
                receiver(frame, now)
                node = port.node
                if node is not None:
                    dirty.update(groups[index[id(node)]])
        self._ask_dirty()
        # The nodes due now, polled in the order they were added (each at most once).
        heap = self._node_heap
        if not heap or heap[0][0] > now:
            return True
        node_at = self._node_at
        due: list[int] = []
        while heap and heap[0][0] <= now:
            deadline, i = heapq.heappop(heap)
            if node_at[i] == deadline:
                node_at[i] = None
                due.append(i)
        heapq.heapify(due)
        visited: set[int] = set()
        nodes = self.nodes
        polled = self._polled
        while due:
            i = heapq.heappop(due)
            if i in visited:
                continue
            visited.add(i)
            node = nodes[i]
            when = node.next_deadline()
            if when is not None and when <= now:
                node.poll(now)
            dirty.update(polled[i])
            # A node later in the order that became due now is polled in this step too.
            while dirty:
                j = dirty.pop()
                asked = nodes[j].next_deadline()
                if j > i and j not in visited and asked is not None and asked <= now:
                    node_at[j] = None
                    heapq.heappush(due, j)
                    continue
                # self._ask(j) with the deadline just asked (a node's deadline does not
                # change between two questions with no call in between).
                if asked != node_at[j]:
                    node_at[j] = asked
                    if asked is not None:
                        heapq.heappush(heap, (asked, j))
                        if len(heap) > 4 * len(node_at) + 64:
                            self._compact()
                            heap = self._node_heap
        return True

    def run_until(self, until: float, max_events: int = 1_000_000) -> None:
        """Advance the clock to ``until``, running every event on the way."""
        self.refresh()
        for _ in range(max_events):
            if not self._step(until):
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
