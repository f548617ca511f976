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
    |       |       |R|E|G|K|H|T|N|N|                               |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |           Checksum            |         Urgent Pointer        |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                           [Options]                           |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                             Data ...
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

Options (RFC 9293 §3.2) are kept in order, NOPs included. The options area ends at the Data
Offset; End of Option List (a zero octet) ends the list, and every octet after it is
padding. Parse turns each octet from the EOL on into one :class:`EndOfOptions`, so the
header length survives; emit pads the options with zero octets to a multiple of 4. Hence
``parse(s.build()) == s`` exactly when ``s.options == pad_options(s.options)`` and no
option follows an EOL: build with :func:`pad_options` to get that form. Padding octets
that were not zero come back as zero.

The checksum is not a field: it is computed on emit and verified on parse over the IPv6
pseudo-header (RFC 8200 §8.1, next header 6).
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass
from ipaddress import IPv6Address
from typing import ClassVar, TypeVar

from tcpip6.wire.checksum import ones_complement_sum, pseudo_header_sum, upper_layer_checksum
from tcpip6.wire.errors import ChecksumError, WireError
from tcpip6.wire.ipv6 import IPPROTO_TCP
from tcpip6.wire.values import quick_init

MIN_HEADER_LEN = 20
MAX_HEADER_LEN = 60
MAX_OPTIONS_LEN = MAX_HEADER_LEN - MIN_HEADER_LEN

# Control bits (RFC 9293 §3.1; ECE and CWR from RFC 3168 §6.1).
FIN = 0x01
SYN = 0x02
RST = 0x04
PSH = 0x08
ACK = 0x10
URG = 0x20
ECE = 0x40
CWR = 0x80


class Flags(enum.IntFlag):
    """The control bits as an ``IntFlag``, for printing and set operations."""

    FIN = FIN
    SYN = SYN
    RST = RST
    PSH = PSH
    ACK = ACK
    URG = URG
    ECE = ECE
    CWR = CWR


# tcpdump's letters, in tcpdump's order (ACK is the dot).
_FLAG_LETTERS: tuple[tuple[int, str], ...] = (
    (FIN, "F"),
    (SYN, "S"),
    (RST, "R"),
    (PSH, "P"),
    (ACK, "."),
    (URG, "U"),
    (ECE, "E"),
    (CWR, "W"),
)


def format_flags(flags: int) -> str:
    """Flags as tcpdump prints them between brackets: ``S.`` for SYN+ACK, ``none`` for 0."""
    return "".join(c for bit, c in _FLAG_LETTERS if flags & bit) or "none"


# Option kinds (IANA "TCP Option Kind Numbers").
KIND_EOL = 0
KIND_NOP = 1
KIND_MSS = 2
KIND_WSCALE = 3
KIND_SACK_PERMITTED = 4
KIND_SACK = 5
KIND_TIMESTAMPS = 8

_HEADER = struct.Struct("!HHIIBBHHH")
_CHECKSUM = struct.Struct("!H")
_MSS = struct.Struct("!BBH")
_WSCALE = struct.Struct("!BBB")
_TIMESTAMPS = struct.Struct("!BBII")
_TWO_WORDS = struct.Struct("!II")


@dataclass(frozen=True, slots=True)
class EndOfOptions:
    """RFC 9293 §3.2: kind 0, one octet; also each octet of padding after it."""

    kind: ClassVar[int] = KIND_EOL

    def buffer_len(self) -> int:
        return 1

    def encode(self) -> bytes:
        return b"\x00"


@dataclass(frozen=True, slots=True)
class NoOperation:
    """RFC 9293 §3.2: kind 1, one octet, used to align the next option."""

    kind: ClassVar[int] = KIND_NOP

    def buffer_len(self) -> int:
        return 1

    def encode(self) -> bytes:
        return b"\x01"


@dataclass(frozen=True, slots=True)
class MaxSegmentSize:
    """RFC 9293 §3.7.1: the largest segment the sender of this option can receive."""

    mss: int

    kind: ClassVar[int] = KIND_MSS

    def buffer_len(self) -> int:
        return 4

    def encode(self) -> bytes:
        return _MSS.pack(KIND_MSS, 4, self.mss)


@dataclass(frozen=True, slots=True)
class WindowScale:
    """RFC 7323 §2.2: the shift count (RFC 7323 §2.3 caps its use at 14; the value on
    the wire is kept as sent)."""

    shift: int

    kind: ClassVar[int] = KIND_WSCALE

    def buffer_len(self) -> int:
        return 3

    def encode(self) -> bytes:
        return _WSCALE.pack(KIND_WSCALE, 3, self.shift)


@dataclass(frozen=True, slots=True)
class SackPermitted:
    """RFC 2018 §2: sent on a SYN to say SACK may be used."""

    kind: ClassVar[int] = KIND_SACK_PERMITTED

    def buffer_len(self) -> int:
        return 2

    def encode(self) -> bytes:
        return bytes((KIND_SACK_PERMITTED, 2))


@dataclass(frozen=True, slots=True)
class Sack:
    """RFC 2018 §3: one to four ``(left edge, right edge)`` blocks of received data."""

    blocks: tuple[tuple[int, int], ...]

    kind: ClassVar[int] = KIND_SACK

    def buffer_len(self) -> int:
        return 2 + 8 * len(self.blocks)

    def encode(self) -> bytes:
        if not 1 <= len(self.blocks) <= 4:
            raise ValueError("SACK option: 1 to 4 blocks")
        body = b"".join(_TWO_WORDS.pack(left, right) for left, right in self.blocks)
        return bytes((KIND_SACK, 2 + len(body))) + body


@quick_init
@dataclass(frozen=True, slots=True)
class Timestamps:
    """RFC 7323 §3.2: TSval and TSecr."""

    tsval: int
    tsecr: int

    kind: ClassVar[int] = KIND_TIMESTAMPS

    def buffer_len(self) -> int:
        return 10

    def encode(self) -> bytes:
        return _TIMESTAMPS.pack(KIND_TIMESTAMPS, 10, self.tsval, self.tsecr)


@dataclass(frozen=True, slots=True)
class UnknownTcpOption:
    """Any other kind, kept as its kind and data (the length octet is ``2 + len(data)``).
    Parse never makes one of a kind this module knows; made by hand with such a kind, it
    crafts a malformed option (and does not round-trip)."""

    kind: int
    data: bytes = b""

    def buffer_len(self) -> int:
        return 2 + len(self.data)

    def encode(self) -> bytes:
        if not 0 <= self.kind <= 0xFF or len(self.data) > 0xFD:
            raise ValueError(f"tcp option kind {self.kind}: kind or length out of range")
        return bytes((self.kind, 2 + len(self.data))) + self.data


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

# The option lengths RFC 9293 §3.2, RFC 7323 and RFC 2018 fix.
_FIXED_LEN = {KIND_MSS: 4, KIND_WSCALE: 3, KIND_SACK_PERMITTED: 2, KIND_TIMESTAMPS: 10}


def options_len(options: tuple[TcpOption, ...]) -> int:
    """The encoded length of ``options``, before padding."""
    return sum(o.buffer_len() for o in options)


def pad_options(options: tuple[TcpOption, ...]) -> tuple[TcpOption, ...]:
    """Append the End of Option List octets that emit would write as padding, so that the
    options come back from parse exactly as given."""
    return options + (EndOfOptions(),) * (-options_len(options) % 4)


def parse_options(buf: bytes | bytearray | memoryview) -> tuple[TcpOption, ...]:
    """The options area (between the fixed header and the Data Offset), in order.

    RFC 9293 §3.2: a known kind with the wrong length, a length below 2, or an option
    running past the area is malformed: :class:`WireError`."""
    end = len(buf)
    out: list[TcpOption] = []
    off = 0
    while off < end:
        kind = buf[off]
        if kind == KIND_EOL:
            # The rest of the area is padding: one EndOfOptions per octet.
            out.extend(_EOL for _ in range(end - off))
            break
        if kind == KIND_NOP:
            out.append(_NOP)
            off += 1
            continue
        if off + 2 > end:
            raise WireError(f"tcp option {kind}: no room for its length octet")
        length = buf[off + 1]
        if length < 2 or off + length > end:
            raise WireError(f"tcp option {kind}: length {length} at {off} of {end}")
        fixed = _FIXED_LEN.get(kind)
        if fixed is not None and length != fixed:
            raise WireError(f"tcp option {kind}: length {length}, must be {fixed}")
        data = bytes(buf[off + 2 : off + length])
        if kind == KIND_MSS:
            out.append(MaxSegmentSize(int.from_bytes(data, "big")))
        elif kind == KIND_WSCALE:
            out.append(WindowScale(data[0]))
        elif kind == KIND_SACK_PERMITTED:
            out.append(SackPermitted())
        elif kind == KIND_TIMESTAMPS:
            tsval, tsecr = _TWO_WORDS.unpack(data)
            out.append(Timestamps(tsval, tsecr))
        elif kind == KIND_SACK:
            # RFC 2018 §3: length 8n + 2, n >= 1.
            if len(data) % 8 or not data:
                raise WireError(f"tcp SACK option: length {length} is not 8n + 2")
            blocks = tuple(_TWO_WORDS.unpack_from(data, i) for i in range(0, len(data), 8))
            out.append(Sack(blocks))
        else:
            out.append(UnknownTcpOption(kind, data))
        off += length
    return tuple(out)


_O = TypeVar("_O")
_NOP = NoOperation()
_EOL = EndOfOptions()
_NOP_NOP_TIMESTAMPS_OPTION = struct.Struct("!BBBBII")


def timestamp_options(tsval: int, tsecr: int) -> tuple[TcpOption, ...]:
    """NOP, NOP, Timestamps: RFC 7323 Appendix A's layout of the option on every
    segment but a SYN (the NOPs are shared: an option is an immutable value)."""
    return (_NOP, _NOP, Timestamps(tsval, tsecr))


def timestamp_octets(tsval: int, tsecr: int) -> bytes:
    """The options :func:`timestamp_options` makes, encoded (RFC 7323 Appendix A: NOP,
    NOP, kind 8, length 10, TSval, TSecr): what :meth:`TcpSegment.build` writes for them."""
    return _NOP_NOP_TIMESTAMPS_OPTION.pack(KIND_NOP, KIND_NOP, KIND_TIMESTAMPS, 10, tsval, tsecr)


def build_octets(
    src_port: int,
    dst_port: int,
    seq: int,
    ack: int,
    flags: int,
    window: int,
    urgent: int,
    options: bytes,
    payload: bytes,
    src: IPv6Address,
    dst: IPv6Address,
    reserved: int = 0,
) -> bytes:
    """The segment with these fields, ``options`` already encoded and padded to a multiple
    of 4 octets: what :meth:`TcpSegment.build` returns, without the segment object (the
    send path builds one per segment and never reads it again). The checksum is summed
    over the header and the data in turn (the header is a multiple of 4 octets, so the
    data's 16-bit words stay aligned), without a copy of the data for it."""
    hlen = MIN_HEADER_LEN + len(options)
    fixed = _HEADER.pack(
        src_port, dst_port, seq, ack, ((hlen // 4) << 4) | reserved, flags, window, 0, urgent
    )
    # RFC 9293 §3.1: the checksum covers the pseudo-header, header and data.
    # The header's value joins the sum unfolded (an even number of octets: its words are
    # its value modulo 0xFFFF, ones_complement_sum folds once for both).
    total = pseudo_header_sum(src, dst, hlen + len(payload), IPPROTO_TCP)
    total = ones_complement_sum(payload, total + int.from_bytes(fixed + options, "big"))
    csum = _CHECKSUM.pack(~total & 0xFFFF)
    return b"".join((fixed[:16], csum, fixed[18:], options, payload))


@quick_init
@dataclass(frozen=True, slots=True)
class TcpSegment:
    """A segment: the header fields, the options, and the data. ``reserved`` is the four
    bits between Data Offset and CWR, kept as received."""

    src_port: int
    dst_port: int
    seq: int
    ack: int
    flags: int
    window: int
    urgent: int = 0
    options: tuple[TcpOption, ...] = ()
    payload: bytes = b""
    reserved: int = 0

    PROTOCOL: ClassVar[int] = IPPROTO_TCP

    @classmethod
    def parse(
        cls, buf: bytes | bytearray | memoryview, src: IPv6Address, dst: IPv6Address
    ) -> TcpSegment:
        if len(buf) < MIN_HEADER_LEN:
            raise WireError(f"tcp: {len(buf)} octets, need {MIN_HEADER_LEN}")
        sport, dport, seq, ack, off_byte, flags, window, _csum, urgent = _HEADER.unpack_from(buf)
        # RFC 9293 §3.1: Data Offset counts 32-bit words; the header is at least 5 of them.
        hlen = (off_byte >> 4) * 4
        if hlen < MIN_HEADER_LEN or hlen > len(buf):
            raise WireError(f"tcp: data offset {hlen} octets with {len(buf)} octets")
        # RFC 9293 §3.1: the checksum covers the pseudo-header, header and data; over a
        # segment with its checksum the sum is 0xFFFF (upper_layer_checksum gives 0).
        initial = pseudo_header_sum(src, dst, len(buf), IPPROTO_TCP)
        if ones_complement_sum(buf, initial) != 0xFFFF:
            raise ChecksumError("tcp: bad checksum")
        if hlen == MIN_HEADER_LEN:
            options: tuple[TcpOption, ...] = ()
        elif hlen == MIN_HEADER_LEN + 12 and buf[MIN_HEADER_LEN] == KIND_NOP:
            # Perhaps NOP, NOP, Timestamps: what nearly every segment of a connection with
            # timestamps carries (RFC 7323 Appendix A's layout), read in place; the
            # general parse would read the same.
            _, k2, k3, length, tsval, tsecr = _NOP_NOP_TIMESTAMPS_OPTION.unpack_from(
                buf, MIN_HEADER_LEN
            )
            if k2 == KIND_NOP and k3 == KIND_TIMESTAMPS and length == 10:
                options = (_NOP, _NOP, Timestamps(tsval, tsecr))
            else:
                options = parse_options(buf[MIN_HEADER_LEN:hlen])
        else:
            options = parse_options(buf[MIN_HEADER_LEN:hlen])
        # Positional: a frozen dataclass's keyword call costs twice as much per segment.
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
        """Data Offset in octets: the fixed header and the options, padded to 4."""
        n = options_len(self.options)
        return MIN_HEADER_LEN + n + (-n % 4)

    @property
    def seg_len(self) -> int:
        """RFC 9293 §3.4: SEG.LEN, the octets of data plus one each for SYN and FIN."""
        return len(self.payload) + (self.flags & SYN != 0) + (self.flags & FIN != 0)

    def option(self, cls: type[_O]) -> _O | None:
        """The first option of type ``cls`` (``seg.option(MaxSegmentSize)``), or None."""
        options = self.options
        if (
            len(options) == 3
            and options[0] is _NOP
            and options[1] is _NOP
            and cls is not NoOperation
        ):
            # What parse and timestamp_options make of the usual NOP, NOP, Timestamps:
            # the first option of any other type is the third or none.
            third = options[2]
            return third if isinstance(third, cls) else None
        for o in options:
            if isinstance(o, cls):
                return o
        return None

    def buffer_len(self) -> int:
        return self.header_len + len(self.payload)

    def _encoded_options(self) -> bytes:
        """The options, padded to a multiple of 4 octets (RFC 9293 §3.1), checked."""
        options = self.options
        ts = options[2] if len(options) == 3 else None
        if (
            isinstance(ts, Timestamps)
            and options[0].__class__ is NoOperation
            and options[1].__class__ is NoOperation
            and 0 <= self.reserved <= 0xF
        ):
            # RFC 7323 Appendix A's layout, which nearly every segment of a connection
            # with timestamps carries: the octets the loop below would join.
            return _NOP_NOP_TIMESTAMPS_OPTION.pack(
                KIND_NOP, KIND_NOP, KIND_TIMESTAMPS, 10, ts.tsval, ts.tsecr
            )
        opts = b"".join(o.encode() for o in options)
        opts += b"\x00" * (-len(opts) % 4)
        if len(opts) > MAX_OPTIONS_LEN:
            raise ValueError(f"tcp: {len(opts)} octets of options, at most {MAX_OPTIONS_LEN}")
        if not 0 <= self.reserved <= 0xF:
            raise ValueError("tcp: reserved is 4 bits")
        return opts

    def _fixed_fields(self, hlen: int) -> tuple[int, ...]:
        """The fixed header's fields in their order (RFC 9293 §3.1), the checksum 0."""
        offset_reserved = ((hlen // 4) << 4) | self.reserved
        return (
            self.src_port,
            self.dst_port,
            self.seq,
            self.ack,
            offset_reserved,
            self.flags,
            self.window,
            0,
            self.urgent,
        )

    def emit(
        self, buf: bytearray | memoryview, src: IPv6Address, dst: IPv6Address, off: int = 0
    ) -> None:
        opts = self._encoded_options()
        hlen = MIN_HEADER_LEN + len(opts)
        end = off + hlen + len(self.payload)
        _HEADER.pack_into(buf, off, *self._fixed_fields(hlen))
        buf[off + MIN_HEADER_LEN : off + hlen] = opts
        buf[off + hlen : end] = self.payload
        csum = upper_layer_checksum(src, dst, IPPROTO_TCP, buf[off:end])
        _CHECKSUM.pack_into(buf, off + 16, csum)

    def build(self, src: IPv6Address, dst: IPv6Address) -> bytes:
        """The bytes :meth:`emit` writes, joined instead of written into a buffer
        (:func:`build_octets`)."""
        return build_octets(
            self.src_port,
            self.dst_port,
            self.seq,
            self.ack,
            self.flags,
            self.window,
            self.urgent,
            self._encoded_options(),
            self.payload,
            src,
            dst,
            self.reserved,
        )

    def build_partial(self, src: IPv6Address, dst: IPv6Address) -> bytes:
        """The segment for checksum offload (a NIC's, or the kernel's GSO): the checksum
        field holds the one's complement sum of the RFC 8200 §8.1 pseudo-header alone (the
        Upper-Layer Packet Length being the whole segment's), not complemented; whoever
        completes it adds the sum of the header and data and complements (Linux's
        ``CHECKSUM_PARTIAL``, virtio 1.1 section 5.1.6.2 ``VIRTIO_NET_HDR_F_NEEDS_CSUM``)."""
        opts = self._encoded_options()
        hlen = MIN_HEADER_LEN + len(opts)
        payload = self.payload
        fixed = _HEADER.pack(*self._fixed_fields(hlen))
        partial = pseudo_header_sum(src, dst, hlen + len(payload), IPPROTO_TCP)
        csum = _CHECKSUM.pack(partial)
        return b"".join((fixed[:16], csum, fixed[18:], opts, payload))
