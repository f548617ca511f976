"""The control socket of a live host: a Unix stream socket that answers questions about
the running stack, one JSON line in, one JSON line out::

    -> {"show": "neighbors"}
    <- {"neighbors": [{"interface": "eth1", "neighbor": "fe80::1", ...}]}
    -> {"show": "nonsense"}
    <- {"error": "unknown view 'nonsense' (known: ...)"}

:class:`ControlServer` never blocks the stack. The listening socket and every client are
sources of a :class:`~tcpip6.io.runtime.LiveDriver` (its ``select`` wakes them), and the
server is a node of the driver too, so that an answer the client was too slow to take is
sent a piece at a time while the stack runs. Everything is bounded: at most
``max_clients`` connections (one more is told so and closed), requests of at most
``max_request`` octets (a longer one is an error, and the connection is closed), answers
waiting to be sent of at most ``max_pending`` octets, and a client silent for
``idle_timeout`` seconds is closed. A bad request gets an error line, never a crash.

A request may also start a job (``tcpip6 ping6 --control``): the handler then returns a
:class:`Job` instead of an answer, and the server streams the job's lines to that client
as the job makes them, polling it when it asks (the last line says ``done``). At most
``max_jobs`` run at once (one more is an error line); one job per connection; ``{"stop": true}`` on
that connection ends it as an interrupt ends the tool (statistics included), and a
client that goes away cancels its job.

:func:`request` is the client side (``tcpip6 show``), :func:`stream` the client of a job.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

#: Where a host's control socket is unless it is told otherwise: ``<name>.sock`` here.
DEFAULT_DIR = Path("/run/tcpip6")
#: Connections served at once.
MAX_CLIENTS = 8
#: The longest request line, newline included.
MAX_REQUEST = 4096
#: Answer octets waiting for a slow client before it is dropped.
MAX_PENDING = 4 * 1024 * 1024
#: A client that sends nothing and has nothing to take for this long is closed.
IDLE_TIMEOUT = 30.0
#: How soon the server tries again to send to a client whose socket was full.
RETRY_INTERVAL = 0.02
#: Jobs running at once (over all connections).
MAX_JOBS = 4
#: Connections accepted per wake-up.
ACCEPT_BUDGET = 16
READ_SIZE = 4096


class Job(Protocol):
    """Something a request started that answers over time (see :mod:`tcpip6.apps.jobs`)."""

    @property
    def finished(self) -> bool: ...

    def next_deadline(self) -> float | None: ...

    def poll(self, now: float) -> list[dict[str, Any]]: ...

    def cancel(self, now: float) -> None: ...

    def stop(self, now: float) -> None: ...


#: ``handler(request) -> answer``: the request is a decoded JSON object; raise
#: ValueError for a bad one (its message becomes the error line). A :class:`Job`
#: instead of an answer streams its lines.
Handler = Callable[[dict[str, Any]], "dict[str, Any] | Job"]


class ControlError(Exception):
    """The control socket cannot be made or reached: one line, with the path."""


class Driver(Protocol):
    """What the server needs of :class:`~tcpip6.io.runtime.LiveDriver`."""

    @property
    def now(self) -> float: ...

    def add(self, node: Any) -> None: ...

    def add_source(self, source: Any) -> None: ...

    def remove_source(self, source: Any) -> None: ...


class Listener:
    """A listening stream socket served by a :class:`Driver`: each wake-up accepts up to
    ``ACCEPT_BUDGET`` connections, refuses those beyond ``max_clients`` and hands the
    others to :meth:`accepted`, whose answer the driver then polls. The control server and
    the SOCKS relay are both one."""

    sock: socket.socket
    driver: Driver | None
    max_clients: int

    def clients_open(self) -> int:
        """How many accepted connections are still open."""
        raise NotImplementedError

    def refuse(self, conn: socket.socket) -> None:
        """Account for ``conn``, refused for want of room (it is closed after this)."""
        raise NotImplementedError

    def accepted(self, conn: socket.socket, peer: Any, now: float) -> object:
        """Take ``conn`` from ``peer``: return what the driver polls for its input."""
        raise NotImplementedError

    def attach(self, driver: Driver) -> None:
        self.driver = driver
        driver.add_source(self)
        driver.add(self)

    def fileno(self) -> int:
        return self.sock.fileno()

    def read_ready(self, now: float) -> int:
        """Accept waiting connections (beyond ``max_clients``: refused, and closed)."""
        accepted = 0
        for _ in range(ACCEPT_BUDGET):
            try:
                conn, peer = self.sock.accept()
            except OSError:
                break
            conn.setblocking(False)
            if self.clients_open() >= self.max_clients:
                self.refuse(conn)
                conn.close()
                continue
            source = self.accepted(conn, peer, now)
            if self.driver is not None:
                self.driver.add_source(source)
            accepted += 1
        return accepted


def default_path(name: str) -> Path:
    """The control socket of the host called ``name`` (its host name) by default."""
    return DEFAULT_DIR / f"{name}.sock"


def _line(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode() + b"\n"


def error_line(message: str) -> bytes:
    return _line({"error": message})


class _Client:
    """One connection: what it sent so far, and what is still to send it."""

    def __init__(self, server: ControlServer, sock: socket.socket, now: float) -> None:
        self.server = server
        self.sock = sock
        self.inbox = bytearray()
        self.outbox = bytearray()
        #: When the client last sent something or took some of its answers.
        self.last_active = now
        #: When to try again to send an answer its socket had no room for.
        self.retry_at = now
        self.closing = False  # close once the outbox is empty
        self.closed = False
        self.job: Job | None = None

    def fileno(self) -> int:
        return self.sock.fileno()

    def read_ready(self, now: float) -> int:
        try:
            data = self.sock.recv(READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return 0
        except OSError:
            self.server.drop(self)
            return 0
        if not data:
            self.server.drop(self)
            return 0
        self.last_active = now
        if self.closing:
            return 0  # the last answer is on its way; nothing more is read
        self.inbox += data
        handled = 0
        while (end := self.inbox.find(b"\n")) >= 0 and not self.closing:
            line = bytes(self.inbox[:end])
            del self.inbox[: end + 1]
            self.answer(self.server.answer(line, self))
            handled += 1
        if len(self.inbox) >= self.server.max_request:
            self.inbox.clear()
            self.answer(error_line(f"request longer than {self.server.max_request} octets"))
            self.closing = True
        self.flush(now)
        return handled

    def answer(self, data: bytes) -> None:
        if len(self.outbox) + len(data) > self.server.max_pending:
            self.outbox.clear()
            self.closing = True
            data = error_line("answers not read: closing")
        self.outbox += data

    def flush(self, now: float) -> None:
        while self.outbox:
            try:
                sent = self.sock.send(self.outbox)
            except (BlockingIOError, InterruptedError):
                return  # the server's poll tries again
            except OSError:
                self.server.drop(self)
                return
            del self.outbox[:sent]
            self.last_active = now
        if self.closing:
            self.server.drop(self)


class ControlServer(Listener):
    """A Unix stream socket at ``path`` answering one JSON line with one JSON line.

    :meth:`attach` hands it to a driver; :meth:`close` closes every connection and
    removes the socket file.
    """

    def __init__(
        self,
        path: Path,
        handler: Handler,
        *,
        max_clients: int = MAX_CLIENTS,
        max_request: int = MAX_REQUEST,
        max_pending: int = MAX_PENDING,
        idle_timeout: float = IDLE_TIMEOUT,
        max_jobs: int = MAX_JOBS,
    ) -> None:
        self.path = Path(path)
        self.handler = handler
        self.max_clients = max_clients
        self.max_request = max_request
        self.max_pending = max_pending
        self.idle_timeout = idle_timeout
        self.max_jobs = max_jobs
        self.clients: list[_Client] = []
        self.refused = 0
        self.errors = 0
        self.driver: Driver | None = None
        self.sock = self._listen(self.path)

    @staticmethod
    def _listen(path: Path) -> socket.socket:
        try:
            if not path.parent.exists():
                path.parent.mkdir(mode=0o700, parents=True)
            if path.exists() or path.is_symlink():
                if not stat.S_ISSOCK(path.lstat().st_mode):
                    raise ControlError(f"control socket {path}: exists and is not a socket")
                if _alive(path):
                    raise ControlError(f"control socket {path}: another host is serving it")
                path.unlink()  # left behind by a host that did not exit cleanly
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        except OSError as exc:
            raise ControlError(f"control socket {path}: {exc.strerror or exc}") from None
        try:
            sock.bind(str(path))
            os.chmod(path, 0o600)
            sock.listen(MAX_CLIENTS)
            sock.setblocking(False)
        except OSError as exc:
            sock.close()
            raise ControlError(f"control socket {path}: {exc.strerror or exc}") from None
        return sock

    # -- driver (Listener) -----------------------------------------------------------------
    def clients_open(self) -> int:
        return len(self.clients)

    def refuse(self, conn: socket.socket) -> None:
        """Told so in one error line."""
        self.refused += 1
        with contextlib.suppress(OSError):
            conn.send(error_line(f"busy: {self.max_clients} clients already"))

    def accepted(self, conn: socket.socket, peer: Any, now: float) -> object:
        client = _Client(self, conn, now)
        self.clients.append(client)
        return client

    def next_deadline(self) -> float | None:
        times = [c.last_active + self.idle_timeout for c in self.clients if c.job is None]
        times += [c.retry_at for c in self.clients if c.outbox]
        times += [d for c in self.clients if c.job and (d := c.job.next_deadline()) is not None]
        return min(times) if times else None

    def poll(self, now: float) -> float | None:
        for client in list(self.clients):
            job = client.job
            if job is not None and (d := job.next_deadline()) is not None and d <= now:
                for line in job.poll(now):
                    client.answer(_line(line))
                if job.finished:
                    client.job = None
                client.last_active = now
                client.flush(now)
                if client.closed:
                    continue
            if client.job is not None:
                continue  # a running job keeps its client
            if client.outbox and client.retry_at <= now:
                client.flush(now)
                client.retry_at = now + RETRY_INTERVAL
            if not client.closed and now - client.last_active >= self.idle_timeout:
                self.drop(client)  # silent, or took none of its answers, for that long
        return self.next_deadline()

    # -- requests -------------------------------------------------------------------------
    def answer(self, line: bytes, client: _Client | None = None) -> bytes:
        """One request line -> one answer line (an error line for a bad request); a job
        the handler starts is given to ``client``, and its lines come later."""
        try:
            request = json.loads(line)
        except (UnicodeDecodeError, ValueError):
            self.errors += 1
            return error_line("not a JSON line")
        if not isinstance(request, dict):
            self.errors += 1
            return error_line('a request is a JSON object, e.g. {"show": "neighbors"}')
        if client is not None and client.job is not None:
            if request == {"stop": True}:
                # Ctrl-C at the client: the job ends as the tool would (statistics).
                client.job.stop(self.driver.now if self.driver is not None else 0.0)
                return b""
            self.errors += 1
            return error_line("a job is running on this connection")
        if "run" in request and sum(c.job is not None for c in self.clients) >= self.max_jobs:
            self.errors += 1
            return error_line(f"busy: {self.max_jobs} jobs running already")
        try:
            result = self.handler(request)
            if isinstance(result, dict):
                return _line(result)
            if client is None:
                result.cancel(self.driver.now if self.driver is not None else 0.0)
                raise ValueError("a job needs a connection to answer on")
            client.job = result
            return b""
        except ValueError as exc:
            self.errors += 1
            return error_line(str(exc))
        except Exception as exc:  # a bug in a view must not stop the host
            self.errors += 1
            return error_line(f"internal error: {type(exc).__name__}: {exc}")

    def drop(self, client: _Client) -> None:
        if client.closed:
            return
        client.closed = True
        if client.job is not None:
            client.job.cancel(self.driver.now if self.driver is not None else 0.0)
            client.job = None
        if client in self.clients:
            self.clients.remove(client)
        if self.driver is not None:
            with contextlib.suppress(KeyError, ValueError, OSError):
                self.driver.remove_source(client)
        client.sock.close()

    def close(self) -> None:
        for client in list(self.clients):
            self.drop(client)
        if self.driver is not None:
            with contextlib.suppress(KeyError, ValueError, OSError):
                self.driver.remove_source(self)
        self.sock.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def _alive(path: Path) -> bool:
    """Someone accepts connections at ``path``."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.settimeout(1.0)
        probe.connect(str(path))
        return True
    except OSError:
        return False
    finally:
        probe.close()


def _send_request(path: Path, obj: dict[str, Any], timeout: float) -> socket.socket:
    """A connection to the control socket at ``path`` with ``obj`` sent on it.
    ControlError (one line, with the path) when nothing answers there."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(str(path))
        sock.sendall(_line(obj))
    except FileNotFoundError:
        sock.close()
        raise ControlError(f"no control socket at {path} (is tcpip6 host running?)") from None
    except OSError as exc:
        sock.close()
        raise ControlError(f"control socket {path}: {exc.strerror or exc}") from None
    return sock


def request(path: Path, obj: dict[str, Any], timeout: float = 5.0) -> dict[str, Any]:
    """Send one request to the control socket at ``path``; the decoded answer.
    ControlError (one line, with the path) when nothing answers there."""
    sock = _send_request(path, obj, timeout)
    try:
        try:
            data = bytearray()
            while not data.endswith(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        except OSError as exc:
            raise ControlError(f"control socket {path}: {exc.strerror or exc}") from None
    finally:
        sock.close()
    if not data.endswith(b"\n"):
        raise ControlError(f"control socket {path}: closed without an answer")
    try:
        answer = json.loads(data)
    except ValueError:
        raise ControlError(f"control socket {path}: the answer is not JSON") from None
    if not isinstance(answer, dict):
        raise ControlError(f"control socket {path}: the answer is not a JSON object")
    return answer


def stream(path: Path, obj: dict[str, Any], timeout: float = 5.0) -> Iterator[dict[str, Any]]:
    """Send a request that starts a job; yield each answer line as it comes, until the
    one that says ``done`` (or an ``error``). ControlError when the socket fails."""
    sock = _send_request(path, obj, timeout)
    try:
        try:
            sock.settimeout(None)  # a job answers when it has something to say
            data = bytearray()
            while True:
                while (end := data.find(b"\n")) >= 0:
                    line = bytes(data[:end])
                    del data[: end + 1]
                    try:
                        answer = json.loads(line)
                    except ValueError:
                        answer = None
                    if not isinstance(answer, dict):
                        raise ControlError(f"control socket {path}: an answer is not a JSON object")
                    yield answer
                    if "done" in answer or "error" in answer:
                        return
                try:
                    chunk = sock.recv(65536)
                except KeyboardInterrupt:
                    # As an interrupted tool: it stops and prints its summary.
                    sock.sendall(_line({"stop": True}))
                    continue
                if not chunk:
                    raise ControlError(f"control socket {path}: closed before the job was done")
                data += chunk
        except OSError as exc:
            raise ControlError(f"control socket {path}: {exc.strerror or exc}") from None
    finally:
        sock.close()


__all__ = [
    "DEFAULT_DIR",
    "ControlError",
    "ControlServer",
    "Handler",
    "Job",
    "default_path",
    "error_line",
    "request",
    "stream",
]
