"""RFC 6298 on the wire: the retransmission timer doubles while the link is dead, the
connection gives up after max_data_retransmissions (ETIMEDOUT) and a SYN after
max_connect_retransmissions; Karn's algorithm; SRTT and RTTVAR on a link of known delay."""

from __future__ import annotations

import errno

import pytest

from tcpip6.api import sockets as so
from tcpip6.stack.machines.tcp import TcpState
from tcpip6.stack.tcp import TcpParameters
from tcpip6.wire.tcp import SYN
from tests.stack.conftest import Pair
from tests.stack.tcpscenario import (
    PORT,
    B,
    Connected,
    Sent,
    connected,
    data_segments,
    rack_off,
    stacks,
    tcp_wire,
)


def _dead_link(pair: Pair) -> None:
    pair.world.segment("lan").impairments.loss = 1.0


def _send_into_a_dead_link(pair: Pair, c: Connected) -> tuple[list[Sent], float]:
    """Send one segment into a link that has gone dead and wait for the connection to give
    up (ETIMEDOUT); every copy of it that left, and when the first did."""
    wire = tcp_wire(pair.world)
    _dead_link(pair)
    t0 = pair.world.now
    c.client.send(b"lost in the void")
    c.client.settimeout(600.0)
    with pytest.raises(TimeoutError) as exc:
        c.client.recv(100)
    assert exc.value.errno == errno.ETIMEDOUT
    sent = data_segments(wire, "a")
    assert {s.data for s in sent} == {b"lost in the void"}
    return sent, t0


def test_rto_doubles_on_a_dead_link_then_the_connection_times_out(pair: Pair) -> None:
    """RFC 6298 alone (RACK-TLP off: no tail loss probe ahead of the first timeout)."""
    c = connected(pair, rack_off)
    assert c.ca.rto.rto == 1.0  # the SYN's sample of ~0.3 ms, rounded up (RFC 6298 §2.4)
    sent, t0 = _send_into_a_dead_link(pair, c)
    assert len({s.seg.seq for s in sent}) == 1
    # RFC 6298 §5.5: "RTO <- RTO * 2": the original, then 5 retransmissions 1, 2, 4, 8, 16 s apart.
    assert [round(s.t - t0, 3) for s in sent] == [0.0, 1.0, 3.0, 7.0, 15.0, 31.0]
    # The sixth timeout (32 s after the last) gives up (RFC 1122 §4.2.3.5 R2).
    assert round(pair.world.now - t0, 3) == 63.0
    assert c.ca.state is TcpState.CLOSED
    counters = pair.a.tcp.counters
    assert (counters.timeouts, counters.gave_up, counters.retransmitted_segments) == (6, 1, 5)
    with pytest.raises(BrokenPipeError):
        c.client.send(b"more")


def test_with_rack_tlp_a_probe_goes_first_then_the_rto_doubles(pair: Pair) -> None:
    """The default, RFC 8985 RACK-TLP: one tail loss probe at PTO = 2*SRTT + WCDelAckT
    (one segment outstanding: its ACK may be delayed), SRTT counted to the clock
    granularity; then the RTO, rearmed at the probe (RFC 8985 §7.3), doubles as in
    RFC 6298 §5.5 until the connection gives up."""
    c = connected(pair)
    assert c.ca.params.rack and c.ca.rto.rto == 1.0
    srtt = c.ca.rto.srtt
    assert srtt is not None
    pto = 2 * (srtt + c.ca.params.clock_granularity) + 0.2
    sent, t0 = _send_into_a_dead_link(pair, c)
    expected = [0.0, pto] + [pto + t for t in (1.0, 3.0, 7.0, 15.0, 31.0)]
    assert [round(s.t - t0, 3) for s in sent] == [round(t, 3) for t in expected]
    assert round(pair.world.now - t0, 3) == round(pto + 63.0, 3)
    counters = pair.a.tcp.counters
    assert (counters.tail_loss_probes, counters.timeouts, counters.gave_up) == (1, 6, 1)


def test_a_3_second_initial_rto_like_windows_paces_the_syns(pair: Pair) -> None:
    """initial_rto=3.0: SYNs at 0, 3, 9, 21 s, and after max_connect_retransmissions (3)
    the connect fails with ETIMEDOUT at 45 s."""
    pair.a.tcp.params = TcpParameters(initial_rto=3.0)
    wire = tcp_wire(pair.world)
    _dead_link(pair)
    sa, _ = stacks(pair)
    cli = sa.socket(so.AF_INET6, so.SOCK_STREAM)
    cli.settimeout(600.0)
    t0 = pair.world.now
    with pytest.raises(TimeoutError) as exc:
        cli.connect((B, PORT))
    assert exc.value.errno == errno.ETIMEDOUT
    syns = [s for s in wire if s.host == "a" and s.has(SYN)]
    assert [round(s.t - t0, 3) for s in syns] == [0.0, 3.0, 9.0, 21.0]
    assert len({s.seg.seq for s in syns}) == 1
    assert round(pair.world.now - t0, 3) == 45.0
    assert pair.a.tcp.counters.gave_up == 1
    assert not pair.a.tcp.connections


def test_syn_retransmissions_with_the_default_rto_then_connect_fails(pair: Pair) -> None:
    wire = tcp_wire(pair.world)
    _dead_link(pair)
    sa, _ = stacks(pair)
    cli = sa.socket(so.AF_INET6, so.SOCK_STREAM)
    t0 = pair.world.now
    assert cli.connect_ex((B, PORT)) == errno.ETIMEDOUT
    syns = [s for s in wire if s.host == "a" and s.has(SYN)]
    assert [round(s.t - t0, 3) for s in syns] == [0.0, 1.0, 3.0, 7.0]
    assert round(pair.world.now - t0, 3) == 15.0


def test_karn_no_rtt_sample_from_a_retransmitted_segment(pair: Pair) -> None:
    """Timestamps off (they disambiguate retransmissions): the ACK of a retransmitted
    segment gives no sample, and the backed-off RTO stays until a fresh one (RFC 6298 §5.7).
    RACK-TLP off: the retransmission is the timeout's, not a tail loss probe."""
    c = connected(pair, lambda p: TcpParameters(timestamps=False, rack=False))
    conn = c.ca
    srtt, rttvar = conn.rto.srtt, conn.rto.rttvar
    assert srtt is not None and srtt < 0.001
    wire = tcp_wire(pair.world)
    lan = pair.world.segment("lan")
    lan.impairments.loss = 1.0
    c.client.send(b"first")  # this transmission is lost
    lan.impairments.loss = 0.0
    assert c.server.recv(100) == b"first"  # after the retransmission at +1 s
    pair.world.run_for(1.0)  # its (delayed) ACK arrives ~1.2 s after the first copy
    sent = data_segments(wire, "a")
    assert [s.data for s in sent] == [b"first", b"first"]
    assert round(sent[1].t - sent[0].t, 3) == 1.0
    assert conn.snd_una == conn.snd_nxt
    # Had the ACK been timed against the first copy, SRTT would be ~0.15 s now.
    assert (conn.rto.srtt, conn.rto.rttvar) == (srtt, rttvar)
    assert conn.rto.rto == 2.0 and conn.rto.backoff == 1
    # A segment sent once gives a sample again; the backoff ends.
    c.client.send(b"second")
    assert c.server.recv(100) == b"second"
    pair.world.run_for(1.0)
    assert conn.rto.backoff == 0 and conn.rto.rto == 1.0
    assert conn.rto.srtt is not None and conn.rto.srtt > srtt  # the 200 ms delayed ACK


def test_srtt_and_rttvar_on_a_link_with_50_ms_each_way(pair: Pair) -> None:
    """RFC 6298 §2.2-2.3 with R = 100 ms: SRTT=R, RTTVAR=R/2 from the SYN, then
    RTTVAR = 3/4 * 50 ms = 37.5 ms, SRTT = 100 ms; RTO = SRTT + 4*RTTVAR (min_rto 0.2)."""
    pair.world.segment("lan").impairments.delay = 0.05
    fast = TcpParameters(timestamps=False, min_rto=0.2)
    c = connected(pair, lambda p: fast, lambda p: TcpParameters(delayed_ack=False))
    rto = c.ca.rto
    assert rto.srtt == pytest.approx(0.1)
    assert rto.rttvar == pytest.approx(0.05)
    assert rto.rto == pytest.approx(0.1 + 4 * 0.05)
    c.client.send(b"x" * 100)
    assert c.server.recv(100) == b"x" * 100
    pair.world.run_for(0.2)
    assert rto.srtt == pytest.approx(0.1)
    assert rto.rttvar == pytest.approx(0.0375)
    assert rto.rto == pytest.approx(0.25)
