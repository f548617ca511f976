"""Frames many per sendmmsg (tcpip6.io.mmsg) and the port's own segmentation (soft_gso,
tcpip6.io.rawsock) without root: the port's socket is one end of a non-blocking
``AF_UNIX`` datagram socket pair, so the kernel really takes some messages of a call and
refuses the rest (EAGAIN once the datagrams the other end has not read fill the
sender's small SO_SNDBUF). What the other end reads is the oracle: every frame, once, in order; the
segments cut by the port are checked by scapy (checksum, sequence numbers, flags, data).
tests/interop/test_offload.py and test_backpressure.py do the same against a veth."""

from __future__ import annotations

import socket
from collections import deque
from collections.abc import Iterator

import pytest
from scapy.layers.inet import TCP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from tcpip6.io.mmsg import MessageBatch
from tcpip6.io.rawsock import GSO_MAX_SIZE, TX_STOP, RawSocketCounters, RawSocketPort

MTU = 1500


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    a.setblocking(False)
    b.setblocking(False)
    a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 32768)
    yield a, b
    a.close()
    b.close()


def _port(sock: socket.socket, *, soft_gso: bool = False) -> tuple[RawSocketPort, list[float]]:
    port = RawSocketPort.__new__(RawSocketPort)
    wakes: list[float] = []
    port.ifname, port.mtu, port.ring, port.sock = "fake0", MTU, None, sock
    port.counters = RawSocketCounters()
    port.queue = deque()
    port.stopped, port.now, port.retry_at = False, 0.0, None
    port.vnet = False
    port.batch = MessageBatch(MTU + 14)
    port.soft_gso = soft_gso
    port.gso_max_size = GSO_MAX_SIZE if soft_gso else 0
    port.on_writable = wakes.append
    return port, wakes


def drain(sock: socket.socket) -> list[bytes]:
    got = []
    while True:
        try:
            got.append(sock.recv(65536))
        except BlockingIOError:
            return got


def frame(i: int) -> bytes:
    return i.to_bytes(4, "big") * 300


def test_a_batch_sends_what_fits_and_says_how_many(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    a, b = pair
    batch = MessageBatch(1500, slots=8)
    frames = [frame(i) for i in range(5)]
    assert batch.send(a.fileno(), frames, 2) == 3
    assert drain(b) == frames[2:]
    # The peer's queue full: some of a call go, then EAGAIN for the rest.
    sent = 0
    with pytest.raises(BlockingIOError):
        while True:
            sent += batch.send(a.fileno(), [frame(i) for i in range(8)])
    assert drain(b) == [frame(i % 8) for i in range(sent)]


def test_frames_the_socket_refuses_are_kept_in_order(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    """The queue fills (EAGAIN) in the middle of a drain: the frames not taken stay, in
    order, behind nothing; each write_ready sends what the peer's queue has room for."""
    a, b = pair
    port, wakes = _port(a)
    n = TX_STOP + 40
    for i in range(n):
        port.send_frame(frame(i))
    assert port.counters.send_eagain >= 1
    assert port.tx_stopped() and port.wants_write()
    got = drain(b)
    while port.queue:
        port.write_ready(1.0)
        got += drain(b)
    assert got == [frame(i) for i in range(n)]
    c = port.counters
    assert c.frames_sent == n
    assert (c.send_error_drop, c.send_queue_full_drop) == (0, 0)
    assert c.sendmmsg_calls >= 1
    assert wakes == [1.0] and (c.tx_stops, c.tx_wakes) == (1, 1)


def large_segment(data: bytes, flags: str = "PA") -> bytes:
    return bytes(
        Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
        / IPv6(src="2001:db8::1", dst="2001:db8::2")
        / TCP(sport=5001, dport=80, seq=1000, ack=7, flags=flags, window=500,
              options=[("NOP", None), ("NOP", None), ("Timestamp", (5, 9))])
        / Raw(data)
    )  # fmt: skip


def test_the_port_cuts_a_large_segment_into_valid_frames(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    """soft_gso: one send_segments becomes MTU-sized frames, each a TCP segment whose
    checksum scapy recomputes to the same value, with consecutive sequence numbers, PSH
    only on the last, and the data in order; sent in one sendmmsg."""
    a, b = pair
    port, _ = _port(a, soft_gso=True)
    mss = MTU - 40 - 32
    data = bytes((i * 13) % 251 for i in range(20 * mss + 77))
    port.send_segments(large_segment(data), mss)
    got = drain(b)
    assert len(got) == 21 and max(len(f) for f in got) == 14 + MTU
    seq = 1000
    joined = b""
    for i, raw in enumerate(got):
        e = Ether(raw)
        tcp = e[TCP]
        again = Ether(raw)
        del again[TCP].chksum
        assert tcp.chksum == Ether(bytes(again))[TCP].chksum
        assert tcp.seq == seq
        assert tcp.flags == ("PA" if i == 20 else "A")
        payload = bytes(tcp.payload)
        assert e[IPv6].plen == 32 + len(payload)
        seq += len(payload)
        joined += payload
    assert joined == data
    c = port.counters
    assert (c.soft_gso_frames_cut, c.sendmmsg_calls, c.frames_sent) == (1, 1, 21)


def test_a_cut_segment_the_socket_refuses_in_part_is_kept_behind(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    """The peer's queue takes some pieces of a cut segment: the rest wait in the port's
    queue, and a frame sent after them goes behind them."""
    a, b = pair
    port, _ = _port(a, soft_gso=True)
    mss = 1000
    data = bytes(i % 7 for i in range(30 * mss))
    port.send_segments(large_segment(data, "A"), mss)
    assert port.queue and port.counters.send_eagain == 1
    port.send_frame(frame(99))
    got = drain(b)
    while port.queue:
        port.write_ready(2.0)
        got += drain(b)
    assert len(got) == 31 and got[-1] == frame(99)
    assert b"".join(bytes(Ether(f)[TCP].payload) for f in got[:-1]) == data
    assert [Ether(f)[TCP].seq for f in got[:-1]] == [1000 + i * mss for i in range(30)]


def test_what_is_not_a_tcp_segment_is_dropped_and_counted(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    a, b = pair
    port, _ = _port(a, soft_gso=True)
    port.send_segments(bytes(14) + bytes(40) + bytes(3000), 1000)  # next header 0
    assert drain(b) == []
    assert port.counters.soft_gso_malformed_drop == 1


def test_a_receive_batch_reads_what_waits_with_its_ancillary_data(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    """recvmmsg on the other end: 20 datagrams come 8, 8 and 4 a call, in order, each
    with the control message the kernel adds (SCM_CREDENTIALS: this process's pid, uid
    and gid); then nothing, without an error."""
    import os
    import struct

    from tcpip6.io.mmsg import ReceiveBatch, control_messages

    a, b = pair
    b.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    for i in range(20):
        a.send(frame(i)[: 100 + i])
    rx = ReceiveBatch(1500, socket.CMSG_SPACE(12), slots=8)
    calls = [rx.receive(b.fileno()) for _ in range(4)]
    assert [len(c) for c in calls] == [8, 8, 4, 0]
    got = [m for c in calls for m in c]
    assert [data for data, _ in got] == [frame(i)[: 100 + i] for i in range(20)]
    creds = struct.pack("iII", os.getpid(), os.getuid(), os.getgid())
    for _, control in got:
        assert control_messages(control) == [(socket.SOL_SOCKET, socket.SCM_CREDENTIALS, creds)]


def test_a_frame_larger_than_a_slot_is_dropped_and_counted_in_its_place(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    """Never queued so (send_frame and the port's segmentation check sizes first), but
    should one wait: the frames around it go, in order, and it is counted."""
    a, b = pair
    port, _ = _port(a)
    port.queue.extend([frame(0), bytes(MTU + 15), frame(1)])
    port.write_ready(1.0)
    assert drain(b) == [frame(0), frame(1)]
    assert (port.counters.send_too_big_drop, port.counters.frames_sent) == (1, 2)
