"""Frames for fuzzing a host's receive path: valid frames of every protocol tcpip6 parses,
built by scapy (an encoder independent of tcpip6's), and mutations of them.

A mutation that only breaks a checksum stops at the checksum; so most mutations here are
followed by a checksum made right again (the harness's own code, not tcpip6's), which
takes the damage past the checksum to the parsers and the state machines behind it.
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass
from ipaddress import IPv6Address

from scapy.layers.inet import TCP, UDP
from scapy.layers.inet6 import (
    HAO,
    MIP6MH_BU,
    HBHOptUnknown,
    ICMPv6DestUnreach,
    ICMPv6EchoReply,
    ICMPv6EchoRequest,
    ICMPv6MLDMultAddrRec,
    ICMPv6MLQuery,
    ICMPv6MLQuery2,
    ICMPv6MLReport,
    ICMPv6MLReport2,
    ICMPv6ND_NA,
    ICMPv6ND_NS,
    ICMPv6ND_RA,
    ICMPv6ND_Redirect,
    ICMPv6ND_RS,
    ICMPv6NDOptDstLLAddr,
    ICMPv6NDOptMTU,
    ICMPv6NDOptPrefixInfo,
    ICMPv6NDOptSrcLLAddr,
    ICMPv6PacketTooBig,
    ICMPv6ParamProblem,
    ICMPv6TimeExceeded,
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
    IPv6ExtHdrRouting,
    Jumbo,
    MIP6MH_HoTI,
    PadN,
    RouterAlert,
)
from scapy.layers.ipsec import AH, ESP
from scapy.layers.l2 import ARP, Dot1Q, Ether
from scapy.packet import Packet, Raw

#: Next Header values whose length the harness knows how to skip (RFC 8200 §4).
_OPTIONS_LIKE = (0, 43, 60, 135)  # Hop-by-Hop, Routing, Destination Options, Mobility
_CHECKSUM_AT = {6: 16, 17: 6, 58: 2}  # TCP, UDP, ICMPv6: where the checksum sits


@dataclass(frozen=True)
class Target:
    """The host under test as the templates address it."""

    mac: str
    link_local: IPv6Address
    global_: IPv6Address
    tcp_port: int
    udp_port: int


PEER_MAC = "02:00:00:00:0f:0f"
PEER_LL = "fe80::f0f"
PEER_G = "2001:db8:f::f0f"


def templates(t: Target) -> list[bytes]:
    """One valid frame of each kind, addressed to ``t`` from a neighbour on its link."""
    ll, g = str(t.link_local), str(t.global_)
    eth = Ether(src=PEER_MAC, dst=t.mac)
    mcast = Ether(src=PEER_MAC, dst="33:33:00:00:00:01")
    to_ll = IPv6(src=PEER_LL, dst=ll)
    to_g = IPv6(src=PEER_G, dst=g)
    tcp_ports = {"sport": 40000, "dport": t.tcp_port}
    quoted = IPv6(src=g, dst=PEER_G) / TCP(sport=t.tcp_port, dport=40000, seq=1000)
    # RFC 4291 §2.7.1: the solicited-node group of the link-local address.
    echo = bytes(IPv6(src=PEER_G, dst=g) / ICMPv6EchoRequest(data=b"x" * 64))
    snm = str(IPv6Address(int(IPv6Address("ff02::1:ff00:0")) | int(t.link_local) & 0xFFFFFF))
    packets: list[Packet] = [
        eth / to_g / ICMPv6EchoRequest(id=1, seq=1, data=b"ping" * 10),
        eth / to_ll / ICMPv6EchoReply(id=1, seq=1),
        mcast / IPv6(src=PEER_LL, dst="ff02::1") / ICMPv6EchoRequest(id=2, seq=2),
        Ether(src=PEER_MAC, dst="33:33:ff" + t.mac[8:])  # RFC 2464 §7
        / IPv6(src=PEER_LL, dst=snm, hlim=255)
        / ICMPv6ND_NS(tgt=ll)
        / ICMPv6NDOptSrcLLAddr(lladdr=PEER_MAC),
        eth
        / IPv6(src=PEER_LL, dst=ll, hlim=255)
        / ICMPv6ND_NA(tgt=PEER_LL, R=0, S=1, O=1)
        / ICMPv6NDOptDstLLAddr(lladdr=PEER_MAC),
        mcast
        / IPv6(src=PEER_LL, dst="ff02::1", hlim=255)
        / ICMPv6ND_RA(routerlifetime=1800)
        / ICMPv6NDOptSrcLLAddr(lladdr=PEER_MAC)
        / ICMPv6NDOptMTU(mtu=1400)
        / ICMPv6NDOptPrefixInfo(
            prefixlen=64, prefix="2001:db8:77::", validlifetime=600, preferredlifetime=300
        ),
        mcast / IPv6(src=PEER_LL, dst="ff02::2", hlim=255) / ICMPv6ND_RS(),
        eth / IPv6(src=PEER_LL, dst=ll, hlim=255) / ICMPv6ND_Redirect(tgt="fe80::1", dst=PEER_G),
        mcast
        / IPv6(src=PEER_LL, dst="ff02::1", hlim=1)
        / IPv6ExtHdrHopByHop(options=[RouterAlert()])
        / ICMPv6MLQuery(),
        mcast
        / IPv6(src=PEER_LL, dst="ff02::1", hlim=1)
        / IPv6ExtHdrHopByHop(options=[RouterAlert()])
        / ICMPv6MLQuery2(),
        mcast
        / IPv6(src=PEER_LL, dst="ff02::1:3", hlim=1)
        / IPv6ExtHdrHopByHop(options=[RouterAlert()])
        / ICMPv6MLReport(mladdr="ff02::1:3"),
        mcast
        / IPv6(src=PEER_LL, dst="ff02::16", hlim=1)
        / IPv6ExtHdrHopByHop(options=[RouterAlert()])
        / ICMPv6MLReport2(records=[ICMPv6MLDMultAddrRec(dst="ff02::1:3")]),
        eth / to_g / UDP(sport=5000, dport=t.udp_port) / b"datagram",
        eth / to_g / UDP(sport=5000, dport=9) / b"closed port",
        eth
        / to_g
        / TCP(flags="S", options=[("MSS", 1440), ("SAckOK", b""), ("WScale", 7)], **tcp_ports),
        eth / to_g / TCP(flags="A", seq=1, ack=1, **tcp_ports),
        eth / to_g / TCP(flags="R", seq=1, **tcp_ports),
        eth / to_g / TCP(flags="S", sport=40001, dport=23),
        eth / to_g / TCP(flags="FA", seq=5, ack=9, **tcp_ports) / b"data",
        eth / to_g / ICMPv6DestUnreach(code=4) / quoted,
        eth / to_g / ICMPv6PacketTooBig(mtu=1280) / quoted,
        eth / to_g / ICMPv6TimeExceeded() / quoted,
        eth / to_g / ICMPv6ParamProblem(code=1, ptr=40) / quoted,
        eth / to_g / IPv6ExtHdrFragment(nh=58, offset=0, m=1, id=7) / Raw(echo[40:88]),
        eth / to_g / IPv6ExtHdrFragment(nh=58, offset=6, m=0, id=7) / Raw(b"y" * 24),
        eth / to_g / IPv6ExtHdrFragment(nh=58, offset=0, m=0, id=8) / ICMPv6EchoRequest(),
        eth / to_g / IPv6ExtHdrDestOpt(options=[PadN(optdata=b"\x00" * 4)]) / ICMPv6EchoRequest(),
        eth
        / to_g
        / IPv6ExtHdrDestOpt(options=[HBHOptUnknown(otype=0x80, optdata=b"ab")])
        / ICMPv6EchoRequest(),
        eth / to_g / IPv6ExtHdrHopByHop(options=[Jumbo(jumboplen=70000)]) / ICMPv6EchoRequest(),
        eth
        / to_g
        / IPv6ExtHdrRouting(type=0, addresses=["2001:db8::1"], segleft=1)
        / ICMPv6EchoRequest(),
        eth / to_g / IPv6ExtHdrRouting(type=2, addresses=[g], segleft=1) / ICMPv6EchoRequest(),
        eth / to_g / IPv6ExtHdrDestOpt(options=[HAO(hoa="2001:db8:99::1")]) / ICMPv6EchoRequest(),
        eth / to_g / MIP6MH_HoTI(cookie=b"12345678"),
        eth / to_g / MIP6MH_BU(seq=1, flags=0, mhtime=100),
        eth / to_g / ESP(spi=0x1000, seq=1, data=b"\x00" * 32),
        eth / to_g / AH(spi=0x1000, seq=1, icv=b"\x00" * 12, nh=59),
        eth / Dot1Q(vlan=5) / to_g / ICMPv6EchoRequest(),
        Ether(src=PEER_MAC, dst="ff:ff:ff:ff:ff:ff") / ARP(pdst="192.0.2.1"),
        eth / IPv6(src=PEER_G, dst="2001:db8:5555::1") / ICMPv6EchoRequest(),  # not ours
    ]
    return [bytes(p) for p in packets]


def _upper(packet: bytearray) -> tuple[int, int] | None:
    """(next header, offset) of the upper layer after the IPv6 header and the extension
    headers the harness can skip; None when the chain runs off the end."""
    if len(packet) < 40:
        return None
    nh, off = packet[6], 40
    for _ in range(16):
        if off + 2 > len(packet):
            return None
        if nh in _OPTIONS_LIKE:
            nh, off = packet[off], off + (packet[off + 1] + 1) * 8
        elif nh == 44:  # Fragment: only an atomic or first fragment has the upper layer
            if off + 4 > len(packet) or struct.unpack_from("!H", packet, off + 2)[0] >> 3:
                return None
            nh, off = packet[off], off + 8
        elif nh == 51:  # AH
            nh, off = packet[off], off + (packet[off + 1] + 2) * 4
        else:
            return (nh, off) if off <= len(packet) else None
    return None


def internet_checksum(data: bytes | bytearray) -> int:
    if len(data) % 2:
        data = bytes(data) + b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def fix_checksum(frame: bytearray, ip_at: int) -> None:
    """Make the upper-layer checksum right for the packet as it now is (RFC 8200 §8.1)."""
    packet = frame[ip_at:]
    found = _upper(packet)
    if found is None:
        return
    nh, off = found
    at = _CHECKSUM_AT.get(nh)
    if at is None or off + at + 2 > len(packet):
        return
    upper = bytearray(packet[off:])
    upper[at : at + 2] = b"\x00\x00"
    pseudo = packet[8:40] + struct.pack("!I3xB", len(upper), nh)
    value = internet_checksum(bytes(pseudo) + bytes(upper))
    frame[ip_at + off + at : ip_at + off + at + 2] = struct.pack("!H", value)


def fix_payload_length(frame: bytearray, ip_at: int) -> None:
    if len(frame) >= ip_at + 40:
        frame[ip_at + 4 : ip_at + 6] = struct.pack("!H", min(len(frame) - ip_at - 40, 0xFFFF))


INTERESTING = (0, 1, 2, 7, 8, 0x3F, 0x40, 0x7F, 0x80, 0xFE, 0xFF)


def mutate(rng: random.Random, frame: bytes, others: list[bytes]) -> bytes:
    """One to three random changes to ``frame``; then, most of the time, the Payload
    Length and the checksum made consistent again so the change goes deeper."""
    out = bytearray(frame)
    ip_at = 18 if out[12:14] == b"\x81\x00" else 14
    for _ in range(rng.randint(1, 3)):
        kind = rng.randrange(8)
        if not out:
            out = bytearray(rng.randbytes(rng.randint(1, 80)))
        at = rng.randrange(len(out))
        if kind == 0:
            out[at] ^= 1 << rng.randrange(8)
        elif kind == 1:
            out[at] = rng.choice(INTERESTING)
        elif kind == 2:
            del out[rng.randrange(len(out)) :]
        elif kind == 3:
            out += rng.randbytes(rng.randint(1, 64))
        elif kind == 4:
            out[at:at] = rng.randbytes(rng.randint(1, 16))
        elif kind == 5:
            width = rng.choice((2, 4))
            out[at : at + width] = rng.randbytes(width)
        elif kind == 6:  # splice another frame's tail in
            other = rng.choice(others)
            cut = rng.randrange(len(other))
            out = out[:at] + bytearray(other[cut:])
        else:  # a header field of the IPv6 header or the one after it
            if len(out) > ip_at + 48:
                field = rng.randrange(ip_at, ip_at + 48)
                out[field] = rng.randrange(256)
    if rng.random() < 0.8:
        if rng.random() < 0.7:
            fix_payload_length(out, ip_at)
        fix_checksum(out, ip_at)
    return bytes(out)
