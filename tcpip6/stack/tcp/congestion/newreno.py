"""NewReno fast recovery (RFC 6582, with RFC 5681 §3.2): without SACK, a partial
acknowledgment during recovery names the next hole; the window is inflated by the
duplicate ACKs that signal segments leaving the network."""

from __future__ import annotations

from tcpip6.stack.tcp.congestion.base import LossRecovery


class NewReno(LossRecovery):
    """RFC 6582 §3.2."""

    def on_duplicate_ack(self, now: float) -> None:
        self.dupacks += 1
        if self.in_recovery:
            # RFC 6582 §3.2 step 3 (RFC 5681 §3.2 step 4): inflate by one SMSS.
            self.cc.cwnd += self.snd.conn.mss
            return
        if self.dupacks < self.dup_thresh:
            return
        # RFC 6582 §3.2 step 2: only when the ACK covers more than "recover".
        if self.snd.una <= self.recover and self.recover > 0:
            return
        self.enter_recovery(now)

    def fast_retransmit(self, now: float) -> None:
        # RFC 6582 §3.2 step 2 (RFC 5681 §3.2 steps 2-3): cwnd = ssthresh + 3*SMSS.
        snd = self.snd
        snd.retransmit_at(snd.una, now)
        self.cc.cwnd = self.cc.ssthresh + 3 * snd.conn.mss

    def on_partial_ack(self, acked: int, now: float) -> None:
        # RFC 6582 §3.2 step 4: retransmit the first unacknowledged segment, deflate the
        # window by the amount acknowledged, add back SMSS (the sender restarts the
        # retransmission timer after every ACK of new data).
        snd = self.snd
        smss = snd.conn.mss
        snd.retransmit_at(snd.una, now)
        self.cc.cwnd = max(self.cc.cwnd - acked + smss, smss)

    def retransmit(self, now: float) -> None:
        """Nothing beyond the fast retransmit and the partial ACKs' (RFC 6582 §3.2)."""
