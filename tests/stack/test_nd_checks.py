"""Neighbor Discovery validity checks (RFC 4861 §6.1, §7.1, §8.1) and Router
Advertisement processing (§6.3.4), by injecting crafted messages into a host."""

from __future__ import annotations

from typing import Any

import pytest
from scapy.layers import inet6 as s6
from scapy.layers.l2 import Ether
from scapy.packet import Packet

from tests.stack.conftest import A_LL, B_LL, Pair


def inject(pair: Pair, pkt: Packet, dst_mac: str | None = None) -> None:
    frame = (
        Ether(
            src=pair.ia.link.link_address.hex(":"),
            dst=dst_mac or pair.ib.link.link_address.hex(":"),
        )
        / pkt
    )
    pair.b.receive(pair.ib, bytes(frame), pair.world.now)
    pair.world.run_for(0.1)


def ns(**kw: Any) -> Packet:
    return s6.ICMPv6ND_NS(tgt=str(B_LL), **kw)


SLLA = s6.ICMPv6NDOptSrcLLAddr(lladdr="02:00:5e:00:00:01")


@pytest.mark.parametrize(
    ("pkt", "counter"),
    [
        (s6.IPv6(src=str(A_LL), dst=str(B_LL), hlim=64) / ns() / SLLA, "hop_limit_not_255_drop"),
        (s6.IPv6(src=str(A_LL), dst=str(B_LL), hlim=255) / ns(code=1) / SLLA, "code_not_zero_drop"),
        (
            s6.IPv6(src="::", dst=str(B_LL), hlim=255) / ns(),
            "ns_unspecified_source_not_solicited_node_drop",
        ),
        (
            s6.IPv6(src="::", dst="ff02::1:ff00:b", hlim=255) / ns() / SLLA,
            "ns_unspecified_source_with_sllao_drop",
        ),
        (
            s6.IPv6(src=str(A_LL), dst=str(B_LL), hlim=255) / s6.ICMPv6ND_NS(tgt="ff02::1"),
            "ns_target_multicast_drop",
        ),
        (
            s6.IPv6(src=str(A_LL), dst="ff02::1", hlim=255) / s6.ICMPv6ND_NA(tgt=str(A_LL), S=1),
            "na_solicited_to_multicast_drop",
        ),
        (
            s6.IPv6(src="2001:db8::1", dst="ff02::1", hlim=255) / s6.ICMPv6ND_RA(),
            "ra_source_not_link_local_drop",
        ),
        (
            s6.IPv6(src=str(A_LL), dst="ff02::1", hlim=64) / s6.ICMPv6ND_RA(),
            "hop_limit_not_255_drop",
        ),
        (
            s6.IPv6(src=str(A_LL), dst=str(B_LL), hlim=255)
            / s6.ICMPv6ND_Redirect(tgt="2001:db8::5", dst="2001:db8::9"),
            "redirect_target_invalid_drop",
        ),
        (
            s6.IPv6(src=str(A_LL), dst=str(B_LL), hlim=255)
            / s6.ICMPv6ND_Redirect(tgt=str(A_LL), dst="ff05::1"),
            "redirect_destination_multicast_drop",
        ),
    ],
)
def test_invalid_nd_messages_dropped_and_counted(pair: Pair, pkt: Packet, counter: str) -> None:
    dst = str(pkt[s6.IPv6].dst)
    mac = None
    if dst.startswith("ff02"):
        mac = "33:33:" + ":".join(
            f"{b:02x}" for b in __import__("ipaddress").IPv6Address(dst).packed[12:]
        )
        pair.ib.join_link_group(__import__("ipaddress").IPv6Address(dst))
        pair.ib.apply_multicast_changes()
    before = len(pair.ib.neighbors)
    inject(pair, pkt, mac)
    assert getattr(pair.b.nd, counter) == 1, pair.b.nd.nonzero()
    assert pair.b.nd.out_neighbor_advertisements == 0
    assert len(pair.ib.neighbors) == before  # nothing learned from an invalid message


def test_router_advertisement_updates_host_variables(pair: Pair) -> None:
    pair.ib.neighbors.remove(A_LL)  # learn the router by ND, not from the static entry
    ra = (
        s6.IPv6(src=str(A_LL), dst="ff02::1", hlim=255)
        / s6.ICMPv6ND_RA(chlim=200, routerlifetime=600, reachabletime=10000, retranstimer=2000)
        / s6.ICMPv6NDOptMTU(mtu=1400)
        / s6.ICMPv6NDOptPrefixInfo(prefix="2001:db8:5::", prefixlen=64, L=1, A=0)
        / s6.ICMPv6NDOptSrcLLAddr(lladdr=pair.ia.link.link_address.hex(":"))
    )
    inject(pair, ra, "33:33:00:00:00:01")
    p = pair.ib.params
    assert (p.cur_hop_limit, p.base_reachable_time, p.retrans_timer, p.link_mtu) == (
        200,
        10.0,
        2.0,
        1400,
    )
    # RFC 4861 §6.3.2: ReachableTime is drawn from [0.5, 1.5] x BaseReachableTime.
    assert 5.0 <= p.reachable_time <= 15.0
    assert [r.router for r in pair.b.routes.default_router_list] == [A_LL]
    assert any(str(pe.prefix) == "2001:db8:5::/64" for pe in pair.b.routes.prefix_list.values())
    nce = pair.ib.neighbors.get(A_LL)
    assert nce is not None and nce.is_router
    # A=0: no address formed from the prefix.
    assert not [e for e in pair.ib.addresses if not e.address.is_link_local]
    # An MTU above the link's own is refused (§6.3.4).
    inject(
        pair,
        s6.IPv6(src=str(A_LL), dst="ff02::1", hlim=255)
        / s6.ICMPv6ND_RA()
        / s6.ICMPv6NDOptMTU(mtu=9000),
        "33:33:00:00:00:01",
    )
    assert pair.ib.params.link_mtu == 1400


def test_nd_in_a_fragment_is_dropped_rfc6980(pair: Pair) -> None:
    pkt = (
        s6.IPv6(src=str(A_LL), dst=str(B_LL), hlim=255) / s6.IPv6ExtHdrFragment(id=1) / ns() / SLLA
    )
    inject(pair, pkt)
    assert pair.b.nd.in_fragment_drop == 1
    assert pair.b.nd.out_neighbor_advertisements == 0


def test_valid_ns_is_answered_with_solicited_na(pair: Pair) -> None:
    inject(pair, s6.IPv6(src=str(A_LL), dst=str(B_LL), hlim=255) / ns() / SLLA)
    assert pair.b.nd.out_neighbor_advertisements == 1
    nce = pair.ib.neighbors.get(A_LL)
    # A static (PERMANENT) entry is not touched by ND.
    assert nce is not None and nce.state.name == "PERMANENT"
