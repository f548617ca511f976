"""Automatic tunnels to IPv4-compatible addresses (RFC 2893 §5): the mapping, the link
and two hosts over an in-memory IPv4 network."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

import pytest
from scapy.layers.inet import IP
from scapy.layers.inet6 import ICMPv6EchoRequest, IPv6

from tcpip6.apps.host import add_route, build_config, parse_route
from tcpip6.stack.tunnel import (
    TunnelKind,
    TunnelLink,
    TunnelSpec,
    compatible_ipv4,
    encapsulate,
    ipv4_compatible,
)
from tests.stack.test_tunnel import V4_A, V4_B, Ipv4Net, echo, tunnel_host


def test_ipv4_compatible_mapping() -> None:
    # RFC 4291 §2.5.5.1: 80 zero bits, 16 zero bits, then the IPv4 address.
    assert ipv4_compatible(V4_A) == IPv6Address("::10.0.0.2") == IPv6Address("::a00:2")
    assert compatible_ipv4(IPv6Address("::a00:2")) == V4_A
    for none in ("::", "::1", "::0.1.2.3", "::224.0.0.1", "::255.255.255.255", "::ffff:a00:2",
                 "2002:a00:2::a00:2", "fe80::a00:2"):  # fmt: skip
        assert compatible_ipv4(IPv6Address(none)) is None, none


class Sink:
    def __init__(self) -> None:
        self.sent: list[tuple[bytes, IPv4Address]] = []

    def send_datagram(self, packet: bytes, dst: IPv4Address) -> None:
        self.sent.append((packet, dst))


def test_the_ipv4_next_hop_is_the_low_32_bits() -> None:
    sink = Sink()
    link = TunnelLink(sink, V4_A, automatic=True)
    assert link.tunnel_kind is TunnelKind.AUTOMATIC
    link.transmit(echo("::a00:2", "::c000:201"), b"")
    # Anything else has no IPv4 next hop on this link (and is counted).
    link.transmit(echo("::a00:2", "2001:db8::1"), b"")
    link.transmit(echo("::a00:2", "ff02::1"), b"")
    assert [dst for _, dst in sink.sent] == [IPv4Address("192.0.2.1")]
    assert link.counters.no_ipv4_next_hop_drop == 2
    assert link.link_address_of(IPv6Address("::c000:201")) == bytes([192, 0, 2, 1])
    with pytest.raises(ValueError, match="neither a remote end nor a relay"):
        TunnelLink(sink, V4_A, remote=V4_B, automatic=True)


def test_the_inner_source_must_be_the_outer_ones_compatible_address() -> None:
    link = TunnelLink(Sink(), V4_A, automatic=True)
    good = encapsulate(echo("::a00:1", "::a00:2"), V4_B, V4_A)
    received = link.decapsulate(good)
    assert received is not None and received.src_link == V4_B.packed
    for src in ("::a00:9", "2001:db8::1", "fe80::a00:1"):
        assert link.decapsulate(encapsulate(echo(src, "::a00:2"), V4_B, V4_A)) is None
    assert link.counters.not_compatible_source_drop == 3


def test_spec_and_command_line() -> None:
    assert TunnelSpec.parse("automatic:10.0.0.2") == TunnelSpec(TunnelKind.AUTOMATIC, V4_A)
    assert str(TunnelSpec.parse("automatic:10.0.0.2")) == "automatic ::a00:2/96"
    for bad, message in [
        ("automatic:", "automatic:LOCAL4 or"),
        ("automatic:10.0.0", "Expected 4 octets"),
        ("automatic:10.0.0.2:10.0.0.1", "automatic:LOCAL4 or 6over4:LOCAL4"),
        ("automatic:0.0.0.7", "no IPv4-compatible address"),
        ("automatic:224.0.0.1", "no IPv4-compatible address"),
    ]:
        with pytest.raises(ValueError, match=message):
            TunnelSpec.parse(bad)
    config = build_config(links=["tunnel:automatic:10.0.0.2"])
    assert config.tunnels == {"tun0": TunnelSpec(TunnelKind.AUTOMATIC, V4_A)}


def test_two_hosts_over_an_automatic_tunnel() -> None:
    net = Ipv4Net()
    a, ia = tunnel_host(net, "a", TunnelLink(net.port(V4_A), V4_A, automatic=True))
    b, ib = tunnel_host(net, "b", TunnelLink(net.port(V4_B), V4_B, automatic=True))
    # The interface has ::V4ADDR/96, so ::/96 is on-link through it (RFC 2893 §5.3).
    assert ia.source_candidates() == [IPv6Address("::a00:2")]
    assert a.routes.next_hop(IPv6Address("::a00:1"), None, 0.0) == (
        ia,
        IPv6Address("::a00:1"),
    )
    assert a.icmpv6.send_echo_request(IPv6Address("::a00:1"), 5, 1, b"auto", 0.0)
    net.run(0.0)
    assert [(r.src, r.data) for r in a.icmpv6.echo_replies] == [(IPv6Address("::a00:1"), b"auto")]
    datagrams = [IP(d) for d in net.wire]
    assert [(d.src, d.dst, d[IPv6].src, d[IPv6].dst) for d in datagrams] == [
        ("10.0.0.2", "10.0.0.1", "::10.0.0.2", "::10.0.0.1"),
        ("10.0.0.1", "10.0.0.2", "::10.0.0.1", "::10.0.0.2"),
    ]
    assert ICMPv6EchoRequest in datagrams[0]
    # A native destination has no route here: nothing is sent.
    assert not a.icmpv6.send_echo_request(IPv6Address("2001:db8::1"), 5, 2, b"", 0.0)
    assert b.icmp.in_echo_requests == 1 and ib.link.counters.datagrams_received == 1  # type: ignore[attr-defined]


def test_a_route_through_an_ipv4_compatible_router() -> None:
    """--route 2001:db8:5::/64=::10.0.0.1%tun0 on an automatic tunnel: the router's IPv4
    address is the low 32 bits of its address."""
    net = Ipv4Net()
    a, ia = tunnel_host(net, "a", TunnelLink(net.port(V4_A), V4_A, automatic=True))
    add_route(a, parse_route("2001:db8:5::/64=::a00:1%tun0"))
    assert a.routes.next_hop(IPv6Address("2001:db8:5::9"), None, 0.0) == (
        ia,
        IPv6Address("::a00:1"),
    )
    a.icmpv6.send_echo_request(IPv6Address("2001:db8:5::9"), 6, 1, b"", 0.0)
    assert [IP(d).dst for d in net.queue] == ["10.0.0.1"]
