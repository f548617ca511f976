"""Segments a TCP must not be fooled by, and the limits it keeps: RFC 5961 challenge ACKs
for an inexact in-window RST and for a SYN in ESTABLISHED; RFC 6528 initial sequence
numbers; the bounded listen backlog; resets for a closed port (RFC 9293 §3.10.7.1)."""

from __future__ import annotations

import dataclasses
import errno
from typing import Any

import pytest

from tcpip6.api import sockets as so
from tcpip6.stack.machines.tcp import TcpState
from tcpip6.wire.tcp import ACK, RST, SYN, TcpSegment
from tests.stack.conftest import A_LL, B_LL, Pair
from tests.stack.tcpscenario import PORT, B, Connected, connected, inject, stacks, tcp_wire


def _from_a(c: Connected, seq_delta: int, flags: int) -> TcpSegment:
    """A segment from a's four-tuple, SEQ = b's RCV.NXT + ``seq_delta``."""
    cb = c.cb
    return TcpSegment(
        cb.remote_port,
        cb.local_port,
        (cb.rcv_nxt + seq_delta) % 2**32,
        cb.snd_nxt if flags & ACK else 0,
        flags,
        1000,
    )


def test_an_inexact_rst_in_the_window_gets_a_challenge_ack(pair: Pair) -> None:
    c = connected(pair)
    wire = tcp_wire(pair.world)
    inject(pair, _from_a(c, 100, RST))
    # RFC 5961 §3.2: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, and the connection stays.
    [challenge] = wire
    assert (challenge.host, challenge.seg.flags) == ("b", ACK)
    assert (challenge.seg.seq, challenge.seg.ack) == (c.cb.snd_nxt, c.cb.rcv_nxt)
    assert pair.b.tcp.counters.challenge_acks == 1
    assert c.cb.state is TcpState.ESTABLISHED
    c.client.send(b"still here")
    assert c.server.recv(100) == b"still here"
    # The exact RST does end it.
    inject(pair, _from_a(c, 0, RST))
    assert c.cb.state is TcpState.CLOSED
    with pytest.raises(ConnectionResetError):
        c.server.recv(100)


def test_a_syn_in_established_gets_a_challenge_ack(pair: Pair) -> None:
    c = connected(pair)
    wire = tcp_wire(pair.world)
    inject(pair, _from_a(c, 5000, SYN))
    [challenge] = wire
    assert challenge.seg.flags == ACK
    assert (challenge.seg.seq, challenge.seg.ack) == (c.cb.snd_nxt, c.cb.rcv_nxt)
    assert pair.b.tcp.counters.challenge_acks == 1
    assert c.cb.state is TcpState.ESTABLISHED
    c.server.send(b"fine")
    assert c.client.recv(10) == b"fine"


def test_isns_differ_and_follow_the_4_microsecond_clock(pair: Pair) -> None:
    """RFC 6528 §3: ISN = M + F(4-tuple, secret); for one 4-tuple only M (250000 a
    second) moves; another 4-tuple at the same moment gets an unrelated F."""
    host = pair.a
    now = pair.world.now
    first = host.tcp.connect(B_LL, 80, now, local_port=40000)
    other = host.tcp.connect(B_LL, 80, now, local_port=40001)
    assert first.iss != other.iss
    assert 1000 < (other.iss - first.iss) % 2**32 < 2**32 - 1000
    first.abort(now)
    other.abort(now)
    again = host.tcp.connect(B_LL, 80, now + 2.0, local_port=40000)
    assert (again.iss - first.iss) % 2**32 in (500_000, 500_001, 499_999)
    later = host.tcp.connect(B_LL, 81, now + 2.0, local_port=40000)
    assert 1000 < (later.iss - again.iss) % 2**32 < 2**32 - 1000  # the port is in F


def four_clients_to_a_backlog_of_two(pair: Pair) -> tuple[Any, list[Any], list[Any]]:
    """A listener with a backlog of 2 and four non-blocking connects to it, 0.5 s later
    (before any SYN is retransmitted): the listener, the clients, the TCP wire."""
    sa, sb = stacks(pair)
    listener = sb.socket(so.AF_INET6, so.SOCK_STREAM)
    listener.bind(("::", PORT))
    listener.listen(2)
    wire = tcp_wire(pair.world)
    clients = []
    for _ in range(4):
        cli = sa.socket(so.AF_INET6, so.SOCK_STREAM)
        cli.setblocking(False)
        with pytest.raises(BlockingIOError):
            cli.connect((B, PORT))
        clients.append(cli)
    pair.world.run_for(0.5)
    return listener, clients, wire


def test_syns_beyond_the_backlog_are_dropped_and_counted(pair: Pair) -> None:
    """Without SYN cookies (Linux's tcp_syncookies=0)."""
    pair.b.tcp.params = dataclasses.replace(pair.b.tcp.params, syn_cookies=False)
    listener, clients, wire = four_clients_to_a_backlog_of_two(pair)
    syn_acks = [s for s in wire if s.host == "b" and s.seg.flags == SYN | ACK]
    assert len(syn_acks) == 2
    assert pair.b.tcp.counters.listen_overflow_drop == 2
    assert [c.state for c in clients] == ["ESTABLISHED"] * 2 + ["SYN-SENT"] * 2
    # Accepting one makes room: the next retransmitted SYN (at 1 s) gets in.
    listener.accept()
    pair.world.run_for(1.0)
    assert [c.state for c in clients].count("ESTABLISHED") == 3
    assert pair.b.tcp.counters.listen_overflow_drop == 3


def test_syns_beyond_the_backlog_get_cookies(pair: Pair) -> None:
    """With SYN cookies (the default, RFC 4987 §3.6): the two SYNs beyond the SYN queue
    are answered statelessly. Their ACKs find the accept queue full (the first two are
    there) and are dropped and counted, as Linux does; the next segment from such a
    client, once there is room, carries the cookie again and makes the connection."""
    listener, clients, wire = four_clients_to_a_backlog_of_two(pair)
    syn_acks = [s for s in wire if s.host == "b" and s.seg.flags == SYN | ACK]
    c = pair.b.tcp.counters
    assert len(syn_acks) == 4 and c.syn_cookies_sent == 2
    assert c.listen_overflow_drop == 2 and c.syn_cookies_accepted == 0
    listener.accept()
    clients[3].setblocking(True)
    clients[3].sendall(b"late")
    pair.world.run_for(0.5)
    assert c.syn_cookies_accepted == 1
    listener.accept()  # the second client's, queued before
    server, _ = listener.accept()
    server.settimeout(5.0)
    assert server.recv(10) == b"late"


def test_a_syn_to_a_closed_port_is_refused_with_rst_ack(pair: Pair) -> None:
    sa, _ = stacks(pair)
    wire = tcp_wire(pair.world)
    cli = sa.socket(so.AF_INET6, so.SOCK_STREAM)
    assert cli.connect_ex((B, 4444)) == errno.ECONNREFUSED
    syn, rst = wire
    # RFC 9293 §3.10.7.1, ACK off: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
    assert (rst.host, rst.seg.flags, rst.seg.seq) == ("b", RST | ACK, 0)
    assert rst.seg.ack == (syn.seg.seq + 1) % 2**32
    assert pair.b.tcp.counters.no_connection_drop == 1


def test_an_ack_to_a_closed_port_gets_a_bare_rst(pair: Pair) -> None:
    wire = tcp_wire(pair.world)
    inject(pair, TcpSegment(40000, 4444, 1234, 0xDEADBEEF, ACK, 1000, payload=b"x"))
    [rst] = wire
    # RFC 9293 §3.10.7.1, ACK on: <SEQ=SEG.ACK><CTL=RST>.
    assert (rst.seg.flags, rst.seg.seq, rst.seg.ack) == (RST, 0xDEADBEEF, 0)
    assert (rst.src, rst.dst, rst.seg.src_port, rst.seg.dst_port) == (B_LL, A_LL, 4444, 40000)
    # And an RST is never answered.
    inject(pair, TcpSegment(40000, 4444, 1234, 0, RST, 0))
    assert len(wire) == 1
