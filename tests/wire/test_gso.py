"""Segmentation offload's wire side: the partial checksum of ``TcpSegment.build_partial``
and the software segmentation of :mod:`tcpip6.wire.gso`, against scapy's TCP checksum."""

from __future__ import annotations

from ipaddress import IPv6Address

import pytest
from scapy.layers.inet import TCP
from scapy.layers.inet6 import IPv6
from scapy.packet import Raw

from tcpip6.wire import WireError
from tcpip6.wire import tcp as wt
from tcpip6.wire.checksum import ones_complement_sum
from tcpip6.wire.gso import segment_tcp

SRC = IPv6Address("2001:db8::1")
DST = IPv6Address("2001:db8::2")
DATA = bytes((i * 7) % 251 for i in range(10_000))


def scapy_checksum(raw: bytes) -> int:
    """The checksum scapy computes for the TCP segment ``raw`` (its own field ignored)."""
    tcp = TCP(raw)
    del tcp.chksum
    return int(TCP(bytes(IPv6(src=str(SRC), dst=str(DST), nh=6) / tcp)[40:]).chksum)


def large(flags: int, data: bytes = DATA) -> wt.TcpSegment:
    opts = wt.timestamp_options(12345, 678)
    return wt.TcpSegment(40000, 5001, 0xFFFFF000, 77, flags, 512, 0, opts, data)


def test_partial_checksum_completes_to_the_checksum() -> None:
    # What a NIC does with it: sum from the TCP header to the end (the field included),
    # complement; scapy's checksum is the oracle.
    raw = large(wt.ACK | wt.PSH).build_partial(SRC, DST)
    completed = ~ones_complement_sum(raw) & 0xFFFF
    assert completed == scapy_checksum(raw)
    assert raw[18:] == large(wt.ACK | wt.PSH).build(SRC, DST)[18:]


def packet(seg: wt.TcpSegment) -> bytes:
    return bytes(IPv6(src=str(SRC), dst=str(DST), nh=6, hlim=64) / Raw(seg.build_partial(SRC, DST)))


@pytest.mark.parametrize("gso_size", [1428, 1000, 999, 4096, 10_000])
def test_segments_are_what_scapy_checks(gso_size: int) -> None:
    flags = wt.ACK | wt.PSH | wt.FIN | wt.CWR
    pieces = segment_tcp(packet(large(flags)), gso_size)
    assert len(pieces) == -(-len(DATA) // gso_size)
    joined = b""
    for i, p in enumerate(pieces):
        ip = IPv6(p)
        assert ip.plen == len(p) - 40
        tcp = ip[TCP]
        raw = bytes(tcp)
        assert tcp.chksum == scapy_checksum(raw)
        assert tcp.seq == (0xFFFFF000 + i * gso_size) % 2**32  # wraps past 2**32
        last = i == len(pieces) - 1
        assert bool(tcp.flags & wt.FIN) == last and bool(tcp.flags & wt.PSH) == last
        assert bool(tcp.flags & wt.CWR) == (i == 0)
        assert tcp.flags & wt.ACK and tcp.ack == 77 and tcp.window == 512
        assert dict(tcp.options)["Timestamp"] == (12345, 678)
        payload = bytes(tcp.payload)
        assert len(payload) == gso_size or last
        joined += payload
        # The stack's own parser agrees.
        wt.TcpSegment.parse(raw, SRC, DST)
    assert joined == DATA


def test_each_segment_follows_the_prefix() -> None:
    """A link header given as ``prefix`` starts every segment; the rest is unchanged."""
    head = bytes(range(14))
    bare = segment_tcp(packet(large(wt.ACK)), 1000)
    assert segment_tcp(packet(large(wt.ACK)), 1000, head) == [head + p for p in bare]


def test_not_tcp_right_after_ipv6() -> None:
    udp_like = bytearray(packet(large(wt.ACK)))
    udp_like[6] = 17
    with pytest.raises(WireError):
        segment_tcp(bytes(udp_like), 1000)
    with pytest.raises(WireError):
        segment_tcp(packet(large(wt.ACK)), 0)
