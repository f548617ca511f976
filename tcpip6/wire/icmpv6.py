"""ICMPv6 messages (RFC 4443), and the one entry point that parses any ICMPv6 message,
Neighbor Discovery (RFC 4861, :mod:`tcpip6.wire.nd`) and MLD (RFC 2710/3810,
:mod:`tcpip6.wire.mld`) included.

Error messages (RFC 4443 §3)::

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |     Type      |     Code      |          Checksum             |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |      Unused, MTU or Pointer (RFC 4443 §3.1, 3.2, 3.3, 3.4)    |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                    As much of invoking packet                 |
    +                as possible without the ICMPv6 packet          +
    |                exceeding the minimum IPv6 MTU [IPv6]          |

Echo Request and Echo Reply (RFC 4443 §4)::

    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |     Type      |     Code      |          Checksum             |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |           Identifier          |        Sequence Number        |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |     Data ...
    +-+-+-+-+-

Every message class has ``parse(buf, src, dst)`` (checksum verified), ``parse_unchecked(buf)``,
``emit(buf, src, dst, off=0)``, ``build(src, dst)`` and ``buffer_len()``. The checksum is not
a field. What a node must *do* with a message (RFC 4443 §2.4: which errors to send, rate
limits, passing errors up) is the stack's business.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv6Address
from typing import ClassVar, Self

from tcpip6.wire import _icmp
from tcpip6.wire import mld as _mld
from tcpip6.wire import nd as _nd
from tcpip6.wire._icmp import Buffer, WritableBuffer
from tcpip6.wire.checksum import ones_complement_sum, pseudo_header_sum
from tcpip6.wire.errors import WireError
from tcpip6.wire.ipv6 import IPPROTO_ICMPV6, MIN_MTU, Ipv6Header

# RFC 4443 §2.1: message types (errors 0-127, informational 128-255).
DESTINATION_UNREACHABLE = 1
PACKET_TOO_BIG = 2
TIME_EXCEEDED = 3
PARAMETER_PROBLEM = 4
ECHO_REQUEST = 128
ECHO_REPLY = 129

# RFC 4443 §3.1 Destination Unreachable codes.
UNREACH_NO_ROUTE = 0
UNREACH_ADMIN_PROHIBITED = 1
UNREACH_BEYOND_SCOPE = 2
UNREACH_ADDRESS = 3
UNREACH_PORT = 4
UNREACH_SOURCE_POLICY = 5  # source address failed ingress/egress policy
UNREACH_REJECT_ROUTE = 6  # reject route to destination
UNREACH_SOURCE_ROUTING_HEADER = 7  # error in Source Routing Header
# RFC 4443 §3.3 Time Exceeded codes.
TIME_EXCEEDED_HOP_LIMIT = 0
TIME_EXCEEDED_REASSEMBLY = 1
# RFC 4443 §3.4 Parameter Problem codes.
PARAM_PROBLEM_HEADER_FIELD = 0  # erroneous header field encountered
PARAM_PROBLEM_NEXT_HEADER = 1  # unrecognized Next Header type encountered
PARAM_PROBLEM_OPTION = 2  # unrecognized IPv6 option encountered
PARAM_PROBLEM_INCOMPLETE_CHAIN = 3  # RFC 7112 §5: first fragment has incomplete header chain

ERROR_HEADER_LEN = 8
ECHO_HEADER_LEN = 8
#: RFC 4443 §2.4 (c): the most of an invoking packet an error can carry when nothing but
#: the 40-octet IPv6 header precedes it: 1280 - 40 - 8 = 1232 octets.
MAX_INVOKING = MIN_MTU - Ipv6Header.HEADER_LEN - ERROR_HEADER_LEN

_ECHO = struct.Struct("!HH")
#: An echo message's header: type, code, checksum, identifier, sequence number.
_ECHO_HEADER = struct.Struct("!BBHHH")


def truncate_invoking(packet: Buffer, extension_len: int = 0) -> bytes:
    """As much of ``packet`` as an error message may quote (RFC 4443 §2.4 (c)): the IPv6
    header, ``extension_len`` octets of extension headers in front of the ICMPv6 message,
    the 8-octet error header and the result fit in the minimum IPv6 MTU of 1280 octets."""
    room = MAX_INVOKING - extension_len
    if room < 0:
        raise ValueError(f"{extension_len} octets of extension headers leave no room")
    return bytes(packet[:room])


def is_error_type(msg_type: int) -> bool:
    """RFC 4443 §2.1: types 0-127 are errors, 128-255 informational."""
    return msg_type < 128


# -- error messages (RFC 4443 §3) ------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _ErrorBase(_icmp.Message):
    """``code``, then the invoking packet (the octets after the 32-bit word)."""

    code: int
    invoking: bytes

    MIN_LEN: ClassVar[int] = ERROR_HEADER_LEN
    #: The name of the field the type keeps in the 32-bit word after the checksum (each
    #: subclass declares it as its third field, after ``code`` and ``invoking``).
    WORD_FIELD: ClassVar[str]

    def buffer_len(self) -> int:
        return ERROR_HEADER_LEN + len(self.invoking)

    def _emit_body(self, buf: WritableBuffer, off: int) -> None:
        word: int = getattr(self, self.WORD_FIELD)
        _icmp.WORD.pack_into(buf, off + 4, word)
        buf[off + ERROR_HEADER_LEN : off + self.buffer_len()] = self.invoking

    @classmethod
    def _parse(cls, buf: memoryview) -> Self:
        (word,) = _icmp.WORD.unpack_from(buf, 4)
        return cls(buf[1], bytes(buf[ERROR_HEADER_LEN:]), word)  # type: ignore[call-arg]


@dataclass(frozen=True, slots=True)
class DestinationUnreachable(_ErrorBase):
    """RFC 4443 §3.1. ``unused`` is the 32-bit word after the checksum, kept as received
    (RFC 4884 puts a length in its first octet)."""

    unused: int = 0

    TYPE: ClassVar[int] = DESTINATION_UNREACHABLE
    WORD_FIELD: ClassVar[str] = "unused"


@dataclass(frozen=True, slots=True)
class PacketTooBig(_ErrorBase):
    """RFC 4443 §3.2: the MTU of the next-hop link. The code is 0 on send and ignored on
    receipt; it is kept as received."""

    mtu: int

    TYPE: ClassVar[int] = PACKET_TOO_BIG
    WORD_FIELD: ClassVar[str] = "mtu"


@dataclass(frozen=True, slots=True)
class TimeExceeded(_ErrorBase):
    """RFC 4443 §3.3. ``unused`` is kept as received."""

    unused: int = 0

    TYPE: ClassVar[int] = TIME_EXCEEDED
    WORD_FIELD: ClassVar[str] = "unused"


@dataclass(frozen=True, slots=True)
class ParameterProblem(_ErrorBase):
    """RFC 4443 §3.4: ``pointer`` is the octet offset in the invoking packet where the
    error was detected."""

    pointer: int

    TYPE: ClassVar[int] = PARAMETER_PROBLEM
    WORD_FIELD: ClassVar[str] = "pointer"


# -- echo (RFC 4443 §4) ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _EchoBase(_icmp.Message):
    identifier: int
    sequence: int
    data: bytes = b""
    code: int = 0

    MIN_LEN: ClassVar[int] = ECHO_HEADER_LEN

    def buffer_len(self) -> int:
        return ECHO_HEADER_LEN + len(self.data)

    def _emit_body(self, buf: WritableBuffer, off: int) -> None:
        _ECHO.pack_into(buf, off + 4, self.identifier, self.sequence)
        buf[off + ECHO_HEADER_LEN : off + self.buffer_len()] = self.data

    def build(self, src: IPv6Address, dst: IPv6Address) -> bytes:
        """:meth:`Message.build`, for the message every ping brings: the header packed
        once. RFC 4443 §2.3: the checksum covers the pseudo-header and the message; the
        header's 16-bit words (type and code, identifier, sequence number) sum, modulo
        0xFFFF, to their values, and the data's words follow them aligned."""
        data = self.data
        total = ones_complement_sum(
            data,
            pseudo_header_sum(src, dst, ECHO_HEADER_LEN + len(data), IPPROTO_ICMPV6)
            + (self.TYPE << 8 | self.code)
            + self.identifier
            + self.sequence,
        )
        return (
            _ECHO_HEADER.pack(self.TYPE, self.code, ~total & 0xFFFF, self.identifier, self.sequence)
            + data
        )

    @classmethod
    def parse_unchecked(cls, buf: Buffer) -> Self:
        """:meth:`Message.parse_unchecked`, its header check and ``_parse`` written out
        (every ping): the type, and the 8 octets of the echo header (RFC 4443 §4.1)."""
        if len(buf) < ECHO_HEADER_LEN:
            raise WireError(f"{cls.__name__}: {len(buf)} octets, need {ECHO_HEADER_LEN}")
        if buf[0] != cls.TYPE:
            raise WireError(f"{cls.__name__}: type {buf[0]}, expected {cls.TYPE}")
        ident, seq = _ECHO.unpack_from(buf, 4)
        return cls(ident, seq, bytes(buf[ECHO_HEADER_LEN:]), buf[1])

    @classmethod
    def _parse(cls, buf: memoryview) -> Self:
        ident, seq = _ECHO.unpack_from(buf, 4)
        return cls(ident, seq, bytes(buf[ECHO_HEADER_LEN:]), buf[1])


@dataclass(frozen=True, slots=True)
class EchoRequest(_EchoBase):
    """RFC 4443 §4.1."""

    TYPE: ClassVar[int] = ECHO_REQUEST


@dataclass(frozen=True, slots=True)
class EchoReply(_EchoBase):
    """RFC 4443 §4.2."""

    TYPE: ClassVar[int] = ECHO_REPLY


# -- anything else ------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class UnknownIcmpv6:
    """A type this module does not know, kept whole: ``body`` is everything after the
    checksum. The stack decides what to do with it (RFC 4443 §2.4 (a), (b))."""

    type: int
    code: int
    body: bytes = b""

    @classmethod
    def parse(cls, buf: Buffer, src: IPv6Address, dst: IPv6Address) -> UnknownIcmpv6:
        _icmp.verify(buf, src, dst)
        return cls.parse_unchecked(buf)

    @classmethod
    def parse_unchecked(cls, buf: Buffer) -> UnknownIcmpv6:
        if len(buf) < _icmp.HEADER_LEN:
            raise WireError(f"icmpv6: {len(buf)} octets, need {_icmp.HEADER_LEN}")
        return cls(buf[0], buf[1], bytes(buf[_icmp.HEADER_LEN :]))

    def buffer_len(self) -> int:
        return _icmp.HEADER_LEN + len(self.body)

    def emit(self, buf: WritableBuffer, src: IPv6Address, dst: IPv6Address, off: int = 0) -> None:
        _icmp.HEADER.pack_into(buf, off, self.type, self.code, 0)
        buf[off + _icmp.HEADER_LEN : off + self.buffer_len()] = self.body
        _icmp.emit_checksum(buf, off, self.buffer_len(), src, dst)

    def build(self, src: IPv6Address, dst: IPv6Address) -> bytes:
        buf = bytearray(self.buffer_len())
        self.emit(buf, src, dst)
        return bytes(buf)


ErrorMessage = DestinationUnreachable | PacketTooBig | TimeExceeded | ParameterProblem


def error_parameter(msg: ErrorMessage) -> int:
    """What an error tells beyond its type and code, else 0: the MTU of a Packet Too Big
    (RFC 4443 §3.2), the pointer of a Parameter Problem (RFC 4443 §3.4)."""
    if isinstance(msg, PacketTooBig):
        return msg.mtu
    if isinstance(msg, ParameterProblem):
        return msg.pointer
    return 0


EchoMessage = EchoRequest | EchoReply
Icmpv6Message = ErrorMessage | EchoMessage | _nd.NdMessage | _mld.MldMessage | UnknownIcmpv6

_PARSERS: dict[int, Callable[[Buffer], Icmpv6Message]] = {
    DESTINATION_UNREACHABLE: DestinationUnreachable.parse_unchecked,
    PACKET_TOO_BIG: PacketTooBig.parse_unchecked,
    TIME_EXCEEDED: TimeExceeded.parse_unchecked,
    PARAMETER_PROBLEM: ParameterProblem.parse_unchecked,
    ECHO_REQUEST: EchoRequest.parse_unchecked,
    ECHO_REPLY: EchoReply.parse_unchecked,
    _nd.ROUTER_SOLICITATION: _nd.RouterSolicitation.parse_unchecked,
    _nd.ROUTER_ADVERTISEMENT: _nd.RouterAdvertisement.parse_unchecked,
    _nd.NEIGHBOR_SOLICITATION: _nd.NeighborSolicitation.parse_unchecked,
    _nd.NEIGHBOR_ADVERTISEMENT: _nd.NeighborAdvertisement.parse_unchecked,
    _nd.REDIRECT: _nd.Redirect.parse_unchecked,
    _mld.MLD_QUERY: _mld.parse_query,
    _mld.MLD_REPORT: _mld.MldReport.parse_unchecked,
    _mld.MLD_DONE: _mld.MldDone.parse_unchecked,
    _mld.MLDV2_REPORT: _mld.MldV2Report.parse_unchecked,
}


def parse_icmpv6(buf: Buffer, src: IPv6Address, dst: IPv6Address) -> Icmpv6Message:
    """Verify the checksum over the pseudo-header of ``src``/``dst`` (RFC 4443 §2.3), then
    parse by type. Raises only :class:`WireError` (:class:`ChecksumError` for the sum)."""
    _icmp.verify(buf, src, dst)
    return parse_icmpv6_unchecked(buf)


def parse_icmpv6_unchecked(buf: Buffer) -> Icmpv6Message:
    """Parse by type without the checksum (the ICMPv6 message quoted in an error, say).
    Types not known here come back as :class:`UnknownIcmpv6`."""
    if len(buf) < _icmp.HEADER_LEN:
        raise WireError(f"icmpv6: {len(buf)} octets, need {_icmp.HEADER_LEN}")
    parser = _PARSERS.get(buf[0], UnknownIcmpv6.parse_unchecked)
    return parser(buf)


def build_icmpv6(msg: Icmpv6Message, src: IPv6Address, dst: IPv6Address) -> bytes:
    """The octets of ``msg``, checksum over the pseudo-header of ``src``/``dst`` included."""
    return msg.build(src, dst)
