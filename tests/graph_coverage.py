"""``make graph-coverage``: which declared transitions of each graph the tests exercised.

Loaded as a pytest plugin (``pytest -p tests.graph_coverage``): every graph's machine gets
one more after-state-change callback that records ``(source, trigger, dest)``, whichever
model fired it, in the model tests and the scenario tests alike, and ``(state, trigger)`` of
each ignored pair fired (an internal transition: no change of state). At the end it prints,
per graph, the share of declared transitions taken and of ignored pairs fired, and the ones
never taken or fired, writes the same as JSON (``--graph-coverage-json``), and fails the run
when a transition was never taken or an ignored pair never fired.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from transitions import EventData

from tcpip6.stack.machines import all_graphs
from tcpip6.stack.machines.graph import Graph

TAKEN: dict[str, set[tuple[str, str, str]]] = {}
IGNORED_FIRED: dict[str, set[tuple[str, str]]] = {}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--graph-coverage-json", default=None, help="write the report as JSON")


def _recorder(graph: Graph) -> Any:
    taken = TAKEN.setdefault(graph.name, set())
    ignored = IGNORED_FIRED.setdefault(graph.name, set())

    def record(event: EventData) -> None:
        t = event.transition
        if t is None:
            return
        if t.dest is None:
            ignored.add((t.source, event.event.name))
        else:
            taken.add((t.source, event.event.name, t.dest))

    return record


def pytest_configure(config: pytest.Config) -> None:
    for graph in all_graphs().values():
        machine = graph.machine
        machine.after_state_change = [*machine.after_state_change, _recorder(graph)]


def report() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, graph in all_graphs().items():
        declared = {(s, t, d) for s, d, t, _, _ in graph.edges()}
        taken = TAKEN.get(name, set()) & declared
        fired = IGNORED_FIRED.get(name, set()) & graph.ignored
        out[name] = {
            "rfc": graph.rfc,
            "declared": len(declared),
            "exercised": len(taken),
            "missing": sorted(f"{s} --{t}--> {d}" for s, t, d in declared - taken),
            "ignored": len(graph.ignored),
            "ignored_fired": len(fired),
            "ignored_missing": sorted(f"{s} --{t}" for s, t in graph.ignored - fired),
        }
    return out


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    rows = report()
    tr = terminalreporter
    tr.section("graph coverage: declared transitions exercised by the tests")
    for name, row in rows.items():
        share = 100.0 * row["exercised"] / row["declared"] if row["declared"] else 100.0
        tr.write_line(
            f"{name:<22} RFC {row['rfc']:<12} "
            f"{row['exercised']:>3}/{row['declared']:<3} {share:5.1f}%   "
            f"ignored fired {row['ignored_fired']:>3}/{row['ignored']:<3}"
        )
        for missing in row["missing"]:
            tr.write_line(f"    never exercised: {missing}")
        for missing in row["ignored_missing"]:
            tr.write_line(f"    ignored pair never fired: {missing}")
    path = config.getoption("--graph-coverage-json")
    if path:
        Path(path).write_text(json.dumps(rows, indent=2) + "\n")
        tr.write_line(f"written to {path}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if exitstatus == 0 and any(
        row["missing"] or row["ignored_missing"] for row in report().values()
    ):
        session.exitstatus = 1
