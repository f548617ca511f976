"""Optimistic DAD (RFC 4429) on a simulated segment, the frames read back with scapy.

A host with ``optimistic_dad`` starts beside a tcpip6 router advertising a prefix. Its
link-local and then its autoconfigured address are usable at once (OPTIMISTIC), and what
it sends while they are keeps to RFC 4429: the DAD NS goes at once (no random delay), the
RS carries no Source Link-Layer Address option and is not sent from the optimistic
address, no NS is sent from an optimistic address, an NA for an optimistic address has
the Override flag clear. A duplicate is still found, and a host without the switch keeps
classic DAD (RFC 4862)."""

from __future__ import annotations

from ipaddress import IPv6Address, IPv6Network

from scapy.layers import inet6 as s6
from scapy.layers.l2 import Ether

from tcpip6.io.sim import SimWorld
from tcpip6.stack.events import AddressConfigured, AddressOptimistic, DuplicateAddress
from tcpip6.stack.interface import Interface
from tcpip6.stack.machines.dad import AddressState
from tcpip6.stack.params import InterfaceParameters
from tcpip6.stack.router import AdvertisingParameters, AdvPrefix
from tcpip6.wire import icmpv6 as wire_icmp

PREFIX = IPv6Network("2001:db8:44::/64")
UNSPECIFIED = "::"


class Wire:
    """Every frame any host sends, with its time and the interface that sent it."""

    def __init__(self, world: SimWorld) -> None:
        self.frames: list[tuple[float, Interface, Ether]] = []
        world.observers.append(
            lambda iface, frame, now: self.frames.append((now, iface, Ether(frame)))
        )

    def sent_by(self, iface: Interface, layer: type) -> list[tuple[float, Ether]]:
        return [(t, f) for t, i, f in self.frames if i is iface and f.haslayer(layer)]


def _setup(optimistic: bool, seed: int = 7) -> tuple[SimWorld, Wire, Interface, Interface]:
    world = SimWorld(seed=seed)
    wire = Wire(world)
    router = world.router("r")
    ri = world.connect_router(router, "lan", PREFIX)
    router.host.start(world.now)
    world.run_for(5.0)  # the router's own addresses are assigned
    host = world.host("a")
    iface = world.connect(host, "lan", params=InterfaceParameters(optimistic_dad=optimistic))
    return world, wire, ri, iface


def test_optimistic_addresses_are_usable_at_once_and_keep_to_rfc_4429() -> None:
    world, wire, _ri, a = _setup(optimistic=True)
    host = a.host
    t0 = world.now
    host.start(t0)
    lla = next(e.address for e in a.addresses)
    # RFC 4429 §3.3: usable at once, flagged optimistic; the DAD NS goes now, undelayed.
    assert a.addresses.get(lla).state is AddressState.OPTIMISTIC  # type: ignore[union-attr]
    assert lla in a.source_candidates()
    world.run_for(0.001)
    dad_ns = [(t, f) for t, f in wire.sent_by(a, s6.ICMPv6ND_NS) if f[s6.IPv6].src == UNSPECIFIED]
    assert [(t, f[s6.ICMPv6ND_NS].tgt) for t, f in dad_ns] == [(t0, str(lla))]
    assert not dad_ns[0][1].haslayer(s6.ICMPv6NDOptSrcLLAddr)

    world.run_for(10.0)
    events = host.events.drain()
    optimistic = {e.address: e.now for e in events if isinstance(e, AddressOptimistic)}
    assigned = {e.address: e.now for e in events if isinstance(e, AddressConfigured)}
    gua = next(a_ for a_ in optimistic if a_ in PREFIX)
    assert optimistic[lla] == t0
    # RFC 4429 §3.3: DAD still runs its DupAddrDetectTransmits x RetransTimer, then the
    # address is preferred.
    assert assigned[lla] == t0 + 1.0
    assert assigned[gua] == optimistic[gua] + 1.0
    assert a.addresses.get(gua).state is AddressState.PREFERRED  # type: ignore[union-attr]

    # RFC 4429 §3.2: the RS sent while the link-local address was optimistic comes from it
    # (the MAY) without a Source Link-Layer Address option (the MUST NOT); RFC 4861 §6.3.7:
    # within MAX_RTR_SOLICITATION_DELAY of the address being usable.
    rs = wire.sent_by(a, s6.ICMPv6ND_RS)
    t_rs, first = rs[0]
    assert t0 <= t_rs < assigned[lla]
    assert first[s6.IPv6].src == str(lla)
    assert not first.haslayer(s6.ICMPv6NDOptSrcLLAddr)
    # RFC 4429 §2.2: no NS ever left from an address while it was optimistic.
    for t, f in wire.sent_by(a, s6.ICMPv6ND_NS):
        src = IPv6Address(f[s6.IPv6].src)
        assert src.is_unspecified or t >= assigned[src], (t, src)


def test_an_optimistic_address_talks_before_dad_ends_and_its_na_does_not_override() -> None:
    world, wire, ri, a = _setup(optimistic=True)
    host = a.host
    prefix2 = IPv6Network("2001:db8:45::/64")
    ri.add_static_address(prefix2[1], 64, world.now)
    host.start(world.now)
    world.run_until(world.now + 5.0)
    host.events.drain()
    # A new prefix: the address formed from it is optimistic when the RA arrives.
    assert ri.host.router is not None
    ri.host.router.advertise(
        ri, AdvertisingParameters(prefixes=(AdvPrefix(PREFIX), AdvPrefix(prefix2)))
    )
    t_new: float | None = None
    while t_new is None and world.now < 60:
        world.run_for(0.05)
        got = [e for e in host.events.drain() if isinstance(e, AddressOptimistic)]
        t_new = got[0].now if got else None
    assert t_new is not None
    new = next(e.address for e in a.addresses if e.address in prefix2)
    assert a.addresses.get(new).state is AddressState.OPTIMISTIC  # type: ignore[union-attr]
    # RFC 4429 §2.1: not preferred over a preferred address of the same scope.
    old = next(e.address for e in a.addresses if e.address in PREFIX)
    order = a.source_candidates()
    assert order.index(old) < order.index(new)
    # The optimistic address is a source now: an echo from it to the router's address on
    # its prefix is answered before its DAD ends.
    echo = wire_icmp.EchoRequest(9, 1, b"optimistic")
    assert host.icmpv6.send(prefix2[1], echo, world.now, src=new)
    world.run_for(0.5)
    assert world.now < t_new + 1.0
    assert [(r.src, r.dst) for r in host.icmpv6.echo_replies] == [(prefix2[1], new)]
    # The router resolved the optimistic address: the NA for it has O=0 (RFC 4429 §2.2),
    # and no NS went from it.
    na = [f for t, f in wire.sent_by(a, s6.ICMPv6ND_NA) if f[s6.ICMPv6ND_NA].tgt == str(new)]
    assert na and all(f[s6.ICMPv6ND_NA].O == 0 and f[s6.ICMPv6ND_NA].S == 1 for f in na)
    assert all(f[s6.IPv6].src != str(new) for _, f in wire.sent_by(a, s6.ICMPv6ND_NS))
    # After DAD the address is preferred and its NAs override again.
    world.run_for(2.0)
    assert a.addresses.get(new).state is AddressState.PREFERRED  # type: ignore[union-attr]
    assert ri.neighbors.get(new) is not None
    ri.neighbors.remove(new)
    host.icmpv6.echo_replies.clear()
    ri.host.icmpv6.send_echo_request(new, 9, 2, b"assigned", world.now)
    world.run_for(0.5)
    na = [f for t, f in wire.sent_by(a, s6.ICMPv6ND_NA) if f[s6.ICMPv6ND_NA].tgt == str(new)]
    assert na[-1][s6.ICMPv6ND_NA].O == 1


def test_no_ns_from_an_optimistic_address_the_packet_waits_for_dad() -> None:
    world, wire, _ri, a = _setup(optimistic=True)
    host = a.host
    b = world.host("b")
    bi = world.connect(b, "lan")
    b.start(world.now)
    world.run_for(3.0)
    b_lla = next(x for x in bi.source_candidates() if x.is_link_local)
    host.start(world.now)
    t0 = world.now
    # At once, with only the optimistic link-local address: resolution waits (RFC 4429 §3.2).
    host.icmpv6.send_echo_request(b_lla, 3, 1, b"x", world.now)
    world.run_for(4.0)
    assert host.nd.ns_optimistic_source_deferred >= 1
    lla = next(e.address for e in a.addresses if e.address.is_link_local)
    ns = [(t, f) for t, f in wire.sent_by(a, s6.ICMPv6ND_NS) if f[s6.ICMPv6ND_NS].tgt == str(b_lla)]
    assert ns and all(t >= t0 + 1.0 and f[s6.IPv6].src == str(lla) for t, f in ns)
    assert [r.src for r in host.icmpv6.echo_replies] == [b_lla]


def test_a_duplicate_optimistic_address_is_still_detected() -> None:
    world, _wire, _ri, a = _setup(optimistic=True)
    lla = IPv6Address(0xFE80 << 112 | int.from_bytes(a.link.interface_identifier(), "big"))
    # Another node holds a's link-local address (configured by hand, assigned).
    b = world.host("b")
    bi = world.connect(b, "lan")
    bi.add_static_address(lla, 64, world.now)
    world.run_for(2.0)
    assert lla in bi.source_candidates()
    a.host.start(world.now)
    world.run_for(2.0)
    nte = a.addresses.get(lla)
    assert nte is not None and nte.state is AddressState.DUPLICATE
    assert lla not in a.source_candidates()
    assert [e.address for e in a.host.events.drain() if isinstance(e, DuplicateAddress)] == [lla]
    assert a.addresses.autoconf_disabled  # RFC 4862 §5.4.5: the hardware address


def test_classic_dad_without_the_switch() -> None:
    world, wire, _ri, a = _setup(optimistic=False)
    a.host.start(world.now)
    lla = next(e.address for e in a.addresses)
    assert a.addresses.get(lla).state is AddressState.TENTATIVE  # type: ignore[union-attr]
    assert a.source_candidates() == []
    world.run_for(10.0)
    assert not [e for e in a.host.events.drain() if isinstance(e, AddressOptimistic)]
    rs = wire.sent_by(a, s6.ICMPv6ND_RS)
    assert rs[0][1][s6.IPv6].src == str(lla)
    assert rs[0][1].haslayer(s6.ICMPv6NDOptSrcLLAddr)


def test_another_nodes_dad_ns_for_an_optimistic_address_makes_it_a_duplicate() -> None:
    """RFC 4429 §3.3: an NS from the unspecified address for an optimistic address is not
    answered; the address is a duplicate, as a tentative one would be (RFC 4862 §5.4.3)."""
    world, wire, _ri, a = _setup(optimistic=True)
    a.host.start(world.now)
    lla = next(e.address for e in a.addresses)
    world.run_for(0.2)
    other = world.segment("lan").attach(bytes.fromhex("020000004429"))
    group = IPv6Address(int(IPv6Address("ff02::1:ff00:0")) | int(lla) & 0xFFFFFF)
    ns = (
        Ether(src="02:00:00:00:44:29", dst="33:33:" + group.packed[-4:].hex(":"))
        / s6.IPv6(src="::", dst=str(group), hlim=255)
        / s6.ICMPv6ND_NS(tgt=str(lla))
    )
    other.send_frame(bytes(ns))
    world.run_for(0.1)
    nte = a.addresses.get(lla)
    assert nte is not None and nte.state is AddressState.DUPLICATE
    assert not wire.sent_by(a, s6.ICMPv6ND_NA)  # not answered
    assert [e.address for e in a.host.events.drain() if isinstance(e, DuplicateAddress)] == [lla]
