"""Shared Hypothesis strategies for wire tests (addresses, ports, byte strings)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

from hypothesis import strategies as st

ipv6_addresses = st.builds(IPv6Address, st.integers(min_value=0, max_value=2**128 - 1))
ipv4_addresses = st.builds(IPv4Address, st.integers(min_value=0, max_value=2**32 - 1))
macs = st.binary(min_size=6, max_size=6)
u8 = st.integers(min_value=0, max_value=0xFF)
u16 = st.integers(min_value=0, max_value=0xFFFF)
u32 = st.integers(min_value=0, max_value=0xFFFFFFFF)


def mutations(data: bytes) -> st.SearchStrategy[bytes]:
    """Truncations, bit flips and random tails of a valid encoding."""
    if not data:
        return st.binary(max_size=64)
    cut = st.integers(min_value=0, max_value=len(data)).map(lambda n: data[:n])
    flip = st.tuples(
        st.integers(min_value=0, max_value=len(data) - 1), st.integers(min_value=0, max_value=7)
    ).map(lambda t: data[: t[0]] + bytes([data[t[0]] ^ (1 << t[1])]) + data[t[0] + 1 :])
    tail = st.binary(max_size=32).map(lambda extra: data + extra)
    return st.one_of(cut, flip, tail)
