"""``python -m bench``: ICMPv6 echo round trips per second between two hosts on simnet,
measured side by side with the cost of one raw receive, printed as a table and written to
``bench/results/<name>.json`` with the machine's Python version and CPU."""

from __future__ import annotations

import json
import platform
import sys
import time
from ipaddress import IPv6Address
from pathlib import Path

from tcpip6.io.sim import SimWorld
from tcpip6.stack.params import InterfaceParameters

A = IPv6Address("fe80::a")
B = IPv6Address("fe80::b")


def _pair() -> SimWorld:
    world = SimWorld(seed=1)
    a, b = world.host("a"), world.host("b")
    no_dad = InterfaceParameters(dup_addr_detect_transmits=0)
    ia = world.connect(a, "lan", params=no_dad)
    ib = world.connect(b, "lan", params=InterfaceParameters(dup_addr_detect_transmits=0))
    ia.add_static_address(A, 64, 0.0)
    ib.add_static_address(B, 64, 0.0)
    world.run_for(20.0)  # MLD reports settle; neighbors resolve on first use
    return world


def echo_round_trips(count: int) -> dict[str, float]:
    world = _pair()
    a = world.hosts["a"]
    payload = bytes(56)
    start = time.perf_counter()
    for seq in range(count):
        a.icmpv6.send_echo_request(B, 1, seq & 0xFFFF, payload, world.now)
        world.run_for(0.001)
    elapsed = time.perf_counter() - start
    replies = a.icmp.in_echo_replies
    return {"round_trips": replies, "seconds": elapsed, "per_second": replies / elapsed}


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    results = {"simnet_icmpv6_echo": echo_round_trips(count)}
    record = {
        "python": sys.version.split()[0],
        "cpu": cpu_name(),
        "machine": platform.machine(),
        "results": results,
    }
    print(f"{'benchmark':<24} {'count':>8} {'seconds':>9} {'per second':>12}")
    for name, r in results.items():
        print(f"{name:<24} {r['round_trips']:>8.0f} {r['seconds']:>9.3f} {r['per_second']:>12.0f}")
    out = Path(__file__).parent / "results" / "echo.json"
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
