"""Stateful NAT64 (RFC 6146) tables: endpoint-independent mapping and filtering, address
pooling and port ranges, lifetimes, hairpinning, bounds; packets checked with scapy."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from scapy.layers.inet import ICMP, IP, UDP
from scapy.layers.inet6 import ICMPv6EchoReply, ICMPv6EchoRequest, IPv6, in6_chksum

from tcpip6.stack.translate.nat64 import ICMP_DEFAULT, UDP_DEFAULT, Nat64, Nat64Config
from tcpip6.stack.translate.rfc6052 import Rfc6052Prefix

PREFIX = Rfc6052Prefix(IPv6Network("2001:db8:64::/96"))
H1, H2 = "2001:db8:1::1", "2001:db8:1::2"
S1, S2 = "8.8.8.8", "9.9.9.9"


def v6(addr: str) -> str:
    return str(PREFIX.embed(IPv4Address(addr)))


def nat(pool: str = "203.0.113.0/30", **kw: int) -> Nat64:
    return Nat64(Nat64Config(PREFIX, (IPv4Network(pool),), **kw))  # type: ignore[arg-type]


def udp6(src: str, sport: int, dst4: str, dport: int, data: bytes = b"hi") -> bytes:
    return bytes(IPv6(src=src, dst=v6(dst4)) / UDP(sport=sport, dport=dport) / data)


def test_endpoint_independent_mapping() -> None:
    """RFC 6146 §3.5.1 (RFC 4787 REQ-1): one X' gets one T whatever the destination."""
    n = nat()
    a = IP(n.translate_v6(udp6(H1, 5000, S1, 53), 0).packets[0])
    b = IP(n.translate_v6(udp6(H1, 5000, S2, 53), 1).packets[0])
    assert (a.src, a[UDP].sport) == (b.src, b[UDP].sport)
    assert a[UDP].sport == 5000  # the port kept when free (RFC 6146 §3.5.1.1)
    assert len(n.bib_by_x) == 1 and len(n.sessions_v6) == 2
    ref = a.copy()
    del ref[UDP].chksum
    assert IP(bytes(ref))[UDP].chksum == a[UDP].chksum


def test_endpoint_independent_filtering_and_no_bib() -> None:
    """RFC 6146 §3.5.1.2: with EIF any IPv4 peer reaches T while its BIB entry lives; with
    no BIB entry the packet is dropped and counted."""
    n = nat()
    out = IP(n.translate_v6(udp6(H1, 5000, S1, 53), 0).packets[0])
    inbound = IP(src=S2, dst=out.src) / UDP(sport=777, dport=out[UDP].sport) / b"hello"
    (back,) = n.translate_v4(bytes(inbound), 1).packets
    p = IPv6(back)
    assert (p.src, p.dst, p[UDP].sport, p[UDP].dport) == (v6(S2), H1, 777, 5000)
    raw = bytearray(bytes(p[UDP]))
    raw[6:8] = b"\0\0"
    assert in6_chksum(17, p, bytes(raw)) == p[UDP].chksum
    stray = IP(src=S2, dst=out.src) / UDP(sport=1, dport=6000)
    assert n.translate_v4(bytes(stray), 2).drop == "v4_no_bib_entry_drop"


def test_paired_address_and_port_ranges() -> None:
    """RFC 6146 §3.5.1.1: the same IPv4 address for every mapping of one IPv6 host (paired
    pooling), and a port from the same range when the original is taken."""
    n = nat()
    first = IP(n.translate_v6(udp6(H1, 100, S1, 53), 0).packets[0])
    second = IP(n.translate_v6(udp6(H2, 100, S1, 53), 0).packets[0])
    third = IP(n.translate_v6(udp6(H1, 40000, S1, 53), 0).packets[0])
    assert first.src == third.src
    assert (first.src, first[UDP].sport) != (second.src, second[UDP].sport)
    for p in (first, second):
        assert p[UDP].sport < 1024


def test_udp_session_lifetime_and_bib_removal() -> None:
    """RFC 6146 §4: UDP sessions live UDP_DEFAULT (5 min) after the last packet; the BIB
    entry goes with its last session."""
    n = nat()
    n.translate_v6(udp6(H1, 5000, S1, 53), 0)
    n.translate_v6(udp6(H1, 5000, S1, 53), 100)
    assert n.next_deadline() == 0 + UDP_DEFAULT  # the stale deadline first, skipped at poll
    n.poll(UDP_DEFAULT + 50)
    assert len(n.sessions_v6) == 1
    n.poll(100 + UDP_DEFAULT)
    assert n.sessions_v6 == {} and n.bib_by_x == {}
    assert (n.counters.sessions_expired, n.counters.bib_deleted) == (1, 1)


def test_icmp_echo_identifier_and_lifetime() -> None:
    """RFC 6146 §3.5.3: the ICMP identifier is the port; sessions live ICMP_DEFAULT."""
    n = nat()
    ping = IPv6(src=H1, dst=v6(S1)) / ICMPv6EchoRequest(id=4242, seq=1, data=b"abc")
    out = IP(n.translate_v6(bytes(ping), 0).packets[0])
    assert (out[ICMP].type, out[ICMP].id) == (8, 4242)
    reply = IP(src=S1, dst=out.src) / ICMP(type=0, id=out[ICMP].id, seq=1) / b"abc"
    back = IPv6(n.translate_v4(bytes(reply), 1).packets[0])
    assert back[ICMPv6EchoReply].id == 4242 and back.dst == H1
    n.poll(1 + ICMP_DEFAULT)
    assert n.sessions_v6 == {}


def test_hairpinning() -> None:
    """RFC 6146 §3.8: an IPv6 host reaches another through the other's IPv4 mapping, and
    the packet comes back to the IPv6 side with the sender's mapping as its source."""
    n = nat()
    out = IP(n.translate_v6(udp6(H2, 7000, S1, 53), 0).packets[0])  # H2 is mapped
    r = n.translate_v6(udp6(H1, 5000, out.src, out[UDP].sport, b"hairpin"), 1)
    assert r.packets == ()
    (p,) = [IPv6(x) for x in r.hairpinned]
    h1_t = n.bib_by_x[(17, (IPv6Address(H1), 5000))].t
    assert (p.dst, p[UDP].dport, bytes(p[UDP].payload)) == (H2, 7000, b"hairpin")
    assert (p.src, p[UDP].sport) == (v6(str(h1_t[0])), h1_t[1])
    assert n.counters.hairpinned == 1


def test_tables_are_bounded() -> None:
    n = nat(pool="203.0.113.1/32", max_bib_entries=2)
    for port in (1100, 1200, 1300):
        n.translate_v6(udp6(H1, port, S1, 53), 0)
    assert len(n.bib_by_x) == 2 and n.counters.bib_full_drop == 1


def test_icmpv4_error_reaches_the_ipv6_host_with_its_own_port() -> None:
    """RFC 6146 §3.4: a Time Exceeded from an IPv4 router about a translated packet is
    found by its quoted packet and reaches X with X's address and port quoted (what the
    host's traceroute matches); an ICMPv6 Port Unreachable from X goes out with T's."""
    from scapy.layers.inet import IPerror, UDPerror
    from scapy.layers.inet6 import ICMPv6DestUnreach, ICMPv6TimeExceeded, IPerror6

    n = nat()
    sent = IP(n.translate_v6(udp6(H2, 7000, S1, 53), 0).packets[0])  # takes port 7000 ...
    out = IP(n.translate_v6(udp6(H1, 7000, S1, 33434), 0).packets[0])  # ... so H1 gets another
    assert out[UDP].sport != 7000 or out.src != sent.src
    err = IP(src="198.51.100.254", dst=out.src) / ICMP(type=11, code=0) / IP(bytes(out))
    (back,) = n.translate_v4(bytes(err), 1).packets
    p = IPv6(back)
    assert p.haslayer(ICMPv6TimeExceeded) and p.dst == H1
    q = p[IPerror6]
    assert (q.src, q.dst, q[UDPerror].sport, q[UDPerror].dport) == (H1, v6(S1), 7000, 33434)
    # and the other way: X says Port Unreachable about a datagram from the IPv4 peer
    inbound = IP(src=S1, dst=out.src) / UDP(sport=33434, dport=out[UDP].sport) / b"x"
    (to_h1,) = n.translate_v4(bytes(inbound), 2).packets
    unreach = IPv6(src=H1, dst=v6(S1)) / ICMPv6DestUnreach(code=4) / IPv6(to_h1)
    (out_err,) = n.translate_v6(bytes(unreach), 3).packets
    e = IP(out_err)
    assert (e[ICMP].type, e[ICMP].code, e.src, e.dst) == (3, 3, out.src, S1)
    assert (e[IPerror].src, e[UDPerror].sport, e[UDPerror].dport) == (S1, 33434, out[UDP].sport)
    stray = (
        IP(src="198.51.100.254", dst=out.src)
        / ICMP(type=11)
        / IP(src=out.src, dst=S2)
        / UDP(sport=1, dport=2)
    )
    assert n.translate_v4(bytes(stray), 4).drop == "v4_icmp_error_no_session_drop"


def test_configured_tcp_lifetimes() -> None:
    """RFC 6146 §4's TCP lifetimes are the defaults; configured ones (tcpip6 host
    --nat64-lifetimes) are what the session lives: V6 INIT its tcp_trans, ESTABLISHED its
    tcp_est, and after the probe TRANS its tcp_trans again (RFC 6146 §3.5.2.2)."""
    from scapy.layers.inet import TCP

    n = nat(tcp_trans=10, tcp_est=100)
    syn = bytes(IPv6(src=H1, dst=v6(S1)) / TCP(sport=4000, dport=80, flags="S", seq=1))
    (out,) = n.translate_v6(syn, 0).packets
    (s,) = n.sessions_v6.values()
    assert (s.state.name, s.expires) == ("V6_INIT", 10)
    t = IP(out)
    synack = IP(src=S1, dst=t.src) / TCP(sport=80, dport=t[TCP].sport, flags="SA", ack=2)
    n.translate_v4(bytes(synack), 1)
    assert (s.state.name, s.expires) == ("ESTABLISHED", 101)
    assert n.poll(100.5) == [] and s.state.name == "ESTABLISHED"
    (probe,) = n.poll(101)  # RFC 6146 §3.5.2.2: ESTABLISHED expires into TRANS, probing X'
    assert IPv6(probe)[TCP].flags == "A"
    assert (s.state.name, s.expires) == ("TRANS", 111)
    n.poll(111)
    assert n.sessions_v6 == {} and n.bib_by_x == {}
