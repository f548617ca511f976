"""``python -m bench``: the stack's throughput on two backends, side by side in one run.

Four measurements, each repeated ``--repeat`` times (the median is reported):

- ``simnet_icmpv6_echo``: ICMPv6 echo round trips per second between two hosts on a
  simnet segment (one request outstanding at a time, the fake clock moved 1 ms per round);
- ``simnet_udp``: UDP datagrams per second, one way, from a socket on host ``a`` to a
  socket on host ``b`` (sent in batches, then the network runs and the receiver drains
  its socket; only what the application received is counted);
- ``loopback_icmpv6_echo`` and ``loopback_udp``: the same two on the loopback backend
  (:func:`tcpip6.io.runtime.loopback_stack`, to ``::1``, real time): sends, then the
  driver drains.
- ``simnet_tcp_esp``: ``simnet_tcp`` through ESP (AES-GCM-16, transport mode, RFC 4106)
  between the two hosts; ``ratio_esp_over_plain_tcp`` is its rate over ``simnet_tcp``'s;
- ``simnet_tcp`` and ``loopback_tcp``: a TCP bulk transfer of ``tcp_octets``, ttcp's
  loop (:class:`tcpip6.apps.ttcp.TcpTransfer`: write what the send buffer takes, read
  what arrived, every octet checked), from ``a`` to ``b`` on simnet and to ``::1`` on
  loopback; the count is octets received, so ``per_second`` is octets per second of
  wall time (the UDP figures are datagrams of ``udp_payload`` octets: ``octets_per_second``
  puts both in the same unit). Each result names its ``unit``, and so does the table.
- ``simnet_siit`` and ``simnet_nat64``: translated packets per second (``bench/translate.py``):
  SIIT (RFC 7915) on UDP both ways, and a stateful NAT64 (RFC 6146) on 64 established UDP
  sessions both ways: the translator core the simulated and the live host run.
- ``check_capture``: packets per second that ``tcpip6 check`` judges against the RFC models
  (the demo's capture, checked ten times over).

The ratio loopback/simnet of each pair is computed from the same run. The table is
printed and the whole record (parameters, Python version, CPU, machine, date) is written
to ``bench/results/bench-<date>.json`` (``--output DIR`` elsewhere). ``--quick`` makes a
run of a few seconds; ``--profile`` runs the UDP simnet case under cProfile and prints
the top functions by cumulative and by internal time.

The same run measures whole networks at scale (:mod:`bench.scale`: boot of N hosts, the
10-host traffic case, bytes per neighbor entry and per idle TCP connection, bytes held
after churn), recorded under ``scale`` in the JSON; ``--only boot`` (or ``traffic_10``,
``bytes_per_nce``, ``bytes_per_tcp``, ``leak``) runs one of them, ``--no-scale`` none.

And TCP over a lossy link (:mod:`bench.loss`: 2 % loss each way, 20 MB, NewReno with
SACK, with RACK-TLP and PRR, and CUBIC), recorded under ``loss``; ``--no-loss`` skips it.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime
import json
import platform
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from ipaddress import IPv6Address
from pathlib import Path
from typing import Any

import tcpip6
from bench import loss, translate
from bench.scale import QUICK_SCALE, SCALE_NAMES, ScaleParameters, print_scale, run_scale
from tcpip6.api.sockets import (
    AF_INET6,
    SO_RCVBUF,
    SOCK_DGRAM,
    SOCK_STREAM,
    SOL_SOCKET,
    Socket,
    Stack,
)
from tcpip6.apps import ipsec_sim
from tcpip6.apps.ttcp import TcpTransfer, TtcpOptions
from tcpip6.io.runtime import SimDriver, loopback_stack
from tcpip6.io.sim import SimWorld
from tcpip6.stack.ipsec import Mode
from tcpip6.stack.params import InterfaceParameters

A = IPv6Address("fe80::a")
B = IPv6Address("fe80::b")
LOOPBACK = "::1"
PORT = 9  # discard (RFC 863)
RESULTS = Path(__file__).parent / "results"


@dataclass(frozen=True)
class Parameters:
    echo_count: int = 20000
    udp_count: int = 50000
    payload: int = 56  # octets of echo data (ping's default)
    udp_payload: int = 64
    batch: int = 32  # UDP datagrams sent before the network runs
    tcp_octets: int = 4 << 20
    tcp_buflen: int = 8192  # octets per TCP write
    translate_count: int = 40000  # packets through each translator
    repeat: int = 5


QUICK = Parameters(
    echo_count=1000, udp_count=3000, tcp_octets=256 << 10, translate_count=2000, repeat=1
)
TCP_PORT = 5001


@dataclass
class Sample:
    count: int
    seconds: float
    #: Processor time of this process over the same span (less disturbed by other load).
    cpu_seconds: float = 0.0

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else 0.0


class _Clock:
    """Wall and processor time from its making to :meth:`sample`."""

    def __init__(self) -> None:
        self.wall = time.perf_counter()
        self.cpu = time.process_time()

    def sample(self, count: int) -> Sample:
        wall = time.perf_counter() - self.wall
        return Sample(count, wall, time.process_time() - self.cpu)


# -- simnet ----------------------------------------------------------------------------------
def simnet_pair() -> SimWorld:
    """Two hosts on one segment with static link-local addresses, settled."""
    world = SimWorld(seed=1)
    a, b = world.host("a"), world.host("b")
    ia = world.connect(a, "lan", params=InterfaceParameters(dup_addr_detect_transmits=0))
    ib = world.connect(b, "lan", params=InterfaceParameters(dup_addr_detect_transmits=0))
    ia.add_static_address(A, 64, 0.0)
    ib.add_static_address(B, 64, 0.0)
    world.run_for(20.0)  # MLD reports settle; neighbors resolve on first use
    return world


def simnet_echo(p: Parameters) -> Sample:
    world = simnet_pair()
    a = world.hosts["a"]
    data = bytes(p.payload)
    a.icmpv6.send_echo_request(B, 1, 0, data, world.now)  # resolves b (outside the clock)
    world.run_for(0.001)
    before = a.icmp.in_echo_replies
    clock = _Clock()
    for seq in range(p.echo_count):
        a.icmpv6.send_echo_request(B, 1, seq & 0xFFFF, data, world.now)
        world.run_for(0.001)
    return clock.sample(a.icmp.in_echo_replies - before)


def _drain(sock: Socket) -> int:
    """Everything waiting on a non-blocking socket; how many datagrams."""
    n = 0
    while True:
        try:
            sock.recvfrom(65536)
        except BlockingIOError:
            return n
        n += 1


def _udp_pair(stack_a: Stack, stack_b: Stack, p: Parameters) -> tuple[Socket, Socket]:
    rx = stack_b.socket(AF_INET6, SOCK_DGRAM)
    rx.setsockopt(SOL_SOCKET, SO_RCVBUF, 2048 * 4 * p.batch)
    rx.setblocking(False)
    tx = stack_a.socket(AF_INET6, SOCK_DGRAM)
    return tx, rx


def _udp_rounds(
    tx: Socket, rx: Socket, dst: tuple[str, int], run: Callable[[], object], p: Parameters
) -> Sample:
    data = bytes(p.udp_payload)
    tx.sendto(data, dst)  # warm-up: neighbor resolution, route and source caches
    run()
    _drain(rx)
    received = 0
    clock = _Clock()
    sent = 0
    while sent < p.udp_count:
        n = min(p.batch, p.udp_count - sent)
        for _ in range(n):
            tx.sendto(data, dst)
        sent += n
        run()
        received += _drain(rx)
    return clock.sample(received)


def simnet_udp(p: Parameters) -> Sample:
    world = simnet_pair()
    driver = SimDriver(world)
    a = Stack(world.hosts["a"], driver)
    b = Stack(world.hosts["b"], driver)
    tx, rx = _udp_pair(a, b, p)
    rx.bind(("::", PORT))
    return _udp_rounds(tx, rx, (str(B), PORT), lambda: world.run_for(0.001), p)


# -- loopback (real time) ----------------------------------------------------------------------
def loopback_echo(p: Parameters) -> Sample:
    stack, driver = loopback_stack()
    host = stack.host
    dst = IPv6Address(LOOPBACK)
    data = bytes(p.payload)
    driver.run_due()
    before = host.icmp.in_echo_replies
    clock = _Clock()
    for seq in range(p.echo_count):
        host.icmpv6.send_echo_request(dst, 1, seq & 0xFFFF, data, driver.now)
        driver.run_due()
    return clock.sample(host.icmp.in_echo_replies - before)


def loopback_udp(p: Parameters) -> Sample:
    stack, driver = loopback_stack()
    tx, rx = _udp_pair(stack, stack, p)
    rx.bind(("::", PORT))
    return _udp_rounds(tx, rx, (LOOPBACK, PORT), driver.run_due, p)


# -- TCP bulk transfer (both backends) ----------------------------------------------------
def _tcp_transfer(tx: Stack, rx: Stack, dst: str, p: Parameters) -> Sample:
    listener = rx.socket(AF_INET6, SOCK_STREAM)
    listener.bind(("::", TCP_PORT))
    listener.listen(1)
    sender = tx.socket(AF_INET6, SOCK_STREAM)
    sender.connect((dst, TCP_PORT))
    receiver, _ = listener.accept()
    opts = TtcpOptions(buflen=p.tcp_buflen, nbuf=max(1, p.tcp_octets // p.tcp_buflen), udp=False)
    transfer = TcpTransfer(sender, receiver, opts)
    clock = _Clock()
    finished = transfer.run(lambda: rx.driver.now, rx.driver.wait)
    sample = clock.sample(transfer.received.nbytes if finished and not transfer.mismatched else 0)
    for sock in (sender, receiver, listener):
        sock.close()
    return sample


def simnet_tcp(p: Parameters) -> Sample:
    world = simnet_pair()
    driver = SimDriver(world)
    return _tcp_transfer(
        Stack(world.hosts["a"], driver), Stack(world.hosts["b"], driver), str(B), p
    )


def esp_between(world: SimWorld) -> None:
    """ESP with AES-GCM-16 (RFC 4106) in transport mode for everything between a and b
    (manually keyed, RFC 4301 §4.5), the rest in the clear."""
    keys = {0x1000: bytes(range(20)), 0x2000: bytes(range(20, 40))}
    for me, peer, name, out_spi, in_spi in (
        (A, B, "a", 0x1000, 0x2000),
        (B, A, "b", 0x2000, 0x1000),
    ):
        ipsec_sim.esp_between(
            world.hosts[name], me, peer, out_spi, in_spi, keys, Mode.TRANSPORT, "between"
        )


def simnet_tcp_esp(p: Parameters) -> Sample:
    """``simnet_tcp`` through ESP (AES-GCM-16, transport mode) between the two hosts."""
    world = simnet_pair()
    esp_between(world)
    driver = SimDriver(world)
    sample = _tcp_transfer(
        Stack(world.hosts["a"], driver), Stack(world.hosts["b"], driver), str(B), p
    )
    if world.hosts["b"].ipsec.counters.in_ok == 0:
        raise RuntimeError("simnet_tcp_esp: nothing went through ESP")
    return sample


def loopback_tcp(p: Parameters) -> Sample:
    stack, _ = loopback_stack()
    return _tcp_transfer(stack, stack, LOOPBACK, p)


# -- translation (bench/translate.py) --------------------------------------------------------
def simnet_siit(p: Parameters) -> Sample:
    """SIIT packets translated per second (RFC 7915, both ways, UDP)."""
    count, seconds = translate.siit(p.translate_count)
    return Sample(count, seconds, seconds)


def simnet_nat64(p: Parameters) -> Sample:
    """NAT64 packets translated per second (RFC 6146, established UDP sessions)."""
    count, seconds = translate.nat64(p.translate_count)
    return Sample(count, seconds, seconds)


# -- tcpip6 check (apps/check) ---------------------------------------------------------------
def check_capture_rate(p: Parameters) -> Sample:
    """Packets of a capture judged per second by ``tcpip6 check``: the demo's pcap (ND, DAD,
    MLD, fragments, TCP through a router and through NAT64/SIIT), checked ``p.repeat * 10``
    times over; a run that finds a deviation is an error, not a rate."""
    import tempfile

    from tcpip6.apps.check import check_capture
    from tcpip6.apps.demo import Timeline, simulate

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "demo.pcap"
        simulate(path, Timeline(False, "text"))
        clock = _Clock()
        packets = 0
        for _ in range(10):
            result = check_capture(str(path))
            if result.deviations:
                raise RuntimeError(f"tcpip6 check found {len(result.deviations)} deviations")
            packets += result.stats.ipv6
        return clock.sample(packets)


BENCHMARKS: dict[str, Callable[[Parameters], Sample]] = {
    "simnet_icmpv6_echo": simnet_echo,
    "simnet_udp": simnet_udp,
    "simnet_tcp": simnet_tcp,
    "simnet_tcp_esp": simnet_tcp_esp,
    "loopback_icmpv6_echo": loopback_echo,
    "loopback_udp": loopback_udp,
    "loopback_tcp": loopback_tcp,
    "simnet_siit": simnet_siit,
    "simnet_nat64": simnet_nat64,
    "check_capture": check_capture_rate,
}
#: The pairs compared in the same run: loopback / simnet.
RATIOS = {
    "icmpv6_echo": ("loopback_icmpv6_echo", "simnet_icmpv6_echo"),
    "udp": ("loopback_udp", "simnet_udp"),
    "tcp": ("loopback_tcp", "simnet_tcp"),
}


def unit(name: str) -> str:
    """What a benchmark counts: its ``count`` and ``per_second`` are in this unit."""
    if name.endswith(("_tcp", "_tcp_esp")):
        return "octets"
    if name.endswith("_udp"):
        return "datagrams"
    if name.endswith(("_siit", "_nat64", "check_capture")):
        return "packets"
    return "round trips"


def octets_per_second(name: str, per_second: float, p: Parameters) -> float | None:
    """The rate in application octets a second (None for echo round trips)."""
    if name.endswith(("_tcp", "_tcp_esp")):
        return per_second
    if name.endswith("_udp"):
        return per_second * p.udp_payload
    return None


# -- the run -----------------------------------------------------------------------------------
def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def run(p: Parameters, names: list[str]) -> dict[str, Any]:
    """Each benchmark ``p.repeat`` times, interleaved (so that a slow moment of the machine
    does not fall on one benchmark only); the median run by rate, and every run."""
    samples: dict[str, list[Sample]] = {name: [] for name in names}
    for _ in range(p.repeat):
        for name in names:
            samples[name].append(BENCHMARKS[name](p))
    results: dict[str, Any] = {}
    for name, runs in samples.items():
        rates = [s.per_second for s in runs]
        median = statistics.median(rates)
        best = min(runs, key=lambda s: abs(s.per_second - median))
        results[name] = {
            "unit": unit(name),
            "count": best.count,
            "seconds": best.seconds,
            "per_second": median,
            "octets_per_second": octets_per_second(name, median, p),
            "cpu_seconds": best.cpu_seconds,
            "runs": [asdict(s) for s in runs],
        }
    ratios = {
        key: results[lo]["per_second"] / results[sim]["per_second"]
        for key, (lo, sim) in RATIOS.items()
        if lo in results and sim in results and results[sim]["per_second"]
    }
    esp = results.get("simnet_tcp_esp"), results.get("simnet_tcp")
    return {
        # The cost of ESP: TCP through AES-GCM-16 over plain TCP, both simnet, this run.
        "ratio_esp_over_plain_tcp": (
            esp[0]["per_second"] / esp[1]["per_second"]
            if esp[0] is not None and esp[1] is not None and esp[1]["per_second"]
            else None
        ),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "cpu": cpu_name(),
        "machine": platform.machine(),
        "tcpip6": str(Path(tcpip6.__file__).parent),
        "parameters": asdict(p),
        "results": results,
        "ratios_loopback_over_simnet": ratios,
    }


def print_table(record: dict[str, Any]) -> None:
    # The count and its rate are in each row's unit; KB/sec puts the data rates in one unit.
    print(
        f"{'benchmark':<22} {'count':>9} {'unit':<12} {'seconds':>9} {'count/second':>13} "
        f"{'KB/sec (octets)':>16}"
    )
    for name, r in record["results"].items():
        octets = r.get("octets_per_second")
        kb = f"{octets / 1024:>16.1f}" if octets is not None else f"{'':>16}"
        print(
            f"{name:<22} {r['count']:>9} {r['unit']:<12} {r['seconds']:>9.3f} "
            f"{r['per_second']:>13.0f} {kb}"
        )
    for key, ratio in record["ratios_loopback_over_simnet"].items():
        print(f"ratio loopback/simnet {key}: {ratio:.2f}")
    if record.get("ratio_esp_over_plain_tcp") is not None:
        print(f"ratio esp/plain simnet tcp: {record['ratio_esp_over_plain_tcp']:.2f}")
    p = record["parameters"]
    print(f"(median of {p['repeat']} runs; {record['python']} on {record['cpu']})")


def profile(p: Parameters, top: int) -> None:
    """The UDP simnet case under cProfile: send and receive paths, top functions."""
    profiler = cProfile.Profile()
    profiler.enable()
    sample = simnet_udp(p)
    profiler.disable()
    print(f"simnet_udp under cProfile: {sample.count} datagrams in {sample.seconds:.2f} s")
    stats = pstats.Stats(profiler, stream=sys.stdout).strip_dirs()
    for key in ("cumulative", "tottime"):
        print(f"\n== top {top} by {key} ==")
        stats.sort_stats(key).print_stats(top)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a run of a few seconds")
    parser.add_argument("--profile", action="store_true", help="cProfile the UDP simnet case")
    parser.add_argument("--top", type=int, default=25, help="functions shown by --profile")
    parser.add_argument("--repeat", type=int, help="runs of each benchmark (median reported)")
    parser.add_argument("--echo-count", type=int, help="echo round trips per run")
    parser.add_argument("--udp-count", type=int, help="UDP datagrams per run")
    parser.add_argument("--tcp-octets", type=int, help="octets of each TCP transfer")
    parser.add_argument(
        "--only", action="append", choices=sorted([*BENCHMARKS, *SCALE_NAMES]), help="repeatable"
    )
    parser.add_argument("--no-scale", action="store_true", help="skip the scale measurements")
    parser.add_argument("--no-loss", action="store_true", help="skip the lossy-link TCP cases")
    parser.add_argument("--output", type=Path, default=RESULTS, help="directory for the JSON")
    args = parser.parse_args(argv)
    p = QUICK if args.quick else Parameters()
    overrides = {
        "repeat": args.repeat,
        "echo_count": args.echo_count,
        "udp_count": args.udp_count,
        "tcp_octets": args.tcp_octets,
    }
    p = Parameters(**{**asdict(p), **{k: v for k, v in overrides.items() if v is not None}})
    if args.profile:
        profile(p, args.top)
        return 0
    only = args.only or [*BENCHMARKS, *([] if args.no_scale else SCALE_NAMES)]
    record = run(p, [n for n in only if n in BENCHMARKS])
    if record["results"]:
        print_table(record)
    scale_p = QUICK_SCALE if args.quick else ScaleParameters()
    record["scale_parameters"] = asdict(scale_p)
    record["scale"] = run_scale(scale_p, [n for n in only if n in SCALE_NAMES])
    print_scale(record["scale"])
    if not args.no_loss:
        record["loss"] = loss.run(loss.QUICK_OCTETS if args.quick else loss.OCTETS)
        loss.print_loss(record["loss"])
    args.output.mkdir(parents=True, exist_ok=True)
    stamp = record["date"].replace(":", "").replace("-", "").replace("+0000", "Z")
    out = args.output / f"bench-{stamp}.json"
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
