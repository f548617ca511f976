"""Translation in a simulated network, no root: a tcpip6 router runs a stateful NAT64 for
the IPv6 host a (lan1) and a SIIT in front of the IPv6 host c (lan2) that appears on the
IPv4 side as 198.51.100.3; between them an IPv4 packet port (where a TUN stands live). a
reaches c by c's IPv4 address in the NAT64 prefix: ping, UDP, TCP with data both ways; the
NAT64 session appears and goes through the RFC 6146 §3.5.2 states, then expires."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from scapy.layers.inet import IP

from tcpip6.io.ipv4_port import Ipv4PacketPort
from tcpip6.io.sim import SimWorld
from tcpip6.stack.machines.graph import TransitionRecord
from tcpip6.stack.router import AdvertisingParameters, AdvPrefix
from tcpip6.stack.translate.eam import EamEntry, EamTable
from tcpip6.stack.translate.hook import Translator
from tcpip6.stack.translate.mapping import AddressMapping
from tcpip6.stack.translate.nat64 import TCP_TRANS, Nat64, Nat64Config
from tcpip6.stack.translate.rfc6052 import Rfc6052Prefix
from tcpip6.stack.translate.siit import Siit, SiitConfig

LAN1 = IPv6Network("2001:db8:1::/64")
LAN2 = IPv6Network("2001:db8:2::/64")
NAT64_PREFIX = Rfc6052Prefix(IPv6Network("2001:db8:64::/96"))
SIIT_PREFIX = Rfc6052Prefix(IPv6Network("2001:db8:46::/96"))
C4 = IPv4Address("198.51.100.3")
POOL = IPv4Network("203.0.113.0/30")


def build(trace: list[TransitionRecord]) -> tuple[SimWorld, dict[str, object]]:
    world = SimWorld(seed=7)
    router = world.router("r")
    world.connect_router(router, "lan1", LAN1)
    world.connect_router(router, "lan2", LAN2, AdvertisingParameters(prefixes=(AdvPrefix(LAN2),)))
    a, c = world.host("a"), world.host("c")
    ia, ic = world.connect(a, "lan1"), world.connect(c, "lan2")
    for h in (router.host, a, c):
        h.start(world.now)
    world.run_for(12.0)
    addr = {
        "a": next(x for x in ia.source_candidates() if x in LAN1),
        "c": next(x for x in ic.source_candidates() if x in LAN2),
    }
    port = Ipv4PacketPort()
    nat64 = Nat64(
        Nat64Config(NAT64_PREFIX, (POOL,), ipv4_address=IPv4Address("203.0.113.1")),
        trace_sink=trace.append,
    )
    siit = Siit(
        SiitConfig(
            AddressMapping(
                SIIT_PREFIX, EamTable((EamEntry(IPv4Network(C4), IPv6Network(addr["c"])),))
            ),
            mtu4=1500,
            mtu6=1500,
        )
    )
    for engine in (nat64, siit):
        t = Translator(router.host, engine, port.send)
        router.host.translators.append(t)
        port.translators.append(t)
    return world, {"a": a, "c": c, "addr": addr, "nat64": nat64, "port": port, "siit": siit}


def test_tcp_udp_and_ping_through_nat64_and_siit() -> None:
    trace: list[TransitionRecord] = []
    world, n = build(trace)
    a, c, nat64, port = n["a"], n["c"], n["nat64"], n["port"]
    c_via_nat64 = NAT64_PREFIX.embed(C4)
    assert c_via_nat64 is not None

    # ping: a -> c, the echo request crosses IPv4 as ICMP (RFC 7915 §4.2, RFC 7915 §5.2)
    a.icmpv6.send_echo_request(c_via_nat64, 9, 1, b"through ipv4", world.now)  # type: ignore[attr-defined]
    world.run_for(1.0)
    icmp4 = [IP(p) for p in port.seen if p[9] == 1]  # type: ignore[attr-defined]
    assert [(p.src, p.dst, p["ICMP"].type) for p in icmp4] == [
        ("203.0.113.1", str(C4), 8),
        (str(C4), "203.0.113.1", 0),
    ]

    # TCP: a connects to c's port 7 by c's IPv4 address in the NAT64 prefix
    listener = c.tcp.listen(IPv6Address("::"), 7, 4, world.now)  # type: ignore[attr-defined]
    client = a.tcp.connect(c_via_nat64, 7, world.now)  # type: ignore[attr-defined]
    world.run_for(1.0)
    server = listener.accept_queue.popleft()
    # c sees a at its NAT64 mapping, embedded in the SIIT prefix
    t_addr = nat64.sessions_v6[next(iter(k for k in nat64.sessions_v6 if k[0] == 6))].t[0]  # type: ignore[attr-defined]
    assert server.remote_address == SIIT_PREFIX.embed(t_addr)
    data = bytes(range(256)) * 40
    client.send(data, world.now)
    world.run_for(2.0)
    assert server.read(len(data) + 1, world.now) == data
    server.send(b"and back", world.now)
    world.run_for(1.0)
    assert client.read(100, world.now) == b"and back"
    (session,) = [s for s in nat64.sessions_v6.values() if s.protocol == 6]  # type: ignore[attr-defined]
    assert session.state.name == "ESTABLISHED"
    client.close(world.now)
    server.close(world.now)
    world.run_for(2.0)
    assert session.state.name == "V4_FIN_V6_FIN_RCV"
    states = [(r.old, r.trigger, r.new) for r in trace if r.graph == "nat64_tcp"]
    assert states[:2] == [("CLOSED", "v6_syn", "V6_INIT"), ("V6_INIT", "v4_syn", "ESTABLISHED")]
    # RFC 6146 §3.5.2.2: V4 FIN + V6 FIN RCV lives TCP_TRANS, then the session goes
    world.run_for(TCP_TRANS + 1)
    assert not [s for s in nat64.sessions_v6.values() if s.protocol == 6]  # type: ignore[attr-defined]
    assert port.no_route_drop == 0  # type: ignore[attr-defined]
