"""The Internet checksum (RFC 1071) and the IPv6 pseudo-header (RFC 8200 §8.1)."""

from __future__ import annotations

import struct
from ipaddress import IPv6Address

_PSEUDO_TAIL = struct.Struct("!IxxxB")


def ones_complement_sum(data: bytes | bytearray | memoryview, initial: int = 0) -> int:
    """Fold ``data`` into a 16-bit one's complement sum (not yet complemented)."""
    raw = bytes(data)
    if len(raw) % 2:
        raw += b"\x00"
    # int.from_bytes over the whole buffer, then fold: fast in CPython.
    total = initial
    value = int.from_bytes(raw, "big")
    while value:
        total += value & 0xFFFF_FFFF_FFFF_FFFF
        value >>= 64
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def internet_checksum(data: bytes | bytearray | memoryview, initial: int = 0) -> int:
    """RFC 1071 checksum of ``data``; a result of 0 over data with its checksum means valid."""
    return ~ones_complement_sum(data, initial) & 0xFFFF


def pseudo_header_sum(
    src: IPv6Address, dst: IPv6Address, upper_length: int, next_header: int
) -> int:
    """RFC 8200 §8.1: source, destination, upper-layer packet length, next header."""
    return ones_complement_sum(
        src.packed + dst.packed + _PSEUDO_TAIL.pack(upper_length, next_header)
    )


def upper_layer_checksum(
    src: IPv6Address,
    dst: IPv6Address,
    next_header: int,
    data: bytes | bytearray | memoryview,
    length: int | None = None,
) -> int:
    """Checksum over the pseudo-header and ``data`` (with its checksum field zero, to emit;
    as received, to verify: then the result is 0 when valid).

    ``length`` is the upper-layer length to put in the pseudo-header when it differs from
    ``len(data)`` (UDP-Lite checksum coverage)."""
    plen = len(data) if length is None else length
    return internet_checksum(data, pseudo_header_sum(src, dst, plen, next_header))
