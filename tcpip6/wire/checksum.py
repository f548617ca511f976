"""The Internet checksum (RFC 1071) and the IPv6 pseudo-header (RFC 8200 §8.1)."""

from __future__ import annotations

from ipaddress import IPv6Address

from tcpip6.wire.ipv6 import InternedAddress


def ones_complement_sum(data: bytes | bytearray | memoryview, initial: int = 0) -> int:
    """Fold ``data`` into a 16-bit one's complement sum (not yet complemented)."""
    # Read as one big-endian integer, a trailing odd octet padded with zero. Since
    # 2**16 = 1 (mod 0xFFFF), the sum of the 16-bit words with end-around carry is that
    # integer modulo 0xFFFF, except that a non-zero sum folds to 0xFFFF, never to 0.
    value = int.from_bytes(data, "big")
    if len(data) % 2:
        value <<= 8
    total = initial + value
    if not total:
        return 0
    return total % 0xFFFF or 0xFFFF


def internet_checksum(data: bytes | bytearray | memoryview, initial: int = 0) -> int:
    """RFC 1071 checksum of ``data``; a result of 0 over data with its checksum means valid."""
    return ~ones_complement_sum(data, initial) & 0xFFFF


def pseudo_header_sum(
    src: IPv6Address, dst: IPv6Address, upper_length: int, next_header: int
) -> int:
    """RFC 8200 §8.1: source, destination, upper-layer packet length, next header."""
    # The one's complement sum of the pseudo-header (src, dst, the 32-bit length, three
    # zero octets and the next header) without building it: each field's words sum, modulo
    # 0xFFFF, to the field's value (see ones_complement_sum). An interned address (every
    # parsed one) keeps its value: no IPv6Address.__int__ call per segment.
    total = (
        (src.value if type(src) is InternedAddress else int(src))
        + (dst.value if type(dst) is InternedAddress else int(dst))
        + upper_length
        + next_header
    )
    if not total:
        return 0
    return total % 0xFFFF or 0xFFFF


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
