"""Multicast Listener Discovery: MLDv1 (RFC 2710 §3) and MLDv2 formats (RFC 3810 §5).

MLDv1 message::

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |     Type      |     Code      |          Checksum             |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |     Maximum Response Delay    |          Reserved             |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                      Multicast Address (16 octets)            |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv6Address
from typing import ClassVar

from tcpip6.wire import _icmp
from tcpip6.wire.errors import WireError

MLD_QUERY = 130
MLD_REPORT = 131
MLD_DONE = 132
MLDV2_REPORT = 143
MLD_TYPES = frozenset({MLD_QUERY, MLD_REPORT, MLD_DONE, MLDV2_REPORT})

# RFC 3810 §5.2.12 record types.
MODE_IS_INCLUDE = 1
MODE_IS_EXCLUDE = 2
CHANGE_TO_INCLUDE_MODE = 3
CHANGE_TO_EXCLUDE_MODE = 4
ALLOW_NEW_SOURCES = 5
BLOCK_OLD_SOURCES = 6

V1_LEN = 24
V2_QUERY_MIN_LEN = 28

_V1 = struct.Struct("!HH16s")
_V2Q = struct.Struct("!HH16sBBH")
_V2R = struct.Struct("!HH")
_RECORD = struct.Struct("!BBH16s")


@dataclass(frozen=True, slots=True)
class _V1Base:
    multicast_address: IPv6Address
    max_response_delay: int = 0  # milliseconds
    code: int = 0
    reserved: int = 0
    TYPE: ClassVar[int] = 0

    @property
    def type(self) -> int:
        return self.TYPE

    def buffer_len(self) -> int:
        return V1_LEN

    def build(self, src: IPv6Address, dst: IPv6Address) -> bytes:
        buf = _icmp.start(self.TYPE, self.code, V1_LEN - 4)
        _V1.pack_into(buf, 4, self.max_response_delay, self.reserved, self.multicast_address.packed)
        return _icmp.finish(buf, src, dst)


@dataclass(frozen=True, slots=True)
class MldQuery(_V1Base):
    """RFC 2710 §3.6: general query when the address is ``::``, else multicast-address
    specific."""

    TYPE: ClassVar[int] = MLD_QUERY


@dataclass(frozen=True, slots=True)
class MldReport(_V1Base):
    TYPE: ClassVar[int] = MLD_REPORT


@dataclass(frozen=True, slots=True)
class MldDone(_V1Base):
    TYPE: ClassVar[int] = MLD_DONE


@dataclass(frozen=True, slots=True)
class MldV2Query:
    """RFC 3810 §5.1: ``max_response_code`` and ``qqic`` are the encoded fields."""

    multicast_address: IPv6Address
    max_response_code: int = 0
    s_flag: bool = False
    qrv: int = 0
    qqic: int = 0
    sources: tuple[IPv6Address, ...] = ()
    code: int = 0
    reserved: int = 0
    resv_bits: int = 0  # the four high bits before S
    TYPE: ClassVar[int] = MLD_QUERY

    @property
    def type(self) -> int:
        return self.TYPE

    def build(self, src: IPv6Address, dst: IPv6Address) -> bytes:
        body_len = V2_QUERY_MIN_LEN - 4 + 16 * len(self.sources)
        buf = _icmp.start(self.TYPE, self.code, body_len)
        flags = ((self.resv_bits & 0xF) << 4) | (0x08 if self.s_flag else 0) | (self.qrv & 7)
        _V2Q.pack_into(
            buf,
            4,
            self.max_response_code,
            self.reserved,
            self.multicast_address.packed,
            flags,
            self.qqic,
            len(self.sources),
        )
        buf[V2_QUERY_MIN_LEN:] = b"".join(s.packed for s in self.sources)
        return _icmp.finish(buf, src, dst)


@dataclass(frozen=True, slots=True)
class MulticastAddressRecord:
    """RFC 3810 §5.2.4. ``aux_data`` length must be a multiple of 4."""

    record_type: int
    multicast_address: IPv6Address
    sources: tuple[IPv6Address, ...] = ()
    aux_data: bytes = b""

    def encode(self) -> bytes:
        if len(self.aux_data) % 4:
            raise ValueError("auxiliary data is a whole number of 32-bit words")
        head = _RECORD.pack(
            self.record_type,
            len(self.aux_data) // 4,
            len(self.sources),
            self.multicast_address.packed,
        )
        return head + b"".join(s.packed for s in self.sources) + self.aux_data


@dataclass(frozen=True, slots=True)
class MldV2Report:
    """RFC 3810 §5.2."""

    records: tuple[MulticastAddressRecord, ...] = ()
    code: int = 0
    reserved: int = 0
    TYPE: ClassVar[int] = MLDV2_REPORT

    @property
    def type(self) -> int:
        return self.TYPE

    def build(self, src: IPv6Address, dst: IPv6Address) -> bytes:
        body = _V2R.pack(self.reserved, len(self.records)) + b"".join(
            r.encode() for r in self.records
        )
        buf = _icmp.start(self.TYPE, self.code, len(body))
        buf[4:] = body
        return _icmp.finish(buf, src, dst)


MldMessage = MldQuery | MldReport | MldDone | MldV2Query | MldV2Report


def _addresses(
    buf: bytes | bytearray | memoryview, off: int, count: int
) -> tuple[IPv6Address, ...]:
    end = off + 16 * count
    if end > len(buf):
        raise WireError("mld: source list beyond the message")
    return tuple(IPv6Address(bytes(buf[i : i + 16])) for i in range(off, end, 16))


def parse_mld(buf: bytes | bytearray | memoryview) -> MldMessage:
    """Parse an MLD message (checksum already verified). Raises only :class:`WireError`."""
    if len(buf) < 4:
        raise WireError("mld: truncated")
    msg_type, code = buf[0], buf[1]
    if msg_type == MLDV2_REPORT:
        if len(buf) < 8:
            raise WireError("mldv2 report: truncated")
        reserved, nrec = _V2R.unpack_from(buf, 4)
        records = []
        off = 8
        for _ in range(nrec):
            if off + _RECORD.size > len(buf):
                raise WireError("mldv2 report: record beyond the message")
            rtype, aux_words, nsrc, group = _RECORD.unpack_from(buf, off)
            off += _RECORD.size
            sources = _addresses(buf, off, nsrc)
            off += 16 * nsrc
            aux_end = off + 4 * aux_words
            if aux_end > len(buf):
                raise WireError("mldv2 report: auxiliary data beyond the message")
            records.append(
                MulticastAddressRecord(rtype, IPv6Address(group), sources, bytes(buf[off:aux_end]))
            )
            off = aux_end
        if off != len(buf):
            raise WireError("mldv2 report: trailing octets")
        return MldV2Report(tuple(records), code, reserved)
    if msg_type not in (MLD_QUERY, MLD_REPORT, MLD_DONE):
        raise WireError(f"mld: type {msg_type}")
    if msg_type == MLD_QUERY and len(buf) >= V2_QUERY_MIN_LEN:
        # RFC 3810 §8.1: a query of 28 octets or more is an MLDv2 query.
        mrc, reserved, group, flags, qqic, nsrc = _V2Q.unpack_from(buf, 4)
        sources = _addresses(buf, V2_QUERY_MIN_LEN, nsrc)
        if V2_QUERY_MIN_LEN + 16 * nsrc != len(buf):
            raise WireError("mldv2 query: length does not match the source count")
        return MldV2Query(
            IPv6Address(group),
            mrc,
            bool(flags & 0x08),
            flags & 7,
            qqic,
            sources,
            code,
            reserved,
            flags >> 4,
        )
    # RFC 3810 §8.1: exactly 24 octets is MLDv1; anything else (25-27) is invalid.
    if len(buf) != V1_LEN:
        raise WireError(f"mld type {msg_type}: {len(buf)} octets, MLDv1 has {V1_LEN}")
    delay, reserved, group = _V1.unpack_from(buf, 4)
    if msg_type == MLD_QUERY:
        return MldQuery(IPv6Address(group), delay, code, reserved)
    if msg_type == MLD_REPORT:
        return MldReport(IPv6Address(group), delay, code, reserved)
    return MldDone(IPv6Address(group), delay, code, reserved)
