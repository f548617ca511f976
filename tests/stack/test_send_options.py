"""Options a sender adds (RFC 8200 §4.2-§4.3, §4.6): a Hop-by-Hop and a Destination Options
header on the wire in the order of §4.1, acted on by the receiver by their action bits, and
kept in the right part of the packet when it is fragmented (§4.5)."""

from __future__ import annotations

from scapy.layers.inet6 import (
    HBHOptUnknown,
    ICMPv6EchoReply,
    ICMPv6EchoRequest,
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
)
from scapy.layers.l2 import Ether

from tcpip6.wire import ext as wire_ext
from tcpip6.wire import icmpv6 as wi
from tests.stack.conftest import B_LL, Pair

SKIP = wire_ext.Option(0x1E, b"hop")  # action bits 00: skip over it
SKIP_DST = wire_ext.Option(0x3E, b"dest!")  # action 00 (0x3E: the change bit set)
DISCARD_ICMP = wire_ext.Option(0x9E, b"x")  # action bits 10: discard, Parameter Problem


def sent_by_a(pair: Pair) -> list[Ether]:
    frames: list[Ether] = []

    def observe(iface: object, frame: bytes, now: float) -> None:
        if iface is pair.ia:
            frames.append(Ether(frame))

    pair.world.observers.append(observe)
    return frames


def unknown(opts: list[object]) -> list[tuple[int, bytes]]:
    return [(o.otype, bytes(o.optdata)) for o in opts if isinstance(o, HBHOptUnknown)]


def test_options_go_out_in_order_and_a_skip_option_is_skipped(pair: Pair) -> None:
    frames = sent_by_a(pair)
    assert pair.a.icmpv6.send(
        B_LL,
        wi.EchoRequest(3, 1, b"opts"),
        pair.world.now,
        hop_by_hop=(SKIP,),
        destination_options=(SKIP_DST,),
    )
    pair.world.run_for(1.0)
    [req] = [f for f in frames if ICMPv6EchoRequest in f]
    # RFC 8200 §4.1: IPv6, Hop-by-Hop, Destination Options, upper layer.
    ip = req[IPv6]
    assert ip.nh == 0 and req[IPv6ExtHdrHopByHop].nh == 60 and req[IPv6ExtHdrDestOpt].nh == 58
    assert unknown(req[IPv6ExtHdrHopByHop].options) == [(0x1E, b"hop")]
    assert unknown(req[IPv6ExtHdrDestOpt].options) == [(0x3E, b"dest!")]
    assert len(req[IPv6ExtHdrHopByHop]) - len(req[IPv6ExtHdrDestOpt]) == 8  # each padded to 8
    # B skipped both unknown options (action 00) and answered.
    assert [(r.identifier, r.data) for r in pair.a.icmpv6.echo_replies] == [(3, b"opts")]
    assert pair.b.ip.unknown_option_drop == 0


def test_a_discard_option_draws_parameter_problem_code_2_at_the_option(pair: Pair) -> None:
    assert pair.a.icmpv6.send(
        B_LL, wi.EchoRequest(3, 2, b"x"), pair.world.now, destination_options=(DISCARD_ICMP,)
    )
    pair.world.run_for(1.0)
    assert not pair.a.icmpv6.echo_replies and pair.b.ip.unknown_option_drop == 1
    # The option type sits right after the Destination Options header's two octets.
    assert [(e.type, e.code, e.parameter) for e in pair.a.icmpv6.errors_received] == [
        (wi.PARAMETER_PROBLEM, wi.PARAM_PROBLEM_OPTION, 40 + 2)
    ]


def test_fragmented_hop_by_hop_stays_in_front_destination_options_travel_inside(
    pair: Pair,
) -> None:
    frames = sent_by_a(pair)
    data = bytes(range(256)) * 8
    assert pair.a.icmpv6.send(
        B_LL,
        wi.EchoRequest(3, 3, data),
        pair.world.now,
        hop_by_hop=(SKIP,),
        destination_options=(SKIP_DST,),
    )
    pair.world.run_for(1.0)
    frags = [f for f in frames if IPv6ExtHdrFragment in f]
    assert len(frags) == 2
    # §4.5: Hop-by-Hop is per-fragment (in every fragment, before the Fragment header);
    # the Destination Options header is in the fragmentable part (first fragment only).
    assert all(f[IPv6].nh == 0 and f[IPv6ExtHdrHopByHop].nh == 44 for f in frags)
    assert frags[0][IPv6ExtHdrFragment].nh == 60 and frags[1][IPv6ExtHdrFragment].nh == 60
    assert IPv6ExtHdrDestOpt in frags[0] and IPv6ExtHdrDestOpt not in frags[1]
    assert [(r.sequence, r.data) for r in pair.a.icmpv6.echo_replies] == [(3, data)]
    assert pair.b.ip.reassembly_ok == 1
    assert ICMPv6EchoReply not in frags[0]
