"""The graph engine: one shared machine fires for plain entities (no bound triggers put on
them), a hole in the table raises, an ignored pair changes nothing, guards see ``now``,
every state change is traced, and the graph counts its live entities."""

from __future__ import annotations

import gc
from ipaddress import IPv6Address

import pytest
from transitions.core import MachineError

from tcpip6.stack.machines import mld as mld_graph
from tcpip6.stack.machines import router_solicitation as rs_graph
from tcpip6.stack.machines.graph import TransitionRecord
from tcpip6.stack.machines.mld import ListenerState
from tcpip6.stack.machines.router_solicitation import SolicitationState
from tcpip6.stack.mld import GroupListener

GRAPH = rs_graph.GRAPH


class Entity:
    def __init__(self) -> None:
        self.trace_label = "e"
        self.records: list[TransitionRecord] = []
        self.trace_sink = self.records.append


def test_fire_follows_the_rows_and_traces_each_change() -> None:
    e = Entity()
    GRAPH.attach(e)
    try:
        assert e.state is SolicitationState.IDLE
        assert GRAPH.fire(e, "interface_enabled", 1.0)
        assert GRAPH.fire(e, "delay_expired", 1.5)
        assert e.state is SolicitationState.SOLICITING
        assert [(r.old, r.trigger, r.new, r.now) for r in e.records] == [
            ("IDLE", "interface_enabled", "DELAYING", 1.0),
            ("DELAYING", "delay_expired", "SOLICITING", 1.5),
        ]
        assert e.records[0].rfc == "4861 §6.3.7"
    finally:
        GRAPH.detach(e)


def test_an_ignored_pair_changes_nothing_and_traces_nothing() -> None:
    e = Entity()
    GRAPH.attach(e, SolicitationState.DONE)
    try:
        assert GRAPH.fire(e, "advertisement_received", 2.0)
        assert e.state is SolicitationState.DONE
        assert e.records == []
    finally:
        GRAPH.detach(e)


@pytest.mark.parametrize(("state", "trigger"), sorted(rs_graph.IMPOSSIBLE))
def test_a_hole_in_the_table_raises_and_leaves_the_state(state: str, trigger: str) -> None:
    e = Entity()
    GRAPH.attach(e, SolicitationState[state])
    try:
        with pytest.raises(MachineError):
            GRAPH.fire(e, trigger, 0.0)
        assert e.state is SolicitationState[state]
    finally:
        GRAPH.detach(e)


def test_an_unknown_trigger_raises() -> None:
    e = Entity()
    GRAPH.attach(e)
    try:
        with pytest.raises(MachineError):
            GRAPH.fire(e, "no_such_trigger", 0.0)
    finally:
        GRAPH.detach(e)


def test_a_guard_sees_the_trigger_arguments() -> None:
    """RFC 2710 §4: a Delaying Listener resets its timer only when the Maximum Response
    Delay is below the time left; the guard reads it from the fired arguments."""
    listener = GroupListener(IPv6Address("ff05::1"))
    try:
        mld_graph.GRAPH.fire(listener, "start_listening", 0.0)
        listener.timer = 5.0
        assert listener.state is ListenerState.DELAYING_LISTENER
        assert not mld_graph.GRAPH.fire(listener, "query_received", 1.0, max_response_delay=9.0)
        assert mld_graph.GRAPH.fire(listener, "query_received", 1.0, max_response_delay=1.0)
    finally:
        mld_graph.GRAPH.detach(listener)


def test_attach_adds_only_the_state_and_detach_forgets() -> None:
    # The graph counts live entities (a WeakSet): collect the dead ones of earlier tests
    # first, and keep the collector from taking more while this test counts.
    gc.collect()
    gc.disable()
    try:
        _attach_and_detach()
    finally:
        gc.enable()


def _attach_and_detach() -> None:
    before = len(GRAPH)
    entities = [Entity() for _ in range(100)]
    for e in entities:
        GRAPH.attach(e)
    assert len(GRAPH) == before + 100
    # Nothing but the state is added to an entity: no bound trigger per entity.
    assert set(vars(entities[0])) == {"trace_label", "records", "trace_sink", "state"}
    for e in entities:
        GRAPH.detach(e)
        GRAPH.detach(e)  # twice is harmless
    assert len(GRAPH) == before


def _pairs() -> list[tuple[str, str, str]]:
    from tcpip6.stack.machines import all_graphs

    out = []
    for name, graph in sorted(all_graphs().items()):
        for state in graph.states:
            for trigger in graph.triggers():
                out.append((name, state.name, trigger))
    return out


@pytest.mark.parametrize(("graph_name", "state", "trigger"), _pairs())
def test_a_plain_row_fired_directly_does_what_transitions_does(
    graph_name: str, state: str, trigger: str
) -> None:
    """Every (state, trigger) of every graph: where :meth:`Graph.fire` carries a guardless
    row out itself, the state, the result and the trace are those ``transitions`` gives
    for the same entity (its own ``Event.trigger``, the oracle)."""
    from tcpip6.stack.machines import all_graphs

    graph = all_graphs()[graph_name]
    start = graph.states[state]
    if graph._plain_row(start, trigger) is None:
        return  # guarded, a callback, or a hole: fire() runs transitions itself
    ours, theirs = Entity(), Entity()
    graph.attach(ours, start)
    graph.attach(theirs, start)
    try:
        if not graph._plain_machine():
            pytest.skip("another callback listens (make graph-coverage): fire() uses transitions")
        result = graph.fire(ours, trigger, 3.0)
        expected = graph.machine.events[trigger].trigger(theirs, now=3.0)
        assert result == expected
        assert ours.state is theirs.state
        assert ours.records == theirs.records
    finally:
        graph.detach(ours)
        graph.detach(theirs)


def test_a_plain_row_runs_through_transitions_when_a_callback_listens() -> None:
    seen: list[str] = []
    machine = GRAPH.machine
    before = list(machine.after_state_change)
    machine.after_state_change = [*before, lambda ev: seen.append(ev.event.name)]
    e = Entity()
    GRAPH.attach(e)
    try:
        assert GRAPH.fire(e, "interface_enabled", 1.0)
        assert e.state is SolicitationState.DELAYING and seen == ["interface_enabled"]
    finally:
        machine.after_state_change = before
        GRAPH.detach(e)
