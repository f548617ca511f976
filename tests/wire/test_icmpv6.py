"""ICMPv6 (RFC 4443), ND (RFC 4861) and MLD (RFC 2710/3810) against scapy."""

from __future__ import annotations

import contextlib
from ipaddress import IPv6Address
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from scapy.layers import inet6 as s6
from scapy.packet import Packet

from tcpip6.wire import ChecksumError, WireError
from tcpip6.wire import icmpv6 as w
from tcpip6.wire import mld as wm
from tcpip6.wire import nd as wn
from tcpip6.wire.checksum import upper_layer_checksum
from tests.wire.strategies import ipv6_addresses, macs, mutations, u8, u16, u32

SRC = IPv6Address("fe80::1")
DST = IPv6Address("ff02::1")
invoking = st.binary(max_size=64)


def scapy_icmp(layer: Packet, src: IPv6Address = SRC, dst: IPv6Address = DST) -> bytes:
    """The ICMPv6 octets scapy builds (checksum computed over our pseudo-header)."""
    return bytes(s6.IPv6(src=str(src), dst=str(dst)) / layer)[40:]


def roundtrip(msg: Any, src: IPv6Address = SRC, dst: IPv6Address = DST) -> bytes:
    raw = msg.build(src, dst)
    assert w.parse_icmpv6(raw, src, dst) == msg
    return raw


# -- RFC 4443 -----------------------------------------------------------------------------
@given(u16, u16, st.binary(max_size=100), st.sampled_from([w.EchoRequest, w.EchoReply]))
def test_echo(ident: int, seq: int, data: bytes, cls: Any) -> None:
    raw = roundtrip(cls(ident, seq, data))
    scls = s6.ICMPv6EchoRequest if cls is w.EchoRequest else s6.ICMPv6EchoReply
    assert raw == scapy_icmp(scls(id=ident, seq=seq, data=data))


@given(u8, invoking, st.integers(0, 0xFFFFFF))
def test_destination_unreachable(code: int, inv: bytes, unused: int) -> None:
    raw = roundtrip(w.DestinationUnreachable(code, inv, unused))
    theirs = scapy_icmp(s6.ICMPv6DestUnreach(code=code, unused=unused) / inv)
    assert raw == theirs


@given(u8, invoking, u32)
def test_packet_too_big(code: int, inv: bytes, mtu: int) -> None:
    raw = roundtrip(w.PacketTooBig(code, inv, mtu=mtu))
    assert raw == scapy_icmp(s6.ICMPv6PacketTooBig(code=code, mtu=mtu) / inv)


@given(u8, invoking)
def test_time_exceeded(code: int, inv: bytes) -> None:
    raw = roundtrip(w.TimeExceeded(code, inv))
    assert raw == scapy_icmp(s6.ICMPv6TimeExceeded(code=code) / inv)


@given(u8, invoking, u32)
def test_parameter_problem(code: int, inv: bytes, ptr: int) -> None:
    raw = roundtrip(w.ParameterProblem(code, inv, pointer=ptr))
    assert raw == scapy_icmp(s6.ICMPv6ParamProblem(code=code, ptr=ptr) / inv)


def test_unknown_type_survives() -> None:
    msg = w.UnknownIcmpv6(200, 3, b"\x01\x02\x03\x04")
    assert w.parse_icmpv6(msg.build(SRC, DST), SRC, DST) == msg


def test_bad_checksum() -> None:
    raw = bytearray(w.EchoRequest(1, 2, b"x").build(SRC, DST))
    raw[-1] ^= 1
    try:
        w.parse_icmpv6(bytes(raw), SRC, DST)
    except ChecksumError:
        return
    raise AssertionError("corrupted message parsed")


def test_truncate_invoking_fits_minimum_mtu() -> None:
    big = bytes(3000)
    msg = w.ParameterProblem(0, w.truncate_invoking(big), pointer=6)
    assert 40 + len(msg.build(SRC, DST)) == 1280
    small = bytes(100)
    assert w.truncate_invoking(small) == small


# -- RFC 4861 -----------------------------------------------------------------------------
prefix_options = st.builds(
    wn.PrefixInformation,
    prefix_length=u8,
    on_link=st.booleans(),
    autonomous=st.booleans(),
    valid_lifetime=u32,
    preferred_lifetime=u32,
    prefix=ipv6_addresses,
)
nd_options = st.lists(
    st.one_of(
        st.builds(wn.SourceLinkLayerAddress, macs),
        st.builds(wn.TargetLinkLayerAddress, macs),
        prefix_options,
        st.builds(wn.Mtu, u32),
        st.builds(wn.Rdnss, u32, st.lists(ipv6_addresses, min_size=1, max_size=3).map(tuple)),
        st.builds(wn.RedirectedHeader, st.binary(max_size=6).map(lambda b: b * 8)),
    ),
    max_size=4,
).map(tuple)


def scapy_option(opt: Any) -> Packet:
    if isinstance(opt, wn.SourceLinkLayerAddress):
        return s6.ICMPv6NDOptSrcLLAddr(lladdr=opt.address.hex(":"))
    if isinstance(opt, wn.TargetLinkLayerAddress):
        return s6.ICMPv6NDOptDstLLAddr(lladdr=opt.address.hex(":"))
    if isinstance(opt, wn.PrefixInformation):
        return s6.ICMPv6NDOptPrefixInfo(
            prefixlen=opt.prefix_length,
            L=int(opt.on_link),
            A=int(opt.autonomous),
            validlifetime=opt.valid_lifetime,
            preferredlifetime=opt.preferred_lifetime,
            prefix=str(opt.prefix),
        )
    if isinstance(opt, wn.Mtu):
        return s6.ICMPv6NDOptMTU(mtu=opt.mtu)
    if isinstance(opt, wn.Rdnss):
        return s6.ICMPv6NDOptRDNSS(lifetime=opt.lifetime, dns=[str(a) for a in opt.servers])
    assert isinstance(opt, wn.RedirectedHeader)
    return s6.ICMPv6NDOptRedirectedHdr(pkt=opt.packet)


def with_options(layer: Packet, options: tuple[Any, ...]) -> Packet:
    for opt in options:
        layer = layer / scapy_option(opt)
    return layer


@given(nd_options)
def test_router_solicitation(options: tuple[Any, ...]) -> None:
    raw = roundtrip(wn.RouterSolicitation(options))
    assert raw == scapy_icmp(with_options(s6.ICMPv6ND_RS(), options))


@given(u8, st.booleans(), st.booleans(), u16, u32, u32, nd_options)
def test_router_advertisement(
    hop: int, m: bool, o: bool, life: int, reach: int, retrans: int, options: tuple[Any, ...]
) -> None:
    raw = roundtrip(wn.RouterAdvertisement(hop, m, o, life, reach, retrans, options))
    theirs = s6.ICMPv6ND_RA(
        chlim=hop,
        M=int(m),
        O=int(o),
        routerlifetime=life,
        reachabletime=reach,
        retranstimer=retrans,
        prf=0,
        H=0,
        P=0,
    )
    assert raw == scapy_icmp(with_options(theirs, options))


@given(ipv6_addresses, nd_options)
def test_neighbor_solicitation(target: IPv6Address, options: tuple[Any, ...]) -> None:
    raw = roundtrip(wn.NeighborSolicitation(target, options))
    assert raw == scapy_icmp(with_options(s6.ICMPv6ND_NS(tgt=str(target)), options))


@given(ipv6_addresses, st.booleans(), st.booleans(), st.booleans(), nd_options)
def test_neighbor_advertisement(
    target: IPv6Address, r: bool, s: bool, o: bool, options: tuple[Any, ...]
) -> None:
    raw = roundtrip(wn.NeighborAdvertisement(target, r, s, o, options))
    theirs = s6.ICMPv6ND_NA(tgt=str(target), R=int(r), S=int(s), O=int(o))
    assert raw == scapy_icmp(with_options(theirs, options))
    parsed = w.parse_icmpv6(raw, SRC, DST)
    assert isinstance(parsed, wn.NeighborAdvertisement)
    assert (parsed.router, parsed.solicited, parsed.override) == (r, s, o)


@given(ipv6_addresses, ipv6_addresses, nd_options)
def test_redirect(target: IPv6Address, dest: IPv6Address, options: tuple[Any, ...]) -> None:
    raw = roundtrip(wn.Redirect(target, dest, options))
    theirs = s6.ICMPv6ND_Redirect(tgt=str(target), dst=str(dest))
    assert raw == scapy_icmp(with_options(theirs, options))


def test_scapy_prefix_option_parses_to_fields() -> None:
    theirs = scapy_icmp(
        s6.ICMPv6ND_RA(routerlifetime=1800)
        / s6.ICMPv6NDOptPrefixInfo(prefix="2001:db8:1::", prefixlen=64, L=1, A=1)
        / s6.ICMPv6NDOptSrcLLAddr(lladdr="02:00:5e:00:00:01")
    )
    ra = w.parse_icmpv6(theirs, SRC, DST)
    assert isinstance(ra, wn.RouterAdvertisement)
    pio, slla = ra.options
    assert isinstance(pio, wn.PrefixInformation) and isinstance(slla, wn.SourceLinkLayerAddress)
    assert (pio.prefix, pio.prefix_length, pio.on_link, pio.autonomous) == (
        IPv6Address("2001:db8:1::"),
        64,
        True,
        True,
    )
    assert slla.address == bytes.fromhex("02005e000001")
    assert ra.router_lifetime == 1800


def _resum(raw: bytes) -> bytes:
    """Recompute the checksum so that a mutation reaches the body parser."""
    if len(raw) < 4:
        return raw
    body = bytearray(raw)
    body[2:4] = b"\x00\x00"
    body[2:4] = upper_layer_checksum(SRC, DST, 58, body).to_bytes(2, "big")
    return bytes(body)


def test_zero_length_option_rejected() -> None:
    raw = _resum(wn.NeighborSolicitation(SRC).build(SRC, DST) + b"\x01\x00" + bytes(6))
    try:
        w.parse_icmpv6(raw, SRC, DST)
    except WireError as exc:
        assert "length zero" in str(exc)
        return
    raise AssertionError("zero-length option accepted")


def test_truncated_ns_rejected() -> None:
    raw = _resum(wn.NeighborSolicitation(SRC).build(SRC, DST)[:20])
    try:
        w.parse_icmpv6(raw, SRC, DST)
    except WireError:
        return
    raise AssertionError("truncated NS accepted")


# -- MLD ----------------------------------------------------------------------------------
@given(ipv6_addresses, u16, st.sampled_from([wm.MldQuery, wm.MldReport, wm.MldDone]))
def test_mldv1(group: IPv6Address, delay: int, cls: Any) -> None:
    raw = roundtrip(cls(group, delay))
    scls = {wm.MldQuery: s6.ICMPv6MLQuery, wm.MldReport: s6.ICMPv6MLReport}.get(
        cls, s6.ICMPv6MLDone
    )
    assert raw == scapy_icmp(scls(mladdr=str(group), mrd=delay))


@given(
    ipv6_addresses,
    u16,
    st.booleans(),
    st.integers(0, 7),
    u8,
    st.lists(ipv6_addresses, max_size=3).map(tuple),
)
def test_mldv2_query(
    group: IPv6Address, mrc: int, s: bool, qrv: int, qqic: int, srcs: tuple[IPv6Address, ...]
) -> None:
    raw = roundtrip(wm.MldV2Query(group, mrc, s, qrv, qqic, srcs))
    theirs = s6.ICMPv6MLQuery2(
        mladdr=str(group),
        mrd=mrc,
        S=int(s),
        QRV=qrv,
        QQIC=qqic,
        sources=[str(a) for a in srcs],
    )
    assert raw == scapy_icmp(theirs)


records = st.lists(
    st.builds(
        wm.MulticastAddressRecord,
        st.integers(1, 6),
        ipv6_addresses,
        st.lists(ipv6_addresses, max_size=2).map(tuple),
        st.binary(max_size=2).map(lambda b: b * 4),
    ),
    max_size=3,
).map(tuple)


@given(records)
def test_mldv2_report(recs: tuple[wm.MulticastAddressRecord, ...]) -> None:
    raw = roundtrip(wm.MldV2Report(recs), dst=IPv6Address("ff02::16"))
    theirs = s6.ICMPv6MLReport2(
        records=[
            s6.ICMPv6MLDMultAddrRec(
                rtype=r.record_type,
                # scapy counts auxdata_len in octets; RFC 3810 §5.2.6 says 32-bit words.
                auxdata_len=len(r.aux_data) // 4,
                dst=str(r.multicast_address),
                sources=[str(a) for a in r.sources],
                auxdata=r.aux_data,
            )
            for r in recs
        ]
    )
    assert raw == scapy_icmp(theirs, dst=IPv6Address("ff02::16"))


def test_mld_query_of_25_octets_is_invalid() -> None:
    raw = _resum(wm.MldQuery(DST).build(SRC, DST) + b"\x00")
    try:
        w.parse_icmpv6(raw, SRC, DST)
    except WireError:
        return
    raise AssertionError("25-octet MLD query accepted")


# -- robustness ---------------------------------------------------------------------------
valid_messages = st.one_of(
    st.builds(w.EchoRequest, u16, u16, st.binary(max_size=8)),
    st.builds(w.ParameterProblem, u8, invoking, pointer=u32),
    st.builds(wn.RouterAdvertisement, u8, st.booleans(), st.booleans(), u16, u32, u32, nd_options),
    st.builds(
        wn.NeighborAdvertisement,
        ipv6_addresses,
        st.booleans(),
        st.booleans(),
        st.booleans(),
        nd_options,
    ),
    st.builds(wn.Redirect, ipv6_addresses, ipv6_addresses, nd_options),
    st.builds(
        wm.MldV2Query, ipv6_addresses, u16, sources=st.lists(ipv6_addresses, max_size=2).map(tuple)
    ),
    st.builds(wm.MldV2Report, records),
)


@given(st.binary(max_size=120))
def test_arbitrary_bytes_raise_only_wire_error(data: bytes) -> None:
    with contextlib.suppress(WireError):
        w.parse_icmpv6(data, SRC, DST)
    with contextlib.suppress(WireError):
        w.parse_icmpv6(_resum(data), SRC, DST)


@given(valid_messages.flatmap(lambda m: mutations(m.build(SRC, DST))))
def test_mutated_messages_raise_only_wire_error(data: bytes) -> None:
    with contextlib.suppress(WireError):
        w.parse_icmpv6(_resum(data), SRC, DST)
