"""What the NCE and MLD model tests did not look at, found by `make mutants`
(bench/mutants.py): the counters a neighbor cache and an MLD listener start from, and the
stack's default Unsolicited Report Interval against the RFC 2710 model's constant."""

from __future__ import annotations

import dataclasses
import random

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
