"""Sets of octet ranges, on unwrapped stream offsets: what a receiver holds out of order
(RFC 9293 §3.10.7.4 seventh: segments "with higher beginning sequence numbers SHOULD be
held for later processing") and what a sender knows the receiver holds (the SACK
scoreboard, RFC 6675 §3)."""

from __future__ import annotations


class RangeSet:
    """Disjoint, sorted, merged half-open ``[start, end)`` ranges."""

    __slots__ = ("ranges",)

    def __init__(self) -> None:
        self.ranges: list[list[int]] = []

    def __bool__(self) -> bool:
        return bool(self.ranges)

    def __len__(self) -> int:
        return len(self.ranges)

    def total(self) -> int:
        return sum(e - s for s, e in self.ranges)

    def add(self, start: int, end: int) -> tuple[int, int]:
        """Add ``[start, end)``; the merged range that now contains it."""
        if end <= start:
            return (start, start)
        out: list[list[int]] = []
        placed = False
        for s, e in self.ranges:
            if e < start:
                out.append([s, e])
            elif end < s:
                if not placed:
                    out.append([start, end])
                    placed = True
                out.append([s, e])
            else:
                start, end = min(s, start), max(e, end)
        if not placed:
            out.append([start, end])
        out.sort()
        self.ranges = out
        return (start, end)

    def remove_below(self, point: int) -> None:
        """Forget everything below ``point`` (cumulatively acknowledged or delivered)."""
        out = []
        for s, e in self.ranges:
            if e <= point:
                continue
            out.append([max(s, point), e])
        self.ranges = out

    def contains(self, point: int) -> bool:
        return any(s <= point < e for s, e in self.ranges)

    def covering(self, point: int) -> tuple[int, int] | None:
        for s, e in self.ranges:
            if s <= point < e:
                return (s, e)
        return None

    def first_start(self) -> int | None:
        return self.ranges[0][0] if self.ranges else None

    def highest(self) -> int | None:
        return self.ranges[-1][1] if self.ranges else None

    def bytes_above(self, point: int) -> int:
        return sum(e - max(s, point) for s, e in self.ranges if e > point)
