"""TCP through the live translator vs direct (``make bench-live``; root).

The network of tests/interop/translate_net.py: an IPv6-only Linux namespace downloads a file
over HTTP (curl) from an IPv4-only one through ``tcpip6 host --translate`` (SIIT, then
NAT64), tcpip6 on AF_PACKET on the IPv6 side and a TUN device on the IPv4 side. The direct
run fetches the same file from the same server over the same veth, from the translator's
namespace by the Linux kernel's IPv4, without the translator. Each row's ``tcpip6`` is the
median MB/s through the translator, ``reference`` the direct median, ``ratio`` the first
over the second; curl's own timing (``time_total``) excludes its start-up.

Alone: ``python -m bench.live_translate [REPS]`` prints the rows as JSON.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.interop.translate_net import H4, HTTP_PORT, Net, translator_network, v6

#: The file downloaded, in octets.
SIZE = 16 * 1024 * 1024
MODES = ("siit", "nat64")


def _curl(cmd_prefix: list[str], url: str) -> float:
    """One download by curl in a namespace: MB/s (an error if it did not all arrive)."""
    done = subprocess.run(
        [*cmd_prefix, "curl", "-sS", "-g", "--max-time", "120", "-o", "/dev/null",
         "-w", "%{size_download} %{time_total}", url],
        capture_output=True, text=True, timeout=150,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"curl {url}: {done.stderr.strip()}")
    size, seconds = done.stdout.split()
    if int(size) != SIZE:
        raise RuntimeError(f"curl {url}: {size} octets of {SIZE}")
    return SIZE / float(seconds) / 1e6


def _through(net: Net) -> float:
    return _curl(net.topo.in_peer(), f"http://[{v6(H4)}]:{HTTP_PORT}/file")


def _direct(net: Net) -> float:
    return _curl(net.topo.in_host(), f"http://{H4}:{HTTP_PORT}/file")


def rows(reps: int) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="bench-xlate-") as tmp:
        www = Path(tmp) / "www"
        www.mkdir()
        (www / "file").write_bytes(os.urandom(SIZE))
        for mode in MODES:
            with translator_network(mode, www) as net:
                _through(net)  # warm-up: neighbor discovery, path MTU, the NAT64's BIB
                through = [_through(net) for _ in range(reps)]
                direct = [_direct(net) for _ in range(reps)]
            x, y = statistics.median(through), statistics.median(direct)
            out.append(
                {
                    "name": f"tcp {SIZE >> 20} MB through {mode} (tcpip6 host) vs direct",
                    "unit": "MB/s",
                    "tcpip6": round(x, 2),
                    "reference": round(y, 2),
                    "ratio": round(x / y, 4),
                    "reps": [round(r, 2) for r in through],
                    "reference_reps": [round(r, 2) for r in direct],
                }
            )
    return out


def main(argv: list[str]) -> int:
    if os.geteuid() != 0:
        print(
            "bench.live_translate: needs root (network namespaces, a TUN device)", file=sys.stderr
        )
        return 1
    reps = int(argv[0]) if argv else 3
    print(json.dumps(rows(reps), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
