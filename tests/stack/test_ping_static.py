"""Two hosts with manually configured link-local addresses and static neighbor entries:
A pings B, the reply arrives, and the pcap of the run is clean in tshark."""

from __future__ import annotations

from pathlib import Path

from scapy.layers.inet6 import ICMPv6EchoReply, ICMPv6EchoRequest, IPv6
from scapy.layers.l2 import Ether

from tcpip6.io.pcap import read_pcap
from tests import tshark
from tests.stack.conftest import A_LL, B_LL, Pair


def test_ping_between_static_hosts(pair: Pair, tmp_path: Path) -> None:
    pcap = tmp_path / "ping.pcap"
    pair.ping_captured(pcap, B_LL, 0x1234, b"tcpip6" * 4)

    replies = list(pair.a.icmpv6.echo_replies)
    assert [(r.src, r.identifier, r.sequence, r.data) for r in replies] == [
        (B_LL, 0x1234, seq, b"tcpip6" * 4) for seq in range(3)
    ]
    assert pair.b.icmp.in_echo_requests == 3 and pair.b.icmp.out_echo_replies == 3
    assert pair.a.icmp.in_echo_replies == 3

    # The wire, read back with scapy: requests A->B and replies B->A, MACs of the NICs.
    frames = [Ether(f) for _, f in read_pcap(pcap)]
    # Only the echo traffic (MLD reports for the solicited-node groups may interleave).
    frames = [f for f in frames if ICMPv6EchoRequest in f or ICMPv6EchoReply in f]
    assert len(frames) == 6
    for i, frame in enumerate(frames):
        ip = frame[IPv6]
        if i % 2 == 0:
            assert (ip.src, ip.dst) == (str(A_LL), str(B_LL))
            assert frame.dst == pair.ib.link.link_address.hex(":")
            assert ICMPv6EchoRequest in frame
        else:
            assert (ip.src, ip.dst) == (str(B_LL), str(A_LL))
            assert ICMPv6EchoReply in frame and frame[ICMPv6EchoReply].seq == i // 2
        assert ip.hlim == 64

    checked = tshark.assert_clean(pcap)
    assert sum("Echo (ping)" in f.info for f in checked) == 6


def test_loopback_interface_answers_ping_to_itself() -> None:
    from ipaddress import IPv6Address

    from tcpip6.io.sim import SimWorld

    world = SimWorld(seed=2)
    host = world.host("h")
    world.connect(host, "lan")
    lo = world.add_loopback(host)
    on_lan: list[bytes] = []
    world.observers.append(lambda iface, frame, now: on_lan.append(frame))
    assert lo.link.kind == "loopback" and lo.source_candidates() == [IPv6Address("::1")]
    assert host.icmpv6.send_echo_request(IPv6Address("::1"), 9, 1, b"self", world.now)
    world.run_for(0.1)
    (reply,) = host.icmpv6.echo_replies
    assert (reply.src, reply.dst, reply.data) == (IPv6Address("::1"), IPv6Address("::1"), b"self")
    assert lo.counters.frames_sent == 2 and lo.counters.frames_received == 2
    # ::1 never leaves through the Ethernet interface (RFC 4291 §2.5.3).
    loopback = IPv6Address("::1").packed
    assert not [f for f in on_lan if loopback in (f[22:38], f[38:54])]
