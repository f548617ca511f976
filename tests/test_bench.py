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
    "simnet_tcp_esp",
    "loopback_icmpv6_echo",
    "loopback_udp",
    "loopback_tcp",
    "simnet_siit",
    "simnet_nat64",
    "check_capture",
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
    assert record["ratio_esp_over_plain_tcp"] > 0
    p = record["parameters"]
    for name, r in record["results"].items():
        assert {"count", "seconds", "per_second", "runs"} <= r.keys()
        assert len(r["runs"]) == p["repeat"]
        # Nothing is lost on either backend: every echo answered, every datagram received.
        if name.endswith(("tcp", "tcp_esp")):
            # Every octet of the TCP transfer arrived (and was checked), in both units.
            assert r["count"] == p["tcp_octets"] // p["tcp_buflen"] * p["tcp_buflen"]
            assert r["octets_per_second"] == r["per_second"]
            continue
        if name == "check_capture":
            # Ten passes over the demo's capture, every packet judged, none deviating.
            assert r["count"] > 0 and r["count"] % 10 == 0
            continue
        if name.endswith(("siit", "nat64")):
            # Every packet given to the translator came out translated.
            assert r["count"] == p["translate_count"]
            continue
        expected = p["udp_count"] if name.endswith("udp") else p["echo_count"]
        assert r["count"] == expected
    assert set(record["ratios_loopback_over_simnet"]) == {"icmpv6_echo", "udp", "tcp"}
    # The table says what each rate counts: one unit a row, never packets and octets mixed.
    units = {
        "tcp": "octets",
        "esp": "octets",
        "udp": "datagrams",
        "echo": "round trips",
        "siit": "packets",
        "nat64": "packets",
        "capture": "packets",
    }
    header, *rows = done.stdout.splitlines()
    assert "count/second" in header and "KB/sec (octets)" in header
    for name, r in record["results"].items():
        assert r["unit"] == units[name.rsplit("_", 1)[1]]
        (row,) = [x for x in rows if x.startswith(name + " ")]
        assert f" {r['unit']} " in row


def test_quick_run_records_the_scale_rows(tmp_path: Path) -> None:
    """The scale rows: every host of each boot got a global address, the transfers of the
    traffic case completed, and the memory rows are there (their values are measurements)."""
    subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--output", str(tmp_path)]
        + [f"--only={n}" for n in ("boot", "traffic_10", "bytes_per_nce", "bytes_per_tcp", "leak")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    (out,) = tmp_path.glob("bench-*.json")
    record = json.loads(out.read_text())
    scale = record["scale"]
    sizes = record["scale_parameters"]["boot_sizes"]
    assert set(scale) == {f"boot_{n}" for n in sizes} | {
        "traffic_10",
        "bytes_per_nce",
        "bytes_per_tcp",
        "leak",
    }
    for n in sizes:
        assert scale[f"boot_{n}"]["hosts"] == n
        assert scale[f"boot_{n}"]["all_global"]
    assert scale["traffic_10"]["complete"]
    assert scale["traffic_10"]["frames"] > 0
    assert scale["bytes_per_nce"]["entries"] >= record["scale_parameters"]["entries"]
    assert scale["bytes_per_tcp"]["ends"] == 2 * record["scale_parameters"]["connections"]
    assert {"bytes_held", "bytes_leaked"} <= scale["leak"].keys()
