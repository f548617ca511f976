"""The router solicitation graph (through RouterSolicitor) against RFC 4861 §6.3.7."""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from tcpip6.spec import rfc1970_nd as spec
from tcpip6.stack.router_solicitation import RouterSolicitor, SendRouterSolicitation

SEEN: set[tuple[str, str, str]] = set()


def spec_state(s: spec.Solicitation) -> str:
    if not s.started:
        return "IDLE"
    if s.done:
        return "DONE"
    return "SOLICITING" if s.sent else "DELAYING"


class SolicitationVersusSpec(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0
        self.rs = RouterSolicitor()
        self.rs.trace_sink = lambda rec: SEEN.add((rec.old, rec.trigger, rec.new))
        self.model = spec.Solicitation()

    @rule(delay=st.floats(0, spec.MAX_RTR_SOLICITATION_DELAY))
    def start(self, delay: float) -> None:
        if self.model.started:
            return  # the host starts once per interface
        self.rs.begin(self.now, delay)
        self.model = spec.start_soliciting(self.model, self.now, delay)

    @rule()
    def router_advertisement(self) -> None:
        self.rs.on_router_advertisement(self.now)
        self.model = spec.advertisement_received(self.model)

    @rule(dt=st.floats(0.01, 6.0))
    def time_passes(self, dt: float) -> None:
        target = self.now + dt
        while (deadline := self.rs.next_deadline()) is not None and deadline <= target:
            self.now = deadline
            got = [
                ("router_solicitation",)
                for a in self.rs.poll(self.now)
                if isinstance(a, SendRouterSolicitation)
            ]
            self.model, want = spec.solicitation_timer(self.model, self.now)
            assert got == want
        self.now = target

    @invariant()
    def agree(self) -> None:
        assert self.rs.state.name == spec_state(self.model)
        assert (self.rs.sent, self.rs.next_deadline()) == (self.model.sent, self.model.next_time)


SolicitationVersusSpec.TestCase.settings = settings(
    max_examples=200, stateful_step_count=30, deadline=None
)
TestSolicitationVersusSpec = SolicitationVersusSpec.TestCase
