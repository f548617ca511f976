"""What the ``tcpip6 show`` views share in their lines: the seconds an entry has left,
iproute2's `` expires Nsec``, and a ``netstat -s`` group of counters."""

from __future__ import annotations

import math
from collections.abc import Mapping


def seconds_left(until: float, now: float) -> int | None:
    """Whole seconds from ``now`` to ``until`` (never below 0); None: infinite."""
    if math.isinf(until):
        return None
    return max(0, math.floor(until - now))


def expires(seconds: int | None) -> str:
    """`` expires Nsec`` as ``ip -6 route`` prints it; nothing for an entry that does not
    expire."""
    return "" if seconds is None else f" expires {seconds}sec"


def counter_group(title: str, values: Mapping[str, int]) -> list[str]:
    """As ``netstat -s``: ``title:``, then a line per non-zero counter; nothing when all
    are zero."""
    nonzero = [(k, v) for k, v in values.items() if v]
    if not nonzero:
        return []
    return [f"{title}:", *(f"    {v} {k}" for k, v in nonzero)]


__all__ = ["counter_group", "expires", "seconds_left"]
