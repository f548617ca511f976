"""The tooling of ``make mutants`` (bench/mutants.py), without running any mutant: the list
of equivalent mutants still names real mutants, the project's two operators make the change
they say, and the JSON record has the keys that runs are compared by."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cosmic_ray.ast import ast_nodes, get_ast
from cosmic_ray.mutating import mutate_code

from bench import mutants


def test_equivalent_list_names_existing_mutants() -> None:
    listed = {p for _, files in mutants.AREAS.values() for p in files}
    equivalents = mutants.load_equivalents()
    of = {path: mutants.mutants_of(path) for path in {eq.path for eq in equivalents} & listed}
    for eq in equivalents:
        assert eq.path in listed, eq
        assert eq.operator in mutants.OPERATORS, eq
        found = [
            m for m in of[eq.path] if (m.operator, m.occurrence) == (eq.operator, eq.occurrence)
        ]
        assert len(found) == 1, f"{eq}: no such mutant"
        assert found[0].source_line == eq.line, f"{eq}: the line is now {found[0].source_line!r}"


def test_equivalent_list_rejects_a_line_without_reason(tmp_path: Path) -> None:
    bad = tmp_path / "eq.txt"
    bad.write_text("tcpip6/stack/machines/dad.py | core/AddNot | 0 | x = 1 |\n")
    with pytest.raises(ValueError, match=r"eq\.txt:1"):
        mutants.load_equivalents(bad)


def test_every_area_names_existing_files_and_tests() -> None:
    root = mutants.ROOT
    for _, files in mutants.AREAS.values():
        for path, tests in files.items():
            assert (root / path).is_file(), path
            assert all((root / t).is_file() for t in tests), tests


SOURCE = """\
TRANSITIONS = [
    {"trigger": "go", "source": "IDLE", "dest": "BUSY", "rfc": "1 §1"},
    {"trigger": "stop", "source": "BUSY", "dest": "IDLE", "rfc": "1 §2"},
]
"""


def test_state_name_operator_redirects_a_row() -> None:
    operator = mutants.StateName()
    # Occurrence 1 is the first row's dest, BUSY: the next state alphabetically is IDLE.
    assert mutate_code(SOURCE, operator, 1) == SOURCE.replace('"dest": "BUSY"', '"dest": "IDLE"')
    # The RFC citation, the trigger and lower-case text are not states.
    assert mutate_code(SOURCE, operator, 4) is None


def test_trigger_name_operator_moves_a_row_to_another_trigger() -> None:
    operator = mutants.TriggerName()
    assert mutate_code(SOURCE, operator, 0) == SOURCE.replace('"go"', '"stop"')
    assert mutate_code(SOURCE, operator, 1) == SOURCE.replace('"stop"', '"go"')
    assert mutate_code(SOURCE, operator, 2) is None


def test_json_record_keys_and_score(tmp_path: Path) -> None:
    file_record = {
        "tests": ["tests/model/test_dad.py"],
        "killed": 19,
        "survived": 1,
        "equivalent": 2,
        "incompetent": 0,
        "timed_out": 3,
        "survivors": [{"line": 5, "operator": "core/AddNot", "occurrence": 0, "diff": ""}],
    }
    area = mutants.summarize({"tcpip6/stack/machines/dad.py": file_record}, 0.95)
    assert (area["killed"], area["survived"], area["equivalent"]) == (19, 1, 2)
    assert area["score"] == pytest.approx(0.95)
    assert area["met"] is True
    path = mutants.write_record(mutants.record_of({"machines": area}), tmp_path)
    record = json.loads(path.read_text())
    assert path.name.startswith("mutants-") and path.suffix == ".json"
    assert {"date", "python", "tool", "operators", "areas"} <= record.keys()
    assert record["tool"].startswith("cosmic-ray ")
    assert record["areas"]["machines"]["files"]["tcpip6/stack/machines/dad.py"]["survived"] == 1


def test_merge_adds_up_runs_over_different_files() -> None:
    def run(path: str, killed: int, survived: int) -> dict[str, object]:
        f = {"killed": killed, "survived": survived, "equivalent": 0, "incompetent": 0}
        f |= {"timed_out": 0, "survivors": []}
        return mutants.record_of({"machines": mutants.summarize({path: f}, 0.95)})

    merged = mutants.merge([run("a.py", 9, 1), run("b.py", 10, 0)])
    machines = merged["areas"]["machines"]
    assert (machines["killed"], machines["survived"]) == (19, 1)
    assert machines["score"] == pytest.approx(0.95)
    assert sorted(machines["files"]) == ["a.py", "b.py"]


def test_mutants_in_annotations_are_recognised() -> None:
    # Under PEP 563 an annotation is never evaluated: `|` made `&` there changes nothing.
    source = "def f(x: A | None, y: int) -> B | None:\n    z: C | D = x | y\n    return z\n"
    spans = mutants.annotation_spans(source)
    operator = mutants.plugins.get_operator("core/ReplaceBinaryOperator_BitOr_BitAnd")()
    starts = [s for n in ast_nodes(get_ast(source)) for s, _ in operator.mutation_positions(n)]
    assert starts == [(1, 11), (1, 32)]
    assert all(mutants._in_annotation(s, spans) for s in [*starts, (2, 9)])
    assert not mutants._in_annotation((2, 18), spans)  # x | y: evaluated


def test_slots_flags_are_recognised() -> None:
    lines = ["@dataclass(frozen=True, slots=True)"]
    assert mutants._slots_flag(lines, (1, 30))
    assert not mutants._slots_flag(lines, (1, 18))  # frozen=: instances become mutable


def test_compare_shows_both_scores() -> None:
    def record(killed: int) -> dict[str, object]:
        f = {"killed": killed, "survived": 10 - killed, "equivalent": 0, "incompetent": 0}
        f |= {"timed_out": 0, "survivors": []}
        return mutants.record_of({"spec": mutants.summarize({"a.py": f}, 0.9)})

    lines = mutants.compare(record(8), record(10))
    assert lines[0].split() == ["spec", "80.0%", "->", "100.0%"]
    assert lines[1].split() == ["a.py", "80.0%", "->", "100.0%"]


def test_merge_moves_survivors_listed_as_equivalent() -> None:
    survivor = {"line": 1, "operator": "core/AddNot", "occurrence": 3, "diff": ""}
    f = {"killed": 9, "survived": 1, "equivalent": 0, "incompetent": 0, "timed_out": 0}
    f["survivors"] = [survivor]
    record = mutants.record_of({"spec": mutants.summarize({"a.py": f}, 0.9)})
    listed = mutants.Equivalent("a.py", "core/AddNot", 3, "x", "why")
    area = mutants.merge([record], [listed])["areas"]["spec"]
    assert (area["killed"], area["survived"], area["equivalent"], area["score"]) == (9, 0, 1, 1.0)
