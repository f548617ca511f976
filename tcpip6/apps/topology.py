"""Simulated networks for the tools' ``--sim TOPOLOGY``: built, booted, and driven on the
fake clock, so that ping6, tracert6 or ttcp run on one of their hosts exactly as they run
on the loopback backend.

``demo`` (the two segments of ``tcpip6 demo``)::

    a, b --- lan1 2001:db8:1::/64 (MTU 1500) --- r --- lan2 2001:db8:2::/64 (MTU 1280) --- c

``chain`` (three routers in a row, a prefix per link, static routes between routers)::

    a --- link1 --- r1 --- link2 --- r2 --- link3 --- r3 --- link4 --- z
       2001:db8:1::/64  2001:db8:2::/64  2001:db8:3::/64  2001:db8:4::/64

Hosts learn their prefix and default router from Router Advertisements (SLAAC); routers
number their interfaces by hand (``::1``, ``::2`` on a link between two routers). Every
NIC runs at :data:`LINE_RATE` (a 100 Mb/s Ethernet), so bulk transfers take time.
The tools run on :attr:`Topology.origin` (``a`` in both).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv6Address, IPv6Network

from tcpip6.api.sockets import Stack
from tcpip6.io.runtime import SimDriver
from tcpip6.io.sim import LineRatePort, SimWorld
from tcpip6.stack.host import Host
from tcpip6.stack.interface import Interface
from tcpip6.stack.router import AdvertisingParameters, AdvPrefix, Router

#: Seconds of simulated time a topology runs before the tool starts: DAD (1 s), router
#: solicitation delay and retransmissions, the first Router Advertisements, SLAAC.
BOOT_TIME = 15.0
#: Bits per second of every simulated NIC.
LINE_RATE = 100e6
#: Frames a host's NICs may hold before a sender should wait, like a socket send buffer
#: that is full (about 200 KB of full-size frames, Linux's default for UDP).
SEND_BUFFER_FRAMES = 140


@dataclass
class Topology:
    """A booted simulated network."""

    name: str
    world: SimWorld
    driver: SimDriver
    origin: str
    #: The host at the other end by default (ttcp's receiver, the services' server).
    peer: str
    hosts: dict[str, Host] = field(default_factory=dict)
    #: A global address of each node, by name (a router's: its first interface's).
    addresses: dict[str, IPv6Address] = field(default_factory=dict)
    #: The line-rate ports of each node's NICs.
    ports: dict[str, list[LineRatePort]] = field(default_factory=dict)

    def stack(self, name: str | None = None) -> Stack:
        """The socket API of host ``name`` (default: the origin), on the fake clock."""
        return Stack(self.hosts[name or self.origin], self.driver)

    def resolve(self, text: str) -> str:
        """A node's name as its address; anything else unchanged."""
        addr = self.addresses.get(text)
        return str(addr) if addr is not None else text

    def send_buffer_has_room(self, name: str | None = None) -> Callable[[], bool]:
        """True while the NICs of ``name`` hold fewer than :data:`SEND_BUFFER_FRAMES`
        frames: what a sender waits for where a real socket would block."""
        ports = self.ports[name or self.origin]
        return lambda: all(p.backlog < SEND_BUFFER_FRAMES for p in ports)

    def describe(self) -> str:
        return DESCRIPTIONS[self.name]


def _global(iface: Interface, prefix: IPv6Network) -> IPv6Address:
    found = [a for a in iface.source_candidates() if a in prefix]
    if not found:
        raise RuntimeError(f"{iface.host.name} {iface.name}: no address in {prefix} after boot")
    return found[0]


class _Builder:
    def __init__(self, name: str, origin: str, peer: str, seed: int) -> None:
        self.world = SimWorld(seed=seed)
        self.topo = Topology(name, self.world, SimDriver(self.world), origin, peer)
        self.hosts: dict[str, tuple[Interface, IPv6Network]] = {}
        self._nports = 0

    def _track(self, name: str) -> None:
        new = self.world.line_rate_ports[self._nports :]
        self._nports = len(self.world.line_rate_ports)
        self.topo.ports.setdefault(name, []).extend(new)

    def host(self, name: str, segment: str, prefix: IPv6Network) -> None:
        host = self.world.host(name)
        self.topo.hosts[name] = host
        self.hosts[name] = (self.world.connect(host, segment, line_rate=LINE_RATE), prefix)
        self._track(name)

    def router(self, name: str) -> Router:
        router = self.world.router(name)
        self.topo.hosts[name] = router.host
        return router

    def advertise(
        self, router: Router, segment: str, prefix: IPv6Network, mtu: int | None = None
    ) -> Interface:
        params = AdvertisingParameters(prefixes=(AdvPrefix(prefix),), link_mtu=mtu or 0)
        iface = self.world.connect_router(router, segment, prefix, params, line_rate=LINE_RATE)
        self._track(router.host.name)
        self.topo.addresses.setdefault(router.host.name, prefix[1])
        return iface

    def numbered(self, router: Router, segment: str, prefix: IPv6Network, n: int) -> Interface:
        iface = self.world.connect(router.host, segment, line_rate=LINE_RATE)
        iface.add_static_address(prefix[n], prefix.prefixlen, self.world.now)
        self._track(router.host.name)
        self.topo.addresses.setdefault(router.host.name, prefix[n])
        return iface

    def boot(self) -> Topology:
        for host in self.topo.hosts.values():
            host.start(self.world.now)
        self.world.run_for(BOOT_TIME)
        for name, (iface, prefix) in self.hosts.items():
            self.topo.addresses[name] = _global(iface, prefix)
        return self.topo


def demo(seed: int = 2026) -> Topology:
    lan1, lan2 = IPv6Network("2001:db8:1::/64"), IPv6Network("2001:db8:2::/64")
    b = _Builder("demo", "a", "b", seed)
    b.world.segment("lan2", mtu=1280)
    r = b.router("r")
    b.advertise(r, "lan1", lan1)
    b.advertise(r, "lan2", lan2, mtu=1280)
    b.host("a", "lan1", lan1)
    b.host("b", "lan1", lan1)
    b.host("c", "lan2", lan2)
    return b.boot()


def chain(seed: int = 2026) -> Topology:
    links = [IPv6Network(f"2001:db8:{i}::/64") for i in range(1, 5)]
    b = _Builder("chain", "a", "z", seed)
    r1, r2, r3 = (b.router(f"r{i}") for i in (1, 2, 3))
    b.advertise(r1, "link1", links[0])
    r1_out = b.numbered(r1, "link2", links[1], 1)
    r2_in = b.numbered(r2, "link2", links[1], 2)
    r2_out = b.numbered(r2, "link3", links[2], 1)
    r3_in = b.numbered(r3, "link3", links[2], 2)
    b.advertise(r3, "link4", links[3])
    # Static routes: each router reaches the links beyond its neighbours through them.
    for prefix in links[2:]:
        r1.add_route(prefix, r1_out, links[1][2])
    r2.add_route(links[0], r2_in, links[1][1])
    r2.add_route(links[3], r2_out, links[2][2])
    for prefix in links[:2]:
        r3.add_route(prefix, r3_in, links[2][1])
    b.host("a", "link1", links[0])
    b.host("z", "link4", links[3])
    return b.boot()


def ipsec(seed: int = 2026) -> Topology:
    """a and b through an ESP tunnel (tcpip6.apps.ipsec_sim)."""
    from tcpip6.apps.ipsec_sim import ipsec_topology

    return ipsec_topology(seed)


TOPOLOGIES: dict[str, Callable[[], Topology]] = {"demo": demo, "chain": chain, "ipsec": ipsec}
DESCRIPTIONS = {
    "ipsec": "a ==ESP tunnel (AES-GCM-16)== b, both on lan1 2001:db8:1::/64 with router r",
    "demo": "a, b on lan1 2001:db8:1::/64 -- router r -- c on lan2 2001:db8:2::/64 (MTU 1280)",
    "chain": "a -- r1 -- r2 -- r3 -- z, links 2001:db8:1::/64 to 2001:db8:4::/64",
}


def build(name: str) -> Topology:
    """Build and boot topology ``name`` (one of :data:`TOPOLOGIES`)."""
    try:
        factory = TOPOLOGIES[name]
    except KeyError:
        raise ValueError(
            f"unknown topology {name!r}; choose one of {', '.join(TOPOLOGIES)}"
        ) from None
    return factory()
