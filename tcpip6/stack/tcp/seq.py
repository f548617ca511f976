"""Sequence number arithmetic (RFC 9293 §3.4): "all arithmetic dealing with sequence
numbers must be performed modulo 2**32", comparisons as RFC 1982 serial numbers."""

from __future__ import annotations

MOD = 1 << 32
_HALF = 1 << 31


def add(a: int, n: int) -> int:
    return (a + n) % MOD


def diff(a: int, b: int) -> int:
    """``a - b`` as a signed distance (|distance| < 2**31)."""
    d = (a - b) % MOD
    return d - MOD if d >= _HALF else d


def lt(a: int, b: int) -> bool:
    return diff(a, b) < 0


def le(a: int, b: int) -> bool:
    return diff(a, b) <= 0


def gt(a: int, b: int) -> bool:
    return diff(a, b) > 0


def ge(a: int, b: int) -> bool:
    return diff(a, b) >= 0


def between(low: int, x: int, high: int) -> bool:
    """``low <= x < high`` modulo 2**32 (an empty range when ``low == high``)."""
    return (x - low) % MOD < (high - low) % MOD


def seq_max(a: int, b: int) -> int:
    return a if ge(a, b) else b


def seq_min(a: int, b: int) -> int:
    return a if le(a, b) else b
