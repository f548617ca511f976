"""Wiring :class:`~tcpip6.stack.host.Host` objects onto simnet segments.

``world = SimWorld(seed)``; ``h = world.host("a")``; ``world.connect(h, "lan0")`` gives the
host an Ethernet interface on segment ``lan0``; ``world.run_for(5)`` moves the fake clock.
``world.capture(path)`` writes every frame every host sends and receives to one pcap file.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

from tcpip6.io.pcap import PcapWriter
from tcpip6.io.simnet import SimNetwork, mac_for
from tcpip6.stack.host import Host
from tcpip6.stack.interface import Interface
from tcpip6.stack.link import EthernetLink
from tcpip6.stack.params import InterfaceParameters


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
