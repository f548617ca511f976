"""Fixtures: a simnet world with two hosts on one segment and static neighbors."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv6Address

import pytest

from tcpip6.io.sim import SimWorld
from tcpip6.stack.host import Host
from tcpip6.stack.interface import Interface

A_LL = IPv6Address("fe80::a")
B_LL = IPv6Address("fe80::b")


@dataclass
class Pair:
    world: SimWorld
    a: Host
    b: Host
    ia: Interface
    ib: Interface


@pytest.fixture
def pair() -> Pair:
    world = SimWorld(seed=1)
    a, b = world.host("a"), world.host("b")
    ia, ib = world.connect(a, "lan"), world.connect(b, "lan")
    ia.add_static_address(A_LL)
    ib.add_static_address(B_LL)
    ia.add_static_neighbor(B_LL, ib.link.link_address)
    ib.add_static_neighbor(A_LL, ia.link.link_address)
    world.run_for(0.01)
    return Pair(world, a, b, ia, ib)
