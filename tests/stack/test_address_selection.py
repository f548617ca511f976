"""Default address selection (RFC 6724) and zone indexes (RFC 4007 §11): the RFC's own
examples, properties of the source rules, and the text format of scoped addresses."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv6Address, IPv6Network

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether

from tcpip6.io.sim import SimWorld
from tcpip6.stack import address_selection as sel
from tcpip6.stack.address_selection import SourceCandidate
from tcpip6.stack.addresses import Origin
from tcpip6.stack.host import Host
from tcpip6.stack.interface import Interface
from tcpip6.stack.machines.dad import AddressState
from tcpip6.stack.params import InterfaceParameters


def A(text: str) -> IPv6Address:
    """An address; IPv4 text becomes the IPv4-mapped address of RFC 6724 §3.2."""
    return IPv6Address(f"::ffff:{text}" if "." in text and ":" not in text else text)


def C(text: str, *flags: str, plen: int | None = None) -> SourceCandidate:
    """A candidate: ``C("fe80::2", "deprecated")``; IPv4 ones have a /24 here."""
    address = A(text)
    if plen is None:
        plen = 120 if address.ipv4_mapped is not None else 64
    return SourceCandidate(
        address, plen, deprecated="deprecated" in flags, temporary="temporary" in flags
    )


# -- the policy table and scopes ----------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "precedence", "label"),
    [
        ("::1", 50, 0),
        ("2001:db8::1", 40, 1),
        ("fe80::1", 40, 1),
        ("::ffff:192.0.2.1", 35, 4),
        ("2002:c633:6401::1", 30, 2),
        ("2001:0:4136:e378::1", 5, 5),  # Teredo, 2001::/32
        ("fd00::1", 3, 13),
        ("fc00::1", 3, 13),
        ("::192.0.2.1", 1, 3),
        ("fec0::1", 1, 11),
        ("3ffe::1", 1, 12),
    ],
)
def test_default_policy_table_longest_prefix(address: str, precedence: int, label: int) -> None:
    assert sel.precedence(A(address)) == precedence
    assert sel.label(A(address)) == label


def test_policy_table_without_a_default_entry_says_so() -> None:
    table = [sel.PolicyEntry(IPv6Network("fc00::/7"), 3, 13)]
    with pytest.raises(ValueError, match="no entry"):
        sel.lookup_policy(A("2001:db8::1"), table)


@pytest.mark.parametrize(
    ("address", "scope"),
    [
        ("ff01::1", sel.INTERFACE_LOCAL),
        ("ff02::1", sel.LINK_LOCAL),
        ("ff03::1", sel.REALM_LOCAL),
        ("ff04::1", sel.ADMIN_LOCAL),
        ("ff05::1:3", sel.SITE_LOCAL),
        ("ff08::1", sel.ORGANIZATION_LOCAL),
        ("ff0e::1", sel.GLOBAL),
        ("ff12::1", sel.LINK_LOCAL),  # transient flag: the scope field still decides
        ("fe80::1", sel.LINK_LOCAL),
        ("febf::1", sel.LINK_LOCAL),  # fe80::/10
        ("::1", sel.LINK_LOCAL),
        ("fec0::1", sel.SITE_LOCAL),
        ("fd12:3456::1", sel.GLOBAL),  # unique local: global scope (RFC 6724 §3.1)
        ("2001:db8::1", sel.GLOBAL),
        ("169.254.13.78", sel.LINK_LOCAL),  # RFC 6724 §3.2
        ("127.0.0.1", sel.LINK_LOCAL),
        ("10.1.2.3", sel.GLOBAL),  # private IPv4 is global in RFC 6724
        ("198.51.100.121", sel.GLOBAL),
    ],
)
def test_scope(address: str, scope: int) -> None:
    assert sel.scope(A(address)) == scope


def test_common_prefix_len_stops_at_the_source_prefix() -> None:
    # RFC 6724 §2.2: "CommonPrefixLen(fe80::1, fe80::2) is 64."
    assert sel.common_prefix_len(A("fe80::1"), A("fe80::2"), 64) == 64
    assert sel.common_prefix_len(A("2001:db8:1::2"), A("2001:db8:1::2"), 64) == 64
    assert sel.common_prefix_len(A("2001:db8:1::2"), A("2001:db8:1::2"), 128) == 128
    assert sel.common_prefix_len(A("2001:db8:1::"), A("2001:db8:3::"), 64) == 46
    assert sel.common_prefix_len(A("::"), A("8000::"), 64) == 0


# -- RFC 6724 §10.1: source address selection ---------------------------------------------
# All examples but one: "prefer home address" needs rule 4 (Mobile IPv6), which a host
# without home addresses does not have.

SOURCE_EXAMPLES = [
    ("2001:db8:1::1", [C("2001:db8:3::1"), C("fe80::1")], "2001:db8:3::1"),  # rule 2
    ("ff05::1", [C("2001:db8:3::1"), C("fe80::1")], "2001:db8:3::1"),  # rule 2
    (
        "2001:db8:1::1",
        [C("2001:db8:1::1", "deprecated"), C("2001:db8:2::1")],
        "2001:db8:1::1",
    ),  # rule 1
    ("fe80::1", [C("fe80::2", "deprecated"), C("2001:db8:1::1")], "fe80::2"),  # rule 2
    ("2001:db8:1::1", [C("2001:db8:1::2"), C("2001:db8:3::2")], "2001:db8:1::2"),  # rule 8
    (
        "2002:c633:6401::1",
        [C("2002:c633:6401::d5e3:7953:13eb:22e8", "temporary"), C("2001:db8:1::2")],
        "2002:c633:6401::d5e3:7953:13eb:22e8",
    ),  # rule 6
    (
        "2001:db8:1::d5e3:0:0:1",
        [C("2001:db8:1::2"), C("2001:db8:1::d5e3:7953:13eb:22e8", "temporary")],
        "2001:db8:1::d5e3:7953:13eb:22e8",
    ),  # rule 7
]


@pytest.mark.parametrize(("destination", "candidates", "expected"), SOURCE_EXAMPLES)
def test_rfc6724_source_examples(
    destination: str, candidates: list[SourceCandidate], expected: str
) -> None:
    chosen = sel.select_source(A(destination), candidates)
    assert chosen is not None and chosen.address == A(expected)
    # The rules compare pairs: the order the candidates come in does not matter.
    again = sel.select_source(A(destination), list(reversed(candidates)))
    assert again is not None and again.address == A(expected)


def test_rule_7_can_be_reversed_by_the_application() -> None:
    candidates = [C("2001:db8:1::2"), C("2001:db8:1::d5e3:7953:13eb:22e8", "temporary")]
    chosen = sel.select_source(A("2001:db8:1::d5e3:0:0:1"), candidates, prefer_temporary=False)
    assert chosen is not None and chosen.address == A("2001:db8:1::2")


def test_rule_8_looks_no_further_than_the_source_prefix() -> None:
    # Past the /64 the longer match of 2001:db8:1::1:1 is interface identifier: a tie, and
    # the first candidate stays.
    d = A("2001:db8:1::1:2")
    first, second = C("2001:db8:1::9:9"), C("2001:db8:1::1:1")
    assert sel.select_source(d, [first, second]) == first
    assert sel.select_source(d, [second, first]) == second
    # With a /128 "prefix" the whole address counts.
    assert sel.select_source(d, [first, C("2001:db8:1::1:1", plen=128)]) == C(
        "2001:db8:1::1:1", plen=128
    )


def test_rule_5_prefers_the_outgoing_interface() -> None:
    on_1 = SourceCandidate(A("2001:db8:1::1"), 64, interface=1)
    on_2 = SourceCandidate(A("2001:db8:1::2"), 64, interface=2)
    d = A("2001:db8:9::1")
    assert sel.select_source(d, [on_1, on_2], outgoing_interface=2) == on_2
    assert sel.select_source(d, [on_2, on_1], outgoing_interface=1) == on_1
    # RFC 6724 §4: a link-local or multicast destination takes addresses of the outgoing link only.
    ll_1 = SourceCandidate(A("fe80::1"), 64, interface=1)
    assert sel.select_source(A("fe80::9"), [ll_1, on_2], outgoing_interface=2) == on_2
    assert sel.select_source(A("ff02::1"), [ll_1], outgoing_interface=2) is None


def test_candidate_set_excludes_multicast_unspecified_and_the_other_family() -> None:
    cands = [C("ff02::1"), C("::"), C("192.0.2.1"), C("2001:db8::1")]
    assert [c.address for c in sel.candidate_set(A("2001:db8::9"), cands)] == [A("2001:db8::1")]
    assert [c.address for c in sel.candidate_set(A("192.0.2.9"), cands)] == [A("192.0.2.1")]


# -- RFC 6724 §10.2: destination address selection ----------------------------------------
# All examples but one: "prefer home address" needs rule 4 (Mobile IPv6). The IPv4 ones
# run with IPv4-mapped addresses, as RFC 6724 §3.2 represents them; Source(D) is select_source over
# the example's candidates.

DESTINATION_EXAMPLES = [
    (  # rule 2, prefer matching scope
        [C("2001:db8:1::2"), C("fe80::1"), C("169.254.13.78", plen=112)],
        ["2001:db8:1::1", "198.51.100.121"],
        ["2001:db8:1::1", "198.51.100.121"],
    ),
    (  # rule 2, prefer matching scope
        [C("fe80::1"), C("198.51.100.117")],
        ["2001:db8:1::1", "198.51.100.121"],
        ["198.51.100.121", "2001:db8:1::1"],
    ),
    (  # rule 6, prefer higher precedence
        [C("2001:db8:1::2"), C("fe80::1"), C("10.1.2.4", plen=104)],
        ["2001:db8:1::1", "10.1.2.3"],
        ["2001:db8:1::1", "10.1.2.3"],
    ),
    (  # rule 8, prefer smaller scope
        [C("2001:db8:1::2"), C("fe80::2")],
        ["2001:db8:1::1", "fe80::1"],
        ["fe80::1", "2001:db8:1::1"],
    ),
    (  # rule 3, avoid deprecated addresses
        [C("2001:db8:1::2"), C("fe80::2", "deprecated")],
        ["2001:db8:1::1", "fe80::1"],
        ["2001:db8:1::1", "fe80::1"],
    ),
    (  # rule 9, longest matching prefix
        [C("2001:db8:1::2"), C("2001:db8:3f44::2"), C("fe80::2")],
        ["2001:db8:1::1", "2001:db8:3ffe::1"],
        ["2001:db8:1::1", "2001:db8:3ffe::1"],
    ),
    (  # rule 5, prefer matching label
        [C("2002:c633:6401::2"), C("fe80::2")],
        ["2002:c633:6401::1", "2001:db8:1::1"],
        ["2002:c633:6401::1", "2001:db8:1::1"],
    ),
    (  # rule 6, prefer higher precedence
        [C("2002:c633:6401::2"), C("2001:db8:1::2"), C("fe80::2")],
        ["2002:c633:6401::1", "2001:db8:1::1"],
        ["2001:db8:1::1", "2002:c633:6401::1"],
    ),
]


@pytest.mark.parametrize(("candidates", "destinations", "expected"), DESTINATION_EXAMPLES)
def test_rfc6724_destination_examples(
    candidates: list[SourceCandidate], destinations: list[str], expected: list[str]
) -> None:
    def source(d: IPv6Address) -> SourceCandidate | None:
        return sel.select_source(d, candidates)

    want = [A(d) for d in expected]
    assert sel.sort_destinations([A(d) for d in destinations], source) == want
    assert sel.sort_destinations([A(d) for d in reversed(destinations)], source) == want


def test_destinations_without_a_source_or_unreachable_go_last() -> None:
    candidates = [C("2001:db8:1::2"), C("fe80::2")]

    def source(d: IPv6Address) -> SourceCandidate | None:
        return sel.select_source(d, candidates)

    # Rule 1: no IPv4 source, so the IPv4 destination is unusable.
    dests = [A("192.0.2.1"), A("2001:db8:1::1")]
    assert sel.sort_destinations(dests, source) == [A("2001:db8:1::1"), A("192.0.2.1")]
    # Rule 1: known to be unreachable.
    dests = [A("fe80::1"), A("2001:db8:1::1")]
    down = {A("fe80::1")}
    assert sel.sort_destinations(dests, source, unreachable=down.__contains__) == [
        A("2001:db8:1::1"),
        A("fe80::1"),
    ]


def test_rule_10_leaves_equals_in_order() -> None:
    candidates = [C("2001:db8:1::2")]
    dests = [A("2001:db8:1::c"), A("2001:db8:1::a"), A("2001:db8:1::b")]  # CPL 64 each
    assert sel.sort_destinations(dests, lambda d: sel.select_source(d, candidates)) == dests


# -- properties of the source rules -------------------------------------------------------

_PREFIXES = ["fe80::", "2001:db8:1::", "2001:db8:2::", "fd00:1::", "2002:c633:6401::", "fec0::"]


@st.composite
def addresses(draw: st.DrawFn) -> IPv6Address:
    prefix = int(A(draw(st.sampled_from(_PREFIXES))))
    return IPv6Address(prefix | draw(st.integers(1, 8)))


@st.composite
def candidates(draw: st.DrawFn) -> list[SourceCandidate]:
    cands = draw(
        st.lists(
            st.builds(
                SourceCandidate,
                addresses(),
                st.sampled_from([64, 48, 128]),
                deprecated=st.booleans(),
            ),
            max_size=6,
            unique_by=lambda c: c.address,
        )
    )
    return cands


destinations = st.one_of(
    addresses(),
    st.sampled_from([A("ff02::1"), A("ff05::1:3"), A("ff0e::101"), A("ff01::1"), A("::1")]),
)


@given(candidates(), destinations)
def test_result_is_a_candidate_and_none_only_without_candidates(
    cands: list[SourceCandidate], d: IPv6Address
) -> None:
    chosen = sel.select_source(d, cands)
    assert (chosen is None) == (not cands)
    assert chosen is None or chosen in cands


@given(candidates(), destinations, st.data())
def test_rule_1_wins_when_the_destination_is_a_candidate(
    cands: list[SourceCandidate], d: IPv6Address, data: st.DataObject
) -> None:
    deprecated = data.draw(st.booleans())
    cands = [c for c in cands if c.address != d]
    position = data.draw(st.integers(0, len(cands)))
    cands.insert(position, SourceCandidate(d, 64, deprecated=deprecated))
    if d.is_multicast:
        assert sel.select_source(d, cands) != cands[position]
        return
    chosen = sel.select_source(d, cands)
    assert chosen is not None and chosen.address == d


@given(candidates(), destinations)
def test_deprecated_is_never_chosen_over_a_preferred_of_the_same_scope(
    cands: list[SourceCandidate], d: IPv6Address
) -> None:
    chosen = sel.select_source(d, cands)
    if chosen is None or not chosen.deprecated or chosen.address == d:
        return
    same_scope = [c for c in cands if sel.scope(c.address) == sel.scope(chosen.address)]
    assert all(c.deprecated for c in same_scope)


@given(candidates(), destinations)
def test_the_choice_has_the_best_scope(cands: list[SourceCandidate], d: IPv6Address) -> None:
    # Rule 2 in other words: the smallest scope at least Scope(D) if there is one, else
    # the largest below it.
    chosen = sel.select_source(d, cands)
    if chosen is None or chosen.address == d:
        return
    scopes = {sel.scope(c.address) for c in cands}
    wide_enough = [s for s in scopes if s >= sel.scope(d)]
    best = min(wide_enough) if wide_enough else max(scopes)
    assert sel.scope(chosen.address) == best


@given(candidates(), destinations)
def test_the_order_of_candidates_changes_only_ties(
    cands: list[SourceCandidate], d: IPv6Address
) -> None:
    chosen = sel.select_source(d, cands)
    other = sel.select_source(d, list(reversed(cands)))
    assert (chosen is None) == (other is None)
    if chosen is not None and other is not None:
        assert sel.compare_sources(chosen, other, d) == 0


# -- zone indexes (RFC 4007 §11) ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "address", "zone"),
    [
        ("fe80::1%2", "fe80::1", 2),
        ("fe80::1%eth0", "fe80::1", "eth0"),
        ("FE80::1%eth0", "fe80::1", "eth0"),
        ("fe80::1%0", "fe80::1", 0),  # the default zone (RFC 6724 §6)
        ("fe80::1%007", "fe80::1", 7),
        ("ff02::1%lan-a.1", "ff02::1", "lan-a.1"),
        ("ff05::1:3%5", "ff05::1:3", 5),  # a site zone
        ("fe80::1", "fe80::1", None),
        ("2001:db8::1", "2001:db8::1", None),
    ],
)
def test_parse_scoped(text: str, address: str, zone: int | str | None) -> None:
    assert sel.parse_scoped(text) == (A(address), zone)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("fe80::1%", "empty zone"),
        ("%eth0", "not an IPv6 address"),
        ("fe80::g%1", "not an IPv6 address"),
        ("192.0.2.1%1", "not an IPv6 address"),
        ("fe80::1%eth 0", "bad character"),
        ("fe80::1%1%2", "bad character"),
        ("fe80::1%eth0/64", "bad character"),
        ("fe80::1%\x00", "bad character"),
        ("2001:db8::1%eth0", "takes no zone"),  # a global address (RFC 4007 §11.1)
        ("fd00::1%1", "takes no zone"),  # unique local addresses are global
        ("ff0e::1%1", "takes no zone"),
        ("::1%lo", "takes no zone"),  # the loopback address (RFC 4007 §11.1)
        ("::%1", "takes no zone"),  # the unspecified address has no scope
    ],
)
def test_parse_scoped_rejects_bad_text(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        sel.parse_scoped(text)


def test_format_scoped() -> None:
    assert sel.format_scoped(A("fe80::1"), 2) == "fe80::1%2"
    assert sel.format_scoped(A("fe80::1"), "eth0") == "fe80::1%eth0"
    assert sel.format_scoped(A("2001:db8::1"), None) == "2001:db8::1"
    with pytest.raises(ValueError, match="takes no zone"):
        sel.format_scoped(A("2001:db8::1"), 1)
    with pytest.raises(ValueError, match="not negative"):
        sel.format_scoped(A("fe80::1"), -1)
    with pytest.raises(ValueError, match="empty zone"):
        sel.format_scoped(A("fe80::1"), "")


any_scope = st.one_of(
    st.integers(0, 2**128 - 1).map(IPv6Address),  # nearly always global
    st.integers(0, 2**118 - 1).map(lambda low: IPv6Address(int(A("fe80::")) | low)),
    st.tuples(st.integers(0, 0xFF), st.integers(0, 2**112 - 1)).map(
        lambda fs: IPv6Address((0xFF << 120) | (fs[0] << 112) | fs[1])
    ),
    st.sampled_from([A("::"), A("::1"), A("fec0::1")]),
)


@given(
    any_scope,
    st.one_of(st.integers(0, 2**32 - 1), st.from_regex(r"[a-z][a-z0-9_.-]{0,14}", fullmatch=True)),
)
def test_format_then_parse_round_trips(address: IPv6Address, zone: int | str) -> None:
    if sel.scope(address) >= sel.GLOBAL or address in (A("::"), A("::1")):
        with pytest.raises(ValueError):
            sel.format_scoped(address, zone)
        return
    assert sel.parse_scoped(sel.format_scoped(address, zone)) == (address, zone)


@pytest.mark.parametrize(
    ("address", "needed"),
    [
        ("fe80::1", True),
        ("ff02::1", True),
        ("ff01::1", True),
        ("ff12::1:2", True),
        ("ff05::1:3", False),
        ("ff0e::1", False),
        ("::1", False),
        ("2001:db8::1", False),
        ("fd00::1", False),
    ],
)
def test_needs_zone(address: str, needed: bool) -> None:
    assert sel.needs_zone(A(address)) is needed


# -- the host: a multi-homed scenario on the wire -----------------------------------------


@dataclass
class Sent:
    host: str
    iface: str
    src: IPv6Address
    dst: IPv6Address
    kind: str


def _multi_homed() -> tuple[SimWorld, Host, list[Sent]]:
    """h has eth0 on lan0 (a link-local, a deprecated and a preferred global address of
    2001:db8:a::/64, a unique local address) and eth1 on lan1 (a link-local and global
    addresses of 2001:db8:c::/64 and 2001:db8:b::/64); p0 and p1 are its neighbors on lan0
    and lan1."""
    world = SimWorld(seed=3)
    no_dad = InterfaceParameters(dup_addr_detect_transmits=0)
    h, p0, p1 = world.host("h"), world.host("p0"), world.host("p1")
    eth0 = world.connect(h, "lan0", params=no_dad)
    eth1 = world.connect(h, "lan1", params=InterfaceParameters(dup_addr_detect_transmits=0))
    q0 = world.connect(p0, "lan0", params=InterfaceParameters(dup_addr_detect_transmits=0))
    q1 = world.connect(p1, "lan1", params=InterfaceParameters(dup_addr_detect_transmits=0))
    now = world.now
    for iface, text in [
        (eth0, "fe80::a"),
        (eth0, "2001:db8:a::2"),
        (eth0, "fd00:a::1"),
        (eth1, "fe80::b"),
        (eth1, "2001:db8:c::1"),  # first, so that rule 8, not the order, picks b::1
        (eth1, "2001:db8:b::1"),
        (q0, "fe80::10"),
        (q0, "2001:db8:a::10"),
        (q0, "fd00:a::10"),
        (q1, "fe80::20"),
        (q1, "2001:db8:b::20"),
    ]:
        iface.add_static_address(A(text), 64, now)
    # A global address whose preferred lifetime ends after one second (RFC 4862 §5.5.4).
    actions = eth0.addresses.add(A("2001:db8:a::1"), 64, Origin.STATIC, now, preferred_lifetime=1)
    h.nd_module.apply_address_actions(eth0, actions, now)
    sent: list[Sent] = []

    def observe(iface: Interface, frame: bytes, now: float) -> None:
        packet = Ether(frame)
        if IPv6 in packet:
            ip = packet[IPv6]
            kind = type(ip.payload).__name__
            sent.append(Sent(iface.host.name, iface.name, A(ip.src), A(ip.dst), kind))

    world.observers.append(observe)
    world.run_for(2.0)
    assert eth0.addresses.get(A("2001:db8:a::1")).state is AddressState.DEPRECATED  # type: ignore[union-attr]
    return world, h, sent


def test_multi_homed_host_picks_sources_by_the_rules_on_the_wire() -> None:
    world, h, sent = _multi_homed()
    eth0 = h.interface("eth0")
    pings = [
        # (destination, zone for a scoped one, expected source and interface, why)
        ("2001:db8:a::10", None, "2001:db8:a::2", "eth0", "rule 3 (not ::1), rule 6 (not fd00)"),
        ("fd00:a::10", None, "fd00:a::1", "eth0", "rule 6: the label of fc00::/7"),
        ("fe80::10", "eth0", "fe80::a", "eth0", "rule 2: link-local scope"),
        ("ff02::1", "eth0", "fe80::a", "eth0", "rule 2: link-local multicast"),
        ("ff0e::1", "eth0", "2001:db8:a::2", "eth0", "rule 2, then rules 3 and 6"),
        ("2001:db8:b::20", None, "2001:db8:b::1", "eth1", "eth1's candidates only; rule 8"),
        ("fe80::20", "eth1", "fe80::b", "eth1", "rule 2 on eth1"),
    ]
    start = len(sent)
    for seq, (dst, zone, _, _, _) in enumerate(pings):
        iface = h.interface(zone) if zone is not None else None
        assert h.icmpv6.send_echo_request(A(dst), 7, seq, b"sel", world.now, interface=iface)
        world.run_for(1.0)
    requests = [s for s in sent[start:] if s.host == "h" and s.kind == "ICMPv6EchoRequest"]
    assert [(str(s.dst), str(s.src), s.iface) for s in requests] == [
        (dst, src, on) for dst, _, src, on, _ in pings
    ]
    # The neighbors answered the unicast pings, to the source they were sent from.
    replies = {(r.src, r.dst) for r in h.icmpv6.echo_replies}
    for dst, _, src, _, _ in pings:
        if not A(dst).is_multicast:
            assert (A(dst), A(src)) in replies
    # Nothing the host sent after the deprecation, Neighbor Solicitations included, came
    # from the deprecated address, and no packet left by one interface with the address of
    # the other.
    mine = [s for s in sent if s.host == "h"]
    assert A("2001:db8:a::1") not in {s.src for s in sent[start:] if s.host == "h"}
    assert {s.kind for s in sent[start:] if s.host == "h"} >= {"ICMPv6ND_NS"}
    assert not [
        s for s in mine if s.iface == "eth0" and s.src in {A("fe80::b"), A("2001:db8:b::1")}
    ]
    assert not [
        s for s in mine if s.iface == "eth1" and s.src in {A("fe80::a"), A("2001:db8:a::2")}
    ]
    # Rule 1: the deprecated address is still the source for traffic to itself.
    assert h.select_source(eth0, A("2001:db8:a::1")) == A("2001:db8:a::1")


def test_a_tentative_address_is_never_a_source() -> None:
    world = SimWorld(seed=4)
    h = world.host("h")
    eth0 = world.connect(h, "lan0")  # DupAddrDetectTransmits 1: DAD runs
    eth0.add_static_address(A("fe80::a"), 64, world.now)
    assert h.select_source(eth0, A("fe80::1")) is None  # still tentative (RFC 4862 §5.4)
    world.run_for(5.0)
    eth0.add_static_address(A("2001:db8:a::5"), 64, world.now)
    assert eth0.addresses.is_tentative(A("2001:db8:a::5"))
    # Only the link-local address is assigned: rule 2 takes the best scope there is.
    assert h.select_source(eth0, A("2001:db8:a::10")) == A("fe80::a")
    world.run_for(5.0)
    assert h.select_source(eth0, A("2001:db8:a::10")) == A("2001:db8:a::5")


def test_the_preferred_source_is_kept_in_the_route_cache_until_the_addresses_change() -> None:
    """MSR IPv6's RCE holds the preferred source; RFC 6724 runs again when an address is
    deprecated (here: the cached one) or a new one becomes available."""
    world = SimWorld(seed=5)
    no_dad = InterfaceParameters(dup_addr_detect_transmits=0)
    h, p = world.host("h"), world.host("p")
    eth0 = world.connect(h, "lan0", params=no_dad)
    q = world.connect(p, "lan0", params=InterfaceParameters(dup_addr_detect_transmits=0))
    q.add_static_address(A("2001:db8:a::10"), 64, world.now)
    actions = eth0.addresses.add(
        A("2001:db8:a::1"), 64, Origin.STATIC, world.now, preferred_lifetime=5
    )
    h.nd_module.apply_address_actions(eth0, actions, world.now)
    h.routes.on_prefix_information(eth0, IPv6Address("2001:db8:a::"), 64, True, 3600.0, world.now)
    world.run_for(0.5)
    dst = A("2001:db8:a::10")
    h.icmpv6.send_echo_request(dst, 1, 1, b"1", world.now)
    world.run_for(0.5)
    rce = h.routes.lookup(dst)
    assert rce is not None and rce.preferred_source == A("2001:db8:a::1")
    eth0.add_static_address(A("2001:db8:a::2"), 64, world.now)
    assert rce.preferred_source is None  # a new address: select again
    h.icmpv6.send_echo_request(dst, 1, 2, b"2", world.now)
    world.run_for(5.0)  # 2001:db8:a::1 is deprecated now
    assert rce.preferred_source is None
    h.icmpv6.send_echo_request(dst, 1, 3, b"3", world.now)
    world.run_for(0.5)
    assert rce.preferred_source == A("2001:db8:a::2")
    assert [(r.sequence, r.dst) for r in h.icmpv6.echo_replies] == [
        (1, A("2001:db8:a::1")),
        (2, A("2001:db8:a::1")),
        (3, A("2001:db8:a::2")),
    ]


def test_scoped_destinations_name_the_interface() -> None:
    """RFC 4007 §11: the zone of ``fe80::20%eth1`` (or ``%2``) is the interface the packet
    leaves by; a link-local address without one is refused on a multi-homed host."""
    world, h, sent = _multi_homed()
    eth1 = h.interface("eth1")
    assert h.scoped_destination("fe80::20%eth1") == (A("fe80::20"), eth1)
    assert h.scoped_destination("fe80::20%2") == (A("fe80::20"), eth1)
    assert h.scoped_destination("2001:db8:b::20") == (A("2001:db8:b::20"), None)
    with pytest.raises(ValueError, match="is link-local: say which interface, %1 \\(%eth0\\)"):
        h.scoped_destination("fe80::20")
    with pytest.raises(ValueError, match="no interface 'eth9' on h"):
        h.scoped_destination("fe80::20%eth9")
    with pytest.raises(ValueError):
        h.scoped_destination("2001:db8:b::20%eth1")  # RFC 4007 §11.1: no zone on a global address
    dst, iface = h.scoped_destination("fe80::20%eth1")
    start = len(sent)
    assert h.icmpv6.send_echo_request(dst, 9, 1, b"zone", world.now, interface=iface)
    world.run_for(1.0)
    out = [s for s in sent[start:] if s.host == "h" and s.kind == "ICMPv6EchoRequest"]
    assert [(s.iface, s.src) for s in out] == [("eth1", A("fe80::b"))]
