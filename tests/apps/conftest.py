from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tcpip6.apps import topology
from tcpip6.apps.jobs import Job, start_job
from tcpip6.io.control import ControlServer
from tcpip6.io.runtime import loopback_live_stack
from tests.apps.rig import DriverRig


@pytest.fixture
def demo() -> topology.Topology:
    return topology.demo()


@pytest.fixture
def chain() -> topology.Topology:
    return topology.chain()


class Rig(DriverRig[ControlServer]):
    """A loopback-only host on a LiveDriver, its control server answering like ``tcpip6
    host``'s; the test steps the driver itself."""

    def ask(self, request: dict[str, Any], sock: socket.socket | None = None) -> socket.socket:
        if sock is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(str(self.server.path))
            sock.setblocking(False)
        sock.send(json.dumps(request).encode() + b"\n")
        return sock

    def answers(self, sock: socket.socket, until: str = "done") -> list[dict[str, Any]]:
        data = bytearray()
        out: list[dict[str, Any]] = []

        def ready() -> bool:
            with contextlib.suppress(BlockingIOError):
                data.extend(sock.recv(65536))
            while (end := data.find(b"\n")) >= 0:
                out.append(json.loads(data[:end]))
                del data[: end + 1]
            return any(until in a for a in out)

        self.run_until(ready)
        return out


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    stack, driver = loopback_live_stack()

    def handler(request: dict[str, Any]) -> dict[str, Any] | Job:
        return start_job(stack, request)

    server = ControlServer(tmp_path / "c.sock", handler, max_jobs=2)
    with Rig.running(stack, driver, server) as rig:
        yield rig


def lines(answers: list[dict[str, Any]]) -> list[str]:
    return [a["line"] for a in answers if "line" in a]
