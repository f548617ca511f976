"""Wiring :class:`~tcpip6.stack.host.Host` objects onto simnet segments.

``world = SimWorld(seed)``; ``h = world.host("a")``; ``world.connect(h, "lan0")`` gives the
host an Ethernet interface on segment ``lan0``; ``world.run_for(5)`` moves the fake clock.
``world.capture(path)`` writes every frame every host sends and receives to one pcap file.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from ipaddress import IPv6Network
from pathlib import Path

from tcpip6.io.loopback import LoopbackPort
from tcpip6.io.pcap import PcapWriter
from tcpip6.io.simnet import SimNetwork, mac_for
from tcpip6.stack.host import Host
from tcpip6.stack.interface import Interface
from tcpip6.stack.link import EthernetLink, LoopbackLink
from tcpip6.stack.params import InterfaceParameters
from tcpip6.stack.router import AdvertisingParameters, AdvPrefix, Router
from tcpip6.wire.ipv6 import LOOPBACK


class SimWorld(SimNetwork):
    def __init__(self, seed: int = 0) -> None:
        super().__init__(seed=seed)
        self.seed = seed
        self.hosts: dict[str, Host] = {}
        self._nics = 0
        self.pcap: PcapWriter | None = None
        #: Called for every frame any host sends: (interface, frame, now).
        self.observers: list[Callable[[Interface, bytes, float], None]] = []

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
    ) -> Interface:
        seg = self.segment(segment)
        self._nics += 1
        mac = mac or mac_for(self._nics)
        port = seg.attach(mac)
        link = EthernetLink(port, mac, mtu=seg.mtu)
        iface = host.add_interface(link, name=name or f"eth{len(host.interfaces)}", params=params)
        port.receiver = lambda frame, now: host.receive(iface, frame, now)
        iface.capture = self._capture
        return iface

    def router(self, name: str) -> Router:
        """A tcpip6 node in router mode (forwarding, Router Advertisements)."""
        return Router(self.host(name))

    def connect_router(
        self,
        router: Router,
        segment: str,
        prefix: IPv6Network,
        params: AdvertisingParameters | None = None,
    ) -> Interface:
        """Attach ``router`` to ``segment`` with the first address of ``prefix`` (``::1``)
        and advertise ``prefix`` there (with ``params``, or the RFC 4861 defaults)."""
        iface = self.connect(router.host, segment)
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
        self.add_node(port)
        return iface

    def capture(self, path: str | Path) -> PcapWriter:
        """Record, on every interface of every host, each frame sent and received."""
        self.pcap = PcapWriter(path)
        return self.pcap

    def _capture(self, iface: Interface, frame: bytes, now: float, direction: str) -> None:
        # One copy of each frame on the wire: what is sent (receivers see the same bytes).
        if direction != "out":
            return
        if self.pcap is not None:
            self.pcap.write(frame, now)
        for observer in self.observers:
            observer(iface, frame, now)
