"""MulticastListener scenarios with a fake clock (RFC 2710 §4, §5): what goes on the wire
and into the link filter, and when."""

from __future__ import annotations

import random
from ipaddress import IPv6Address

import pytest

from tcpip6.stack.mld import (
    JoinLink,
    LeaveLink,
    MldAction,
    MldCounters,
    MulticastListener,
    SendDone,
    SendReport,
)

GROUP = IPv6Address("ff05::1234")
SOLICITED = IPv6Address("ff02::1:ff00:a")
ALL_NODES = IPv6Address("ff02::1")
URI = 10.0


def run_until(listener: MulticastListener, now: float, end: float) -> list[tuple[float, MldAction]]:
    """Poll at every deadline up to ``end``: what was sent, and when."""
    out: list[tuple[float, MldAction]] = []
    while (deadline := listener.next_deadline()) is not None and deadline <= end:
        now = max(now, deadline)
        out += [(now, a) for a in listener.poll(now)]
    return out


def new_listener(seed: int = 7, max_groups: int = 256) -> MulticastListener:
    return MulticastListener(random.Random(seed), max_groups, unsolicited_report_interval=URI)


@pytest.mark.parametrize("seed", range(5))
def test_join_reports_at_once_and_once_more_within_the_interval(seed: int) -> None:
    listener = new_listener(seed)
    assert listener.join(GROUP, 100.0) == [JoinLink(GROUP), SendReport(GROUP)]
    later = run_until(listener, 100.0, 1000.0)
    assert [a for _, a in later] == [SendReport(GROUP)]
    assert 100.0 <= later[0][0] <= 100.0 + URI
    assert listener.next_deadline() is None
    assert listener.counters.reports_sent == 2


def test_general_query_brings_one_report_per_group_within_the_delay() -> None:
    listener = new_listener()
    listener.join(GROUP, 0.0)
    listener.join(SOLICITED, 0.0)
    run_until(listener, 0.0, 20.0)
    listener.on_query(IPv6Address("::"), 2.0, 50.0)
    sent = run_until(listener, 50.0, 1000.0)
    assert sorted(str(a.group) for _, a in sent if isinstance(a, SendReport)) == sorted(
        [str(GROUP), str(SOLICITED)]
    )
    assert all(50.0 <= t <= 52.0 for t, _ in sent)
    assert len(sent) == 2


def test_specific_query_concerns_its_group_only() -> None:
    listener = new_listener()
    listener.join(GROUP, 0.0)
    listener.join(SOLICITED, 0.0)
    run_until(listener, 0.0, 20.0)
    listener.on_query(GROUP, 1.0, 30.0)
    listener.on_query(IPv6Address("ff05::9999"), 1.0, 30.0)  # not ours
    assert [a for _, a in run_until(listener, 30.0, 100.0)] == [SendReport(GROUP)]
    assert listener.counters.specific_query_not_listening_ignored == 1


def test_query_with_max_response_delay_zero_is_answered_at_once() -> None:
    listener = new_listener()
    listener.join(GROUP, 0.0)
    run_until(listener, 0.0, 20.0)
    listener.on_query(IPv6Address("::"), 0.0, 30.0)
    assert listener.next_deadline() == 30.0
    assert listener.poll(30.0) == [SendReport(GROUP)]


def test_a_running_timer_is_reset_only_by_a_shorter_max_response_delay() -> None:
    listener = new_listener()
    listener.join(GROUP, 0.0)
    run_until(listener, 0.0, 20.0)
    listener.on_query(GROUP, 10.0, 30.0)
    first = listener.next_deadline()
    assert first is not None and 30.0 <= first <= 40.0
    longer = (first - 30.0) + 5.0
    listener.on_query(GROUP, longer, 30.0)  # longer than the time left: kept
    assert listener.next_deadline() == first
    listener.on_query(GROUP, 0.0, 30.0)  # shorter: reset into [0, 0]
    assert listener.next_deadline() == 30.0


def test_another_nodes_report_suppresses_ours() -> None:
    listener = new_listener()
    listener.join(GROUP, 0.0)
    run_until(listener, 0.0, 20.0)
    listener.on_query(IPv6Address("::"), 10.0, 30.0)
    listener.on_report(GROUP, 30.1)
    assert listener.next_deadline() is None
    assert run_until(listener, 30.1, 100.0) == []
    assert listener.counters.reports_suppressed == 1


def test_leave_after_being_the_last_reporter_sends_done() -> None:
    listener = new_listener()
    listener.join(GROUP, 0.0)
    run_until(listener, 0.0, 20.0)
    assert listener.leave(GROUP, 30.0) == [SendDone(GROUP), LeaveLink(GROUP)]
    assert listener.groups() == [] and listener.next_deadline() is None


def test_leave_while_the_repeat_is_pending_sends_done_and_nothing_later() -> None:
    listener = new_listener()
    listener.join(GROUP, 0.0)
    assert listener.leave(GROUP, 0.5) == [SendDone(GROUP), LeaveLink(GROUP)]
    assert run_until(listener, 0.5, 100.0) == []


def test_leave_after_suppression_sends_no_done() -> None:
    listener = new_listener()
    listener.join(GROUP, 0.0)
    listener.on_report(GROUP, 0.1)  # another listener reported too
    assert listener.leave(GROUP, 5.0) == [LeaveLink(GROUP)]
    assert listener.counters.dones_sent == 0


def test_all_nodes_and_small_scopes_are_never_reported() -> None:
    listener = new_listener()
    interface_local = IPv6Address("ff01::5")
    assert listener.join(ALL_NODES, 0.0) == [JoinLink(ALL_NODES)]
    assert listener.join(interface_local, 0.0) == []  # never on the link
    listener.on_query(IPv6Address("::"), 1.0, 1.0)
    listener.on_query(ALL_NODES, 1.0, 1.0)
    assert run_until(listener, 1.0, 100.0) == []
    assert listener.leave(ALL_NODES, 2.0) == [LeaveLink(ALL_NODES)]
    assert listener.leave(interface_local, 2.0) == []
    assert listener.counters == MldCounters(
        general_queries_received=1,
        specific_queries_received=1,
        specific_query_not_listening_ignored=1,
    )


def test_joins_are_reference_counted() -> None:
    listener = new_listener()
    assert listener.join(SOLICITED, 0.0) == [JoinLink(SOLICITED), SendReport(SOLICITED)]
    assert listener.join(SOLICITED, 1.0) == []
    assert listener.leave(SOLICITED, 2.0) == []
    assert listener.groups() == [SOLICITED]
    assert listener.leave(SOLICITED, 3.0) == [SendDone(SOLICITED), LeaveLink(SOLICITED)]
    assert listener.leave(SOLICITED, 4.0) == []
    assert listener.counters.leave_not_joined_ignored == 1


def test_the_number_of_groups_is_bounded_and_refusals_counted() -> None:
    listener = new_listener(max_groups=2)
    a, b, c = (IPv6Address(f"ff05::{i}") for i in (1, 2, 3))
    listener.join(a, 0.0)
    listener.join(b, 0.0)
    assert listener.join(c, 0.0) == []
    assert listener.groups() == [a, b]
    assert listener.counters.groups_refused == 1
    assert listener.leave(c, 1.0) == []
    listener.leave(a, 1.0)
    assert listener.join(c, 2.0) == [JoinLink(c), SendReport(c)]


def test_joining_a_unicast_address_is_an_error() -> None:
    with pytest.raises(ValueError):
        new_listener().join(IPv6Address("2001:db8::1"), 0.0)


def test_two_nodes_on_one_link_report_once_per_query() -> None:
    """Two listeners hear each other's Reports: after a General Query exactly one of them
    reports, and only that one sends Done when both leave."""
    nodes = [new_listener(seed) for seed in (1, 2)]
    for n in nodes:
        n.join(GROUP, 0.0)
    now = 0.0
    wire: list[tuple[int, MldAction]] = []

    def run(end: float) -> None:
        nonlocal now
        while True:
            deadlines = [
                (d, i) for i, n in enumerate(nodes) if (d := n.next_deadline()) is not None
            ]
            if not deadlines or min(deadlines)[0] > end:
                break
            now, i = min(deadlines)
            for a in nodes[i].poll(now):
                wire.append((i, a))
                for j, other in enumerate(nodes):  # the link carries the Report
                    if j != i and isinstance(a, SendReport):
                        other.on_report(a.group, now)
        now = end

    run(20.0)
    wire.clear()
    for n in nodes:
        n.on_query(IPv6Address("::"), 10.0, now)
    run(40.0)
    assert len(wire) == 1
    reporter = wire[0][0]
    dones = [n.leave(GROUP, now) for n in nodes]
    assert dones[reporter] == [SendDone(GROUP), LeaveLink(GROUP)]
    assert dones[1 - reporter] == [LeaveLink(GROUP)]
