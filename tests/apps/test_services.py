"""The simple services over UDP and TCP, served by b and queried from a on simnet."""

from __future__ import annotations

import contextlib
import io
import random
from collections.abc import Iterator
from datetime import datetime

import pytest

from tcpip6.api.sockets import AF_INET6, SOCK_STREAM
from tcpip6.api.stream import SHUT_WR
from tcpip6.apps.services import (
    CHARGEN_CHARS,
    PORTS,
    QUOTES,
    Services,
    chargen_line,
    demonstrate,
    query,
    query_tcp,
)
from tcpip6.apps.topology import Topology


@pytest.fixture
def served(demo: Topology) -> Iterator[tuple[Topology, Services]]:
    with Services(demo.stack("b"), rng=random.Random(7)) as services:
        services.start()
        yield demo, services


def ask(topo: Topology, service: str, data: bytes = b"x") -> bytes | None:
    return query(topo.stack("a"), topo.resolve("b"), PORTS[service], data)


def test_echo_echoes(served: tuple[Topology, Services]) -> None:
    topo, _ = served
    for data in (b"hello", bytes(range(256)) * 4, b""):
        assert ask(topo, "echo", data) == data


def test_discard_answers_nothing(served: tuple[Topology, Services]) -> None:
    topo, services = served
    assert ask(topo, "discard", b"gone") is None
    assert services.protocols["discard"].requests == 1


def test_daytime_is_a_date(served: tuple[Topology, Services]) -> None:
    topo, _ = served
    answer = ask(topo, "daytime")
    assert answer is not None and answer.endswith(b"\r\n")
    when = datetime.strptime(answer.decode("ascii").strip(), "%A, %B %d, %Y %H:%M:%S-UTC")
    assert when.year >= 2024


def test_qotd_is_short(served: tuple[Topology, Services]) -> None:
    topo, _ = served
    seen = set()
    for _ in range(len(QUOTES)):
        answer = ask(topo, "qotd")
        assert answer is not None and 0 < len(answer) < 512
        seen.add(answer)
    assert len(seen) == len(QUOTES)


def test_chargen_lines(served: tuple[Topology, Services]) -> None:
    topo, _ = served
    sizes = []
    expected_line = 0
    for _ in range(12):
        answer = ask(topo, "chargen")
        assert answer is not None and len(answer) <= 512
        sizes.append(len(answer))
        *whole, rest = answer.split(b"\r\n")
        for line in whole:
            assert len(line) == 72 and all(b in CHARGEN_CHARS for b in line)
            # RFC 864: each line starts one character further on.
            assert line + b"\r\n" == chargen_line(expected_line)
            expected_line += 1
        if rest:
            assert chargen_line(expected_line).startswith(rest)
            expected_line += 1
    assert len(set(sizes)) > 1  # random lengths


def test_demonstrate(served: tuple[Topology, Services]) -> None:
    topo, _ = served
    out = io.StringIO()
    assert demonstrate(topo.stack("a"), topo.resolve("b"), out, "b") == 0
    text = out.getvalue()
    assert "echo      7/udp  b'hello, echo' came back" in text
    assert "nothing came back (RFC 863)" in text
    assert "echo      7/tcp  b'hello, echo over TCP' came back (RFC 862)" in text
    assert "chargen  19/tcp  740 octets of a continuous stream (RFC 864)" in text
    assert "daytime  13/tcp  (RFC 867) " in text


# -- TCP --------------------------------------------------------------------------------
def ask_tcp(topo: Topology, service: str, data: bytes = b"", limit: int = 1 << 16) -> bytes:
    answer = query_tcp(topo.stack("a"), topo.resolve("b"), PORTS[service], data, limit=limit)
    assert answer is not None
    return answer


def test_tcp_echo_sends_back_more_than_the_buffers_hold(
    served: tuple[Topology, Services],
) -> None:
    topo, _ = served
    sa = topo.stack("a")
    sock = sa.socket(AF_INET6, SOCK_STREAM)
    sock.connect((topo.resolve("b"), 7))
    data = bytes(i * 13 % 256 for i in range(400_000))  # > send buffer + window, twice
    sock.setblocking(False)
    view, got = memoryview(data), bytearray()
    conn = sock.conn
    assert conn is not None
    while len(got) < len(data):
        if view:
            with contextlib.suppress(BlockingIOError):
                view = view[sock.send(view) :]
        with contextlib.suppress(BlockingIOError):
            got += sock.recv(65536)
        room = (lambda: conn.send_space > 0) if view else (lambda: False)
        sa.driver.wait(lambda: bool(conn.rcvbuf) or room(), 5)  # noqa: B023 (used at once)
    assert got == data
    sock.shutdown(SHUT_WR)
    sock.setblocking(True)
    assert sock.recv(10) == b""  # the server closes when we do


def test_tcp_discard_daytime_qotd(served: tuple[Topology, Services]) -> None:
    topo, services = served
    assert ask_tcp(topo, "discard", b"x" * 100_000) == b""
    when = ask_tcp(topo, "daytime").decode("ascii")
    assert datetime.strptime(when.strip(), "%A, %B %d, %Y %H:%M:%S-UTC").year >= 2024
    assert {ask_tcp(topo, "qotd").decode() for _ in QUOTES} == set(QUOTES)
    assert services.servers["qotd"].accepted == len(QUOTES)


def test_tcp_chargen_is_a_stream_until_the_client_closes(
    served: tuple[Topology, Services],
) -> None:
    topo, services = served
    answer = ask_tcp(topo, "chargen", limit=200_000)
    assert len(answer) == 200_000
    lines = answer.split(b"\r\n")
    assert all(line + b"\r\n" == chargen_line(i) for i, line in enumerate(lines[:-1]))
    topo.world.run_for(1.0)
    assert not services.servers["chargen"].handlers  # the client's close ended it


def test_tcp_servers_bound_their_connections(served: tuple[Topology, Services]) -> None:
    topo, services = served
    server = services.servers["discard"]
    server.max_connections = 2
    sa = topo.stack("a")
    socks = []
    for _ in range(3):
        sock = sa.socket(AF_INET6, SOCK_STREAM)
        sock.connect((topo.resolve("b"), 9))
        socks.append(sock)
    topo.world.run_for(0.5)
    assert len(server.handlers) == 2 and server.accepted == 2
    socks[0].close()  # the first finishes: the third is taken from the accept queue
    topo.world.run_for(0.5)
    assert len(server.handlers) == 2 and server.accepted == 3
