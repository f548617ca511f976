"""Wiring :class:`~tcpip6.stack.host.Host` objects onto simnet segments.

``world = SimWorld(seed)``; ``h = world.host("a")``; ``world.connect(h, "lan0")`` gives the
host an Ethernet interface on segment ``lan0``; ``world.run_for(5)`` moves the fake clock.
``world.capture(path)`` writes every frame every host sends and receives to one pcap file.
``world.connect(h, "lan0", line_rate=100e6)`` gives the NIC a line rate: frames leave it
one after another, each taking its bits over the rate (simnet itself has delay, no rate).
``tx_queue=(limit, stop_at)`` beside it gives that NIC's queue back-pressure
(:mod:`tcpip6.stack.link`): it stops at ``stop_at`` frames and wakes the host when drained.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable, Iterable
from functools import partial
from ipaddress import IPv6Network
from pathlib import Path
from typing import SupportsIndex

from tcpip6.io.loopback import LoopbackPort
from tcpip6.io.pcap import PcapWriter
from tcpip6.io.simnet import SimNetwork, SimPort, mac_for
from tcpip6.stack.host import Host
from tcpip6.stack.interface import Interface
from tcpip6.stack.link import EthernetLink, LoopbackLink
from tcpip6.stack.params import InterfaceParameters
from tcpip6.stack.router import AdvertisingParameters, AdvPrefix, Router
from tcpip6.wire.ipv6 import LOOPBACK

#: Octets a frame takes on an Ethernet wire besides its own: preamble and start delimiter
#: (8), frame check sequence (4), inter-frame gap (12).
ETHERNET_OVERHEAD = 24
#: Frames a line-rate NIC holds before it drops (Linux's default txqueuelen).
TX_QUEUE_LEN = 1000


class LineRatePort:
    """The transmit side of a NIC with a line rate, between an Ethernet link and its
    simnet port: each frame leaves when the one before has, ``(len + 24) * 8 / rate``
    seconds later; at most ``queue_limit`` frames wait, more are dropped and counted (a
    full transmit queue). Driven by the world like a host (``next_deadline``/``poll``)."""

    def __init__(
        self,
        port: SimPort,
        network: SimNetwork,
        rate: float,
        queue_limit: int = TX_QUEUE_LEN,
        stop_at: int | None = None,
    ) -> None:
        if rate <= 0:
            raise ValueError("a line rate is positive (bits per second)")
        if stop_at is not None and not 0 < stop_at <= queue_limit:
            raise ValueError("the high-water mark is within the queue (1..queue_limit)")
        self.port = port
        self.network = network
        self.rate = rate
        self.queue_limit = queue_limit
        self.queue: deque[tuple[float, bytes]] = deque()
        self.busy_until = 0.0
        self.dropped = 0
        # Back-pressure (tcpip6.stack.link): with a high-water mark ``stop_at`` the queue
        # stops there, and wakes (``on_writable``) when it has drained to a quarter of it.
        self.stop_at = stop_at
        self.wake_at = 0 if stop_at is None else stop_at // 4
        self.stopped = False
        self.stops = 0
        self.on_writable: Callable[[float], None] | None = None

    def tx_stopped(self) -> bool:
        return self.stopped

    @property
    def backlog(self) -> int:
        """Frames waiting to leave."""
        return len(self.queue)

    # FramePort
    def send_frame(self, frame: bytes) -> None:
        if len(self.queue) >= self.queue_limit:
            self.dropped += 1
            return
        start = max(self.network.now, self.busy_until)
        self.busy_until = start + (len(frame) + ETHERNET_OVERHEAD) * 8 / self.rate
        self.queue.append((self.busy_until, frame))
        if self.stop_at is not None and not self.stopped and len(self.queue) >= self.stop_at:
            self.stopped = True
            self.stops += 1

    def set_multicast_filter(self, link_addresses: frozenset[bytes]) -> None:
        self.port.set_multicast_filter(link_addresses)

    # Node
    def next_deadline(self) -> float | None:
        return self.queue[0][0] if self.queue else None

    def poll(self, now: float) -> float | None:
        while self.queue and self.queue[0][0] <= now:
            self.port.send_frame(self.queue.popleft()[1])
        if self.stopped and len(self.queue) <= self.wake_at:
            self.stopped = False
            if self.on_writable is not None:
                self.on_writable(now)
        return self.queue[0][0] if self.queue else None  # next_deadline(), every frame


Observer = Callable[[Interface, bytes, float], None]


class _Observers(list[Observer]):
    """The world's observers: a list that tells the world when it changes, so that the
    interfaces hand their frames to the world only while someone is listening."""

    def __init__(self, changed: Callable[[], None]) -> None:
        super().__init__()
        self._changed = changed

    def append(self, observer: Observer) -> None:
        super().append(observer)
        self._changed()

    def extend(self, observers: Iterable[Observer]) -> None:
        super().extend(observers)
        self._changed()

    def insert(self, index: SupportsIndex, observer: Observer) -> None:
        super().insert(index, observer)
        self._changed()


class SimWorld(SimNetwork):
    def __init__(self, seed: int = 0) -> None:
        super().__init__(seed=seed)
        self.seed = seed
        self.hosts: dict[str, Host] = {}
        self._nics = 0
        self.pcap: PcapWriter | None = None
        self._interfaces: list[Interface] = []
        self._observers = _Observers(self._listen)
        self.line_rate_ports: list[LineRatePort] = []

    @property
    def observers(self) -> list[Observer]:
        """Called for every frame any host sends: (interface, frame, now)."""
        return self._observers

    def _listen(self) -> None:
        """The interfaces give the world their frames (a copy of each, built for it) only
        while a capture or an observer takes them."""
        capture = self._capture if self.pcap is not None or self._observers else None
        for iface in self._interfaces:
            iface.capture = capture

    def host(self, name: str) -> Host:
        # Each host gets its own RNG stream, derived from the world seed and its name.
        rng = random.Random(f"{self.seed}/{name}")
        host = Host(name=name, rng=rng)
        host.strict = True
        self.hosts[name] = host
        self.add_node(host)
        return host

    def connect(
        self,
        host: Host,
        segment: str,
        mac: bytes | None = None,
        params: InterfaceParameters | None = None,
        name: str | None = None,
        line_rate: float | None = None,
        tx_queue: tuple[int, int] | None = None,
    ) -> Interface:
        """``tx_queue=(limit, stop_at)`` (with ``line_rate``): the NIC's transmit queue
        holds ``limit`` frames and has back-pressure, stopping at ``stop_at``."""
        seg = self.segment(segment)
        self._nics += 1
        mac = mac or mac_for(self._nics)
        port = seg.attach(mac)
        shaped = self._shaped(host, port, line_rate, tx_queue)
        link = EthernetLink(shaped, mac, mtu=seg.mtu)
        iface = host.add_interface(link, name=name or f"eth{len(host.interfaces)}", params=params)
        if isinstance(shaped, LineRatePort) and tx_queue is not None:
            shaped.on_writable = partial(host.link_writable, iface)
        port.receiver = partial(host.receive, iface)
        port.node = host
        self._interfaces.append(iface)
        self._listen()
        return iface

    def _shaped(
        self,
        host: Host,
        port: SimPort,
        line_rate: float | None,
        tx_queue: tuple[int, int] | None = None,
    ) -> SimPort | LineRatePort:
        if line_rate is None:
            if tx_queue is not None:
                raise ValueError("a transmit queue drains at a line rate: give line_rate")
            return port
        if tx_queue is None:
            shaper = LineRatePort(port, self, line_rate)
        else:
            shaper = LineRatePort(port, self, line_rate, tx_queue[0], stop_at=tx_queue[1])
        self.line_rate_ports.append(shaper)
        # With back-pressure, draining the queue wakes the host (Host.link_writable).
        self.add_node(shaper, owner=host, reaches_owner=tx_queue is not None)
        return shaper

    def router(self, name: str) -> Router:
        """A tcpip6 node in router mode (forwarding, Router Advertisements)."""
        return Router(self.host(name))

    def connect_router(
        self,
        router: Router,
        segment: str,
        prefix: IPv6Network,
        params: AdvertisingParameters | None = None,
        line_rate: float | None = None,
        interface_params: InterfaceParameters | None = None,
    ) -> Interface:
        """Attach ``router`` to ``segment`` with the first address of ``prefix`` (``::1``)
        and advertise ``prefix`` there (with ``params``, or the RFC 4861 defaults);
        ``interface_params`` sets the interface's variables (say, a neighbor cache for
        every host of a large link)."""
        iface = self.connect(router.host, segment, line_rate=line_rate, params=interface_params)
        iface.add_static_address(prefix[1], prefix.prefixlen, self.now)
        if params is None:
            params = AdvertisingParameters(prefixes=(AdvPrefix(prefix),))
        router.advertise(iface, params)
        return iface

    def add_loopback(self, host: Host) -> Interface:
        """A loopback interface (``lo``) with ``::1/128`` (RFC 4291 §2.5.3)."""
        port = LoopbackPort()
        port.now = self.now
        params = InterfaceParameters(link_mtu=65535, dup_addr_detect_transmits=0)
        iface = host.add_interface(LoopbackLink(port), name="lo", params=params)
        port.receiver = lambda frame, now: host.receive(iface, frame, now)
        iface.add_static_address(LOOPBACK, 128, self.now)
        self.add_node(port, owner=host)
        return iface

    def capture(self, path: str | Path) -> PcapWriter:
        """Record, on every interface of every host, each frame sent and received."""
        self.pcap = PcapWriter(path)
        self._listen()
        return self.pcap

    def _capture(self, iface: Interface, frame: bytes, now: float, direction: str) -> None:
        # One copy of each frame on the wire: what is sent (receivers see the same bytes).
        if direction != "out":
            return
        if self.pcap is not None:
            self.pcap.write(frame, now)
        for observer in self.observers:
            observer(iface, frame, now)
