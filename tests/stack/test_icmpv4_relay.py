"""ICMPv4 errors about tunnelled packets relayed as ICMPv6 errors (RFC 4213 §3.4), with
scapy building the ICMPv4 errors; and Packet Too Big for packets too big for a tunnel."""

from __future__ import annotations

import struct
from ipaddress import IPv4Address, IPv6Address

from scapy.layers.inet import ICMP, IP, IPerror
from scapy.layers.inet6 import ICMPv6DestUnreach, ICMPv6EchoRequest, ICMPv6PacketTooBig, IPv6

from tcpip6.stack.icmpv4_relay import (
    EXTENDED_ERR,
    SO_EE_ORIGIN_ICMP,
    from_extended_err,
    icmpv6_error,
    parse_icmpv4,
    relay_datagram,
)
from tcpip6.stack.tunnel import TunnelLink, encapsulate, link_local
from tests.stack.test_tunnel import V4_A, V4_B, Ipv4Net, echo, tunnel_host

ROUTER4 = "192.0.2.254"
SRC6, DST6 = "2001:db8:46::2", "2001:db8:99::1"


def icmpv4_error(icmp_type: int, code: int, quote: int, nexthopmtu: int = 0) -> bytes:
    """What a router at 192.0.2.254 sends about our datagram 10.0.0.2 -> 10.0.0.1, quoting
    ``quote`` octets of it (the IPv4 header and the start of the IPv6 packet)."""
    tunnelled = encapsulate(echo(SRC6, DST6, b"x" * 100), V4_A, V4_B)
    err = ICMP(type=icmp_type, code=code, nexthopmtu=nexthopmtu) / IPerror(tunnelled[:quote])
    if icmp_type != 3:
        err = ICMP(type=icmp_type, code=code) / IPerror(tunnelled[:quote])
    return bytes(IP(src=ROUTER4, dst=str(V4_A)) / err)


def test_frag_needed_becomes_packet_too_big_with_mtu_less_20() -> None:
    error = parse_icmpv4(icmpv4_error(3, 4, 20 + 48, nexthopmtu=1400))
    assert error is not None and (error.type, error.code, error.mtu) == (3, 4, 1400)
    assert error.endpoint == V4_B and len(error.inner) == 48
    packet = icmpv6_error(error, link_local(V4_B))
    assert packet is not None
    parsed = IPv6(packet)  # scapy checks what we built
    assert (parsed.src, parsed.dst) == ("fe80::a00:1", SRC6)
    assert ICMPv6PacketTooBig in parsed and parsed[ICMPv6PacketTooBig].mtu == 1380
    # The quote is the IPv6 packet as far as it went: its header names our echo.
    assert bytes(parsed[ICMPv6PacketTooBig].payload)[24:40] == IPv6Address(DST6).packed


def test_other_errors_become_address_unreachable() -> None:
    for icmp_type, code in [(3, 1), (3, 2), (3, 13), (11, 0), (12, 0)]:
        error = parse_icmpv4(icmpv4_error(icmp_type, code, 20 + 40))
        assert error is not None
        packet = icmpv6_error(error, link_local(V4_B))
        assert packet is not None
        parsed = IPv6(packet)
        assert ICMPv6DestUnreach in parsed and parsed[ICMPv6DestUnreach].code == 3
        # A checksum scapy agrees with.
        cksum = parsed[ICMPv6DestUnreach].cksum
        del parsed[ICMPv6DestUnreach].cksum
        assert IPv6(bytes(parsed))[ICMPv6DestUnreach].cksum == cksum


def test_a_quote_without_the_whole_ipv6_header_is_not_relayed() -> None:
    # RFC 792's 8 octets after the IPv4 header: not the IPv6 source.
    error = parse_icmpv4(icmpv4_error(3, 1, 20 + 8))
    assert error is not None and icmpv6_error(error, link_local(V4_B)) is None
    # Not errors about protocol 41, not errors at all.
    assert parse_icmpv4(bytes(IP(src=ROUTER4, dst="10.0.0.2") / ICMP(type=8))) is None
    udp_quote = bytes(IP(src=ROUTER4, dst="10.0.0.2") / ICMP(type=3, code=3) /
                      IPerror(src="10.0.0.2", dst="10.0.0.1", proto=17))  # fmt: skip
    assert parse_icmpv4(udp_quote) is None
    assert parse_icmpv4(b"\x45\x00") is None


def test_an_ip_recverr_report_reads_the_same() -> None:
    inner = echo(SRC6, DST6, b"x" * 100)[:48]
    ee = EXTENDED_ERR.pack(90, SO_EE_ORIGIN_ICMP, 3, 4, 0, 1400, 0)
    error = from_extended_err(ee, V4_B, inner)
    assert error == parse_icmpv4(icmpv4_error(3, 4, 20 + 48, nexthopmtu=1400))
    # A local error (origin 1) or a short struct: nothing to relay.
    assert from_extended_err(EXTENDED_ERR.pack(90, 1, 0, 0, 0, 0, 0), V4_B, inner) is None
    assert from_extended_err(struct.pack("=I", 90), V4_B, inner) is None


def test_the_relayed_error_reaches_the_stack_as_from_the_tunnel_endpoint() -> None:
    net = Ipv4Net()
    a, ia = tunnel_host(net, "a", TunnelLink(net.port(V4_A), V4_A, remote=V4_B))
    ia.add_static_address(IPv6Address(SRC6), 64, 0.0)
    assert a.icmpv6.send_echo_request(IPv6Address(DST6), 1, 1, b"x" * 100, 0.0)
    sent = net.queue.pop()
    quoted = bytes(IP(src=ROUTER4, dst=str(V4_A)) / ICMP(type=3, code=1) / IPerror(sent[:68]))
    error = parse_icmpv4(quoted)
    assert error is not None
    datagram = relay_datagram(error, link_local(V4_B), V4_A)
    assert datagram is not None and IP(datagram).src == str(V4_B)
    assert ICMPv6EchoRequest in IP(sent)
    a.receive(ia, datagram, 0.1)
    # The configured tunnel's check (RFC 4213 §3.6: from the remote end) passes, and the
    # stack counts an ICMPv6 Destination Unreachable.
    assert ia.link.counters.datagrams_received == 1  # type: ignore[attr-defined]
    assert a.icmp.in_dest_unreachable == 1


def test_a_router_sends_packet_too_big_for_a_packet_too_big_for_its_tunnel() -> None:
    """The stack already does this through the interface MTU (RFC 4443 §3.2): a router
    whose next link is a 1280-octet tunnel answers a 1400-octet packet with Packet Too Big
    1280, and the source learns the path MTU."""
    from tcpip6.stack.router import Router
    from tcpip6.stack.tunnel import configure_interface, interface_parameters

    net = Ipv4Net()
    v4_r1, v4_r2, v4_c = IPv4Address("10.0.1.1"), IPv4Address("10.0.2.1"), IPv4Address("10.0.2.2")
    a, ia = tunnel_host(net, "a", TunnelLink(net.port(V4_A), V4_A, remote=v4_r1, mtu=1480))
    r, r0 = tunnel_host(net, "r", TunnelLink(net.port(v4_r1), v4_r1, remote=V4_A, mtu=1480))
    r1_link = TunnelLink(net.port(v4_r2), v4_r2, remote=v4_c)
    r1 = r.add_interface(r1_link, name="tun1", params=interface_parameters(r1_link))
    configure_interface(r1, r1_link, 0.0)
    net.nodes[v4_r2] = (r, r1)
    router = Router(r)
    tunnel_host(net, "c", TunnelLink(net.port(v4_c), v4_c, remote=v4_r2))
    ia.add_static_address(IPv6Address("2001:db8:1::2"), 64, 0.0)
    r0.add_static_address(IPv6Address("2001:db8:1::1"), 64, 0.0)
    r1.add_static_address(IPv6Address("2001:db8:2::1"), 64, 0.0)
    c_addr = IPv6Address("2001:db8:2::2")
    assert a.icmpv6.send_echo_request(c_addr, 1, 1, b"x" * 1300, 0.0)  # 1348 octets
    net.run(0.0)
    assert router.counters.too_big == 1
    assert a.routes.path_mtu(c_addr, 0.0, ia) == 1280
