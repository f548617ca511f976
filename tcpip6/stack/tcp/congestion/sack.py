"""SACK-based loss recovery (RFC 6675): the scoreboard of what the receiver holds
(RFC 2018) says which octets are lost (IsLost), how many are still in the network
(SetPipe), and what to send next (NextSeg). With ``TcpParameters.prr`` the amount sent
during recovery follows RFC 6937 Proportional Rate Reduction (PRR-SSRB): cwnd comes down
to ssthresh over the recovery, in proportion to what the ACKs report delivered, instead
of at once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tcpip6.stack.tcp.congestion.base import CongestionControl, LossRecovery
from tcpip6.stack.tcp.congestion.prr import prr_sndcnt

if TYPE_CHECKING:
    from tcpip6.stack.tcp.sender import Sender

#: Retransmissions one call of :meth:`SackRecovery.retransmit` may send at most.
NEXT_SEG_BUDGET = 64


class SackRecovery(LossRecovery):
    """RFC 6675 §5, over the sender's scoreboard (``Sender.sacked``)."""

    def __init__(self, cc: CongestionControl, snd: Sender) -> None:
        super().__init__(cc, snd)
        self.high_rxt = 0  # RFC 6675 HighRxt (a send offset)
        # RFC 6937 §3: the variables of Proportional Rate Reduction.
        self.prr_delivered = 0
        self.prr_out = 0
        self.recover_fs = 0

    # -- RFC 6675 §4: the scoreboard's functions --------------------------------------------
    def is_lost(self, off: int) -> bool:
        """RFC 6675 §4 IsLost: more than (DupThresh - 1) * SMSS octets above are SACKed,
        or DupThresh discontiguous SACKed ranges."""
        sacked = self.snd.sacked
        above = sacked.bytes_above(off + 1)
        ranges = sum(1 for s, e in sacked.ranges if e > off)
        dup_thresh = self.dup_thresh
        return above > (dup_thresh - 1) * self.snd.conn.mss or ranges >= dup_thresh

    def pipe(self) -> int:
        """RFC 6675 §4 SetPipe: octets the sender thinks are in the network."""
        snd = self.snd
        pipe = 0
        hi_sack = snd.sacked.highest() or snd.una
        pos = snd.una
        for s, e in [*snd.sacked.ranges, [snd.max, snd.max]]:
            if s > pos:
                hole_end = min(s, snd.max)
                if pos >= hi_sack:
                    pipe += hole_end - pos  # above every SACK: in flight
                elif not self.is_lost(pos):
                    pipe += hole_end - pos
                # Retransmitted octets of the hole count too ("HighRxt").
                pipe += max(0, min(hole_end, self.high_rxt) - pos)
            pos = max(pos, e)
        return pipe

    def next_seg(self) -> tuple[int, int] | None:
        """RFC 6675 §4 NextSeg rule 1: the first unSACKed, lost octet above HighRxt."""
        snd = self.snd
        hi_sack = snd.sacked.highest()
        if hi_sack is None:
            return None
        pos = max(self.high_rxt, snd.una)
        while pos < hi_sack:
            cover = snd.sacked.covering(pos)
            if cover is not None:
                pos = cover[1]
                continue
            if self.is_lost(pos):
                nxt = [s for s, _ in snd.sacked.ranges if s > pos]
                end = min(pos + snd.conn.mss, nxt[0] if nxt else hi_sack)
                return (pos, end)
            return None
        return None

    # -- events ---------------------------------------------------------------------------
    def on_duplicate_ack(self, now: float) -> None:
        self.dupacks += 1
        if self.in_recovery:
            return  # RFC 6675 §5: the scoreboard, not the count, drives recovery
        # RFC 6675 §5: DupThresh duplicates, or IsLost (SND.UNA) from the scoreboard.
        if self.dupacks >= self.dup_thresh or self.is_lost(self.snd.una):
            self.enter_recovery(now)

    def fast_retransmit(self, now: float) -> None:
        # RFC 6675 §5 step 4: cwnd = ssthresh; HighRxt = SND.UNA; send via NextSeg.
        snd = self.snd
        # RFC 6937 §3 "At the beginning of recovery": prr_delivered = 0, prr_out = 0,
        # RecoverFS = snd.nxt - snd.una (SND.MAX here: the highest octet sent).
        self.prr_delivered = self.prr_out = 0
        self.recover_fs = snd.max - snd.una
        if not snd.conn.params.prr:
            self.cc.cwnd = self.cc.ssthresh
        self.high_rxt = snd.una
        snd.retransmit_at(snd.una, now)
        self.high_rxt = min(snd.una + snd.conn.mss, snd.max)

    def on_partial_ack(self, acked: int, now: float) -> None:
        """RFC 6675 §5 step (C): nothing to do here; :meth:`retransmit` sends NextSeg."""

    def sent(self, start: int, end: int, now: float, retransmission: bool) -> None:
        # RFC 6937 §3 "On any data transmission or retransmission": prr_out += (data sent).
        if self.in_recovery:
            self.prr_out += end - start

    def after_ack(self, now: float) -> None:
        """RFC 6937 §3 "On every ACK during recovery": cwnd = pipe + sndcnt."""
        if not self.in_recovery or not self.snd.conn.params.prr:
            return
        self.prr_delivered += self.snd.delivered
        pipe = self.pipe()
        self.cc.cwnd = pipe + prr_sndcnt(
            prr_delivered=self.prr_delivered,
            prr_out=self.prr_out,
            delivered_data=self.snd.delivered,
            pipe=pipe,
            ssthresh=self.cc.ssthresh,
            recover_fs=self.recover_fs,
            mss=self.snd.conn.mss,
        )

    def on_timeout(self, now: float) -> None:
        super().on_timeout(now)
        # RFC 6675 §5.1: the scoreboard is kept (SACKed data is skipped), HighRxt resets.
        self.high_rxt = self.snd.una

    # -- what may be sent ---------------------------------------------------------------
    def retransmit(self, now: float) -> None:
        """RFC 6675 §5 step (C): while cwnd - pipe >= 1 SMSS, send NextSeg."""
        if not self.in_recovery:
            return
        snd = self.snd
        budget = NEXT_SEG_BUDGET
        while budget and self.cc.cwnd - self.pipe() >= snd.conn.mss:
            budget -= 1
            nxt = self.next_seg()
            if nxt is None:
                break
            start, end = nxt
            snd.retransmit_range(start, end, now)
            self.high_rxt = end

    def usable(self) -> int:
        if not self.in_recovery:
            return super().usable()
        # RFC 6675 §5 step (C) rule 3: new data while cwnd - pipe allows, past HighData.
        snd = self.snd
        usable = (self.cc.cwnd - self.pipe()) if snd.nxt >= snd.max else 0
        return min(usable, snd.right - snd.nxt)
