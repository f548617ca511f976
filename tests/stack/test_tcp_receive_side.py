"""The receiving side's answers to a peer that is going away or repeats itself: an RST at
RCV.NXT - 1 once the peer's FIN is in (a deliberate deviation from RFC 5961 §3, as Linux
makes it; the reference model :func:`tcpip6.spec.rfc9293_tcp.rst_at_fin` says the same,
and the model test compares the two)."""

from __future__ import annotations

import pytest

from tcpip6.api import stream as st
from tcpip6.spec import rfc9293_tcp as spec
from tcpip6.stack.machines.tcp import TcpState
from tcpip6.wire.tcp import ACK, RST, TcpSegment
from tests.stack.conftest import Pair
from tests.stack.tcpscenario import Connected, connected, inject, tcp_wire


def _rst(c: Connected, seq_delta: int) -> TcpSegment:
    """An RST from a's four-tuple with SEQ = b's RCV.NXT + ``seq_delta``."""
    cb = c.cb
    return TcpSegment(cb.remote_port, cb.local_port, (cb.rcv_nxt + seq_delta) % 2**32, 0, RST, 0)


def _peer_closed(pair: Pair) -> Connected:
    """b in CLOSE-WAIT: a's FIN is in (b read the end of file)."""
    c = connected(pair)
    c.client.shutdown(st.SHUT_WR)
    assert c.server.recv(10) == b""
    assert c.cb.state is TcpState.CLOSE_WAIT
    return c


def test_an_rst_with_the_fins_sequence_number_resets_after_the_fin(pair: Pair) -> None:
    c = _peer_closed(pair)
    c.server.send(b"x" * 3000)  # b still sending into a peer that has closed
    cb = c.cb
    resets = pair.b.tcp.counters.in_resets
    wire = tcp_wire(pair.world)
    inject(pair, _rst(c, -1))
    assert cb.state is TcpState.CLOSED
    assert pair.b.tcp.counters.in_resets == resets + 1
    assert not [s for s in wire if s.host == "b"]  # no challenge ACK, nothing more sent
    with pytest.raises(ConnectionResetError):
        c.server.send(b"more")


def test_two_below_rcv_nxt_is_still_outside_the_window(pair: Pair) -> None:
    c = _peer_closed(pair)
    dropped = pair.b.tcp.counters.out_of_window_drop
    inject(pair, _rst(c, -2))
    assert c.cb.state is TcpState.CLOSE_WAIT
    assert pair.b.tcp.counters.out_of_window_drop == dropped + 1


def test_before_any_fin_rcv_nxt_minus_one_is_dropped_as_rfc_5961_says(pair: Pair) -> None:
    c = connected(pair)
    dropped = pair.b.tcp.counters.out_of_window_drop
    wire = tcp_wire(pair.world)
    inject(pair, _rst(c, -1))
    # RFC 5961 §3.2: outside the window, silently dropped (no challenge ACK).
    assert c.cb.state is TcpState.ESTABLISHED
    assert pair.b.tcp.counters.out_of_window_drop == dropped + 1
    assert not [s for s in wire if s.host == "b" and s.seg.flags == ACK]
    c.client.send(b"still here")
    assert c.server.recv(100) == b"still here"


@pytest.mark.parametrize(
    ("state", "taken"),
    [
        (spec.State.ESTABLISHED, False),
        (spec.State.FIN_WAIT_2, False),
        (spec.State.CLOSE_WAIT, True),
        (spec.State.CLOSING, True),
        (spec.State.LAST_ACK, True),
        (spec.State.TIME_WAIT, False),
    ],
)
def test_the_model_takes_it_in_the_same_states(state: spec.State, taken: bool) -> None:
    tcb = spec.Tcb(state=state, rcv_nxt=1000, snd_una=50, snd_nxt=50, irs=10)
    _, actions = spec.segment_arrives(tcb, spec.Segment(999, 0, spec.RST, 0))
    assert (spec.Delete() in actions) is taken
    if not taken:
        assert actions == []
