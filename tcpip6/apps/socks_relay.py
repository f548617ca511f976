"""The SOCKS5 front door of a live host: kernel programs reach the IPv6 network through
tcpip6 (``tcpip6 host ... --socks 127.0.0.1:1080``; ``curl --socks5-hostname``).

:class:`SocksServer` listens on a kernel socket on the loopback (an ordinary non-blocking
Python socket, a source of the host's :class:`~tcpip6.io.runtime.LiveDriver`), runs the
RFC 1928 handshake of :mod:`tcpip6.apps.socks` for each client, and then relays:

- CONNECT: a tcpip6 TCP connection, the octets both ways. Back-pressure both ways: the
  kernel socket is read only while the connection's send buffer has room, and the
  connection's receive buffer is read only while the octets waiting for the kernel socket
  are fewer than ``buffer_size`` (the TCP window closes behind them). A FIN either way is
  passed on as a FIN (half-close); a reset either way, as a reset.
- UDP ASSOCIATE (§7): a kernel UDP socket on the same loopback address and a tcpip6 UDP
  socket; datagrams with the SOCKS UDP header one way, headers added the other way. A
  fragment (FRAG not 0) is dropped; the association ends with its TCP connection.

The server is also a node of the driver: a tcpip6 connection that changes state or takes
data marks its session, and the driver polls the server at once. Bounded: at most
``max_clients`` sessions (one more is closed at once), ``buffer_size`` octets waiting for
a kernel socket per session, ``UDP_QUEUE`` datagrams waiting per association, and a client
that has not finished its handshake in ``HANDSHAKE_TIMEOUT`` seconds is closed.
"""

from __future__ import annotations

import contextlib
import errno
import socket
import struct
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv6Address, ip_address
from typing import TYPE_CHECKING, Any

from tcpip6.api.sockets import AF_INET6, SOCK_DGRAM, Socket, Stack
from tcpip6.apps.socks import (
    CMD_CONNECT,
    Phase,
    Rep,
    ReplyError,
    Request,
    ServerHandshake,
    SocksError,
    build_udp,
    destination,
    parse_udp,
)
from tcpip6.io.control import Listener
from tcpip6.stack.counters import CounterSet
from tcpip6.stack.machines.tcp import TcpState

if TYPE_CHECKING:
    from tcpip6.io.runtime import LiveDriver
    from tcpip6.stack.tcp import Connection

MAX_CLIENTS = 64
#: Octets from tcpip6 waiting for a client's kernel socket, per session.
BUFFER_SIZE = 64 * 1024
READ_SIZE = 16 * 1024
HANDSHAKE_TIMEOUT = 30.0
#: Datagrams from tcpip6 waiting for an association's kernel UDP socket.
UDP_QUEUE = 64
UDP_BUDGET = 64

#: Why a connection failed -> the §6 reply.
_REPLIES = {
    errno.ECONNREFUSED: Rep.CONNECTION_REFUSED,
    errno.ENETUNREACH: Rep.NETWORK_UNREACHABLE,
    errno.EHOSTUNREACH: Rep.HOST_UNREACHABLE,
    errno.ETIMEDOUT: Rep.TTL_EXPIRED,  # the SYN went unanswered for the whole timeout
}


class SocksConfigError(Exception):
    """A bad --socks address or one that cannot be listened on: one line."""


@dataclass
class SocksCounters(CounterSet):
    accepted: int = 0
    busy_refused: int = 0
    handshake_failed: int = 0
    handshake_timeouts: int = 0
    connects: int = 0
    connect_failed: int = 0
    udp_associations: int = 0
    octets_to_tcp: int = 0
    octets_from_tcp: int = 0
    resets_from_client: int = 0
    resets_from_peer: int = 0
    udp_to_tcpip6: int = 0
    udp_from_tcpip6: int = 0
    udp_fragment_drop: int = 0
    udp_bad_drop: int = 0
    udp_stranger_drop: int = 0
    udp_queue_full_drop: int = 0


def parse_listen(text: str) -> tuple[str, int]:
    """``127.0.0.1:1080`` or ``[::1]:1080`` -> (address, port); a loopback address only
    (a SOCKS server without authentication relays for whoever reaches it)."""
    host, sep, port_text = text.rpartition(":")
    if not sep or not host or not port_text.isdigit():
        raise SocksConfigError(f"--socks {text}: expected ADDRESS:PORT, e.g. 127.0.0.1:1080")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        address = ip_address(host)
    except ValueError:
        raise SocksConfigError(f"--socks {text}: {host!r} is not an IP address") from None
    port = int(port_text)
    if not 0 < port < 65536:
        raise SocksConfigError(f"--socks {text}: port {port} is not 1-65535")
    if not address.is_loopback:
        raise SocksConfigError(
            f"--socks {text}: listen on a loopback address (127.0.0.1 or ::1): "
            "the front door has no authentication"
        )
    return str(address), port


def reply_for(exc: OSError) -> Rep:
    if isinstance(exc, TimeoutError):
        return Rep.TTL_EXPIRED
    return _REPLIES.get(exc.errno or 0, Rep.GENERAL_FAILURE)


def _family(address: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in address else socket.AF_INET


class SocksServer(Listener):
    """The listening socket, its sessions, and their relays. :meth:`attach` hands it to
    a driver; :meth:`close` closes everything (connections are reset)."""

    def __init__(
        self,
        stack: Stack,
        address: tuple[str, int],
        *,
        max_clients: int = MAX_CLIENTS,
        buffer_size: int = BUFFER_SIZE,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.stack = stack
        self.host = stack.host
        self.max_clients = max_clients
        self.buffer_size = buffer_size
        self.log = log
        self.counters = SocksCounters()
        self.sessions: list[_Session] = []
        self.driver: LiveDriver | None = None
        self._dirty: set[_Session] = set()
        sock = socket.socket(_family(address[0]), socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
            sock.listen(128)
            sock.setblocking(False)
        except OSError as exc:
            sock.close()
            where = f"[{address[0]}]" if ":" in address[0] else address[0]
            raise SocksConfigError(f"--socks {where}:{address[1]}: {exc.strerror or exc}") from None
        self.sock = sock
        self.address: tuple[str, int] = sock.getsockname()[:2]

    # -- driver (Listener) -------------------------------------------------------------------
    def clients_open(self) -> int:
        return len(self.sessions)

    def refuse(self, conn: socket.socket) -> None:
        self.counters.busy_refused += 1

    def accepted(self, conn: socket.socket, peer: Any, now: float) -> object:
        self.counters.accepted += 1
        session = _Session(self, conn, peer, now)
        self.sessions.append(session)
        return session

    def mark(self, session: _Session) -> None:
        """Something changed for ``session``: poll it as soon as the driver can."""
        self._dirty.add(session)

    def next_deadline(self) -> float | None:
        if self._dirty:
            return 0.0
        times = [s.deadline for s in self.sessions if s.handshaking]
        return min(times) if times else None

    def poll(self, now: float) -> float | None:
        dirty, self._dirty = self._dirty, set()
        for session in dirty:
            if not session.closed:
                session.pump(now)
        for session in list(self.sessions):
            if session.handshaking and now >= session.deadline:
                self.counters.handshake_timeouts += 1
                session.close(now)
        return self.next_deadline()

    def watch(self, source: Any, *, read: bool, write: bool) -> None:
        if self.driver is not None:
            self.driver.watch(source, read=read, write=write)

    def forget(self, source: Any) -> None:
        if self.driver is not None:
            with contextlib.suppress(KeyError, ValueError, OSError):
                self.driver.remove_source(source)

    def say(self, line: str) -> None:
        if self.log is not None:
            self.log(f"socks: {line}")

    def close(self) -> None:
        now = self.driver.now if self.driver is not None else 0.0
        for session in list(self.sessions):
            session.close(now, reset=True)
        self.forget(self)
        self.sock.close()


class _Session:
    """One client: its kernel socket, its handshake, then its relay."""

    def __init__(self, server: SocksServer, sock: socket.socket, peer: Any, now: float) -> None:
        self.server = server
        self.sock = sock
        self.peer = f"{peer[0]}:{peer[1]}" if ":" not in peer[0] else f"[{peer[0]}]:{peer[1]}"
        self.client_ip: str = peer[0]
        self.handshake = ServerHandshake()
        self.conn: Connection | None = None
        self.udp: _UdpRelay | None = None
        self.deadline = now + HANDSHAKE_TIMEOUT
        #: Octets for the kernel socket (replies, then what tcpip6 received).
        self.to_kernel = bytearray()
        #: Octets the client sent behind its request, before the connection was up.
        self.early = bytearray()
        self.kernel_eof = False  # the client sent its FIN (passed on as ours)
        self.kernel_shut = False  # the peer's FIN, passed on to the client
        self.closed = False

    @property
    def handshaking(self) -> bool:
        return self.handshake.phase in (Phase.GREETING, Phase.REQUEST)

    def fileno(self) -> int:
        return self.sock.fileno()

    # -- the kernel side ------------------------------------------------------------------
    def read_ready(self, now: float) -> int:
        if self.closed:
            return 0
        phase = self.handshake.phase
        size = READ_SIZE
        if phase is Phase.OPEN and self.conn is not None:
            size = min(READ_SIZE, self.conn.send_space)
            if size <= 0:
                self.pump(now)  # stops reading until the send buffer drains
                return 0
        try:
            data = self.sock.recv(size)
        except (BlockingIOError, InterruptedError):
            return 0
        except OSError:
            self.server.counters.resets_from_client += 1
            self.close(now, reset=True)
            return 0
        if not data:
            self._kernel_eof(now)
            return 0
        if phase in (Phase.GREETING, Phase.REQUEST):
            request = self.handshake.receive(data)
            self.early += self.handshake.leftover if request is not None else b""
            self.to_kernel += self.handshake.take_outgoing()
            if request is not None:
                self._request(request, now)
            elif self.handshake.phase is Phase.CLOSED:
                self.server.counters.handshake_failed += 1
                self.server.say(f"{self.peer}: {self.handshake.reason}")
        elif phase is Phase.OPEN and self.conn is not None:
            self._to_tcp(data, now)
        # Anything else (PENDING, a UDP association's TCP connection): kept or ignored.
        elif phase is Phase.PENDING:
            self.early += data
        self.pump(now)
        return len(data)

    def write_ready(self, now: float) -> None:
        if not self.closed:
            self.pump(now)

    def _kernel_eof(self, now: float) -> None:
        self.kernel_eof = True
        if self.udp is not None or self.conn is None:
            self.close(now)  # §7: the association ends with its TCP connection
            return
        self.conn.close(now)  # the client's FIN becomes ours (half-close)
        self.pump(now)

    def _to_tcp(self, data: bytes, now: float) -> None:
        conn = self.conn
        assert conn is not None
        try:
            sent = conn.send(data, now)
        except OSError:
            self.early += data  # the connection is ending: pump() resets the client
            return
        self.server.counters.octets_to_tcp += sent
        if sent < len(data):
            self.early += data[sent:]  # never more than one read: sent <= send_space

    # -- the request ------------------------------------------------------------------------
    def _request(self, request: Request, now: float) -> None:
        server = self.server
        if request.command == CMD_CONNECT:
            dst = request.destination()
            where = f"[{dst}]:{request.port}"
            try:
                conn = server.host.tcp.connect(dst, request.port, now)
            except OSError as exc:
                server.counters.connect_failed += 1
                self.handshake.reply(reply_for(exc))
                server.say(f"{self.peer} CONNECT {where}: {exc.strerror or exc}")
                return
            server.counters.connects += 1
            self.conn = conn
            conn.on_change = lambda c: server.mark(self)
            return
        try:
            self.udp = _UdpRelay(self, request)
        except OSError as exc:
            self.handshake.reply(Rep.GENERAL_FAILURE)
            server.say(f"{self.peer} UDP ASSOCIATE: {exc.strerror or exc}")
            return
        server.counters.udp_associations += 1
        host, port = self.udp.ksock.getsockname()[:2]
        self.handshake.reply(Rep.SUCCEEDED, host, port)
        server.say(f"{self.peer} UDP ASSOCIATE: relaying at {host}:{port}")

    def _connection_changed(self, now: float) -> None:
        """In PENDING: the connection is up (reply with its address) or failed."""
        conn = self.conn
        assert conn is not None
        state = conn.tcp_state
        if state in (TcpState.SYN_SENT, TcpState.SYN_RECEIVED):
            return
        where = f"[{conn.remote_address}]:{conn.remote_port}"
        if conn.error is not None or state is TcpState.CLOSED:
            exc = conn.error or OSError(errno.ECONNABORTED, "Connection aborted")
            rep = reply_for(exc)
            self.server.counters.connect_failed += 1
            self.handshake.reply(rep)
            self.server.say(f"{self.peer} CONNECT {where}: {exc.strerror or exc}")
            self.conn = None
            return
        self.handshake.reply(Rep.SUCCEEDED, conn.local_address, conn.local_port)
        local = f"[{conn.local_address}]:{conn.local_port}"
        self.server.say(f"{self.peer} CONNECT {where}: connected from {local}")

    # -- the relay ------------------------------------------------------------------------
    def pump(self, now: float) -> None:
        """Move what can move, then say what wakes this session next."""
        if self.closed:
            return
        server = self.server
        conn = self.conn
        if conn is not None and self.handshake.phase is Phase.PENDING:
            self._connection_changed(now)
            conn = self.conn
        self.to_kernel += self.handshake.take_outgoing()
        if self.handshake.phase is Phase.CLOSED:
            self._flush(now)
            self.close(now)
            return
        if self.udp is not None:
            self.udp.pump(now)
        if conn is not None and self.handshake.phase is Phase.OPEN:
            if conn.error is not None and not self.to_kernel:
                # The peer reset the connection: so is the client's.
                server.counters.resets_from_peer += 1
                self.close(now, reset=True)
                return
            if self.early and conn.send_space > 0 and not conn.fin_queued:
                data = bytes(self.early)
                self.early.clear()
                self._to_tcp(data, now)
            room = server.buffer_size - len(self.to_kernel)
            if room > 0 and conn.rcvbuf:
                data = conn.read(room, now)
                server.counters.octets_from_tcp += len(data)
                self.to_kernel += data
        if not self._flush(now):
            return
        if conn is not None and self.handshake.phase is Phase.OPEN:
            if conn.eof and not conn.rcvbuf and not self.to_kernel and not self.kernel_shut:
                with contextlib.suppress(OSError):
                    self.sock.shutdown(socket.SHUT_WR)  # the peer's FIN, passed on
                self.kernel_shut = True
            if self.kernel_eof and self.kernel_shut:
                self.close(now)  # both FINs passed on: the connection finishes alone
                return
            if conn.tcp_state is TcpState.CLOSED and not self.to_kernel and conn.eof:
                self.close(now)
                return
        self._watch()

    def _flush(self, now: float) -> bool:
        """Send what waits for the kernel socket; False when the session ended."""
        while self.to_kernel:
            try:
                sent = self.sock.send(self.to_kernel)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                self.server.counters.resets_from_client += 1
                self.close(now, reset=True)
                return False
            del self.to_kernel[:sent]
        return True

    def _watch(self) -> None:
        phase = self.handshake.phase
        if phase in (Phase.GREETING, Phase.REQUEST):
            read = True
        elif phase is Phase.PENDING:
            read = len(self.early) < self.server.buffer_size
        elif self.conn is not None:
            read = not self.kernel_eof and self.conn.send_space > 0 and not self.early
        else:
            read = not self.kernel_eof  # a UDP association: its end is the TCP EOF
        self.server.watch(self, read=read, write=bool(self.to_kernel))

    def close(self, now: float, reset: bool = False) -> None:
        if self.closed:
            return
        self.closed = True
        server = self.server
        if reset:
            # SO_LINGER 0: close() sends a reset, not a FIN.
            with contextlib.suppress(OSError):
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        server.forget(self)
        self.sock.close()
        if self in server.sessions:
            server.sessions.remove(self)
        server._dirty.discard(self)
        if self.udp is not None:
            self.udp.close()
        conn = self.conn
        if conn is not None:
            conn.on_change = None
            if reset or conn.error is not None:
                conn.abort(now)
            else:
                conn.close(now)
                conn.orphan(now)


class _UdpRelay:
    """A UDP association (§7): a kernel UDP socket beside the client's TCP connection,
    and a tcpip6 UDP socket."""

    def __init__(self, session: _Session, request: Request) -> None:
        self.session = session
        self.server = session.server
        local = session.sock.getsockname()[0]
        self.ksock = socket.socket(_family(local), socket.SOCK_DGRAM)
        try:
            self.ksock.bind((local, 0))
            self.ksock.setblocking(False)
            self.tsock: Socket = self.server.stack.socket(AF_INET6, SOCK_DGRAM)
            self.tsock.bind(("::", 0))
        except OSError:
            self.ksock.close()
            raise
        self.tsock.on_datagram = self._from_tcpip6
        # §7: "the address and port that the client expects to use to send UDP datagrams";
        # zeros mean it does not know yet: the first datagram from its address tells.
        self.client: tuple[str, int] | None = None
        if request.port and request.host not in ("0.0.0.0", "::"):
            self.client = (request.host, request.port)
        self.inbound: deque[bytes] = deque()
        self.closed = False
        if self.server.driver is not None:
            self.server.driver.add_source(self)

    def fileno(self) -> int:
        return self.ksock.fileno()

    def read_ready(self, now: float) -> int:
        c = self.server.counters
        handled = 0
        for _ in range(UDP_BUDGET):
            try:
                data, addr = self.ksock.recvfrom(0xFFFF)
            except OSError:
                break
            handled += 1
            # §7: datagrams from any other source IP address are dropped.
            if addr[0] != self.session.client_ip:
                c.udp_stranger_drop += 1
                continue
            if self.client is None or self.client[0] == addr[0]:
                self.client = (addr[0], addr[1])
            try:
                dgram = parse_udp(data)
                dst = destination(dgram.atyp, dgram.host)
            except (SocksError, ReplyError):
                c.udp_bad_drop += 1
                continue
            if dgram.frag != 0:
                c.udp_fragment_drop += 1  # §7: no reassembly here
                continue
            try:
                self.tsock.sendto(dgram.data, (str(dst), dgram.port))
            except OSError:
                c.udp_bad_drop += 1
                continue
            c.udp_to_tcpip6 += 1
        return handled

    def _from_tcpip6(self, data: bytes, addr: tuple[Any, ...]) -> None:
        if len(self.inbound) >= UDP_QUEUE:
            self.server.counters.udp_queue_full_drop += 1
            return
        source = IPv6Address(str(addr[0]).split("%")[0])
        self.inbound.append(build_udp(source, int(addr[1]), data))
        self.server.mark(self.session)

    def pump(self, now: float) -> None:
        while self.inbound and self.client is not None:
            try:
                self.ksock.sendto(self.inbound.popleft(), self.client)
            except OSError:
                self.server.counters.udp_bad_drop += 1  # a full socket too: UDP may drop
            else:
                self.server.counters.udp_from_tcpip6 += 1

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.server.forget(self)
        self.ksock.close()
        self.tsock.close()


__all__ = ["SocksConfigError", "SocksCounters", "SocksServer", "parse_listen", "reply_for"]
