"""``python -m bench.compare REV``: the benchmarks on the ``tcpip6`` of revision ``REV`` and
on the working tree, in alternating runs of ``python -m bench`` (so that the two see the
same machine conditions), with the medians of each side and the ratio new/old.

``REV``'s ``tcpip6/`` is exported with ``git archive`` to a temporary directory, put first
on ``PYTHONPATH``; the benchmark code itself is the working tree's for both sides.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def export(rev: str, into: Path) -> None:
    archive = subprocess.run(
        ["git", "archive", rev, "tcpip6"], cwd=ROOT, check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)


def one_run(pythonpath: str, extra: list[str], out: Path) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": pythonpath}
    before = set(out.glob("bench-*.json"))
    subprocess.run(
        [sys.executable, "-m", "bench", "--repeat", "1", "--output", str(out), *extra],
        cwd=out,
        env=env,
        check=True,
        capture_output=True,
    )
    (new,) = set(out.glob("bench-*.json")) - before
    record: dict[str, Any] = json.loads(new.read_text())
    new.unlink()
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__)
    parser.add_argument("rev", help="the revision to compare the working tree with")
    parser.add_argument("--rounds", type=int, default=5, help="runs of each side")
    parser.add_argument("--cpu", action="store_true", help="rate by processor time")
    args, extra = parser.parse_known_args(argv)
    key = "cpu_seconds" if args.cpu else "seconds"
    rates: dict[str, dict[str, list[float]]] = {"old": {}, "new": {}}
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        out = Path(tmp) / "out"
        base.mkdir()
        out.mkdir()
        export(args.rev, base)
        paths = {"old": f"{base}{os.pathsep}{ROOT}", "new": str(ROOT)}
        for i in range(args.rounds):
            for side in ("old", "new") if i % 2 == 0 else ("new", "old"):
                record = one_run(paths[side], extra, out)
                expected = base / "tcpip6" if side == "old" else ROOT / "tcpip6"
                if Path(record["tcpip6"]) != expected:
                    raise SystemExit(f"{side}: ran {record['tcpip6']}, not {expected}")
                for name, r in record["results"].items():
                    rate = r["count"] / r[key] if r[key] else 0.0
                    rates[side].setdefault(name, []).append(rate)
    print(f"{args.rev} (old) vs working tree (new), median of {args.rounds} runs ({key})")
    print(f"{'benchmark':<22} {'old /s':>10} {'new /s':>10} {'new/old':>8}")
    for name, old in rates["old"].items():
        o, n = statistics.median(old), statistics.median(rates["new"][name])
        print(f"{name:<22} {o:>10.0f} {n:>10.0f} {n / o:>8.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
