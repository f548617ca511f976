"""The lists a Router Advertisement flood fills stay bounded (bench/stress.py's ``ra``
flood, sans I/O): RAs from many routers, each with a new on-link, autonomous /64, built by
scapy and handed to ``Host.receive``. The Default Router List, the Prefix List, the
address table and the neighbor cache keep their sizes; what does not fit is refused and
counted (RFC 4861 §6.3.4 leaves the limits to the implementation; the rule here: a full
list keeps what it has and refuses the newcomer); every RA is accounted for; the host
still answers afterwards."""

from __future__ import annotations

import random

from scapy.layers import inet6 as s6
from scapy.layers.l2 import Ether

from tests.stack.conftest import B_LL, Pair

FLOOD = 300


def _ra(rng: random.Random, src_mac: str) -> bytes:
    router = "fe80::" + ":".join(f"{rng.getrandbits(16):x}" for _ in range(4))
    prefix = f"2001:db8:{rng.getrandbits(16):x}:{rng.getrandbits(16):x}::"
    lladdr = "02:00:" + ":".join(f"{rng.getrandbits(8):02x}" for _ in range(4))
    frame = (
        Ether(src=src_mac, dst="33:33:00:00:00:01")
        / s6.IPv6(src=router, dst="ff02::1", hlim=255)
        / s6.ICMPv6ND_RA(routerlifetime=1800)
        / s6.ICMPv6NDOptSrcLLAddr(lladdr=lladdr)
        / s6.ICMPv6NDOptPrefixInfo(
            prefix=prefix, prefixlen=64, L=1, A=1, validlifetime=86400, preferredlifetime=14400
        )
    )
    return bytes(frame)


def test_a_router_advertisement_flood_leaves_every_list_bounded(pair: Pair) -> None:
    b, ib, routes = pair.b, pair.ib, pair.b.routes
    ib.autoconfigure = True  # as a started host's (RFC 4862 §5.5.3 forms addresses)
    rng = random.Random(17)
    src_mac = pair.ia.link.link_address.hex(":")
    for _ in range(FLOOD):
        b.receive(ib, _ra(rng, src_mac), pair.world.now)
    pair.world.run_for(0.5)
    # Every RA accounted for: taken in as a valid Router Advertisement.
    assert b.nd.in_router_advertisements == FLOOD
    # The Default Router List: the first max_routers routers, the rest refused and counted.
    assert len(routes.default_router_list) == routes.max_routers
    assert routes.counters.router_list_full_drop == FLOOD - routes.max_routers
    # The Prefix List: the first max_prefixes prefixes, the rest refused and counted.
    assert len(routes.prefix_list) == routes.max_prefixes
    assert routes.counters.prefixes_added == routes.max_prefixes
    assert routes.counters.prefix_list_full_drop == FLOOD - routes.max_prefixes
    # The address table (RFC 4862 §5.5.3 would form one address per prefix): full at
    # its capacity, the rest refused and counted.
    assert len(ib.addresses) == ib.addresses.capacity
    assert ib.addresses.counters.table_full_drop > 0
    # The neighbor cache (one STALE entry per router's Source Link-Layer Address,
    # RFC 4861 §6.3.4): at its capacity, the oldest evicted.
    assert len(ib.neighbors) <= ib.neighbors.capacity
    # The host still answers: an Echo Request from a gets its Reply.
    assert pair.a.icmpv6.send_echo_request(B_LL, 7, 1, b"x", pair.world.now)
    pair.world.run_for(0.5)
    assert [(r.src, r.identifier, r.sequence) for r in pair.a.icmpv6.echo_replies] == [(B_LL, 7, 1)]
