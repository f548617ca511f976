"""ttcp inside a live host: ``tcpip6 ttcp --control PATH -t HOST`` and ``-r``, over TCP
or UDP (``-u``), as jobs of :mod:`tcpip6.apps.jobs`.

The TCP jobs move a TCP connection of the host's own (:class:`~tcpip6.stack.tcp.Connection`)
directly: its send buffer, its receive buffer and its state are what a job looks at to
know whether it has something to do, so no call in a job ever waits (a socket's blocking
call would run the host's loop from inside it). The UDP jobs read their sockets' queues
and send a few datagrams a step. The lines, the marks, the counting and the pattern check
are :mod:`tcpip6.apps.ttcp`'s, so a job prints what ``--sim`` prints.
"""

from __future__ import annotations

import errno
from collections.abc import Mapping
from typing import Any

from tcpip6.api.sockets import (
    AF_INET6,
    ICMP6_FILTER,
    IPPROTO_ICMPV6,
    SOCK_DGRAM,
    SOCK_RAW,
    Stack,
)
from tcpip6.apps import ttcp
from tcpip6.apps.jobs import Job, _queue_of
from tcpip6.apps.options import build_options
from tcpip6.apps.ping6 import icmp6_filter
from tcpip6.apps.ttcp import (
    END_MARKS,
    MARK_LEN,
    PatternCheck,
    Receiver,
    Result,
    TtcpOptions,
    pattern,
)
from tcpip6.stack.machines.tcp import TcpState
from tcpip6.stack.tcp import Connection
from tcpip6.wire import icmpv6 as wi
from tcpip6.wire.ipv6 import UNSPECIFIED


def _why(exc: OSError) -> str:
    return str(exc.strerror or exc)


class TtcpTransmitJob(Job):
    """ttcp -t over TCP: connect, write ``nbuf`` buffers as the send buffer takes them,
    close. The line comes when the receiver has acknowledged everything, FIN included
    (status 0); its seconds run from the connect to the last write, as ttcp's do."""

    def __init__(self, stack: Stack, destination: str, opts: TtcpOptions) -> None:
        super().__init__()
        self.stack = stack
        self.opts = opts
        now = stack.driver.now
        dst, zone = stack.host.scoped_destination(destination)
        self.conn: Connection = stack.host.tcp.connect(dst, opts.port, now, interface=zone)
        print(f"{opts.header('t')}  tcp  -> {destination}", file=self.out)
        print("ttcp-t: socket", file=self.out)
        self.buf = memoryview(pattern(opts.buflen))
        self.left = opts.nbuf  # buffers still to write
        self.off = 0  # into the buffer being written
        self.sent = Result()
        self.started: float | None = None  # ESTABLISHED: ttcp's connect() returned
        self.progress = now  # when the transfer last moved
        self.acked = self.conn.snd_una
        self.connect_by = now + ttcp.CONNECT_WAIT
        self.wake = now  # the first lines go out at once

    def _pending(self) -> bool:
        conn = self.conn
        if conn.error is not None or conn.state is TcpState.CLOSED:
            return True
        if self.started is None:
            return conn.state is not TcpState.SYN_SENT
        if self.left:
            # Woken for room as Linux wakes a blocked writer (sk_stream_write_space):
            # once a third of the buffer is free, not for what each ACK frees.
            return conn.send_space >= max(1, min(self.opts.buflen, conn.params.send_buffer // 3))
        return conn.fin_acked

    def _step(self, now: float) -> None:
        conn = self.conn
        if self.started is None:
            if conn.state is TcpState.SYN_SENT and conn.error is None:
                if now >= self.connect_by:
                    conn.abort(now)
                    self._fail("connect: Connection timed out", 2)
                self.wake = self.connect_by
                return
            if conn.error is not None or conn.state is TcpState.CLOSED:
                error = conn.error or ConnectionRefusedError(
                    errno.ECONNREFUSED, "Connection refused"
                )
                self._fail(f"connect: {_why(error)}", 2)
                return
            print("ttcp-t: connect", file=self.out)
            self.started = self.progress = now
        try:
            moved = self._write(now)
        except OSError as exc:
            self._fail(_why(exc), 1)
            return
        if conn.error is not None:
            self._fail(_why(conn.error), 1)
            return
        if not self.left and conn.fin_acked:
            for line in self.sent.lines("t"):
                print(line, file=self.out)
            self._end(0, now)
            return
        if moved or conn.snd_una != self.acked:
            self.acked = conn.snd_una
            self.progress = now
        elif now >= self.progress + ttcp.STALL_TIME:
            conn.abort(now)
            self._fail("the transfer stalled", 1)
            return
        self.wake = self.progress + ttcp.STALL_TIME

    def _write(self, now: float) -> bool:
        """What the send buffer takes; True if it took something."""
        conn, buflen = self.conn, self.opts.buflen
        moved = False
        while self.left and conn.send_space > 0:
            self.off += conn.send(self.buf[self.off :], now)
            moved = True
            if self.off == buflen:
                self.off = 0
                self.left -= 1
                self.sent.calls += 1
                self.sent.nbytes += buflen
                if not self.left:
                    assert self.started is not None
                    self.sent.seconds = now - self.started
                    conn.close(now)  # ttcp closes: the receiver's end of file
        return moved

    def _fail(self, why: str, status: int) -> None:
        print(f"ttcp-t: {why}", file=self.out)
        self._end(status, self.stack.driver.now)

    def _end(self, status: int, now: float) -> None:
        if not self.conn.fin_queued:
            self.conn.close(now)
        self.conn.orphan(now)  # the FIN, if not out yet, goes on its own
        self.status = status

    def _close(self) -> None:
        self.conn.abort(self.stack.driver.now)

    def _interrupt(self) -> None:
        self.conn.abort(self.stack.driver.now)
        print(f"ttcp-t: interrupted after {self.sent.nbytes} bytes", file=self.out)
        self.status = 130


class TtcpReceiveJob(Job):
    """ttcp -r over TCP: listen on ``opts.port``, accept one connection, read it to its end
    of file, checking every octet against ttcp's pattern (status 1 if one differs)."""

    def __init__(self, stack: Stack, opts: TtcpOptions) -> None:
        super().__init__()
        self.stack = stack
        self.opts = opts
        now = stack.driver.now
        try:
            self.listener = stack.host.tcp.listen(UNSPECIFIED, opts.port, 1, now)
        except OSError as exc:
            raise ValueError(f"bind: {_why(exc)}") from None
        print(f"{opts.header('r')}  tcp", file=self.out)
        print("ttcp-r: socket", file=self.out)
        self.conn: Connection | None = None
        self.received = Result()
        self.checker = PatternCheck(opts.buflen)
        self.started = self.progress = now
        self.wake = now  # the first lines go out at once

    def _pending(self) -> bool:
        conn = self.conn
        if conn is None:
            return bool(self.listener.accept_queue)
        return (
            bool(conn.rcvbuf) or conn.eof or conn.error is not None or conn.state is TcpState.CLOSED
        )

    def _step(self, now: float) -> None:
        conn = self.conn
        if conn is None:
            if not self.listener.accept_queue:
                self.wake = now + ttcp.STALL_TIME  # ttcp -r waits as long as it takes
                return
            conn = self.conn = self.listener.accept_queue.popleft()
            self.listener.close(now)  # one transfer, as ttcp accepts once
            assert conn.remote_address is not None
            peer = self.stack.sockaddr(conn.remote_address, conn.remote_port, conn.interface)
            print(f"ttcp-r: accept from {peer[0]}", file=self.out)
            self.started = self.progress = now
        result = self.received
        while conn.rcvbuf:
            chunk = conn.read(self.opts.buflen, now)
            self.checker.check(result.nbytes, chunk)
            result.calls += 1
            result.nbytes += len(chunk)
            self.progress = now
        if conn.eof:
            result.calls += 1  # the read that returns the end of file
            result.seconds = now - self.started
            for line in result.lines("r"):
                print(line, file=self.out)
            if self.checker.mismatched:
                print(
                    f"ttcp-r: {self.checker.mismatched} of {result.nbytes} octets differ "
                    "from ttcp's pattern",
                    file=self.out,
                )
            self._end(1 if self.checker.mismatched else 0, now)
            return
        if conn.error is not None or conn.state is TcpState.CLOSED:
            error = conn.error or ConnectionResetError(errno.ECONNRESET, "Connection reset by peer")
            print(f"ttcp-r: {_why(error)} after {result.nbytes} bytes", file=self.out)
            self._end(1, now)
            return
        if now >= self.progress + ttcp.STALL_TIME:
            print("ttcp-r: the transfer stalled: no end of file", file=self.out)
            conn.abort(now)
            self._end(1, now)
            return
        self.wake = self.progress + ttcp.STALL_TIME

    def _end(self, status: int, now: float) -> None:
        self.listener.close(now)
        if self.conn is not None:
            self.conn.close(now)
            self.conn.orphan(now)
        self.status = status

    def _close(self) -> None:
        now = self.stack.driver.now
        self.listener.close(now)
        if self.conn is not None:
            self.conn.abort(now)

    def _interrupt(self) -> None:
        self._close()
        print(f"ttcp-r: interrupted after {self.received.nbytes} bytes", file=self.out)
        self.status = 130


class UdpTransmitJob(Job):
    """ttcp -t -u: an Echo Request first, so that the neighbour caches on the way are
    resolved (:func:`~tcpip6.apps.ttcp.prime`), then the start mark, ``nbuf`` datagrams
    and the end marks, ``BURST`` datagrams a step so that the host's loop runs between."""

    #: Datagrams a step; the next step comes after ``PAUSE`` seconds, time for the link.
    BURST = 8
    PAUSE = 0.001

    def __init__(self, stack: Stack, destination: str, opts: TtcpOptions) -> None:
        super().__init__()
        self.stack = stack
        self.opts = opts
        now = stack.driver.now
        stack.host.scoped_destination(destination)  # ValueError: not an address
        self.addr = (destination, opts.port)
        self.sock = stack.socket(AF_INET6, SOCK_DGRAM)
        # A job never waits: a full transmit queue is EAGAIN, tried again next step.
        self.sock.setblocking(False)
        self.echo = stack.socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6)
        try:
            self.echo.setsockopt(IPPROTO_ICMPV6, ICMP6_FILTER, icmp6_filter(wi.ECHO_REPLY))
            request = wi.EchoRequest(0x7474, 1, b"ttcp")
            self.echo.sendto(request.build(UNSPECIFIED, UNSPECIFIED), (destination, 0))
        except OSError:
            self._close()
            raise
        print(f"{opts.header('t')}  udp  -> {destination}", file=self.out)
        print("ttcp-t: socket", file=self.out)
        self.buf = pattern(opts.buflen)
        self.sent = Result()
        self.left = opts.nbuf  # data datagrams still to send
        self.marks = 1 + END_MARKS  # end marks still to send (the first stops the clock)
        self.started: float | None = None
        self.primed_by = now + ttcp.PRIME_WAIT
        self.wake = now

    def _pending(self) -> bool:
        return self.started is None and _queue_of(self.echo)

    def _step(self, now: float) -> None:
        if self.started is None:
            if not self.echo.closed:
                replied = False
                while self.echo.queue:
                    reply = wi.parse_icmpv6_unchecked(self.echo.queue.popleft().data)
                    replied |= isinstance(reply, wi.EchoReply) and reply.identifier == 0x7474
                if not replied and now < self.primed_by:
                    self.wake = self.primed_by
                    return
                self.echo.close()
            if not self._send(self.buf[:MARK_LEN]):  # receiver: start
                return
            self.started = now
        for _ in range(self.BURST):
            if self.left:
                if not self._send(self.buf):
                    return
                self.left -= 1
                self.sent.nbytes += self.opts.buflen
                continue
            if not self._send(self.buf[:MARK_LEN]):  # receiver: end
                return
            self.marks -= 1
            if self.marks == END_MARKS:
                self.sent.seconds = now - self.started
            if not self.marks:
                for line in self.sent.lines("t"):
                    print(line, file=self.out)
                self._close()
                self.status = 0
                return
        self.wake = now + self.PAUSE

    def _send(self, data: bytes) -> bool:
        try:
            self.sock.sendto(data, self.addr)
        except BlockingIOError:
            # The link's transmit queue is full (back-pressure, tcpip6.stack.link): what
            # a blocking ttcp would wait for, the next step tries again.
            self.wake = self.stack.driver.now + self.PAUSE
            return False
        except OSError as exc:
            print(f"ttcp-t: sendto: {_why(exc)}", file=self.out)
            self._close()
            self.status = 2
            return False
        self.sent.calls += 1
        return True

    def _close(self) -> None:
        self.sock.close()
        self.echo.close()

    def _interrupt(self) -> None:
        self._close()
        print(f"ttcp-t: interrupted after {self.sent.nbytes} bytes", file=self.out)
        self.status = 130


class UdpReceiveJob(Job):
    """ttcp -r -u: :class:`~tcpip6.apps.ttcp.Receiver` counts the datagrams between the
    start mark and the end mark; the socket stays bound ``LINGER`` seconds more, for the
    repeated end marks."""

    def __init__(self, stack: Stack, opts: TtcpOptions) -> None:
        super().__init__()
        self.stack = stack
        self.sock = stack.socket(AF_INET6, SOCK_DGRAM)
        try:
            self.sock.bind(("::", opts.port))
        except OSError as exc:
            self.sock.close()
            raise ValueError(f"bind: {_why(exc)}") from None
        print(f"{opts.header('r')}  udp", file=self.out)
        print("ttcp-r: socket", file=self.out)
        self.receiver = Receiver(lambda: stack.driver.now)
        self.linger_until: float | None = None
        self.wake = stack.driver.now

    def _pending(self) -> bool:
        return _queue_of(self.sock)

    def _step(self, now: float) -> None:
        receiver = self.receiver
        while self.sock.queue:
            item = self.sock.queue.popleft()
            receiver.datagram_received(item.data, item.address)
        if not receiver.done:
            self.wake = now + ttcp.STALL_TIME  # ttcp -r waits as long as it takes
            return
        if self.linger_until is None:
            self.linger_until = now + ttcp.LINGER
        if now < self.linger_until:
            self.wake = self.linger_until
            return
        for line in receiver.result.lines("r"):
            print(line, file=self.out)
        self.sock.close()
        self.status = 0

    def _close(self) -> None:
        self.sock.close()

    def _interrupt(self) -> None:
        self.sock.close()
        nbytes = self.receiver.result.nbytes
        print(f"ttcp-r: interrupted after {nbytes} bytes", file=self.out)
        self.status = 130


def ttcp_job(stack: Stack, args: Mapping[str, Any]) -> Job:
    """The ttcp job a request's ``args`` ask for (ValueError, OSError: a bad one)."""
    opts = build_options(TtcpOptions, args)
    transmit = args.get("transmit")
    if not isinstance(transmit, bool):
        raise ValueError('"transmit": true (-t) or false (-r)')
    if not transmit:
        return UdpReceiveJob(stack, opts) if opts.udp else TtcpReceiveJob(stack, opts)
    destination = args.get("destination")
    if not isinstance(destination, str) or not destination:
        raise ValueError("-t: give the receiver's address")
    if opts.udp:
        return UdpTransmitJob(stack, destination, opts)
    return TtcpTransmitJob(stack, destination, opts)


__all__ = [
    "TtcpReceiveJob",
    "TtcpTransmitJob",
    "UdpReceiveJob",
    "UdpTransmitJob",
    "ttcp_job",
]
