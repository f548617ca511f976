"""IPv6 over IPv4 without root: the encapsulation (scapy is the oracle for the IPv4
header), the 6to4 mapping, the tunnel link's checks, and hosts that talk through tunnels
over an in-memory IPv4 network."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address, IPv6Network

import pytest
from scapy.layers.inet import IP
from scapy.layers.inet6 import ICMPv6EchoReply, ICMPv6EchoRequest, IPv6, IPv6ExtHdrFragment
from scapy.packet import Raw

from tcpip6.stack.host import Host
from tcpip6.stack.interface import Interface
from tcpip6.stack.machines.nce import NceState
from tcpip6.stack.tunnel import (
    SIX_TO_FOUR,
    TUNNEL_MTU,
    DecapsulationError,
    TunnelKind,
    TunnelLink,
    TunnelSpec,
    configure_interface,
    decapsulate,
    embedded_ipv4,
    encapsulate,
    interface_parameters,
    link_local,
    sixtofour_address,
    sixtofour_prefix,
)

V4_A = IPv4Address("10.0.0.2")
V4_B = IPv4Address("10.0.0.1")
V4_RELAY = IPv4Address("192.88.99.1")


def echo(src: str, dst: str, payload: bytes = b"tunnel", seq: int = 1) -> bytes:
    return bytes(IPv6(src=src, dst=dst, hlim=64) / ICMPv6EchoRequest(id=7, seq=seq, data=payload))


# -- the 6to4 mapping and identifiers ------------------------------------------------------


def test_sixtofour_mapping() -> None:
    # RFC 3056 §2: 2002:V4ADDR::/48.
    assert sixtofour_prefix(V4_A) == IPv6Network("2002:a00:2::/48")
    assert sixtofour_prefix(IPv4Address("192.88.99.1")) == IPv6Network("2002:c058:6301::/48")
    assert embedded_ipv4(IPv6Address("2002:a00:1::5")) == V4_B
    assert embedded_ipv4(IPv6Address("2002:c058:6301::")) == V4_RELAY
    assert embedded_ipv4(IPv6Address("2001:db8::1")) is None
    assert sixtofour_address(V4_A) == IPv6Address("2002:a00:2::a00:2")
    assert sixtofour_address(V4_A) in SIX_TO_FOUR


def test_link_local_from_the_ipv4_address() -> None:
    # RFC 4213 §3.7: fe80::V4ADDR, 32 zero bits then the address as identifier.
    assert link_local(V4_A) == IPv6Address("fe80::a00:2")
    link = TunnelLink(Sink(), V4_A, remote=V4_B)
    assert link.interface_identifier() == bytes(4) + V4_A.packed
    assert link.link_address == V4_A.packed and link.link_address_length == 4
    assert link.kind == "tunnel" and not link.uses_nd and link.mtu == TUNNEL_MTU == 1280


# -- encapsulation: scapy is the oracle -----------------------------------------------------


def test_encapsulate_matches_scapy() -> None:
    inner = echo("fe80::a00:2", "fe80::a00:1")
    ours = encapsulate(inner, V4_A, V4_B, identification=0x1234)
    # RFC 4213 §3.5: protocol 41; RFC 4213 §3.2.1: DF clear with the static MTU.
    theirs = bytes(IP(src=str(V4_A), dst=str(V4_B), proto=41, ttl=64, id=0x1234, flags=0) / inner)
    assert ours == theirs
    parsed = IP(ours)
    assert parsed.proto == 41 and parsed.flags == 0 and parsed.len == 20 + len(inner)
    assert bytes(parsed.payload) == inner


def test_decapsulate_reads_scapy_datagrams() -> None:
    inner = echo("2002:a00:1::1", "2002:a00:2::a00:2")
    datagram = bytes(IP(src=str(V4_B), dst=str(V4_A), proto=41, ttl=3, tos=0xB8) / inner)
    hdr, packet = decapsulate(datagram + b"\0" * 6)  # trailing link padding is cut off
    assert bytes(packet) == inner
    assert (hdr.src, hdr.dst, hdr.ttl, hdr.tos) == (V4_B, V4_A, 3, 0xB8)


def outer(payload: bytes, proto: int = 41, flags: str = "") -> bytes:
    return bytes(IP(src="10.0.0.1", dst="10.0.0.2", proto=proto, flags=flags) / Raw(payload))


PING = echo("::1", "::2")


@pytest.mark.parametrize(
    ("datagram", "reason"),
    [
        (outer(PING)[:30], "malformed_drop"),
        (outer(PING, proto=4), "not_protocol_41_drop"),
        (outer(PING, flags="MF"), "fragment_drop"),
        (outer(b"\x45" + bytes(59)), "not_ipv6_drop"),
        (outer(b"\x60" + bytes(10)), "not_ipv6_drop"),
    ],
)
def test_decapsulate_rejects(datagram: bytes, reason: str) -> None:
    with pytest.raises(DecapsulationError) as info:
        decapsulate(datagram)
    assert info.value.reason == reason


def test_decapsulate_rejects_a_bad_header_checksum() -> None:
    datagram = bytearray(bytes(IP(src="10.0.0.1", dst="10.0.0.2", proto=41) / echo("::1", "::2")))
    datagram[10] ^= 0xFF
    with pytest.raises(DecapsulationError, match="checksum"):
        decapsulate(bytes(datagram))


# -- the link: where packets go, what it accepts -------------------------------------------


@dataclass
class Sink:
    """A DatagramPort that keeps what is sent."""

    sent: list[tuple[bytes, IPv4Address]] = field(default_factory=list)

    def send_datagram(self, packet: bytes, dst: IPv4Address) -> None:
        self.sent.append((packet, dst))


def test_configured_tunnel_sends_everything_to_the_remote_end() -> None:
    sink = Sink()
    link = TunnelLink(sink, V4_A, remote=V4_B)
    assert link.tunnel_kind is TunnelKind.CONFIGURED
    for dst in ("2001:db8::1", "2002:a00:9::1", "ff02::1"):
        packet = echo("fe80::a00:2", dst)
        dst_link = link.map_multicast(IPv6Address(dst)) if dst.startswith("ff") else b""
        link.transmit(packet, dst_link)
    assert [d for _, d in sink.sent] == [V4_B] * 3
    assert link.frame_bytes(packet, b"") == encapsulate(packet, V4_A, V4_B)


def test_configured_tunnel_accepts_only_its_remote_end() -> None:
    link = TunnelLink(Sink(), V4_A, remote=V4_B)
    inner = echo("fe80::a00:1", "fe80::a00:2")
    got = link.decapsulate(encapsulate(inner, V4_B, V4_A))
    assert got is not None and bytes(got.packet) == inner
    assert (got.src_link, got.dst_link) == (V4_B.packed, V4_A.packed)
    # RFC 4213 §3.6: from anyone else, dropped; to another address, dropped.
    assert link.decapsulate(encapsulate(inner, IPv4Address("10.0.0.9"), V4_A)) is None
    assert link.decapsulate(encapsulate(inner, V4_B, IPv4Address("10.0.0.3"))) is None
    assert link.decapsulate(b"\x45\0") is None
    assert link.counters.nonzero() == {
        "datagrams_received": 1,
        "wrong_remote_drop": 1,
        "not_for_us_drop": 1,
        "malformed_drop": 1,
    }


def test_sixtofour_next_hops() -> None:
    sink = Sink()
    plain = TunnelLink(sink, V4_A)
    relayed = TunnelLink(sink, V4_A, relay=V4_RELAY)
    assert plain.tunnel_kind is TunnelKind.SIX_TO_FOUR
    src = str(sixtofour_address(V4_A))
    plain.transmit(echo(src, "2002:a00:1::1"), b"")  # embedded V4ADDR
    plain.transmit(echo(src, "2001:db8::1"), b"")  # native, no relay: dropped
    plain.transmit(echo(src, "ff02::1"), plain.map_multicast(IPv6Address("ff02::1")))
    relayed.transmit(echo(src, "2001:db8::1"), b"")  # RFC 3068: to the relay
    relayed.transmit(echo(src, "2002:c000:201::1"), b"")
    assert [d for _, d in sink.sent] == [V4_B, V4_RELAY, IPv4Address("192.0.2.1")]
    assert plain.counters.no_ipv4_next_hop_drop == 2


def test_sixtofour_source_checks() -> None:
    link = TunnelLink(Sink(), V4_A, relay=V4_RELAY)
    me = str(sixtofour_address(V4_A))
    ok = encapsulate(echo("2002:a00:1::1", me), V4_B, V4_A)
    spoofed = encapsulate(echo("2002:a00:1::1", me), IPv4Address("10.0.0.66"), V4_A)
    native_via_relay = encapsulate(echo("2001:db8::1", me), V4_RELAY, V4_A)
    native_direct = encapsulate(echo("2001:db8::1", me), V4_B, V4_A)
    assert link.decapsulate(ok) is not None
    assert link.decapsulate(native_via_relay) is not None
    assert link.decapsulate(spoofed) is None  # RFC 3056 §9
    assert link.decapsulate(native_direct) is None
    assert link.counters.nonzero() == {
        "datagrams_received": 2,
        "spoofed_6to4_source_drop": 1,
        "native_source_not_relay_drop": 1,
    }


def test_lla_option_is_rfc_2529_shaped() -> None:
    link = TunnelLink(Sink(), V4_A, remote=V4_B)
    body = link.write_lla_option(link.link_address)
    assert body == b"\0\0" + V4_A.packed
    assert link.read_lla_option(body) == V4_A.packed
    assert link.read_lla_option(b"\0\0\x0a") is None


def test_bad_links_are_refused() -> None:
    with pytest.raises(ValueError, match="relay"):
        TunnelLink(Sink(), V4_A, remote=V4_B, relay=V4_RELAY)
    with pytest.raises(ValueError, match="1280"):
        TunnelLink(Sink(), V4_A, remote=V4_B, mtu=1000)


# -- the command line's spec -----------------------------------------------------------------


def test_tunnel_spec() -> None:
    assert TunnelSpec.parse("configured:10.0.0.2:10.0.0.1") == TunnelSpec(
        TunnelKind.CONFIGURED, V4_A, remote=V4_B
    )
    assert TunnelSpec.parse("6to4:10.0.0.2") == TunnelSpec(TunnelKind.SIX_TO_FOUR, V4_A)
    assert TunnelSpec.parse("6to4:10.0.0.2:192.88.99.1").relay == V4_RELAY
    for bad, message in [
        ("configured:10.0.0.2", "expected configured:LOCAL4:REMOTE4"),
        ("configured:10.0.0.2:10.0.0.2", "different addresses"),
        ("configured:10.0.0.2:10.0.0", "Expected 4 octets"),
        ("6to4:", "expected"),
        ("isatap:10.0.0.2", "expected"),
    ]:
        with pytest.raises(ValueError, match=message):
            TunnelSpec.parse(bad)


# -- hosts over an in-memory IPv4 network ---------------------------------------------------


@dataclass
class Ipv4Net:
    """IPv4 addresses -> (host, interface); what one sends, the other receives (at once,
    after the sending call: each datagram waits in ``queue``)."""

    nodes: dict[IPv4Address, tuple[Host, Interface]] = field(default_factory=dict)
    queue: list[bytes] = field(default_factory=list)
    wire: list[bytes] = field(default_factory=list)

    def port(self, local: IPv4Address) -> Port:
        return Port(self, local)

    def run(self, now: float) -> None:
        for _ in range(100):
            if not self.queue:
                return
            datagram = self.queue.pop(0)
            self.wire.append(datagram)
            dst = IPv4Address(datagram[16:20])
            if dst in self.nodes:
                host, iface = self.nodes[dst]
                host.receive(iface, datagram, now)


@dataclass
class Port:
    net: Ipv4Net
    local: IPv4Address

    def send_datagram(self, packet: bytes, dst: IPv4Address) -> None:
        self.net.queue.append(encapsulate(packet, self.local, dst))


def tunnel_host(net: Ipv4Net, name: str, link: TunnelLink) -> tuple[Host, Interface]:
    host = Host(name=name, rng=random.Random(1))
    host.strict = True
    iface = host.add_interface(link, name="tun0", params=interface_parameters(link))
    host.start(0.0)
    configure_interface(iface, link, 0.0)
    net.nodes[link.local] = (host, iface)
    return host, iface


#: A 6to4 router (its IPv4 address) and a native address it holds.
ROUTER4 = IPv4Address("10.0.0.9")
BEHIND_ROUTER = IPv6Address("2001:db8:99::1")


def behind_a_6to4_router() -> tuple[Ipv4Net, Host, Interface, Host]:
    """6to4 host a (relay :data:`V4_RELAY`) and a 6to4 router r at :data:`ROUTER4` that
    holds :data:`BEHIND_ROUTER`: the net, a, a's interface and r."""
    net = Ipv4Net()
    a, ia = tunnel_host(net, "a", TunnelLink(net.port(V4_A), V4_A, relay=V4_RELAY))
    r, ir = tunnel_host(net, "r", TunnelLink(net.port(ROUTER4), ROUTER4))
    ir.add_static_address(BEHIND_ROUTER, 128, 0.0)
    return net, a, ia, r


def assert_echo_goes_to_the_router(net: Ipv4Net, a: Host, r: Host) -> None:
    """An Echo Request from a to :data:`BEHIND_ROUTER` goes to :data:`ROUTER4`, and r
    takes it."""
    assert a.icmpv6.send_echo_request(BEHIND_ROUTER, 4, 1, b"via r", 0.0)
    net.run(0.0)
    assert next((IP(d).src, IP(d).dst) for d in net.wire) == ("10.0.0.2", "10.0.0.9")
    assert r.icmp.in_echo_requests == 1


def test_configured_tunnel_between_two_hosts() -> None:
    net = Ipv4Net()
    a, ia = tunnel_host(net, "a", TunnelLink(net.port(V4_A), V4_A, remote=V4_B))
    b, ib = tunnel_host(net, "b", TunnelLink(net.port(V4_B), V4_B, remote=V4_A))
    # The remote end: a PERMANENT neighbor (ND inhibited) and the default route.
    nce = ia.neighbors.get(link_local(V4_B))
    assert nce is not None and nce.state is NceState.PERMANENT
    assert nce.link_address == V4_B.packed
    assert ia.link_local_address() == IPv6Address("fe80::a00:2")
    ia.add_static_address(IPv6Address("2001:db8:46::2"), 64, 0.0)
    ib.add_static_address(IPv6Address("2001:db8:46::1"), 64, 0.0)

    assert a.icmpv6.send_echo_request(IPv6Address("2001:db8:46::1"), 1, 1, b"hi", 0.0)
    # Off-link: the default route through the remote end's link-local address.
    assert b.icmpv6.send_echo_request(IPv6Address("2001:db8:99::1"), 1, 1, b"x", 0.0)
    net.run(0.0)
    assert [(r.src, r.data) for r in a.icmpv6.echo_replies] == [
        (IPv6Address("2001:db8:46::1"), b"hi")
    ]
    assert a.icmp.in_echo_requests == 0 and b.icmp.in_echo_requests == 1
    # The only traffic on the IPv4 network: protocol 41 between the two ends, DF clear,
    # no Neighbor Discovery and no MLD inside.
    datagrams = [IP(d) for d in net.wire]
    assert all(d.proto == 41 and d.flags == 0 for d in datagrams)
    inner = [d[IPv6] for d in datagrams]
    assert [(d.src, d.dst) for d in datagrams] == [("10.0.0.2", "10.0.0.1")] + [
        ("10.0.0.1", "10.0.0.2")
    ] * 2
    assert sum(ICMPv6EchoRequest in p for p in inner) == 2
    assert sum(ICMPv6EchoReply in p for p in inner) == 1
    assert not any(p.nh == 58 and p.payload.type in (133, 134, 135, 136, 143) for p in inner)


def test_big_packets_are_fragmented_to_the_tunnel_mtu() -> None:
    net = Ipv4Net()
    a, _ = tunnel_host(net, "a", TunnelLink(net.port(V4_A), V4_A, remote=V4_B))
    tunnel_host(net, "b", TunnelLink(net.port(V4_B), V4_B, remote=V4_A))
    data = bytes(range(256)) * 8  # 2048 octets: two fragments each way
    assert a.icmpv6.send_echo_request(link_local(V4_B), 2, 1, data, 0.0)
    net.run(0.0)
    assert [r.data for r in a.icmpv6.echo_replies] == [data]
    datagrams = [IP(d) for d in net.wire]
    assert all(d.len <= 20 + TUNNEL_MTU for d in datagrams)
    assert sum(IPv6ExtHdrFragment in d for d in datagrams) == len(datagrams) == 4


def test_sixtofour_hosts_and_a_relay() -> None:
    net = Ipv4Net()
    a, _ = tunnel_host(net, "a", TunnelLink(net.port(V4_A), V4_A, relay=V4_RELAY))
    b, _ = tunnel_host(net, "b", TunnelLink(net.port(V4_B), V4_B))
    relay, ir = tunnel_host(net, "relay", TunnelLink(net.port(V4_RELAY), V4_RELAY))
    b_addr = sixtofour_address(V4_B)
    assert a.icmpv6.send_echo_request(b_addr, 3, 1, b"6to4", 0.0)
    # A native destination: to the relay router (which here owns that address too).
    ir.add_static_address(IPv6Address("2001:db8::1"), 128, 0.0)
    assert a.icmpv6.send_echo_request(IPv6Address("2001:db8::1"), 3, 2, b"native", 0.0)
    net.run(0.0)
    # b answers (its 2002::/16 route sends the reply straight back to 10.0.0.2); the
    # relay's reply to 2002:a00:2:: goes by the embedded address too.
    assert [(r.src, r.data) for r in a.icmpv6.echo_replies] == [
        (b_addr, b"6to4"),
        (IPv6Address("2001:db8::1"), b"native"),
    ]
    assert b.icmp.in_echo_requests == 1 and relay.icmp.in_echo_requests == 1
    pairs = [(IP(d).src, IP(d).dst) for d in net.wire]
    assert pairs == [
        ("10.0.0.2", "10.0.0.1"),
        ("10.0.0.2", "192.88.99.1"),
        ("10.0.0.1", "10.0.0.2"),
        ("192.88.99.1", "10.0.0.2"),
    ]


def test_host_command_line_names_tunnels_in_link_order() -> None:
    from tcpip6.apps.host import HostConfigError, build_config

    config = build_config(
        links=["ethernet:eth1", "tunnel:configured:10.0.0.2:10.0.0.1", "tunnel:6to4:10.0.0.2"],
        addresses=["tun0=2001:db8:46::2/64"],
    )
    assert config.links == ["eth1", "tun0", "tun1"]
    assert config.tunnels == {
        "tun0": TunnelSpec(TunnelKind.CONFIGURED, V4_A, remote=V4_B),
        "tun1": TunnelSpec(TunnelKind.SIX_TO_FOUR, V4_A),
    }
    with pytest.raises(HostConfigError, match="--link tunnel:6to4:x: Expected 4 octets"):
        build_config(links=["tunnel:6to4:x"])


def test_a_static_next_hop_is_sent_to_its_neighbor_entrys_ipv4_address() -> None:
    """MSR IPv6's no-ND neighbor: a route to a native prefix through one particular 6to4
    router goes to that router's IPv4 address (its PERMANENT entry's link address), not to
    the relay the link would map a native destination to."""
    net, a, ia, r = behind_a_6to4_router()
    hop = sixtofour_address(ROUTER4)
    ia.add_static_neighbor(hop, ROUTER4.packed)
    assert a.routes.add_static_route(IPv6Network("2001:db8:99::/64"), ia, hop)
    assert_echo_goes_to_the_router(net, a, r)
    # The reply comes from a native source through 10.0.0.9, not through the relay: RFC
    # 3056 §9 has a refuse it (only the relay may bring native sources in).
    assert not a.icmpv6.echo_replies
    assert ia.link.counters.native_source_not_relay_drop == 1  # type: ignore[attr-defined]
