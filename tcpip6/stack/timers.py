"""Deadlines driven by an injected clock (no threads, no ``time.*``).

Every owner of timers exposes ``next_deadline() -> float | None`` and ``poll(now)``;
:class:`DeadlineQueue` is the shared building block for owners with many timers: a heap
of (deadline, sequence, key) with lazy cancellation, so arming and cancelling are
O(log n) and finding the next deadline is O(1) amortised.
"""

from __future__ import annotations

import heapq
from collections.abc import Hashable
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class DeadlineQueue(Generic[K]):
    """At most one pending deadline per key; re-arming a key replaces its deadline.

    A heap entry is ``[deadline, sequence, key, live]``: cancelling or re-arming a key
    clears the ``live`` flag of its old entry, so that looking at the head (what every
    polling loop does at every step) never hashes a key (an ``IPv6Address`` hashes
    through a string). Keys are hashed once when armed or cancelled.
    """

    __slots__ = ("_armed", "_heap", "_seq", "changes")

    def __init__(self) -> None:
        self._heap: list[list[Any]] = []
        #: The live heap entry of each armed key.
        self._armed: dict[K, list[Any]] = {}
        self._seq = 0
        #: A count of the changes to the armed keys (arm, cancel, pop_due), in a cell that
        #: several queues may share (:meth:`share_changes`): whoever keeps the earliest
        #: deadline of queues that seldom change asks them again only once it moved.
        self.changes: list[int] = [0]

    def share_changes(self, cell: list[int]) -> None:
        """Count this queue's changes in ``cell`` from now on (with other queues')."""
        cell[0] += 1  # the watcher may hold an earliest deadline without this queue's
        self.changes = cell

    def __len__(self) -> int:
        return len(self._armed)

    def __contains__(self, key: object) -> bool:
        return key in self._armed

    def arm(self, key: K, deadline: float) -> None:
        self._seq += 1
        self.changes[0] += 1
        entry = [deadline, self._seq, key, True]
        old = self._armed.get(key)
        if old is not None:
            old[_LIVE] = False
        self._armed[key] = entry
        heapq.heappush(self._heap, entry)
        # Keep the heap bounded by live entries: compact when stale ones dominate.
        if len(self._heap) > 64 and len(self._heap) > 4 * len(self._armed):
            self._heap = list(self._armed.values())
            heapq.heapify(self._heap)

    def cancel(self, key: K) -> None:
        entry = self._armed.pop(key, None)
        if entry is not None:
            entry[_LIVE] = False
            self.changes[0] += 1

    def deadline(self, key: K) -> float | None:
        entry = self._armed.get(key)
        if entry is None:
            return None
        at: float = entry[0]
        return at

    def _discard_stale(self) -> None:
        heap = self._heap
        while heap and not heap[0][_LIVE]:
            heapq.heappop(heap)

    def next_deadline(self) -> float | None:
        heap = self._heap
        if heap:
            if not heap[0][_LIVE]:
                self._discard_stale()
                if not heap:
                    return None
            head: float = heap[0][0]
            return head
        return None

    def pop_due(self, now: float) -> list[K]:
        """Disarm and return the keys whose deadline is ``<= now``, earliest first."""
        due: list[K] = []
        heap = self._heap
        if not heap or heap[0][0] > now:
            return due  # nothing due (a stale head is discarded when one is)
        while True:
            self._discard_stale()
            if not heap or heap[0][0] > now:
                return due
            entry = heapq.heappop(heap)
            entry[_LIVE] = False
            self.changes[0] += 1
            key: K = entry[2]
            del self._armed[key]
            due.append(key)


#: Index of the live flag in a heap entry.
_LIVE = 3


def earliest(a: float | None, b: float | None) -> float | None:
    """The earlier of two deadlines, None meaning "no deadline" (``min`` of those given)."""
    if a is None:
        return b
    if b is None or a <= b:
        return a
    return b


def earliest_of(*deadlines: float | None) -> float | None:
    """The earliest of ``deadlines``, None meaning "no deadline" (one call for many, where
    owners are asked on every step of a simulation)."""
    best: float | None = None
    for d in deadlines:
        if d is not None and (best is None or d < best):
            best = d
    return best
