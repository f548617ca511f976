"""IPv6 fragmentation and reassembly, the reference model: RFC 8200 §4.5.

Written to be read beside RFC 8200 §4.5, with the RFCs that refine it:

* RFC 5722 §4 (now in RFC 8200 §4.5): overlapping fragments discard the whole packet, silently,
  "including those not yet received"; exact duplicates MAY be dropped alone. This model
  drops exact duplicates alone: a duplicated frame on a link must not cost the packet.
* RFC 6946 §4 (now in RFC 8200 §4.5): an atomic fragment (offset 0, M=0) is a whole packet, never
  mixed with the fragments of a packet being reassembled.
* RFC 7112 §5 (now in RFC 8200 §4.5): the first fragment carries the whole header chain, through
  the upper-layer header; otherwise it is discarded with Parameter Problem code 3.
* RFC 6980 §5: Neighbor Discovery messages in fragments are discarded.
* RFC 7739 §5: Fragment Identification values are unpredictable.

Plain data, pure functions, no state machine library, no I/O. Packets are ``bytes`` and
this module reads the few fields it needs itself. The stack (``tcpip6.stack.fragment``)
is checked against this model by ``tests/model/test_reassembly.py``; it never imports it.

Two rules RFC 8200 does not state, chosen as most implementations do:

* a fragment with M=1 and no data is dropped alone (it adds nothing);
* fragments that disagree on where the packet ends (two last fragments of different
  lengths, data past the last fragment's end) abandon the packet like an overlap;
* the "Payload Length of the packet reassembled from that fragment" counts the
  per-fragment headers of the first fragment once it is held (its headers are the ones
  kept, RFC 8200 §4.5), and a first fragment is checked against the furthest fragment already held,
  so that a reassembled packet can never be longer than 65,535 octets.

Actions are tuples, easy to compare:

* ``("deliver", packet, offset, next_header)``: the reassembled packet (or the atomic
  fragment made whole); processing goes on at ``offset`` with ``next_header``;
* ``("time_exceeded", first_fragment_packet)``: ICMPv6 Time Exceeded code 1;
* ``("parameter_problem", code, pointer, fragment_packet)``;
* ``("drop", reason)``: what was discarded and why.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from ipaddress import IPv6Address

# -- constants ----------------------------------------------------------------------------
# RFC 8200 §4.5: "within 60 seconds of the reception of the first-arriving"
REASSEMBLY_TIMEOUT = 60.0
MAXIMUM_PAYLOAD_LENGTH = 65535  # RFC 8200 §3: Payload Length is a 16-bit field
MINIMUM_MTU = 1280  # RFC 8200 §5
IPV6_HEADER_LENGTH = 40  # RFC 8200 §3
FRAGMENT_HEADER_LENGTH = 8  # RFC 8200 §4.5

# Next Header values (IANA "Assigned Internet Protocol Numbers").
HOP_BY_HOP = 0
TCP = 6
UDP = 17
ROUTING = 43
FRAGMENT = 44
ICMPV6 = 58
NO_NEXT_HEADER = 59
DESTINATION_OPTIONS = 60

#: Extension headers whose length is (Hdr Ext Len + 1) * 8 octets (RFC 8200 §4.3, RFC 8200 §4.4,
#: RFC 8200 §4.6).
EXTENSION_HEADERS = (HOP_BY_HOP, ROUTING, DESTINATION_OPTIONS)

#: RFC 7112 §5: how much of each upper-layer header the first fragment must carry: the
#: fixed TCP header (RFC 9293 §3.1), the UDP header (RFC 768), the ICMPv6 Type, Code and
#: Checksum (RFC 4443 §2.1). For any other protocol, the header chain up to it suffices.
UPPER_LAYER_HEADER_LENGTH = {TCP: 20, UDP: 8, ICMPV6: 4}

# ICMPv6 (RFC 4443 §3.3, RFC 4443 §3.4).
TIME_EXCEEDED_REASSEMBLY = 1  # "fragment reassembly time exceeded"
PARAMETER_PROBLEM_HEADER_FIELD = 0  # "erroneous header field encountered"
PARAMETER_PROBLEM_INCOMPLETE_CHAIN = 3  # RFC 7112: "IPv6 First Fragment has incomplete ..."
PAYLOAD_LENGTH_FIELD = 4  # offset of Payload Length in the IPv6 header (RFC 8200 §3)

# RFC 6980 §5 / RFC 4861 §4: Router Solicitation .. Redirect.
ND_MESSAGE_TYPES = range(133, 138)

Action = tuple[object, ...]


def _u16(packet: bytes, at: int) -> int:
    return int.from_bytes(packet[at : at + 2], "big")


# -- RFC 8200 §4.5 the fragment packet -------------------------------------------------------------


@dataclass(frozen=True)
class Fragment:
    """One fragment packet, as RFC 8200 §4.5 draws it: per-fragment headers, Fragment header,
    fragment data."""

    packet: bytes  # the whole fragment packet as received
    source: IPv6Address
    destination: IPv6Address
    identification: int
    fragment_header_at: int  # offset of the Fragment header in ``packet``
    next_header_field_at: int  # offset of the Next Header field that names it
    next_header: int  # the Fragment header's Next Header
    offset: int  # Fragment Offset, converted from 8-octet units to octets
    m_flag: bool  # 1 = more fragments, 0 = last fragment
    data: bytes  # "the fragments following the Fragment headers"

    @property
    def end(self) -> int:
        return self.offset + len(self.data)

    @property
    def per_fragment_length(self) -> int:
        """The extension headers between the IPv6 header and the Fragment header."""
        return self.fragment_header_at - IPV6_HEADER_LENGTH

    @property
    def key(self) -> tuple[IPv6Address, IPv6Address, int]:
        """RFC 8200 §4.5: "An original packet is reassembled only from fragment packets that have
        the same Source Address, Destination Address, and Fragment Identification"."""
        return (self.source, self.destination, self.identification)

    @property
    def is_atomic(self) -> bool:
        """RFC 6946 §4: Fragment Offset 0 and M flag 0."""
        return self.offset == 0 and not self.m_flag


def parse_fragment(packet: bytes) -> Fragment | None:
    """The Fragment header of ``packet`` and what surrounds it; None when the packet has
    no Fragment header among its per-fragment headers (or they are truncated)."""
    payload_end = IPV6_HEADER_LENGTH + _u16(packet, 4)
    packet = packet[:payload_end]
    next_header, at, field_at = packet[6], IPV6_HEADER_LENGTH, 6
    while next_header in EXTENSION_HEADERS:
        if at + 2 > len(packet):
            return None
        next_header, field_at, at = packet[at], at, at + (packet[at + 1] + 1) * 8
    if next_header != FRAGMENT or at + FRAGMENT_HEADER_LENGTH > len(packet):
        return None
    word = _u16(packet, at + 2)
    return Fragment(
        packet=packet,
        source=IPv6Address(packet[8:24]),
        destination=IPv6Address(packet[24:40]),
        identification=int.from_bytes(packet[at + 4 : at + 8], "big"),
        fragment_header_at=at,
        next_header_field_at=field_at,
        next_header=packet[at],
        offset=(word >> 3) * 8,
        m_flag=bool(word & 1),
        data=packet[at + FRAGMENT_HEADER_LENGTH :],
    )


def has_whole_header_chain(first: Fragment) -> bool:
    """RFC 7112 §5: the first fragment holds every extension header after the Fragment
    header and the upper-layer header."""
    next_header, at, data = first.next_header, 0, first.data
    while next_header in (*EXTENSION_HEADERS, FRAGMENT):
        if at + 2 > len(data):
            return False
        length = 8 if next_header == FRAGMENT else (data[at + 1] + 1) * 8
        next_header, at = data[at], at + length
    if at > len(data):
        return False
    if next_header == NO_NEXT_HEADER:
        return True
    return at + UPPER_LAYER_HEADER_LENGTH.get(next_header, 0) <= len(data)


# -- RFC 8200 §4.5 reassembly: the buffer of one original packet ---------------------------------


@dataclass(frozen=True)
class ReassemblyBuffer:
    """The fragments received of one original packet."""

    started: float  # when the first-arriving fragment came
    fragments: tuple[Fragment, ...] = ()  # held, in arrival order
    discarded: bool = False  # RFC 5722: abandoned; later fragments are dropped too

    @property
    def deadline(self) -> float:
        return self.started + REASSEMBLY_TIMEOUT

    @property
    def first(self) -> Fragment | None:
        """The fragment "whose Fragment Offset is zero", if it came."""
        return next((f for f in self.fragments if f.offset == 0), None)

    @property
    def length(self) -> int | None:
        """The length of the Fragmentable Part, known once the last fragment came."""
        return next((f.end for f in self.fragments if not f.m_flag), None)

    @property
    def furthest(self) -> int:
        return max((f.end for f in self.fragments), default=0)


def reassembled_payload_length(buffer: ReassemblyBuffer | None, fragment: Fragment) -> int:
    """RFC 8200 §4.5: "the Payload Length of the packet reassembled from that fragment" (see the
    module docstring for how the first fragment's headers count)."""
    first = buffer.first if buffer is not None else None
    if fragment.offset == 0 or first is None:
        per_fragment = fragment.per_fragment_length
    else:
        per_fragment = first.per_fragment_length
    end = fragment.end
    if fragment.offset == 0 and buffer is not None:
        end = max(end, buffer.furthest)
    return per_fragment + end


def is_exact_duplicate(buffer: ReassemblyBuffer, fragment: Fragment) -> bool:
    return any(
        (f.offset, f.m_flag, f.data) == (fragment.offset, fragment.m_flag, fragment.data)
        for f in buffer.fragments
    )


def overlaps(buffer: ReassemblyBuffer, fragment: Fragment) -> bool:
    """RFC 5722 §4: does any octet of ``fragment`` fall where a held fragment has one?"""
    return any(f.offset < fragment.end and fragment.offset < f.end for f in buffer.fragments)


def length_conflict(buffer: ReassemblyBuffer, fragment: Fragment) -> bool:
    """Do the fragments disagree on where the packet ends?"""
    length = buffer.length
    if not fragment.m_flag:
        return (length is not None and length != fragment.end) or buffer.furthest > fragment.end
    return length is not None and fragment.end > length


def is_complete(buffer: ReassemblyBuffer) -> bool:
    """Every octet of the Fragmentable Part is here. No two held fragments overlap, so
    their lengths add up to the packet's length exactly when there is no hole."""
    length = buffer.length
    return length is not None and sum(len(f.data) for f in buffer.fragments) == length


def reassemble(buffer: ReassemblyBuffer) -> bytes:
    """RFC 8200 §4.5: the per-fragment headers of the first fragment, with the Next Header of the
    last of them taken from the first fragment's Fragment header and the Payload Length
    recomputed, then the fragments' data in order; "The Fragment header is not present in
    the final, reassembled packet"."""
    first = buffer.first
    length = buffer.length
    assert first is not None and length is not None
    headers = bytearray(first.packet[: first.fragment_header_at])
    headers[first.next_header_field_at] = first.next_header
    headers[4:6] = (first.per_fragment_length + length).to_bytes(2, "big")
    data = b"".join(f.data for f in sorted(buffer.fragments, key=lambda f: f.offset))
    return bytes(headers) + data


def _deliver(packet: bytes, fragment: Fragment) -> Action:
    return ("deliver", packet, fragment.fragment_header_at, fragment.next_header)


def on_fragment(
    buffer: ReassemblyBuffer | None, fragment: Fragment, now: float
) -> tuple[ReassemblyBuffer | None, list[Action]]:
    """A fragment arrived for the packet whose buffer is ``buffer`` (None: no buffer yet).
    Returns the buffer afterwards (None: none, or freed because the packet is complete)
    and what to do."""
    # RFC 6946 §4, RFC 8200 §4.5: "If the fragment is a whole datagram ... it does not need any
    # further reassembly"; "Any other fragments that match this packet ... should be
    # processed independently".
    if fragment.is_atomic:
        whole = ReassemblyBuffer(now, (fragment,))
        return buffer, [_deliver(reassemble(whole), fragment)]
    # RFC 5722 §4: "including those not yet received".
    if buffer is not None and buffer.discarded:
        return buffer, [("drop", "after_discard")]
    # RFC 8200 §4.5: not a multiple of 8 octets with M=1: "that fragment must be discarded and an
    # ICMP Parameter Problem, Code 0, message should be sent to the source of the fragment,
    # pointing to the Payload Length field of the fragment packet".
    if fragment.m_flag and len(fragment.data) % 8:
        pointer = PAYLOAD_LENGTH_FIELD
        return buffer, [
            ("parameter_problem", PARAMETER_PROBLEM_HEADER_FIELD, pointer, fragment.packet),
            ("drop", "bad_length"),
        ]
    # RFC 8200 §4.5: longer than 65,535 octets: Parameter Problem "pointing to the Fragment Offset
    # field of the fragment packet" (two octets into the Fragment header).
    if reassembled_payload_length(buffer, fragment) > MAXIMUM_PAYLOAD_LENGTH:
        pointer = fragment.fragment_header_at + 2
        return buffer, [
            ("parameter_problem", PARAMETER_PROBLEM_HEADER_FIELD, pointer, fragment.packet),
            ("drop", "too_long"),
        ]
    # Not in RFC 8200: a fragment with M=1 and no data adds no octet; dropped alone.
    if fragment.m_flag and not fragment.data:
        return buffer, [("drop", "empty")]
    # RFC 7112 §5, RFC 8200 §4.5: "If the first fragment does not include all headers through an
    # Upper-Layer header, then that fragment should be discarded and an ICMP Parameter
    # Problem, Code 3, message should be sent ..., with the Pointer field set to zero."
    if fragment.offset == 0 and not has_whole_header_chain(fragment):
        return buffer, [
            ("parameter_problem", PARAMETER_PROBLEM_INCOMPLETE_CHAIN, 0, fragment.packet),
            ("drop", "incomplete_chain"),
        ]
    if buffer is None:
        buffer = ReassemblyBuffer(started=now)
    if is_exact_duplicate(buffer, fragment):
        return buffer, [("drop", "duplicate")]
    if overlaps(buffer, fragment):
        # RFC 5722 §4: "MUST be silently discarded".
        return ReassemblyBuffer(buffer.started, (), discarded=True), [("drop", "overlap")]
    if length_conflict(buffer, fragment):
        return ReassemblyBuffer(buffer.started, (), discarded=True), [("drop", "length_conflict")]
    buffer = replace(buffer, fragments=(*buffer.fragments, fragment))
    if is_complete(buffer):
        first = buffer.first
        assert first is not None
        return None, [_deliver(reassemble(buffer), first)]
    return buffer, []


# -- memory (an implementation's bound; RFC 8200 §4.5 sets none) ---------------------------
@dataclass(frozen=True)
class MemoryLimits:
    """What reassembly may hold: octets of fragment packets and packets being reassembled,
    in all and from one source address."""

    octets: int
    packets: int
    octets_per_source: int
    packets_per_source: int


Key = tuple[IPv6Address, IPv6Address, int]


def octets_held(buffer: ReassemblyBuffer) -> int:
    return sum(len(f.packet) for f in buffer.fragments)


def evictions(
    buffers: dict[Key, ReassemblyBuffer],
    key: Key,
    size: int,
    new_packet: bool,
    limits: MemoryLimits,
) -> tuple[list[Key], str | None]:
    """Which packets to give up, oldest first (``buffers`` in the order their packets
    began), so that a fragment of ``size`` octets for ``key`` fits: while its source is
    over its share, that source's oldest; else the oldest of all; never ``key``'s own.
    The rule is the implementation's, not RFC 8200's: Linux frees its oldest fragment
    queues the same way. Returns the victims and, when no victim is left and it still does
    not fit, which share refused it ("source_limit" or "memory_limit")."""
    held = {k: octets_held(b) for k, b in buffers.items()}
    victims: list[Key] = []

    def over() -> str | None:
        mine = [k for k in held if k[0] == key[0]]
        if (new_packet and len(mine) >= limits.packets_per_source) or sum(
            held[k] for k in mine
        ) + size > limits.octets_per_source:
            return "source_limit"
        if (new_packet and len(held) >= limits.packets) or sum(
            held.values()
        ) + size > limits.octets:
            return "memory_limit"
        return None

    while (why := over()) is not None:
        victim = next(
            (k for k in held if k != key and (why == "memory_limit" or k[0] == key[0])), None
        )
        if victim is None:
            return victims, why
        del held[victim]
        victims.append(victim)
    return victims, None


def on_fragment_bounded(
    buffers: dict[Key, ReassemblyBuffer],
    fragment: Fragment,
    now: float,
    limits: MemoryLimits,
) -> tuple[dict[Key, ReassemblyBuffer], list[Action]]:
    """:func:`on_fragment` for all the packets being reassembled, within ``limits``: a
    fragment that would be held (or complete its packet) first makes room by
    :func:`evictions` (each victim a ``("drop", "evicted")``), or is dropped alone when
    it cannot. Returns the buffers afterwards, in the order their packets began."""
    key = fragment.key
    buffer = buffers.get(key)
    after, actions = on_fragment(buffer, fragment, now)
    kept = not actions or actions[0][0] == "deliver"  # held, or it completed the packet
    out = dict(buffers)
    if fragment.is_atomic or not kept:
        if after is None:
            out.pop(key, None)
        else:
            out[key] = after
        return out, actions
    victims, refused = evictions(buffers, key, len(fragment.packet), buffer is None, limits)
    if refused is not None:
        return dict(buffers), [("drop", refused)]
    for victim in victims:
        del out[victim]
    if after is None:
        out.pop(key, None)
    else:
        out[key] = after
    return out, [*(("drop", "evicted") for _ in victims), *actions]


def on_timeout(buffer: ReassemblyBuffer) -> list[Action]:
    """RFC 8200 §4.5: reassembly time ran out: "reassembly of that packet must be abandoned and all
    the fragments that have been received for that packet must be discarded. If the first
    fragment ... has been received, an ICMP Time Exceeded -- Fragment Reassembly Time
    Exceeded message should be sent to the source of that fragment." A discarded packet's
    buffer holds nothing and sends nothing (RFC 5722: silently)."""
    if buffer.discarded:
        return []
    first = buffer.first
    sent: list[Action] = [] if first is None else [("time_exceeded", first.packet)]
    return [*sent, ("drop", "timeout")]


def nd_message_accepted(icmpv6_type: int, was_fragmented: bool) -> bool:
    """RFC 6980 §5: "A host that processes ... a packet containing an IPv6 Neighbor
    Discovery message that was fragmented MUST silently ignore it"."""
    return not (was_fragmented and icmpv6_type in ND_MESSAGE_TYPES)


# -- RFC 8200 §4.5 fragmentation -------------------------------------------------------------------


def per_fragment_part(packet: bytes) -> tuple[int, int]:
    """RFC 8200 §4.5: "The Per-Fragment headers must consist of the IPv6 header plus any extension
    headers that must be processed by nodes en route to the destination, that is: all
    headers up to and including the Routing header if present, else the Hop-by-Hop
    Options header if present, else no extension headers." Returns its length and the
    offset of the Next Header field of its last header."""
    end, field_at = IPV6_HEADER_LENGTH, 6
    next_header, at = packet[6], IPV6_HEADER_LENGTH
    while next_header in EXTENSION_HEADERS:
        length = (packet[at + 1] + 1) * 8
        if next_header == ROUTING or (next_header == HOP_BY_HOP and at == IPV6_HEADER_LENGTH):
            # Its Next Header field is its first octet.
            end, field_at = at + length, at
        next_header, at = packet[at], at + length
    return end, field_at


def fragment(packet: bytes, mtu: int, identification: int) -> list[bytes]:
    """RFC 8200 §4.5: split ``packet`` into fragment packets of at most ``mtu`` octets. Each
    fragment
    but the last carries a multiple of 8 octets of the Fragmentable Part, as much as fits;
    each Fragment header carries the Next Header that followed the per-fragment headers;
    the last per-fragment header's Next Header becomes 44 (Fragment). A packet that fits
    is sent whole, without a Fragment header (RFC 8021: no atomic fragments)."""
    if len(packet) <= mtu:
        return [packet]
    unfragmentable, field_at = per_fragment_part(packet)
    per_fragment = bytearray(packet[:unfragmentable])
    first_fragmentable = per_fragment[field_at]
    per_fragment[field_at] = FRAGMENT
    fragmentable = packet[unfragmentable:]
    room = (mtu - unfragmentable - FRAGMENT_HEADER_LENGTH) // 8 * 8
    if room <= 0:
        return []
    out = []
    for offset in range(0, len(fragmentable), room):
        data = fragmentable[offset : offset + room]
        m_flag = offset + room < len(fragmentable)
        header = bytearray(per_fragment)
        header[4:6] = (len(header) - IPV6_HEADER_LENGTH + 8 + len(data)).to_bytes(2, "big")
        word = offset // 8 << 3 | int(m_flag)
        fragment_header = (
            bytes([first_fragmentable, 0])
            + word.to_bytes(2, "big")
            + identification.to_bytes(4, "big")
        )
        out.append(bytes(header) + fragment_header + data)
    return out
