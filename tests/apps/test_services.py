"""The simple services over UDP, served by b and queried from a on simnet."""

from __future__ import annotations

import io
import random
from collections.abc import Iterator
from datetime import datetime

import pytest

from tcpip6.apps.services import (
    CHARGEN_CHARS,
    PORTS,
    QUOTES,
    Services,
    chargen_line,
    demonstrate,
    query,
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
