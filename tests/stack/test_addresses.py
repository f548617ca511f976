"""Scenarios for the address table (RFC 4862) with a fake clock: DAD timelines, duplicates,
the §5.4.2 delay rule, the two-hour rule, deprecation and expiry, ADEs and bounds."""

from __future__ import annotations

import random
from ipaddress import IPv6Address

import pytest

from tcpip6.stack import addresses as ad
from tcpip6.stack.addresses import (
    AddressAvailable,
    AddressDeprecated,
    AddressRemoved,
    AddressRenewed,
    AdeKind,
    DuplicateAddressDetected,
    JoinGroup,
    LeaveGroup,
    Origin,
    SendDadSolicitation,
)
from tcpip6.stack.machines.dad import AddressState
from tcpip6.stack.params import InterfaceParameters
from tcpip6.wire.ipv6 import ALL_NODES, solicited_node

IID = bytes.fromhex("02005efffe000001")
LLA = IPv6Address("fe80::200:5eff:fe00:1")
PREFIX = IPv6Address("2001:db8:1::")
GLOBAL = IPv6Address("2001:db8:1::200:5eff:fe00:1")
STATIC = IPv6Address("2001:db8:9::9")
HOUR = 3600


def table(transmits: int = 1, retrans: float = 1.0, **kw: object) -> ad.AddressTable:
    params = InterfaceParameters(dup_addr_detect_transmits=transmits, retrans_timer=retrans)
    return ad.AddressTable(params, **kw)  # type: ignore[arg-type]


def run(t: ad.AddressTable, until: float) -> list[tuple[float, ad.AddressAction]]:
    """Poll at every deadline up to ``until``: what happened, and when."""
    out: list[tuple[float, ad.AddressAction]] = []
    while (deadline := t.next_deadline()) is not None and deadline <= until:
        out += [(deadline, a) for a in t.poll(deadline)]
    return out


def preferred_autoconf(t: ad.AddressTable, valid: int, preferred: int) -> ad.NetTableEntry:
    t.on_prefix_information(PREFIX, 64, True, valid, preferred, IID, 0.0, dad_delay=0.0)
    run(t, 1.0)
    nte = t.get(GLOBAL)
    assert nte is not None and nte.state is AddressState.PREFERRED
    return nte


# -- DAD (§5.4.2 - §5.4.5) --------------------------------------------------------------


def test_dad_success_timeline() -> None:
    t = table(transmits=3, retrans=1.0)
    assert t.add(STATIC, 64, Origin.STATIC, 0.0, dad_delay=0.4) == []
    assert t.is_tentative(STATIC)
    events = run(t, 10.0)
    solicitations = [when for when, a in events if a == SendDadSolicitation(STATIC)]
    assert solicitations == [0.4, 1.4, 2.4]  # DupAddrDetectTransmits, RetransTimer apart
    # Both groups joined before the first solicitation (§5.4.2).
    assert [a for _, a in events[:3]] == [
        JoinGroup(ALL_NODES),
        JoinGroup(solicited_node(STATIC)),
        SendDadSolicitation(STATIC),
    ]
    # RetransTimer after the last solicitation, the address is assigned.
    assert events[-1] == (3.4, AddressAvailable(STATIC, 64, Origin.STATIC))
    nte = t.get(STATIC)
    assert nte is not None and nte.state is AddressState.PREFERRED
    assert t.counters.dad_solicitations_sent == 3
    assert t.next_deadline() is None  # infinite lifetimes: nothing more to do


def test_retrans_timer_is_read_at_each_solicitation() -> None:
    t = table(transmits=2, retrans=1.0)
    t.add(STATIC, 64, Origin.STATIC, 0.0, dad_delay=0.0)
    t.params.retrans_timer = 3.0  # a Router Advertisement changed RetransTimer
    assert t.next_deadline() == 1.0
    t.poll(1.0)
    assert t.next_deadline() == 4.0


def test_no_dad_when_transmits_is_zero() -> None:
    t = table(transmits=0)
    assert t.add(STATIC, 64, Origin.STATIC, 0.0) == [
        JoinGroup(ALL_NODES),
        JoinGroup(solicited_node(STATIC)),
        AddressAvailable(STATIC, 64, Origin.STATIC),
    ]
    assert [e.address for e in t.source_candidates()] == [STATIC]


def test_tentative_address_is_never_a_source_nor_a_receive_address() -> None:
    t = table(transmits=1)
    t.add(STATIC, 64, Origin.STATIC, 0.0, dad_delay=0.5)
    for now in (0.0, 0.5, 1.0):
        run(t, now)
        assert t.source_candidates() == []
        assert t.lookup_ade(STATIC) is None and not t.receives(STATIC)
        # ... but its solicited-node group is received, during the delay too (§5.4.2).
        group = t.lookup_group_ade(solicited_node(STATIC))
        assert group is not None and [e.address for e in group.ntes] == [STATIC]
    run(t, 1.5)
    assert [e.address for e in t.source_candidates()] == [STATIC]
    ade = t.lookup_ade(STATIC)
    assert ade is not None and ade.kind is AdeKind.UNICAST and ade.nte is t.get(STATIC)
    assert t.receives(STATIC)


def test_duplicate_by_solicitation() -> None:
    t = table(transmits=2)
    t.add(STATIC, 64, Origin.STATIC, 0.0, dad_delay=0.0)
    assert t.on_dad_solicitation(STATIC, 0.5) == [
        LeaveGroup(solicited_node(STATIC)),
        DuplicateAddressDetected(STATIC, is_link_local=False, interface_disabled=False),
    ]
    nte = t.get(STATIC)
    assert nte is not None and nte.state is AddressState.DUPLICATE
    assert run(t, 100.0) == []  # no more solicitations, never assigned
    assert t.source_candidates() == [] and t.lookup_ade(STATIC) is None
    assert t.lookup_group_ade(solicited_node(STATIC)) is None
    assert t.counters.duplicates_detected == 1 and t.counters.dad_solicitations_sent == 1


def test_duplicate_by_advertisement_during_the_delay() -> None:
    t = table(transmits=1)
    t.add(STATIC, 64, Origin.STATIC, 0.0, dad_delay=0.8)
    # The group was not joined yet: nothing to leave.
    assert t.on_neighbor_advertisement(STATIC, 0.3) == [
        DuplicateAddressDetected(STATIC, is_link_local=False, interface_disabled=False)
    ]
    assert run(t, 10.0) == []
    assert t.counters.dad_solicitations_sent == 0


def test_dad_messages_for_an_assigned_address_change_nothing() -> None:
    t = table(transmits=0)
    t.add(STATIC, 64, Origin.STATIC, 0.0)
    assert t.on_dad_solicitation(STATIC, 1.0) == []
    assert t.on_neighbor_advertisement(STATIC, 1.0) == []
    assert t.on_dad_solicitation(IPv6Address("2001:db8::77"), 1.0) == []
    nte = t.get(STATIC)
    assert nte is not None and nte.state is AddressState.PREFERRED
    assert t.counters.dad_message_not_tentative_ignored == 3


def test_duplicate_hardware_link_local_stops_autoconfiguration() -> None:
    t = table(transmits=1)
    t.add(LLA, 64, Origin.LINK_LOCAL, 0.0, dad_delay=0.0)
    actions = t.on_neighbor_advertisement(LLA, 0.2)
    assert actions[-1] == DuplicateAddressDetected(LLA, is_link_local=True, interface_disabled=True)
    assert t.autoconf_disabled
    assert t.on_prefix_information(PREFIX, 64, True, 9000, 9000, IID, 1.0) == []
    assert t.counters.prefix_ignored_disabled == 1
    # A manually configured link-local address that is a duplicate does not stop it.
    t2 = table(transmits=1)
    t2.add(IPv6Address("fe80::1"), 64, Origin.STATIC, 0.0, dad_delay=0.0)
    dup = t2.on_dad_solicitation(IPv6Address("fe80::1"), 0.1)[-1]
    assert dup == DuplicateAddressDetected(IPv6Address("fe80::1"), True, False)
    assert not t2.autoconf_disabled


def test_duplicate_autoconf_address_leaves_at_its_valid_lifetime_and_is_checked_again() -> None:
    t = table(transmits=1)
    t.on_prefix_information(PREFIX, 64, True, 100, 100, IID, 0.0, dad_delay=0.0)
    t.on_dad_solicitation(GLOBAL, 0.5)
    # Re-advertising the prefix neither refreshes nor re-forms the duplicate.
    assert t.on_prefix_information(PREFIX, 64, True, 9000, 9000, IID, 50.0, dad_delay=0.0) == []
    assert run(t, 100.0) == [(100.0, AddressRemoved(GLOBAL))]
    actions = t.on_prefix_information(PREFIX, 64, True, 9000, 9000, IID, 200.0, dad_delay=0.0)
    assert SendDadSolicitation(GLOBAL) in actions


# -- the §5.4.2 random delay ------------------------------------------------------------


def test_random_delay_rule() -> None:
    t = table(transmits=1, rng=random.Random(7))
    # The first message from the interface: a random delay in [0, 1] s.
    assert t.add(LLA, 64, Origin.LINK_LOCAL, 0.0) == []
    first = t.next_deadline()
    assert first is not None and 0.0 < first <= 1.0
    run(t, first)
    assert t.first_message_sent
    # Not the first message any more: a static address starts DAD at once ...
    assert SendDadSolicitation(STATIC) in t.add(STATIC, 64, Origin.STATIC, 5.0)
    # ... an address from a unicast Router Advertisement too ...
    actions = t.on_prefix_information(
        PREFIX, 64, True, 9000, 9000, IID, 5.0, from_multicast_ra=False
    )
    assert SendDadSolicitation(GLOBAL) in actions
    # ... but one from a multicast Router Advertisement waits again.
    other = IPv6Address("2001:db8:2::")
    assert t.on_prefix_information(other, 64, True, 9000, 9000, IID, 5.0) == []
    deadline = t.get(IPv6Address("2001:db8:2::200:5eff:fe00:1"))
    assert deadline is not None and deadline.dad_timer is not None
    assert 5.0 < deadline.dad_timer <= 6.0


def test_a_host_message_ends_the_first_message_delay() -> None:
    t = table(transmits=1, rng=random.Random(1))
    t.message_sent()
    assert SendDadSolicitation(STATIC) in t.add(STATIC, 64, Origin.STATIC, 0.0)


# -- prefix information (§5.5.3) -------------------------------------------------------


def test_slaac_forms_the_address_from_prefix_and_interface_identifier() -> None:
    t = table(transmits=1)
    actions = t.on_prefix_information(PREFIX, 64, True, 9000, 8000, IID, 0.0, dad_delay=0.0)
    assert actions == [
        JoinGroup(ALL_NODES),
        JoinGroup(solicited_node(GLOBAL)),
        SendDadSolicitation(GLOBAL),
    ]
    nte = t.get(GLOBAL)
    assert nte is not None and nte.origin is Origin.AUTOCONF
    assert (nte.preferred_until, nte.valid_until) == (8000.0, 9000.0)
    # An 80-bit interface identifier goes with a /48.
    iid80 = bytes(range(1, 11))
    t.on_prefix_information(PREFIX, 48, True, 9000, 8000, iid80, 0.0, dad_delay=0.0)
    assert t.get(IPv6Address("2001:db8:1:102:304:506:708:90a")) is not None


@pytest.mark.parametrize(
    ("prefix", "plen", "autonomous", "valid", "preferred", "counter"),
    [
        (PREFIX, 64, False, 9000, 9000, "prefix_ignored_not_autonomous"),
        (IPv6Address("fe80::"), 64, True, 9000, 9000, "prefix_ignored_link_local"),
        (PREFIX, 64, True, 100, 200, "prefix_ignored_preferred_exceeds_valid"),
        (PREFIX, 64, True, 0, 0, "prefix_ignored_zero_valid_lifetime"),
        (PREFIX, 48, True, 9000, 9000, "prefix_ignored_bad_length"),
        (PREFIX, 200, True, 9000, 9000, "prefix_ignored_bad_length"),
    ],
)
def test_prefix_information_ignored(
    prefix: IPv6Address, plen: int, autonomous: bool, valid: int, preferred: int, counter: str
) -> None:
    t = table()
    assert t.on_prefix_information(prefix, plen, autonomous, valid, preferred, IID, 0.0) == []
    assert len(t) == 0
    assert t.counters.nonzero() == {counter: 1}


@pytest.mark.parametrize(
    ("remaining", "advertised", "authenticated", "expected_remaining", "applied"),
    [
        # 1. more than two hours, or more than what remains: take it.
        (1 * HOUR, 3 * HOUR, False, 3 * HOUR, 0),
        (1 * HOUR, 1.5 * HOUR, False, 1.5 * HOUR, 0),
        (10 * HOUR, 0xFFFFFFFF, False, float("inf"), 0),
        # 2. two hours or less remain: a shorter lifetime is ignored ...
        (1 * HOUR, 60, False, 1 * HOUR, 1),
        (2 * HOUR, 0, False, 2 * HOUR, 1),
        # ... unless the advertisement was authenticated.
        (1 * HOUR, 60, True, 60, 0),
        # 3. otherwise: two hours.
        (10 * HOUR, 60, False, 2 * HOUR, 1),
        (10 * HOUR, 2 * HOUR, False, 2 * HOUR, 1),
    ],
)
def test_two_hour_rule(
    remaining: int, advertised: int, authenticated: bool, expected_remaining: float, applied: int
) -> None:
    t = table(transmits=0)
    t.on_prefix_information(PREFIX, 64, True, remaining + 100, 0, IID, 0.0)
    t.on_prefix_information(
        PREFIX, 64, True, int(advertised), 0, IID, 100.0, authenticated=authenticated
    )
    nte = t.get(GLOBAL)
    assert nte is not None
    assert nte.valid_until - 100.0 == expected_remaining
    assert t.counters.two_hour_rule_applied == applied


def test_deprecation_then_expiry() -> None:
    t = table(transmits=1)
    preferred_autoconf(t, valid=100, preferred=50)
    assert [e.address for e in t.source_candidates()] == [GLOBAL]
    assert run(t, 60.0) == [(50.0, AddressDeprecated(GLOBAL))]
    nte = t.get(GLOBAL)
    assert nte is not None and nte.state is AddressState.DEPRECATED
    # Still usable for existing communication, after any preferred address.
    t.add(STATIC, 64, Origin.STATIC, 60.0, dad_delay=0.0)
    run(t, 61.0)
    assert [e.address for e in t.source_candidates()] == [STATIC, GLOBAL]
    assert t.lookup_ade(GLOBAL) is not None and t.receives(GLOBAL)
    assert run(t, 200.0) == [
        (100.0, LeaveGroup(solicited_node(GLOBAL))),
        (100.0, AddressRemoved(GLOBAL)),
    ]
    assert t.get(GLOBAL) is None and t.lookup_ade(GLOBAL) is None and not t.receives(GLOBAL)


def test_zero_preferred_lifetime_deprecates_and_a_new_one_renews() -> None:
    t = table(transmits=1)
    preferred_autoconf(t, valid=9000, preferred=9000)
    assert t.on_prefix_information(PREFIX, 64, True, 9000, 0, IID, 10.0) == [
        AddressDeprecated(GLOBAL)
    ]
    assert t.on_prefix_information(PREFIX, 64, True, 9000, 600, IID, 20.0) == [
        AddressRenewed(GLOBAL)
    ]
    nte = t.get(GLOBAL)
    assert nte is not None and nte.state is AddressState.PREFERRED
    assert run(t, 700.0) == [(620.0, AddressDeprecated(GLOBAL))]


def test_prefix_with_zero_preferred_lifetime_is_assigned_deprecated() -> None:
    t = table(transmits=1)
    t.on_prefix_information(PREFIX, 64, True, 9000, 0, IID, 0.0, dad_delay=0.0)
    assert [a for _, a in run(t, 1.0)] == [
        AddressAvailable(GLOBAL, 64, Origin.AUTOCONF),
        AddressDeprecated(GLOBAL),
    ]


def test_lifetime_ending_with_dad_removes_the_address() -> None:
    t = table(transmits=1)
    t.on_prefix_information(PREFIX, 64, True, 1, 1, IID, 0.0, dad_delay=0.0)
    assert [a for _, a in run(t, 5.0)] == [
        LeaveGroup(solicited_node(GLOBAL)),
        AddressRemoved(GLOBAL),
    ]


# -- ADEs, removal, bounds ---------------------------------------------------------------


def test_anycast_address_has_no_dad_and_answers_through_ntes_on_its_prefix() -> None:
    t = table(transmits=0)
    t.on_prefix_information(PREFIX, 64, True, 9000, 9000, IID, 0.0)
    t.add(STATIC, 64, Origin.STATIC, 0.0)
    anycast = IPv6Address("2001:db8:1::")
    assert t.add_anycast(anycast, 64, 0.0) == [JoinGroup(solicited_node(anycast))]
    ade = t.lookup_ade(anycast)
    assert t.receives(anycast)
    assert ade is not None and ade.kind is AdeKind.ANYCAST
    assert [e.address for e in ade.ntes] == [GLOBAL]
    assert t.lookup_group_ade(solicited_node(anycast)) is not None
    assert anycast not in {e.address for e in t.source_candidates()}
    assert t.remove(anycast) == [LeaveGroup(solicited_node(anycast)), AddressRemoved(anycast)]
    assert t.lookup_ade(anycast) is None and not t.receives(anycast)


def test_all_nodes_ade_maps_to_assigned_addresses() -> None:
    t = table(transmits=1)
    t.add(STATIC, 64, Origin.STATIC, 0.0, dad_delay=0.0)
    t.add(LLA, 64, Origin.LINK_LOCAL, 0.0, dad_delay=5.0)
    run(t, 1.0)
    ade = t.lookup_group_ade(ALL_NODES)
    assert ade is not None and [e.address for e in ade.ntes] == [STATIC]
    assert t.lookup_group_ade(IPv6Address("ff02::1:ff12:3456")) is None


def test_remove_by_hand() -> None:
    t = table(transmits=1)
    t.add(STATIC, 64, Origin.STATIC, 0.0, dad_delay=0.0)
    assert t.remove(STATIC) == [LeaveGroup(solicited_node(STATIC)), AddressRemoved(STATIC)]
    assert t.next_deadline() is None and t.remove(STATIC) == []


def test_table_is_bounded_and_counts_what_it_drops() -> None:
    t = table(transmits=0, capacity=2)
    t.add(STATIC, 64, Origin.STATIC, 0.0)
    t.add(LLA, 64, Origin.LINK_LOCAL, 0.0)
    assert t.add(IPv6Address("2001:db8::3"), 64, Origin.STATIC, 0.0) == []
    assert t.add_anycast(IPv6Address("2001:db8::4"), 64, 0.0) == []
    assert t.on_prefix_information(PREFIX, 64, True, 9000, 9000, IID, 0.0) == []
    assert len(t) == 2 and t.counters.table_full_drop == 3
    assert t.add(STATIC, 64, Origin.STATIC, 0.0) == []
    assert t.counters.add_existing_ignored == 1


def test_static_lifetimes_must_be_consistent() -> None:
    with pytest.raises(ValueError):
        table().add(STATIC, 64, Origin.STATIC, 0.0, preferred_lifetime=10, valid_lifetime=5)


def test_link_local_formation() -> None:
    assert ad.link_local_address(IID) == LLA
    assert ad.link_local_address(bytes(14)) == IPv6Address("fe80::")  # 112 bits: fits
    assert ad.link_local_address(bytes(15)) is None  # more than 118 bits: fails (§5.3)


def test_transitions_are_traced_with_their_rfc_section() -> None:
    t = table(transmits=1)
    records: list[str] = []
    t.trace_sink = lambda rec: records.append(f"{rec.old}>{rec.new} {rec.rfc}")
    t.add(STATIC, 64, Origin.STATIC, 0.0, dad_delay=0.0)
    t.on_dad_solicitation(STATIC, 0.5)
    assert records == ["TENTATIVE>DUPLICATE 4862 §5.4.3"]
