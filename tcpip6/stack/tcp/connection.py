"""One TCP connection: the TCB of RFC 9293 §3.3.1 and everything that happens to it.

Segment arrival follows RFC 9293 §3.10.7 check by check (sequence acceptability, RST,
SYN, ACK, URG, text, FIN); user calls follow §3.10.1–3.10.5. The connection's state is
its place in the graph of :mod:`tcpip6.stack.machines.tcp`: only state changes fire a
trigger, the data path of ESTABLISHED fires none.

Sequence numbers are kept twice. The RFC's variables (``snd_una``, ``snd_nxt``,
``rcv_nxt`` …) are properties that give the 32-bit values of the wire; inside, every
position is an unwrapped offset from the ISS (sending) or the IRS (receiving), so that
buffers, the SACK scoreboard and the out-of-order queue never compare modulo 2**32. On
the send side offset 0 is the SYN, offsets 1..n the data, and the FIN the offset after
the last octet of data; the same on the receive side from the IRS.

What production TCPs add to the RFC's minimum, each behind a parameter of
:class:`~tcpip6.stack.tcp.params.TcpParameters`: RFC 6298 retransmission timer with
Karn's algorithm; RFC 5681 congestion control with NewReno (RFC 6582) or, when both ends
permit SACK (RFC 2018), SACK-based loss recovery (RFC 6675); window scaling, timestamps
and PAWS (RFC 7323); MSS from the path MTU, shrinking on Packet Too Big (RFC 8201), and
optional black-hole detection; Nagle (RFC 896) and both SWS avoidances (RFC 1122
§4.2.3.3–4); delayed ACKs (RFC 1122 §4.2.3.2); keepalive (RFC 1122 §4.2.3.6); RFC 5961
challenge ACKs; dead gateway detection (RFC 4861 §6.3.6, as Windows did it).
"""

from __future__ import annotations

import errno
from collections import deque
from collections.abc import Callable
from ipaddress import IPv6Address
from typing import TYPE_CHECKING

from tcpip6.stack.machines.tcp import GRAPH, TcpState
from tcpip6.stack.tcp import seq as sq
from tcpip6.stack.tcp.params import TcpParameters
from tcpip6.stack.tcp.ranges import RangeSet
from tcpip6.stack.tcp.rto import RtoEstimator
from tcpip6.wire import tcp as wire_tcp
from tcpip6.wire.tcp import ACK, FIN, PSH, RST, SYN, URG, TcpSegment

if TYPE_CHECKING:
    from tcpip6.stack.interface import Interface
    from tcpip6.stack.tcp import Tcp

#: RFC 9293 §3.7.1: without an MSS option, IPv6 assumes 1220 (the minimum MTU less 60).
DEFAULT_IPV6_MSS = 1220
#: IPv6 header (40) plus TCP header (20): what the MSS option leaves out (RFC 9293 §3.7.1).
HEADERS = 60
#: RFC 7323 §2.3: the largest shift count.
MAX_WSCALE = 14
#: RFC 2018 §3: blocks in one SACK option, at most 4 (3 beside timestamps).
MAX_SACK_BLOCKS = 4
#: Out-of-order segments held per connection (the window bounds their octets).
MAX_OUT_OF_ORDER = 256
#: RFC 7323 §5.5: TS.Recent is invalid after 24 days of idleness.
PAWS_IDLE = 24 * 24 * 3600.0

S = TcpState
#: States in which SEND queues data (§3.10.2).
SENDABLE = (S.SYN_SENT, S.SYN_RECEIVED, S.ESTABLISHED, S.CLOSE_WAIT)


class Connection:
    """The TCB. Built by :class:`~tcpip6.stack.tcp.Tcp` (``open_active``,
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
        #: §3.10.7.4: opened by LISTEN (an RST in SYN-RECEIVED returns it to LISTEN).
        self.passive = passive
        self.listener = listener
        self.trace_sink = tcp.trace_sink
        # -- send sequence space (offsets from the ISS) ----------------------------------
        self.iss = 0
        self._una = 0
        self._nxt = 0
        self._max = 0  # one past the highest offset ever sent (SND.MAX)
        self.snd_wnd = 0  # octets, scaled
        #: The send offset SND.WND counts from: the SEG.ACK of the segment that gave it
        #: (SND.WL2). The window's right edge stays where that segment put it when a later
        #: ACK moves SND.UNA without updating SND.WND (§3.10.7.4: only a segment newer by
        #: SND.WL1/SND.WL2 does), so the sender never goes past what was offered.
        self._wnd_base = 0
        self.max_snd_wnd = 0  # RFC 5961 §5: the largest window the peer offered
        self.snd_wl1 = 0
        self.snd_wl2 = 0
        self.sndbuf = bytearray()
        self._data_acked = 0  # data octets acknowledged (sndbuf[0] is data octet this)
        self.fin_queued = False  # CLOSE was called: the FIN follows the data
        self._snd_up: int | None = None  # offset after the last urgent octet (§3.8.5)
        # -- receive sequence space (offsets from the IRS) -------------------------------
        self.irs = 0
        self._rcv = 0  # RCV.NXT as an offset
        self._rcv_adv = 0  # the right edge of the window we advertised
        self.rcvbuf = bytearray()
        self._ooo: dict[int, bytes] = {}
        self._ooo_ranges = RangeSet()
        self._sack_recent: list[tuple[int, int]] = []
        self._fin_off: int | None = None  # a FIN seen beyond RCV.NXT
        self._rcv_up: int | None = None  # RCV.UP as an offset
        self.eof = False  # the peer's FIN has been received in order
        self.read_shut = False  # shutdown(SHUT_RD): data is acknowledged and dropped
        self.receive_buffer = params.receive_buffer
        # -- options (RFC 9293 §3.7.1, RFC 7323, RFC 2018) --------------------------------
        self.peer_mss = DEFAULT_IPV6_MSS
        self.mss = DEFAULT_IPV6_MSS  # the effective send MSS (data octets a segment)
        self.snd_wscale = 0
        self.rcv_wscale = 0
        self.ts_ok = False
        self.ts_recent = 0
        self.ts_recent_time = 0.0
        self.ts_offset = 0
        self.sack_ok = False
        self._wscale_offered = 0
        self._peer_wscale: int | None = None  # the shift of the peer's SYN, if it had one
        self._syn_window = 0xFFFF  # the (unscaled) window our SYN offers
        # -- RTT, retransmission, congestion --------------------------------------------
        self.rto = RtoEstimator(params)
        self.retries = 0  # consecutive timeouts without progress
        #: Karn: one timed segment (the send offset after it, when it was sent).
        self._timed: tuple[int, float] | None = None
        self.cwnd = 0
        self.ssthresh = 1 << 30
        self._ca_acked = 0  # octets acknowledged in congestion avoidance (RFC 5681 §3.1)
        self.dupacks = 0
        self.in_recovery = False
        self._recover = 0  # RFC 6582 "recover" / RFC 6675 RecoveryPoint
        self._high_rxt = 0  # RFC 6675 HighRxt
        self._sacked = RangeSet()  # the scoreboard
        self._blackhole = False
        self._full_size_timeouts = 0
        self._syn_retransmitted = False
        self._gateway_suspected = False
        # -- the application side ---------------------------------------------------------
        self.nodelay = not params.nagle
        self.keepalive = params.keepalive
        self.error: OSError | None = None  # ends the connection: reported once
        self.soft_error: OSError | None = None  # an ICMPv6 error, reported on timeout
        self.orphaned = False  # the socket was closed; the connection finishes alone
        self.urgent_signalled = False
        self.last_received = 0.0
        self._keepalive_probes = 0
        self._persist_backoff = 0
        self._probes_unanswered = 0  # zero-window probes since the peer last answered
        self._ack_pending = 0  # full-size segments received and not yet acknowledged
        self._delack_due = False  # a delayed ACK is owed when the timer fires
        self._ack_owed = False  # an immediate ACK, sent when the segment is processed
        # -- a listener's queues ----------------------------------------------------------
        self.backlog = 0
        self.accept_queue: deque[Connection] = deque()
        self.syn_queue: set[Connection] = set()
        #: Called when something the application waits for may have happened.
        self.on_change: Callable[[Connection], None] | None = None
        GRAPH.attach(self, initial=S.LISTEN if listener is not None else S.CLOSED)

    def __repr__(self) -> str:
        return f"<tcp {self.trace_label} {self.state}>"

    @property
    def trace_label(self) -> str:
        remote = f"[{self.remote_address}]:{self.remote_port}" if self.remote_address else "*"
        return f"[{self.local_address}]:{self.local_port}>{remote}"

    # -- the RFC's variables, as the wire sees them ---------------------------------------
    @property
    def snd_una(self) -> int:
        return (self.iss + self._una) % sq.MOD

    @property
    def snd_nxt(self) -> int:
        return (self.iss + self._nxt) % sq.MOD

    @property
    def rcv_nxt(self) -> int:
        return (self.irs + self._rcv) % sq.MOD

    @property
    def rcv_wnd(self) -> int:
        """RCV.WND: what the window we advertised still allows."""
        return max(0, self._rcv_adv - self._rcv)

    @property
    def tcp_state(self) -> TcpState:
        """The state now (a call, so that mypy does not narrow it across triggers)."""
        return self.state

    @property
    def data_end(self) -> int:
        """The send offset after the last octet of data the user gave."""
        return 1 + self._data_acked + len(self.sndbuf)

    def _data_offset(self, off: int) -> int:
        """Index in ``sndbuf`` of send offset ``off`` (a data offset)."""
        return off - 1 - self._data_acked

    @property
    def fin_sent(self) -> bool:
        return self.fin_queued and self._max > self.data_end

    @property
    def fin_acked(self) -> bool:
        return self.fin_queued and self._una > self.data_end

    @property
    def send_space(self) -> int:
        """Octets the send buffer can still take."""
        if self.fin_queued or self.state not in SENDABLE:
            return 0
        return max(0, self.params.send_buffer - len(self.sndbuf))

    @property
    def unsent(self) -> int:
        return max(0, self.data_end - max(self._nxt, 1))

    @property
    def _snd_right(self) -> int:
        """The send offset one past the last octet the peer's window allows."""
        return self._wnd_base + self.snd_wnd

    @property
    def in_flight(self) -> int:
        return self._max - self._una

    # -- user calls (RFC 9293 §3.10.1–3.10.5) ---------------------------------------------
    def open_active(self, now: float) -> None:
        """§3.10.1 active OPEN: "issue a SYN segment ... enter SYN-SENT state"."""
        self.iss = self.tcp.initial_sequence_number(self, now)
        self._choose_receive_window(now)
        self.ts_offset = self.host.rng.getrandbits(32)
        self.last_received = now
        GRAPH.fire(self, "active_open", now)
        self._send_syn(now, ack=False)

    def open_passive(self, backlog: int, now: float) -> None:
        """§3.10.1 passive OPEN: "enter the LISTEN state and return"."""
        self.backlog = max(1, min(backlog, self.params.max_backlog))
        GRAPH.fire(self, "passive_open", now)

    def send(
        self, data: bytes | bytearray | memoryview, now: float, *, urgent: bool = False
    ) -> int:
        """§3.10.2 SEND: queue what fits of ``data``; the number of octets taken."""
        if self.error is not None:
            raise self._take_error()
        # §3.10.2: in SYN-SENT and SYN-RECEIVED "queue the data for transmission after
        # entering ESTABLISHED state"; after CLOSE, "error: connection closing".
        if self.fin_queued or self.state not in SENDABLE:
            raise BrokenPipeError(errno.EPIPE, "Broken pipe")
        n = min(len(data), self.params.send_buffer - len(self.sndbuf))
        if n <= 0:
            return 0
        self.sndbuf += bytes(data[:n])
        if urgent:
            # §3.8.5: "the urgent pointer ... points to the sequence number of the octet
            # following the urgent data"; SND.UP is the send offset after the last octet.
            self._snd_up = self.data_end
        self.output(now)
        return n

    def read(self, n: int, now: float) -> bytes:
        """Take up to ``n`` received octets; the window opens as the buffer drains."""
        if n <= 0 or not self.rcvbuf:
            return b""
        out = bytes(self.rcvbuf[:n])
        del self.rcvbuf[:n]
        self._window_update(now)
        return out

    def close(self, now: float) -> None:
        """§3.10.4 CLOSE: the FIN follows the data already queued."""
        state = self.state
        if state is S.CLOSED:
            return
        if state in (S.LISTEN, S.SYN_SENT):
            self._drop_children(now)
            GRAPH.fire(self, "close", now)
            self._closed(now)
            return
        if self.fin_queued:
            if state is not S.SYN_RECEIVED:
                GRAPH.fire(self, "close", now)  # "error: connection closing" (ignored: no change)
            return
        self.fin_queued = True
        if state is S.SYN_RECEIVED and self.sndbuf:
            # §3.10.4 SYN-RECEIVED: "If no SENDs have been issued and there is no pending
            # data to send, then form a FIN segment and send it, and enter FIN-WAIT-1
            # state; otherwise, queue for processing after entering ESTABLISHED state."
            # The ACK of our SYN fires the queued CLOSE (_process_ack).
            return
        GRAPH.fire(self, "close", now)
        self.output(now)

    def abort(self, now: float, error: OSError | None = None) -> None:
        """§3.10.5 ABORT: an RST in SYN-RECEIVED and the synchronized states that send
        data (SO_LINGER 0 closes this way)."""
        if self.state is S.CLOSED:
            return
        if self.state in (S.SYN_RECEIVED, S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2, S.CLOSE_WAIT):
            self._emit(self._nxt, RST | ACK, b"", now)
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
            self._arm("fin_wait_2", now + self.params.fin_wait_2_timeout)

    def shutdown_read(self) -> None:
        self.read_shut = True
        self.rcvbuf.clear()

    # -- timers (the Tcp module keeps the deadlines) --------------------------------------
    def _arm(self, kind: str, at: float) -> None:
        self.tcp.timers.arm((self, kind), at)

    def _cancel(self, kind: str) -> None:
        self.tcp.timers.cancel((self, kind))

    def _armed(self, kind: str) -> bool:
        return (self, kind) in self.tcp.timers

    def timer_expired(self, kind: str, now: float) -> None:
        if self.state is S.CLOSED:
            return
        if kind == "rtx":
            self._retransmission_timeout(now)
        elif kind == "delack":
            if self._ack_pending or self._delack_due:
                self._send_ack(now)
        elif kind == "persist":
            self._persist_timeout(now)
        elif kind == "keepalive":
            self._keepalive_timeout(now)
        elif kind == "time_wait":
            GRAPH.fire(self, "time_wait_expired", now)
            self._closed(now)
        elif kind == "fin_wait_2":
            if self.state is S.FIN_WAIT_2 and self.orphaned:
                GRAPH.fire(self, "give_up", now)
                self._closed(now)
        elif kind == "sws":
            self.output(now, override=True)

    # -- opening --------------------------------------------------------------------------
    def _choose_receive_window(self, now: float) -> None:
        """Our window scale (RFC 7323 §2.2) for the receive buffer, and the window of our
        SYN. Windows: the receive window is a whole number of segments, so the buffer is
        rounded up to one, and the unscaled window of the SYN down to one (the window
        offered in the SYN is never shrunk afterwards, RFC 9293 §3.8.6)."""
        mss = self._our_mss(now)
        self.receive_buffer = -(-self.receive_buffer // mss) * mss
        self._syn_window = min(self.receive_buffer, 0xFFFF // mss * mss)
        shift = 0
        if self.params.window_scaling:
            while (self.receive_buffer >> shift) > 0xFFFF and shift < MAX_WSCALE:
                shift += 1
        self._wscale_offered = shift

    def _our_mss(self, now: float) -> int:
        """§3.7.1: the MSS option is the MTU of the interface less the fixed headers."""
        route = self.tcp.route_for(self, now)
        mtu = route[0].mtu if route is not None else 1280
        return max(mtu - HEADERS, DEFAULT_IPV6_MSS)

    def _syn_options(self, now: float, syn_ack: bool) -> tuple[wire_tcp.TcpOption, ...]:
        opts: list[wire_tcp.TcpOption] = [wire_tcp.MaxSegmentSize(self._our_mss(now))]
        p = self.params
        if p.sack and (not syn_ack or self.sack_ok):
            opts.append(wire_tcp.SackPermitted())
        if p.timestamps and (not syn_ack or self.ts_ok):
            opts.append(wire_tcp.Timestamps(self._tsval(now), self.ts_recent if syn_ack else 0))
        if p.window_scaling and (not syn_ack or self._peer_wscale is not None):
            opts += [wire_tcp.NoOperation(), wire_tcp.WindowScale(self._wscale_offered)]
        return tuple(opts)

    def _send_syn(self, now: float, *, ack: bool) -> None:
        flags = SYN | ACK if ack else SYN
        self._emit(0, flags, b"", now, options=self._syn_options(now, ack))
        self._nxt = max(self._nxt, 1)
        self._max = max(self._max, 1)
        if self._timed is None and not self._syn_retransmitted:
            self._timed = (1, now)
        if not self._armed("rtx"):
            self._arm("rtx", now + self.rto.rto)

    def _take_syn_options(self, seg: TcpSegment) -> None:
        """The options of the peer's SYN (RFC 7323 §2.2, §3.2; RFC 2018 §2; §3.7.1)."""
        p = self.params
        mss_opt = seg.option(wire_tcp.MaxSegmentSize)
        if mss_opt is not None and mss_opt.mss > 0:
            self.peer_mss = max(mss_opt.mss, 64)
        ws = seg.option(wire_tcp.WindowScale)
        if ws is not None and p.window_scaling:
            # RFC 7323 §2.3: a shift above 14 is used as 14.
            self._peer_wscale = min(ws.shift, MAX_WSCALE)
        ts = seg.option(wire_tcp.Timestamps)
        if ts is not None and p.timestamps:
            self.ts_ok = True
            self.ts_recent = ts.tsval
        if seg.option(wire_tcp.SackPermitted) is not None and p.sack:
            self.sack_ok = True

    def _negotiated(self, seg: TcpSegment, now: float) -> None:
        """Both SYNs seen: fix what the options agreed."""
        if self._peer_wscale is not None and self.params.window_scaling:
            self.snd_wscale = self._peer_wscale
            self.rcv_wscale = self._wscale_offered
        else:
            self.snd_wscale = self.rcv_wscale = 0
        if not self.params.timestamps or seg.option(wire_tcp.Timestamps) is None:
            self.ts_ok = False
        self.ts_recent_time = now
        self._update_mss(now)
        # Windows: the receive window is a whole number of segments.
        mss = self._our_mss(now)
        self.receive_buffer = -(-self.receive_buffer // mss) * mss
        if self.rcv_wscale == 0:
            self.receive_buffer = min(self.receive_buffer, 0xFFFF // mss * mss)
        # RFC 5681 §3.1: the initial window.
        smss = self.mss
        iw = self.params.initial_window_segments
        self.cwnd = iw * smss if iw else min(4 * smss, max(2 * smss, 4380))
        if self._syn_retransmitted:
            self.rto.syn_timed_out_reset()

    def _update_mss(self, now: float) -> None:
        """The effective send MSS: the peer's MSS, the path MTU (RFC 8201), less the
        options every segment carries (RFC 6691)."""
        pmtu = self.tcp.path_mtu(self, now)
        mss = min(self.peer_mss, pmtu - HEADERS)
        if self._blackhole:
            mss = min(mss, DEFAULT_IPV6_MSS)
        if self.ts_ok:
            mss -= 12
        self.mss = max(mss, 64)

    # -- segment arrival (RFC 9293 §3.10.7) -----------------------------------------------
    def listen_segment(self, seg: TcpSegment, now: float) -> None:
        """§3.10.7.2: a segment for the new connection a listener made: a SYN."""
        self.irs = seg.seq
        self._rcv = 1
        self._take_syn_options(seg)
        self.iss = self.tcp.initial_sequence_number(self, now)
        self._choose_receive_window(now)
        self.ts_offset = self.host.rng.getrandbits(32)
        self.last_received = now
        self._rcv_adv = 1 + self._syn_window
        # §3.10.7.2: "Set RCV.NXT to SEG.SEQ+1, IRS is set to SEG.SEQ ... send
        # <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>"; the window in a SYN is never scaled.
        self.snd_wnd, self._wnd_base = seg.window, 1
        # RFC 5961 §5: MAX.SND.WND, "the largest window that the local sender has ever
        # received from its peer" -- the SYN's too (a CLOSE in SYN-RECEIVED can take the
        # connection past the ACK of our SYN without the SYN-RECEIVED step below).
        self.max_snd_wnd = max(self.max_snd_wnd, seg.window)
        self.snd_wl1, self.snd_wl2 = seg.seq, seg.ack
        GRAPH.fire(self, "syn_received", now)
        self._send_syn(now, ack=True)
        # §3.10.7.2: "any other control or text should be queued for processing later";
        # data on a SYN is dropped here (the peer retransmits it), as most stacks do.

    def segment_arrives(self, seg: TcpSegment, now: float) -> None:
        state = self.state
        if state is S.SYN_SENT:
            self._syn_sent(seg, now)
            return
        self._synchronized(seg, now)

    def _syn_sent(self, seg: TcpSegment, now: float) -> None:
        """§3.10.7.3."""
        flags = seg.flags
        ack_ok = False
        if flags & ACK:
            a = self._ack_offset(seg.ack)
            # "If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset (unless the RST bit is
            # set, if so drop the segment and return)".
            if a <= 0 or a > self._nxt:
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
        self.irs = seg.seq
        self._rcv = 1
        self._take_syn_options(seg)
        self._rcv_adv = 1 + self._syn_window
        self.last_received = now
        if ack_ok:
            a = self._ack_offset(seg.ack)
            self._ack_syn(a, seg, now)
            # §3.10.7.3: "If SND.UNA > ISS (our SYN has been ACKed), change the connection
            # state to ESTABLISHED, form an ACK segment <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>".
            # RFC 7323 §2.2: "The window field in a SYN (i.e., a <SYN> or <SYN,ACK>)
            # segment itself is never scaled."
            self.snd_wnd, self._wnd_base = seg.window, a
            self.max_snd_wnd = max(self.max_snd_wnd, self.snd_wnd)
            self.snd_wl1, self.snd_wl2 = seg.seq, seg.ack
            GRAPH.fire(self, "syn_ack_received", now)
            self._established(now)
            # "Data or controls that were queued for transmission MAY be included": SENDs
            # queued in SYN-SENT go now, the ACK riding on them; else the ACK alone.
            if not self.output(now):
                self._send_ack(now)
            # Text and a FIN on the SYN,ACK are not processed (§3.10.7.3 would continue at
            # the sixth step): our ACK does not cover them and the peer sends them again,
            # as for data on a SYN (listen_segment).
            return
        # §3.10.7.3: simultaneous open: "enter SYN-RECEIVED, form a SYN,ACK segment".
        self.snd_wnd, self._wnd_base = seg.window, 1
        self.max_snd_wnd = max(self.max_snd_wnd, seg.window)  # RFC 5961 §5, as above
        self.snd_wl1, self.snd_wl2 = seg.seq, seg.ack
        GRAPH.fire(self, "syn_received", now)
        self._emit(0, SYN | ACK, b"", now, options=self._syn_options(now, True))

    def _ack_syn(self, a: int, seg: TcpSegment, now: float) -> None:
        """The ACK of our SYN: RTT sample, negotiated options."""
        self._negotiated(seg, now)
        self._rtt_from_ack(a, seg, now)
        self._una = a
        self._nxt = max(self._nxt, a)
        self.retries = 0
        self._cancel("rtx")

    def _synchronized(self, seg: TcpSegment, now: float) -> None:
        """§3.10.7.4, "Otherwise": SYN-RECEIVED and every synchronized state."""
        c = self.tcp.counters
        flags = seg.flags
        # RFC 7323 §5.3 R1: PAWS, before the acceptability test.
        ts = seg.option(wire_tcp.Timestamps) if self.ts_ok else None
        if (
            ts is not None
            and not flags & RST
            and self.state is not S.SYN_RECEIVED
            and sq.lt(ts.tsval, self.ts_recent)
            and now - self.ts_recent_time < PAWS_IDLE
        ):
            c.paws_drop += 1
            self._send_ack(now)
            return
        off = self._seq_offset(seg.seq)
        data = seg.payload
        seg_len = seg.seg_len
        wnd = self.rcv_wnd
        refused_text = False
        # §3.10.7.4 first: the acceptability test (the four cases of its table).
        if seg_len == 0:
            ok = off == self._rcv if wnd == 0 else self._rcv <= off < self._rcv + wnd
        elif wnd == 0:
            ok = False
        else:
            end = off + seg_len - 1
            ok = (self._rcv <= off < self._rcv + wnd) or (self._rcv <= end < self._rcv + wnd)
        allowance = off == self._rcv and flags & (ACK | RST | URG)
        # The ACK of a peer whose SND.NXT went past our closed window (the octet of its
        # zero-window probe) has SEQ = RCV.NXT + 1: its acknowledgment still counts, or
        # both ends would wait for ever for the other's ACK.
        allowance = allowance or (flags & ACK and not flags & RST and off == self._rcv + 1)
        if not ok and wnd == 0 and allowance:
            # "special allowance should be made to accept valid ACKs, URGs, and RSTs":
            # the control is processed, the text is not (and is answered with an ACK, as
            # any unacceptable text is: that is how a zero-window probe learns the window).
            ok = True
            refused_text = bool(data)
            data = b""
            flags &= ~(FIN | SYN)
            seg_len = 0
        if not ok:
            c.out_of_window_drop += 1
            # "If an incoming segment is not acceptable, an acknowledgment should be sent
            # in reply (unless the RST bit is set ...) <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>".
            if not flags & RST:
                self._send_ack(now)
            return
        seq_off = off  # SEG.SEQ as it arrived, for the RST check
        # Trim to the window: octets before RCV.NXT, and beyond the right edge.
        if off < self._rcv:
            cut = self._rcv - off
            if flags & SYN:
                cut -= 1
                flags &= ~SYN
            data = data[cut:]
            off = self._rcv
        right = self._rcv + max(wnd, 0)
        if off + len(data) > right:
            data = data[: max(0, right - off)]
            flags &= ~FIN
        # RFC 7323 §4.3: TS.Recent from the segment that covers RCV.NXT.
        if ts is not None and off <= self._rcv and sq.ge(ts.tsval, self.ts_recent):
            self.ts_recent = ts.tsval
            self.ts_recent_time = now
        self.last_received = now
        self._probes_unanswered = 0
        if self._keepalive_probes:
            # A probe was answered: the next one after a whole idle time again, not at
            # the probe interval (RFC 1122 §4.2.3.6: probes are for an idle connection).
            self._keepalive_probes = 0
            self._arm_keepalive(now)
        # §3.10.7.4 second: RST (RFC 5961 §3).
        if flags & RST:
            if seq_off < self._rcv:
                # RFC 5961 §3.2 on SEG.SEQ, not on the trimmed segment: "If the RST bit is
                # set and the sequence number is outside the current receive window,
                # silently drop the segment" (its text alone reached into the window).
                c.out_of_window_drop += 1
                return
            if off != self._rcv:
                # "If the RST bit is set and the sequence number does not exactly match the
                # next expected sequence value, yet is within the current receive window,
                # TCP endpoints MUST send an acknowledgment (challenge ACK)".
                c.challenge_acks += 1
                self._send_ack(now)
                return
            self._reset_received(now)
            return
        # Third (security): no compartments here.
        # §3.10.7.4 fourth: SYN in a synchronized state: a challenge ACK (RFC 5961 §4).
        if flags & SYN:
            if self.state is S.SYN_RECEIVED and self.passive:
                GRAPH.fire(self, "syn_received", now)  # back to LISTEN: freed
                self._closed(now)
                return
            c.challenge_acks += 1
            GRAPH.fire(self, "syn_received", now)
            self._send_ack(now)
            return
        # §3.10.7.4 fifth: "if the ACK bit is off, drop the segment and return".
        if not flags & ACK:
            c.no_ack_drop += 1
            return
        if not self._process_ack(seg, now):
            return
        if self.state is S.CLOSED:
            return
        # Sixth: URG.
        if flags & URG and self.state in (S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2):
            up = off + seg.urgent
            if self._rcv_up is None or up > self._rcv_up:
                self._rcv_up = up
                self.urgent_signalled = True
        # Seventh: the segment text.
        if data and self.state in (S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2):
            self._receive_text(off, data, bool(flags & (PSH | FIN)), now)
        elif data:
            c.text_after_fin_drop += 1
        # Eighth: FIN.
        if flags & FIN:
            self._fin_arrived(off + len(data), now)
        elif refused_text:
            self._send_ack(now)
        self.output(now)
        if self._ack_owed:
            self._send_ack(now)
        self._notify()

    def _reset_received(self, now: float) -> None:
        """§3.10.7.4 second, an exact RST."""
        state = self.state
        self.tcp.counters.in_resets += 1
        if state is S.SYN_RECEIVED:
            if not self.passive:
                self.error = ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
        elif state in (S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2, S.CLOSE_WAIT):
            self.error = ConnectionResetError(errno.ECONNRESET, "Connection reset by peer")
            self.sndbuf.clear()
        GRAPH.fire(self, "rst_received", now)
        self._closed(now)

    def _process_ack(self, seg: TcpSegment, now: float) -> bool:
        """§3.10.7.4 fifth. False when the segment is dropped."""
        c = self.tcp.counters
        a = self._ack_offset(seg.ack)
        if self.state is S.SYN_RECEIVED:
            # "If SND.UNA < SEG.ACK =< SND.NXT, then enter ESTABLISHED state ... If the
            # segment acknowledgment is not acceptable, form a reset segment
            # <SEQ=SEG.ACK><CTL=RST>".
            if not 0 < a <= self._nxt:
                self._reply_rst(seg.ack, now)
                c.bad_ack_drop += 1
                return False
            self._ack_syn(a, seg, now)
            self.snd_wnd, self._wnd_base = seg.window << self.snd_wscale, a
            self.max_snd_wnd = max(self.max_snd_wnd, self.snd_wnd)
            self.snd_wl1, self.snd_wl2 = seg.seq, seg.ack
            GRAPH.fire(self, "ack_of_syn", now)
            if self.fin_queued:
                GRAPH.fire(self, "close", now)  # §3.10.4: the CLOSE queued in SYN-RECEIVED
            self._established(now)
            # Anything beyond the SYN it acknowledged is an ordinary ACK below.
        # RFC 5961 §5: acceptable when SND.UNA - MAX.SND.WND =< SEG.ACK =< SND.NXT.
        if a > self._max or a > max(self._nxt, self._max):
            # "If the ACK acks something not yet sent (SEG.ACK > SND.NXT), then send an
            # ACK, drop the segment, and return."
            c.ack_too_new_drop += 1
            self._send_ack(now)
            return False
        if a < self._una - max(self.max_snd_wnd, 1):
            c.ack_too_old_drop += 1
            self._send_ack(now)
            return False
        if self.state is S.TIME_WAIT:
            return True
        advanced = a > self._una
        wnd = seg.window << self.snd_wscale
        if self.sack_ok:
            self._take_sack(seg)
        if advanced:
            self._new_ack(a, seg, now)
        elif (
            a == self._una
            and not seg.payload
            and not seg.flags & (SYN | FIN)
            and wnd == self.snd_wnd
            and wnd > 0  # answers to zero-window probes are not a sign of loss
            and self._max > self._una
        ):
            self._duplicate_ack(now)
        # "If SND.UNA =< SEG.ACK =< SND.NXT, the send window should be updated. If
        # (SND.WL1 < SEG.SEQ or (SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK))".
        if a >= self._una and (
            sq.lt(self.snd_wl1, seg.seq)
            or (self.snd_wl1 == seg.seq and sq.le(self.snd_wl2, seg.ack))
        ):
            opened = wnd > self.snd_wnd
            self.snd_wnd, self._wnd_base = wnd, a
            self.max_snd_wnd = max(self.max_snd_wnd, wnd)
            self.snd_wl1, self.snd_wl2 = seg.seq, seg.ack
            if wnd > 0:
                if self._armed("persist") and self._nxt > self._una:
                    # The window opened without taking the probe's octet: it goes again
                    # at the head of the next segment.
                    self._nxt = self._una
                self._cancel("persist")
                self._persist_backoff = 0
                if opened and self._max > self._una and not self._armed("rtx"):
                    self._arm("rtx", now + self.rto.rto)
        # The FIN states (§3.10.7.4 fifth, per state).
        fin_acked = self.fin_queued and self._una > self.data_end
        if fin_acked and self.state in (S.FIN_WAIT_1, S.CLOSING, S.LAST_ACK):
            GRAPH.fire(self, "fin_acked", now)
            after = self.tcp_state
            if after is S.TIME_WAIT:
                self._enter_time_wait(now)
            elif after is S.CLOSED:
                self._closed(now)
                return False
            elif after is S.FIN_WAIT_2 and self.orphaned:
                self._arm("fin_wait_2", now + self.params.fin_wait_2_timeout)
        elif self.state is S.CLOSING:
            # §3.10.7.4 fifth, CLOSING: "In addition to the processing for the ESTABLISHED
            # state [done above: the ACK and the window], if the ACK acknowledges our FIN,
            # then enter the TIME-WAIT state; otherwise, ignore the segment." Our FIN may
            # still wait behind data a closed window held back (the peer's FIN came first):
            # what the window now allows goes out.
            self.output(now)
            return False
        return True

    def _new_ack(self, a: int, seg: TcpSegment, now: float) -> None:
        """New data acknowledged: free it, measure, grow the window (RFC 5681 §3.1)."""
        acked = a - self._una
        first_data = max(self._una, 1)
        n = max(0, min(a, self.data_end) - first_data)
        if n:
            del self.sndbuf[:n]
            self._data_acked += n
        self._rtt_from_ack(a, seg, now)
        self._una = a
        if self._nxt < a:
            self._nxt = a
        self.retries = 0
        self._full_size_timeouts = 0
        self._gateway_suspected = False
        self._sacked.remove_below(a)
        self.host.reachability_confirmed(self.remote_address or self.local_address, now)
        smss = self.mss
        if self.in_recovery:
            if a >= self._recover:
                # RFC 6582 §3.2 step 3 / RFC 6675 §5: full acknowledgment ends recovery.
                self.in_recovery = False
                self.cwnd = self.ssthresh
            elif not self.sack_ok:
                # RFC 6582 §3.2 step 4: a partial ACK: retransmit the first unacknowledged
                # segment, deflate the window by the amount acknowledged, add back SMSS.
                self._retransmit_at(self._una, now)
                self.cwnd = max(self.cwnd - acked + smss, smss)
                self._arm("rtx", now + self.rto.rto)
        elif self.cwnd < self.ssthresh:
            # RFC 5681 §3.1 slow start: "cwnd += min (N, SMSS)".
            self.cwnd += min(acked, smss)
        else:
            # Congestion avoidance, the RECOMMENDED way of RFC 5681 §3.1: count the octets
            # acknowledged; each time they reach cwnd, cwnd grows by one SMSS (one segment
            # a round trip, where eq. 3's SMSS*SMSS/cwnd per ACK falls a little short).
            self._ca_acked += acked
            if self._ca_acked >= self.cwnd:
                self._ca_acked -= self.cwnd
                self.cwnd += smss
        self.dupacks = 0
        # RFC 6298 §5.2-5.3: stop the timer when all is acknowledged, else restart it.
        if self._una >= self._max:
            self._cancel("rtx")
        elif not self.in_recovery or self.sack_ok:
            self._arm("rtx", now + self.rto.rto)
        self._notify()

    def _duplicate_ack(self, now: float) -> None:
        """RFC 5681 §3.2 fast retransmit; RFC 6582 and RFC 6675 fast recovery."""
        self.tcp.counters.duplicate_acks += 1
        self.dupacks += 1
        smss = self.mss
        if self.in_recovery:
            if not self.sack_ok:
                # RFC 6582 §3.2 step 3 (RFC 5681 §3.2 step 4): inflate by one SMSS.
                self.cwnd += smss
            return
        lost = self.sack_ok and self._is_lost(self._una)
        if self.dupacks >= self.params.dup_thresh or lost:
            # RFC 6582 §3.2 step 2: only when the ACK covers more than "recover".
            if not self.sack_ok and self._una <= self._recover and self._recover > 0:
                return
            self._enter_recovery(now)

    def _enter_recovery(self, now: float) -> None:
        smss = self.mss
        flight = self._max - self._una
        # RFC 5681 eq. 4: ssthresh = max (FlightSize / 2, 2*SMSS).
        self.ssthresh = max(flight // 2, 2 * smss)
        self._recover = self._max
        self.in_recovery = True
        self.tcp.counters.fast_retransmits += 1
        self._timed = None  # Karn: the measured segment may be the one retransmitted
        if self.sack_ok:
            # RFC 6675 §5 step 4: cwnd = ssthresh; HighRxt = SND.UNA; send via NextSeg.
            self.cwnd = self.ssthresh
            self._high_rxt = self._una
            self._retransmit_at(self._una, now)
            self._high_rxt = min(self._una + smss, self._max)
        else:
            # RFC 6582 §3.2 step 2 (RFC 5681 §3.2 steps 2-3).
            self._retransmit_at(self._una, now)
            self.cwnd = self.ssthresh + 3 * smss
        self._arm("rtx", now + self.rto.rto)

    # -- SACK (RFC 2018, RFC 6675) --------------------------------------------------------
    def _take_sack(self, seg: TcpSegment) -> None:
        opt = seg.option(wire_tcp.Sack)
        if opt is None:
            return
        for left, right in opt.blocks:
            lo, hi = self._ack_offset(left), self._ack_offset(right)
            # RFC 2018 §4: blocks the receiver holds; ignore what is out of the send space.
            if self._una <= lo < hi <= self._max:
                self._sacked.add(lo, hi)
                self.tcp.counters.sack_blocks_received += 1

    def _is_lost(self, off: int) -> bool:
        """RFC 6675 §4 IsLost: more than (DupThresh - 1) * SMSS octets above are SACKed,
        or DupThresh discontiguous SACKed ranges."""
        above = self._sacked.bytes_above(off + 1)
        ranges = sum(1 for s, e in self._sacked.ranges if e > off)
        return above > (self.params.dup_thresh - 1) * self.mss or ranges >= self.params.dup_thresh

    def _pipe(self) -> int:
        """RFC 6675 §4 SetPipe: octets the sender thinks are in the network."""
        pipe = 0
        hi_sack = self._sacked.highest() or self._una
        pos = self._una
        for s, e in [*self._sacked.ranges, [self._max, self._max]]:
            if s > pos:
                hole_end = min(s, self._max)
                if pos >= hi_sack:
                    pipe += hole_end - pos  # above every SACK: in flight
                elif not self._is_lost(pos):
                    pipe += hole_end - pos
                # Retransmitted octets of the hole count too ("HighRxt").
                pipe += max(0, min(hole_end, self._high_rxt) - pos)
            pos = max(pos, e)
        return pipe

    def _next_seg(self) -> tuple[int, int] | None:
        """RFC 6675 §4 NextSeg rule 1: the first unSACKed, lost octet above HighRxt."""
        hi_sack = self._sacked.highest()
        if hi_sack is None:
            return None
        pos = max(self._high_rxt, self._una)
        while pos < hi_sack:
            cover = self._sacked.covering(pos)
            if cover is not None:
                pos = cover[1]
                continue
            if self._is_lost(pos):
                nxt = [s for s, _ in self._sacked.ranges if s > pos]
                end = min(pos + self.mss, nxt[0] if nxt else hi_sack)
                return (pos, end)
            return None
        return None

    def _sack_recovery_output(self, now: float) -> None:
        """RFC 6675 §5 step (C): while cwnd - pipe >= 1 SMSS, send NextSeg."""
        budget = 64
        while budget and self.cwnd - self._pipe() >= self.mss:
            budget -= 1
            nxt = self._next_seg()
            if nxt is None:
                break
            start, end = nxt
            self._retransmit_range(start, end, now)
            self._high_rxt = end

    # -- RTT ------------------------------------------------------------------------------
    def _rtt_from_ack(self, a: int, seg: TcpSegment, now: float) -> None:
        ts = seg.option(wire_tcp.Timestamps) if self.ts_ok else None
        if ts is not None and ts.tsecr:
            # RFC 7323 §4.1: the RTT from TSecr of a segment that acknowledges new data.
            rtt = ((self._tsval(now) - ts.tsecr) % sq.MOD) / 1000.0
            if rtt < 3600:
                self.rto.sample(rtt)
                self._timed = None
                return
        if self._timed is not None and a >= self._timed[0]:
            # RFC 6298 §3: the first ACK that covers the timed segment (up to its end)
            # measures it; waiting for a later one would also count the time the peer
            # took to send that (a zero window: a minute). Karn's algorithm: the timed
            # segment was never retransmitted (else _timed would have been cleared).
            self.rto.sample(now - self._timed[1])
            self._timed = None

    def _tsval(self, now: float) -> int:
        """RFC 7323 §5.4: a clock of 1 ms ticks, with a random offset per connection."""
        return (int(now * 1000) + self.ts_offset) % sq.MOD

    # -- receiving text and FIN -----------------------------------------------------------
    def _receive_text(self, off: int, data: bytes, push: bool, now: float) -> None:
        c = self.tcp.counters
        c.in_data_segments += 1
        full = len(data) >= self.mss
        if off == self._rcv:
            filled_hole = bool(self._ooo)
            self._accept_in_order(data)
            self._pull_out_of_order()
            if filled_hole:
                # RFC 5681 §4.2: "an immediate ACK ... when an incoming segment fills in all
                # or part of a gap in the sequence space".
                self._ack_now()
                return
            self._ack_pending += 1 if full else 0
            self._schedule_ack(now, full)
            return
        # Out of order (§3.10.7.4 seventh: held). RFC 5681 §4.2: an immediate duplicate ACK.
        c.out_of_order_segments += 1
        if len(self._ooo) >= MAX_OUT_OF_ORDER and off not in self._ooo:
            c.out_of_order_queue_full_drop += 1
        else:
            prev = self._ooo.get(off)
            if prev is None or len(prev) < len(data):
                self._ooo[off] = data
            block = self._ooo_ranges.add(off, off + len(data))
            self._sack_recent = [block] + [b for b in self._sack_recent if b != block]
        self._ack_now()

    def _accept_in_order(self, data: bytes) -> None:
        if self._fin_off is not None:
            # Nothing follows the peer's FIN (§3.10.7.4 eighth): text beyond it is bogus.
            data = data[: max(0, self._fin_off - self._rcv)]
        if not self.read_shut:
            self.rcvbuf += data
        self._rcv += len(data)
        self.tcp.counters.in_octets += len(data)

    def _pull_out_of_order(self) -> None:
        # With no text held, a FIN held after the gap may still be reached now.
        progress = bool(self._ooo)
        while progress:
            progress = False
            for start in sorted(self._ooo):
                chunk = self._ooo[start]
                end = start + len(chunk)
                if end <= self._rcv:
                    del self._ooo[start]
                    progress = True
                elif start <= self._rcv:
                    del self._ooo[start]
                    self._accept_in_order(chunk[self._rcv - start :])
                    progress = True
        self._ooo_ranges.remove_below(self._rcv)
        live = {(s, e) for s, e in self._ooo_ranges.ranges}
        self._sack_recent = [b for b in self._sack_recent if b in live]
        if self._fin_off is not None and self._fin_off == self._rcv:
            self._fin_off = None
            self._fin_in_order(self.host.now)

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
        if receiving and self._fin_off is not None and fin_off != self._fin_off:
            # The first FIN seen ends the peer's stream; one elsewhere contradicts it.
            self._ack_now()
            return
        if fin_off > self._rcv:
            if receiving:
                self._fin_off = fin_off  # after data still missing
                # RFC 5681 §4.2: "A TCP receiver SHOULD send an immediate duplicate ACK
                # when an out-of-order segment arrives" -- a FIN alone too.
                self._ack_now()
            return
        if fin_off < self._rcv:
            # A retransmitted FIN (§3.10.7.4 eighth: "Remain"; TIME-WAIT restarts 2 MSL).
            self._ack_now()
            if self.state is S.TIME_WAIT:
                GRAPH.fire(self, "fin_received", now)
                self._enter_time_wait(now)
            else:
                GRAPH.fire(self, "fin_received", now)
            return
        self._fin_in_order(now)

    def _fin_in_order(self, now: float) -> None:
        """§3.10.7.4 eighth: "advance RCV.NXT over the FIN, and send an acknowledgment"."""
        self._rcv += 1
        self.eof = True
        GRAPH.fire(self, "fin_received", now)
        self._ack_now()
        if self.state is S.TIME_WAIT:
            self._enter_time_wait(now)
        self._notify()

    def _ack_now(self) -> None:
        """An immediate ACK is owed: it goes at the end of the segment's processing, on
        the data or FIN sent then, or alone (RFC 9293 §3.10.7.4 seventh: "This
        acknowledgment should be piggybacked on a segment being transmitted if possible
        without incurring undue delay")."""
        self._ack_owed = True

    def _schedule_ack(self, now: float, full: bool) -> None:
        """RFC 1122 §4.2.3.2 / RFC 5681 §4.2: "an ACK SHOULD be generated for at least
        every second full-sized segment", and no later than the delay."""
        if not self.params.delayed_ack or self._ack_pending >= 2:
            self._ack_now()
            return
        self._delack_due = True
        if not self._armed("delack"):
            self._arm("delack", now + self.params.delayed_ack_time)

    # -- the window we advertise (RFC 1122 §4.2.3.3) --------------------------------------
    def _free_space(self) -> int:
        held = len(self.rcvbuf) + sum(len(v) for v in self._ooo.values())
        return max(0, self.receive_buffer - held)

    def _advertise(self) -> int:
        """The window field, and RCV.ADV moved only by receiver SWS avoidance: the right
        edge advances when it can advance by min(RCV.BUFF/2, MSS) (never shrinks)."""
        candidate = self._rcv + self._free_space()
        threshold = min(self.receive_buffer // 2, self._rcv_mss())
        if candidate - self._rcv_adv >= threshold or self._rcv_adv < self._rcv:
            self._rcv_adv = max(self._rcv_adv, candidate)
        wnd = max(0, self._rcv_adv - self._rcv) >> self.rcv_wscale
        return min(wnd, 0xFFFF)

    def _rcv_mss(self) -> int:
        return max(self.mss, 536)

    def _window_update(self, now: float) -> None:
        if self.state not in (S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2):
            return
        before = self._rcv_adv
        candidate = self._rcv + self._free_space()
        threshold = min(self.receive_buffer // 2, self._rcv_mss())
        # RFC 1122 §4.2.3.3: send a window update when the window grows by the threshold
        # (a window that had been closed opens with it: the peer's persist timer).
        if candidate - before >= threshold:
            self.tcp.counters.window_updates += 1
            self._send_ack(now)

    # -- sending --------------------------------------------------------------------------
    def output(self, now: float, override: bool = False) -> bool:
        """Send what the windows allow: new data (Nagle, sender SWS), the FIN. True when
        new data or the FIN went out."""
        if self.state not in (S.ESTABLISHED, S.CLOSE_WAIT, S.FIN_WAIT_1, S.LAST_ACK, S.CLOSING):
            return False
        if self.in_recovery and self.sack_ok:
            self._sack_recovery_output(now)
        budget = 1024
        sent_any = False
        while budget:
            budget -= 1
            # Skip what the peer already holds (RFC 6675 §5.1: SACKed data is not resent).
            cover = self._sacked.covering(self._nxt)
            if cover is not None:
                self._nxt = cover[1]
                continue
            data_end = self.data_end
            avail = data_end - self._nxt
            if self.in_recovery and self.sack_ok:
                usable = (self.cwnd - self._pipe()) if self._nxt >= self._max else 0
                usable = min(usable, self._snd_right - self._nxt)
            else:
                usable = min(self._snd_right, self._una + self.cwnd) - self._nxt
            if avail > 0:
                n = min(avail, self.mss, usable)
                if n <= 0:
                    if self.snd_wnd == 0 and self._max <= self._una and not self._armed("persist"):
                        # RFC 9293 §3.8.6.1: probe a zero window.
                        self._arm("persist", now + self._persist_interval())
                    break
                offered = self._snd_right - self._nxt
                if n < min(avail, self.mss) and usable < offered and self._max > self._una:
                    # The congestion window, not the peer's, is the limit: the ACKs in
                    # flight open it; a runt now (or from the SWS timer, which is for a
                    # small offered window, RFC 1122 §4.2.3.4) would only waste a segment.
                    break
                if n < self.mss and not override and not self._may_send_small(n, avail):
                    if not self._armed("sws") and n < avail:
                        self._arm("sws", now + self.params.sws_override)
                    break
                fin = self.fin_queued and n == avail
                self._send_new(self._nxt, n, fin, now)
                sent_any = True
                continue
            if self.fin_queued and self._nxt == data_end:
                self._send_new(self._nxt, 0, True, now)
                sent_any = True
            break
        if sent_any:
            self._cancel("sws")
        return sent_any

    def _may_send_small(self, n: int, avail: int) -> bool:
        """RFC 1122 §4.2.3.4 (sender SWS avoidance, with Nagle as its part (b)): a segment
        below the MSS goes when it takes all queued data and nothing is unacknowledged (or
        TCP_NODELAY), or when it is at least half the largest window the peer offered."""
        if n == avail and (self.nodelay or self._max <= self._una or self._nxt < self._max):
            return True
        return self.max_snd_wnd > 0 and n >= self.max_snd_wnd // 2

    def _send_new(self, off: int, n: int, fin: bool, now: float) -> None:
        flags = ACK | (PSH if n and off + n >= self.data_end else 0) | (FIN if fin else 0)
        payload = self._slice(off, n)
        self._emit(off, flags, payload, now)
        end = off + n + (1 if fin else 0)
        retransmission = off < self._max
        self._nxt = end
        if retransmission:
            self.tcp.counters.retransmitted_segments += 1
        elif self._timed is None and not self.ts_ok:
            self._timed = (end, now)  # RFC 6298 §3: time one segment per RTT
        self._max = max(self._max, end)
        self.tcp.counters.out_octets += n if not retransmission else 0
        if not self._armed("rtx"):
            # RFC 6298 §5.1: start the timer when data is sent and it is not running.
            self._arm("rtx", now + self.rto.rto)

    def _slice(self, off: int, n: int) -> bytes:
        i = self._data_offset(off)
        return bytes(self.sndbuf[i : i + n])

    def _retransmit_at(self, off: int, now: float) -> None:
        end = min(off + self.mss, self.data_end + (1 if self.fin_queued else 0), self._max)
        self._retransmit_range(off, max(end, off + 1), now)

    def _retransmit_range(self, start: int, end: int, now: float) -> None:
        """Resend ``[start, end)`` of the send space (SYN, data, FIN as they fall)."""
        self.tcp.counters.retransmitted_segments += 1
        if self._timed is not None and self._timed[0] > start:
            self._timed = None  # Karn
        if start == 0:
            syn_ack = self.state is not S.SYN_SENT  # SYN-RECEIVED, or FIN-WAIT-1 after it
            self._emit(
                0,
                SYN | (ACK if syn_ack else 0),
                b"",
                now,
                options=self._syn_options(now, syn_ack),
            )
            return
        data_end = self.data_end
        n = max(0, min(end, data_end) - start)
        fin = self.fin_queued and end > data_end and start + n == data_end
        flags = ACK | (PSH if n else 0) | (FIN if fin else 0)
        self._emit(start, flags, self._slice(start, n), now)

    def _emit(
        self,
        off: int,
        flags: int,
        payload: bytes,
        now: float,
        *,
        options: tuple[wire_tcp.TcpOption, ...] | None = None,
    ) -> None:
        """Build and send one segment at send offset ``off``."""
        if options is None:
            opts: list[wire_tcp.TcpOption] = []
            if self.ts_ok:
                opts += [
                    wire_tcp.NoOperation(),
                    wire_tcp.NoOperation(),
                    wire_tcp.Timestamps(self._tsval(now), self.ts_recent),
                ]
            if self.sack_ok and self._sack_recent and flags & ACK and not flags & RST:
                limit = 3 if self.ts_ok else MAX_SACK_BLOCKS
                blocks = tuple(
                    ((self.irs + s) % sq.MOD, (self.irs + e) % sq.MOD)
                    for s, e in self._sack_recent[:limit]
                )
                opts += [wire_tcp.NoOperation(), wire_tcp.NoOperation(), wire_tcp.Sack(blocks)]
                self.tcp.counters.sack_blocks_sent += len(blocks)
            options = tuple(opts)
        window = self._advertise() if not flags & SYN else self._syn_window
        urgent = 0
        if self._snd_up is not None and self.state is not S.SYN_SENT:
            if self._snd_up > off:
                flags |= URG
                urgent = min(self._snd_up - off, 0xFFFF)
            elif self._una >= self._snd_up:
                self._snd_up = None
        seg = TcpSegment(
            src_port=self.local_port,
            dst_port=self.remote_port,
            seq=(self.iss + off) % sq.MOD,
            ack=self.rcv_nxt if flags & ACK else 0,
            flags=flags,
            window=window,
            urgent=urgent,
            options=options,
            payload=payload,
        )
        if flags & ACK:
            self._ack_pending = 0
            self._delack_due = False
            self._ack_owed = False
            self._cancel("delack")
        if (flags & (SYN | FIN) or payload) and self.keepalive:
            self._arm_keepalive(now)
        self.tcp.transmit(self, seg, now)

    def _send_ack(self, now: float) -> None:
        """<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, SND.NXT being the highest sequence sent:
        after a timeout ``_nxt`` goes back to resend (go-back-N), but an ACK with that
        older SEQ would lie before the peer's RCV.NXT, fail its acceptability test and
        have its acknowledgment ignored; with both ends resending, neither would ever
        learn its data arrived."""
        self._emit(self._max, ACK, b"", now)

    def _reply_rst(self, ack_field: int, now: float) -> None:
        """<SEQ=SEG.ACK><CTL=RST>, to a segment this connection cannot accept."""
        self.tcp.send_reset(self, ack_field, now)

    # -- timeouts ---------------------------------------------------------------------------
    def _retransmission_timeout(self, now: float) -> None:
        """RFC 6298 §5.4-5.6, RFC 5681 §3.1 (loss window), and giving up (R2)."""
        if self._max <= self._una and self.state not in (S.SYN_SENT, S.SYN_RECEIVED):
            return
        c = self.tcp.counters
        if self.snd_wnd == 0 and self.state not in (S.SYN_SENT, S.SYN_RECEIVED):
            # RFC 1122 §4.2.2.17: a closed window is probed, never given up on while the
            # receiver answers: the persist timer takes over from the retransmission timer.
            if not self._armed("persist"):
                self._arm("persist", now + self._persist_interval())
            return
        c.timeouts += 1
        self.retries += 1
        # RFC 9293 §3.10.8: "send the segment at the front of the retransmission queue
        # again": our SYN while it is unacknowledged, also after a CLOSE in SYN-RECEIVED
        # sent a FIN behind it (§3.10.4) and moved the connection to FIN-WAIT-1.
        syn = self._una == 0
        limit = (
            self.params.max_connect_retransmissions if syn else self.params.max_data_retransmissions
        )
        if self.retries > limit:
            err = self.soft_error or TimeoutError(errno.ETIMEDOUT, "Connection timed out")
            self.error = err
            c.gave_up += 1
            GRAPH.fire(self, "give_up", now)
            self._closed(now)
            return
        if (
            self.params.dead_gateway_detection
            and not syn
            and not self._gateway_suspected
            and self.retries * 2 > limit
            and self.remote_address is not None
        ):
            # Windows' dead gateway detection, with RFC 4861 §6.3.6: past half the limit,
            # suspect the default router this connection goes through.
            self._gateway_suspected = True
            if self.tcp.suspect_gateway(self, now):
                c.dead_gateway_suspected += 1
        if (
            self.params.pmtu_blackhole_detection
            and not syn
            and not self._blackhole
            and self.in_flight >= self.mss
        ):
            self._full_size_timeouts += 1
            if self._full_size_timeouts >= self.params.blackhole_timeouts:
                # RFC 4821's idea (Windows' EnablePMTUBHDetect): full-size segments vanish,
                # small ones may not: drop to the IPv6 minimum.
                self._blackhole = True
                c.blackhole_detected += 1
                self._update_mss(now)
        self.rto.timed_out()
        self._timed = None
        if syn:
            self._syn_retransmitted = True
            self._retransmit_range(0, 1, now)
        else:
            # RFC 5681 §3.1 eq. 4 and "the loss window": cwnd = 1 SMSS; RFC 6582/6675:
            # recovery ends; RFC 6675 §5.1: the scoreboard is kept, SACKed data skipped.
            flight = self._max - self._una
            self.ssthresh = max(flight // 2, 2 * self.mss)
            self.cwnd = self.mss
            self.in_recovery = False
            self._recover = self._max
            self.dupacks = 0
            self._nxt = self._una
            self._high_rxt = self._una
            self._retransmit_first(now)
        self._arm("rtx", now + self.rto.rto)

    def _retransmit_first(self, now: float) -> None:
        # RFC 9293 §3.8.6: a retransmission too stays within the offered window (one
        # octet when it is closed, as a probe would).
        end = min(self._una + self.mss, self.data_end, max(self._snd_right, self._una + 1))
        n = max(0, end - self._una)
        fin = self.fin_queued and self._una + n >= self.data_end and self.fin_sent
        if n or fin:
            self._send_new(self._una, n, fin, now)

    def _persist_interval(self) -> float:
        return min(self.rto.rto * (1 << self._persist_backoff), self.params.max_persist)

    def _persist_timeout(self, now: float) -> None:
        """RFC 9293 §3.8.6.1: a zero-window probe, one octet of new data beyond the
        window, again with backoff while the window stays closed."""
        if self.snd_wnd > 0:
            return
        if self._max > self._una:
            # The octet of the last probe is still unacknowledged: the same octet again
            # (a new one each time would walk further and further beyond the window).
            self._retransmit_range(self._una, self._una + 1, now)
        elif self.data_end > self._nxt:
            self._emit(self._nxt, ACK, self._slice(self._nxt, 1), now)
            self._nxt += 1
            self._max = max(self._max, self._nxt)
        else:
            return
        self._probes_unanswered += 1
        if self._probes_unanswered > self.params.max_data_retransmissions:
            # RFC 1122 §4.2.2.17 keeps a probed connection open only while "the receiving
            # TCP continues to send acknowledgments": a peer that stopped answering is
            # given up on like any retransmission (RFC 1122 §4.2.3.5 R2).
            self.error = self.soft_error or TimeoutError(errno.ETIMEDOUT, "Connection timed out")
            self.tcp.counters.gave_up += 1
            GRAPH.fire(self, "give_up", now)
            self._closed(now)
            return
        self.tcp.counters.window_probes += 1
        self._persist_backoff += 1
        self._arm("persist", now + self._persist_interval())

    def _arm_keepalive(self, now: float) -> None:
        self._arm("keepalive", max(now, self.last_received) + self.params.keepalive_idle)

    def _keepalive_timeout(self, now: float) -> None:
        """RFC 1122 §4.2.3.6: after idle, a probe <SEQ=SND.NXT-1> that elicits an ACK;
        unanswered probes end the connection."""
        if not self.keepalive or self.state not in (S.ESTABLISHED, S.CLOSE_WAIT, S.FIN_WAIT_2):
            return
        idle = now - self.last_received
        if idle < self.params.keepalive_idle and self._keepalive_probes == 0:
            self._arm("keepalive", self.last_received + self.params.keepalive_idle)
            return
        if self._keepalive_probes >= self.params.keepalive_probes:
            self.error = self.soft_error or TimeoutError(errno.ETIMEDOUT, "Connection timed out")
            self.tcp.counters.keepalive_drops += 1
            GRAPH.fire(self, "give_up", now)
            self._closed(now)
            return
        self._keepalive_probes += 1
        self.tcp.counters.keepalive_probes += 1
        self._emit_probe(now)
        self._arm("keepalive", now + self.params.keepalive_interval)

    def _emit_probe(self, now: float) -> None:
        seg_off = self._una - 1
        flags = ACK
        self._emit(seg_off, flags, b"", now)

    def set_keepalive(self, on: bool, now: float) -> None:
        self.keepalive = on
        if on and self.state in (S.ESTABLISHED, S.CLOSE_WAIT):
            self._arm_keepalive(now)
        elif not on:
            self._cancel("keepalive")

    # -- ICMPv6 (the control-message entry) -----------------------------------------------
    def path_mtu_changed(self, now: float) -> None:
        """RFC 8201 §5.4 (and RFC 1191's practice): a Packet Too Big: smaller segments,
        and the lost one sent again at once."""
        old = self.mss
        self._update_mss(now)
        if self.mss < old and self._max > self._una:
            self.tcp.counters.pmtu_retransmits += 1
            self._nxt = self._una
            self.output(now, override=True)

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
        self._update_mss(now)
        if self.keepalive:
            self._arm_keepalive(now)
        if self.listener is not None:
            self.tcp.child_established(self)
        self._notify()

    def _enter_time_wait(self, now: float) -> None:
        """§3.10.7.4: "Start the time-wait timer, turn off the other timers"."""
        for kind in ("rtx", "persist", "keepalive", "delack", "sws", "fin_wait_2"):
            self._cancel(kind)
        self._arm("time_wait", now + 2 * self.params.msl)
        self.tcp.entered_time_wait(self)
        self._notify()

    def _drop_children(self, now: float) -> None:
        for child in [*self.syn_queue, *self.accept_queue]:
            child.listener = None
            child.abort(now)
        self.syn_queue.clear()
        self.accept_queue.clear()

    def _closed(self, now: float) -> None:
        """CLOSED (or a SYN-RECEIVED copy back in LISTEN): the TCB is deleted."""
        for kind in ("rtx", "persist", "keepalive", "delack", "sws", "time_wait", "fin_wait_2"):
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

    # -- offsets ------------------------------------------------------------------------------
    def _seq_offset(self, seq: int) -> int:
        return self._rcv + sq.diff(seq, self.rcv_nxt)

    def _ack_offset(self, ack: int) -> int:
        return self._una + sq.diff(ack, self.snd_una)
