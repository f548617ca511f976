"""The neighbor cache on a fake clock: NUD scenarios (RFC 4861 §7.3.3), address resolution
(RFC 4861 §7.2.2), and the bounds on entries and queued packets."""

from __future__ import annotations

from ipaddress import IPv6Address

import pytest

from tcpip6.stack import neighbors as nb
from tcpip6.stack.machines.graph import TransitionRecord
from tcpip6.stack.machines.nce import NceState
from tcpip6.stack.params import InterfaceParameters

ROUTER = IPv6Address("fe80::1")
HOST = IPv6Address("fe80::2")
MAC_A = b"\x02\x00\x00\x00\x00\x0a"
MAC_B = b"\x02\x00\x00\x00\x00\x0b"


class Clock:
    """Runs a cache's timers up to a given time, collecting (time, action)."""

    def __init__(self, cache: nb.NeighborCache) -> None:
        self.cache = cache
        self.now = 0.0
        self.log: list[tuple[float, nb.NdAction]] = []

    def run_until(self, t: float) -> list[tuple[float, nb.NdAction]]:
        start = len(self.log)
        while (deadline := self.cache.next_deadline()) is not None and deadline <= t:
            self.now = deadline
            self.log += [(deadline, a) for a in self.cache.poll(deadline)]
        self.now = t
        return self.log[start:]


def stale_router(params: InterfaceParameters | None = None) -> tuple[nb.NeighborCache, Clock]:
    """A cache holding ROUTER as a STALE router entry (learned from an RA, RFC 4861 §6.3.4)."""
    cache = nb.NeighborCache(params or InterfaceParameters())
    assert cache.on_router_message_lla(ROUTER, MAC_A, 0.0, is_router=True) == []
    nce = cache.get(ROUTER)
    assert nce is not None and nce.state is NceState.STALE and nce.is_router
    return cache, Clock(cache)


def test_stale_delay_probe_then_silence_removes_the_entry() -> None:
    cache, clock = stale_router()
    records: list[TransitionRecord] = []
    cache.get(ROUTER).trace_sink = records.append  # type: ignore[union-attr]
    clock.now = 10.0
    # RFC 4861 §7.3.3: the first packet to a STALE entry goes out at once and starts DELAY.
    assert cache.resolve(ROUTER, b"p1", 10.0) == [nb.TransmitPackets(ROUTER, MAC_A, (b"p1",))]
    assert cache.get(ROUTER).state is NceState.DELAY  # type: ignore[union-attr]
    assert cache.next_deadline() == 15.0
    # DELAY_FIRST_PROBE_TIME later: PROBE, then MAX_UNICAST_SOLICIT unicast NSs a
    # RetransTimer apart, then the entry is deleted and reported.
    probe = nb.SendSolicitation(ROUTER, MAC_A)
    assert clock.run_until(30.0) == [
        (15.0, probe),
        (16.0, probe),
        (17.0, probe),
        (18.0, nb.NeighborUnreachable(ROUTER, was_router=True)),
    ]
    assert cache.get(ROUTER) is None
    assert cache.next_deadline() is None
    assert cache.counters.probes_sent == 3
    assert cache.counters.entries_unreachable == 1
    assert [(r.old, r.new, r.rfc) for r in records] == [
        ("STALE", "DELAY", "4861 §7.3.3"),
        ("DELAY", "PROBE", "4861 §7.3.3"),
        ("PROBE", "UNREACHABLE", "4861 §7.3.3"),
    ]


def test_an_upper_layer_hint_in_delay_makes_the_entry_reachable_without_a_probe() -> None:
    params = InterfaceParameters(reachable_time=20.0)
    cache, clock = stale_router(params)
    cache.resolve(ROUTER, b"p1", 0.0)
    clock.run_until(2.0)
    cache.upper_layer_hint(ROUTER, 2.0)  # RFC 4861 §7.3.1: e.g. a TCP ACK for new data
    nce = cache.get(ROUTER)
    assert nce is not None and nce.state is NceState.REACHABLE
    assert cache.next_deadline() == 22.0
    # No probe at the old DELAY deadline; a packet while REACHABLE just goes out.
    assert clock.run_until(10.0) == []
    assert cache.resolve(ROUTER, b"p2", 10.0) == [nb.TransmitPackets(ROUTER, MAC_A, (b"p2",))]
    assert nce.state is NceState.REACHABLE
    # ReachableTime later with no new confirmation: STALE, and no timer.
    assert clock.run_until(100.0) == []
    assert (nce.state, cache.next_deadline()) == (NceState.STALE, None)


def test_reachable_time_is_read_when_the_timer_is_armed() -> None:
    """RAs change ReachableTime (RFC 4861 §6.3.4); the next confirmation uses the new value."""
    params = InterfaceParameters(reachable_time=30.0)
    cache, _ = stale_router(params)
    cache.upper_layer_hint(ROUTER, 1.0)
    assert cache.next_deadline() == 31.0
    params.reachable_time = 12.5
    cache.on_neighbor_advertisement(ROUTER, MAC_A, True, True, False, 2.0)
    assert cache.next_deadline() == 14.5


def test_address_resolution_queues_packets_and_sends_them_on_the_advertisement() -> None:
    cache = nb.NeighborCache(InterfaceParameters(), queue_limit=3)
    # RFC 4861 §7.2.2: a new INCOMPLETE entry, a multicast NS, the packet queued.
    assert cache.resolve(HOST, b"p1", 0.0) == [nb.SendSolicitation(HOST, None)]
    for i in range(2, 6):
        assert cache.resolve(HOST, f"p{i}".encode(), 0.1) == []
    # "If the queue overflows, the new packet SHOULD replace the oldest one."
    assert list(cache.get(HOST).queue) == [b"p3", b"p4", b"p5"]  # type: ignore[union-attr]
    assert cache.counters.queue_overflow_drop == 2
    actions = cache.on_neighbor_advertisement(HOST, MAC_B, False, True, True, 0.5)
    assert actions == [nb.TransmitPackets(HOST, MAC_B, (b"p3", b"p4", b"p5"))]
    nce = cache.get(HOST)
    assert nce is not None and nce.state is NceState.REACHABLE and not nce.queue


def test_resolution_fails_after_max_multicast_solicit() -> None:
    cache = nb.NeighborCache(InterfaceParameters(retrans_timer=2.0))
    clock = Clock(cache)
    cache.resolve(HOST, b"p1", 0.0)
    cache.resolve(HOST, b"p2", 0.5)
    ns = nb.SendSolicitation(HOST, None)
    assert clock.run_until(60.0) == [
        (2.0, ns),
        (4.0, ns),
        (6.0, nb.ResolutionFailed(HOST, (b"p1", b"p2"))),
    ]
    assert cache.get(HOST) is None
    assert cache.counters.solicitations_sent == 3
    assert cache.counters.resolutions_failed == 1
    assert cache.counters.queued_packets_drop == 0  # handed back, not dropped


def test_router_flag_cleared_by_an_advertisement_and_set_by_an_ra_without_lla() -> None:
    cache, _ = stale_router()
    # RFC 4861 §7.2.5: IsRouter TRUE -> FALSE must reach the Default Router List.
    actions = cache.on_neighbor_advertisement(ROUTER, None, False, False, True, 1.0)
    assert actions == [nb.RouterFlagCleared(ROUTER)]
    assert cache.get(ROUTER).is_router is False  # type: ignore[union-attr]
    # RFC 4861 §6.3.4: an RA without a Source Link-Layer Address still sets IsRouter on the entry.
    assert cache.on_router_message_lla(ROUTER, None, 2.0, is_router=True) == []
    assert cache.get(ROUTER).is_router is True  # type: ignore[union-attr]
    # Appendix C: no option and no entry: nothing is created.
    assert cache.on_router_message_lla(HOST, None, 3.0, is_router=True) == []
    assert cache.get(HOST) is None


def test_an_advertisement_for_an_unknown_target_is_ignored_and_counted() -> None:
    cache = nb.NeighborCache(InterfaceParameters())
    assert cache.on_neighbor_advertisement(HOST, MAC_B, False, True, True, 0.0) == []
    assert cache.get(HOST) is None
    assert cache.counters.na_no_entry_ignored == 1


def test_a_permanent_entry_ignores_neighbor_discovery() -> None:
    cache = nb.NeighborCache(InterfaceParameters())
    cache.add_static(HOST, MAC_B)
    cache.on_neighbor_solicitation(HOST, MAC_A, 0.0)
    cache.on_neighbor_advertisement(HOST, MAC_A, True, False, True, 0.0)
    cache.upper_layer_hint(HOST, 0.0)
    assert cache.resolve(HOST, b"p", 1.0) == [nb.TransmitPackets(HOST, MAC_B, (b"p",))]
    nce = cache.get(HOST)
    assert nce is not None
    assert (nce.state, nce.link_address, nce.is_router) == (NceState.PERMANENT, MAC_B, False)
    assert cache.next_deadline() is None


def addr(i: int) -> IPv6Address:
    return IPv6Address(f"fe80::{i:x}")


def test_eviction_takes_the_least_recently_used_stale_entry_first() -> None:
    cache = nb.NeighborCache(InterfaceParameters(), capacity=4)
    cache.on_neighbor_solicitation(addr(1), MAC_A, 0.0)  # STALE
    cache.on_neighbor_solicitation(addr(2), MAC_A, 0.0)  # STALE
    cache.resolve(addr(3), b"q", 0.0)  # INCOMPLETE
    cache.on_neighbor_solicitation(addr(4), MAC_A, 0.0)
    cache.upper_layer_hint(addr(4), 0.0)  # REACHABLE
    cache.resolve(addr(1), b"p", 0.0)  # addr(1) used: now DELAY, most recently used
    cache.on_neighbor_solicitation(addr(5), MAC_B, 0.1)
    assert list(cache.entries) == [addr(3), addr(4), addr(1), addr(5)]  # addr(2) went
    cache.resolve(addr(5), b"r", 0.1)  # DELAY: no STALE entry left
    # RFC 6583 §7.1: no entry traffic flows with (REACHABLE, DELAY) makes room for an
    # unsolicited one, nor the INCOMPLETE addr(3): addr(6) is not cached.
    cache.on_neighbor_solicitation(addr(6), MAC_B, 0.2)
    assert list(cache.entries) == [addr(3), addr(4), addr(1), addr(5)]
    assert (cache.counters.entries_evicted, cache.counters.unsolicited_not_cached) == (1, 1)
    # A packet to send: the INCOMPLETE addr(3) may make room, REACHABLE addr(4) may not.
    cache.resolve(addr(7), b"s", 0.3)
    assert list(cache.entries) == [addr(4), addr(1), addr(5), addr(7)]
    assert cache.resolve(addr(8), b"t", 0.3) == [nb.SendSolicitation(addr(8), None)]
    assert list(cache.entries) == [addr(4), addr(1), addr(5), addr(8)]
    assert cache.counters.entries_evicted == 3
    assert len(cache) == cache.capacity


def test_incomplete_entries_go_last_and_their_packets_are_counted() -> None:
    cache = nb.NeighborCache(InterfaceParameters(), capacity=2)
    cache.resolve(addr(1), b"a", 0.0)
    cache.resolve(addr(1), b"b", 0.0)
    cache.resolve(addr(2), b"c", 0.0)
    cache.resolve(addr(3), b"d", 0.0)  # only INCOMPLETE entries: the oldest goes
    assert list(cache.entries) == [addr(2), addr(3)]
    assert cache.counters.entries_evicted == 1
    assert cache.counters.queued_packets_drop == 2
    cache.remove(addr(2))
    assert cache.counters.queued_packets_drop == 3


def test_a_cache_full_of_permanent_entries_refuses_new_neighbors() -> None:
    cache = nb.NeighborCache(InterfaceParameters(), capacity=2)
    cache.add_static(addr(1), MAC_A)
    cache.add_static(addr(2), MAC_B)
    assert cache.resolve(addr(3), b"p", 0.0) == [nb.ResolutionFailed(addr(3), (b"p",))]
    assert cache.counters.cache_full_drop == 1
    assert cache.on_neighbor_solicitation(addr(3), MAC_A, 0.0) == []
    assert len(cache) == 2
    with pytest.raises(OverflowError):
        cache.add_static(addr(3), MAC_A)


def _cache_in(state: NceState) -> nb.NeighborCache:
    """A cache holding ROUTER in ``state`` (no entry for UNREACHABLE: it is removed)."""
    if state is NceState.PERMANENT:
        cache = nb.NeighborCache(InterfaceParameters())
        cache.add_static(ROUTER, MAC_A)
        return cache
    if state in (NceState.INCOMPLETE, NceState.UNREACHABLE):
        cache = nb.NeighborCache(InterfaceParameters())
        if state is NceState.INCOMPLETE:
            cache.resolve(ROUTER, b"first", 0.0)
        return cache
    cache, _ = stale_router()
    if state is NceState.REACHABLE:
        cache.upper_layer_hint(ROUTER, 0.0)
    elif state in (NceState.DELAY, NceState.PROBE):
        cache.resolve(ROUTER, b"first", 0.0)
        if state is NceState.PROBE:
            cache.poll(5.0)
    return cache


@pytest.mark.parametrize("state", list(NceState))
def test_ready_answers_only_where_resolve_would_just_send(state: NceState) -> None:
    """``ready`` is what ``resolve`` does when sending changes nothing: the same link
    address, the entry in the same state; elsewhere it says None and changes nothing."""
    ours, theirs = _cache_in(state), _cache_in(state)
    before = ours.get(ROUTER)
    assert (before.state if before else None) in (state, None)
    link_address = ours.ready(ROUTER)
    actions = theirs.resolve(ROUTER, b"p", 1.0)
    after_ours, after_theirs = ours.get(ROUTER), theirs.get(ROUTER)
    if link_address is not None:
        assert state in (NceState.REACHABLE, NceState.DELAY, NceState.PROBE, NceState.PERMANENT)
        assert actions == [nb.TransmitPackets(ROUTER, link_address, (b"p",))]
        assert after_ours is not None and after_theirs is not None
        assert after_ours.state is after_theirs.state is state
    else:
        assert state in (NceState.INCOMPLETE, NceState.STALE, NceState.UNREACHABLE)
        assert (after_ours.state if after_ours else None) == (before.state if before else None)


def test_new_resolutions_are_rate_limited_and_incomplete_entries_budgeted() -> None:
    # RFC 6583 §7.2: a burst of 4, then 10 a second; at most 3 INCOMPLETE entries.
    cache = nb.NeighborCache(
        InterfaceParameters(), incomplete_limit=3, solicit_rate=10.0, solicit_burst=4
    )
    for i in range(4):
        assert cache.resolve(addr(i), b"p", 0.0) == [nb.SendSolicitation(addr(i), None)]
    assert list(cache.incomplete) == [addr(1), addr(2), addr(3)]  # addr(0) went
    assert cache.resolve(addr(9), b"q", 0.0) == [nb.ResolutionFailed(addr(9), (b"q",))]
    assert cache.resolve(addr(3), b"r", 0.0) == []  # an existing entry: no token needed
    assert cache.resolve(addr(9), b"q", 0.1) == [nb.SendSolicitation(addr(9), None)]
    c = cache.counters
    assert (c.incomplete_limit_evicted, c.solicit_rate_limited_drop) == (2, 1)
    assert c.queued_packets_drop == 2
    # An answer takes the entry out of the budget.
    cache.on_neighbor_advertisement(addr(3), MAC_A, False, True, False, 0.1)
    assert list(cache.incomplete) == [addr(2), addr(9)]
