"""The packet socket port completes the checksum a local sender left to offload
(``TP_STATUS_CSUMNOTREADY``): for TCP and UDP right after the IPv6 header it does so
without parsing the frame; scapy's checksum of the same segment is the oracle, for even
and odd lengths, Ethernet padding after the packet, and a UDP sum that computes to zero.
tests/io/test_live_host.py has the frame with an extension header (the parsing path)."""

from __future__ import annotations

import pytest
from scapy.layers.inet import TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from tcpip6.io.rawsock import complete_checksum

ETH = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
IP = IPv6(src="2001:db8::1", dst="fe80::2")


def partial(good: bytes, field: int) -> bytes:
    """What a kernel leaves for the hardware: some partial sum in the checksum field."""
    return good[:field] + b"\x5a\xa5" + good[field + 2 :]


@pytest.mark.parametrize("size", [0, 1, 2, 1001, 1428])
@pytest.mark.parametrize("proto", ["tcp", "udp"])
def test_a_direct_segment_gets_scapys_checksum(proto: str, size: int) -> None:
    upper = UDP(sport=5000, dport=9) if proto == "udp" else TCP(sport=5000, dport=80, seq=9)
    data = bytes((i * 31 + 7) % 256 for i in range(size))
    good = bytes(ETH / IP / upper / Raw(data))
    field = 54 + (6 if proto == "udp" else 16)
    assert complete_checksum(partial(good, field)) == good
    # Ethernet pads a short frame: the padding is not part of the sum, and stays.
    padded = good + bytes(4)
    assert complete_checksum(partial(padded, field)) == padded


def test_a_udp_sum_of_zero_is_sent_as_all_ones() -> None:
    """RFC 8200 §8.1: find data that makes the computed UDP checksum zero; scapy writes
    0xFFFF for it, and so does the port."""
    base = bytes(ETH / IP / UDP(sport=5000, dport=9) / Raw(b"\0\0"))
    value = int.from_bytes(base[60:62], "big")  # scapy's checksum with data 0
    # Data d adds d to the sum, so the checksum becomes value - d: zero for d = value.
    good = bytes(ETH / IP / UDP(sport=5000, dport=9) / Raw(value.to_bytes(2, "big")))
    assert good[60:62] == b"\xff\xff"
    assert complete_checksum(partial(good, 60)) == good


def test_a_truncated_segment_is_left_alone() -> None:
    good = bytes(ETH / IP / TCP(sport=5000, dport=80) / Raw(b"x" * 10))
    assert complete_checksum(good[:-1]) is None
