"""Fuzz a tcpip6 host's receive path: ``python -m tests.fuzz --frames N [--seed S]``.

A host with the parts that parse the most (link-local and global addresses, a default
router learnt from an RA, a TCP listener, a bound UDP socket, a Mobile IPv6 correspondent
node, IPsec with an SA) takes valid frames of every protocol it parses and mutations of
them, time moving on between them so its timers run. Checked after every frame:

* no exception escapes ``Host.receive`` or ``Host.poll`` (the host runs in strict mode, so
  an internal error raises instead of being logged and counted);
* the frame is accounted for: some counter of its fate (a ``*_drop``, a delivery, a held
  fragment, a forward) moved;
* memory stays bounded: the caches are within their limits at the end, and the traced
  memory grew by less than a stated bound.

Frames that escape or vanish uncounted are written to ``--save DIR`` to replay.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass, field
from ipaddress import IPv6Address
from pathlib import Path

from tcpip6.api import sockets
from tcpip6.apps.ipsec_sim import esp_between
from tcpip6.io.runtime import SimDriver
from tcpip6.io.sim import SimWorld
from tcpip6.stack.counters import CounterSet
from tcpip6.stack.host import Host
from tcpip6.stack.interface import Interface
from tcpip6.stack.ipsec import Mode
from tcpip6.stack.mobility.correspondent import enable_correspondent
from tcpip6.stack.params import InterfaceParameters
from tcpip6.wire import ipv6 as wire_ipv6
from tests.fuzz.frames import PEER_G, PEER_MAC, Target, mutate, templates

GLOBAL = IPv6Address("2001:db8:f::a")
LINK_LOCAL = IPv6Address("fe80::a")
TCP_PORT, UDP_PORT = 7, 9000
#: Memory a run may grow by (the caches filled to their bounds, the counters): a leak of
#: even a few dozen octets a frame passes it within a million frames.
MEMORY_BOUND = 32 << 20

#: Counters that say what became of a frame (besides every ``*_drop``).
FATES = ("in_delivers", "fragments_received", "forwarded", "atomic_fragments", "no_next_header")


@dataclass
class Report:
    frames: int = 0
    escapes: list[tuple[int, str]] = field(default_factory=list)
    unaccounted: list[int] = field(default_factory=list)
    seconds: float = 0.0
    memory_growth: int = 0
    sizes: dict[str, int] = field(default_factory=dict)

    @property
    def frames_per_second(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0


class Subject:
    """The host under test and the counters that tell a frame's fate."""

    def __init__(self, seed: int) -> None:
        self.world = SimWorld(seed=seed)
        self.host: Host = self.world.host("t")
        self.host.strict = True
        params = InterfaceParameters(dup_addr_detect_transmits=0)
        self.iface: Interface = self.world.connect(self.host, "lan", params=params)
        now = self.world.now
        self.iface.add_static_address(LINK_LOCAL, 64, now)
        self.iface.add_static_address(GLOBAL, 64, now)
        self.iface.add_static_neighbor(
            IPv6Address(PEER_G), bytes.fromhex(PEER_MAC.replace(":", ""))
        )
        self.host.tcp.listen(wire_ipv6.UNSPECIFIED, TCP_PORT, 16, now)
        stack = sockets.Stack(self.host, SimDriver(self.world))
        self.udp = stack.socket(sockets.AF_INET6, sockets.SOCK_DGRAM)
        self.udp.bind(("::", UDP_PORT))
        self.udp.setblocking(False)
        enable_correspondent(self.host)
        self._ipsec()
        self.target = Target(
            self.iface.link.link_address.hex(":"), LINK_LOCAL, GLOBAL, TCP_PORT, UDP_PORT
        )
        self.sets = _counter_sets(self.host)
        self.fields = [
            (cs, name)
            for cs in self.sets
            for name in vars(cs)
            if name.endswith("_drop") or name in FATES
        ]

    def _ipsec(self) -> None:
        """ESP between the host and one peer address; the rest bypassed."""
        peer = IPv6Address("2001:db8:f::e5")
        keys = {0x1000: bytes(range(20))}
        esp_between(self.host, GLOBAL, peer, 0x1000, 0x1000, keys, Mode.TRANSPORT, "esp")

    def fate(self) -> int:
        return sum(getattr(cs, name) for cs, name in self.fields)

    def sizes(self) -> dict[str, int]:
        h = self.host
        return {
            "neighbors": sum(len(i.neighbors) for i in h.interfaces),
            "reassembly": len(h.ipv6.reassembler),
            "tcp": len(h.tcp.all_connections()),
        }


def _counter_sets(host: Host) -> list[CounterSet]:
    """Every counter set reachable from the host in two steps (its layers' counters)."""
    found: dict[int, CounterSet] = {}
    for obj in (host, *host.interfaces, *vars(host).values()):
        for value in (obj, *getattr(obj, "__dict__", {}).values()):
            if isinstance(value, CounterSet):
                found[id(value)] = value
    return list(found.values())


def frames(rng: random.Random, corpus: list[bytes]) -> Iterator[bytes]:
    while True:
        frame = rng.choice(corpus)
        yield frame if rng.random() < 0.05 else mutate(rng, frame, corpus)


def run(count: int, seed: int = 0, save: Path | None = None, trace_memory: bool = True) -> Report:
    subject = Subject(seed)
    corpus = templates(subject.target)
    rng = random.Random(seed)
    report = Report()
    host, iface, world = subject.host, subject.iface, subject.world
    if trace_memory:
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
    else:
        base = _rss()
    start = time.perf_counter()
    source = frames(rng, corpus)
    for n in range(count):
        frame = next(source)
        before = subject.fate()
        try:
            host.receive(iface, frame, world.now)
            if n % 64 == 63:
                world.run_for(rng.choice((0.001, 0.05, 1.0, 30.0)))
                _drain(subject)
        except Exception as exc:  # what the fuzzer is for: it must not happen
            report.escapes.append((n, f"{type(exc).__name__}: {exc}"))
            host.internal_errors = 0
            _save(save, "escape", n, frame)
            continue
        if subject.fate() == before:
            report.unaccounted.append(n)
            _save(save, "unaccounted", n, frame)
    report.seconds = time.perf_counter() - start
    report.frames = count
    if trace_memory:
        report.memory_growth = tracemalloc.get_traced_memory()[0] - base
        tracemalloc.stop()
    else:
        report.memory_growth = _rss() - base
    report.sizes = subject.sizes()
    return report


def _rss() -> int:
    """The process's resident set size (Linux), for long runs where tracing costs too much."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


def _drain(subject: Subject) -> None:
    """Empty the UDP socket's queue as an application would."""
    try:
        while True:
            subject.udp.recvfrom(65536)
    except BlockingIOError:
        pass


def _save(directory: Path | None, kind: str, n: int, frame: bytes) -> None:
    if directory is not None:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"{kind}-{n}.bin").write_bytes(frame)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fuzz",
        description="Fuzz a tcpip6 host's receive path with mutated frames of every "
        "protocol it parses; exit 1 if a frame escapes as an exception or is not counted.",
    )
    parser.add_argument("--frames", type=int, default=100_000, help="how many (default 100000)")
    parser.add_argument("--seed", type=int, default=0, help="the generator's seed (default 0)")
    parser.add_argument("--save", type=Path, help="write bad frames into this directory")
    parser.add_argument(
        "--trace-memory",
        action="store_true",
        help="measure memory with tracemalloc (exact, about 4x slower) instead of the RSS",
    )
    args = parser.parse_args(argv)
    if args.frames < 1:
        parser.error("--frames must be at least 1")
    report = run(args.frames, args.seed, args.save, args.trace_memory)
    how = "traced memory" if args.trace_memory else "RSS"
    print(
        f"{report.frames} frames in {report.seconds:.1f} s ({report.frames_per_second:,.0f}/s),"
        f" {len(report.escapes)} escapes, {len(report.unaccounted)} not counted,"
        f" {how} +{report.memory_growth / 1e6:.1f} MB (bound {MEMORY_BOUND / 1e6:.0f}),"
        f" at the end {report.sizes}"
    )
    for n, what in report.escapes[:10]:
        print(f"  frame {n}: {what}")
    bad = report.escapes or report.unaccounted or report.memory_growth > MEMORY_BOUND
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
