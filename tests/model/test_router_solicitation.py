"""The router solicitation graph (through RouterSolicitor) against the RFC 4861 §6.3.7
reference rules, driven by the same random events, compared at every step."""

from __future__ import annotations

import itertools
import random
import re

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

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
    if s.backing_off:
        return "BACKING_OFF"
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
        self.backoff = False
        self.rand = random.Random(0)

    @initialize(backoff=st.booleans(), seed=st.integers(0, 2**16))
    def setup(self, backoff: bool, seed: int) -> None:
        """RFC 7559's retransmissions on or off; the stack and the model draw their RANDs
        from two generators seeded alike."""
        self.backoff = self.rs.backoff = backoff
        self.rs.rng = random.Random(seed)
        self.rand = random.Random(seed)

    @rule(delay=st.floats(0, spec.MAX_RTR_SOLICITATION_DELAY))
    def interface_enabled(self, delay: float) -> None:
        """The interface comes up (again): start-up, re-initialization, a new link."""
        self.rs.begin(self.now, delay)
        self.model = spec.interface_enabled(self.model, self.now, delay)

    @rule(lifetime=st.sampled_from([0.0, 1800.0]))
    def router_advertisement(self, lifetime: float) -> None:
        self.rs.on_router_advertisement(self.now, lifetime)
        self.model = spec.advertisement_received(self.model, lifetime)

    @precondition(lambda self: self.rs.state is rs_graph.SolicitationState.BACKING_OFF)
    @rule()
    def a_router_answers_at_last(self) -> None:
        """RFC 7559 §2: an RA ends the retransmissions (rare by chance this late)."""
        self.router_advertisement(1800.0)

    def _run_until(self, target: float) -> None:
        while (deadline := self.rs.next_deadline()) is not None and deadline <= target:
            self.now = deadline
            got = [normalize(a) for a in self.rs.poll(self.now)]
            self.model, want = spec.solicitation_timer(
                self.model, self.now, self.backoff, self.rand
            )
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
    """RFC 4861 §6.3.7: RSs 4 s apart, then MAX_RTR_SOLICITATION_DELAY after the last, no
    routers."""
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
    # The RFC 7559 rows lie deep (three RSs, the conclusion, then an RA): a deterministic
    # walk, compared with the model at each step, takes them whatever the random ones did.
    test_a_long_backoff_agrees_with_the_model_up_to_the_cap()
    take_every_transition(
        SolicitationVersusSpec, rs_graph.GRAPH, SEEN, max_examples=100, stateful_step_count=30
    )
    assert {s.name for s in rs_graph.SolicitationState} == SEEN_STATES


def test_every_row_cites_the_rfc_and_the_graph_is_total() -> None:
    graph = rs_graph.GRAPH
    declared = {(src, trig) for src, _, trig, _, _ in graph.edges()}
    assert not declared & rs_graph.IGNORED
    for row in rs_graph.TRANSITIONS:
        assert re.fullmatch(r"(4861|7559) §[\d.]+", row["rfc"]), row
    for state in rs_graph.SolicitationState:
        for trigger in graph.triggers():
            handled = declared | rs_graph.IGNORED
            # delay_expired and solicitations_exhausted come from the owner's timer, which
            # runs only in DELAYING and SOLICITING respectively.
            timer_only = {"delay_expired": "DELAYING", "solicitations_exhausted": "SOLICITING"}
            if (state.name, trigger) in rs_graph.IMPOSSIBLE:
                continue
            if timer_only.get(trigger, state.name) == state.name:
                assert (state.name, trigger) in handled, (state, trigger)


def test_rfc_7559_backs_off_after_the_three_and_stops_on_an_advertisement() -> None:
    """RFC 7559 §2: after MAX_RTR_SOLICITATIONS (and the RFC 4861 §6.3.7 conclusion), RSs go
    on with RT doubling (within RAND of ±10 %) up to MAX_RTR_SOLICITATION_INTERVAL; a
    Router Advertisement ends them."""
    rs = RouterSolicitor(random.Random(7559), backoff=True)
    rs.begin(0.0, 0.5)
    times: list[float] = []
    out: list[object] = []
    while (deadline := rs.next_deadline()) is not None and len(times) < 15:
        times.append(deadline)
        out += rs.poll(deadline)
    assert out[:4] == [SendRouterSolicitation()] * 3 + [NoRouters()]
    assert out[4:] == [SendRouterSolicitation()] * 11
    assert times[:4] == [0.5, 4.5, 8.5, 9.5]
    sends = [times[0], times[1], times[2], *times[4:]]
    gaps = [b - a for a, b in itertools.pairwise(sends)]
    rt = 4.0
    for gap in gaps[2:]:
        if 2 * rt * 1.1 < spec.MAX_RTR_SOLICITATION_INTERVAL:
            assert 2 * rt - 0.1 * rt <= gap <= 2 * rt + 0.1 * rt, (gaps, rt)
        else:
            assert gap <= 1.1 * spec.MAX_RTR_SOLICITATION_INTERVAL, gaps
        rt = gap
    assert max(gaps) > 0.9 * spec.MAX_RTR_SOLICITATION_INTERVAL
    assert rs.state is rs_graph.SolicitationState.BACKING_OFF
    rs.on_router_advertisement(times[-1] + 1, 1800.0)
    assert rs.state is rs_graph.SolicitationState.DONE and rs.next_deadline() is None


def test_a_long_backoff_agrees_with_the_model_up_to_the_cap() -> None:
    """A deterministic walk past MAX_RTR_SOLICITATION_INTERVAL (beyond the random walks'
    reach): the stack and the model send at the same times, capped alike (RFC 7559 §2)."""
    rs = RouterSolicitor(random.Random(42), backoff=True)
    rs.trace_sink = lambda rec: SEEN.add((rec.old, rec.trigger, rec.new))
    model, rand = spec.interface_enabled(spec.Solicitation(), 0.0, 0.3), random.Random(42)
    rs.begin(0.0, 0.3)
    for _ in range(16):
        now = rs.next_deadline()
        assert now is not None and now == model.next_time
        got = [normalize(a) for a in rs.poll(now)]
        model, want = spec.solicitation_timer(model, now, True, rand)
        assert got == want
        assert (rs.sent, rs.rt) == (model.sent, model.rt)
    assert rs.rt > 0.9 * spec.MAX_RTR_SOLICITATION_INTERVAL
    assert rs.state.name == spec_state(model) == "BACKING_OFF"
    rs.on_router_advertisement(rs.rt, 1800.0)
    model = spec.advertisement_received(model, 1800.0)
    assert rs.state.name == spec_state(model) == "DONE"
    assert rs.next_deadline() is None and model.next_time is None
