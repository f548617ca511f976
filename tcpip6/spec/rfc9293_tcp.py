"""TCP, the reference model: RFC 793 -> RFC 9293, with RFC 5961's blind-attack checks.

Written to be read beside RFC 9293 §3.10 ("Event Processing"). Each public function is
one event of RFC 9293 §3.10 -- a user call, a segment arriving, a timeout -- transcribed as if/else
over the Transmission Control Block of RFC 9293 §3.3.1, with the RFC's variable names. No state
machine library, no I/O, no clock. The stack (``tcpip6.stack.tcp``) is checked against
this model by ``tests/model``; neither imports the other.

Every function takes a :class:`Tcb` and returns ``(new_tcb, actions)``. The argument is
never changed: each function works on a copy. A deleted TCB comes back in state CLOSED,
after a :class:`Delete` action.

What this model chooses where RFC 9293 leaves a choice (the stack must choose the same):

* **ACKs.** An acknowledgment is sent at once for every acceptable segment that carries
  text or a FIN, in order or not (RFC 5681 §4.2's duplicate ACK); there is no delayed
  ACK. It rides on data or a FIN sent in the same event; a bare
  ``<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>`` is sent only when nothing else is.
  The reply to an unacceptable segment and every challenge ACK is that same bare ACK.
* **Window.** Data is delivered to the user as soon as it is in order, so the receive
  buffer never fills: the window advertised is always RCV.WND, the buffer size. No
  window scaling, no options, no silly window avoidance, no Nagle, no zero-window probes
  (the persist timer of RFC 9293 §3.8.6.1 is not modelled).
* **Sending.** SEND data goes out as soon as the peer's window allows, in segments of at
  most ``mss`` octets, each with ACK; PSH is set on the one that empties the send queue.
  The FIN follows the queue: it is set on the segment carrying the last queued octet, or
  sent alone (``<SEQ=SND.NXT><ACK=RCV.NXT><CTL=FIN,ACK>``) when the queue is already
  empty. The FIN is sent whatever the window.
* **Out of order.** Text that begins after RCV.NXT is held (RFC 9293 §3.10.7.4 seventh: such
  segments "SHOULD be held"), trimmed to the window, octet by octet so that a
  retransmission overlapping it costs nothing; the first copy of an octet wins. A FIN
  is processed only once RCV.NXT reaches it. The other fields of an out-of-order
  segment (RST, SYN, ACK, URG) are processed at once, as in every deployed stack.
* **Data on a SYN** (LISTEN, or a SYN without ACK in SYN-SENT) is not queued: it is
  ignored and not acknowledged, so the peer sends it again. Data on a SYN,ACK that
  completes an active open is processed (RFC 9293 §3.10.7.3 "continue processing at the sixth
  step").
* **Timers.** Only the TIME-WAIT timer appears as actions (``SetTimer("time-wait",
  2 * MSL)``; entering TIME-WAIT sets it, and a FIN acknowledged in TIME-WAIT restarts
  it). The retransmission timer belongs to RFC 6298, not to this model: it should run
  exactly when :func:`outstanding` is true, and :func:`retransmission_timeout` resends
  from SND.UNA whenever it is called. It counts the timeouts of the same segment (SND.UNA
  has not moved) and closes the connection past R2 (RFC 1122 §4.2.3.5), as a number of
  retransmissions: :func:`retransmissions_for` turns R2's seconds into one with RFC 6298's
  backoff. The user timeout (RFC 9293 §3.10.8) is :func:`user_timeout`, fired by whoever
  keeps it (an orphaned FIN-WAIT-2 after :data:`FIN_WAIT_2_TIMEOUT`).
* **ISS.** Chosen by the caller: ``open_active(iss, ...)`` and ``open_passive(...,
  iss=...)``. A listening TCB answers the next SYN with ``tcb.iss``; a caller that wants
  another ISS after a return to LISTEN replaces the field.
* **Urgent data** is received (RFC 9293 §3.10.7.4 sixth: RCV.UP <- max(RCV.UP, SEG.SEQ+SEG.UP),
  ``Signal("urgent data")`` once per run of urgent data) but never sent.
* **Security/compartment** checks (RFC 9293 §3.10.7 "third") are skipped: there are none in IPv6.
* **A zero RCV.WND** is not modelled beyond the acceptability test itself: the receive
  buffer is never full, so "special allowance ... to accept valid ACKs, URGs, and RSTs"
  never arises.
* **An RST at RCV.NXT - 1 after the peer's FIN** (CLOSE-WAIT, CLOSING, LAST-ACK) is
  accepted as if exact, before the acceptability test: a deliberate deviation from
  RFC 5961 §3, as Linux has it, for the reason :func:`rst_at_fin` gives.
* **A FIN retransmitted into TIME-WAIT** lies below RCV.NXT, so the acceptability test
  answers it with a bare ACK; the timer restart of the fifth and eighth steps applies only
  to an acceptable segment, as written.

Signals: "connection reset", "connection refused", "connection closing", "connection does
not exist", "foreign socket unspecified", "urgent data", "connection timed out" (R2,
RFC 1122 §4.2.3.5), "connection aborted due to user timeout" (RFC 9293 §3.10.8).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace

from tcpip6.spec.rfc6298_rto import INITIAL_RTO, MAX_RTO

# -- control bits -------------------------------------------------------------------------
# RFC 9293 §3.1 (Header Format): the control bits are the low six bits of the 14th octet,
# from the right FIN, SYN, RST, PSH, ACK, URG (RFC 9293 §3.1 lists ECE and CWR of RFC 3168
# above them; this model does not use them). It keeps its own copy: the spec imports nothing
# of tcpip6, so it stays an oracle independent of the wire code it checks.
FIN = 0x01  # RFC 9293 §3.1: "No more data from sender"
SYN = 0x02  # RFC 9293 §3.1: "Synchronize sequence numbers"
RST = 0x04  # RFC 9293 §3.1: "Reset the connection"
PSH = 0x08  # RFC 9293 §3.1: "Push function"
ACK = 0x10  # RFC 9293 §3.1: "Acknowledgment field is significant"
URG = 0x20  # RFC 9293 §3.1: "Urgent pointer field is significant"

# -- constants ----------------------------------------------------------------------------
MSL = 120.0  # RFC 9293 §3.4.2: "the Maximum Segment Lifetime (MSL) ... is ... 2 minutes"
DEFAULT_MSS = 536  # RFC 9293 §3.7.1: the default when no MSS option is received (IPv4's 576 - 40)
DEFAULT_RCV_WND = 65535  # the receive buffer; the largest window without scaling
# RFC 9293 §3.4: "all arithmetic dealing with sequence numbers must be ... modulo 2**32"
SEQ_SPACE = 2**32
# RFC 1122 §4.2.3.5: "The value of R2 SHOULD correspond to at least 100 seconds", and "R2 for a
# SYN segment MUST be set large enough to provide retransmission of the segment for at least 3
# minutes".
R2_SECONDS = 100.0
R2_SYN_SECONDS = 180.0
# Not an RFC constant: how long an orphaned connection (its user gone after CLOSE) waits in
# FIN-WAIT-2 for the peer's FIN before its user timeout (RFC 9293 §3.10.8) ends it; Linux's
# tcp_fin_timeout default.
FIN_WAIT_2_TIMEOUT = 60.0


def retransmissions_for(
    seconds: float, initial_rto: float = INITIAL_RTO, max_rto: float = MAX_RTO
) -> int:
    """R2 as a number of retransmissions: the fewest after which the timeout that gives up
    comes at least ``seconds`` after the first transmission, the RTO starting at
    ``initial_rto`` and doubling at each timeout up to ``max_rto`` (RFC 6298 §2.1,
    RFC 6298 §5.5)."""
    count, elapsed, rto = 0, 0.0, initial_rto
    while elapsed + rto < seconds:
        elapsed += rto
        count += 1
        rto = min(2 * rto, max_rto)
    return count


#: RFC 1122 §4.2.3.5 R2 with RFC 6298's timer: 6 retransmissions of data, 7 of a SYN.
R2 = retransmissions_for(R2_SECONDS)
R2_SYN = retransmissions_for(R2_SYN_SECONDS)

__all__ = [
    "ACK",
    "DEFAULT_MSS",
    "DEFAULT_RCV_WND",
    "FIN",
    "FIN_WAIT_2_TIMEOUT",
    "MSL",
    "PSH",
    "R2",
    "R2_SECONDS",
    "R2_SYN",
    "R2_SYN_SECONDS",
    "RST",
    "SYN",
    "URG",
    "Action",
    "Delete",
    "Deliver",
    "Params",
    "Segment",
    "Send",
    "SetTimer",
    "Signal",
    "State",
    "Tcb",
    "abort",
    "acceptable",
    "close",
    "open_active",
    "open_passive",
    "outstanding",
    "retransmission_timeout",
    "retransmissions_for",
    "segment_arrives",
    "send",
    "seq_le",
    "seq_lt",
    "time_wait_timeout",
    "user_timeout",
]


# -- RFC 9293 §3.4 sequence number arithmetic, modulo 2**32 ----------------------------------------


def seq_add(a: int, n: int) -> int:
    return (a + n) % SEQ_SPACE


def seq_lt(a: int, b: int) -> bool:
    """``a < b`` in sequence space: b is less than 2**31 ahead of a."""
    return 0 < (b - a) % SEQ_SPACE < 2**31


def seq_le(a: int, b: int) -> bool:
    return a == b or seq_lt(a, b)


def between(low: int, x: int, high: int) -> bool:
    """``low =< x =< high``, counted forward from low modulo 2**32."""
    return (x - low) % SEQ_SPACE <= (high - low) % SEQ_SPACE


# -- RFC 9293 §3.3.2 states ------------------------------------------------------------------------


class State(enum.Enum):
    CLOSED = "CLOSED"
    LISTEN = "LISTEN"
    SYN_SENT = "SYN-SENT"
    SYN_RECEIVED = "SYN-RECEIVED"
    ESTABLISHED = "ESTABLISHED"
    FIN_WAIT_1 = "FIN-WAIT-1"
    FIN_WAIT_2 = "FIN-WAIT-2"
    CLOSE_WAIT = "CLOSE-WAIT"
    CLOSING = "CLOSING"
    LAST_ACK = "LAST-ACK"
    TIME_WAIT = "TIME-WAIT"


#: RFC 9293 §3.10.7.4 sixth and seventh: the states that take urgent data and segment text.
RECEIVING = (State.ESTABLISHED, State.FIN_WAIT_1, State.FIN_WAIT_2)
#: RFC 9293 §3.10.5: the states in which ABORT sends a reset.
SYNCHRONIZING_OR_OPEN = (
    State.SYN_RECEIVED,
    State.ESTABLISHED,
    State.FIN_WAIT_1,
    State.FIN_WAIT_2,
    State.CLOSE_WAIT,
)
#: The states in which queued SENDs and a queued CLOSE's FIN may still go out.
SENDING = (
    State.ESTABLISHED,
    State.CLOSE_WAIT,
    State.FIN_WAIT_1,
    State.CLOSING,
    State.LAST_ACK,
)


# -- segments and actions -------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    """The fields of RFC 9293 §3.1 this model reads. ``flags`` are the wire's control bits;
    ``ack`` is 0 when ACK is off, ``urgent`` is SEG.UP, an offset from SEG.SEQ."""

    seq: int
    ack: int
    flags: int
    window: int
    data: bytes = b""
    urgent: int = 0

    @property
    def seg_len(self) -> int:
        """RFC 9293 §3.3.1 SEG.LEN: "the number of octets occupied by the data in the segment
        (counting SYN and FIN)"."""
        return len(self.data) + bool(self.flags & SYN) + bool(self.flags & FIN)


@dataclass(frozen=True)
class Send:
    segment: Segment


@dataclass(frozen=True)
class Deliver:
    """In-order data handed to the user (a RECEIVE completing)."""

    data: bytes


@dataclass(frozen=True)
class Signal:
    """A message to the user, in the RFC's words ("connection reset", ...)."""

    error: str


@dataclass(frozen=True)
class SetTimer:
    name: str
    seconds: float


@dataclass(frozen=True)
class Delete:
    """The TCB is deleted; the connection is CLOSED."""


Action = Send | Deliver | Signal | SetTimer | Delete


@dataclass(frozen=True)
class Params:
    """What a user's OPEN fixes: the segment size to send and the receive buffer; and the
    retransmissions of one segment after which the connection is closed (RFC 1122 §4.2.3.5
    R2, for data and for a SYN)."""

    mss: int = DEFAULT_MSS
    rcv_wnd: int = DEFAULT_RCV_WND
    r2: int = R2
    r2_syn: int = R2_SYN


# -- RFC 9293 §3.3.1 the Transmission Control Block ------------------------------------------------


@dataclass
class Tcb:
    """RFC 9293 §3.3.1 "Send Sequence Variables" and "Receive Sequence Variables", plus the queues
    of RFC 9293 §3.10 and what this model needs to know of the connection's history.
    ``Tcb()`` is the CLOSED state: "the TCB does not exist"."""

    state: State = State.CLOSED
    iss: int = 0  # initial send sequence number
    irs: int = 0  # initial receive sequence number
    snd_una: int = 0  # send unacknowledged
    snd_nxt: int = 0  # send next
    snd_wnd: int = 0  # send window
    snd_up: int = 0  # send urgent pointer
    snd_wl1: int = 0  # segment sequence number used for last window update
    snd_wl2: int = 0  # segment acknowledgment number used for last window update
    rcv_nxt: int = 0  # receive next
    rcv_wnd: int = DEFAULT_RCV_WND  # receive window: constant, the receive buffer
    rcv_up: int = 0  # receive urgent pointer
    max_snd_wnd: int = 0  # RFC 5961 §5 MAX.SND.WND: the largest SND.WND seen
    mss: int = DEFAULT_MSS
    passive: bool = False  # opened by a passive OPEN (came from LISTEN)
    send_queue: bytes = b""  # SENDs accepted, not yet sent
    retransmission_queue: bytes = b""  # data sent, not yet acknowledged (from SND.UNA)
    fin_pending: bool = False  # CLOSE called: a FIN goes after the send queue
    fin_sent: bool = False  # that FIN has been sent (it is at SND.NXT - 1)
    held: dict[int, int] = field(default_factory=dict)  # out-of-order octets, by SEQ
    held_fin: int | None = None  # sequence number of an out-of-order FIN
    r2: int = R2  # RFC 1122 §4.2.3.5: retransmissions of data before closing
    r2_syn: int = R2_SYN  # and of a SYN (or SYN,ACK)
    timeouts: int = 0  # retransmission timeouts of the segment at timeouts_una
    timeouts_una: int | None = None  # SND.UNA when they were counted

    @property
    def fin_acked(self) -> bool:
        """Our FIN has been sent and SND.UNA has passed it."""
        return self.fin_sent and self.snd_una == self.snd_nxt


Result = tuple[Tcb, list[Action]]


def _copy(tcb: Tcb) -> Tcb:
    return replace(tcb, held=dict(tcb.held))


def _deleted(tcb: Tcb) -> Tcb:
    """RFC 9293 §3.10: "delete the TCB, enter the CLOSED state"."""
    return Tcb(rcv_wnd=tcb.rcv_wnd, mss=tcb.mss, r2=tcb.r2, r2_syn=tcb.r2_syn)


def _ack(tcb: Tcb) -> Send:
    """<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>"""
    return Send(Segment(tcb.snd_nxt, tcb.rcv_nxt, ACK, tcb.rcv_wnd))


def _reset(seq: int) -> Send:
    """<SEQ=seq><CTL=RST>"""
    return Send(Segment(seq, 0, RST, 0))


def _syn_ack(tcb: Tcb) -> Send:
    """<SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>"""
    return Send(Segment(tcb.iss, tcb.rcv_nxt, SYN | ACK, tcb.rcv_wnd))


def outstanding(tcb: Tcb) -> bool:
    """Something sent is not yet acknowledged: RFC 6298 §5's retransmission timer runs."""
    return tcb.state not in (State.CLOSED, State.LISTEN) and tcb.snd_una != tcb.snd_nxt


# -- sending: the send queue, then the FIN ---------------------------------------------------


def _output(tcb: Tcb) -> list[Action]:
    """Send what the peer's window allows of the send queue, then the FIN if CLOSE was
    called and the queue is empty (see the module docstring). Mutates ``tcb``."""
    if tcb.state not in SENDING or tcb.fin_sent:
        return []
    actions: list[Action] = []
    while tcb.send_queue:
        in_flight = (tcb.snd_nxt - tcb.snd_una) % SEQ_SPACE
        usable = tcb.snd_wnd - in_flight  # RFC 9293 §3.8.6.2.1: SND.UNA + SND.WND - SND.NXT
        if usable <= 0:
            break
        data = tcb.send_queue[: min(tcb.mss, usable)]
        tcb.send_queue = tcb.send_queue[len(data) :]
        flags = ACK
        if not tcb.send_queue:
            flags |= PSH
            if tcb.fin_pending:
                flags |= FIN
        actions.append(Send(Segment(tcb.snd_nxt, tcb.rcv_nxt, flags, tcb.rcv_wnd, data)))
        tcb.retransmission_queue += data
        tcb.snd_nxt = seq_add(tcb.snd_nxt, len(data) + bool(flags & FIN))
        tcb.fin_sent = bool(flags & FIN)
    if tcb.fin_pending and not tcb.send_queue and not tcb.fin_sent:
        actions.append(Send(Segment(tcb.snd_nxt, tcb.rcv_nxt, FIN | ACK, tcb.rcv_wnd)))
        tcb.snd_nxt = seq_add(tcb.snd_nxt, 1)
        tcb.fin_sent = True
    return actions


# -- RFC 9293 §3.10.1 OPEN -------------------------------------------------------------------------


def open_passive(params: Params = Params(), iss: int = 0) -> Result:
    """RFC 9293 §3.10.1 OPEN, CLOSED state, passive: "enter LISTEN state and return". ``iss`` is
    the ISS the SYN-ACK will carry."""
    return Tcb(
        state=State.LISTEN,
        iss=iss,
        passive=True,
        mss=params.mss,
        rcv_wnd=params.rcv_wnd,
        r2=params.r2,
        r2_syn=params.r2_syn,
    ), []


def open_active(iss: int, params: Params = Params()) -> Result:
    """RFC 9293 §3.10.1 OPEN, CLOSED state, active: "A SYN segment of the form <SEQ=ISS><CTL=SYN>
    is sent. Set SND.UNA to ISS, SND.NXT to ISS+1, enter SYN-SENT state"."""
    tcb = Tcb(
        state=State.SYN_SENT,
        iss=iss,
        snd_una=iss,
        snd_nxt=seq_add(iss, 1),
        snd_up=iss,
        mss=params.mss,
        rcv_wnd=params.rcv_wnd,
        r2=params.r2,
        r2_syn=params.r2_syn,
    )
    return tcb, [Send(Segment(iss, 0, SYN, tcb.rcv_wnd))]


# -- RFC 9293 §3.10.2 SEND -------------------------------------------------------------------------


def send(tcb: Tcb, data: bytes) -> Result:
    tcb = _copy(tcb)
    if tcb.state is State.CLOSED:
        return tcb, [Signal("connection does not exist")]
    if tcb.state is State.LISTEN:
        # "If the foreign socket is not specified, then return "error: foreign socket
        # unspecified"" -- a listening TCB of this model never has one.
        return tcb, [Signal("foreign socket unspecified")]
    if tcb.fin_pending or tcb.state not in (
        State.SYN_SENT,
        State.SYN_RECEIVED,
        State.ESTABLISHED,
        State.CLOSE_WAIT,
    ):
        # FIN-WAIT-1 ... TIME-WAIT: "Return "error: connection closing" and do not
        # service request." (A CLOSE queued in SYN-RECEIVED counts too.)
        return tcb, [Signal("connection closing")]
    # SYN-SENT, SYN-RECEIVED: "Queue the data for transmission after entering ESTABLISHED
    # state." ESTABLISHED, CLOSE-WAIT: "Segmentize the buffer and send it with a
    # piggybacked acknowledgment (acknowledgment value = RCV.NXT)."
    tcb.send_queue += data
    return tcb, _output(tcb)


# -- RFC 9293 §3.10.4 CLOSE ------------------------------------------------------------------------


def close(tcb: Tcb) -> Result:
    tcb = _copy(tcb)
    state = tcb.state
    if state is State.CLOSED:
        return tcb, [Signal("connection does not exist")]
    if state in (State.LISTEN, State.SYN_SENT):
        # LISTEN: "Delete TCB, enter CLOSED state, and return." SYN-SENT: "Delete the TCB
        # and return "error: closing" responses to any queued SENDs, or RECEIVEs."
        return _deleted(tcb), [Delete()]
    if tcb.fin_pending:
        # FIN-WAIT-1, FIN-WAIT-2, CLOSING, LAST-ACK, TIME-WAIT (or a second CLOSE in
        # SYN-RECEIVED): "error: connection closing".
        return tcb, [Signal("connection closing")]
    tcb.fin_pending = True
    if state is State.SYN_RECEIVED:
        # "If no SENDs have been issued and there is no pending data to send, then form a
        # FIN segment and send it, and enter FIN-WAIT-1 state; otherwise, queue for
        # processing after entering ESTABLISHED state."
        if tcb.send_queue:
            return tcb, []
        tcb.state = State.FIN_WAIT_1
        tcb.fin_sent = True
        fin = Segment(tcb.snd_nxt, tcb.rcv_nxt, FIN | ACK, tcb.rcv_wnd)
        tcb.snd_nxt = seq_add(tcb.snd_nxt, 1)
        return tcb, [Send(fin)]
    # ESTABLISHED: "Queue this until all preceding SENDs have been segmentized, then form
    # a FIN segment and send it. In any case, enter FIN-WAIT-1 state."
    # CLOSE-WAIT: "Queue this request until all preceding SENDs have been segmentized;
    # then send a FIN segment, enter LAST-ACK state."
    tcb.state = State.FIN_WAIT_1 if state is State.ESTABLISHED else State.LAST_ACK
    return tcb, _output(tcb)


# -- RFC 9293 §3.10.5 ABORT ------------------------------------------------------------------------


def abort(tcb: Tcb) -> Result:
    tcb = _copy(tcb)
    if tcb.state is State.CLOSED:
        return tcb, [Signal("connection does not exist")]
    if tcb.state in SYNCHRONIZING_OR_OPEN:
        # "Send a reset segment: <SEQ=SND.NXT><CTL=RST> ... Delete the TCB, enter CLOSED
        # state, and return."
        return _deleted(tcb), [_reset(tcb.snd_nxt), Delete()]
    # LISTEN, SYN-SENT, CLOSING, LAST-ACK, TIME-WAIT: delete the TCB, send nothing.
    return _deleted(tcb), [Delete()]


# -- RFC 9293 §3.10.7 SEGMENT ARRIVES --------------------------------------------------------------


def segment_arrives(tcb: Tcb, seg: Segment) -> Result:
    tcb = _copy(tcb)
    if tcb.state is State.CLOSED:
        return _closed(tcb, seg)
    if tcb.state is State.LISTEN:
        return _listen(tcb, seg)
    if tcb.state is State.SYN_SENT:
        return _syn_sent(tcb, seg)
    return _otherwise(tcb, seg)


def _closed(tcb: Tcb, seg: Segment) -> Result:
    """RFC 9293 §3.10.7.1 CLOSED state."""
    # "An incoming segment containing a RST is discarded."
    if seg.flags & RST:
        return tcb, []
    # "If the ACK bit is off, sequence number zero is used,
    #  <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>. If the ACK bit is on, <SEQ=SEG.ACK><CTL=RST>"
    if not seg.flags & ACK:
        return tcb, [Send(Segment(0, seq_add(seg.seq, seg.seg_len), RST | ACK, 0))]
    return tcb, [_reset(seg.ack)]


def _listen(tcb: Tcb, seg: Segment) -> Result:
    """RFC 9293 §3.10.7.2 LISTEN state."""
    # "First, check for a RST: ... An incoming RST should be ignored. Return."
    if seg.flags & RST:
        return tcb, []
    # "Second, check for an ACK: Any acknowledgment is bad if it arrives on a connection
    # still in the LISTEN state. ... <SEQ=SEG.ACK><CTL=RST>"
    if seg.flags & ACK:
        return tcb, [_reset(seg.ack)]
    # "Third, check for a SYN: ... Set RCV.NXT to SEG.SEQ+1, IRS is set to SEG.SEQ ...
    # ISS should be selected and a SYN segment sent of the form
    # <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>. SND.NXT is set to ISS+1 and SND.UNA to ISS.
    # The connection state should be changed to SYN-RECEIVED."
    if seg.flags & SYN:
        tcb.irs = seg.seq
        tcb.rcv_nxt = tcb.rcv_up = seq_add(seg.seq, 1)
        tcb.snd_una = tcb.snd_up = tcb.iss
        tcb.snd_nxt = seq_add(tcb.iss, 1)
        # Not in RFC 9293 §3.10.7.2; as RFC 9293 §3.10.7.3 does for a SYN in SYN-SENT, so that a FIN
        # sent
        # from SYN-RECEIVED (RFC 9293 §3.10.4) has a window to be updated by the next ACK.
        tcb.snd_wnd = tcb.max_snd_wnd = seg.window
        tcb.snd_wl1, tcb.snd_wl2 = seg.seq, tcb.iss
        tcb.state = State.SYN_RECEIVED
        # "any other control or text should be queued for processing later": this model
        # ignores SYN data (module docstring).
        return tcb, [_syn_ack(tcb)]
    # "Fourth, other data or control: This should not be reached. Drop the segment".
    return tcb, []


def listen_cookie_ack(tcb: Tcb, seg: Segment, iss: int) -> Tcb:
    """RFC 4987 §3.6, beside RFC 9293 §3.10.7.2: a listener that answered a SYN with a SYN
    cookie as its ISS kept no TCB. The ACK that brings the cookie back (SEG.ACK = ISS + 1,
    the check of the cookie is ``spec/rfc4987_syn_cookies.py``'s) makes the TCB LISTEN's
    third check would have made for the SYN (IRS = SEG.SEQ - 1, RCV.NXT = SEG.SEQ,
    SND.NXT = ISS + 1), and SYN-RECEIVED's fifth check then takes it to ESTABLISHED with
    "SND.UNA <- SEG.ACK" and the window of the ACK (RFC 9293 §3.10.7.4). An ACK that
    carries no cookie of the listener's is answered as the second check says (a reset)."""
    tcb = _copy(tcb)
    tcb.iss = iss
    tcb.irs = seq_add(seg.seq, -1)
    tcb.rcv_nxt = tcb.rcv_up = seg.seq
    tcb.snd_una = tcb.snd_nxt = tcb.snd_up = seq_add(iss, 1)
    tcb.snd_wnd = tcb.max_snd_wnd = seg.window
    tcb.snd_wl1, tcb.snd_wl2 = seg.seq, seg.ack
    tcb.state = State.ESTABLISHED
    return tcb


def _syn_sent(tcb: Tcb, seg: Segment) -> Result:
    """RFC 9293 §3.10.7.3 SYN-SENT state."""
    # "First, check the ACK bit: If the ACK bit is set: If SEG.ACK =< ISS or SEG.ACK >
    # SND.NXT, send a reset (unless the RST bit is set, if so drop the segment and return)
    # <SEQ=SEG.ACK><CTL=RST> and discard the segment. Return."
    ack_acceptable = False
    if seg.flags & ACK:
        if seq_le(seg.ack, tcb.iss) or seq_lt(tcb.snd_nxt, seg.ack):
            return tcb, [] if seg.flags & RST else [_reset(seg.ack)]
        # "If SND.UNA < SEG.ACK =< SND.NXT, then the ACK is acceptable."
        ack_acceptable = seq_lt(tcb.snd_una, seg.ack) and seq_le(seg.ack, tcb.snd_nxt)
    # "Second, check the RST bit: ... If the ACK was acceptable, then signal to the user
    # "error: connection reset", drop the segment, enter CLOSED state, delete TCB, and
    # return. Otherwise (no ACK), drop the segment and return."
    # (RFC 5961 §3: "In the SYN-SENT state, RST is acceptable if the ACK field
    # acknowledges the SYN" -- the same rule.)
    if seg.flags & RST:
        if ack_acceptable:
            return _deleted(tcb), [Signal("connection reset"), Delete()]
        return tcb, []
    # "Third, check the security" -- skipped.
    # "Fourth, check the SYN bit":
    if not seg.flags & SYN:
        # "Fifth, if neither of the SYN or RST bits is set, then drop the segment".
        return tcb, []
    # "RCV.NXT is set to SEG.SEQ+1, IRS is set to SEG.SEQ. SND.UNA should be advanced to
    # equal SEG.ACK (if there is an ACK), and any segments on the retransmission queue
    # that are thereby acknowledged should be removed."
    tcb.irs = seg.seq
    tcb.rcv_nxt = tcb.rcv_up = seq_add(seg.seq, 1)
    if ack_acceptable:
        tcb.snd_una = seg.ack
    # RFC 1122 §4.2.2.20 (c): on entering ESTABLISHED or SYN-RECEIVED from here,
    # "SND.WND <- SEG.WND, SND.WL1 <- SEG.SEQ, SND.WL2 <- SEG.ACK".
    tcb.snd_wnd = seg.window
    tcb.max_snd_wnd = max(tcb.max_snd_wnd, seg.window)
    tcb.snd_wl1, tcb.snd_wl2 = seg.seq, seg.ack
    if seq_lt(tcb.iss, tcb.snd_una):
        # "If SND.UNA > ISS (our SYN has been ACKed), change the connection state to
        # ESTABLISHED, form an ACK segment <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and send
        # it. Data or controls that were queued for transmission MAY be included. ... If
        # there are other controls or text in the segment, then continue processing at
        # the sixth step under Section 3.10.7.4 where the URG bit is checked".
        tcb.state = State.ESTABLISHED
        actions, _ = _from_sixth_step(tcb, seg, [])
        return _finish(tcb, actions, ack_owed=True)
    # "Otherwise, enter SYN-RECEIVED, form a SYN,ACK segment
    # <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK> and send it. ... If there are other controls or
    # text in the segment, queue them for processing after the ESTABLISHED state has been
    # reached, return." -- ignored here (module docstring).
    tcb.state = State.SYN_RECEIVED
    return tcb, [_syn_ack(tcb)]


# -- RFC 9293 §3.10.7.4 Other states ---------------------------------------------------------------


def acceptable(seg: Segment, rcv_nxt: int, rcv_wnd: int) -> bool:
    """RFC 9293 §3.10.7.4 first, the four cases of the acceptability test:

    ======= ======= ===========================================================
    SEG.LEN RCV.WND Test
    ======= ======= ===========================================================
    0       0       SEG.SEQ = RCV.NXT
    0       >0      RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND
    >0      0       not acceptable
    >0      >0      RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND
                    or RCV.NXT =< SEG.SEQ+SEG.LEN-1 < RCV.NXT+RCV.WND
    ======= ======= ===========================================================
    """

    def in_window(n: int) -> bool:
        return (n - rcv_nxt) % SEQ_SPACE < rcv_wnd

    if seg.seg_len == 0:
        return seg.seq == rcv_nxt if rcv_wnd == 0 else in_window(seg.seq)
    if rcv_wnd == 0:
        return False
    return in_window(seg.seq) or in_window(seq_add(seg.seq, seg.seg_len - 1))


#: The states in which the peer's FIN has been received in order (RCV.NXT is past it).
FIN_RECEIVED_STATES = (State.CLOSE_WAIT, State.CLOSING, State.LAST_ACK)


def rst_at_fin(tcb: Tcb, seq: int) -> bool:
    """A deliberate deviation from RFC 5961 §3, as Linux makes it (``tcp_reset_check``):
    once the peer's FIN has been received, an RST whose SEG.SEQ is RCV.NXT - 1 -- the
    sequence number of that FIN -- resets the connection as an exact one would, where
    RFC 5961 §3.2 would drop it as outside the window.

    Why: a peer that has closed answers each later data segment with an RST whose SEQ is
    the ACK field of that segment, and a segment sent before our ACK of its FIN carries
    the FIN's own number. RFC 5961 drops every such RST, and the sender goes on pouring its
    whole send buffer into a closed peer; a peer that sends FIN then RST on an abort (and
    rate-limits its answers to challenge ACKs) is never heard. The blind-attack exposure
    grows by one sequence number, and only after a FIN."""
    return tcb.state in FIN_RECEIVED_STATES and seq == seq_add(tcb.rcv_nxt, -1)


def _otherwise(tcb: Tcb, seg: Segment) -> Result:
    """RFC 9293 §3.10.7.4: SYN-RECEIVED and every synchronized state, the eight steps in order."""
    # "first, check sequence number ... If an incoming segment is not acceptable, an
    # acknowledgment should be sent in reply (unless the RST bit is set, if so drop the
    # segment and return): <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>"
    if seg.flags & RST and rst_at_fin(tcb, seg.seq):
        return _rst_exact(tcb)
    if not acceptable(seg, tcb.rcv_nxt, tcb.rcv_wnd):
        return tcb, [] if seg.flags & RST else [_ack(tcb)]

    # "second, check the RST bit" -- RFC 5961 §3 as RFC 9293 §3.10.7.4 has it, on SEG.SEQ as it
    # arrived: "1) If the RST bit is set and the sequence number is outside the current
    # receive window, silently drop the segment." (An RST whose text alone reaches into
    # the window passed the test above.) "3) If the RST bit is set and the sequence number
    # does not exactly match the next expected sequence value, yet is within the current
    # receive window, TCP endpoints MUST send an acknowledgment (challenge ACK)".
    if seg.flags & RST:
        if not acceptable(replace(seg, data=b"", flags=RST), tcb.rcv_nxt, tcb.rcv_wnd):
            return tcb, []
        if seg.seq != tcb.rcv_nxt:
            return tcb, [_ack(tcb)]
        return _rst_exact(tcb)

    # "In the following it is assumed that the segment is the idealized segment that
    # begins at RCV.NXT and does not exceed the window. One could tailor actual segments
    # to fit this assumption by trimming off any portions that lie outside the window
    # (including SYN and FIN)": a SYN before RCV.NXT (an old SYN whose text reaches into
    # the window) is trimmed off here, so the fourth step never sees it. (The text is
    # trimmed in the seventh step, the FIN in the eighth.)
    if seg.flags & SYN and seq_lt(seg.seq, tcb.rcv_nxt):
        seg = replace(
            seg, seq=seq_add(seg.seq, 1), flags=seg.flags & ~SYN, urgent=max(seg.urgent - 1, 0)
        )

    # "third, check security" -- skipped.

    # "fourth, check the SYN bit"
    if seg.flags & SYN:
        if tcb.state is State.SYN_RECEIVED and tcb.passive:
            # "If the connection was initiated with a passive OPEN, then return this
            # connection to the LISTEN state and return."
            return _back_to_listen(tcb), []
        # RFC 5961 §4: "If the SYN bit is set, irrespective of the sequence number, TCP
        # endpoints MUST send a "challenge ACK" ... and stop processing further."
        return tcb, [_ack(tcb)]

    # "fifth, check the ACK field": "if the ACK bit is off, drop the segment and return"
    if not seg.flags & ACK:
        return tcb, []
    actions: list[Action] = []
    if tcb.state is State.SYN_RECEIVED:
        # "If SND.UNA < SEG.ACK =< SND.NXT, then enter ESTABLISHED state and continue
        # processing with the variables below set to: SND.WND <- SEG.WND, SND.WL1 <-
        # SEG.SEQ, SND.WL2 <- SEG.ACK. If the segment acknowledgment is not acceptable,
        # form a reset segment <SEQ=SEG.ACK><CTL=RST> and send it."
        if not (seq_lt(tcb.snd_una, seg.ack) and seq_le(seg.ack, tcb.snd_nxt)):
            return tcb, [_reset(seg.ack)]
        tcb.state = State.ESTABLISHED
        tcb.snd_wnd, tcb.snd_wl1, tcb.snd_wl2 = seg.window, seg.seq, seg.ack
        tcb.max_snd_wnd = max(tcb.max_snd_wnd, seg.window)
        if tcb.fin_pending:
            # RFC 9293 §3.10.4: the CLOSE queued in SYN-RECEIVED, processed as in ESTABLISHED.
            tcb.state = State.FIN_WAIT_1
    # The RFC 5961 check on SEG.ACK comes first, "if the ACK bit is on", in every state
    # after SYN-RECEIVED, TIME-WAIT too.
    dropped = _ack_established(tcb, seg)
    if dropped is not None:
        return tcb, dropped
    # TIME-WAIT: "The only thing that can arrive in this state is a retransmission of the
    # remote FIN. Acknowledge it, and restart the 2 MSL timeout." -- done by the eighth
    # step ("Remain in the TIME-WAIT state. Restart the 2 MSL time-wait timeout."), which
    # also advances RCV.NXT over it, as it does in CLOSE-WAIT, CLOSING and LAST-ACK.
    if tcb.state is State.FIN_WAIT_1 and tcb.fin_acked:
        # "if the FIN segment is now acknowledged, then enter FIN-WAIT-2 and continue
        # processing in that state."
        tcb.state = State.FIN_WAIT_2
    elif tcb.state is State.CLOSING:
        # "if the ACK acknowledges our FIN, then enter the TIME-WAIT state; otherwise,
        # ignore the segment."
        if not tcb.fin_acked:
            return tcb, []
        tcb.state = State.TIME_WAIT
        actions.append(SetTimer("time-wait", 2 * MSL))
    elif tcb.state is State.LAST_ACK and tcb.fin_acked:
        # "If our FIN is now acknowledged, delete the TCB, enter the CLOSED state, and
        # return."
        return _deleted(tcb), [Delete()]
    actions, ack_owed = _from_sixth_step(tcb, seg, actions)
    return _finish(tcb, actions, ack_owed)


def _rst_exact(tcb: Tcb) -> Result:
    """RFC 9293 §3.10.7.4 second, a RST whose sequence number is exactly RCV.NXT."""
    if tcb.state is State.SYN_RECEIVED:
        if tcb.passive:
            # "If this connection was initiated with a passive OPEN (i.e., came from the
            # LISTEN state), then return this connection to LISTEN state and return. The
            # user need not be informed."
            return _back_to_listen(tcb), []
        # "If this connection was initiated with an active OPEN (i.e., came from SYN-SENT
        # state), then the connection was refused; signal the user "connection refused".
        # ... enter the CLOSED state and delete the TCB, and return."
        return _deleted(tcb), [Signal("connection refused"), Delete()]
    if tcb.state in (State.ESTABLISHED, State.FIN_WAIT_1, State.FIN_WAIT_2, State.CLOSE_WAIT):
        # "Users should also receive an unsolicited general "connection reset" signal.
        # Enter the CLOSED state, delete the TCB, and return."
        return _deleted(tcb), [Signal("connection reset"), Delete()]
    # CLOSING, LAST-ACK, TIME-WAIT: "enter the CLOSED state, delete the TCB, and return."
    return _deleted(tcb), [Delete()]


def _back_to_listen(tcb: Tcb) -> Tcb:
    """A passive TCB returns to LISTEN: "the retransmission queue should be flushed"; the
    listening socket keeps its ISS, buffer and segment size."""
    return Tcb(
        state=State.LISTEN,
        iss=tcb.iss,
        passive=True,
        mss=tcb.mss,
        rcv_wnd=tcb.rcv_wnd,
        r2=tcb.r2,
        r2_syn=tcb.r2_syn,
    )


def _ack_established(tcb: Tcb, seg: Segment) -> list[Action] | None:
    """RFC 9293 §3.10.7.4 fifth, ESTABLISHED (and the states that do "the processing for the
    ESTABLISHED state"). Returns the actions if the segment is dropped here, else None.
    Mutates ``tcb``."""
    # RFC 5961 §5 (quoted in RFC 9293 §3.10.7.4): "the ACK value is considered acceptable only if
    # it is in the range of ((SND.UNA - MAX.SND.WND) =< SEG.ACK =< SND.NXT). All incoming
    # segments whose ACK value doesn't satisfy the above condition MUST be discarded and
    # an ACK sent back." -- this includes RFC 9293 §3.10.7.4's "If the ACK acknowledges something
    # not yet sent (SEG.ACK > SND.NXT), then send an ACK, drop the segment, and return."
    lowest = (tcb.snd_una - tcb.max_snd_wnd) % SEQ_SPACE
    if not between(lowest, seg.ack, tcb.snd_nxt):
        return [_ack(tcb)]
    # "If SND.UNA < SEG.ACK =< SND.NXT, then set SND.UNA <- SEG.ACK. Any segments on the
    # retransmission queue that are thereby entirely acknowledged are removed."
    if seq_lt(tcb.snd_una, seg.ack):
        acked = (seg.ack - tcb.snd_una) % SEQ_SPACE
        if tcb.snd_una == tcb.iss:  # the SYN, sent from SYN-RECEIVED with a FIN after it
            acked -= 1
        tcb.retransmission_queue = tcb.retransmission_queue[acked:]
        tcb.snd_una = seg.ack
    # "If the ACK is a duplicate (SEG.ACK =< SND.UNA), it can be ignored."
    # "If SND.UNA =< SEG.ACK =< SND.NXT, the send window should be updated. If (SND.WL1 <
    # SEG.SEQ or (SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK)), set SND.WND <- SEG.WND, set
    # SND.WL1 <- SEG.SEQ, and set SND.WL2 <- SEG.ACK."
    if between(tcb.snd_una, seg.ack, tcb.snd_nxt) and (
        seq_lt(tcb.snd_wl1, seg.seq) or (tcb.snd_wl1 == seg.seq and seq_le(tcb.snd_wl2, seg.ack))
    ):
        tcb.snd_wnd, tcb.snd_wl1, tcb.snd_wl2 = seg.window, seg.seq, seg.ack
        tcb.max_snd_wnd = max(tcb.max_snd_wnd, seg.window)
    return None


def _from_sixth_step(tcb: Tcb, seg: Segment, actions: list[Action]) -> tuple[list[Action], bool]:
    """RFC 9293 §3.10.7.4 sixth (URG), seventh (segment text), eighth (FIN). Returns the actions
    and whether an ACK is owed. Mutates ``tcb``."""
    ack_owed = False
    # "sixth, check the URG bit: ESTABLISHED, FIN-WAIT-1, FIN-WAIT-2: If the URG bit is
    # set, RCV.UP <- max(RCV.UP,SEG.UP), and signal the user that the remote side has
    # urgent data if the urgent pointer (RCV.UP) is in advance of the data consumed. If
    # the user has already been signaled (or is still in the "urgent mode") for this
    # continuous sequence of urgent data, do not signal the user again."
    # CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT: "This should not occur ... Ignore the URG."
    if seg.flags & URG and tcb.state in RECEIVING:
        urgent_mode = seq_lt(tcb.rcv_nxt, tcb.rcv_up)
        # RFC 9293 §3.1: "a positive offset from the sequence number"
        up = seq_add(seg.seq, seg.urgent)
        if seq_lt(tcb.rcv_up, up):
            tcb.rcv_up = up
        if seq_lt(tcb.rcv_nxt, tcb.rcv_up) and not urgent_mode:
            actions.append(Signal("urgent data"))

    # "seventh, process the segment text: ESTABLISHED, FIN-WAIT-1, FIN-WAIT-2: ... it is
    # possible to deliver segment data to user RECEIVE buffers ... advance RCV.NXT over
    # the data accepted ... Send an acknowledgment of the form:
    # <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>"
    # CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT: "Ignore the segment text."
    start = seq_add(seg.seq, bool(seg.flags & SYN))  # the first octet of text
    fin_at = seq_add(start, len(seg.data))
    if tcb.state in RECEIVING:
        if seg.data or seg.flags & FIN:
            ack_owed = True
        delivered = _segment_text(tcb, start, seg.data, fin_at if seg.flags & FIN else None)
        if delivered:
            actions.append(Deliver(delivered))
        fin = tcb.held_fin is not None and tcb.held_fin == tcb.rcv_nxt
    else:
        fin = bool(seg.flags & FIN) and fin_at == tcb.rcv_nxt

    # "eighth, check the FIN bit: ... If the FIN bit is set, signal the user "connection
    # closing" and return any pending RECEIVEs with same message, advance RCV.NXT over the
    # FIN, and send an acknowledgment for the FIN."  (This model: once RCV.NXT reaches it.)
    if fin:
        actions.append(Signal("connection closing"))
        tcb.rcv_nxt = seq_add(tcb.rcv_nxt, 1)
        tcb.held.clear()
        tcb.held_fin = None
        ack_owed = True
        if tcb.state in (State.SYN_RECEIVED, State.ESTABLISHED):
            tcb.state = State.CLOSE_WAIT  # "Enter the CLOSE-WAIT state."
        elif tcb.state is State.FIN_WAIT_1:
            # "If our FIN has been ACKed (perhaps in this segment), then enter TIME-WAIT,
            # start the time-wait timer, turn off the other timers; otherwise, enter the
            # CLOSING state."
            if tcb.fin_acked:
                tcb.state = State.TIME_WAIT
                actions.append(SetTimer("time-wait", 2 * MSL))
            else:
                tcb.state = State.CLOSING
        elif tcb.state is State.FIN_WAIT_2:
            # "Enter the TIME-WAIT state. Start the time-wait timer, turn off the other
            # timers."
            tcb.state = State.TIME_WAIT
            actions.append(SetTimer("time-wait", 2 * MSL))
        elif tcb.state is State.TIME_WAIT:
            # "Remain in the TIME-WAIT state. Restart the 2 MSL time-wait timeout."
            actions.append(SetTimer("time-wait", 2 * MSL))
        # CLOSE-WAIT, CLOSING, LAST-ACK: "Remain".
    return actions, ack_owed


def _segment_text(tcb: Tcb, start: int, text: bytes, fin_at: int | None) -> bytes:
    """RFC 9293 §3.10.7.4 seventh: "trimming off any portions that lie outside the window
    (including SYN and FIN)", holding what begins after RCV.NXT, delivering what is now in
    order. Returns the octets delivered. Mutates ``tcb``."""
    window_end = seq_add(tcb.rcv_nxt, tcb.rcv_wnd)
    for i, octet in enumerate(text):
        at = seq_add(start, i)
        if seq_le(tcb.rcv_nxt, at) and seq_lt(at, window_end):
            tcb.held.setdefault(at, octet)  # the first copy of an octet wins
    if (
        fin_at is not None
        and tcb.held_fin is None
        and seq_le(tcb.rcv_nxt, fin_at)
        and seq_lt(fin_at, window_end)
    ):
        tcb.held_fin = fin_at
    delivered = bytearray()
    while tcb.rcv_nxt in tcb.held and tcb.rcv_nxt != tcb.held_fin:
        delivered.append(tcb.held.pop(tcb.rcv_nxt))
        tcb.rcv_nxt = seq_add(tcb.rcv_nxt, 1)
    return bytes(delivered)


def _finish(tcb: Tcb, actions: list[Action], ack_owed: bool) -> Result:
    """Send what the segment made sendable (its ACK may have opened the window); an ACK
    owed rides on it, or goes bare if nothing is sent."""
    sent = _output(tcb)
    if ack_owed and not sent:
        sent = [_ack(tcb)]
    return tcb, actions + sent


# -- RFC 9293 §3.10.8 Timeouts ---------------------------------------------------------------------


def retransmission_timeout(tcb: Tcb) -> Result:
    """RFC 9293 §3.10.8: "send the segment at the front of the retransmission queue again": the
    SYN, the SYN,ACK, or up to ``mss`` octets from SND.UNA (with the FIN if it follows
    them), or the FIN alone.

    RFC 1122 §4.2.3.5: "When the number of transmissions of the same segment reaches a
    threshold R2 ..., close the connection", and "the TCP SHOULD inform the application of the
    delivery problem": past ``r2`` retransmissions (``r2_syn`` while our SYN is not
    acknowledged) the TCB is deleted with the signal "connection timed out"."""
    tcb = _copy(tcb)
    if not outstanding(tcb):
        return tcb, []
    if tcb.timeouts_una != tcb.snd_una:  # SND.UNA moved: another segment is at the front
        tcb.timeouts, tcb.timeouts_una = 0, tcb.snd_una
    tcb.timeouts += 1
    syn_unacknowledged = tcb.state is State.SYN_SENT or tcb.snd_una == tcb.iss
    if tcb.timeouts > (tcb.r2_syn if syn_unacknowledged else tcb.r2):
        return _deleted(tcb), [Signal("connection timed out"), Delete()]
    if tcb.state is State.SYN_SENT:
        return tcb, [Send(Segment(tcb.iss, 0, SYN, tcb.rcv_wnd))]
    if tcb.snd_una == tcb.iss:
        return tcb, [_syn_ack(tcb)]
    data = tcb.retransmission_queue[: tcb.mss]
    flags = ACK
    if data and len(data) == len(tcb.retransmission_queue):
        flags |= PSH
    if tcb.fin_sent and len(data) == len(tcb.retransmission_queue):
        flags |= FIN
    return tcb, [Send(Segment(tcb.snd_una, tcb.rcv_nxt, flags, tcb.rcv_wnd, data))]


def user_timeout(tcb: Tcb) -> Result:
    """RFC 9293 §3.10.8 USER TIMEOUT: "For any state if a user timeout expires, flush all queues,
    signal the user "error: connection aborted due to user timeout" in general and for any
    outstanding calls, delete the TCB, enter the CLOSED state, and return." """
    if tcb.state is State.CLOSED:
        return _copy(tcb), []
    return _deleted(tcb), [Signal("connection aborted due to user timeout"), Delete()]


def time_wait_timeout(tcb: Tcb) -> Result:
    """RFC 9293 §3.10.8: "If the time-wait timeout expires on a connection, delete the TCB, enter
    the CLOSED state, and return." """
    if tcb.state is not State.TIME_WAIT:
        return _copy(tcb), []
    return _deleted(tcb), [Delete()]
