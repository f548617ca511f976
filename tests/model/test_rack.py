"""RFC 8985 RACK: the stack's loss marks (tcpip6.stack.tcp.congestion.rack) against the
RFC 8985 model (tcpip6/spec/rfc8985_rack.py) on random ACK sequences at random times.

A sends a flight into a silenced link; the test plays the receiver with crafted ACKs
(random SACK blocks and cumulative acknowledgments, 0-20 ms apart). The model's segments
are the test's own, from the wire: each data segment A sends, with its send time, and a
retransmission when A sends one again. At every moment the stack runs RACK_detect_loss
(on an ACK, or when its RACK reordering timer fires), the model runs on the same segments
with the RACK state it computed itself from the ACKs (RFC 8985 §6.2 steps 1-3); only
SRTT (RFC 6298, its own model test) and whether A is in recovery are the stack's. The
segments marked lost must be the same, and so must the time to the next mark."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from tcpip6.spec import rfc8985_rack as spec
from tcpip6.stack.tcp import TcpParameters
from tcpip6.stack.tcp.congestion.rack import RackRecovery
from tests.model.test_prr import _ack, _runs, _server
from tests.profiles import examples
from tests.stack.conftest import make_pair
from tests.stack.tcpscenario import connected, inject, tcp_wire

FLIGHT = 16

EVENTS = st.lists(
    st.tuples(
        st.sampled_from(["sack", "sack", "sack", "cum"]),
        st.integers(0, 1000),
        st.sampled_from([0.0, 0.0005, 0.002, 0.005, 0.01, 0.02]),
    ),
    min_size=3,
    max_size=30,
)


def _client(p: TcpParameters) -> TcpParameters:
    return dataclasses.replace(p, timestamps=False, nagle=False, rack=True)


@settings(max_examples=examples(40))
@given(EVENTS)
def test_rack_marks_losses_as_rfc_8985(events: list[tuple[str, int, float]]) -> None:
    pair = make_pair()
    c = connected(pair, _client, _server)
    a = c.ca
    mss = a.mss
    base = a.iss + 1
    rec = a.snd.recovery
    assert isinstance(rec, RackRecovery)
    a.cwnd = FLIGHT * mss
    pair.world.segment("lan").impairments.loss = 1.0  # B hears nothing: the test is B
    wire = tcp_wire(pair.world)
    c.client.send(bytes(3 * FLIGHT * mss))
    window = a.snd_wnd >> a.snd_wscale

    segs: dict[int, spec.Segment] = {}  # the model's outstanding segments, by index
    applied = 0
    rack = spec.Rack()
    pending: list[int] = []  # segment indices the ACK being processed delivered
    checks = 0

    def apply_wire() -> None:
        nonlocal applied
        for s in wire[applied:]:
            if s.host != "a" or not s.data:
                continue
            i = ((s.seg.seq - base) % 2**32) // mss
            # Send offsets, as the stack's (data from offset 1, after the SYN).
            start = 1 + i * mss
            old = segs.get(i)
            if old is None and i not in gone:
                segs[i] = spec.Segment(start, start + mss, s.t)
            elif old is not None:
                segs[i] = dataclasses.replace(old, xmit_ts=s.t, retransmitted=True, lost=False)
        applied = len(wire)

    orig_detect = rec.detect_loss

    def detect_loss(now: float) -> float:
        nonlocal rack, checks
        apply_wire()
        if pending:
            delivered = [segs.pop(i) for i in sorted(pending)]
            gone.update(pending)
            pending.clear()
            rack = spec.update(rack, delivered, now)
        reo = spec.reo_wnd(
            rack,
            in_recovery=rec.in_recovery,
            segs_sacked=len(reported),
            dup_thresh=3,
            srtt=a.rto.srtt or 0.0,
        )
        order = sorted(segs)
        marked, timeout = spec.detect_loss(rack, [segs[i] for i in order], reo, now)
        segs.update(zip(order, marked, strict=True))
        got = orig_detect(now)
        assert {s.start for s in rec.segs if s.lost} == {s.start for s in marked if s.lost}
        assert got == pytest.approx(timeout, abs=1e-9)
        checks += 1
        return got

    rec.detect_loss = detect_loss  # type: ignore[method-assign]
    gone: set[int] = set()
    cum = 0
    reported: set[int] = set()
    for kind, k, dt in events:
        pair.world.run_for(dt)
        if a.tcp.counters.timeouts:
            break  # an RTO marks everything (RFC 8985 §6.3): not this rule
        apply_wire()
        sent = max(segs, default=cum - 1) + 1
        open_ = [i for i in range(cum, sent) if i not in reported]
        newest = None
        if kind == "sack" and len(open_) > 1:
            newest = open_[1 + k % (len(open_) - 1)]
            reported.add(newest)
            pending.append(newest)
        elif kind == "cum" and open_:
            new_cum = min(cum + 1 + k % 4, sent)
            pending.extend(i for i in range(cum, new_cum) if i not in reported)
            pending.extend(i for i in reported if i < new_cum)
            reported = {i for i in reported if i >= new_cum}
            cum = new_cum
        else:
            continue
        pending[:] = [i for i in pending if i in segs]
        inject(pair, _ack(c, cum, _runs(reported, newest), window), to_a=True)
    event(f"RACK evaluations: {min(checks, 10)}+")
    event(f"recoveries: {min(a.tcp.counters.fast_retransmits, 3)}+")
    event(f"retransmissions: {min(a.tcp.counters.retransmitted_segments, 5)}+")


def test_the_rule_by_hand() -> None:
    """RFC 8985 §6.2 with RACK.rtt 10 ms and no reordering window: of two segments sent
    before the one delivered, the older is lost once 10 ms have passed since it was
    sent; the other 2 ms later (the timeout says when)."""
    older = spec.Segment(0, 100, xmit_ts=1.000)
    newer = spec.Segment(100, 200, xmit_ts=1.002)
    delivered = spec.Segment(200, 300, xmit_ts=1.004)
    rack = spec.update(spec.Rack(), [delivered], now=1.014)
    assert (rack.xmit_ts, rack.end_seq, rack.min_rtt) == (1.004, 300, pytest.approx(0.010))
    marked, timeout = spec.detect_loss(rack, [older, newer], 0.0, now=1.0105)
    assert [s.lost for s in marked] == [True, False]
    assert timeout == pytest.approx(0.0015)
    # A segment delivered out of order, never retransmitted: reordering seen, and the
    # window becomes min(min_RTT / 4, SRTT).
    rack = spec.update(rack, [older], now=1.020)
    assert rack.reordering_seen
    assert spec.reo_wnd(rack, in_recovery=True, segs_sacked=5, dup_thresh=3, srtt=0.05) == (
        pytest.approx(0.010 / 4)
    )
    # A retransmission acknowledged sooner than min_RTT is ambiguous: no RTT from it.
    again = spec.Segment(100, 200, xmit_ts=1.030, retransmitted=True)
    assert spec.update(rack, [again], now=1.031).rtt == rack.rtt
