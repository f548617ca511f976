"""The SOCKS5 front door in one process, no root: a tcpip6 host on its loopback interface
(real time, a LiveDriver), a TCP echo service on tcpip6, and a kernel-side client that
speaks SOCKS5 to the front door on 127.0.0.1. The driver and the client take turns in
this one thread: the client's socket is non-blocking and the driver steps between."""

from __future__ import annotations

import contextlib
import socket
import struct
from collections.abc import Iterator
from ipaddress import IPv6Address

import pytest

from tcpip6.apps.services import Services
from tcpip6.apps.socks import Rep
from tcpip6.apps.socks_relay import SocksConfigError, SocksServer, parse_listen
from tcpip6.io.runtime import loopback_live_stack
from tcpip6.stack.host import Host
from tcpip6.stack.tcp import Connection
from tests.apps.rig import DriverRig

ECHO_PORT = 7
LOOPBACK6 = IPv6Address("::1")


class TcpEcho:
    """A TCP echo service on tcpip6 (RFC 862), as a node of the driver: it echoes what
    fits in the send buffer and closes after the client's FIN."""

    def __init__(self, host: Host, port: int, now: float) -> None:
        self.listener = host.tcp.listen(IPv6Address("::"), port, 8, now)
        self.listener.on_change = self._changed
        self.conns: list[Connection] = []
        self.dirty = False

    def _changed(self, conn: Connection) -> None:
        self.dirty = True

    def next_deadline(self) -> float | None:
        return 0.0 if self.dirty else None

    def poll(self, now: float) -> float | None:
        self.dirty = False
        while self.listener.accept_queue:
            conn = self.listener.accept_queue.popleft()
            conn.on_change = self._changed
            self.conns.append(conn)
        for conn in self.conns:
            data = conn.read(conn.send_space, now)
            if data:
                conn.send(data, now)
            if conn.eof and not conn.rcvbuf and not conn.fin_queued:
                conn.close(now)
        return None


class Rig(DriverRig[SocksServer]):
    def client(self) -> socket.socket:
        sock = socket.create_connection(self.server.address, timeout=5)
        sock.setblocking(False)
        return sock

    def recv_exactly(self, sock: socket.socket, n: int, timeout: float = 10.0) -> bytes:
        got = bytearray()

        def ready() -> bool:
            try:
                chunk = sock.recv(n - len(got))
            except BlockingIOError:
                return False
            if not chunk:
                raise AssertionError(f"closed after {len(got)} of {n} octets: {bytes(got)!r}")
            got.extend(chunk)
            return len(got) >= n

        self.run_until(ready, timeout)
        return bytes(got)

    def recv_eof(self, sock: socket.socket) -> bytes:
        """Everything until the FIN (ConnectionResetError if a reset comes)."""
        got = bytearray()
        done = False

        def ready() -> bool:
            nonlocal done
            try:
                chunk = sock.recv(65536)
            except BlockingIOError:
                return False
            if not chunk:
                done = True
            got.extend(chunk)
            return done

        self.run_until(ready)
        return bytes(got)

    def handshake(self, sock: socket.socket, request: bytes) -> bytes:
        sock.send(b"\x05\x01\x00")
        assert self.recv_exactly(sock, 2) == b"\x05\x00"
        sock.send(request)
        head = self.recv_exactly(sock, 4)
        rest = {1: 6, 4: 18}[head[3]]
        return head + self.recv_exactly(sock, rest)

    def relayed(self, port: int) -> tuple[socket.socket, Connection]:
        """A client connected through the relay to a tcpip6 listener on ``port``: the
        client's kernel socket and the connection the listener accepted."""
        listener = self.stack.host.tcp.listen(IPv6Address("::"), port, 4, self.driver.now)
        sock = self.client()
        self.handshake(sock, connect_request(LOOPBACK6, port))
        self.run_until(lambda: bool(listener.accept_queue))
        return sock, listener.accept_queue.popleft()


def connect_request(address: IPv6Address, port: int) -> bytes:
    return b"\x05\x01\x00\x04" + address.packed + struct.pack("!H", port)


@pytest.fixture
def rig() -> Iterator[Rig]:
    stack, driver = loopback_live_stack()
    echo = TcpEcho(stack.host, ECHO_PORT, driver.now)
    driver.add(echo)
    lines: list[str] = []
    server = SocksServer(stack, ("127.0.0.1", 0), max_clients=4, log=lines.append)
    with Rig.running(stack, driver, server) as rig:
        yield rig


def test_connect_relays_both_ways_and_passes_the_fin_on(rig: Rig) -> None:
    sock = rig.client()
    reply = rig.handshake(sock, connect_request(LOOPBACK6, ECHO_PORT))
    assert reply[:4] == b"\x05\x00\x00\x04"
    bound, port = IPv6Address(reply[4:20]), struct.unpack("!H", reply[20:22])[0]
    # BND.ADDR/PORT: tcpip6's end of the connection.
    conns = {(c.local_address, c.local_port) for c in rig.stack.host.tcp.connections.values()}
    assert bound == LOOPBACK6 and (bound, port) in conns
    # More than the relay's buffers and tcpip6's send buffer: back-pressure both ways.
    data = bytes(range(256)) * 2048  # 512 KiB
    sent = 0
    got = bytearray()

    def pumped() -> bool:
        nonlocal sent
        if sent < len(data):
            with contextlib.suppress(BlockingIOError):
                sent += sock.send(data[sent : sent + 65536])
            if sent == len(data):
                sock.shutdown(socket.SHUT_WR)  # the client's FIN: the echo closes after it
        try:
            chunk = sock.recv(65536)
        except BlockingIOError:
            return False
        got.extend(chunk)
        return not chunk

    rig.run_until(pumped, timeout=60)
    assert bytes(got) == data
    assert rig.server.counters.octets_to_tcp == len(data)
    assert rig.server.counters.octets_from_tcp == len(data)
    # Both FINs passed on: the session is gone.
    rig.run_until(lambda: not rig.server.sessions)
    sock.close()


def test_the_peer_half_closing_first_is_passed_on(rig: Rig) -> None:
    """A server that closes first (after its FIN the client can still send)."""
    sock, conn = rig.relayed(9999)
    conn.send(b"bye", rig.driver.now)
    conn.close(rig.driver.now)
    assert rig.recv_eof(sock) == b"bye"
    sock.send(b"still here")  # the client's direction stays open
    rig.run_until(lambda: conn.rcvbuf == bytearray(b"still here"))
    sock.close()


def test_connection_refused_is_rep_x05(rig: Rig) -> None:
    sock = rig.client()
    reply = rig.handshake(sock, connect_request(LOOPBACK6, 4))  # nothing listens there
    assert reply == bytes((5, Rep.CONNECTION_REFUSED, 0, 1, 0, 0, 0, 0, 0, 0))
    assert rig.recv_eof(sock) == b""
    assert rig.server.counters.connect_failed == 1


def test_no_route_is_rep_x03(rig: Rig) -> None:
    sock = rig.client()
    reply = rig.handshake(sock, connect_request(IPv6Address("2001:db8::1"), 80))
    assert reply[1] == Rep.NETWORK_UNREACHABLE


def test_a_peer_reset_resets_the_client(rig: Rig) -> None:
    sock, conn = rig.relayed(9998)
    conn.abort(rig.driver.now)
    with pytest.raises(ConnectionResetError):
        rig.recv_eof(sock)
    assert rig.server.counters.resets_from_peer == 1


def test_a_client_reset_aborts_the_connection(rig: Rig) -> None:
    sock, conn = rig.relayed(9997)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
    rig.run_until(lambda: conn.error is not None)
    assert isinstance(conn.error, ConnectionResetError)


def test_bad_greetings_and_requests(rig: Rig) -> None:
    sock = rig.client()
    sock.send(b"\x05\x01\x02")  # only USERNAME/PASSWORD
    assert rig.recv_eof(sock) == b"\x05\xff"
    sock = rig.client()
    sock.send(b"\x05\x01\x00\x05\x01\x00\x03\x0bexample.com\x00\x50")
    assert rig.recv_eof(sock) == b"\x05\x00" + bytes((5, 4, 0, 1, 0, 0, 0, 0, 0, 0))
    sock = rig.client()
    sock.send(b"\x05\x01\x00\x05\x02\x00\x04" + bytes(16) + b"\x00\x50")  # BIND
    assert rig.recv_eof(sock)[3] == Rep.COMMAND_NOT_SUPPORTED
    assert rig.server.counters.handshake_failed == 3


def test_clients_beyond_the_limit_are_closed(rig: Rig) -> None:
    held = [rig.client() for _ in range(4)]
    rig.run_until(lambda: len(rig.server.sessions) == 4)
    extra = rig.client()
    assert rig.recv_eof(extra) == b""
    assert rig.server.counters.busy_refused == 1
    for sock in held:
        sock.close()


def test_udp_associate_relays_datagrams_with_the_socks_header(rig: Rig) -> None:
    services = Services(rig.stack)
    services.start(("echo",), tcp=False)  # the rig's own TCP echo holds 7/tcp
    try:
        ctl = rig.client()
        reply = rig.handshake(ctl, b"\x05\x03\x00\x01" + bytes(6))
        assert reply[:4] == b"\x05\x00\x00\x01"
        relay = (socket.inet_ntoa(reply[4:8]), struct.unpack("!H", reply[8:10])[0])
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind(("127.0.0.1", 0))
        udp.setblocking(False)
        header = b"\x00\x00\x00\x04" + LOOPBACK6.packed + struct.pack("!H", 7)
        udp.sendto(b"\x00\x00\x01" + header[3:] + b"a fragment", relay)  # FRAG 1: dropped
        udp.sendto(header + b"hello", relay)
        got: list[bytes] = []

        def answered() -> bool:
            try:
                got.append(udp.recv(65535))
            except BlockingIOError:
                return False
            return True

        rig.run_until(answered)
        assert got == [header + b"hello"]  # from [::1]:7, the echo service
        assert rig.server.counters.udp_fragment_drop == 1
        # The association ends with its TCP connection.
        ctl.close()
        rig.run_until(lambda: not rig.server.sessions)
        udp.close()
    finally:
        services.close()


def test_parse_listen() -> None:
    assert parse_listen("127.0.0.1:1080") == ("127.0.0.1", 1080)
    assert parse_listen("[::1]:1080") == ("::1", 1080)
    for bad in ("1080", "127.0.0.1:x", "127.0.0.1:70000", "0.0.0.0:1080", "name:1080"):
        with pytest.raises(SocksConfigError):
            parse_listen(bad)
