"""The sending half of a TCP connection: the send sequence space of RFC 9293 §3.3.1
(SND.UNA, SND.NXT, SND.WND, SND.WL1, SND.WL2, SND.UP, ISS), the send buffer, the right
edge of the peer's window, retransmission (RFC 6298 timer with Karn's algorithm,
RFC 9293 §3.10.8), zero-window probing (RFC 9293 §3.8.6.1), and every segment's construction.

Positions are unwrapped offsets from the ISS: offset 0 is the SYN, offsets 1..n the data,
the FIN the offset after the last octet of data. The connection
(:class:`~tcpip6.stack.tcp.connection.Connection`) decides what an arriving segment means;
the sender is told what was acknowledged and what the window is, and decides what to send.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from tcpip6.stack.machines.tcp import GRAPH, TcpState
from tcpip6.stack.tcp import seq as sq
from tcpip6.stack.tcp.congestion import LossRecovery, congestion_control, loss_recovery
from tcpip6.stack.tcp.ranges import RangeSet
from tcpip6.stack.tcp.rto import RtoEstimator
from tcpip6.stack.tcp.timers import TcpTimer
from tcpip6.wire import tcp as wire_tcp
from tcpip6.wire.tcp import ACK, FIN, PSH, RST, SYN, URG, TcpSegment

if TYPE_CHECKING:
    from tcpip6.stack.tcp.connection import Connection

#: RFC 2018 §3: blocks in one SACK option, at most 4 (3 beside timestamps).
MAX_SACK_BLOCKS = 4
#: RFC 2018 §3: two NOPs for alignment, then the option's kind and length octets.
SACK_OVERHEAD = 4

S = TcpState
T = TcpTimer
#: States in which SEND queues data (RFC 9293 §3.10.2).
SENDABLE = (S.SYN_SENT, S.SYN_RECEIVED, S.ESTABLISHED, S.CLOSE_WAIT)
#: RFC 5961 §7 ACK throttling: replies to unacceptable segments a connection sends in
#: one second at most (the count is an implementation choice; Linux's host-wide
#: tcp_challenge_ack_limit had this default).
ACK_THROTTLE_LIMIT = 1000
#: RFC 4861 §7.3.1 leaves to the upper layer how often forward progress is reported:
#: once per this many seconds keeps the neighbor's REACHABLE deadline within it of the
#: last new ACK, without a neighbor-cache transition for every ACK of a bulk transfer
#: (ReachableTime is 15-45 s, RFC 4861 §6.3.2).
REACHABILITY_HINT_INTERVAL = 0.1
#: Segmentation offload: the time's worth of the window one large segment may carry
#: (Linux sizes its TSO segments to about 1 ms of its pacing rate).
GSO_BURST = 0.001
# The states in which Sender.output sends data or the FIN.
OUTPUT_STATES = (S.ESTABLISHED, S.CLOSE_WAIT, S.FIN_WAIT_1, S.LAST_ACK, S.CLOSING)


class Sender:
    """SND.* of one connection, the octets to send, and what sends them."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        params = conn.params
        # -- send sequence space (offsets from the ISS) ----------------------------------
        self.iss = 0
        self.una = 0
        self.nxt = 0
        self.max = 0  # one past the highest offset ever sent (SND.MAX)
        #: RFC 5961 §7 ACK throttling: the second the replies to unacceptable segments
        #: are counted in, and how many went out in it.
        self.ack_throttle_start = -1.0
        self.ack_throttle_sent = 0
        self.wnd = 0  # SND.WND, octets, scaled
        #: The send offset SND.WND counts from: the SEG.ACK of the segment that gave it
        #: (SND.WL2). The window's right edge stays where that segment put it when a later
        #: ACK moves SND.UNA without updating SND.WND (RFC 9293 §3.10.7.4: only a segment
        #: newer by SND.WL1/SND.WL2 does), so the sender never goes past what was offered.
        self.wnd_base = 0
        self.max_wnd = 0  # RFC 5961 §5 MAX.SND.WND: the largest window the peer offered
        self.wl1 = 0  # SND.WL1
        self.wl2 = 0  # SND.WL2
        self.sndbuf = bytearray()
        self.data_acked = 0  # data octets acknowledged (sndbuf[0] is data octet this)
        self.fin_queued = False  # CLOSE was called: the FIN follows the data
        self.up: int | None = None  # SND.UP: offset after the last urgent octet (RFC 9293 §3.8.5)
        # -- RTT, retransmission, congestion --------------------------------------------
        self.rto = RtoEstimator(params)
        self.retries = 0  # consecutive timeouts without progress
        #: Karn: one timed segment (the send offset after it, when it was sent).
        self.timed: tuple[int, float] | None = None
        self.sacked = RangeSet()  # the scoreboard (RFC 6675 §3)
        #: RFC 6937 §3 DeliveredData of the ACK being processed, its TSecr (as a TSval
        #: of ours; None without timestamps) and whether it carried a D-SACK (RFC 2883).
        self.delivered = 0
        self.ack_tsecr: int | None = None
        self.dsack_seen = False
        #: What the retransmission timer is armed for: "rto" (RFC 6298), or RFC 8985's
        #: "pto" (tail loss probe) or "reo" (RACK reordering timer), which share it.
        self.timer_kind = "rto"
        #: The congestion window's algorithm (by name), and loss recovery: NewReno until
        #: the handshake permits SACK (then the connection makes it RFC 6675's).
        self.cc = congestion_control(params)
        self.recovery: LossRecovery = loss_recovery(self.cc, self, sack=False)
        self.blackhole = False
        self.full_size_timeouts = 0
        self.syn_retransmitted = False
        self.gateway_suspected = False
        #: When the next new ACK may confirm the next hop's reachability again.
        self.next_reachability_hint = 0.0
        self.persist_backoff = 0
        self.probes_unanswered = 0  # zero-window probes since the peer last answered
        self.keepalive_probes = 0  # keepalive probes since the peer last answered

    def set_congestion_control(self, now: float) -> None:
        """The socket chose another congestion control (TCP_CONGESTION): it takes over
        the window where the old one left it."""
        if type(self.cc).name == self.conn.params.congestion_control:
            return
        old = self.cc
        self.cc = congestion_control(self.conn.params)
        self.cc.cwnd, self.cc.ssthresh, self.cc.srtt = old.cwnd, old.ssthresh, old.srtt
        self.recovery.cc = self.cc

    # -- timers (the Tcp module keeps the deadlines) ---------------------------------------
    def _arm(self, kind: TcpTimer, at: float) -> None:
        if kind is T.RETRANSMISSION:
            self.timer_kind = "rto"
        self.conn.tcp.timers.arm((self.conn, kind), at)

    def arm_early(self, kind: str, at: float) -> None:
        """The loss recovery's PTO or RACK timer (RFC 8985), in the retransmission
        timer's place (the recovery rearms the RTO when it fires)."""
        self.conn.tcp.timers.arm((self.conn, T.RETRANSMISSION), at)
        self.timer_kind = kind

    def _cancel(self, kind: TcpTimer) -> None:
        self.conn.tcp.timers.cancel((self.conn, kind))

    def _armed(self, kind: TcpTimer) -> bool:
        return (self.conn, kind) in self.conn.tcp.timers

    def restart_timer(self, now: float) -> None:
        """RFC 6298 §5.3: (re)start the retransmission timer, to expire after RTO."""
        self._arm(T.RETRANSMISSION, now + self.rto.rto)

    # -- where the send space stands -------------------------------------------------------
    def ack_offset(self, ack: int) -> int:
        """The send offset of acknowledgment number ``ack`` (RFC 9293 §3.4: modulo 2**32,
        near SND.UNA)."""
        una = self.una
        d = (ack - self.iss - una) % sq.MOD  # sq.diff(ack, SND.UNA), written out
        return una + (d - sq.MOD if d >= sq.HALF else d)

    @property
    def data_end(self) -> int:
        """The send offset after the last octet of data the user gave."""
        return 1 + self.data_acked + len(self.sndbuf)

    def data_offset(self, off: int) -> int:
        """Index in ``sndbuf`` of send offset ``off`` (a data offset)."""
        return off - 1 - self.data_acked

    @property
    def fin_sent(self) -> bool:
        return self.fin_queued and self.max > self.data_end

    @property
    def fin_acked(self) -> bool:
        return self.fin_queued and self.una > self.data_end

    @property
    def space(self) -> int:
        """Octets the send buffer can still take."""
        if self.fin_queued or self.conn.state not in SENDABLE:
            return 0
        return max(0, self.conn.params.send_buffer - len(self.sndbuf))

    @property
    def unsent(self) -> int:
        return max(0, self.data_end - max(self.nxt, 1))

    @property
    def right(self) -> int:
        """The send offset one past the last octet the peer's window allows."""
        return self.wnd_base + self.wnd

    @property
    def in_flight(self) -> int:
        return self.max - self.una

    # -- what an ACK tells the sender (RFC 9293 §3.10.7.4 fifth) ---------------------------
    def take_window(self, seg: TcpSegment, wnd: int, base: int) -> None:
        """SND.WND from ``seg`` (``wnd`` octets from send offset ``base``), and SND.WL1,
        SND.WL2 (RFC 9293 §3.10.7.4 fifth); RFC 5961 §5 MAX.SND.WND, "the largest window
        that the local sender has ever received from its peer" -- a SYN's too (a CLOSE in
        SYN-RECEIVED can take the connection past the ACK of our SYN without that step)."""
        self.wnd, self.wnd_base = wnd, base
        self.max_wnd = max(self.max_wnd, wnd)
        self.wl1, self.wl2 = seg.seq, seg.ack

    def ack_arrived(
        self, seg: TcpSegment, a: int, ts: wire_tcp.Timestamps | None, now: float
    ) -> None:
        """An acceptable ACK (SEG.ACK at send offset ``a``, Timestamps option ``ts`` when
        they are in use): new data acknowledged, or a duplicate ACK (RFC 5681 §2), and the
        send window updated."""
        una = self.una
        advanced = a > una
        opt = self.conn.opt
        wnd = seg.window << opt.snd_wscale
        sacked = self.sacked
        scoreboard = sacked.ranges  # truth-tested directly: an ACK seldom finds one
        sacked_before = sacked.total() if scoreboard else 0
        self.dsack_seen = False
        if opt.sack_ok:
            self.take_sack(seg)
        self.ack_tsecr = ts.tsecr if ts is not None else None
        # RFC 6937 §3 DeliveredData: change_in(snd.una) + change_in(SACKd).
        self.delivered = max(a - una, 0) + (
            sacked.bytes_above(a) - sacked_before if sacked.ranges else 0
        )
        if advanced:
            self.new_ack(a, ts, now)
        elif (
            a == self.una
            and not seg.payload
            and not seg.flags & (SYN | FIN)
            and wnd == self.wnd
            and wnd > 0  # answers to zero-window probes are not a sign of loss
            and self.max > self.una
        ):
            self.duplicate_ack(now)
        self.recovery.after_ack(now)
        # "If SND.UNA =< SEG.ACK =< SND.NXT, the send window should be updated. If
        # (SND.WL1 < SEG.SEQ or (SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK))".
        if a >= self.una and (
            sq.lt(self.wl1, seg.seq) or (self.wl1 == seg.seq and sq.le(self.wl2, seg.ack))
        ):
            opened = wnd > self.wnd
            self.take_window(seg, wnd, a)
            if wnd > 0:
                timers = self.conn.tcp.timers
                persist = (self.conn, T.PERSIST)
                if persist in timers and self.nxt > self.una:
                    # The window opened without taking the probe's octet: it goes again
                    # at the head of the next segment.
                    self.nxt = self.una
                timers.cancel(persist)
                self.persist_backoff = 0
                if opened and self.max > self.una and not self._armed(T.RETRANSMISSION):
                    self._arm(T.RETRANSMISSION, now + self.rto.rto)

    def new_ack(self, a: int, ts: wire_tcp.Timestamps | None, now: float) -> None:
        """New data acknowledged: free it, measure, grow the window (RFC 5681 §3.1)."""
        acked = a - self.una
        first_data = max(self.una, 1)
        data_end = 1 + self.data_acked + len(self.sndbuf)  # self.data_end
        n = max(0, min(a, data_end) - first_data)
        if n:
            del self.sndbuf[:n]
            self.data_acked += n
        self.rtt_sample(a, ts, now)
        self.cc.srtt = self.rto.srtt or 0.0
        self.una = a
        if self.nxt < a:
            self.nxt = a
        self.retries = 0
        self.full_size_timeouts = 0
        self.gateway_suspected = False
        self.sacked.remove_below(a)
        if now >= self.next_reachability_hint:
            # RFC 4861 §7.3.1: a new ACK is forward progress; the next hop is reachable.
            self.next_reachability_hint = now + REACHABILITY_HINT_INTERVAL
            self.conn.host.reachability_confirmed(
                self.conn.remote_address or self.conn.local_address, now
            )
        self.recovery.on_ack(a, acked, now)
        # RFC 6298 §5.2-5.3: stop the timer when all is acknowledged, else restart it.
        if self.una >= self.max:
            self._cancel(T.RETRANSMISSION)
        else:
            self.restart_timer(now)
        self.conn._notify()

    def duplicate_ack(self, now: float) -> None:
        """RFC 5681 §3.2: a duplicate ACK; the loss recovery decides what it means."""
        self.conn.tcp.counters.duplicate_acks += 1
        self.recovery.on_duplicate_ack(now)

    def take_sack(self, seg: TcpSegment) -> None:
        opt = seg.option(wire_tcp.Sack)
        if opt is None:
            return
        blocks = [(self.ack_offset(left), self.ack_offset(right)) for left, right in opt.blocks]
        for i, (lo, hi) in enumerate(blocks):
            if i == 0 and lo < hi and self._dsack(lo, hi, seg.ack, blocks):
                # RFC 2883 §4: the first block reports a duplicate segment (D-SACK).
                self.dsack_seen = True
                self.conn.tcp.counters.dsacks_received += 1
                self.recovery.on_dsack()
                continue
            # RFC 2018 §4: blocks the receiver holds; ignore what is out of the send space.
            if self.una <= lo < hi <= self.max:
                self.sacked.add(lo, hi)
                self.conn.tcp.counters.sack_blocks_received += 1

    def _dsack(self, lo: int, hi: int, ack: int, blocks: list[tuple[int, int]]) -> bool:
        """RFC 2883 §4: a first SACK block below SEG.ACK, or inside the second block."""
        if hi <= self.ack_offset(ack):
            return True
        return len(blocks) > 1 and blocks[1][0] <= lo and hi <= blocks[1][1]

    def rtt_sample(self, a: int, ts: wire_tcp.Timestamps | None, now: float) -> None:
        """An ACK of send offset ``a``, with the Timestamps option ``ts`` when they are in
        use, measures the RTT if it can."""
        if ts is not None and ts.tsecr:
            # RFC 7323 §4.1: the RTT from TSecr of a segment that acknowledges new data.
            rtt = ((self.conn.opt.tsval(now) - ts.tsecr) % sq.MOD) / 1000.0
            if rtt < 3600:
                self.rto.sample(rtt)
                self.timed = None
                return
        if self.timed is not None and a >= self.timed[0]:
            # RFC 6298 §3: the first ACK that covers the timed segment (up to its end)
            # measures it; waiting for a later one would also count the time the peer
            # took to send that (a zero window: a minute). Karn's algorithm: the timed
            # segment was never retransmitted (else ``timed`` would have been cleared).
            self.rto.sample(now - self.timed[1])
            self.timed = None

    # -- sending ---------------------------------------------------------------------------
    def send_syn(self, now: float, *, ack: bool) -> None:
        flags = SYN | ACK if ack else SYN
        self.emit(0, flags, b"", now, options=self.conn.opt.syn_options(now, ack))
        self.nxt = max(self.nxt, 1)
        self.max = max(self.max, 1)
        if self.timed is None and not self.syn_retransmitted:
            self.timed = (1, now)
        if not self._armed(T.RETRANSMISSION):
            self._arm(T.RETRANSMISSION, now + self.rto.rto)

    def output(self, now: float, override: bool = False) -> bool:
        """Send what the windows allow: new data (Nagle, sender SWS), the FIN. True when
        new data or the FIN went out."""
        if self.conn.state not in OUTPUT_STATES:
            return False
        recovery = self.recovery
        if recovery.in_recovery:
            recovery.retransmit(now)
        sacked = self.sacked
        budget = 1024
        sent_any = False
        gso = -1  # asked of the link (segment_offload_room) when a large segment could go
        stopped = self.conn.tcp.stopped
        while budget:
            budget -= 1
            if stopped and self.conn in stopped:
                break  # local congestion: Tcp.link_writable calls output again
            # Skip what the peer already holds (RFC 6675 §5.1: SACKed data is not resent).
            cover = sacked.covering(self.nxt) if sacked.ranges else None
            if cover is not None:
                self.nxt = cover[1]
                continue
            data_end = 1 + self.data_acked + len(self.sndbuf)  # self.data_end
            avail = data_end - self.nxt
            if avail > 0:
                usable = recovery.usable()
                # RFC 9293 §3.7.1, RFC 6691: the options a segment carries beyond those of
                # every segment (SACK blocks to report) come out of its data.
                smss = max(self.conn.opt.mss - self.sack_room(), 1)
                n = min(avail, smss, usable)
                if n <= 0:
                    if self.wnd == 0 and self.max <= self.una and not self._armed(T.PERSIST):
                        # RFC 9293 §3.8.6.1: probe a zero window.
                        self._arm(T.PERSIST, now + self.persist_interval())
                    break
                offered = self.wnd_base + self.wnd - self.nxt  # self.right - SND.NXT
                if n < min(avail, smss) and usable < offered and self.max > self.una:
                    # The congestion window, not the peer's, is the limit: the ACKs in
                    # flight open it; a runt now (or from the SWS timer, which is for a
                    # small offered window, RFC 1122 §4.2.3.4) would only waste a segment.
                    break
                fin = self.fin_queued and n == avail
                # Nagle (RFC 1122 §4.2.3.4 (b)) holds a runt while data is unacknowledged,
                # but not the last one, which carries the FIN: nothing more will join it,
                # and held, it would wait for the peer's delayed ACK (as Linux's
                # tcp_nagle_test: "Don't use the nagle rule for ... the final FIN").
                if n < smss and not override and not fin and not self.may_send_small(n, avail):
                    if not self._armed(T.SWS_OVERRIDE) and n < avail:
                        self._arm(T.SWS_OVERRIDE, now + self.conn.params.sws_override)
                    break
                if n == smss and avail > smss and usable > smss and not sacked.ranges:
                    if gso < 0:
                        gso = self.segment_offload_room(now)
                    k = min(avail, usable, gso) // smss if self.nxt >= self.max else 0
                    if k > 1:
                        self.send_segments(self.nxt, k, smss, now)
                        sent_any = True
                        continue
                self.send_new(self.nxt, n, fin, now)
                sent_any = True
                continue
            if self.fin_queued and self.nxt == data_end:
                self.send_new(self.nxt, 0, True, now)
                sent_any = True
            break
        if sent_any:
            self._cancel(T.SWS_OVERRIDE)
        return sent_any

    def sack_room(self) -> int:
        """Octets the SACK option of the next segment takes (two NOPs, kind, length and
        8 octets a block, RFC 2018 §3), 0 when there is nothing to report."""
        conn = self.conn
        if not conn.opt.sack_ok:
            return 0
        rcv = conn.rcv
        if rcv.dsack is None and not rcv.ooo_blocks:
            return 0  # rcv.sack_recent is empty: the usual case, without building it
        recent = rcv.sack_recent
        limit = 3 if conn.opt.ts_ok else MAX_SACK_BLOCKS
        return SACK_OVERHEAD + 8 * min(len(recent), limit)

    def may_send_small(self, n: int, avail: int) -> bool:
        """RFC 1122 §4.2.3.4 (sender SWS avoidance, with Nagle as its part (b)): a segment
        below the MSS goes when it takes all queued data and nothing is unacknowledged (or
        TCP_NODELAY), or when it is at least half the largest window the peer offered."""
        if n == avail and (self.conn.nodelay or self.max <= self.una or self.nxt < self.max):
            return True
        return self.max_wnd > 0 and n >= self.max_wnd // 2

    def send_new(self, off: int, n: int, fin: bool, now: float) -> None:
        flags = ACK | (PSH if n and off + n >= self.data_end else 0) | (FIN if fin else 0)
        payload = self.octets(off, n)
        self.emit(off, flags, payload, now)
        end = off + n + (1 if fin else 0)
        retransmission = off < self.max
        self.nxt = end
        if retransmission:
            self.conn.tcp.counters.retransmitted_segments += 1
        elif self.timed is None and not self.conn.ts_ok:
            self.timed = (end, now)  # RFC 6298 §3: time one segment per RTT
        self.max = max(self.max, end)
        self.conn.tcp.counters.out_octets += n if not retransmission else 0
        if not self._armed(T.RETRANSMISSION):
            # RFC 6298 §5.1: start the timer when data is sent and it is not running.
            self._arm(T.RETRANSMISSION, now + self.rto.rto)
        self.recovery.sent(off, end, now, retransmission)

    # -- segmentation offload: several full segments of new data built as one ------------
    def segment_offload_room(self, now: float) -> int:
        """Octets of data one large segment may carry when the link segments (0: it does
        not): what the link takes less the IPv6 header and the largest TCP header
        (RFC 9293 §3.1), and no more than the window sends in GSO_BURST seconds (Linux's
        TSO autosizing: a burst the size of a whole 64 KB segment floods a slow
        bottleneck's queue); none while urgent data is pending (its pointer is per
        segment)."""
        if self.up is not None:
            return 0
        size = self.conn.tcp.segment_offload_size(self.conn, now)
        room = max(0, min(size, 0xFFFF) - 40 - 60)
        srtt = self.rto.srtt
        if room and srtt:
            room = min(room, max(2 * self.conn.mss, int(self.cc.cwnd * GSO_BURST / srtt)))
        return room

    def send_segments(self, off: int, k: int, smss: int, now: float) -> None:
        """``k`` full segments of new data from ``off`` as one segment that the link cuts
        into pieces of ``smss`` octets, each as :meth:`send_new` would have built it (FIN
        never; PSH on the last piece when it ends the data). The send space, the RTT timing
        (RFC 6298 §3: the first piece) and the loss recovery see ``k`` segments."""
        n = k * smss
        end = off + n
        flags = ACK | (PSH if end >= self.data_end else 0)
        self.emit(off, flags, self.octets(off, n), now, gso_size=smss)
        self.nxt = end
        if self.timed is None and not self.conn.ts_ok:
            self.timed = (off + smss, now)
        self.max = max(self.max, end)
        self.conn.tcp.counters.out_octets += n
        if not self._armed(T.RETRANSMISSION):
            self._arm(T.RETRANSMISSION, now + self.rto.rto)  # RFC 6298 §5.1
        sent = self.recovery.sent
        for i in range(off, end, smss):
            sent(i, i + smss, now, False)

    def octets(self, off: int, n: int) -> bytes:
        i = self.data_offset(off)
        return bytes(self.sndbuf[i : i + n])

    def retransmit_at(self, off: int, now: float) -> None:
        end = min(off + self.conn.mss, self.data_end + (1 if self.fin_queued else 0), self.max)
        self.retransmit_range(off, max(end, off + 1), now)

    def retransmit_range(self, start: int, end: int, now: float) -> None:
        """Resend ``[start, end)`` of the send space (SYN, data, FIN as they fall)."""
        self.conn.tcp.counters.retransmitted_segments += 1
        self.recovery.sent(start, end, now, True)
        if self.timed is not None and self.timed[0] > start:
            self.timed = None  # Karn
        if start == 0:
            syn_ack = self.conn.state is not S.SYN_SENT  # SYN-RECEIVED, or FIN-WAIT-1 after it
            self.emit(
                0,
                SYN | (ACK if syn_ack else 0),
                b"",
                now,
                options=self.conn.opt.syn_options(now, syn_ack),
            )
            return
        data_end = self.data_end
        n = max(0, min(end, data_end) - start)
        fin = self.fin_queued and end > data_end and start + n == data_end
        flags = ACK | (PSH if n else 0) | (FIN if fin else 0)
        self.emit(start, flags, self.octets(start, n), now)

    def emit(
        self,
        off: int,
        flags: int,
        payload: bytes,
        now: float,
        *,
        options: tuple[wire_tcp.TcpOption, ...] | None = None,
        gso_size: int = 0,
    ) -> None:
        """Build and send one segment at send offset ``off`` (with ``gso_size``, one the
        link cuts into segments of that many octets: :meth:`send_segments`)."""
        conn = self.conn
        opt = conn.opt
        rcv = conn.rcv
        #: The options encoded, for the usual segment (Timestamps alone, or none), which
        #: is built from its fields without a segment object (wire_tcp.build_octets).
        encoded: bytes | None = None
        if options is None:
            sack_recent = rcv.sack_recent if opt.sack_ok else None
            if sack_recent and flags & ACK and not flags & RST:
                opts: list[wire_tcp.TcpOption] = []
                if opt.ts_ok:
                    opts += wire_tcp.timestamp_options(opt.tsval(now), opt.ts_recent)
                # RFC 9293 §3.7.1: a segment with data stays within the effective send MSS,
                # the SACK option included (a full-size retransmission carries fewer
                # blocks, or none); a pure ACK carries all it can (RFC 2018 §4).
                limit = 3 if opt.ts_ok else MAX_SACK_BLOCKS
                if payload:
                    piece = gso_size or len(payload)
                    limit = min(limit, (opt.mss - piece - SACK_OVERHEAD) // 8)
                if limit > 0:
                    blocks = rcv.sack_blocks(limit)
                    opts += [wire_tcp.NoOperation(), wire_tcp.NoOperation(), wire_tcp.Sack(blocks)]
                    conn.tcp.counters.sack_blocks_sent += len(blocks)
                options = tuple(opts)
            elif opt.ts_ok:
                # The usual case: Timestamps alone (no SACK blocks to report).
                tsval = opt.tsval(now)
                if gso_size:
                    options = wire_tcp.timestamp_options(tsval, opt.ts_recent)
                else:
                    encoded = wire_tcp.timestamp_octets(tsval, opt.ts_recent)
            elif gso_size:
                options = ()
            else:
                encoded = b""
        window = rcv.advertise(opt.mss, opt.rcv_wscale) if not flags & SYN else opt.syn_window
        urgent = 0
        if self.up is not None and conn.state is not S.SYN_SENT:
            if self.up > off:
                flags |= URG
                urgent = min(self.up - off, 0xFFFF)
            elif self.una >= self.up:
                self.up = None
        seq = (self.iss + off) % sq.MOD
        ack = (rcv.irs + rcv.nxt) % sq.MOD if flags & ACK else 0  # RCV.NXT
        if flags & ACK:
            rcv.acked()
            conn.tcp.timers.cancel((conn, T.DELAYED_ACK))
        if (flags & (SYN | FIN) or payload) and conn.keepalive:
            self.arm_keepalive(now)
        if encoded is not None:
            dst = conn.remote_address
            if dst is not None:  # none: no route either (Tcp._next_hop)
                body = wire_tcp.build_octets(
                    conn.local_port, conn.remote_port, seq, ack, flags, window, urgent,
                    encoded, payload, conn.local_address, dst,
                )  # fmt: skip
                conn.tcp.transmit_octets(conn, body, now)
            return
        seg = TcpSegment(  # positional: a keyword call costs twice as much per segment
            conn.local_port,
            conn.remote_port,
            seq,
            ack,
            flags,
            window,
            urgent,
            options or (),  # None only with ``encoded``
            payload,
        )
        if gso_size:
            conn.tcp.transmit_segments(conn, seg, gso_size, now)
            return
        conn.tcp.transmit(conn, seg, now)

    # -- acknowledgments (RFC 1122 §4.2.3.2) -----------------------------------------------
    def reply_allowed(self, now: float) -> bool:
        """RFC 5961 §7: "An implementation SHOULD include an ACK throttling mechanism to
        be conservative": at most ACK_THROTTLE_LIMIT replies a second to unacceptable
        segments (challenge ACKs, RFC 9293 §3.10.7.4's ACK to an out-of-window segment)
        per connection, so that a blind flood at a 4-tuple is not reflected one for one.
        Per connection, not host-wide: a shared budget is a side channel that tells an
        off-path attacker another connection's 4-tuple (CVE-2016-5696)."""
        if now - self.ack_throttle_start >= 1.0 or now < self.ack_throttle_start:
            self.ack_throttle_start, self.ack_throttle_sent = now, 0
        if self.ack_throttle_sent >= ACK_THROTTLE_LIMIT:
            self.conn.tcp.counters.acks_throttled += 1
            return False
        self.ack_throttle_sent += 1
        return True

    def send_ack(self, now: float) -> None:
        """<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, SND.NXT being the highest sequence sent:
        after a timeout ``nxt`` goes back to resend (go-back-N), but an ACK with that
        older SEQ would lie before the peer's RCV.NXT, fail its acceptability test and
        have its acknowledgment ignored; with both ends resending, neither would ever
        learn its data arrived."""
        self.emit(self.max, ACK, b"", now)

    def schedule_ack(self, now: float, full: bool) -> None:
        """RFC 1122 §4.2.3.2 / RFC 5681 §4.2: "an ACK SHOULD be generated for at least
        every second full-sized segment", and no later than the delay."""
        c = self.conn
        if not c.params.delayed_ack or c.rcv.ack_pending >= 2:
            c.rcv.ack_now()
            return
        c.rcv.delack_due = True
        if not self._armed(T.DELAYED_ACK):
            self._arm(T.DELAYED_ACK, now + c.params.delayed_ack_time)

    def window_update(self, now: float) -> None:
        """RFC 1122 §4.2.3.3: the application read enough to open the window by the SWS
        threshold: tell the peer."""
        c = self.conn
        if c.state not in (S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2):
            return
        if c.rcv.window_update_due(c.mss):
            c.tcp.counters.window_updates += 1
            self.send_ack(now)

    # -- timeouts (RFC 6298 §5, RFC 9293 §3.8.6.1) -----------------------------------------
    def retransmission_timeout(self, now: float) -> None:
        """RFC 6298 §5.4-5.6, RFC 5681 §3.1 (loss window), and giving up (R2)."""
        if self.max <= self.una and self.conn.state not in (S.SYN_SENT, S.SYN_RECEIVED):
            return
        if self.timer_kind != "rto":
            # RFC 8985: the PTO or the RACK reordering timer, not a retransmission timeout.
            kind, self.timer_kind = self.timer_kind, "rto"
            self.recovery.early_timeout(kind, now)
            return
        c = self.conn.tcp.counters
        if self.wnd == 0 and self.conn.state not in (S.SYN_SENT, S.SYN_RECEIVED):
            # RFC 1122 §4.2.2.17: a closed window is probed, never given up on while the
            # receiver answers: the persist timer takes over from the retransmission timer.
            if not self._armed(T.PERSIST):
                self._arm(T.PERSIST, now + self.persist_interval())
            return
        c.timeouts += 1
        self.retries += 1
        # RFC 9293 §3.10.8: "send the segment at the front of the retransmission queue
        # again": our SYN while it is unacknowledged, also after a CLOSE in SYN-RECEIVED
        # sent a FIN behind it (RFC 9293 §3.10.4) and moved the connection to FIN-WAIT-1.
        syn = self.una == 0
        limit = (
            self.conn.params.max_connect_retransmissions
            if syn
            else self.conn.params.max_data_retransmissions
        )
        if self.retries > limit:
            err = self.conn.soft_error or TimeoutError(errno.ETIMEDOUT, "Connection timed out")
            self.conn.error = err
            c.gave_up += 1
            GRAPH.fire(self.conn, "give_up", now)
            self.conn._closed(now)
            return
        if (
            self.conn.params.dead_gateway_detection
            and not syn
            and not self.gateway_suspected
            and self.retries * 2 > limit
            and self.conn.remote_address is not None
        ):
            # Windows' dead gateway detection, with RFC 4861 §6.3.6: past half the limit,
            # suspect the default router this connection goes through.
            self.gateway_suspected = True
            if self.conn.tcp.suspect_gateway(self.conn, now):
                c.dead_gateway_suspected += 1
        if (
            self.conn.params.pmtu_blackhole_detection
            and not syn
            and not self.blackhole
            and self.in_flight >= self.conn.mss
        ):
            self.full_size_timeouts += 1
            if self.full_size_timeouts >= self.conn.params.blackhole_timeouts:
                # RFC 4821's idea (Windows' EnablePMTUBHDetect): full-size segments vanish,
                # small ones may not: drop to the IPv6 minimum.
                self.blackhole = True
                c.blackhole_detected += 1
                self.conn.opt.update_mss(now)
        self.rto.timed_out()
        self.timed = None
        if syn:
            self.syn_retransmitted = True
            self.retransmit_range(0, 1, now)
        else:
            # RFC 5681 §3.1 equation 4 and "the loss window"; recovery ends (RFC 6582 §4,
            # RFC 6675 §5.1: the scoreboard is kept, SACKed data skipped); go back to
            # SND.UNA.
            self.recovery.on_timeout(now)
            self.nxt = self.una
            self.retransmit_first(now)
        self.restart_timer(now)

    def retransmit_first(self, now: float) -> None:
        # RFC 9293 §3.8.6: a retransmission too stays within the offered window (one
        # octet when it is closed, as a probe would).
        end = min(self.una + self.conn.mss, self.data_end, max(self.right, self.una + 1))
        n = max(0, end - self.una)
        fin = self.fin_queued and self.una + n >= self.data_end and self.fin_sent
        if n or fin:
            self.send_new(self.una, n, fin, now)

    def persist_interval(self) -> float:
        return min(self.rto.rto * (1 << self.persist_backoff), self.conn.params.max_persist)

    def persist_timeout(self, now: float) -> None:
        """RFC 9293 §3.8.6.1: a zero-window probe, one octet of new data beyond the
        window, again with backoff while the window stays closed."""
        if self.wnd > 0:
            return
        if self.max > self.una:
            # The octet of the last probe is still unacknowledged: the same octet again
            # (a new one each time would walk further and further beyond the window).
            self.retransmit_range(self.una, self.una + 1, now)
        elif self.data_end > self.nxt:
            self.emit(self.nxt, ACK, self.octets(self.nxt, 1), now)
            self.nxt += 1
            self.max = max(self.max, self.nxt)
        else:
            return
        self.probes_unanswered += 1
        if self.probes_unanswered > self.conn.params.max_data_retransmissions:
            # RFC 1122 §4.2.2.17 keeps a probed connection open only while "the receiving
            # TCP continues to send acknowledgments": a peer that stopped answering is
            # given up on like any retransmission (RFC 1122 §4.2.3.5 R2).
            self.conn.error = self.conn.soft_error or TimeoutError(
                errno.ETIMEDOUT, "Connection timed out"
            )
            self.conn.tcp.counters.gave_up += 1
            GRAPH.fire(self.conn, "give_up", now)
            self.conn._closed(now)
            return
        self.conn.tcp.counters.window_probes += 1
        self.persist_backoff += 1
        self._arm(T.PERSIST, now + self.persist_interval())

    # -- keepalive (RFC 1122 §4.2.3.6) -----------------------------------------------------
    def arm_keepalive(self, now: float) -> None:
        c = self.conn
        self._arm(T.KEEPALIVE, max(now, c.last_received) + c.params.keepalive_idle)

    def keepalive_timeout(self, now: float) -> None:
        """RFC 1122 §4.2.3.6: after idle, a probe <SEQ=SND.NXT-1> that elicits an ACK;
        unanswered probes end the connection."""
        c = self.conn
        p = c.params
        if not c.keepalive or c.state not in (S.ESTABLISHED, S.CLOSE_WAIT, S.FIN_WAIT_2):
            return
        idle = now - c.last_received
        if idle < p.keepalive_idle and self.keepalive_probes == 0:
            self._arm(T.KEEPALIVE, c.last_received + p.keepalive_idle)
            return
        if self.keepalive_probes >= p.keepalive_probes:
            c.error = c.soft_error or TimeoutError(errno.ETIMEDOUT, "Connection timed out")
            c.tcp.counters.keepalive_drops += 1
            GRAPH.fire(c, "give_up", now)
            c._closed(now)
            return
        self.keepalive_probes += 1
        c.tcp.counters.keepalive_probes += 1
        self.emit(self.una - 1, ACK, b"", now)
        self._arm(T.KEEPALIVE, now + p.keepalive_interval)
