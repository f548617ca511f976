"""ICMP translation (RFC 7915 §4.2, RFC 7915 §4.3, RFC 7915 §5.2, RFC 7915 §5.3): the message type
and code tables, the
Parameter Problem pointer tables (RFC 7915 Figures 3 and 6), the MTU arithmetic of Packet
Too Big and Fragmentation Needed, and the packet an error quotes, translated too."""

from __future__ import annotations

import struct
from ipaddress import IPv6Address

from tcpip6.stack.translate.headers import (
    addr_sum,
    adjust,
    emit_fragment,
    emit_v4,
    emit_v6,
    fix_transport_checksum,
    fold,
    read_u16,
    read_v4,
    read_v6,
    write_u16,
)
from tcpip6.stack.translate.mapping import Mapping
from tcpip6.wire import icmpv4 as v4
from tcpip6.wire import icmpv6 as v6
from tcpip6.wire.checksum import upper_layer_checksum
from tcpip6.wire.errors import ChecksumError, WireError
from tcpip6.wire.icmpv4 import Icmpv4Header
from tcpip6.wire.ipv4 import IPPROTO_ICMP
from tcpip6.wire.ipv6 import IPPROTO_FRAGMENT, IPPROTO_ICMPV6, MIN_MTU

#: RFC 1191 §7: the plateau table, for an IPv4 router that leaves the MTU field zero.
PLATEAUS = (65535, 32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, 68)

#: RFC 791 §3.2: every IPv4 module forwards a 68-octet datagram unfragmented.
MIN_IPV4_MTU = 68

#: RFC 1812 §4.3.2.3: an ICMPv4 error is at most 576 octets, IP header included.
MAX_ICMPV4_ERROR = 576

#: RFC 7915 §4.2 and RFC 7915 §5.2: Echo Request and Echo Reply, ICMPv4 (8, 0) <-> ICMPv6
#: (128, 129), in both directions; an Echo is the only message an error may quote and
#: still be translated (RFC 7915 §4.3, RFC 7915 §5.3).
ECHO_4TO6: dict[int, int] = {v4.ECHO_REQUEST: v6.ECHO_REQUEST, v4.ECHO_REPLY: v6.ECHO_REPLY}
ECHO_6TO4: dict[int, int] = {t6: t4 for t4, t6 in ECHO_4TO6.items()}

# RFC 7915 §4.2: Destination Unreachable codes -> (ICMPv6 type, code).
_UNREACH_4TO6: dict[int, tuple[int, int]] = {
    0: (v6.DESTINATION_UNREACHABLE, 0),  # net unreachable -> no route
    1: (v6.DESTINATION_UNREACHABLE, 0),  # host unreachable -> no route
    3: (v6.DESTINATION_UNREACHABLE, 4),  # port unreachable
    5: (v6.DESTINATION_UNREACHABLE, 0),  # source route failed
    6: (v6.DESTINATION_UNREACHABLE, 0),
    7: (v6.DESTINATION_UNREACHABLE, 0),
    8: (v6.DESTINATION_UNREACHABLE, 0),
    9: (v6.DESTINATION_UNREACHABLE, 1),  # administratively prohibited
    10: (v6.DESTINATION_UNREACHABLE, 1),
    11: (v6.DESTINATION_UNREACHABLE, 0),
    12: (v6.DESTINATION_UNREACHABLE, 0),
    13: (v6.DESTINATION_UNREACHABLE, 1),
    15: (v6.DESTINATION_UNREACHABLE, 1),
}

# RFC 7915 Figure 3: an ICMPv4 Parameter Problem pointer -> the ICMPv6 pointer.
POINTER_4TO6: dict[int, int] = {0: 0, 1: 1, 2: 4, 3: 4, 8: 7, 9: 6}
POINTER_4TO6.update({i: 8 for i in range(12, 16)})
POINTER_4TO6.update({i: 24 for i in range(16, 20)})

# RFC 7915 §5.2: ICMPv6 Destination Unreachable codes -> ICMPv4 code (type 3).
_UNREACH_6TO4: dict[int, int] = {0: 1, 1: 10, 2: 1, 3: 1, 4: 3}

# RFC 7915 Figure 6: an ICMPv6 Parameter Problem pointer -> the ICMPv4 pointer.
POINTER_6TO4: dict[int, int] = {0: 0, 1: 1, 4: 2, 5: 2, 6: 9, 7: 8}
POINTER_6TO4.update({i: 12 for i in range(8, 24)})
POINTER_6TO4.update({i: 16 for i in range(24, 40)})


def plateau_below(total_length: int) -> int:
    """RFC 1191 §7 via RFC 7915 §4.2: the greatest plateau less than the quoted Total
    Length."""
    return next((p for p in PLATEAUS if p < total_length), PLATEAUS[-1])


def ptb_mtu_4to6(mtu: int, quoted_total: int, mtu4: int, mtu6: int) -> int:
    """RFC 7915 §4.2: minimum(advertised MTU + 20, MTU of the IPv6 next hop, MTU of the IPv4
    next hop + 20), a zero MTU first replaced by a plateau value (RFC 1191); never below
    1280: an IPv6 host discards a smaller one (RFC 8201 §4), while with 1280 it sends
    packets that leave the translator with DF clear (RFC 7915 §5.1) and so may be
    fragmented on the IPv4 path."""
    if mtu == 0:
        mtu = plateau_below(quoted_total)
    return max(MIN_MTU, min(mtu + 20, mtu6, mtu4 + 20))


def ptb_mtu_6to4(mtu: int, mtu4: int, mtu6: int) -> int:
    """RFC 7915 §5.2: minimum(advertised MTU - 20, MTU of the IPv4 next hop, MTU of the IPv6
    next hop - 20)."""
    return max(0, min(mtu - 20, mtu4, mtu6 - 20))


# -- IPv4 -> IPv6 ---------------------------------------------------------------------------
def icmp4_to_6(
    msg: memoryview, src6: IPv6Address, dst6: IPv6Address, mapping: Mapping,
    mtu4: int, mtu6: int,
) -> bytes | str:  # fmt: skip
    """RFC 7915 §4.2: the ICMPv6 message for a whole ICMPv4 message, or the name of the drop
    counter."""
    try:
        hdr = Icmpv4Header.parse(msg)
    except ChecksumError:
        return "v4_icmp_checksum_drop"
    except WireError:
        return "v4_malformed_drop"
    rest = hdr.rest
    body = bytes(msg[8:])
    if hdr.type in ECHO_4TO6:
        # RFC 7915 §4.2: Echo Request/Reply (8, 0) -> 128, 129; code and the rest as they are.
        return icmpv6_message(ECHO_4TO6[hdr.type], hdr.code, rest, body, src6, dst6)
    if hdr.type == v4.DESTINATION_UNREACHABLE:
        if hdr.code == v4.FRAGMENTATION_NEEDED:
            quoted = read_v4(body)
            total = quoted.total_length if quoted is not None else 0
            t6, c6 = v6.PACKET_TOO_BIG, 0
            rest = ptb_mtu_4to6(rest & 0xFFFF, total, mtu4, mtu6)
        elif hdr.code == v4.PROTOCOL_UNREACHABLE:
            # RFC 7915 §4.2: Parameter Problem, unrecognized Next Header, pointing at it.
            t6, c6, rest = v6.PARAMETER_PROBLEM, 1, 6
        elif hdr.code in _UNREACH_4TO6:
            (t6, c6), rest = _UNREACH_4TO6[hdr.code], 0
        else:
            return "v4_icmp_type_drop"  # RFC 7915 §4.2: code 14 and unknown codes: drop
    elif hdr.type == v4.TIME_EXCEEDED:
        t6, c6, rest = v6.TIME_EXCEEDED, hdr.code, 0
    elif hdr.type == v4.PARAMETER_PROBLEM:
        # RFC 7915 §4.2: codes 0 and 2 -> Erroneous header field, pointer by Figure 3.
        pointer = POINTER_4TO6.get(rest >> 24)
        if hdr.code not in (0, 2) or pointer is None:
            return "v4_icmp_type_drop"
        t6, c6, rest = v6.PARAMETER_PROBLEM, 0, pointer
    else:
        # RFC 7915 §4.2: Information, Timestamp, Address Mask, Router Advertisement and
        # Solicitation, Source Quench, Redirect and unknown types are dropped silently.
        return "v4_icmp_type_drop"
    if hdr.type in (v4.DESTINATION_UNREACHABLE, v4.TIME_EXCEEDED) and (hdr.rest >> 16) & 0xFF:
        # RFC 4884 §4.1: a length attribute bounds the original datagram; the extension
        # structure after it is not translated.
        body = body[: ((hdr.rest >> 16) & 0xFF) * 4]
    inner = inner_4to6(memoryview(body), mapping)
    if inner is None:
        return "v4_icmp_inner_drop"
    # RFC 4443 §2.4 (c): as much of the invoking packet as fits the minimum IPv6 MTU.
    inner = inner[: MIN_MTU - 40 - 8]
    return icmpv6_message(t6, c6, rest, inner, src6, dst6)


def icmpv6_message(
    t: int, c: int, rest: int, body: bytes | memoryview, src: IPv6Address, dst: IPv6Address
) -> bytes:
    """An ICMPv6 message (RFC 4443 §2.1) with its checksum (RFC 4443 §2.3)."""
    buf = bytearray(8 + len(body))
    struct.pack_into("!BBHI", buf, 0, t, c, 0, rest & 0xFFFFFFFF)
    buf[8:] = body
    write_u16(buf, 2, upper_layer_checksum(src, dst, IPPROTO_ICMPV6, buf))
    return bytes(buf)


def inner_4to6(quoted: memoryview, mapping: Mapping) -> bytes | None:
    """RFC 7915 §4.3: the IPv4 packet an ICMPv4 error quotes, as IPv6 (hop limit copied,
    lengths from the quoted header, transport checksums carried over). None when it cannot
    be translated."""
    h = read_v4(quoted)
    if h is None:
        return None
    src6, dst6 = mapping.to_v6(h.src, local=True), mapping.to_v6(h.dst, local=False)
    if src6 is None or dst6 is None:
        return None
    data = bytearray(quoted[h.ihl : h.total_length])
    declared = h.total_length - h.ihl
    protocol = h.protocol
    if h.offset == 0:
        if protocol == IPPROTO_ICMP:
            protocol = IPPROTO_ICMPV6
            if len(data) >= 4:
                t4 = data[0]
                if t4 not in ECHO_4TO6:
                    return None  # RFC 7915 §4.3: an error inside an error is not translated
                t6 = ECHO_4TO6[t4]
                old = (t4 << 8) | data[1]
                new = fold(((t6 << 8) | data[1]) + addr_sum(src6, dst6) + declared + 58)
                data[0] = t6
                write_u16(data, 2, adjust(read_u16(data, 2), old, new))
        else:
            fix_transport_checksum(protocol, data, addr_sum(h.src, h.dst), addr_sum(src6, dst6))
    elif protocol == IPPROTO_ICMP:
        protocol = IPPROTO_ICMPV6
    frag = h.is_fragment
    out = bytearray(40 + (8 if frag else 0))
    next_header = IPPROTO_FRAGMENT if frag else protocol
    emit_v6(out, h.tos, declared + (8 if frag else 0), next_header, h.ttl, src6, dst6)
    if frag:
        emit_fragment(out, 40, protocol, h.offset, h.mf, h.identification)
    return bytes(out) + bytes(data)


# -- IPv6 -> IPv4 ---------------------------------------------------------------------------
def icmp6_to_4(
    msg: memoryview, src: IPv6Address, dst: IPv6Address, mapping: Mapping,
    mtu4: int, mtu6: int, room: int,
) -> bytes | str:  # fmt: skip
    """RFC 7915 §5.2: the ICMPv4 message for a whole ICMPv6 message (its checksum verified
    with the IPv6 pseudo-header), or the name of the drop counter. ``room`` is how many
    octets an error message may take (RFC 1812 §4.3.2.3)."""
    if len(msg) < 8:
        return "v6_malformed_drop"
    if upper_layer_checksum(src, dst, IPPROTO_ICMPV6, msg) != 0:
        return "v6_icmp_checksum_drop"
    t6, c6, _csum, rest = struct.unpack_from("!BBHI", msg, 0)
    body = bytes(msg[8:])
    if t6 in ECHO_6TO4:
        # RFC 7915 §5.2: Echo Request/Reply (128, 129) -> 8, 0.
        return Icmpv4Header(ECHO_6TO4[t6], c6, rest).message(body)
    if t6 == v6.DESTINATION_UNREACHABLE:
        if c6 not in _UNREACH_6TO4:
            return "v6_icmp_type_drop"
        t4, c4, rest = v4.DESTINATION_UNREACHABLE, _UNREACH_6TO4[c6], 0
    elif t6 == v6.PACKET_TOO_BIG:
        t4, c4 = v4.DESTINATION_UNREACHABLE, v4.FRAGMENTATION_NEEDED
        rest = ptb_mtu_6to4(rest, mtu4, mtu6)
        if rest < MIN_IPV4_MTU:
            return "v6_icmp_ptb_mtu_drop"  # no IPv4 link is that small (RFC 791 §3.2)
    elif t6 == v6.TIME_EXCEEDED:
        t4, c4, rest = v4.TIME_EXCEEDED, c6, 0
    elif t6 == v6.PARAMETER_PROBLEM:
        if c6 == 1:
            # RFC 7915 §5.2: unrecognized Next Header -> Protocol Unreachable.
            t4, c4, rest = v4.DESTINATION_UNREACHABLE, v4.PROTOCOL_UNREACHABLE, 0
        elif c6 == 0 and rest in POINTER_6TO4:
            t4, c4, rest = v4.PARAMETER_PROBLEM, 0, POINTER_6TO4[rest] << 24
        else:
            return "v6_icmp_type_drop"  # RFC 7915 §5.2: code 2 and unknown pointers
    else:
        # RFC 7915 §5.2: MLD, ND, and unknown informational and error types: drop.
        return "v6_icmp_type_drop"
    if t6 in (v6.DESTINATION_UNREACHABLE, v6.TIME_EXCEEDED) and (rest_len := msg[4]):
        # RFC 4884 §4.1: only the original datagram, not the extension structure.
        body = body[: rest_len * 8]
    inner = inner_6to4(memoryview(body), mapping)
    if inner is None:
        return "v6_icmp_inner_drop"
    return Icmpv4Header(t4, c4, rest).message(inner[: max(0, room - 8)])


def inner_6to4(quoted: memoryview, mapping: Mapping) -> bytes | None:
    """RFC 7915 §5.3: the IPv6 packet an ICMPv6 error quotes, as IPv4."""
    h = read_v6(quoted)
    if h is None:
        return None
    src4, dst4 = mapping.to_v4(h.src, local=False), mapping.to_v4(h.dst, local=True)
    if src4 is None or dst4 is None:
        return None
    data = bytearray(quoted[h.upper_offset : 40 + h.payload_length])
    declared = 40 + h.payload_length - h.upper_offset
    protocol = h.protocol
    first = h.fragment is None or h.fragment[1] == 0
    if protocol == IPPROTO_ICMPV6:
        protocol = IPPROTO_ICMP
        if first and len(data) >= 4:
            t6 = data[0]
            if t6 not in ECHO_6TO4:
                return None  # RFC 7915 §5.3: an error inside an error is not translated
            t4 = ECHO_6TO4[t6]
            old = fold(((t6 << 8) | data[1]) + addr_sum(h.src, h.dst) + declared + 58)
            data[0] = t4
            write_u16(data, 2, adjust(read_u16(data, 2), old, (t4 << 8) | data[1]))
    elif first:
        fix_transport_checksum(protocol, data, addr_sum(h.src, h.dst), addr_sum(src4, dst4))
    if h.fragment is not None:
        ident, offset, mf = h.fragment
        frag_word = (offset & 0x1FFF) | (0x2000 if mf else 0)
        ident &= 0xFFFF
    else:
        ident, frag_word = 0, 0x4000 if 20 + declared > 1260 else 0
    out = bytearray(20)
    emit_v4(
        out, h.traffic_class, 20 + declared, ident, frag_word, h.hop_limit, protocol, src4, dst4
    )
    return bytes(out) + bytes(data)
