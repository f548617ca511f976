"""How far behind the live driver runs its timers (``DriverCounters``), on a fake clock:
frames that take long to read delay a timer that fell due meanwhile, and the gap between
its deadline and the time it ran is the measure."""

from __future__ import annotations

import os

import pytest

from tcpip6.io import runtime
from tcpip6.io.runtime import TIMER_LATE, LiveDriver
from tests.io.test_clock_jump import Clock, PipeSource, TimerNode


class SlowSource(PipeSource):
    """Reading its frames takes ``cost`` seconds of the clock (a flood's batch)."""

    def __init__(self, log: list[tuple[str, float]], clock: Clock, cost: float) -> None:
        super().__init__(log)
        self.clock, self.cost = clock, cost

    def read_ready(self, now: float) -> int:
        self.clock.t += self.cost
        return super().read_ready(now)


def test_the_gap_between_a_deadline_and_its_timer_is_measured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock()
    monkeypatch.setattr(runtime, "_clock", clock)
    log: list[tuple[str, float]] = []
    source = SlowSource(log, clock, cost=0.25)
    node = TimerNode(log, deadline=0.1)
    driver = LiveDriver([node], [source])
    os.write(source.w, b"x")  # a frame waiting: select returns at once, at 0.0
    driver.step()
    # Read at 0.0 for 0.25 s; the timer due at 0.1 ran at 0.25: 150 ms behind.
    assert log == [("frame", 0.0), ("fired", 0.25)]
    assert driver.counters.timer_lag_max_us == 150_000 and TIMER_LATE <= 0.15
    assert driver.counters.timers_run_late == 1
    # A quiet turn: the next timer (at 2.25) runs on time, the maximum stays.
    monkeypatch.setattr(driver.selector, "select", lambda timeout=None: clock_step(timeout))

    def clock_step(timeout: float | None) -> list[object]:
        clock.t += timeout or 0.0
        return []

    while len(log) < 3:  # the driver sleeps at most LIVE_MAX_SLEEP at a time
        driver.step()
    assert log[-1] == ("fired", 2.25)
    assert driver.counters.as_dict() == {
        "timer_lag_max_us": 150_000,
        "timers_run_late": 1,
        "late_wakes": 0,
    }
    driver.close()
    os.close(source.r)
    os.close(source.w)
