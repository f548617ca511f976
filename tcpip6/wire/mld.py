"""Multicast Listener Discovery: MLDv1 (RFC 2710 §3) and MLDv2 (RFC 3810 §5) messages.

MLDv1 Query (130), Report (131) and Done (132), 24 octets::

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |     Type      |     Code      |          Checksum             |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |     Maximum Response Delay    |          Reserved             |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                  Multicast Address (16 octets)                |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

MLDv2 Query (130, 28 octets or more)::

    |  Type = 130   |      Code     |           Checksum            |
    |    Maximum Response Code      |           Reserved            |
    |                  Multicast Address (16 octets)                |
    | Resv  |S| QRV |     QQIC      |     Number of Sources (N)     |
    |                 Source Address [1..N] (16 octets each)        |

MLDv2 Report (143) and its Multicast Address Records::

    |  Type = 143   |    Reserved   |           Checksum            |
    |           Reserved            |Nr of Mcast Address Records (M)|
    |                 Multicast Address Record [1..M]               |

    |  Record Type  |  Aux Data Len |     Number of Sources (N)     |
    |                  Multicast Address (16 octets)                |
    |                 Source Address [1..N] (16 octets each)        |
    |                 Auxiliary Data (Aux Data Len 32-bit words)    |

The octet after the type is kept as ``code`` in every message (the MLDv2 Report calls it
Reserved), and every reserved field is kept as received. Hop limit 1, the link-local source
and the Router Alert option are the stack's checks.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv6Address
from typing import ClassVar, Self

from tcpip6.wire import _icmp
from tcpip6.wire._icmp import Buffer, WritableBuffer
from tcpip6.wire.errors import WireError

MLD_QUERY = 130
MLD_REPORT = 131
MLD_DONE = 132
MLDV2_REPORT = 143
MLD_TYPES = frozenset({MLD_QUERY, MLD_REPORT, MLD_DONE, MLDV2_REPORT})

# RFC 3810 §5.2.12: Multicast Address Record types.
MODE_IS_INCLUDE = 1
MODE_IS_EXCLUDE = 2
CHANGE_TO_INCLUDE_MODE = 3
CHANGE_TO_EXCLUDE_MODE = 4
ALLOW_NEW_SOURCES = 5
BLOCK_OLD_SOURCES = 6

V1_LEN = 24
V2_QUERY_MIN_LEN = 28
V2_REPORT_MIN_LEN = 8
RECORD_MIN_LEN = 20

_V1 = struct.Struct("!HH16s")
_V2_QUERY = struct.Struct("!HH16sBBH")
_V2_REPORT = struct.Struct("!HH")
_RECORD = struct.Struct("!BBH16s")


def decode_max_response_code(code: int) -> int:
    """RFC 3810 §5.1.3: the Maximum Response Delay in milliseconds; from 32768 on, the
    code is a floating-point value (1 bit, 3-bit exponent, 12-bit mantissa)."""
    if code < 0x8000:
        return code
    exp, mant = (code >> 12) & 0x7, code & 0xFFF
    return (mant | 0x1000) << (exp + 3)


def decode_qqic(qqic: int) -> int:
    """RFC 3810 §5.1 (QQIC): the Querier's Query Interval in seconds; from 128 on, the
    code is a floating-point value (1 bit, 3-bit exponent, 4-bit mantissa)."""
    if qqic < 0x80:
        return qqic
    exp, mant = (qqic >> 4) & 0x7, qqic & 0xF
    return (mant | 0x10) << (exp + 3)


# -- MLDv1 --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _V1Base(_icmp.Message):
    multicast_address: IPv6Address
    max_response_delay: int = 0  # milliseconds
    code: int = 0
    reserved: int = 0

    MIN_LEN: ClassVar[int] = V1_LEN

    def _extra(self) -> bytes:
        return b""

    def buffer_len(self) -> int:
        return V1_LEN + len(self._extra())

    def _emit_body(self, buf: WritableBuffer, off: int) -> None:
        _V1.pack_into(
            buf, off + 4, self.max_response_delay, self.reserved, self.multicast_address.packed
        )
        buf[off + V1_LEN : off + self.buffer_len()] = self._extra()


@dataclass(frozen=True, slots=True)
class MldQuery(_V1Base):
    """RFC 2710 §3.6: a General Query when the address is ``::``, else a
    Multicast-Address-Specific Query."""

    TYPE: ClassVar[int] = MLD_QUERY

    @property
    def is_general(self) -> bool:
        return self.multicast_address.is_unspecified

    @classmethod
    def _parse(cls, buf: memoryview) -> Self:
        # RFC 3810 §8.1: a 24-octet query is MLDv1; longer ones are MLDv2 (28 or more)
        # or invalid (25 to 27).
        if len(buf) != V1_LEN:
            raise WireError(f"{cls.__name__}: {len(buf)} octets, MLDv1 has {V1_LEN}")
        delay, reserved, group = _V1.unpack_from(buf, 4)
        return cls(IPv6Address(group), delay, buf[1], reserved)


@dataclass(frozen=True, slots=True)
class _V1Listener(_V1Base):
    """Report and Done. RFC 2710 §3 (Other fields): octets past the first 24 may belong
    to a later version and are ignored; ``additional_data`` keeps them."""

    additional_data: bytes = b""

    def _extra(self) -> bytes:
        return self.additional_data

    @classmethod
    def _parse(cls, buf: memoryview) -> Self:
        delay, reserved, group = _V1.unpack_from(buf, 4)
        return cls(IPv6Address(group), delay, buf[1], reserved, bytes(buf[V1_LEN:]))


@dataclass(frozen=True, slots=True)
class MldReport(_V1Listener):
    """RFC 2710 §3: Multicast Listener Report."""

    TYPE: ClassVar[int] = MLD_REPORT


@dataclass(frozen=True, slots=True)
class MldDone(_V1Listener):
    """RFC 2710 §3: Multicast Listener Done."""

    TYPE: ClassVar[int] = MLD_DONE


# -- MLDv2 --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class MldV2Query(_icmp.Message):
    """RFC 3810 §5.1. ``max_response_code`` and ``qqic`` are the encoded fields (see
    :func:`decode_max_response_code`, :func:`decode_qqic`); ``resv_bits`` are the four bits
    before S. Octets after the sources are Additional Data: checksummed, otherwise ignored
    (RFC 3810 §5.1), and kept in ``additional_data``."""

    multicast_address: IPv6Address
    max_response_code: int = 0
    s_flag: bool = False
    qrv: int = 0
    qqic: int = 0
    sources: tuple[IPv6Address, ...] = ()
    code: int = 0
    reserved: int = 0
    resv_bits: int = 0
    additional_data: bytes = b""

    TYPE: ClassVar[int] = MLD_QUERY
    MIN_LEN: ClassVar[int] = V2_QUERY_MIN_LEN

    @property
    def max_response_delay(self) -> int:
        """Milliseconds (RFC 3810 §5.1.3)."""
        return decode_max_response_code(self.max_response_code)

    @property
    def query_interval(self) -> int:
        """The Querier's Query Interval in seconds."""
        return decode_qqic(self.qqic)

    @classmethod
    def _parse(cls, buf: memoryview) -> Self:
        mrc, reserved, group, flags, qqic, count = _V2_QUERY.unpack_from(buf, 4)
        sources = _icmp.addresses(buf, V2_QUERY_MIN_LEN, count, cls.__name__)
        return cls(
            IPv6Address(group),
            mrc,
            bool(flags & 0x08),
            flags & 0x07,
            qqic,
            sources,
            buf[1],
            reserved,
            flags >> 4,
            bytes(buf[V2_QUERY_MIN_LEN + 16 * count :]),
        )

    def buffer_len(self) -> int:
        return V2_QUERY_MIN_LEN + 16 * len(self.sources) + len(self.additional_data)

    def _emit_body(self, buf: WritableBuffer, off: int) -> None:
        flags = ((self.resv_bits & 0xF) << 4) | (0x08 if self.s_flag else 0) | (self.qrv & 0x7)
        _V2_QUERY.pack_into(
            buf,
            off + 4,
            self.max_response_code,
            self.reserved,
            self.multicast_address.packed,
            flags,
            self.qqic,
            len(self.sources),
        )
        end = _icmp.pack_addresses(buf, off + V2_QUERY_MIN_LEN, self.sources)
        buf[end : end + len(self.additional_data)] = self.additional_data


@dataclass(frozen=True, slots=True)
class MulticastAddressRecord:
    """RFC 3810 §5.2.4. ``aux_data`` is a whole number of 32-bit words (RFC 3810 §5.2.6: Aux Data
    Len counts words)."""

    record_type: int
    multicast_address: IPv6Address
    sources: tuple[IPv6Address, ...] = ()
    aux_data: bytes = b""

    @classmethod
    def parse(cls, buf: Buffer) -> MulticastAddressRecord:
        """The record at the start of ``buf`` (its length is ``buffer_len()``)."""
        if len(buf) < RECORD_MIN_LEN:
            raise WireError(f"{cls.__name__}: {len(buf)} octets, need {RECORD_MIN_LEN}")
        rtype, aux_words, count, group = _RECORD.unpack_from(buf, 0)
        sources = _icmp.addresses(buf, RECORD_MIN_LEN, count, cls.__name__)
        aux_start = RECORD_MIN_LEN + 16 * count
        aux_end = aux_start + 4 * aux_words
        if aux_end > len(buf):
            raise WireError(f"{cls.__name__}: {4 * aux_words} octets of auxiliary data missing")
        return cls(rtype, IPv6Address(group), sources, bytes(buf[aux_start:aux_end]))

    def buffer_len(self) -> int:
        return RECORD_MIN_LEN + 16 * len(self.sources) + len(self.aux_data)

    def emit(self, buf: WritableBuffer, off: int = 0) -> None:
        if len(self.aux_data) % 4:
            raise ValueError(
                f"{type(self).__name__}: auxiliary data is a whole number of 32-bit words"
            )
        _RECORD.pack_into(
            buf,
            off,
            self.record_type,
            len(self.aux_data) // 4,
            len(self.sources),
            self.multicast_address.packed,
        )
        end = _icmp.pack_addresses(buf, off + RECORD_MIN_LEN, self.sources)
        buf[end : end + len(self.aux_data)] = self.aux_data

    def build(self) -> bytes:
        buf = bytearray(self.buffer_len())
        self.emit(buf)
        return bytes(buf)


@dataclass(frozen=True, slots=True)
class MldV2Report(_icmp.Message):
    """RFC 3810 §5.2. ``code`` is the Reserved octet after the type, ``reserved`` the
    16-bit Reserved field; octets after the records are Additional Data (checksummed,
    otherwise ignored), kept in ``additional_data``."""

    records: tuple[MulticastAddressRecord, ...] = ()
    code: int = 0
    reserved: int = 0
    additional_data: bytes = b""

    TYPE: ClassVar[int] = MLDV2_REPORT
    MIN_LEN: ClassVar[int] = V2_REPORT_MIN_LEN

    @classmethod
    def _parse(cls, buf: memoryview) -> Self:
        reserved, count = _V2_REPORT.unpack_from(buf, 4)
        records = []
        off = V2_REPORT_MIN_LEN
        for _ in range(count):
            record = MulticastAddressRecord.parse(buf[off:])
            records.append(record)
            off += record.buffer_len()
        return cls(tuple(records), buf[1], reserved, bytes(buf[off:]))

    def buffer_len(self) -> int:
        return (
            V2_REPORT_MIN_LEN
            + sum(r.buffer_len() for r in self.records)
            + len(self.additional_data)
        )

    def _emit_body(self, buf: WritableBuffer, off: int) -> None:
        _V2_REPORT.pack_into(buf, off + 4, self.reserved, len(self.records))
        pos = off + V2_REPORT_MIN_LEN
        for r in self.records:
            r.emit(buf, pos)
            pos += r.buffer_len()
        buf[pos : pos + len(self.additional_data)] = self.additional_data


MldMessage = MldQuery | MldReport | MldDone | MldV2Query | MldV2Report
MldAnyQuery = MldQuery | MldV2Query

_CLASSES: dict[int, type[MldReport | MldDone | MldV2Report]] = {
    MLD_REPORT: MldReport,
    MLD_DONE: MldDone,
    MLDV2_REPORT: MldV2Report,
}


def parse_query(buf: Buffer) -> MldAnyQuery:
    """A type-130 message without its checksum verified: RFC 3810 §8.1 tells the versions
    apart by length (24 octets: MLDv1; 28 or more: MLDv2; anything else is invalid)."""
    if len(buf) >= V2_QUERY_MIN_LEN:
        return MldV2Query.parse_unchecked(buf)
    return MldQuery.parse_unchecked(buf)


def parse_mld(buf: Buffer, src: IPv6Address, dst: IPv6Address) -> MldMessage:
    """Verify the checksum and parse an MLD message of any type. Raises only
    :class:`WireError`, also for a type that is not MLD."""
    _icmp.verify(buf, src, dst)
    if buf[0] == MLD_QUERY:
        return parse_query(buf)
    cls = _CLASSES.get(buf[0])
    if cls is None:
        raise WireError(f"mld: type {buf[0]} is not an MLD message")
    return cls.parse_unchecked(buf)
