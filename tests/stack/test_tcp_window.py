"""The send window's right edge (RFC 9293 §3.8.6, §3.10.7.4): a segment too old by SND.WL1
to update SND.WND may still acknowledge new data; the window it does not update keeps
its right edge, so the sender must not slide it forward with SND.UNA."""

from __future__ import annotations

import dataclasses

from tcpip6.stack.tcp import TcpParameters
from tcpip6.wire.tcp import ACK, PSH, TcpSegment
from tests.stack.conftest import Pair
from tests.stack.tcpscenario import connected, data_segments, inject, sim_port, tcp_wire


def _plain(p: TcpParameters) -> TcpParameters:
    return dataclasses.replace(p, timestamps=False, sack=False, delayed_ack=False)


def _small_window(p: TcpParameters) -> TcpParameters:
    return dataclasses.replace(_plain(p), receive_buffer=2880)


def test_an_ack_that_may_not_update_the_window_does_not_slide_it(pair: Pair) -> None:
    c = connected(pair, _plain, _small_window)
    ca, cb = c.ca, c.cb
    world = pair.world
    # b sends a two segments: a's SND.WL1 is now the sequence number of the second.
    c.server.sendall(b"y" * 100)
    world.run_for(0.01)
    c.server.sendall(b"z" * 100)
    world.run_for(0.01)
    assert c.client.recv(1000) == b"y" * 100 + b"z" * 100
    old = (cb.iss + 1) % 2**32  # b's first data octet
    assert ca.snd_wl1 == (old + 100) % 2**32
    offered = ca.snd_wnd
    assert offered == 2880  # b's whole buffer: two segments
    # From now on b's own segments never reach a: only the crafted one below does.
    port = sim_port(pair.ia)
    port.receiver = lambda frame, now: None
    wire = tcp_wire(world)
    una = ca.snd_una
    assert ca.send(bytes(4 * offered), world.now) == 4 * offered
    world.run_for(0.01)
    first = data_segments(wire, "a")
    assert sum(len(s.data) for s in first) == offered  # the window, no more
    # A segment from b older than SND.WL1 (it starts at b's first octet) that still
    # acknowledges everything a sent, with the zero window b really has now.
    stale = TcpSegment(
        src_port=cb.local_port,
        dst_port=ca.local_port,
        seq=old,
        ack=(una + offered) % 2**32,
        flags=ACK | PSH,
        window=0,
        payload=b"y" * 100 + b"z" * 100 + b"!",
    )
    inject(pair, stale, to_a=True)
    world.run_for(0.5)
    assert ca.snd_una == (una + offered) % 2**32  # the acknowledgment was taken
    assert ca.snd_wl1 == (old + 100) % 2**32  # the window was not (§3.10.7.4)
    # The right edge stays where b put it: SND.UNA now. Sliding it with SND.UNA would
    # send two more segments into b's full buffer.
    assert data_segments(wire, "a")[len(first) :] == []
    assert c.client.recv(10) == b"!"


def test_a_probe_below_a_closed_window_still_acknowledges(pair: Pair) -> None:
    """RFC 9293 §3.10.7.4: with RCV.WND zero, "special allowance should be made to accept
    valid ACKs". Linux probes a closed window with SEG.SEQ = SND.UNA - 1 (one below our
    RCV.NXT) and no text. Its ACK field counts, and the probe is answered with an ACK that
    tells the window. Ignored, an acknowledgment the peer sent once and lost comes back only
    in its probes, so both ends wait for our retransmission timeout."""
    c = connected(pair, _plain, _small_window)
    ca, cb = c.ca, c.cb
    world = pair.world
    # a fills b's buffer, which b's application does not read: b's window closes.
    assert ca.send(bytes(2880), world.now) == 2880
    world.run_for(0.01)
    assert cb.rcv_wnd == 0 and cb.rcv_nxt == ca.snd_nxt
    # From now on a's frames never reach b: a's ACK of what b sends next is lost.
    port = sim_port(pair.ib)
    port.receiver = lambda frame, now: None
    assert cb.send(b"x" * 100, world.now) == 100
    world.run_for(0.01)
    assert c.client.recv(1000) == b"x" * 100
    assert cb.snd_una != cb.snd_nxt  # the ACK a sent was lost
    wire = tcp_wire(world)
    probe = TcpSegment(
        src_port=ca.local_port,
        dst_port=cb.local_port,
        seq=(cb.rcv_nxt - 1) % 2**32,
        ack=ca.rcv_nxt,
        flags=ACK,
        window=1000,
        payload=b"",
    )
    inject(pair, probe)
    assert cb.snd_una == cb.snd_nxt == ca.rcv_nxt  # the acknowledgment was taken
    replies = [s.seg for s in wire if s.host == "b"]
    assert [(r.seq, r.ack, r.window, r.payload) for r in replies] == [
        (cb.snd_nxt, cb.rcv_nxt, 0, b"")
    ]
    # Nothing else changed: b's buffer is still full, the octet before RCV.NXT not taken.
    assert cb.rcv_wnd == 0 and cb.rcv_nxt == ca.snd_nxt
