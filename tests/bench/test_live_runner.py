"""``python -m bench.live`` (``make bench-live``) as a runner, without root: it finds the
``live_*`` modules of a package, runs each one's ``rows(reps)``, prints the table with the
ratio per row, writes the JSON record, reports a failing module as a failed row (the
others still run, the exit status is 1), and ``--only`` selects. The live rows themselves
need root and are the benchmark's business: here a tiny module stands in for them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import bench.live_tcp
from bench import live

ROOT = Path(__file__).resolve().parent.parent.parent

TINY = """
import time


def rows(reps):
    took = []
    for _ in range(reps):
        t0 = time.perf_counter()
        sum(range(1000))
        took.append(time.perf_counter() - t0)
    return [
        {"name": "tiny sum", "unit": "s", "tcpip6": 2.0, "reference": 4.0, "ratio": 0.5,
         "reps": [2.0] * reps, "reference_reps": [3.0, 5.0][:reps]},
        {"name": "tiny timing", "unit": "s", "tcpip6": min(took), "reference": None,
         "ratio": None, "reps": took},
    ]
"""

BROKEN = """
def rows(reps):
    raise RuntimeError("no namespace today")
"""


def _runner(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    pkg = tmp / "livepkg"
    pkg.mkdir(exist_ok=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "live_tiny.py").write_text(TINY)
    (pkg / "live_broken.py").write_text(BROKEN)
    (pkg / "not_live.py").write_text("raise SystemExit('never imported')")
    env = {**os.environ, "PYTHONPATH": f"{tmp}{os.pathsep}{ROOT}"}
    cmd = [sys.executable, "-m", "bench.live", "--package", "livepkg", "--output", str(tmp)]
    return subprocess.run(
        [*cmd, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_the_runner_prints_the_table_and_writes_json(tmp_path: Path) -> None:
    done = _runner(tmp_path, "--reps", "2")
    assert done.returncode == 1, done.stderr  # live_broken failed
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["row", "unit", "tcpip6", "reference", "ratio", "tcpip6",
                                "spread", "ref.", "spread"]  # fmt: skip
    (tiny,) = [line for line in lines if line.startswith("tiny sum")]
    assert tiny.split()[3:] == ["2.00", "4.00", "50.0%", "2.00–2.00", "3.00–5.00"]
    assert "broken: FAILED RuntimeError: no namespace today" in done.stdout
    (out,) = tmp_path.glob("live-*.json")
    record = json.loads(out.read_text())
    assert record["reps"] == 2 and record["modules"] == ["broken", "tiny"]
    by_name = {row["name"]: row for row in record["rows"]}
    assert by_name["tiny timing"]["module"] == "tiny"
    assert len(by_name["tiny timing"]["reps"]) == 2
    assert by_name["broken"]["error"] == "RuntimeError: no namespace today"


def test_only_selects_a_module_and_a_bad_name_is_one_line(tmp_path: Path) -> None:
    done = _runner(tmp_path, "--only", "tiny", "--reps", "1")
    assert done.returncode == 0, done.stderr
    assert "tiny sum" in done.stdout and "broken" not in done.stdout
    bad = _runner(tmp_path, "--only", "nope")
    assert bad.returncode == 2
    assert bad.stderr.splitlines()[-1].endswith("--only nope: no such module (known: broken, tiny)")
    assert "Traceback" not in bad.stderr


def test_the_project_modules_are_found_and_import() -> None:
    """The project's own live modules are discovered, and each one imports (so a rename
    elsewhere cannot leave it broken until someone runs it as root)."""
    names = live.discover("bench")
    assert "tcp" in names
    for name in names:
        assert callable(live.load("bench", name).rows)
    assert [key for key, _, _ in bench.live_tcp.ROWS][:3] == ["rx_on", "rx_off", "tx"]
