"""Applications as generators that never block, over tcpip6's TCP connections.

A protocol conversation (an FTP session, say) is written once, as a generator that yields
a :class:`Wait` (a readiness test and a deadline) whenever it cannot go on, and runs in
every place a tool runs:

- :func:`run_blocking` waits with the stack's driver (``driver.wait``): a simnet world on
  its fake clock, or the loopback host on real time (a command-line tool);
- :class:`Resumable` resumes it from the connections' change callbacks (a server in any
  host: simnet or live), never from inside a wait;
- a control-socket job resumes it when it is ready or its deadline has passed
  (:class:`StepsJob`, used by ``tcpip6 ftp6 --control``).

The helpers move octets with the connection's non-blocking calls (``send`` of what
``send_space`` allows, ``read`` of what ``rcvbuf`` holds), so a step never waits inside
the stack.
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import TypeVar

from tcpip6.api.sockets import Driver, Stack
from tcpip6.stack.machines.tcp import TcpState
from tcpip6.stack.tcp import Connection

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Wait:
    """Resume when ``ready()`` or at ``deadline`` (driver time; None: no deadline)."""

    ready: Callable[[], bool]
    deadline: float | None = None


Steps = Generator[Wait, None, T]


def run_blocking(steps: Steps[T], driver: Driver) -> T:
    """Run ``steps`` to its end, letting ``driver`` run the network while it waits."""
    try:
        wait = next(steps)
        while True:
            timeout = None if wait.deadline is None else max(0.0, wait.deadline - driver.now)
            driver.wait(wait.ready, timeout)
            wait = steps.send(None)
    except StopIteration as stop:
        result: T = stop.value
        return result


class Resumable:
    """A generator resumed from callbacks: :meth:`kick` runs it while it is ready.

    A kick from inside a step (a ``send`` that calls a change callback at once) returns at
    once; the outer loop looks at the readiness again after the step."""

    def __init__(self, steps: Steps[None], on_end: Callable[[BaseException | None], None]) -> None:
        self.steps = steps
        self.on_end = on_end
        self.wait: Wait | None = None
        self.ended = False
        self._started = False
        self._running = False
        self._close_pending = False

    def kick(self) -> None:
        if self._running or self.ended:
            return
        self._running = True
        try:
            while not self.ended and (not self._started or (self.wait and self.wait.ready())):
                self._started = True
                try:
                    self.wait = self.steps.send(None)
                except StopIteration:
                    self._end(None)
                except (OSError, ValueError) as exc:
                    self._end(exc)
        finally:
            self._running = False
            if self._close_pending:
                self.steps.close()

    def _end(self, exc: BaseException | None) -> None:
        self.ended = True
        self.on_end(exc)

    def close(self) -> None:
        """Stop: the generator's ``finally`` blocks run (at once, or when the step that
        asked for the close returns)."""
        if self.ended:
            return
        self.ended = True
        if self._running:
            self._close_pending = True
        else:
            self.steps.close()


# -- waiting on a connection ------------------------------------------------------------------
def broken(conn: Connection) -> bool:
    return conn.error is not None or conn.state is TcpState.CLOSED


def until(ready: Callable[[], bool], deadline: float | None, what: str) -> Steps[None]:
    """Wait for ``ready()``; TimeoutError when the deadline passes first."""
    if ready():
        return
    yield Wait(ready, deadline)
    if not ready():
        raise TimeoutError(errno.ETIMEDOUT, f"timed out ({what})")


def connect(
    stack: Stack, host: str, port: int, timeout: float, *, local: str | None = None
) -> Steps[Connection]:
    """An active open to ``host``:``port`` (a scoped address); the connection, ESTABLISHED."""
    from ipaddress import IPv6Address

    dst, zone = stack.host.scoped_destination(host)
    now = stack.driver.now
    src = IPv6Address(local) if local is not None else None
    conn = stack.host.tcp.connect(dst, port, now, local=src, interface=zone)
    try:
        yield from until(lambda: conn.state is not TcpState.SYN_SENT, now + timeout, "connect")
    except TimeoutError:
        conn.abort(stack.driver.now)
        raise
    if conn.state not in (TcpState.ESTABLISHED, TcpState.CLOSE_WAIT):
        raise conn.error or ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
    return conn


def send_all(stack: Stack, conn: Connection, data: bytes, timeout: float | None) -> Steps[None]:
    """Queue all of ``data``, waiting for room (``timeout`` of no progress at a time)."""
    view = memoryview(data)
    while view:
        if conn.error is not None:
            raise conn.error
        n = conn.send(view, stack.driver.now) if conn.send_space > 0 else 0
        view = view[n:]
        if view:
            deadline = None if timeout is None else stack.driver.now + timeout
            yield from until(lambda: conn.send_space > 0 or broken(conn), deadline, "send")


def readable(conn: Connection) -> bool:
    """Data to read, the peer's FIN, or the connection's end."""
    return bool(conn.rcvbuf) or conn.eof or broken(conn)


def finished_sending(conn: Connection) -> bool:
    """Our FIN is acknowledged (everything before it arrived), or the connection ended."""
    return conn.fin_acked or conn.state in (TcpState.TIME_WAIT, TcpState.CLOSED)


class LineReader:
    """CRLF-terminated lines (RFC 959 §4.2 Telnet lines) from a connection, at most
    ``limit`` octets each (ValueError beyond: the peer is not speaking the protocol)."""

    def __init__(self, stack: Stack, conn: Connection, limit: int) -> None:
        self.stack = stack
        self.conn = conn
        self.limit = limit
        self.buf = bytearray()

    def line(self, timeout: float | None) -> Steps[str | None]:
        """The next line without its end of line; None at the peer's FIN."""
        conn = self.conn
        while (end := self.buf.find(b"\n")) < 0:
            if len(self.buf) > self.limit:
                raise ValueError(f"a line longer than {self.limit} octets")
            data = conn.read(self.limit + 2 - len(self.buf), self.stack.driver.now)
            if data:
                self.buf += data
                continue
            if conn.eof or broken(conn):
                if conn.error is not None and not conn.eof:
                    raise conn.error
                return None
            deadline = None if timeout is None else self.stack.driver.now + timeout
            yield from until(lambda: readable(conn), deadline, "a reply line")
        raw = bytes(self.buf[:end])
        del self.buf[: end + 1]
        return raw.rstrip(b"\r").decode("utf-8", "replace")


def release(stack: Stack, conn: Connection, abort: bool = False) -> None:
    """Let go of a connection: a FIN after what is queued (an RST with ``abort``)."""
    now = stack.driver.now
    if abort:
        conn.abort(now)
    else:
        conn.close(now)
    conn.orphan(now)


class StepsRunner:
    """What a control-socket job needs to step a generator: resume it when it is ready or
    its deadline has passed."""

    def __init__(self, steps: Steps[int]) -> None:
        self.steps = steps
        self.wait: Wait | None = None
        self.result: int | None = None

    def pending(self) -> bool:
        return self.wait is None or self.wait.ready()

    def step(self, now: float) -> float:
        """Resume if due; the next time to look (the job's wake)."""
        while self.result is None and (
            self.wait is None
            or self.wait.ready()
            or (self.wait.deadline is not None and now >= self.wait.deadline)
        ):
            try:
                self.wait = self.steps.send(None)
            except StopIteration as stop:
                self.result = int(stop.value)
        if self.wait is None or self.wait.deadline is None:
            return now + 1.0
        return self.wait.deadline


__all__ = [
    "LineReader",
    "Resumable",
    "Steps",
    "StepsRunner",
    "Wait",
    "connect",
    "run_blocking",
    "send_all",
    "until",
]
