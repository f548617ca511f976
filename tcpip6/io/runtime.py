"""Drivers: what runs the network while an application waits (``sockets.Driver``).

- :class:`SimDriver` steps a simnet world on its fake clock: a blocking ``recvfrom`` with a
  timeout of 2 s runs 2 simulated seconds of the network, in milliseconds of real time.
- :class:`RealTimeDriver` drives nodes (hosts, loopback ports) with the real clock
  (``time.monotonic``), sleeping until the next deadline; :meth:`RealTimeDriver.serve`
  does the same as an asyncio task, for the asyncio face of the sockets.
- :func:`loopback_stack` is the smallest live backend: one host whose only interface is
  the loopback interface (``::1``), on real time, no root needed.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Iterable

from tcpip6.io.loopback import LoopbackPort
from tcpip6.io.simnet import Node, SimNetwork
from tcpip6.stack.host import Host
from tcpip6.stack.link import LoopbackLink
from tcpip6.stack.params import InterfaceParameters
from tcpip6.stack.sockets import Stack
from tcpip6.wire.ipv6 import LOOPBACK

#: On simnet, a blocking call without a timeout gives up after this much simulated time
#: (periodic timers never let the network fall idle, and nothing else would end it).
SIM_WAIT_LIMIT = 86400.0
#: The real-time driver never sleeps longer than this, so that a caller sees progress.
MAX_SLEEP = 0.05


class SimDriver:
    """A simnet world as a driver."""

    def __init__(self, world: SimNetwork) -> None:
        self.world = world

    @property
    def now(self) -> float:
        return self.world.now

    def wait(self, ready: Callable[[], bool], timeout: float | None) -> bool:
        world = self.world
        limit = world.now + (SIM_WAIT_LIMIT if timeout is None else timeout)
        while not ready():
            if not world.step(limit):
                world.now = max(world.now, limit)
                break
        return ready()

    def run_for(self, seconds: float) -> None:
        self.world.run_for(seconds)


class RealTimeDriver:
    """Nodes on the real clock; ``now`` is seconds since the driver was made."""

    def __init__(self, nodes: Iterable[Node] = ()) -> None:
        self.nodes: list[Node] = list(nodes)
        self._t0 = time.monotonic()

    @property
    def now(self) -> float:
        return time.monotonic() - self._t0

    def add(self, node: Node) -> None:
        self.nodes.append(node)

    def run_due(self) -> float | None:
        """Poll every node that is due (until none is); the next deadline."""
        for _ in range(1000):
            now = self.now
            due = [n for n in self.nodes if (d := n.next_deadline()) is not None and d <= now]
            if not due:
                break
            for node in due:
                node.poll(now)
        times = [d for n in self.nodes if (d := n.next_deadline()) is not None]
        return min(times) if times else None

    def wait(self, ready: Callable[[], bool], timeout: float | None) -> bool:
        end = None if timeout is None else self.now + timeout
        while True:
            nxt = self.run_due()
            if ready():
                return True
            now = self.now
            if end is not None and now >= end:
                return False
            if nxt is None and end is None:
                return False  # nothing will ever happen
            until = min(t for t in (nxt, end) if t is not None)
            time.sleep(min(max(until - now, 0.0), MAX_SLEEP))

    async def serve(self) -> None:
        """Run the nodes for ever as an asyncio task (cancel it to stop)."""
        while True:
            nxt = self.run_due()
            delay = MAX_SLEEP if nxt is None else min(max(nxt - self.now, 0.0), MAX_SLEEP)
            await asyncio.sleep(delay)


def loopback_stack(name: str = "lo-host", seed: int = 0) -> tuple[Stack, RealTimeDriver]:
    """A host with only a loopback interface (``::1``), driven in real time."""
    host = Host(name=name, rng=random.Random(seed))
    port = LoopbackPort()
    params = InterfaceParameters(link_mtu=65535, dup_addr_detect_transmits=0)
    iface = host.add_interface(LoopbackLink(port), name="lo", params=params)
    port.receiver = lambda frame, now: host.receive(iface, frame, now)
    driver = RealTimeDriver([host, port])
    iface.add_static_address(LOOPBACK, 128, driver.now)
    return Stack(host, driver), driver
