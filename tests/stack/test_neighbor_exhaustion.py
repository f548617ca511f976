"""Neighbor-cache exhaustion (RFC 6583) on simnet: an attacker sends Echo Requests from
thousands of spoofed on-link sources of b's /64, so b has to resolve each one to answer
(the scan of RFC 6583 §4, turned round). b keeps resolving and talking to its real
neighbor a; scapy counts the solicitations on the wire, and the cache stays within its
budgets."""

from __future__ import annotations

from ipaddress import IPv6Address

from scapy.layers.inet6 import (
    ICMPv6EchoRequest,
    ICMPv6ND_NA,
    ICMPv6ND_NS,
    ICMPv6NDOptSrcLLAddr,
    IPv6,
)
from scapy.layers.l2 import Ether

from tcpip6.stack.machines.nce import NceState
from tcpip6.stack.params import MAX_MULTICAST_SOLICIT
from tests.stack.conftest import A_LL, B_LL, make_pair

ATTACKER_MAC = "02:00:00:00:0b:ad"
SCAN = 1000  # spoofed sources, over 1 s


def test_a_scan_of_the_link_leaves_the_real_neighbor_reachable() -> None:
    pair = make_pair(seed=5, static_neighbors=False)
    world, b, ia, ib = pair.world, pair.b, pair.ia, pair.ib
    solicited: list[IPv6Address] = []

    def watch(iface: object, frame: bytes, now: float) -> None:
        if frame[20] != 58 or frame[54] != 135:  # scapy reads only what may be an NS
            return
        pkt = Ether(frame)
        if ICMPv6ND_NS in pkt and pkt[IPv6].src == str(B_LL):
            solicited.append(IPv6Address(pkt[ICMPv6ND_NS].tgt))

    world.observers.append(watch)
    cache = ib.neighbors
    assert b.icmpv6.send_echo_request(A_LL, 1, 0, b"hello", world.now)
    world.run_for(0.1)
    assert cache.get(A_LL) is not None and cache.get(A_LL).state is NceState.REACHABLE  # type: ignore[union-attr]
    eth = Ether(src=ATTACKER_MAC, dst=ib.link.link_address.hex(":"))
    start = world.now
    for i in range(SCAN):
        src = IPv6Address(f"fe80::1:0:{i // 0x10000:x}:{i % 0x10000:x}")
        probe = eth / IPv6(src=str(src), dst=str(B_LL)) / ICMPv6EchoRequest(id=9, seq=i)
        b.receive(ib, bytes(probe), world.now)
        if i % 100 == 99:
            world.run_for(0.1)  # 1,000 spoofed sources a second
            # b's own traffic with a goes on and a stays resolved all along.
            assert b.icmpv6.send_echo_request(A_LL, 1, i // 100 + 1, b"hello", world.now)
            assert len(cache.incomplete) <= cache.incomplete_limit
            entry = cache.get(A_LL)
            assert entry is not None and entry.link_address == ia.link.link_address
    world.run_for(0.1)
    elapsed = world.now - start
    entry = cache.get(A_LL)
    assert entry is not None and entry.state is NceState.REACHABLE
    assert b.icmp.in_echo_replies == SCAN // 100 + 1  # every ping of a answered
    c = cache.counters
    assert c.incomplete_limit_evicted > 0 and c.solicit_rate_limited_drop > 0
    # RFC 6583 §7.2: new resolutions at most solicit_burst + rate x time, each with at
    # most MAX_MULTICAST_SOLICIT solicitations, as scapy counts them on the wire.
    scanned = [t for t in solicited if t != A_LL]
    resolutions = len(set(scanned))
    assert resolutions <= cache.solicit_burst + cache.solicit_rate * elapsed + 1
    assert len(scanned) <= MAX_MULTICAST_SOLICIT * resolutions
    assert resolutions + c.solicit_rate_limited_drop == SCAN
    assert len(cache) <= cache.capacity


def test_an_ns_flood_is_answered_without_evicting_the_real_neighbor() -> None:
    pair = make_pair(seed=6, static_neighbors=False)
    world, b, ib = pair.world, pair.b, pair.ib
    ib.neighbors.capacity = 8
    answered: list[str] = []

    def watch(iface: object, frame: bytes, now: float) -> None:
        pkt = Ether(frame)
        if ICMPv6ND_NA in pkt and pkt[IPv6].src == str(B_LL):
            answered.append(pkt[Ether].dst)

    world.observers.append(watch)
    assert b.icmpv6.send_echo_request(A_LL, 1, 0, b"hello", world.now)
    world.run_for(0.1)
    answered.clear()
    macs = []
    group = "ff02::1:ff00:b"  # b's solicited-node group
    for i in range(50):
        mac = f"02:00:00:00:{i >> 8:02x}:{i & 0xFF:02x}"
        macs.append(mac)
        ns = (
            Ether(src=ATTACKER_MAC, dst="33:33:ff:00:00:0b")
            / IPv6(src=f"fe80::2:{i:x}", dst=group, hlim=255)
            / ICMPv6ND_NS(tgt=str(B_LL))
            / ICMPv6NDOptSrcLLAddr(lladdr=mac)
        )
        b.receive(ib, bytes(ns), world.now)
        world.run_for(0.01)
    # RFC 4861 §7.2.4: every NS answered, to the link-layer address it gave.
    assert answered == macs
    entry = ib.neighbors.get(A_LL)
    assert entry is not None and entry.state is NceState.REACHABLE
    assert ib.neighbors.counters.unsolicited_not_cached > 0
    assert len(ib.neighbors) <= 8
