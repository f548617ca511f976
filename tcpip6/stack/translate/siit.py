"""The Stateless IP/ICMP Translation Algorithm (RFC 7915): IPv4 packets in, IPv6 packets out,
and back. Sans-I/O: :meth:`Siit.translate_v4` and :meth:`Siit.translate_v6` take one packet
and return what to send on the other side and, where the RFC says so, an ICMP error for the
sender. Every packet not translated is counted by its reason (:class:`TranslateCounters`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address

from tcpip6.stack.translate.counters import TranslateCounters
from tcpip6.stack.translate.headers import (
    addr_sum,
    emit_fragment,
    emit_v4,
    emit_v6,
    fix_transport_checksum,
    read_v4,
    read_v6,
    unexpired_source_route,
    write_u16,
)
from tcpip6.stack.translate.icmp import MAX_ICMPV4_ERROR, icmp4_to_6, icmp6_to_4, icmpv6_message
from tcpip6.stack.translate.mapping import Mapping
from tcpip6.wire import icmpv4 as v4
from tcpip6.wire import icmpv6 as v6
from tcpip6.wire.checksum import internet_checksum, upper_layer_checksum
from tcpip6.wire.icmpv4 import Icmpv4Header
from tcpip6.wire.ipv4 import IPPROTO_ICMP
from tcpip6.wire.ipv6 import IPPROTO_FRAGMENT, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, MIN_MTU

#: RFC 7915 §5.1: a translated packet up to this size leaves with DF clear.
DF_THRESHOLD = 1260
#: TTL / Hop Limit of the errors the translator itself originates.
ERROR_HOP_LIMIT = 64


@dataclass(frozen=True, slots=True)
class Translated:
    """What one packet became: ``packets`` for the other side (several when the translator
    fragmented), ``error`` an ICMP error back to the sender's side, ``drop`` the counter
    that says why nothing was translated."""

    packets: tuple[bytes, ...] = ()
    error: bytes | None = None
    drop: str | None = None
    #: RFC 6146 §3.8: packets hairpinned back to the side they came from
    hairpinned: tuple[bytes, ...] = ()


@dataclass
class SiitConfig:
    mapping: Mapping
    #: the translator's own addresses: the sources of the errors it originates
    ipv4_address: IPv4Address | None = None
    ipv6_address: IPv6Address | None = None
    #: RFC 7915 §6: the next-hop MTUs on each side
    mtu4: int = 1500
    mtu6: int = MIN_MTU
    #: RFC 7915 §4.1, RFC 7915 §6: the size IPv6 fragments are cut to when the IPv4 sender allowed
    #: fragmentation (DF clear); 1280 unless the IPv6 side is known to carry more
    lowest_ipv6_mtu: int = MIN_MTU


@dataclass
class Siit:
    config: SiitConfig
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    counters: TranslateCounters = field(default_factory=TranslateCounters)

    # -- IPv4 -> IPv6 (RFC 7915 §4) ------------------------------------------------------
    def translate_v4(self, packet: bytes | bytearray | memoryview) -> Translated:
        self.counters.v4_in += 1
        buf = memoryview(packet)
        h = read_v4(buf)
        if h is None or h.total_length > len(buf):
            return self._drop("v4_malformed_drop")
        if internet_checksum(buf[: h.ihl]) != 0:
            return self._drop("v4_header_checksum_drop")
        # RFC 1122 §3.2.2, RFC 1812 §4.3.2.7: no ICMP error about an ICMP error or about a
        # fragment other than the first.
        is_error = h.offset != 0 or (h.protocol == IPPROTO_ICMP and _icmp4_is_error(buf, h.ihl))
        if h.mf and (h.total_length - h.ihl) % 8:
            # RFC 791 §3.2: every fragment but the last carries a multiple of 8 octets.
            return self._drop("v4_fragment_length_drop")
        # RFC 7915 §4.1: the translator is a router and decrements the TTL.
        if h.ttl <= 1:
            err = None if is_error else self._icmp4_error(buf, h.src, v4.TIME_EXCEEDED, 0, 0)
            return self._drop("v4_ttl_exceeded_drop", err)
        # RFC 7915 §4.1: an unexpired source route -> discard, Source Route Failed.
        if unexpired_source_route(h.options):
            err = None
            if not is_error:
                err = self._icmp4_error(
                    buf, h.src, v4.DESTINATION_UNREACHABLE, v4.SOURCE_ROUTE_FAILED, 0
                )
            return self._drop("v4_source_route_drop", err)
        src6 = self.config.mapping.to_v6(h.src, local=False)
        if src6 is None:
            return self._drop("v4_source_unmapped_drop")
        dst6 = self.config.mapping.to_v6(h.dst, local=True)
        if dst6 is None:
            return self._drop("v4_destination_unmapped_drop")
        data = bytearray(buf[h.ihl : h.total_length])
        protocol = h.protocol
        if protocol == IPPROTO_ICMP:
            # The ICMPv6 checksum covers a pseudo-header with the whole length: a fragment
            # cannot be carried over (RFC 7915 §4.2 translates whole messages).
            if h.is_fragment:
                return self._drop("v4_icmp_fragmented_drop")
            out = icmp4_to_6(
                memoryview(data), src6, dst6, self.config.mapping,
                self.config.mtu4, self.config.mtu6,
            )  # fmt: skip
            if isinstance(out, str):
                return self._drop(out)
            data, protocol = bytearray(out), IPPROTO_ICMPV6
        elif protocol in (IPPROTO_TCP, IPPROTO_UDP) and h.offset == 0:
            if len(data) < (20 if protocol == IPPROTO_TCP else 8):
                return self._drop("v4_transport_truncated_drop")
            if protocol == IPPROTO_UDP and data[6:8] == b"\0\0":
                # RFC 7915 §4.5: a zero UDP checksum is computed for an unfragmented
                # packet; a fragmented one is dropped.
                if h.is_fragment:
                    return self._drop("v4_udp_zero_checksum_fragment_drop")
                csum = upper_layer_checksum(src6, dst6, IPPROTO_UDP, data)
                write_u16(data, 6, csum or 0xFFFF)
                self.counters.v4_udp_checksum_computed += 1
            else:
                fix_transport_checksum(protocol, data, addr_sum(h.src, h.dst), addr_sum(src6, dst6))
        fragmented = h.is_fragment
        size = 40 + (8 if fragmented else 0) + len(data)
        mtu6 = self.config.mtu6
        if size > mtu6 and h.df and not fragmented:
            # RFC 7915 §4.1 and RFC 7915 §6: DF set and too big -> Fragmentation Needed, with the
            # MTU
            # an IPv4 packet must have to fit after translation.
            mtu = mtu6 - 20 - (8 if fragmented else 0)
            err = None
            if not is_error:
                err = self._icmp4_error(
                    buf, h.src, v4.DESTINATION_UNREACHABLE, v4.FRAGMENTATION_NEEDED, mtu
                )
            return self._drop("v4_too_big_df_drop", err)
        ttl = h.ttl - 1
        # RFC 7915 §4.1: with DF clear the sender allows fragmentation, and the pieces are
        # cut to the lowest IPv6 MTU (1280 unless configured); with DF set the packet goes
        # whole as long as the next hop carries it (path MTU discovery is the sender's).
        # A piece of an already fragmented datagram is cut like one with DF clear.
        limit = mtu6 if h.df and not fragmented else min(mtu6, self.config.lowest_ipv6_mtu)
        if size <= limit and not fragmented:
            out6 = bytearray(40 + len(data))
            # RFC 7915 §4.1: Traffic Class = TOS, Flow Label 0
            emit_v6(out6, h.tos, len(data), protocol, ttl, src6, dst6)
            out6[40:] = data
            self.counters.v4_translated += 1
            return Translated(packets=(bytes(out6),))
        # RFC 7915 §4.1: a fragment keeps its identification, offset and M flag in a
        # Fragment header; a packet too big for the IPv6 MTU (DF clear) is fragmented
        # so that each piece fits.
        step = (limit - 48) & ~7
        pieces = []
        for start in range(0, max(len(data), 1), step):
            chunk = data[start : start + step]
            last = start + step >= len(data)
            more = h.mf or not last
            out6 = bytearray(48 + len(chunk))
            emit_v6(out6, h.tos, 8 + len(chunk), IPPROTO_FRAGMENT, ttl, src6, dst6)
            emit_fragment(out6, 40, protocol, h.offset + start // 8, more, h.identification)
            out6[48:] = chunk
            pieces.append(bytes(out6))
        if len(pieces) > 1 or not fragmented:
            self.counters.v6_fragments_made += len(pieces)
        self.counters.v4_translated += 1
        return Translated(packets=tuple(pieces))

    # -- IPv6 -> IPv4 (RFC 7915 §5) ------------------------------------------------------
    def translate_v6(self, packet: bytes | bytearray | memoryview) -> Translated:
        self.counters.v6_in += 1
        buf = memoryview(packet)
        h = read_v6(buf)
        if h is None or 40 + h.payload_length > len(buf) or h.upper_offset > 40 + h.payload_length:
            return self._drop("v6_malformed_drop")
        buf = buf[: 40 + h.payload_length]
        first = h.fragment is None or h.fragment[1] == 0
        # RFC 4443 §2.4 (e): no error about an error.
        is_error = first and h.protocol == IPPROTO_ICMPV6 and _icmp6_is_error(buf, h.upper_offset)
        if h.fragment is not None and h.fragment[2] and (len(buf) - h.upper_offset) % 8:
            # RFC 8200 §4.5: a fragment with M set whose length is not a multiple of 8 is
            # discarded.
            return self._drop("v6_fragment_length_drop")
        if h.hop_limit <= 1:
            err = None if is_error else self._icmp6_error(buf, h.src, v6.TIME_EXCEEDED, 0, 0)
            return self._drop("v6_hop_limit_exceeded_drop", err)
        if h.segments_left_at is not None:
            # RFC 7915 §5.1: a Routing header with Segments Left non-zero -> discard, and
            # Parameter Problem code 0 pointing at the Segments Left field.
            err = None
            if not is_error:
                err = self._icmp6_error(buf, h.src, v6.PARAMETER_PROBLEM, 0, h.segments_left_at)
            return self._drop("v6_routing_segments_left_drop", err)
        src4 = self.config.mapping.to_v4(h.src, local=True)
        if src4 is None:
            return self._drop("v6_source_unmapped_drop")
        dst4 = self.config.mapping.to_v4(h.dst, local=False)
        if dst4 is None:
            return self._drop("v6_destination_unmapped_drop")
        data = bytearray(buf[h.upper_offset :])
        protocol = h.protocol
        if protocol == IPPROTO_ICMPV6:
            if h.fragment is not None:
                return self._drop("v6_icmp_fragmented_drop")
            out = icmp6_to_4(
                memoryview(data), h.src, h.dst, self.config.mapping,
                self.config.mtu4, self.config.mtu6, MAX_ICMPV4_ERROR - 20,
            )  # fmt: skip
            if isinstance(out, str):
                return self._drop(out)
            data, protocol = bytearray(out), IPPROTO_ICMP
        elif protocol in (IPPROTO_TCP, IPPROTO_UDP) and first:
            if len(data) < (20 if protocol == IPPROTO_TCP else 8):
                return self._drop("v6_transport_truncated_drop")
            if protocol == IPPROTO_UDP and data[6:8] == b"\0\0":
                # RFC 8200 §8.1: an IPv6 UDP packet with a zero checksum is discarded.
                return self._drop("v6_udp_zero_checksum_drop")
            fix_transport_checksum(protocol, data, addr_sum(h.src, h.dst), addr_sum(src4, dst4))
        size = 20 + len(data)
        mtu4 = self.config.mtu4
        ttl = h.hop_limit - 1
        if h.fragment is not None:
            # RFC 7915 §5.1.1: the Fragment header's fields become the IPv4 fragment fields.
            ident, offset, mf = h.fragment[0] & 0xFFFF, h.fragment[1], h.fragment[2]
            df = False
        else:
            # RFC 7915 §5.1: DF clear up to 1260 octets, set above; an identification from
            # the translator's generator either way.
            ident, offset, mf = self.rng.getrandbits(16), 0, False
            df = size > DF_THRESHOLD
        if size > mtu4 and df:
            # RFC 7915 §5.1 and RFC 7915 §6: Packet Too Big with the IPv4 next-hop MTU plus 20.
            err = None
            if not is_error:
                err = self._icmp6_error(buf, h.src, v6.PACKET_TOO_BIG, 0, mtu4 + 20)
            return self._drop("v6_too_big_drop", err)
        step = max(len(data), 1) if size <= mtu4 else (mtu4 - 20) & ~7
        pieces = []
        for start in range(0, max(len(data), 1), step):
            chunk = data[start : start + step]
            more = mf or start + step < len(data)
            flags = (0x4000 if df else 0) | (0x2000 if more else 0) | (offset + start // 8)
            out4 = bytearray(20 + len(chunk))
            emit_v4(out4, h.traffic_class, 20 + len(chunk), ident, flags, ttl, protocol, src4, dst4)
            out4[20:] = chunk
            pieces.append(bytes(out4))
        if len(pieces) > 1:
            self.counters.v4_fragments_made += len(pieces)
        self.counters.v6_translated += 1
        return Translated(packets=tuple(pieces))

    # -- errors the translator originates ------------------------------------------------
    def _drop(self, reason: str, error: bytes | None = None) -> Translated:
        self.counters.increment(reason)
        return Translated(error=error, drop=reason)

    def _icmp4_error(
        self, offending: memoryview, to: IPv4Address, t: int, c: int, rest: int
    ) -> bytes | None:
        """An ICMPv4 error from the translator's IPv4 address, quoting as much of the
        offending datagram as fits 576 octets (RFC 1812 §4.3.2.3)."""
        me = self.config.ipv4_address
        if me is None:
            return None
        msg = Icmpv4Header(t, c, rest).message(offending[: MAX_ICMPV4_ERROR - 28])
        out = bytearray(20 + len(msg))
        ident = self.rng.getrandbits(16)
        emit_v4(out, 0, len(out), ident, 0, ERROR_HOP_LIMIT, IPPROTO_ICMP, me, to)
        out[20:] = msg
        self.counters.icmpv4_errors_sent += 1
        return bytes(out)

    def _icmp6_error(
        self, offending: memoryview, to: IPv6Address, t: int, c: int, rest: int
    ) -> bytes | None:
        """An ICMPv6 error from the translator's IPv6 address, quoting as much of the
        offending packet as fits the minimum MTU (RFC 4443 §2.4 (c))."""
        me = self.config.ipv6_address
        if me is None:
            return None
        body = icmpv6_message(t, c, rest, offending[: MIN_MTU - 48], me, to)
        out = bytearray(40)
        emit_v6(out, 0, len(body), IPPROTO_ICMPV6, ERROR_HOP_LIMIT, me, to)
        self.counters.icmpv6_errors_sent += 1
        return bytes(out + body)


def _icmp4_is_error(buf: memoryview, ihl: int) -> bool:
    return len(buf) > ihl and buf[ihl] in v4.ERROR_TYPES


def _icmp6_is_error(buf: memoryview, off: int) -> bool:
    # RFC 4443 §2.1: types below 128 are errors.
    return len(buf) > off and buf[off] < 128
