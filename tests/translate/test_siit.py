"""SIIT (RFC 7915) unit behaviour, with scapy as the format oracle: checksums scapy computes
afresh, fields by the RFC's rules, the MTU arithmetic, fragmentation, drops counted. (The
comparison with another translator, tayga, is tests/interop/test_siit_tayga.py.)"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from hypothesis import given
from hypothesis import strategies as st
from scapy.layers.inet import ICMP, IP, TCP, UDP, IPerror
from scapy.layers.inet6 import (
    ICMPv6DestUnreach,
    ICMPv6EchoReply,
    ICMPv6EchoRequest,
    ICMPv6PacketTooBig,
    IPerror6,
    IPv6,
    IPv6ExtHdrFragment,
    in6_chksum,
)
from scapy.packet import Packet, Raw

from tcpip6.stack.translate.eam import EamEntry, EamTable
from tcpip6.stack.translate.mapping import AddressMapping
from tcpip6.stack.translate.rfc6052 import Rfc6052Prefix
from tcpip6.stack.translate.siit import Siit, SiitConfig
from tests.translate.packets import ipv4_packets, ipv6_packets

V6_HOST = "2001:db8:1::1"
V4_OF_V6_HOST = "192.0.2.1"
PEER4 = "198.51.100.7"
PEER6 = "2001:db8:64::c633:6407"


def siit(mtu4: int = 1500, mtu6: int = 1500) -> Siit:
    mapping = AddressMapping(
        Rfc6052Prefix(IPv6Network("2001:db8:64::/96")),
        EamTable((EamEntry(IPv4Network(V4_OF_V6_HOST), IPv6Network(V6_HOST)),)),
    )
    return Siit(
        SiitConfig(
            mapping,
            IPv4Address("192.0.2.254"),
            IPv6Address("2001:db8:64::c000:2fe"),
            mtu4=mtu4,
            mtu6=mtu6,
        )
    )


def fresh_checksum6(p: Packet, layer: type[Packet]) -> int:
    """What scapy computes for ``layer`` of the IPv6 packet ``p``."""
    raw = bytearray(bytes(p[layer]))
    at = 2 if layer in (ICMPv6EchoRequest, ICMPv6EchoReply, ICMPv6DestUnreach) else 6
    at = 16 if layer is TCP else at
    raw[at : at + 2] = b"\0\0"
    nh = 58 if at == 2 else 6 if layer is TCP else 17
    return int(in6_chksum(nh, p[IPv6], bytes(raw)))


def test_udp_v4_to_v6_fields_and_checksum() -> None:
    s = siit()
    pkt = IP(src=PEER4, dst=V4_OF_V6_HOST, tos=0xB8, ttl=30) / UDP(sport=5, dport=53) / b"q"
    r = s.translate_v4(bytes(pkt))
    (out,) = r.packets
    p = IPv6(out)
    # RFC 7915 §4.1: Traffic Class = TOS, Flow Label 0, Hop Limit = TTL - 1.
    assert (p.tc, p.fl, p.hlim, p.nh, p.plen) == (0xB8, 0, 29, 17, 9)
    assert (p.src, p.dst) == (PEER6, V6_HOST)
    assert p[UDP].chksum == fresh_checksum6(p, UDP)
    assert s.counters.nonzero() == {"v4_in": 1, "v4_translated": 1}


def test_zero_udp_checksum_is_computed() -> None:
    """RFC 7915 §4.5: an unfragmented IPv4 UDP datagram with no checksum gets one."""
    s = siit()
    pkt = IP(src=PEER4, dst=V4_OF_V6_HOST) / UDP(sport=5, dport=53, chksum=0) / b"abc"
    p = IPv6(s.translate_v4(bytes(pkt)).packets[0])
    assert p[UDP].chksum == fresh_checksum6(p, UDP) != 0
    assert s.counters.v4_udp_checksum_computed == 1


def test_tcp_v6_to_v4_and_the_df_rule() -> None:
    """RFC 7915 §5.1: DF clear up to 1260 octets, set above; TCP checksum carried over."""
    s = siit()
    for size, df in ((100, False), (1220, False), (1221, True), (1400, True)):
        pkt = IPv6(src=V6_HOST, dst=PEER6, hlim=9) / TCP(sport=1, dport=80) / (b"x" * size)
        (out,) = s.translate_v6(bytes(pkt)).packets
        ip = IP(out)
        assert ip.len == 20 + 20 + size
        assert bool(ip.flags.DF) == df, size
        assert (ip.src, ip.dst, ip.ttl, ip.proto) == (V4_OF_V6_HOST, PEER4, 8, 6)
        ref = IP(out)
        del ref[TCP].chksum, ref[IP].chksum
        again = IP(bytes(ref))
        assert (ip[TCP].chksum, ip.chksum) == (again[TCP].chksum, again.chksum)


def test_echo_both_ways() -> None:
    """RFC 7915 §4.2 and RFC 7915 §5.2: Echo Request 8 <-> 128, Reply 0 <-> 129, checksums
    redone."""
    s = siit()
    p = IPv6(
        s.translate_v4(
            bytes(IP(src=PEER4, dst=V4_OF_V6_HOST) / ICMP(type=8, id=7, seq=3) / b"ping")
        ).packets[0]
    )
    assert (p[ICMPv6EchoRequest].id, p[ICMPv6EchoRequest].seq, p[ICMPv6EchoRequest].data) == (
        7,
        3,
        b"ping",
    )
    assert p[ICMPv6EchoRequest].cksum == fresh_checksum6(p, ICMPv6EchoRequest)
    back = IP(
        s.translate_v6(
            bytes(IPv6(src=V6_HOST, dst=PEER6) / ICMPv6EchoReply(id=7, seq=3, data=b"pong"))
        ).packets[0]
    )
    assert (back[ICMP].type, back[ICMP].id, back[ICMP].seq, bytes(back[ICMP].payload)) == (
        0,
        7,
        3,
        b"pong",
    )
    ref = back.copy()
    del ref[ICMP].chksum
    assert IP(bytes(ref))[ICMP].chksum == back[ICMP].chksum


def test_port_unreachable_with_the_quoted_packet_translated() -> None:
    """RFC 7915 §4.2 (3/3 -> 1/4) and RFC 7915 §4.3: the quoted IPv4 datagram becomes IPv6."""
    s = siit()
    quoted = IP(src=V4_OF_V6_HOST, dst=PEER4, ttl=5) / UDP(sport=4000, dport=33434) / b"probe"
    err = IP(src=PEER4, dst=V4_OF_V6_HOST) / ICMP(type=3, code=3) / quoted
    p = IPv6(s.translate_v4(bytes(err)).packets[0])
    du = p[ICMPv6DestUnreach]
    assert du.code == 4
    inner = p[IPerror6]
    assert (inner.src, inner.dst, inner.hlim, inner.nh, inner.plen) == (V6_HOST, PEER6, 5, 17, 13)
    # the quoted UDP checksum is carried over: valid for the quoted IPv6 header
    udp = bytearray(bytes(inner.payload))
    sent = int.from_bytes(udp[6:8], "big")
    udp[6:8] = b"\0\0"
    assert in6_chksum(17, inner, bytes(udp)) == sent
    assert du.cksum == fresh_checksum6(p, ICMPv6DestUnreach)


def test_fragmentation_needed_to_packet_too_big_mtu() -> None:
    """RFC 7915 §4.2: min(MTU + 20, IPv6 next hop, IPv4 next hop + 20); an MTU of zero is
    replaced by the RFC 1191 plateau below the quoted Total Length; at least 1280."""
    quoted = IP(src=V4_OF_V6_HOST, dst=PEER4) / UDP() / (b"z" * 1472)  # Total Length 1500
    for advertised, mtu4, mtu6, expect in (
        (1400, 1500, 9000, 1420),
        (1400, 1500, 1280, 1280),
        (1400, 1300, 9000, 1320),
        (0, 9000, 9000, 1492 + 20),  # RFC 1191 plateau below 1500
        (296, 9000, 9000, 1280),  # never below the IPv6 minimum (RFC 8201 §4)
    ):
        err = (
            IP(src="203.0.113.1", dst=V4_OF_V6_HOST)
            / ICMP(type=3, code=4, nexthopmtu=advertised)
            / quoted
        )
        (out,) = siit(mtu4=mtu4, mtu6=mtu6).translate_v4(bytes(err)).packets
        assert IPv6(out)[ICMPv6PacketTooBig].mtu == expect, (advertised, mtu4, mtu6)


def test_packet_too_big_to_fragmentation_needed_mtu() -> None:
    """RFC 7915 §5.2: min(MTU - 20, IPv4 next hop, IPv6 next hop - 20)."""
    quoted = IPv6(src=PEER6, dst=V6_HOST) / UDP() / (b"z" * 1400)
    for advertised, mtu4, mtu6, expect in (
        (1400, 1500, 9000, 1380),
        (1500, 1400, 9000, 1400),
        (9000, 9000, 1500, 1480),
    ):
        err = IPv6(src="2001:db8:1::1", dst=PEER6) / ICMPv6PacketTooBig(mtu=advertised) / quoted
        (out,) = siit(mtu4=mtu4, mtu6=mtu6).translate_v6(bytes(err)).packets
        ip = IP(out)
        assert (ip[ICMP].type, ip[ICMP].code, ip[ICMP].nexthopmtu) == (3, 4, expect)
        # RFC 1812 §4.3.2.3: at most 576 octets
        assert len(out) <= 576 and ip[IPerror].src == PEER4


def test_df_clear_is_fragmented_to_1280_and_reassembles() -> None:
    """RFC 7915 §4.1: DF clear and too big -> IPv6 fragments of at most 1280 octets that
    carry the IPv4 identification."""
    s = siit(mtu6=9000)
    payload = bytes(range(256)) * 8
    pkt = IP(src=PEER4, dst=V4_OF_V6_HOST, id=0x1234, flags=0) / UDP(sport=1, dport=2) / payload
    pieces = [IPv6(x) for x in s.translate_v4(bytes(pkt)).packets]
    assert len(pieces) == 2 and all(len(bytes(p)) <= 1280 for p in pieces)
    assert {p[IPv6ExtHdrFragment].id for p in pieces} == {0x1234}
    data = b"".join(bytes(p[IPv6ExtHdrFragment].payload) for p in pieces)
    assert [p[IPv6ExtHdrFragment].m for p in pieces] == [1, 0]
    assert pieces[1][IPv6ExtHdrFragment].offset * 8 == len(
        bytes(pieces[0][IPv6ExtHdrFragment].payload)
    )
    whole = IPv6(src=PEER6, dst=V6_HOST, nh=17) / Raw(data)
    assert UDP(data).payload.load == payload
    sent = int.from_bytes(data[6:8], "big")
    assert in6_chksum(17, whole, data[:6] + b"\0\0" + data[8:]) == sent


def test_ipv4_fragment_keeps_its_fields_in_a_fragment_header() -> None:
    """RFC 7915 §4.1: offset, M and the identification move into a Fragment header."""
    s = siit()
    pkt = IP(src=PEER4, dst=V4_OF_V6_HOST, id=77, flags=1, frag=3, proto=17) / Raw(b"y" * 40)
    (out,) = s.translate_v4(bytes(pkt)).packets
    f = IPv6(out)[IPv6ExtHdrFragment]
    assert (f.nh, f.offset, f.m, f.id, len(bytes(f.payload))) == (17, 3, 1, 77, 40)


def test_too_big_both_ways_answers_the_sender() -> None:
    """RFC 7915 §4.1: DF set and too big -> Fragmentation Needed (MTU = IPv6 MTU - 20);
    RFC 7915 §5.1: too big for IPv4 with DF -> Packet Too Big (MTU = IPv4 MTU + 20)."""
    s = siit(mtu4=1400, mtu6=1280)
    big4 = IP(src=PEER4, dst=V4_OF_V6_HOST, flags=2) / UDP() / (b"b" * 1300)
    r = s.translate_v4(bytes(big4))
    assert r.packets == () and r.drop == "v4_too_big_df_drop" and r.error is not None
    e4 = IP(r.error)
    assert (e4.src, e4.dst, e4[ICMP].type, e4[ICMP].code, e4[ICMP].nexthopmtu) == (
        "192.0.2.254",
        PEER4,
        3,
        4,
        1260,
    )
    big6 = IPv6(src=V6_HOST, dst=PEER6) / UDP() / (b"b" * 1500)
    r6 = s.translate_v6(bytes(big6))
    assert r6.drop == "v6_too_big_drop" and r6.error is not None
    assert IPv6(r6.error)[ICMPv6PacketTooBig].mtu == 1420
    assert s.counters.icmpv4_errors_sent == s.counters.icmpv6_errors_sent == 1


def test_malformed_and_unmapped_are_counted() -> None:
    s = siit()
    good = bytearray(bytes(IP(src=PEER4, dst=V4_OF_V6_HOST) / UDP() / b"x"))
    bad_sum = bytearray(good)
    bad_sum[10] ^= 0xFF
    assert s.translate_v4(bytes(bad_sum)).drop == "v4_header_checksum_drop"
    assert s.translate_v4(bytes(good[:15])).drop == "v4_malformed_drop"
    assert s.translate_v4(bytes(IP(src="10.0.0.1", dst="203.0.113.5") / UDP())).drop is None
    unmapped = IPv6(src="2001:db8:99::1", dst=PEER6) / UDP()
    assert s.translate_v6(bytes(unmapped)).drop == "v6_source_unmapped_drop"
    assert s.counters.v4_header_checksum_drop == s.counters.v4_malformed_drop == 1


@given(data=st.binary(max_size=200))
def test_garbage_never_raises_and_is_counted_once(data: bytes) -> None:
    """Whatever arrives, one outcome is counted: translated or one *_drop."""
    for version in (4, 6):
        s = siit()
        raw = bytes([(version << 4) | (data[0] & 0xF if data else 5)]) + data[1:]
        r = (s.translate_v4 if version == 4 else s.translate_v6)(raw)
        counted = {
            k: v for k, v in s.counters.nonzero().items() if k.endswith(("_drop", "translated"))
        }
        assert sum(counted.values()) == 1
        assert (r.drop is None) == bool(r.packets)


@given(pkt=ipv4_packets())
def test_generated_ipv4_never_raises(pkt: bytes) -> None:
    s = siit()
    r = s.translate_v4(pkt)
    assert (r.drop is None) == bool(r.packets)


@given(pkt=ipv6_packets())
def test_generated_ipv6_round_trips_through_both_directions(pkt: bytes) -> None:
    """IPv6 -> IPv4 -> IPv6 gives back the addresses, the upper-layer octets (checksums
    included: the mapping is checksum-carrying both ways) and hop limit - 2."""
    s = siit(mtu4=9000, mtu6=9000)
    r = s.translate_v6(pkt)
    if r.drop is not None or len(r.packets) != 1:
        return
    p6 = IPv6(pkt)
    if p6.nh != 17 and p6.nh != 6:
        return
    back = s.translate_v4(r.packets[0])
    if back.drop is not None:
        return
    (again,) = back.packets
    q = IPv6(again)
    assert (q.src, q.dst, q.hlim) == (p6.src, p6.dst, p6.hlim - 2)
    assert bytes(q.payload) == bytes(p6.payload)
