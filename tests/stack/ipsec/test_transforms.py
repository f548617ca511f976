"""AH and ESP of one packet, every algorithm, both modes, against scapy's independent
``SecurityAssociation``: scapy opens what tcpip6 protects, tcpip6 opens what scapy
protects, and both agree to the octet."""

from __future__ import annotations

from ipaddress import IPv6Address

import pytest
from scapy.layers.inet import UDP
from scapy.layers.inet6 import (
    HBHOptUnknown,
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrHopByHop,
    RouterAlert,
)
from scapy.layers.ipsec import ESP as ScapyEsp

from tcpip6.stack.ipsec import Direction, Mode
from tcpip6.stack.ipsec.transforms import Opened, ah_open, ah_protect, esp_open, esp_protect
from tests.stack.ipsec.helpers import AH_, ESP, SUITES, Suite, locate, scapy_sa, tcpip6_sa

A = IPv6Address("2001:db8::a")
B = IPv6Address("2001:db8::b")
GW_A = IPv6Address("2001:db8:ff::1")
GW_B = IPv6Address("2001:db8:ff::2")


def inner_packet() -> bytes:
    # A Hop-by-Hop header with Router Alert (C=0) and an option whose C bit is set, and a
    # Destination Options header: transport mode goes between them (RFC 4303 §3.1.1).
    hbh = IPv6ExtHdrHopByHop(
        options=[RouterAlert(value=0), HBHOptUnknown(otype=0x3E, optdata=b"\x01\x02\x03\x04")]
    )
    p = (
        IPv6(src=str(A), dst=str(B), hlim=17, fl=0x12345, tc=0x28)
        / hbh
        / IPv6ExtHdrDestOpt()
        / UDP(sport=4000, dport=53)
        / (b"payload " * 9)
    )
    return bytes(p)


def endpoints(mode: Mode) -> tuple[IPv6Address, IPv6Address]:
    return (GW_A, GW_B) if mode is Mode.TUNNEL else (A, B)


def protect(suite: Suite, mode: Mode, packet: bytes, seq: int, esn: bool = False) -> bytes:
    src, dst = endpoints(mode)
    sa = tcpip6_sa(suite, mode, src, dst, Direction.OUTBOUND, esn=esn)
    if suite.protocol == ESP:
        iv = seq.to_bytes(8, "big") if sa.cipher and sa.cipher.aead else bytes(range(16))
        return esp_protect(sa, packet, seq, iv[: sa.cipher.iv_len if sa.cipher else 0])
    return ah_protect(sa, packet, seq)


def open_(suite: Suite, mode: Mode, packet: bytes, seq: int, esn: bool = False) -> Opened | str:
    src, dst = endpoints(mode)
    sa = tcpip6_sa(suite, mode, src, dst, Direction.INBOUND, esn=esn)
    nh, off, pointer = locate(packet)
    assert nh == suite.protocol
    fn = esp_open if suite.protocol == ESP else ah_open
    return fn(sa, packet, off, pointer, seq)


@pytest.mark.parametrize("mode", [Mode.TRANSPORT, Mode.TUNNEL], ids=lambda m: m.value)
@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.id)
def test_scapy_opens_what_tcpip6_protects(suite: Suite, mode: Mode) -> None:
    packet = inner_packet()
    out = protect(suite, mode, packet, 7)
    wire = IPv6(out)
    if mode is Mode.TUNNEL:
        assert (wire.src, wire.dst, wire.nh) == (str(GW_A), str(GW_B), suite.protocol)
        assert wire.tc == 0x28  # RFC 4301 §5.1.2.1: DSCP and ECN copied outward
    else:
        # RFC 4303 §3.1.1 / RFC 4302 §3.1.1: after Hop-by-Hop, before Destination Options.
        assert wire[IPv6ExtHdrHopByHop].nh == suite.protocol
    # In transit the mutable fields change (RFC 4302 §3.3.3.1): hop limit, flow label, and
    # the data of the option whose C bit is set.
    if mode is Mode.TRANSPORT:
        moved = bytearray(out)
        moved[7] -= 3
        moved[3] ^= 0x55
        at = out.index(b"\x3e\x04\x01\x02\x03\x04")
        moved[at + 2 : at + 6] = b"\xff\xee\xdd\xcc"
        out = bytes(moved)
    sa = scapy_sa(suite, mode, *endpoints(mode))
    back = sa.decrypt(IPv6(out))
    if suite.protocol == ESP:
        assert IPv6(out)[ScapyEsp].seq == 7
    if mode is Mode.TUNNEL:
        assert bytes(back) == packet
    else:
        # What scapy gives back is our packet again (hop limit as changed in transit).
        got = IPv6(bytes(back))
        assert got[UDP].load == IPv6(packet)[UDP].load
        assert (got[UDP].sport, got[UDP].dport, got.src, got.dst) == (4000, 53, str(A), str(B))
        assert IPv6ExtHdrDestOpt in got


@pytest.mark.parametrize("mode", [Mode.TRANSPORT, Mode.TUNNEL], ids=lambda m: m.value)
@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.id)
def test_tcpip6_opens_what_scapy_protects(suite: Suite, mode: Mode) -> None:
    packet = inner_packet()
    sa = scapy_sa(suite, mode, *endpoints(mode), seq_num=5)
    out = bytes(sa.encrypt(IPv6(packet)))
    opened = open_(suite, mode, out, 5)
    assert isinstance(opened, Opened), opened
    if mode is Mode.TUNNEL:
        assert opened.packet == packet and opened.next_header == 41
    else:
        # scapy puts ESP after the Destination Options header (RFC 4303 §3.1.1 allows
        # either): the walk goes on where it stood, with the upper-layer header.
        assert opened.packet == packet
        assert opened.packet[opened.nh_pointer] == opened.next_header
        assert opened.next_header in (17, 60)


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.id)
def test_esn_high_bits_in_the_icv(suite: Suite) -> None:
    # RFC 4303 §2.2.1 / RFC 4302 §2.5.1: the high half is never sent but authenticated.
    seq = (3 << 32) | 9
    packet = inner_packet()
    sa = scapy_sa(suite, Mode.TRANSPORT, A, B, seq_num=9, esn=True)
    out = bytes(sa.encrypt(IPv6(packet), esn_en=True, esn=3))
    assert isinstance(open_(suite, Mode.TRANSPORT, out, seq, esn=True), Opened)
    assert open_(suite, Mode.TRANSPORT, out, (4 << 32) | 9, esn=True) == "integrity"
    mine = protect(suite, Mode.TRANSPORT, packet, seq, esn=True)
    back = scapy_sa(suite, Mode.TRANSPORT, A, B, esn=True).decrypt(IPv6(mine), esn_en=True, esn=3)
    assert IPv6(bytes(back))[UDP].load == IPv6(packet)[UDP].load


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.id)
def test_corrupted_icv_and_payload_fail(suite: Suite) -> None:
    out = protect(suite, Mode.TRANSPORT, inner_packet(), 1)
    for at in (len(out) - 1, len(out) - 30):
        bad = bytearray(out)
        bad[at] ^= 0x01
        assert open_(suite, Mode.TRANSPORT, bytes(bad), 1) == "integrity"
    if suite.protocol == AH_:
        # An immutable field of the IPv6 header is covered: the source address.
        bad = bytearray(out)
        bad[8] ^= 0x01
        assert open_(suite, Mode.TRANSPORT, bytes(bad), 1) == "integrity"
    assert isinstance(open_(suite, Mode.TRANSPORT, out, 1), Opened)
