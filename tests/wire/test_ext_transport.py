"""Extension headers, IPv4, UDP, UDP-Lite and TCP against scapy (and first principles)."""

from __future__ import annotations

import contextlib
import struct
from ipaddress import IPv4Address, IPv6Address
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from scapy.layers import inet6 as s6
from scapy.layers.inet import IP, TCP, UDP
from scapy.packet import Raw

from tcpip6.wire import ChecksumError, WireError
from tcpip6.wire import ext as we
from tcpip6.wire import tcp as wt
from tcpip6.wire.ipv4 import Ipv4Header
from tcpip6.wire.udp import UdpDatagram, UdpLiteDatagram
from tests.wire.strategies import (
    ipv4_addresses,
    ipv6_addresses,
    mutations,
    u8,
    u16,
    u32,
)

SRC = IPv6Address("2001:db8::1")
DST = IPv6Address("2001:db8::2")

# -- extension headers ----------------------------------------------------------------
tlv_options = st.lists(
    st.one_of(
        st.just(we.Pad1()),
        st.builds(we.Option, st.integers(2, 255), st.binary(max_size=12)),
    ),
    max_size=5,
).map(lambda opts: we.pad_options(tuple(opts)))


def scapy_options(options: tuple[Any, ...]) -> list[Any]:
    out: list[Any] = []
    for o in options:
        if isinstance(o, we.Pad1):
            out.append(s6.Pad1())
        else:
            out.append(s6.HBHOptUnknown(otype=o.type, optdata=o.data))
    return out


@given(u8, tlv_options, st.sampled_from([we.HopByHopOptions, we.DestinationOptions]))
def test_options_headers(nh: int, options: tuple[Any, ...], cls: Any) -> None:
    h = cls(nh, options)
    raw = h.build()
    assert cls.parse(raw) == h
    scls = s6.IPv6ExtHdrHopByHop if cls is we.HopByHopOptions else s6.IPv6ExtHdrDestOpt
    theirs = bytes(scls(nh=nh, autopad=0, options=scapy_options(options)))
    assert raw == theirs


def test_option_action_bits() -> None:
    # RFC 8200 §4.2: 00 skip, 01 discard, 10 discard + ICMP, 11 ... unless multicast.
    assert [we.option_action(t) for t in (0x1E, 0x5E, 0x8E, 0xC2)] == [0, 1, 2, 3]
    assert we.option_may_change(0x3E) and not we.option_may_change(0x1E)


@given(u8, st.lists(ipv6_addresses, max_size=4).map(tuple), u8)
def test_routing_type0(nh: int, addrs: tuple[IPv6Address, ...], left: int) -> None:
    h = we.RoutingHeader.type0(nh, addrs, left)
    raw = h.build()
    parsed = we.RoutingHeader.parse(raw)
    assert parsed == h and parsed.addresses() == addrs
    theirs = bytes(s6.IPv6ExtHdrRouting(nh=nh, segleft=left, addresses=[str(a) for a in addrs]))
    assert raw == theirs


def test_routing_type2() -> None:
    home = IPv6Address("2001:db8:face::1")
    h = we.RoutingHeader.type2(58, home)
    parsed = we.RoutingHeader.parse(h.build())
    assert (parsed.routing_type, parsed.segments_left, parsed.addresses()) == (2, 1, (home,))


@given(u8, st.integers(0, 0x1FFF), st.booleans(), u32, u8, st.integers(0, 3))
def test_fragment(nh: int, off: int, more: bool, ident: int, res1: int, res2: int) -> None:
    h = we.FragmentHeader(nh, off, more, ident, res1, res2)
    raw = h.build()
    assert we.FragmentHeader.parse(raw) == h
    theirs = bytes(
        s6.IPv6ExtHdrFragment(nh=nh, offset=off, m=int(more), id=ident, res1=res1, res2=res2)
    )
    assert raw == theirs


def test_walk_the_chain() -> None:
    hbh = we.HopByHopOptions(60, we.pad_options((we.Option(we.ROUTER_ALERT, b"\x00\x00"),)))
    dst = we.DestinationOptions(44, we.pad_options(()))
    frag = we.FragmentHeader(58, 0, False, 7)
    payload = hbh.build() + dst.build() + frag.build() + b"icmp"
    rows = we.walk(0, payload)
    assert [(nh, off) for nh, off, _ in rows] == [(0, 0), (60, 8), (44, 16), (58, 24)]
    assert rows[-1][2] is None and rows[2][2] == frag


# -- IPv4 -----------------------------------------------------------------------------
@given(
    u8,
    u16,
    u16,
    st.integers(0, 7),
    st.integers(0, 0x1FFF),
    u8,
    u8,
    ipv4_addresses,
    ipv4_addresses,
    st.binary(max_size=2).map(lambda b: b * 4),
)
def test_ipv4(
    tos: int,
    total: int,
    ident: int,
    flags: int,
    frag: int,
    ttl: int,
    proto: int,
    src: IPv4Address,
    dst: IPv4Address,
    options: bytes,
) -> None:
    total = max(total, 20 + len(options))
    h = Ipv4Header(tos, total, ident, flags, frag, ttl, proto, src, dst, options)
    raw = h.build()
    assert Ipv4Header.parse(raw) == h
    theirs = IP(
        tos=tos,
        len=total,
        id=ident,
        flags=flags,
        frag=frag,
        ttl=ttl,
        proto=proto,
        src=str(src),
        dst=str(dst),
        options=[Raw(options)] if options else [],
    )
    assert raw == bytes(theirs)[: h.header_len]


def test_ipv4_bad_checksum() -> None:
    raw = bytearray(
        Ipv4Header(0, 20, 1, 0, 0, 64, 41, IPv4Address("10.0.0.1"), IPv4Address("10.0.0.2")).build()
    )
    raw[10] ^= 0xFF
    with contextlib.suppress(ChecksumError):
        Ipv4Header.parse(bytes(raw))
        raise AssertionError("bad IPv4 checksum accepted")


# -- UDP / UDP-Lite ------------------------------------------------------------------
@given(u16, u16, st.binary(max_size=200), ipv6_addresses, ipv6_addresses)
def test_udp(sp: int, dp: int, payload: bytes, src: IPv6Address, dst: IPv6Address) -> None:
    d = UdpDatagram(sp, dp, payload)
    raw = d.build(src, dst)
    assert UdpDatagram.parse(raw, src, dst) == d
    assert (
        raw == bytes(s6.IPv6(src=str(src), dst=str(dst)) / UDP(sport=sp, dport=dp) / payload)[40:]
    )


def test_udp_zero_checksum_rejected_over_ipv6() -> None:
    raw = bytearray(UdpDatagram(1, 2, b"hi").build(SRC, DST))
    raw[6:8] = b"\x00\x00"
    with contextlib.suppress(ChecksumError):
        UdpDatagram.parse(bytes(raw), SRC, DST)
        raise AssertionError("zero UDP checksum accepted over IPv6")


def udplite_checksum_first_principles(
    src: IPv6Address, dst: IPv6Address, datagram: bytes, coverage: int
) -> int:
    """RFC 3828 §3.1, computed independently: 16-bit one's complement sum of the
    pseudo-header (length = IPv6 payload length) and the covered octets."""
    covered = datagram[: (coverage or len(datagram))]
    covered = covered[:6] + b"\x00\x00" + covered[8:]
    data = src.packed + dst.packed + struct.pack("!I3xB", len(datagram), 136) + covered
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return (~total & 0xFFFF) or 0xFFFF


@given(u16, u16, st.binary(max_size=100), st.data())
def test_udplite(sp: int, dp: int, payload: bytes, data: st.DataObject) -> None:
    length = 8 + len(payload)
    coverage = data.draw(st.one_of(st.just(0), st.integers(8, length)))
    d = UdpLiteDatagram(sp, dp, payload, coverage)
    raw = d.build(SRC, DST)
    assert UdpLiteDatagram.parse(raw, SRC, DST) == d
    assert struct.unpack("!HHHH", raw[:8]) == (
        sp,
        dp,
        coverage,
        udplite_checksum_first_principles(SRC, DST, raw, coverage),
    )
    if coverage and coverage < length:
        # Octets beyond the coverage may change without failing the checksum.
        changed = raw[:-1] + bytes([raw[-1] ^ 0xFF])
        assert UdpLiteDatagram.parse(changed, SRC, DST).payload[-1] == raw[-1] ^ 0xFF


def test_udplite_bad_coverage() -> None:
    raw = bytearray(UdpLiteDatagram(1, 2, b"0123456789").build(SRC, DST))
    for bad in (1, 7, 19):
        raw[4:6] = bad.to_bytes(2, "big")
        with contextlib.suppress(WireError):
            UdpLiteDatagram.parse(bytes(raw), SRC, DST)
            raise AssertionError(f"coverage {bad} accepted")


# -- TCP --------------------------------------------------------------------------------
tcp_options = (
    st.lists(
        st.one_of(
            st.just(wt.NoOperation()),
            st.builds(wt.MaxSegmentSize, u16),
            st.builds(wt.WindowScale, st.integers(0, 14)),
            st.just(wt.SackPermitted()),
            st.builds(wt.Timestamps, u32, u32),
            st.builds(wt.Sack, st.lists(st.tuples(u32, u32), min_size=1, max_size=2).map(tuple)),
        ),
        max_size=3,
    )
    .map(lambda o: wt.pad_options(tuple(o)))
    .filter(lambda o: wt.options_len(o) <= 40)
)


def scapy_tcp_options(options: tuple[Any, ...]) -> list[Any]:
    out: list[Any] = []
    for o in options:
        if isinstance(o, wt.NoOperation):
            out.append(("NOP", None))
        elif isinstance(o, wt.EndOfOptions):
            out.append(("EOL", None))
        elif isinstance(o, wt.MaxSegmentSize):
            out.append(("MSS", o.mss))
        elif isinstance(o, wt.WindowScale):
            out.append(("WScale", o.shift))
        elif isinstance(o, wt.SackPermitted):
            out.append(("SAckOK", b""))
        elif isinstance(o, wt.Timestamps):
            out.append(("Timestamp", (o.tsval, o.tsecr)))
        elif isinstance(o, wt.Sack):
            out.append(("SAck", tuple(x for block in o.blocks for x in block)))
    return out


@given(u16, u16, u32, u32, u8, u16, u16, tcp_options, st.binary(max_size=64))
def test_tcp(
    sp: int,
    dp: int,
    seq: int,
    ack: int,
    flags: int,
    win: int,
    urg: int,
    options: tuple[Any, ...],
    payload: bytes,
) -> None:
    seg = wt.TcpSegment(sp, dp, seq, ack, flags, win, urg, options, payload)
    raw = seg.build(SRC, DST)
    assert wt.TcpSegment.parse(raw, SRC, DST) == seg
    theirs = (
        s6.IPv6(src=str(SRC), dst=str(DST))
        / TCP(
            sport=sp,
            dport=dp,
            seq=seq,
            ack=ack,
            flags=flags,
            window=win,
            urgptr=urg,
            options=scapy_tcp_options(options),
        )
        / payload
    )
    assert raw == bytes(theirs)[40:]


def test_tcp_data_offset_below_five_rejected() -> None:
    raw = bytearray(wt.TcpSegment(1, 2, 3, 4, wt.SYN, 100).build(SRC, DST))
    raw[12] = 4 << 4
    with contextlib.suppress(WireError):
        wt.TcpSegment.parse(bytes(raw), SRC, DST)
        raise AssertionError("data offset 4 accepted")


def test_tcp_flags_format() -> None:
    assert wt.format_flags(wt.SYN | wt.ACK) == "S."
    assert wt.Flags(wt.SYN | wt.ACK) == wt.Flags.SYN | wt.Flags.ACK


# -- robustness -------------------------------------------------------------------------
PARSERS: list[Any] = [
    we.HopByHopOptions.parse,
    we.RoutingHeader.parse,
    we.FragmentHeader.parse,
    Ipv4Header.parse,
    lambda b: UdpDatagram.parse(b, SRC, DST),
    lambda b: UdpLiteDatagram.parse(b, SRC, DST),
    lambda b: wt.TcpSegment.parse(b, SRC, DST),
    lambda b: we.walk(0, b),
]


@given(st.binary(max_size=80))
def test_arbitrary_bytes_raise_only_wire_error(data: bytes) -> None:
    for parse in PARSERS:
        with contextlib.suppress(WireError):
            parse(data)


encodings = st.one_of(
    st.builds(lambda o: we.HopByHopOptions(58, o).build(), tlv_options),
    st.builds(
        lambda a: we.RoutingHeader.type0(58, a, 1).build(),
        st.lists(ipv6_addresses, max_size=2).map(tuple),
    ),
    st.builds(lambda o: wt.TcpSegment(1, 2, 3, 4, 5, 6, 0, o).build(SRC, DST), tcp_options),
    st.builds(lambda p: UdpLiteDatagram(1, 2, p).build(SRC, DST), st.binary(max_size=20)),
)


@given(encodings.flatmap(mutations))
def test_mutated_encodings_raise_only_wire_error(data: bytes) -> None:
    for parse in PARSERS:
        with contextlib.suppress(WireError):
            parse(data)
    # TCP options reach their parser only through a valid checksum: parse them directly.
    with contextlib.suppress(WireError):
        wt.parse_options(data)
