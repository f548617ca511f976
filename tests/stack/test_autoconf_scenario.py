"""One segment, a tcpip6 router advertising 2001:db8:1::/64 and three tcpip6 hosts: all form
link-local and global addresses after DAD, resolve each other by ND and ping each other
by global address; a fourth host configured with a duplicate address detects it and does
not use it. Asserted on the hosts' data structures and on the packets in the pcap."""

from __future__ import annotations

from ipaddress import IPv6Address, IPv6Network
from pathlib import Path

from scapy.layers import inet6 as s6
from scapy.layers.l2 import Ether

from tcpip6.io.pcap import read_pcap
from tcpip6.io.sim import SimWorld
from tcpip6.stack.events import AddressConfigured, DuplicateAddress
from tcpip6.stack.machines.dad import AddressState
from tcpip6.stack.machines.nce import NceState
from tests import tshark

PREFIX = IPv6Network("2001:db8:1::/64")


def test_three_hosts_autoconfigure_resolve_and_ping(tmp_path: Path) -> None:
    world = SimWorld(seed=5)
    pcap = tmp_path / "autoconf.pcap"
    world.capture(pcap)
    router = world.router("r")
    ri = world.connect_router(router, "lan", PREFIX)
    router.host.start(world.now)
    hosts = {n: world.host(n) for n in "abc"}
    ifaces = {n: world.connect(h, "lan") for n, h in hosts.items()}
    for h in hosts.values():
        h.start(world.now)
    world.run_for(10.0)

    globals_: dict[str, IPv6Address] = {}
    for n, iface in ifaces.items():
        states = {e.address: e.state for e in iface.addresses}
        lla = [a for a in states if a.is_link_local]
        gua = [a for a in states if a in PREFIX]
        assert len(lla) == 1 and len(gua) == 1, states
        assert states[lla[0]] is AddressState.PREFERRED
        assert states[gua[0]] is AddressState.PREFERRED
        # The interface identifier is the modified EUI-64 of the NIC (RFC 2464 §4).
        assert gua[0].packed[8:] == iface.link.interface_identifier() == lla[0].packed[8:]
        globals_[n] = gua[0]
        configured = [e for e in hosts[n].events.drain() if isinstance(e, AddressConfigured)]
        assert {e.address for e in configured} == {lla[0], gua[0]}
        # The router is in the default router list and in the neighbor cache as a router.
        router_lla = next(a for a in ri.source_candidates() if a.is_link_local)
        assert [r.router for r in hosts[n].routes.default_router_list] == [router_lla]
        nce = iface.neighbors.get(router_lla)
        assert nce is not None and nce.is_router and nce.link_address == ri.link.link_address

    for src in "abc":
        for dst in "abc":
            if src != dst:
                hosts[src].icmpv6.send_echo_request(globals_[dst], 7, ord(dst), b"x", world.now)
                world.run_for(2.0)
    for n in "abc":
        got = sorted(str(r.src) for r in hosts[n].icmpv6.echo_replies)
        assert got == sorted(str(globals_[m]) for m in "abc" if m != n)
        # Neighbors were resolved by ND: entries hold the right link addresses.
        for m in "abc":
            if m != n:
                nce = ifaces[n].neighbors.get(globals_[m])
                assert nce is not None and nce.link_address == ifaces[m].link.link_address
                assert nce.state in (NceState.REACHABLE, NceState.STALE, NceState.DELAY)

    # A fourth host, configured by hand with a's global address, detects the duplicate.
    d = world.host("d")
    idd = world.connect(d, "lan")
    idd.add_static_address(globals_["a"], 64, world.now)
    world.run_for(5.0)
    nte = idd.addresses.get(globals_["a"])
    assert nte is not None and nte.state is AddressState.DUPLICATE
    assert globals_["a"] not in idd.source_candidates()
    assert [e.address for e in d.events.drain() if isinstance(e, DuplicateAddress)] == [
        globals_["a"]
    ]
    assert d.nd.duplicate_addresses == 1
    # a is untouched: its address is still preferred.
    nte_a = ifaces["a"].addresses.get(globals_["a"])
    assert nte_a is not None and nte_a.state is AddressState.PREFERRED
    world.pcap.close()  # type: ignore[union-attr]

    frames = [Ether(f) for _, f in read_pcap(pcap)]
    # DAD: NS from :: to the solicited-node group, no source link-layer option (RFC 4862).
    dad = [f for f in frames if s6.ICMPv6ND_NS in f and f[s6.IPv6].src == "::"]
    assert {f[s6.ICMPv6ND_NS].tgt for f in dad} >= {str(a) for a in globals_.values()}
    assert all(f[s6.IPv6].hlim == 255 and s6.ICMPv6NDOptSrcLLAddr not in f for f in dad)
    # d's DAD for a's address was answered by a with an NA to all-nodes, S=0, O=1.
    answers = [
        f
        for f in frames
        if s6.ICMPv6ND_NA in f
        and f[s6.ICMPv6ND_NA].tgt == str(globals_["a"])
        and f[s6.IPv6].dst == "ff02::1"
    ]
    assert answers and answers[-1][s6.ICMPv6ND_NA].S == 0 and answers[-1][s6.ICMPv6ND_NA].O == 1
    # Address resolution: multicast NS with a source link-layer option, solicited NA back.
    resolution = [
        f
        for f in frames
        if s6.ICMPv6ND_NS in f
        and f[s6.IPv6].src != "::"
        and f[s6.IPv6].dst.startswith("ff02::1:ff")
    ]
    assert resolution and all(s6.ICMPv6NDOptSrcLLAddr in f for f in resolution)
    # Router solicitations come from usable link-local addresses (a host that hears an
    # advertisement while it is still delaying sends none: RFC 4861 §6.3.7).
    rs = [f for f in frames if s6.ICMPv6ND_RS in f]
    link_locals = {str(a) for n in "abc" for a in ifaces[n].source_candidates() if a.is_link_local}
    assert rs and {f[s6.IPv6].src for f in rs} <= link_locals
    assert all(s6.ICMPv6NDOptSrcLLAddr in f and f[s6.IPv6].dst == "ff02::2" for f in rs)
    tshark.assert_clean(pcap)
