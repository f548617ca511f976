"""Router mode on simnet: a tcpip6 router links two segments (lan1: 1500 octets, lan2:
1280 octets); hosts autoconfigure from its Router Advertisements, and it forwards, answers
with the ICMPv6 errors a router owes, and redirects. Asserted on the packets on the wire
(parsed by scapy) and on the hosts' and router's data structures."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from ipaddress import IPv6Address, IPv6Network
from pathlib import Path

import pytest
from scapy.layers import inet6 as s6
from scapy.layers.l2 import Ether

from tcpip6.io.pcap import read_pcap
from tcpip6.io.sim import SimWorld
from tcpip6.stack.host import Host
from tcpip6.stack.interface import Interface
from tcpip6.stack.ipv6 import ControlMessage
from tcpip6.stack.router import (
    MAX_INITIAL_RTR_ADVERT_INTERVAL,
    MAX_RA_DELAY_TIME,
    MIN_DELAY_BETWEEN_RAS,
    AdvertisingParameters,
    AdvPrefix,
    Router,
)
from tcpip6.wire import icmpv6 as wi
from tcpip6.wire import ipv6 as wire_ipv6
from tests import tshark

P1 = IPv6Network("2001:db8:1::/64")
P2 = IPv6Network("2001:db8:2::/64")
ADV1 = AdvertisingParameters(
    max_rtr_adv_interval=30.0, prefixes=(AdvPrefix(P1),), rdnss=(IPv6Address("2001:db8:1::53"),)
)
ADV2 = AdvertisingParameters(max_rtr_adv_interval=30.0, prefixes=(AdvPrefix(P2),), link_mtu=1280)


@dataclass
class Net:
    world: SimWorld
    router: Router
    r1: Interface
    r2: Interface
    hosts: dict[str, Host]
    ifaces: dict[str, Interface]
    pcap: Path

    def gua(self, name: str) -> IPv6Address:
        prefix = P2 if name == "c" else P1
        return next(a for a in self.ifaces[name].source_candidates() if a in prefix)

    def frames(self) -> list[tuple[float, Ether]]:
        assert self.world.pcap is not None
        self.world.pcap.flush()
        return [(t, Ether(raw)) for t, raw in read_pcap(self.pcap)]


@pytest.fixture
def net(tmp_path: Path) -> Net:
    world = SimWorld(seed=11)
    pcap = tmp_path / "router.pcap"
    world.capture(pcap)
    world.segment("lan2", mtu=1280)
    router = world.router("r")
    r1 = world.connect_router(router, "lan1", P1, ADV1)
    r2 = world.connect_router(router, "lan2", P2, ADV2)
    hosts = {n: world.host(n) for n in "abc"}
    ifaces = {n: world.connect(h, "lan2" if n == "c" else "lan1") for n, h in hosts.items()}
    router.host.start(world.now)
    for h in hosts.values():
        h.start(world.now)
    world.run_for(12.0)
    return Net(world, router, r1, r2, hosts, ifaces, pcap)


def _lla(iface: Interface) -> IPv6Address:
    return next(a for a in iface.source_candidates() if a.is_link_local)


def test_hosts_autoconfigure_from_the_router(net: Net) -> None:
    for name, prefix, riface in (("a", P1, net.r1), ("b", P1, net.r1), ("c", P2, net.r2)):
        host, iface = net.hosts[name], net.ifaces[name]
        assert net.gua(name) in prefix
        assert net.gua(name).packed[8:] == iface.link.interface_identifier()
        # The router's link-local address is the host's default router, a router NCE.
        assert [r.router for r in host.routes.default_router_list] == [_lla(riface)]
        nce = iface.neighbors.get(_lla(riface))
        assert nce is not None and nce.is_router and nce.link_address == riface.link.link_address
    # The MTU option of lan2 set c's link MTU; the RDNSS option of lan1 reached a and b.
    assert net.ifaces["c"].mtu == 1280 and net.ifaces["a"].mtu == 1500
    assert net.ifaces["a"].dns_servers == [IPv6Address("2001:db8:1::53")]
    # A router never solicits routers and never autoconfigures from advertisements.
    assert net.router.host.nd.out_router_solicitations == 0
    assert {a for a in net.r1.source_candidates() if not a.is_link_local} == {P1[1]}


def test_router_advertisements_on_the_wire(net: Net) -> None:
    """RFC 4861 §4.2, RFC 4861 §6.2.3: from the link-local address, hop limit 255, to all-nodes,
    with
    the configured prefix (L and A set), the source link-layer address, MTU and RDNSS."""
    ras = [(t, f) for t, f in net.frames() if f.haslayer(s6.ICMPv6ND_RA)]
    by_src: dict[str, list[tuple[float, Ether]]] = {}
    for t, f in ras:
        by_src.setdefault(f[s6.IPv6].src, []).append((t, f))
    assert set(by_src) == {str(_lla(net.r1)), str(_lla(net.r2))}
    for riface, prefix, mtu in ((net.r1, P1, None), (net.r2, P2, 1280)):
        for _, f in by_src[str(_lla(riface))]:
            ip = f[s6.IPv6]
            assert ip.hlim == 255 and ip.dst == "ff02::1"
            assert f.src == ":".join(f"{b:02x}" for b in riface.link.link_address)
            ra = f[s6.ICMPv6ND_RA]
            assert ra.routerlifetime == 90 and ra.chlim == 64 and ra.M == 0 and ra.O == 0
            pio = f[s6.ICMPv6NDOptPrefixInfo]
            assert (pio.prefix, pio.prefixlen, pio.L, pio.A) == (str(prefix[0]), 64, 1, 1)
            assert pio.validlifetime == 2592000 and pio.preferredlifetime == 604800
            assert f[s6.ICMPv6NDOptSrcLLAddr].lladdr == f.src
            if mtu is None:
                assert not f.haslayer(s6.ICMPv6NDOptMTU)
                assert f[s6.ICMPv6NDOptRDNSS].dns == ["2001:db8:1::53"]
            else:
                assert f[s6.ICMPv6NDOptMTU].mtu == mtu


def test_advertisement_timing(net: Net) -> None:
    """RFC 4861 §6.2.4: multicast RAs never closer than MIN_DELAY_BETWEEN_RAS; the first few no
    more than MAX_INITIAL_RTR_ADVERT_INTERVAL apart, later ones within [Min, Max]
    RtrAdvInterval; RFC 4861 §6.2.6: an RS is answered within MAX_RA_DELAY_TIME unless that would
    break the spacing."""
    net.world.run_for(200.0)
    frames = net.frames()
    src = str(_lla(net.r1))
    times = [t for t, f in frames if f.haslayer(s6.ICMPv6ND_RA) and f[s6.IPv6].src == src]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(times) >= 8
    assert all(g >= MIN_DELAY_BETWEEN_RAS - 1e-9 for g in gaps), gaps
    assert all(g <= MAX_INITIAL_RTR_ADVERT_INTERVAL for g in gaps[:3]), gaps
    assert all(ADV1.min_interval - 1e-9 <= g <= ADV1.max_rtr_adv_interval for g in gaps[5:])
    rs_times = [t for t, f in frames if f.haslayer(s6.ICMPv6ND_RS) and f.dst == "33:33:00:00:00:02"]
    lan1_rs = [t for t in rs_times if t < times[-1]]
    assert lan1_rs, "the hosts solicited"
    for t_rs in lan1_rs:
        answer = min(t for t in times if t >= t_rs)
        before = [t for t in times if t < t_rs]
        assert answer - t_rs <= MAX_RA_DELAY_TIME + 1e-9 or (
            before and answer - before[-1] <= MIN_DELAY_BETWEEN_RAS + MAX_RA_DELAY_TIME + 1e-9
        ), (t_rs, answer, before[-1:])
    assert net.router.counters.solicited_advertisements >= 1


def test_ping_across_the_router_decrements_the_hop_limit(net: Net) -> None:
    a, c = net.hosts["a"], net.hosts["c"]
    a.icmpv6.send_echo_request(net.gua("c"), 9, 1, b"across", net.world.now)
    net.world.run_for(2.0)
    assert [(r.src, r.data) for r in a.icmpv6.echo_replies] == [(net.gua("c"), b"across")]
    assert [r.src for r in c.icmpv6.echo_replies] == []
    assert net.router.counters.forwarded == 2 and net.router.host.ip.forwarded == 2
    # The request as a sent it and as c received it: same packet, hop limit one less.
    reqs = [
        f[s6.IPv6]
        for _, f in net.frames()
        if f.haslayer(s6.ICMPv6EchoRequest) and f[s6.ICMPv6EchoRequest].data == b"across"
    ]
    assert [r.hlim for r in reqs] == [64, 63]
    assert reqs[0].src == reqs[1].src == str(net.gua("a"))


def test_router_answers_for_its_addresses_with_the_router_flag(net: Net) -> None:
    """RFC 4861 §7.2.4: the router's NAs carry R=1 (b resolves the router's global address
    on lan1, which it has not heard of from the RA)."""
    b = net.hosts["b"]
    b.icmpv6.send_echo_request(P1[1], 9, 12, b"router", net.world.now)
    net.world.run_for(2.0)
    assert [r.src for r in b.icmpv6.echo_replies] == [P1[1]]
    nas = [f[s6.ICMPv6ND_NA] for _, f in net.frames() if f.haslayer(s6.ICMPv6ND_NA)]
    router_nas = [na for na in nas if IPv6Address(na.tgt) == P1[1]]
    assert router_nas and all(na.R == 1 for na in router_nas)


def test_hop_limit_expiry_gives_time_exceeded(net: Net) -> None:
    a = net.hosts["a"]
    a.icmpv6.send_echo_request(net.gua("c"), 9, 2, b"ttl", net.world.now, hop_limit=1)
    net.world.run_for(2.0)
    assert net.router.counters.hop_limit_exceeded == 1 and net.router.counters.forwarded == 0
    [err] = list(a.icmpv6.errors_received)
    assert (err.type, err.code) == (wi.TIME_EXCEEDED, wi.TIME_EXCEEDED_HOP_LIMIT)
    assert err.src == P1[1]  # from the router's address on the link the packet came in on
    assert IPv6Address(err.invoking[24:40]) == net.gua("c")
    assert not any(f.haslayer(s6.ICMPv6EchoRequest) for _, f in net.frames() if _on_lan2(net, f))


def _on_lan2(net: Net, f: Ether) -> bool:
    macs = {":".join(f"{b:02x}" for b in i.link.link_address) for i in (net.r2, net.ifaces["c"])}
    return bool(f.src in macs)


def test_no_route_gives_destination_unreachable(net: Net) -> None:
    a = net.hosts["a"]
    a.icmpv6.send_echo_request(IPv6Address("2001:db8:99::1"), 9, 3, b"?", net.world.now)
    net.world.run_for(2.0)
    [err] = list(a.icmpv6.errors_received)
    assert (err.type, err.code) == (wi.DESTINATION_UNREACHABLE, wi.UNREACH_NO_ROUTE)
    assert net.router.counters.no_route == 1


def test_link_local_source_is_beyond_scope(net: Net) -> None:
    """RFC 4007 §9: a packet from a link-local source never leaves its link: code 2."""
    a = net.hosts["a"]
    req = wi.EchoRequest(9, 4, b"scope")
    assert a.icmpv6.send(net.gua("c"), req, net.world.now, src=_lla(net.ifaces["a"]))
    net.world.run_for(2.0)
    [err] = list(a.icmpv6.errors_received)
    assert (err.type, err.code) == (wi.DESTINATION_UNREACHABLE, wi.UNREACH_BEYOND_SCOPE)
    assert net.router.counters.beyond_scope == 1 and net.router.counters.forwarded == 0
    assert not net.hosts["c"].icmp.in_echo_requests


def test_link_local_destination_is_not_forwarded(net: Net) -> None:
    a, ia = net.hosts["a"], net.ifaces["a"]
    body = wi.EchoRequest(9, 5, b"x").build(_lla(ia), IPv6Address("fe80::99"))
    a.ipv6.send_on(
        ia,
        _lla(net.r1),
        _lla(ia),
        IPv6Address("fe80::99"),
        wire_ipv6.IPPROTO_ICMPV6,
        body,
        net.world.now,
    )
    net.world.run_for(1.0)
    assert net.router.counters.link_local_not_forwarded == 1
    assert net.router.counters.forwarded == 0 and not a.icmpv6.errors_received


def test_packet_too_big_lowers_the_path_mtu_and_reaches_the_upper_layer(net: Net) -> None:
    a = net.hosts["a"]
    seen: list[ControlMessage] = []
    a.control_handlers[wire_ipv6.IPPROTO_ICMPV6] = seen.append
    a.icmpv6.send_echo_request(net.gua("c"), 9, 6, bytes(1400), net.world.now)
    net.world.run_for(2.0)
    assert net.router.counters.too_big == 1
    [err] = list(a.icmpv6.errors_received)
    assert (err.type, err.parameter) == (wi.PACKET_TOO_BIG, 1280)
    assert a.routes.path_mtu(net.gua("c"), net.world.now) == 1280
    assert a.routes.path_mtu(net.gua("b"), net.world.now) == 1500
    # The error went to the protocol that sent the packet, with the quoted header.
    [msg] = seen
    assert msg.invoking_header.dst == net.gua("c") and msg.reporter == P1[1]
    assert msg.upper[0] == wi.ECHO_REQUEST
    # The PTB on the wire names the next link's MTU (RFC 4443 §3.2).
    ptbs = [f[s6.ICMPv6PacketTooBig] for _, f in net.frames() if f.haslayer(s6.ICMPv6PacketTooBig)]
    assert [p.mtu for p in ptbs] == [1280]
    # RFC 8201 §4: after the aging time the estimate goes back up to the link MTU.
    net.world.run_for(601.0)
    assert a.routes.path_mtu(net.gua("c"), net.world.now) == 1500


def test_packet_too_big_about_someone_elses_packet_is_ignored(net: Net) -> None:
    a, ia = net.hosts["a"], net.ifaces["a"]
    forged = wire_ipv6.Ipv6Header(0, 0, 8, 58, 64, IPv6Address("2001:db8:1::dead"), net.gua("c"))
    ptb = wi.PacketTooBig(0, forged.build() + bytes(8), 1280)
    body = ptb.build(_lla(net.r1), net.gua("a"))
    net.router.host.ipv6.send_on(
        net.r1, net.gua("a"), _lla(net.r1), net.gua("a"), 58, body, net.world.now
    )
    net.world.run_for(1.0)
    assert a.icmp.error_not_about_our_packet_drop == 1
    assert a.routes.path_mtu(net.gua("c"), net.world.now) == 1500
    assert ia.mtu == 1500


def test_redirect_to_a_better_first_hop(net: Net) -> None:
    """RFC 4861 §8.2: the router forwards a's packet back out the link it came from, to b,
    and tells a that b is the better first hop; a's next packet goes straight to b."""
    a, b = net.hosts["a"], net.hosts["b"]
    b_lla = _lla(net.ifaces["b"])
    far = IPv6Address("2001:db8:77::1")
    assert net.router.add_route("2001:db8:77::/64", net.r1, b_lla)
    a.icmpv6.send_echo_request(far, 9, 7, b"first", net.world.now)
    net.world.run_for(1.0)
    assert net.router.counters.redirects_sent == 1 and net.router.counters.forwarded == 1
    assert a.routes.counters.redirects_accepted == 1
    rce = a.routes.lookup(far)
    assert rce is not None and rce.next_hop == b_lla
    redirects = [f for _, f in net.frames() if f.haslayer(s6.ICMPv6ND_Redirect)]
    [rd] = redirects
    assert rd[s6.IPv6].src == str(_lla(net.r1)) and rd[s6.IPv6].hlim == 255
    assert (rd[s6.ICMPv6ND_Redirect].tgt, rd[s6.ICMPv6ND_Redirect].dst) == (str(b_lla), str(far))
    b_mac = ":".join(f"{x:02x}" for x in net.ifaces["b"].link.link_address)
    assert rd[s6.ICMPv6NDOptDstLLAddr].lladdr == b_mac
    # The redirected header quotes the packet as a sent it.
    quoted = s6.IPv6(bytes(rd[s6.ICMPv6NDOptRedirectedHdr].pkt))
    assert quoted.dst == str(far) and quoted.src == str(net.gua("a"))
    before = b.ip.destination_not_ours_drop
    a.icmpv6.send_echo_request(far, 9, 8, b"second", net.world.now)
    net.world.run_for(1.0)
    second = [
        f
        for _, f in net.frames()
        if f.haslayer(s6.ICMPv6EchoRequest) and f[s6.ICMPv6EchoRequest].data == b"second"
    ]
    assert [f.dst for f in second] == [b_mac]  # straight to b, not via the router
    assert b.ip.destination_not_ours_drop == before + 1
    assert net.router.counters.forwarded == 1


def test_the_pcap_is_clean_for_tshark(net: Net) -> None:
    net.hosts["a"].icmpv6.send_echo_request(net.gua("c"), 9, 10, b"x", net.world.now)
    net.hosts["a"].icmpv6.send_echo_request(net.gua("c"), 9, 11, b"y", net.world.now, hop_limit=1)
    net.world.run_for(2.0)
    assert net.world.pcap is not None
    net.world.pcap.close()
    frames = tshark.read(net.pcap)
    assert len(frames) == len(read_pcap(net.pcap)) > 20
    assert not [f for f in frames if f.malformed or f.bad_checksum or f.warnings]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_rtr_adv_interval": 3.0},
        {"max_rtr_adv_interval": 2000.0},
        {"max_rtr_adv_interval": 30.0, "min_rtr_adv_interval": 25.0},
        {"max_rtr_adv_interval": 30.0, "default_lifetime": 10},
        {"link_mtu": 1000},
    ],
)
def test_advertising_parameters_are_checked(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        AdvertisingParameters(**kwargs)  # type: ignore[arg-type]


def test_advertising_parameter_defaults_follow_rfc_4861() -> None:
    p = AdvertisingParameters()
    assert (p.max_rtr_adv_interval, p.min_interval, p.router_lifetime) == (600.0, 198.0, 1800)
    assert AdvertisingParameters(max_rtr_adv_interval=8.0).min_interval == 6.0
    assert AdvertisingParameters(default_lifetime=0).router_lifetime == 0
    with pytest.raises(ValueError):
        AdvPrefix(P1, valid_lifetime=10, preferred_lifetime=20)
