"""Header-chain decisions (docs/header-chains.md): long chains of Destination Options
headers, runs of padding, and the Jumbo Payload option's errors (RFC 2675 §3). scapy
builds every packet and decodes every answer from the octets tcpip6 put on the wire."""

from __future__ import annotations

import pytest
from scapy.layers import inet6 as s6
from scapy.layers.l2 import Ether
from scapy.packet import Packet, Raw

from tests.stack.conftest import Pair
from tests.stack.test_receive_path import echo, ip, send_to_b


def sent_by_b(pair: Pair) -> list[Ether]:
    """Every frame B puts on the wire from now on, decoded by scapy."""
    frames: list[Ether] = []
    pair.world.observers.append(
        lambda iface, frame, now: frames.append(Ether(frame)) if iface is pair.ib else None
    )
    return frames


def echo_replies(frames: list[Ether]) -> list[Packet]:
    return [f[s6.ICMPv6EchoReply] for f in frames if s6.ICMPv6EchoReply in f]


def param_problems(frames: list[Ether]) -> list[tuple[int, int]]:
    return [
        (f[s6.ICMPv6ParamProblem].code, f[s6.ICMPv6ParamProblem].ptr)
        for f in frames
        if s6.ICMPv6ParamProblem in f
    ]


# -- padding (RFC 4942 §2.1.9.5, RFC 8504 §5.3) -------------------------------------------
def test_seven_octets_of_padding_is_accepted(pair: Pair) -> None:
    frames = sent_by_b(pair)
    # 2 + 7 octets of PadN + an option skipped over + 5 octets of PadN: runs of 7 and 5.
    opts = [
        s6.PadN(optdata=b"\x00" * 5),
        s6.HBHOptUnknown(otype=0x1E, optdata=b""),
        s6.PadN(optdata=b"\x00" * 3),
    ]
    send_to_b(pair, ip() / s6.IPv6ExtHdrDestOpt(options=opts, autopad=0) / echo())
    assert len(echo_replies(frames)) == 1
    assert pair.b.ip.padding_too_long_drop == 0


def test_padn_longer_than_seven_octets_is_dropped_silently(pair: Pair) -> None:
    frames = sent_by_b(pair)
    pkt = ip() / s6.IPv6ExtHdrDestOpt(options=[s6.PadN(optdata=b"\x00" * 12)], autopad=0) / echo()
    assert len(bytes(pkt[s6.IPv6ExtHdrDestOpt])) - len(bytes(echo())) == 16
    send_to_b(pair, pkt)
    assert frames == []
    assert pair.b.ip.padding_too_long_drop == 1


def test_a_run_of_pad1_longer_than_seven_octets_is_dropped(pair: Pair) -> None:
    frames = sent_by_b(pair)
    opts = [s6.Pad1()] * 8 + [s6.HBHOptUnknown(otype=0x1E, optdata=b"\x00" * 4)]
    send_to_b(pair, ip() / s6.IPv6ExtHdrHopByHop(options=opts, autopad=0) / echo())
    assert frames == []
    assert pair.b.ip.padding_too_long_drop == 1


# -- long chains of Destination Options (RFC 8200 §4) ---------------------------------------
def dest_opts_chain(n: int) -> Packet:
    """An echo request behind ``n`` empty 8-octet Destination Options headers (scapy cannot
    stack thousands of layers, so the chain is the octets of one header repeated)."""
    icmp = bytes(ip() / echo())[40:]  # the checksum does not depend on the headers between
    one = bytes(s6.IPv6ExtHdrDestOpt(nh=60))
    last = bytes(s6.IPv6ExtHdrDestOpt(nh=58))
    assert len(one) == 8 and s6.PadN in s6.IPv6ExtHdrDestOpt(one)
    return ip(nh=60) / Raw(one * (n - 1) + last + icmp)


@pytest.mark.parametrize("n", [2000, 8172])
def test_long_chain_of_destination_options_is_processed_in_order(pair: Pair, n: int) -> None:
    # RFC 8200 §4: every header in turn; the frame (up to 65,424 octets) is handed to B
    # as a link with a 64 KB MTU would.
    frames = sent_by_b(pair)
    pkt = dest_opts_chain(n)
    assert len(bytes(pkt)) == 40 + 8 * n + 8
    send_to_b(pair, pkt)
    (reply,) = echo_replies(frames)
    assert (reply.id, reply.seq) == (7, 1)
    assert pair.b.ip.in_delivers == 1


def test_fragmented_long_chain_gets_parameter_problem_code_3(pair: Pair) -> None:
    # RFC 8200 §4.5: the first fragment does not hold the chain up to the upper layer.
    frames = sent_by_b(pair)
    chain = dest_opts_chain(2000)
    whole = ip(nh=44) / s6.IPv6ExtHdrFragment(nh=60, id=5) / chain[Raw]
    fragments = s6.fragment6(whole, 1280)
    assert len(fragments) == 13
    for fragment in fragments:
        send_to_b(pair, fragment)
    assert param_problems(frames) == [(3, 0)]
    assert echo_replies(frames) == []
    assert pair.b.ip.fragment_incomplete_chain_drop == 1


# -- Jumbo Payload (RFC 2675 §3) --------------------------------------------------------
def jumbo(length: int, **kw: int) -> Packet:
    return ip(**kw) / s6.IPv6ExtHdrHopByHop(options=[s6.Jumbo(jumboplen=length)])


@pytest.mark.parametrize(
    ("pkt", "pointer"),
    [
        # Jumbo Payload Length <= 65,535: the high-order octet of that field (42 + 2).
        (jumbo(1000, plen=0) / echo(), 44),
        (jumbo(65535) / echo(), 44),
        # A valid option and a non-zero Payload Length: the option's Option Type field.
        (jumbo(70000) / echo(), 42),
        # A valid jumbogram with a Fragment header: the Fragment header's first octet.
        (jumbo(70000, plen=0) / s6.IPv6ExtHdrFragment(nh=58) / echo(), 48),
        # Payload Length 0, Hop-by-Hop, no Jumbo option: the Payload Length field.
        (ip(plen=0) / s6.IPv6ExtHdrHopByHop(options=[s6.RouterAlert()]) / echo(), 4),
    ],
)
def test_jumbo_payload_errors(pair: Pair, pkt: Packet, pointer: int) -> None:
    frames = sent_by_b(pair)
    send_to_b(pair, pkt)
    (frame,) = frames
    err = frame[s6.ICMPv6ParamProblem]
    assert (err.type, err.code, err.ptr) == (4, 0, pointer)
    assert frame[s6.IPv6].dst == str(ip().src)
    # The invoking packet is quoted from its first octet.
    assert bytes(err.payload)[:40] == bytes(pkt)[:40]
    assert pair.b.ip.jumbo_payload_error_drop == 1


def test_jumbo_payload_of_the_wrong_shape_is_dropped_silently(pair: Pair) -> None:
    # RFC 2675 §2: Opt Data Len 4; no error is named for another length (Linux is silent).
    frames = sent_by_b(pair)
    bad = s6.HBHOptUnknown(otype=0xC2, optdata=b"\x00\x01\x00\x00\x00\x00")
    send_to_b(pair, ip() / s6.IPv6ExtHdrHopByHop(options=[bad]) / echo())
    assert frames == []
    assert pair.b.ip.jumbo_payload_malformed_drop == 1


def test_valid_jumbogram_is_dropped_and_counted(pair: Pair) -> None:
    frames = sent_by_b(pair)
    send_to_b(pair, jumbo(70000, plen=0) / echo())
    assert frames == []
    assert pair.b.ip.jumbogram_drop == 1


def test_jumbo_in_destination_options_is_an_unrecognised_option(pair: Pair) -> None:
    # RFC 2675 §2 puts it in Hop-by-Hop only; elsewhere RFC 8200 §4.2's action bits (11).
    frames = sent_by_b(pair)
    send_to_b(pair, ip() / s6.IPv6ExtHdrDestOpt(options=[s6.Jumbo(jumboplen=70000)]) / echo())
    assert param_problems(frames) == [(2, 42)]
