"""The router solicitation graph (through RouterSolicitor) against the RFC 4861 §6.3.7
reference rules, driven by the same random events, compared at every step."""

from __future__ import annotations

import random
import re

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from tcpip6.spec import rfc1970_nd as spec
from tcpip6.stack.machines import router_solicitation as rs_graph
from tcpip6.stack.router_solicitation import NoRouters, RouterSolicitor, SendRouterSolicitation
from tests.model.coverage import take_every_transition
from tests.profiles import examples

SEEN: set[tuple[str, str, str]] = set()
SEEN_STATES: set[str] = set()


def spec_state(s: spec.Solicitation) -> str:
    if not s.enabled:
        return "IDLE"
    if s.done:
        return "DONE"
    return "SOLICITING" if s.sent else "DELAYING"


def normalize(action: SendRouterSolicitation | NoRouters) -> tuple[str]:
    return (
        ("router_solicitation",) if isinstance(action, SendRouterSolicitation) else ("no_routers",)
    )


class SolicitationVersusSpec(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0
        self.rs = RouterSolicitor()
        self.rs.trace_sink = lambda rec: SEEN.add((rec.old, rec.trigger, rec.new))
        self.model = spec.Solicitation()

    @rule(delay=st.floats(0, spec.MAX_RTR_SOLICITATION_DELAY))
    def interface_enabled(self, delay: float) -> None:
        """The interface comes up (again): start-up, re-initialization, a new link."""
        self.rs.begin(self.now, delay)
        self.model = spec.interface_enabled(self.model, self.now, delay)

    @rule(lifetime=st.sampled_from([0.0, 1800.0]))
    def router_advertisement(self, lifetime: float) -> None:
        self.rs.on_router_advertisement(self.now, lifetime)
        self.model = spec.advertisement_received(self.model, lifetime)

    def _run_until(self, target: float) -> None:
        while (deadline := self.rs.next_deadline()) is not None and deadline <= target:
            self.now = deadline
            got = [normalize(a) for a in self.rs.poll(self.now)]
            self.model, want = spec.solicitation_timer(self.model, self.now)
            assert got == want
        self.now = max(self.now, target)

    @rule(dt=st.one_of(st.floats(0.01, 1.5), st.floats(1.5, 6.0)))
    def time_passes(self, dt: float) -> None:
        self._run_until(self.now + dt)

    @rule()
    def next_timer(self) -> None:
        deadline = self.rs.next_deadline()
        if deadline is not None:
            self._run_until(deadline)

    @invariant()
    def agree(self) -> None:
        assert self.rs.state.name == spec_state(self.model)
        assert (self.rs.sent, self.rs.next_deadline()) == (self.model.sent, self.model.next_time)
        SEEN_STATES.add(self.rs.state.name)


SolicitationVersusSpec.TestCase.settings = settings(
    max_examples=examples(150), stateful_step_count=30, deadline=None
)
TestSolicitationVersusSpec = SolicitationVersusSpec.TestCase


def test_start_draws_the_delay_from_the_rng() -> None:
    rs = RouterSolicitor(random.Random(7))
    rs.start(10.0)
    delay = random.Random(7).uniform(0.0, spec.MAX_RTR_SOLICITATION_DELAY)
    assert rs.next_deadline() == 10.0 + delay
    assert rs.poll(10.0 + delay) == [SendRouterSolicitation()]


def test_three_solicitations_then_no_routers() -> None:
    """§6.3.7: RSs 4 s apart, then MAX_RTR_SOLICITATION_DELAY after the last, no routers."""
    rs = RouterSolicitor()
    rs.begin(0.0, 0.5)
    times = []
    out: list[object] = []
    while (deadline := rs.next_deadline()) is not None:
        times.append(deadline)
        out += rs.poll(deadline)
    assert times == [0.5, 4.5, 8.5, 9.5]
    assert out == [SendRouterSolicitation()] * 3 + [NoRouters()]
    assert rs.state is rs_graph.SolicitationState.DONE


def test_model_tests_drive_every_state_and_transition() -> None:
    take_every_transition(
        SolicitationVersusSpec, rs_graph.GRAPH, SEEN, max_examples=100, stateful_step_count=30
    )
    assert {s.name for s in rs_graph.SolicitationState} == SEEN_STATES


def test_every_row_cites_the_rfc_and_the_graph_is_total() -> None:
    graph = rs_graph.GRAPH
    declared = {(src, trig) for src, _, trig, _, _ in graph.edges()}
    assert not declared & rs_graph.IGNORED
    for row in rs_graph.TRANSITIONS:
        assert re.fullmatch(r"4861 §[\d.]+", row["rfc"]), row
    for state in rs_graph.SolicitationState:
        for trigger in graph.triggers():
            handled = declared | rs_graph.IGNORED
            # delay_expired and solicitations_exhausted come from the owner's timer, which
            # runs only in DELAYING and SOLICITING respectively.
            timer_only = {"delay_expired": "DELAYING", "solicitations_exhausted": "SOLICITING"}
            if timer_only.get(trigger, state.name) == state.name:
                assert (state.name, trigger) in handled, (state, trigger)
