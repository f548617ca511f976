"""Scripted walks through a model test's machine, and the rows its graph declares: shared
by the model tests whose walks alone must take every row (``make graph-coverage``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from tcpip6.stack.machines.graph import Graph
from tests.model.coverage import take_every_transition

Step = tuple[str, dict[str, Any]]


def run_walks(
    new_machine: Callable[[], Any], walks: Iterable[Sequence[Step]], first_sequence: int
) -> None:
    """Each walk on a fresh machine: every step applied, the stack and the spec model
    compared after each (``agree``), then the machine's ``teardown``."""
    for steps in walks:
        machine = new_machine()
        machine.first_sequence(first_sequence)
        for name, kwargs in steps:
            getattr(machine, name)(**kwargs)
            machine.agree()
        machine.teardown()


def declared_rows(transitions: Iterable[Mapping[str, Any]]) -> set[tuple[str, str, str]]:
    """Every (source, trigger, dest) a graph's TRANSITIONS declare, a list of sources
    counted once per source."""
    return {
        (source, row["trigger"], row["dest"])
        for row in transitions
        for source in (row["source"] if isinstance(row["source"], list) else [row["source"]])
    }


def walks_leave_untaken(
    walk: Callable[[], None],
    seen: set[tuple[str, str, str]],
    transitions: Iterable[Mapping[str, Any]],
) -> set[tuple[str, str, str]]:
    """The declared rows that ``walk`` alone leaves untaken (``seen`` cleared first)."""
    seen.clear()
    walk()
    return declared_rows(transitions) - seen


def walk_then_top_up(
    walk: Callable[[], None],
    machine: type,
    graph: Graph,
    seen: set[tuple[str, str, str]],
    max_examples: int,
) -> None:
    """The scripted walks first; a random sweep of the model test then tops up any row
    they left untaken."""
    walk()
    take_every_transition(machine, graph, seen, max_examples=max_examples, stateful_step_count=50)
