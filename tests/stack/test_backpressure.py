"""Back-pressure in the link-layer contract (tcpip6.stack.link) on simnet: a NIC whose
transmit queue drains at 10 Mbit/s, smaller than the flights a fast receiver's window
lets TCP send.

Without back-pressure the queue overflows: frames are dropped and TCP recovers them as
losses. With it, the queue stops at its high-water mark, TCP stops sending new segments
(local congestion: no window reduction, no retransmission timeout) and resumes when the
NIC says it has room again; no frame is dropped and none is sent twice. A UDP socket gets
what a Linux socket whose frames wait in a full queue gets: EAGAIN when non-blocking, a
wait when blocking (every datagram arrives); a raw socket gets ENOBUFS
(tests/interop/test_backpressure.py compares those errors with the Linux kernel's).
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno

import pytest

from tcpip6.api import sockets as so
from tcpip6.io.sim import LineRatePort
from tcpip6.stack.machines.tcp import TcpState
from tcpip6.stack.tcp import TcpParameters
from tests.stack.conftest import Pair, make_pair
from tests.stack.tcpscenario import B, connected, stacks, tcp_wire

#: The NIC's queue: at most LIMIT frames; with back-pressure it stops at STOP_AT.
LIMIT = 24
STOP_AT = 16
OCTETS = 400_000


def _pair(backpressure: bool) -> tuple[Pair, LineRatePort]:
    if backpressure:
        pair = make_pair(seed=3, line_rate=10e6, tx_queue=(LIMIT, STOP_AT))
    else:
        pair = make_pair(seed=3, line_rate=10e6)
        pair.world.line_rate_ports[-1].queue_limit = LIMIT
    return pair, pair.world.line_rate_ports[-1]


def big_window(p: TcpParameters) -> TcpParameters:
    """A receive buffer far above the NIC's queue: the peer's window never limits a."""
    return dataclasses.replace(p, receive_buffer=4 * 1024 * 1024)


def _bulk(backpressure: bool) -> tuple[Pair, LineRatePort, list[int]]:
    """a sends OCTETS to b (whose window is far above the queue); the sequence numbers
    of a's data segments as they left the interface."""
    pair, nic = _pair(backpressure)

    c = connected(pair, None, big_window)
    wire = tcp_wire(pair.world)
    c.transfer(bytes(i % 251 for i in range(OCTETS)))
    return pair, nic, [s.seg.seq for s in wire if s.host == "a" and s.data]


def test_without_backpressure_the_queue_overflows_and_tcp_sees_loss() -> None:
    pair, nic, seqs = _bulk(backpressure=False)
    assert nic.dropped > 0
    assert pair.a.tcp.counters.retransmitted_segments > 0
    assert len(seqs) > len(set(seqs))


def test_a_stopped_queue_is_local_congestion_not_loss() -> None:
    pair, nic, seqs = _bulk(backpressure=True)
    counters = pair.a.tcp.counters
    assert nic.dropped == 0
    assert nic.stops > 0
    # Every segment left once: no timeout, no fast retransmission, nothing resent.
    assert (counters.timeouts, counters.retransmitted_segments) == (0, 0)
    assert len(seqs) == len(set(seqs))
    assert counters.local_congestion_stops > 0
    assert counters.local_congestion_resumes == counters.local_congestion_stops
    assert pair.a.tcp.stopped == {}
    # The queue never held more than the high-water mark and the frames that were
    # already on their way (ACKs, the segment that stopped it).
    assert not nic.stopped


def _udp_pair() -> tuple[Pair, LineRatePort]:
    pair, nic = _pair(backpressure=True)
    return pair, nic


def test_udp_nonblocking_gets_eagain_and_blocking_waits() -> None:
    pair, nic = _udp_pair()
    sa, sb = stacks(pair)
    rx = sb.socket(so.AF_INET6, so.SOCK_DGRAM)
    rx.bind(("::", 9000))
    tx = sa.socket(so.AF_INET6, so.SOCK_DGRAM)
    tx.setblocking(False)
    sent = 0
    with pytest.raises(BlockingIOError) as info:
        for _ in range(10 * LIMIT):
            tx.sendto(bytes(1200), (B, 9000))
            sent += 1
    assert info.value.errno == errno.EAGAIN
    assert sent == STOP_AT  # the datagram that reached the high-water mark was taken
    tx.setblocking(True)
    for _ in range(3 * LIMIT):
        tx.sendto(bytes(1200), (B, 9000))
        sent += 1
    rx.settimeout(1.0)
    received = 0
    with pytest.raises(TimeoutError):
        while True:
            rx.recvfrom(2048)
            received += 1
    assert received == sent
    assert nic.dropped == 0
    assert tx.counters.send_queue_stopped > 0


def test_raw_socket_gets_enobufs() -> None:
    pair, nic = _udp_pair()
    sa, _ = stacks(pair)
    raw = sa.socket(so.AF_INET6, so.SOCK_RAW, 253)  # RFC 3692 experimental protocol
    with pytest.raises(OSError) as info:
        for _ in range(10 * LIMIT):
            raw.sendto(bytes(1200), (B, 0))
    assert info.value.errno == errno.ENOBUFS
    assert nic.dropped == 0


def test_a_ttcp_udp_job_waits_for_room_instead_of_failing() -> None:
    """``tcpip6 ttcp -u -t`` inside a host (a job: it never blocks the host's loop) through
    the stopped queue: it tries again next step, and every datagram arrives."""
    from tcpip6.apps.ttcp import END_MARKS, TtcpOptions
    from tcpip6.apps.ttcp_jobs import UdpTransmitJob

    pair, nic = _udp_pair()
    sa, sb = stacks(pair)
    rx = sb.socket(so.AF_INET6, so.SOCK_DGRAM)
    rx.bind(("::", 5001))
    opts = TtcpOptions(buflen=1200, nbuf=4 * LIMIT, port=5001, udp=True)
    job = UdpTransmitJob(sa, B, opts)
    world = pair.world
    while not job.finished and world.now < 30.0:
        world.run_until(max(world.now, job.next_deadline() or world.now + 0.01))
        job.poll(world.now)
    assert job.status == 0, job.out.getvalue()
    world.run_for(1.0)
    assert len(rx.queue) == 1 + opts.nbuf + 1 + END_MARKS  # start mark, data, end marks
    assert nic.stops > 0
    assert nic.dropped == 0


def test_a_connection_stopped_on_an_interface_that_goes_away_times_out() -> None:
    """Local congestion on an interface that is then removed: the queue is gone with it,
    so the connection is stopped no more (not left among the stopped ones for a wake-up
    that cannot come); it finds no route and times out with ENETUNREACH (RFC 5461 §4), as
    any connection through a removed interface does."""
    pair, _ = _pair(backpressure=True)

    c = connected(pair, None, big_window)
    c.client.setblocking(False)
    conn = c.ca
    for _ in range(2000):  # keep the send buffer full until the NIC's queue stops
        if conn in pair.a.tcp.stopped:
            break
        with contextlib.suppress(BlockingIOError):
            c.client.send(bytes(65536))
        with contextlib.suppress(BlockingIOError):
            c.server.recv(1 << 20)
        pair.world.run_for(0.001)
    assert conn in pair.a.tcp.stopped
    pair.a.remove_interface(pair.ia, pair.world.now)
    assert conn not in pair.a.tcp.stopped
    pair.world.run_for(200.0)
    assert conn.state is TcpState.CLOSED
    c.client.setblocking(True)
    with pytest.raises(OSError) as exc:
        c.client.recv(100)
    assert exc.value.errno == errno.ENETUNREACH
