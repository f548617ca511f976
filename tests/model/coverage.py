"""The check every model test file ends with: its model test, compared with the spec model
after every step, has taken every transition its graph declares."""

from __future__ import annotations

from typing import Any

from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from tcpip6.stack.machines.graph import Graph

#: Derandomized (the same examples on every run) and with no example database.
SWEEP = settings(deadline=None, derandomize=True, database=None)


def sweep(machine: Any, *, max_examples: int, stateful_step_count: int) -> None:
    """A derandomized run of the model test ``machine`` (:data:`SWEEP`), with this budget:
    the same examples on every run and whatever the profile in force."""
    run_state_machine_as_test(
        machine,
        settings=settings(
            SWEEP, max_examples=max_examples, stateful_step_count=stateful_step_count
        ),
    )


def take_every_transition(
    machine: Any,
    graph: Graph,
    seen: set[tuple[str, str, str]],
    *,
    max_examples: int,
    stateful_step_count: int,
) -> None:
    """Assert that ``seen``, the (source, trigger, dest) transitions the model test
    ``machine`` recorded as it fired (each step compared with the spec model), holds every
    transition ``graph`` declares.

    The model test's own run earlier in its file usually has taken them all; where it has
    not (the file run in part, or a budget that fell short), a derandomized run of
    ``machine`` with :data:`SWEEP` and the given budget tops ``seen`` up first."""
    declared = {(s, t, d) for s, d, t, _, _ in graph.edges()}
    if declared - seen:
        sweep(machine, max_examples=max_examples, stateful_step_count=stateful_step_count)
    assert declared - seen == set(), f"{graph.name}: never exercised: {sorted(declared - seen)}"
