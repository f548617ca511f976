"""Whole simulated networks at scale: what a network of N hosts costs in wall time and memory.

- ``boot_N``: one router advertising a /64 and N hosts on one segment, every NIC at
  100 Mb/s; the hosts start together and the world runs until every host has a global
  (SLAAC) address. Reported: simulated seconds and wall seconds for it.
- ``traffic_10``: 10 hosts and the router, 5 TCP transfers of ``traffic_octets`` each at
  once (host 2k to host 2k+1, global addresses); frames sent on the segment per wall
  second, and simulated over wall time.
- ``bytes_per_nce``: traced memory (tracemalloc) a neighbor cache entry costs: ``entries``
  STALE entries created by Neighbor Solicitations on one interface,
  divided by their number.
- ``bytes_per_tcp``: traced memory an idle ESTABLISHED connection costs, per end.
- ``leak``: bytes still held after ``churn`` TCP connections were opened, closed and left
  TIME-WAIT, and ``churn`` neighbor entries were created and removed, and how many more
  after as many again (``bytes_leaked``: 0 is the target).
"""

from __future__ import annotations

import gc
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv6Address, IPv6Network
from typing import Any

from tcpip6.io.sim import SimWorld
from tcpip6.stack.host import Host
from tcpip6.stack.interface import Interface
from tcpip6.stack.machines.dad import AddressState
from tcpip6.stack.params import InterfaceParameters
from tcpip6.stack.tcp import Connection
from tcpip6.wire.ipv6 import ADDRESSES

PREFIX = IPv6Network("2001:db8:5ca1::/64")
LINE_RATE = 100e6
TCP_PORT = 5001


@dataclass(frozen=True)
class ScaleParameters:
    boot_sizes: tuple[int, ...] = (10, 200, 1000)
    traffic_octets: int = 1 << 20
    entries: int = 2000  # NCEs measured for bytes_per_nce
    connections: int = 200  # idle connections measured for bytes_per_tcp
    churn: int = 2000  # connections and NCEs of the leak check
    boot_limit: float = 60.0  # simulated seconds a boot may take


QUICK_SCALE = ScaleParameters(
    boot_sizes=(10, 50), traffic_octets=128 << 10, entries=500, connections=50, churn=200
)


def network(n: int, seed: int = 1) -> tuple[SimWorld, list[tuple[Host, Interface]]]:
    world = SimWorld(seed=seed)
    router = world.router("r")
    # One neighbor cache entry per host (each sends the router a solicitation with its
    # link-layer address), and room to spare: no eviction on the way.
    cache = InterfaceParameters(neighbor_cache_size=max(256, 2 * n))
    world.connect_router(router, "lan", PREFIX, line_rate=LINE_RATE, interface_params=cache)
    router.host.start(world.now)
    hosts = []
    for i in range(n):
        host = world.host(f"h{i}")
        iface = world.connect(host, "lan", line_rate=LINE_RATE)
        hosts.append((host, iface))
    for host, _ in hosts:
        host.start(world.now)
    return world, hosts


def _global(iface: Interface) -> IPv6Address | None:
    for addr, nte in iface.addresses.entries.items():
        if not addr.is_link_local and nte.state is AddressState.PREFERRED:
            return addr
    return None


def _run_until(world: SimWorld, done: Callable[[], bool], limit: float, step: float) -> bool:
    end = world.now + limit
    while world.now < end:
        if done():
            return True
        world.run_for(step)
    return done()


def boot(n: int, p: ScaleParameters) -> dict[str, Any]:
    world, hosts = network(n)
    pending = list(hosts)

    def all_global() -> bool:
        pending[:] = [(h, i) for h, i in pending if _global(i) is None]
        return not pending

    wall = time.perf_counter()
    cpu = time.process_time()
    ok = _run_until(world, all_global, p.boot_limit, 0.05)
    return {
        "hosts": n,
        "all_global": ok,
        "without_global": len(pending),
        "simulated_seconds": world.now,
        "wall_seconds": time.perf_counter() - wall,
        "cpu_seconds": time.process_time() - cpu,
        "frames": world.segments["lan"].counters.frames_sent,
    }


def traffic(p: ScaleParameters) -> dict[str, Any]:
    world, hosts = network(10)
    _run_until(world, lambda: all(_global(i) is not None for _, i in hosts), 30.0, 0.1)
    pairs: list[tuple[Connection, Connection | None, Connection]] = []
    for k in range(5):
        (a, _), (b, bi) = hosts[2 * k], hosts[2 * k + 1]
        dst = _global(bi)
        assert dst is not None
        listener = b.tcp.listen(dst, TCP_PORT, 1, world.now)
        conn = a.tcp.connect(dst, TCP_PORT, world.now)
        pairs.append((conn, None, listener))
    world.run_for(0.5)
    ends: list[tuple[Connection, Connection]] = []
    for conn, _, listener in pairs:
        ends.append((conn, listener.accept_queue.popleft()))
    seg = world.segments["lan"]
    frames0 = seg.counters.frames_sent
    sent = [0] * len(ends)
    received = [0] * len(ends)
    chunk = bytes(65536)
    start_sim = world.now
    wall = time.perf_counter()
    cpu = time.process_time()
    while min(received) < p.traffic_octets and world.now - start_sim < 300.0:
        for k, (tx, rx) in enumerate(ends):
            if sent[k] < p.traffic_octets:
                sent[k] += tx.send(chunk[: p.traffic_octets - sent[k]], world.now)
            received[k] += len(rx.read(1 << 20, world.now))
        world.run_for(0.001)
    wall_s = time.perf_counter() - wall
    cpu_s = time.process_time() - cpu
    frames = seg.counters.frames_sent - frames0
    sim = world.now - start_sim
    return {
        "transfers": len(ends),
        "octets_each": p.traffic_octets,
        "complete": min(received) >= p.traffic_octets,
        "frames": frames,
        "simulated_seconds": sim,
        "wall_seconds": wall_s,
        "cpu_seconds": cpu_s,
        "frames_per_wall_second": frames / wall_s if wall_s else 0.0,
        # Wall time counts whatever else the machine runs; processor time does not.
        "frames_per_cpu_second": frames / cpu_s if cpu_s else 0.0,
        "simulated_over_wall": sim / wall_s if wall_s else 0.0,
    }


def _lone_host() -> tuple[SimWorld, Interface]:
    world = SimWorld(seed=3)
    host = world.host("m")
    params = InterfaceParameters(dup_addr_detect_transmits=0)
    iface = world.connect(host, "lan", params=params)
    iface.add_static_address(IPv6Address("2001:db8::1"), 64, 0.0)
    world.run_for(5.0)
    return world, iface


def _traced() -> int:
    """Traced memory, with the process-wide cache of parsed addresses emptied first: it
    holds up to its bound wherever it last emptied, which is not what is measured."""
    ADDRESSES.clear()
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


def _fill_neighbors(iface: Interface, count: int, base: int, now: float) -> None:
    cache = iface.neighbors
    cache.capacity = max(cache.capacity, count + len(cache))
    for i in range(count):
        addr = IPv6Address(int(IPv6Address("2001:db8::")) + base + i)
        # A Neighbor Solicitation with a source link-layer address option from an
        # unknown neighbor makes a STALE entry (RFC 4861 §7.2.3).
        cache.on_neighbor_solicitation(addr, bytes([2, 0, 0, 0, i >> 8 & 0xFF, i & 0xFF]), now)


def bytes_per_nce(p: ScaleParameters) -> dict[str, Any]:
    world, iface = _lone_host()
    tracemalloc.start()
    try:
        before = _traced()
        _fill_neighbors(iface, p.entries, 0x1000, world.now)
        after = _traced()
    finally:
        tracemalloc.stop()
    return {"entries": len(iface.neighbors), "bytes_per_entry": (after - before) / p.entries}


def _open(world: SimWorld, a: Host, b: Host, n: int, port: int) -> list[Connection]:
    dst = IPv6Address("2001:db8::2")
    listener = b.tcp.listen(dst, port, n, world.now)
    conns = []
    for _ in range(n):
        conns.append(a.tcp.connect(dst, port, world.now))
        world.run_for(0.01)
        while listener.accept_queue:
            conns.append(listener.accept_queue.popleft())
    world.run_for(1.0)
    while listener.accept_queue:
        conns.append(listener.accept_queue.popleft())
    listener.close(world.now)
    return conns


def tcp_pair() -> tuple[SimWorld, Host, Host]:
    world = SimWorld(seed=4)
    a, b = world.host("a"), world.host("b")
    params = InterfaceParameters(dup_addr_detect_transmits=0)
    ia = world.connect(a, "lan", params=params)
    ib = world.connect(b, "lan", params=InterfaceParameters(dup_addr_detect_transmits=0))
    ia.add_static_address(IPv6Address("2001:db8::1"), 64, 0.0)
    ib.add_static_address(IPv6Address("2001:db8::2"), 64, 0.0)
    world.run_for(5.0)
    return world, a, b


def bytes_per_tcp(p: ScaleParameters) -> dict[str, Any]:
    world, a, b = tcp_pair()
    _open(world, a, b, 2, 4000)  # warm-up: neighbors, route cache, code paths
    tracemalloc.start()
    try:
        before = _traced()
        conns = _open(world, a, b, p.connections, 4001)
        after = _traced()
    finally:
        tracemalloc.stop()
    ends = len(conns)
    return {"ends": ends, "bytes_per_end": (after - before) / ends if ends else 0.0}


def churn(world: SimWorld, a: Host, b: Host, count: int, batch: int = 100) -> None:
    """``count`` connections opened and closed by both ends, then TIME-WAIT over; and
    ``count`` neighbor entries created and removed."""
    port = 6000
    done = 0
    while done < count:
        n = min(batch, count - done)
        for conn in _open(world, a, b, n, port):
            conn.close(world.now)
        world.run_for(2 * a.tcp.params.msl + 5.0)
        port += 1
        done += n
    iface = a.interfaces[0]
    done = 0
    while done < count:
        n = min(batch * 5, count - done)
        _fill_neighbors(iface, n, 0x100000 + done, world.now)
        for addr in [x for x in iface.neighbors.entries if int(x) >= 0x20010DB8 << 96 | 0x100000]:
            iface.neighbors.remove(addr)
        done += n


def leak(p: ScaleParameters) -> dict[str, Any]:
    """Traced memory after ``churn`` connections and neighbor entries, and after as many
    again: ``bytes_held`` is what the first churn left (tables at the size one batch gave
    them), ``bytes_leaked`` what the second added (what grows with the number churned)."""
    # Traced from the start: what a bounded table replaced during a churn counts as freed.
    tracemalloc.start()
    try:
        world, a, b = tcp_pair()
        # Warm-up: every code path once, and every table at the size one batch gives it.
        churn(world, a, b, 500)
        start = _traced()
        churn(world, a, b, p.churn)
        first = _traced()
        churn(world, a, b, p.churn)
        second = _traced()
    finally:
        tracemalloc.stop()
    return {
        "connections": p.churn,
        "neighbor_entries": p.churn,
        "bytes_held": first - start,
        "bytes_leaked": second - first,
        "bytes_leaked_per_connection": (second - first) / p.churn,
    }


def run_scale(p: ScaleParameters, names: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for n in p.boot_sizes:
        if f"boot_{n}" in names or "boot" in names:
            out[f"boot_{n}"] = boot(n, p)
    table: dict[str, Callable[[ScaleParameters], dict[str, Any]]] = {
        "traffic_10": traffic,
        "bytes_per_nce": bytes_per_nce,
        "bytes_per_tcp": bytes_per_tcp,
        "leak": leak,
    }
    for name, fn in table.items():
        if name in names:
            out[name] = fn(p)
    return out


SCALE_NAMES = ("boot", "traffic_10", "bytes_per_nce", "bytes_per_tcp", "leak")


def print_scale(results: dict[str, Any]) -> None:
    for name, r in results.items():
        if name.startswith("boot_"):
            print(
                f"{name:<22} {r['hosts']:>5} hosts  all global: {r['all_global']}  "
                f"{r['simulated_seconds']:.2f} s simulated  {r['wall_seconds']:.3f} s wall"
                f"  ({r['cpu_seconds']:.3f} s cpu)"
            )
        elif name == "traffic_10":
            print(
                f"{name:<22} {r['frames']} frames  {r['frames_per_wall_second']:.0f} frames/wall s"
                f" ({r['frames_per_cpu_second']:.0f}/cpu s)"
                f"  simulated/wall {r['simulated_over_wall']:.3f}  complete: {r['complete']}"
            )
        elif name == "bytes_per_nce":
            print(f"{name:<22} {r['bytes_per_entry']:.0f} B per entry ({r['entries']} entries)")
        elif name == "bytes_per_tcp":
            print(f"{name:<22} {r['bytes_per_end']:.0f} B per idle end ({r['ends']} ends)")
        elif name == "leak":
            print(
                f"{name:<22} {r['bytes_held']} B held after {r['connections']} connections "
                f"and {r['neighbor_entries']} neighbor entries; {r['bytes_leaked']} B more "
                "after as many again"
            )
