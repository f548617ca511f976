"""``python -m bench.live`` (``make bench-live``, as root): tcpip6 on a real link, side by
side with the Linux kernel, in one run.

Every module ``bench/live_*.py`` has ``rows(reps: int) -> list[dict[str, object]]``; each
row is ``{"name", "unit", "tcpip6", "reference", "ratio", "reps"}`` (``reference``: the
Linux kernel's figure, the plain run's for a ratio row, or in a floor row (``tcpip6``
None) what a process other than tcpip6 achieves on the same link; ``reps``: tcpip6's value in each
repetition, and ``reference_reps`` the reference's where there is one). A module makes its
own network namespaces (pid in their names) and removes them when it ends, also when it
fails. The runner prints one table, with the ratio of tcpip6 to the reference per row and the spread
(lowest–highest) of the repetitions, and writes the whole record to
``bench/results/live-<date>.json`` (``--output DIR`` elsewhere).

``--reps N`` sets the repetitions (default :data:`DEFAULT_REPS`), ``--only NAME`` runs the
module ``live_NAME`` alone (repeatable). A module that fails gives a row saying why, the
others still run, and the exit status is 1.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import json
import math
import pkgutil
import platform
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent
PREFIX = "live_"
DEFAULT_REPS = 3

Row = dict[str, Any]


def discover(package: str = "bench") -> list[str]:
    """The short names (``tcp`` for ``live_tcp``) of the package's live modules, sorted."""
    pkg = importlib.import_module(package)
    paths = list(getattr(pkg, "__path__", []))
    return sorted(
        info.name[len(PREFIX) :]
        for info in pkgutil.iter_modules(paths)
        if info.name.startswith(PREFIX)
    )


def load(package: str, name: str) -> ModuleType:
    return importlib.import_module(f"{package}.{PREFIX}{name}")


def run_module(module: ModuleType, name: str, reps: int) -> list[Row]:
    """The module's rows, each tagged with the module's name; a failure is one row with
    ``error`` (the module's own ``finally`` blocks have removed its namespaces)."""
    started = time.monotonic()
    try:
        rows: list[Row] = list(module.rows(reps))
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        return [{"module": name, "name": name, "error": f"{type(exc).__name__}: {exc}"}]
    took = time.monotonic() - started
    for row in rows:
        row.setdefault("module", name)
        row.setdefault("seconds", round(took, 1))
    return rows


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return None if math.isnan(value) else float(value)


def _fmt(value: object) -> str:
    v = _number(value)
    if v is None:
        return "—"
    if v == 0 or abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 1:
        return f"{v:.2f}"
    return f"{v:.3g}"


def _spread(values: object) -> str:
    if not isinstance(values, list):
        return ""
    numbers = [v for x in values if (v := _number(x)) is not None]
    if not numbers:
        return ""
    return f"{_fmt(min(numbers))}–{_fmt(max(numbers))}"


def table(rows: Sequence[Row]) -> str:
    """The printed table: name, unit, tcpip6, reference, ratio, and the spreads."""
    head = ("row", "unit", "tcpip6", "reference", "ratio", "tcpip6 spread", "ref. spread")
    lines = [head]
    for row in rows:
        if "error" in row:
            lines.append((f"{row['name']}: FAILED {row['error']}", "", "", "", "", "", ""))
            continue
        ratio = _number(row.get("ratio"))
        lines.append(
            (
                str(row["name"]),
                str(row.get("unit", "")),
                _fmt(row.get("tcpip6")),
                _fmt(row.get("reference")),
                "—" if ratio is None else f"{ratio:.1%}",
                _spread(row.get("reps")),
                _spread(row.get("reference_reps")),
            )
        )
    cells = [line for line in lines if line[1:] != ("",) * 6]
    widths = [max(len(line[i]) for line in cells) for i in range(7)]
    out = []
    for line in lines:
        if line[1:] == ("",) * 6:
            out.append(line[0])
            continue
        out.append("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())
    return "\n".join(out)


def ratio(tcpip6: float | None, reference: float | None) -> float | None:
    """tcpip6 / reference, None when either is missing or the reference is 0."""
    if tcpip6 is None or reference is None or reference == 0:
        return None
    return tcpip6 / reference


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.live", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--reps", type=int, default=DEFAULT_REPS, help="repetitions per row")
    parser.add_argument(
        "--only", action="append", metavar="NAME", help="run module live_NAME only (repeatable)"
    )
    parser.add_argument("--output", type=Path, default=HERE / "results", help="JSON directory")
    parser.add_argument(
        "--package", default="bench", help="the package whose live_*.py modules run"
    )
    args = parser.parse_args(argv)
    if args.reps < 1:
        parser.error("--reps must be at least 1")
    try:
        names = discover(args.package)
    except ImportError as exc:
        parser.error(f"--package {args.package}: {exc}")
    if args.only:
        unknown = sorted(set(args.only) - set(names))
        if unknown:
            parser.error(f"--only {', '.join(unknown)}: no such module (known: {', '.join(names)})")
        names = [n for n in names if n in args.only]
    rows: list[Row] = []
    for name in names:
        print(f"running {PREFIX}{name} ({args.reps} repetitions)...", file=sys.stderr, flush=True)
        rows += run_module(load(args.package, name), name, args.reps)
    print(table(rows))
    record = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "kernel": platform.release(),
        "reps": args.reps,
        "modules": names,
        "rows": rows,
    }
    args.output.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%d-%H%M%S")
    path = args.output / f"live-{stamp}.json"
    path.write_text(json.dumps(record, indent=2, default=str) + "\n")
    print(f"written {path}")
    return 1 if any("error" in row for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
