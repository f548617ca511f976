"""Deadlines driven by an injected clock (no threads, no ``time.*``).

Every owner of timers exposes ``next_deadline() -> float | None`` and ``poll(now)``;
:class:`DeadlineQueue` is the shared building block for owners with many timers: a heap
of (deadline, sequence, key) with lazy cancellation, so arming and cancelling are
O(log n) and finding the next deadline is O(1) amortised.
"""

from __future__ import annotations

import heapq
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class DeadlineQueue(Generic[K]):
    """At most one pending deadline per key; re-arming a key replaces its deadline."""

    __slots__ = ("_armed", "_heap", "_seq")

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, K]] = []
        self._armed: dict[K, tuple[float, int]] = {}
        self._seq = 0

    def __len__(self) -> int:
        return len(self._armed)

    def __contains__(self, key: object) -> bool:
        return key in self._armed

    def arm(self, key: K, deadline: float) -> None:
        self._seq += 1
        self._armed[key] = (deadline, self._seq)
        heapq.heappush(self._heap, (deadline, self._seq, key))
        # Keep the heap bounded by live entries: compact when stale ones dominate.
        if len(self._heap) > 64 and len(self._heap) > 4 * len(self._armed):
            self._heap = [(d, s, k) for k, (d, s) in self._armed.items()]
            heapq.heapify(self._heap)

    def cancel(self, key: K) -> None:
        self._armed.pop(key, None)

    def deadline(self, key: K) -> float | None:
        entry = self._armed.get(key)
        return None if entry is None else entry[0]

    def _discard_stale(self) -> None:
        heap = self._heap
        while heap:
            deadline, seq, key = heap[0]
            if self._armed.get(key) == (deadline, seq):
                return
            heapq.heappop(heap)

    def next_deadline(self) -> float | None:
        self._discard_stale()
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now: float) -> list[K]:
        """Disarm and return the keys whose deadline is ``<= now``, earliest first."""
        due: list[K] = []
        while True:
            self._discard_stale()
            if not self._heap or self._heap[0][0] > now:
                return due
            _, _, key = heapq.heappop(self._heap)
            del self._armed[key]
            due.append(key)
