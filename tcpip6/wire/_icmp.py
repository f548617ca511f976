"""What every ICMPv6 message shares (RFC 4443 §2.1, §2.3): the type/code/checksum header and
the checksum over the IPv6 pseudo-header. ICMPv6, ND and MLD messages are built on it.

::

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |     Type      |     Code      |          Checksum             |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                                                               |
    +                         Message Body                          +
    |                                                               |
"""

from __future__ import annotations

import struct
from ipaddress import IPv6Address
from typing import ClassVar, Self

from tcpip6.wire.checksum import ones_complement_sum, pseudo_header_sum
from tcpip6.wire.errors import ChecksumError, WireError
from tcpip6.wire.ipv6 import IPPROTO_ICMPV6

HEADER_LEN = 4

HEADER = struct.Struct("!BBH")
WORD = struct.Struct("!I")
_CHECKSUM = struct.Struct("!H")

Buffer = bytes | bytearray | memoryview
WritableBuffer = bytearray | memoryview


def verify(buf: Buffer, src: IPv6Address, dst: IPv6Address) -> None:
    """RFC 4443 §2.3: the checksum covers the pseudo-header (next header 58) and the whole
    message; summed with the checksum field as received, a valid message gives 0."""
    if len(buf) < HEADER_LEN:
        raise WireError(f"icmpv6: {len(buf)} octets, need {HEADER_LEN}")
    # upper_layer_checksum(src, dst, IPPROTO_ICMPV6, buf) != 0, summed in place: a valid
    # message sums to 0xFFFF, whose complement is 0 (every ICMPv6 message comes this way).
    if ones_complement_sum(buf, pseudo_header_sum(src, dst, len(buf), IPPROTO_ICMPV6)) != 0xFFFF:
        raise ChecksumError("icmpv6: bad checksum")


def emit_checksum(
    buf: WritableBuffer, off: int, length: int, src: IPv6Address, dst: IPv6Address
) -> None:
    """Fill in the checksum of the ``length``-octet message at ``off`` (checksum field 0).
    Unlike UDP, a computed 0 is sent as 0."""
    # upper_layer_checksum(src, dst, IPPROTO_ICMPV6, message), its two calls written out.
    total = ones_complement_sum(
        buf[off : off + length], pseudo_header_sum(src, dst, length, IPPROTO_ICMPV6)
    )
    _CHECKSUM.pack_into(buf, off + 2, ~total & 0xFFFF)


def check_header(buf: Buffer, msg_type: int, min_len: int, name: str) -> None:
    """The type is ``msg_type`` and there are at least ``min_len`` octets."""
    if len(buf) < max(min_len, HEADER_LEN):
        raise WireError(f"{name}: {len(buf)} octets, need {max(min_len, HEADER_LEN)}")
    if buf[0] != msg_type:
        raise WireError(f"{name}: type {buf[0]}, expected {msg_type}")


class Message:
    """Parse, emit and build for a message class: the class gives ``TYPE``, ``MIN_LEN``,
    a ``code`` field, ``buffer_len()``, ``_parse(buf)`` (type and minimum length already
    checked) and ``_emit_body(buf, off)`` (writes octets 4 to ``buffer_len()``)."""

    __slots__ = ()

    TYPE: ClassVar[int] = -1
    MIN_LEN: ClassVar[int] = HEADER_LEN
    code: int

    @property
    def type(self) -> int:
        return self.TYPE

    @classmethod
    def parse(cls, buf: Buffer, src: IPv6Address, dst: IPv6Address) -> Self:
        """Verify the checksum, then parse. Raises only :class:`WireError`."""
        verify(buf, src, dst)
        return cls.parse_unchecked(buf)

    @classmethod
    def parse_unchecked(cls, buf: Buffer) -> Self:
        """Parse without verifying the checksum (a message quoted in an error, say)."""
        check_header(buf, cls.TYPE, cls.MIN_LEN, cls.__name__)
        return cls._parse(memoryview(buf))

    @classmethod
    def _parse(cls, buf: memoryview) -> Self:
        raise NotImplementedError

    def buffer_len(self) -> int:
        raise NotImplementedError

    def _emit_body(self, buf: WritableBuffer, off: int) -> None:
        raise NotImplementedError

    def emit(self, buf: WritableBuffer, src: IPv6Address, dst: IPv6Address, off: int = 0) -> None:
        """Write the whole message, checksum included, at ``buf[off:]``."""
        HEADER.pack_into(buf, off, self.TYPE, self.code, 0)
        self._emit_body(buf, off)
        emit_checksum(buf, off, self.buffer_len(), src, dst)

    def build(self, src: IPv6Address, dst: IPv6Address) -> bytes:
        buf = bytearray(self.buffer_len())
        self.emit(buf, src, dst)
        return bytes(buf)


def addresses(buf: Buffer, off: int, count: int, name: str) -> tuple[IPv6Address, ...]:
    """``count`` IPv6 addresses in a row from ``off``."""
    end = off + 16 * count
    if end > len(buf):
        raise WireError(f"{name}: {count} addresses do not fit in {len(buf) - off} octets")
    return tuple(IPv6Address(bytes(buf[i : i + 16])) for i in range(off, end, 16))


def pack_addresses(buf: WritableBuffer, off: int, addrs: tuple[IPv6Address, ...]) -> int:
    """Write ``addrs`` from ``off``; returns the offset after them."""
    for a in addrs:
        buf[off : off + 16] = a.packed
        off += 16
    return off
