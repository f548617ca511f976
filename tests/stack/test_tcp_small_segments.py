"""Small segments on the wire: Nagle (RFC 896) and TCP_NODELAY, sender SWS avoidance with
its override timer (RFC 1122 §4.2.3.4), receiver SWS avoidance (RFC 1122 §4.2.3.3), a zero window
probed with backoff (RFC 9293 §3.8.6.1) until the reader drains it, and delayed ACKs
(RFC 1122 §4.2.3.2, RFC 5681 §4.2)."""

from __future__ import annotations

from tcpip6.api import sockets as so
from tcpip6.api import stream as st
from tcpip6.api.stream import StreamSocket
from tcpip6.wire.tcp import ACK, FIN, TcpSegment, Timestamps
from tests.stack.conftest import Pair
from tests.stack.tcpscenario import (
    Connected,
    connected,
    data_segments,
    inject,
    pure_acks,
    tcp_wire,
)


def _read(c: Connected, n: int) -> bytes:
    got = b""
    while len(got) < n:
        got += c.server.recv(65536)
    return got


def test_nagle_coalesces_keystrokes_while_a_segment_is_unacknowledged(pair: Pair) -> None:
    c = connected(pair)
    wire = tcp_wire(pair.world)
    for ch in b"hello, world!":
        assert c.client.send(bytes([ch])) == 1
    pair.world.run_for(1.0)  # nobody reads meanwhile (a read may update the window)
    assert _read(c, 13) == b"hello, world!"
    # The first keystroke goes at once; the other 12 wait for its ACK (delayed 200 ms).
    sent = data_segments(wire, "a")
    assert [s.data for s in sent] == [b"h", b"ello, world!"]
    assert round(sent[1].t - sent[0].t, 3) == 0.2


def test_tcp_nodelay_sends_each_keystroke_at_once(pair: Pair) -> None:
    c = connected(pair)
    c.client.setsockopt(st.IPPROTO_TCP, st.TCP_NODELAY, 1)
    assert c.client.getsockopt(st.IPPROTO_TCP, st.TCP_NODELAY) == 1
    wire = tcp_wire(pair.world)
    for ch in b"hello, world!":
        c.client.send(bytes([ch]))
    assert _read(c, 13) == b"hello, world!"
    sent = data_segments(wire, "a")
    assert [s.data for s in sent] == [bytes([ch]) for ch in b"hello, world!"]
    assert len({s.t for s in sent}) == 1  # no waiting at all


def test_sender_sws_avoidance_waits_for_the_override_timer(pair: Pair) -> None:
    """The peer offers 200 octets (crafted window update, 100 << 1): with 5000 octets
    queued and TCP_NODELAY, a 200-octet segment is not sent until the 0.2 s override."""
    c = connected(pair)
    c.client.setsockopt(st.IPPROTO_TCP, st.TCP_NODELAY, 1)
    cb, ca = c.cb, c.ca
    tsval = cb.opt.tsval(pair.world.now)
    small = TcpSegment(
        cb.local_port,
        cb.remote_port,
        cb.snd_nxt,
        ca.snd_nxt,
        ACK,
        100,
        options=(Timestamps(tsval, ca.opt.tsval(pair.world.now)),),
    )
    inject(pair, small, to_a=True)
    assert ca.snd_wnd == 200
    wire = tcp_wire(pair.world)
    t0 = pair.world.now
    c.client.send(b"s" * 5000)
    pair.world.run_for(0.19)
    assert data_segments(wire, "a") == []
    pair.world.run_for(0.02)
    [first] = data_segments(wire, "a")
    assert (len(first.data), round(first.t - t0, 3)) == (200, 0.2)
    assert _read(c, 5000) == b"s" * 5000


def _small_receiver(client: StreamSocket, listener: StreamSocket) -> None:
    listener.setsockopt(so.SOL_SOCKET, so.SO_RCVBUF, 8192)


def test_zero_window_persist_probes_back_off_and_the_transfer_resumes(pair: Pair) -> None:
    c = connected(pair, before_connect=_small_receiver)
    assert c.cb.receive_buffer == 6 * 1440 and c.cb.rcv_wscale == 0
    wire = tcp_wire(pair.world)
    c.client.setblocking(False)
    data = bytes(range(200)) * 100
    assert c.client.send(data) == 20000
    pair.world.run_for(40.0)
    # The window closed once 8640 octets were in (nobody reads).
    zero = [s for s in pure_acks(wire, "b") if s.seg.window == 0]
    assert zero and c.ca.snd_wnd == 0 and len(c.cb.rcvbuf) == 8640
    t_closed = zero[0].t
    probes = [s for s in data_segments(wire, "a") if s.t > t_closed]
    # One octet, always the same one (SND.UNA), at RTO (1 s) intervals that double.
    assert {(s.seg.seq, len(s.data)) for s in probes} == {(c.ca.snd_una, 1)}
    assert [round(s.t - t_closed, 2) for s in probes] == [1.0, 3.0, 7.0, 15.0, 31.0]
    # Each is answered with the closed window; the connection is not timed out by them.
    answers = [s for s in zero if s.t > t_closed]
    assert len(answers) == 5
    assert pair.a.tcp.counters.window_probes == 5
    assert (pair.a.tcp.counters.timeouts, pair.a.tcp.counters.fast_retransmits) == (0, 0)
    # The reader drains: the rest flows.
    c.client.setblocking(True)
    assert _read(c, 20000) == data


def test_receiver_sws_avoidance_updates_the_window_only_by_an_mss(pair: Pair) -> None:
    c = connected(pair, before_connect=_small_receiver)
    c.client.setblocking(False)
    c.client.send(b"r" * 20000)
    pair.world.run_for(0.5)
    assert c.cb.rcv_wnd == 0
    wire = tcp_wire(pair.world)
    # 100 octets read: the window would open by less than min(8640 / 2, MSS): silence.
    assert len(c.server.recv(100)) == 100
    assert wire == []
    # 1400 more (1500 in all, at least one MSS of 1428): one window update of 1500.
    assert len(c.server.recv(1400)) == 1400
    [update] = wire
    assert (update.host, update.seg.flags, update.seg.window) == ("b", ACK, 1500)
    assert pair.b.tcp.counters.window_updates == 1


def test_a_lone_segment_is_acknowledged_after_200_ms(pair: Pair) -> None:
    c = connected(pair)
    wire = tcp_wire(pair.world)
    c.client.send(b"lonely")
    pair.world.run_for(1.0)
    [data] = data_segments(wire, "a")
    [ack] = pure_acks(wire, "b")
    assert ack.seg.ack == (data.seg.seq + 6) % 2**32
    assert round(ack.t - data.t, 4) == 0.2001  # 200 ms after it arrived (0.1 ms link)


def test_two_full_segments_are_acknowledged_at_once(pair: Pair) -> None:
    c = connected(pair)
    wire = tcp_wire(pair.world)
    c.client.send(b"f" * (2 * 1428))
    pair.world.run_for(1.0)
    _, second = data_segments(wire, "a")
    [ack] = pure_acks(wire, "b")
    assert ack.seg.ack == (second.seg.seq + 1428) % 2**32
    assert round(ack.t - second.t, 4) == 0.0001  # the moment the second arrived


def test_the_last_runt_goes_with_the_fin_without_waiting_for_a_delayed_ack(pair: Pair) -> None:
    """Bulk data whose last segment is short, then close: Nagle would hold that runt until
    everything before it is acknowledged, which the receiver delays (200 ms) for the odd
    full segment before it; the runt carries the FIN, so it goes at once (Linux's rule
    too: no Nagle for the final FIN)."""
    c = connected(pair)
    wire = tcp_wire(pair.world)
    mss = c.ca.mss
    c.client.send(b"x" * (3 * mss + 100))
    c.client.close()
    pair.world.run_for(1.0)
    assert _read(c, 3 * mss + 100) == b"x" * (3 * mss + 100)
    sent = data_segments(wire, "a")
    assert [len(s.data) for s in sent] == [mss, mss, mss, 100]
    assert sent[-1].has(FIN)
    assert sent[-1].t - sent[0].t < 0.01  # not the 200 ms of a delayed ACK


def test_nagle_still_holds_a_runt_without_the_fin(pair: Pair) -> None:
    """The same data without the close: the runt waits for the delayed ACK, as Nagle
    (RFC 1122 §4.2.3.4) asks."""
    c = connected(pair)
    wire = tcp_wire(pair.world)
    mss = c.ca.mss
    c.client.send(b"x" * (3 * mss + 100))
    pair.world.run_for(1.0)
    assert _read(c, 3 * mss + 100) == b"x" * (3 * mss + 100)
    sent = data_segments(wire, "a")
    assert [len(s.data) for s in sent] == [mss, mss, mss, 100]
    assert round(sent[-1].t - sent[0].t, 1) == 0.2
