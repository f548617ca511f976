"""Sequence number arithmetic (RFC 9293 §3.4): "all arithmetic dealing with sequence
numbers must be performed modulo 2**32", comparisons as RFC 1982 serial numbers."""

from __future__ import annotations

MOD = 1 << 32
#: 2**31: a distance at or above it, modulo 2**32, is negative (RFC 1982 serial numbers).
HALF = 1 << 31


def add(a: int, n: int) -> int:
    return (a + n) % MOD


def diff(a: int, b: int) -> int:
    """``a - b`` as a signed distance (|distance| < 2**31)."""
    d = (a - b) % MOD
    return d - MOD if d >= HALF else d


# The comparisons test ``diff(a, b)``'s sign without calling it (they run several times
# per segment): ``(a - b) % MOD`` at or above 2**31 is a negative distance.
def lt(a: int, b: int) -> bool:
    return (a - b) % MOD >= HALF


def le(a: int, b: int) -> bool:
    d = (a - b) % MOD
    return d == 0 or d >= HALF


def gt(a: int, b: int) -> bool:
    d = (a - b) % MOD
    return 0 < d < HALF


def ge(a: int, b: int) -> bool:
    return (a - b) % MOD < HALF


def between(low: int, x: int, high: int) -> bool:
    """``low <= x < high`` modulo 2**32 (an empty range when ``low == high``)."""
    return (x - low) % MOD < (high - low) % MOD


def seq_max(a: int, b: int) -> int:
    return a if ge(a, b) else b


def seq_min(a: int, b: int) -> int:
    return a if le(a, b) else b
