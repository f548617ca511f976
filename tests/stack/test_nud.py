"""Address resolution and Neighbor Unreachability Detection on simnet with a fake clock:
INCOMPLETE -> REACHABLE -> STALE -> DELAY -> PROBE -> unreachable (entry removed) when the
neighbor goes silent; DELAY -> REACHABLE on an upper-layer hint; resolution failure
answered with ICMPv6 address unreachable."""

from __future__ import annotations

import itertools
from ipaddress import IPv6Address, IPv6Network

from tcpip6.io.sim import SimWorld
from tcpip6.stack.events import NeighborUnreachableEvent
from tcpip6.stack.host import Host
from tcpip6.stack.interface import Interface
from tcpip6.stack.machines.graph import TransitionRecord
from tcpip6.stack.machines.nce import NceState
from tcpip6.stack.params import InterfaceParameters
from tcpip6.stack.tcp.sender import REACHABILITY_HINT_INTERVAL
from tcpip6.wire import icmpv6 as wi
from tcpip6.wire import nd as wn

A = IPv6Address("fe80::a")
B = IPv6Address("fe80::b")


def setup() -> tuple[SimWorld, Host, Host, Interface, Interface, list[TransitionRecord]]:
    world = SimWorld(seed=3)
    a, b = world.host("a"), world.host("b")
    ia = world.connect(a, "lan", params=InterfaceParameters(dup_addr_detect_transmits=0))
    ib = world.connect(b, "lan", params=InterfaceParameters(dup_addr_detect_transmits=0))
    ia.add_static_address(A, 64, 0.0)
    ib.add_static_address(B, 64, 0.0)
    trace: list[TransitionRecord] = []
    a.trace_sink = trace.append
    world.run_for(0.1)
    return world, a, b, ia, ib, trace


def nce_path(trace: list[TransitionRecord], who: IPv6Address) -> list[str]:
    return [
        f"{r.old}-{r.trigger}->{r.new}"
        for r in trace
        if r.graph == "nce" and r.entity.endswith(str(who))
    ]


def test_silent_neighbor_goes_stale_delay_probe_unreachable() -> None:
    world, a, _b, ia, ib, trace = setup()
    a.icmpv6.send_echo_request(B, 1, 1, b"", world.now)
    world.run_for(1.0)
    nce = ia.neighbors.get(B)
    assert nce is not None and nce.state is NceState.REACHABLE
    assert nce.link_address == ib.link.link_address
    # ReachableTime (at most 1.5 * 30 s) passes with no confirmation: STALE.
    world.run_for(46.0)
    assert nce.state is NceState.STALE
    # b goes silent; a sends: DELAY, then PROBE after DELAY_FIRST_PROBE_TIME, then three
    # unicast probes RetransTimer apart, then the entry is removed.
    ib.link.port.up = False  # type: ignore[attr-defined]
    world.observers.append(lambda i, f, t: sent.append((t, f)))
    sent: list[tuple[float, bytes]] = []
    t0 = world.now
    a.icmpv6.send_echo_request(B, 1, 2, b"", world.now)
    assert nce.state is NceState.DELAY
    world.run_for(5.5)
    assert nce.state is NceState.PROBE
    world.run_for(10.0)
    assert ia.neighbors.get(B) is None
    assert [e.neighbor for e in a.events.drain() if isinstance(e, NeighborUnreachableEvent)] == [B]
    assert nce_path(trace, B) == [
        "INCOMPLETE-solicited_na->REACHABLE",
        "REACHABLE-reachable_timeout->STALE",
        "STALE-send_packet->DELAY",
        "DELAY-delay_timeout->PROBE",
        "PROBE-probes_exhausted->UNREACHABLE",
    ]
    # On the wire: the echo at t0, then 3 unicast NS (to b's MAC) at t0+5, +6, +7.
    probes = [(round(t - t0, 3), f[:6]) for t, f in sent if f[54] == wn.NEIGHBOR_SOLICITATION]
    assert probes == [
        (5.0, ib.link.link_address),
        (6.0, ib.link.link_address),
        (7.0, ib.link.link_address),
    ]


def test_upper_layer_hint_moves_delay_to_reachable() -> None:
    world, a, _b, ia, _ib, trace = setup()
    a.icmpv6.send_echo_request(B, 1, 1, b"", world.now)
    world.run_for(46.0)
    a.icmpv6.send_echo_request(B, 1, 2, b"", world.now)
    nce = ia.neighbors.get(B)
    assert nce is not None and nce.state is NceState.DELAY
    a.reachability_confirmed(B, world.now)
    assert nce.state is NceState.REACHABLE
    world.run_for(6.0)
    assert nce.state is NceState.REACHABLE  # no probe was needed
    assert nce_path(trace, B)[-1] == "DELAY-reachability_confirmed->REACHABLE"


def test_upper_layer_hint_for_an_off_link_peer_confirms_its_router() -> None:
    """RFC 4861 §7.3.1: forward progress to an off-link destination confirms the next
    hop, the router its route cache entry names, not an entry for the destination."""
    world = SimWorld(seed=5)
    router = world.router("r")
    world.connect_router(router, "lan1", IPv6Network("2001:db8:1::/64"))
    world.connect_router(router, "lan2", IPv6Network("2001:db8:2::/64"))
    a, c = world.host("a"), world.host("c")
    ia, ic = world.connect(a, "lan1"), world.connect(c, "lan2")
    for host in (router.host, a, c):
        host.start(world.now)
    world.run_for(10.0)
    far = next(x for x in ic.source_candidates() if not x.is_link_local)
    a.icmpv6.send_echo_request(far, 1, 1, b"", world.now)
    world.run_for(1.0)
    (rce,) = [r for (dst, _), r in a.routes.route_cache.items() if dst == far]
    hop = ia.neighbors.get(rce.next_hop)
    assert hop is not None and rce.next_hop.is_link_local
    world.run_for(50.0)  # past ReachableTime: STALE
    a.icmpv6.send_echo_request(far, 1, 2, b"", world.now)
    assert hop.state is NceState.DELAY
    a.reachability_confirmed(far, world.now)
    assert hop.state is NceState.REACHABLE
    assert ia.neighbors.get(far) is None


def test_resolution_failure_answers_address_unreachable() -> None:
    world, a, _b, ia, _ib, trace = setup()
    nobody = IPv6Address("fe80::99")
    a.icmpv6.send_echo_request(nobody, 1, 1, b"", world.now)
    world.run_for(5.0)
    # MAX_MULTICAST_SOLICIT NSs, then the entry is deleted and the queued packet answered.
    assert a.nd.out_neighbor_solicitations == 3
    assert ia.neighbors.get(nobody) is None
    (err,) = a.icmpv6.errors_received
    assert (err.type, err.code) == (wi.DESTINATION_UNREACHABLE, wi.UNREACH_ADDRESS)
    assert nce_path(trace, nobody) == ["INCOMPLETE-resolution_failed->UNREACHABLE"]


def test_address_resolution_uses_the_source_of_the_prompting_packet() -> None:
    """RFC 4861 §7.2.2: the NS carries the prompting packet's source when it is one of the
    interface's addresses (here not the one source selection would pick)."""
    from scapy.layers import inet6 as s6
    from scapy.layers.l2 import Ether

    world = SimWorld(seed=9)
    a, b = world.host("a"), world.host("b")
    ia = world.connect(a, "lan", params=InterfaceParameters(dup_addr_detect_transmits=0))
    ib = world.connect(b, "lan", params=InterfaceParameters(dup_addr_detect_transmits=0))
    for iface, text in ((ia, "2001:db8:a::1"), (ia, "2001:db8:a::2"), (ib, "2001:db8:a::10")):
        iface.add_static_address(IPv6Address(text), 64, world.now)
    world.run_for(1.0)
    sent: list[Ether] = []
    world.observers.append(lambda iface, f, now: sent.append(Ether(f)))
    dst = IPv6Address("2001:db8:a::10")
    assert a.select_source(ia, dst) == IPv6Address("2001:db8:a::1")
    a.icmpv6.send(dst, wi.EchoRequest(1, 1, b"x"), world.now, src=IPv6Address("2001:db8:a::2"))
    world.run_for(1.0)
    [ns] = [f for f in sent if s6.ICMPv6ND_NS in f and f[s6.ICMPv6ND_NS].tgt == str(dst)]
    assert ns[s6.IPv6].src == "2001:db8:a::2"
    assert [r.dst for r in a.icmpv6.echo_replies] == [IPv6Address("2001:db8:a::2")]


def test_tcp_forward_progress_keeps_the_neighbor_reachable_once_per_interval() -> None:
    """RFC 4861 §7.3.1: new ACKs confirm the next hop, so a connection that keeps
    moving data never lets its neighbor go STALE and never probes it, though it lasts
    several ReachableTimes; the TCP sender reports progress at most once per
    REACHABILITY_HINT_INTERVAL, not for every ACK."""
    world, a, b, ia, _ib, trace = setup()
    ia.params.reachable_time = 2.0
    listener = b.tcp.listen(B, 7000, 1, world.now)
    conn = a.tcp.connect(B, 7000, world.now)
    world.run_for(0.2)
    peer = listener.accept_queue.popleft()
    world.observers.append(lambda i, f, t: sent.append(f))
    sent: list[bytes] = []
    start, got = world.now, 0
    while world.now - start < 7.0:
        conn.send(bytes(1000), world.now)
        got += len(peer.read(1 << 16, world.now))
        world.run_for(0.01)
    nce = ia.neighbors.get(B)
    assert nce is not None and nce.state is NceState.REACHABLE
    assert got > 600_000
    # No Neighbor Solicitation left a (the frames a sends come from its MAC).
    solicitations = [f for f in sent if f[6:12] == ia.link.link_address and f[54] == 135]
    assert solicitations == []
    hints = [
        r.now
        for r in trace
        if r.graph == "nce" and r.trigger == "reachability_confirmed" and r.now is not None
    ]
    assert hints and hints[0] >= start
    gaps = [later - earlier for earlier, later in itertools.pairwise(hints)]
    assert len(hints) >= 7.0 / 2.0  # at least one per ReachableTime
    assert min(gaps) >= REACHABILITY_HINT_INTERVAL - 1e-9
    assert len(hints) <= 7.0 / REACHABILITY_HINT_INTERVAL + 2
