"""IPv6 extension headers (RFC 8200 §4).

Hop-by-Hop and Destination Options (§4.3, §4.6)::

    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |  Next Header  |  Hdr Ext Len  |                               |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
    |                 Options (TLV-encoded, padded to 8n octets)    |

Routing (§4.4)::

    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |  Next Header  |  Hdr Ext Len  |  Routing Type | Segments Left |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                       type-specific data                      |

Fragment (§4.5)::

    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |  Next Header  |   Reserved    |      Fragment Offset    |Res|M|
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                         Identification                        |
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv6Address
from typing import ClassVar, TypeVar

from tcpip6.wire.errors import WireError

PAD1 = 0x00
PADN = 0x01
ROUTER_ALERT = 0x05  # RFC 2711
JUMBO_PAYLOAD = 0xC2  # RFC 2675

# RFC 8200 §4.2: the two high-order bits of the option type.
ACTION_SKIP = 0
ACTION_DISCARD = 1
ACTION_DISCARD_ICMP = 2
ACTION_DISCARD_ICMP_UNLESS_MULTICAST = 3

ROUTING_TYPE_0 = 0  # deprecated, RFC 5095
ROUTING_TYPE_2 = 2  # RFC 6275 §6.4

_FRAG = struct.Struct("!BBHI")
_ROUTING = struct.Struct("!BBBB")


def option_action(option_type: int) -> int:
    """RFC 8200 §4.2: what to do with an unrecognised option (ACTION_*)."""
    return option_type >> 6


def option_may_change(option_type: int) -> bool:
    """RFC 8200 §4.2: the third-highest bit: option data may change en route."""
    return bool(option_type & 0x20)


@dataclass(frozen=True, slots=True)
class Pad1:
    """A single octet of padding (no length field)."""

    type: ClassVar[int] = PAD1

    def buffer_len(self) -> int:
        return 1

    def encode(self) -> bytes:
        return b"\x00"


@dataclass(frozen=True, slots=True)
class Option:
    """Any TLV option: PadN, Router Alert, or unknown (kept as type and data)."""

    type: int
    data: bytes = b""

    def buffer_len(self) -> int:
        return 2 + len(self.data)

    def encode(self) -> bytes:
        if len(self.data) > 255:
            raise ValueError("option data is at most 255 octets")
        return bytes([self.type, len(self.data)]) + self.data


def pad_n(n: int) -> Pad1 | Option:
    """Padding of ``n`` >= 1 octets."""
    return Pad1() if n == 1 else Option(PADN, b"\x00" * (n - 2))


def pad_options(options: tuple[Pad1 | Option, ...]) -> tuple[Pad1 | Option, ...]:
    """Append the padding that makes 2 + options a multiple of 8 octets."""
    used = 2 + sum(o.buffer_len() for o in options)
    missing = -used % 8
    return options + ((pad_n(missing),) if missing else ())


def parse_options(buf: bytes | bytearray | memoryview) -> tuple[Pad1 | Option, ...]:
    out: list[Pad1 | Option] = []
    off = 0
    while off < len(buf):
        otype = buf[off]
        if otype == PAD1:
            out.append(Pad1())
            off += 1
            continue
        if off + 2 > len(buf):
            raise WireError("option: truncated type/length")
        end = off + 2 + buf[off + 1]
        if end > len(buf):
            raise WireError(f"option type {otype}: data beyond the header")
        out.append(Option(otype, bytes(buf[off + 2 : end])))
        off = end
    return tuple(out)


_H = TypeVar("_H", bound="OptionsHeader")


@dataclass(frozen=True, slots=True)
class OptionsHeader:
    """Hop-by-Hop or Destination Options: the options are kept as sent, padding included."""

    next_header: int
    options: tuple[Pad1 | Option, ...]

    PROTOCOL: ClassVar[int] = -1

    @classmethod
    def parse(cls: type[_H], buf: bytes | bytearray | memoryview) -> _H:
        if len(buf) < 8:
            raise WireError(f"options header: {len(buf)} octets, need 8")
        length = (buf[1] + 1) * 8
        if length > len(buf):
            raise WireError(f"options header: length {length} beyond the packet")
        return cls(buf[0], parse_options(memoryview(buf)[2:length]))

    def buffer_len(self) -> int:
        return 2 + sum(o.buffer_len() for o in self.options)

    def emit(self, buf: bytearray | memoryview, off: int = 0) -> None:
        length = self.buffer_len()
        if length % 8:
            raise ValueError("options header must be a multiple of 8 octets (see pad_options)")
        body = b"".join(o.encode() for o in self.options)
        buf[off : off + length] = bytes([self.next_header, length // 8 - 1]) + body

    def build(self) -> bytes:
        buf = bytearray(self.buffer_len())
        self.emit(buf)
        return bytes(buf)


@dataclass(frozen=True, slots=True)
class HopByHopOptions(OptionsHeader):
    PROTOCOL: ClassVar[int] = 0


@dataclass(frozen=True, slots=True)
class DestinationOptions(OptionsHeader):
    PROTOCOL: ClassVar[int] = 60


@dataclass(frozen=True, slots=True)
class RoutingHeader:
    """The generic Routing header; ``data`` is everything after the first 4 octets."""

    next_header: int
    routing_type: int
    segments_left: int
    data: bytes = b"\x00" * 4

    PROTOCOL: ClassVar[int] = 43

    @classmethod
    def parse(cls, buf: bytes | bytearray | memoryview) -> RoutingHeader:
        if len(buf) < 8:
            raise WireError(f"routing header: {len(buf)} octets, need 8")
        nh, hlen, rtype, left = _ROUTING.unpack_from(buf, 0)
        length = (hlen + 1) * 8
        if length > len(buf):
            raise WireError(f"routing header: length {length} beyond the packet")
        return cls(nh, rtype, left, bytes(buf[4:length]))

    def buffer_len(self) -> int:
        return 4 + len(self.data)

    def emit(self, buf: bytearray | memoryview, off: int = 0) -> None:
        length = self.buffer_len()
        if length % 8:
            raise ValueError("routing header must be a multiple of 8 octets")
        _ROUTING.pack_into(
            buf, off, self.next_header, length // 8 - 1, self.routing_type, self.segments_left
        )
        buf[off + 4 : off + length] = self.data

    def build(self) -> bytes:
        buf = bytearray(self.buffer_len())
        self.emit(buf)
        return bytes(buf)

    def addresses(self) -> tuple[IPv6Address, ...]:
        """Type 0 (RFC 2460 §4.4, deprecated by RFC 5095) and type 2: the address list
        after the 4 reserved octets. Raises :class:`WireError` if it is not whole."""
        body = self.data[4:]
        if len(body) % 16:
            raise WireError("routing header: address list is not a multiple of 16 octets")
        return tuple(IPv6Address(body[i : i + 16]) for i in range(0, len(body), 16))

    @classmethod
    def type0(
        cls, next_header: int, addresses: tuple[IPv6Address, ...], segments_left: int
    ) -> RoutingHeader:
        return cls(
            next_header,
            ROUTING_TYPE_0,
            segments_left,
            b"\x00" * 4 + b"".join(a.packed for a in addresses),
        )

    @classmethod
    def type2(cls, next_header: int, home_address: IPv6Address) -> RoutingHeader:
        """RFC 6275 §6.4: one address, Segments Left 1."""
        return cls(next_header, ROUTING_TYPE_2, 1, b"\x00" * 4 + home_address.packed)


@dataclass(frozen=True, slots=True)
class FragmentHeader:
    """RFC 8200 §4.5. ``fragment_offset`` is in 8-octet units."""

    next_header: int
    fragment_offset: int
    more: bool
    identification: int
    reserved: int = 0
    res: int = 0  # the two reserved bits beside M

    PROTOCOL: ClassVar[int] = 44
    HEADER_LEN: ClassVar[int] = 8

    @classmethod
    def parse(cls, buf: bytes | bytearray | memoryview) -> FragmentHeader:
        if len(buf) < cls.HEADER_LEN:
            raise WireError(f"fragment header: {len(buf)} octets, need 8")
        nh, reserved, word, ident = _FRAG.unpack_from(buf, 0)
        return cls(nh, word >> 3, bool(word & 1), ident, reserved, (word >> 1) & 3)

    @property
    def offset_octets(self) -> int:
        return self.fragment_offset * 8

    @property
    def is_atomic(self) -> bool:
        """RFC 6946: offset 0 and M clear — a whole packet in a fragment header."""
        return self.fragment_offset == 0 and not self.more

    def buffer_len(self) -> int:
        return self.HEADER_LEN

    def emit(self, buf: bytearray | memoryview, off: int = 0) -> None:
        word = ((self.fragment_offset & 0x1FFF) << 3) | ((self.res & 3) << 1) | int(self.more)
        _FRAG.pack_into(buf, off, self.next_header, self.reserved, word, self.identification)

    def build(self) -> bytes:
        buf = bytearray(self.HEADER_LEN)
        self.emit(buf)
        return bytes(buf)


ExtensionHeader = HopByHopOptions | DestinationOptions | RoutingHeader | FragmentHeader

_PARSERS: dict[int, type[HopByHopOptions | DestinationOptions | RoutingHeader | FragmentHeader]] = {
    0: HopByHopOptions,
    60: DestinationOptions,
    43: RoutingHeader,
    44: FragmentHeader,
}


def is_extension_header(next_header: int) -> bool:
    return next_header in _PARSERS


def parse_extension(next_header: int, buf: bytes | bytearray | memoryview) -> ExtensionHeader:
    cls = _PARSERS.get(next_header)
    if cls is None:
        raise WireError(f"next header {next_header} is not an extension header")
    return cls.parse(buf)


def walk(
    first: int, payload: bytes | bytearray | memoryview
) -> list[tuple[int, int, ExtensionHeader | None]]:
    """The header chain: ``(next header value, offset in payload, parsed header or None)``
    for every header in order; the last row is the upper layer (``None``). Stops after a
    non-first fragment (its payload is not a header). Raises :class:`WireError`."""
    out: list[tuple[int, int, ExtensionHeader | None]] = []
    nh, off = first, 0
    while nh in _PARSERS:
        hdr = parse_extension(nh, memoryview(payload)[off:])
        out.append((nh, off, hdr))
        off += hdr.buffer_len()
        if isinstance(hdr, FragmentHeader) and hdr.fragment_offset:
            return out
        nh = hdr.next_header
    out.append((nh, off, None))
    return out
