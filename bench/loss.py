"""TCP over a lossy link in simnet (``python -m bench``): 2 % of the frames lost in each
direction, a bulk transfer from a to b, for each loss-recovery configuration; the
goodput in simulated time, retransmitted segments and retransmission timeouts per 1,000
data segments (bench/live_loss.py's case, without the kernel)."""

from __future__ import annotations

import contextlib
import dataclasses
import time
from ipaddress import IPv6Address
from typing import Any

from tcpip6.api.sockets import AF_INET6, SOCK_STREAM, Stack
from tcpip6.io.runtime import SimDriver
from tcpip6.io.sim import SimWorld
from tcpip6.stack.params import InterfaceParameters
from tcpip6.stack.tcp import TcpParameters

A = IPv6Address("fe80::a")
B = IPv6Address("fe80::b")
PORT = 5002
#: Frames lost on the segment, each direction.
LOSS = 0.02
#: One-way delay and the sender's line rate: a 2 ms round trip at 100 Mbit/s.
DELAY = 0.001
LINE_RATE = 100e6
#: The configurations compared: name -> the sender's TcpParameters changes.
CASES: dict[str, dict[str, Any]] = {
    "newreno_sack": {"rack": False, "prr": False},
    "rack_tlp_prr": {"rack": True, "prr": True},
    "cubic_rack_tlp_prr": {"rack": True, "prr": True, "congestion_control": "cubic"},
}


def _world(seed: int) -> SimWorld:
    world = SimWorld(seed=seed)
    a, b = world.host("a"), world.host("b")
    no_dad = InterfaceParameters(dup_addr_detect_transmits=0)
    ia = world.connect(a, "lan", params=no_dad, line_rate=LINE_RATE)
    ib = world.connect(b, "lan", params=no_dad, line_rate=LINE_RATE)
    ia.add_static_address(A, 64, world.now)
    ib.add_static_address(B, 64, world.now)
    ia.add_static_neighbor(B, ib.link.link_address)
    ib.add_static_neighbor(A, ia.link.link_address)
    world.run_for(0.01)
    imp = world.segment("lan").impairments
    imp.delay = DELAY
    return world


def lossy_transfer(case: str, octets: int, seed: int = 1) -> dict[str, float]:
    """One transfer of ``octets`` a -> b under LOSS each way; its measures."""
    world = _world(seed)
    a, b = world.hosts["a"], world.hosts["b"]
    a.tcp.params = dataclasses.replace(TcpParameters(), **CASES[case])
    b.tcp.params = dataclasses.replace(TcpParameters(), receive_buffer=1 << 20)
    driver = SimDriver(world)
    sa, sb = Stack(a, driver), Stack(b, driver)
    listener = sb.socket(AF_INET6, SOCK_STREAM)
    listener.bind(("::", PORT))
    listener.listen(1)
    sender = sa.socket(AF_INET6, SOCK_STREAM)
    sender.settimeout(3600.0)
    sender.connect((str(B), PORT))
    receiver, _ = listener.accept()
    receiver.settimeout(3600.0)
    world.segment("lan").impairments.loss = LOSS
    ca = a.tcp.counters
    before = dataclasses.replace(ca)
    data = bytes(range(256)) * (octets // 256)
    t0, wall = world.now, time.perf_counter()
    sender.setblocking(False)
    sent = got = 0
    while got < len(data):
        if sent < len(data):
            with contextlib.suppress(BlockingIOError):
                sent += sender.send(data[sent : sent + 65536])
        chunk = receiver.recv(1 << 20)
        if not chunk:
            break
        got += len(chunk)
    seconds = world.now - t0
    rtx = ca.retransmitted_segments - before.retransmitted_segments
    mss = sender.getsockopt(6, 2)  # TCP_MAXSEG
    assert isinstance(mss, int)
    data_segments = -(-len(data) // mss) + rtx
    timeouts = ca.timeouts - before.timeouts
    for s in (sender, receiver, listener):
        s.close()
    return {
        "goodput_MBps": got / seconds / 1e6 if seconds > 0 else 0.0,
        "sim_seconds": seconds,
        "wall_seconds": time.perf_counter() - wall,
        "retransmissions": rtx,
        "timeouts": timeouts,
        "fast_retransmits": ca.fast_retransmits - before.fast_retransmits,
        "tail_loss_probes": ca.tail_loss_probes - before.tail_loss_probes,
        "data_segments": data_segments,
        "timeouts_per_1000": 1000 * timeouts / data_segments,
        "complete": float(got == len(data)),
    }


#: Octets of each transfer: a full run, and ``--quick``.
OCTETS = 20_000_000
QUICK_OCTETS = 500_000


def run(octets: int) -> dict[str, Any]:
    """Every case of :data:`CASES` once, the same seed (the same frames lost while the
    flights are the same)."""
    return {
        "loss_each_way": LOSS,
        "rtt": 2 * DELAY,
        "line_rate": LINE_RATE,
        "octets": octets,
        "cases": {case: lossy_transfer(case, octets) for case in CASES},
    }


def print_loss(record: dict[str, Any]) -> None:
    print(
        f"\nTCP over simnet, {record['loss_each_way']:.0%} loss each way, "
        f"{record['octets'] / 1e6:g} MB, RTT {record['rtt'] * 1000:g} ms, "
        f"{record['line_rate'] / 1e6:g} Mbit/s:"
    )
    print(
        f"{'case':<20} {'MB/s (sim)':>10} {'retrans':>8} {'RTOs':>5} {'RTO/1000 seg':>13} "
        f"{'TLPs':>5} {'wall s':>7}"
    )
    for case, r in record["cases"].items():
        print(
            f"{case:<20} {r['goodput_MBps']:>10.2f} {r['retransmissions']:>8} "
            f"{r['timeouts']:>5} {r['timeouts_per_1000']:>13.2f} {r['tail_loss_probes']:>5} "
            f"{r['wall_seconds']:>7.1f}"
        )
