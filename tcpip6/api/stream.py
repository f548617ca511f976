"""TCP sockets, shaped like the standard library's, and the asyncio streams face.

``stack.socket(AF_INET6, SOCK_STREAM)`` gives a :class:`StreamSocket`::

    srv = stack.socket(AF_INET6, SOCK_STREAM)
    srv.bind(("::", 80)); srv.listen(16)
    conn, peer = srv.accept()
    conn.sendall(conn.recv(4096))

    cli = stack.socket(AF_INET6, SOCK_STREAM)
    cli.connect(("2001:db8::1", 80))

Blocking calls let the stack's driver run the network until they can complete (the fake
clock on simnet, real time on a live host); ``settimeout`` and ``setblocking(False)``
behave as in :mod:`socket` (``TimeoutError``, ``BlockingIOError``). Options are the
standard library's names: ``TCP_NODELAY`` (Nagle off), ``SO_KEEPALIVE`` with
``TCP_KEEPIDLE``/``TCP_KEEPINTVL``/``TCP_KEEPCNT``, ``SO_LINGER`` (``(1, 0)``: close
aborts with an RST), ``SO_RCVBUF``/``SO_SNDBUF`` (before connect or listen),
``TCP_CONGESTION`` (``b"reno"`` or ``b"cubic"``), and tcpip6's own ``TCP_MIN_RTO`` (the
RFC 6298 §2.4 minimum RTO in milliseconds). ``MSG_OOB``
on ``send`` sends urgent data (RFC 9293 §3.8.5).

The asyncio face is :func:`open_connection` and :func:`start_server`, returning the
standard library's ``StreamReader``/``StreamWriter`` over a tcpip6 connection (the
driver must be running as a task: ``RealTimeDriver.serve``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import socket as _socket
import struct
from collections.abc import Awaitable, Callable
from ipaddress import IPv6Address
from typing import TYPE_CHECKING, Any, Final

from tcpip6.api.sockets import SocketBase, _int
from tcpip6.stack.machines.tcp import TcpState
from tcpip6.stack.tcp import Connection, TcpParameters
from tcpip6.stack.tcp.congestion import CONGESTION_CONTROLS

if TYPE_CHECKING:
    from tcpip6.api.sockets import Address, Stack
    from tcpip6.stack.interface import Interface

SOCK_STREAM: Final = _socket.SocketKind.SOCK_STREAM
IPPROTO_TCP = _socket.IPPROTO_TCP
SOL_SOCKET = _socket.SOL_SOCKET
TCP_NODELAY = _socket.TCP_NODELAY
TCP_MAXSEG = _socket.TCP_MAXSEG
TCP_KEEPIDLE = getattr(_socket, "TCP_KEEPIDLE", 4)
TCP_KEEPINTVL = getattr(_socket, "TCP_KEEPINTVL", 5)
TCP_KEEPCNT = getattr(_socket, "TCP_KEEPCNT", 6)
#: Linux's TCP_CONGESTION: the congestion control by name (bytes, as Linux takes it).
TCP_CONGESTION = getattr(_socket, "TCP_CONGESTION", 13)
#: tcpip6's own: the minimum retransmission timeout of RFC 6298 §2.4, in milliseconds
#: (Linux fixes 200 ms, Windows 300 ms; RFC 6298's 1 s is the default). A number no
#: Linux TCP option uses.
TCP_MIN_RTO = 0x7401
#: The bounds TCP_MIN_RTO accepts, in milliseconds.
MIN_RTO_RANGE = (1, 60_000)
SO_KEEPALIVE = _socket.SO_KEEPALIVE
SO_LINGER = _socket.SO_LINGER
SO_RCVBUF = _socket.SO_RCVBUF
SO_SNDBUF = _socket.SO_SNDBUF
SO_ERROR = _socket.SO_ERROR
SO_REUSEADDR = _socket.SO_REUSEADDR
MSG_OOB = _socket.MSG_OOB
MSG_PEEK = _socket.MSG_PEEK
SHUT_RD = _socket.SHUT_RD
SHUT_WR = _socket.SHUT_WR
SHUT_RDWR = _socket.SHUT_RDWR
#: The backlog ``listen()`` uses when given none (Python's default: min(128, SOMAXCONN)).
DEFAULT_BACKLOG = 128
#: Buffer sizes a socket accepts (SO_RCVBUF / SO_SNDBUF).
MIN_BUFFER = 2048
MAX_BUFFER = 4 * 1024 * 1024

S = TcpState


class StreamSocket(SocketBase):
    """A TCP socket. See the module docstring."""

    def __init__(self, stack: Stack, conn: Connection | None = None) -> None:
        self.stack = stack
        self.host = stack.host
        self.family = _socket.AF_INET6
        self.type = SOCK_STREAM
        self.proto = IPPROTO_TCP
        self.params: TcpParameters = dataclasses.replace(self.host.tcp.params)
        self.conn = conn
        self.listener: Connection | None = None
        self.local_address: IPv6Address = IPv6Address("::")
        self.local_port = 0
        self.bound_interface: Interface | None = None
        self.linger: tuple[int, int] = (0, 0)
        self.nodelay = False
        self.keepalive = False
        self.closed = False
        self._timeout: float | None = None
        self._reserved = False  # bind() holds the port until listen/connect/close
        if conn is not None:
            self.local_address, self.local_port = conn.local_address, conn.local_port
            self.nodelay = conn.nodelay

    def __repr__(self) -> str:
        state = self.conn.state.name if self.conn else ("LISTEN" if self.listener else "CLOSED")
        return f"<tcpip6 socket stream {self.getsockname()} {state}>"

    # -- opening ---------------------------------------------------------------------------
    def bind(self, address: tuple[Any, ...]) -> None:
        self._check_open()
        if self.local_port or self.conn is not None or self.listener is not None:
            raise OSError(errno.EINVAL, "already bound")
        addr, port, iface = self.stack.resolve(address)
        if addr.is_multicast:
            raise OSError(errno.EINVAL, "TCP cannot bind a multicast address")
        if not addr.is_unspecified and self.host.local_interface_for(addr) is None:
            raise OSError(errno.EADDRNOTAVAIL, f"{addr} is not an address of this host")
        port = self.host.tcp.reserve(addr, port)
        self.local_address, self.local_port, self.bound_interface = addr, port, iface
        self._reserved = True

    def listen(self, backlog: int = DEFAULT_BACKLOG) -> None:
        """RFC 9293 §3.10.1 passive OPEN; the backlog bounds the SYN queue and the accept queue."""
        self._check_open()
        if self.conn is not None:
            raise OSError(errno.EINVAL, "a connected socket cannot listen")
        if self.listener is not None:
            self.listener.backlog = max(1, min(backlog, self.params.max_backlog))
            return
        self._release()
        self.listener = self.host.tcp.listen(
            self.local_address,
            self.local_port,
            max(backlog, 1),
            self.stack.driver.now,
            params=self.params,
            interface=self.bound_interface,
        )
        self.listener.nodelay = self.nodelay
        self.listener.keepalive = self.keepalive
        self.local_port = self.listener.local_port

    def accept(self) -> tuple[StreamSocket, Address]:
        self._check_open()
        listener = self.listener
        if listener is None:
            raise OSError(errno.EINVAL, "accept() needs listen() first")
        if not self._wait(lambda: bool(listener.accept_queue) or self.closed, "connection"):
            raise OSError(errno.EBADF, "Bad file descriptor")
        conn = listener.accept_queue.popleft()
        sock = StreamSocket(self.stack, conn)
        sock.params = self.params
        sock.linger = self.linger
        return sock, sock.getpeername()

    def connect(self, address: tuple[Any, ...]) -> None:
        """RFC 9293 §3.10.1 active OPEN; blocks until ESTABLISHED (or refused, or timed out)."""
        self._check_open()
        if self.listener is not None:
            raise OSError(errno.EINVAL, "a listening socket cannot connect")
        if self.conn is None:
            dst, port, iface = self.stack.resolve(address)
            local = None if self.local_address.is_unspecified else self.local_address
            self._release()
            self.conn = self.host.tcp.connect(
                dst,
                port,
                self.stack.driver.now,
                local=local,
                local_port=self.local_port,
                interface=iface or self.bound_interface,
                params=self.params,
            )
            self.conn.nodelay = self.nodelay
            self.conn.set_keepalive(self.keepalive, self.stack.driver.now)
            self.local_address, self.local_port = self.conn.local_address, self.conn.local_port
        elif self.conn.state not in (S.SYN_SENT, S.SYN_RECEIVED):
            if self.conn.error is not None:
                raise self._take_error()
            raise OSError(errno.EISCONN, "already connected")
        conn = self.conn
        if self._timeout == 0.0 and conn.state is S.SYN_SENT:
            raise BlockingIOError(errno.EINPROGRESS, "Operation now in progress")
        if not self._wait(lambda: conn.state is not S.SYN_SENT, "connection"):
            raise OSError(errno.EBADF, "Bad file descriptor")
        if conn.error is not None:
            raise self._take_error()
        if conn.state is S.CLOSED:
            raise ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")

    def connect_ex(self, address: tuple[Any, ...]) -> int:
        try:
            self.connect(address)
        except OSError as exc:
            return exc.errno or errno.EIO
        return 0

    # -- data ------------------------------------------------------------------------------
    def send(self, data: bytes | bytearray | memoryview, flags: int = 0) -> int:
        """RFC 9293 §3.10.2 SEND: blocks until some of ``data`` fits in the send buffer."""
        conn = self._connected()
        view = memoryview(bytes(data))
        if not view:
            return 0
        if not self._wait(
            lambda: (
                conn.send_space > 0
                or conn.error is not None
                or conn.state not in (S.ESTABLISHED, S.CLOSE_WAIT, S.SYN_SENT, S.SYN_RECEIVED)
            ),
            "send buffer space",
        ):
            raise OSError(errno.EBADF, "Bad file descriptor")
        return conn.send(view, self.stack.driver.now, urgent=bool(flags & MSG_OOB))

    def sendall(self, data: bytes | bytearray | memoryview, flags: int = 0) -> None:
        view = memoryview(bytes(data))
        while view:
            n = self.send(view, flags)
            view = view[n:]

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        """Up to ``bufsize`` octets; ``b""`` once the peer has closed (its FIN)."""
        if bufsize < 0:
            raise ValueError("negative buffersize in recv")
        conn = self._connected()

        def ready() -> bool:
            return (
                bool(conn.rcvbuf) or conn.eof or conn.error is not None or (conn.state is S.CLOSED)
            )

        if not self._wait(ready, "data"):
            raise OSError(errno.EBADF, "Bad file descriptor")
        if conn.rcvbuf:
            if flags & MSG_PEEK:
                return bytes(conn.rcvbuf[:bufsize])
            return conn.read(bufsize, self.stack.driver.now)
        if conn.error is not None:
            raise self._take_error()
        return b""

    def recv_into(self, buffer: bytearray | memoryview, nbytes: int = 0, flags: int = 0) -> int:
        data = self.recv(nbytes or len(buffer), flags)
        memoryview(buffer)[: len(data)] = data
        return len(data)

    def shutdown(self, how: int) -> None:
        conn = self._connected()
        now = self.stack.driver.now
        if how in (SHUT_RD, SHUT_RDWR):
            conn.shutdown_read()
        if how in (SHUT_WR, SHUT_RDWR):
            # The half-close: a FIN after the data already queued (RFC 9293 §3.10.4).
            conn.close(now)
        if how not in (SHUT_RD, SHUT_WR, SHUT_RDWR):
            raise OSError(errno.EINVAL, "how is SHUT_RD, SHUT_WR or SHUT_RDWR")

    def close(self) -> None:
        """CLOSE (RFC 9293 §3.10.4), or ABORT with SO_LINGER (1, 0); unread data also aborts, as
        RFC 2525 §2.17 recommends (the peer learns its data was not read)."""
        if self.closed:
            return
        self.closed = True
        self._release()
        now = self.stack.driver.now
        if self.listener is not None:
            self.listener.close(now)
        conn = self.conn
        if conn is None or conn.state is S.CLOSED:
            return
        if self.linger == (1, 0) or conn.rcvbuf:
            conn.abort(now)
            return
        conn.close(now)
        conn.orphan(now)

    # -- options ---------------------------------------------------------------------------
    def setsockopt(self, level: int, option: int, value: int | bytes) -> None:
        self._check_open()
        now = self.stack.driver.now
        if level == IPPROTO_TCP and option == TCP_NODELAY:
            self.nodelay = bool(_int(value))
            for c in self._conns():
                c.nodelay = self.nodelay
                c.output(now)
        elif level == SOL_SOCKET and option == SO_KEEPALIVE:
            self.keepalive = bool(_int(value))
            self.params.keepalive = self.keepalive
            for c in self._conns():
                c.set_keepalive(self.keepalive, now)
        elif level == IPPROTO_TCP and option in (TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT):
            v = _int(value)
            if v < 1:
                raise OSError(errno.EINVAL, "keepalive values are positive")
            if option == TCP_KEEPIDLE:
                self.params.keepalive_idle = float(v)
            elif option == TCP_KEEPINTVL:
                self.params.keepalive_interval = float(v)
            else:
                self.params.keepalive_probes = v
        elif level == SOL_SOCKET and option == SO_LINGER:
            if isinstance(value, int):
                raise OSError(errno.EINVAL, "SO_LINGER takes struct.pack('ii', onoff, secs)")
            onoff, secs = struct.unpack("ii", value)
            self.linger = (1 if onoff else 0, secs)
        elif level == SOL_SOCKET and option in (SO_RCVBUF, SO_SNDBUF):
            size = _int(value)
            if not MIN_BUFFER <= size <= MAX_BUFFER:
                raise OSError(errno.EINVAL, f"buffer size {MIN_BUFFER}-{MAX_BUFFER}")
            if self.conn is not None or self.listener is not None:
                raise OSError(errno.EISCONN, "set buffer sizes before connect or listen")
            if option == SO_RCVBUF:
                self.params.receive_buffer = size
                self.params.receive_buffer_max = 0  # fixed: no auto-tuning
            else:
                self.params.send_buffer = size
        elif level == SOL_SOCKET and option == SO_REUSEADDR:
            return  # TIME-WAIT connections never hold a listening port here
        elif level == IPPROTO_TCP and option == TCP_MIN_RTO:
            ms = _int(value)
            if not MIN_RTO_RANGE[0] <= ms <= MIN_RTO_RANGE[1]:
                raise OSError(errno.EINVAL, f"TCP_MIN_RTO {MIN_RTO_RANGE[0]}-{MIN_RTO_RANGE[1]} ms")
            # The connections share these parameters: the next RTO computed uses it.
            self.params.min_rto = ms / 1000
        elif level == IPPROTO_TCP and option == TCP_CONGESTION:
            name = (
                (value if isinstance(value, bytes) else b"")
                .rstrip(b"\0")
                .decode("ascii", "replace")
            )
            if name not in CONGESTION_CONTROLS:
                raise OSError(errno.ENOENT, f"no congestion control {name!r}")
            self.params.congestion_control = name
            for c in self._conns():
                c.snd.set_congestion_control(now)
        else:
            raise OSError(errno.ENOPROTOOPT, f"option {level}/{option} is not supported")

    def getsockopt(self, level: int, option: int) -> int | bytes:
        if level == IPPROTO_TCP and option == TCP_NODELAY:
            return int(self.nodelay)
        if level == IPPROTO_TCP and option == TCP_MAXSEG:
            return self.conn.mss if self.conn is not None else 1220
        if level == SOL_SOCKET and option == SO_KEEPALIVE:
            return int(self.keepalive)
        if level == SOL_SOCKET and option == SO_RCVBUF:
            return self.conn.receive_buffer if self.conn else self.params.receive_buffer
        if level == SOL_SOCKET and option == SO_SNDBUF:
            return self.params.send_buffer
        if level == SOL_SOCKET and option == SO_LINGER:
            return struct.pack("ii", *self.linger)
        if level == SOL_SOCKET and option == SO_ERROR:
            conn = self.conn
            if conn is None or conn.error is None:
                return 0
            return self._take_error().errno or 0
        if level == IPPROTO_TCP and option == TCP_KEEPIDLE:
            return int(self.params.keepalive_idle)
        if level == IPPROTO_TCP and option == TCP_KEEPINTVL:
            return int(self.params.keepalive_interval)
        if level == IPPROTO_TCP and option == TCP_KEEPCNT:
            return self.params.keepalive_probes
        if level == IPPROTO_TCP and option == TCP_MIN_RTO:
            return round(self.params.min_rto * 1000)
        if level == IPPROTO_TCP and option == TCP_CONGESTION:
            return self.params.congestion_control.encode("ascii")
        raise OSError(errno.ENOPROTOOPT, f"option {level}/{option} is not supported")

    # -- the rest of the standard library's surface ----------------------------------------
    def getsockname(self) -> Address:
        # A connected socket's zone is its connection's (a link-local source has one).
        iface = self.conn.interface if self.conn is not None else None
        return self.stack.sockaddr(
            self.local_address, self.local_port, iface or self.bound_interface
        )

    def getpeername(self) -> Address:
        conn = self.conn
        if conn is None or conn.remote_address is None:
            raise OSError(errno.ENOTCONN, "Transport endpoint is not connected")
        return self.stack.sockaddr(conn.remote_address, conn.remote_port, conn.interface)

    @property
    def state(self) -> str:
        """The connection's RFC 9293 state, as ``ss`` would show it."""
        if self.conn is not None:
            return self.conn.state.value
        return "LISTEN" if self.listener is not None else "CLOSED"

    # -- internals -------------------------------------------------------------------------
    def _release(self) -> None:
        if self._reserved:
            self._reserved = False
            self.host.tcp.release(self.local_address, self.local_port)

    def _conns(self) -> list[Connection]:
        return [c for c in (self.conn, self.listener) if c is not None]

    def _connected(self) -> Connection:
        self._check_open()
        conn = self.conn
        if conn is None:
            raise OSError(errno.ENOTCONN, "Transport endpoint is not connected")
        return conn

    def _take_error(self) -> OSError:
        conn = self.conn
        assert conn is not None and conn.error is not None
        err, conn.error = conn.error, None
        return err

    def _wait(self, ready: Callable[[], bool], what: str) -> bool:
        """Run the network until ``ready()``; False when the socket was closed meanwhile."""
        if not self.stack.driver.wait(lambda: ready() or self.closed, self._timeout):
            if self._timeout == 0.0:
                raise BlockingIOError(errno.EAGAIN, f"Resource temporarily unavailable ({what})")
            raise TimeoutError("timed out")
        conn = self.conn
        failed = conn is not None and conn.error is not None and not self.closed
        if failed and conn is not None and (what != "data" or not conn.rcvbuf):
            raise self._take_error()
        return not self.closed


# -- the asyncio face -----------------------------------------------------------------------
#: StreamWriter's flow control: pause the writer above this many unsent octets.
WRITE_HIGH_WATER = 64 * 1024


class TcpTransport(asyncio.Transport):
    """``asyncio.Transport`` over a tcpip6 connection, for ``StreamReaderProtocol``."""

    def __init__(self, stack: Stack, conn: Connection, protocol: asyncio.Protocol) -> None:
        super().__init__()
        self._stack = stack
        self._conn = conn
        self._protocol = protocol
        self._pending = bytearray()
        self._paused_reading = False
        self._writing_paused = False
        self._closing = False
        self._lost = False
        self._eof_sent = False
        conn.on_change = self._changed

    def _changed(self, conn: Connection) -> None:
        """Called from inside the stack (receive or poll): move data, report endings."""
        if self._lost:
            return
        now = self._stack.driver.now
        if self._pending:
            n = conn.send(self._pending, now) if conn.send_space else 0
            del self._pending[:n]
        if self._writing_paused and len(self._pending) < WRITE_HIGH_WATER // 2:
            self._writing_paused = False
            self._protocol.resume_writing()
        if self._eof_sent and not self._pending and not conn.fin_queued:
            conn.close(now)
        if not self._paused_reading:
            data = conn.read(1 << 20, now)
            if data:
                self._protocol.data_received(data)
        if conn.eof and not conn.rcvbuf and not self._paused_reading:
            conn.eof = False  # reported once
            keep = self._protocol.eof_received()
            if not keep:
                self.close()
        if conn.state is S.CLOSED and not conn.rcvbuf:
            self._lose(conn.error)

    def _lose(self, exc: Exception | None) -> None:
        if self._lost:
            return
        self._lost = True
        self._conn.on_change = None
        loop = asyncio.get_event_loop()
        loop.call_soon(self._protocol.connection_lost, exc)

    def write(self, data: Any) -> None:
        if self._closing or self._eof_sent:
            raise RuntimeError("write after close or write_eof")
        self._pending += bytes(data)
        self._changed(self._conn)
        if not self._writing_paused and len(self._pending) >= WRITE_HIGH_WATER:
            self._writing_paused = True
            self._protocol.pause_writing()

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        self._eof_sent = True
        self._changed(self._conn)

    def get_write_buffer_size(self) -> int:
        return len(self._pending) + self._conn.unsent

    def pause_reading(self) -> None:
        self._paused_reading = True

    def resume_reading(self) -> None:
        self._paused_reading = False
        self._changed(self._conn)

    def is_reading(self) -> bool:
        return not self._paused_reading

    def is_closing(self) -> bool:
        return self._closing or self._lost

    def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        self._eof_sent = True
        conn = self._conn
        if not self._pending:
            conn.close(self._stack.driver.now)
            conn.orphan(self._stack.driver.now)
        self._changed(conn)
        if conn.state in (S.CLOSED, S.TIME_WAIT, S.FIN_WAIT_2, S.LAST_ACK, S.CLOSING, S.FIN_WAIT_1):
            self._lose(None)

    def abort(self) -> None:
        self._closing = True
        self._conn.abort(self._stack.driver.now)
        self._lose(None)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        conn = self._conn
        if name == "peername" and conn.remote_address is not None:
            return self._stack.sockaddr(conn.remote_address, conn.remote_port, conn.interface)
        if name == "sockname":
            return self._stack.sockaddr(conn.local_address, conn.local_port, conn.interface)
        if name == "connection":
            return conn
        return default


def _streams(
    stack: Stack, conn: Connection, loop: asyncio.AbstractEventLoop
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader = asyncio.StreamReader(limit=2**16, loop=loop)
    protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
    transport = TcpTransport(stack, conn, protocol)
    protocol.connection_made(transport)
    writer = asyncio.StreamWriter(transport, protocol, reader, loop)
    transport._changed(conn)
    return reader, writer


async def open_connection(
    stack: Stack, host: str, port: int
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """``asyncio.open_connection`` over tcpip6 (the driver runs as a task)."""
    loop = asyncio.get_running_loop()
    dst, dport, iface = stack.resolve((host, port))
    conn = stack.host.tcp.connect(dst, dport, stack.driver.now, interface=iface)
    done: asyncio.Future[None] = loop.create_future()

    def changed(c: Connection) -> None:
        if c.state is not S.SYN_SENT and not done.done():
            done.set_result(None)

    conn.on_change = changed
    await done
    if conn.state is not S.ESTABLISHED and conn.state is not S.CLOSE_WAIT:
        raise conn.error or ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
    return _streams(stack, conn, loop)


class Server:
    """What :func:`start_server` returns: ``close()``, ``wait_closed()``, ``sockets``."""

    def __init__(self, stack: Stack, listener: Connection) -> None:
        self._stack = stack
        self._listener = listener
        self._closed = asyncio.get_running_loop().create_future()

    @property
    def sockets(self) -> list[Address]:
        lst = self._listener
        return [self._stack.sockaddr(lst.local_address, lst.local_port, lst.interface)]

    def close(self) -> None:
        self._listener.close(self._stack.driver.now)
        if not self._closed.done():
            self._closed.set_result(None)

    async def wait_closed(self) -> None:
        await self._closed

    async def __aenter__(self) -> Server:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


async def start_server(
    stack: Stack,
    client_connected_cb: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
    host: str = "::",
    port: int = 0,
    *,
    backlog: int = DEFAULT_BACKLOG,
) -> Server:
    """``asyncio.start_server`` over tcpip6: ``client_connected_cb(reader, writer)`` runs as
    a task for each accepted connection."""
    loop = asyncio.get_running_loop()
    addr, lport, iface = stack.resolve((host, port))
    listener = stack.host.tcp.listen(addr, lport, backlog, stack.driver.now, interface=iface)
    server = Server(stack, listener)
    tasks: set[asyncio.Task[None]] = set()

    def changed(lst: Connection) -> None:
        while lst.accept_queue:
            conn = lst.accept_queue.popleft()
            reader, writer = _streams(stack, conn, loop)
            task = loop.create_task(_run(client_connected_cb, reader, writer))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    listener.on_change = changed
    return server


async def _run(
    cb: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
) -> None:
    await cb(reader, writer)
