"""Translated packets per second (``python -m bench``): the SIIT core (RFC 7915) both ways
and a stateful NAT64 (RFC 6146) on established UDP sessions, as the simulated and the live
host run them (packet in, packets out, no I/O)."""

from __future__ import annotations

import struct
import time
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from tcpip6.stack.translate.eam import EamEntry, EamTable
from tcpip6.stack.translate.mapping import AddressMapping
from tcpip6.stack.translate.nat64 import Nat64, Nat64Config
from tcpip6.stack.translate.rfc6052 import Rfc6052Prefix
from tcpip6.stack.translate.siit import Siit, SiitConfig
from tcpip6.wire.checksum import internet_checksum
from tcpip6.wire.ipv4 import Ipv4Header
from tcpip6.wire.ipv6 import IPPROTO_UDP, Ipv6Header
from tcpip6.wire.udp import UdpDatagram

PREFIX = Rfc6052Prefix(IPv6Network("2001:db8:64::/96"))
HOST6 = IPv6Address("2001:db8:1::1")
HOST4 = IPv4Address("192.0.2.1")
PEER4 = IPv4Address("198.51.100.7")
PAYLOAD = 64


def _udp6(src: IPv6Address, dst: IPv6Address, sport: int) -> bytes:
    body = UdpDatagram(sport, 53, bytes(PAYLOAD)).build(src, dst)
    return Ipv6Header(0, 0, len(body), IPPROTO_UDP, 64, src, dst).build() + bytes(body)


def _udp4(src: IPv4Address, dst: IPv4Address, dport: int) -> bytes:
    body = bytearray(struct.pack("!HHHH", 53, dport, 8 + PAYLOAD, 0) + bytes(PAYLOAD))
    pseudo = src.packed + dst.packed + bytes([0, IPPROTO_UDP]) + len(body).to_bytes(2, "big")
    body[6:8] = (internet_checksum(pseudo + bytes(body)) or 0xFFFF).to_bytes(2, "big")
    hdr = Ipv4Header(0, 20 + len(body), 1, 0, 0, 64, IPPROTO_UDP, src, dst)
    return hdr.build() + bytes(body)


def siit(count: int) -> tuple[int, float]:
    """SIIT, alternately IPv6 -> IPv4 and back; (packets translated, seconds)."""
    eam = EamTable((EamEntry(IPv4Network(HOST4), IPv6Network(HOST6)),))
    engine = Siit(SiitConfig(AddressMapping(PREFIX, eam), mtu4=1500, mtu6=1500))
    peer6 = PREFIX.embed(PEER4)
    assert peer6 is not None
    out6, in4 = _udp6(HOST6, peer6, 5000), _udp4(PEER4, HOST4, 5000)
    done = 0
    start = time.perf_counter()
    for _ in range(count // 2):
        done += len(engine.translate_v6(out6).packets)
        done += len(engine.translate_v4(in4).packets)
    return done, time.perf_counter() - start


def nat64(count: int) -> tuple[int, float]:
    """NAT64 on 64 established UDP sessions, both directions; (packets, seconds)."""
    engine = Nat64(Nat64Config(PREFIX, (IPv4Network("203.0.113.0/30"),)))
    peer6 = PREFIX.embed(PEER4)
    assert peer6 is not None
    outs = [_udp6(HOST6, peer6, 10000 + i) for i in range(64)]
    ins = []
    for o in outs:
        (t,) = engine.translate_v6(o, 0.0).packets
        ins.append(_udp4(PEER4, IPv4Address(t[12:16]), int.from_bytes(t[20:22], "big")))
    done = 0
    start = time.perf_counter()
    for i in range(count // 2):
        done += len(engine.translate_v6(outs[i % 64], 1.0).packets)
        done += len(engine.translate_v4(ins[i % 64], 1.0).packets)
    return done, time.perf_counter() - start
