"""The MLD listener graph (through MulticastListener) against the RFC 2710 reference
model. Both sides get the same random delays: the stack's RNG is replaced by one that
returns a fraction drawn by Hypothesis, and the model is given fraction x maximum."""

from __future__ import annotations

import random
from ipaddress import IPv6Address
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from tcpip6.spec import rfc2710_mld as spec
from tcpip6.stack import mld
from tcpip6.stack.machines.mld import ListenerState

GROUPS = [
    IPv6Address("ff02::1:ff00:1"),
    IPv6Address("ff05::2"),
    IPv6Address("ff02::1"),
    IPv6Address("ff01::3"),
]
groups = st.sampled_from(GROUPS)
fractions = st.sampled_from([0.0, 0.25, 0.5, 0.99])
URI = 10.0
SEEN: set[tuple[str, str, str]] = set()
NAMES = {
    ListenerState.NON_LISTENER: spec.NON_LISTENER,
    ListenerState.DELAYING_LISTENER: spec.DELAYING_LISTENER,
    ListenerState.IDLE_LISTENER: spec.IDLE_LISTENER,
}


class FractionRng(random.Random):
    """uniform(a, b) returns a + fraction * (b - a): the same draw the model is given."""

    fraction = 0.0

    def uniform(self, a: float, b: float) -> float:
        return a + self.fraction * (b - a)


class MldVersusSpec(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0
        self.rng = FractionRng()
        self.listener = mld.MulticastListener(self.rng, unsolicited_report_interval=URI)
        self.listener.trace_sink = lambda r: SEEN.add((r.old, r.trigger, r.new))
        self.model: dict[IPv6Address, spec.Listener] = {}

    def _compare(self, got: list[mld.MldAction], want: list[tuple[Any, ...]]) -> None:
        mine = [(a.group, "report" if isinstance(a, mld.SendReport) else "done") for a in got]
        assert sorted(map(str, mine)) == sorted(map(str, want))

    @rule(group=groups, f=fractions)
    def join(self, group: IPv6Address, f: float) -> None:
        self.rng.fraction = f
        already = group in self.model
        got = self.listener.join(group, self.now)
        want: list[tuple[Any, ...]] = []
        if spec.reported(group) and not already:
            self.model[group], acts = spec.start_listening(spec.Listener(), self.now, f * URI)
            want = [(group, *a) for a in acts]
        self._compare(got, want)
        if already:
            # Reference counted: a second join sends nothing, and its leave neither.
            assert self.listener.leave(group, self.now) == []

    @rule(group=groups)
    def leave(self, group: IPv6Address) -> None:
        got = self.listener.leave(group, self.now)
        want: list[tuple[Any, ...]] = []
        if group in self.model:
            _, acts = spec.stop_listening(self.model.pop(group))
            want = [(group, *a) for a in acts]
        self._compare(got, want)

    @rule(
        general=st.booleans(), group=groups, mrd=st.sampled_from([0.0, 1.0, 5.0, 20.0]), f=fractions
    )
    def query(self, general: bool, group: IPv6Address, mrd: float, f: float) -> None:
        self.rng.fraction = f
        target = IPv6Address("::") if general else group
        self.listener.on_query(target, mrd, self.now)
        for g, s in list(self.model.items()):
            if general or g == group:
                self.model[g], _ = spec.query_received(s, self.now, mrd, f * mrd)

    @rule(group=groups)
    def report_from_another_host(self, group: IPv6Address) -> None:
        self.listener.on_report(group, self.now)
        if group in self.model:
            self.model[group], _ = spec.report_received(self.model[group])

    @rule(dt=st.sampled_from([0.0, 0.5, 2.0, 7.0, 30.0]))
    def time_passes(self, dt: float) -> None:
        target = self.now + dt
        while (deadline := self.listener.next_deadline()) is not None and deadline <= target:
            self.now = deadline
            got = self.listener.poll(self.now)
            want: list[tuple[Any, ...]] = []
            for g, s in sorted(self.model.items()):
                if s.timer is not None and s.timer <= self.now:
                    self.model[g], acts = spec.timer_expired(s)
                    want += [(g, *a) for a in acts]
            self._compare(got, want)
        self.now = target

    @invariant()
    def agree(self) -> None:
        mine = {
            g: (NAMES[x.state], x.timer, x.last_reporter)
            for g, x in self.listener.listeners.items()
        }
        theirs = {g: (s.state, s.timer, s.flag) for g, s in self.model.items()}
        assert mine == theirs
        timers = [s.timer for s in self.model.values() if s.timer is not None]
        assert self.listener.next_deadline() == (min(timers) if timers else None)


MldVersusSpec.TestCase.settings = settings(max_examples=200, stateful_step_count=40, deadline=None)
TestMldVersusSpec = MldVersusSpec.TestCase
