"""Urgent data (RFC 9293 §3.8.5), the half-close, SO_LINGER (1, 0) and close with unread
data (RFC 2525 §2.17) ending with an RST, and simultaneous open and close between two
tcpip6 hosts (RFC 9293 §3.5, RFC 9293 §3.6)."""

from __future__ import annotations

import struct

import pytest

from tcpip6.api import stream as st
from tcpip6.stack.machines.tcp import TcpState
from tcpip6.wire.tcp import ACK, FIN, RST, SYN, URG
from tests.stack.conftest import A_LL, B_LL, Pair
from tests.stack.tcpscenario import connected, data_segments, tcp_wire


def test_urgent_data_sets_urg_and_the_pointer(pair: Pair) -> None:
    c = connected(pair)
    wire = tcp_wire(pair.world)
    c.client.send(b"normal ")
    c.client.send(b"INTR", st.MSG_OOB)
    pair.world.run_for(1.0)
    segs = data_segments(wire, "a")
    assert segs[0].data == b"normal " and not segs[0].has(URG)
    urgent = segs[-1]
    # RFC 9293 §3.8.5: the pointer is the offset from SEG.SEQ to the octet after the urgent data.
    assert urgent.has(URG)
    end = (urgent.seg.seq + urgent.seg.urgent) % 2**32
    assert end == c.ca.snd_nxt == (c.ca.iss + 1 + 11) % 2**32
    assert c.cb.urgent_signalled
    assert c.cb.rcv.up is not None and (c.cb.irs + c.cb.rcv.up) % 2**32 == end
    assert c.server.recv(100) == b"normal INTR"


def test_shutdown_write_is_a_half_close(pair: Pair) -> None:
    c = connected(pair)
    wire = tcp_wire(pair.world)
    c.client.sendall(b"request")
    c.client.shutdown(st.SHUT_WR)
    assert c.server.recv(100) == b"request"
    assert c.server.recv(100) == b""  # the FIN
    pair.world.run_for(0.01)  # its ACK reaches a
    assert (c.ca.state, c.cb.state) == (TcpState.FIN_WAIT_2, TcpState.CLOSE_WAIT)
    c.server.sendall(b"response after your FIN")
    assert c.client.recv(100) == b"response after your FIN"
    [fin] = [s for s in wire if s.host == "a" and s.has(FIN)]
    assert fin.seg.seq == (c.ca.iss + 1 + 7) % 2**32
    with pytest.raises(BrokenPipeError):
        c.client.send(b"no more")


def test_so_linger_zero_closes_with_an_rst(pair: Pair) -> None:
    c = connected(pair)
    c.client.setsockopt(st.SOL_SOCKET, st.SO_LINGER, struct.pack("ii", 1, 0))
    wire = tcp_wire(pair.world)
    nxt = c.ca.snd_nxt
    c.client.close()
    [rst] = wire
    assert (rst.host, rst.seg.flags, rst.seg.seq) == ("a", RST | ACK, nxt)
    with pytest.raises(ConnectionResetError):
        c.server.recv(100)
    assert not any(s.has(FIN) for s in wire)
    assert not pair.a.tcp.connections and not pair.b.tcp.connections


def test_close_with_unread_data_sends_an_rst(pair: Pair) -> None:
    c = connected(pair)
    c.server.sendall(b"you never read this")
    pair.world.run_for(0.5)
    assert bytes(c.ca.rcvbuf) == b"you never read this"
    wire = tcp_wire(pair.world)
    c.client.close()
    [rst] = wire
    assert rst.seg.flags == RST | ACK
    with pytest.raises(ConnectionResetError):
        c.server.recv(100)


def test_simultaneous_open(pair: Pair) -> None:
    """Both ends actively open at once with each other's port: SYNs cross, both go to
    SYN-RECEIVED, SYN,ACKs cross, both are ESTABLISHED (RFC 9293 §3.5 figure 8)."""
    wire = tcp_wire(pair.world)
    now = pair.world.now
    ca = pair.a.tcp.connect(B_LL, 7000, now, local_port=7001, interface=pair.ia)
    cb = pair.b.tcp.connect(A_LL, 7001, now, local_port=7000, interface=pair.ib)
    pair.world.run_for(1.0)
    assert (ca.state, cb.state) == (TcpState.ESTABLISHED, TcpState.ESTABLISHED)
    flags = [(s.host, s.seg.flags) for s in wire]
    assert flags[:2] == [("a", SYN), ("b", SYN)]
    assert sorted(flags[2:4]) == [("a", SYN | ACK), ("b", SYN | ACK)]
    assert not any(f & RST for _, f in flags)
    assert (ca.snd_nxt, ca.rcv_nxt) == (cb.rcv_nxt, cb.snd_nxt)
    ca.send(b"ping", pair.world.now)
    pair.world.run_for(0.5)
    assert bytes(cb.rcvbuf) == b"ping"


def test_simultaneous_close(pair: Pair) -> None:
    """Both close at once: FINs cross, FIN-WAIT-1 -> CLOSING -> TIME-WAIT at both ends
    (RFC 9293 §3.6 figure 13), and after 2 MSL both connections are gone."""
    c = connected(pair)
    wire = tcp_wire(pair.world)
    ca, cb = c.ca, c.cb
    now = pair.world.now
    ca.close(now)
    cb.close(now)
    assert (ca.state, cb.state) == (TcpState.FIN_WAIT_1, TcpState.FIN_WAIT_1)
    pair.world.run_for(1.0)
    assert (ca.state, cb.state) == (TcpState.TIME_WAIT, TcpState.TIME_WAIT)
    fins = [s for s in wire if s.has(FIN)]
    assert [s.host for s in fins] == ["a", "b"]
    pair.world.run_for(2 * 120.0)
    assert (ca.state, cb.state) == (TcpState.CLOSED, TcpState.CLOSED)
    assert not pair.a.tcp.connections and not pair.b.tcp.connections
