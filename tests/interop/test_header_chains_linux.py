"""The header-chain decisions of docs/header-chains.md against the Linux kernel: the same
packets go to a Linux peer (over a veth, from a namespace whose kernel IPv6 is off) and to
a tcpip6 host on simnet; scapy decodes both answers. Only the cases where tcpip6 decided
to do what Linux does are compared; the deliberate differences are on that page."""

from __future__ import annotations

import subprocess
import sys

from scapy.layers import inet6 as s6
from scapy.layers.l2 import Ether
from scapy.packet import Packet, Raw

from tests.interop import netns
from tests.stack.conftest import make_pair
from tests.stack.test_header_chains import sent_by_b
from tests.stack.test_receive_path import send_to_b

SRC = "fe80::a"
DST = "fe80::b"  # the address of B in tests/stack/conftest.py, given to Linux too


def ip(**kw: int) -> Packet:
    return s6.IPv6(src=SRC, dst=DST, **kw)


def echo() -> Packet:
    return s6.ICMPv6EchoRequest(id=7, seq=1)


def jumbo(length: int, **kw: int) -> Packet:
    return ip(**kw) / s6.IPv6ExtHdrHopByHop(options=[s6.Jumbo(jumboplen=length)])


def chain(n: int) -> Packet:
    icmp = bytes(ip() / echo())[40:]
    one, last = bytes(s6.IPv6ExtHdrDestOpt(nh=60)), bytes(s6.IPv6ExtHdrDestOpt(nh=58))
    return ip(nh=60) / Raw(one * (n - 1) + last + icmp)


SAME_AS_LINUX: dict[str, Packet] = {
    "padding in runs of 7 and 5": ip()
    / s6.IPv6ExtHdrDestOpt(
        options=[
            s6.PadN(optdata=b"\x00" * 5),
            s6.HBHOptUnknown(otype=0x1E, optdata=b""),
            s6.PadN(optdata=b"\x00" * 3),
        ],
        autopad=0,
    )
    / echo(),
    "PadN of 14 octets": ip()
    / s6.IPv6ExtHdrDestOpt(options=[s6.PadN(optdata=b"\x00" * 12)], autopad=0)
    / echo(),
    "Jumbo 1000, Payload Length 0": jumbo(1000, plen=0) / echo(),
    "Jumbo 65535": jumbo(65535) / echo(),
    "Jumbo 70000, Payload Length not 0": jumbo(70000) / echo(),
    "Jumbo with Opt Data Len 6": ip()
    / s6.IPv6ExtHdrHopByHop(
        options=[s6.HBHOptUnknown(otype=0xC2, optdata=b"\x00\x01\x00\x00\x00\x00")]
    )
    / echo(),
    "valid jumbogram": jumbo(70000, plen=0) / echo(),
    "Jumbo in Destination Options": ip()
    / s6.IPv6ExtHdrDestOpt(options=[s6.Jumbo(jumboplen=70000)])
    / echo(),
    "12 Destination Options headers": chain(12),
}


def summary(frame: Ether | None) -> tuple[str, int, int] | None:
    if frame is None:
        return None
    if s6.ICMPv6ParamProblem in frame:
        err = frame[s6.ICMPv6ParamProblem]
        return ("parameter problem", err.code, err.ptr)
    if s6.ICMPv6EchoReply in frame:
        reply = frame[s6.ICMPv6EchoReply]
        return ("echo reply", reply.id, reply.seq)
    return (frame.summary(), 0, 0)


def linux_answers(topo: netns.Topology, packets: list[Packet]) -> list[Ether | None]:
    peer_mac = netns.sh("ip", "-n", topo.peer, "-br", "link", "show", netns.PEER_IF).split()[2]
    topo.peer_run("ip", "-6", "addr", "add", f"{DST}/64", "dev", netns.PEER_IF)
    # Linux answers SRC without asking for its link-layer address (nothing would answer).
    topo.peer_run("ip", "-6", "neigh", "add", SRC, "lladdr", topo.host_mac().hex(":"),
                  "dev", netns.PEER_IF, "nud", "permanent")  # fmt: skip
    done = subprocess.run(
        topo.in_host(sys.executable, "-m", "tests.interop.linux_answers", netns.HOST_IF, peer_mac),
        input="".join(bytes(p).hex() + "\n" for p in packets),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=netns.REPO,
    )
    lines = done.stdout.split()
    assert len(lines) == len(packets), done.stderr
    return [None if line == "none" else Ether(bytes.fromhex(line)) for line in lines]


def tcpip6_answer(packet: Packet) -> Ether | None:
    pair = make_pair()
    frames = sent_by_b(pair)
    send_to_b(pair, packet)
    return frames[0] if frames else None


def test_tcpip6_answers_as_linux_does(topology: netns.Topology) -> None:
    names = list(SAME_AS_LINUX)
    linux = linux_answers(topology, list(SAME_AS_LINUX.values()))
    got = {name: summary(tcpip6_answer(SAME_AS_LINUX[name])) for name in names}
    want = {name: summary(frame) for name, frame in zip(names, linux, strict=True)}
    assert got == want
    # The comparison has teeth: both sides answered some packets and ignored others.
    assert ("parameter problem", 0, 42) in want.values() and None in want.values()
