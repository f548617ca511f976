"""The receive path under mutated frames: nothing escapes, every frame is counted.

A short seeded run of the harness (``python -m tests.fuzz`` runs long ones), and the
same targets as a Hypothesis test, which ``make fuzz-models`` hands to HypoFuzz."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fuzz.frames import mutate, templates
from tests.fuzz.run import MEMORY_BOUND, Subject, run
from tests.profiles import examples

CORPUS = templates(Subject(0).target)


def test_a_seeded_run_lets_nothing_escape_and_counts_every_frame() -> None:
    report = run(4000, seed=7, trace_memory=True)
    assert report.escapes == []
    assert report.unaccounted == []
    assert report.memory_growth < MEMORY_BOUND
    assert report.frames == 4000
    subject = Subject(0)
    assert report.sizes["neighbors"] <= subject.iface.neighbors.capacity
    assert report.sizes["reassembly"] <= subject.host.ipv6.reassembler.limits.max_datagrams


def test_every_template_is_taken_by_the_host() -> None:
    """The unmutated frames reach what they were built for: each one's fate is counted,
    and most are delivered (the corpus is not dead on arrival)."""
    subject = Subject(0)
    delivered = 0
    for frame in CORPUS:
        before, taken = subject.fate(), subject.host.ip.in_delivers
        subject.host.receive(subject.iface, frame, subject.world.now)
        assert subject.fate() > before
        delivered += subject.host.ip.in_delivers > taken
    assert delivered >= len(CORPUS) * 2 // 3, delivered


@settings(max_examples=examples(150), deadline=None)
@given(
    index=st.integers(0, len(CORPUS) - 1),
    rng=st.randoms(use_true_random=False),
    rounds=st.integers(1, 4),
)
def test_a_mutated_frame_is_counted_and_raises_nothing(
    index: int, rng: random.Random, rounds: int
) -> None:
    subject = Subject(0)  # strict: an internal error raises here
    frame = CORPUS[index]
    for _ in range(rounds):
        frame = mutate(rng, frame, CORPUS)
    before = subject.fate()
    subject.host.receive(subject.iface, frame, subject.world.now)
    assert subject.fate() > before
    subject.world.run_for(61.0)  # every timer the frame may have started
