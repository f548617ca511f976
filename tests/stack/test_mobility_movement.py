"""Movement detection from Neighbor Unreachability Detection of the default router
(RFC 6275 §11.5.1), and the home agent found by Dynamic Home Agent Address Discovery
(RFC 6275 §11.4.1): a tcpip6 mobile node is carried to a foreign link without its link going
down (no link-layer hint); its next packets to the old default router fail NUD, it
solicits routers at once, and the new link's answer is the movement that gets it a care-of
address and a home registration. The frames are read with scapy."""

from __future__ import annotations

import itertools
from ipaddress import IPv6Address, IPv6Network
from typing import Any

from scapy.layers import inet6 as s6
from scapy.layers.l2 import Ether

from tcpip6.apps.demo_mobility import move
from tcpip6.io.sim import SimWorld
from tcpip6.io.simnet import SimPort
from tcpip6.stack.host import Host
from tcpip6.stack.interface import Interface
from tcpip6.stack.link import EthernetLink
from tcpip6.stack.machines.nce import NceState
from tcpip6.stack.machines.registration import RegistrationState
from tcpip6.stack.mobility.home_agent import enable_home_agent
from tcpip6.stack.mobility.mobile_node import DHAAD_RETRIES, MobileNode, enable_mobile_node
from tcpip6.wire import icmpv6 as wire_icmp
from tcpip6.wire.ipv6 import IPPROTO_ICMPV6

HOME = IPv6Network("2001:db8:10::/64")
VISIT = IPv6Network("2001:db8:20::/64")
CNNET = IPv6Network("2001:db8:40::/64")
HOA = HOME[0x100]
HA = HOME[1]


def carry(world: SimWorld, iface: Interface, segment: str) -> None:
    """Unplug ``iface``'s port and plug it into ``segment`` with no link-down/link-up
    event: the host is not told (as behind a switch or an access point it cannot see)."""
    link = iface.link
    assert isinstance(link, EthernetLink) and isinstance(link.port, SimPort)
    old = link.port
    old.segment.detach(old)
    port = world.segment(segment).attach(old.mac)
    port.receiver, port.node = old.receiver, old.node
    link.port = port
    port.set_multicast_filter(link.multicast)


def mobile_node_at_home(
    world: SimWorld, home_agent: IPv6Address | None, others: tuple[Host, ...], seconds: float
) -> tuple[Host, Interface, MobileNode]:
    """Mobile node mn on segment ``home`` with its home address, told ``home_agent`` (None:
    found by discovery); mn and ``others`` started, then ``seconds`` run."""
    mn = world.host("mn")
    mn_if = world.connect(mn, "home")
    mn_if.add_static_address(HOA, 64, world.now)
    node = enable_mobile_node(mn, mn_if, HOA, HOME, home_agent)
    for h in (*others, mn):
        h.start(world.now)
    world.run_for(seconds)
    return mn, mn_if, node


def test_nud_failure_of_the_default_router_starts_movement_detection() -> None:
    world = SimWorld(7)
    frames: list[tuple[float, str, Any]] = []
    world.observers.append(lambda iface, frame, now: frames.append((now, iface.host.name, frame)))
    router = world.router("ha")
    home_if = world.connect_router(router, "home", HOME)
    world.connect_router(router, "visit", VISIT)
    world.connect_router(router, "cnlink", CNNET)
    enable_home_agent(router.host, home_if, HOME, now=world.now)
    cn = world.host("cn")
    world.connect(cn, "cnlink")
    mn, mn_if, node = mobile_node_at_home(
        world, HA, (router.host, cn), 100.0
    )  # the routers' initial advertisements are over
    assert node.at_home and node.router is not None
    cn_address = next(a for a in cn.interfaces[0].source_candidates() if a in CNNET)

    old_router = node.router
    carry(world, mn_if, "visit")
    moved_at = world.now
    frames.clear()
    echo = wire_icmp.EchoRequest(5, 1, b"after the move").build(HOA, cn_address)
    mn.ipv6.send(cn_address, IPPROTO_ICMPV6, echo, world.now, src=HOA)
    world.run_for(20.0)

    # RFC 4861 §7.3.3: the old router's entry went through its probes and failed.
    nce = mn_if.neighbors.entries.get(old_router)
    assert nce is None or nce.state is NceState.UNREACHABLE
    assert node.router != old_router
    assert node.counters.nud_movement_hints == 1
    # RFC 6275 §11.5.1: a Router Solicitation went out at once, the visited link's router
    # answered it (solicited: the only RA on that link since the move), and that was the
    # movement: a care-of address from the visited prefix, registered with the home agent.
    mine = [(t, Ether(f)) for t, host, f in frames if host == "mn"]
    rs = [t for t, p in mine if s6.ICMPv6ND_RS in p]
    ras = [(t, p) for t, host, f in frames if host == "ha" and s6.ICMPv6ND_RA in (p := Ether(f))]
    visit_ras = [
        t
        for t, p in ras
        if any(
            IPv6Address(o.prefix) == VISIT.network_address
            for o in p[s6.ICMPv6ND_RA].iterpayloads()
            if isinstance(o, s6.ICMPv6NDOptPrefixInfo)
        )
    ]
    assert rs and visit_ras and rs[0] < visit_ras[0]
    # NUD: DELAY_FIRST_PROBE_TIME (5 s) and MAX_UNICAST_SOLICIT probes RETRANS_TIMER apart.
    assert 7.0 <= rs[0] - moved_at <= 10.0
    assert node.counters.movements == 1 and not node.at_home
    care_of = node.care_of_address
    assert care_of is not None and care_of in VISIT
    assert node.entry.state is RegistrationState.BOUND
    assert mn.internal_errors == 0


def test_home_agent_found_by_dynamic_discovery() -> None:
    """RFC 6275 §11.4.1: a mobile node given no home agent address asks the Home-Agents
    anycast address of its home prefix from its care-of address, once it has one, and
    registers with the agent the reply names."""
    world = SimWorld(8)
    frames: list[tuple[str, Any]] = []
    world.observers.append(lambda iface, frame, now: frames.append((iface.host.name, frame)))
    router = world.router("ha")
    home_if = world.connect_router(router, "home", HOME)
    world.connect_router(router, "visit", VISIT)
    agent = enable_home_agent(router.host, home_if, HOME, now=world.now)
    mn, mn_if, node = mobile_node_at_home(world, None, (router.host,), 10.0)
    assert not node.agent_known
    move(world, mn_if, "visit")
    world.run_for(10.0)
    requests = [Ether(f) for host, f in frames if host == "mn"]
    requests = [p for p in requests if s6.ICMPv6HAADRequest in p]
    replies = [Ether(f) for host, f in frames if host == "ha"]
    replies = [p for p in replies if s6.ICMPv6HAADReply in p]
    care_of = node.care_of_address
    assert care_of is not None and care_of in VISIT
    assert len(requests) == 1 and len(replies) == 1
    req = requests[0]
    assert IPv6Address(req[s6.IPv6].dst) == IPv6Address("2001:db8:10::fdff:ffff:ffff:fffe")
    assert req[s6.IPv6].src == str(care_of)
    assert replies[0][s6.ICMPv6HAADReply].id == req[s6.ICMPv6HAADRequest].id
    assert node.agent_known and node.home_agent == HA
    # Then the home registration, to the agent found (RFC 6275 §11.7.1).
    assert node.entry.state is RegistrationState.BOUND and node.entry.peer == HA
    assert agent.cache.get(HOA) is not None
    assert node.counters.dhaad_replies_accepted == 1
    assert mn.internal_errors == 0


def test_discovery_is_retried_then_given_up() -> None:
    """RFC 6275 §11.4.1: unanswered, the request goes DHAAD_RETRIES times, the wait
    doubling from INITIAL_DHAAD_TIMEOUT."""
    world = SimWorld(9)
    sent: list[float] = []

    def observe(iface: Interface, frame: bytes, now: float) -> None:
        if iface.host.name == "mn" and s6.ICMPv6HAADRequest in Ether(frame):
            sent.append(now)

    world.observers.append(observe)
    router = world.router("r")  # a router, no home agent
    world.connect_router(router, "home", HOME)
    world.connect_router(router, "visit", VISIT)
    _, mn_if, node = mobile_node_at_home(world, None, (router.host,), 10.0)
    move(world, mn_if, "visit")
    world.run_for(120.0)
    gaps = [round(b - a, 3) for a, b in itertools.pairwise(sent)]
    assert len(sent) == DHAAD_RETRIES and gaps == [3.0, 6.0, 12.0]
    assert node.counters.dhaad_gave_up == 1 and not node.agent_known
    assert node.entry.state is RegistrationState.NO_BINDING
