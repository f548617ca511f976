"""A loopback-only host on a LiveDriver that the test steps itself, and the server under
test attached to that driver."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, Protocol, Self, TypeVar

from tcpip6.api.sockets import Stack
from tcpip6.io.runtime import LiveDriver


class Served(Protocol):
    def attach(self, driver: LiveDriver) -> None: ...

    def close(self) -> None: ...


Server = TypeVar("Server", bound=Served)


class DriverRig(Generic[Server]):
    @classmethod
    @contextmanager
    def running(cls, stack: Stack, driver: LiveDriver, server: Server) -> Iterator[Self]:
        """``server`` attached to ``driver`` for the test; both closed after it."""
        server.attach(driver)
        try:
            yield cls(stack, driver, server)
        finally:
            server.close()
            driver.close()

    def __init__(self, stack: Stack, driver: LiveDriver, server: Server) -> None:
        self.stack = stack
        self.driver = driver
        self.server = server

    def run_until(self, ready: Callable[[], bool], timeout: float = 10.0) -> None:
        """Step the driver (5 ms at a time) until ``ready()``; fail after ``timeout``."""
        end = time.monotonic() + timeout
        while not ready():
            assert time.monotonic() < end, "timed out"
            self.driver.step(self.driver.now + 0.005)
