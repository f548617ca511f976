"""Neighbor Discovery messages and options (RFC 4861 §4; the RDNSS option of RFC 8106).

Messages (RFC 4861 §4.1-§4.5) are ICMPv6 messages: type, code, checksum, a fixed part, options::

          0                   1                   2                   3
          0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
         +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
         |     Type      |     Code      |          Checksum             |
         +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    RS   |                            Reserved                           |
    RA   | Cur Hop Limit |M|O|H|Prf|P|Res|        Router Lifetime        |
         |                         Reachable Time                        |
         |                         Retrans Timer                         |
    NS   |                            Reserved                           |
         |                   Target Address (16 octets)                  |
    NA   |R|S|O|                         Reserved                        |
         |                   Target Address (16 octets)                  |
    Red. |                            Reserved                           |
         |                   Target Address (16 octets)                  |
         |                Destination Address (16 octets)                |
         +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
         |   Options ...

Options (RFC 4861 §4.6), the Length counting 8-octet units, type and length included::

    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |     Type      |    Length     |              ...              |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    ~                              ...                              ~

This module checks lengths only. The validity rules of RFC 4861 §6.1 / RFC 4861 §7.1 /
RFC 4861 §8.1 (hop limit 255, code 0, source address rules) are the stack's: hence every
message keeps its ``code``.
Reserved fields and flag bits this module does not name are kept as received, so
``parse(m.build(src, dst), src, dst) == m``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv6Address
from typing import ClassVar, Self, TypeVar, get_args

from tcpip6.wire import _icmp
from tcpip6.wire._icmp import Buffer, WritableBuffer
from tcpip6.wire.errors import WireError

# RFC 4861 §4: message types.
ROUTER_SOLICITATION = 133
ROUTER_ADVERTISEMENT = 134
NEIGHBOR_SOLICITATION = 135
NEIGHBOR_ADVERTISEMENT = 136
REDIRECT = 137
ND_TYPES = frozenset(range(ROUTER_SOLICITATION, REDIRECT + 1))

# RFC 4861 §4.6 option types (and RFC 8106 §5.1).
OPT_SOURCE_LLA = 1
OPT_TARGET_LLA = 2
OPT_PREFIX_INFORMATION = 3
OPT_REDIRECTED_HEADER = 4
OPT_MTU = 5
OPT_RDNSS = 25

INFINITE_LIFETIME = 0xFFFFFFFF  # RFC 4861 §4.6.2, RFC 8106 §5.1

# RA flags octet (RFC 4861 §4.2; H: RFC 6275 §7.1, Prf: RFC 4191 §2.2, P: RFC 4389 §4.1).
RA_MANAGED = 0x80
RA_OTHER = 0x40
RA_HOME_AGENT = 0x20
RA_PREFERENCE_SHIFT = 3
RA_PROXY = 0x04
# RFC 4191 §2.1: the 2-bit Router Preference values.
PREFERENCE_MEDIUM = 0b00
PREFERENCE_HIGH = 0b01
PREFERENCE_RESERVED = 0b10
PREFERENCE_LOW = 0b11
# Prefix Information flags octet (RFC 4861 §4.6.2; R: RFC 6275 §7.2).
PIO_ON_LINK = 0x80
PIO_AUTONOMOUS = 0x40
# NA flags (RFC 4861 §4.4), the high bits of the first 32-bit word.
NA_ROUTER = 0x80000000
NA_SOLICITED = 0x40000000
NA_OVERRIDE = 0x20000000
NA_RESERVED_MASK = 0x1FFFFFFF

_OPT_HEAD = struct.Struct("!BB")
_PREFIX = struct.Struct("!BBIII16s")
_MTU = struct.Struct("!HI")
_RDNSS = struct.Struct("!HI")
_RA = struct.Struct("!BBHII")
_RESERVED48 = struct.Struct("!HI")
_TARGET = struct.Struct("!I16s")  # NS, NA: a 32-bit word, then the target
_REDIRECT = struct.Struct("!I16s16s")

_O = TypeVar("_O")


# -- options ------------------------------------------------------------------------------
class _Option:
    """Parse, emit and build for an option class: the class gives ``TYPE``,
    ``_data_len()``, ``_emit_data(buf, off)`` and ``_parse_data(data)``. The data is
    everything after type and length; emit pads it with zeros to a whole number of
    8-octet units."""

    __slots__ = ()

    TYPE: ClassVar[int] = -1

    @property
    def type(self) -> int:
        return self.TYPE

    @classmethod
    def parse(cls, buf: Buffer) -> Self:
        """The option at the start of ``buf`` (octets after it are not looked at)."""
        data = _option_data(buf, 0)
        if buf[0] != cls.TYPE:
            raise WireError(f"{cls.__name__}: type {buf[0]}, expected {cls.TYPE}")
        return cls._parse_data(data)

    @classmethod
    def _parse_data(cls, data: memoryview) -> Self:
        raise NotImplementedError

    def _data_len(self) -> int:
        raise NotImplementedError

    def _emit_data(self, buf: WritableBuffer, off: int) -> None:
        raise NotImplementedError

    def buffer_len(self) -> int:
        return _padded(2 + self._data_len())

    def emit(self, buf: WritableBuffer, off: int = 0) -> None:
        _emit_head(buf, off, self.TYPE, self.buffer_len())
        self._emit_data(buf, off + 2)

    def build(self) -> bytes:
        buf = bytearray(self.buffer_len())
        self.emit(buf)
        return bytes(buf)


def _padded(length: int) -> int:
    return -(-length // 8) * 8


def _emit_head(buf: WritableBuffer, off: int, otype: int, length: int) -> None:
    """Type and Length, and zeros for the rest of the option (padding included)."""
    if length > 255 * 8:
        raise ValueError(f"nd option type {otype}: {length} octets, at most {255 * 8}")
    _OPT_HEAD.pack_into(buf, off, otype, length // 8)
    buf[off + 2 : off + length] = bytes(length - 2)


def _option_data(buf: Buffer, off: int) -> memoryview:
    """The data of the option at ``off`` after checking its length."""
    if len(buf) - off < 2:
        raise WireError(f"nd option: {len(buf) - off} octets left, need 2")
    otype, units = buf[off], buf[off + 1]
    # RFC 4861 §4.6: "Nodes MUST silently discard an ND packet that contains an option
    # with length zero."
    if units == 0:
        raise WireError(f"nd option type {otype}: length zero")
    end = off + 8 * units
    if end > len(buf):
        raise WireError(f"nd option type {otype}: {8 * units} octets, {len(buf) - off} left")
    return memoryview(buf)[off + 2 : end]


@dataclass(frozen=True, slots=True)
class _LinkLayerAddressOption(_Option):
    """RFC 4861 §4.6.1. ``address`` is the whole option data: the link-layer address followed by
    the padding that fills the 8-octet units (for Ethernet, RFC 2464 §8, exactly the
    6-octet MAC). Emit pads a shorter value with zeros."""

    address: bytes

    def link_address(self, length: int) -> bytes:
        """The first ``length`` octets: the address of a link whose addresses have that
        length. Raises :class:`WireError` when the option is too short for one."""
        if len(self.address) < length:
            raise WireError(f"{type(self).__name__}: {len(self.address)} octets, need {length}")
        return self.address[:length]

    @classmethod
    def _parse_data(cls, data: memoryview) -> Self:
        return cls(bytes(data))

    def _data_len(self) -> int:
        return len(self.address)

    def _emit_data(self, buf: WritableBuffer, off: int) -> None:
        buf[off : off + len(self.address)] = self.address


@dataclass(frozen=True, slots=True)
class SourceLinkLayerAddress(_LinkLayerAddressOption):
    """RFC 4861 §4.6.1: the link-layer address of the sender (RS, RA, NS, Redirect's router)."""

    TYPE: ClassVar[int] = OPT_SOURCE_LLA


@dataclass(frozen=True, slots=True)
class TargetLinkLayerAddress(_LinkLayerAddressOption):
    """RFC 4861 §4.6.1: the link-layer address of the target (NA, Redirect)."""

    TYPE: ClassVar[int] = OPT_TARGET_LLA


@dataclass(frozen=True, slots=True)
class PrefixInformation(_Option):
    """RFC 4861 §4.6.2 (Length 4). ``reserved_flags`` keeps the six low bits of the flags octet
    after L and A (RFC 6275's R bit among them); ``reserved2`` the 32-bit Reserved2."""

    prefix_length: int
    on_link: bool
    autonomous: bool
    valid_lifetime: int
    preferred_lifetime: int
    prefix: IPv6Address
    reserved_flags: int = 0
    reserved2: int = 0

    TYPE: ClassVar[int] = OPT_PREFIX_INFORMATION

    @classmethod
    def _parse_data(cls, data: memoryview) -> Self:
        if len(data) != _PREFIX.size:
            raise WireError(f"{cls.__name__}: length {(len(data) + 2) // 8}, must be 4")
        plen, flags, valid, preferred, res2, prefix = _PREFIX.unpack(data)
        on_link, autonomous = bool(flags & PIO_ON_LINK), bool(flags & PIO_AUTONOMOUS)
        return cls(
            plen, on_link, autonomous, valid, preferred, IPv6Address(prefix), flags & 0x3F, res2
        )

    def _data_len(self) -> int:
        return _PREFIX.size

    def _emit_data(self, buf: WritableBuffer, off: int) -> None:
        flags = (PIO_ON_LINK if self.on_link else 0) | (PIO_AUTONOMOUS if self.autonomous else 0)
        flags |= self.reserved_flags & 0x3F
        _PREFIX.pack_into(
            buf,
            off,
            self.prefix_length,
            flags,
            self.valid_lifetime,
            self.preferred_lifetime,
            self.reserved2,
            self.prefix.packed,
        )


@dataclass(frozen=True, slots=True)
class RedirectedHeader(_Option):
    """RFC 4861 §4.6.3: as much of the redirected packet as fits, IPv6 header first. ``packet`` is
    everything after the six reserved octets, padding included; emit pads a value that is
    not a whole number of 8-octet units with zeros."""

    packet: bytes
    reserved: int = 0  # the 48-bit Reserved field

    TYPE: ClassVar[int] = OPT_REDIRECTED_HEADER

    @classmethod
    def _parse_data(cls, data: memoryview) -> Self:
        # A Length of at least 1 leaves room for the six reserved octets.
        high, low = _RESERVED48.unpack_from(data, 0)
        return cls(bytes(data[_RESERVED48.size :]), (high << 32) | low)

    def _data_len(self) -> int:
        return _RESERVED48.size + len(self.packet)

    def _emit_data(self, buf: WritableBuffer, off: int) -> None:
        _RESERVED48.pack_into(buf, off, self.reserved >> 32, self.reserved & 0xFFFFFFFF)
        start = off + _RESERVED48.size
        buf[start : start + len(self.packet)] = self.packet


@dataclass(frozen=True, slots=True)
class Mtu(_Option):
    """RFC 4861 §4.6.4 (Length 1): the link MTU a router advertises."""

    mtu: int
    reserved: int = 0

    TYPE: ClassVar[int] = OPT_MTU

    @classmethod
    def _parse_data(cls, data: memoryview) -> Self:
        if len(data) != _MTU.size:
            raise WireError(f"{cls.__name__}: length {(len(data) + 2) // 8}, must be 1")
        reserved, mtu = _MTU.unpack(data)
        return cls(mtu, reserved)

    def _data_len(self) -> int:
        return _MTU.size

    def _emit_data(self, buf: WritableBuffer, off: int) -> None:
        _MTU.pack_into(buf, off, self.reserved, self.mtu)


@dataclass(frozen=True, slots=True)
class Rdnss(_Option):
    """RFC 8106 §5.1: Recursive DNS Server option (Length 1 + 2 per address)."""

    lifetime: int
    servers: tuple[IPv6Address, ...]
    reserved: int = 0

    TYPE: ClassVar[int] = OPT_RDNSS

    @classmethod
    def _parse_data(cls, data: memoryview) -> Self:
        # RFC 8106 §5.1: "The minimum value is 3 if one IPv6 address is contained in the
        # option." Every further address adds 2.
        count, rest = divmod(len(data) - _RDNSS.size, 16)
        if count < 1 or rest:
            raise WireError(f"{cls.__name__}: length {(len(data) + 2) // 8}, must be 3, 5, ...")
        reserved, lifetime = _RDNSS.unpack_from(data, 0)
        return cls(lifetime, _icmp.addresses(data, _RDNSS.size, count, cls.__name__), reserved)

    def _data_len(self) -> int:
        return _RDNSS.size + 16 * len(self.servers)

    def _emit_data(self, buf: WritableBuffer, off: int) -> None:
        _RDNSS.pack_into(buf, off, self.reserved, self.lifetime)
        _icmp.pack_addresses(buf, off + _RDNSS.size, self.servers)


@dataclass(frozen=True, slots=True)
class UnknownNdOption:
    """Any other option type. RFC 4861 §4.6: receivers skip options they do not recognise; kept
    here so they survive. ``data`` is everything after type and length (emit pads it to
    8-octet units). Made by hand with a type this module knows, it crafts that option's
    octets, which parse reads as the known class."""

    type: int
    data: bytes

    @classmethod
    def parse(cls, buf: Buffer) -> UnknownNdOption:
        return cls(buf[0], bytes(_option_data(buf, 0)))

    def buffer_len(self) -> int:
        return _padded(2 + len(self.data))

    def emit(self, buf: WritableBuffer, off: int = 0) -> None:
        _emit_head(buf, off, self.type, self.buffer_len())
        buf[off + 2 : off + 2 + len(self.data)] = self.data

    def build(self) -> bytes:
        buf = bytearray(self.buffer_len())
        self.emit(buf)
        return bytes(buf)


NdOption = (
    SourceLinkLayerAddress
    | TargetLinkLayerAddress
    | PrefixInformation
    | RedirectedHeader
    | Mtu
    | Rdnss
    | UnknownNdOption
)

_OPTION_CLASSES: dict[int, type[NdOption]] = {
    c.TYPE: c for c in get_args(NdOption) if c is not UnknownNdOption
}


def parse_option(buf: Buffer) -> NdOption:
    """The option at the start of ``buf``, by its type."""
    if len(buf) < 1:
        raise WireError("nd option: no octets")
    cls = _OPTION_CLASSES.get(buf[0], UnknownNdOption)
    return cls.parse(buf)


def parse_options(buf: Buffer) -> tuple[NdOption, ...]:
    """All the options in ``buf``, in order; they must fill it exactly (RFC 4861 §4.6)."""
    view = memoryview(buf)
    out: list[NdOption] = []
    off = 0
    while off < len(view):
        data = _option_data(view, off)
        end = off + 2 + len(data)
        out.append(parse_option(view[off:end]))
        off = end
    return tuple(out)


def options_len(options: tuple[NdOption, ...]) -> int:
    return sum(o.buffer_len() for o in options)


def emit_options(buf: WritableBuffer, off: int, options: tuple[NdOption, ...]) -> int:
    """Write ``options`` from ``off``; returns the offset after them."""
    for o in options:
        o.emit(buf, off)
        off += o.buffer_len()
    return off


# -- messages -----------------------------------------------------------------------------
class _NdMessage(_icmp.Message):
    """A fixed part of ``MIN_LEN`` octets (ICMPv6 header included), then options. The
    class gives ``_emit_fixed(buf, off)`` (octets 4 to ``MIN_LEN``) and
    ``_parse_fixed(buf, options)``."""

    __slots__ = ()

    options: tuple[NdOption, ...]

    @classmethod
    def _parse(cls, buf: memoryview) -> Self:
        # RFC 4861 §6.1.1 / RFC 4861 §6.1.2 / RFC 4861 §7.1.1 / RFC 4861 §7.1.2 / RFC 4861 §8.1:
        # "ICMP length (derived from the
        # IP length) is N or more octets" (RS 8, RA 16, NS 24, NA 24, Redirect 40), checked
        # by parse_unchecked against MIN_LEN; "all included options have a length that is
        # greater than zero", checked by parse_options.
        return cls._parse_fixed(buf, parse_options(buf[cls.MIN_LEN :]))

    @classmethod
    def _parse_fixed(cls, buf: memoryview, options: tuple[NdOption, ...]) -> Self:
        raise NotImplementedError

    def _emit_fixed(self, buf: WritableBuffer, off: int) -> None:
        raise NotImplementedError

    def buffer_len(self) -> int:
        return self.MIN_LEN + options_len(self.options)

    def _emit_body(self, buf: WritableBuffer, off: int) -> None:
        self._emit_fixed(buf, off)
        emit_options(buf, off + self.MIN_LEN, self.options)

    def option(self, cls: type[_O]) -> _O | None:
        """The first option of class ``cls``, if any."""
        for o in self.options:
            if isinstance(o, cls):
                return o
        return None


@dataclass(frozen=True, slots=True)
class RouterSolicitation(_NdMessage):
    """RFC 4861 §4.1."""

    options: tuple[NdOption, ...] = ()
    code: int = 0
    reserved: int = 0

    TYPE: ClassVar[int] = ROUTER_SOLICITATION
    MIN_LEN: ClassVar[int] = 8

    @classmethod
    def _parse_fixed(cls, buf: memoryview, options: tuple[NdOption, ...]) -> Self:
        (reserved,) = _icmp.WORD.unpack_from(buf, 4)
        return cls(options, buf[1], reserved)

    def _emit_fixed(self, buf: WritableBuffer, off: int) -> None:
        _icmp.WORD.pack_into(buf, off + 4, self.reserved)


@dataclass(frozen=True, slots=True)
class RouterAdvertisement(_NdMessage):
    """RFC 4861 §4.2. ``reserved_flags`` keeps the six low bits of the flags octet after M and O:
    H (RFC 6275), the router preference (RFC 4191), P (RFC 4389) and two reserved bits."""

    cur_hop_limit: int
    managed: bool
    other: bool
    router_lifetime: int
    reachable_time: int
    retrans_timer: int
    options: tuple[NdOption, ...] = ()
    reserved_flags: int = 0
    code: int = 0

    TYPE: ClassVar[int] = ROUTER_ADVERTISEMENT
    MIN_LEN: ClassVar[int] = 16

    @property
    def preference(self) -> int:
        """RFC 4191 §2.2: the 2-bit Default Router Preference (``PREFERENCE_*``)."""
        return (self.reserved_flags >> RA_PREFERENCE_SHIFT) & 0b11

    @classmethod
    def _parse_fixed(cls, buf: memoryview, options: tuple[NdOption, ...]) -> Self:
        hop, flags, lifetime, reachable, retrans = _RA.unpack_from(buf, 4)
        managed, other = bool(flags & RA_MANAGED), bool(flags & RA_OTHER)
        return cls(hop, managed, other, lifetime, reachable, retrans, options, flags & 0x3F, buf[1])

    def _emit_fixed(self, buf: WritableBuffer, off: int) -> None:
        flags = (RA_MANAGED if self.managed else 0) | (RA_OTHER if self.other else 0)
        flags |= self.reserved_flags & 0x3F
        _RA.pack_into(
            buf,
            off + 4,
            self.cur_hop_limit,
            flags,
            self.router_lifetime,
            self.reachable_time,
            self.retrans_timer,
        )


@dataclass(frozen=True, slots=True)
class NeighborSolicitation(_NdMessage):
    """RFC 4861 §4.3."""

    target: IPv6Address
    options: tuple[NdOption, ...] = ()
    code: int = 0
    reserved: int = 0

    TYPE: ClassVar[int] = NEIGHBOR_SOLICITATION
    MIN_LEN: ClassVar[int] = 24

    @classmethod
    def _parse_fixed(cls, buf: memoryview, options: tuple[NdOption, ...]) -> Self:
        reserved, target = _TARGET.unpack_from(buf, 4)
        return cls(IPv6Address(target), options, buf[1], reserved)

    def _emit_fixed(self, buf: WritableBuffer, off: int) -> None:
        _TARGET.pack_into(buf, off + 4, self.reserved, self.target.packed)


@dataclass(frozen=True, slots=True)
class NeighborAdvertisement(_NdMessage):
    """RFC 4861 §4.4: R (router), S (solicited), O (override); ``reserved`` is the 29 bits after."""

    target: IPv6Address
    router: bool
    solicited: bool
    override: bool
    options: tuple[NdOption, ...] = ()
    code: int = 0
    reserved: int = 0

    TYPE: ClassVar[int] = NEIGHBOR_ADVERTISEMENT
    MIN_LEN: ClassVar[int] = 24

    @classmethod
    def _parse_fixed(cls, buf: memoryview, options: tuple[NdOption, ...]) -> Self:
        word, target = _TARGET.unpack_from(buf, 4)
        r, s, o = (bool(word & flag) for flag in (NA_ROUTER, NA_SOLICITED, NA_OVERRIDE))
        return cls(IPv6Address(target), r, s, o, options, buf[1], word & NA_RESERVED_MASK)

    def _emit_fixed(self, buf: WritableBuffer, off: int) -> None:
        word = (
            (NA_ROUTER if self.router else 0)
            | (NA_SOLICITED if self.solicited else 0)
            | (NA_OVERRIDE if self.override else 0)
            | (self.reserved & NA_RESERVED_MASK)
        )
        _TARGET.pack_into(buf, off + 4, word, self.target.packed)


@dataclass(frozen=True, slots=True)
class Redirect(_NdMessage):
    """RFC 4861 §4.5: a better first hop (``target``) for ``destination``."""

    target: IPv6Address
    destination: IPv6Address
    options: tuple[NdOption, ...] = ()
    code: int = 0
    reserved: int = 0

    TYPE: ClassVar[int] = REDIRECT
    MIN_LEN: ClassVar[int] = 40

    @classmethod
    def _parse_fixed(cls, buf: memoryview, options: tuple[NdOption, ...]) -> Self:
        reserved, target, destination = _REDIRECT.unpack_from(buf, 4)
        return cls(IPv6Address(target), IPv6Address(destination), options, buf[1], reserved)

    def _emit_fixed(self, buf: WritableBuffer, off: int) -> None:
        packed = (self.target.packed, self.destination.packed)
        _REDIRECT.pack_into(buf, off + 4, self.reserved, *packed)


NdMessage = (
    RouterSolicitation
    | RouterAdvertisement
    | NeighborSolicitation
    | NeighborAdvertisement
    | Redirect
)

_MESSAGE_CLASSES: dict[int, type[NdMessage]] = {c.TYPE: c for c in get_args(NdMessage)}


def parse_nd(buf: Buffer, src: IPv6Address, dst: IPv6Address) -> NdMessage:
    """Verify the checksum and parse the ND message of any type. Raises only
    :class:`WireError`, also for a type that is not ND."""
    _icmp.verify(buf, src, dst)
    cls = _MESSAGE_CLASSES.get(buf[0])
    if cls is None:
        raise WireError(f"nd: type {buf[0]} is not a Neighbor Discovery message")
    return cls.parse_unchecked(buf)
