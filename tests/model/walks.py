"""Scripted walks through a model test's machine, and the rows its graph declares: shared
by the model tests whose walks alone must take every row (``make graph-coverage``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

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
