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
        #: The live heap entry of each armed key (the very tuple in the heap: an entry in
        #: the heap is live when it is the one its key maps to).
        self._armed: dict[K, tuple[float, int, K]] = {}
        self._seq = 0

    def __len__(self) -> int:
        return len(self._armed)

    def __contains__(self, key: object) -> bool:
        return key in self._armed

    def arm(self, key: K, deadline: float) -> None:
        self._seq += 1
        entry = (deadline, self._seq, key)
        self._armed[key] = entry
        heapq.heappush(self._heap, entry)
        # Keep the heap bounded by live entries: compact when stale ones dominate.
        if len(self._heap) > 64 and len(self._heap) > 4 * len(self._armed):
            self._heap = list(self._armed.values())
            heapq.heapify(self._heap)

    def cancel(self, key: K) -> None:
        self._armed.pop(key, None)

    def deadline(self, key: K) -> float | None:
        entry = self._armed.get(key)
        return None if entry is None else entry[0]

    def _discard_stale(self) -> None:
        heap = self._heap
        armed = self._armed
        while heap and armed.get(heap[0][2]) is not heap[0]:
            heapq.heappop(heap)

    def next_deadline(self) -> float | None:
        # The polling loops ask this of every queue at every step: the common case (the
        # head is live, or the queue is empty) costs no further call.
        heap = self._heap
        if heap:
            head = heap[0]
            if self._armed.get(head[2]) is not head:
                self._discard_stale()
                if not heap:
                    return None
                head = heap[0]
            return head[0]
        return None

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


def earliest(a: float | None, b: float | None) -> float | None:
    """The earlier of two deadlines, None meaning "no deadline" (``min`` of those given)."""
    if a is None:
        return b
    if b is None or a <= b:
        return a
    return b
