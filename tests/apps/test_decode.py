"""The demo's one-line frame summaries, for packets scapy builds."""

from __future__ import annotations

import pytest
from scapy.layers import inet6 as s6
from scapy.layers.l2 import Ether

from tcpip6.apps.decode import summarize_frame

SRC, DST = "2001:db8:1::a", "2001:db8:2::c"


def test_echo_request_and_router_advertisement() -> None:
    echo = Ether() / s6.IPv6(src=SRC, dst=DST) / s6.ICMPv6EchoRequest(id=7, seq=3, data=b"hi")
    assert summarize_frame(bytes(echo)) == (
        f"{SRC} > {DST}: ICMP6, echo request id 7 seq 3, 2 bytes"
    )
    ra = (
        Ether()
        / s6.IPv6(src="fe80::1", dst="ff02::1", hlim=255)
        / s6.ICMPv6ND_RA(routerlifetime=1800)
        / s6.ICMPv6NDOptPrefixInfo(prefix="2001:db8:1::", prefixlen=64)
    )
    assert summarize_frame(bytes(ra)).endswith(
        "ICMP6, router advertisement, lifetime 1800s 2001:db8:1::/64"
    )


@pytest.mark.parametrize(
    ("layer", "summary"),
    [
        (s6.ICMPv6EchoReply(id=9, seq=1, data=b"abc"), "echo reply id 9 seq 1, 3 bytes"),
        (s6.ICMPv6DestUnreach(code=4), "destination unreachable code 4"),
        (s6.ICMPv6TimeExceeded(code=1), "time exceeded code 1"),
        (s6.ICMPv6PacketTooBig(mtu=1280), "packet too big mtu 1280"),
        (s6.ICMPv6ParamProblem(code=1, ptr=40), "parameter problem code 1 pointer 40"),
    ],
    ids=["echo-reply", "unreachable", "time-exceeded", "too-big", "parameter-problem"],
)
def test_echo_replies_and_errors(layer: s6.Packet, summary: str) -> None:
    frame = Ether() / s6.IPv6(src=SRC, dst=DST) / layer
    assert summarize_frame(bytes(frame)) == f"{SRC} > {DST}: ICMP6, {summary}"


def test_fragments_say_where_they_sit() -> None:
    big = (
        s6.IPv6(src=SRC, dst=DST)
        / s6.IPv6ExtHdrFragment(id=0x1234)
        / s6.ICMPv6EchoRequest(data=bytes(2000))
    )
    frags = s6.fragment6(big, 1280)
    assert len(frags) == 2
    lines = [summarize_frame(bytes(Ether() / f)) for f in frags]
    first_len = len(bytes(frags[0])) - 40
    assert lines[0] == f"{SRC} > {DST}: frag (id 0x00001234, offset 0+) ICMP6, {first_len} bytes"
    offset = first_len - 8
    assert lines[1].startswith(f"{SRC} > {DST}: frag (id 0x00001234, offset {offset}) ICMP6")


def test_malformed_input_is_described_not_raised() -> None:
    assert summarize_frame(b"\x00" * 5) == "malformed Ethernet frame"
    eth = bytes(Ether(type=0x86DD))
    assert summarize_frame(eth + b"\x60" + bytes(10)).startswith("malformed IPv6")
