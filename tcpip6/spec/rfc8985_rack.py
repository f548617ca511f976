"""RFC 8985, The RACK-TLP Loss Detection Algorithm for TCP: the RACK loss-marking rule
as a reference model.

RFC 8985 §6.2 runs on every ACK: update RACK.min_RTT (step 1), RACK.xmit_ts, RACK.end_seq
and RACK.rtt from the segments the ACK delivered (step 2), detect reordering (step 3),
compute the reordering window (step 4), and mark lost every outstanding segment sent
before RACK.xmit_ts once RACK.rtt + RACK.reo_wnd has passed since it was sent (step 5),
returning the time until the next one would be marked (the RACK reordering timer).

Segments and the RACK state are frozen dataclasses; each function returns new values.
Times are seconds, sequence positions any integers that grow with the stream. The model
imports nothing of tcpip6 and does no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Segment:
    """RFC 8985 §5.2 per-segment variables: Segment.xmit_ts (the latest transmission),
    Segment.end_seq (``end``), Segment.lost, and whether it was retransmitted."""

    start: int
    end: int
    xmit_ts: float
    retransmitted: bool = False
    lost: bool = False


@dataclass(frozen=True)
class Rack:
    """RFC 8985 §6.1 RACK variables (RACK.dsack_round and the D-SACK count are left out:
    ``reo_wnd_mult`` stands for their effect)."""

    xmit_ts: float = 0.0
    end_seq: int = 0
    rtt: float = 0.0
    min_rtt: float | None = None
    fack: int = 0
    reordering_seen: bool = False
    reo_wnd_mult: int = 1


def sent_after(t1: float, seq1: int, t2: float, seq2: int) -> bool:
    """RFC 8985 §6.2 RACK_sent_after(t1, seq1, t2, seq2): "If t1 > t2 ... return true;
    else if t1 == t2 AND seq1 > seq2 return true"."""
    return t1 > t2 or (t1 == t2 and seq1 > seq2)


def update(
    rack: Rack, delivered: Sequence[Segment], now: float, echo_reply: float | None = None
) -> Rack:
    """RFC 8985 §6.2 steps 1-3 for the segments one ACK delivered (cumulatively or
    selectively), in sequence order. ``echo_reply``: the send time the ACK's TSecr
    echoes (None without timestamps)."""
    for seg in delivered:
        rtt = now - seg.xmit_ts
        if seg.retransmitted:
            # Step 2: "If Segment.retransmitted is TRUE: If ACK.ts_option.echo_reply <
            # Segment.xmit_ts: Return; If rtt < RACK.min_RTT: Return" (this segment).
            if echo_reply is not None and echo_reply < seg.xmit_ts:
                continue
            if rack.min_rtt is not None and rtt < rack.min_rtt:
                continue
        else:
            # Step 1: RACK.min_RTT, the minimum of the RTT measurements (a segment sent
            # once gives an unambiguous one).
            min_rtt = rtt if rack.min_rtt is None else min(rack.min_rtt, rtt)
            rack = replace(rack, min_rtt=min_rtt)
        rack = replace(rack, rtt=rtt)
        # Step 2: "If RACK_sent_after(Segment.xmit_ts, Segment.end_seq, RACK.xmit_ts,
        # RACK.end_seq): RACK.xmit_ts = Segment.xmit_ts; RACK.end_seq = Segment.end_seq".
        if sent_after(seg.xmit_ts, seg.end, rack.xmit_ts, rack.end_seq):
            rack = replace(rack, xmit_ts=seg.xmit_ts, end_seq=seg.end)
    for seg in delivered:
        # Step 3 RACK_detect_reordering: "If Segment.end_seq > RACK.fack: RACK.fack =
        # Segment.end_seq; Else if Segment.end_seq < RACK.fack AND
        # Segment.retransmitted is FALSE: RACK.reordering_seen = TRUE".
        if seg.end > rack.fack:
            rack = replace(rack, fack=seg.end)
        elif seg.end < rack.fack and not seg.retransmitted:
            rack = replace(rack, reordering_seen=True)
    return rack


def reo_wnd(
    rack: Rack, *, in_recovery: bool, segs_sacked: int, dup_thresh: int, srtt: float
) -> float:
    """RFC 8985 §6.2 step 4 RACK_update_reo_wnd: 0 when no reordering was seen and the
    sender is in recovery or DupThresh segments are SACKed; else
    "min(RACK.reo_wnd_mult * RACK.min_RTT / 4, SRTT)"."""
    if not rack.reordering_seen and (in_recovery or segs_sacked >= dup_thresh):
        return 0.0
    return min(rack.reo_wnd_mult * (rack.min_rtt or 0.0) / 4, srtt)


def detect_loss(
    rack: Rack, outstanding: Iterable[Segment], reo_wnd: float, now: float
) -> tuple[list[Segment], float]:
    """RFC 8985 §6.2 step 5 RACK_detect_loss over the segments neither acknowledged nor
    SACKed: the segments with their marks, and the timeout ("remaining" of the latest
    segment not yet lost; 0 when there is none)."""
    timeout = 0.0
    out: list[Segment] = []
    for seg in outstanding:
        # "If RACK_sent_after(RACK.xmit_ts, RACK.end_seq, Segment.xmit_ts,
        # Segment.end_seq): remaining = Segment.xmit_ts + RACK.rtt + RACK.reo_wnd - Now()"
        if (
            not seg.lost
            and rack.xmit_ts
            and sent_after(rack.xmit_ts, rack.end_seq, seg.xmit_ts, seg.end)
        ):
            remaining = seg.xmit_ts + rack.rtt + reo_wnd - now
            if remaining <= 0:
                seg = replace(seg, lost=True)  # "Segment.lost = TRUE"
            else:
                timeout = max(remaining, timeout)  # "timeout = max(remaining, timeout)"
        out.append(seg)
    return out, timeout
