"""The check every model test ends with: a derandomized run of the model test takes
every transition its graph declares."""

from __future__ import annotations

from typing import Any

from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from tcpip6.stack.machines.graph import Graph

#: Derandomized (the same examples on every run) and with no example database.
SWEEP = settings(deadline=None, derandomize=True, database=None)


def take_every_transition(
    machine: Any,
    graph: Graph,
    seen: set[tuple[str, str, str]],
    *,
    max_examples: int,
    stateful_step_count: int,
) -> None:
    """Run the RuleBasedStateMachine ``machine`` with :data:`SWEEP`, then assert that
    ``seen``, the (source, trigger, dest) transitions it recorded as it fired, holds every
    transition ``graph`` declares."""
    run_state_machine_as_test(
        machine,
        settings=settings(
            SWEEP, max_examples=max_examples, stateful_step_count=stateful_step_count
        ),
    )
    declared = {(s, t, d) for s, d, t, _, _ in graph.edges()}
    assert declared - seen == set(), f"{graph.name}: never exercised"
