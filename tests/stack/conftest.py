"""Fixtures: a simnet world with two hosts on one segment and static neighbors, and hosts
that autoconfigure from a router on one segment."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv6Address, IPv6Network
from pathlib import Path

import pytest

from tcpip6.io.sim import SimWorld
from tcpip6.stack.host import Host
from tcpip6.stack.interface import Interface
from tcpip6.stack.params import InterfaceParameters
from tcpip6.stack.router import Router

A_LL = IPv6Address("fe80::a")
B_LL = IPv6Address("fe80::b")


@dataclass
class Pair:
    world: SimWorld
    a: Host
    b: Host
    ia: Interface
    ib: Interface

    def ping_captured(self, pcap: Path, dst: IPv6Address, identifier: int, data: bytes) -> None:
        """a sends three Echo Requests to ``dst``, a second apart, while the world is
        captured to ``pcap`` (closed afterwards)."""
        self.world.capture(pcap)
        for seq in range(3):
            assert self.a.icmpv6.send_echo_request(dst, identifier, seq, data, self.world.now)
            self.world.run_for(1.0)
        self.world.pcap.close()  # type: ignore[union-attr]


@pytest.fixture
def pair() -> Pair:
    return make_pair()


def make_pair(
    seed: int = 1,
    static_neighbors: bool = True,
    line_rate: float | None = None,
    tx_queue: tuple[int, int] | None = None,
) -> Pair:
    """Two hosts a (fe80::a) and b (fe80::b) on segment ``lan``, static neighbors (unless
    ``static_neighbors`` is false: then each resolves the other by ND). ``line_rate`` and
    ``tx_queue`` go to a's NIC (SimWorld.connect); b's sends at once."""
    world = SimWorld(seed=seed)
    a, b = world.host("a"), world.host("b")
    # No DAD: static addresses, and static (PERMANENT) neighbor entries unless told not to.
    ia = world.connect(
        a,
        "lan",
        params=InterfaceParameters(dup_addr_detect_transmits=0),
        line_rate=line_rate,
        tx_queue=tx_queue,
    )
    ib = world.connect(b, "lan", params=InterfaceParameters(dup_addr_detect_transmits=0))
    ia.add_static_address(A_LL, 64, world.now)
    ib.add_static_address(B_LL, 64, world.now)
    if static_neighbors:
        ia.add_static_neighbor(B_LL, ib.link.link_address)
        ib.add_static_neighbor(A_LL, ia.link.link_address)
    world.run_for(0.01)
    return Pair(world, a, b, ia, ib)


def routed_lan(
    world: SimWorld, prefix: IPv6Network, names: Sequence[str]
) -> tuple[Router, Interface, list[Host], list[Interface]]:
    """Router r advertising ``prefix`` on segment ``lan`` and the hosts ``names`` on it,
    all started, 10 s on (addresses autoconfigured): the router, its interface, the hosts
    and their interfaces."""
    router = world.router("r")
    router_iface = world.connect_router(router, "lan", prefix)
    router.host.start(world.now)
    hosts = [world.host(name) for name in names]
    ifaces = [world.connect(host, "lan") for host in hosts]
    for host in hosts:
        host.start(world.now)
    world.run_for(10.0)
    return router, router_iface, hosts, ifaces
