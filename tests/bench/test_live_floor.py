"""The bare responder under the ping floor rows (``bench/live_floor.py``) answers what the
ping rows need, in frames scapy finds correct: an Echo Reply to an Echo Request for its
address, a solicited Neighbor Advertisement to a Neighbor Solicitation for it, nothing
to anything else."""

from __future__ import annotations

from ipaddress import IPv6Address

from scapy.layers.inet6 import (
    ICMPv6EchoReply,
    ICMPv6EchoRequest,
    ICMPv6ND_NA,
    ICMPv6ND_NS,
    ICMPv6NDOptDstLLAddr,
    ICMPv6NDOptSrcLLAddr,
    IPv6,
)
from scapy.layers.l2 import Ether

from bench.live_floor import answer

OURS = "2001:db8:f1::2"
PEER = "2001:db8:f1::1"
MAC = bytes.fromhex("020000000002")
PEER_MAC = "02:00:00:00:00:01"
IPV6_OURS = IPv6Address(OURS).packed


def _checksum_recomputes(frame: Ether, layer: type) -> None:
    sent = frame[layer].cksum
    del frame[layer].cksum
    assert Ether(bytes(frame))[layer].cksum == sent


def test_echo_request_gets_its_reply() -> None:
    request = (
        Ether(src=PEER_MAC, dst="02:00:00:00:00:02")
        / IPv6(src=PEER, dst=OURS, hlim=64)
        / ICMPv6EchoRequest(id=0x1234, seq=7, data=b"floor" * 11)
    )
    got = answer(bytes(request), IPV6_OURS, MAC)
    assert got is not None
    reply = Ether(got)
    assert reply.dst == PEER_MAC and reply.src == "02:00:00:00:00:02"
    assert reply[IPv6].src == OURS and reply[IPv6].dst == PEER
    echo = reply[ICMPv6EchoReply]
    assert (echo.id, echo.seq, echo.data) == (0x1234, 7, b"floor" * 11)
    _checksum_recomputes(reply, ICMPv6EchoReply)


def test_solicitation_gets_a_solicited_advertisement() -> None:
    ns = (
        Ether(src=PEER_MAC, dst="33:33:ff:00:00:02")
        / IPv6(src=PEER, dst="ff02::1:ff00:2", hlim=255)
        / ICMPv6ND_NS(tgt=OURS)
        / ICMPv6NDOptSrcLLAddr(lladdr=PEER_MAC)
    )
    got = answer(bytes(ns), IPV6_OURS, MAC)
    assert got is not None
    na = Ether(got)
    assert na[IPv6].hlim == 255 and na[IPv6].dst == PEER
    adv = na[ICMPv6ND_NA]
    assert adv.tgt == OURS and adv.S == 1 and adv.O == 1 and adv.R == 0
    assert na[ICMPv6NDOptDstLLAddr].lladdr == "02:00:00:00:00:02"
    _checksum_recomputes(na, ICMPv6ND_NA)


def test_anything_else_is_not_answered() -> None:

    other = Ether() / IPv6(src=PEER, dst="2001:db8:f1::3") / ICMPv6EchoRequest()
    elsewhere = Ether() / IPv6(src=PEER, dst="ff02::1:ff00:3") / ICMPv6ND_NS(tgt="2001:db8:f1::3")
    assert answer(bytes(other), IPV6_OURS, MAC) is None
    assert answer(bytes(elsewhere), IPV6_OURS, MAC) is None
    assert answer(b"\0" * 40, IPV6_OURS, MAC) is None
