"""Pieces both directions of the translator share: lenient parsing of the headers an ICMP
error quotes (possibly truncated), the walk over IPv6 extension headers (RFC 7915 §5.1),
and incremental checksum updates (RFC 1624) for the pseudo-header change."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address

from tcpip6.wire.checksum import internet_checksum, ones_complement_sum
from tcpip6.wire.ipv6 import HOPOPT, IPPROTO_DSTOPTS, IPPROTO_FRAGMENT, IPPROTO_ROUTING

_V4 = struct.Struct("!BBHHHBBH4s4s")
_V6 = struct.Struct("!IHBB16s16s")
_FRAG = struct.Struct("!BBHI")
_U16 = struct.Struct("!H")

# RFC 791 §3.1 options that name a source route.
OPT_END = 0
OPT_NOP = 1
OPT_LSRR = 131
OPT_SSRR = 137


@dataclass(frozen=True, slots=True)
class V4View:
    """An IPv4 header as read, checksum unverified (a quoted header) or verified (outer)."""

    ihl: int  # octets
    tos: int
    total_length: int
    identification: int
    df: bool
    mf: bool
    offset: int  # in 8-octet units
    ttl: int
    protocol: int
    src: IPv4Address
    dst: IPv4Address
    options: bytes

    @property
    def is_fragment(self) -> bool:
        return self.mf or self.offset != 0


def read_v4(buf: bytes | bytearray | memoryview) -> V4View | None:
    """The IPv4 header at the start of ``buf``, or None when it is not one."""
    if len(buf) < 20:
        return None
    vihl, tos, total, ident, frag, ttl, proto, _c, src, dst = _V4.unpack_from(buf, 0)
    ihl = (vihl & 0xF) * 4
    if vihl >> 4 != 4 or ihl < 20 or ihl > len(buf) or total < ihl:
        return None
    return V4View(
        ihl, tos, total, ident, bool(frag & 0x4000), bool(frag & 0x2000), frag & 0x1FFF,
        ttl, proto, IPv4Address(src), IPv4Address(dst), bytes(buf[20:ihl]),
    )  # fmt: skip


def unexpired_source_route(options: bytes) -> bool:
    """RFC 7915 §4.1: an LSRR or SSRR option whose pointer still points into the option."""
    i = 0
    while i < len(options):
        kind = options[i]
        if kind == OPT_END:
            return False
        if kind == OPT_NOP:
            i += 1
            continue
        if i + 2 > len(options) or options[i + 1] < 2:
            return False
        length = options[i + 1]
        # RFC 791 §3.1: the route is exhausted when the pointer exceeds the length.
        if kind in (OPT_LSRR, OPT_SSRR) and i + 2 < len(options) and options[i + 2] <= length:
            return True
        i += length
    return False


@dataclass(frozen=True, slots=True)
class V6View:
    traffic_class: int
    flow_label: int
    payload_length: int
    hop_limit: int
    src: IPv6Address
    dst: IPv6Address
    #: the upper-layer protocol after the extension headers the translator skips
    protocol: int
    #: octets of the packet before the upper-layer data (40 + extension headers)
    upper_offset: int
    #: the Fragment header, if any: (identification, offset in 8-octet units, M flag)
    fragment: tuple[int, int, bool] | None
    #: RFC 7915 §5.1: offset of a Routing header's non-zero Segments Left field, or None
    segments_left_at: int | None


def read_v6(buf: bytes | bytearray | memoryview) -> V6View | None:
    """The IPv6 header and the extension headers RFC 7915 §5.1 skips (Hop-by-Hop,
    Destination Options, Routing, Fragment); None when the chain does not parse."""
    if len(buf) < 40:
        return None
    word, plen, nh, hlim, src, dst = _V6.unpack_from(buf, 0)
    if word >> 28 != 6:
        return None
    off = 40
    fragment: tuple[int, int, bool] | None = None
    seg_left_at: int | None = None
    while nh in (HOPOPT, IPPROTO_ROUTING, IPPROTO_DSTOPTS, IPPROTO_FRAGMENT):
        if fragment is not None and fragment[1] != 0:
            break  # RFC 8200 §4.5: a non-first fragment's data is not headers
        if off + 8 > len(buf):
            return None
        if nh == IPPROTO_FRAGMENT:
            nxt, _r, word16, ident = _FRAG.unpack_from(buf, off)
            fragment = (ident, word16 >> 3, bool(word16 & 1))
            length = 8
        else:
            nxt = buf[off]
            length = (buf[off + 1] + 1) * 8
            if nh == IPPROTO_ROUTING and buf[off + 3] != 0 and seg_left_at is None:
                seg_left_at = off + 3
        nh = nxt
        off += length
    if off > len(buf):
        return None
    return V6View(
        (word >> 20) & 0xFF, word & 0xFFFFF, plen, hlim, IPv6Address(src), IPv6Address(dst),
        nh, off, fragment, seg_left_at,
    )  # fmt: skip


def fold(total: int) -> int:
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def adjust(checksum: int, old_sum: int, new_sum: int) -> int:
    """RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), where m and m' are the one's complement sums
    of the old and new covered fields."""
    return ~fold((~checksum & 0xFFFF) + (~old_sum & 0xFFFF) + new_sum) & 0xFFFF


def addr_sum(*addresses: IPv4Address | IPv6Address) -> int:
    return ones_complement_sum(b"".join(a.packed for a in addresses))


def read_u16(buf: bytes | bytearray | memoryview, off: int) -> int:
    return int(_U16.unpack_from(buf, off)[0])


def write_u16(buf: bytearray, off: int, value: int) -> None:
    _U16.pack_into(buf, off, value)


def emit_v4(
    out: bytearray,
    tos: int,
    total_length: int,
    identification: int,
    flags_offset: int,
    ttl: int,
    protocol: int,
    src: IPv4Address,
    dst: IPv4Address,
) -> None:
    """A 20-octet IPv4 header without options (RFC 791 §3.1) at the start of ``out``, its
    checksum computed; ``flags_offset`` is the 16-bit word of the flags and the offset."""
    _V4.pack_into(
        out, 0, 0x45, tos, total_length, identification, flags_offset, ttl, protocol, 0,
        src.packed, dst.packed,
    )  # fmt: skip
    write_u16(out, 10, internet_checksum(out[:20]))


def emit_v6(
    out: bytearray,
    traffic_class: int,
    payload_length: int,
    next_header: int,
    hop_limit: int,
    src: IPv6Address,
    dst: IPv6Address,
) -> None:
    """The IPv6 fixed header (RFC 8200 §3, Flow Label 0) at the start of ``out``."""
    word = (6 << 28) | (traffic_class << 20)
    _V6.pack_into(out, 0, word, payload_length, next_header, hop_limit, src.packed, dst.packed)


def emit_fragment(
    out: bytearray, off: int, next_header: int, offset: int, more: bool, identification: int
) -> None:
    """An IPv6 Fragment header (RFC 8200 §4.5) at ``out[off:]``; ``offset`` in 8-octet
    units."""
    _FRAG.pack_into(out, off, next_header, 0, (offset << 3) | int(more), identification)


TCP_CHECKSUM_AT = 16
UDP_CHECKSUM_AT = 6


def fix_transport_checksum(protocol: int, data: bytearray, old_sum: int, new_sum: int) -> None:
    """Carry a TCP or UDP checksum across the pseudo-header change (RFC 7915 §4.5, RFC 7915 §5.5:
    the pseudo-header's addresses change, its length and protocol do not). ``data`` starts
    at the transport header; too short a piece (a truncated quote) is left alone. A UDP
    checksum of zero is the caller's business."""
    at = TCP_CHECKSUM_AT if protocol == 6 else UDP_CHECKSUM_AT if protocol == 17 else -1
    if at < 0 or len(data) < at + 2:
        return
    csum = read_u16(data, at)
    if protocol == 17 and csum == 0:
        return
    new = adjust(csum, old_sum, new_sum)
    # RFC 768: a computed UDP checksum of zero is sent as all ones.
    write_u16(data, at, 0xFFFF if protocol == 17 and new == 0 else new)
