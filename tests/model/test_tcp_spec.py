"""The RFC 9293 reference model (spec/rfc9293_tcp.py) against the RFC's own scenarios
(RFC 9293 §3.5, Figures 6-13) and the rules of RFC 9293 §3.10.7.4, with exact segments and
states."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tcpip6.spec import rfc9293_tcp as tcp
from tcpip6.spec.rfc9293_tcp import (
    ACK,
    FIN,
    MSL,
    PSH,
    RST,
    SYN,
    URG,
    Action,
    Delete,
    Deliver,
    Params,
    Segment,
    Send,
    SetTimer,
    Signal,
    State,
    Tcb,
)

W = tcp.DEFAULT_RCV_WND
DEFAULTS = Params()


def seg(seq: int, ack: int, flags: int, data: bytes = b"", window: int = W) -> Segment:
    return Segment(seq % 2**32, ack % 2**32, flags, window, data)


def rst(seq: int) -> Segment:
    return Segment(seq, 0, RST, 0)


def sent(actions: list[Action]) -> list[Segment]:
    return [a.segment for a in actions if isinstance(a, Send)]


def only(actions: list[Action]) -> Segment:
    """The one segment sent."""
    (segment,) = sent(actions)
    return segment


def established(active_iss: int, passive_iss: int, params: Params = DEFAULTS) -> tuple[Tcb, Tcb]:
    """Figure 6, lines 1-4: an active and a passive TCB, synchronized."""
    a, out = tcp.open_active(active_iss, params)
    b, _ = tcp.open_passive(params, iss=passive_iss)
    b, out = tcp.segment_arrives(b, only(out))
    a, out = tcp.segment_arrives(a, only(out))
    b, out = tcp.segment_arrives(b, only(out))
    assert out == []
    assert a.state is b.state is State.ESTABLISHED
    return a, b


# -- RFC 9293 §3.5 Figure 6: basic three-way handshake ---------------------------------------------


def test_figure_6_three_way_handshake() -> None:
    a, out = tcp.open_active(100)  # 2. SYN-SENT --> <SEQ=100><CTL=SYN>
    assert a.state is State.SYN_SENT
    assert out == [Send(seg(100, 0, SYN))]
    b, out_b = tcp.open_passive(iss=300)  # 1. LISTEN
    assert (b.state, out_b) == (State.LISTEN, [])

    b, out = tcp.segment_arrives(b, only(out))  # 3. <-- <SEQ=300><ACK=101><CTL=SYN,ACK>
    assert b.state is State.SYN_RECEIVED
    assert out == [Send(seg(300, 101, SYN | ACK))]

    a, out = tcp.segment_arrives(a, only(out))  # 4. --> <SEQ=101><ACK=301><CTL=ACK>
    assert a.state is State.ESTABLISHED
    assert out == [Send(seg(101, 301, ACK))]
    assert (a.snd_una, a.snd_nxt, a.rcv_nxt, a.irs) == (101, 101, 301, 300)

    b, out = tcp.segment_arrives(b, only(out))
    assert (b.state, out) == (State.ESTABLISHED, [])
    assert (b.snd_una, b.snd_nxt, b.rcv_nxt, b.irs) == (301, 301, 101, 100)

    a, out = tcp.send(a, b"hello")  # 5. --> <SEQ=101><ACK=301><CTL=ACK><DATA>
    assert out == [Send(seg(101, 301, ACK | PSH, b"hello"))]
    b, out = tcp.segment_arrives(b, only(out))
    assert out == [Deliver(b"hello"), Send(seg(301, 106, ACK))]
    a, out = tcp.segment_arrives(a, only(out))
    assert out == []
    assert (a.snd_una, a.snd_nxt, a.retransmission_queue) == (106, 106, b"")


# -- RFC 9293 §3.5 Figure 7: simultaneous connection synchronization -------------------------------


def test_figure_7_simultaneous_open() -> None:
    a, out_a = tcp.open_active(100)  # 2. SYN-SENT --> <SEQ=100><CTL=SYN>
    b, out_b = tcp.open_active(300)  # 3. <SEQ=300><CTL=SYN> <-- SYN-SENT
    a, out_a2 = tcp.segment_arrives(a, only(out_b))
    b, out_b2 = tcp.segment_arrives(b, only(out_a))
    # 4.-5. Each enters SYN-RECEIVED and sends <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>.
    assert (a.state, b.state) == (State.SYN_RECEIVED, State.SYN_RECEIVED)
    assert out_a2 == [Send(seg(100, 301, SYN | ACK))]
    assert out_b2 == [Send(seg(300, 101, SYN | ACK))]
    # 6.-7. The figure abbreviates: each SYN,ACK lies below RCV.NXT, so the first check of
    # RFC 9293 §3.10.7.4 answers it with <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, and that ACK is what
    # moves the other side to ESTABLISHED.
    a, out_a3 = tcp.segment_arrives(a, only(out_b2))
    b, out_b3 = tcp.segment_arrives(b, only(out_a2))
    assert out_a3 == [Send(seg(101, 301, ACK))]
    assert out_b3 == [Send(seg(301, 101, ACK))]
    a, out = tcp.segment_arrives(a, only(out_b3))
    assert (a.state, out) == (State.ESTABLISHED, [])
    b, out = tcp.segment_arrives(b, only(out_a3))
    assert (b.state, out) == (State.ESTABLISHED, [])
    assert (a.snd_una, a.rcv_nxt, b.snd_una, b.rcv_nxt) == (101, 301, 301, 101)


# -- RFC 9293 §3.5 Figure 8: recovery from old duplicate SYN ---------------------------------------


def test_figure_8_old_duplicate_syn() -> None:
    a, out = tcp.open_active(100)  # 2. SYN-SENT --> <SEQ=100><CTL=SYN> ...
    syn_100 = only(out)
    b, _ = tcp.open_passive(iss=300)
    b, out = tcp.segment_arrives(b, seg(90, 0, SYN))  # 3. old <SEQ=90><CTL=SYN> arrives
    assert b.state is State.SYN_RECEIVED
    assert out == [Send(seg(300, 91, SYN | ACK))]  # 4. <-- <SEQ=300><ACK=91><CTL=SYN,ACK>
    a, out = tcp.segment_arrives(a, only(out))
    assert a.state is State.SYN_SENT
    assert out == [Send(rst(91))]  # 5. SYN-SENT --> <SEQ=91><CTL=RST>
    b, out = tcp.segment_arrives(b, only(out))
    assert (b.state, out) == (State.LISTEN, [])  # --> LISTEN
    b = replace(b, iss=400)  # the next connection's ISS, as in the figure
    b, out = tcp.segment_arrives(b, syn_100)  # 6. ... <SEQ=100><CTL=SYN> --> SYN-RECEIVED
    assert b.state is State.SYN_RECEIVED
    assert out == [Send(seg(400, 101, SYN | ACK))]  # 7. <-- <SEQ=400><ACK=101><CTL=SYN,ACK>
    a, out = tcp.segment_arrives(a, only(out))
    assert a.state is State.ESTABLISHED
    assert out == [Send(seg(101, 401, ACK))]  # 8. --> <SEQ=101><ACK=401><CTL=ACK>
    b, out = tcp.segment_arrives(b, only(out))
    assert (b.state, out) == (State.ESTABLISHED, [])


# -- RFC 9293 §3.5 Figures 9-11: half-open connection discovery ------------------------------------


def test_figure_9_half_open_discovery() -> None:
    b, _ = established(299, 99)  # B: send 300, receive 100
    assert (b.snd_nxt, b.rcv_nxt) == (300, 100)
    a = Tcb()  # 1. A crashed: CLOSED
    a, out = tcp.open_active(400)  # 2. SYN-SENT --> <SEQ=400><CTL=SYN>
    syn = only(out)
    b, out = tcp.segment_arrives(b, syn)
    assert b.state is State.ESTABLISHED
    assert out == [Send(seg(300, 100, ACK))]  # 3. <-- <SEQ=300><ACK=100><CTL=ACK>
    a, out = tcp.segment_arrives(a, only(out))
    assert a.state is State.SYN_SENT
    assert out == [Send(rst(100))]  # 4. SYN-SENT --> <SEQ=100><CTL=RST>
    b, out = tcp.segment_arrives(b, only(out))
    assert b.state is State.CLOSED  # (Abort!!)
    assert out == [Signal("connection reset"), Delete()]
    a, out = tcp.retransmission_timeout(a)  # 6. SYN-SENT --> <SEQ=400><CTL=SYN>
    assert (a.state, out) == (State.SYN_SENT, [Send(syn)])


def test_figure_10_active_side_discovers_half_open() -> None:
    _, b = established(99, 299)  # B: send 300, receive 100
    a = Tcb()  # 1.-2. A rebooted: CLOSED
    data = seg(300, 100, ACK, b"0123456789")  # 3. <-- <SEQ=300><ACK=100><DATA=10><CTL=ACK>
    a, out = tcp.segment_arrives(a, data)
    assert (a.state, out) == (State.CLOSED, [Send(rst(100))])  # 4. --> <SEQ=100><CTL=RST>
    b, out = tcp.segment_arrives(b, only(out))
    assert (b.state, out) == (State.CLOSED, [Signal("connection reset"), Delete()])


def test_figure_11_old_duplicate_syn_resets_two_passive_sockets() -> None:
    a, _ = tcp.open_passive(iss=700)  # 1. LISTEN
    b, _ = tcp.open_passive(iss=500)  # 1. LISTEN
    b, out = tcp.segment_arrives(b, seg(200, 0, SYN))  # 2. ... <SEQ=Z><CTL=SYN>
    assert b.state is State.SYN_RECEIVED
    assert out == [Send(seg(500, 201, SYN | ACK))]  # 3. <SEQ=X><ACK=Z+1><CTL=SYN,ACK>
    a, out = tcp.segment_arrives(a, only(out))
    assert (a.state, out) == (State.LISTEN, [Send(rst(201))])  # 4. <SEQ=Z+1><CTL=RST>
    b, out = tcp.segment_arrives(b, only(out))
    assert (b.state, out) == (State.LISTEN, [])  # return to LISTEN!
    assert (b.iss, b.passive) == (500, True)


def test_closed_answers_a_segment_without_ack_with_rst_ack() -> None:
    """RFC 9293 §3.10.7.1: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>; a RST is discarded."""
    _, out = tcp.segment_arrives(Tcb(), seg(2**32 - 1, 0, SYN | FIN, b"ab"))
    assert out == [Send(Segment(0, 3, RST | ACK, 0))]
    assert tcp.segment_arrives(Tcb(), rst(5))[1] == []


# -- RFC 9293 §3.5 Figures 12-13: closing ----------------------------------------------------------


def test_figure_12_normal_close() -> None:
    a, b = established(99, 299)  # A: send 100, receive 300
    a, out = tcp.close(a)  # 2. FIN-WAIT-1 --> <SEQ=100><ACK=300><CTL=FIN,ACK>
    assert (a.state, out) == (State.FIN_WAIT_1, [Send(seg(100, 300, FIN | ACK))])
    b, out = tcp.segment_arrives(b, only(out))  # --> CLOSE-WAIT
    assert b.state is State.CLOSE_WAIT
    assert out == [Signal("connection closing"), Send(seg(300, 101, ACK))]  # 3.
    a, out = tcp.segment_arrives(a, only(out))
    assert (a.state, out) == (State.FIN_WAIT_2, [])
    b, out = tcp.close(b)  # 4. <-- <SEQ=300><ACK=101><CTL=FIN,ACK> <-- LAST-ACK
    assert (b.state, out) == (State.LAST_ACK, [Send(seg(300, 101, FIN | ACK))])
    a, out = tcp.segment_arrives(a, only(out))
    assert a.state is State.TIME_WAIT
    assert out == [
        Signal("connection closing"),
        SetTimer("time-wait", 2 * MSL),
        Send(seg(101, 301, ACK)),  # 5. --> <SEQ=101><ACK=301><CTL=ACK>
    ]
    b, out = tcp.segment_arrives(b, only(out))
    assert (b.state, out) == (State.CLOSED, [Delete()])
    a, out = tcp.time_wait_timeout(a)  # 6. (2 MSL) CLOSED
    assert (a.state, out) == (State.CLOSED, [Delete()])


def test_figure_13_simultaneous_close() -> None:
    a, b = established(99, 299)
    a, out_a = tcp.close(a)  # 2. FIN-WAIT-1 --> <SEQ=100><ACK=300><CTL=FIN,ACK>
    b, out_b = tcp.close(b)  # <-- <SEQ=300><ACK=100><CTL=FIN,ACK>
    assert out_a == [Send(seg(100, 300, FIN | ACK))]
    assert out_b == [Send(seg(300, 100, FIN | ACK))]
    a, out_a2 = tcp.segment_arrives(a, only(out_b))
    b, out_b2 = tcp.segment_arrives(b, only(out_a))
    assert (a.state, b.state) == (State.CLOSING, State.CLOSING)  # 3.
    assert out_a2 == [Signal("connection closing"), Send(seg(101, 301, ACK))]
    # SND.NXT is 301 once B's FIN is sent, so B's ACK carries SEQ=301.
    assert out_b2 == [Signal("connection closing"), Send(seg(301, 101, ACK))]
    a, out = tcp.segment_arrives(a, only(out_b2))
    assert (a.state, out) == (State.TIME_WAIT, [SetTimer("time-wait", 2 * MSL)])  # 4.
    b, out = tcp.segment_arrives(b, only(out_a2))
    assert (b.state, out) == (State.TIME_WAIT, [SetTimer("time-wait", 2 * MSL)])
    assert tcp.time_wait_timeout(a)[0].state is State.CLOSED
    assert tcp.time_wait_timeout(b)[1] == [Delete()]


# -- RFC 9293 §3.10.7.4 first: the acceptability test ----------------------------------------------

NXT = 1000


@pytest.mark.parametrize(
    ("seq", "length", "rcv_wnd", "ok"),
    [
        # SEG.LEN = 0, RCV.WND = 0: SEG.SEQ = RCV.NXT
        (NXT, 0, 0, True),
        (NXT + 1, 0, 0, False),
        (NXT - 1, 0, 0, False),
        # SEG.LEN = 0, RCV.WND > 0: RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND
        (NXT, 0, 10, True),
        (NXT + 9, 0, 10, True),
        (NXT + 10, 0, 10, False),
        (NXT - 1, 0, 10, False),
        # SEG.LEN > 0, RCV.WND = 0: not acceptable
        (NXT, 1, 0, False),
        (NXT, 5, 0, False),
        # SEG.LEN > 0, RCV.WND > 0: the first or the last octet in the window
        (NXT, 5, 10, True),
        (NXT - 4, 5, 10, True),  # last octet is RCV.NXT
        (NXT - 5, 5, 10, False),  # all below RCV.NXT
        (NXT + 9, 5, 10, True),  # first octet is the last of the window
        (NXT + 10, 5, 10, False),
        (NXT - 1, 20, 10, False),  # straddles the whole window: neither end is in it
    ],
)
def test_acceptability_table(seq: int, length: int, rcv_wnd: int, ok: bool) -> None:
    segment = seg(seq, 0, ACK, b"x" * length)
    assert tcp.acceptable(segment, NXT, rcv_wnd) is ok
    # Through segment_arrives: an unacceptable segment is answered with
    # <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and nothing changes.
    tcb = Tcb(
        state=State.ESTABLISHED,
        iss=5000,
        snd_una=5001,
        snd_nxt=5001,
        snd_wnd=W,
        max_snd_wnd=W,
        snd_wl1=NXT,
        snd_wl2=5001,
        irs=NXT - 1,
        rcv_nxt=NXT,
        rcv_up=NXT,
        rcv_wnd=rcv_wnd,
    )
    after, out = tcp.segment_arrives(tcb, replace(segment, ack=5001))
    if not ok:
        assert out == [Send(Segment(5001, NXT, ACK, rcv_wnd))]
        assert after == tcb


def test_acceptability_wraps() -> None:
    assert tcp.acceptable(seg(3, 0, ACK), 2**32 - 2, 10)
    assert tcp.acceptable(seg(2**32 - 3, 0, ACK, b"xy"), 2**32 - 2, 10)
    assert not tcp.acceptable(seg(8, 0, ACK), 2**32 - 2, 10)


# -- RFC 9293 §3.10.7.4 second, fourth, fifth: RST, SYN, ACK ---------------------------------------


@pytest.fixture
def pair() -> tuple[Tcb, Tcb]:
    """A: SND.NXT 101, RCV.NXT 301; B the other way."""
    return established(100, 300)


def test_rst_exactly_at_rcv_nxt_resets(pair: tuple[Tcb, Tcb]) -> None:
    a, _ = pair
    after, out = tcp.segment_arrives(a, rst(301))
    assert (after.state, out) == (State.CLOSED, [Signal("connection reset"), Delete()])


def test_rst_in_window_but_not_exact_gets_a_challenge_ack(pair: tuple[Tcb, Tcb]) -> None:
    a, _ = pair
    after, out = tcp.segment_arrives(a, rst(302))
    assert (after.state, out) == (State.ESTABLISHED, [Send(seg(101, 301, ACK))])
    assert after == a


def test_rst_outside_the_window_is_dropped_silently(pair: tuple[Tcb, Tcb]) -> None:
    a, _ = pair
    for seq in (300, 301 + W, 2**31):
        after, out = tcp.segment_arrives(a, rst(seq))
        assert (after, out) == (a, [])


def test_rst_in_syn_received_from_active_open_refuses() -> None:
    a, _ = tcp.open_active(100)
    a, _ = tcp.segment_arrives(a, seg(300, 0, SYN))
    assert a.state is State.SYN_RECEIVED
    a, out = tcp.segment_arrives(a, rst(301))
    assert (a.state, out) == (State.CLOSED, [Signal("connection refused"), Delete()])


def test_syn_in_established_gets_a_challenge_ack(pair: tuple[Tcb, Tcb]) -> None:
    a, _ = pair
    for syn in (seg(301, 0, SYN), seg(5000, 0, SYN), seg(299, 101, SYN | ACK)):
        after, out = tcp.segment_arrives(a, syn)
        assert (after, out) == (a, [Send(seg(101, 301, ACK))])


def test_syn_in_syn_received_from_listen_returns_to_listen() -> None:
    b, _ = tcp.open_passive(iss=300)
    b, _ = tcp.segment_arrives(b, seg(100, 0, SYN))
    b, out = tcp.segment_arrives(b, seg(101, 0, SYN))
    assert (b.state, out) == (State.LISTEN, [])


def test_ack_of_unsent_data_is_answered_and_the_segment_dropped(pair: tuple[Tcb, Tcb]) -> None:
    a, _ = pair
    a, _ = tcp.send(a, b"abc")  # SND.UNA 101, SND.NXT 104
    after, out = tcp.segment_arrives(a, seg(301, 105, ACK, b"data"))
    assert out == [Send(seg(104, 301, ACK))]  # no Deliver: the text is dropped too
    assert after == a


def test_ack_below_snd_una_minus_max_snd_wnd_is_dropped_with_an_ack() -> None:
    a, b = established(100, 300, Params(rcv_wnd=1000))
    assert a.max_snd_wnd == 1000  # B's window, from its SYN,ACK
    a, out = tcp.send(a, b"x" * 3000)  # three windows' worth, in 536-octet segments
    tcbs, got = {"a": a, "b": b}, {"a": b"", "b": b""}
    pump(tcbs, [("b", s) for s in sent(out)], got)
    a = tcbs["a"]
    assert (a.snd_una, a.snd_nxt, got["b"]) == (3101, 3101, b"x" * 3000)
    # SND.UNA - MAX.SND.WND = 2101: an ACK of 2100 is too old, even with data.
    after, out = tcp.segment_arrives(a, seg(301, 2100, ACK, b"late", window=1000))
    assert (after, out) == (a, [Send(seg(3101, 301, ACK, window=1000))])
    # 2101 is an acceptable (duplicate) ACK: the text is taken.
    after, out = tcp.segment_arrives(a, seg(301, 2101, ACK, b"fine", window=1000))
    assert out == [Deliver(b"fine"), Send(seg(3101, 305, ACK, window=1000))]
    assert after.snd_una == 3101


def test_unacceptable_ack_in_syn_received_gets_a_reset() -> None:
    b, _ = tcp.open_passive(iss=300)
    b, _ = tcp.segment_arrives(b, seg(100, 0, SYN))
    b, out = tcp.segment_arrives(b, seg(101, 999, ACK))
    assert (b.state, out) == (State.SYN_RECEIVED, [Send(rst(999))])


def test_segment_without_ack_is_dropped(pair: tuple[Tcb, Tcb]) -> None:
    a, _ = pair
    assert tcp.segment_arrives(a, seg(301, 0, 0, b"data")) == (a, [])


# -- RFC 9293 §3.10.7.4 sixth to eighth: URG, text, FIN --------------------------------------------


def test_out_of_order_text_is_held_and_delivered_when_the_gap_fills(
    pair: tuple[Tcb, Tcb],
) -> None:
    a, _ = pair
    a, out = tcp.segment_arrives(a, seg(306, 101, ACK | FIN, b"world"))
    assert out == [Send(seg(101, 301, ACK))]  # a duplicate ACK; nothing delivered
    a, out = tcp.segment_arrives(a, seg(301, 101, ACK, b"hello"))
    assert a.state is State.CLOSE_WAIT
    assert out == [
        Deliver(b"helloworld"),
        Signal("connection closing"),
        Send(seg(101, 312, ACK)),
    ]


def test_text_overlapping_rcv_nxt_is_trimmed(pair: tuple[Tcb, Tcb]) -> None:
    a, _ = pair
    a, _ = tcp.segment_arrives(a, seg(301, 101, ACK, b"abc"))
    a, out = tcp.segment_arrives(a, seg(302, 101, ACK, b"bcdef"))
    assert out == [Deliver(b"def"), Send(seg(101, 307, ACK))]


def test_text_beyond_the_window_is_trimmed() -> None:
    a, _ = established(100, 300, Params(rcv_wnd=4))
    a, out = tcp.segment_arrives(a, seg(301, 101, ACK | FIN, b"abcdef", window=4))
    assert a.state is State.ESTABLISHED  # the FIN lay outside the window
    assert out == [Deliver(b"abcd"), Send(Segment(101, 305, ACK, 4))]


def test_urgent_data_is_signalled_once_per_run(pair: tuple[Tcb, Tcb]) -> None:
    a, _ = pair
    urgent = Segment(301, 101, ACK | URG, W, b"ab", urgent=5)
    a, out = tcp.segment_arrives(a, urgent)
    assert out == [Signal("urgent data"), Deliver(b"ab"), Send(seg(101, 303, ACK))]
    assert a.rcv_up == 306
    a, out = tcp.segment_arrives(a, replace(urgent, seq=303, urgent=1))
    assert out == [Deliver(b"ab"), Send(seg(101, 305, ACK))]  # still in urgent mode
    assert a.rcv_up == 306


def test_fin_in_fin_wait_1_whose_fin_is_acked_enters_time_wait(pair: tuple[Tcb, Tcb]) -> None:
    a, _ = pair
    a, _ = tcp.close(a)  # FIN at 101
    a, out = tcp.segment_arrives(a, seg(301, 102, ACK | FIN))
    assert a.state is State.TIME_WAIT
    assert out == [
        Signal("connection closing"),
        SetTimer("time-wait", 2 * MSL),
        Send(seg(102, 302, ACK)),
    ]
    # A FIN sent again lies below RCV.NXT: answered by the first check.
    assert tcp.segment_arrives(a, seg(301, 102, ACK | FIN))[1] == [Send(seg(102, 302, ACK))]


def test_data_on_a_syn_is_ignored_and_data_on_a_syn_ack_is_taken() -> None:
    """Model choice: SYN data is not queued (LISTEN); a SYN,ACK's data is processed from
    the sixth step (RFC 9293 §3.10.7.3)."""
    b, _ = tcp.open_passive(iss=300)
    b, out = tcp.segment_arrives(b, seg(100, 0, SYN, b"early"))
    assert (b.rcv_nxt, out) == (101, [Send(seg(300, 101, SYN | ACK))])
    a, _ = tcp.open_active(100)
    a, out = tcp.segment_arrives(a, seg(300, 101, SYN | ACK | FIN, b"hi"))
    assert a.state is State.CLOSE_WAIT
    assert out == [Deliver(b"hi"), Signal("connection closing"), Send(seg(101, 304, ACK))]


def test_an_acceptable_fin_in_time_wait_is_acked_and_restarts_the_timer(
    pair: tuple[Tcb, Tcb],
) -> None:
    """RFC 9293 §3.10.7.4: after the RFC 5961 check on SEG.ACK (fifth step), the eighth step
    advances RCV.NXT over the FIN, acknowledges it and restarts the 2 MSL timeout, in
    TIME-WAIT as in CLOSE-WAIT, CLOSING and LAST-ACK."""
    a, _ = pair
    a, _ = tcp.close(a)
    a, _ = tcp.segment_arrives(a, seg(301, 102, ACK | FIN))
    assert a.state is State.TIME_WAIT
    a, out = tcp.segment_arrives(a, seg(302, 102, ACK | FIN))
    assert (a.state, out) == (
        State.TIME_WAIT,
        [
            Signal("connection closing"),
            SetTimer("time-wait", 2 * MSL),
            Send(seg(102, 303, ACK)),
        ],
    )
    # An ACK of something never sent is answered, and the timer left alone (RFC 5961 §5).
    a, out = tcp.segment_arrives(a, seg(303, 500, ACK | FIN))
    assert out == [Send(seg(102, 303, ACK))]


def test_close_in_syn_received_sends_a_fin_at_once_or_after_the_queue() -> None:
    b, _ = tcp.open_passive(iss=300)
    b, _ = tcp.segment_arrives(b, seg(100, 0, SYN))
    b1, out = tcp.close(b)
    assert (b1.state, out) == (State.FIN_WAIT_1, [Send(seg(301, 101, FIN | ACK))])
    b1, out = tcp.segment_arrives(b1, seg(101, 302, ACK))  # acknowledges SYN and FIN
    assert (b1.state, out) == (State.FIN_WAIT_2, [])
    b2, _ = tcp.send(b, b"queued")
    b2, out = tcp.close(b2)
    assert (b2.state, out) == (State.SYN_RECEIVED, [])
    b2, out = tcp.segment_arrives(b2, seg(101, 301, ACK))
    assert b2.state is State.FIN_WAIT_1
    assert out == [Send(seg(301, 101, ACK | PSH | FIN, b"queued"))]


# -- user calls and timeouts --------------------------------------------------------------


def test_send_respects_window_and_mss_and_close_follows_the_queue() -> None:
    a, _ = established(100, 300, Params(mss=4, rcv_wnd=10))
    a, out = tcp.send(a, b"0123456789abcdef")
    assert [(s.seq, s.flags, s.data) for s in sent(out)] == [
        (101, ACK, b"0123"),
        (105, ACK, b"4567"),
        (109, ACK, b"89"),
    ]
    a, out = tcp.close(a)
    assert (a.state, out, a.send_queue) == (State.FIN_WAIT_1, [], b"abcdef")
    a, out = tcp.segment_arrives(a, Segment(301, 111, ACK, 10))
    assert [(s.seq, s.flags, s.data) for s in sent(out)] == [
        (111, ACK, b"abcd"),
        (115, ACK | PSH | FIN, b"ef"),
    ]
    assert (a.snd_nxt, a.fin_sent) == (118, True)
    a, out = tcp.retransmission_timeout(a)
    assert out == [Send(Segment(111, 301, ACK, 10, b"abcd"))]
    a, _ = tcp.segment_arrives(a, Segment(301, 115, ACK, 10))
    a, out = tcp.retransmission_timeout(a)
    assert out == [Send(Segment(115, 301, ACK | PSH | FIN, 10, b"ef"))]
    a, _ = tcp.segment_arrives(a, Segment(301, 117, ACK, 10))
    assert a.state is State.FIN_WAIT_1
    a, out = tcp.retransmission_timeout(a)
    assert out == [Send(Segment(117, 301, ACK | FIN, 10))]
    a, _ = tcp.segment_arrives(a, Segment(301, 118, ACK, 10))
    assert (a.state, tcp.outstanding(a)) == (State.FIN_WAIT_2, False)
    assert tcp.retransmission_timeout(a)[1] == []


def test_retransmission_in_syn_received_resends_the_syn_ack() -> None:
    b, _ = tcp.open_passive(iss=300)
    b, _ = tcp.segment_arrives(b, seg(100, 0, SYN))
    assert tcp.retransmission_timeout(b)[1] == [Send(seg(300, 101, SYN | ACK))]


def test_send_in_syn_sent_is_queued_until_established() -> None:
    a, _ = tcp.open_active(100)
    a, out = tcp.send(a, b"early")
    assert out == []
    a, out = tcp.segment_arrives(a, seg(300, 101, SYN | ACK))
    assert out == [Send(seg(101, 301, ACK | PSH, b"early"))]  # the ACK rides on the data


def test_user_calls_in_the_wrong_state() -> None:
    assert tcp.send(Tcb(), b"x")[1] == [Signal("connection does not exist")]
    assert tcp.close(Tcb())[1] == [Signal("connection does not exist")]
    listening, _ = tcp.open_passive()
    assert tcp.send(listening, b"x")[1] == [Signal("foreign socket unspecified")]
    assert tcp.close(listening) == (Tcb(), [Delete()])


def test_abort_sends_a_reset_when_synchronized(pair: tuple[Tcb, Tcb]) -> None:
    a, _ = pair
    after, out = tcp.abort(a)
    assert (after.state, out) == (State.CLOSED, [Send(rst(101)), Delete()])
    syn_sent, _ = tcp.open_active(7)
    assert tcp.abort(syn_sent)[1] == [Delete()]


def test_functions_do_not_change_their_argument(pair: tuple[Tcb, Tcb]) -> None:
    a, _ = pair
    before = replace(a, held=dict(a.held))
    tcp.segment_arrives(a, seg(310, 101, ACK, b"held"))
    tcp.send(a, b"more")
    tcp.close(a)
    assert a == before


# -- RFC 9293 §3.4: sequence numbers are modulo 2**32 -------------------------------------------


def pump(tcbs: dict[str, Tcb], wire: list[tuple[str, Segment]], got: dict[str, bytes]) -> None:
    """Deliver every segment in flight, and what they cause, in order (no loss)."""
    for _ in range(10_000):
        if not wire:
            return
        to, segment = wire.pop(0)
        tcbs[to], out = tcp.segment_arrives(tcbs[to], segment)
        other = "b" if to == "a" else "a"
        wire += [(other, s) for s in sent(out)]
        got[to] += b"".join(x.data for x in out if isinstance(x, Deliver))
    raise AssertionError("the exchange did not settle")


@settings(max_examples=60, deadline=None)
@given(
    a_iss=st.integers(2**32 - 3, 2**32 - 1),
    b_iss=st.integers(2**32 - 2, 2**32 - 1),
    chunks=st.lists(st.binary(min_size=1, max_size=200), min_size=1, max_size=6),
    replies=st.lists(st.binary(min_size=1, max_size=50), max_size=3),
    mss=st.integers(1, 64),
    rcv_wnd=st.integers(1, 300),
)
def test_transfer_across_sequence_number_wraparound(
    a_iss: int, b_iss: int, chunks: list[bytes], replies: list[bytes], mss: int, rcv_wnd: int
) -> None:
    params = Params(mss=mss, rcv_wnd=rcv_wnd)
    a, b = established(a_iss, b_iss, params)
    tcbs = {"a": a, "b": b}
    got = {"a": b"", "b": b""}
    for chunk in chunks:
        tcbs["a"], out = tcp.send(tcbs["a"], chunk)
        pump(tcbs, [("b", s) for s in sent(out)], got)
    for reply in replies:
        tcbs["b"], out = tcp.send(tcbs["b"], reply)
        pump(tcbs, [("a", s) for s in sent(out)], got)
    assert got == {"b": b"".join(chunks), "a": b"".join(replies)}
    tcbs["a"], out = tcp.close(tcbs["a"])
    pump(tcbs, [("b", s) for s in sent(out)], got)
    tcbs["b"], out = tcp.close(tcbs["b"])
    pump(tcbs, [("a", s) for s in sent(out)], got)
    a, b = tcbs["a"], tcbs["b"]
    assert (a.state, b.state) == (State.TIME_WAIT, State.CLOSED)
    sent_a = len(b"".join(chunks))
    sent_b = len(b"".join(replies))
    assert a.snd_nxt == a.snd_una == (a_iss + 1 + sent_a + 1) % 2**32
    assert a.rcv_nxt == (b_iss + 1 + sent_b + 1) % 2**32
    assert a.snd_nxt < a_iss and a.rcv_nxt < b_iss  # both directions wrapped


@pytest.mark.parametrize("name", ["FIN", "SYN", "RST", "PSH", "ACK", "URG"])
def test_control_bits_are_the_header_bits_of_rfc_9293_3_1(name: str) -> None:
    """The model's own control-bit constants (it imports nothing of tcpip6) are the bits
    of the header's flags octet: scapy, as the independent oracle, builds a segment with
    that one flag, and the 14th octet of its bytes is the constant."""
    from scapy.layers.inet import TCP

    octet = bytes(TCP(flags=name[0]))[13]
    assert octet == getattr(tcp, name)
