"""The RFC 8200 receive path: header checks, extension header chain, ICMPv6 errors, and
bad input that is dropped and counted, never raised."""

from __future__ import annotations

from ipaddress import IPv6Address
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scapy.layers import inet6 as s6
from scapy.layers.l2 import Ether
from scapy.packet import Packet, Raw

from tcpip6.wire import icmpv6 as wi
from tests.stack.conftest import A_LL, B_LL, Pair


def send_to_b(pair: Pair, pkt: Packet) -> None:
    """A frame from A's MAC to B's, carrying ``pkt``, delivered at once."""
    frame = (
        Ether(src=pair.ia.link.link_address.hex(":"), dst=pair.ib.link.link_address.hex(":")) / pkt
    )
    pair.b.receive(pair.ib, bytes(frame), pair.world.now)
    pair.world.run_for(0.5)


def ip(**kw: Any) -> Packet:
    return s6.IPv6(src=str(A_LL), dst=str(B_LL), **kw)


def errors(pair: Pair) -> list[tuple[int, int, int]]:
    return [(e.type, e.code, e.parameter) for e in pair.a.icmpv6.errors_received]


def echo() -> Packet:
    return s6.ICMPv6EchoRequest(id=7, seq=1)


def test_unknown_next_header_gets_parameter_problem_pointer_6(pair: Pair) -> None:
    send_to_b(pair, ip(nh=253) / Raw(b"\x00" * 8))
    assert errors(pair) == [(wi.PARAMETER_PROBLEM, wi.PARAM_PROBLEM_NEXT_HEADER, 6)]
    assert pair.b.ip.unknown_next_header_drop == 1
    (err,) = pair.a.icmpv6.errors_received
    assert err.invoking[:40] == bytes(ip(nh=253) / Raw(b"\x00" * 8))[:40]


def test_unknown_next_header_after_extension_points_into_the_chain(pair: Pair) -> None:
    send_to_b(pair, ip() / s6.IPv6ExtHdrDestOpt(nh=253) / Raw(b"\x00" * 8))
    assert errors(pair) == [(wi.PARAMETER_PROBLEM, wi.PARAM_PROBLEM_NEXT_HEADER, 40)]


def test_hop_by_hop_not_first_is_refused(pair: Pair) -> None:
    send_to_b(pair, ip() / s6.IPv6ExtHdrDestOpt() / s6.IPv6ExtHdrHopByHop() / echo())
    assert errors(pair) == [(wi.PARAMETER_PROBLEM, wi.PARAM_PROBLEM_NEXT_HEADER, 40)]
    assert pair.b.ip.hop_by_hop_not_first_drop == 1


def test_extension_chain_delivers_to_icmpv6(pair: Pair) -> None:
    send_to_b(
        pair,
        ip() / s6.IPv6ExtHdrHopByHop(options=[s6.RouterAlert()]) / s6.IPv6ExtHdrDestOpt() / echo(),
    )
    assert [r.sequence for r in pair.a.icmpv6.echo_replies] == [1]


@pytest.mark.parametrize(
    ("otype", "multicast", "answered", "error"),
    [
        (0x1E, False, True, None),  # 00: skip over the option
        (0x5E, False, False, None),  # 01: discard silently
        (0x9E, False, False, (wi.PARAMETER_PROBLEM, wi.PARAM_PROBLEM_OPTION, 42)),  # 10
        (0x9E, True, False, (wi.PARAMETER_PROBLEM, wi.PARAM_PROBLEM_OPTION, 42)),  # 10 to mcast
        (0xDE, False, False, (wi.PARAMETER_PROBLEM, wi.PARAM_PROBLEM_OPTION, 42)),  # 11
        (0xDE, True, False, None),  # 11: no ICMP about a multicast destination
    ],
)
def test_unknown_option_action_bits(
    pair: Pair, otype: int, multicast: bool, answered: bool, error: tuple[int, int, int] | None
) -> None:
    dst = "ff02::1" if multicast else str(B_LL)
    opt = s6.HBHOptUnknown(otype=otype, optdata=b"\x00\x00\x00\x00")
    send_to_b(pair, s6.IPv6(src=str(A_LL), dst=dst) / s6.IPv6ExtHdrDestOpt(options=[opt]) / echo())
    assert bool(pair.a.icmpv6.echo_replies) == answered
    assert errors(pair) == ([error] if error else [])
    assert pair.b.ip.unknown_option_drop == (0 if answered else 1)


def test_routing_header_type0_refused_rfc5095(pair: Pair) -> None:
    rh = s6.IPv6ExtHdrRouting(addresses=["2001:db8::9"], segleft=1)
    send_to_b(pair, ip() / rh / echo())
    assert errors(pair) == [(wi.PARAMETER_PROBLEM, wi.PARAM_PROBLEM_HEADER_FIELD, 42)]
    assert not pair.a.icmpv6.echo_replies


def test_routing_header_with_no_segments_left_is_skipped(pair: Pair) -> None:
    send_to_b(pair, ip() / s6.IPv6ExtHdrRouting(addresses=["2001:db8::9"], segleft=0) / echo())
    assert [r.sequence for r in pair.a.icmpv6.echo_replies] == [1]


def test_atomic_fragment_is_processed_rfc6946(pair: Pair) -> None:
    send_to_b(pair, ip() / s6.IPv6ExtHdrFragment(offset=0, m=0, id=5) / echo())
    assert [r.sequence for r in pair.a.icmpv6.echo_replies] == [1]


def test_no_error_about_an_error(pair: Pair) -> None:
    inner = bytes(ip(nh=253))
    send_to_b(pair, ip(nh=58) / s6.ICMPv6ParamProblem(ptr=6) / Raw(inner))
    # B receives an error message for itself; it must not answer it with another error.
    assert errors(pair) == []
    assert pair.b.icmp.in_parameter_problem == 1


def test_error_rate_limit(pair: Pair) -> None:
    for _ in range(30):
        pair.b.receive(
            pair.ib,
            bytes(Ether(dst=pair.ib.link.link_address.hex(":")) / ip(nh=253)),
            pair.world.now,
        )
    pair.world.run_for(0.5)
    # RFC 4443 §2.4 (f): the first error to a destination not yet in the Destination
    # Cache is charged to the bucket shared by all such destinations (a flood from many
    # sources gets one burst in all); sending it makes the RCE (link-local destinations
    # too, RFC 4861 §5.1), whose own bucket then allows its burst of 10.
    assert pair.b.icmp.out_parameter_problem == 1 + 10
    assert pair.b.icmp.error_rate_limited == 30 - 11
    rce = pair.b.routes.lookup(A_LL, pair.ib)
    assert rce is not None and rce.icmp_errors.tokens < 1


@pytest.mark.parametrize(
    ("pkt", "counter"),
    [
        (s6.IPv6(src="ff02::1", dst=str(B_LL)) / echo(), "source_multicast_drop"),
        (s6.IPv6(src=str(A_LL), dst="fe80::77") / echo(), "destination_not_ours_drop"),
        (s6.IPv6(src=str(A_LL), dst="ff02::1:2") / echo(), "destination_not_ours_drop"),
        (s6.IPv6(src=str(A_LL), dst=str(B_LL), plen=500) / echo(), "truncated_drop"),
    ],
)
def test_bad_packets_dropped_and_counted(pair: Pair, pkt: Packet, counter: str) -> None:
    pair.b.ip.reset()
    send_to_b(pair, pkt)
    received = {k: v for k, v in pair.b.ip.nonzero().items() if not k.startswith("out_")}
    assert received == {"in_receives": 1, counter: 1}
    assert errors(pair) == [] and not pair.a.icmpv6.echo_replies


def test_bad_icmp_checksum_counted(pair: Pair) -> None:
    send_to_b(pair, ip() / s6.ICMPv6EchoRequest(cksum=1))
    assert pair.b.icmp.bad_checksum_drop == 1 and not pair.a.icmpv6.echo_replies


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=200))
def test_receive_never_raises_on_garbage(pair: Pair, data: bytes) -> None:
    # Host.strict is on in SimWorld: any internal exception would propagate here.
    eth = pair.ib.link.link_address + pair.ia.link.link_address + b"\x86\xdd"
    pair.b.receive(pair.ib, eth + data, pair.world.now)
    pair.b.receive(pair.ib, eth + bytes(ip(nh=58) / Raw(data)), pair.world.now)
    pair.b.receive(pair.ib, data, pair.world.now)
    assert pair.b.internal_errors == 0


HOME = "2001:db8:9::b"


def test_type2_routing_header_delivers_to_the_home_address_rfc6275(pair: Pair) -> None:
    """RFC 6275 §6.4: to B's care-of address (its link-local one) with B's home address in
    a type 2 routing header: the echo is delivered as addressed to the home address (the
    checksum covers the home address too) and answered from it."""
    pair.ib.add_static_address(IPv6Address(HOME), 64, pair.world.now)
    pair.world.run_for(0.5)
    rh = s6.IPv6ExtHdrRouting(type=2, segleft=1, addresses=[HOME])
    send_to_b(pair, ip() / rh / echo())
    assert pair.b.icmp.in_echo_requests == 1
    assert [(r.src, r.identifier) for r in pair.a.icmpv6.echo_replies] == [(IPv6Address(HOME), 7)]
    assert pair.b.ip.routing_type2_drop == 0


@pytest.mark.parametrize(
    ("segleft", "home"),
    [(2, HOME), (1, "2001:db8:9::99")],
    ids=["segments-left-not-1", "home-address-not-ours"],
)
def test_bad_type2_routing_header_is_silently_discarded(
    pair: Pair, segleft: int, home: str
) -> None:
    pair.ib.add_static_address(IPv6Address(HOME), 64, pair.world.now)
    pair.world.run_for(0.5)
    rh = s6.IPv6ExtHdrRouting(type=2, segleft=segleft, addresses=[home])
    send_to_b(pair, ip() / rh / echo())
    assert pair.b.ip.routing_type2_drop == 1
    assert pair.b.icmp.in_echo_requests == 0 and not pair.a.icmpv6.errors_received
