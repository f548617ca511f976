"""Neighbor Discovery messages and options (RFC 4861 §4; RDNSS from RFC 8106).

Options (RFC 4861 §4.6)::

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |     Type      |    Length     |              ...              |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

Length is in units of 8 octets, including type and length. Code and hop-limit checks are
RFC rules and belong to the stack; only lengths are checked here.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv6Address
from typing import ClassVar

from tcpip6.wire import _icmp
from tcpip6.wire.errors import WireError

ROUTER_SOLICITATION = 133
ROUTER_ADVERTISEMENT = 134
NEIGHBOR_SOLICITATION = 135
NEIGHBOR_ADVERTISEMENT = 136
REDIRECT = 137
ND_TYPES = frozenset(range(133, 138))

OPT_SOURCE_LLA = 1
OPT_TARGET_LLA = 2
OPT_PREFIX_INFORMATION = 3
OPT_REDIRECTED_HEADER = 4
OPT_MTU = 5
OPT_RDNSS = 25

INFINITE_LIFETIME = 0xFFFFFFFF

_PREFIX = struct.Struct("!BBIII16s")
_MTU = struct.Struct("!HI")
_RDNSS_HEAD = struct.Struct("!HI")
_RA = struct.Struct("!BBHII")
_NA_FLAGS = struct.Struct("!I")


def _pad8(data: bytes) -> bytes:
    """Zero-pad ``type, length, data`` to a whole number of 8-octet units."""
    return data + b"\x00" * (-(len(data) + 2) % 8)


# -- options ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SourceLinkLayerAddress:
    """RFC 4861 §4.6.1. ``address`` is the whole option data (the link address, padded;
    for Ethernet exactly the 6-octet MAC, RFC 2464 §8)."""

    address: bytes
    TYPE: ClassVar[int] = OPT_SOURCE_LLA

    def data(self) -> bytes:
        return _pad8(self.address)


@dataclass(frozen=True, slots=True)
class TargetLinkLayerAddress:
    """RFC 4861 §4.6.1."""

    address: bytes
    TYPE: ClassVar[int] = OPT_TARGET_LLA

    def data(self) -> bytes:
        return _pad8(self.address)


@dataclass(frozen=True, slots=True)
class PrefixInformation:
    """RFC 4861 §4.6.2."""

    prefix_length: int
    on_link: bool
    autonomous: bool
    valid_lifetime: int
    preferred_lifetime: int
    prefix: IPv6Address
    reserved_flags: int = 0  # the six low bits after L and A
    reserved2: int = 0
    TYPE: ClassVar[int] = OPT_PREFIX_INFORMATION

    def data(self) -> bytes:
        flags = (0x80 if self.on_link else 0) | (0x40 if self.autonomous else 0)
        return _PREFIX.pack(
            self.prefix_length,
            flags | (self.reserved_flags & 0x3F),
            self.valid_lifetime,
            self.preferred_lifetime,
            self.reserved2,
            self.prefix.packed,
        )


@dataclass(frozen=True, slots=True)
class RedirectedHeader:
    """RFC 4861 §4.6.3: as much of the redirected packet as fits (padded)."""

    packet: bytes
    TYPE: ClassVar[int] = OPT_REDIRECTED_HEADER

    def data(self) -> bytes:
        return b"\x00" * 6 + self.packet + b"\x00" * (-len(self.packet) % 8)


@dataclass(frozen=True, slots=True)
class Mtu:
    """RFC 4861 §4.6.4."""

    mtu: int
    reserved: int = 0
    TYPE: ClassVar[int] = OPT_MTU

    def data(self) -> bytes:
        return _MTU.pack(self.reserved, self.mtu)


@dataclass(frozen=True, slots=True)
class Rdnss:
    """RFC 8106 §5.1: Recursive DNS Server option."""

    lifetime: int
    servers: tuple[IPv6Address, ...]
    reserved: int = 0
    TYPE: ClassVar[int] = OPT_RDNSS

    def data(self) -> bytes:
        return _RDNSS_HEAD.pack(self.reserved, self.lifetime) + b"".join(
            s.packed for s in self.servers
        )


@dataclass(frozen=True, slots=True)
class UnknownNdOption:
    """RFC 4861 §4.6: unrecognised options are skipped (kept here for round trips).
    ``body`` is everything after type and length."""

    option_type: int
    body: bytes

    @property
    def TYPE(self) -> int:
        return self.option_type

    def data(self) -> bytes:
        return self.body


NdOption = (
    SourceLinkLayerAddress
    | TargetLinkLayerAddress
    | PrefixInformation
    | RedirectedHeader
    | Mtu
    | Rdnss
    | UnknownNdOption
)


def emit_options(options: tuple[NdOption, ...]) -> bytes:
    out = bytearray()
    for opt in options:
        data = opt.data()
        total = len(data) + 2
        if total % 8:
            raise ValueError(f"option {opt!r} is not a multiple of 8 octets")
        if total // 8 > 255:
            raise ValueError(f"option {opt!r} is too long")
        out += bytes([opt.TYPE, total // 8]) + data
    return bytes(out)


def parse_options(buf: bytes | bytearray | memoryview) -> tuple[NdOption, ...]:
    out: list[NdOption] = []
    off = 0
    while off < len(buf):
        if len(buf) - off < 2:
            raise WireError("nd option: truncated type/length")
        otype, olen = buf[off], buf[off + 1]
        # RFC 4861 §4.6: "Nodes MUST silently discard an ND packet that contains an
        # option with length zero."
        if olen == 0:
            raise WireError("nd option: length zero")
        end = off + olen * 8
        if end > len(buf):
            raise WireError(f"nd option type {otype}: length {olen * 8} beyond the message")
        data = bytes(buf[off + 2 : end])
        out.append(_parse_option(otype, data))
        off = end
    return tuple(out)


def _parse_option(otype: int, data: bytes) -> NdOption:
    if otype == OPT_SOURCE_LLA:
        return SourceLinkLayerAddress(data)
    if otype == OPT_TARGET_LLA:
        return TargetLinkLayerAddress(data)
    if otype == OPT_PREFIX_INFORMATION:
        if len(data) != _PREFIX.size:
            raise WireError("prefix information option: length must be 4")
        plen, flags, valid, pref, res2, prefix = _PREFIX.unpack(data)
        return PrefixInformation(
            plen,
            bool(flags & 0x80),
            bool(flags & 0x40),
            valid,
            pref,
            IPv6Address(prefix),
            flags & 0x3F,
            res2,
        )
    if otype == OPT_REDIRECTED_HEADER:
        # The 6 reserved octets are zero on send and ignored on receipt.
        return RedirectedHeader(data[6:])
    if otype == OPT_MTU:
        if len(data) != _MTU.size:
            raise WireError("MTU option: length must be 1")
        reserved, mtu = _MTU.unpack(data)
        return Mtu(mtu, reserved)
    if otype == OPT_RDNSS:
        # RFC 8106 §5.1: length is 1 + 2 * number of addresses, at least 3.
        if len(data) < 6 + 16 or (len(data) - 6) % 16:
            raise WireError("RDNSS option: bad length")
        reserved, lifetime = _RDNSS_HEAD.unpack_from(data, 0)
        servers = tuple(IPv6Address(data[i : i + 16]) for i in range(6, len(data), 16))
        return Rdnss(lifetime, servers, reserved)
    return UnknownNdOption(otype, data)


# -- messages -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RouterSolicitation:
    """RFC 4861 §4.1."""

    options: tuple[NdOption, ...] = ()
    code: int = 0
    reserved: int = 0
    TYPE: ClassVar[int] = ROUTER_SOLICITATION
    MIN_LEN: ClassVar[int] = 8

    @property
    def type(self) -> int:
        return self.TYPE

    def _body(self) -> bytes:
        return self.reserved.to_bytes(4, "big")

    def build(self, src: IPv6Address, dst: IPv6Address) -> bytes:
        return _build(self.TYPE, self.code, self._body(), self.options, src, dst)


@dataclass(frozen=True, slots=True)
class RouterAdvertisement:
    """RFC 4861 §4.2. ``reserved_flags`` keeps the six bits after M and O (RFC 4191's
    preference bits among them)."""

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
    def type(self) -> int:
        return self.TYPE

    def _body(self) -> bytes:
        flags = (0x80 if self.managed else 0) | (0x40 if self.other else 0)
        return _RA.pack(
            self.cur_hop_limit,
            flags | (self.reserved_flags & 0x3F),
            self.router_lifetime,
            self.reachable_time,
            self.retrans_timer,
        )

    def build(self, src: IPv6Address, dst: IPv6Address) -> bytes:
        return _build(self.TYPE, self.code, self._body(), self.options, src, dst)


@dataclass(frozen=True, slots=True)
class NeighborSolicitation:
    """RFC 4861 §4.3."""

    target: IPv6Address
    options: tuple[NdOption, ...] = ()
    code: int = 0
    reserved: int = 0
    TYPE: ClassVar[int] = NEIGHBOR_SOLICITATION
    MIN_LEN: ClassVar[int] = 24

    @property
    def type(self) -> int:
        return self.TYPE

    def _body(self) -> bytes:
        return self.reserved.to_bytes(4, "big") + self.target.packed

    def build(self, src: IPv6Address, dst: IPv6Address) -> bytes:
        return _build(self.TYPE, self.code, self._body(), self.options, src, dst)


@dataclass(frozen=True, slots=True)
class NeighborAdvertisement:
    """RFC 4861 §4.4: R (router), S (solicited), O (override)."""

    target: IPv6Address
    router: bool
    solicited: bool
    override: bool
    options: tuple[NdOption, ...] = ()
    code: int = 0
    reserved: int = 0  # the 29 reserved bits
    TYPE: ClassVar[int] = NEIGHBOR_ADVERTISEMENT
    MIN_LEN: ClassVar[int] = 24

    @property
    def type(self) -> int:
        return self.TYPE

    def _body(self) -> bytes:
        word = (
            (0x80000000 if self.router else 0)
            | (0x40000000 if self.solicited else 0)
            | (0x20000000 if self.override else 0)
            | (self.reserved & 0x1FFFFFFF)
        )
        return _NA_FLAGS.pack(word) + self.target.packed

    def build(self, src: IPv6Address, dst: IPv6Address) -> bytes:
        return _build(self.TYPE, self.code, self._body(), self.options, src, dst)


@dataclass(frozen=True, slots=True)
class Redirect:
    """RFC 4861 §4.5."""

    target: IPv6Address
    destination: IPv6Address
    options: tuple[NdOption, ...] = ()
    code: int = 0
    reserved: int = 0
    TYPE: ClassVar[int] = REDIRECT
    MIN_LEN: ClassVar[int] = 40

    @property
    def type(self) -> int:
        return self.TYPE

    def _body(self) -> bytes:
        return self.reserved.to_bytes(4, "big") + self.target.packed + self.destination.packed

    def build(self, src: IPv6Address, dst: IPv6Address) -> bytes:
        return _build(self.TYPE, self.code, self._body(), self.options, src, dst)


NdMessage = (
    RouterSolicitation
    | RouterAdvertisement
    | NeighborSolicitation
    | NeighborAdvertisement
    | Redirect
)


def _build(
    msg_type: int,
    code: int,
    body: bytes,
    options: tuple[NdOption, ...],
    src: IPv6Address,
    dst: IPv6Address,
) -> bytes:
    opts = emit_options(options)
    buf = _icmp.start(msg_type, code, len(body) + len(opts))
    buf[4:] = body + opts
    return _icmp.finish(buf, src, dst)


_MIN_LEN = {
    ROUTER_SOLICITATION: RouterSolicitation.MIN_LEN,
    ROUTER_ADVERTISEMENT: RouterAdvertisement.MIN_LEN,
    NEIGHBOR_SOLICITATION: NeighborSolicitation.MIN_LEN,
    NEIGHBOR_ADVERTISEMENT: NeighborAdvertisement.MIN_LEN,
    REDIRECT: Redirect.MIN_LEN,
}


def parse_nd(buf: bytes | bytearray | memoryview) -> NdMessage:
    """Parse an ND message (checksum already verified). Raises only :class:`WireError`."""
    if len(buf) < 4 or buf[0] not in _MIN_LEN:
        raise WireError("nd: not an ND message")
    msg_type, code = buf[0], buf[1]
    # RFC 4861 §6.1.1 / §6.1.2 / §7.1.1 / §7.1.2 / §8.1: ICMP length is at least N octets.
    if len(buf) < _MIN_LEN[msg_type]:
        raise WireError(f"nd type {msg_type}: {len(buf)} octets, need {_MIN_LEN[msg_type]}")
    options = parse_options(memoryview(buf)[_MIN_LEN[msg_type] :])
    reserved = int.from_bytes(buf[4:8], "big")
    if msg_type == ROUTER_SOLICITATION:
        return RouterSolicitation(options, code, reserved)
    if msg_type == ROUTER_ADVERTISEMENT:
        hop, flags, life, reach, retrans = _RA.unpack_from(buf, 4)
        return RouterAdvertisement(
            hop,
            bool(flags & 0x80),
            bool(flags & 0x40),
            life,
            reach,
            retrans,
            options,
            flags & 0x3F,
            code,
        )
    target = IPv6Address(bytes(buf[8:24]))
    if msg_type == NEIGHBOR_SOLICITATION:
        return NeighborSolicitation(target, options, code, reserved)
    if msg_type == NEIGHBOR_ADVERTISEMENT:
        return NeighborAdvertisement(
            target,
            bool(reserved & 0x80000000),
            bool(reserved & 0x40000000),
            bool(reserved & 0x20000000),
            options,
            code,
            reserved & 0x1FFFFFFF,
        )
    return Redirect(target, IPv6Address(bytes(buf[24:40])), options, code, reserved)
