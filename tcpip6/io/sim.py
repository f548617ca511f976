"""Wiring :class:`~tcpip6.stack.host.Host` objects onto simnet segments.

``world = SimWorld(seed)``; ``h = world.host("a")``; ``world.connect(h, "lan0")`` gives the
host an Ethernet interface on segment ``lan0``; ``world.run_for(5)`` moves the fake clock.
``world.capture(path)`` writes every frame every host sends and receives to one pcap file.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from ipaddress import IPv6Address, IPv6Network
from pathlib import Path

from tcpip6.io.loopback import LoopbackPort
from tcpip6.io.pcap import PcapWriter
from tcpip6.io.simnet import SimNetwork, mac_for
from tcpip6.stack.host import Host
from tcpip6.stack.interface import Interface
from tcpip6.stack.link import EthernetLink, LoopbackLink, eui64_from_mac
from tcpip6.stack.params import InterfaceParameters
from tcpip6.stack.router import AdvertisingParameters, AdvPrefix, Router
from tcpip6.wire import WireError
from tcpip6.wire import nd as wn
from tcpip6.wire.ethernet import ETHERTYPE_IPV6, frame
from tcpip6.wire.icmpv6 import parse_icmpv6
from tcpip6.wire.ipv6 import ALL_NODES, LOOPBACK, Ipv6Header, solicited_node, split


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


class AdvertisingRouter:
    """A stand-in for a router on a simnet segment (until tcpip6's router mode): it sends
    Router Advertisements for its prefixes (RFC 4861 §6.2.4: periodically, and in answer
    to Router Solicitations), answers Neighbor Solicitations for its link-local address,
    and forwards nothing."""

    def __init__(
        self,
        world: SimWorld,
        segment: str,
        prefixes: list[tuple[IPv6Address, int]],
        *,
        router_lifetime: int = 1800,
        interval: float = 200.0,
        valid_lifetime: int = 86400,
        preferred_lifetime: int = 14400,
        mtu: int | None = None,
        rdnss: tuple[IPv6Address, ...] = (),
    ) -> None:
        world._nics += 1
        self.mac = mac_for(world._nics)
        self.address = IPv6Address(b"\xfe\x80" + b"\x00" * 6 + eui64_from_mac(self.mac))
        self.port = world.segment(segment).attach(self.mac)
        self.port.set_multicast_filter(
            frozenset(
                {
                    b"\x33\x33\x00\x00\x00\x02",
                    b"\x33\x33" + solicited_node(self.address).packed[12:],
                }
            )
        )
        self.port.receiver = self._receive
        self.world = world
        self.prefixes = prefixes
        self.router_lifetime = router_lifetime
        self.interval = interval
        self.valid_lifetime = valid_lifetime
        self.preferred_lifetime = preferred_lifetime
        self.mtu = mtu
        self.rdnss = rdnss
        self.next_time: float | None = world.now
        self.advertisements_sent = 0
        world.add_node(self)

    def advertisement(self) -> wn.RouterAdvertisement:
        options: list[wn.NdOption] = [wn.SourceLinkLayerAddress(self.mac)]
        if self.mtu is not None:
            options.append(wn.Mtu(self.mtu))
        for prefix, plen in self.prefixes:
            options.append(
                wn.PrefixInformation(
                    plen, True, True, self.valid_lifetime, self.preferred_lifetime, prefix
                )
            )
        if self.rdnss:
            options.append(wn.Rdnss(self.router_lifetime, self.rdnss))
        return wn.RouterAdvertisement(64, False, False, self.router_lifetime, 0, 0, tuple(options))

    def _send(self, dst: IPv6Address, dst_mac: bytes, msg: wn.NdMessage) -> None:
        body = msg.build(self.address, dst)
        hdr = Ipv6Header(0, 0, len(body), 58, 255, self.address, dst)
        self.port.send_frame(frame(dst_mac, self.mac, ETHERTYPE_IPV6, hdr.build() + body))

    def advertise(self) -> None:
        self.advertisements_sent += 1
        self._send(ALL_NODES, b"\x33\x33\x00\x00\x00\x01", self.advertisement())

    def _receive(self, data: bytes, now: float) -> None:
        try:
            hdr, payload = split(data[14:])
            msg = parse_icmpv6(bytes(payload), hdr.src, hdr.dst) if hdr.next_header == 58 else None
        except WireError:
            return
        if isinstance(msg, wn.RouterSolicitation):
            self.advertise()
        elif isinstance(msg, wn.NeighborSolicitation) and msg.target == self.address:
            src_mac = data[6:12]
            na = wn.NeighborAdvertisement(
                self.address, True, True, True, (wn.TargetLinkLayerAddress(self.mac),)
            )
            self._send(hdr.src, src_mac, na)

    def next_deadline(self) -> float | None:
        return self.next_time

    def poll(self, now: float) -> float | None:
        if self.next_time is not None and self.next_time <= now:
            self.advertise()
            self.next_time = now + self.interval
        return self.next_time
