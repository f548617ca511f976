"""ICMPv6 messages (RFC 4443) and the parse_icmpv6 dispatcher, with scapy as the oracle."""

from __future__ import annotations

import contextlib
from ipaddress import IPv6Address
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scapy.layers import inet6 as s6
from scapy.layers.inet import UDP
from scapy.packet import Packet, Raw

from tcpip6.wire import ChecksumError, WireError
from tcpip6.wire import icmpv6 as wi
from tcpip6.wire import mld as wm
from tcpip6.wire import nd as wn
from tcpip6.wire.ipv6 import Ipv6Header
from tests.wire import strategies_icmp as si
from tests.wire.strategies import ipv6_addresses, mutations

SRC, DST = si.SRC, si.DST


def scapy_icmp(layer: Packet, src: IPv6Address, dst: IPv6Address) -> bytes:
    """The ICMPv6 octets scapy builds, checksum computed by scapy."""
    return bytes(s6.IPv6(src=str(src), dst=str(dst)) / layer)[40:]


def check_oracle(msg: Any, theirs: Packet, src: IPv6Address, dst: IPv6Address) -> None:
    """Our octets are scapy's, and scapy's octets parse to our value."""
    ours = wi.build_icmpv6(msg, src, dst)
    raw = scapy_icmp(theirs, src, dst)
    assert ours == raw
    assert wi.parse_icmpv6(raw, src, dst) == msg


def assert_wire_error(raw: bytes, exc: type[WireError] = WireError) -> WireError:
    with pytest.raises(exc) as info:
        wi.parse_icmpv6(raw, SRC, DST)
    return info.value


# -- round trips, every class ---------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(si.MESSAGES))
@given(data=st.data(), src=ipv6_addresses, dst=ipv6_addresses)
def test_round_trip(name: str, data: st.DataObject, src: IPv6Address, dst: IPv6Address) -> None:
    msg = data.draw(si.MESSAGES[name])
    raw = msg.build(src, dst)
    assert len(raw) == msg.buffer_len()
    assert wi.parse_icmpv6(raw, src, dst) == msg
    # The class's own parse agrees with the dispatcher (MLD queries by their own class).
    assert type(msg).parse(raw, src, dst) == msg
    # emit writes every octet, at any offset, over whatever was in the buffer.
    buf = bytearray(b"\xa5" * (msg.buffer_len() + 3))
    msg.emit(buf, src, dst, 3)
    assert bytes(buf[3:]) == raw


# -- scapy as the oracle ----------------------------------------------------------------------
@given(si.echo_requests, ipv6_addresses, ipv6_addresses)
def test_echo_request_matches_scapy(m: wi.EchoRequest, src: IPv6Address, dst: IPv6Address) -> None:
    theirs = s6.ICMPv6EchoRequest(code=m.code, id=m.identifier, seq=m.sequence, data=m.data)
    check_oracle(m, theirs, src, dst)


@given(si.echo_replies, ipv6_addresses, ipv6_addresses)
def test_echo_reply_matches_scapy(m: wi.EchoReply, src: IPv6Address, dst: IPv6Address) -> None:
    theirs = s6.ICMPv6EchoReply(code=m.code, id=m.identifier, seq=m.sequence, data=m.data)
    check_oracle(m, theirs, src, dst)


def _scapy_unused(cls: Any) -> Any:
    """scapy's layer for a type whose word is ``unused``: scapy splits it into the RFC 4884
    length octet and 24 unused bits."""
    return lambda m: cls(code=m.code, length=m.unused >> 24, unused=m.unused & 0xFFFFFF)


#: Each error type (RFC 4443 §3): its messages, and scapy's layer for the same message.
ERRORS: dict[str, tuple[st.SearchStrategy[Any], Any]] = {
    "destination_unreachable": (si.destination_unreachables, _scapy_unused(s6.ICMPv6DestUnreach)),
    "packet_too_big": (si.packets_too_big, lambda m: s6.ICMPv6PacketTooBig(code=m.code, mtu=m.mtu)),
    "time_exceeded": (si.time_exceededs, _scapy_unused(s6.ICMPv6TimeExceeded)),
    "parameter_problem": (
        si.parameter_problems,
        lambda m: s6.ICMPv6ParamProblem(code=m.code, ptr=m.pointer),
    ),
}


@pytest.mark.parametrize("kind", sorted(ERRORS))
@given(data=st.data(), src=ipv6_addresses, dst=ipv6_addresses)
def test_error_matches_scapy(
    kind: str, data: st.DataObject, src: IPv6Address, dst: IPv6Address
) -> None:
    messages, scapy_layer = ERRORS[kind]
    m = data.draw(messages)
    check_oracle(m, scapy_layer(m) / Raw(m.invoking), src, dst)


@given(si.unknown_icmpv6, ipv6_addresses, ipv6_addresses)
def test_unknown_type_matches_scapy(
    m: wi.UnknownIcmpv6, src: IPv6Address, dst: IPv6Address
) -> None:
    theirs = s6.ICMPv6Unknown(type=m.type, code=m.code, msgbody=m.body)
    check_oracle(m, theirs, src, dst)


def test_scapy_dissects_our_error_with_its_invoking_packet() -> None:
    invoking = bytes(s6.IPv6(src="2001:db8::1", dst="2001:db8::2") / UDP(sport=7, dport=9))
    ours = wi.ParameterProblem(wi.PARAM_PROBLEM_NEXT_HEADER, invoking, pointer=6).build(SRC, DST)
    theirs = s6.IPv6(bytes(s6.IPv6(src=str(SRC), dst=str(DST), nh=58, plen=len(ours))) + ours)
    pp = theirs[s6.ICMPv6ParamProblem]
    assert (pp.type, pp.code, pp.ptr) == (4, 1, 6)
    assert theirs[s6.IPerror6].dst == "2001:db8::2"


# -- explicit cases ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "msg",
    [
        wi.EchoRequest(1, 2, b"ping"),
        wi.PacketTooBig(0, b"x" * 40, mtu=1280),
        wn.NeighborSolicitation(IPv6Address("fe80::2")),
        wm.MldReport(IPv6Address("ff02::1:3")),
        wi.UnknownIcmpv6(200, 0, b"abcd"),
    ],
)
def test_bad_checksum_is_checksum_error(msg: Any) -> None:
    raw = bytearray(msg.build(SRC, DST))
    raw[-1] ^= 0x01
    assert_wire_error(bytes(raw), ChecksumError)
    # The same octets with another pseudo-header do not verify either.
    with pytest.raises(ChecksumError):
        wi.parse_icmpv6(msg.build(SRC, DST), SRC, IPv6Address("ff02::2"))
    with pytest.raises(ChecksumError):
        type(msg).parse(bytes(raw), SRC, DST)


def test_too_short_for_a_header() -> None:
    for n in range(4):
        assert_wire_error(bytes(n))


@pytest.mark.parametrize("cls", [wi.DestinationUnreachable, wi.EchoRequest, wi.EchoReply])
def test_truncated_fixed_part(cls: Any) -> None:
    raw = si.resum(bytes([cls.TYPE, 0, 0, 0, 0, 0, 0]))
    assert "need 8" in str(assert_wire_error(raw))


def test_class_parse_rejects_another_type() -> None:
    raw = wi.EchoReply(1, 2).build(SRC, DST)
    with pytest.raises(WireError, match="type 129"):
        wi.EchoRequest.parse(raw, SRC, DST)


def test_unknown_types_survive_and_errors_are_told_apart() -> None:
    for t in (0, 5, 100, 127, 150, 200, 255):
        msg = wi.UnknownIcmpv6(t, 9, b"\x01\x02\x03\x04")
        assert wi.parse_icmpv6(msg.build(SRC, DST), SRC, DST) == msg
        assert wi.is_error_type(t) == (t < 128)


def test_error_codes_have_the_rfc_values() -> None:
    unreachable = [
        wi.UNREACH_NO_ROUTE,
        wi.UNREACH_ADMIN_PROHIBITED,
        wi.UNREACH_BEYOND_SCOPE,
        wi.UNREACH_ADDRESS,
        wi.UNREACH_PORT,
        wi.UNREACH_SOURCE_POLICY,
        wi.UNREACH_REJECT_ROUTE,
        wi.UNREACH_SOURCE_ROUTING_HEADER,
    ]
    assert unreachable == list(range(8))
    assert (wi.TIME_EXCEEDED_HOP_LIMIT, wi.TIME_EXCEEDED_REASSEMBLY) == (0, 1)
    parameter_problem = [
        wi.PARAM_PROBLEM_HEADER_FIELD,
        wi.PARAM_PROBLEM_NEXT_HEADER,
        wi.PARAM_PROBLEM_OPTION,
        wi.PARAM_PROBLEM_INCOMPLETE_CHAIN,
    ]
    assert parameter_problem == list(range(4))


def test_a_static_echo_request() -> None:
    # The checksum worked by hand (RFC 1071): the pseudo-header of fe80::1 -> ff02::1,
    # length 10, next header 58, then 8000 0000 1234 0001 6869 (type 128, id 0x1234,
    # sequence 1, "hi").
    total = 0xFE80 + 0x0001 + 0xFF02 + 0x0001 + 10 + 58 + 0x8000 + 0x1234 + 0x0001 + 0x6869
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    expected = bytes.fromhex("8000") + (~total & 0xFFFF).to_bytes(2, "big")
    expected += bytes.fromhex("123400016869")
    msg = wi.EchoRequest(0x1234, 1, b"hi")
    assert msg.build(SRC, DST) == expected
    assert wi.parse_icmpv6(expected, SRC, DST) == msg


@pytest.mark.parametrize("size", [0, 100, wi.MAX_INVOKING, wi.MAX_INVOKING + 1, 3000, 65535])
def test_truncate_invoking_keeps_the_error_within_the_minimum_mtu(size: int) -> None:
    packet = bytes(range(256)) * (size // 256) + bytes(size % 256)
    invoking = wi.truncate_invoking(packet)
    msg = wi.DestinationUnreachable(wi.UNREACH_PORT, invoking)
    total = Ipv6Header.HEADER_LEN + len(msg.build(SRC, DST))
    assert total <= 1280
    assert invoking == packet[: len(invoking)]
    # As much as possible: the whole packet when it fits, else exactly 1280 octets.
    if size > wi.MAX_INVOKING:
        assert total == 1280
    else:
        assert invoking == packet


def test_truncate_invoking_leaves_room_for_extension_headers() -> None:
    invoking = wi.truncate_invoking(bytes(2000), extension_len=16)
    assert 40 + 16 + 8 + len(invoking) == 1280
    with pytest.raises(ValueError):
        wi.truncate_invoking(b"", extension_len=wi.MAX_INVOKING + 8)


# -- robustness -------------------------------------------------------------------------------
@given(st.binary(max_size=160))
def test_arbitrary_bytes_raise_only_wire_error(data: bytes) -> None:
    for raw in (data, si.resum(data)):
        with contextlib.suppress(WireError):
            wi.parse_icmpv6(raw, SRC, DST)


@given(st.sampled_from(sorted(wn.ND_TYPES | wm.MLD_TYPES | {1, 2, 3, 4, 128, 129})), st.binary())
def test_arbitrary_bodies_of_known_types_raise_only_wire_error(t: int, body: bytes) -> None:
    with contextlib.suppress(WireError):
        wi.parse_icmpv6(si.resum(bytes([t, 0, 0, 0]) + body), SRC, DST)


@pytest.mark.parametrize("name", sorted(si.MESSAGES))
@given(data=st.data())
def test_mutations_raise_only_wire_error(name: str, data: st.DataObject) -> None:
    msg = data.draw(si.MESSAGES[name])
    mutated = data.draw(mutations(msg.build(SRC, DST)))
    # As received: mostly a checksum failure.
    with contextlib.suppress(WireError):
        wi.parse_icmpv6(mutated, SRC, DST)
    # With the checksum made good again, so the mutation reaches the body parser.
    try:
        parsed = wi.parse_icmpv6(si.resum(mutated), SRC, DST)
    except WireError:
        return
    # Parsing loses nothing: whatever parses builds back to the very same octets.
    assert parsed.build(SRC, DST) == si.resum(mutated)
