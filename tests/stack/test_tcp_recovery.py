"""Loss recovery on the wire: fast retransmit after three duplicate ACKs (RFC 5681 §3.2),
NewReno's partial ACKs (RFC 6582), and SACK (RFC 2018) used by the sender to resend only
the holes (RFC 6675)."""

from __future__ import annotations

import struct

from tcpip6.stack.tcp import TcpParameters
from tcpip6.wire.tcp import Sack
from tests.stack.conftest import Pair
from tests.stack.tcpscenario import Connected, Sent, connected, drop_once, tcp_wire

PAYLOAD = bytes(range(256)) * 120  # 30720 octets: 22 segments of 1428


def _seq(c: Connected, k: int) -> int:
    """The sequence number of the client's data segment number ``k`` (from 0)."""
    return (c.ca.iss + 1 + k * c.ca.mss) % 2**32


def _transfer(c: Connected) -> None:
    c.transfer(PAYLOAD)


def _retransmitted(wire: list[Sent]) -> list[Sent]:
    seen: set[int] = set()
    out = []
    for s in wire:
        if s.host == "a" and s.data:
            if s.seg.seq in seen:
                out.append(s)
            seen.add(s.seg.seq)
    return out


def test_three_duplicate_acks_retransmit_before_the_rto(pair: Pair) -> None:
    c = connected(pair, lambda p: TcpParameters(sack=False))
    assert c.ca.mss == 1428 and not c.ca.sack_ok
    wire = tcp_wire(pair.world)
    lost = _seq(c, 8)  # in slow start, with 8 segments in flight
    drop_once(pair.world, pair.ib, {lost})
    t0 = pair.world.now
    _transfer(c)
    [rtx] = _retransmitted(wire)
    assert rtx.seg.seq == lost and len(rtx.data) == 1428
    # Before it: the ACK that reached the hole, then at least three duplicates of it (the
    # same ACK and window, no data), all within a millisecond.
    before = [s for s in wire if s.host == "b" and s.t <= rtx.t and s.seg.ack == lost]
    assert len(before) >= 4 and len({s.seg.window for s in before[1:]}) == 1
    assert rtx.t - t0 < 0.002  # long before the 1 s RTO
    counters = pair.a.tcp.counters
    assert counters.duplicate_acks >= 3
    assert (counters.fast_retransmits, counters.timeouts) == (1, 0)


def test_newreno_partial_ack_retransmits_the_next_hole_at_once(pair: Pair) -> None:
    """RFC 6582 §3.2 step 4: two segments lost in one window, SACK off: one fast
    retransmit, and the partial ACK that follows it resends the second hole."""
    no_sack = TcpParameters(sack=False)
    c = connected(pair, lambda p: no_sack, lambda p: no_sack)
    wire = tcp_wire(pair.world)
    first, second = _seq(c, 8), _seq(c, 11)
    assert drop_once(pair.world, pair.ib, {first, second}) is not None
    _transfer(c)
    rtx = _retransmitted(wire)
    assert [s.seg.seq for s in rtx] == [first, second]
    # The partial ACK (it acknowledges up to the second hole) came just before.
    partial = [s for s in wire if s.host == "b" and s.seg.ack == second and s.t <= rtx[1].t]
    assert partial and rtx[1].t - partial[0].t < 0.001
    counters = pair.a.tcp.counters
    assert (counters.fast_retransmits, counters.timeouts) == (1, 0)
    assert not c.ca.in_recovery and c.ca.cwnd >= c.ca.ssthresh


def test_sack_blocks_on_the_wire_and_only_the_holes_resent(pair: Pair) -> None:
    c = connected(pair)
    assert c.ca.sack_ok and c.cb.sack_ok
    mss = c.ca.mss
    wire = tcp_wire(pair.world)
    first, second = _seq(c, 8), _seq(c, 11)
    drop_once(pair.world, pair.ib, {first, second})
    _transfer(c)
    # The receiver's first duplicate ACK (after the ACK that reached the hole) reports
    # segment 9 in a SACK block; RFC 2018 §3: kind 5, length 10, left edge, right edge.
    acks = [s for s in wire if s.host == "b" and s.seg.ack == first]
    assert acks[0].seg.option(Sack) is None
    dup = acks[1]
    block = (_seq(c, 9), _seq(c, 10))
    assert dup.seg.option(Sack) == Sack((block,))
    options = dup.raw[20 : dup.seg.header_len]
    assert b"\x01\x01\x05\x0a" + struct.pack("!II", *block) in options
    # Later, two holes: the most recent block first (RFC 6582 §4).
    blocks = [s.seg.option(Sack) for s in wire if s.host == "b" and s.seg.ack == first]
    assert any(o is not None and len(o.blocks) == 2 for o in blocks)
    # RFC 6675: the sender resends the two holes, one segment each, never SACKed data.
    rtx = _retransmitted(wire)
    assert sorted((s.seg.seq, len(s.data)) for s in rtx) == [(first, mss), (second, mss)]
    counters = pair.a.tcp.counters
    assert (counters.fast_retransmits, counters.timeouts) == (1, 0)
    assert counters.sack_blocks_received > 0 and pair.b.tcp.counters.sack_blocks_sent > 0
