"""The mobile node's host that the Mobile IPv6 model tests drive: one interface on segment
``lan`` without DAD, its addresses and its peers' link-layer addresses static."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from ipaddress import IPv6Address

from tcpip6.io.sim import SimWorld
from tcpip6.stack.host import Host
from tcpip6.stack.interface import Interface
from tcpip6.stack.params import InterfaceParameters


def mobile_node_host(
    world: SimWorld, addresses: Iterable[IPv6Address], neighbors: Mapping[IPv6Address, bytes]
) -> tuple[Host, Interface]:
    host = world.host("mn")
    iface = world.connect(host, "lan", params=InterfaceParameters(dup_addr_detect_transmits=0))
    for address in addresses:
        iface.add_static_address(address, 64, world.now)
    for address, mac in neighbors.items():
        iface.add_static_neighbor(address, mac)
    return host, iface
