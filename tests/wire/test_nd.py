"""Neighbor Discovery messages and options (RFC 4861 §4, RFC 8106), with scapy as the oracle."""

from __future__ import annotations

from functools import reduce
from ipaddress import IPv6Address
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scapy.layers import inet6 as s6
from scapy.packet import Packet

from tcpip6.wire import WireError
from tcpip6.wire import icmpv6 as wi
from tcpip6.wire import nd as wn
from tests.wire import strategies_icmp as si
from tests.wire.strategies import ipv6_addresses, mutations

SRC, DST = si.SRC, si.DST

OPTIONS: dict[str, st.SearchStrategy[Any]] = {
    "source_lla": si.source_llas,
    "target_lla": si.target_llas,
    "prefix_information": si.prefix_informations,
    "redirected_header": si.redirected_headers,
    "mtu": si.mtus,
    "rdnss": si.rdnss_options,
    "unknown": si.unknown_nd_options,
}


# -- scapy equivalents ----------------------------------------------------------------------
def scapy_option(o: wn.NdOption) -> Packet:
    if isinstance(o, wn.SourceLinkLayerAddress | wn.TargetLinkLayerAddress):
        if len(o.address) != 6:
            # scapy's link-layer address options hold a MAC only.
            return s6.ICMPv6NDOptUnknown(type=o.type, data=o.address)
        cls = (
            s6.ICMPv6NDOptSrcLLAddr
            if isinstance(o, wn.SourceLinkLayerAddress)
            else s6.ICMPv6NDOptDstLLAddr
        )
        return cls(lladdr=o.address.hex(":"))
    if isinstance(o, wn.PrefixInformation):
        return s6.ICMPv6NDOptPrefixInfo(
            prefixlen=o.prefix_length,
            L=int(o.on_link),
            A=int(o.autonomous),
            R=o.reserved_flags >> 5,
            res1=o.reserved_flags & 0x1F,
            validlifetime=o.valid_lifetime,
            preferredlifetime=o.preferred_lifetime,
            res2=o.reserved2,
            prefix=str(o.prefix),
        )
    if isinstance(o, wn.RedirectedHeader):
        return s6.ICMPv6NDOptRedirectedHdr(res=o.reserved.to_bytes(6, "big"), pkt=o.packet)
    if isinstance(o, wn.Mtu):
        return s6.ICMPv6NDOptMTU(res=o.reserved, mtu=o.mtu)
    if isinstance(o, wn.Rdnss):
        return s6.ICMPv6NDOptRDNSS(
            res=o.reserved, lifetime=o.lifetime, dns=[str(a) for a in o.servers]
        )
    return s6.ICMPv6NDOptUnknown(type=o.type, data=o.data)


def with_options(layer: Packet, options: tuple[wn.NdOption, ...]) -> Packet:
    return reduce(lambda pkt, o: pkt / scapy_option(o), options, layer)


def scapy_icmp(layer: Packet, src: IPv6Address, dst: IPv6Address) -> bytes:
    return bytes(s6.IPv6(src=str(src), dst=str(dst)) / layer)[40:]


def check_oracle(msg: Any, theirs: Packet, src: IPv6Address, dst: IPv6Address) -> None:
    """Our octets are scapy's, and scapy's octets parse to our value."""
    raw = scapy_icmp(with_options(theirs, msg.options), src, dst)
    assert msg.build(src, dst) == raw
    assert wi.parse_icmpv6(raw, src, dst) == msg
    assert wn.parse_nd(raw, src, dst) == msg


def scapy_dissect(icmp: bytes, src: IPv6Address = SRC, dst: IPv6Address = DST) -> Packet:
    return s6.IPv6(bytes(s6.IPv6(src=str(src), dst=str(dst), nh=58, plen=len(icmp))) + icmp)


# -- options ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(OPTIONS))
@given(data=st.data())
def test_option_round_trip(name: str, data: st.DataObject) -> None:
    opt = data.draw(OPTIONS[name])
    raw = opt.build()
    assert len(raw) == opt.buffer_len() and len(raw) % 8 == 0 and raw[1] == len(raw) // 8
    assert type(opt).parse(raw) == opt
    assert wn.parse_option(raw) == opt
    assert wn.parse_options(raw + raw) == (opt, opt)
    buf = bytearray(b"\xa5" * (len(raw) + 5))
    opt.emit(buf, 5)
    assert bytes(buf[5:]) == raw


@pytest.mark.parametrize("name", sorted(OPTIONS))
@given(data=st.data())
def test_option_matches_scapy(name: str, data: st.DataObject) -> None:
    opt = data.draw(OPTIONS[name])
    theirs = bytes(scapy_option(opt))
    assert opt.build() == theirs
    assert wn.parse_option(theirs) == opt


@given(si.prefix_informations)
def test_scapy_reads_our_prefix_information(o: wn.PrefixInformation) -> None:
    theirs = s6.ICMPv6NDOptPrefixInfo(o.build())
    assert (theirs.type, theirs.len, theirs.prefixlen) == (3, 4, o.prefix_length)
    flags = (theirs.L, theirs.A)
    assert flags == (int(o.on_link), int(o.autonomous))
    assert (theirs.validlifetime, theirs.preferredlifetime) == (
        o.valid_lifetime,
        o.preferred_lifetime,
    )
    assert IPv6Address(theirs.prefix) == o.prefix


def test_link_layer_address_padding_and_helper() -> None:
    mac = bytes.fromhex("02005e100001")
    assert wn.SourceLinkLayerAddress(mac).build() == b"\x01\x01" + mac
    # RFC 4861 §4.6.1: a 7-octet address needs two units; the rest is zero padding.
    raw = wn.TargetLinkLayerAddress(b"\x11" * 7).build()
    assert raw == b"\x02\x02" + b"\x11" * 7 + bytes(7)
    parsed = wn.parse_option(raw)
    assert isinstance(parsed, wn.TargetLinkLayerAddress)
    assert parsed.link_address(7) == b"\x11" * 7
    assert parsed.link_address(6) == b"\x11" * 6
    with pytest.raises(WireError):
        parsed.link_address(15)


def test_redirected_header_is_padded() -> None:
    raw = wn.RedirectedHeader(b"\x60" + bytes(9)).build()
    assert len(raw) == 24 and raw[:8] == b"\x04\x03" + bytes(6)
    assert wn.parse_option(raw) == wn.RedirectedHeader(b"\x60" + bytes(15))


def test_option_too_long_to_emit() -> None:
    with pytest.raises(ValueError):
        wn.UnknownNdOption(200, bytes(255 * 8)).build()


@pytest.mark.parametrize(
    ("otype", "units"),
    [(wn.OPT_PREFIX_INFORMATION, 3), (wn.OPT_PREFIX_INFORMATION, 5), (wn.OPT_MTU, 2)]
    + [(wn.OPT_RDNSS, n) for n in (1, 2, 4)],
)
def test_known_option_with_a_wrong_length(otype: int, units: int) -> None:
    raw = bytes([otype, units]) + bytes(8 * units - 2)
    with pytest.raises(WireError):
        wn.parse_option(raw)


def test_zero_length_option_is_wire_error() -> None:
    # RFC 4861 §4.6: an ND packet with a zero-length option is discarded, wherever it is.
    ns = wn.NeighborSolicitation(IPv6Address("fe80::2")).build(SRC, DST)
    slla = wn.SourceLinkLayerAddress(bytes(6)).build()
    for options in (b"\x01\x00" + bytes(6), slla + b"\x01\x00" + bytes(6), b"\xc8\x00"):
        with pytest.raises(WireError, match="length zero"):
            wi.parse_icmpv6(si.resum(ns + options), SRC, DST)
    with pytest.raises(WireError, match="length zero"):
        wn.parse_options(b"\x05\x00" + bytes(6))


def test_option_beyond_the_message_is_wire_error() -> None:
    ra = wn.RouterAdvertisement(64, False, False, 1800, 0, 0).build(SRC, DST)
    for options in (b"\x05\x02" + bytes(6), b"\x05"):
        with pytest.raises(WireError):
            wi.parse_icmpv6(si.resum(ra + options), SRC, DST)


# -- messages -----------------------------------------------------------------------------
@given(si.router_solicitations, ipv6_addresses, ipv6_addresses)
def test_router_solicitation_matches_scapy(
    m: wn.RouterSolicitation, src: IPv6Address, dst: IPv6Address
) -> None:
    check_oracle(m, s6.ICMPv6ND_RS(code=m.code, res=m.reserved), src, dst)


@given(si.router_advertisements, ipv6_addresses, ipv6_addresses)
def test_router_advertisement_matches_scapy(
    m: wn.RouterAdvertisement, src: IPv6Address, dst: IPv6Address
) -> None:
    theirs = s6.ICMPv6ND_RA(
        code=m.code,
        chlim=m.cur_hop_limit,
        M=int(m.managed),
        O=int(m.other),
        H=m.reserved_flags >> 5,
        prf=m.preference,
        P=(m.reserved_flags >> 2) & 1,
        res=m.reserved_flags & 0b11,
        routerlifetime=m.router_lifetime,
        reachabletime=m.reachable_time,
        retranstimer=m.retrans_timer,
    )
    check_oracle(m, theirs, src, dst)


@given(si.neighbor_solicitations, ipv6_addresses, ipv6_addresses)
def test_neighbor_solicitation_matches_scapy(
    m: wn.NeighborSolicitation, src: IPv6Address, dst: IPv6Address
) -> None:
    theirs = s6.ICMPv6ND_NS(code=m.code, res=m.reserved, tgt=str(m.target))
    check_oracle(m, theirs, src, dst)


@given(si.neighbor_advertisements, ipv6_addresses, ipv6_addresses)
def test_neighbor_advertisement_matches_scapy(
    m: wn.NeighborAdvertisement, src: IPv6Address, dst: IPv6Address
) -> None:
    theirs = s6.ICMPv6ND_NA(
        code=m.code,
        R=int(m.router),
        S=int(m.solicited),
        O=int(m.override),
        res=m.reserved,
        tgt=str(m.target),
    )
    check_oracle(m, theirs, src, dst)


@given(si.redirects, ipv6_addresses, ipv6_addresses)
def test_redirect_matches_scapy(m: wn.Redirect, src: IPv6Address, dst: IPv6Address) -> None:
    theirs = s6.ICMPv6ND_Redirect(
        code=m.code, res=m.reserved, tgt=str(m.target), dst=str(m.destination)
    )
    check_oracle(m, theirs, src, dst)


def test_scapy_reads_our_router_advertisement() -> None:
    mac = bytes.fromhex("02005e000001")
    ra = wn.RouterAdvertisement(
        64,
        True,
        False,
        1800,
        30000,
        1000,
        (
            wn.SourceLinkLayerAddress(mac),
            wn.Mtu(1480),
            wn.PrefixInformation(64, True, True, 86400, 14400, IPv6Address("2001:db8:1::")),
            wn.Rdnss(600, (IPv6Address("2001:db8::53"),)),
        ),
        reserved_flags=wn.PREFERENCE_HIGH << wn.RA_PREFERENCE_SHIFT,
    )
    theirs = scapy_dissect(ra.build(SRC, DST))
    r = theirs[s6.ICMPv6ND_RA]
    assert (r.chlim, r.M, r.O, r.prf, r.routerlifetime) == (64, 1, 0, 1, 1800)
    assert (r.reachabletime, r.retranstimer) == (30000, 1000)
    assert theirs[s6.ICMPv6NDOptSrcLLAddr].lladdr == "02:00:5e:00:00:01"
    assert theirs[s6.ICMPv6NDOptMTU].mtu == 1480
    pio = theirs[s6.ICMPv6NDOptPrefixInfo]
    assert (pio.prefix, pio.prefixlen, pio.validlifetime) == ("2001:db8:1::", 64, 86400)
    assert theirs[s6.ICMPv6NDOptRDNSS].dns == ["2001:db8::53"]
    assert ra.preference == wn.PREFERENCE_HIGH


def test_scapy_reads_our_neighbor_advertisement() -> None:
    na = wn.NeighborAdvertisement(
        IPv6Address("fe80::2"), False, True, True, (wn.TargetLinkLayerAddress(bytes(6)),)
    )
    theirs = scapy_dissect(na.build(SRC, DST))
    n = theirs[s6.ICMPv6ND_NA]
    assert (n.R, n.S, n.O, n.tgt) == (0, 1, 1, "fe80::2")
    assert theirs[s6.ICMPv6NDOptDstLLAddr].lladdr == "00:00:00:00:00:00"


@pytest.mark.parametrize(
    ("cls", "min_len"),
    [
        (wn.RouterSolicitation, 8),
        (wn.RouterAdvertisement, 16),
        (wn.NeighborSolicitation, 24),
        (wn.NeighborAdvertisement, 24),
        (wn.Redirect, 40),
    ],
)
def test_truncated_messages_are_wire_errors(cls: Any, min_len: int) -> None:
    # RFC 4861 §6.1.1, RFC 4861 §6.1.2, RFC 4861 §7.1.1, RFC 4861 §7.1.2, RFC 4861 §8.1: "ICMP
    # length ... is N or more octets".
    assert min_len == cls.MIN_LEN
    for n in range(4, min_len):
        raw = si.resum(bytes([cls.TYPE]) + bytes(n - 1))
        with pytest.raises(WireError):
            wi.parse_icmpv6(raw, SRC, DST)
    assert type(wi.parse_icmpv6(si.resum(bytes([cls.TYPE]) + bytes(min_len - 1)), SRC, DST)) is cls


def test_truncated_neighbor_solicitation() -> None:
    ns = wn.NeighborSolicitation(IPv6Address("fe80::2")).build(SRC, DST)
    with pytest.raises(WireError, match="need 24"):
        wi.parse_icmpv6(si.resum(ns[:20]), SRC, DST)


def test_rfc_rules_are_left_to_the_stack() -> None:
    # A non-zero code and a multicast target are the stack's to reject (RFC 4861 §7.1.1).
    ns = wn.NeighborSolicitation(IPv6Address("ff02::1"), code=7)
    parsed = wi.parse_icmpv6(ns.build(SRC, DST), SRC, DST)
    assert parsed == ns and parsed.code == 7


def test_option_lookup() -> None:
    mtu = wn.Mtu(1400)
    ra = wn.RouterAdvertisement(0, False, False, 0, 0, 0, (wn.UnknownNdOption(99, bytes(6)), mtu))
    assert ra.option(wn.Mtu) is mtu
    assert ra.option(wn.PrefixInformation) is None


def test_parse_nd_rejects_other_types() -> None:
    with pytest.raises(WireError):
        wn.parse_nd(wi.EchoRequest(1, 1).build(SRC, DST), SRC, DST)


@given(st.binary(max_size=80))
def test_arbitrary_options_raise_only_wire_error(data: bytes) -> None:
    try:
        options = wn.parse_options(data)
    except WireError:
        return
    assert b"".join(o.build() for o in options) == data


@given(
    si.nd_options.filter(bool).flatmap(lambda opts: mutations(b"".join(o.build() for o in opts)))
)
def test_mutated_options_raise_only_wire_error(data: bytes) -> None:
    try:
        options = wn.parse_options(data)
    except WireError:
        return
    assert b"".join(o.build() for o in options) == data
