"""IPv6 extension headers (RFC 8200 §4) and the walk along a header chain.

Hop-by-Hop Options (RFC 8200 §4.3) and Destination Options (RFC 8200 §4.6)::

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |  Next Header  |  Hdr Ext Len  |                               |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
    |                                                               |
    .            Options (TLV-encoded, header is 8n octets)         .
    |                                                               |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

    an option (RFC 8200 §4.2), except Pad1 which is the single octet 0:
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+- - - - - - - - -
    |  Option Type  |  Opt Data Len |  Option Data
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+- - - - - - - - -

Routing (RFC 8200 §4.4; type 0 in RFC 2460 §4.4, deprecated by RFC 5095; type 2 in RFC 6275 §6.4)::

    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |  Next Header  |  Hdr Ext Len  |  Routing Type | Segments Left |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                                                               |
    .                       type-specific data                      .
    |                                                               |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

    types 0 and 2: the data is a 32-bit Reserved field and then addresses
    (any number for type 0; exactly one, the home address, for type 2).

Fragment (RFC 8200 §4.5)::

    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |  Next Header  |   Reserved    |      Fragment Offset    |Res|M|
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                         Identification                        |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

Options are kept as sent, padding included, so ``parse(h.build()) == h``; the reserved
fields are kept too. What the RFCs say a node must *do* with a header (order of the chain,
unrecognised options, Segments Left, reassembly) is the stack's business, not this module's.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv6Address
from typing import ClassVar, Self

from tcpip6.wire.errors import WireError
from tcpip6.wire.ipv6 import HOPOPT, IPPROTO_DSTOPTS, IPPROTO_FRAGMENT, IPPROTO_ROUTING

# Option types (IANA "Destination Options and Hop-by-Hop Options").
PAD1 = 0x00
PADN = 0x01
ROUTER_ALERT = 0x05  # RFC 2711
JUMBO_PAYLOAD = 0xC2  # RFC 2675

# RFC 2711 §2.1: Router Alert values.
ROUTER_ALERT_MLD = 0
ROUTER_ALERT_RSVP = 1
ROUTER_ALERT_ACTIVE_NETWORKS = 2

# RFC 8200 §4.2: the two high-order bits of the option type say what a node that does not
# recognise the option does with the packet.
ACTION_SKIP = 0  # 00: skip over this option and continue
ACTION_DISCARD = 1  # 01: discard the packet
ACTION_DISCARD_ICMP = 2  # 10: discard, ICMP Parameter Problem code 2 to the source
ACTION_DISCARD_ICMP_UNLESS_MULTICAST = 3  # 11: the same, unless the destination is multicast

ROUTING_TYPE_0 = 0  # RFC 2460 §4.4, deprecated by RFC 5095
ROUTING_TYPE_2 = 2  # RFC 6275 §6.4

_ROUTING = struct.Struct("!BBBB")
_FRAGMENT = struct.Struct("!BBHI")
_RESERVED = struct.Struct("!I")


def option_action(option_type: int) -> int:
    """RFC 8200 §4.2: what to do with an unrecognised option (one of ``ACTION_*``)."""
    return (option_type >> 6) & 3


def option_may_change(option_type: int) -> bool:
    """RFC 8200 §4.2: the third-highest bit; set when the option data may change en route
    (the data then counts as zeros for an Authentication Header)."""
    return bool(option_type & 0x20)


# -- options ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Pad1:
    """RFC 8200 §4.2: one octet of padding, with no length or data field."""

    type: ClassVar[int] = PAD1

    def buffer_len(self) -> int:
        return 1

    def encode(self) -> bytes:
        return b"\x00"


@dataclass(frozen=True, slots=True)
class PadN:
    """RFC 8200 §4.2: two or more octets of padding. The data is zeros when sent; what was
    received is kept, so that a round trip is exact."""

    data: bytes = b""

    type: ClassVar[int] = PADN

    def buffer_len(self) -> int:
        return 2 + len(self.data)

    def encode(self) -> bytes:
        if len(self.data) > 0xFF:
            raise ValueError("PadN: at most 255 octets of data")
        return bytes((PADN, len(self.data))) + self.data


@dataclass(frozen=True, slots=True)
class Option:
    """Any option other than Pad1 and PadN (Router Alert, Jumbo Payload, or an option this
    module does not know), kept as its type and data."""

    type: int
    data: bytes = b""

    def __post_init__(self) -> None:
        if self.type in (PAD1, PADN):
            raise ValueError("padding options are Pad1() and PadN(...)")

    @property
    def action(self) -> int:
        """RFC 8200 §4.2: ``ACTION_*`` for a node that does not recognise the type."""
        return option_action(self.type)

    @property
    def may_change(self) -> bool:
        return option_may_change(self.type)

    def buffer_len(self) -> int:
        return 2 + len(self.data)

    def encode(self) -> bytes:
        if not 0 <= self.type <= 0xFF or len(self.data) > 0xFF:
            raise ValueError(f"option type {self.type}: bad type or more than 255 octets")
        return bytes((self.type, len(self.data))) + self.data


TlvOption = Pad1 | PadN | Option


def router_alert(value: int = ROUTER_ALERT_MLD) -> Option:
    """RFC 2711 §2.1: the Router Alert option (MLD messages carry value 0)."""
    return Option(ROUTER_ALERT, value.to_bytes(2, "big"))


def pad_n(n: int) -> Pad1 | PadN:
    """``n`` >= 1 octets of padding: Pad1 for one octet, PadN otherwise (RFC 8200 §4.2)."""
    if n < 1:
        raise ValueError("padding is at least one octet")
    return Pad1() if n == 1 else PadN(b"\x00" * (n - 2))


def pad_options(options: tuple[TlvOption, ...]) -> tuple[TlvOption, ...]:
    """Append the padding that makes an options header (2 octets + options) a multiple of 8
    octets; options already a multiple come back unchanged."""
    missing = -(2 + sum(o.buffer_len() for o in options)) % 8
    return (*options, pad_n(missing)) if missing else options


def parse_options(buf: bytes | bytearray | memoryview) -> tuple[TlvOption, ...]:
    """The options area of a Hop-by-Hop or Destination Options header, in order."""
    out: list[TlvOption] = []
    off = 0
    end = len(buf)
    while off < end:
        otype = buf[off]
        if otype == PAD1:
            out.append(Pad1())
            off += 1
            continue
        if off + 2 > end:
            raise WireError(f"option type {otype}: no room for its length octet")
        data_end = off + 2 + buf[off + 1]
        if data_end > end:
            raise WireError(f"option type {otype}: data runs past the header")
        data = bytes(buf[off + 2 : data_end])
        out.append(PadN(data) if otype == PADN else Option(otype, data))
        off = data_end
    return tuple(out)


# -- Hop-by-Hop and Destination Options ---------------------------------------------------
@dataclass(frozen=True, slots=True)
class OptionsHeader:
    """The format shared by Hop-by-Hop Options and Destination Options (RFC 8200 §4.3,
    RFC 8200 §4.6). ``OptionsHeader.parse`` reads either; the subclasses say which one it is."""

    next_header: int
    options: tuple[TlvOption, ...]

    PROTOCOL: ClassVar[int] = -1

    @classmethod
    def parse(cls, buf: bytes | bytearray | memoryview) -> Self:
        if len(buf) < 8:
            raise WireError(f"options header: {len(buf)} octets, need 8")
        # Hdr Ext Len: in 8-octet units, not counting the first 8 octets.
        length = (buf[1] + 1) * 8
        if length > len(buf):
            raise WireError(f"options header: length {length} with {len(buf)} octets")
        return cls(buf[0], parse_options(memoryview(buf)[2:length]))

    def buffer_len(self) -> int:
        return 2 + sum(o.buffer_len() for o in self.options)

    def emit(self, buf: bytearray | memoryview, off: int = 0) -> None:
        length = self.buffer_len()
        if length % 8 or length > 2048:
            raise ValueError(f"options header of {length} octets (see pad_options)")
        body = b"".join(o.encode() for o in self.options)
        buf[off : off + length] = bytes((self.next_header, length // 8 - 1)) + body

    def build(self) -> bytes:
        buf = bytearray(self.buffer_len())
        self.emit(buf)
        return bytes(buf)


@dataclass(frozen=True, slots=True)
class HopByHopOptions(OptionsHeader):
    """RFC 8200 §4.3 (Next Header value 0)."""

    PROTOCOL: ClassVar[int] = HOPOPT


@dataclass(frozen=True, slots=True)
class DestinationOptions(OptionsHeader):
    """RFC 8200 §4.6 (Next Header value 60)."""

    PROTOCOL: ClassVar[int] = IPPROTO_DSTOPTS


# -- Routing ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RoutingHeader:
    """The Routing header as every node reads it (RFC 8200 §4.4): ``data`` is everything
    after the first four octets. :meth:`specific` gives the type 0 or type 2 view."""

    next_header: int
    routing_type: int
    segments_left: int
    data: bytes = b"\x00" * 4

    PROTOCOL: ClassVar[int] = IPPROTO_ROUTING

    @classmethod
    def parse(cls, buf: bytes | bytearray | memoryview) -> RoutingHeader:
        if len(buf) < 8:
            raise WireError(f"routing header: {len(buf)} octets, need 8")
        nh, hdr_ext_len, rtype, left = _ROUTING.unpack_from(buf, 0)
        length = (hdr_ext_len + 1) * 8
        if length > len(buf):
            raise WireError(f"routing header: length {length} with {len(buf)} octets")
        return cls(nh, rtype, left, bytes(buf[4:length]))

    def buffer_len(self) -> int:
        return 4 + len(self.data)

    def emit(self, buf: bytearray | memoryview, off: int = 0) -> None:
        length = self.buffer_len()
        if length % 8 or length > 2048:
            raise ValueError(f"routing header of {length} octets, not 8n up to 2048")
        _ROUTING.pack_into(
            buf, off, self.next_header, length // 8 - 1, self.routing_type, self.segments_left
        )
        buf[off + 4 : off + length] = self.data

    def build(self) -> bytes:
        buf = bytearray(self.buffer_len())
        self.emit(buf)
        return bytes(buf)

    def specific(self) -> RoutingHeader | Type0RoutingHeader | Type2RoutingHeader:
        """The type-specific view of types 0 and 2; any other type comes back as is.
        Raises :class:`WireError` when the data does not fit the type."""
        if self.routing_type == ROUTING_TYPE_0:
            return Type0RoutingHeader.from_generic(self)
        if self.routing_type == ROUTING_TYPE_2:
            return Type2RoutingHeader.from_generic(self)
        return self

    def addresses(self) -> tuple[IPv6Address, ...]:
        """The address list of a type 0 or type 2 header (after the 4 reserved octets).
        Raises :class:`WireError` if the list is not whole."""
        return _addresses(self.data, "routing header")

    @classmethod
    def type0(
        cls, next_header: int, addresses: tuple[IPv6Address, ...], segments_left: int
    ) -> RoutingHeader:
        return Type0RoutingHeader(next_header, segments_left, addresses).generic()

    @classmethod
    def type2(cls, next_header: int, home_address: IPv6Address) -> RoutingHeader:
        return Type2RoutingHeader(next_header, home_address).generic()


def _addresses(data: bytes, what: str) -> tuple[IPv6Address, ...]:
    body = data[4:]
    if len(data) < 4 or len(body) % 16:
        raise WireError(f"{what}: {len(data)} octets of data is not reserved + addresses")
    return tuple(IPv6Address(body[i : i + 16]) for i in range(0, len(body), 16))


class _TypedRoutingHeader:
    """A routing type read and written through :class:`RoutingHeader`: the subclass turns
    the generic header into its fields (``from_generic``) and back (``generic``)."""

    __slots__ = ()

    PROTOCOL: ClassVar[int] = IPPROTO_ROUTING

    @classmethod
    def from_generic(cls, rh: RoutingHeader) -> Self:
        raise NotImplementedError

    def generic(self) -> RoutingHeader:
        raise NotImplementedError

    @classmethod
    def parse(cls, buf: bytes | bytearray | memoryview) -> Self:
        return cls.from_generic(RoutingHeader.parse(buf))

    def emit(self, buf: bytearray | memoryview, off: int = 0) -> None:
        self.generic().emit(buf, off)

    def build(self) -> bytes:
        return self.generic().build()


@dataclass(frozen=True, slots=True)
class Type0RoutingHeader(_TypedRoutingHeader):
    """RFC 2460 §4.4: the source-routed address list. RFC 5095 §3 deprecates it: a node
    treats it as an unrecognised routing type. Parsed so the stack can say why it refuses,
    and tests can send it."""

    next_header: int
    segments_left: int
    addresses: tuple[IPv6Address, ...]
    reserved: int = 0

    ROUTING_TYPE: ClassVar[int] = ROUTING_TYPE_0

    @classmethod
    def from_generic(cls, rh: RoutingHeader) -> Type0RoutingHeader:
        if rh.routing_type != ROUTING_TYPE_0:
            raise WireError(f"routing header: type {rh.routing_type}, not 0")
        # RFC 2460 §4.4: Hdr Ext Len is twice the number of addresses.
        addresses = _addresses(rh.data, "type 0 routing header")
        return cls(rh.next_header, rh.segments_left, addresses, _RESERVED.unpack_from(rh.data)[0])

    def generic(self) -> RoutingHeader:
        data = _RESERVED.pack(self.reserved) + b"".join(a.packed for a in self.addresses)
        return RoutingHeader(self.next_header, ROUTING_TYPE_0, self.segments_left, data)

    def buffer_len(self) -> int:
        return 8 + 16 * len(self.addresses)


@dataclass(frozen=True, slots=True)
class Type2RoutingHeader(_TypedRoutingHeader):
    """RFC 6275 §6.4: one address, the mobile node's home address; Hdr Ext Len 2 and
    Segments Left 1 when sent (RFC 6275 §6.4.1). Checking Segments Left is the receiver's job."""

    next_header: int
    home_address: IPv6Address
    segments_left: int = 1
    reserved: int = 0

    ROUTING_TYPE: ClassVar[int] = ROUTING_TYPE_2
    HEADER_LEN: ClassVar[int] = 24

    @classmethod
    def from_generic(cls, rh: RoutingHeader) -> Type2RoutingHeader:
        if rh.routing_type != ROUTING_TYPE_2:
            raise WireError(f"routing header: type {rh.routing_type}, not 2")
        if len(rh.data) != 20:
            raise WireError(f"type 2 routing header: {4 + len(rh.data)} octets, must be 24")
        reserved = _RESERVED.unpack_from(rh.data)[0]
        return cls(rh.next_header, IPv6Address(rh.data[4:20]), rh.segments_left, reserved)

    def generic(self) -> RoutingHeader:
        data = _RESERVED.pack(self.reserved) + self.home_address.packed
        return RoutingHeader(self.next_header, ROUTING_TYPE_2, self.segments_left, data)

    def buffer_len(self) -> int:
        return self.HEADER_LEN


# -- Fragment -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class FragmentHeader:
    """RFC 8200 §4.5. ``fragment_offset`` is in 8-octet units; ``more`` is the M flag;
    ``reserved`` (8 bits) and ``res`` (the 2 bits beside M) are kept as received."""

    next_header: int
    fragment_offset: int
    more: bool
    identification: int
    reserved: int = 0
    res: int = 0

    PROTOCOL: ClassVar[int] = IPPROTO_FRAGMENT
    HEADER_LEN: ClassVar[int] = 8

    @classmethod
    def parse(cls, buf: bytes | bytearray | memoryview) -> FragmentHeader:
        if len(buf) < cls.HEADER_LEN:
            raise WireError(f"fragment header: {len(buf)} octets, need 8")
        nh, reserved, word, ident = _FRAGMENT.unpack_from(buf, 0)
        return cls(nh, word >> 3, bool(word & 1), ident, reserved, (word >> 1) & 3)

    @property
    def offset_octets(self) -> int:
        """The offset of this fragment's data in the original packet's fragmentable part."""
        return self.fragment_offset * 8

    @property
    def is_atomic(self) -> bool:
        """RFC 6946 §4: offset 0 and M clear: a whole packet that carries a fragment
        header, processed without reassembly."""
        return self.fragment_offset == 0 and not self.more

    def buffer_len(self) -> int:
        return self.HEADER_LEN

    def emit(self, buf: bytearray | memoryview, off: int = 0) -> None:
        if not 0 <= self.fragment_offset <= 0x1FFF or not 0 <= self.res <= 3:
            raise ValueError("fragment offset is 13 bits, res is 2 bits")
        word = (self.fragment_offset << 3) | (self.res << 1) | int(self.more)
        _FRAGMENT.pack_into(buf, off, self.next_header, self.reserved, word, self.identification)

    def build(self) -> bytes:
        buf = bytearray(self.HEADER_LEN)
        self.emit(buf)
        return bytes(buf)


# -- the chain ----------------------------------------------------------------------------
ExtensionHeader = HopByHopOptions | DestinationOptions | RoutingHeader | FragmentHeader

_PARSERS: dict[int, type[ExtensionHeader]] = {
    HOPOPT: HopByHopOptions,
    IPPROTO_DSTOPTS: DestinationOptions,
    IPPROTO_ROUTING: RoutingHeader,
    IPPROTO_FRAGMENT: FragmentHeader,
}


def is_extension_header(next_header: int) -> bool:
    """True for the Next Header values this module parses (0, 43, 44, 60)."""
    return next_header in _PARSERS


def parse_extension(next_header: int, buf: bytes | bytearray | memoryview) -> ExtensionHeader:
    """Parse the extension header that ``next_header`` names, at the start of ``buf``."""
    cls = _PARSERS.get(next_header)
    if cls is None:
        raise WireError(f"next header {next_header} is not an extension header")
    return cls.parse(buf)


def walk(
    first: int, payload: bytes | bytearray | memoryview
) -> list[tuple[int, int, ExtensionHeader | None]]:
    """The header chain of an IPv6 payload, in order.

    ``first`` is the fixed header's Next Header; ``payload`` is what follows the fixed
    header. Each row is ``(next header value, offset in payload, header)``: one row per
    Hop-by-Hop, Destination Options, Routing and Fragment header, then a last row whose
    header is ``None``: the upper layer (or No Next Header, ESP, AH, anything else) at that
    offset. One exception: after a fragment header with a non-zero offset what follows is
    fragment data, not a header, so the chain ends with that fragment header's row.

    Pure and checking only lengths: the order rules of RFC 8200 §4.1 and what to do with
    each header belong to the stack. Raises :class:`WireError` on a truncated header.
    """
    rows: list[tuple[int, int, ExtensionHeader | None]] = []
    view = memoryview(payload)
    nh, off = first, 0
    while nh in _PARSERS:
        hdr = parse_extension(nh, view[off:])
        rows.append((nh, off, hdr))
        if isinstance(hdr, FragmentHeader) and hdr.fragment_offset:
            return rows
        off += hdr.buffer_len()
        nh = hdr.next_header
    rows.append((nh, off, None))
    return rows
