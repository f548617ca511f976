"""The live driver after a clock jump (the process stopped, the machine suspended), on a
fake clock that jumps 6 s while the driver sleeps in ``select``: the jump is counted and
reported, the frames that arrived meanwhile are read before the timers run, and a node with
a deadline in the past is polled once, at the time of the wake."""

from __future__ import annotations

import os
from typing import Any

import pytest

from tcpip6.io import runtime
from tcpip6.io.runtime import LATE_WAKE, LiveDriver


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


class TimerNode:
    """A node with one timer that, like a retransmission timer, re-arms from the time it
    fires (RFC 6298 §5.5: one expiry, one retransmission)."""

    def __init__(self, log: list[tuple[str, float]], deadline: float) -> None:
        self.log = log
        self.deadline: float | None = deadline

    def next_deadline(self) -> float | None:
        return self.deadline

    def poll(self, now: float) -> float | None:
        if self.deadline is not None and self.deadline <= now:
            self.log.append(("fired", now))
            self.deadline = now + 2.0
        return self.deadline


class PipeSource:
    def __init__(self, log: list[tuple[str, float]]) -> None:
        self.log = log
        self.r, self.w = os.pipe()
        os.set_blocking(self.r, False)

    def fileno(self) -> int:
        return self.r

    def read_ready(self, now: float) -> int:
        os.read(self.r, 100)
        self.log.append(("frame", now))
        return 1


def test_a_late_wake_reads_frames_first_and_fires_each_timer_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock()
    monkeypatch.setattr(runtime, "_clock", clock)
    log: list[tuple[str, float]] = []
    source = PipeSource(log)
    node = TimerNode(log, deadline=0.5)  # driver time: 0.5 s after the driver was made
    driver = LiveDriver([node], [source])
    lates: list[float] = []
    driver.on_late_wake = lates.append
    real_select = driver.selector.select

    def stopped_in_select(timeout: float | None = None) -> Any:
        # SIGSTOP during the sleep: 6 s pass, and a frame arrives meanwhile.
        clock.t += 6.0
        os.write(source.w, b"x")
        return real_select(0)

    monkeypatch.setattr(driver.selector, "select", stopped_in_select)
    driver.step(limit=0.4)  # asks to wake at 0.4 s, wakes at 6.0 s
    assert driver.late_wakes == 1 and lates == [pytest.approx(5.6)]
    # The frame first, then the timer that fell due at 0.5 s: once (not the 3 expiries a
    # replay of 0.5, 2.5 and 4.5 would make), at the wake, re-armed from it.
    assert log == [("frame", 6.0), ("fired", 6.0)]
    assert node.deadline == 8.0
    monkeypatch.setattr(driver.selector, "select", real_select)
    driver.step(limit=6.0)  # on time: not a jump
    assert driver.late_wakes == 1 and LATE_WAKE > 0
    driver.close()
    os.close(source.r)
    os.close(source.w)
