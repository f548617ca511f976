"""The TCP header (RFC 9293 §3.1) and its options.

::

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |          Source Port          |       Destination Port        |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                        Sequence Number                        |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                    Acknowledgment Number                      |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |  Data |       |C|E|U|A|P|R|S|F|                               |
    | Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |           Checksum            |         Urgent Pointer        |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                    Options                    |    Padding    |

Options are kept in order. On emit they are zero-padded to a 32-bit boundary; a zero octet
is End of Option List, so :func:`pad_options` makes that padding explicit for exact
round trips.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass
from ipaddress import IPv6Address
from typing import ClassVar

from tcpip6.wire.checksum import upper_layer_checksum
from tcpip6.wire.errors import ChecksumError, WireError

IPPROTO_TCP = 6
MIN_HEADER_LEN = 20
MAX_HEADER_LEN = 60

FIN = 0x01
SYN = 0x02
RST = 0x04
PSH = 0x08
ACK = 0x10
URG = 0x20
ECE = 0x40
CWR = 0x80


class Flags(enum.IntFlag):
    FIN = FIN
    SYN = SYN
    RST = RST
    PSH = PSH
    ACK = ACK
    URG = URG
    ECE = ECE
    CWR = CWR


def format_flags(flags: int) -> str:
    """``[S.]``-style flags, as tcpdump prints them."""
    out = "".join(
        c
        for bit, c in (
            (SYN, "S"),
            (FIN, "F"),
            (RST, "R"),
            (PSH, "P"),
            (URG, "U"),
            (ECE, "E"),
            (CWR, "W"),
        )
        if flags & bit
    )
    return out + ("." if flags & ACK else "")


KIND_EOL = 0
KIND_NOP = 1
KIND_MSS = 2
KIND_WSCALE = 3
KIND_SACK_PERMITTED = 4
KIND_SACK = 5
KIND_TIMESTAMPS = 8

_HEADER = struct.Struct("!HHIIBBHHH")


@dataclass(frozen=True, slots=True)
class EndOfOptions:
    KIND: ClassVar[int] = KIND_EOL

    def encode(self) -> bytes:
        return b"\x00"


@dataclass(frozen=True, slots=True)
class NoOperation:
    KIND: ClassVar[int] = KIND_NOP

    def encode(self) -> bytes:
        return b"\x01"


@dataclass(frozen=True, slots=True)
class MaxSegmentSize:
    """RFC 9293 §3.7.1."""

    mss: int
    KIND: ClassVar[int] = KIND_MSS

    def encode(self) -> bytes:
        return struct.pack("!BBH", KIND_MSS, 4, self.mss)


@dataclass(frozen=True, slots=True)
class WindowScale:
    """RFC 7323 §2."""

    shift: int
    KIND: ClassVar[int] = KIND_WSCALE

    def encode(self) -> bytes:
        return struct.pack("!BBB", KIND_WSCALE, 3, self.shift)


@dataclass(frozen=True, slots=True)
class SackPermitted:
    """RFC 2018 §2."""

    KIND: ClassVar[int] = KIND_SACK_PERMITTED

    def encode(self) -> bytes:
        return bytes([KIND_SACK_PERMITTED, 2])


@dataclass(frozen=True, slots=True)
class Sack:
    """RFC 2018 §3: (left edge, right edge) blocks."""

    blocks: tuple[tuple[int, int], ...]
    KIND: ClassVar[int] = KIND_SACK

    def encode(self) -> bytes:
        body = b"".join(struct.pack("!II", left, right) for left, right in self.blocks)
        return bytes([KIND_SACK, 2 + len(body)]) + body


@dataclass(frozen=True, slots=True)
class Timestamps:
    """RFC 7323 §3."""

    tsval: int
    tsecr: int
    KIND: ClassVar[int] = KIND_TIMESTAMPS

    def encode(self) -> bytes:
        return struct.pack("!BBII", KIND_TIMESTAMPS, 10, self.tsval, self.tsecr)


@dataclass(frozen=True, slots=True)
class UnknownTcpOption:
    kind: int
    data: bytes

    def encode(self) -> bytes:
        return bytes([self.kind, 2 + len(self.data)]) + self.data


TcpOption = (
    EndOfOptions
    | NoOperation
    | MaxSegmentSize
    | WindowScale
    | SackPermitted
    | Sack
    | Timestamps
    | UnknownTcpOption
)

_FIXED_LEN = {KIND_MSS: 4, KIND_WSCALE: 3, KIND_SACK_PERMITTED: 2, KIND_TIMESTAMPS: 10}


def options_len(options: tuple[TcpOption, ...]) -> int:
    return sum(len(o.encode()) for o in options)


def pad_options(options: tuple[TcpOption, ...]) -> tuple[TcpOption, ...]:
    """Make the zero padding explicit (End of Option List octets), for exact round trips."""
    missing = -options_len(options) % 4
    return options + (EndOfOptions(),) * missing


def parse_options(buf: bytes | bytearray | memoryview) -> tuple[TcpOption, ...]:
    out: list[TcpOption] = []
    off = 0
    while off < len(buf):
        kind = buf[off]
        if kind == KIND_EOL:
            # Everything after End of Option List is padding: kept as EOL octets.
            out.extend(EndOfOptions() for _ in range(len(buf) - off))
            break
        if kind == KIND_NOP:
            out.append(NoOperation())
            off += 1
            continue
        if off + 2 > len(buf):
            raise WireError(f"tcp option {kind}: truncated")
        length = buf[off + 1]
        if length < 2 or off + length > len(buf):
            raise WireError(f"tcp option {kind}: bad length {length}")
        data = bytes(buf[off + 2 : off + length])
        expected = _FIXED_LEN.get(kind)
        if expected is not None and length != expected:
            raise WireError(f"tcp option {kind}: length {length}, must be {expected}")
        if kind == KIND_MSS:
            out.append(MaxSegmentSize(int.from_bytes(data, "big")))
        elif kind == KIND_WSCALE:
            out.append(WindowScale(data[0]))
        elif kind == KIND_SACK_PERMITTED:
            out.append(SackPermitted())
        elif kind == KIND_TIMESTAMPS:
            out.append(Timestamps(*struct.unpack("!II", data)))
        elif kind == KIND_SACK:
            if len(data) % 8:
                raise WireError("tcp SACK option: blocks are 8 octets")
            blocks = tuple(struct.unpack_from("!II", data, i) for i in range(0, len(data), 8))
            out.append(Sack(blocks))
        else:
            out.append(UnknownTcpOption(kind, data))
        off += length
    return tuple(out)


@dataclass(frozen=True, slots=True)
class TcpSegment:
    src_port: int
    dst_port: int
    seq: int
    ack: int
    flags: int
    window: int
    urgent: int = 0
    options: tuple[TcpOption, ...] = ()
    payload: bytes = b""
    reserved: int = 0  # the four bits before CWR

    @classmethod
    def parse(
        cls, buf: bytes | bytearray | memoryview, src: IPv6Address, dst: IPv6Address
    ) -> TcpSegment:
        if len(buf) < MIN_HEADER_LEN:
            raise WireError(f"tcp: {len(buf)} octets, need {MIN_HEADER_LEN}")
        sport, dport, seq, ack, off_byte, flags, window, _csum, urgent = _HEADER.unpack_from(buf)
        hlen = (off_byte >> 4) * 4
        if hlen < MIN_HEADER_LEN or hlen > len(buf):
            raise WireError(f"tcp: data offset {hlen} with {len(buf)} octets")
        if upper_layer_checksum(src, dst, IPPROTO_TCP, buf) != 0:
            raise ChecksumError("tcp: bad checksum")
        options = parse_options(memoryview(buf)[MIN_HEADER_LEN:hlen])
        return cls(
            sport,
            dport,
            seq,
            ack,
            flags,
            window,
            urgent,
            options,
            bytes(buf[hlen:]),
            off_byte & 0xF,
        )

    @property
    def header_len(self) -> int:
        return MIN_HEADER_LEN + options_len(self.options) + (-options_len(self.options) % 4)

    def buffer_len(self) -> int:
        return self.header_len + len(self.payload)

    def emit(
        self, buf: bytearray | memoryview, src: IPv6Address, dst: IPv6Address, off: int = 0
    ) -> None:
        opts = b"".join(o.encode() for o in self.options)
        opts += b"\x00" * (-len(opts) % 4)
        hlen = MIN_HEADER_LEN + len(opts)
        if hlen > MAX_HEADER_LEN:
            raise ValueError("tcp: more than 40 octets of options")
        end = off + hlen + len(self.payload)
        _HEADER.pack_into(
            buf,
            off,
            self.src_port,
            self.dst_port,
            self.seq,
            self.ack,
            ((hlen // 4) << 4) | (self.reserved & 0xF),
            self.flags,
            self.window,
            0,
            self.urgent,
        )
        buf[off + MIN_HEADER_LEN : off + hlen] = opts
        buf[off + hlen : end] = self.payload
        csum = upper_layer_checksum(src, dst, IPPROTO_TCP, buf[off:end])
        struct.pack_into("!H", buf, off + 16, csum)

    def build(self, src: IPv6Address, dst: IPv6Address) -> bytes:
        buf = bytearray(self.buffer_len())
        self.emit(buf, src, dst)
        return bytes(buf)
