"""Drivers: what runs the network while an application waits (``sockets.Driver``).

- :class:`SimDriver` steps a simnet world on its fake clock: a blocking ``recvfrom`` with a
  timeout of 2 s runs 2 simulated seconds of the network, in milliseconds of real time.
- :class:`RealTimeDriver` drives nodes (hosts, loopback ports) with the real clock
  (``time.monotonic``), sleeping until the next deadline; :meth:`RealTimeDriver.serve`
  does the same as an asyncio task, for the asyncio face of the sockets.
- :class:`LiveDriver` is the real-time driver that also waits on file descriptors
  (``selectors``): the packet sockets and TAP devices of a live host. It sleeps until the
  next deadline or until a descriptor is readable, and stops cleanly on SIGINT/SIGTERM.
- :func:`loopback_stack` is the smallest live backend: one host whose only interface is
  the loopback interface (``::1``), on real time, no root needed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import selectors
import signal
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import EllipsisType, FrameType
from typing import Protocol, TypeVar, cast

from tcpip6.api.sockets import Stack
from tcpip6.io.loopback import LoopbackPort
from tcpip6.io.simnet import Node, SimNetwork
from tcpip6.stack.counters import CounterSet
from tcpip6.stack.host import Host
from tcpip6.stack.link import LoopbackLink
from tcpip6.stack.params import InterfaceParameters
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
        """Run the world until ``ready()`` or ``timeout`` simulated seconds have passed. A
        non-blocking call (``timeout`` 0) that is not ready returns at once: simulated time
        cannot pass within it, and whatever is due now runs when the world next runs."""
        if timeout is not None and timeout <= 0:
            return ready()
        world = self.world
        limit = world.now + (SIM_WAIT_LIMIT if timeout is None else timeout)
        while not ready():
            if not world.step(limit):
                world.now = max(world.now, limit)
                break
        return ready()

    def run_for(self, seconds: float) -> None:
        self.world.run_for(seconds)


def _clock() -> float:
    """The driver's clock: ``CLOCK_BOOTTIME`` where there is one (Linux), which runs on
    through a suspend, so that lifetimes (addresses, routers) and TCP's timers (RFC 6298)
    see the time that really passed; else ``time.monotonic``. Neither moves when the wall
    clock is set."""
    return time.clock_gettime(_CLOCK_ID)


_CLOCK_ID: int = getattr(time, "CLOCK_BOOTTIME", time.CLOCK_MONOTONIC)


class RealTimeDriver:
    """Nodes on the real clock; ``now`` is seconds since the driver was made."""

    def __init__(self, nodes: Iterable[Node] = ()) -> None:
        self.nodes: list[Node] = list(nodes)
        self._t0 = _clock()

    @property
    def now(self) -> float:
        return _clock() - self._t0

    def add(self, node: Node) -> None:
        self.nodes.append(node)

    def run_due(self) -> float | None:
        """Poll every node that is due (until none is); the next deadline. Each node's
        deadline is asked once a pass: the pass that finds none due gives the answer."""
        best: float | None = None
        for _ in range(1000):
            now = self.now
            best = None
            due: list[Node] = []
            for node in self.nodes:
                d = node.next_deadline()
                if d is None:
                    continue
                if d <= now:
                    due.append(node)
                elif best is None or d < best:
                    best = d
            if not due:
                return best
            for node in due:
                node.poll(now)
        # Still due after 1000 passes (a node that is always due): at once again.
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


class FrameSource(Protocol):
    """A port with a file descriptor: readable means frames wait (an AF_PACKET socket, a
    TAP device). ``read_ready`` hands them to the port's receiver."""

    def fileno(self) -> int: ...

    def read_ready(self, now: float) -> int: ...


class BufferedSource(FrameSource, Protocol):
    """A port that holds frames to send until :meth:`flush` (a packet socket's transmit
    ring): the driver flushes it before it sleeps, and watches it for room to write
    while frames wait for some (``wants_write``)."""

    def flush(self) -> None: ...

    def wants_write(self) -> bool: ...

    def write_ready(self, now: float) -> None: ...


class WritableSource(FrameSource, Protocol):
    """A source that also waits for room to write (a relay's kernel socket):
    :meth:`LiveDriver.watch` asks for ``write_ready`` calls."""

    def write_ready(self, now: float) -> None: ...


#: The live driver wakes at least this often (a safety net: every event that matters
#: also wakes it, through a deadline or a readable descriptor).
LIVE_MAX_SLEEP = 1.0
#: A wake this much later than the driver asked for is a clock jump (the process was
#: stopped, or the machine suspended): counted, and reported to ``on_late_wake``.
LATE_WAKE = 0.5
#: A timer that runs this much after its deadline counts as run late (DriverCounters).
TIMER_LATE = 0.01


@dataclass
class DriverCounters(CounterSet):
    """How far behind the live driver is: a timer's deadline against the time its node
    was polled for it (frames read in the same turn delay it: the input budget bounds that)."""

    #: The largest gap seen, in microseconds.
    timer_lag_max_us: int = 0
    #: Turns whose earliest due timer ran TIMER_LATE or more after its deadline.
    timers_run_late: int = 0
    #: Clock jumps (LATE_WAKE), as ``LiveDriver.late_wakes``.
    late_wakes: int = 0


class LiveDriver(RealTimeDriver):
    """Nodes on the real clock, and the frame sources they listen to.

    ``step()`` polls what is due, then sleeps in ``select`` until the next deadline or
    until a source is readable, and hands the frames that arrived to their receivers.
    ``run()`` steps until :meth:`stop` (which a signal handler may call: a self-pipe wakes
    the ``select``). ``wait()`` serves the blocking calls of :class:`~tcpip6.api.sockets.Stack`.
    """

    def __init__(self, nodes: Iterable[Node] = (), sources: Iterable[FrameSource] = ()) -> None:
        super().__init__(nodes)
        self.selector = selectors.DefaultSelector()
        self.sources: list[FrameSource] = []
        #: The selector events each registered source waits for (absent: none).
        self._events: dict[int, int] = {}
        self.stopped = False
        #: The signal that stopped the driver, if one did.
        self.stop_signal: int | None = None
        #: Clock jumps seen (wakes LATE_WAKE or more after the time asked for), and a
        #: callback told how late each was, in seconds.
        self.late_wakes = 0
        #: How far behind the driver ran its timers (``tcpip6 show counters``).
        self.counters = DriverCounters()
        self.on_late_wake: Callable[[float], None] | None = None
        #: Sources that hold frames until flushed (BufferedSource).
        self.buffered: list[BufferedSource] = []
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self.selector.register(self._wake_r, selectors.EVENT_READ, None)
        for source in sources:
            self.add_source(source)

    def add_source(self, source: FrameSource) -> None:
        self.sources.append(source)
        self.selector.register(source.fileno(), selectors.EVENT_READ, source)
        self._events[source.fileno()] = selectors.EVENT_READ
        if callable(getattr(source, "flush", None)) and callable(
            getattr(source, "wants_write", None)
        ):
            self.buffered.append(source)  # type: ignore[arg-type]

    def remove_source(self, source: FrameSource) -> None:
        self.buffered = [s for s in self.buffered if s is not source]
        self.nodes = [n for n in self.nodes if n is not cast(object, source)]  # its timer
        self.sources.remove(source)
        if self._events.pop(source.fileno(), 0):
            self.selector.unregister(source.fileno())

    def watch(self, source: FrameSource, *, read: bool = True, write: bool = False) -> None:
        """What wakes a source: readable (``read_ready``), writable (``write_ready``), both
        or neither (back-pressure: a relay stops reading while it has nowhere to put it)."""
        fd = source.fileno()
        events = (selectors.EVENT_READ if read else 0) | (selectors.EVENT_WRITE if write else 0)
        old = self._events.get(fd, 0)
        if events == old:
            return
        if not events:
            self.selector.unregister(fd)
            del self._events[fd]
        elif not old:
            self.selector.register(fd, events, source)
            self._events[fd] = events
        else:
            self.selector.modify(fd, events, source)
            self._events[fd] = events

    def stop(self) -> None:
        """Make ``run`` return (safe from a signal handler)."""
        self.stopped = True
        # A full pipe means it is already woken; a closed one, that it is over.
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")

    def stop_on_signals(self, signums: Iterable[int] = (signal.SIGINT, signal.SIGTERM)) -> None:
        """Install handlers that stop the driver on these signals (main thread only)."""

        def handler(signum: int, frame: FrameType | None) -> None:
            self.stop_signal = signum
            self.stop()

        for signum in signums:
            signal.signal(signum, handler)

    def step(
        self, limit: float | None = None, due: float | EllipsisType | None = ...
    ) -> float | None:
        """Poll the due nodes, wait for a deadline or a frame (no later than ``limit``,
        driver time), read what arrived, and poll again what that made due; the next
        deadline after that. ``due``: what :meth:`run_due` just answered, when nothing
        ran since (then the first pass over the nodes is not made again: each pass asks
        every node for its deadline, a cost paid on every frame that wakes the driver)."""
        nxt = self.run_due() if due is ... else due
        now = self.now
        until = min((t for t in (nxt, limit) if t is not None), default=now + LIVE_MAX_SLEEP)
        timeout = min(max(until - now, 0.0), LIVE_MAX_SLEEP)
        if self.stopped:
            timeout = 0.0
        self.flush()
        ready = self.selector.select(timeout)
        # A clock jump: every deadline that passed meanwhile is due now. The frames that
        # arrived meanwhile are read first (below), so an acknowledgment waiting in a socket
        # cancels its retransmission before the timers run; then each due timer fires once,
        # at this time, and its owner re-arms it from now (a retransmission timer once per
        # connection, RFC 6298 §5.4-5.5), so the catch-up cannot burst.
        late = self.now - (now + timeout)
        if late >= LATE_WAKE:
            self.late_wakes += 1
            self.counters.late_wakes += 1
            if self.on_late_wake is not None:
                self.on_late_wake(late)
        for key, mask in ready:
            if key.data is None:
                self._drain_wake_pipe()
                continue
            source: FrameSource = key.data
            if mask & selectors.EVENT_READ:
                source.read_ready(self.now)
            if mask & selectors.EVENT_WRITE and self._events.get(key.fd, 0) & mask:
                write_ready = getattr(source, "write_ready", None)
                if write_ready is not None:
                    write_ready(self.now)
        if nxt is not None:
            self._timer_lag(self.now - nxt)
        # What reading sent goes out first; then what is due (a writer the ACKs gave
        # room), so that the deadline returned is the one after both.
        self.flush()
        return self.run_due()

    def _timer_lag(self, lag: float) -> None:
        """The earliest deadline is ``lag`` seconds past (negative: not due yet)."""
        if lag <= 0.0:
            return
        self.counters.timer_lag_max_us = max(self.counters.timer_lag_max_us, round(lag * 1e6))
        if lag >= TIMER_LATE:
            self.counters.timers_run_late += 1

    def flush(self) -> None:
        """Hand what the buffered sources hold to the kernel; watch for room to write
        those that still hold frames."""
        for source in self.buffered:
            source.flush()
            if source.fileno() in self._events:
                self.watch(source, read=True, write=source.wants_write())

    def _drain_wake_pipe(self) -> None:
        try:
            while os.read(self._wake_r, 512):
                pass
        except BlockingIOError:
            pass

    def run(self, on_step: Callable[[], None] | None = None) -> None:
        """Step until :meth:`stop`; ``on_step`` runs after every step (to print events:
        it must arm no timer and send nothing, since the next step starts from the
        deadline the last one found)."""
        nxt: float | EllipsisType | None = ...
        while not self.stopped:
            nxt = self.step(due=nxt)
            if on_step is not None:
                on_step()

    def wait(self, ready: Callable[[], bool], timeout: float | None) -> bool:
        end = None if timeout is None else self.now + timeout
        while True:
            self.run_due()
            if ready():
                return True
            if self.stopped or (end is not None and self.now >= end):
                return False
            self.step(end)

    def close(self) -> None:
        self.selector.close()
        os.close(self._wake_r)
        os.close(self._wake_w)


def loopback_stack(name: str = "lo-host", seed: int = 0) -> tuple[Stack, RealTimeDriver]:
    """A host with only a loopback interface (``::1``), driven in real time."""
    return _loopback(RealTimeDriver(), name, seed)


def loopback_live_stack(name: str = "lo-host", seed: int = 0) -> tuple[Stack, LiveDriver]:
    """The same on a :class:`LiveDriver`, which also serves kernel sockets (a SOCKS front
    door, a control socket) from its ``select``."""
    return _loopback(LiveDriver(), name, seed)


_D = TypeVar("_D", bound=RealTimeDriver)


def _loopback(driver: _D, name: str, seed: int) -> tuple[Stack, _D]:
    host = Host(name=name, rng=random.Random(seed))
    port = LoopbackPort()
    params = InterfaceParameters(link_mtu=65535, dup_addr_detect_transmits=0)
    iface = host.add_interface(LoopbackLink(port), name="lo", params=params)
    port.receiver = lambda frame, now: host.receive(iface, frame, now)
    driver.add(host)
    driver.add(port)
    iface.add_static_address(LOOPBACK, 128, driver.now)
    return Stack(host, driver), driver
