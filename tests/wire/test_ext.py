"""IPv6 extension headers and the header chain, checked against scapy."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from ipaddress import IPv6Address
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scapy.layers import inet6 as s6

from tcpip6.wire import WireError, ext
from tcpip6.wire.ipv6 import HOPOPT, IPPROTO_FRAGMENT, IPPROTO_ROUTING
from tests.wire.strategies import ipv6_addresses, mutations, u8
from tests.wire.strategies_transport import (
    fragment_headers,
    options_headers,
    routing_headers,
    type0_routing_headers,
    type2_routing_headers,
)


def scapy_options(options: tuple[ext.TlvOption, ...]) -> list[Any]:
    out: list[Any] = []
    for o in options:
        if isinstance(o, ext.Pad1):
            out.append(s6.Pad1())
        elif isinstance(o, ext.PadN):
            out.append(s6.PadN(optdata=o.data))
        else:
            out.append(s6.HBHOptUnknown(otype=o.type, optdata=o.data))
    return out


def scapy_class(h: ext.OptionsHeader) -> Any:
    return s6.IPv6ExtHdrHopByHop if isinstance(h, ext.HopByHopOptions) else s6.IPv6ExtHdrDestOpt


# -- round trips ------------------------------------------------------------------------
@given(options_headers)
def test_options_header_round_trip(h: ext.OptionsHeader) -> None:
    raw = h.build()
    assert len(raw) == h.buffer_len() and len(raw) % 8 == 0
    assert type(h).parse(raw) == h
    # The generic parse reads either kind of header, with the same options.
    assert ext.OptionsHeader.parse(raw).options == h.options


@given(routing_headers)
def test_routing_header_round_trip(h: ext.RoutingHeader) -> None:
    assert ext.RoutingHeader.parse(h.build()) == h


def _scapy_routing_header(
    h: ext.Type0RoutingHeader | ext.Type2RoutingHeader,
    routing_type: int,
    addresses: Sequence[IPv6Address],
) -> bytes:
    """The Routing header scapy builds from ``h``'s fields (RFC 8200 §4.4)."""
    return bytes(
        s6.IPv6ExtHdrRouting(
            nh=h.next_header,
            type=routing_type,
            segleft=h.segments_left,
            reserved=h.reserved,
            addresses=[str(a) for a in addresses],
        )
    )


@given(type0_routing_headers)
def test_type0_round_trip(h: ext.Type0RoutingHeader) -> None:
    raw = h.build()
    assert len(raw) == h.buffer_len()
    assert ext.Type0RoutingHeader.parse(raw) == h
    assert ext.RoutingHeader.parse(raw).specific() == h


@given(type2_routing_headers)
def test_type2_round_trip(h: ext.Type2RoutingHeader) -> None:
    raw = h.build()
    assert len(raw) == h.buffer_len() == 24
    assert ext.Type2RoutingHeader.parse(raw) == h
    assert ext.RoutingHeader.parse(raw).specific() == h


@given(fragment_headers)
def test_fragment_round_trip(h: ext.FragmentHeader) -> None:
    assert ext.FragmentHeader.parse(h.build()) == h


# -- scapy as the oracle ----------------------------------------------------------------
@given(options_headers)
def test_options_header_matches_scapy(h: ext.OptionsHeader) -> None:
    theirs = bytes(scapy_class(h)(nh=h.next_header, autopad=0, options=scapy_options(h.options)))
    assert h.build() == theirs
    assert type(h).parse(theirs) == h
    dissected = scapy_class(h)(theirs)
    assert (dissected.nh, dissected.len) == (h.next_header, h.buffer_len() // 8 - 1)
    assert [(o.otype, bytes(o)) for o in dissected.options] == [
        (o.type, o.encode()) for o in h.options
    ]


@given(type0_routing_headers)
def test_type0_matches_scapy(h: ext.Type0RoutingHeader) -> None:
    theirs = _scapy_routing_header(h, 0, h.addresses)
    assert h.build() == theirs
    assert ext.Type0RoutingHeader.parse(theirs) == h
    dissected = s6.IPv6ExtHdrRouting(theirs)
    assert [IPv6Address(a) for a in dissected.addresses] == list(h.addresses)
    assert dissected.len == 2 * len(h.addresses)


@given(type2_routing_headers)
def test_type2_matches_scapy(h: ext.Type2RoutingHeader) -> None:
    theirs = _scapy_routing_header(h, 2, [h.home_address])
    assert h.build() == theirs
    assert ext.Type2RoutingHeader.parse(theirs) == h
    assert s6.IPv6ExtHdrRouting(theirs).len == 2


@given(fragment_headers)
def test_fragment_matches_scapy(h: ext.FragmentHeader) -> None:
    theirs = bytes(
        s6.IPv6ExtHdrFragment(
            nh=h.next_header,
            res1=h.reserved,
            offset=h.fragment_offset,
            res2=h.res,
            m=int(h.more),
            id=h.identification,
        )
    )
    assert h.build() == theirs
    assert ext.FragmentHeader.parse(theirs) == h
    d = s6.IPv6ExtHdrFragment(theirs)
    assert (d.nh, d.res1, d.offset, d.res2, d.m, d.id) == (
        h.next_header,
        h.reserved,
        h.fragment_offset,
        h.res,
        int(h.more),
        h.identification,
    )


@given(
    st.lists(
        st.sampled_from(["hbh", "dst", "rt0", "frag"]),
        max_size=4,
    ),
    st.binary(max_size=16),
)
def test_walk_matches_scapy_layers(kinds: list[str], body: bytes) -> None:
    """The offsets walk() finds are where scapy's dissector puts each layer."""
    layers: Any = s6.IPv6(src="2001:db8::1", dst="2001:db8::2")
    for kind in kinds:
        if kind == "hbh":
            layers /= s6.IPv6ExtHdrHopByHop(options=[s6.RouterAlert()])
        elif kind == "dst":
            layers /= s6.IPv6ExtHdrDestOpt()
        elif kind == "rt0":
            layers /= s6.IPv6ExtHdrRouting(addresses=["2001:db8::3"], segleft=0)
        else:
            layers /= s6.IPv6ExtHdrFragment(id=7, offset=0, m=0)
    pkt = s6.IPv6(bytes(layers / s6.UDP(sport=1, dport=2) / body))
    payload = bytes(pkt)[40:]
    rows = ext.walk(pkt.nh, payload)
    expected = []
    layer = pkt.payload
    while layer.name != "UDP":
        expected.append((len(payload) - len(bytes(layer)), layer.nh))
        layer = layer.payload
    assert [(off, hdr.next_header) for _, off, hdr in rows[:-1] if hdr is not None] == expected
    assert rows[-1] == (17, len(payload) - len(bytes(layer)), None)


# -- robustness -------------------------------------------------------------------------
PARSERS: list[Any] = [
    ext.OptionsHeader.parse,
    ext.HopByHopOptions.parse,
    ext.DestinationOptions.parse,
    ext.RoutingHeader.parse,
    ext.Type0RoutingHeader.parse,
    ext.Type2RoutingHeader.parse,
    ext.FragmentHeader.parse,
    ext.parse_options,
    lambda b: ext.RoutingHeader.parse(b).specific(),
    lambda b: ext.walk(HOPOPT, b),
    lambda b: ext.walk(IPPROTO_ROUTING, b),
    lambda b: ext.walk(IPPROTO_FRAGMENT, b),
]


def parse_all(data: bytes) -> None:
    for parse in PARSERS:
        with contextlib.suppress(WireError):
            parse(data)


@given(st.binary(max_size=80))
def test_arbitrary_bytes_raise_only_wire_error(data: bytes) -> None:
    parse_all(data)


encodings = st.one_of(
    options_headers.map(lambda h: h.build()),
    routing_headers.map(lambda h: h.build()),
    type0_routing_headers.map(lambda h: h.build()),
    type2_routing_headers.map(lambda h: h.build()),
    fragment_headers.map(lambda h: h.build()),
)


@given(encodings.flatmap(mutations))
def test_mutated_encodings_raise_only_wire_error(data: bytes) -> None:
    parse_all(data)


# -- rules ------------------------------------------------------------------------------
def test_option_action_bits() -> None:
    # RFC 8200 §4.2: 00 skip, 01 discard, 10 discard + ICMP, 11 discard + ICMP unless
    # the destination is multicast.
    assert [ext.option_action(t) for t in (0x1E, 0x5E, 0x8E, 0xC2)] == [
        ext.ACTION_SKIP,
        ext.ACTION_DISCARD,
        ext.ACTION_DISCARD_ICMP,
        ext.ACTION_DISCARD_ICMP_UNLESS_MULTICAST,
    ]
    assert ext.option_may_change(0x3E) and not ext.option_may_change(0x1E)
    assert ext.Option(0xC2, b"\x00" * 4).action == ext.ACTION_DISCARD_ICMP_UNLESS_MULTICAST
    assert ext.Option(0x63).may_change  # RPL option: type 0x63 has the change bit set


@given(st.lists(st.integers(min_value=0, max_value=20), max_size=5))
def test_pad_options_reaches_a_multiple_of_8(sizes: list[int]) -> None:
    opts = tuple(ext.Option(0x1E, b"\x00" * n) for n in sizes)
    padded = ext.pad_options(opts)
    assert padded[: len(opts)] == opts
    assert len(padded) - len(opts) <= 1
    header = ext.DestinationOptions(59, padded)
    assert header.buffer_len() % 8 == 0
    assert ext.pad_options(padded) == padded


def test_padding_is_pad1_for_one_octet_padn_otherwise() -> None:
    assert ext.pad_options((ext.Option(0x1E, b"\x00" * 3),)) == (
        ext.Option(0x1E, b"\x00" * 3),
        ext.Pad1(),
    )
    assert ext.pad_options(()) == (ext.PadN(b"\x00" * 4),)
    with pytest.raises(ValueError):
        ext.Option(ext.PADN, b"\x00")


def test_mld_hop_by_hop_header_bytes() -> None:
    # RFC 2710 §3 / RFC 2711: next header ICMPv6, Router Alert value 0, PadN of 2.
    h = ext.HopByHopOptions(58, ext.pad_options((ext.router_alert(),)))
    assert h.build() == bytes.fromhex("3a00 0502 0000 0100")
    assert bytes(s6.IPv6ExtHdrHopByHop(nh=58, options=[s6.RouterAlert()])) == h.build()


def test_options_header_length_beyond_buffer() -> None:
    raw = bytearray(ext.DestinationOptions(59, ext.pad_options(())).build())
    raw[1] = 1  # says 16 octets, has 8
    with pytest.raises(WireError):
        ext.DestinationOptions.parse(bytes(raw))


def test_option_running_past_the_header() -> None:
    raw = bytes.fromhex("3b00 1e05 0000 0000")  # option data of 5 with room for 4
    with pytest.raises(WireError):
        ext.HopByHopOptions.parse(raw)


def test_fragment_header_fields_exact() -> None:
    raw = bytes.fromhex("11 ab 0fa5 deadbeef")
    h = ext.FragmentHeader.parse(raw)
    # 0x0fa5 = offset 0x1f4 (500 units = 4000 octets), Res 2, M 1.
    assert h == ext.FragmentHeader(17, 500, True, 0xDEADBEEF, reserved=0xAB, res=2)
    assert h.offset_octets == 4000 and not h.is_atomic
    assert h.build() == raw
    assert ext.FragmentHeader(58, 0, False, 1).is_atomic


def test_routing_type0_address_list_parsed() -> None:
    addresses = (IPv6Address("2001:db8::a"), IPv6Address("2001:db8::b"))
    raw = bytes(s6.IPv6ExtHdrRouting(nh=6, segleft=2, addresses=[str(a) for a in addresses]))
    rh = ext.RoutingHeader.parse(raw)
    assert (rh.routing_type, rh.segments_left, rh.addresses()) == (0, 2, addresses)
    assert rh.specific() == ext.Type0RoutingHeader(6, 2, addresses)
    assert ext.RoutingHeader.type0(6, addresses, 2) == rh


def test_routing_type2_home_address() -> None:
    home = IPv6Address("2001:db8:face::1")
    rh = ext.RoutingHeader.type2(58, home)
    assert (rh.routing_type, rh.segments_left, rh.buffer_len()) == (2, 1, 24)
    assert rh.specific() == ext.Type2RoutingHeader(58, home)


@given(u8, ipv6_addresses)
def test_routing_type2_with_two_addresses_is_malformed(nh: int, a: IPv6Address) -> None:
    rh = ext.RoutingHeader(nh, ext.ROUTING_TYPE_2, 1, b"\x00" * 4 + a.packed * 2)
    with pytest.raises(WireError):
        ext.Type2RoutingHeader.parse(rh.build())
    with pytest.raises(WireError):
        rh.specific()


def test_routing_type0_with_half_an_address_is_malformed() -> None:
    rh = ext.RoutingHeader(59, ext.ROUTING_TYPE_0, 0, b"\x00" * 12)
    assert ext.RoutingHeader.parse(rh.build()) == rh  # generic: fine
    with pytest.raises(WireError):
        rh.specific()


def test_other_routing_types_stay_generic() -> None:
    rh = ext.RoutingHeader(59, 4, 0, b"\x00" * 4)  # segment routing, RFC 8754
    assert rh.specific() is rh


def test_walk_chain() -> None:
    hbh = ext.HopByHopOptions(60, ext.pad_options((ext.router_alert(),)))
    dst = ext.DestinationOptions(44, ext.pad_options(()))
    frag = ext.FragmentHeader(58, 0, False, 7)
    payload = hbh.build() + dst.build() + frag.build() + b"icmp"
    assert ext.walk(0, payload) == [(0, 0, hbh), (60, 8, dst), (44, 16, frag), (58, 24, None)]
    assert ext.walk(58, b"icmp") == [(58, 0, None)]


def test_walk_stops_at_a_non_first_fragment() -> None:
    frag = ext.FragmentHeader(60, 1, False, 7)
    # What follows a non-first fragment header is data, even if it looks like a header.
    rows = ext.walk(44, frag.build() + b"\xff" * 8)
    assert rows == [(44, 0, frag)]


def test_walk_truncated_chain() -> None:
    hbh = ext.HopByHopOptions(43, ext.pad_options(()))
    with pytest.raises(WireError):
        ext.walk(0, hbh.build() + b"\x3b\x00")
    assert not ext.is_extension_header(58) and ext.is_extension_header(44)
    with pytest.raises(WireError):
        ext.parse_extension(58, b"\x00" * 8)
