"""RACK-TLP loss detection (RFC 8985) on top of SACK-based recovery (RFC 6675 with
RFC 6937 PRR, :mod:`~tcpip6.stack.tcp.congestion.sack`).

RACK ("recent acknowledgment") marks a segment lost by time, not by counting: once a
segment sent after it has been delivered (cumulatively or selectively acknowledged) and
RACK.rtt plus a reordering window has passed since it was sent. A retransmission is a
segment sent again, with a new send time, so a lost retransmission is found the same way.
TLP ("tail loss probe") sends one segment when the ACKs stop, after PTO = 2*SRTT, so a
loss at the tail of a flight is found by RACK from the probe's ACK instead of by the
retransmission timeout.

The send times are kept per segment in :attr:`RackRecovery.segs` (``[start, end)`` send
offsets of what is outstanding and not SACKed, in send-offset order). Both timers of
RFC 8985 -- the RACK reordering timer (RFC 8985 §6.2 step 5) and the PTO (RFC 8985 §7.2)
-- share the connection's retransmission timer; ``Sender.timer_kind`` says which is
armed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from tcpip6.stack.tcp import seq as sq
from tcpip6.stack.tcp.congestion.base import CongestionControl
from tcpip6.stack.tcp.congestion.sack import SackRecovery

if TYPE_CHECKING:
    from tcpip6.stack.tcp.sender import Sender

#: RFC 8985 §7.2: WCDelAckT, "the worst-case delayed ACK timer ... 200 ms".
WC_DEL_ACK_T = 0.2
#: RFC 8985 §6.2 step 4: RACK.reo_wnd_persist after a D-SACK, in recoveries.
REO_WND_PERSIST = 16
#: The RACK timer fires this much after the segment's deadline, so that the sums of
#: floating-point times do not leave it a rounding error short of lost.
TIMER_SLACK = 1e-6
#: RFC 8985 §7.2: the PTO "when SRTT is not available": 1 second.
PTO_NO_SRTT = 1.0


@dataclass(slots=True)
class SentSegment:
    """RFC 8985 §5.2 per-segment variables: Segment.xmit_ts, Segment.end_seq (``end``),
    Segment.lost, and whether it was retransmitted."""

    start: int
    end: int
    xmit_ts: float
    retransmitted: bool = False
    lost: bool = False


def sent_after(t1: float, seq1: int, t2: float, seq2: int) -> bool:
    """RFC 8985 §6.2 RACK_sent_after: sent later, or at the same time and higher."""
    return t1 > t2 or (t1 == t2 and seq1 > seq2)


class RackRecovery(SackRecovery):
    """RFC 8985 RACK-TLP: loss marking by time, lost retransmissions, tail loss probes."""

    def __init__(self, cc: CongestionControl, snd: Sender) -> None:
        super().__init__(cc, snd)
        self.segs: list[SentSegment] = []
        # RFC 8985 §6.1 RACK variables.
        self.xmit_ts = 0.0  # RACK.xmit_ts
        self.end_seq = 0  # RACK.end_seq
        self.rtt = 0.0  # RACK.rtt
        self.min_rtt: float | None = None  # RACK.min_RTT
        self.fack = 0  # RACK.fack
        self.reordering_seen = False
        self.reo_wnd_mult = 1
        self.reo_wnd_persist = 0
        self.dsack_round: int | None = None
        # RFC 8985 §7.1 TLP variables.
        self.tlp_end_seq: int | None = None
        self.tlp_is_retrans = False
        #: The latest time seen: a live driver may hand an older ``now`` to a later call
        #: (a batch of frames carries the time it was read), and send times that went
        #: backwards would make RACK take segments sent earlier for later ones.
        self.clock = 0.0
        #: SND.MAX at the last RTO: until it is acknowledged, the RTO's go-back-N resends
        #: the segments it marked lost (RFC 8985 §6.3), not fast recovery.
        self.rto_point = 0
        #: Whether a segment on the scoreboard is marked lost, as the last
        #: :meth:`detect_loss` found.
        self.lost_marked = False
        #: Whether the scoreboard is in send-time order (RACK_sent_after's) with no mark
        #: from a timeout: true while segments were only appended since it was last
        #: empty. Then every segment after the first one sent after RACK.xmit_ts was
        #: sent later still, and is neither lost nor to be marked (RFC 8985 §6.2 step 5
        #: looks only at segments sent before): :meth:`detect_loss` stops there.
        self.ordered = True

    def _clock(self, now: float) -> float:
        if now > self.clock:
            self.clock = now
        return self.clock

    # -- the scoreboard: what is outstanding, and when it was sent ---------------------------
    def sent(self, start: int, end: int, now: float, retransmission: bool) -> None:
        """``[start, end)`` went out at ``now`` (RFC 8985 §6.1 Segment.xmit_ts)."""
        if self.in_recovery:
            super().sent(start, end, now, retransmission)  # RFC 6937 prr_out
        if now > self.clock:  # self._clock(now), on every segment sent
            self.clock = now
        else:
            now = self.clock
        if end <= start or start == 0:
            return
        segs = self.segs
        if not segs or segs[-1].end <= start:
            segs.append(SentSegment(start, end, now))
            if not retransmission and self.snd.timer_kind == "rto":
                # RFC 8985 §7.2: "after transmitting new data": the PTO.
                self.schedule_probe(now)
            return
        # Sent again: the segments it covers take the new send time (split where the
        # retransmission's edges fall inside one); SACKed parts are not on the scoreboard.
        self.ordered = False  # newer send times before older ones
        out: list[SentSegment] = []
        for s in segs:
            if s.end <= start or s.start >= end:
                out.append(s)
                continue
            if s.start < start:
                out.append(SentSegment(s.start, start, s.xmit_ts, s.retransmitted, s.lost))
            out.append(SentSegment(max(s.start, start), min(s.end, end), now, True))
            if s.end > end:
                out.append(SentSegment(end, s.end, s.xmit_ts, s.retransmitted, s.lost))
        if end > segs[-1].end:
            out.append(SentSegment(max(start, segs[-1].end), end, now))
        self.segs = out

    # -- RFC 8985 §6.2: on every ACK --------------------------------------------------------
    def after_ack(self, now: float) -> None:
        snd = self.snd
        if now > self.clock:  # self._clock(now), on every ACK
            self.clock = now
        else:
            now = self.clock
        delivered = self._delivered(now)
        if delivered:
            self._update(delivered, now)  # steps 1-3
        # (Each call below is made only when it has something to do: this runs per ACK.)
        if self.tlp_end_seq is not None:
            self._tlp_ack(now)  # RFC 8985 §7.4
        timeout = self.detect_loss(now)  # step 5
        if self.lost_marked:
            self._recover_if_lost(now)
        if self.in_recovery:
            super().after_ack(now)  # RFC 6937 PRR
        if timeout > 0:
            self._arm("reo", now + timeout + TIMER_SLACK)
        elif snd.timer_kind == "reo":
            snd.restart_timer(now)
        if snd.una >= snd.max:
            return
        self.schedule_probe(now)

    def _delivered(self, now: float) -> list[SentSegment]:
        """The segments this ACK delivered (cumulatively or selectively), in send-offset
        order; they leave the scoreboard."""
        snd = self.snd
        una = snd.una
        sacked = snd.sacked
        segs = self.segs
        if not sacked.ranges:
            # Nothing SACKed: what this ACK delivered is the segments below SND.UNA, a
            # prefix of the scoreboard (in send-offset order), found without a full pass.
            i, n = 0, len(segs)
            while i < n and segs[i].end <= una:
                i += 1
            if not i:
                return []
            self.segs = segs[i:]
            if i == n:
                self.ordered = True  # empty
            return segs[:i]
        keep: list[SentSegment] = []
        gone: list[SentSegment] = []
        for s in segs:
            if s.end <= una:
                gone.append(s)
                continue
            cover = sacked.covering(s.start) if sacked else None
            if cover is not None and cover[1] >= s.end:
                gone.append(s)
            else:
                keep.append(s)
        self.segs = keep
        if not keep:
            self.ordered = True
        return gone

    def _update(self, delivered: list[SentSegment], now: float) -> None:
        """RFC 8985 §6.2 steps 1-3: RACK.min_RTT, RACK.xmit_ts/end_seq/rtt, reordering."""
        tsecr = self.snd.ack_tsecr
        opt = self.snd.conn.opt
        for s in delivered:
            rtt = now - s.xmit_ts
            if s.retransmitted:
                # Step 2: an ambiguous sample (the original may be what arrived) is skipped.
                if tsecr is not None and sq.lt(tsecr, self._tsval(s.xmit_ts, opt.ts_offset)):
                    continue
                if self.min_rtt is not None and rtt < self.min_rtt:
                    continue
            else:
                # Step 1: RACK.min_RTT from the RTT measurements (Karn: first sends only).
                self.min_rtt = rtt if self.min_rtt is None else min(self.min_rtt, rtt)
            self.rtt = rtt
            if sent_after(s.xmit_ts, s.end, self.xmit_ts, self.end_seq):
                self.xmit_ts, self.end_seq = s.xmit_ts, s.end
        for s in delivered:
            # Step 3: RACK_detect_reordering.
            if s.end > self.fack:
                self.fack = s.end
            elif s.end < self.fack and not s.retransmitted:
                self.reordering_seen = True

    @staticmethod
    def _tsval(t: float, offset: int) -> int:
        """The RFC 7323 TSval of time ``t`` (the TSval a segment sent then carried, or a
        lower one: the clock may have held at a later TSval), without touching the clock."""
        return (int(t * 1000) + offset) % sq.MOD

    def on_dsack(self) -> None:
        """RFC 8985 §6.2 step 4: a D-SACK (RFC 2883) widens the reordering window for
        the next round trip."""
        snd = self.snd
        if self.dsack_round is not None and snd.una >= self.dsack_round:
            self.dsack_round = None
        if self.dsack_round is None:
            self.dsack_round = snd.max
            self.reo_wnd_mult += 1
            self.reo_wnd_persist = REO_WND_PERSIST

    def on_recovery_exit(self, now: float) -> None:
        # RFC 8985 §6.2 step 4: "exiting Fast or RTO recovery": the window's persistence.
        self.reo_wnd_persist -= 1
        if self.reo_wnd_persist <= 0:
            self.reo_wnd_mult = 1
        super().on_recovery_exit(now)

    def reo_wnd(self) -> float:
        """RFC 8985 §6.2 step 4 RACK_update_reo_wnd (the D-SACK part is :meth:`on_dsack`)."""
        if not self.reordering_seen:
            if self.in_recovery:
                return 0.0
            if self.snd.sacked.ranges and self.sacked_segments() >= self.dup_thresh:
                return 0.0
        srtt = self.snd.rto.srtt or 0.0
        return min(self.reo_wnd_mult * (self.min_rtt or 0.0) / 4, srtt)

    def sacked_segments(self) -> int:
        """RACK.segs_sacked: SACKed octets in segments of the SMSS."""
        return self.snd.sacked.total() // max(self.snd.conn.mss, 1)

    def detect_loss(self, now: float) -> float:
        """RFC 8985 §6.2 step 5 RACK_detect_loss: marks, and the time until the next
        segment would be marked (0: none pending)."""
        if not self.xmit_ts:
            self.lost_marked = bool(self.segs) and any(s.lost for s in self.segs)
            return 0.0
        reo_wnd = self.reo_wnd()
        rtt = self.rtt
        timeout = 0.0
        lost = False
        ordered = self.ordered
        xmit_ts, end_seq = self.xmit_ts, self.end_seq
        for s in self.segs:
            if s.lost:
                lost = True
                continue
            # sent_after(RACK.xmit_ts, RACK.end_seq, s.xmit_ts, s.end_seq), written out:
            # this runs for every segment in flight on every ACK.
            t = s.xmit_ts
            if not (xmit_ts > t or (xmit_ts == t and end_seq > s.end)):
                if ordered:
                    break  # nor any after it (``ordered``)
                continue
            remaining = t + rtt + reo_wnd - now
            if remaining <= 0:
                s.lost = lost = True
            elif remaining > timeout:
                timeout = remaining
        self.lost_marked = lost
        return timeout

    def _recover_if_lost(self, now: float) -> None:
        """RFC 8985 §6.2: a segment marked lost starts fast recovery -- one found now, or
        one sent during the last recovery and lost after it (a new congestion event,
        RFC 6675 §5) -- but not while the go-back-N of an RTO resends what it marked.
        Called right after :meth:`detect_loss`, which found whether any segment is lost."""
        if self.in_recovery or self.snd.una < self.rto_point or not self.lost_marked:
            return
        self.tlp_end_seq = None
        self.enter_recovery(now)

    # -- RFC 6675's functions, with RACK's marks -----------------------------------------------
    def is_lost(self, off: int) -> bool:
        """RFC 8985 §6: lost is what RACK (or the timeout) marked, not a DupThresh count."""
        return any(s.lost for s in self.segs if s.start <= off < s.end)

    def pipe(self) -> int:
        """RFC 6675 SetPipe with RACK's marks: outstanding octets neither SACKed nor
        lost (a retransmission in flight counts, as a new send time made it unlost)."""
        return sum(s.end - s.start for s in self.segs if not s.lost)

    def next_seg(self) -> tuple[int, int] | None:
        """RFC 6675 NextSeg rule 1 with RACK: the first segment marked lost."""
        for s in self.segs:
            if s.lost:
                return (s.start, s.end)
        return None

    def on_duplicate_ack(self, now: float) -> None:
        """RFC 8985: a duplicate ACK is not itself a loss signal; RACK, in
        :meth:`after_ack`, decides from the send times."""
        self.dupacks += 1

    def fast_retransmit(self, now: float) -> None:
        snd = self.snd
        self.prr_delivered = self.prr_out = 0
        self.recover_fs = snd.max - snd.una
        if not snd.conn.params.prr:
            self.cc.cwnd = self.cc.ssthresh
        nxt = self.next_seg()
        if nxt is not None:
            snd.retransmit_range(nxt[0], nxt[1], now)  # RFC 5681 §3.2 step 3 at once

    def retransmit(self, now: float) -> None:
        """RFC 6675 §5 step (C), NextSeg being RACK's lost segments."""
        if not self.in_recovery:
            return
        snd = self.snd
        mss = snd.conn.mss
        for s in list(self.segs):
            if self.cc.cwnd - self.pipe() < mss:
                break
            if s.lost:
                snd.retransmit_range(s.start, s.end, now)

    def usable(self) -> int:
        snd = self.snd
        if not self.in_recovery:
            # What SackRecovery.usable gives outside recovery: LossRecovery.usable, written
            # out (asked on every ACK). RFC 5681 §3.1: the lesser of cwnd and the peer's
            # window, less what is outstanding.
            return min(snd.wnd_base + snd.wnd, snd.una + self.cc.cwnd) - snd.nxt
        usable = (self.cc.cwnd - self.pipe()) if snd.nxt >= snd.max else 0
        return min(usable, snd.right - snd.nxt)

    def early_timeout(self, kind: str, now: float) -> None:
        now = self._clock(now)
        if kind == "pto":
            self.probe_timeout(now)
        else:
            self.reo_timeout(now)

    def on_timeout(self, now: float) -> None:
        """RFC 8985 §6.3: after an RTO every outstanding segment counts as lost; the
        go-back-N of the sender resends them (new send times)."""
        super().on_timeout(now)
        self.rto_point = self.snd.max
        self.ordered = False  # lost after the segments sent after RACK.xmit_ts too
        for s in self.segs:
            s.lost = True
        self.tlp_end_seq = None

    # -- RFC 8985 §7: the tail loss probe ----------------------------------------------------
    def schedule_probe(self, now: float) -> None:
        """RFC 8985 §7.2: arm the PTO instead of the RTO while not in recovery and no
        probe is outstanding."""
        snd = self.snd
        if self.in_recovery or self.tlp_end_seq is not None or snd.timer_kind == "reo":
            return
        if snd.una >= snd.max or snd.wnd == 0:
            return
        srtt = snd.rto.srtt
        if srtt is None:
            pto = PTO_NO_SRTT
        else:
            # An RTT below the clock granularity G measures as 0 (RFC 6298 §4: the
            # timestamps tick in G), so 2*SRTT counts it as up to G: on a LAN a probe
            # at 2*0 + WCDelAckT would race the peer's 200 ms delayed ACK and lose.
            pto = 2 * (srtt + snd.conn.params.clock_granularity)
            if snd.max - snd.una <= snd.conn.opt.mss:  # one segment (conn.mss)
                pto += WC_DEL_ACK_T  # RFC 8985 §7.2: one segment: its ACK may be delayed
        pto = min(pto, snd.rto.rto)  # never later than the RTO would be
        self._arm("pto", now + pto)

    def probe_timeout(self, now: float) -> None:
        """RFC 8985 §7.3: send one segment -- new data if the windows allow, else the
        last segment sent again -- and rearm the RTO."""
        snd = self.snd
        mss = snd.conn.mss
        if snd.data_end > snd.nxt == snd.max and snd.right > snd.nxt:
            n = min(mss, snd.data_end - snd.nxt, snd.right - snd.nxt)
            fin = snd.fin_queued and snd.nxt + n == snd.data_end
            snd.send_new(snd.nxt, n, fin, now)
            self.tlp_is_retrans = False
        elif self.segs:
            last = self.segs[-1]
            snd.retransmit_range(max(last.start, last.end - mss), last.end, now)
            self.tlp_is_retrans = True
        else:
            snd.restart_timer(now)
            return
        snd.conn.tcp.counters.tail_loss_probes += 1
        self.tlp_end_seq = snd.max
        snd.restart_timer(now)

    def reo_timeout(self, now: float) -> None:
        """RFC 8985 §6.2 step 5: the reordering timer: mark again, recover, rearm."""
        snd = self.snd
        snd.restart_timer(now)
        timeout = self.detect_loss(now)
        self._recover_if_lost(now)
        if timeout > 0:
            self._arm("reo", now + timeout + TIMER_SLACK)
        snd.output(now)

    def _tlp_ack(self, now: float) -> None:
        """RFC 8985 §7.4: an ACK covering the probe. A probe of new data needs nothing
        (RACK finds what it uncovered); a retransmitted probe that repaired a loss (no
        D-SACK says both copies arrived) is a congestion event: ssthresh and cwnd come
        down once, as on entering and leaving recovery."""
        end = self.tlp_end_seq
        snd = self.snd
        if end is None or snd.una < end:
            return
        self.tlp_end_seq = None
        if self.tlp_is_retrans and not snd.dsack_seen:
            self.cc.on_congestion(snd.max - snd.una, snd.conn.mss, now)
            self.cc.cwnd = self.cc.ssthresh

    def _arm(self, kind: str, at: float) -> None:
        self.snd.arm_early(kind, at)
