"""What the graph engine's tests did not look at, found by `make mutants` (bench/mutants.py):
reading a JSON trace back (``tcpip6 diagram --highlight``), the text and JSON trace
printers, the count of taken transitions, the RFC section each row cites in the trace, the
guard text of the diagrams, and when :meth:`Graph.fire` may carry a row out itself (only
when ``transitions`` would do nothing but set the state and trace it)."""

from __future__ import annotations

import enum
import io
import json
from dataclasses import asdict
from typing import Any

import pytest
from transitions import EventData

from tcpip6.stack.machines import all_graphs
from tcpip6.stack.machines import router_solicitation as rs_graph
from tcpip6.stack.machines.graph import Graph, TransitionRecord, trace_printer
from tcpip6.stack.machines.router_solicitation import SolicitationState

GRAPH = rs_graph.GRAPH

RECORD = TransitionRecord(
    now=1.5,
    graph="router_solicitation",
    entity="eth0",
    old="IDLE",
    trigger="interface_enabled",
    new="DELAYING",
    rfc="4861 §6.3.7",
)


# -- reading a JSON trace back --------------------------------------------------------------
@pytest.mark.parametrize("now", [1.5, 2, None])
def test_a_json_trace_line_reads_back_to_its_record(now: float | None) -> None:
    rec = TransitionRecord(**{**asdict(RECORD), "now": now})
    assert TransitionRecord.from_json(json.dumps(asdict(rec))) == rec


def _line(**changes: Any) -> str:
    # A long entity name makes the line longer than the 60 characters an error quotes.
    data = {**asdict(RECORD), "entity": "x" * 80, **changes}
    return json.dumps(data)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json" + "x" * 80, "not a JSON trace line"),
        (json.dumps([asdict(RECORD)] * 2), "a trace line has the keys"),
        (_line(extra="y"), "a trace line has the keys"),
        (json.dumps({k: v for k, v in json.loads(_line()).items() if k != "rfc"}), "has the keys"),
        (_line(now="soon"), "'now' is a number or null"),
        (_line(now=[1]), "'now' is a number or null"),
        (_line(old=3), "other than 'now' are strings"),
    ],
)
def test_a_bad_trace_line_is_refused_quoting_its_first_60_characters(
    line: str, message: str
) -> None:
    assert len(line) > 61
    with pytest.raises(ValueError) as info:
        TransitionRecord.from_json(line)
    assert message in str(info.value)
    assert str(info.value).endswith(": " + repr(line[:60]))


# -- the trace printers ---------------------------------------------------------------------
def test_the_text_printer_prints_one_aligned_line_per_change() -> None:
    out = io.StringIO()
    trace_printer(out)(RECORD)
    trace_printer(out, "text")(RECORD)
    line = "   1.500  router_solicitation  eth0" + " " * 25
    line += "IDLE --interface_enabled--> DELAYING  [RFC 4861 §6.3.7]\n"
    assert out.getvalue() == line * 2


def test_the_json_printer_prints_what_from_json_reads() -> None:
    out = io.StringIO()
    trace_printer(out, "json")(RECORD)
    (line,) = out.getvalue().splitlines()
    assert json.loads(line) == asdict(RECORD)
    assert TransitionRecord.from_json(line) == RECORD


def test_an_unknown_trace_format_is_refused() -> None:
    with pytest.raises(ValueError, match="choose text or json"):
        trace_printer(io.StringIO(), "xml")


# -- what a trace took ----------------------------------------------------------------------
def test_taken_counts_each_declared_transition_of_its_own_graph() -> None:
    second = TransitionRecord(**{**asdict(RECORD), "old": "DELAYING", "trigger": "delay_expired"})
    second = TransitionRecord(**{**asdict(second), "new": "SOLICITING"})
    other = TransitionRecord(**{**asdict(RECORD), "graph": "dad", "old": "NOWHERE"})
    counts = GRAPH.taken([RECORD, other, second, RECORD])
    assert counts == {
        ("IDLE", "interface_enabled", "DELAYING"): 2,
        ("DELAYING", "delay_expired", "SOLICITING"): 1,
    }
    undeclared = TransitionRecord(**{**asdict(RECORD), "new": "DONE"})
    with pytest.raises(ValueError, match="no transition IDLE --interface_enabled--> DONE"):
        GRAPH.taken([RECORD, undeclared])


# -- the table as the trace and the diagrams show it ----------------------------------------
def _rows() -> list[tuple[str, dict[str, Any]]]:
    return [(name, row) for name, g in sorted(all_graphs().items()) for row in g.transitions]


def _names(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [getattr(v, "name", v) for v in value]


def test_each_transition_cites_its_own_rows_rfc_section() -> None:
    graphs = all_graphs()
    differs = 0
    for name, row in _rows():
        graph = graphs[name]
        for src in _names(row["source"]):
            assert graph.rfc_of(src, row["trigger"], _names(row["dest"])[0]) == row["rfc"]
            differs += row["rfc"] != graph.rfc
    assert differs  # some rows cite a section other than the graph's own
    assert GRAPH.rfc_of("DONE", "no_such_trigger", "IDLE") == GRAPH.rfc


def test_the_guard_text_names_every_condition_and_unless() -> None:
    graphs = all_graphs()
    unless_only = 0
    for name, row in _rows():
        want = [c for c in _names(row.get("conditions", []))]
        want += ["not " + c for c in _names(row.get("unless", []))]
        guards = {g for _, _, trig, g, rfc in graphs[name].edges() if trig == row["trigger"]}
        assert " and ".join(want) in guards, (name, row)
        unless_only += "unless" in row and "conditions" not in row
    assert unless_only  # e.g. RFC 5961 §4: TCP's SYN in SYN-RECEIVED "unless passive"


# -- when fire() carries a row out itself ---------------------------------------------------
def _skip_when_another_callback_listens(graph: Graph) -> None:
    if len(graph.machine.after_state_change) != 1:
        pytest.skip("another callback listens (make graph-coverage): fire() uses transitions")


@pytest.mark.parametrize("name", sorted(all_graphs()))
def test_a_graph_machine_calls_nothing_but_the_trace(name: str) -> None:
    graph = all_graphs()[name]
    _skip_when_another_callback_listens(graph)
    assert graph._plain_machine()


@pytest.mark.parametrize(
    ("attribute", "value"),
    [
        ("before_state_change", [lambda ev: None]),
        ("prepare_event", [lambda ev: None]),
        ("finalize_event", [lambda ev: None]),
        ("on_exception", [lambda ev: None]),
    ],
)
def test_any_other_machine_callback_stops_the_short_cut(attribute: str, value: Any) -> None:
    _skip_when_another_callback_listens(GRAPH)
    machine = GRAPH.machine
    before = getattr(machine, attribute)
    setattr(machine, attribute, value)
    try:
        assert not GRAPH._plain_machine()
    finally:
        setattr(machine, attribute, before)
    assert GRAPH._plain_machine()


class Toy(enum.Enum):
    A = "A"
    B = "B"
    C = "C"


def _toy() -> Graph:
    return Graph(
        name="toy",
        states=Toy,
        transitions=[
            {"trigger": "go", "source": "A", "dest": "B", "rfc": "9999 §1"},
            {"trigger": "go", "source": "B", "dest": "C", "rfc": "9999 §2"},
            {
                "trigger": "two",
                "source": "A",
                "dest": "B",
                "conditions": "is_yes",
                "rfc": "9999 §3",
            },
            {"trigger": "two", "source": "A", "dest": "C", "rfc": "9999 §4"},
        ],
        initial=Toy.A,
        rfc="1",
        description="toy",
    )


class Entity:
    state: enum.Enum

    def __init__(self) -> None:
        self.trace_label = "e"
        self.records: list[TransitionRecord] = []
        self.trace_sink = self.records.append
        self.yes = False

    def is_yes(self, event: EventData) -> bool:
        return self.yes


def _refuse(*args: Any, **kwargs: Any) -> bool:
    raise AssertionError("transitions was asked to fire a plain row")


def test_a_lone_guardless_row_is_carried_out_without_transitions() -> None:
    toy = _toy()
    assert toy._plain_row(Toy.A, "go") is Toy.B
    assert toy._plain_row(Toy.B, "go") is Toy.C
    e = Entity()
    toy.attach(e)
    # fire() must not need transitions' own Event.trigger for this row.
    toy._events["go"].trigger = _refuse  # type: ignore[method-assign]
    assert toy.fire(e, "go", 1.0) and e.state is Toy.B
    assert [(r.old, r.new, r.rfc) for r in e.records] == [("A", "B", "9999 §1")]


def test_a_state_with_two_rows_for_a_trigger_goes_through_transitions() -> None:
    toy = _toy()
    assert toy._plain_row(Toy.A, "two") is None
    e = Entity()
    toy.attach(e)
    assert toy.fire(e, "two", 1.0) and e.state is Toy.C


@pytest.mark.parametrize("kind", ["prepare", "before", "after"])
def test_a_row_with_a_callback_goes_through_transitions(kind: str) -> None:
    toy = _toy()
    calls: list[str] = []
    (row,) = toy.machine.events["go"].transitions["A"]
    getattr(row, kind).append(lambda ev: calls.append(kind))
    assert toy._plain_row(Toy.A, "go") is None
    e = Entity()
    toy.attach(e)
    assert toy.fire(e, "go", 1.0) and e.state is Toy.B and calls == [kind]


@pytest.mark.parametrize("where", ["on_exit", "on_enter"])
def test_a_state_callback_goes_through_transitions(where: str) -> None:
    toy = _toy()
    calls: list[str] = []
    state = toy.machine.get_state("A" if where == "on_exit" else "B")
    getattr(state, where).append(lambda ev: calls.append(where))
    assert toy._plain_row(Toy.A, "go") is None
    e = Entity()
    toy.attach(e)
    assert toy.fire(e, "go", 1.0) and e.state is Toy.B and calls == [where]


def test_a_plain_row_fired_directly_traces_like_transitions() -> None:
    e = Entity()
    GRAPH.attach(e, SolicitationState.IDLE)
    try:
        dest = GRAPH._plain_row(SolicitationState.IDLE, "interface_enabled")
        assert dest is SolicitationState.DELAYING
        assert GRAPH.fire(e, "interface_enabled", 0.25)
        assert e.records == [TransitionRecord(**{**asdict(RECORD), "now": 0.25, "entity": "e"})]
    finally:
        GRAPH.detach(e)
