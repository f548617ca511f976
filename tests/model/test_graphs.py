"""Every graph: rows cite the RFC, the table is total, the drawings show it exactly, and
the model tests exercise every declared transition."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from tcpip6.stack.machines import all_graphs, get_graph
from tcpip6.stack.machines.graph import Graph
from tests.model import (
    test_correspondent_registration,
    test_dad,
    test_ipsec,
    test_mld,
    test_mobility,
    test_nat64_tcp,
    test_nce,
    test_reassembly,
    test_registration,
    test_router_solicitation,
    test_tcp,
)

GRAPHS = all_graphs()


def test_the_host_graphs_are_registered() -> None:
    assert {"nce", "dad", "mld", "router_solicitation", "reassembly", "tcp"} <= set(GRAPHS)


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_rows_cite_the_rfc_and_table_is_total(name: str) -> None:
    graph = GRAPHS[name]
    for row in graph.transitions:
        assert re.match(r"^\d{3,4} (§[\d.]+|Appendix [A-Z])", row["rfc"]), row
    declared = {(src, trig) for src, _, trig, _, _ in graph.edges()}
    events = {trig for _, trig in declared} | {trig for _, trig in graph.ignored}
    # No (state, trigger) pair is both a transition and ignored.
    assert not declared & graph.ignored
    # Every state that handles any event accounts for every event: a row, an ignored pair
    # or a pair declared impossible (with its reason); a terminal state handles none.
    impossible = set(graph.impossible)
    assert all(reason for reason in graph.impossible.values())
    assert not impossible & (declared | graph.ignored)
    for state in graph.states:
        handled = {t for s, t in declared | graph.ignored if s == state.name}
        cannot = {t for s, t in impossible if s == state.name}
        if handled:
            assert handled | cannot == events, (state, sorted(events - handled - cannot))
        else:
            assert not cannot, (state, "a terminal state needs no impossible pairs")


def _rows(src: str, dst: str, label: str, states: set[str]) -> set[tuple[str, str, str]]:
    """The (source, dest, trigger) rows one drawn arrow stands for: a line of its label per
    row; from the "any state" node, every state but those it is "not from"."""
    rows = set()
    for line in re.split(r"\\[nl]", label):
        if not line:
            continue
        trigger = line.split(" ")[0]
        if src != "__any__":
            rows.add((src, dst, trigger))
            continue
        _, _, names = line.partition(" not from ")
        excepted = set(names.split(", ")) if names else set()
        assert excepted <= states, line
        rows |= {(s, dst, trigger) for s in states - excepted}
    return rows


def parse_dot(text: str) -> tuple[set[str], set[tuple[str, str, str]]]:
    states = set(re.findall(r'^\s+"([^"]+)";$', text, re.M))
    edges = set()
    for src, dst, label in re.findall(
        r'^\s+"([^"]+)" -> "([^"]+)" \[label="([^"]*)"\];$', text, re.M
    ):
        edges |= _rows(src, dst, label, states)
    return states, edges


def parse_mermaid(text: str) -> tuple[set[str], set[tuple[str, str, str]]]:
    states = {
        name
        for name, ident in re.findall(r'^\s+state "([^"]+)" as (\w+)', text, re.M)
        if ident != "__any__"
    }
    edges = set()
    for src, dst, label in re.findall(r"^\s+(\w+) --> (\w+): (.*)$", text, re.M):
        edges |= _rows(src, dst, label, states)
    return states, edges


def expected(graph: Graph) -> tuple[set[str], set[tuple[str, str, str]]]:
    return ({s.name for s in graph.states}, {(s, d, t) for s, d, t, _, _ in graph.edges()})


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_dot_and_mermaid_are_exactly_the_table(name: str) -> None:
    graph = get_graph(name)
    dot_states, dot_edges = parse_dot(graph.diagram("dot"))
    states, edges = expected(graph)
    assert dot_states == states
    assert {e for e in dot_edges if e[0] != "__start__"} == edges
    mm_states, mm_edges = parse_mermaid(graph.diagram("mermaid"))
    assert mm_states == states
    assert {e for e in mm_edges if e[0] != "[*]"} == edges


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_diagrams_show_every_state(name: str) -> None:
    graph = GRAPHS[name]
    for fmt in ("dot", "mermaid"):
        text = graph.diagram(fmt)
        for state in graph.states:
            assert state.name in text, (fmt, state)


#: Each graph's model test ends its file with a test that the model test, compared with
#: the spec model after every step, took every transition the graph declares. Each file
#: checks its own graph, so the check does not depend on which files ran before it.
COVERAGE: dict[str, Callable[[], None]] = {
    "nce": test_nce.test_model_tests_drive_every_state_and_transition,
    "dad": test_dad.test_every_state_and_transition_is_exercised,
    "mld": test_mld.test_model_test_takes_every_transition,
    "router_solicitation": (
        test_router_solicitation.test_model_tests_drive_every_state_and_transition
    ),
    "reassembly": test_reassembly.test_model_tests_drive_every_state_and_transition,
    "tcp": test_tcp.test_model_test_exercises_every_transition,
    "nat64_tcp": test_nat64_tcp.test_model_test_takes_every_transition,
    "binding_cache": test_mobility.test_model_test_takes_every_transition,
    "registration": test_registration.test_model_test_takes_every_transition,
    "sa": test_ipsec.test_model_tests_take_every_sa_transition,
    "correspondent_registration": (
        test_correspondent_registration.test_model_test_takes_every_transition
    ),
}


def test_every_graph_has_a_model_test_that_takes_every_transition() -> None:
    assert set(COVERAGE) == set(GRAPHS)
    # Each check is a test of a model test file, which pytest collects and runs there.
    for name, check in COVERAGE.items():
        assert check.__module__.startswith("tests.model.test_"), name
        assert check.__name__.startswith("test_"), name
