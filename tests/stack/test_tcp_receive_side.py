"""The receiving side's answers to a peer that is going away or repeats itself: an RST at
RCV.NXT - 1 once the peer's FIN is in (a deliberate deviation from RFC 5961 §3, as Linux
makes it; the reference model :func:`tcpip6.spec.rfc9293_tcp.rst_at_fin` says the same,
and the model test compares the two); D-SACK (RFC 2883): a duplicate segment is reported
in the first block of the next ACK's SACK option, once (scapy decodes the option);
receive-buffer auto-tuning: the buffer grows with a reader that keeps up, to its bound, with
the window scale the bound needs offered in the SYN (RFC 7323 §2.2), and SO_RCVBUF fixes
it."""

from __future__ import annotations

from dataclasses import replace

import pytest
from scapy.layers.inet6 import TCP as ScapyTCP

from tcpip6.api import stream as st
from tcpip6.spec import rfc9293_tcp as spec
from tcpip6.stack.machines.tcp import TcpState
from tcpip6.stack.tcp import TcpParameters
from tcpip6.wire.tcp import ACK, PSH, RST, TcpSegment, WindowScale
from tests.stack.conftest import Pair
from tests.stack.tcpscenario import Connected, Sent, connected, inject, tcp_wire


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


# -- D-SACK (RFC 2883) -------------------------------------------------------------------------
def _sack_connected(pair: Pair, sack: bool = True) -> Connected:
    """a -> b with SACK (and no timestamps: four blocks fit, RFC 2018 §3), 3000 octets
    received and acknowledged."""
    c = connected(pair, client_params=lambda p: TcpParameters(timestamps=False, sack=sack))
    c.client.send(bytes(range(250)) * 12)
    got = b""
    while len(got) < 3000:
        got += c.server.recv(4000)
    assert got == bytes(range(250)) * 12
    pair.world.run_for(1.0)  # every delayed ACK out
    return c


def _data(c: Connected, seq_delta: int, length: int) -> TcpSegment:
    """Text from a's four-tuple at b's RCV.NXT + ``seq_delta``."""
    cb = c.cb
    seq = (cb.rcv_nxt + seq_delta) % 2**32
    return TcpSegment(cb.remote_port, cb.local_port, seq, cb.snd_nxt, ACK | PSH, 65535,
                      payload=bytes(length))  # fmt: skip


def _sack_option(sent: Sent) -> list[tuple[int, int]]:
    """The SACK blocks of a segment as scapy decodes its options (RFC 2018 §3)."""
    options = dict(ScapyTCP(sent.raw).options)
    edges = options.get("SAck", ())
    return list(zip(edges[::2], edges[1::2], strict=True))


def _acks_from_b(wire: list[Sent]) -> list[Sent]:
    return [s for s in wire if s.host == "b" and s.seg.flags & ACK and not s.seg.payload]


def test_a_segment_below_rcv_nxt_is_reported_in_a_dsack_block_once(pair: Pair) -> None:
    c = _sack_connected(pair)
    nxt = c.cb.rcv_nxt
    wire = tcp_wire(pair.world)
    inject(pair, _data(c, -1000, 500))  # a spurious retransmission of 500 old octets
    [ack] = _acks_from_b(wire)
    # RFC 2883 §4: the first block is the duplicate; it lies below the cumulative ACK,
    # which is how the sender tells a D-SACK from a SACK block (RFC 2883 §4.1.1).
    assert ack.seg.ack == nxt
    assert _sack_option(ack) == [((nxt - 1000) % 2**32, (nxt - 500) % 2**32)]
    # Reported once: the next ACK carries no SACK option.
    c.client.send(b"z" * 10)
    assert c.server.recv(100) == b"z" * 10
    pair.world.run_for(1.0)
    later = _acks_from_b(wire)[1:]
    assert later and all(_sack_option(s) == [] for s in later)


def test_a_partly_old_segment_reports_its_old_part(pair: Pair) -> None:
    c = _sack_connected(pair)
    nxt = c.cb.rcv_nxt
    wire = tcp_wire(pair.world)
    inject(pair, _data(c, -200, 700))  # 200 old octets, 500 new
    assert c.cb.rcv_nxt == (nxt + 500) % 2**32
    [ack] = _acks_from_b(wire)
    assert _sack_option(ack) == [((nxt - 200) % 2**32, nxt)]


def test_a_duplicate_above_rcv_nxt_comes_first_then_the_block_holding_it(pair: Pair) -> None:
    c = _sack_connected(pair)
    nxt = c.cb.rcv_nxt
    wire = tcp_wire(pair.world)
    inject(pair, _data(c, 1000, 500))  # out of order: held, SACKed
    inject(pair, _data(c, 3000, 500))  # a second block, now the most recent
    inject(pair, _data(c, 1000, 500))  # the first one again
    first, second, third = _acks_from_b(wire)
    assert all(s.seg.ack == nxt for s in (first, second, third))
    block1 = ((nxt + 1000) % 2**32, (nxt + 1500) % 2**32)
    block2 = ((nxt + 3000) % 2**32, (nxt + 3500) % 2**32)
    assert _sack_option(first) == [block1]
    assert _sack_option(second) == [block2, block1]
    # RFC 2883 §4 (and the example of RFC 2883 §5.2): the duplicate, then its block.
    assert _sack_option(third) == [block1, block1, block2]


def test_no_sack_option_without_sack_permitted(pair: Pair) -> None:
    c = _sack_connected(pair, sack=False)
    wire = tcp_wire(pair.world)
    inject(pair, _data(c, -1000, 500))
    [ack] = _acks_from_b(wire)
    assert _sack_option(ack) == [] and ack.seg.ack == c.cb.rcv_nxt


# -- receive-buffer auto-tuning (Linux's dynamic right-sizing) -------------------------------
def _bulk(c: Connected, octets: int) -> int:
    """a sends ``octets``, b reads them as they come; the largest window b advertised."""
    data = bytes(i % 251 for i in range(octets))
    wire = tcp_wire(c.pair.world)
    got = bytearray()
    sent = 0
    while len(got) < octets:
        if sent < octets:
            sent += c.client.send(data[sent : sent + 65536])
        got += c.server.recv(1 << 20)
    assert got == data
    return max(s.seg.window << c.cb.rcv_wscale for s in wire if s.host == "b")


def test_the_receive_buffer_grows_with_the_reader_up_to_its_bound(pair: Pair) -> None:
    bound = 1 << 20
    wire = tcp_wire(pair.world)
    c = connected(pair, server_params=lambda p: replace(p, receive_buffer_max=bound))
    (syn_ack,) = [s for s in wire if s.host == "b" and s.seg.option(WindowScale)]
    # RFC 7323 §2.2: the shift offered is the one the bound needs (1 MiB >> 5 fits 16 bits).
    assert syn_ack.seg.option(WindowScale) == WindowScale(5) and c.cb.rcv_wscale == 5
    start = c.cb.receive_buffer
    assert start == 46 * 1440  # 64 KiB in whole segments, as without auto-tuning
    largest = _bulk(c, 3_000_000)
    assert 2 * start <= c.cb.receive_buffer <= bound
    assert largest > start  # the grown window was advertised


def test_so_rcvbuf_fixes_the_buffer(pair: Pair) -> None:
    wire = tcp_wire(pair.world)
    fixed = 64 * 1024

    def before_connect(client: object, listener: st.StreamSocket) -> None:
        listener.setsockopt(st.SOL_SOCKET, st.SO_RCVBUF, fixed)

    c = connected(
        pair,
        server_params=lambda p: replace(p, receive_buffer_max=1 << 20),
        before_connect=before_connect,  # type: ignore[arg-type]
    )
    (syn_ack,) = [s for s in wire if s.host == "b" and s.seg.option(WindowScale)]
    assert syn_ack.seg.option(WindowScale) == WindowScale(1)
    largest = _bulk(c, 1_000_000)
    assert c.cb.receive_buffer == 46 * 1440 and largest <= 46 * 1440
