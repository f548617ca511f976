"""RFC 7323 §5.4: the timestamp clock never runs backwards within a connection.

A live driver reads a batch of frames and hands every one of them the time it read them,
while the application, called back in between, sends at a later time. The segments the
host sends must still carry TSvals that never decrease (else the peer's PAWS test,
RFC 7323 §5.3 R1, drops them as old duplicates); and the host's own clock never steps
back.
TSvals are read back with scapy, an independent decoder of the TCP options."""

from __future__ import annotations

import itertools

from scapy.layers.inet import TCP

from tests.stack.conftest import Pair
from tests.stack.tcpscenario import Sent, connected, sim_port, tcp_wire

MOD = 1 << 32


def _tsval(sent: Sent) -> int:
    options = dict(TCP(sent.raw).options)
    tsval, _tsecr = options["Timestamp"]
    return int(tsval)


def test_tsval_never_decreases_when_frames_come_with_an_older_time(pair: Pair) -> None:
    c = connected(pair)
    wire = tcp_wire(pair.world)
    port = sim_port(pair.ib)
    inner = port.receiver
    assert inner is not None
    held: list[tuple[bytes, float]] = []
    port.receiver = lambda frame, now: held.append((frame, now))
    # Three full segments reach b at T1, and wait there as a batch the driver has read.
    c.client.send(b"x" * 3 * 1428)
    pair.world.run_for(0.002)
    assert len(held) == 3  # RFC 5681 §3.1: the initial window
    t1 = held[0][1]
    # The application answers at T2 = T1 + 50 ms, before the batch is handed over.
    pair.world.run_for(0.05)
    c.server.send(b"reply")
    t2 = pair.world.now
    assert t2 - t1 > 0.04
    # Then the batch goes in with the time it was read, T1 < T2 (as io/rawsock.py does).
    port.receiver = inner
    for frame, now in held:
        pair.b.receive(pair.ib, frame, now)
    pair.world.run_for(0.5)
    assert c.server.recv(1 << 16) == b"x" * 3 * 1428
    assert c.client.recv(100) == b"reply"

    from_b = [s for s in wire if s.host == "b"]
    assert len(from_b) >= 3  # the reply, then the ACKs of the batch
    tsvals = [_tsval(s) for s in from_b]
    steps = [(later - earlier) % MOD for earlier, later in itertools.pairwise(tsvals)]
    # RFC 7323 §5.4: monotone non-decreasing (modulo 2**32: a step is under 2**31).
    assert all(step < MOD // 2 for step in steps), tsvals
    # The reply went first, with T2's clock; the ACKs of the batch held at it.
    assert from_b[0].data == b"reply"
    assert tsvals[1] == tsvals[0]
    # The peer's PAWS test took every segment b sent.
    assert pair.a.tcp.counters.paws_drop == 0
    # b's clock held at T2 for the batch rather than step back (counted).
    assert c.cb.tcp.counters.ts_clock_held >= 1


def test_the_core_clock_never_runs_backwards(pair: Pair) -> None:
    b = pair.b
    later = pair.world.now + 1.0
    b.poll(later)
    assert b.now == later
    before = b.ip.clock_backwards_clamped
    # A frame handed over with an older time runs at the newest time the core has seen.
    b.receive(pair.ib, b"\x00" * 10, later - 0.5)
    assert b.now == later
    assert b.ip.clock_backwards_clamped == before + 1
    b.poll(later - 0.25)
    assert b.now == later
    assert b.ip.clock_backwards_clamped == before + 2
    b.poll(later + 0.1)
    assert b.now == later + 0.1
    assert b.ip.clock_backwards_clamped == before + 2
