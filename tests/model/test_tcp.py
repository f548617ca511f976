"""The TCP graph (through the stack's Connection on a real Host) against the RFC 9293
reference model (spec/rfc9293_tcp.py), driven by the same events, compared at every step.

The test plays the peer: it crafts segments with any flags (SYN, ACK, RST, FIN, URG, PSH,
data), sequence and acknowledgment numbers near RCV.NXT, SND.UNA and SND.NXT or anywhere,
and hands them to ``host.receive``; it is also the user (active and passive OPEN, SEND,
CLOSE, ABORT) and the clock (the retransmission timeout, the 2*MSL of TIME-WAIT). After
every step the stack and the model must be in the same state, have sent the same segments
(sequence number, acknowledgment number, flags, data; not the window, not options), handed
the user the same octets and the same errors (reset, refused, timed out). The limits come
from the model: R2 (RFC 1122 §4.2.3.5) as the model counts it, TIME-WAIT's 2·MSL and the
orphaned FIN-WAIT-2's user timeout from its constants, each checked from both sides (the
state still held just before the deadline, gone at it).

Where the stack does more than the model, the test takes it out of the comparison, each
for a stated reason (see ``PARAMS``, ``_drain``, ``_keep_windows`` and the rules' preconditions).
"""

from __future__ import annotations

import random
from dataclasses import replace
from ipaddress import IPv6Address
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    precondition,
    rule,
)

from tcpip6.spec import rfc6298_rto as rto_spec
from tcpip6.spec import rfc9293_tcp as spec
from tcpip6.spec.rfc9293_tcp import ACK, FIN, PSH, RST, SYN, URG, State
from tcpip6.stack.host import Host
from tcpip6.stack.link import EthernetLink
from tcpip6.stack.machines import tcp as tcp_graph
from tcpip6.stack.machines.graph import TransitionRecord
from tcpip6.stack.params import InterfaceParameters
from tcpip6.stack.tcp import Connection, TcpParameters, TcpState
from tcpip6.stack.tcp.timers import TcpTimer
from tcpip6.wire import ethernet
from tcpip6.wire import ipv6 as wire_ipv6
from tcpip6.wire.tcp import MaxSegmentSize, TcpSegment
from tests.model.coverage import take_every_transition
from tests.profiles import examples

LOCAL, PEER = IPv6Address("fe80::a"), IPv6Address("fe80::b")
LOCAL_MAC, PEER_MAC = b"\x02\x00\x00\x00\x00\x0a", b"\x02\x00\x00\x00\x00\x0b"
LOCAL_PORT, PEER_PORT = 40000, 80
#: The MSS option on every SYN the peer sends: the stack's effective MSS, and the model's.
MSS = 100
#: The stack rounds its receive buffer up to whole segments of its own MSS (the link MTU
#: 1500 less 60): one such segment is the buffer, and the model's RCV.WND.
RCV_WND = 1500 - 60
#: The window every peer segment offers: sending is never limited by it, so that the
#: stack's sender SWS avoidance (RFC 1122 §4.2.3.4, a small segment waits while the window
#: cannot take all that is queued) and zero-window probing (RFC 9293 §3.8.6.1), which the model
#: leaves out, never come into play.
PEER_WINDOW = 65535
RETRIES = 2
PARAMS = TcpParameters(
    # RFC 7323 and RFC 2018 options, and delayed ACKs: the model has none.
    window_scaling=False,
    timestamps=False,
    sack=False,
    delayed_ack=False,
    nagle=False,
    receive_buffer=RCV_WND,
    # Few retransmissions, so that giving up (RFC 1122 §4.2.3.5 R2) is reachable.
    max_data_retransmissions=RETRIES,
    max_connect_retransmissions=RETRIES,
    # Congestion control (RFC 5681, RFC 6582) is outside RFC 9293's event processing and
    # outside the model: no fast retransmit, and an initial window wider than any test.
    dup_thresh=1 << 30,
    initial_window_segments=1 << 20,
    dead_gateway_detection=False,
)
MODEL_PARAMS = spec.Params(mss=MSS, rcv_wnd=RCV_WND, r2=RETRIES, r2_syn=RETRIES)
#: What the user is told when a connection ends on an error (RFC 9293 §3.10,
#: RFC 1122 §4.2.3.5): the model's signal and the stack's error (the socket's errno).
ERRORS: dict[str, type[OSError]] = {
    "connection reset": ConnectionResetError,
    "connection refused": ConnectionRefusedError,
    "connection timed out": TimeoutError,
}
#: How long before a deadline the state is checked to be still there.
EPSILON = 0.001

#: Every (source, trigger, dest) the model test has seen fire, across examples.
SEEN: set[tuple[str, str, str]] = set()

Seg = tuple[int, int, int, bytes]


def peer_octets(seq: int, n: int) -> bytes:
    """The peer's byte stream is a function of the sequence number: a retransmission, or
    an overlapping segment, always carries the same octets (which copy of an octet a
    receiver keeps is its own choice, not the RFC's)."""
    return bytes((seq + i) % 251 for i in range(n))


def record(rec: TransitionRecord) -> None:
    SEEN.add((rec.old, rec.trigger, rec.new))


class Wire:
    """The link's port: every frame the host sends is kept for the comparison."""

    def __init__(self) -> None:
        self.frames: list[bytes] = []

    def send_frame(self, frame: bytes) -> None:
        self.frames.append(frame)

    def set_multicast_filter(self, link_addresses: frozenset[bytes]) -> None:
        pass


class Drain(bytearray):
    """A receive buffer that the user empties the moment octets arrive, as the model's
    Deliver does: the window the stack offers never shrinks for data not yet read, and
    reading never sends a window update the model does not send."""

    sink: list[bytes]

    def __iadd__(self, data: Any) -> Drain:
        self.sink.append(bytes(data))
        return self


SEQ_SPACE = 2**32
flag_sets = st.one_of(
    st.sampled_from(
        [ACK, ACK, ACK | PSH, SYN, SYN | ACK, FIN | ACK, RST, RST | ACK, ACK | URG, FIN, 0]
    ),
    st.integers(0, 0x3F),
)
#: Offsets from RCV.NXT (in window, at and across both edges) or anywhere at all.
seq_offsets = st.one_of(
    st.integers(-3, 3),
    st.integers(-3 * MSS, RCV_WND + 3 * MSS),
    st.sampled_from([RCV_WND - 1, RCV_WND, RCV_WND + 1, -RCV_WND, 2**31, 2**31 - 1]),
)
ack_offsets = st.one_of(st.integers(-3, 3), st.integers(-3 * MSS, 3 * MSS))
lengths = st.one_of(st.just(0), st.just(0), st.integers(1, 3 * MSS))


#: How to reach each state to begin in: user calls and the peer's segments in step.
STARTS: dict[str, list[str]] = {
    "CLOSED": [],
    "LISTEN": ["passive_open"],
    "SYN_SENT": ["active_open"],
    "SYN_RECEIVED/passive": ["passive_open", "syn"],
    "SYN_RECEIVED/active": ["active_open", "syn"],
    "ESTABLISHED/passive": ["passive_open", "syn", "ack"],
    "ESTABLISHED/active": ["active_open", "syn_ack"],
    "FIN_WAIT_1": ["active_open", "syn_ack", "close"],
    "FIN_WAIT_2": ["active_open", "syn_ack", "close", "ack"],
    "CLOSE_WAIT": ["passive_open", "syn", "ack", "fin"],
    "CLOSING": ["active_open", "syn_ack", "close", "early_fin"],
    "LAST_ACK": ["passive_open", "syn", "ack", "fin", "close"],
    "TIME_WAIT": ["active_open", "syn_ack", "close", "fin"],
}


#: What :meth:`TcpVersusSpec.aimed` does once in a state.
ENDINGS = ["rst", "rst_at_fin", "abort", "close", "syn", "ack", "timeout", "give_up"]


def sweep() -> None:
    """Every state to begin in, met by every ending: each walk compared step by step as
    in any example, so that the transitions the graph declares are all taken whatever the
    random examples draw."""
    for start in sorted(STARTS):
        for ending in ENDINGS:
            TcpVersusSpec().start_in(7, start, ending)
    for peer_iss in (7, SEQ_SPACE - 2):
        TcpVersusSpec().cookie_walk(peer_iss)


class TcpVersusSpec(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0
        self.host = Host(name="h", rng=random.Random(9293))
        self.host.strict = True
        self.wire = Wire()
        self.iface = self.host.add_interface(
            EthernetLink(self.wire, LOCAL_MAC, mtu=1500),
            params=InterfaceParameters(dup_addr_detect_transmits=0),
        )
        self.iface.add_static_address(LOCAL, 64, self.now)
        self.iface.add_static_neighbor(PEER, PEER_MAC)
        self.host.tcp.trace_sink = record
        self.host.poll(self.now)
        self.tcb = spec.Tcb(rcv_wnd=RCV_WND, mss=MSS)
        #: The stack's side: a listener (passive OPEN) and the connection the model is
        #: following (the active one, or the listener's child).
        self.listener: Connection | None = None
        self.conn: Connection | None = None
        self.delivered: list[bytes] = []
        self.time_wait_at: float | None = None
        #: When the model's user timeout ends an orphaned FIN-WAIT-2.
        self.user_timeout_at: float | None = None
        #: The last error the user was told of (each is told once).
        self.told: OSError | None = None
        self.ended: Connection | None = None
        #: The RTO the retransmission timer was last armed with, when the test knows it
        #: (RFC 6298 §2.1 at an opening, then each backoff): None after any other event.
        self.rto_in_force: float | None = None
        #: The windows of the SYNs the stack sent in the last step.
        self.control_windows: list[int] = []
        #: The model's state before its last event.
        self.from_state = State.CLOSED
        self.peer_iss = 0
        self.user_octets = 0

    # -- plumbing ---------------------------------------------------------------------
    def _tick(self) -> None:
        self.now += 0.001
        self.wire.frames.clear()
        self.rto_in_force = None

    def _rto_armed(self, conn: Connection, rto: float) -> None:
        """The retransmission timer of ``conn`` runs for ``rto`` from now (RFC 6298)."""
        deadline = self.host.tcp.timers.deadline((conn, TcpTimer.RETRANSMISSION))
        assert deadline is not None and abs(deadline - (self.now + rto)) < 1e-9, (deadline, rto)
        self.rto_in_force = rto

    def _drain(self, conn: Connection) -> None:
        buf = Drain()
        buf.sink = self.delivered
        conn.rcvbuf = buf

    def _keep_windows(self) -> None:
        """Congestion control is not the model's: after a timeout the stack's congestion
        window falls to one segment (RFC 5681 §3.1); the test opens it again."""
        if self.conn is not None:
            self.conn.cwnd = self.conn.ssthresh = 1 << 30

    def _tracked(self) -> Connection | None:
        return self.conn if self.conn is not None else self.listener

    def _follow(self) -> None:
        """Find the connection the model follows after a stack event (and keep the one it
        followed until then, if that has ended, for :meth:`_signals`)."""
        followed = self.conn
        self._find()
        if followed is not None and self.conn is not followed:
            self.ended = followed

    def _find(self) -> None:
        if self.listener is not None:
            queued = [*self.listener.syn_queue, *self.listener.accept_queue]
            children = [c for c in queued if c.remote_port == PEER_PORT]  # not a filler's
            if self.conn is None and children:
                (self.conn,) = children
                self._drain(self.conn)
            if self.conn is not None and self.conn.tcp_state is TcpState.LISTEN:
                self.conn = None  # a passive connection back in LISTEN: the listener
            elif self.conn is not None and self.conn.tcp_state is TcpState.CLOSED:
                # The model's passive TCB is one TCB: once it is CLOSED nothing listens.
                # The stack's listener outlives its child; the user closes it.
                self.listener.close(self.now)
                self.listener = self.conn = None
            if self.listener is not None and self.listener.tcp_state is TcpState.CLOSED:
                self.listener = None
        elif self.conn is not None and self.conn.tcp_state is TcpState.CLOSED:
            self.conn = None

    def _sent(self) -> list[Seg]:
        out: list[Seg] = []
        self.control_windows = []
        for frame in self.wire.frames:
            hdr, payload = wire_ipv6.split(memoryview(frame)[14:])
            if hdr.next_header != wire_ipv6.IPPROTO_TCP:
                continue
            seg = TcpSegment.parse(payload, hdr.src, hdr.dst)
            assert (hdr.src, hdr.dst) == (LOCAL, PEER)
            assert (seg.src_port, seg.dst_port) == (LOCAL_PORT, PEER_PORT)
            out.append((seg.seq, seg.ack, seg.flags, bytes(seg.payload)))
            if seg.flags & SYN:
                self.control_windows.append(seg.window)
        self.wire.frames.clear()
        return out

    def _model(self, result: spec.Result) -> list[spec.Action]:
        before = self.from_state = self.tcb.state
        self.tcb, actions = result
        for a in actions:
            if isinstance(a, spec.SetTimer) and a.name == "time-wait":
                self.time_wait_at = self.now + a.seconds
        orphaned = self.conn is not None and self.conn.orphaned
        if self.tcb.state is State.FIN_WAIT_2 and before is not State.FIN_WAIT_2 and orphaned:
            self.user_timeout_at = self.now + spec.FIN_WAIT_2_TIMEOUT
        return actions

    def _signals(self, conn: Connection | None, actions: list[spec.Action]) -> None:
        """The errors the model signals are the ones the stack's connection reports."""
        if conn is not None and conn.orphaned:
            return  # the user has gone: no one is told anything
        want = [
            ERRORS[a.error] for a in actions if isinstance(a, spec.Signal) and a.error in ERRORS
        ]
        if self.from_state is State.SYN_SENT and want == [ConnectionResetError]:
            # RFC 9293 §3.10.7.3 says "connection reset" for an RST that answers our SYN; the
            # sockets API says ECONNREFUSED for it (POSIX connect(): "the target address ...
            # refused the connection request"), as the stack does.
            want = [ConnectionRefusedError]
        got: list[type[OSError]] = []
        if conn is not None and conn.error is not None and conn.error is not self.told:
            got = [type(conn.error)]
            self.told = conn.error
        assert got == want, (got, actions)

    def _compare(self, actions: list[spec.Action]) -> None:
        self._follow()
        conn, self.ended = self.ended or self.conn, None
        self._signals(conn, actions)
        want = [
            (a.segment.seq, a.segment.ack, a.segment.flags, a.segment.data)
            for a in actions
            if isinstance(a, spec.Send)
        ]
        sent = self._sent()
        assert sent == want, (sent, want)
        # The window the model offers where it fixes it: a SYN's is the receive buffer
        # (RCV.WND; never scaled on a SYN, RFC 7323 §2.2). A reset's window is the RFC's to
        # leave open (the model writes 0; the stack offers its window).
        windows = [
            a.segment.window for a in actions if isinstance(a, spec.Send) and a.segment.flags & SYN
        ]
        assert self.control_windows == windows, (self.control_windows, windows)
        got = b"".join(self.delivered)
        self.delivered.clear()
        assert got == b"".join(a.data for a in actions if isinstance(a, spec.Deliver))
        self._same_state()

    def _same_state(self) -> None:
        conn = self._tracked()
        stack = "CLOSED" if conn is None else conn.tcp_state.name
        assert stack == self.tcb.state.name
        if self.conn is not None:
            s = self.conn
            assert (s.snd_una, s.snd_nxt) == (self.tcb.snd_una, self.tcb.snd_nxt)
            if self.tcb.state is not State.SYN_SENT:
                assert s.rcv_nxt == self.tcb.rcv_nxt
            # The model: "the retransmission timer ... should run exactly when
            # outstanding is true" (RFC 6298 §5).
            armed = (s, TcpTimer.RETRANSMISSION) in self.host.tcp.timers
            assert armed == spec.outstanding(self.tcb)

    # -- the user ----------------------------------------------------------------------
    @initialize(
        peer_iss=st.one_of(st.integers(0, SEQ_SPACE - 1), st.just(SEQ_SPACE - 2)),
        start=st.sampled_from(sorted(STARTS)),
        ending=st.sampled_from([None, *ENDINGS]),
    )
    def start_in(self, peer_iss: int, start: str, ending: str | None) -> None:
        """The peer's ISS (near 2**32 often: sequence numbers wrap), and a state to begin
        in, reached by the RFC's own steps (so that every example has a good chance to see
        the states deep in the graph), perhaps ended at once (see :meth:`aimed`)."""
        self.peer_iss = peer_iss
        if ending is not None:
            self.aimed(start, ending)
            return
        self._go(STARTS[start])
        assert self.tcb.state.name == start.split("/")[0], start

    def cookie_walk(self, peer_iss: int) -> None:
        """RFC 4987 §3.6: a listener whose SYN queue is full (another port's SYN fills a
        backlog of one) answers the peer's SYN with a cookie and keeps nothing, so the
        model's TCB stays in LISTEN; the ACK of the cookie makes the connection, compared
        with the model's ``listen_cookie_ack``; then data both ways and a close, step by
        step as in any example."""
        self.peer_iss = peer_iss
        self.passive_open()
        assert self.listener is not None
        self.listener.backlog = 1
        self._frame(SYN, 99, 0, port=PEER_PORT + 1)  # the filler: it takes the one place
        self.wire.frames.clear()
        self._frame(SYN, peer_iss, 0)
        ((cookie, ack, flags, data),) = self._sent()
        assert (ack, flags, data) == ((peer_iss + 1) % SEQ_SPACE, SYN | ACK, b"")
        assert self.conn is None and self.host.tcp.counters.syn_cookies_sent == 1
        seq, ack = (peer_iss + 1) % SEQ_SPACE, (cookie + 1) % SEQ_SPACE
        self._frame(ACK, seq, ack)
        model_seg = spec.Segment(seq, ack, ACK, PEER_WINDOW)
        self.tcb = spec.listen_cookie_ack(self.tcb, model_seg, cookie)
        self._compare([])
        assert self.conn is not None and self.conn.iss == cookie
        self._keep_windows()
        self._drain(self.conn)
        for kind in ("data", "ack", "fin"):
            self.peer_in_step(kind)
        self.send(MSS // 2)
        self.close()

    def _frame(self, flags: int, seq: int, ack: int, port: int = PEER_PORT) -> None:
        """A segment from the peer (from ``port``) that the model does not take."""
        self._tick()
        seg = TcpSegment(port, LOCAL_PORT, seq, ack, flags, PEER_WINDOW)
        body = bytearray(seg.buffer_len())
        seg.emit(body, PEER, LOCAL)
        hdr = wire_ipv6.Ipv6Header(0, 0, len(body), wire_ipv6.IPPROTO_TCP, 64, PEER, LOCAL)
        frame = ethernet.frame(LOCAL_MAC, PEER_MAC, ethernet.ETHERTYPE_IPV6, hdr.build() + body)
        self.host.receive(self.iface, frame, self.now)
        self._follow()

    def _go(self, steps: list[str]) -> None:
        for step in steps:
            if step == "passive_open":
                self.passive_open()
            elif step == "active_open":
                self.active_open()
            elif step == "close":
                self.close()
            else:
                self.peer_in_step(step)

    @precondition(lambda self: self.tcb.state is State.CLOSED)
    @rule(
        start=st.sampled_from(sorted(STARTS)),
        ending=st.sampled_from(ENDINGS),
    )
    def aimed(self, start: str, ending: str) -> None:
        """From CLOSED, to a state and one of the events that end (or keep) it: an RST
        at RCV.NXT, ABORT, CLOSE, a SYN in the window, the ACK of all we sent, the timer
        that runs, or a silent peer until the stack gives up. Random steps rarely reach
        the deep states and then meet these events."""
        steps = STARTS[start]
        if ending == "give_up" and start == "FIN_WAIT_2":
            steps = steps[:-1]  # the application goes away before our FIN is acknowledged
        self._go(steps)
        if ending in ("rst", "rst_at_fin", "ack"):
            self.peer_in_step(ending)
        elif ending == "abort":
            self.abort()
        elif ending == "close":
            self.close()
        elif ending == "timeout":
            if self.tcb.state is State.TIME_WAIT:
                self.time_wait_expires()
            elif spec.outstanding(self.tcb) and self._in_flight() <= MSS:
                self.retransmission_timeout()
        elif ending == "syn":
            seq = self.tcb.rcv_nxt if self.conn is not None else self.peer_iss
            self._arrive(SYN, seq, 0)
        elif start == "FIN_WAIT_2":
            self.orphan()
            self.peer_in_step("ack")
            self.orphan_times_out()
        else:
            if self.tcb.state in (State.ESTABLISHED, State.CLOSE_WAIT):
                self.send(MSS // 4)
            if spec.outstanding(self.tcb):
                self.peer_silent()

    @precondition(lambda self: self.tcb.state is State.CLOSED)
    @rule()
    def passive_open(self) -> None:
        self._tick()
        self.listener = self.host.tcp.listen(
            LOCAL, LOCAL_PORT, 8, self.now, params=PARAMS, interface=self.iface
        )
        # The model takes the ISS now; the stack picks it when the SYN arrives (RFC 6528).
        self._compare(self._model(spec.open_passive(MODEL_PARAMS)))

    @precondition(lambda self: self.tcb.state is State.CLOSED)
    @rule()
    def active_open(self) -> None:
        self._tick()
        conn = self.host.tcp.connect(
            PEER,
            PEER_PORT,
            self.now,
            local=LOCAL,
            local_port=LOCAL_PORT,
            interface=self.iface,
            params=PARAMS,
        )
        self.conn = conn
        self._drain(conn)
        self._keep_windows()
        self._compare(self._model(spec.open_active(conn.iss, MODEL_PARAMS)))
        # RFC 6298 §2.1: no RTT measured yet: RTO <- 1 second.
        self._rto_armed(conn, rto_spec.Rto().rto)

    @rule(n=st.integers(1, 3 * MSS))
    def send(self, n: int) -> None:
        self._tick()
        data = bytes((self.user_octets + i) % 253 for i in range(n))
        self.user_octets += n
        conn = self._tracked()
        refused = True
        if conn is not None:
            self.host.poll(self.now)
            try:
                taken = conn.send(data, self.now)
                assert taken == n
                refused = False
            except OSError:
                pass
        actions = self._model(spec.send(self.tcb, data))
        assert refused == any(isinstance(a, spec.Signal) for a in actions)
        self._compare(actions)

    @rule()
    def close(self) -> None:
        self._tick()
        conn = self._tracked()
        if conn is not None:
            self.host.poll(self.now)
            conn.close(self.now)
        self._compare(self._model(spec.close(self.tcb)))

    @rule()
    def abort(self) -> None:
        self._tick()
        conn = self._tracked()
        if conn is not None:
            self.host.poll(self.now)
            conn.abort(self.now)
        rcv_nxt = self.tcb.rcv_nxt
        actions = self._model(spec.abort(self.tcb))
        # RFC 9293 §3.10.5 writes the reset <SEQ=SND.NXT><CTL=RST>; the stack sends
        # <SEQ=SND.NXT><ACK=RCV.NXT><CTL=RST,ACK>, as deployed stacks do, so that a peer
        # still in SYN-SENT (RFC 9293 §3.10.7.3: an RST is acceptable only with an acceptable ACK)
        # takes it. The model's reset is compared with the ACK added.
        actions = [
            spec.Send(replace(a.segment, ack=rcv_nxt, flags=RST | ACK))
            if isinstance(a, spec.Send) and a.segment.flags == RST
            else a
            for a in actions
        ]
        self._compare(actions)

    # -- the peer ----------------------------------------------------------------------
    @rule(
        flags=flag_sets,
        seq_from=st.sampled_from(["rcv_nxt", "rcv_nxt", "anywhere"]),
        seq_offset=seq_offsets,
        anywhere=st.integers(0, SEQ_SPACE - 1),
        ack_from=st.sampled_from(["snd_una", "snd_nxt", "snd_nxt", "anywhere"]),
        ack_offset=ack_offsets,
        length=lengths,
        urgent=st.integers(0, 2 * MSS),
    )
    def segment(
        self,
        flags: int,
        seq_from: str,
        seq_offset: int,
        anywhere: int,
        ack_from: str,
        ack_offset: int,
        length: int,
        urgent: int,
    ) -> None:
        tcb = self.tcb
        synchronized = tcb.state not in (State.CLOSED, State.LISTEN, State.SYN_SENT)
        base = tcb.rcv_nxt if synchronized else self.peer_iss
        seq = anywhere if seq_from == "anywhere" else (base + seq_offset) % SEQ_SPACE
        if ack_from == "anywhere":
            ack = anywhere ^ 0x5A5A5A5A
        else:
            ack = (getattr(tcb, ack_from) + ack_offset) % SEQ_SPACE
        if tcb.state is State.SYN_SENT and flags & SYN and flags & ACK:
            # The stack does not process text or a FIN on a SYN,ACK (the peer sends them
            # again: its ACK does not cover them), as Linux does not; RFC 9293 §3.10.7.3 would
            # continue at the sixth step, and the model does.
            flags &= ~FIN
            length = 0
        self._arrive(flags, seq, ack if flags & ACK else 0, length, urgent)

    def _arrive(self, flags: int, seq: int, ack: int, length: int = 0, urgent: int = 0) -> None:
        self._tick()
        first = (seq + bool(flags & SYN)) % SEQ_SPACE
        data = peer_octets(first, length)
        seg = TcpSegment(
            src_port=PEER_PORT,
            dst_port=LOCAL_PORT,
            seq=seq,
            ack=ack,
            flags=flags,
            window=PEER_WINDOW,
            urgent=urgent if flags & URG else 0,
            options=(MaxSegmentSize(MSS),) if flags & SYN else (),
            payload=data,
        )
        body = bytearray(seg.buffer_len())
        seg.emit(body, PEER, LOCAL)
        hdr = wire_ipv6.Ipv6Header(0, 0, len(body), wire_ipv6.IPPROTO_TCP, 64, PEER, LOCAL)
        frame = ethernet.frame(LOCAL_MAC, PEER_MAC, ethernet.ETHERTYPE_IPV6, hdr.build() + body)
        if self.conn is not None and self.tcb.state not in (State.LISTEN, State.SYN_SENT):
            # Receiver SWS avoidance (RFC 1122 §4.2.3.3, a MUST the model leaves out) moves
            # the stack's right edge only by min(BUFFER/2, MSS) or more: RCV.WND shrinks
            # by what arrived until then, even with the buffer drained. The window is not
            # the model's business: it judges acceptability with the stack's RCV.WND.
            assert 0 < self.conn.rcv_wnd <= RCV_WND
            self.tcb = replace(self.tcb, rcv_wnd=self.conn.rcv_wnd)
        was_listening = self.tcb.state is State.LISTEN
        self.host.receive(self.iface, frame, self.now)
        self._follow()
        if was_listening and self.conn is not None:
            # The stack chose its ISS for this SYN (RFC 6528): the model answers with it.
            self.tcb = replace(self.tcb, iss=self.conn.iss)
        self._keep_windows()
        model_seg = spec.Segment(seq, ack, flags, PEER_WINDOW, data, seg.urgent)
        self._compare(self._model(spec.segment_arrives(self.tcb, model_seg)))
        if was_listening and self.conn is not None and self.tcb.state is State.SYN_RECEIVED:
            # RFC 6298 §2.1: the SYN,ACK is timed with the initial RTO.
            self._rto_armed(self.conn, rto_spec.Rto().rto)

    @rule(
        kind=st.sampled_from(
            ["syn", "syn_ack", "ack", "data", "fin", "early_fin", "rst", "rst_at_fin"]
        )
    )
    def peer_in_step(self, kind: str) -> None:
        """A peer that keeps to the protocol: the segment the RFC's figures would show
        next (random segments rarely hit them exactly)."""
        tcb = self.tcb
        synchronized = tcb.state not in (State.CLOSED, State.LISTEN, State.SYN_SENT)
        seq = tcb.rcv_nxt if synchronized else self.peer_iss
        if kind == "syn":
            self._arrive(SYN, self.peer_iss, 0)
        elif kind == "syn_ack":
            self._arrive(SYN | ACK, self.peer_iss, tcb.snd_nxt)
        elif kind == "ack":
            self._arrive(ACK, seq, tcb.snd_nxt)
        elif kind == "data":
            self._arrive(ACK | PSH, seq, tcb.snd_nxt, MSS // 2)
        elif kind == "fin":
            self._arrive(FIN | ACK, seq, tcb.snd_nxt)
        elif kind == "early_fin":
            self._arrive(FIN | ACK, seq, tcb.snd_una)  # does not acknowledge our FIN
        elif kind == "rst_at_fin":
            # A closed peer's RST with its FIN's sequence number (spec.rst_at_fin): taken
            # after a FIN, dropped as out of the window before one.
            self._arrive(RST, (seq - 1) % SEQ_SPACE if synchronized else seq, 0)
        elif tcb.state is State.SYN_SENT:
            self._arrive(RST | ACK, seq, tcb.snd_nxt)  # RFC 9293 §3.10.7.3: an RST takes an ACK
        else:
            self._arrive(RST, seq, 0)

    # -- the clock ---------------------------------------------------------------------
    def _in_flight(self) -> int:
        """Octets of data sent and not acknowledged (the SYN and FIN not counted)."""
        tcb = self.tcb
        return len(tcb.retransmission_queue)

    @precondition(lambda self: spec.outstanding(self.tcb) and self._in_flight() <= MSS)
    @rule()
    def retransmission_timeout(self) -> None:
        """The stack's RTO falls due. Only while all that is in flight fits in one
        segment: after a timeout the stack goes back to SND.UNA and sends the rest again
        as the window allows (RFC 5681 §3.1, RFC 6298 §5.4), the model resends one
        segment and keeps SND.NXT."""
        conn = self.conn
        assert conn is not None
        deadline = self.host.tcp.timers.deadline((conn, TcpTimer.RETRANSMISSION))
        assert deadline is not None
        self.wire.frames.clear()
        self.now = deadline
        self.host.poll(self.now)
        self._keep_windows()
        # RFC 1122 §4.2.3.5 R2: past RETRIES retransmissions the model deletes the TCB and
        # says "connection timed out"; the stack must have closed with ETIMEDOUT.
        was = self.rto_in_force
        self._compare(self._model(spec.retransmission_timeout(self.tcb)))
        if self.conn is conn and spec.outstanding(self.tcb):
            armed = self.host.tcp.timers.deadline((conn, TcpTimer.RETRANSMISSION))
            assert armed is not None
            if was is None:
                self.rto_in_force = armed - self.now  # the start of a run of timeouts
            else:
                # RFC 6298 §5.5: "back off the timer", within RFC 6298 §2.5's maximum.
                self._rto_armed(conn, rto_spec.on_timeout(rto_spec.Rto(rto=was)).rto)

    @precondition(lambda self: spec.outstanding(self.tcb) and self._in_flight() <= MSS)
    @rule()
    def peer_silent(self) -> None:
        """Every retransmission times out, until the stack gives up."""
        for _ in range(RETRIES + 1):
            if not spec.outstanding(self.tcb):
                break
            self.retransmission_timeout()

    @precondition(lambda self: self.tcb.state in (State.ESTABLISHED, State.CLOSE_WAIT))
    @rule()
    def send_into_silence(self) -> None:
        """Data goes out and the peer is never heard from again."""
        self.send(MSS // 4)
        if spec.outstanding(self.tcb) and self._in_flight() <= MSS:
            self.peer_silent()

    @precondition(
        lambda self: self.tcb.state is State.FIN_WAIT_1 and self.conn and not self.conn.orphaned
    )
    @rule()
    def orphan(self) -> None:
        """The application closes its socket after CLOSE: the stack will not wait in
        FIN-WAIT-2 for ever (its ``fin_wait_2_timeout``, Linux's tcp_fin_timeout)."""
        assert self.conn is not None
        self.conn.orphaned = True

    @precondition(
        lambda self: self.tcb.state is State.FIN_WAIT_2 and self.conn and self.conn.orphaned
    )
    @rule()
    def orphan_times_out(self) -> None:
        """The orphaned connection in FIN-WAIT-2 ends by its user timeout (RFC 9293 §3.10.8),
        the model's FIN_WAIT_2_TIMEOUT after it entered FIN-WAIT-2: still there just before."""
        assert self.conn is not None and self.user_timeout_at is not None
        self.wire.frames.clear()
        self.now = self.user_timeout_at - EPSILON
        self.host.poll(self.now)
        self._compare([])
        self.now = self.user_timeout_at
        self.host.poll(self.now)
        self._compare(self._model(spec.user_timeout(self.tcb)))

    @precondition(lambda self: self.tcb.state is State.TIME_WAIT)
    @rule()
    def time_wait_expires(self) -> None:
        assert self.time_wait_at is not None
        self.wire.frames.clear()
        # RFC 9293 §3.10.8: TIME-WAIT lasts 2·MSL: held just before, and ended at, the deadline.
        self.now = self.time_wait_at - EPSILON
        self.host.poll(self.now)
        self._compare([])
        self.now = self.time_wait_at
        self.host.poll(self.now)
        self._compare(self._model(spec.time_wait_timeout(self.tcb)))


TcpVersusSpec.TestCase.settings = settings(
    max_examples=examples(200), stateful_step_count=30, deadline=None
)
TestTcpVersusSpec = TcpVersusSpec.TestCase


def test_every_state_meets_every_ending() -> None:
    sweep()


def test_model_test_exercises_every_transition() -> None:
    sweep()
    take_every_transition(
        TcpVersusSpec, tcp_graph.GRAPH, SEEN, max_examples=300, stateful_step_count=30
    )
