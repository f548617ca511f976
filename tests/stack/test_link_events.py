"""A link that goes down and comes back (Host.link_down / Host.link_up) on simnet, with a
tcpip6 router advertising a prefix: while down nothing leaves the interface (dropped and
counted); when it is up again every address is tentative and checked by DAD again (RFC
4862 §5.3, RFC 4862 §5.4), routers are solicited again (RFC 4861 §6.3.7), dynamic neighbor entries
are gone and resolved anew. Asserted on the frames (scapy decodes them) and the tables."""

from __future__ import annotations

from ipaddress import IPv6Address, IPv6Network
from typing import Any

from scapy.layers import inet6 as s6
from scapy.layers.l2 import Ether

from tcpip6.io.sim import SimWorld
from tcpip6.stack.machines.dad import AddressState
from tcpip6.stack.machines.nce import NceState
from tests.removal_questions import answers, removal_questions
from tests.stack.conftest import routed_lan

PREFIX = IPv6Network("2001:db8:1::/64")


def test_link_down_then_up_runs_dad_and_router_solicitation_again() -> None:
    world = SimWorld(seed=11)
    _, ir, (a, _b), (ia, ib) = routed_lan(world, PREFIX, ("a", "b"))
    sent: list[tuple[float, bytes]] = []
    world.observers.append(
        lambda iface, frame, now: sent.append((now, frame)) if iface is ia else None
    )
    b_global = next(e.address for e in ib.addresses if e.address in PREFIX)
    a.icmpv6.send_echo_request(b_global, 1, 1, b"x", world.now)
    world.run_for(1.0)
    assert ia.neighbors.get(b_global) is not None

    a.link_down(ia, world.now)
    before = len(sent)
    a.icmpv6.send_echo_request(b_global, 1, 2, b"x", world.now)
    world.run_for(5.0)
    assert len(sent) == before  # nothing left the interface
    assert ia.counters.link_down_drop >= 1
    # The echo found no source: a down link's addresses start nothing new.
    assert a.ip.link_down_no_source == 1 and a.select_source(ia, b_global) is None

    up_at = world.now
    r_lla = next(e.address for e in ir.addresses if e.address.is_link_local)
    a.link_up(ia, world.now)
    assert {e.state for e in ia.addresses} == {AddressState.TENTATIVE}
    # RFC 6059: only the default router's entry stays, to be probed; b's went.
    assert list(ia.neighbors.entries) == [r_lla] and ia.attachment_candidates == [r_lla]
    assert ia.addresses.counters.dad_restarted_link_up == 2
    world.run_for(5.0)
    assert {e.state for e in ia.addresses} == {AddressState.PREFERRED}

    frames = [(t, Ether(f)) for t, f in sent if t >= up_at]
    own = {e.address for e in ia.addresses}
    # RFC 4862 §5.4.2: DAD's NSs come from the unspecified address, for each address.
    dad = {
        IPv6Address(p[s6.ICMPv6ND_NS].tgt)
        for _, p in frames
        if s6.ICMPv6ND_NS in p and p[s6.IPv6].src == "::"
    }
    assert dad == own
    # RFC 4861 §6.3.7: a Router Solicitation again, after the link-local address is back.
    rs = [t for t, p in frames if s6.ICMPv6ND_RS in p]
    assert rs, [p.summary() for _, p in frames]
    # RFC 6059: the router was probed with a unicast NS to the MAC it had, from the
    # link-local address once DAD was over; it answered, so it stays with what it taught.
    lla = next(e.address for e in ia.addresses if e.address.is_link_local)
    probes = [
        (t, p)
        for t, p in frames
        if s6.ICMPv6ND_NS in p
        and p[s6.ICMPv6ND_NS].tgt == str(r_lla)
        and p[s6.IPv6].dst == str(r_lla)
    ]
    assert len(probes) == 1 and probes[0][1][Ether].dst == ir.link.link_address.hex(":")
    assert probes[0][1][s6.IPv6].src == str(lla) and probes[0][0] >= min(rs) - 1.0
    nce = ia.neighbors.get(r_lla)
    assert nce is not None and nce.state is NceState.REACHABLE and a.nd.attachment_probes == 1
    assert [e.router for e in a.routes.default_router_list] == [r_lla]
    # RFC 2710 §4: every reported group is announced again (the solicited-node group of the
    # two addresses, one interface identifier), each Report repeated once.
    reported = [p[s6.ICMPv6MLReport].mladdr for _, p in frames if s6.ICMPv6MLReport in p]
    groups = {str(g) for g in ia.mld.groups() if g != IPv6Address("ff02::1")}
    assert set(reported) == groups and groups
    assert all(reported.count(g) == 2 for g in groups), reported
    # The neighbor entry for b went with the link: a new exchange resolves it again.
    a.icmpv6.send_echo_request(b_global, 1, 3, b"x", world.now)
    world.run_for(2.0)
    nce = ia.neighbors.get(b_global)
    assert nce is not None and nce.state is not NceState.INCOMPLETE
    resolved = [p for t, f in sent if (p := Ether(f)) and s6.ICMPv6ND_NS in p]
    assert any(IPv6Address(p[s6.ICMPv6ND_NS].tgt) == b_global for p in resolved)


def test_a_router_that_no_longer_answers_is_dropped_after_its_probes() -> None:
    """RFC 6059: back on a link where the old router is not (it went down meanwhile), the
    probes (NUD's MAX_UNICAST_SOLICIT unicast NSs, RFC 4861 §7.3.3) go unanswered and the
    entry is removed; the Router Solicitations go out as always."""
    world = SimWorld(seed=12)
    router, ir, (a,), (ia,) = routed_lan(world, PREFIX, ("a",))
    r_lla = next(e.address for e in ir.addresses if e.address.is_link_local)
    assert ia.neighbors.get(r_lla) is not None
    sent: list[bytes] = []
    world.observers.append(lambda iface, frame, now: sent.append(frame) if iface is ia else None)
    a.link_down(ia, world.now)
    router.host.link_down(ir, world.now)
    a.link_up(ia, world.now)
    world.run_for(10.0)
    frames = [Ether(f) for f in sent]
    probes = [p for p in frames if s6.ICMPv6ND_NS in p and p[s6.IPv6].dst == str(r_lla)]
    assert len(probes) == 3  # MAX_UNICAST_SOLICIT
    assert ia.neighbors.get(r_lla) is None and a.nd.attachment_probes == 1
    assert [p for p in frames if s6.ICMPv6ND_RS in p]


def test_a_link_that_never_went_down_is_left_alone() -> None:
    world = SimWorld(seed=3)
    a = world.host("a")
    ia = world.connect(a, "lan")
    a.start(world.now)
    world.run_for(5.0)
    a.link_up(ia, world.now)
    assert {e.state for e in ia.addresses} == {AddressState.PREFERRED}
    assert ia.addresses.counters.dad_restarted_link_up == 0


def _attached(entities: list[object]) -> list[object]:
    """Those of ``entities`` that a graph still holds as a model."""
    from tcpip6.stack.machines import dad, mld, nce, router_solicitation

    graphs = (dad.GRAPH, mld.GRAPH, nce.GRAPH, router_solicitation.GRAPH)
    return [e for e in entities if any(g.attached(e) for g in graphs)]


def test_a_removed_interface_leaves_nothing_behind() -> None:
    import errno

    world = SimWorld(seed=4)
    router = world.router("r")
    world.connect_router(router, "lan", PREFIX)
    router.host.start(world.now)
    a, b, c = world.host("a"), world.host("b"), world.host("c")
    ia1, ia2 = world.connect(a, "lan"), world.connect(a, "lan2")
    ib, ic = world.connect(b, "lan"), world.connect(c, "lan2")
    for h in (a, b, c):
        h.start(world.now)
    world.run_for(10.0)
    b_global = next(e.address for e in ib.addresses if e.address in PREFIX)
    b.tcp.listen(IPv6Address("::"), 7, 4, world.now)
    conn = a.tcp.connect(b_global, 7, world.now)
    world.run_for(1.0)
    assert conn.state.name == "ESTABLISHED"
    entities: list[object] = [*ia1.addresses, *ia1.neighbors.entries.values(), ia1.solicitor]
    entities += list(ia1.mld.listeners.values())
    assert len(_attached(entities)) == len(entities) > 5
    assert any(e.interface is ia1 for e in a.routes.default_router_list)

    a.remove_interface(ia1, world.now)
    assert a.interfaces == [ia2]
    # As on Linux, the connection is not aborted: its next segments find no route, and it
    # times out (RFC 1122 §4.2.3.5 R2) with that soft error, ENETUNREACH (RFC 5461 §4).
    assert conn.state.name == "ESTABLISHED" and conn.error is None
    conn.send(b"data", world.now)
    world.run_for(200.0)
    assert conn.state.name == "CLOSED" and conn.error is not None
    assert conn.error.errno == errno.ENETUNREACH
    table = a.routes
    assert not [k for k in table.prefix_list if k[0] is ia1]
    assert not [e for e in table.default_router_list if e.interface is ia1]
    assert not [r for r in table.route_cache.values() if r.interface is ia1]
    assert _attached(entities) == []  # every graph forgot them
    assert ia1.counters.link_down_drop >= 1  # the MLD Dones it would have sent
    # The other interface works on; a new one gets an index never used before.
    c_lla = next(e.address for e in ic.addresses if e.address.is_link_local)
    a.icmpv6.send_echo_request(c_lla, 9, 1, b"x", world.now, interface=ia2)
    world.run_for(2.0)
    assert ia2.neighbors.get(c_lla) is not None
    ia3 = world.connect(a, "lan3")
    assert ia3.index == 3


#: What a socket sees after its interface was removed, as Linux answers (the interop test
#: tests/interop/test_link_removal.py asks the kernel the same questions and compares).
AFTER_REMOVAL = {
    "send_bound_to_address": "ENETUNREACH",
    "send_bound_to_link_local": "ENETUNREACH",
    "send_connected": "ENETUNREACH",
    "sendto_scope_id": "ENETUNREACH",
    "bind_scope_id": "ENODEV",
    "bind_address": "EADDRNOTAVAIL",
}


def sockets_after_removal() -> dict[str, str]:
    """Sockets of a tcpip6 host bound to, connected through and naming an interface that is
    then removed: what each socket call gives afterwards ("ok" or the errno's name)."""
    import socket as so

    from tcpip6.api.sockets import Stack
    from tcpip6.io.runtime import SimDriver

    world = SimWorld(seed=5)
    router = world.router("r")
    world.connect_router(router, "lan", PREFIX)
    router.host.start(world.now)
    a, b = world.host("a"), world.host("b")
    ia1, ib = world.connect(a, "lan"), world.connect(b, "lan")
    world.connect(a, "lan2")
    for h in (a, b):
        h.start(world.now)
    world.run_for(10.0)
    stack = Stack(a, SimDriver(world))
    own = next(e.address for e in ia1.addresses if e.address in PREFIX)
    lla = next(e.address for e in ia1.addresses if e.address.is_link_local)
    peer = str(next(e.address for e in ib.addresses if e.address in PREFIX))
    peer_ll = str(next(e.address for e in ib.addresses if e.address.is_link_local))
    index = ia1.index

    def udp() -> Any:
        return stack.socket(so.AF_INET6, so.SOCK_DGRAM)

    calls = removal_questions(udp, str(own), str(lla), peer, peer_ll, index)
    before = {name: call() for name, call in calls.items() if name.startswith("send")}
    assert all(n == 1 for n in before.values()), before  # each worked while it was there
    a.remove_interface(ia1, world.now)
    return answers(calls)


def test_sockets_of_a_removed_interface_get_the_errors_linux_gives() -> None:
    assert sockets_after_removal() == AFTER_REMOVAL
