"""The Neighbor Cache (RFC 4861 §5.1, RFC 4861 §7.2, RFC 4861 §7.3): MSR IPv6's NCEs, one
cache per interface, bounded, least-recently-used eviction, a small queue of packets per entry
awaiting resolution.

Against neighbor-cache exhaustion (RFC 6583: a scan of an on-link /64, or spoofed on-link
sources the host answers, asks it to resolve many addresses nobody holds), the cache
keeps apart what it knows from what it is still asking: INCOMPLETE entries have their own
budget (``incomplete_limit``; past it the oldest INCOMPLETE entry goes), new address
resolutions are rate limited (``solicit_rate`` NSs a second, ``solicit_burst`` at once),
and an entry traffic is flowing with (REACHABLE, DELAY, PROBE) is never evicted to make
room for a new entry ND creates, nor a STALE or INCOMPLETE one for an unsolicited entry.

Sans-I/O: every method takes ``now`` and returns actions (frozen dataclasses below) that
the host turns into packets. Entries change state only through the NCE graph
(:mod:`tcpip6.stack.machines.nce`): each method classifies its event into one of the
graph's triggers and fires it; the work tied to the state entered (arm a timer, send a
probe, send the queued packets, report and remove an unreachable neighbor) is done in
:meth:`NeighborCache._enter`.

How the host drives it:

========================================  ================================================
input                                     call
========================================  ================================================
a packet to an on-link next hop           :meth:`NeighborCache.resolve`
NS with a Source Link-Layer Address        :meth:`NeighborCache.on_neighbor_solicitation`
RS / RA / Redirect (with or without the    :meth:`NeighborCache.on_router_message_lla`
link-layer address option)
NA (after RFC 4861 §7.1.2 checks)          :meth:`NeighborCache.on_neighbor_advertisement`
upper-layer forward progress (TCP ACK)     :meth:`NeighborCache.upper_layer_hint`
the deadline :meth:`next_deadline` names   :meth:`NeighborCache.poll`
========================================  ================================================
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable
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

#: The states in which a packet is sent with the entry's link-layer address and the
#: entry does not change (RFC 4861 §7.3.3; PERMANENT: no ND at all). A tuple: its members
#: are found by identity, where a set would hash an Enum member (a Python-level call) for
#: every packet sent.
_SEND_AS_IS = (NceState.REACHABLE, NceState.DELAY, NceState.PROBE, NceState.PERMANENT)

#: Which entries may make room, least recently used first within each group, for a
#: new entry in each state. PERMANENT (configured): any but PERMANENT ones.
#: RFC 6583 §7.1: an entry ND creates (INCOMPLETE for a packet to send, STALE for an
#: unsolicited link-layer address) never evicts one traffic is flowing with.
MAY_EVICT: dict[NceState, tuple[tuple[NceState, ...], ...]] = {
    NceState.PERMANENT: (
        (NceState.STALE,),
        (NceState.REACHABLE, NceState.DELAY, NceState.PROBE),
        (NceState.INCOMPLETE,),
    ),
    NceState.INCOMPLETE: ((NceState.STALE,), (NceState.INCOMPLETE,)),
    NceState.STALE: ((NceState.STALE,),),
}

# -- actions ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SendSolicitation:
    """Send an NS for ``target``: to its solicited-node multicast group when
    ``link_address`` is None (address resolution, RFC 4861 §7.2.2), else unicast to ``target`` at
    that link address (a NUD probe, RFC 4861 §7.3.3). The source address is the sender's choice
    (RFC 4861 §7.2.2: preferably the source of the packet that prompted it)."""

    target: IPv6Address
    link_address: bytes | None


@dataclass(frozen=True, slots=True)
class TransmitPackets:
    """Send these IPv6 packets to ``neighbor`` at ``link_address``: the packets queued
    while it was INCOMPLETE, or the one packet being sent."""

    neighbor: IPv6Address
    link_address: bytes
    packets: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class ResolutionFailed:
    """RFC 4861 §7.2.2: address resolution failed (or the cache had no room for it); the host
    answers each packet with ICMPv6 destination unreachable, code 3 (address
    unreachable). The entry is gone."""

    target: IPv6Address
    packets: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class NeighborUnreachable:
    """RFC 4861 §7.3.3: MAX_UNICAST_SOLICIT probes went unanswered; the entry is gone. If it was a
    router, default router selection (RFC 4861 §6.3.6) should stop preferring it."""

    target: IPv6Address
    was_router: bool


@dataclass(frozen=True, slots=True)
class RouterFlagCleared:
    """RFC 4861 §7.2.5: IsRouter went from TRUE to FALSE: remove ``target`` from the Default Router
    List (and redo next-hop determination for destinations using it)."""

    target: IPv6Address


NdAction = (
    SendSolicitation | TransmitPackets | ResolutionFailed | NeighborUnreachable | RouterFlagCleared
)


@dataclass
class NeighborCounters(CounterSet):
    """What one neighbor cache did, and what it dropped (each drop counted once)."""

    entries_created: int = 0
    entries_evicted: int = 0
    entries_unreachable: int = 0
    resolutions_failed: int = 0
    solicitations_sent: int = 0
    probes_sent: int = 0
    #: RFC 4861 §7.2.2: a packet queued for an INCOMPLETE entry whose queue was full: the oldest
    #: queued packet is dropped.
    queue_overflow_drop: int = 0
    #: Packets queued on an entry that was evicted or removed.
    queued_packets_drop: int = 0
    #: A packet for a new neighbor when no entry may make room: every entry is PERMANENT
    #: or one traffic flows with (REACHABLE, DELAY, PROBE; RFC 6583 §7.1), reported as
    #: ResolutionFailed.
    cache_full_drop: int = 0
    #: RFC 4861 §7.2.5: an NA for a target with no entry ("SHOULD be silently discarded").
    na_no_entry_ignored: int = 0
    #: RFC 4861 §7.2.5: an NA without a Target Link-Layer Address for an INCOMPLETE entry.
    na_no_target_lla_drop: int = 0
    #: RFC 6583 §7.2: of entries_evicted, the INCOMPLETE ones evicted because
    #: ``incomplete_limit`` of them existed (queued packets: queued_packets_drop).
    incomplete_limit_evicted: int = 0
    #: RFC 6583 §7.2: a packet for a neighbor to resolve, refused because new address
    #: resolutions were over their rate (reported as ResolutionFailed).
    solicit_rate_limited_drop: int = 0
    #: RFC 6583 §7.1: an unsolicited link-layer address (NS, RS, RA, Redirect) for a new
    #: neighbor not cached because no STALE entry could make room for it.
    unsolicited_not_cached: int = 0


class NeighborCacheEntry:
    """An NCE (RFC 4861 §5.1): the neighbor's address, its link-layer address, IsRouter,
    reachability state (the graph's), number of unanswered probes, the time of the next
    NUD event, and the packets queued awaiting resolution (at most ``queue_limit``)."""

    def __init__(
        self, neighbor: IPv6Address, state: NceState, queue_limit: int, label: str = ""
    ) -> None:
        self.neighbor = neighbor
        self.link_address: bytes | None = None
        self.is_router = False
        self.probes = 0
        self.timer: float | None = None
        self.queue: deque[bytes] = deque(maxlen=queue_limit)
        #: What the trace names this entry with (before its address), as built on demand.
        self.label = label
        self.trace_sink: TraceSink | None = None
        GRAPH.attach(self, initial=state)
        self.state: NceState

    @property
    def trace_label(self) -> str:
        return f"{self.label}{self.neighbor}"

    def __repr__(self) -> str:
        lla = self.link_address.hex(":") if self.link_address else "-"
        return f"<NCE {self.neighbor} {lla} {self.state.name}{' router' if self.is_router else ''}>"


#: MSR IPv6's name for a Neighbor Cache entry.
NCE = NeighborCacheEntry


class NeighborCache:
    """The neighbor cache of one interface: at most ``capacity`` entries, each queueing
    at most ``queue_limit`` packets. ReachableTime and RetransTimer are read from
    ``params`` each time a timer is armed (Router Advertisements change them)."""

    def __init__(
        self,
        params: InterfaceParameters,
        capacity: int = 256,
        queue_limit: int = 3,
        label: str = "",
        *,
        incomplete_limit: int | None = None,
        solicit_rate: float = 100.0,
        solicit_burst: int = 100,
    ) -> None:
        if capacity < 1 or queue_limit < 1:
            raise ValueError("capacity and queue_limit must be at least 1")
        self.params = params
        self.capacity = capacity
        self.queue_limit = queue_limit
        #: RFC 6583 §7.2: the most INCOMPLETE entries at once (a quarter of the cache,
        #: at least 8 when the cache has room for them).
        self.incomplete_limit = incomplete_limit or min(capacity, max(8, capacity // 4))
        #: RFC 6583 §7.2: new address resolutions, a token bucket (tokens, refilled at).
        self.solicit_rate = solicit_rate
        self.solicit_burst = solicit_burst
        self._tokens = float(solicit_burst)
        self._tokens_at = 0.0
        #: The INCOMPLETE entries, oldest first.
        self.incomplete: OrderedDict[IPv6Address, NeighborCacheEntry] = OrderedDict()
        self.label = label
        #: Least recently used first (a packet sent to an entry moves it to the end).
        self.entries: OrderedDict[IPv6Address, NeighborCacheEntry] = OrderedDict()
        #: Keyed by the entry itself (hashed by identity, not through the address).
        self.timers: DeadlineQueue[NeighborCacheEntry] = DeadlineQueue()
        self.counters = NeighborCounters()
        self.trace_sink: TraceSink | None = None

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, addr: IPv6Address) -> NeighborCacheEntry | None:
        return self.entries.get(addr)

    # -- entry life ---------------------------------------------------------------------
    def _create(self, addr: IPv6Address, state: NceState) -> NeighborCacheEntry | None:
        """A new entry, evicting one if the cache is full; None if no entry may make room
        for it (``MAY_EVICT``)."""
        if state is NceState.INCOMPLETE and len(self.incomplete) >= self.incomplete_limit:
            # RFC 6583 §7.2: a budget of their own; the oldest INCOMPLETE entry goes.
            self.counters.incomplete_limit_evicted += 1
            self.counters.entries_evicted += 1
            self._remove(next(iter(self.incomplete.values())))
        if len(self.entries) >= self.capacity and not self._evict(MAY_EVICT[state]):
            return None
        nce = NeighborCacheEntry(addr, state, self.queue_limit, self.label)
        nce.trace_sink = self.trace_sink
        self.entries[addr] = nce
        if state is NceState.INCOMPLETE:
            self.incomplete[addr] = nce
        self.counters.entries_created += 1
        return nce

    def _victim(self, order: tuple[tuple[NceState, ...], ...]) -> NeighborCacheEntry | None:
        """The least recently used entry of the first group in ``order`` that has one."""
        for wanted in order:
            for nce in self.entries.values():
                if nce.state in wanted:
                    return nce
        return None

    def _evict(self, order: tuple[tuple[NceState, ...], ...]) -> bool:
        victim = self._victim(order)
        if victim is None:
            return False
        self.counters.entries_evicted += 1
        self._remove(victim)
        return True

    def _solicit_allowed(self, now: float) -> bool:
        """RFC 6583 §7.2: a token for a new address resolution (``solicit_rate`` a second,
        at most ``solicit_burst`` saved up)."""
        elapsed = max(0.0, now - self._tokens_at)
        self._tokens = min(float(self.solicit_burst), self._tokens + elapsed * self.solicit_rate)
        self._tokens_at = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True

    def _remove(self, nce: NeighborCacheEntry) -> None:
        self.counters.queued_packets_drop += len(nce.queue)
        nce.queue.clear()
        self.entries.pop(nce.neighbor, None)
        if self.incomplete.get(nce.neighbor) is nce:
            del self.incomplete[nce.neighbor]
        self.timers.cancel(nce)
        GRAPH.detach(nce)

    def remove(self, addr: IPv6Address) -> None:
        """Forget ``addr`` (its queued packets are dropped and counted)."""
        nce = self.entries.get(addr)
        if nce is not None:
            self._remove(nce)

    def add_static(self, addr: IPv6Address, link_address: bytes, is_router: bool = False) -> None:
        """A PERMANENT entry: no ND for this neighbor (static, or a configured tunnel).
        Raises OverflowError if the cache is full of PERMANENT entries."""
        self.remove(addr)
        nce = self._create(addr, NceState.PERMANENT)
        if nce is None:
            raise OverflowError("neighbor cache full of permanent entries")
        nce.link_address = link_address
        nce.is_router = is_router

    def _arm(self, nce: NeighborCacheEntry, deadline: float | None) -> None:
        nce.timer = deadline
        if deadline is None:
            self.timers.cancel(nce)
        else:
            self.timers.arm(nce, deadline)

    # -- the graph --------------------------------------------------------------------
    def _fire(
        self, nce: NeighborCacheEntry, trigger: str, now: float, actions: list[NdAction]
    ) -> None:
        """Fire ``trigger``; unless the graph ignores it in this state, do what entering
        the new state requires."""
        old = nce.state
        GRAPH.fire(nce, trigger, now)
        if old is NceState.INCOMPLETE and nce.state is not NceState.INCOMPLETE:
            self.incomplete.pop(nce.neighbor, None)
        if (old.name, trigger) not in GRAPH.ignored:
            self._enter(nce, now, actions)

    def _enter(self, nce: NeighborCacheEntry, now: float, actions: list[NdAction]) -> None:
        state = nce.state
        if state is NceState.REACHABLE:
            # RFC 4861 §7.3.3: REACHABLE lasts ReachableTime from the last confirmation.
            nce.probes = 0
            self._arm(nce, now + self.params.reachable_time)
            self._flush_queue(nce, actions)
        elif state is NceState.STALE:
            # RFC 4861 §7.3.3: STALE runs no timer; the next packet sent starts DELAY.
            nce.probes = 0
            self._arm(nce, None)
            self._flush_queue(nce, actions)
        elif state is NceState.DELAY:
            self._arm(nce, now + DELAY_FIRST_PROBE_TIME)  # RFC 4861 §7.3.3
        elif state is NceState.PROBE:
            # RFC 4861 §7.3.3: "sends a Neighbor Solicitation and sets a timer to expire after
            # RetransTimer milliseconds".
            nce.probes = 1
            self._probe(nce, now, actions)
        elif state is NceState.UNREACHABLE:
            if nce.link_address is None:
                # RFC 4861 §7.2.2: resolution failed; ICMP errors for the queued packets.
                self.counters.resolutions_failed += 1
                actions.append(ResolutionFailed(nce.neighbor, tuple(nce.queue)))
                nce.queue.clear()
            else:
                # RFC 4861 §7.3.3: "retransmissions cease and the entry SHOULD be deleted".
                self.counters.entries_unreachable += 1
                actions.append(NeighborUnreachable(nce.neighbor, nce.is_router))
            self._remove(nce)

    def _flush_queue(self, nce: NeighborCacheEntry, actions: list[NdAction]) -> None:
        # Appendix C: "Send queued packets" once the link-layer address is recorded.
        if nce.queue and nce.link_address is not None:
            actions.append(TransmitPackets(nce.neighbor, nce.link_address, tuple(nce.queue)))
            nce.queue.clear()

    def _solicit(self, nce: NeighborCacheEntry, now: float, actions: list[NdAction]) -> None:
        self.counters.solicitations_sent += 1
        actions.append(SendSolicitation(nce.neighbor, None))
        self._arm(nce, now + self.params.retrans_timer)

    def _probe(self, nce: NeighborCacheEntry, now: float, actions: list[NdAction]) -> None:
        self.counters.probes_sent += 1
        actions.append(SendSolicitation(nce.neighbor, nce.link_address))
        self._arm(nce, now + self.params.retrans_timer)

    def _set_router(self, nce: NeighborCacheEntry, router: bool, actions: list[NdAction]) -> None:
        # RFC 4861 §7.2.5: "In those cases where the IsRouter flag changes from TRUE to FALSE ...
        # the node MUST remove that router from the Default Router List".
        if nce.is_router and not router:
            actions.append(RouterFlagCleared(nce.neighbor))
        nce.is_router = router

    # -- the send path (RFC 4861 §7.2.2, RFC 4861 §7.3.3) -----------------------------------
    def ready(self, addr: IPv6Address) -> bytes | None:
        """The link-layer address a packet for ``addr`` goes to now, when sending it changes
        nothing but the entry's place in the cache (REACHABLE, DELAY, PROBE: RFC 4861 §7.3.3; a
        PERMANENT entry); None when :meth:`resolve` has more to do (no entry, INCOMPLETE,
        STALE). What :meth:`resolve` would do, without building its action."""
        nce = self.entries.get(addr)
        if nce is None or nce.state not in _SEND_AS_IS or nce.link_address is None:
            return None
        self.entries.move_to_end(addr)
        return nce.link_address

    def resolve(self, addr: IPv6Address, packet: bytes, now: float) -> list[NdAction]:
        """A packet for the on-link neighbor ``addr``: transmitted now, or queued while
        its link-layer address is resolved."""
        actions: list[NdAction] = []
        nce = self.entries.get(addr)
        if nce is None:
            # RFC 4861 §7.2.2: "the sender creates one, sets its state to INCOMPLETE, initiates
            # Address Resolution, and then queues the data packet".
            if not self._solicit_allowed(now):
                self.counters.solicit_rate_limited_drop += 1
                return [ResolutionFailed(addr, (packet,))]
            nce = self._create(addr, NceState.INCOMPLETE)
            if nce is None:
                self.counters.cache_full_drop += 1
                return [ResolutionFailed(addr, (packet,))]
            nce.queue.append(packet)
            nce.probes = 1
            self._solicit(nce, now, actions)
            return actions
        self.entries.move_to_end(addr)
        if nce.state is NceState.INCOMPLETE:
            # RFC 4861 §7.2.2: "If the queue overflows, the new packet SHOULD replace the oldest".
            if len(nce.queue) == nce.queue.maxlen:
                self.counters.queue_overflow_drop += 1
            nce.queue.append(packet)
            return actions
        if nce.state is NceState.STALE:
            self._fire(nce, "send_packet", now, actions)  # RFC 4861 §7.3.3: STALE -> DELAY
        assert nce.link_address is not None
        actions.append(TransmitPackets(addr, nce.link_address, (packet,)))
        return actions

    # -- ND input ---------------------------------------------------------------------
    def on_neighbor_solicitation(
        self, source: IPv6Address, link_address: bytes | None, now: float
    ) -> list[NdAction]:
        """RFC 4861 §7.2.3: an NS from ``source`` (not the unspecified address) carrying a Source
        Link-Layer Address option (None if it had none)."""
        return self.on_link_address(source, link_address, now)

    def on_router_message_lla(
        self,
        source: IPv6Address,
        link_address: bytes | None,
        now: float,
        *,
        is_router: bool | None,
    ) -> list[NdAction]:
        """The link-layer address option of an RS (RFC 4861 §6.2.6: ``is_router=False``, "the
        entry's IsRouter flag MUST be set to FALSE"), an RA (RFC 4861 §6.3.4: ``is_router=True``,
        also when the RA has no Source Link-Layer Address but an entry exists) or a
        Redirect (RFC 4861 §8.3: for the target; ``is_router=True`` when the target differs from
        the destination, else None)."""
        return self.on_link_address(source, link_address, now, is_router=is_router)

    def on_link_address(
        self,
        addr: IPv6Address,
        link_address: bytes | None,
        now: float,
        *,
        is_router: bool | None = None,
    ) -> list[NdAction]:
        """The rule NS, RS, RA and Redirect share (Appendix C): create a STALE entry for a
        new neighbor; a different link-layer address replaces the cached one and the
        entry becomes STALE; the same one, or none, changes nothing. Then IsRouter is
        set when the message says (``is_router`` not None)."""
        actions: list[NdAction] = []
        nce = self.entries.get(addr)
        if nce is None:
            if link_address is None:
                return actions  # Appendix C: "NS, RS, Redirect; no link-layer address: -"
            nce = self._create(addr, NceState.STALE)
            if nce is None:
                self.counters.unsolicited_not_cached += 1
                return actions
            nce.link_address = link_address
        elif nce.state is NceState.PERMANENT:
            return actions
        elif link_address is not None and link_address != nce.link_address:
            # RFC 4861 §7.2.3: "the cached address should be replaced by the received address,
            # and the entry's reachability state MUST be set to STALE".
            nce.link_address = link_address
            self._fire(nce, "lla_changed", now, actions)
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
        """RFC 4861 §7.2.5: a valid NA for ``target`` with its Target Link-Layer Address (None if
        absent) and its R, S and O flags."""
        actions: list[NdAction] = []
        nce = self.entries.get(target)
        if nce is None:
            self.counters.na_no_entry_ignored += 1  # "SHOULD be silently discarded"
            return actions
        if nce.state is NceState.PERMANENT:
            return actions
        if nce.state is NceState.INCOMPLETE:
            if link_address is None:
                self.counters.na_no_target_lla_drop += 1
                return actions
            # "It records the link-layer address ... If the advertisement's Solicited
            # flag is set, the state of the entry is set to REACHABLE; otherwise, it is
            # set to STALE. It sets the IsRouter flag ... It sends any packets queued".
            nce.link_address = link_address
            trigger = "solicited_na" if solicited else "unsolicited_na_new_lla"
            self._fire(nce, trigger, now, actions)
            self._set_router(nce, router, actions)
            return actions
        different = link_address is not None and link_address != nce.link_address
        if not override and different:
            # I: "a. If the state of the entry is REACHABLE, set it to STALE, but do not
            # update the entry in any other way. b. Otherwise, the received advertisement
            # should be ignored".
            self._fire(nce, "na_new_lla_no_override", now, actions)
            return actions
        # II: Override set, or the same link-layer address, or none.
        if different:
            nce.link_address = link_address
        if solicited:
            self._fire(nce, "solicited_na", now, actions)
        elif different:
            self._fire(nce, "unsolicited_na_new_lla", now, actions)
        self._set_router(nce, router, actions)
        return actions

    def attachment_probe(self, addr: IPv6Address, now: float) -> list[NdAction]:
        """Detecting network attachment (``Host.link_up``): probe ``addr`` (a router of the
        previous attachment) with unicast NSs to the link-layer address it had: NUD's PROBE
        (RFC 4861 §7.3.3), so a solicited NA makes it REACHABLE (the same link is back) and
        silence removes it. Nothing for an entry without a link-layer address, or a static
        one."""
        actions: list[NdAction] = []
        nce = self.entries.get(addr)
        if nce is None or nce.state in (NceState.INCOMPLETE, NceState.PERMANENT):
            return actions
        self._fire(nce, "attachment_probe", now, actions)
        return actions

    def upper_layer_hint(self, addr: IPv6Address, now: float) -> None:
        """RFC 4861 §7.3.1: forward progress seen by an upper layer confirms reachability."""
        nce = self.entries.get(addr)
        if nce is not None:
            self._fire(nce, "reachability_confirmed", now, [])

    # -- timers (RFC 4861 §7.2.2, RFC 4861 §7.3.3) ------------------------------------------
    def next_deadline(self) -> float | None:
        return self.timers.next_deadline()

    def poll(self, now: float) -> list[NdAction]:
        """Run every entry timer due at ``now``."""
        actions: list[NdAction] = []
        for nce in self.timers.pop_due(now):
            if self.entries.get(nce.neighbor) is nce:
                nce.timer = None
                self._expire(nce, now, actions)
        return actions

    def _retransmit(
        self,
        nce: NeighborCacheEntry,
        limit: int,
        send: Callable[[NeighborCacheEntry, float, list[NdAction]], None],
        exhausted: str,
        now: float,
        actions: list[NdAction],
    ) -> None:
        """Send another solicitation (``nce.probes`` counts them) until ``limit`` went
        unanswered, then fire ``exhausted``."""
        if nce.probes < limit:
            nce.probes += 1
            send(nce, now, actions)
        else:
            self._fire(nce, exhausted, now, actions)

    def _expire(self, nce: NeighborCacheEntry, now: float, actions: list[NdAction]) -> None:
        state = nce.state
        if state is NceState.INCOMPLETE:
            # RFC 4861 §7.2.2: retransmit "every RetransTimer milliseconds until ... or
            # MAX_MULTICAST_SOLICIT solicitations have been sent without a response".
            limit, exhausted = MAX_MULTICAST_SOLICIT, "resolution_failed"
            self._retransmit(nce, limit, self._solicit, exhausted, now, actions)
        elif state is NceState.REACHABLE:
            self._fire(nce, "reachable_timeout", now, actions)
        elif state is NceState.DELAY:
            self._fire(nce, "delay_timeout", now, actions)
        elif state is NceState.PROBE:
            # RFC 4861 §7.3.3: "retransmissions of ... MAX_UNICAST_SOLICIT solicitations".
            limit, exhausted = MAX_UNICAST_SOLICIT, "probes_exhausted"
            self._retransmit(nce, limit, self._probe, exhausted, now, actions)
