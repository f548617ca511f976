"""TCP sockets (``stack.socket(AF_INET6, SOCK_STREAM)``) as the standard library's are
used: blocking, timeout and non-blocking modes, the errors and their errnos, names, and
the asyncio streams face, on simnet (fake clock) and on the real-time loopback backend."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import struct
from collections.abc import Callable

import pytest

from tcpip6.api import stream as st
from tcpip6.api.sockets import AF_INET6, SOCK_STREAM, Stack
from tcpip6.api.stream import StreamSocket
from tcpip6.io.runtime import SimDriver, loopback_stack
from tests.stack.conftest import A_LL, B_LL, Pair

A, B = str(A_LL), str(B_LL)


def stacks(pair: Pair) -> tuple[Stack, Stack]:
    driver = SimDriver(pair.world)
    return Stack(pair.a, driver), Stack(pair.b, driver)


def listening(stack: Stack, port: int = 0, addr: str = "::") -> StreamSocket:
    srv = stack.socket(AF_INET6, SOCK_STREAM)
    srv.bind((addr, port))
    srv.listen(4)
    return srv


def connected(pair: Pair, port: int = 8000) -> tuple[StreamSocket, StreamSocket, StreamSocket]:
    """(listener on b, client on a, the accepted socket on b)."""
    sa, sb = stacks(pair)
    srv = listening(sb, port)
    cli = sa.socket(AF_INET6, SOCK_STREAM)
    cli.connect((B, port))
    conn, _ = srv.accept()
    return srv, cli, conn


def pump(tx: StreamSocket, rx: StreamSocket, data: bytes) -> bytes:
    """Send ``data`` on ``tx`` and read it on ``rx`` in one thread: non-blocking writes of
    what fits, then a wait until either side can move, as a select() loop would."""
    wait: Callable[[Callable[[], bool], float | None], bool] = rx.stack.driver.wait
    view = memoryview(data)
    got = bytearray()
    tx.setblocking(False)
    rx.setblocking(False)
    tconn, rconn = tx.conn, rx.conn
    assert tconn is not None and rconn is not None

    def movable() -> bool:
        return bool(rconn.rcvbuf) or rconn.eof or (bool(view) and tconn.send_space > 0)

    while True:
        if view:
            with contextlib.suppress(BlockingIOError):
                view = view[tx.send(view) :]
            if not view:
                tx.shutdown(st.SHUT_WR)
        try:
            chunk = rx.recv(65536)
        except BlockingIOError:
            wait(lambda: movable(), 10)
            continue
        if not chunk:
            return bytes(got)
        got += chunk


# -- blocking mode ------------------------------------------------------------------------
def test_connect_accept_names_and_an_exchange(pair: Pair) -> None:
    srv, cli, conn = connected(pair)
    assert cli.getpeername() == (B, 8000, 0, pair.ia.index)
    assert conn.getpeername() == cli.getsockname()
    assert conn.getsockname() == (B, 8000, 0, pair.ib.index)
    assert srv.getsockname()[1] == 8000
    assert (cli.state, conn.state, srv.state) == ("ESTABLISHED", "ESTABLISHED", "LISTEN")
    cli.sendall(b"ping")
    assert conn.recv(100) == b"ping"
    conn.sendall(b"pong" * 3)
    got = b""
    while len(got) < 12:
        got += cli.recv(5)
    assert got == b"pong" * 3


def test_a_transfer_larger_than_both_buffers_arrives_whole(pair: Pair) -> None:
    _, cli, conn = connected(pair)
    data = bytes(i * 7 % 251 for i in range(600_000))  # the window is 64 KiB
    assert pump(cli, conn, data) == data
    assert pair.a.tcp.counters.out_octets >= len(data)


def test_shutdown_write_is_end_of_file_and_the_other_way_still_works(pair: Pair) -> None:
    _, cli, conn = connected(pair)
    cli.sendall(b"request")
    cli.shutdown(st.SHUT_WR)
    assert conn.recv(100) == b"request"
    assert conn.recv(100) == b""  # the FIN: end of file
    assert conn.recv(100) == b""  # and again
    conn.sendall(b"answer")
    conn.close()
    assert cli.recv(100) == b"answer"
    assert cli.recv(100) == b""
    cli.close()
    assert cli.state in ("TIME-WAIT", "CLOSED")


def test_context_manager_and_close_twice(pair: Pair) -> None:
    _, cli, conn = connected(pair)
    with cli:
        cli.sendall(b"x")
    cli.close()
    assert conn.recv(10) == b"x" and conn.recv(10) == b""
    with pytest.raises(OSError) as exc:
        cli.send(b"y")
    assert exc.value.errno == errno.EBADF


# -- timeouts and non-blocking mode -------------------------------------------------------
def test_timeouts_raise_timeout_error_after_that_much_time(pair: Pair) -> None:
    _, _, conn = connected(pair)
    conn.settimeout(1.5)
    assert conn.gettimeout() == 1.5
    start = pair.world.now
    with pytest.raises(TimeoutError):
        conn.recv(10)
    assert 1.5 <= pair.world.now - start < 1.6
    srv = listening(stacks(pair)[1], 8001)
    srv.settimeout(0.5)
    with pytest.raises(TimeoutError):
        srv.accept()
    with pytest.raises(ValueError):
        conn.settimeout(-1)


def test_non_blocking_connect_accept_recv(pair: Pair) -> None:
    sa, sb = stacks(pair)
    srv = listening(sb, 8002)
    srv.setblocking(False)
    assert not srv.getblocking()
    with pytest.raises(BlockingIOError) as exc:
        srv.accept()
    assert exc.value.errno == errno.EAGAIN
    cli = sa.socket(AF_INET6, SOCK_STREAM)
    cli.setblocking(False)
    with pytest.raises(BlockingIOError) as exc:
        cli.connect((B, 8002))
    assert exc.value.errno == errno.EINPROGRESS
    assert cli.connect_ex((B, 8002)) == errno.EINPROGRESS
    pair.world.run_for(0.1)
    assert cli.connect_ex((B, 8002)) == errno.EISCONN
    assert cli.getsockopt(st.SOL_SOCKET, st.SO_ERROR) == 0
    conn, peer = srv.accept()
    assert peer == cli.getsockname()
    conn.setblocking(False)
    with pytest.raises(BlockingIOError) as exc:
        conn.recv(10)
    assert exc.value.errno == errno.EAGAIN
    cli.send(b"now")
    pair.world.run_for(0.1)
    assert conn.recv(10) == b"now"


def test_non_blocking_send_fills_the_buffer_then_eagain(pair: Pair) -> None:
    _, cli, _ = connected(pair)
    cli.setblocking(False)
    sent = 0
    with pytest.raises(BlockingIOError) as exc:
        for _ in range(100):
            sent += cli.send(bytes(50_000))
    assert exc.value.errno == errno.EAGAIN
    # What is in flight plus what the buffer holds: bounded by the send buffer.
    assert 0 < sent <= st.MAX_BUFFER
    assert cli.getsockopt(st.SOL_SOCKET, st.SO_SNDBUF) == pair.a.tcp.params.send_buffer


# -- errors --------------------------------------------------------------------------------
def test_connect_to_a_closed_port_is_refused(pair: Pair) -> None:
    sa, _ = stacks(pair)
    cli = sa.socket(AF_INET6, SOCK_STREAM)
    with pytest.raises(ConnectionRefusedError) as exc:
        cli.connect((B, 9999))
    assert exc.value.errno == errno.ECONNREFUSED
    other = sa.socket(AF_INET6, SOCK_STREAM)
    assert other.connect_ex((B, 9999)) == errno.ECONNREFUSED


def test_a_port_in_use(pair: Pair) -> None:
    _, sb = stacks(pair)
    listening(sb, 8003)
    again = sb.socket(AF_INET6, SOCK_STREAM)
    with pytest.raises(OSError) as exc:
        again.bind(("::", 8003))
    assert exc.value.errno == errno.EADDRINUSE
    bound = sb.socket(AF_INET6, SOCK_STREAM)
    bound.bind(("::", 8004))
    with pytest.raises(OSError) as exc:
        bound.bind(("::", 8005))
    assert exc.value.errno == errno.EINVAL
    with pytest.raises(OSError) as exc:
        sb.socket(AF_INET6, SOCK_STREAM).bind(("2001:db8::99", 80))
    assert exc.value.errno == errno.EADDRNOTAVAIL


def test_not_connected(pair: Pair) -> None:
    sa, _ = stacks(pair)
    sock = sa.socket(AF_INET6, SOCK_STREAM)
    for call in (
        lambda: sock.recv(1),
        lambda: sock.send(b"x"),
        sock.getpeername,
        lambda: sock.shutdown(st.SHUT_WR),
    ):
        with pytest.raises(OSError) as exc:
            call()
        assert exc.value.errno == errno.ENOTCONN
    with pytest.raises(OSError) as exc:
        sock.accept()
    assert exc.value.errno == errno.EINVAL


def test_sending_after_shutdown_or_a_reset_is_a_broken_pipe(pair: Pair) -> None:
    _, cli, conn = connected(pair)
    cli.shutdown(st.SHUT_WR)
    with pytest.raises(BrokenPipeError) as exc:
        cli.send(b"late")
    assert exc.value.errno == errno.EPIPE
    # The peer aborts (SO_LINGER 0): an RST; the first send learns of it, later ones EPIPE.
    conn.setsockopt(st.SOL_SOCKET, st.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()
    pair.world.run_for(0.1)
    with pytest.raises(ConnectionResetError):
        cli.send(b"more")  # the reset, reported once
    with pytest.raises(BrokenPipeError):
        cli.send(b"more")


def test_a_reset_shows_as_connection_reset_on_recv(pair: Pair) -> None:
    _, cli, conn = connected(pair)
    conn.setsockopt(st.SOL_SOCKET, st.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()
    with pytest.raises(ConnectionResetError) as exc:
        cli.recv(10)
    assert exc.value.errno == errno.ECONNRESET
    assert pair.a.tcp.counters.in_resets == 1


def test_options(pair: Pair) -> None:
    _, cli, _ = connected(pair)
    assert cli.getsockopt(st.IPPROTO_TCP, st.TCP_NODELAY) == 0
    cli.setsockopt(st.IPPROTO_TCP, st.TCP_NODELAY, 1)
    assert cli.getsockopt(st.IPPROTO_TCP, st.TCP_NODELAY) == 1
    assert cli.conn is not None and cli.conn.nodelay
    cli.setsockopt(st.SOL_SOCKET, st.SO_KEEPALIVE, 1)
    cli.setsockopt(st.IPPROTO_TCP, st.TCP_KEEPIDLE, 30)
    assert cli.getsockopt(st.SOL_SOCKET, st.SO_KEEPALIVE) == 1
    assert cli.getsockopt(st.IPPROTO_TCP, st.TCP_KEEPIDLE) == 30
    linger = struct.pack("ii", 1, 0)
    cli.setsockopt(st.SOL_SOCKET, st.SO_LINGER, linger)
    assert cli.getsockopt(st.SOL_SOCKET, st.SO_LINGER) == linger
    assert cli.getsockopt(st.IPPROTO_TCP, st.TCP_MAXSEG) == 1500 - 40 - 20 - 12
    with pytest.raises(OSError) as exc:
        cli.setsockopt(st.SOL_SOCKET, st.SO_RCVBUF, 8192)  # too late: connected
    assert exc.value.errno == errno.EISCONN
    for level, option in ((st.SOL_SOCKET, 0x7777), (st.IPPROTO_TCP, 0x7777)):
        with pytest.raises(OSError) as exc:
            cli.setsockopt(level, option, 1)
        assert exc.value.errno == errno.ENOPROTOOPT
        with pytest.raises(OSError) as exc:
            cli.getsockopt(level, option)
        assert exc.value.errno == errno.ENOPROTOOPT


def test_a_small_receive_buffer_is_the_window_advertised(pair: Pair) -> None:
    sa, sb = stacks(pair)
    srv = sb.socket(AF_INET6, SOCK_STREAM)
    srv.setsockopt(st.SOL_SOCKET, st.SO_RCVBUF, 4096)
    srv.bind(("::", 8006))
    srv.listen()
    cli = sa.socket(AF_INET6, SOCK_STREAM)
    cli.connect((B, 8006))
    conn, _ = srv.accept()
    # The buffer asked for, rounded up to whole segments.
    rcvbuf = conn.getsockopt(st.SOL_SOCKET, st.SO_RCVBUF)
    assert isinstance(rcvbuf, int) and 4096 <= rcvbuf < 4096 + 1440
    # The window the client may fill is that buffer, never more.
    assert cli.conn is not None and 4096 <= cli.conn.snd_wnd <= rcvbuf
    data = bytes(range(256)) * 200
    assert pump(cli, conn, data) == data


# -- the loopback backend, real time --------------------------------------------------------
def test_blocking_sockets_on_the_loopback_backend() -> None:
    stack, _ = loopback_stack()
    srv = listening(stack, 0, "::1")
    port = srv.getsockname()[1]
    cli = stack.socket(AF_INET6, SOCK_STREAM)
    cli.settimeout(5)
    cli.connect(("::1", port))
    conn, peer = srv.accept()
    assert peer == cli.getsockname() and peer[0] == "::1"
    data = bytes(range(256)) * 400
    assert pump(cli, conn, data) == data


# -- asyncio --------------------------------------------------------------------------------
def test_asyncio_echo_on_the_loopback_backend() -> None:
    stack, driver = loopback_stack()
    big = bytes(i % 253 for i in range(300_000))  # several windows: drain() must wait

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        writer.close()

    async def main() -> tuple[bytes, bytes, tuple[str, int, int, int]]:
        runner = asyncio.create_task(driver.serve())
        try:
            server = await st.start_server(stack, echo, "::1", 7007)
            reader, writer = await st.open_connection(stack, "::1", 7007)
            writer.write(b"hello\n")
            await writer.drain()
            line = await asyncio.wait_for(reader.readline(), 5)

            async def send() -> None:
                writer.write(big)
                await writer.drain()
                writer.write_eof()

            sender = asyncio.create_task(send())
            back = await asyncio.wait_for(reader.read(-1), 30)
            await sender
            peer = writer.get_extra_info("peername")
            writer.close()
            server.close()
            await server.wait_closed()
            return line, back, peer
        finally:
            runner.cancel()

    line, back, peer = asyncio.run(main())
    assert line == b"hello\n"
    assert back == big
    assert peer == ("::1", 7007, 0, 0)


def test_asyncio_open_connection_to_a_closed_port_is_refused() -> None:
    stack, driver = loopback_stack()

    async def main() -> None:
        runner = asyncio.create_task(driver.serve())
        try:
            await asyncio.wait_for(st.open_connection(stack, "::1", 9), 5)
        finally:
            runner.cancel()

    with pytest.raises(ConnectionRefusedError):
        asyncio.run(main())
