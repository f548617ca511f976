"""Tools a live host runs for a client of its control socket: ``tcpip6 ping6 --control``,
``tcpip6 tracert6 --control``, ``tcpip6 ttcp --control``.

The client sends one request line, ``{"run": "ping6", "args": {...}}``; the host answers
with the tool's output as it comes, one ``{"line": TEXT}`` per line, then
``{"done": true, "status": N}`` (the exit status the tool would have had). A job never
blocks the host: it is polled by the control server, a node of the host's driver, at the
times it asks for (:meth:`Job.next_deadline`), and at once when its raw socket has
something queued. Closing the control connection stops the job.

Each job is the tool's own code run a step at a time: :class:`~tcpip6.apps.ping6.Pinger`
with its ``start``/``step``/``take``/``finish``, and :class:`~tcpip6.apps.tracert6.Tracer`
with its ``send_probe``/``match``. ttcp's jobs move a TCP connection of the host's own
(:class:`~tcpip6.stack.tcp.Connection`) directly: its send buffer, its receive buffer and
its state are what a job looks at to know whether it has something to do, so no call in
a job ever waits (a socket's blocking call would run the host's loop from inside it).
The lines and the pattern check are :mod:`tcpip6.apps.ttcp`'s.
"""

from __future__ import annotations

import errno
import io
import math
from collections.abc import Mapping
from typing import Any

from tcpip6.apps import ping6, tracert6, ttcp
from tcpip6.apps.ping6 import Pinger, PingOptions, resolve
from tcpip6.apps.tracert6 import Answer, TraceOptions, Tracer, header_lines, hop_line
from tcpip6.apps.ttcp import PatternCheck, Result, TtcpOptions, pattern
from tcpip6.stack.machines.tcp import TcpState
from tcpip6.stack.sockets import Socket, Stack
from tcpip6.stack.tcp import Connection
from tcpip6.wire.ipv6 import UNSPECIFIED

#: Tools a live host runs for its control socket.
TOOLS = ("ping6", "tracert6", "ttcp")
#: The shortest ping interval a job may ask for: the host's loop is shared.
MIN_INTERVAL = 0.01


class _Lines(io.StringIO):
    """What a tool prints, taken a complete line at a time."""

    def take(self) -> list[str]:
        text = self.getvalue()
        end = text.rfind("\n")
        if end < 0:
            return []
        self.seek(0)
        self.truncate()
        self.write(text[end + 1 :])
        return text[:end].split("\n")


class Job:
    """A tool running inside the host. Subclasses fill ``_step``."""

    def __init__(self) -> None:
        self.out = _Lines()
        self.status: int | None = None  # set when finished
        self.wake = 0.0
        self._reported = False  # the "done" line is out

    @property
    def finished(self) -> bool:
        return self.status is not None

    def next_deadline(self) -> float | None:
        if self.finished:
            return None if self._reported else 0.0
        return 0.0 if self._pending() else self.wake

    def poll(self, now: float) -> list[dict[str, Any]]:
        """Run what is due; the answer lines to send (the last one ``done`` when over)."""
        if not self.finished:
            self._step(now)
        out: list[dict[str, Any]] = [{"line": line} for line in self.out.take()]
        if self.finished and not self._reported:
            self._reported = True
            out.append({"done": True, "status": self.status})
        return out

    def cancel(self, now: float) -> None:
        """The client has gone: stop, and free the sockets."""
        if not self.finished:
            self._close()
            self.status = 130
        self._reported = True

    def stop(self, now: float) -> None:
        """The client was interrupted: end as the tool ends on SIGINT (the next poll
        sends the last lines)."""
        if not self.finished:
            self._interrupt()
            self.wake = now

    def _interrupt(self) -> None:
        raise NotImplementedError

    def _pending(self) -> bool:
        return False

    def _step(self, now: float) -> None:
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError


def _queue_of(sock: Socket) -> bool:
    return bool(sock.queue)


class PingJob(Job):
    def __init__(self, stack: Stack, destination: str, opts: PingOptions) -> None:
        super().__init__()
        dst = resolve(stack, destination)
        self.pinger = Pinger(stack, destination, dst, opts, self.out)
        self.pinger.start()

    def _pending(self) -> bool:
        return _queue_of(self.pinger.sock)

    def _step(self, now: float) -> None:
        pinger = self.pinger
        sock = pinger.sock
        while sock.queue:
            item = sock.queue.popleft()
            pinger.take(item.data, str(item.address[0]), item.hop_limit)
        until = pinger.step()
        if until is None:
            self.status = pinger.finish()
        else:
            self.wake = until

    def _close(self) -> None:
        self.pinger.sock.close()

    def _interrupt(self) -> None:
        self.status = self.pinger.finish()


class TraceJob(Job):
    def __init__(self, stack: Stack, destination: str, opts: TraceOptions) -> None:
        super().__init__()
        self.stack = stack
        self.opts = opts
        dst = resolve(stack, destination)
        for line in header_lines(destination, dst, None, opts):
            print(line, file=self.out)
        self.tracer = Tracer(stack, dst, opts)
        self.hops = 1
        self.answers: list[Answer | None] = []
        self.probe: tuple[int, float] | None = None  # (serial, sent) of the probe out

    def _pending(self) -> bool:
        return _queue_of(self.tracer.listener)

    def _step(self, now: float) -> None:
        tracer = self.tracer
        listener = tracer.listener
        if self.probe is not None:
            serial, sent = self.probe
            while listener.queue:
                item = listener.queue.popleft()
                answer = tracer.match(item.data, str(item.address[0]), serial, sent)
                if answer is not None:
                    self._answered(answer)
                    break
            else:
                if now >= sent + self.opts.wait:
                    self._answered(None)
        if self.finished:
            return
        if self.probe is None:
            listener.queue.clear()  # late answers to earlier probes
            try:
                self.probe = tracer.send_probe(self.hops)
            except OSError as exc:
                print(f"tracert6: {exc.strerror or exc}", file=self.out)
                self._end(2)
                return
        self.wake = self.probe[1] + self.opts.wait

    def _answered(self, answer: Answer | None) -> None:
        self.probe = None
        self.answers.append(answer)
        if len(self.answers) < self.opts.probes:
            return
        line, reached, last = hop_line(self.hops, self.answers)
        print(line, file=self.out)
        self.answers = []
        if last or self.hops >= self.opts.max_hops:
            print("\nTrace complete.", file=self.out)
            self._end(0 if reached else 1)
            return
        self.hops += 1

    def _end(self, status: int) -> None:
        self.tracer.close()
        self.status = status

    def _close(self) -> None:
        self.tracer.close()

    def _interrupt(self) -> None:
        print("\nTrace complete.", file=self.out)
        self._end(1)


# -- ttcp -----------------------------------------------------------------------------------
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
            return conn.send_space > 0
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


def _number(args: Mapping[str, Any], key: str, kind: type, default: Any) -> Any:
    value = args.get(key, default)
    if value is None or value is default:
        return value
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ValueError(f"{key}: expected a {kind.__name__}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{key}: expected a finite number")
    return value


def _ttcp_job(stack: Stack, args: Mapping[str, Any]) -> Job:
    opts = TtcpOptions(
        buflen=_number(args, "buflen", int, ttcp.DEFAULT_BUFLEN),
        nbuf=_number(args, "nbuf", int, ttcp.DEFAULT_NBUF),
        port=_number(args, "port", int, ttcp.DEFAULT_PORT),
        udp=bool(args.get("udp", False)),
    )
    opts.check()
    if opts.udp:
        raise ValueError("-u: only TCP runs inside a host (for now)")
    transmit = args.get("transmit")
    if not isinstance(transmit, bool):
        raise ValueError('"transmit": true (-t) or false (-r)')
    if not transmit:
        return TtcpReceiveJob(stack, opts)
    destination = args.get("destination")
    if not isinstance(destination, str) or not destination:
        raise ValueError("-t: give the receiver's address")
    return TtcpTransmitJob(stack, destination, opts)


def start_job(stack: Stack, request: Mapping[str, Any]) -> Job:
    """The job a ``{"run": TOOL, "args": {...}}`` request asks for (ValueError: a bad
    request, its message one line for the client)."""
    tool = request.get("run")
    args = request.get("args", {})
    if tool not in TOOLS:
        raise ValueError(f"unknown tool {tool!r} (known: {', '.join(TOOLS)})")
    if not isinstance(args, dict):
        raise ValueError('"args" is a JSON object')
    if tool == "ttcp":
        try:
            return _ttcp_job(stack, args)
        except OSError as exc:
            raise ValueError(f"ttcp: {_why(exc)}") from None
        except ValueError as exc:
            raise ValueError(f"ttcp: {exc}") from None
    destination = args.get("destination")
    if not isinstance(destination, str) or not destination:
        raise ValueError(f"{tool}: give a destination address")
    try:
        if tool == "ping6":
            popts = PingOptions(
                count=_number(args, "count", int, None),
                interval=_number(args, "interval", float, ping6.DEFAULT_INTERVAL),
                size=_number(args, "size", int, ping6.DEFAULT_SIZE),
                hop_limit=_number(args, "hop_limit", int, None),
                tclass=_number(args, "tclass", int, None),
                timeout=_number(args, "timeout", float, ping6.DEFAULT_TIMEOUT),
                pmtudisc=str(args.get("pmtudisc", "dont")),
            )
            popts.check()
            if popts.interval < MIN_INTERVAL:
                raise ValueError(f"interval {popts.interval}: at least {MIN_INTERVAL} s here")
            return PingJob(stack, destination, popts)
        topts = TraceOptions(
            max_hops=_number(args, "max_hops", int, tracert6.DEFAULT_MAX_HOPS),
            probes=_number(args, "probes", int, tracert6.DEFAULT_PROBES),
            wait=_number(args, "wait", float, tracert6.DEFAULT_WAIT),
            udp=bool(args.get("udp", False)),
        )
        topts.check()
        return TraceJob(stack, destination, topts)
    except OSError as exc:
        raise ValueError(f"{tool}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise ValueError(f"{tool}: {exc}") from None


__all__ = ["TOOLS", "Job", "PingJob", "TraceJob", "TtcpReceiveJob", "TtcpTransmitJob", "start_job"]
