"""The send window's right edge (RFC 9293 §3.8.6, §3.10.7.4): a segment too old by SND.WL1
to update SND.WND may still acknowledge new data; the window it does not update keeps
its right edge, so the sender must not slide it forward with SND.UNA."""

from __future__ import annotations

import dataclasses

from tcpip6.stack.tcp import TcpParameters
from tcpip6.wire.tcp import ACK, PSH, TcpSegment
from tests.stack.conftest import Pair
from tests.stack.tcpscenario import connected, data_segments, inject, tcp_wire


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
    port = next(p for p in pair.ia.link.port.segment.ports if p.mac == pair.ia.link.link_address)  # type: ignore[attr-defined]
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
