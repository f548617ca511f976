"""The Neighbor Cache (RFC 4861 §5.1, §7.2, §7.3): MSR IPv6's NCEs, one cache per
interface, bounded, least-recently-used eviction, a small queue of packets per entry
awaiting resolution.

Sans-I/O: every method takes ``now`` and returns actions (frozen dataclasses below) that
the host turns into packets. Entries change state only through the NCE graph
(:mod:`tcpip6.stack.machines.nce`).
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass
from ipaddress import IPv6Address

from tcpip6.stack.counters import CounterSet
from tcpip6.stack.machines.graph import TraceSink
from tcpip6.stack.machines.nce import GRAPH, NceState
from tcpip6.stack.params import (
    DELAY_FIRST_PROBE_TIME,
    MAX_MULTICAST_SOLICIT,
    MAX_UNICAST_SOLICIT,
    InterfaceParameters,
)
from tcpip6.stack.timers import DeadlineQueue

# -- actions ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SendSolicitation:
    """Send an NS for ``target``: multicast to its solicited-node group when
    ``link_address`` is None, else unicast to that link address (NUD probe)."""

    target: IPv6Address
    link_address: bytes | None


@dataclass(frozen=True, slots=True)
class TransmitPackets:
    """Send these IPv6 packets to ``neighbor`` at ``link_address`` (queued ones, or the
    one being sent)."""

    neighbor: IPv6Address
    link_address: bytes
    packets: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class ResolutionFailed:
    """§7.2.2: resolution failed; the host answers each packet with ICMPv6 destination
    unreachable (code 3, address unreachable)."""

    target: IPv6Address
    packets: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class NeighborUnreachable:
    """§7.3.3: probing failed; the entry is gone. Routers among them leave the default
    router choice (§6.3.6)."""

    target: IPv6Address
    was_router: bool


@dataclass(frozen=True, slots=True)
class RouterFlagCleared:
    """§7.2.5: IsRouter went from TRUE to FALSE: remove it from the Default Router List."""

    target: IPv6Address


NdAction = (
    SendSolicitation
    | TransmitPackets
    | ResolutionFailed
    | NeighborUnreachable
    | (RouterFlagCleared)
)


@dataclass
class NeighborCounters(CounterSet):
    entries_created: int = 0
    entries_evicted: int = 0
    entries_unreachable: int = 0
    queue_overflow_drop: int = 0
    evicted_packets_drop: int = 0
    solicitations_sent: int = 0
    probes_sent: int = 0
    resolutions_failed: int = 0


class NeighborCacheEntry:
    """An NCE (RFC 4861 §5.1): the neighbor's address, its link-layer address, IsRouter,
    reachability state (the graph's), probe count, the timer, queued packets."""

    # No __slots__: the graph gives each entry its trigger methods (transitions' add_model).

    def __init__(
        self, neighbor: IPv6Address, state: NceState, queue_limit: int, label: str = ""
    ) -> None:
        self.neighbor = neighbor
        self.link_address: bytes | None = None
        self.is_router = False
        self.probes = 0
        self.timer: float | None = None
        self.queue: deque[bytes] = deque(maxlen=queue_limit)
        self.trace_label = f"{label}{neighbor}"
        self.trace_sink: TraceSink | None = None
        GRAPH.attach(self, initial=state)
        self.state: NceState

    def __repr__(self) -> str:
        lla = self.link_address.hex(":") if self.link_address else "-"
        return f"<NCE {self.neighbor} {lla} {self.state.name}{' router' if self.is_router else ''}>"

    def fire(self, trigger: str, now: float) -> None:
        getattr(self, trigger)(now=now)


class NeighborCache:
    """The neighbor cache of one interface."""

    def __init__(
        self,
        params: InterfaceParameters,
        capacity: int = 256,
        queue_limit: int = 3,
        label: str = "",
    ) -> None:
        self.params = params
        self.capacity = capacity
        self.queue_limit = queue_limit
        self.label = label
        self.entries: OrderedDict[IPv6Address, NeighborCacheEntry] = OrderedDict()
        self.timers: DeadlineQueue[IPv6Address] = DeadlineQueue()
        self.counters = NeighborCounters()
        self.trace_sink: TraceSink | None = None

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, addr: IPv6Address) -> NeighborCacheEntry | None:
        return self.entries.get(addr)

    # -- entry life ---------------------------------------------------------------------
    def _create(
        self, addr: IPv6Address, state: NceState, actions: list[NdAction]
    ) -> NeighborCacheEntry:
        if len(self.entries) >= self.capacity:
            self._evict(actions)
        nce = NeighborCacheEntry(addr, state, self.queue_limit, self.label)
        nce.trace_sink = self.trace_sink
        self.entries[addr] = nce
        self.counters.entries_created += 1
        return nce

    def _evict(self, actions: list[NdAction]) -> None:
        """Least recently used first, sparing INCOMPLETE and PERMANENT entries if possible."""
        victim = next(
            (
                e
                for e in self.entries.values()
                if e.state not in (NceState.INCOMPLETE, NceState.PERMANENT)
            ),
            None,
        )
        if victim is None:
            victim = next(
                (e for e in self.entries.values() if e.state is not NceState.PERMANENT), None
            )
        if victim is None:
            raise OverflowError("neighbor cache full of permanent entries")
        self.counters.entries_evicted += 1
        self.counters.evicted_packets_drop += len(victim.queue)
        self._remove(victim)

    def _remove(self, nce: NeighborCacheEntry) -> None:
        self.entries.pop(nce.neighbor, None)
        self.timers.cancel(nce.neighbor)
        GRAPH.detach(nce)

    def remove(self, addr: IPv6Address) -> None:
        nce = self.entries.get(addr)
        if nce is not None:
            self._remove(nce)

    def _touch(self, nce: NeighborCacheEntry) -> None:
        self.entries.move_to_end(nce.neighbor)

    def _arm(self, nce: NeighborCacheEntry, deadline: float | None) -> None:
        nce.timer = deadline
        if deadline is None:
            self.timers.cancel(nce.neighbor)
        else:
            self.timers.arm(nce.neighbor, deadline)

    def _enter_reachable(self, nce: NeighborCacheEntry, now: float) -> None:
        nce.probes = 0
        self._arm(nce, now + self.params.reachable_time)

    def _enter_stale(self, nce: NeighborCacheEntry) -> None:
        nce.probes = 0
        self._arm(nce, None)  # STALE runs no timer: the next packet sent starts DELAY

    def _flush_queue(self, nce: NeighborCacheEntry, actions: list[NdAction]) -> None:
        if nce.queue and nce.link_address is not None:
            actions.append(TransmitPackets(nce.neighbor, nce.link_address, tuple(nce.queue)))
            nce.queue.clear()

    def add_static(self, addr: IPv6Address, link_address: bytes, is_router: bool = False) -> None:
        """A PERMANENT entry: no ND for this neighbor (static, or a configured tunnel)."""
        self.remove(addr)
        nce = self._create(addr, NceState.PERMANENT, [])
        nce.link_address = link_address
        nce.is_router = is_router

    # -- the send path (§7.2.2, §7.3.3) -------------------------------------------------
    def resolve(self, addr: IPv6Address, packet: bytes, now: float) -> list[NdAction]:
        actions: list[NdAction] = []
        nce = self.entries.get(addr)
        if nce is None:
            # §7.2.2: create INCOMPLETE, queue, multicast an NS, start the retransmit timer.
            nce = self._create(addr, NceState.INCOMPLETE, actions)
            nce.queue.append(packet)
            nce.probes = 1
            self.counters.solicitations_sent += 1
            actions.append(SendSolicitation(addr, None))
            self._arm(nce, now + self.params.retrans_timer)
            return actions
        self._touch(nce)
        if nce.state is NceState.INCOMPLETE:
            if len(nce.queue) == nce.queue.maxlen:
                self.counters.queue_overflow_drop += 1  # the oldest packet is replaced
            nce.queue.append(packet)
            return actions
        assert nce.link_address is not None
        if nce.state is NceState.STALE:
            nce.fire("send_packet", now)
            self._arm(nce, now + DELAY_FIRST_PROBE_TIME)
        actions.append(TransmitPackets(addr, nce.link_address, (packet,)))
        return actions

    # -- ND input ---------------------------------------------------------------------
    def on_link_address(
        self,
        addr: IPv6Address,
        link_address: bytes,
        now: float,
        *,
        is_router: bool | None = None,
        create: bool = True,
    ) -> list[NdAction]:
        """A source (or Redirect target) link-layer address from an NS (§7.2.3), RS
        (§6.2.6), RA (§6.3.4) or Redirect (§8.3). ``is_router`` True for RAs, False for
        RSs (a host), None when the message says nothing about it."""
        actions: list[NdAction] = []
        nce = self.entries.get(addr)
        if nce is None:
            if not create:
                return actions
            nce = self._create(addr, NceState.STALE, actions)
            nce.link_address = link_address
        elif nce.state is NceState.PERMANENT:
            return actions
        elif nce.link_address != link_address:
            nce.link_address = link_address
            nce.fire("lla_changed", now)
            self._enter_stale(nce)
            self._flush_queue(nce, actions)
        else:
            nce.fire("lla_same", now)
        if is_router is not None:
            self._set_router(nce, is_router, actions)
        return actions

    def on_neighbor_advertisement(
        self,
        target: IPv6Address,
        link_address: bytes | None,
        router: bool,
        solicited: bool,
        override: bool,
        now: float,
    ) -> list[NdAction]:
        """RFC 4861 §7.2.5."""
        actions: list[NdAction] = []
        nce = self.entries.get(target)
        if nce is None or nce.state is NceState.PERMANENT:
            return actions  # "no entry: the advertisement SHOULD be silently discarded"
        if nce.state is NceState.INCOMPLETE:
            if link_address is None:
                return actions  # "If no Target Link-Layer Address option ... discard"
            nce.link_address = link_address
            if solicited:
                nce.fire("solicited_na", now)
                self._enter_reachable(nce, now)
            else:
                nce.fire("unsolicited_na_new_lla", now)
                self._enter_stale(nce)
            nce.is_router = router
            self._flush_queue(nce, actions)
            return actions
        different = link_address is not None and link_address != nce.link_address
        if not override and different:
            # "the advertisement is ignored except REACHABLE becomes STALE".
            was_reachable = nce.state is NceState.REACHABLE
            nce.fire("na_new_lla_no_override", now)
            if was_reachable:
                self._enter_stale(nce)
            return actions
        if override and different:
            nce.link_address = link_address
        if solicited:
            nce.fire("solicited_na", now)
            self._enter_reachable(nce, now)
        elif override and different:
            nce.fire("unsolicited_na_new_lla", now)
            self._enter_stale(nce)
        else:
            nce.fire("unsolicited_na_same_lla", now)
        self._set_router(nce, router, actions)
        return actions

    def _set_router(self, nce: NeighborCacheEntry, router: bool, actions: list[NdAction]) -> None:
        if nce.is_router and not router:
            actions.append(RouterFlagCleared(nce.neighbor))
        nce.is_router = router

    def upper_layer_hint(self, addr: IPv6Address, now: float) -> None:
        """§7.3.1: forward progress seen by an upper layer confirms reachability."""
        nce = self.entries.get(addr)
        if nce is None:
            return
        nce.fire("reachability_confirmed", now)
        if nce.state is NceState.REACHABLE:
            self._enter_reachable(nce, now)

    # -- timers (§7.2.2, §7.3.3) ---------------------------------------------------------
    def next_deadline(self) -> float | None:
        return self.timers.next_deadline()

    def poll(self, now: float) -> list[NdAction]:
        actions: list[NdAction] = []
        for addr in self.timers.pop_due(now):
            nce = self.entries.get(addr)
            if nce is not None:
                nce.timer = None
                self._expire(nce, now, actions)
        return actions

    def _expire(self, nce: NeighborCacheEntry, now: float, actions: list[NdAction]) -> None:
        state = nce.state
        retrans = self.params.retrans_timer
        if state is NceState.INCOMPLETE:
            if nce.probes < MAX_MULTICAST_SOLICIT:
                nce.fire("retransmit_timeout", now)
                nce.probes += 1
                self.counters.solicitations_sent += 1
                actions.append(SendSolicitation(nce.neighbor, None))
                self._arm(nce, now + retrans)
            else:
                nce.fire("resolution_failed", now)
                self.counters.resolutions_failed += 1
                actions.append(ResolutionFailed(nce.neighbor, tuple(nce.queue)))
                self._remove(nce)
        elif state is NceState.REACHABLE:
            nce.fire("reachable_timeout", now)
            self._enter_stale(nce)
        elif state is NceState.DELAY:
            nce.fire("delay_timeout", now)
            nce.probes = 1
            self.counters.probes_sent += 1
            actions.append(SendSolicitation(nce.neighbor, nce.link_address))
            self._arm(nce, now + retrans)
        elif state is NceState.PROBE:
            if nce.probes < MAX_UNICAST_SOLICIT:
                nce.fire("probe_timeout", now)
                nce.probes += 1
                self.counters.probes_sent += 1
                actions.append(SendSolicitation(nce.neighbor, nce.link_address))
                self._arm(nce, now + retrans)
            else:
                nce.fire("probes_exhausted", now)
                self.counters.entries_unreachable += 1
                actions.append(NeighborUnreachable(nce.neighbor, nce.is_router))
                self._remove(nce)
