"""The SPD (RFC 4301 §4.4.1) and the SAD (RFC 4301 §4.4.2) as data structures, and the
anti-replay window (RFC 4303 §3.4.3, Appendix A)."""

from __future__ import annotations

from ipaddress import IPv6Address

import pytest
from scapy.layers.inet import TCP, UDP
from scapy.layers.inet6 import MIP6MH_BU, ICMPv6EchoRequest, IPv6, IPv6ExtHdrFragment

from tcpip6.stack.ipsec import (
    Action,
    AddressRange,
    Direction,
    Mode,
    PortRange,
    SaTemplate,
    SecurityAssociationDatabase,
    SecurityPolicyDatabase,
    SpdEntry,
)
from tcpip6.stack.ipsec.replay import ReplayWindow
from tcpip6.stack.ipsec.spd import packet_selectors
from tests.stack.ipsec.helpers import SUITES, tcpip6_sa

A = IPv6Address("2001:db8::a")
B = IPv6Address("2001:db8::b")
C = IPv6Address("2001:db8:1::c")
OUT, IN = Direction.OUTBOUND, Direction.INBOUND
ESP_T = (SaTemplate(50, "transport"),)


def spd(*entries: SpdEntry) -> SecurityPolicyDatabase:
    db = SecurityPolicyDatabase()
    for e in entries:
        db.add(e)
    return db


def sel(packet: IPv6, direction: Direction = OUT):  # type: ignore[no-untyped-def]
    s = packet_selectors(bytes(packet), direction)
    assert s is not None
    return s


def test_selectors_of_packets_seen_by_scapy() -> None:
    s = sel(IPv6(src=str(A), dst=str(B)) / UDP(sport=1000, dport=53))
    assert (s.local, s.remote, s.next_layer, s.local_port, s.remote_port) == (A, B, 17, 1000, 53)
    # Inbound the local address is the destination, the local port the destination port.
    s = sel(IPv6(src=str(B), dst=str(A)) / TCP(sport=80, dport=4000), IN)
    assert (s.local, s.remote, s.local_port, s.remote_port) == (A, B, 4000, 80)
    s = sel(IPv6(src=str(A), dst=str(B)) / ICMPv6EchoRequest())
    assert (s.next_layer, s.icmp_type, s.icmp_code) == (58, 128, 0)
    s = sel(IPv6(src=str(A), dst=str(B)) / MIP6MH_BU())
    assert (s.next_layer, s.mh_type) == (135, 5)
    # RFC 4301 §7: a non-initial fragment has OPAQUE ports.
    frag = IPv6(src=str(A), dst=str(B)) / IPv6ExtHdrFragment(nh=17, offset=10) / (b"x" * 16)
    s = sel(frag)
    assert s.opaque and s.next_layer == 17 and s.local_port is None


def test_first_matching_entry_decides() -> None:
    # RFC 4301 §4.4.1: ordered; the same packet matches all three, the first wins.
    db = spd(
        SpdEntry("dns", Action.BYPASS, next_layer=17, remote_port=PortRange(53, 53)),
        SpdEntry("net", Action.PROTECT, remote=AddressRange.parse("2001:db8::/64"), protect=ESP_T),
        SpdEntry("all", Action.DISCARD),
    )
    dns = sel(IPv6(src=str(A), dst=str(B)) / UDP(sport=5, dport=53))
    other = sel(IPv6(src=str(A), dst=str(B)) / UDP(sport=5, dport=54))
    far = sel(IPv6(src=str(A), dst=str(C)) / UDP(sport=5, dport=54))
    assert [db.lookup(s, OUT).name for s in (dns, other, far)] == ["dns", "net", "all"]  # type: ignore[union-attr]
    assert spd().lookup(dns, OUT) is None  # no entry matches: the caller discards


def test_selector_kinds() -> None:
    echo = sel(IPv6(src=str(A), dst=str(B)) / ICMPv6EchoRequest())
    assert SpdEntry("e", Action.BYPASS, next_layer=58, icmp_type=128).matches(echo, OUT)
    assert not SpdEntry("e", Action.BYPASS, next_layer=58, icmp_type=129).matches(echo, OUT)
    assert not SpdEntry("e", Action.BYPASS, next_layer=58, icmp_code=1).matches(echo, OUT)
    assert not SpdEntry("e", Action.BYPASS, next_layer=17).matches(echo, OUT)
    assert not SpdEntry("e", Action.BYPASS, direction=IN).matches(echo, OUT)
    assert SpdEntry("e", Action.BYPASS, direction=OUT).matches(echo, OUT)
    bu = sel(IPv6(src=str(A), dst=str(B)) / MIP6MH_BU())
    assert SpdEntry("m", Action.BYPASS, next_layer=135, mh_type=5).matches(bu, OUT)
    assert not SpdEntry("m", Action.BYPASS, next_layer=135, mh_type=6).matches(bu, OUT)
    r = AddressRange.parse("2001:db8::5-2001:db8::b")
    assert A in r and B in r and IPv6Address("2001:db8::4") not in r
    frag = sel(IPv6(src=str(A), dst=str(B)) / IPv6ExtHdrFragment(nh=17, offset=10) / (b"x" * 8))
    assert SpdEntry("u", Action.BYPASS, next_layer=17).matches(frag, OUT)
    ports = SpdEntry("u", Action.BYPASS, next_layer=17, remote_port=PortRange(53, 53))
    assert not ports.matches(frag, OUT)  # RFC 4301 §4.4.1.1: OPAQUE matches only ANY
    with pytest.raises(ValueError, match="ends before"):
        AddressRange.parse("2001:db8::9-2001:db8::1")


def test_spd_is_bounded_and_checked() -> None:
    db = SecurityPolicyDatabase(limit=2)
    db.add(SpdEntry("a", Action.BYPASS))
    with pytest.raises(ValueError, match="exists"):
        db.add(SpdEntry("a", Action.DISCARD))
    with pytest.raises(ValueError, match="names no AH or ESP"):
        db.add(SpdEntry("p", Action.PROTECT))
    db.add(SpdEntry("b", Action.BYPASS))
    with pytest.raises(ValueError, match="SPD full"):
        db.add(SpdEntry("c", Action.BYPASS))


def test_sad_lookup_by_spi_destination_and_protocol() -> None:
    esp = SUITES[4]
    db = SecurityAssociationDatabase(limit=3)
    sa_in = tcpip6_sa(esp, Mode.TRANSPORT, B, A, IN, spi=0x1000)
    sa_out = tcpip6_sa(esp, Mode.TRANSPORT, A, B, OUT, spi=0x2000, policy="q")
    db.add(sa_in)
    db.add(sa_out)
    # RFC 4301 §4.1: SPI, destination and protocol; outbound SAs are never found inbound.
    assert db.inbound(0x1000, A, 50) is sa_in
    assert db.inbound(0x1000, B, 50) is None
    assert db.inbound(0x1000, A, 51) is None
    assert db.inbound(0x2000, B, 50) is None
    assert db.outbound("q", 50) is sa_out and db.outbound("p", 50) is None
    with pytest.raises(ValueError, match="exists"):
        db.add(tcpip6_sa(esp, Mode.TRANSPORT, B, A, IN, spi=0x1000))
    db.add(tcpip6_sa(esp, Mode.TRANSPORT, B, A, IN, spi=0x1001))
    with pytest.raises(ValueError, match="SAD full"):
        db.add(tcpip6_sa(esp, Mode.TRANSPORT, B, A, IN, spi=0x1002))


def test_sa_checks_its_algorithms() -> None:
    gcm, null_sha = SUITES[4], SUITES[0]
    with pytest.raises(ValueError, match="spi"):
        tcpip6_sa(gcm, Mode.TRANSPORT, A, B, OUT, spi=255)  # RFC 4303 §2.1: reserved
    with pytest.raises(ValueError, match="key of 16 octets"):
        tcpip6_sa(gcm, Mode.TRANSPORT, A, B, OUT, enc_key=bytes(16))
    from dataclasses import replace

    with pytest.raises(ValueError, match="needs an integrity"):
        tcpip6_sa(replace(null_sha, integrity=None), Mode.TRANSPORT, A, B, OUT)
    with pytest.raises(ValueError, match="combined mode"):
        tcpip6_sa(replace(gcm, integrity="hmac-sha1-96"), Mode.TRANSPORT, A, B, OUT)


def test_replay_window_rules() -> None:
    # RFC 4303 §3.4.3: new on the right slides; inside, once; left of the window, never.
    w = ReplayWindow(size=32)
    assert w.check(0) == "replay"
    for seq in (1, 3, 2):
        assert w.check(seq) is None
        w.update(seq)
    assert w.check(2) == "replay" and w.top == 3
    w.update(40)
    assert w.check(9) is None  # 40 - 9 = 31 < 32: the window's left edge
    assert w.check(8) == "too_old"
    assert w.received() == [40]


def test_esn_inference_rfc4303_appendix_a2() -> None:
    # Case A: the window lies within one subspace; a low half below it is the next one.
    w = ReplayWindow(size=64, top=(5 << 32) | 1000)
    assert w.infer_esn(990) == (5 << 32) | 990
    assert w.infer_esn(10) == (6 << 32) | 10
    # Case B: the window spans two subspaces; a high low half is the previous one.
    w = ReplayWindow(size=64, top=(5 << 32) | 10)
    assert w.infer_esn(0xFFFFFFF0) == (4 << 32) | 0xFFFFFFF0
    assert w.infer_esn(20) == (5 << 32) | 20
