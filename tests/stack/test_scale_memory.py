"""Entities are cheap and end cleanly: after 10,000 TCP connections opened,
closed by both ends and past TIME-WAIT, and 10,000 neighbor entries created and expired,
the host's traced memory (tracemalloc) is back within a small bound of where it started,
every graph counts as many live entities as before, and a simulated network that is
dropped is collected. Functional, not timed: the measurements are in ``make bench``."""

from __future__ import annotations

import gc
import tracemalloc
import weakref
from ipaddress import IPv6Address

from tcpip6.io.sim import SimWorld
from tcpip6.stack.host import Host
from tcpip6.stack.machines import all_graphs
from tcpip6.stack.machines.nce import NceState
from tcpip6.stack.machines.tcp import TcpState
from tcpip6.stack.params import InterfaceParameters
from tcpip6.stack.tcp import Connection
from tcpip6.wire.ipv6 import ADDRESSES

A = IPv6Address("2001:db8::1")
B = IPv6Address("2001:db8::2")
CHURN = 10_000
BATCH = 200
#: What may stay after the churn: the tables (dicts, sets, heaps of the TCP module, the
#: neighbor cache, the graphs) keep the size they grew to, and the bounded queues their
#: newest entries (the 256 ICMPv6 errors the host keeps for its applications: about 40 KB).
#: About 55 KB in all. 20,000 entities of 1.3-4 KB each are 26-80 MB: a leak of 13 octets
#: per entity would exceed this bound.
BOUND = 256 * 1024


def pair() -> tuple[SimWorld, Host, Host]:
    world = SimWorld(seed=7)
    a, b = world.host("a"), world.host("b")
    for host, addr in ((a, A), (b, B)):
        iface = world.connect(host, "lan", params=InterfaceParameters(dup_addr_detect_transmits=0))
        iface.add_static_address(addr, 64, 0.0)
        host.tcp.params.msl = 1.0  # TIME-WAIT is 2 MSL; the churn waits it out
        host.tcp.params.max_backlog = BATCH
    world.run_for(5.0)
    return world, a, b


def open_batch(world: SimWorld, a: Host, b: Host, n: int, port: int) -> list[Connection]:
    listener = b.tcp.listen(B, port, n, world.now)
    ends = [a.tcp.connect(B, port, world.now) for _ in range(n)]
    for _ in range(20):  # the first batch waits for address resolution (3 packets queue)
        world.run_for(1.0)
        if len(listener.accept_queue) == n:
            break
    accepted = list(listener.accept_queue)
    listener.accept_queue.clear()
    listener.close(world.now)
    assert len(accepted) == n
    assert all(c.state is TcpState.ESTABLISHED for c in ends + accepted)
    return ends + accepted


def tcp_churn(world: SimWorld, a: Host, b: Host, count: int, port: int) -> list[Connection]:
    """``count`` connections opened, closed by both ends, TIME-WAIT over; the last batch."""
    last: list[Connection] = []
    for start in range(0, count, BATCH):
        last = open_batch(world, a, b, min(BATCH, count - start), port)
        for conn in last:
            conn.close(world.now)
        world.run_for(4 * a.tcp.params.msl + 5.0)
        port += 1
    return last


def neighbor_churn(world: SimWorld, a: Host, count: int) -> list[object]:
    """``count`` entries made by sending to on-link addresses nobody has: each is INCOMPLETE,
    solicited MAX_MULTICAST_SOLICIT times, and removed when resolution fails (RFC 4861
    RFC 4861 §7.2.2, RFC 4861 §7.3.3). The last batch."""
    cache = a.interfaces[0].neighbors
    cache.capacity = BATCH + 16
    # A batch at a time, all at once: past RFC 6583's budgets of INCOMPLETE entries and
    # new resolutions a second, which this churn does not measure.
    cache.incomplete_limit = BATCH
    cache.solicit_rate, cache.solicit_burst = 1e6, BATCH
    last: list[object] = []
    for start in range(0, count, BATCH):
        addrs = [IPv6Address(int(B) + 0x10000 + start + i) for i in range(BATCH)]
        for addr in addrs:
            a.icmpv6.send_echo_request(addr, 1, 1, b"", world.now)
        last = [cache.get(addr) for addr in addrs]
        assert all(e is not None and e.state is NceState.INCOMPLETE for e in last)
        world.run_for(5.0)
        assert all(cache.get(addr) is None for addr in addrs)
    assert len(a.routes.route_cache) <= a.routes.route_cache_capacity
    return last


def live() -> dict[str, int]:
    gc.collect()
    return {name: len(graph) for name, graph in all_graphs().items()}


def traced() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


def test_churn_gives_back_memory_and_graph_entries() -> None:
    # Traced from the start: an object made before the churn and freed during it (an entry
    # a bounded table replaced) counts as given back, not only what the churn made.
    tracemalloc.start()
    try:
        world, a, b = pair()
        # Once through every path, and every table at the size one batch gives it. The
        # route cache keeps an entry per destination up to its bound (checked in
        # neighbor_churn), and the process-wide cache of parsed addresses up to its own:
        # both are emptied before each measurement, which is of the entities.
        tcp_churn(world, a, b, BATCH, 7000)
        neighbor_churn(world, a, a.routes.route_cache_capacity + BATCH)
        a.routes.invalidate()
        ADDRESSES.clear()
        graphs_before = live()
        start = traced()
        last_conns = tcp_churn(world, a, b, CHURN, 7100)
        last_nces = neighbor_churn(world, a, CHURN)
        # The last batch of each is still referenced here: every one was detached when it
        # ended, not merely collected.
        tcp_graph = all_graphs()["tcp"]
        nce_graph = all_graphs()["nce"]
        assert not any(tcp_graph.attached(c) for c in last_conns)
        assert not any(nce_graph.attached(e) for e in last_nces)
        assert all(c.state is TcpState.CLOSED for c in last_conns)
        del last_conns, last_nces
        a.routes.invalidate()
        ADDRESSES.clear()
        held = traced() - start
    finally:
        tracemalloc.stop()
    assert a.tcp.connections == {} and b.tcp.connections == {}
    assert not a.tcp.time_wait and not b.tcp.time_wait
    assert len(a.tcp.timers) == 0 and len(b.tcp.timers) == 0
    assert a.tcp.counters.active_opens >= CHURN
    assert live() == graphs_before
    assert held < BOUND, f"{held} octets held after the churn"


def test_a_dropped_world_is_collected() -> None:
    world, a, b = pair()
    open_batch(world, a, b, 3, 7000)
    ref = weakref.ref(world)
    host_ref = weakref.ref(a)
    before = live()
    del world, a, b
    gc.collect()
    assert ref() is None and host_ref() is None
    after = live()
    # Its entities (connections, neighbor entries, addresses, listeners) leave the graphs.
    assert after["tcp"] < before["tcp"] and after["nce"] < before["nce"]
