"""TCP servers that run on any driver (simnet's fake clock, the live host, loopback).

A server listens with a stream socket; each connection gets a :class:`StreamHandler`
whose ``changed()`` runs whenever the connection may have moved (data arrived, the send
buffer has room, the peer closed, a reset). Handlers use the connection's non-blocking
calls only (``read``, ``send`` of what ``send_space`` allows, ``close``), so they never
wait inside the stack, and they never hold more than the socket buffers do: a handler
reads only what it can answer now, and the receive window closes on a client that sends
faster than it reads.

Connections beyond ``max_connections`` wait in the listener's accept queue (bounded by
the backlog; beyond that the stack drops SYNs and counts them) until one finishes.
"""

from __future__ import annotations

from collections.abc import Callable

from tcpip6.api.sockets import AF_INET6, SOCK_STREAM, Stack
from tcpip6.api.stream import StreamSocket
from tcpip6.stack.machines.tcp import TcpState
from tcpip6.stack.tcp import Connection

#: Connections a server handles at once, and its listen backlog.
DEFAULT_MAX_CONNECTIONS = 32
DEFAULT_BACKLOG = 16


class StreamHandler:
    """One connection's application. Subclasses override :meth:`started` and
    :meth:`changed`, and call :meth:`finish` when done."""

    def __init__(self, server: TcpServer, conn: Connection) -> None:
        self.server = server
        self.conn = conn
        self.done = False

    @property
    def now(self) -> float:
        return self.server.stack.driver.now

    def started(self) -> None:
        """The connection was accepted."""
        self.changed()

    def changed(self) -> None:
        """Something may have happened: data, room to send, the peer's FIN."""

    def read(self, n: int = 1 << 16) -> bytes:
        return self.conn.read(n, self.now)

    def send_some(self, data: bytes | memoryview) -> int:
        """Queue what the send buffer takes of ``data`` now; the octets taken (0 on a
        broken connection: ``_dispatch`` then finishes the handler)."""
        if not data or self.conn.send_space <= 0:
            return 0
        try:
            return self.conn.send(data, self.now)
        except OSError:
            return 0

    @property
    def peer_closed(self) -> bool:
        """The peer's FIN has arrived and everything before it has been read."""
        return self.conn.eof and not self.conn.rcvbuf

    def finish(self, abort: bool = False) -> None:
        """Close (the FIN follows what is queued) and let the connection end alone."""
        if self.done:
            return
        self.done = True
        now = self.now
        conn = self.conn
        if abort or conn.rcvbuf:
            conn.abort(now)  # unread data: RFC 2525 §2.17, as a socket's close does
        else:
            conn.close(now)
        conn.orphan(now)
        self.server.release(self)


class TcpServer:
    """A listening socket whose connections are handled by ``factory(server, conn)``."""

    def __init__(
        self,
        stack: Stack,
        port: int,
        factory: Callable[[TcpServer, Connection], StreamHandler],
        *,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        backlog: int = DEFAULT_BACKLOG,
        address: str = "::",
    ) -> None:
        self.stack = stack
        self.factory = factory
        self.max_connections = max_connections
        self.handlers: set[StreamHandler] = set()
        self.accepted = 0
        self.sock: StreamSocket = stack.socket(AF_INET6, SOCK_STREAM)
        try:
            self.sock.bind((address, port))
            self.sock.listen(backlog)
        except OSError:
            self.sock.close()
            raise
        self.listener = self.sock.listener
        assert self.listener is not None
        self.listener.on_change = lambda _: self._accept()

    @property
    def port(self) -> int:
        return self.sock.getsockname()[1]

    def _accept(self) -> None:
        listener = self.listener
        assert listener is not None
        while listener.accept_queue and len(self.handlers) < self.max_connections:
            conn = listener.accept_queue.popleft()
            handler = self.factory(self, conn)
            self.handlers.add(handler)
            self.accepted += 1
            conn.on_change = lambda _, h=handler: _dispatch(h)
            handler.started()

    def release(self, handler: StreamHandler) -> None:
        self.handlers.discard(handler)
        if not self.sock.closed:
            self._accept()

    def close(self) -> None:
        """Stop listening and reset the connections still being served."""
        self.sock.close()
        for handler in list(self.handlers):
            handler.finish(abort=True)


def _dispatch(handler: StreamHandler) -> None:
    conn = handler.conn
    if handler.done:
        return
    if conn.error is not None or conn.state is TcpState.CLOSED:
        conn.error = None  # reported here: the peer reset or the connection timed out
        handler.done = True
        conn.on_change = None
        handler.server.release(handler)
        return
    handler.changed()
