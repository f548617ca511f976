"""One TCP connection: the TCB of RFC 9293 §3.3.1 and the event processing of
RFC 9293 §3.10: user calls (RFC 9293 §3.10.1-3.10.5), segment arrival check by check
(RFC 9293 §3.10.7: sequence acceptability, RST, SYN, ACK, URG, text, FIN) and timeouts
(RFC 9293 §3.10.8). Its state is its place in the graph of
:mod:`tcpip6.stack.machines.tcp`: only state changes fire a trigger, the data path of
ESTABLISHED fires none.

The TCB's parts, each in its module: ``snd``, the :class:`~tcpip6.stack.tcp.sender.Sender`
(SND.*, the send buffer, retransmission, persist, keepalive, every segment built), which
holds the congestion control and loss recovery of :mod:`tcpip6.stack.tcp.congestion`;
``rcv``, the :class:`~tcpip6.stack.tcp.receiver.Receiver` (RCV.*, the receive buffer,
out-of-order queue, SACK blocks, receiver SWS); ``opt``, the
:class:`~tcpip6.stack.tcp.options.Options` the SYNs agreed (MSS, window scale,
timestamps, SACK). Positions inside are unwrapped offsets from the ISS and the IRS (the
SYN at 0, the data from 1, then the FIN), so buffers and scoreboards never compare modulo
2**32; :class:`~tcpip6.stack.tcp.tcb.TcbView` shows the RFC's 32-bit variables.
"""

from __future__ import annotations

import errno
from collections import deque
from collections.abc import Callable
from ipaddress import IPv6Address
from typing import TYPE_CHECKING, assert_never

from tcpip6.stack.machines.tcp import GRAPH, TcpState
from tcpip6.stack.tcp import seq as sq
from tcpip6.stack.tcp.congestion import loss_recovery
from tcpip6.stack.tcp.options import Options
from tcpip6.stack.tcp.params import TcpParameters
from tcpip6.stack.tcp.receiver import Receiver
from tcpip6.stack.tcp.sender import SENDABLE, Sender
from tcpip6.stack.tcp.tcb import TcbView
from tcpip6.stack.tcp.timers import ALL_BUT_TIME_WAIT, TcpTimer
from tcpip6.wire import tcp as wire_tcp
from tcpip6.wire.tcp import ACK, FIN, PSH, RST, SYN, URG, TcpSegment

if TYPE_CHECKING:
    from tcpip6.stack.interface import Interface
    from tcpip6.stack.tcp.layer import Tcp

#: RFC 7323 §5.5: TS.Recent is invalid after 24 days of idleness.
PAWS_IDLE = 24 * 24 * 3600.0

S = TcpState
T = TcpTimer
#: The peer's FIN has been received in order (an RST at RCV.NXT - 1 is accepted then).
FIN_RECEIVED = (S.CLOSE_WAIT, S.CLOSING, S.LAST_ACK)
# The states in which segment text is taken (RFC 9293 §3.10.7.4 seventh).
RECEIVING = (S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2)


class Connection(TcbView):
    """The TCB. Built by :class:`~tcpip6.stack.tcp.layer.Tcp` (``open_active``,
    ``open_passive``, or a SYN arriving on a listener)."""

    state: TcpState  # the graph's (set by GRAPH.attach)

    def __init__(
        self,
        tcp: Tcp,
        local_address: IPv6Address,
        local_port: int,
        remote_address: IPv6Address | None,
        remote_port: int,
        params: TcpParameters,
        interface: Interface | None = None,
        *,
        passive: bool = False,
        listener: Connection | None = None,
    ) -> None:
        self.tcp = tcp
        self.host = tcp.host
        self.params = params
        self.local_address = local_address
        self.local_port = local_port
        self.remote_address = remote_address
        self.remote_port = remote_port
        #: The zone of a link-local peer (RFC 4007), or the interface the SYN came in on.
        self.interface = interface
        #: RFC 9293 §3.10.7.4: opened by LISTEN (an RST in SYN-RECEIVED returns it to LISTEN).
        self.passive = passive
        self.listener = listener
        self.trace_sink = tcp.trace_sink
        self.snd = Sender(self)
        self.rcv = Receiver(params, tcp.counters)
        self.opt = Options(self, params)
        # -- the application side ---------------------------------------------------------
        self.nodelay = not params.nagle
        self.keepalive = params.keepalive
        self.error: OSError | None = None  # ends the connection: reported once
        self.soft_error: OSError | None = None  # an ICMPv6 error, reported on timeout
        self.orphaned = False  # the socket was closed; the connection finishes alone
        self.urgent_signalled = False
        self.last_received = 0.0
        # -- a listener's queues ----------------------------------------------------------
        self.backlog = 0
        self.accept_queue: deque[Connection] = deque()
        self.syn_queue: set[Connection] = set()
        #: RFC 4987 §3.6: until when ACKs may bring back a SYN cookie this listener sent.
        self.cookies_until = 0.0
        #: Called when something the application waits for may have happened.
        self.on_change: Callable[[Connection], None] | None = None
        GRAPH.attach(self, initial=S.LISTEN if listener is not None else S.CLOSED)

    def __repr__(self) -> str:
        return f"<tcp {self.trace_label} {self.state}>"

    @property
    def trace_label(self) -> str:
        remote = f"[{self.remote_address}]:{self.remote_port}" if self.remote_address else "*"
        return f"[{self.local_address}]:{self.local_port}>{remote}"

    @property
    def tcp_state(self) -> TcpState:
        """The state now (a call, so that mypy does not narrow it across triggers)."""
        return self.state

    # -- user calls (RFC 9293 §3.10.1–3.10.5) ---------------------------------------------
    def open_active(self, now: float) -> None:
        """RFC 9293 §3.10.1 active OPEN: "issue a SYN segment ... enter SYN-SENT state"."""
        self.snd.iss = self.tcp.initial_sequence_number(self, now)
        self.opt.choose_receive_window(now)
        self.opt.ts_offset = self.host.rng.getrandbits(32)
        self.last_received = now
        GRAPH.fire(self, "active_open", now)
        self.snd.send_syn(now, ack=False)

    def open_passive(self, backlog: int, now: float) -> None:
        """RFC 9293 §3.10.1 passive OPEN: "enter the LISTEN state and return"."""
        self.backlog = max(1, min(backlog, self.params.max_backlog))
        GRAPH.fire(self, "passive_open", now)

    def send(
        self, data: bytes | bytearray | memoryview, now: float, *, urgent: bool = False
    ) -> int:
        """RFC 9293 §3.10.2 SEND: queue what fits of ``data``; the number of octets taken."""
        if self.error is not None:
            raise self._take_error()
        # RFC 9293 §3.10.2: in SYN-SENT and SYN-RECEIVED "queue the data for transmission after
        # entering ESTABLISHED state"; after CLOSE, "error: connection closing".
        if self.snd.fin_queued or self.state not in SENDABLE:
            raise BrokenPipeError(errno.EPIPE, "Broken pipe")
        n = min(len(data), self.params.send_buffer - len(self.snd.sndbuf))
        if n <= 0:
            return 0
        self.snd.sndbuf += bytes(data[:n])
        if urgent:
            # RFC 9293 §3.8.5: "the urgent pointer ... points to the sequence number of the octet
            # following the urgent data"; SND.UP is the send offset after the last octet.
            self.snd.up = self.snd.data_end
        self.snd.output(now)
        return n

    def read(self, n: int, now: float) -> bytes:
        """Take up to ``n`` received octets; the window opens as the buffer drains."""
        if n <= 0 or not self.rcv.rcvbuf:
            return b""
        out = self.rcv.read(n)
        self.rcv.autotune(len(out), now, self.snd.rto.srtt)  # the window may grow
        self.snd.window_update(now)
        return out

    def close(self, now: float) -> None:
        """RFC 9293 §3.10.4 CLOSE: the FIN follows the data already queued."""
        state = self.state
        if state is S.CLOSED:
            return
        if state in (S.LISTEN, S.SYN_SENT):
            self._drop_children(now)
            GRAPH.fire(self, "close", now)
            self._closed(now)
            return
        if self.snd.fin_queued:
            if state is not S.SYN_RECEIVED:
                GRAPH.fire(self, "close", now)  # "error: connection closing" (ignored: no change)
            return
        self.snd.fin_queued = True
        if state is S.SYN_RECEIVED and self.snd.sndbuf:
            # RFC 9293 §3.10.4 SYN-RECEIVED: "If no SENDs have been issued and there is no pending
            # data to send, then form a FIN segment and send it, and enter FIN-WAIT-1
            # state; otherwise, queue for processing after entering ESTABLISHED state."
            # The ACK of our SYN fires the queued CLOSE (_process_ack).
            return
        GRAPH.fire(self, "close", now)
        self.snd.output(now)

    def abort(self, now: float, error: OSError | None = None) -> None:
        """RFC 9293 §3.10.5 ABORT: an RST in SYN-RECEIVED and the synchronized states that send
        data (SO_LINGER 0 closes this way)."""
        if self.state is S.CLOSED:
            return
        if self.state in (S.SYN_RECEIVED, S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2, S.CLOSE_WAIT):
            self.snd.emit(self.snd.nxt, RST | ACK, b"", now)
            self.tcp.counters.out_resets += 1
        self._drop_children(now)
        if error is not None:
            self.error = error
        GRAPH.fire(self, "abort", now)
        self._closed(now)

    def orphan(self, now: float) -> None:
        """The application has let go (its socket is closed): the connection finishes
        alone, and an orphaned FIN-WAIT-2 is freed after ``fin_wait_2_timeout``."""
        self.orphaned = True
        self.on_change = None
        if self.state is S.FIN_WAIT_2:
            self._arm(T.FIN_WAIT_2, now + self.params.fin_wait_2_timeout)

    def shutdown_read(self) -> None:
        self.rcv.shutdown()

    def output(self, now: float, override: bool = False) -> bool:
        """Send what the windows allow (a socket option changed: TCP_NODELAY)."""
        return self.snd.output(now, override)

    # -- timers (the Tcp module keeps the deadlines) --------------------------------------
    def _arm(self, kind: TcpTimer, at: float) -> None:
        self.tcp.timers.arm((self, kind), at)

    def _cancel(self, kind: TcpTimer) -> None:
        self.tcp.timers.cancel((self, kind))

    def _armed(self, kind: TcpTimer) -> bool:
        return (self, kind) in self.tcp.timers

    def timer_expired(self, kind: TcpTimer, now: float) -> None:
        if self.state is S.CLOSED:
            return
        if kind is T.RETRANSMISSION:
            if self.state is S.SYN_RECEIVED and self.listener is not None:
                self.tcp.syn_ack_retransmitted(self)  # Windows' TcpMaxHalfOpenRetried
            self.snd.retransmission_timeout(now)
        elif kind is T.DELAYED_ACK:
            if self.rcv.ack_pending or self.rcv.delack_due:
                self.snd.send_ack(now)
        elif kind is T.PERSIST:
            self.snd.persist_timeout(now)
        elif kind is T.KEEPALIVE:
            self.snd.keepalive_timeout(now)
        elif kind is T.TIME_WAIT:
            GRAPH.fire(self, "time_wait_expired", now)
            self._closed(now)
        elif kind is T.FIN_WAIT_2:
            if self.state is S.FIN_WAIT_2 and self.orphaned:
                GRAPH.fire(self, "give_up", now)
                self._closed(now)
        elif kind is T.SWS_OVERRIDE:
            self.snd.output(now, override=True)
        else:
            assert_never(kind)

    # -- opening --------------------------------------------------------------------------
    def _negotiated(self, seg: TcpSegment, now: float) -> None:
        """Both SYNs seen: fix what the options agreed."""
        self.opt.negotiated(seg, now)
        # RFC 5681 §3.1: the initial window; loss recovery as the SYNs agreed (RFC 6675
        # when both permitted SACK, RFC 2018 §2; else RFC 6582).
        snd = self.snd
        snd.cc.on_established(self.opt.mss, now)
        snd.recovery = loss_recovery(snd.cc, snd, sack=self.opt.sack_ok)
        if self.snd.syn_retransmitted:
            self.snd.rto.syn_timed_out_reset()

    # -- segment arrival (RFC 9293 §3.10.7) -----------------------------------------------
    def listen_segment(self, seg: TcpSegment, now: float) -> None:
        """RFC 9293 §3.10.7.2: a segment for the new connection a listener made: a SYN."""
        self.opt.take_syn_options(seg)
        self.snd.iss = self.tcp.initial_sequence_number(self, now)
        self.opt.choose_receive_window(now)
        self.opt.ts_offset = self.host.rng.getrandbits(32)
        self.last_received = now
        self.rcv.synchronize(seg.seq, self.opt.syn_window)
        # RFC 9293 §3.10.7.2: "Set RCV.NXT to SEG.SEQ+1, IRS is set to SEG.SEQ ... send
        # <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>"; the window in a SYN is never scaled.
        self.snd.take_window(seg, seg.window, 1)
        GRAPH.fire(self, "syn_received", now)
        self.snd.send_syn(now, ack=True)
        # RFC 9293 §3.10.7.2: "any other control or text should be queued for processing later";
        # data on a SYN is dropped here (the peer retransmits it), as most stacks do.

    def cookie_established(
        self, seg: TcpSegment, iss: int, mss: int, ts_offset: int, now: float
    ) -> None:
        """RFC 4987 §3.6: the ACK of a SYN,ACK the listener sent without keeping state
        (its ISN ``iss`` a cookie that brought back the SYN's MSS; the TSecr, the SYN's
        window scale and SACK-permitted): the SYN-RECEIVED that was never kept is
        rebuilt from them and the ACK takes the connection to ESTABLISHED."""
        o = self.opt
        o.take_cookie_options(seg, mss, ts_offset)
        self.snd.iss = iss
        o.choose_receive_window(now)  # the window and scale the SYN,ACK offered
        self.last_received = now
        self.rcv.synchronize((seg.seq - 1) % sq.MOD, o.syn_window)
        self.snd.nxt = self.snd.max = 1  # the SYN,ACK was sent
        GRAPH.fire(self, "cookie_ack", now)
        self._ack_syn(1, seg, now)
        self.snd.take_window(seg, seg.window << o.snd_wscale, 1)
        self._established(now)
        if seg.payload or seg.flags & FIN:
            self._synchronized(seg, now)  # RFC 9293 §3.10.7.4: the rest of the segment

    def segment_arrives(self, seg: TcpSegment, now: float) -> None:
        state = self.state
        if state is S.SYN_SENT:
            self._syn_sent(seg, now)
            return
        self._synchronized(seg, now)

    def _syn_sent(self, seg: TcpSegment, now: float) -> None:
        """RFC 9293 §3.10.7.3."""
        flags = seg.flags
        ack_ok = False
        if flags & ACK:
            a = self.snd.ack_offset(seg.ack)
            # "If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset (unless the RST bit is
            # set, if so drop the segment and return)".
            if a <= 0 or a > self.snd.nxt:
                if not flags & RST:
                    self._reply_rst(seg.ack, now)
                self.tcp.counters.bad_ack_drop += 1
                return
            ack_ok = True
        if flags & RST:
            # RFC 5961 §3 for SYN-SENT: acceptable only with an acceptable ACK.
            if ack_ok:
                self.error = ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
                GRAPH.fire(self, "rst_received", now)
                self._closed(now)
            else:
                self.tcp.counters.rst_ignored += 1
            return
        if not flags & SYN:
            self.tcp.counters.no_syn_drop += 1
            return
        self.opt.take_syn_options(seg)
        self.rcv.synchronize(seg.seq, self.opt.syn_window)
        self.last_received = now
        if ack_ok:
            a = self.snd.ack_offset(seg.ack)
            self._ack_syn(a, seg, now)
            # RFC 9293 §3.10.7.3: "If SND.UNA > ISS (our SYN has been ACKed), change the connection
            # state to ESTABLISHED, form an ACK segment <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>".
            # RFC 7323 §2.2: "The window field in a SYN (i.e., a <SYN> or <SYN,ACK>)
            # segment itself is never scaled."
            self.snd.take_window(seg, seg.window, a)
            GRAPH.fire(self, "syn_ack_received", now)
            self._established(now)
            # "Data or controls that were queued for transmission MAY be included": SENDs
            # queued in SYN-SENT go now, the ACK riding on them; else the ACK alone.
            if not self.snd.output(now):
                self.snd.send_ack(now)
            # Text and a FIN on the SYN,ACK are not processed (RFC 9293 §3.10.7.3 would continue at
            # the sixth step): our ACK does not cover them and the peer sends them again,
            # as for data on a SYN (listen_segment).
            return
        # RFC 9293 §3.10.7.3: simultaneous open: "enter SYN-RECEIVED, form a SYN,ACK segment".
        self.snd.take_window(seg, seg.window, 1)
        GRAPH.fire(self, "syn_received", now)
        self.snd.emit(0, SYN | ACK, b"", now, options=self.opt.syn_options(now, True))

    def _ack_syn(self, a: int, seg: TcpSegment, now: float) -> None:
        """The ACK of our SYN: RTT sample, negotiated options."""
        self._negotiated(seg, now)
        self.snd.rtt_sample(a, self.opt.timestamps(seg), now)
        self.snd.una = a
        self.snd.nxt = max(self.snd.nxt, a)
        self.snd.retries = 0
        self._cancel(T.RETRANSMISSION)

    def _synchronized(self, seg: TcpSegment, now: float) -> None:
        """RFC 9293 §3.10.7.4, "Otherwise": SYN-RECEIVED and every synchronized state."""
        c = self.tcp.counters
        flags = seg.flags
        opt = self.opt
        rcv = self.rcv
        # RFC 7323 §5.3 R1: PAWS, before the acceptability test.
        ts = opt.timestamps(seg)
        if (
            ts is not None
            and not flags & RST
            and self.state is not S.SYN_RECEIVED
            and sq.lt(ts.tsval, opt.ts_recent)
            and now - opt.ts_recent_time < PAWS_IDLE
        ):
            c.paws_drop += 1
            self.snd.send_ack(now)
            return
        off = rcv.seq_offset(seg.seq)
        if flags & RST and self.state in FIN_RECEIVED and rcv.rst_at_fin(off):
            self._reset_received(now)  # RFC 5961 §3 deviation: Receiver.rst_at_fin says why
            return
        data = seg.payload
        seg_len = seg.seg_len
        wnd = rcv.rcv_wnd
        answer_with_ack = False
        ok = rcv.acceptable(off, seg_len, wnd)  # RFC 9293 §3.10.7.4 first
        if not ok and wnd == 0 and self.rcv.allowance(off, flags):
            # "special allowance should be made to accept valid ACKs, URGs, and RSTs":
            # the control is processed, the text is not (and is answered with an ACK, as
            # any unacceptable text or old probe is: so a zero-window probe learns the window).
            ok = True
            answer_with_ack = bool(data) or off < rcv.nxt
            data = b""
            flags &= ~(FIN | SYN)
            seg_len = 0
        if not ok:
            c.out_of_window_drop += 1
            # "If an incoming segment is not acceptable, an acknowledgment should be sent
            # in reply (unless the RST bit is set ...) <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>".
            if not flags & RST and self.snd.reply_allowed(now):
                self.rcv.duplicate(off, len(data))  # RFC 2883: old text, in a D-SACK block
                self.snd.send_ack(now)
            return
        seq_off = off  # SEG.SEQ as it arrived, for the RST check
        off, data, flags = rcv.trim(off, data, flags, wnd, opt.sack_ok)
        # RFC 7323 §4.3: TS.Recent from the segment that covers RCV.NXT.
        if ts is not None and off <= rcv.nxt and sq.ge(ts.tsval, opt.ts_recent):
            opt.ts_recent = ts.tsval
            opt.ts_recent_time = now
        self.last_received = now
        self.snd.probes_unanswered = 0
        if self.snd.keepalive_probes:
            # A probe was answered: the next one after a whole idle time again, not at
            # the probe interval (RFC 1122 §4.2.3.6: probes are for an idle connection).
            self.snd.keepalive_probes = 0
            self.snd.arm_keepalive(now)
        # RFC 9293 §3.10.7.4 second: RST (RFC 5961 §3).
        if flags & RST:
            if seq_off < self.rcv.nxt:
                # RFC 5961 §3.2 on SEG.SEQ, not on the trimmed segment: "If the RST bit is
                # set and the sequence number is outside the current receive window,
                # silently drop the segment" (its text alone reached into the window).
                c.out_of_window_drop += 1
                return
            if off != self.rcv.nxt:
                # "If the RST bit is set and the sequence number does not exactly match the
                # next expected sequence value, yet is within the current receive window,
                # TCP endpoints MUST send an acknowledgment (challenge ACK)".
                if self.snd.reply_allowed(now):
                    c.challenge_acks += 1
                    self.snd.send_ack(now)
                return
            self._reset_received(now)
            return
        # Third (security): no compartments here.
        # RFC 9293 §3.10.7.4 fourth: SYN in a synchronized state: a challenge ACK (RFC 5961 §4).
        if flags & SYN:
            if self.state is S.SYN_RECEIVED and self.passive:
                GRAPH.fire(self, "syn_received", now)  # back to LISTEN: freed
                self._closed(now)
                return
            GRAPH.fire(self, "syn_received", now)
            if self.snd.reply_allowed(now):
                c.challenge_acks += 1
                self.snd.send_ack(now)
            return
        # RFC 9293 §3.10.7.4 fifth: "if the ACK bit is off, drop the segment and return".
        if not flags & ACK:
            c.no_ack_drop += 1
            return
        if not self._process_ack(seg, ts, now):
            return
        if self.state is S.CLOSED:
            return
        # Sixth: URG.
        if flags & URG and self.state in RECEIVING:
            up = off + seg.urgent
            if self.rcv.up is None or up > self.rcv.up:
                self.rcv.up = up
                self.urgent_signalled = True
        # Seventh: the segment text.
        if data and self.state in RECEIVING:
            self._receive_text(off, data, bool(flags & (PSH | FIN)), now)
        elif data:
            c.text_after_fin_drop += 1
        # Eighth: FIN.
        if flags & FIN:
            self._fin_arrived(off + len(data), now)
        elif answer_with_ack:
            self.snd.send_ack(now)
        self.snd.output(now)
        if rcv.ack_owed:
            self.snd.send_ack(now)
        self._notify()

    def _reset_received(self, now: float) -> None:
        """RFC 9293 §3.10.7.4 second, an exact RST."""
        state = self.state
        self.tcp.counters.in_resets += 1
        if state is S.SYN_RECEIVED:
            if not self.passive:
                self.error = ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
        elif state in (S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2, S.CLOSE_WAIT):
            self.error = ConnectionResetError(errno.ECONNRESET, "Connection reset by peer")
            self.snd.sndbuf.clear()
        GRAPH.fire(self, "rst_received", now)
        self._closed(now)

    def _process_ack(self, seg: TcpSegment, ts: wire_tcp.Timestamps | None, now: float) -> bool:
        """RFC 9293 §3.10.7.4 fifth. False when the segment is dropped. ``ts``: its
        Timestamps option when they are in use."""
        c = self.tcp.counters
        a = self.snd.ack_offset(seg.ack)
        if self.state is S.SYN_RECEIVED:
            # "If SND.UNA < SEG.ACK =< SND.NXT, then enter ESTABLISHED state ... If the
            # segment acknowledgment is not acceptable, form a reset segment
            # <SEQ=SEG.ACK><CTL=RST>".
            if not 0 < a <= self.snd.nxt:
                self._reply_rst(seg.ack, now)
                c.bad_ack_drop += 1
                return False
            self._ack_syn(a, seg, now)
            self.snd.take_window(seg, seg.window << self.opt.snd_wscale, a)
            GRAPH.fire(self, "ack_of_syn", now)
            if self.snd.fin_queued:
                GRAPH.fire(self, "close", now)  # RFC 9293 §3.10.4: the CLOSE queued in SYN-RECEIVED
            self._established(now)
            # The ACK of our SYN agreed the options: timestamps may be in use from now.
            ts = self.opt.timestamps(seg)
            # Anything beyond the SYN it acknowledged is an ordinary ACK below.
        snd = self.snd
        # RFC 5961 §5: acceptable when SND.UNA - MAX.SND.WND =< SEG.ACK =< SND.NXT.
        if a > snd.max:  # SND.NXT: the highest sent (``nxt`` goes back to resend)
            # "If the ACK acks something not yet sent (SEG.ACK > SND.NXT), then send an
            # ACK, drop the segment, and return."
            c.ack_too_new_drop += 1
            snd.send_ack(now)
            return False
        if a < snd.una - max(snd.max_wnd, 1):
            c.ack_too_old_drop += 1
            snd.send_ack(now)
            return False
        if self.state is S.TIME_WAIT:
            return True
        snd.ack_arrived(seg, a, ts, now)
        # The FIN states (RFC 9293 §3.10.7.4 fifth, per state).
        fin_acked = snd.fin_queued and snd.una > snd.data_end
        if fin_acked and self.state in (S.FIN_WAIT_1, S.CLOSING, S.LAST_ACK):
            GRAPH.fire(self, "fin_acked", now)
            after = self.tcp_state
            if after is S.TIME_WAIT:
                self._enter_time_wait(now)
            elif after is S.CLOSED:
                self._closed(now)
                return False
            elif after is S.FIN_WAIT_2 and self.orphaned:
                self._arm(T.FIN_WAIT_2, now + self.params.fin_wait_2_timeout)
        elif self.state is S.CLOSING:
            # RFC 9293 §3.10.7.4 fifth, CLOSING: "In addition to the processing for the ESTABLISHED
            # state [done above: the ACK and the window], if the ACK acknowledges our FIN,
            # then enter the TIME-WAIT state; otherwise, ignore the segment." Our FIN may
            # still wait behind data a closed window held back (the peer's FIN came first):
            # what the window now allows goes out.
            self.snd.output(now)
            return False
        return True

    # -- receiving text and FIN -----------------------------------------------------------
    def _receive_text(self, off: int, data: bytes, push: bool, now: float) -> None:
        r = self.rcv
        self.tcp.counters.in_data_segments += 1
        full = len(data) >= self.opt.mss
        if off == r.nxt:
            filled_hole = bool(r.ooo)
            r.accept_in_order(r.first_copies(off, data) if r.ooo else data)
            if r.pull_out_of_order():
                self._fin_in_order(self.host.now)
            if filled_hole:
                # RFC 5681 §4.2: "an immediate ACK ... when an incoming segment fills in all
                # or part of a gap in the sequence space".
                self.rcv.ack_now()
                return
            r.ack_pending += 1 if full else 0
            self.snd.schedule_ack(now, full)
            return
        # Out of order (RFC 9293 §3.10.7.4 seventh: held). RFC 5681 §4.2: an immediate
        # duplicate ACK.
        r.hold_out_of_order(off, data)
        self.rcv.ack_now()

    def _fin_arrived(self, fin_off: int, now: float) -> None:
        if self.state not in (
            S.ESTABLISHED,
            S.FIN_WAIT_1,
            S.FIN_WAIT_2,
            S.CLOSE_WAIT,
            S.CLOSING,
            S.LAST_ACK,
            S.TIME_WAIT,
        ):
            return
        receiving = self.state in (S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2)
        if receiving and self.rcv.fin_off is not None and fin_off != self.rcv.fin_off:
            # The first FIN seen ends the peer's stream; one elsewhere contradicts it.
            self.rcv.ack_now()
            return
        if fin_off > self.rcv.nxt:
            if receiving:
                self.rcv.fin_off = fin_off  # after data still missing
                # RFC 5681 §4.2: "A TCP receiver SHOULD send an immediate duplicate ACK
                # when an out-of-order segment arrives" -- a FIN alone too.
                self.rcv.ack_now()
            return
        if fin_off < self.rcv.nxt:
            # A retransmitted FIN (RFC 9293 §3.10.7.4 eighth: "Remain"; TIME-WAIT restarts 2 MSL).
            self.rcv.ack_now()
            if self.state is S.TIME_WAIT:
                GRAPH.fire(self, "fin_received", now)
                self._enter_time_wait(now)
            else:
                GRAPH.fire(self, "fin_received", now)
            return
        self._fin_in_order(now)

    def _fin_in_order(self, now: float) -> None:
        """RFC 9293 §3.10.7.4 eighth: "advance RCV.NXT over the FIN, and send an acknowledgment"."""
        self.rcv.nxt += 1
        self.rcv.eof = True
        GRAPH.fire(self, "fin_received", now)
        self.rcv.ack_now()
        if self.state is S.TIME_WAIT:
            self._enter_time_wait(now)
        self._notify()

    def _reply_rst(self, ack_field: int, now: float) -> None:
        """<SEQ=SEG.ACK><CTL=RST>, to a segment this connection cannot accept."""
        self.tcp.send_reset(self, ack_field, now)

    # -- keepalive (RFC 1122 §4.2.3.6) ------------------------------------------------------
    def set_keepalive(self, on: bool, now: float) -> None:
        self.keepalive = on
        if on and self.state in (S.ESTABLISHED, S.CLOSE_WAIT):
            self.snd.arm_keepalive(now)
        elif not on:
            self._cancel(T.KEEPALIVE)

    # -- ICMPv6 (the control-message entry) -----------------------------------------------
    def path_mtu_changed(self, now: float) -> None:
        """RFC 8201 §5.4 (and RFC 1191's practice): a Packet Too Big: smaller segments,
        and the lost one sent again at once."""
        old = self.opt.mss
        self.opt.update_mss(now)
        if self.opt.mss < old and self.snd.max > self.snd.una:
            self.tcp.counters.pmtu_retransmits += 1
            self.snd.nxt = self.snd.una
            self.snd.output(now, override=True)

    def icmp_error(self, error: OSError, hard: bool, now: float) -> None:
        """RFC 5461: ICMP errors are soft in synchronized states (kept, reported if the
        connection times out); RFC 1122 §4.2.3.9: in SYN-SENT a hard one aborts."""
        self.soft_error = error
        if hard and self.state is S.SYN_SENT:
            self.error = error
            GRAPH.fire(self, "abort", now)
            self._closed(now)

    # -- endings ----------------------------------------------------------------------------
    def _established(self, now: float) -> None:
        self.opt.update_mss(now)
        if self.keepalive:
            self.snd.arm_keepalive(now)
        if self.listener is not None:
            self.tcp.child_established(self)
        self._notify()

    def _enter_time_wait(self, now: float) -> None:
        """RFC 9293 §3.10.7.4: "Start the time-wait timer, turn off the other timers"."""
        for kind in ALL_BUT_TIME_WAIT:
            self._cancel(kind)
        self._arm(T.TIME_WAIT, now + 2 * self.params.msl)
        self.tcp.entered_time_wait(self)
        self._notify()

    def _drop_children(self, now: float) -> None:
        for child in [*self.syn_queue, *self.accept_queue]:
            self.tcp.leave_syn_queue(self, child)
            child.listener = None
            child.abort(now)
        self.syn_queue.clear()
        self.accept_queue.clear()

    def _closed(self, now: float) -> None:
        """CLOSED (or a SYN-RECEIVED copy back in LISTEN): the TCB is deleted."""
        for kind in TcpTimer:
            self._cancel(kind)
        self.tcp.forget(self)
        self._notify()

    def _notify(self) -> None:
        cb = self.on_change
        if cb is not None:
            cb(self)

    def _take_error(self) -> OSError:
        err = self.error
        assert err is not None
        return err
