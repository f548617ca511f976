"""What the NCE and MLD model tests did not look at, found by `make mutants`
(bench/mutants.py): the counters of an entry given up by NUD and of the MLD messages
heard, the packets an INCOMPLETE entry queues by default, which entry a full cache gives
up, the bound of a default address table, and that a trace sink set on an MLD listener
reaches the addresses already reported."""

from __future__ import annotations

import dataclasses
import random
from ipaddress import IPv6Address

import pytest

from tcpip6.stack import addresses, mld, neighbors
from tcpip6.stack.machines.graph import TransitionRecord
from tcpip6.stack.machines.nce import NceState
from tcpip6.stack.params import InterfaceParameters

A, B, C, D, E = (IPv6Address(f"fe80::{i}") for i in range(1, 6))
LLA = b"\x02\x00\x00\x00\x00\x01"


def _reachable(cache: neighbors.NeighborCache, addr: IPv6Address, now: float) -> None:
    # RFC 4861 §7.2.2 / RFC 4861 §7.2.5: a packet starts resolution, the solicited NA completes it.
    cache.resolve(addr, b"first", now)
    cache.on_neighbor_advertisement(addr, LLA, False, True, False, now)
    entry = cache.get(addr)
    assert entry is not None and entry.state is NceState.REACHABLE


def test_an_entry_given_up_by_nud_is_counted_once() -> None:
    cache = neighbors.NeighborCache(InterfaceParameters())
    _reachable(cache, A, 0.0)
    cache.poll(100.0)  # RFC 4861 §7.3.3: ReachableTime passed, REACHABLE -> STALE
    cache.resolve(A, b"again", 100.0)  # STALE -> DELAY
    unreachable = []
    for step in range(1, 200):
        unreachable += [
            a for a in cache.poll(100.0 + step / 4) if isinstance(a, neighbors.NeighborUnreachable)
        ]
    # RFC 4861 §7.3.3: MAX_UNICAST_SOLICIT probes unanswered, "the entry SHOULD be deleted".
    assert unreachable == [neighbors.NeighborUnreachable(A, False)]
    assert cache.get(A) is None
    assert cache.counters.entries_unreachable == 1
    assert cache.counters.resolutions_failed == 0


def test_an_incomplete_entry_queues_three_packets_by_default() -> None:
    # RFC 4861 §7.2.2: "If the queue overflows, the new packet SHOULD replace the oldest";
    # the cache's documented default queue is 3 packets per entry.
    cache = neighbors.NeighborCache(InterfaceParameters())
    for packet in (b"p1", b"p2", b"p3", b"p4"):
        cache.resolve(A, packet, 0.0)
    assert cache.counters.queue_overflow_drop == 1
    sent = cache.on_neighbor_advertisement(A, LLA, False, True, False, 0.5)
    assert neighbors.TransmitPackets(A, LLA, (b"p2", b"p3", b"p4")) in sent


def test_a_full_cache_gives_up_stale_entries_first_then_resolved_ones() -> None:
    cache = neighbors.NeighborCache(InterfaceParameters(), capacity=3)
    _reachable(cache, A, 0.0)  # the least recently used
    cache.on_neighbor_solicitation(B, LLA, 1.0)  # RFC 4861 §7.2.3: a new entry, STALE
    entry = cache.get(B)
    assert entry is not None and entry.state is NceState.STALE
    cache.add_static(C, LLA)
    cache.add_static(D, LLA)  # full: the STALE entry goes, although A is older
    assert cache.get(B) is None and cache.get(A) is not None
    cache.add_static(E, LLA)  # no STALE one left: the least recently used resolved one
    assert cache.get(A) is None
    assert sorted(cache.entries) == [C, D, E]
    assert cache.counters.entries_evicted == 2


def test_mld_counts_the_queries_and_reports_it_hears() -> None:
    group = IPv6Address("ff05::1:3")
    listener = mld.MulticastListener(random.Random(1))
    listener.join(group, 0.0)
    listener.poll(20.0)  # RFC 2710 §4: the repeated unsolicited Report
    listener.on_query(IPv6Address("::"), 10.0, 30.0)
    listener.on_query(IPv6Address("::"), 10.0, 31.0)
    listener.on_report(group, 32.0)  # RFC 2710 §4: another node answered: suppress ours
    listener.on_report(IPv6Address("ff05::1:4"), 32.0)
    c = listener.counters
    assert (c.general_queries_received, c.specific_queries_received) == (2, 0)
    assert (c.reports_received, c.reports_suppressed) == (2, 1)


def test_an_mld_trace_sink_reaches_the_groups_already_reported() -> None:
    group = IPv6Address("ff05::1:3")
    listener = mld.MulticastListener(random.Random(1), label="eth0")
    listener.join(group, 0.0)
    records: list[TransitionRecord] = []
    listener.trace_sink = records.append
    listener.on_report(group, 1.0)  # RFC 2710 §4: Delaying Listener -> Idle Listener
    assert [(r.entity, r.old, r.trigger, r.new) for r in records] == [
        (records[0].entity, "DELAYING_LISTENER", "report_received", "IDLE_LISTENER")
    ]
    assert str(group) in records[0].entity


def test_a_default_address_table_holds_64_addresses_and_counts_the_rest() -> None:
    # Every table is bounded and counts what it drops; by default 64 addresses.
    table = addresses.AddressTable(InterfaceParameters())
    for i in range(70):
        table.add(IPv6Address(f"2001:db8::{i + 1:x}"), 64, addresses.Origin.STATIC, 0.0)
    assert len(table) == 64 == table.capacity
    assert table.counters.table_full_drop == 6
    assert IPv6Address("2001:db8::40") in table.entries
    assert IPv6Address("2001:db8::41") not in table.entries


# -- RFC 6583 §7.2: the neighbor cache under a flood of new destinations --------------------
def test_the_incomplete_budget_gives_up_the_oldest_incomplete_entry() -> None:
    cache = neighbors.NeighborCache(InterfaceParameters(), capacity=16, incomplete_limit=2)
    cache.resolve(A, b"a", 0.0)
    cache.resolve(B, b"b", 0.0)
    # RFC 4861 §7.3.1: a reachability hint for an INCOMPLETE entry changes nothing (an
    # ignored pair of the graph): A is still INCOMPLETE and still in the budget.
    cache.upper_layer_hint(A, 0.1)
    cache.resolve(C, b"c", 0.2)
    assert cache.get(A) is None
    assert [cache.get(x) is not None for x in (B, C)] == [True, True]
    assert cache.counters.incomplete_limit_evicted == 1
    assert cache.counters.entries_evicted == 1
    assert cache.counters.queued_packets_drop == 1  # A's queued packet


def test_the_default_incomplete_budget_is_a_quarter_of_the_cache_and_at_least_8() -> None:
    for capacity, budget in ((16, 8), (40, 10), (4, 4)):
        cache = neighbors.NeighborCache(InterfaceParameters(), capacity=capacity)
        assert cache.incomplete_limit == budget
        first = IPv6Address("2001:db8::1")
        for i in range(budget):
            cache.resolve(IPv6Address(f"2001:db8::{i + 1:x}"), b"p", 0.0)
        assert cache.counters.incomplete_limit_evicted == 0 and cache.get(first) is not None
        cache.resolve(IPv6Address("2001:db8:1::1"), b"p", 0.0)
        assert cache.counters.incomplete_limit_evicted == 1 and cache.get(first) is None


def test_new_resolutions_are_rate_limited_by_a_token_bucket() -> None:
    cache = neighbors.NeighborCache(InterfaceParameters(), solicit_rate=1.0, solicit_burst=3)
    results = [cache.resolve(IPv6Address(f"2001:db8::{i}"), b"p", 0.0) for i in range(1, 5)]
    assert [type(r[0]) for r in results] == [neighbors.SendSolicitation] * 3 + [
        neighbors.ResolutionFailed
    ]
    assert cache.counters.solicit_rate_limited_drop == 1
    assert cache.counters.solicitations_sent == 3
    # One second later one token is back: one new resolution, not two.
    assert isinstance(cache.resolve(D, b"p", 1.0)[0], neighbors.SendSolicitation)
    assert isinstance(cache.resolve(E, b"p", 1.0)[0], neighbors.ResolutionFailed)
    assert cache.counters.solicit_rate_limited_drop == 2


def test_a_neighbor_a_full_cache_cannot_take_is_counted() -> None:
    cache = neighbors.NeighborCache(InterfaceParameters(), capacity=1)
    cache.add_static(A, LLA)
    # RFC 4861 §7.2.3: an NS with a Source Link-Layer Address would create a STALE entry.
    assert cache.on_neighbor_solicitation(B, LLA, 0.0) == []
    assert cache.get(B) is None
    assert cache.counters.unsolicited_not_cached == 1


def test_mld_counts_specific_queries() -> None:
    group = IPv6Address("ff05::1:3")
    listener = mld.MulticastListener(random.Random(1))
    listener.join(group, 0.0)
    listener.on_query(group, 10.0, 30.0)
    listener.on_query(IPv6Address("ff05::1:9"), 10.0, 30.0)
    c = listener.counters
    assert (c.specific_queries_received, c.specific_query_not_listening_ignored) == (2, 1)
    assert c.general_queries_received == 0


def test_the_scope_of_a_multicast_address_is_its_4_bit_field() -> None:
    # RFC 4291 §2.7: ff0S::, scop S (1 interface-local ... 5 site-local, 14 global).
    for scop in range(16):
        assert mld.scope(IPv6Address(f"ff0{scop:x}::1:3")) == scop
        assert mld.scope(IPv6Address(f"ff1{scop:x}::1:3")) == scop  # T=1: transient


def test_the_actions_are_values_nobody_can_change() -> None:
    # The sans-I/O core returns actions as frozen dataclasses: a caller cannot alter one
    # that is also kept (a queued packet tuple, say).
    actions: list[object] = [
        neighbors.SendSolicitation(A, None),
        neighbors.TransmitPackets(A, LLA, (b"p",)),
        neighbors.ResolutionFailed(A, (b"p",)),
        neighbors.NeighborUnreachable(A, False),
        neighbors.RouterFlagCleared(A),
        mld.SendReport(A),
        mld.SendDone(A),
        mld.JoinLink(A),
        mld.LeaveLink(A),
    ]
    for action in actions:
        name = dataclasses.fields(action)[0].name  # type: ignore[arg-type]
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(action, name, B)
        assert hash(action) == hash(dataclasses.replace(action))  # type: ignore[type-var]
