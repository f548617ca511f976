"""MLD on simnet: joins and leaves visible as MLD reports and done messages, queries
answered within the delay, report suppression (RFC 2710 §4)."""

from __future__ import annotations

from ipaddress import IPv6Address
from pathlib import Path

from scapy.layers import inet6 as s6
from scapy.layers.l2 import Ether

from tcpip6.io.pcap import read_pcap
from tcpip6.io.sim import SimWorld
from tcpip6.stack.machines.mld import ListenerState
from tcpip6.stack.params import InterfaceParameters
from tests import tshark

GROUP = IPv6Address("ff05::1234")


def mld_frames(path: Path) -> list[Ether]:
    frames = [Ether(f) for _, f in read_pcap(path)]
    return [f for f in frames if s6.ICMPv6MLReport in f or s6.ICMPv6MLDone in f]


def test_join_query_suppression_leave(tmp_path: Path) -> None:
    world = SimWorld(seed=11)
    pcap = tmp_path / "mld.pcap"
    world.capture(pcap)
    a, b = world.host("a"), world.host("b")
    no_dad = InterfaceParameters(dup_addr_detect_transmits=0)
    ia = world.connect(a, "lan", params=no_dad)
    ib = world.connect(b, "lan", params=InterfaceParameters(dup_addr_detect_transmits=0))
    ia.add_static_address(IPv6Address("fe80::a"), 64, 0.0)
    ib.add_static_address(IPv6Address("fe80::b"), 64, 0.0)
    world.run_for(20.0)  # the solicited-node reports settle

    a.join_group(ia, GROUP, world.now)
    assert ia.mld.listeners[GROUP].state is ListenerState.DELAYING_LISTENER
    assert ia.in_group(GROUP) and ia.link.link_address  # the link filter follows
    world.run_for(11.0)
    assert ia.mld.listeners[GROUP].state is ListenerState.IDLE_LISTENER
    b.join_group(ib, GROUP, world.now)
    world.run_for(11.0)

    # A general query (from a router we stand in for): each listener answers within the
    # Maximum Response Delay, and whoever answers second stays quiet (suppression).
    query = (
        Ether(dst="33:33:00:00:00:01", src="02:00:00:00:00:99")
        / s6.IPv6(src="fe80::99", dst="ff02::1", hlim=1)
        / s6.IPv6ExtHdrHopByHop(options=[s6.RouterAlert()])
        / s6.ICMPv6MLQuery(mrd=2000, mladdr="::")
    )
    for host, iface in ((a, ia), (b, ib)):
        host.receive(iface, bytes(query), world.now)
    world.run_for(3.0)
    states = {ia.mld.listeners[GROUP].state, ib.mld.listeners[GROUP].state}
    assert states == {ListenerState.IDLE_LISTENER}
    flags = sorted([ia.mld.listeners[GROUP].last_reporter, ib.mld.listeners[GROUP].last_reporter])
    assert flags == [False, True]  # exactly one reported; the other was suppressed

    a.leave_group(ia, GROUP, world.now)
    b.leave_group(ib, GROUP, world.now)
    world.run_for(1.0)
    world.pcap.close()  # type: ignore[union-attr]

    frames = [
        f
        for f in mld_frames(pcap)
        if (f.getlayer(s6.ICMPv6MLReport) or f.getlayer(s6.ICMPv6MLDone)).mladdr == str(GROUP)
    ]
    for f in frames:
        # RFC 2710 §3: link-local source, hop limit 1, Router Alert in Hop-by-Hop.
        assert f[s6.IPv6].hlim == 1 and f[s6.IPv6].src.startswith("fe80::")
        assert s6.RouterAlert in f
    reports = [f for f in frames if s6.ICMPv6MLReport in f]
    dones = [f for f in frames if s6.ICMPv6MLDone in f]
    # a: report at join and its repeat; b: the same; then one answer to the query.
    assert len(reports) == 5
    assert all(f[s6.IPv6].dst == str(GROUP) for f in reports)
    # Only the last reporter sends Done, to all-routers.
    assert len(dones) == 1 and dones[0][s6.IPv6].dst == "ff02::2"
    assert not ia.in_group(GROUP) and not ib.in_group(GROUP)
    tshark.assert_clean(pcap)


def test_all_nodes_never_reported() -> None:
    world = SimWorld(seed=1)
    a = world.host("a")
    ia = world.connect(a, "lan")
    a.join_group(ia, IPv6Address("ff02::1"), 0.0)
    a.join_group(ia, IPv6Address("ff01::5"), 0.0)  # interface-local scope
    assert ia.mld.listeners == {}
    assert a.icmp.out_msgs == 0
