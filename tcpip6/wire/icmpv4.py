"""The ICMPv4 header (RFC 792): type, code, checksum over the message (no pseudo-header),
and the 32-bit field that follows (identifier and sequence number, pointer, next-hop MTU
of RFC 1191, or unused).

::

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |     Type      |     Code      |          Checksum             |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                 Rest of header (by type)                      |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                 Data (an error quotes the invoking datagram)  |
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import ClassVar

from tcpip6.wire.checksum import internet_checksum
from tcpip6.wire.errors import ChecksumError, WireError

ECHO_REPLY = 0
DESTINATION_UNREACHABLE = 3
SOURCE_QUENCH = 4
REDIRECT = 5
ECHO_REQUEST = 8
ROUTER_ADVERTISEMENT = 9
ROUTER_SOLICITATION = 10
TIME_EXCEEDED = 11
PARAMETER_PROBLEM = 12
TIMESTAMP = 13
TIMESTAMP_REPLY = 14
INFORMATION_REQUEST = 15
INFORMATION_REPLY = 16
ADDRESS_MASK_REQUEST = 17
ADDRESS_MASK_REPLY = 18

# Destination Unreachable codes (RFC 792, RFC 1122 §3.2.2.1, RFC 1812 §5.2.7.1).
NET_UNREACHABLE = 0
HOST_UNREACHABLE = 1
PROTOCOL_UNREACHABLE = 2
PORT_UNREACHABLE = 3
FRAGMENTATION_NEEDED = 4
SOURCE_ROUTE_FAILED = 5

ERROR_TYPES = frozenset(
    {DESTINATION_UNREACHABLE, SOURCE_QUENCH, REDIRECT, TIME_EXCEEDED, PARAMETER_PROBLEM}
)

_HEADER = struct.Struct("!BBHI")
_CHECKSUM = struct.Struct("!H")


@dataclass(frozen=True, slots=True)
class Icmpv4Header:
    type: int
    code: int
    rest: int  # the 32-bit word after the checksum

    HEADER_LEN: ClassVar[int] = 8

    @classmethod
    def parse(cls, buf: bytes | bytearray | memoryview) -> Icmpv4Header:
        """Parse and verify the checksum over the whole of ``buf`` (RFC 792)."""
        if len(buf) < cls.HEADER_LEN:
            raise WireError(f"icmpv4: {len(buf)} octets, need {cls.HEADER_LEN}")
        if internet_checksum(buf) != 0:
            raise ChecksumError("icmpv4: bad checksum")
        return cls.parse_unchecked(buf)

    @classmethod
    def parse_unchecked(cls, buf: bytes | bytearray | memoryview) -> Icmpv4Header:
        if len(buf) < cls.HEADER_LEN:
            raise WireError(f"icmpv4: {len(buf)} octets, need {cls.HEADER_LEN}")
        msg_type, code, _csum, rest = _HEADER.unpack_from(buf, 0)
        return cls(msg_type, code, rest)

    @property
    def is_error(self) -> bool:
        return self.type in ERROR_TYPES

    def buffer_len(self) -> int:
        return self.HEADER_LEN

    def emit(self, buf: bytearray | memoryview, off: int, length: int) -> None:
        """Write the header at ``off`` and the checksum over ``length`` octets from ``off``
        (the data must be in place already)."""
        _HEADER.pack_into(buf, off, self.type, self.code, 0, self.rest)
        _CHECKSUM.pack_into(buf, off + 2, internet_checksum(buf[off : off + length]))

    def message(self, data: bytes | bytearray | memoryview = b"") -> bytes:
        """Header + data with the checksum filled in."""
        buf = bytearray(self.HEADER_LEN + len(data))
        buf[self.HEADER_LEN :] = data
        self.emit(buf, 0, len(buf))
        return bytes(buf)
