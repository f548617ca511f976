"""``python -m bench --quick`` runs and writes a JSON record with the expected keys (the
numbers themselves are the benchmark's business: no timing is asserted here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NAMES = {
    "simnet_icmpv6_echo",
    "simnet_udp",
    "simnet_tcp",
    "loopback_icmpv6_echo",
    "loopback_udp",
    "loopback_tcp",
    "simnet_siit",
    "simnet_nat64",
}


def test_quick_run_writes_json(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--output", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    for name in NAMES:
        assert name in done.stdout
    (out,) = tmp_path.glob("bench-*.json")
    record = json.loads(out.read_text())
    assert {"date", "python", "cpu", "machine", "parameters", "results"} <= record.keys()
    assert set(record["results"]) == NAMES
    p = record["parameters"]
    for name, r in record["results"].items():
        assert {"count", "seconds", "per_second", "runs"} <= r.keys()
        assert len(r["runs"]) == p["repeat"]
        # Nothing is lost on either backend: every echo answered, every datagram received.
        if name.endswith("tcp"):
            # Every octet of the TCP transfer arrived (and was checked), in both units.
            assert r["count"] == p["tcp_octets"] // p["tcp_buflen"] * p["tcp_buflen"]
            assert r["octets_per_second"] == r["per_second"]
            continue
        if name.endswith(("siit", "nat64")):
            # Every packet given to the translator came out translated.
            assert r["count"] == p["translate_count"]
            continue
        expected = p["udp_count"] if name.endswith("udp") else p["echo_count"]
        assert r["count"] == expected
    assert set(record["ratios_loopback_over_simnet"]) == {"icmpv6_echo", "udp", "tcp"}
