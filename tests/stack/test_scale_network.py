"""A link of 300 hosts and a router: every host autoconfigures a global address from the
router's prefix (RFC 4862 §5.5.3) with DAD, and the router's neighbor cache, sized by
``InterfaceParameters.neighbor_cache_size``, holds an entry for each host that solicited
it (RFC 4861 §6.2.6) without evicting; at the default size it evicts and counts it."""

from __future__ import annotations

from ipaddress import IPv6Network

import pytest

from tcpip6.io.sim import SimWorld
from tcpip6.stack.machines.dad import AddressState
from tcpip6.stack.params import InterfaceParameters

PREFIX = IPv6Network("2001:db8:300::/64")
HOSTS = 300


@pytest.mark.parametrize("cache_size", [1024, None])
def test_a_large_link_boots_and_the_router_cache_holds_it(cache_size: int | None) -> None:
    world = SimWorld(seed=11)
    router = world.router("r")
    params = None if cache_size is None else InterfaceParameters(neighbor_cache_size=cache_size)
    ri = world.connect_router(router, "lan", PREFIX, line_rate=100e6, interface_params=params)
    router.host.start(world.now)
    ifaces = []
    for i in range(HOSTS):
        host = world.host(f"h{i}")
        ifaces.append(world.connect(host, "lan", line_rate=100e6))
        host.start(world.now)
    world.run_for(10.0)
    globals_ = [
        [
            a
            for a, e in i.addresses.entries.items()
            if a in PREFIX and e.state is AddressState.PREFERRED
        ]
        for i in ifaces
    ]
    assert all(len(g) == 1 for g in globals_)
    assert len({g[0] for g in globals_}) == HOSTS  # all different (DAD found no duplicate)
    solicitors = {e.link_address for e in ri.neighbors.entries.values()}
    if cache_size is None:
        assert ri.neighbors.capacity == 256
        assert len(ri.neighbors) == 256
        assert ri.neighbors.counters.entries_evicted > 0
    else:
        assert ri.neighbors.capacity == cache_size
        assert ri.neighbors.counters.entries_evicted == 0
        assert solicitors >= {i.link.link_address for i in ifaces}
