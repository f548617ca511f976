"""The lists a Router Advertisement flood fills stay bounded (bench/stress.py's ``ra``
flood, sans I/O): RAs from many routers, each with a new on-link, autonomous /64, built by
scapy and handed to ``Host.receive``. The Default Router List, the Prefix List, the
address table and the neighbor cache keep their sizes; what does not fit is refused and
counted (RFC 4861 §6.3.4 leaves the limits to the implementation; the rule here: a full
list keeps what it has and refuses the newcomer); every RA is accounted for; the host
still answers afterwards."""

from __future__ import annotations

import random

import pytest
from scapy.layers import inet6 as s6
from scapy.layers.inet import TCP
from scapy.layers.l2 import Ether
from scapy.packet import Packet

from tcpip6.stack.machines.tcp import TcpState
from tcpip6.stack.tcp import sender
from tcpip6.wire.tcp import ACK
from tests.stack.conftest import A_LL, B_LL, Pair
from tests.stack.tcpscenario import connected, tcp_wire

FLOOD = 300


def _ra(rng: random.Random, src_mac: str) -> bytes:
    router = "fe80::" + ":".join(f"{rng.getrandbits(16):x}" for _ in range(4))
    prefix = f"2001:db8:{rng.getrandbits(16):x}:{rng.getrandbits(16):x}::"
    lladdr = "02:00:" + ":".join(f"{rng.getrandbits(8):02x}" for _ in range(4))
    frame = (
        Ether(src=src_mac, dst="33:33:00:00:00:01")
        / s6.IPv6(src=router, dst="ff02::1", hlim=255)
        / s6.ICMPv6ND_RA(routerlifetime=1800)
        / s6.ICMPv6NDOptSrcLLAddr(lladdr=lladdr)
        / s6.ICMPv6NDOptPrefixInfo(
            prefix=prefix, prefixlen=64, L=1, A=1, validlifetime=86400, preferredlifetime=14400
        )
    )
    return bytes(frame)


def test_a_router_advertisement_flood_leaves_every_list_bounded(pair: Pair) -> None:
    b, ib, routes = pair.b, pair.ib, pair.b.routes
    ib.autoconfigure = True  # as a started host's (RFC 4862 §5.5.3 forms addresses)
    rng = random.Random(17)
    src_mac = pair.ia.link.link_address.hex(":")
    for _ in range(FLOOD):
        b.receive(ib, _ra(rng, src_mac), pair.world.now)
    pair.world.run_for(0.5)
    # Every RA accounted for: taken in as a valid Router Advertisement.
    assert b.nd.in_router_advertisements == FLOOD
    # The Default Router List: the first max_routers routers, the rest refused and counted.
    assert len(routes.default_router_list) == routes.max_routers
    assert routes.counters.router_list_full_drop == FLOOD - routes.max_routers
    # The Prefix List: the first max_prefixes prefixes, the rest refused and counted.
    assert len(routes.prefix_list) == routes.max_prefixes
    assert routes.counters.prefixes_added == routes.max_prefixes
    assert routes.counters.prefix_list_full_drop == FLOOD - routes.max_prefixes
    # The address table (RFC 4862 §5.5.3 would form one address per prefix): full at
    # its capacity, the rest refused and counted.
    assert len(ib.addresses) == ib.addresses.capacity
    assert ib.addresses.counters.table_full_drop > 0
    # The neighbor cache (one STALE entry per router's Source Link-Layer Address,
    # RFC 4861 §6.3.4): at its capacity, the oldest evicted.
    assert len(ib.neighbors) <= ib.neighbors.capacity
    # The host still answers: an Echo Request from a gets its Reply.
    assert pair.a.icmpv6.send_echo_request(B_LL, 7, 1, b"x", pair.world.now)
    pair.world.run_for(0.5)
    assert [(r.src, r.identifier, r.sequence) for r in pair.a.icmpv6.echo_replies] == [(B_LL, 7, 1)]


def _icmp_error(pair: Pair, error: Packet, quoted: Packet) -> bytes:
    """An ICMPv6 error from a to b, quoting a packet b would have sent."""
    frame = (
        Ether(src=pair.ia.link.link_address.hex(":"), dst=pair.ib.link.link_address.hex(":"))
        / s6.IPv6(src=str(A_LL), dst=str(B_LL))
        / error
        / quoted
    )
    return bytes(frame)


def test_icmp_errors_quoting_a_live_connection_with_random_sequence_numbers_are_ignored(
    pair: Pair,
) -> None:
    """bench/stress.py's ``icmp-error`` flood, sans I/O: RFC 5927 §4.1 (act only on an
    error quoting a sequence number in flight) keeps a Packet Too Big or Destination
    Unreachable flood at a live connection's 4-tuple from touching it; a PTB flood
    quoting random destinations leaves the Destination Cache at its capacity."""
    c = connected(pair)
    cb = c.cb
    rng = random.Random(5927)
    flight = range(cb.snd_una, cb.snd_nxt + 1)
    for i in range(FLOOD):
        seq = rng.getrandbits(32)
        if seq in flight:
            continue
        tcp = TCP(sport=cb.local_port, dport=cb.remote_port, seq=seq, flags="A")
        error = s6.ICMPv6PacketTooBig(mtu=1280) if i % 2 else s6.ICMPv6DestUnreach(code=4)
        quoted = s6.IPv6(src=str(B_LL), dst=str(A_LL)) / tcp
        pair.b.receive(pair.ib, _icmp_error(pair, error, quoted), pair.world.now)
    pair.world.run_for(0.1)
    assert pair.b.icmp.in_dest_unreachable + pair.b.icmp.in_packet_too_big == FLOOD
    assert pair.b.tcp.counters.icmp_errors == 0  # none acted on
    assert cb.state is TcpState.ESTABLISHED and cb.soft_error is None
    c.client.send(b"still here")
    assert c.server.recv(100) == b"still here"
    # The same error quoting SND.UNA (in flight): acted on, a soft error (RFC 5461).
    tcp = TCP(sport=cb.local_port, dport=cb.remote_port, seq=cb.snd_una, flags="A")
    quoted = s6.IPv6(src=str(B_LL), dst=str(A_LL)) / tcp
    pair.b.receive(pair.ib, _icmp_error(pair, s6.ICMPv6DestUnreach(code=4), quoted), pair.world.now)
    assert pair.b.tcp.counters.icmp_errors == 1 and cb.soft_error is not None
    assert cb.state is TcpState.ESTABLISHED
    # Packet Too Big quoting random destinations: the Destination Cache stays bounded.
    routes = pair.b.routes
    routes.route_cache_capacity = 64  # a smaller bound, for a shorter test
    for _ in range(routes.route_cache_capacity + 100):
        dst = "fe80::" + ":".join(f"{rng.getrandbits(16):x}" for _ in range(4))
        quoted = s6.IPv6(src=str(B_LL), dst=dst) / TCP(sport=7, dport=rng.randrange(1024, 65536))
        frame = _icmp_error(pair, s6.ICMPv6PacketTooBig(mtu=1280), quoted)
        pair.b.receive(pair.ib, frame, pair.world.now)
    assert len(routes.route_cache) <= routes.route_cache_capacity
    assert routes.counters.route_cache_evictions > 0


def test_a_blind_flood_at_a_live_connection_is_answered_at_the_throttled_rate(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    """bench/stress.py's ``blind`` flood, sans I/O: RSTs, SYNs and data at the live
    4-tuple with random sequence numbers. Each would be answered by an ACK (a challenge
    ACK, RFC 5961 §3-5, or RFC 9293 §3.10.7.4's reply to an unacceptable segment); RFC
    5961 §7 throttles those replies per connection and second, and counts the rest."""
    monkeypatch.setattr(sender, "ACK_THROTTLE_LIMIT", 10)
    c = connected(pair)
    cb = c.cb
    wire = tcp_wire(pair.world)
    rng = random.Random(5961)
    blind = 40
    for i in range(blind):
        flags = ("S", "PA", "R")[i % 3]
        seg = TCP(
            sport=cb.remote_port,
            dport=cb.local_port,
            seq=(cb.rcv_nxt + 1 + rng.randrange(2**31)) % 2**32,  # never RCV.NXT itself
            ack=rng.getrandbits(32),
            flags=flags,
            window=1000,
        ) / (b"blind" if flags == "PA" else b"")
        frame = (
            Ether(src=pair.ia.link.link_address.hex(":"), dst=pair.ib.link.link_address.hex(":"))
            / s6.IPv6(src=str(A_LL), dst=str(B_LL))
            / seg
        )
        pair.b.receive(pair.ib, bytes(frame), pair.world.now)
    replies = [s for s in wire if s.host == "b"]
    assert len(replies) == 10 and all(s.seg.flags == ACK for s in replies)
    counters = pair.b.tcp.counters
    # Every segment accounted for: each out of the window (RFC 9293 §3.10.7.4 first
    # check); the RSTs among them dropped silently (RFC 5961 §3.2), the others replied
    # to until the budget ran out, then throttled.
    rsts = len(range(2, blind, 3))
    assert counters.out_of_window_drop == blind
    assert counters.acks_throttled == blind - rsts - len(replies)
    assert cb.state is TcpState.ESTABLISHED
    c.client.send(b"still here")
    assert c.server.recv(100) == b"still here"
    # A second on, the replies resume.
    pair.world.run_for(1.0)
    before = len([s for s in wire if s.host == "b"])
    frame = (
        Ether(src=pair.ia.link.link_address.hex(":"), dst=pair.ib.link.link_address.hex(":"))
        / s6.IPv6(src=str(A_LL), dst=str(B_LL))
        / TCP(sport=cb.remote_port, dport=cb.local_port, seq=cb.rcv_nxt, flags="S")
    )
    pair.b.receive(pair.ib, bytes(frame), pair.world.now)
    assert len([s for s in wire if s.host == "b"]) == before + 1
