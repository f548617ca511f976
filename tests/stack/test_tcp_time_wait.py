"""TIME-WAIT lasts exactly 2 MSL (RFC 9293 §3.10.8, RFC 9293 §3.4.2), timed on the wire:
still TIME-WAIT just before 2 MSL after the active closer acknowledged the peer's FIN,
CLOSED just after; the duration comes from the spec model's constant, not the stack's."""

from __future__ import annotations

from tcpip6.spec import rfc9293_tcp as spec
from tcpip6.stack.machines.tcp import TcpState
from tcpip6.wire.tcp import ACK, FIN
from tests.stack.conftest import Pair
from tests.stack.tcpscenario import connected, tcp_wire

EPSILON = 0.01


def test_time_wait_lasts_two_msl(pair: Pair) -> None:
    c = connected(pair)
    wire = tcp_wire(pair.world)
    ca, cb = c.ca, c.cb
    ca.close(pair.world.now)  # a closes first: FIN-WAIT-1 -> FIN-WAIT-2
    pair.world.run_for(0.5)
    cb.close(pair.world.now)  # b's FIN: a enters TIME-WAIT and acknowledges it
    pair.world.run_for(0.5)
    assert ca.state is TcpState.TIME_WAIT and cb.state is TcpState.CLOSED
    b_fin = next(s for s in wire if s.host == "b" and s.has(FIN))
    last_ack = [s for s in wire if s.host == "a" and s.seg.flags == ACK and s.t >= b_fin.t][-1]
    entered = last_ack.t
    two_msl = 2 * spec.MSL
    pair.world.run_until(entered + two_msl - EPSILON)
    assert ca.state is TcpState.TIME_WAIT
    assert ca in pair.a.tcp.time_wait
    pair.world.run_until(entered + two_msl + EPSILON)
    assert ca.state is TcpState.CLOSED
    assert not pair.a.tcp.connections
