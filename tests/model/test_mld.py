"""The MLD listener graph, run by MulticastListener, against the RFC 2710 reference model.

Random delays: both sides get a :class:`ScriptedRandom` with the same script of
fractions (drawn by Hypothesis, endpoints 0 and 1 included). The stack draws
``rng.uniform(0.0, maximum)`` once per timer it starts or resets, visiting the addresses
of a General Query in ascending order; the test gives the reference model
``twin.uniform(0.0, maximum)`` in the same order. The same draws in the same order give the
same timers, and the number of draws is compared at every step, so the contract itself is
checked.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from ipaddress import IPv6Address

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from tcpip6.spec import rfc2710_mld as spec
from tcpip6.stack import mld
from tcpip6.stack.machines import mld as machine
from tcpip6.stack.machines.graph import TransitionRecord
from tcpip6.stack.machines.mld import ListenerState
from tests.model.coverage import take_every_transition
from tests.profiles import examples

GROUPS = [
    IPv6Address("ff02::1:ff00:1"),  # solicited-node: reported
    IPv6Address("ff05::2"),
    IPv6Address("ff0e::1234"),
    IPv6Address("ff02::2"),  # all-routers is an ordinary address for a listener
    IPv6Address("ff02::1"),  # all-nodes: never reported
    IPv6Address("ff01::3"),  # interface-local: never reported, not on the link filter
    IPv6Address("ff00::4"),  # reserved scope 0: likewise
]
UNSPECIFIED = IPv6Address("::")
MAX_GROUPS = 5  # below len(GROUPS): refusals happen
URI = 10.0
#: Every (old, trigger, new) the stack's listeners went through, over all runs.
SEEN: set[tuple[str, str, str]] = set()

STATE_NAMES = {
    ListenerState.NON_LISTENER: spec.NON_LISTENER,
    ListenerState.DELAYING_LISTENER: spec.DELAYING_LISTENER,
    ListenerState.IDLE_LISTENER: spec.IDLE_LISTENER,
}

groups = st.sampled_from(GROUPS)
fractions = st.sampled_from([0.0, 1.0, 0.5, 0.1, 0.9]) | st.floats(0.0, 1.0)
delays = st.sampled_from([0.0, 0.5, 1.0, 5.0, 10.0, 20.0]) | st.floats(0.0, 30.0)


class ScriptedRandom(random.Random):
    """``random()`` returns the script's fractions in turn, cyclically."""

    def __init__(self, script: Sequence[float]) -> None:
        super().__init__(0)
        self.script = list(script)
        self.draws = 0

    def random(self) -> float:
        value = self.script[self.draws % len(self.script)]
        self.draws += 1
        return value


def common(actions: Sequence[mld.MldAction | spec.Action]) -> list[tuple[str, IPv6Address]]:
    """Both sides' MLD messages as (kind, address), in a canonical order."""
    out: list[tuple[str, IPv6Address]] = []
    for a in actions:
        if isinstance(a, mld.SendReport):
            out.append(("report", a.group))
        elif isinstance(a, mld.SendDone):
            out.append(("done", a.group))
        elif isinstance(a, spec.SendReport):
            out.append(("report", a.multicast_address))
        elif isinstance(a, spec.SendDone):
            out.append(("done", a.multicast_address))
    return sorted(out)


class MldVersusSpec(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0
        self.rng = ScriptedRandom([0.5])
        self.twin = ScriptedRandom([0.5])
        self.listener = mld.MulticastListener(
            self.rng, max_groups=MAX_GROUPS, unsolicited_report_interval=URI
        )
        self.listener.trace_sink = self._record
        self.model: dict[IPv6Address, spec.Listener] = {}
        self.refs: Counter[IPv6Address] = Counter()
        self.refused = 0
        self.link_filter: set[IPv6Address] = set()

    def _record(self, record: TransitionRecord) -> None:
        SEEN.add((record.old, record.trigger, record.new))

    def _delay(self, maximum: float) -> float:
        return self.twin.uniform(0.0, maximum)

    def _apply_link(self, actions: list[mld.MldAction]) -> None:
        for a in actions:
            if isinstance(a, mld.JoinLink):
                assert a.group not in self.link_filter
                self.link_filter.add(a.group)
            elif isinstance(a, mld.LeaveLink):
                assert a.group in self.link_filter
                self.link_filter.remove(a.group)

    @initialize(script=st.lists(fractions, min_size=1, max_size=6))
    def seed(self, script: list[float]) -> None:
        self.rng.script = list(script)
        self.twin.script = list(script)

    # -- upper layer ------------------------------------------------------------------------
    @rule(group=groups)
    def join(self, group: IPv6Address) -> None:
        got = self.listener.join(group, self.now)
        self._apply_link(got)
        want: list[spec.Action] = []
        if self.refs[group]:
            self.refs[group] += 1
        elif len(self.refs) >= MAX_GROUPS:
            self.refused += 1
        else:
            self.refs[group] = 1
            if spec.is_reported(group):
                self.model[group], want = spec.start_listening(
                    spec.Listener(group), self.now, self._delay
                )
        assert common(got) == common(want)

    @rule(group=groups)
    def leave(self, group: IPv6Address) -> None:
        self._leave(group)

    @precondition(lambda self: self.refs)
    @rule(data=st.data())
    def leave_a_joined_group(self, data: st.DataObject) -> None:
        self._leave(data.draw(st.sampled_from(sorted(self.refs))))

    def _leave(self, group: IPv6Address) -> None:
        entity = self.listener.listener(group)
        got = self.listener.leave(group, self.now)
        self._apply_link(got)
        want: list[spec.Action] = []
        if self.refs[group] > 1:
            self.refs[group] -= 1
        elif self.refs[group] == 1:
            del self.refs[group]
            if group in self.model:
                after, want = spec.stop_listening(self.model.pop(group))
                # The listener left its graph; the state it left in is the model's.
                assert entity is not None
                assert STATE_NAMES[entity.state] == after.state
        assert common(got) == common(want)

    # -- MLD messages from the link ---------------------------------------------------------
    @rule(general=st.booleans(), group=groups, max_response_delay=delays)
    def query(self, general: bool, group: IPv6Address, max_response_delay: float) -> None:
        address = UNSPECIFIED if general else group
        self.listener.on_query(address, max_response_delay, self.now)
        for g in sorted(self.model):
            if spec.query_concerns(address, self.model[g]):
                self.model[g], acts = spec.query_received(
                    self.model[g], self.now, max_response_delay, self._delay
                )
                assert acts == []

    @precondition(lambda self: any(s.timer is not None for s in self.model.values()))
    @rule(data=st.data(), general=st.booleans())
    def query_as_long_as_a_running_timer(self, data: st.DataObject, general: bool) -> None:
        """The boundary of the reset rule: Maximum Response Delay == time left."""
        running = sorted(g for g, s in self.model.items() if s.timer is not None)
        group = data.draw(st.sampled_from(running))
        timer = self.model[group].timer
        assert timer is not None
        self.query(general, group, max(0.0, timer - self.now))

    @rule(group=groups)
    def report_from_another_node(self, group: IPv6Address) -> None:
        self.listener.on_report(group, self.now)
        if group in self.model:
            self.model[group], acts = spec.report_received(self.model[group])
            assert acts == []

    # -- the link comes back -------------------------------------------------------------------
    @rule()
    def link_up(self) -> None:
        got = self.listener.link_up(self.now)
        want: list[spec.Action] = []
        for g in sorted(self.model):
            self.model[g], acts = spec.link_up(self.model[g], self.now, self._delay)
            want += acts
        assert common(got) == common(want)

    # -- time ---------------------------------------------------------------------------------
    def _advance(self, to: float) -> None:
        self.now = to
        got = self.listener.poll(self.now)
        want: list[spec.Action] = []
        for g in sorted(self.model):
            s = self.model[g]
            if s.timer is not None and s.timer <= self.now:
                self.model[g], acts = spec.timer_expired(s)
                want += acts
        assert common(got) == common(want)

    @rule()
    def next_timer_expires(self) -> None:
        deadline = self.listener.next_deadline()
        self._advance(self.now if deadline is None else max(self.now, deadline))

    @rule(dt=st.sampled_from([0.0, 0.25, 2.0, 7.0, 30.0]) | st.floats(0.0, 40.0))
    def time_passes(self, dt: float) -> None:
        self._advance(self.now + dt)

    # -- agreement at every step --------------------------------------------------------------
    @invariant()
    def agree(self) -> None:
        for g in GROUPS:
            entity = self.listener.listener(g)
            mine = (
                (STATE_NAMES[entity.state], entity.timer, entity.last_reporter)
                if entity is not None
                else (spec.NON_LISTENER, None, False)
            )
            s = self.model.get(g, spec.Listener(g))
            assert mine == (s.state, s.timer, s.flag), g
        timers = [s.timer for s in self.model.values() if s.timer is not None]
        assert self.listener.next_deadline() == (min(timers) if timers else None)
        assert self.rng.draws == self.twin.draws
        assert self.listener.groups() == sorted(self.refs)
        assert self.link_filter == {g for g in self.refs if mld.on_link_filter(g)}
        assert self.listener.counters.groups_refused == self.refused


MldVersusSpec.TestCase.settings = settings(
    max_examples=examples(150), stateful_step_count=40, deadline=None
)
TestMldVersusSpec = MldVersusSpec.TestCase


# -- the graph itself ------------------------------------------------------------------------
def test_rows_cite_the_rfc_and_the_graph_is_total() -> None:
    triggers = {row["trigger"] for row in machine.TRANSITIONS}
    declared: set[tuple[str, str]] = set()
    for row in machine.TRANSITIONS:
        assert row["rfc"].startswith("2710 §"), row
        declared.add((row["source"], row["trigger"]))
    assert not declared & machine.IGNORED
    every = {(s.name, t) for s in ListenerState for t in triggers}
    assert declared | machine.IGNORED == every


def test_a_scripted_run_goes_through_every_transition() -> None:
    """Deterministic: each declared transition is taken at least once."""
    seen: set[tuple[str, str, str]] = set()
    rng = ScriptedRandom([1.0])  # every delay is its maximum
    listener = mld.MulticastListener(rng, unsolicited_report_interval=URI)
    listener.trace_sink = lambda r: seen.add((r.old, r.trigger, r.new))
    a, b = IPv6Address("ff05::a"), IPv6Address("ff05::b")
    listener.join(a, 0.0)  # Non -> Delaying (timer at 10)
    listener.on_query(a, 2.0, 1.0)  # Delaying -> Delaying: 2 < 9 remaining, reset to 3
    listener.on_report(a, 2.0)  # Delaying -> Idle
    listener.on_query(UNSPECIFIED, 1.0, 3.0)  # Idle -> Delaying (timer at 4)
    listener.poll(4.0)  # Delaying -> Idle
    listener.link_up(4.5)  # Idle -> Delaying (report again, timer at 14.5)
    listener.link_up(4.6)  # Delaying -> Delaying (report again, timer at 14.6)
    listener.poll(14.6)  # Delaying -> Idle
    entity = listener.listener(a)
    listener.leave(a, 5.0)  # Idle -> Non
    assert entity is not None and entity.state is ListenerState.NON_LISTENER
    listener.join(b, 6.0)
    entity = listener.listener(b)
    listener.leave(b, 7.0)  # Delaying -> Non
    assert entity is not None and entity.state is ListenerState.NON_LISTENER
    declared = {(s, t, d) for s, d, t, _, _ in machine.GRAPH.edges()}
    assert declared <= seen


def test_model_test_takes_every_transition() -> None:
    take_every_transition(
        MldVersusSpec, machine.GRAPH, SEEN, max_examples=300, stateful_step_count=50
    )
