"""RawSocketPort's transmit queue (back-pressure, tcpip6.stack.link) without root: a port
whose socket is a stand-in that refuses frames the ways a packet socket does (EAGAIN:
its send buffer is full; ENOBUFS: a queue past it dropped the frame). What it refuses
is kept, in order, and sent when the socket is writable again (EAGAIN) or on the retry
timer (ENOBUFS); the port stops at TX_STOP frames and calls on_writable once at TX_WAKE.
tests/interop/test_backpressure.py does the same against the kernel."""

from __future__ import annotations

import errno
from collections import deque

from tcpip6.io.rawsock import (
    ENOBUFS_RETRY,
    NO_VNET,
    TX_STOP,
    TX_WAKE,
    RawSocketCounters,
    RawSocketPort,
    gso_header,
)


class Refusing:
    """A packet socket's ``send``: raises what ``refuse`` holds (then takes frames)."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.refuse: OSError | None = None

    def send(self, frame: bytes) -> int:
        if self.refuse is not None:
            raise self.refuse
        self.sent.append(frame)
        return len(frame)

    def sendmsg(self, buffers: tuple[bytes, ...]) -> int:
        """A PACKET_VNET_HDR socket's send: the virtio-net header, then the frame."""
        return self.send(b"".join(buffers))


def _port() -> tuple[RawSocketPort, Refusing, list[float]]:
    port = RawSocketPort.__new__(RawSocketPort)
    sock = Refusing()
    wakes: list[float] = []
    port.ifname, port.mtu, port.ring, port.sock = "fake0", 1500, None, sock  # type: ignore[assignment]
    port.counters = RawSocketCounters()
    port.queue = deque()
    port.stopped, port.now, port.retry_at = False, 0.0, None
    port.vnet, port.gso_max_size = False, 0
    port.batch, port.soft_gso = None, False  # a send per frame (test_rawsock_mmsg: batches)
    port.on_writable = wakes.append
    return port, sock, wakes


def frame(i: int) -> bytes:
    return i.to_bytes(4, "big") * 20


def test_eagain_keeps_frames_in_order_until_writable() -> None:
    port, sock, wakes = _port()
    port.send_frame(frame(0))
    sock.refuse = BlockingIOError(errno.EAGAIN, "full")
    for i in range(1, TX_STOP + 1):
        port.send_frame(frame(i))
    assert port.tx_stopped() and port.wants_write()
    assert port.next_deadline() is None  # EAGAIN: writability wakes it, not a timer
    sock.refuse = None
    port.write_ready(1.0)
    assert sock.sent == [frame(i) for i in range(TX_STOP + 1)]
    assert not port.tx_stopped() and not port.wants_write()
    assert wakes == [1.0]
    c = port.counters
    # One refused send: the frames behind it queued without trying.
    assert (c.send_eagain, c.send_error_drop, c.send_queue_full_drop) == (1, 0, 0)
    assert (c.tx_stops, c.tx_wakes) == (1, 1)


def test_enobufs_retries_on_a_timer_and_wakes_at_the_low_water_mark() -> None:
    port, sock, wakes = _port()
    port.now = 2.0
    sock.refuse = OSError(errno.ENOBUFS, "No buffer space available")
    for i in range(TX_STOP):
        port.send_frame(frame(i))
    assert port.tx_stopped()
    # The socket is writable after an ENOBUFS: the port waits for its timer instead.
    assert not port.wants_write()
    assert port.next_deadline() == 2.0 + ENOBUFS_RETRY
    port.poll(2.0)  # not due yet: nothing tried
    assert port.counters.send_enobufs == 1
    # Due: the socket takes some, then refuses again: a new retry, no wake yet.
    taken = 0

    def some(frame: bytes) -> int:
        nonlocal taken
        if taken == TX_STOP - TX_WAKE - 1:
            raise OSError(errno.ENOBUFS, "No buffer space available")
        taken += 1
        sock.sent.append(frame)
        return len(frame)

    sock.send = some  # type: ignore[method-assign]
    port.poll(2.0 + ENOBUFS_RETRY)
    assert port.tx_stopped() and wakes == []
    assert port.next_deadline() == 2.0 + 2 * ENOBUFS_RETRY
    taken = -(10**6)  # takes everything from now on
    port.poll(2.0 + 2 * ENOBUFS_RETRY)
    assert sock.sent == [frame(i) for i in range(TX_STOP)]
    assert wakes == [2.0 + 2 * ENOBUFS_RETRY]
    assert port.next_deadline() is None
    assert port.counters.send_error_drop == 0


def test_a_link_that_is_gone_loses_the_frame_and_counts_it() -> None:
    port, sock, _ = _port()
    sock.refuse = OSError(errno.ENETDOWN, "Network is down")
    port.send_frame(frame(0))
    assert not port.queue
    assert port.counters.send_error_drop == 1


def test_with_the_virtio_header_a_kept_frame_keeps_its_header() -> None:
    """With segmentation offload (PACKET_VNET_HDR) every send starts with a virtio-net
    header: a frame kept for later, a large one asking for GSO included, is sent with the
    header it would have had, in order."""
    port, sock, _ = _port()
    port.vnet, port.gso_max_size = True, 65535
    large = bytes(14) + bytes(40) + bytes(20) + bytes(3000)
    port.send_frame(frame(0))
    sock.refuse = BlockingIOError(errno.EAGAIN, "full")
    port.send_frame(frame(1))
    port.send_segments(large, 1440)
    port.send_frame(frame(2))
    sock.refuse = None
    port.write_ready(1.0)
    assert sock.sent == [
        NO_VNET + frame(0),
        NO_VNET + frame(1),
        gso_header(large, 1440) + large,
        NO_VNET + frame(2),
    ]
    assert port.counters.send_error_drop == 0
