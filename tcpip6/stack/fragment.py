"""Fragmentation and reassembly (RFC 8200 §4.5), owned by the IPv6 layer.

Receive: :class:`Reassembler` keeps one :class:`ReassemblyBuffer` per (Source Address,
Destination Address, Fragment Identification), each attached to the reassembly graph
(:mod:`tcpip6.stack.machines.reassembly`). It is sans-I/O: :meth:`Reassembler.add` files a
fragment at ``now`` and :meth:`Reassembler.poll` expires buffers; both return actions
(:class:`Reassembled`, :class:`SendTimeExceeded`, :class:`SendParameterProblem`,
:class:`FragmentDropped`) for the IPv6 layer to carry out. The rules, in the order they
are applied to a fragment:

1. offset 0 and M=0: an atomic fragment (RFC 6946 §4), made whole on its own, never
   mixed with a buffer;
2. a fragment of a packet already discarded is dropped silently (RFC 5722 §4);
3. M=1 and a length not a multiple of 8: Parameter Problem code 0 at the Payload Length
   field; a reassembled Payload Length over 65,535: Parameter Problem code 0 at the
   Fragment Offset field; a first fragment without the whole header chain: Parameter
   Problem code 3, pointer 0 (RFC 7112 §5); M=1 and no data at all: dropped silently
   (RFC 8200 does not say; it would add nothing). Only that fragment is dropped;
4. an exact duplicate (same offset, M flag and data) is dropped alone: RFC 5722 §4 lets an
   implementation choose to, and a duplicated frame must not cost the packet;
5. an overlap, or fragments that disagree on where the packet ends, discard the packet
   silently (RFC 5722 §4);
6. 60 seconds after its first-arriving fragment a buffer expires: Time Exceeded code 1
   about the first fragment if it came, else nothing.

Memory is bounded (:class:`ReassemblyLimits`): fragments are counted by the size of the
packet that carried them. A fragment that would take its source over its share, or all
buffers over the total, is dropped and counted; the buffers already held are kept (they
complete if the fragment comes again, or expire). A discarded packet's buffer holds no
data, only its key, until it expires.

Send: :func:`fragment_packet` splits a packet for a given MTU (RFC 8200 §4.5); identifications
come from the host's RNG, unpredictable as RFC 7739 §5 asks.
"""

from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass
from ipaddress import IPv6Address
from typing import Generic, TypeVar

from tcpip6.stack.machines.graph import TraceSink
from tcpip6.stack.machines.reassembly import GRAPH, ReassemblyState
from tcpip6.stack.timers import DeadlineQueue
from tcpip6.wire import icmpv6 as wire_icmp
from tcpip6.wire import ipv6 as wire_ipv6
from tcpip6.wire.ext import FragmentHeader
from tcpip6.wire.ipv6 import MAX_PAYLOAD, Ipv6Header

#: RFC 8200 §4.5: "within 60 seconds of the reception of the first-arriving fragment".
REASSEMBLY_TIMEOUT = 60.0

#: RFC 7112 §5: the part of the upper-layer header a first fragment must carry (TCP's
#: fixed header, UDP's header, ICMPv6's Type, Code and Checksum); other protocols need
#: only the header chain up to them.
UPPER_LAYER_HEADER_LEN = {
    wire_ipv6.IPPROTO_TCP: 20,
    wire_ipv6.IPPROTO_UDP: 8,
    wire_ipv6.IPPROTO_ICMPV6: 4,
}

#: Extension headers whose length is (Hdr Ext Len + 1) * 8 octets.
_OPTIONS_LIKE = frozenset({wire_ipv6.HOPOPT, wire_ipv6.IPPROTO_ROUTING, wire_ipv6.IPPROTO_DSTOPTS})

#: Offset of Payload Length in the IPv6 header (RFC 8200 §3), and of Fragment Offset in the
#: Fragment header (RFC 8200 §4.5): where the Parameter Problem pointers point.
PAYLOAD_LENGTH_FIELD = 4
FRAGMENT_OFFSET_FIELD = 2

C = TypeVar("C")
Key = tuple[IPv6Address, IPv6Address, int]


@dataclass(frozen=True, slots=True)
class ReassemblyLimits:
    """How much reassembly may hold: in all, and for one source address."""

    max_bytes: int = 1 << 20
    max_datagrams: int = 256
    max_bytes_per_source: int = 256 << 10
    max_datagrams_per_source: int = 32


# -- actions -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Reassembled(Generic[C]):
    """A whole packet: processing goes on at ``offset`` (where the Fragment header was) with
    ``next_header``, named by the field at ``next_header_pointer``."""

    packet: bytes
    offset: int
    next_header: int
    next_header_pointer: int
    atomic: bool
    context: C


@dataclass(frozen=True, slots=True)
class SendTimeExceeded(Generic[C]):
    """RFC 8200 §4.5: Time Exceeded code 1 to the source of the first fragment, about it."""

    packet: bytes
    context: C


@dataclass(frozen=True, slots=True)
class SendParameterProblem(Generic[C]):
    """RFC 8200 §4.5: Parameter Problem about the fragment ``packet``."""

    packet: bytes
    code: int
    pointer: int
    context: C


@dataclass(frozen=True, slots=True)
class FragmentDropped:
    """What was dropped: ``reason`` names the IPv6 counter; ``packet_lost`` when the whole
    packet was given up (RFC 4293 ipSystemStatsReasmFails)."""

    reason: str
    packet_lost: bool = False


ReassemblyAction = Reassembled[C] | SendTimeExceeded[C] | SendParameterProblem[C] | FragmentDropped


def _whole(packet: bytes, header_at: int, pointer: int, next_header: int, data: bytes) -> bytes:
    """RFC 8200 §4.5: the per-fragment headers of ``packet``, the last one's Next Header taken
    from the Fragment header and the Payload Length recomputed, then ``data``."""
    out = bytearray(packet[:header_at])
    out[pointer] = next_header
    out[4:6] = (header_at - Ipv6Header.HEADER_LEN + len(data)).to_bytes(2, "big")
    return bytes(out) + data


def has_whole_header_chain(next_header: int, data: bytes | memoryview) -> bool:
    """RFC 7112 §5: does the first fragment's data hold every header after the Fragment
    header, through (enough of) the upper-layer header?"""
    at = 0
    while next_header in _OPTIONS_LIKE or next_header == wire_ipv6.IPPROTO_FRAGMENT:
        if len(data) < at + 2:
            return False
        if next_header == wire_ipv6.IPPROTO_FRAGMENT:
            length = FragmentHeader.HEADER_LEN
        else:
            length = (data[at + 1] + 1) * 8
        next_header = data[at]
        at += length
    if next_header == wire_ipv6.IPPROTO_NONE:
        return at <= len(data)
    return at + UPPER_LAYER_HEADER_LEN.get(next_header, 0) <= len(data)


# -- one packet being reassembled -----------------------------------------------------------
class ReassemblyBuffer:
    """The fragments of one packet (RFC 8200 §4.5), kept sorted by offset; the graph's
    model (``state``)."""

    def __init__(self, key: Key, now: float, trace_sink: TraceSink | None, label: str = "") -> None:
        self.key = key
        self.deadline = now + REASSEMBLY_TIMEOUT
        #: Sorted (offset, end) of the held fragments; no two overlap, so the ends are
        #: sorted too.
        self.spans: list[tuple[int, int]] = []
        #: (offset, end) -> (M flag, data).
        self.data: dict[tuple[int, int], tuple[bool, bytes]] = {}
        #: The offset-0 fragment as received, where its Fragment header is, and the field
        #: that names it.
        self.first: tuple[bytes, int, int] | None = None
        self.length: int | None = None  # of the Fragmentable Part, from the last fragment
        self.data_len = 0
        self.bytes_held = 0  # sizes of the fragment packets held
        self.trace_label = f"{label}frag {key[0]}>{key[1]} id {key[2]:#010x}"
        self.trace_sink = trace_sink
        GRAPH.attach(self)
        self.state: ReassemblyState

    @property
    def furthest(self) -> int:
        return self.spans[-1][1] if self.spans else 0

    def per_fragment_len(self) -> int | None:
        return None if self.first is None else self.first[1] - Ipv6Header.HEADER_LEN

    def is_duplicate(self, span: tuple[int, int], more: bool, data: bytes) -> bool:
        return self.data.get(span) == (more, data)

    def overlaps(self, start: int, end: int) -> bool:
        """RFC 5722 §4: some held fragment has an octet where this one has one. The held
        fragment starting last before ``end`` has the furthest end of those that do."""
        i = bisect.bisect_left(self.spans, (end, -1))
        return i > 0 and self.spans[i - 1][1] > start

    def disagrees_on_length(self, end: int, more: bool) -> bool:
        if not more:
            return (self.length is not None and self.length != end) or self.furthest > end
        return self.length is not None and end > self.length

    def hold(self, span: tuple[int, int], more: bool, data: bytes, size: int) -> None:
        bisect.insort(self.spans, span)
        self.data[span] = (more, data)
        self.data_len += len(data)
        self.bytes_held += size
        if not more:
            self.length = span[1]

    @property
    def complete(self) -> bool:
        return self.length is not None and self.data_len == self.length

    def assemble(self) -> bytes:
        assert self.first is not None
        return b"".join(self.data[span][1] for span in self.spans)

    def release(self) -> None:
        self.spans.clear()
        self.data.clear()
        self.data_len = 0
        self.bytes_held = 0
        self.first = None


# -- the reassembler -------------------------------------------------------------------------
class Reassembler(Generic[C]):
    """Every packet being reassembled by one host. ``context`` (the interface a fragment
    came in on) travels with each fragment into the actions about it."""

    def __init__(
        self,
        limits: ReassemblyLimits | None = None,
        trace_sink: TraceSink | None = None,
        label: str = "",
    ) -> None:
        self.limits = limits or ReassemblyLimits()
        self.buffers: dict[Key, ReassemblyBuffer] = {}
        self.contexts: dict[Key, C] = {}
        self.timers: DeadlineQueue[Key] = DeadlineQueue()
        self.bytes_held = 0
        self.source_bytes: Counter[IPv6Address] = Counter()
        self.source_datagrams: Counter[IPv6Address] = Counter()
        #: Prefix of each buffer's trace label (the host's name).
        self.label = label
        self.trace_sink = trace_sink

    def __len__(self) -> int:
        return len(self.buffers)

    def next_deadline(self) -> float | None:
        return self.timers.next_deadline()

    # -- receive -----------------------------------------------------------------------------
    def add(
        self,
        packet: bytes,
        header_at: int,
        next_header_pointer: int,
        now: float,
        context: C,
    ) -> list[ReassemblyAction[C]]:
        """File the fragment ``packet`` (trimmed to its Payload Length) whose Fragment header
        is at ``header_at`` and is named by the Next Header field at
        ``next_header_pointer``. Buffers due by ``now`` expire first."""
        out = self.poll(now)
        frag = FragmentHeader.parse(memoryview(packet)[header_at:])
        data = packet[header_at + FragmentHeader.HEADER_LEN :]
        start = frag.offset_octets
        end = start + len(data)
        if frag.is_atomic:
            # RFC 6946 §4: processed as a whole packet, apart from any buffer.
            whole = _whole(packet, header_at, next_header_pointer, frag.next_header, data)
            args = (whole, header_at, frag.next_header, next_header_pointer, True, context)
            out.append(Reassembled(*args))
            return out
        key = (IPv6Address(packet[8:24]), IPv6Address(packet[24:40]), frag.identification)
        buf = self.buffers.get(key)
        trigger = (
            "first_fragment" if start == 0 else "middle_fragment" if frag.more else "last_fragment"
        )
        if buf is not None and buf.state is ReassemblyState.DISCARDED:
            GRAPH.fire(
                buf, trigger, now
            )  # RFC 5722 §4: ignored, "including those not yet received"
            out.append(FragmentDropped("fragment_after_discard_drop"))
            return out
        refused = self._refuse(buf, packet, header_at, frag, start, end, data, context)
        if refused:
            out += refused
            return out
        size = len(packet)
        if buf is None:
            limit = self._make_room(key, size, True, now, out)
            if limit is not None:
                out.append(FragmentDropped(limit))
                return out
            buf = self._create(key, now, context)
        span = (start, end)
        if buf.is_duplicate(span, frag.more, data):
            GRAPH.fire(buf, "duplicate", now)  # RFC 5722 §4: dropped alone
            out.append(FragmentDropped("fragment_duplicate_drop"))
            return out
        if buf.overlaps(start, end):
            self._discard(buf, "overlap", now)  # RFC 5722 §4: silently, all of it
            out.append(FragmentDropped("fragment_overlap_drop", packet_lost=True))
            return out
        if buf.disagrees_on_length(end, frag.more):
            self._discard(buf, "length_conflict", now)
            out.append(FragmentDropped("fragment_length_conflict_drop", packet_lost=True))
            return out
        if buf.state is not ReassemblyState.EMPTY:
            limit = self._make_room(key, size, False, now, out)
            if limit is not None:
                out.append(FragmentDropped(limit))
                return out
        buf.hold(span, frag.more, data, size)
        self.bytes_held += size
        self.source_bytes[key[0]] += size
        if start == 0:
            buf.first = (packet, header_at, next_header_pointer)
            self.contexts[key] = context
        GRAPH.fire(buf, trigger, now)
        if buf.complete:
            GRAPH.fire(buf, "reassembled", now)
            assert buf.first is not None
            first, first_at, first_pointer = buf.first
            next_header = first[first_at]
            whole = _whole(first, first_at, first_pointer, next_header, buf.assemble())
            ctx = self.contexts[key]
            out.append(Reassembled(whole, first_at, next_header, first_pointer, False, ctx))
            self._free(buf)
        return out

    def _refuse(
        self,
        buf: ReassemblyBuffer | None,
        packet: bytes,
        header_at: int,
        frag: FragmentHeader,
        start: int,
        end: int,
        data: bytes,
        context: C,
    ) -> list[ReassemblyAction[C]]:
        """RFC 8200 §4.5's checks of a fragment on its own; each drops only that fragment."""
        if frag.more and len(data) % 8:
            # "pointing to the Payload Length field of the fragment packet".
            code, pointer = wire_icmp.PARAM_PROBLEM_HEADER_FIELD, PAYLOAD_LENGTH_FIELD
            return [
                SendParameterProblem(packet, code, pointer, context),
                FragmentDropped("fragment_bad_length_drop"),
            ]
        # "the Payload Length of the packet reassembled from that fragment": the first
        # fragment's per-fragment headers are the ones kept, once it is here; a first
        # fragment is measured against the furthest fragment held.
        per_fragment = header_at - Ipv6Header.HEADER_LEN
        if buf is not None and start != 0:
            held = buf.per_fragment_len()
            per_fragment = per_fragment if held is None else held
        furthest = end if buf is None or start != 0 else max(end, buf.furthest)
        if per_fragment + furthest > MAX_PAYLOAD:
            # "pointing to the Fragment Offset field of the fragment packet".
            code, pointer = wire_icmp.PARAM_PROBLEM_HEADER_FIELD, header_at + FRAGMENT_OFFSET_FIELD
            return [
                SendParameterProblem(packet, code, pointer, context),
                FragmentDropped("fragment_too_long_drop"),
            ]
        if frag.more and not data:
            # Adds no octet and would sit at an offset another fragment starts at: not in
            # RFC 8200, dropped alone.
            return [FragmentDropped("fragment_empty_drop")]
        if start == 0 and not has_whole_header_chain(frag.next_header, data):
            # RFC 7112 §5: code 3, "with the Pointer field set to zero".
            code = wire_icmp.PARAM_PROBLEM_INCOMPLETE_CHAIN
            return [
                SendParameterProblem(packet, code, 0, context),
                FragmentDropped("fragment_incomplete_chain_drop"),
            ]
        return []

    def _over_limit(self, source: IPv6Address, size: int, new_datagram: bool) -> str | None:
        lim = self.limits
        if new_datagram and self.source_datagrams[source] >= lim.max_datagrams_per_source:
            return "reassembly_source_limit_drop"
        if self.source_bytes[source] + size > lim.max_bytes_per_source:
            return "reassembly_source_limit_drop"
        if new_datagram and len(self.buffers) >= lim.max_datagrams:
            return "reassembly_memory_limit_drop"
        if self.bytes_held + size > lim.max_bytes:
            return "reassembly_memory_limit_drop"
        return None

    def _make_room(
        self, key: Key, size: int, new_datagram: bool, now: float, out: list[ReassemblyAction[C]]
    ) -> str | None:
        """Give up the oldest packets until a fragment of ``size`` octets for ``key`` fits
        the limits: of its own source while that source is over its share, else of any
        source; never the packet of ``key`` itself. RFC 8200 §4.5 bounds nothing: this is
        an implementation choice, Linux's (its fragment evictor frees the oldest queues),
        made so that fragments that never complete cannot lock a source's new packets out
        for the 60 s of the reassembly timer (RFC 8200 §4.5). None when it fits, else the
        counter of the refusal (only a packet bigger than a share is refused)."""
        while (limit := self._over_limit(key[0], size, new_datagram)) is not None:
            mine = limit == "reassembly_source_limit_drop"
            victim = next(
                (b for k, b in self.buffers.items() if k != key and (not mine or k[0] == key[0])),
                None,
            )
            if victim is None:
                return limit
            lost = victim.state is not ReassemblyState.DISCARDED
            GRAPH.fire(victim, "evicted", now)
            out.append(FragmentDropped("reassembly_evicted_drop", packet_lost=lost))
            self._free(victim)
        return None

    def _create(self, key: Key, now: float, context: C) -> ReassemblyBuffer:
        buf = ReassemblyBuffer(key, now, self.trace_sink, self.label)
        self.buffers[key] = buf
        self.contexts[key] = context
        self.source_datagrams[key[0]] += 1
        self.timers.arm(key, buf.deadline)
        return buf

    def _release(self, buf: ReassemblyBuffer) -> None:
        self.bytes_held -= buf.bytes_held
        source = buf.key[0]
        self.source_bytes[source] -= buf.bytes_held
        if not self.source_bytes[source]:
            del self.source_bytes[source]
        buf.release()

    def _discard(self, buf: ReassemblyBuffer, trigger: str, now: float) -> None:
        """Free what the buffer holds; keep its key until it expires (RFC 5722 §4)."""
        GRAPH.fire(buf, trigger, now)
        self._release(buf)

    def _free(self, buf: ReassemblyBuffer) -> None:
        self._release(buf)
        key = buf.key
        del self.buffers[key]
        del self.contexts[key]
        self.timers.cancel(key)
        self.source_datagrams[key[0]] -= 1
        if not self.source_datagrams[key[0]]:
            del self.source_datagrams[key[0]]
        GRAPH.detach(buf)

    # -- timers ------------------------------------------------------------------------------
    def poll(self, now: float) -> list[ReassemblyAction[C]]:
        """Expire the buffers whose reassembly time is up (RFC 8200 §4.5)."""
        out: list[ReassemblyAction[C]] = []
        for key in self.timers.pop_due(now):
            buf = self.buffers[key]
            state = buf.state
            first = buf.first
            GRAPH.fire(buf, "timer_expired", now)
            if state is not ReassemblyState.DISCARDED:
                if first is not None:
                    # "If the first fragment ... has been received, an ICMP Time Exceeded
                    # -- Fragment Reassembly Time Exceeded message should be sent".
                    out.append(SendTimeExceeded(first[0], self.contexts[key]))
                out.append(FragmentDropped("reassembly_timeout_drop", packet_lost=True))
            self._free(buf)
        return out


# -- send: fragmentation (RFC 8200 §4.5) ----------------------------------------------------
def per_fragment_part(packet: bytes | memoryview) -> tuple[int, int]:
    """RFC 8200 §4.5: the per-fragment headers are "the IPv6 header plus any extension
    headers that must be processed by nodes en route to the destination, that is: all
    headers up to and including the Routing header if present, else the Hop-by-Hop Options
    header if present, else no extension headers". Returns their length and the offset of
    the last one's Next Header field."""
    length, pointer = Ipv6Header.HEADER_LEN, 6
    nh, off = packet[6], Ipv6Header.HEADER_LEN
    while nh in _OPTIONS_LIKE and off + 2 <= len(packet):
        size = (packet[off + 1] + 1) * 8
        if nh == wire_ipv6.IPPROTO_ROUTING or (
            nh == wire_ipv6.HOPOPT and off == Ipv6Header.HEADER_LEN
        ):
            length, pointer = off + size, off
        nh = packet[off]
        off += size
    return length, pointer


def fragment_packet(packet: bytes, mtu: int, identification: int) -> list[bytes]:
    """Split ``packet`` into fragment packets of at most ``mtu`` octets (RFC 8200 §4.5):
    per-fragment headers, a Fragment header, then a multiple of 8 octets of the
    Fragmentable Part (the last fragment takes what is left). A packet that fits comes back
    whole; an empty list when the per-fragment headers leave no room."""
    if len(packet) <= mtu:
        return [packet]
    unfragmentable, pointer = per_fragment_part(packet)
    room = (mtu - unfragmentable - FragmentHeader.HEADER_LEN) & ~7
    if room <= 0:
        return []
    headers = bytearray(packet[:unfragmentable])
    next_header = headers[pointer]
    headers[pointer] = wire_ipv6.IPPROTO_FRAGMENT
    body = memoryview(packet)[unfragmentable:]
    out = []
    for start in range(0, len(body), room):
        chunk = body[start : start + room]
        more = start + room < len(body)
        plen = unfragmentable - Ipv6Header.HEADER_LEN + FragmentHeader.HEADER_LEN + len(chunk)
        headers[4:6] = plen.to_bytes(2, "big")
        frag = FragmentHeader(next_header, start >> 3, more, identification)
        out.append(bytes(headers) + frag.build() + bytes(chunk))
    return out
