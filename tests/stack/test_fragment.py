"""Fragmentation and reassembly on a simulated link (RFC 8200 §4.5), with scapy as the
oracle for what is on the wire."""

from __future__ import annotations

from ipaddress import IPv6Address
from itertools import pairwise

from scapy.layers.inet6 import (
    ICMPv6EchoReply,
    ICMPv6EchoRequest,
    ICMPv6ND_NS,
    ICMPv6NDOptSrcLLAddr,
    ICMPv6ParamProblem,
    ICMPv6TimeExceeded,
    IPv6,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
    defragment6,
)
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from tcpip6.stack.counters import Ipv6Counters
from tests.stack.conftest import A_LL, B_LL, Pair

DATA = bytes(range(256)) * 12  # 3072 octets: an echo request of three fragments


def wire(pair: Pair) -> list[tuple[str, Ether]]:
    """Every unicast frame sent from now on (MLD reports left out), as (sender, frame)."""
    sent: list[tuple[str, Ether]] = []

    def observe(iface: object, frame: bytes, now: float) -> None:
        if not frame[0] & 1:
            sent.append((pair.a.name if iface is pair.ia else pair.b.name, Ether(frame)))

    pair.world.observers.append(observe)
    return sent


def from_b(sent: list[tuple[str, Ether]]) -> list[Ether]:
    """The frames B sent, of those ``wire`` saw."""
    return [f for w, f in sent if w == "b"]


def wire_then_inject(pair: Pair, *packets: IPv6) -> list[tuple[str, Ether]]:
    """``wire`` from now on, then ``packets`` arrive at B in order."""
    sent = wire(pair)
    for packet in packets:
        inject(pair, packet)
    return sent


def inject(pair: Pair, packet: IPv6) -> None:
    """``packet`` arrives at B from A's NIC."""
    frame = Ether(src=pair.ia.link.link_address.hex(":"), dst=pair.ib.link.link_address.hex(":"))
    pair.b.receive(pair.ib, bytes(frame / packet), pair.world.now)


def echo_fragments(ident: int = 7, data: bytes = DATA, size: int = 1448) -> list[IPv6]:
    """An echo request A -> B cut by scapy into fragments of ``size`` octets of data."""
    whole = IPv6(src=str(A_LL), dst=str(B_LL)) / ICMPv6EchoRequest(id=1, seq=1, data=data)
    body = bytes(whole[ICMPv6EchoRequest])  # with its checksum, computed over the whole
    out = []
    for start in range(0, len(body), size):
        chunk = body[start : start + size]
        more = int(start + size < len(body))
        frag = IPv6ExtHdrFragment(nh=58, offset=start // 8, m=more, id=ident)
        out.append(IPv6(src=str(A_LL), dst=str(B_LL)) / frag / Raw(chunk))
    return out


def replies(pair: Pair) -> list[bytes]:
    return [r.data for r in pair.a.icmpv6.echo_replies]


def test_large_echo_is_fragmented_reassembled_and_answered_in_fragments(pair: Pair) -> None:
    sent = wire(pair)
    assert pair.a.icmpv6.send_echo_request(B_LL, 1, 1, DATA, pair.world.now)
    pair.world.run_for(1.0)
    assert replies(pair) == [DATA]

    for who, kind in (("a", ICMPv6EchoRequest), ("b", ICMPv6EchoReply)):
        frames = [f for w, f in sent if w == who and IPv6ExtHdrFragment in f]
        # RFC 8200 §4.5: 40 + 8 + 1448 = 1496 octets fit the 1500-octet link; offsets in
        # 8-octet units; M set on all but the last; one Identification.
        headers = [f[IPv6ExtHdrFragment] for f in frames]
        assert [(h.offset, h.m, h.nh) for h in headers] == [(0, 1, 58), (181, 1, 58), (362, 0, 58)]
        assert [len(f[IPv6]) for f in frames] == [1496, 1496, 40 + 8 + 8 + 3072 - 2 * 1448]
        assert len({h.id for h in headers}) == 1
        whole = IPv6(bytes(defragment6([f[IPv6] for f in frames])))
        assert kind in whole and whole[kind].data == DATA
    for host in (pair.a, pair.b):
        assert (host.ip.fragmented_ok, host.ip.fragments_created) == (1, 3)
        assert (host.ip.fragments_received, host.ip.reassembly_ok) == (3, 1)


def test_identifications_are_unpredictable(pair: Pair) -> None:
    """RFC 7739 §5: drawn from the host's RNG, not a counter."""
    sent = wire(pair)
    for seq in range(4):
        pair.a.icmpv6.send_echo_request(B_LL, 1, seq, DATA, pair.world.now)
        pair.world.run_for(0.1)
    ids = [f[IPv6ExtHdrFragment].id for w, f in sent if w == "a" and IPv6ExtHdrFragment in f]
    distinct = list(dict.fromkeys(ids))
    assert len(distinct) == 4
    assert {b - a for a, b in pairwise(distinct)} != {1}


def test_out_of_order_and_duplicated_fragments(pair: Pair) -> None:
    first, middle, last = echo_fragments()
    for packet in (last, middle, last, first, middle):
        inject(pair, packet)
    pair.world.run_for(1.0)
    assert replies(pair) == [DATA]
    c = pair.b.ip
    assert (c.reassembly_ok, c.fragment_duplicate_drop, c.fragment_after_discard_drop) == (1, 1, 0)
    # The last copy of the middle came after completion: a new buffer, waiting.
    assert len(pair.b.ipv6.reassembler) == 1


def test_overlapping_fragments_discard_the_packet_silently(pair: Pair) -> None:
    """RFC 5722 §4: the packet is discarded, and the fragments still to come too."""
    sent = wire(pair)
    first, middle, last = echo_fragments()
    other = echo_fragments(size=1440)  # same packet, cut 8 octets earlier
    inject(pair, first)
    inject(pair, other[1])  # starts inside the first fragment
    inject(pair, middle)
    inject(pair, last)
    pair.world.run_for(1.0)
    assert replies(pair) == []
    assert from_b(sent) == []
    c = pair.b.ip
    assert (c.fragment_overlap_drop, c.fragment_after_discard_drop) == (1, 2)
    assert c.reassembly_failed_drop == 1


def test_timeout_with_the_first_fragment_sends_time_exceeded(pair: Pair) -> None:
    first, _, last = echo_fragments()
    sent = wire_then_inject(pair, first, last)
    pair.world.run_for(59.9)
    assert from_b(sent) == []
    pair.world.run_for(0.2)
    (frame,) = from_b(sent)
    # RFC 8200 §4.5: Time Exceeded code 1 to the source of the first fragment, about it.
    assert frame[IPv6].dst == str(A_LL) and frame[IPv6].src == str(B_LL)
    err = frame[ICMPv6TimeExceeded]
    assert err.code == 1
    assert bytes(frame)[14 + 40 + 8 :] == bytes(first)[:1232]  # RFC 4443 §2.4 (c)
    assert pair.b.ip.reassembly_timeout_drop == 1 and len(pair.b.ipv6.reassembler) == 0


def test_timeout_without_the_first_fragment_sends_nothing(pair: Pair) -> None:
    _, middle, last = echo_fragments()
    sent = wire_then_inject(pair, middle, last)
    pair.world.run_for(61.0)
    assert from_b(sent) == []
    assert pair.b.ip.reassembly_timeout_drop == 1 and len(pair.b.ipv6.reassembler) == 0


def parameter_problem(sent: list[tuple[str, Ether]]) -> ICMPv6ParamProblem:
    (frame,) = from_b(sent)
    assert frame[IPv6].dst == str(A_LL)
    return frame[ICMPv6ParamProblem]


def test_fragment_length_not_a_multiple_of_8_points_at_payload_length(pair: Pair) -> None:
    sent = wire(pair)
    (bad,) = echo_fragments(data=DATA[:100], size=60)[:1]  # 60 octets with M=1
    inject(pair, bad)
    pair.world.run_for(0.1)
    err = parameter_problem(sent)
    assert (err.code, err.ptr) == (0, 4)
    assert pair.b.ip.fragment_bad_length_drop == 1 and len(pair.b.ipv6.reassembler) == 0


def test_reassembled_length_over_65535_points_at_fragment_offset(pair: Pair) -> None:
    sent = wire(pair)
    frag = IPv6ExtHdrFragment(nh=58, offset=8190, m=1, id=9)  # 65520 + 24 > 65535
    inject(pair, IPv6(src=str(A_LL), dst=str(B_LL)) / frag / Raw(b"\x00" * 24))
    pair.world.run_for(0.1)
    err = parameter_problem(sent)
    assert (err.code, err.ptr) == (0, 40 + 2)
    assert pair.b.ip.fragment_too_long_drop == 1


def test_first_fragment_without_the_upper_layer_header(pair: Pair) -> None:
    """RFC 7112 §5: Parameter Problem code 3, pointer 0."""
    sent = wire(pair)
    hop = IPv6ExtHdrHopByHop(options=[])
    frag = IPv6ExtHdrFragment(nh=60, offset=0, m=1, id=10)
    dest_opts = b"\x3a\x01" + b"\x01\x0c" + b"\x00" * 12  # 16 octets of Destination Options
    inject(pair, IPv6(src=str(A_LL), dst=str(B_LL)) / hop / frag / Raw(dest_opts))
    pair.world.run_for(0.1)
    err = parameter_problem(sent)
    assert (err.code, err.ptr) == (3, 0)
    assert pair.b.ip.fragment_incomplete_chain_drop == 1


def test_fragmented_neighbor_solicitation_is_dropped(pair: Pair) -> None:
    """RFC 6980 §5: ND in a fragmented packet is ignored, even once reassembled."""
    sent = wire(pair)
    mac = pair.ia.link.link_address.hex(":")
    ns = ICMPv6ND_NS(tgt=str(B_LL)) / ICMPv6NDOptSrcLLAddr(lladdr=mac)
    body = bytes((IPv6(src=str(A_LL), dst=str(B_LL), hlim=255) / ns)[ICMPv6ND_NS])
    frags = [
        IPv6(src=str(A_LL), dst=str(B_LL), hlim=255)
        / IPv6ExtHdrFragment(nh=58, offset=o // 8, m=int(o == 0), id=11)
        / Raw(body[o : o + 24] if o == 0 else body[o:])
        for o in (0, 24)
    ]
    for packet in frags:
        inject(pair, packet)
    pair.world.run_for(0.1)
    assert pair.b.ip.reassembly_ok == 1
    assert pair.b.nd.in_fragment_drop == 1
    assert from_b(sent) == []


def test_a_packet_to_ourselves_is_not_fragmented(pair: Pair) -> None:
    sent = wire(pair)
    assert pair.b.icmpv6.send_echo_request(B_LL, 3, 1, DATA, pair.world.now)
    pair.world.run_for(0.1)
    assert [r.data for r in pair.b.icmpv6.echo_replies] == [DATA]
    assert sent == []
    assert pair.b.ip.fragments_created == 0


def test_counters_of_a_clean_exchange(pair: Pair) -> None:
    pair.a.ip.reset()
    pair.a.icmpv6.send_echo_request(B_LL, 1, 1, DATA, pair.world.now)
    pair.world.run_for(1.0)
    want = Ipv6Counters(
        in_receives=3,
        in_delivers=1,
        out_requests=1,
        out_transmits=3,
        fragments_received=3,
        reassembly_ok=1,
        fragmented_ok=1,
        fragments_created=3,
    )
    assert pair.a.ip == want
    assert IPv6Address(pair.a.icmpv6.echo_replies[0].src) == B_LL


def test_fragments_follow_the_path_mtu(pair: Pair) -> None:
    """A lower path MTU (learned from Packet Too Big, RFC 8201) sizes the fragments; a
    report below 1280 still gives 1280-octet fragments (RFC 8200 §5)."""
    sent = wire(pair)
    for reported, sizes in ((1400, [1400, 1400, 424]), (1000, [1280, 1280, 664])):
        sent.clear()
        pair.a.routes.on_packet_too_big(B_LL, reported, pair.world.now, pair.ia)
        assert pair.a.icmpv6.send_echo_request(B_LL, 1, 1, DATA, pair.world.now)
        pair.world.run_for(0.5)
        frames = [f for w, f in sent if w == "a"]
        assert [len(f[IPv6]) for f in frames] == sizes
    assert replies(pair) == [DATA, DATA]


def test_hop_by_hop_after_a_fragment_header_is_not_first(pair: Pair) -> None:
    """RFC 8200 §4.1: Hop-by-Hop only right after the IPv6 header; in the fragmentable part
    of a packet it is an unrecognised Next Header, even once the packet is whole."""
    sent = wire(pair)
    frag = IPv6ExtHdrFragment(offset=0, m=0, id=12)  # atomic (RFC 6946)
    echo = ICMPv6EchoRequest(id=1, seq=1, data=b"x" * 8)
    inject(pair, IPv6(src=str(A_LL), dst=str(B_LL)) / frag / IPv6ExtHdrHopByHop() / echo)
    pair.world.run_for(0.1)
    err = parameter_problem(sent)
    assert (err.code, err.ptr) == (1, 6)  # the Next Header that named it, once made whole
    assert (pair.b.ip.atomic_fragments, pair.b.ip.hop_by_hop_not_first_drop) == (1, 1)


def test_a_flood_of_incomplete_packets_does_not_lock_the_source_out(pair: Pair) -> None:
    """Fragments that never complete, more than the source's share (32 packets): the
    oldest are given up as new ones come (the reassembly graph's ``evicted``), so a whole
    packet from the same source that follows the flood is reassembled and answered at
    once, not 60 s later when the flood's buffers expire."""
    limit = pair.b.ipv6.reassembler.limits.max_datagrams_per_source
    for ident in range(100, 100 + 3 * limit):
        inject(pair, echo_fragments(ident)[1])  # a middle fragment only
    assert len(pair.b.ipv6.reassembler) == limit
    for packet in echo_fragments(ident=7):
        inject(pair, packet)
    pair.world.run_for(0.5)
    assert replies(pair) == [DATA]
    c = pair.b.ip
    assert c.reassembly_evicted_drop == 2 * limit + 1
    assert c.reassembly_source_limit_drop == 0
    assert c.reassembly_failed_drop == 2 * limit + 1  # ipSystemStatsReasmFails
    # The survivors are the newest of the flood (the oldest went first).
    idents = sorted(k[2] for k in pair.b.ipv6.reassembler.buffers)
    assert idents == list(range(100 + 2 * limit + 1, 100 + 3 * limit))
