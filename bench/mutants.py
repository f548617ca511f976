"""``python -m bench.mutants`` (``make mutants``): the model tests' mutation score.

Cosmic Ray (an established mutation tool, on PyPI) makes one small change at a time to the
state-machine graphs (``tcpip6/stack/machines/``), the parts of the stack those graphs drive,
and the RFC reference models (``tcpip6/spec/``), and runs only the model tests that judge
that file (:data:`AREAS`) against each change, under the derandomized ``mutants``
Hypothesis profile (tests/profiles.py) so that a mutant's outcome is repeatable. A mutant
is *killed* when a test fails (or the run times out: a loop that no longer ends), and
*survives* when every test passes. Mutants that change nothing observable are listed, with
the reason, in ``bench/mutants_equivalent.txt`` and are counted apart.

The changes are Cosmic Ray's usual operators, cut to one replacement per operator (see
:data:`CORE_OPERATORS`), plus two of this project's, registered as Cosmic Ray operator
plug-ins: a state name in a graph table replaced by another state of the same module
(:class:`StateName`: a row going to the wrong state, or from the wrong one), and a row's
trigger replaced by another trigger of the same table (:class:`TriggerName`). Cosmic Ray
mutates no string constants, and the graphs are tables of strings.

Every run works in a copy of the source tree (a killed run never leaves a mutant in the
work tree), prints killed / survived / equivalent per file and per area with the score
killed / (killed + survived), lists the survivors, and writes the whole record to
``bench/results/mutants-<date>.json`` (``--output DIR`` elsewhere), like ``python -m bench``.
``--area machines`` (or ``stack``, ``spec``) and ``--file PATH`` choose; ``--list`` only
counts the mutants; ``--every N`` runs every N-th mutant only (a sample, recorded as such);
``--merge A.json B.json`` combines runs over different files (one per core, say) into one
record; ``--rerun A.json`` runs the survivors of a record again (after tests were added);
``--compare OLD.json NEW.json`` prints the scores of two records side by side.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import parso
from cosmic_ray import plugins
from cosmic_ray.ast import ast_nodes, get_ast_from_path
from cosmic_ray.commands.init import init
from cosmic_ray.mutating import mutate_and_test
from cosmic_ray.operators.operator import Example, Operator
from cosmic_ray.testing import run_tests
from cosmic_ray.work_db import use_db
from cosmic_ray.work_item import TestOutcome, WorkerOutcome

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).parent / "results"
EQUIVALENT = Path(__file__).parent / "mutants_equivalent.txt"

_G = "tests/model/test_graphs.py"
_D = "tests/model/test_rfc_defaults.py"
_R = "tests/model/test_mutant_kills_reassembly.py"
_C = "tests/model/test_mutant_kills_counters.py"
_S = "tests/model/test_mutant_kills_stack.py"

#: Which model tests judge which file, per area, and the share of the area's non-equivalent
#: mutants they must kill.
AREAS: dict[str, tuple[float, dict[str, list[str]]]] = {
    "machines": (
        0.95,
        {
            "tcpip6/stack/machines/dad.py": ["tests/model/test_dad.py", _G],
            "tcpip6/stack/machines/mld.py": ["tests/model/test_mld.py", _G],
            "tcpip6/stack/machines/nce.py": ["tests/model/test_nce.py", _G],
            "tcpip6/stack/machines/reassembly.py": ["tests/model/test_reassembly.py", _R, _G],
            "tcpip6/stack/machines/router_solicitation.py": [
                "tests/model/test_router_solicitation.py",
                _G,
            ],
            "tcpip6/stack/machines/binding_cache.py": [
                "tests/model/test_mobility.py",
                "tests/model/test_mutant_kills_mobility.py",
                _G,
            ],
            "tcpip6/stack/machines/registration.py": ["tests/model/test_registration.py", _G],
            "tcpip6/stack/machines/sa.py": ["tests/model/test_ipsec.py", _G],
            "tcpip6/stack/machines/nat64_tcp.py": ["tests/model/test_nat64_tcp.py", _G],
            "tcpip6/stack/machines/tcp.py": [
                "tests/model/test_tcp.py",
                "tests/model/test_tcp_spec.py",
                "tests/model/test_mutant_kills_tcp.py",
                _G,
            ],
            "tcpip6/stack/machines/graph.py": [
                "tests/stack/test_graph_engine.py",
                "tests/model/test_mutant_kills_graph.py",
                _G,
                "tests/model/test_dad.py",
                "tests/model/test_nce.py",
            ],
        },
    ),
    # The stack code that owns the entities of a graph, keeps their timers and fires their
    # triggers.
    "stack": (
        0.90,
        {
            "tcpip6/stack/addresses.py": [
                "tests/model/test_dad.py",
                "tests/model/test_mutant_kills_dad.py",
                _S,
            ],
            "tcpip6/stack/neighbors.py": ["tests/model/test_nce.py", _C, _S],
            "tcpip6/stack/mld.py": ["tests/model/test_mld.py", _C, _S],
            "tcpip6/stack/fragment.py": ["tests/model/test_reassembly.py", _R],
            "tcpip6/stack/router_solicitation.py": ["tests/model/test_router_solicitation.py"],
            "tcpip6/stack/mobility/binding_cache.py": ["tests/model/test_mobility.py"],
        },
    ),
    # Each RFC model against the model tests that use it as their oracle (the routing part of
    # RFC 4861's model is the oracle of the stack's routing test), and the check that the
    # stack's defaults are the RFC constants the models state.
    "spec": (
        0.90,
        {
            "tcpip6/spec/rfc1970_nd.py": [
                "tests/model/test_nce.py",
                "tests/model/test_router_solicitation.py",
                "tests/stack/test_routing.py",
                _D,
            ],
            "tcpip6/spec/rfc1971_autoconf.py": [
                "tests/model/test_dad.py",
                "tests/model/test_mutant_kills_dad.py",
                _D,
            ],
            "tcpip6/spec/rfc2710_mld.py": ["tests/model/test_mld.py", _D],
            "tcpip6/spec/rfc8200_ipv6.py": ["tests/model/test_reassembly.py", _R, _D],
            "tcpip6/spec/rfc6298_rto.py": ["tests/model/test_rto.py", _D],
            "tcpip6/spec/rfc6937_prr.py": ["tests/model/test_prr.py"],
            "tcpip6/spec/rfc8985_rack.py": ["tests/model/test_rack.py"],
        },
    ),
}

#: Cosmic Ray's operators, one replacement each: the boundary and the negation of a
#: comparison, the inverse of an arithmetic operator, and the rest as they are. (All of
#: Cosmic Ray's binary operator pairs would be some 500 mutants for the graphs alone,
#: mostly string concatenations in the diagram renderer.)
CORE_OPERATORS = frozenset(
    {
        "core/ReplaceComparisonOperator_Lt_LtE",
        "core/ReplaceComparisonOperator_LtE_Lt",
        "core/ReplaceComparisonOperator_Gt_GtE",
        "core/ReplaceComparisonOperator_GtE_Gt",
        "core/ReplaceComparisonOperator_Eq_NotEq",
        "core/ReplaceComparisonOperator_NotEq_Eq",
        "core/ReplaceComparisonOperator_Is_IsNot",
        "core/ReplaceComparisonOperator_IsNot_Is",
        "core/ReplaceBinaryOperator_Add_Sub",
        "core/ReplaceBinaryOperator_Sub_Add",
        "core/ReplaceBinaryOperator_Mul_Div",
        "core/ReplaceBinaryOperator_Div_Mul",
        "core/ReplaceBinaryOperator_FloorDiv_Mul",
        "core/ReplaceBinaryOperator_Mod_FloorDiv",
        "core/ReplaceBinaryOperator_BitOr_BitAnd",
        "core/ReplaceBinaryOperator_BitAnd_BitOr",
        "core/ReplaceBinaryOperator_LShift_RShift",
        "core/ReplaceBinaryOperator_RShift_LShift",
        "core/ReplaceUnaryOperator_Delete_Not",
        "core/ReplaceUnaryOperator_USub_UAdd",
        "core/AddNot",
        "core/ReplaceTrueWithFalse",
        "core/ReplaceFalseWithTrue",
        "core/ReplaceAndWithOr",
        "core/ReplaceOrWithAnd",
        "core/ReplaceBreakWithContinue",
        "core/ReplaceContinueWithBreak",
        "core/NumberReplacer",
        "core/ZeroIterationForLoop",
        "core/ExceptionReplacer",
    }
)

_STATE = re.compile(r"[A-Z][A-Z0-9_]+")
_TRIGGER = re.compile(r"[a-z][a-z0-9_]*")


def _literal(node: Any) -> str | None:
    """The text of a plain string constant, else None (f-strings, bytes, docstrings)."""
    if getattr(node, "type", None) != "string" or node.value[:1] not in "'\"":
        return None
    try:
        value = ast.literal_eval(node.value)
    except (ValueError, SyntaxError):
        return None
    return value if isinstance(value, str) else None


def _leaves(root: Any) -> Iterator[Any]:
    leaf = root.get_first_leaf()
    while leaf is not None:
        yield leaf
        leaf = leaf.get_next_leaf()


def _is_trigger_value(node: Any) -> bool:
    """``node`` is the value of a ``"trigger": ...`` item of a dict display."""
    colon = node.get_previous_leaf()
    key = colon.get_previous_leaf() if colon is not None else None
    return colon is not None and colon.value == ":" and _literal(key) == "trigger"


def _next_in(values: list[str], value: str) -> str:
    return values[(values.index(value) + 1) % len(values)]


class _TableName(Operator):  # type: ignore[misc]
    """Replaces a string constant of a kind by the next one of the same kind in its module."""

    def _kind(self, node: Any) -> bool:
        raise NotImplementedError

    def _values(self, node: Any) -> list[str]:
        root = node.get_root_node()
        # One walk of the module per operator instance (Cosmic Ray asks node by node).
        cache: dict[int, tuple[Any, list[str]]] = self.__dict__.setdefault("_cache", {})
        if id(root) not in cache or cache[id(root)][0] is not root:
            kinds = sorted({_literal(leaf) or "" for leaf in _leaves(root) if self._kind(leaf)})
            cache[id(root)] = (root, kinds)
        return cache[id(root)][1]

    def mutation_positions(self, node: Any) -> Iterator[tuple[Any, Any]]:
        if self._kind(node) and len(self._values(node)) > 1:
            yield (node.start_pos, node.end_pos)

    def mutate(self, node: Any, index: int) -> Any:
        value = _literal(node)
        assert value is not None
        new = _next_in(self._values(node), value)
        return parso.python.tree.String(f'"{new}"', node.start_pos, node.prefix)


class StateName(_TableName):
    """A state name (an upper-case string constant, ``"REACHABLE"``) replaced by the next
    one of its module in alphabetical order: a row from or to the wrong state, an ignored
    pair of the wrong state."""

    def _kind(self, node: Any) -> bool:
        value = _literal(node)
        return value is not None and _STATE.fullmatch(value) is not None

    @classmethod
    def examples(cls) -> list[Example]:
        return [Example('r = {"source": "A1", "dest": "B2"}', 'r = {"source": "B2", "dest": "B2"}')]


class TriggerName(_TableName):
    """The trigger of a row (the value of a ``"trigger"`` key) replaced by the next trigger
    of its table: the row fires on the wrong event."""

    def _kind(self, node: Any) -> bool:
        value = _literal(node)
        return (
            value is not None
            and _TRIGGER.fullmatch(value) is not None
            and (_is_trigger_value(node))
        )

    @classmethod
    def examples(cls) -> list[Example]:
        return [
            Example(
                'r = [{"trigger": "a"}, {"trigger": "b"}]',
                'r = [{"trigger": "b"}, {"trigger": "b"}]',
            )
        ]


PROJECT_OPERATORS = {"StateName": StateName, "TriggerName": TriggerName}
plugins.OPERATOR_PROVIDERS.setdefault("tcpip6", PROJECT_OPERATORS)
OPERATORS = sorted(CORE_OPERATORS | {f"tcpip6/{name}" for name in PROJECT_OPERATORS})


# The list of equivalent mutants -------------------------------------------------------


@dataclass(frozen=True)
class Equivalent:
    """One mutant that no test can kill, and why: ``path | operator | occurrence | the
    source line it changes | reason`` on one line of bench/mutants_equivalent.txt."""

    path: str
    operator: str
    occurrence: int
    line: str
    reason: str


def load_equivalents(path: Path = EQUIVALENT) -> list[Equivalent]:
    out: list[Equivalent] = []
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        fields = [f.strip() for f in raw.split(" | ")]
        if len(fields) != 5 or not fields[2].isdigit() or not fields[4]:
            raise ValueError(f"{path}:{number}: want 'path | operator | n | line | reason'")
        out.append(Equivalent(fields[0], fields[1], int(fields[2]), fields[3], fields[4]))
    return out


@dataclass(frozen=True)
class Mutant:
    path: str
    operator: str
    occurrence: int
    line: int
    source_line: str
    job_id: str


def mutants_of(path: str, root: Path = ROOT) -> list[Mutant]:
    """Every mutant of one file, in Cosmic Ray's order (the occurrence numbers it uses)."""
    module = root / path
    lines = module.read_text().splitlines()
    tree = get_ast_from_path(module)
    out: list[Mutant] = []
    for name in OPERATORS:
        operator = plugins.get_operator(name)()
        positions = [p for node in ast_nodes(tree) for p in operator.mutation_positions(node)]
        for occurrence, (start, _end) in enumerate(positions):
            line = lines[start[0] - 1].strip()
            out.append(Mutant(path, name, occurrence, start[0], line, ""))
    return out


# Running ------------------------------------------------------------------------------


def annotation_spans(source: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Where the annotations of ``source`` are, as (line, column) ranges in characters.

    Every module here starts with ``from __future__ import annotations`` (PEP 563), so an
    annotation is never evaluated at run time: a mutant inside one (``X | None`` made
    ``X & None``) is equivalent by construction, and is counted as such."""
    lines = source.splitlines()

    def pos(line: int, byte_col: int) -> tuple[int, int]:
        return line, len(lines[line - 1].encode()[:byte_col].decode(errors="ignore"))

    spans = []
    for node in ast.walk(ast.parse(source)):
        found: list[ast.expr | None] = []
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found.append(node.returns)
        elif isinstance(node, ast.arg | ast.AnnAssign):
            found.append(node.annotation)
        for a in found:
            if a is not None and a.end_lineno is not None and a.end_col_offset is not None:
                spans.append((pos(a.lineno, a.col_offset), pos(a.end_lineno, a.end_col_offset)))
    return spans


def _in_annotation(start: tuple[int, int], spans: list[Any]) -> bool:
    return any(lo <= start < hi for lo, hi in spans)


def _slots_flag(lines: list[str], start: tuple[int, int]) -> bool:
    """The mutant changes a ``slots=`` flag of a dataclass: it changes how much memory an
    instance takes and whether attributes that no code sets could be set, nothing else; it
    is equivalent by construction, and counted as such."""
    return lines[start[0] - 1][: start[1]].rstrip().endswith("slots=")


def _copy_tree(dest: Path) -> None:
    """The files git knows of, as they are in the work tree now."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    for raw in listed:
        if not raw:
            continue
        rel = raw.decode()
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)


#: Not run against each mutant: the coverage sweep of every graph's model test (tens of
#: seconds; the per-file model tests above run the same machines).
DESELECT = ["tests/model/test_graphs.py::test_model_tests_exercise_every_transition"]


def _test_command(tests: list[str]) -> str:
    deselect = " ".join(f"--deselect {d}" for d in DESELECT)
    return f"{sys.executable} -m pytest -x -q -p no:cacheprovider {deselect} " + " ".join(tests)


def run_file(
    path: str,
    tests: list[str],
    equivalents: list[Equivalent],
    every: int = 1,
    only: set[tuple[str, int]] | None = None,
    log: Any = print,
) -> dict[str, Any]:
    """Every mutant of ``path`` (every ``every``-th one, a sample) against ``tests``, in a
    copy of the tree."""
    with tempfile.TemporaryDirectory(prefix="tcpip6-mutants-") as tmp, contextlib.chdir(tmp):
        work = Path(tmp)
        _copy_tree(work)
        os.environ.update(
            {
                "CI": "true",
                "HYPOTHESIS_PROFILE": "mutants",
                "PYTHONPATH": str(work),
                "HYPOTHESIS_STORAGE_DIRECTORY": str(work / ".hypothesis"),
            }
        )
        command = _test_command(tests)
        started = time.monotonic()
        outcome, output = run_tests(command, 1800)
        baseline = time.monotonic() - started
        if outcome is not TestOutcome.SURVIVED:
            raise RuntimeError(f"{path}: the tests fail without a mutant:\n{output[-3000:]}")
        timeout = max(60.0, 5 * baseline)
        equivalent_keys = {(e.path, e.operator, e.occurrence) for e in equivalents}
        source = (work / path).read_text()
        postponed = "from __future__ import annotations" in source
        spans = annotation_spans(source) if postponed else []
        lines = source.splitlines()
        record: dict[str, Any] = {
            "tests": tests,
            "baseline_seconds": round(baseline, 2),
            "timeout_seconds": round(timeout, 1),
            "every": every,
            "killed": 0,
            "survived": 0,
            "equivalent": 0,
            "in_annotations": 0,
            "slots_flags": 0,
            "incompetent": 0,
            "timed_out": 0,
            "survivors": [],
        }
        with use_db(str(work / "session.sqlite")) as db:
            init([Path(path)], db, {})
            items = [w for w in db.work_items if w.mutations[0].operator_name in OPERATORS]
            log(f"{path}: {len(items)} mutants, baseline {baseline:.1f} s, tests {tests}")
            for n, item in enumerate(items, 1):
                if (n - 1) % every:
                    continue
                if (
                    only is not None
                    and (item.mutations[0].operator_name, item.mutations[0].occurrence) not in only
                ):
                    continue
                m = item.mutations[0]
                key = (path, m.operator_name, m.occurrence)
                if key in equivalent_keys:
                    record["equivalent"] += 1
                    continue
                if _in_annotation(tuple(m.start_pos), spans):
                    record["equivalent"] += 1
                    record["in_annotations"] += 1
                    continue
                if _slots_flag(lines, tuple(m.start_pos)):
                    record["equivalent"] += 1
                    record["slots_flags"] += 1
                    continue
                shutil.rmtree(work / ".hypothesis", ignore_errors=True)
                result = mutate_and_test(item.mutations, command, timeout)
                where = f"{path}:{m.start_pos[0]} {m.operator_name} #{m.occurrence}"
                if result.worker_outcome is not WorkerOutcome.NORMAL:
                    record["incompetent"] += 1
                    log(f"  [{n}/{len(items)}] not run ({result.worker_outcome.value}): {where}")
                elif result.test_outcome is TestOutcome.SURVIVED:
                    record["survived"] += 1
                    record["survivors"].append(
                        {
                            "line": m.start_pos[0],
                            "operator": m.operator_name,
                            "occurrence": m.occurrence,
                            "diff": _text(result.diff),
                        }
                    )
                    log(f"  [{n}/{len(items)}] SURVIVED {where}\n" + _text(result.diff))
                elif result.test_outcome is TestOutcome.KILLED:
                    record["killed"] += 1
                    record["timed_out"] += result.output == "timeout"
                    log(f"  [{n}/{len(items)}] killed {where}")
                else:
                    record["incompetent"] += 1
        return record


def _text(diff: str | list[str]) -> str:
    return diff if isinstance(diff, str) else "\n".join(diff)


def _score(killed: int, survived: int) -> float | None:
    return killed / (killed + survived) if killed + survived else None


def summarize(files: dict[str, dict[str, Any]], target: float) -> dict[str, Any]:
    keys = ("killed", "survived", "equivalent", "incompetent", "timed_out")
    totals = {k: sum(int(f[k]) for f in files.values()) for k in keys}
    score = _score(totals["killed"], totals["survived"])
    return {
        **totals,
        "score": score,
        "target": target,
        "met": score is not None and score >= target,
        "files": files,
    }


def record_of(areas: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "tool": f"cosmic-ray {metadata.version('cosmic-ray')}",
        "hypothesis_profile": "mutants",
        "operators": OPERATORS,
        "areas": areas,
    }


def write_record(record: dict[str, Any], out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = record["date"].replace("+00:00", "Z").replace(":", "")
    path = out_dir / f"mutants-{stamp}.json"
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path


def rerun_survivors(record: dict[str, Any], equivalents: list[Equivalent]) -> dict[str, Any]:
    """``record`` with its survivors run again against the tests of now: those killed now
    move to killed, those listed as equivalent since move to equivalent."""
    areas: dict[str, dict[str, Any]] = {}
    for name, area in record["areas"].items():
        files = {}
        for path, old in area["files"].items():
            survivors = {(s["operator"], s["occurrence"]) for s in old["survivors"]}
            new = dict(old)
            if survivors:
                tests = AREAS[name][1][path]
                again = run_file(path, tests, equivalents, only=survivors)
                new["killed"] = old["killed"] + again["killed"]
                new["equivalent"] = old["equivalent"] + again["equivalent"]
                new["survived"] = again["survived"]
                new["survivors"] = again["survivors"]
                new["tests"] = tests
            files[path] = new
        areas[name] = summarize(files, AREAS[name][0])
    return record_of(areas)


def compare(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """One line per area and file of ``new`` that ``old`` also measured: the two scores."""

    def shown(score: float | None) -> str:
        return f"{score:.1%}" if score is not None else "-"

    out = []
    for name, area in new["areas"].items():
        before = old["areas"].get(name)
        if before is None:
            continue
        out.append(f"{name:<48} {shown(before['score']):>7} -> {shown(area['score'])}")
        for path, f in area["files"].items():
            if path in before["files"]:
                b = before["files"][path]
                was, now = _score(b["killed"], b["survived"]), _score(f["killed"], f["survived"])
                out.append(f"  {path:<46} {shown(was):>7} -> {shown(now)}")
    return out


def merge(
    records: list[dict[str, Any]], equivalents: list[Equivalent] | None = None
) -> dict[str, Any]:
    """One record of several runs over different files (say one per core), the files of
    the later runs winning; survivors listed as equivalent since move to equivalent."""
    files: dict[str, dict[str, dict[str, Any]]] = {}
    for record in records:
        for name, area in record["areas"].items():
            files.setdefault(name, {}).update(area["files"])
    listed = {(e.path, e.operator, e.occurrence) for e in equivalents or []}
    for by_path in files.values():
        for path, f in by_path.items():
            kept = [
                s for s in f["survivors"] if (path, s["operator"], s["occurrence"]) not in listed
            ]
            moved = len(f["survivors"]) - len(kept)
            by_path[path] = {
                **f,
                "survivors": kept,
                "survived": f["survived"] - moved,
                "equivalent": f["equivalent"] + moved,
            }
    return record_of({name: summarize(f, AREAS[name][0]) for name, f in files.items()})


def print_table(areas: dict[str, dict[str, Any]]) -> None:
    print(f"{'file':<48} {'killed':>7} {'survived':>9} {'equiv':>6} {'score':>7}  sample")
    for name, area in areas.items():
        for path, f in area["files"].items():
            s = _score(f["killed"], f["survived"])
            shown = f"{s:.1%}" if s is not None else "-"
            every = f.get("every", 1)
            sample = f"1/{every}" if every > 1 else "all"
            print(
                f"{path:<48} {f['killed']:>7} {f['survived']:>9} {f['equivalent']:>6} "
                f"{shown:>7}  {sample}"
            )
        s = area["score"]
        shown = f"{s:.1%}" if s is not None else "-"
        verdict = "met" if area["met"] else "NOT met"
        print(
            f"{'== ' + name:<48} {area['killed']:>7} {area['survived']:>9} "
            f"{area['equivalent']:>6} {shown:>7}  (target {area['target']:.0%}: {verdict})"
        )
    for area in areas.values():
        for path, f in area["files"].items():
            for s in f["survivors"]:
                print(f"survivor {path}:{s['line']} {s['operator']} #{s['occurrence']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.mutants", description=__doc__)
    parser.add_argument("--area", choices=sorted(AREAS), action="append", help="area(s) to run")
    parser.add_argument("--file", action="append", help="only these source files")
    parser.add_argument("--list", action="store_true", help="count the mutants, run nothing")
    parser.add_argument("--output", type=Path, default=RESULTS, help="JSON directory")
    parser.add_argument(
        "--every", type=int, default=1, help="run every N-th mutant only (a sample; default 1)"
    )
    parser.add_argument(
        "--merge", type=Path, nargs="+", help="combine the JSON of earlier runs, run nothing"
    )
    parser.add_argument(
        "--rerun", type=Path, help="run the survivors of this JSON again (after new tests)"
    )
    parser.add_argument(
        "--compare", type=Path, nargs=2, metavar=("OLD", "NEW"), help="two records' scores"
    )
    args = parser.parse_args(argv)
    if args.compare:
        old, new = (json.loads(p.read_text()) for p in args.compare)
        print("\n".join(compare(old, new)))
        return 0
    if args.rerun:
        record = rerun_survivors(json.loads(args.rerun.read_text()), load_equivalents())
        print_table(record["areas"])
        print(f"written {write_record(record, args.output)}")
        return 0
    if args.merge:
        record = merge([json.loads(p.read_text()) for p in args.merge], load_equivalents())
        print_table(record["areas"])
        print(f"written {write_record(record, args.output)}")
        return 0
    chosen = args.area or list(AREAS)
    equivalents = load_equivalents()
    areas: dict[str, dict[str, Any]] = {}
    date = record_of({})["date"]
    for name in chosen:
        target, files = AREAS[name]
        done: dict[str, dict[str, Any]] = {}
        for path, tests in files.items():
            if args.file and path not in args.file:
                continue
            if args.list:
                print(f"{path}: {len(mutants_of(path))} mutants")
                continue
            done[path] = run_file(path, tests, equivalents, args.every)
            # Written after each file, so that a run cut short keeps what it measured.
            areas[name] = summarize(done, target)
            write_record({**record_of(areas), "date": date}, args.output)
            sys.stdout.flush()
    if args.list:
        return 0
    if not areas:
        print("no file chosen", file=sys.stderr)
        return 2
    print_table(areas)
    print(f"written {write_record({**record_of(areas), 'date': date}, args.output)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
