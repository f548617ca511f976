"""6over4 (RFC 2529): the mapping and option format against the RFC's text, and two hosts
that find each other by Neighbor Discovery over an in-memory IPv4 multicast domain."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address

import pytest
from scapy.layers.inet import IP
from scapy.layers.inet6 import ICMPv6ND_NS, IPv6

from tcpip6.apps.host import build_config
from tcpip6.stack.host import Host
from tcpip6.stack.interface import Interface
from tcpip6.stack.machines.nce import NceState
from tcpip6.stack.params import InterfaceParameters
from tcpip6.stack.sixover4 import (
    SIX_OVER_FOUR_MTU,
    SixOverFourLink,
    lla_option_body,
    multicast_ipv4,
)
from tcpip6.stack.tunnel import TunnelKind, TunnelSpec, encapsulate
from tests.stack.test_tunnel import echo

V4_A = IPv4Address("10.0.0.2")
V4_B = IPv4Address("10.0.0.1")
LL_A = IPv6Address("fe80::a00:2")
LL_B = IPv6Address("fe80::a00:1")


# -- RFC 2529 §3-§6, byte for byte -----------------------------------------------------------


def test_multicast_mapping_is_239_192_and_the_last_two_octets() -> None:
    # RFC 2529 §6: "239.192.[IPV6 Ad 14].[IPV6 Ad 15]" (organization-local scope).
    assert multicast_ipv4(IPv6Address("ff02::1")) == IPv4Address("239.192.0.1")
    assert multicast_ipv4(IPv6Address("ff02::2")) == IPv4Address("239.192.0.2")
    # The solicited-node group of fe80::a00:1 is ff02::1:ff00:1: 239.192.0.1 too (its
    # low 16 bits), and ff05::1:3 -> 239.192.0.3.
    assert multicast_ipv4(IPv6Address("ff02::1:ff00:1")) == IPv4Address("239.192.0.1")
    assert multicast_ipv4(IPv6Address("ff05::1:3")) == IPv4Address("239.192.0.3")
    assert multicast_ipv4(IPv6Address("ff02::1:ffab:cdef")) == IPv4Address("239.192.205.239")


class Sink:
    def __init__(self) -> None:
        self.sent: list[tuple[bytes, IPv4Address]] = []
        self.groups: frozenset[IPv4Address] = frozenset()

    def send_datagram(self, packet: bytes, dst: IPv4Address) -> None:
        self.sent.append((packet, dst))

    def set_groups(self, groups: frozenset[IPv4Address]) -> None:
        self.groups = groups


def test_link_address_option_interface_identifier_and_mtu() -> None:
    link = SixOverFourLink(Sink(), IPv4Address("192.0.2.129"))
    # RFC 2529 §5: Type 1 (source) or 2 (target), Length 1, then 0, 0 and the IPv4 address.
    assert lla_option_body(IPv4Address("192.0.2.129")) == bytes([0, 0, 192, 0, 2, 129])
    assert link.write_lla_option(link.link_address) == bytes([0, 0, 192, 0, 2, 129])
    assert link.read_lla_option(bytes([0, 0, 10, 0, 0, 1])) == bytes([10, 0, 0, 1])
    assert link.read_lla_option(bytes([0, 0, 10])) is None
    # RFC 2529 §4: the interface identifier is 0:0 then the IPv4 address: fe80::c000:281.
    assert link.interface_identifier() == bytes([0, 0, 0, 0, 192, 0, 2, 129])
    # RFC 2529 §3: default MTU 1480.
    assert link.mtu == SIX_OVER_FOUR_MTU == 1480
    with pytest.raises(ValueError, match="1280"):
        SixOverFourLink(Sink(), V4_A, mtu=1000)


def test_the_multicast_list_becomes_the_ipv4_groups_joined() -> None:
    sink = Sink()
    link = SixOverFourLink(sink, V4_A)
    groups = [IPv6Address("ff02::1"), IPv6Address("ff02::1:ff00:2")]
    link.set_multicast_addresses({link.map_multicast(g) for g in groups})
    assert sink.groups == {IPv4Address("239.192.0.1"), IPv4Address("239.192.0.2")}
    # What the link accepts: to our IPv4 address, or to a group of its list.
    to_group = encapsulate(echo("fe80::a00:1", "ff02::1"), V4_B, IPv4Address("239.192.0.1"))
    to_us = encapsulate(echo("fe80::a00:1", "fe80::a00:2"), V4_B, V4_A)
    other = encapsulate(echo("fe80::a00:1", "ff02::1:3"), V4_B, IPv4Address("239.192.0.3"))
    own = encapsulate(echo("fe80::a00:2", "ff02::1"), V4_A, IPv4Address("239.192.0.1"))
    received = link.decapsulate(to_group)
    assert received is not None and received.src_link == V4_B.packed
    assert link.decapsulate(to_us) is not None
    assert link.decapsulate(other) is None and link.decapsulate(own) is None
    assert (link.counters.not_for_us_drop, link.counters.own_datagram_drop) == (1, 1)


def test_spec() -> None:
    assert TunnelSpec.parse("6over4:10.0.0.2") == TunnelSpec(TunnelKind.SIX_OVER_FOUR, V4_A)
    assert str(TunnelSpec.parse("6over4:10.0.0.2")) == "6over4 10.0.0.2"
    for bad, message in [
        ("6over4:239.1.1.1", "not a unicast address"),
        ("6over4:10.0.0.2:10.0.0.1", "or 6over4:LOCAL4"),
        ("6over4:x", "Expected 4 octets"),
    ]:
        with pytest.raises(ValueError, match=message):
            TunnelSpec.parse(bad)
    assert build_config(links=["tunnel:6over4:10.0.0.2"]).tunnels["tun0"].kind is (
        TunnelKind.SIX_OVER_FOUR
    )


# -- two hosts on an in-memory IPv4 multicast domain -----------------------------------------


@dataclass
class MulticastNet:
    """IPv4 unicast and multicast among ports; a group's datagram reaches every member
    but the sender (the live port turns IP_MULTICAST_LOOP off)."""

    nodes: dict[IPv4Address, tuple[Host, Interface, Port]] = field(default_factory=dict)
    queue: list[bytes] = field(default_factory=list)
    wire: list[bytes] = field(default_factory=list)

    def run(self, now: float) -> None:
        for _ in range(200):
            if not self.queue:
                return
            datagram = self.queue.pop(0)
            self.wire.append(datagram)
            src, dst = IPv4Address(datagram[12:16]), IPv4Address(datagram[16:20])
            for v4, (host, iface, port) in self.nodes.items():
                if v4 == dst or (dst.is_multicast and dst in port.groups and v4 != src):
                    host.receive(iface, datagram, now)


@dataclass
class Port:
    net: MulticastNet
    local: IPv4Address
    groups: frozenset[IPv4Address] = frozenset()

    def send_datagram(self, packet: bytes, dst: IPv4Address) -> None:
        self.net.queue.append(encapsulate(packet, self.local, dst))

    def set_groups(self, groups: frozenset[IPv4Address]) -> None:
        self.groups = groups


def over4_host(net: MulticastNet, name: str, v4: IPv4Address) -> tuple[Host, Interface]:
    host = Host(name=name, rng=random.Random(2))
    host.strict = True
    port = Port(net, v4)
    link = SixOverFourLink(port, v4)
    iface = host.add_interface(link, "tun0", InterfaceParameters(link_mtu=link.mtu))
    net.nodes[v4] = (host, iface, port)
    host.start(0.0)
    return host, iface


def run_for(net: MulticastNet, hosts: list[Host], seconds: float) -> float:
    now = 0.0
    while now < seconds:
        for host in hosts:
            host.poll(now)
        net.run(now)
        now += 0.05
    return now


def test_two_hosts_resolve_each_other_by_nd_over_ipv4_multicast() -> None:
    net = MulticastNet()
    a, ia = over4_host(net, "a", V4_A)
    b, ib = over4_host(net, "b", V4_B)
    now = run_for(net, [a, b], 3.0)  # DAD (RFC 4862 §5.4) on both
    assert ia.link_local_address() == LL_A and ib.link_local_address() == LL_B
    # The stack joined all-nodes and the solicited-node group; the port joined the IPv4
    # groups they map to (RFC 2529 §6).
    assert {IPv4Address("239.192.0.1"), IPv4Address("239.192.0.2")} <= net.nodes[V4_A][2].groups
    assert a.icmpv6.send_echo_request(LL_B, 9, 1, b"over4", now)
    now = run_for(net, [a, b], now + 0.5)
    assert [(r.src, r.data) for r in a.icmpv6.echo_replies] == [(LL_B, b"over4")]
    nce = ia.neighbors.get(LL_B)
    assert nce is not None and nce.state is NceState.REACHABLE
    assert nce.link_address == V4_B.packed
    # The Neighbor Solicitation went to 239.192.0.1 (ff02::1:ff00:1) with a Source
    # Link-Layer Address option of length 1: type 1, length 1, 0, 0, 10.0.0.2 (RFC 2529 §5).
    ns = next(IP(d) for d in net.wire if ICMPv6ND_NS in IP(d) and IP(d)[IPv6].src == str(LL_A))
    assert ns.dst == "239.192.0.1" and ns[IPv6].dst == "ff02::1:ff00:1"
    assert ns[ICMPv6ND_NS].tgt == str(LL_B)
    # The ICMPv6 message: 24 octets of NS (type, code, checksum, reserved, target), then
    # the option.
    assert bytes(ns[IPv6].payload)[24:32] == bytes([1, 1, 0, 0, 10, 0, 0, 2])
    assert all(IP(d).proto == 41 for d in net.wire)
