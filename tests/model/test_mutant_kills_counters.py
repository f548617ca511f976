"""What the NCE and MLD model tests did not look at, found by `make mutants`
(bench/mutants.py): the counters a neighbor cache and an MLD listener start from, and the
stack's default Unsolicited Report Interval against the RFC 2710 model's constant."""

from __future__ import annotations

import dataclasses
import random
from ipaddress import IPv6Address

import pytest

from tcpip6.spec import rfc2710_mld as mld_spec
from tcpip6.stack import mld, neighbors
from tcpip6.stack.params import InterfaceParameters


def test_counters_start_at_zero() -> None:
    # netstat -s semantics: a counter counts events since the entity was made.
    cache = neighbors.NeighborCache(InterfaceParameters())
    listener = mld.MulticastListener(random.Random(1))
    for counters in (cache.counters, listener.counters):
        assert dataclasses.asdict(counters), counters
        assert set(dataclasses.asdict(counters).values()) == {0}, counters


def test_unsolicited_report_interval_is_the_rfc_default() -> None:
    # RFC 2710 §7.10: Unsolicited Report Interval, default 10 seconds.
    assert mld.UNSOLICITED_REPORT_INTERVAL == mld_spec.UNSOLICITED_REPORT_INTERVAL
    listener = mld.MulticastListener(random.Random(1))
    assert listener.unsolicited_report_interval == mld_spec.UNSOLICITED_REPORT_INTERVAL


def test_neighbor_cache_counts_what_it_creates_ignores_and_drops() -> None:
    static, other = IPv6Address("fe80::1"), IPv6Address("fe80::2")
    with pytest.raises(ValueError):
        neighbors.NeighborCache(InterfaceParameters(), capacity=0)
    with pytest.raises(ValueError):
        neighbors.NeighborCache(InterfaceParameters(), queue_limit=0)
    cache = neighbors.NeighborCache(InterfaceParameters(), capacity=1)
    cache.add_static(static, b"\x02\x00\x00\x00\x00\x01")
    assert cache.counters.entries_created == 1
    # RFC 4861 §7.2.5: an NA for a target without an entry "SHOULD be silently discarded".
    assert (
        cache.on_neighbor_advertisement(other, b"\x02\x00\x00\x00\x00\x02", False, True, True, 0.0)
        == []
    )
    assert cache.counters.na_no_entry_ignored == 1 and cache.get(other) is None
    # A cache full of PERMANENT entries has no victim: the packet is dropped, counted.
    (failed,) = cache.resolve(other, b"packet", 0.0)
    assert isinstance(failed, neighbors.ResolutionFailed) and failed.packets == (b"packet",)
    assert cache.counters.cache_full_drop == 1 and cache.counters.entries_created == 1
