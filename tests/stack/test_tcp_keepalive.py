"""Keepalive (RFC 1122 §4.2.3.6) on the wire: off by default; with SO_KEEPALIVE and
TCP_KEEPIDLE a probe <SEQ=SND.NXT-1> after the idle time, answered by the peer; with the
peer gone, TCP_KEEPCNT unanswered probes end the connection with ETIMEDOUT."""

from __future__ import annotations

import errno

import pytest

from tcpip6.api import stream as st
from tests.stack.conftest import Pair
from tests.stack.tcpscenario import Connected, connected, tcp_wire


def _keepalive(c: Connected, idle: int, interval: int = 75, count: int = 9) -> None:
    c.client.setsockopt(st.IPPROTO_TCP, st.TCP_KEEPIDLE, idle)
    c.client.setsockopt(st.IPPROTO_TCP, st.TCP_KEEPINTVL, interval)
    c.client.setsockopt(st.IPPROTO_TCP, st.TCP_KEEPCNT, count)
    c.client.setsockopt(st.SOL_SOCKET, st.SO_KEEPALIVE, 1)


def test_no_keepalive_by_default_even_after_three_hours(pair: Pair) -> None:
    c = connected(pair)
    assert c.client.getsockopt(st.SOL_SOCKET, st.SO_KEEPALIVE) == 0
    wire = tcp_wire(pair.world)
    pair.world.run_for(3 * 3600.0)
    assert wire == []
    assert pair.a.tcp.counters.keepalive_probes == 0
    assert c.client.state == "ESTABLISHED"


def test_a_probe_after_the_idle_time_is_answered(pair: Pair) -> None:
    c = connected(pair)
    wire = tcp_wire(pair.world)
    t0 = pair.world.now
    _keepalive(c, idle=60)
    pair.world.run_for(130.0)
    probes = [s for s in wire if s.host == "a"]
    answers = [s for s in wire if s.host == "b"]
    nxt = c.ca.snd_nxt
    # §4.2.3.6: "SEG.SEQ = SND.NXT-1" with no data; the peer answers with an ACK.
    assert [(s.seg.seq, s.data) for s in probes] == [((nxt - 1) % 2**32, b"")] * 2
    # The second a whole idle time after the first answer.
    assert [round(s.t - t0, 3) for s in probes] == [60.0, 120.0]
    assert [s.seg.ack for s in answers] == [nxt, nxt]
    assert [round(a.t - p.t, 4) for a, p in zip(answers, probes, strict=True)] == [0.0001] * 2
    assert pair.a.tcp.counters.keepalive_probes == 2
    assert c.client.state == "ESTABLISHED"


def test_unanswered_probes_end_the_connection(pair: Pair) -> None:
    c = connected(pair)
    wire = tcp_wire(pair.world)
    t0 = pair.world.now
    _keepalive(c, idle=60, interval=10, count=3)
    pair.world.segment("lan").impairments.loss = 1.0
    c.client.settimeout(600.0)
    with pytest.raises(TimeoutError) as exc:
        c.client.recv(10)
    assert exc.value.errno == errno.ETIMEDOUT
    probes = [s for s in wire if s.host == "a"]
    assert [round(s.t - t0, 3) for s in probes] == [60.0, 70.0, 80.0]
    assert round(pair.world.now - t0, 3) == 90.0  # the third probe's interval ran out
    assert (pair.a.tcp.counters.keepalive_probes, pair.a.tcp.counters.keepalive_drops) == (3, 1)
    assert c.client.state == "CLOSED"
