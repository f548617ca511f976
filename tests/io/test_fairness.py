"""Input fairness (tcpip6.io.fairness): scapy builds the frames of a flood and of an
established connection; a turn hands on every established one and a share of the flood."""

from __future__ import annotations

from scapy.layers.inet import TCP, UDP
from scapy.layers.inet6 import (
    ICMPv6EchoRequest,
    ICMPv6MLReport2,
    ICMPv6ND_NA,
    ICMPv6ND_NS,
    ICMPv6ND_RA,
    IPv6,
    IPv6ExtHdrFragment,
)
from scapy.layers.l2 import Ether

from tcpip6.io.fairness import FairShare, flood_class

ETH = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
IP = IPv6(src="fe80::1", dst="fe80::2")


def frame(upper: object) -> bytes:
    return bytes(ETH / IP / upper)  # type: ignore[operator]


SYN = frame(TCP(sport=1, dport=7, flags="S"))
ACK = frame(TCP(sport=1, dport=7, flags="A") / b"data")


def test_the_classes_read_from_the_first_bytes() -> None:
    assert flood_class(SYN) == "syn"
    assert flood_class(frame(TCP(flags="SA"))) is None  # an answer to our SYN
    assert flood_class(ACK) is None
    assert flood_class(frame(IPv6ExtHdrFragment(m=1) / UDP())) == "fragment"
    assert flood_class(frame(ICMPv6ND_NS(tgt="fe80::2"))) == "ns"
    assert flood_class(frame(ICMPv6ND_NA(tgt="fe80::1"))) is None
    assert flood_class(frame(ICMPv6ND_RA())) == "ra"
    assert flood_class(frame(ICMPv6MLReport2())) == "mld"
    assert flood_class(frame(ICMPv6EchoRequest())) is None
    assert flood_class(bytes(Ether(type=0x0800) / (b"\x45" * 40))) is None
    assert flood_class(SYN[:40]) is None  # a runt: left to the stack to count


def test_a_turn_hands_on_every_established_frame_and_a_share_of_the_flood() -> None:
    got: list[bytes] = []
    fair = FairShare(lambda f, now: got.append(f), share=16)
    for i in range(100):
        fair(SYN, 1.0)
        if i % 20 == 0:
            fair(ACK, 1.0)
    assert got.count(ACK) == 5 and got.count(SYN) == 16
    assert fair.counters.syn_over_share_drop == 84
    fair(SYN, 1.01)  # the next turn: a fresh share
    assert got.count(SYN) == 17
    assert fair.counters.nonzero() == {"syn_over_share_drop": 84}


def test_the_fragments_of_one_packet_count_once() -> None:
    got: list[bytes] = []
    fair = FairShare(lambda f, now: got.append(f), share=16)
    big = [
        frame(IPv6ExtHdrFragment(id=7, offset=i * 151, m=int(i < 44)) / (b"y" * 1208))
        for i in range(45)
    ]
    flood = [frame(IPv6ExtHdrFragment(id=1000 + i, m=1) / (b"z" * 8)) for i in range(100)]
    for i, f in enumerate(big):
        fair(f, 2.0)
        fair(flood[i], 2.0)
    for f in flood[45:]:
        fair(f, 2.0)
    assert all(f in got for f in big)  # a 54 kB datagram's 45 fragments, whole
    assert sum(f in got for f in flood) == 15  # the flood: the share less that one packet
    assert fair.counters.fragment_over_share_drop == 85
