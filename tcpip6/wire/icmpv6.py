"""ICMPv6 messages (RFC 4443), with dispatch to ND (RFC 4861) and MLD (RFC 2710/3810).

Error messages::

    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |     Type      |     Code      |          Checksum             |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |            Unused / MTU / Pointer (32 bits)                   |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |    As much of invoking packet as possible without the ICMPv6  |
    +               packet exceeding the minimum IPv6 MTU           +

Echo messages::

    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |     Type      |     Code      |          Checksum             |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |           Identifier          |        Sequence Number        |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |     Data ...
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv6Address
from typing import ClassVar

from tcpip6.wire import _icmp
from tcpip6.wire import mld as _mld
from tcpip6.wire import nd as _nd
from tcpip6.wire.errors import WireError

# RFC 4443 §2.1 message types.
DESTINATION_UNREACHABLE = 1
PACKET_TOO_BIG = 2
TIME_EXCEEDED = 3
PARAMETER_PROBLEM = 4
ECHO_REQUEST = 128
ECHO_REPLY = 129

# §3.1 Destination Unreachable codes.
UNREACH_NO_ROUTE = 0
UNREACH_ADMIN_PROHIBITED = 1
UNREACH_BEYOND_SCOPE = 2
UNREACH_ADDRESS = 3
UNREACH_PORT = 4
UNREACH_SOURCE_POLICY = 5
UNREACH_REJECT_ROUTE = 6
UNREACH_SOURCE_ROUTING_HEADER = 7
# §3.3 Time Exceeded codes.
TIME_EXCEEDED_HOP_LIMIT = 0
TIME_EXCEEDED_REASSEMBLY = 1
# §3.4 Parameter Problem codes (3: RFC 7112).
PARAM_PROBLEM_HEADER_FIELD = 0
PARAM_PROBLEM_NEXT_HEADER = 1
PARAM_PROBLEM_OPTION = 2
PARAM_PROBLEM_INCOMPLETE_CHAIN = 3

MIN_MTU = 1280
IPV6_HEADER_LEN = 40
ERROR_HEADER_LEN = 8
#: RFC 4443 §2.4 (c): the error message must not exceed the minimum IPv6 MTU.
MAX_INVOKING = MIN_MTU - IPV6_HEADER_LEN - ERROR_HEADER_LEN

_WORD = struct.Struct("!I")
_ECHO = struct.Struct("!HH")


def truncate_invoking(packet: bytes | bytearray | memoryview) -> bytes:
    """As much of the invoking packet as fits in a 1280-octet error (RFC 4443 §2.4 (c))."""
    return bytes(packet[:MAX_INVOKING])


@dataclass(frozen=True, slots=True)
class _ErrorBase:
    code: int
    invoking: bytes

    TYPE: ClassVar[int] = 0

    @property
    def type(self) -> int:
        return self.TYPE

    def _word(self) -> int:
        return 0

    def buffer_len(self) -> int:
        return ERROR_HEADER_LEN + len(self.invoking)

    def build(self, src: IPv6Address, dst: IPv6Address) -> bytes:
        buf = _icmp.start(self.TYPE, self.code, 4 + len(self.invoking))
        _WORD.pack_into(buf, 4, self._word())
        buf[8:] = self.invoking
        return _icmp.finish(buf, src, dst)


@dataclass(frozen=True, slots=True)
class DestinationUnreachable(_ErrorBase):
    """RFC 4443 §3.1 (the 32-bit unused field is kept)."""

    unused: int = 0
    TYPE: ClassVar[int] = DESTINATION_UNREACHABLE

    def _word(self) -> int:
        return self.unused


@dataclass(frozen=True, slots=True)
class PacketTooBig(_ErrorBase):
    """RFC 4443 §3.2."""

    mtu: int = MIN_MTU
    TYPE: ClassVar[int] = PACKET_TOO_BIG

    def _word(self) -> int:
        return self.mtu


@dataclass(frozen=True, slots=True)
class TimeExceeded(_ErrorBase):
    """RFC 4443 §3.3."""

    unused: int = 0
    TYPE: ClassVar[int] = TIME_EXCEEDED

    def _word(self) -> int:
        return self.unused


@dataclass(frozen=True, slots=True)
class ParameterProblem(_ErrorBase):
    """RFC 4443 §3.4: the pointer is the octet offset of the error in the invoking packet."""

    pointer: int = 0
    TYPE: ClassVar[int] = PARAMETER_PROBLEM

    def _word(self) -> int:
        return self.pointer


@dataclass(frozen=True, slots=True)
class _EchoBase:
    identifier: int
    sequence: int
    data: bytes = b""
    code: int = 0

    TYPE: ClassVar[int] = 0

    @property
    def type(self) -> int:
        return self.TYPE

    def buffer_len(self) -> int:
        return 8 + len(self.data)

    def build(self, src: IPv6Address, dst: IPv6Address) -> bytes:
        buf = _icmp.start(self.TYPE, self.code, 4 + len(self.data))
        _ECHO.pack_into(buf, 4, self.identifier, self.sequence)
        buf[8:] = self.data
        return _icmp.finish(buf, src, dst)


@dataclass(frozen=True, slots=True)
class EchoRequest(_EchoBase):
    """RFC 4443 §4.1."""

    TYPE: ClassVar[int] = ECHO_REQUEST


@dataclass(frozen=True, slots=True)
class EchoReply(_EchoBase):
    """RFC 4443 §4.2."""

    TYPE: ClassVar[int] = ECHO_REPLY


@dataclass(frozen=True, slots=True)
class UnknownIcmpv6:
    """Any other type: kept whole so it survives parsing (RFC 4443 §2.4 (a), (b))."""

    msg_type: int
    code: int
    body: bytes

    @property
    def type(self) -> int:
        return self.msg_type

    def buffer_len(self) -> int:
        return 4 + len(self.body)

    def build(self, src: IPv6Address, dst: IPv6Address) -> bytes:
        buf = _icmp.start(self.msg_type, self.code, len(self.body))
        buf[4:] = self.body
        return _icmp.finish(buf, src, dst)


ErrorMessage = DestinationUnreachable | PacketTooBig | TimeExceeded | ParameterProblem
Icmpv6Message = (
    ErrorMessage | EchoRequest | EchoReply | _nd.NdMessage | _mld.MldMessage | UnknownIcmpv6
)

_ERRORS: dict[int, type[ErrorMessage]] = {
    DESTINATION_UNREACHABLE: DestinationUnreachable,
    PACKET_TOO_BIG: PacketTooBig,
    TIME_EXCEEDED: TimeExceeded,
    PARAMETER_PROBLEM: ParameterProblem,
}


def parse_icmpv6(
    buf: bytes | bytearray | memoryview, src: IPv6Address, dst: IPv6Address
) -> Icmpv6Message:
    """Verify the checksum and parse by type. Raises only :class:`WireError`."""
    _icmp.verify(buf, src, dst)
    return parse_icmpv6_unchecked(buf)


def parse_icmpv6_unchecked(buf: bytes | bytearray | memoryview) -> Icmpv6Message:
    """Parse by type without verifying the checksum (for invoking packets in errors)."""
    if len(buf) < _icmp.HEADER_LEN:
        raise WireError(f"icmpv6: {len(buf)} octets, need {_icmp.HEADER_LEN}")
    msg_type, code = buf[0], buf[1]
    if msg_type in _ERRORS:
        if len(buf) < ERROR_HEADER_LEN:
            raise WireError(f"icmpv6 type {msg_type}: {len(buf)} octets, need 8")
        (word,) = _WORD.unpack_from(buf, 4)
        cls = _ERRORS[msg_type]
        invoking = bytes(buf[8:])
        if cls is PacketTooBig:
            return PacketTooBig(code, invoking, mtu=word)
        if cls is ParameterProblem:
            return ParameterProblem(code, invoking, pointer=word)
        if cls is TimeExceeded:
            return TimeExceeded(code, invoking, unused=word)
        return DestinationUnreachable(code, invoking, unused=word)
    if msg_type in (ECHO_REQUEST, ECHO_REPLY):
        if len(buf) < 8:
            raise WireError(f"icmpv6 echo: {len(buf)} octets, need 8")
        ident, seq = _ECHO.unpack_from(buf, 4)
        echo_cls = EchoRequest if msg_type == ECHO_REQUEST else EchoReply
        return echo_cls(ident, seq, bytes(buf[8:]), code)
    if msg_type in _nd.ND_TYPES:
        return _nd.parse_nd(buf)
    if msg_type in _mld.MLD_TYPES:
        return _mld.parse_mld(buf)
    return UnknownIcmpv6(msg_type, code, bytes(buf[4:]))


def is_error_type(msg_type: int) -> bool:
    """RFC 4443 §2.1: types 0-127 are errors, 128-255 informational."""
    return msg_type < 128
