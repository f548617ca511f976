"""The home agent (RFC 6275 §10) and its IPv6-in-IPv6 tunnel (RFC 2473), facing a mobile
node built from scapy's layers: every message in and out is written or read by scapy, not
by tcpip6's wire code."""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv6Address, IPv6Network

import pytest
from scapy.layers import inet6 as s6
from scapy.layers.l2 import Ether
from scapy.packet import Packet

from tcpip6.io.sim import SimWorld
from tcpip6.io.simnet import SimPort
from tcpip6.stack.host import Host
from tcpip6.stack.interface import Interface
from tcpip6.stack.machines.binding_cache import BindingState
from tcpip6.stack.mobility.home_agent import MAX_HOME_BINDING_LIFETIME, HomeAgent, enable_home_agent

HOME = IPv6Network("2001:db8:10::/64")
VISIT = IPv6Network("2001:db8:20::/64")
CNNET = IPv6Network("2001:db8:40::/64")
HA = HOME[1]
HOA = HOME[0x100]
COA = VISIT[0x200]
MN_MAC = "02:00:00:00:aa:01"
NEIGHBOR_MAC = "02:00:00:00:bb:01"


@dataclass
class Port:
    """A scapy node's NIC on a segment."""

    port: SimPort
    mac: str
    world: SimWorld
    got: list[Packet] = field(default_factory=list)

    def send(self, pkt: Packet, dst_mac: str) -> None:
        self.port.send_frame(bytes(Ether(src=self.mac, dst=dst_mac) / pkt))
        self.world.run_for(0.01)

    def take(self) -> list[Packet]:
        out, self.got = self.got, []
        return out


def _port(world: SimWorld, segment: str, mac: str) -> Port:
    # Promiscuous: the scapy node hears multicast too (solicited-node groups, all-nodes).
    port = world.segment(segment).attach(bytes.fromhex(mac.replace(":", "")), promiscuous=True)
    p = Port(port, mac, world)

    def receive(frame: bytes, now: float) -> None:
        p.got.append(Ether(frame))

    port.receiver = receive
    return p


@dataclass
class Net:
    world: SimWorld
    ha: Host
    home_if: Interface
    visit_if: Interface
    agent: HomeAgent
    cn: Host
    cn_address: IPv6Address
    mn: Port  # on the foreign link
    neighbor: Port  # on the home link

    def ha_mac(self, iface: Interface) -> str:
        return iface.link.link_address.hex(":")

    def bu(self, seq: int, lifetime: int, home: IPv6Address = HOA, coa: IPv6Address = COA) -> None:
        """RFC 6275 §11.7.1, written with scapy: from the care-of address, a Home Address
        option, the H and A flags; lifetime in units of 4 seconds."""
        bu = s6.MIP6MH_BU(seq=seq, flags="HA", mhtime=lifetime)
        hao = s6.IPv6ExtHdrDestOpt(options=[s6.HAO(hoa=str(home))])
        self.mn.send(s6.IPv6(src=str(coa), dst=str(HA)) / hao / bu, self.ha_mac(self.visit_if))

    def acks(self) -> list[Packet]:
        return [p for p in self.mn.take() if s6.MIP6MH_BA in p]

    def ask(self, pkt: Packet, answer: type[Packet]) -> list[Packet]:
        """``pkt`` from the foreign link to the home agent: what came back within 0.5 s
        carrying ``answer``."""
        self.mn.send(pkt, self.ha_mac(self.visit_if))
        self.world.run_for(0.5)
        return [p for p in self.mn.take() if answer in p]


def network(seed: int = 3) -> Net:
    world = SimWorld(seed)
    router = world.router("ha")
    home_if = world.connect_router(router, "home", HOME)
    visit_if = world.connect_router(router, "visit", VISIT)
    world.connect_router(router, "cnlink", CNNET)
    agent = enable_home_agent(router.host, home_if, HOME, now=world.now)
    cn = world.host("cn")
    cn_if = world.connect(cn, "cnlink")
    router.host.start(world.now)
    cn.start(world.now)
    world.run_for(5.0)
    cn_address = next(a for a in cn_if.source_candidates() if a in CNNET)
    net = Net(
        world,
        router.host,
        home_if,
        visit_if,
        agent,
        cn,
        cn_address,
        _port(world, "visit", MN_MAC),
        _port(world, "home", NEIGHBOR_MAC),
    )
    # The scapy nodes answer no address resolution: the router learns them up front.
    visit_if.add_static_neighbor(COA, bytes.fromhex(MN_MAC.replace(":", "")))
    return net


def registered(seed: int = 3) -> Net:
    net = network(seed)
    net.bu(seq=7, lifetime=100)
    net.world.run_for(2.0)
    acks = net.acks()
    assert [(a[s6.MIP6MH_BA].status, a[s6.MIP6MH_BA].seq) for a in acks] == [(0, 7)]
    net.neighbor.take()
    return net


def test_home_registration_dad_on_behalf_then_ba_with_type2_routing_header() -> None:
    net = network()
    net.bu(seq=7, lifetime=100)
    # RFC 6275 §10.3.1: DAD for the home address on the home link first, no BA yet.
    dad = [p for p in net.neighbor.take() if s6.ICMPv6ND_NS in p]
    assert [(p[s6.IPv6].src, p[s6.ICMPv6ND_NS].tgt) for p in dad] == [("::", str(HOA))]
    assert net.acks() == []
    net.world.run_for(2.0)
    (ba,) = net.acks()
    # RFC 6275 §10.3.1 / RFC 6275 §6.4: to the care-of address, a type 2 routing header
    # with the home address, status 0, the lifetime asked for (under the maximum).
    assert ba[s6.IPv6].src == str(HA) and ba[s6.IPv6].dst == str(COA)
    rh = ba[s6.IPv6ExtHdrRouting]
    assert (rh.type, rh.segleft, rh.addresses) == (2, 1, [str(HOA)])
    assert (ba[s6.MIP6MH_BA].status, ba[s6.MIP6MH_BA].seq, ba[s6.MIP6MH_BA].mhtime) == (0, 7, 100)
    entry = net.agent.cache.get(HOA)
    assert entry is not None and entry.care_of_address == COA
    assert entry.state is BindingState.BOUND and entry.lifetime == 400.0
    # RFC 6275 §10.4.1: the unsolicited proxy advertisement on the home link.
    assert net.agent.counters.proxy_advertisements_sent == 1


def test_lifetime_is_capped_and_old_sequence_gets_135() -> None:
    net = registered()
    net.bu(seq=8, lifetime=0xFFFF)
    (ba,) = net.acks()
    assert ba[s6.MIP6MH_BA].mhtime == MAX_HOME_BINDING_LIFETIME // 4
    # RFC 6275 §10.3.1 (as RFC 6275 §9.5.1): not greater modulo 2^16 -> 135, last accepted.
    net.bu(seq=8 - 0x8000 + 0x10000, lifetime=10)
    (ba,) = net.acks()
    assert (ba[s6.MIP6MH_BA].status, ba[s6.MIP6MH_BA].seq) == (135, 8)
    assert net.agent.counters.home_bu_sequence_refused == 1


def test_not_home_subnet_gets_132() -> None:
    net = network()
    net.bu(seq=1, lifetime=10, home=VISIT[0x999])
    (ba,) = net.acks()
    assert ba[s6.MIP6MH_BA].status == 132
    assert net.agent.cache.get(VISIT[0x999]) is None


def test_dad_failure_gets_134() -> None:
    net = network()
    net.bu(seq=1, lifetime=10)
    # Someone on the home link has the address: it answers the home agent's DAD.
    na = s6.ICMPv6ND_NA(tgt=str(HOA), R=0, S=0, O=1) / s6.ICMPv6NDOptDstLLAddr(lladdr=NEIGHBOR_MAC)
    net.neighbor.send(s6.IPv6(src=str(HOA), dst="ff02::1", hlim=255) / na, "33:33:00:00:00:01")
    net.world.run_for(2.0)
    (ba,) = net.acks()
    assert ba[s6.MIP6MH_BA].status == 134
    assert net.agent.cache.get(HOA) is None


def test_proxy_neighbor_advertisement_for_the_home_address() -> None:
    net = registered()
    ns = s6.ICMPv6ND_NS(tgt=str(HOA)) / s6.ICMPv6NDOptSrcLLAddr(lladdr=NEIGHBOR_MAC)
    src = HOME[0x77]
    group = "ff02::1:ff00:100"
    net.neighbor.send(s6.IPv6(src=str(src), dst=group, hlim=255) / ns, "33:33:ff:00:01:00")
    (na,) = [p for p in net.neighbor.take() if s6.ICMPv6ND_NA in p]
    # RFC 6275 §10.4.1: the home agent's link-layer address, Router clear, Override set.
    assert na[Ether].src == net.ha_mac(net.home_if)
    assert (na[s6.ICMPv6ND_NA].tgt, na[s6.ICMPv6ND_NA].R, na[s6.ICMPv6ND_NA].S) == (str(HOA), 0, 1)
    assert na[s6.ICMPv6ND_NA].O == 1
    assert na[s6.ICMPv6NDOptDstLLAddr].lladdr == net.ha_mac(net.home_if)
    assert na[s6.IPv6].dst == str(src)
    # Another node's DAD for the address is defended (to all-nodes).
    net.neighbor.send(
        s6.IPv6(src="::", dst=group, hlim=255) / s6.ICMPv6ND_NS(tgt=str(HOA)), "33:33:ff:00:01:00"
    )
    (na,) = [p for p in net.neighbor.take() if s6.ICMPv6ND_NA in p]
    assert na[s6.IPv6].dst == "ff02::1" and na[s6.ICMPv6ND_NA].S == 0


def test_tunnel_to_the_care_of_address_and_back() -> None:
    net = registered()
    # The correspondent pings the home address: the home agent tunnels it (RFC 2473).
    net.cn.icmpv6.send_echo_request(HOA, 9, 1, b"to the home address", net.world.now)
    net.world.run_for(0.5)
    tunnelled = [p for p in net.mn.take() if p[s6.IPv6].nh == 41]
    (pkt,) = tunnelled
    outer, inner = pkt[s6.IPv6], pkt[s6.IPv6].payload
    assert (outer.src, outer.dst, outer.hlim, outer.tc, outer.fl) == (str(HA), str(COA), 64, 0, 0)
    assert isinstance(inner, s6.IPv6)
    assert (inner.src, inner.dst) == (str(net.cn_address), str(HOA))
    # RFC 2473 §3.1: the entry point forwarded the original packet: Hop Limit one less.
    assert inner.hlim == 63
    assert bytes(inner[s6.ICMPv6EchoRequest].data) == b"to the home address"
    # The reverse tunnel (RFC 6275 §10.4.5): the mobile node's reply from its home address.
    reply = s6.IPv6(src=str(HOA), dst=str(net.cn_address), hlim=64) / s6.ICMPv6EchoReply(
        id=77, seq=1, data=b"from the home address"
    )
    outer2 = s6.IPv6(src=str(COA), dst=str(HA)) / reply
    net.mn.send(outer2, net.ha_mac(net.visit_if))
    net.world.run_for(0.5)
    assert any(
        r.data == b"from the home address" and r.src == HOA for r in net.cn.icmpv6.echo_replies
    )
    assert net.agent.tunnel.decapsulated == 1
    # From anywhere but the registered care-of address: dropped and counted.
    net.mn.send(s6.IPv6(src=str(VISIT[0x300]), dst=str(HA)) / reply, net.ha_mac(net.visit_if))
    assert net.agent.tunnel.not_from_tunnel_peer_drop == 1
    # A truncated inner packet: dropped and counted, never an exception.
    net.mn.send(s6.IPv6(src=str(COA), dst=str(HA), nh=41) / bytes(20), net.ha_mac(net.visit_if))
    assert net.agent.tunnel.inner_malformed_drop == 1
    assert net.ha.internal_errors == 0


def test_tunnel_refuses_too_big_and_expiring_hop_limit() -> None:
    net = registered()
    cn_port = _port(net.world, "cnlink", "02:00:00:00:cc:01")
    cn_if_ha = next(i for i in net.ha.interfaces if any(a in CNNET for a in i.source_candidates()))
    src = CNNET[0x55]
    cn_if_ha.add_static_neighbor(src, bytes.fromhex("02000000cc01"))
    big = s6.IPv6(src=str(src), dst=str(HOA), hlim=64) / s6.ICMPv6EchoRequest(data=bytes(1452))
    cn_port.send(big, cn_if_ha.link.link_address.hex(":"))
    ptb = [p for p in cn_port.take() if s6.ICMPv6PacketTooBig in p]
    # RFC 2473 §7.1: larger than the tunnel MTU (1500 - 40) and than 1280: Packet Too Big.
    assert [p[s6.ICMPv6PacketTooBig].mtu for p in ptb] == [1460]
    last = s6.IPv6(src=str(src), dst=str(HOA), hlim=1) / s6.ICMPv6EchoRequest()
    cn_port.send(last, cn_if_ha.link.link_address.hex(":"))
    te = [p for p in cn_port.take() if s6.ICMPv6TimeExceeded in p]
    assert len(te) == 1  # RFC 2473 §3.1
    assert net.agent.tunnel.too_big_drop == 1
    assert net.agent.tunnel.hop_limit_exceeded_drop == 1


def test_deregistration_ends_the_proxy() -> None:
    net = registered()
    net.bu(seq=8, lifetime=0)
    (ba,) = net.acks()
    assert (ba[s6.MIP6MH_BA].status, ba[s6.MIP6MH_BA].seq) == (0, 8)
    assert net.agent.cache.get(HOA) is None
    ns = s6.ICMPv6ND_NS(tgt=str(HOA)) / s6.ICMPv6NDOptSrcLLAddr(lladdr=NEIGHBOR_MAC)
    net.neighbor.send(
        s6.IPv6(src=str(HOME[0x77]), dst="ff02::1:ff00:100", hlim=255) / ns, "33:33:ff:00:01:00"
    )
    assert [p for p in net.neighbor.take() if s6.ICMPv6ND_NA in p] == []


@pytest.mark.parametrize("lifetime", [1, 3])
def test_home_binding_expires(lifetime: int) -> None:
    net = network()
    net.bu(seq=1, lifetime=lifetime)
    net.world.run_for(2.0)
    assert net.agent.cache.get(HOA) is not None
    net.world.run_for(lifetime * 4.0)
    assert net.agent.cache.get(HOA) is None
    assert net.agent.counters.home_bindings_expired == 1


# -- discovery (RFC 6275 §10.5, RFC 6275 §10.6), scapy's ICMPv6 messages -------------------
HA_ANYCAST = "2001:db8:10::fdff:ffff:ffff:fffe"  # RFC 2526 §2: ID 0x7E of the home prefix


def assert_checksum_recomputes(pkt: Packet, layer: type[Packet]) -> None:
    """The checksum of ``pkt``'s ``layer``, recomputed by scapy, is the one sent."""
    sent = pkt[layer].cksum
    pkt[layer].cksum = None
    assert s6.IPv6(bytes(pkt[s6.IPv6]))[layer].cksum == sent


def test_home_agent_address_discovery() -> None:
    """RFC 6275 §10.5: a request from the care-of address to the Home-Agents anycast address
    of the home prefix; the reply to the care-of address carries the Identifier and the
    home agent's address."""
    net = network()
    req = s6.IPv6(src=str(COA), dst=HA_ANYCAST) / s6.ICMPv6HAADRequest(id=0x4242, R=0)
    replies = net.ask(req, s6.ICMPv6HAADReply)
    assert len(replies) == 1
    reply = replies[0]
    assert reply[s6.IPv6].dst == str(COA) and reply[s6.IPv6].src == str(HA)
    assert reply[s6.ICMPv6HAADReply].id == 0x4242
    assert reply[s6.ICMPv6HAADReply].addresses == [str(HA)]
    assert_checksum_recomputes(reply, s6.ICMPv6HAADReply)
    # To the home agent's unicast address instead: not discovery, dropped and counted.
    wrong = s6.IPv6(src=str(COA), dst=str(HA)) / s6.ICMPv6HAADRequest(id=1, R=0)
    assert not net.ask(wrong, s6.ICMPv6HAADReply)
    c = net.agent.counters
    assert (c.haad_requests, c.haad_replies_sent, c.haad_not_anycast_drop) == (2, 1, 1)
    assert net.ha.internal_errors == 0


def test_mobile_prefix_discovery() -> None:
    """RFC 6275 §10.6.2: a registered mobile node's solicitation (from the care-of address,
    the home address in the option) gets the home prefix, to the home address through a
    type 2 routing header; an unregistered one gets nothing."""
    net = network()
    sol = (
        s6.IPv6(src=str(COA), dst=str(HA))
        / s6.IPv6ExtHdrDestOpt(options=[s6.HAO(hoa=str(HOA))])
        / s6.ICMPv6MPSol(id=0x77)
    )
    assert not net.ask(sol, s6.ICMPv6MPAdv)
    # RFC 6275 §9.3.1: no binding for that Home Address option: dropped before ICMPv6.
    assert net.agent.cn.counters.hao_no_binding_drop == 1
    net = registered()
    advs = net.ask(sol, s6.ICMPv6MPAdv)
    assert len(advs) == 1
    adv = advs[0]
    assert adv[s6.IPv6].dst == str(COA) and adv[s6.IPv6].src == str(HA)
    rh = adv[s6.IPv6ExtHdrRouting]
    assert (rh.type, rh.segleft, rh.addresses) == (2, 1, [str(HOA)])
    assert adv[s6.ICMPv6MPAdv].id == 0x77
    pi = adv[s6.ICMPv6NDOptPrefixInfo]
    assert (pi.prefix, pi.prefixlen, pi.L, pi.A) == ("2001:db8:10::", 64, 1, 1)
    assert pi.validlifetime > 0 and pi.preferredlifetime > 0
    # The checksum is over the home address (the final destination, RFC 8200 §8.1).
    assert_checksum_recomputes(adv, s6.ICMPv6MPAdv)
    assert net.agent.counters.mpa_sent == 1
    assert net.ha.internal_errors == 0
