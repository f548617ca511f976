"""A translator on a tcpip6 router: the IPv6 side is the router's forwarding path, the IPv4
side an :data:`Ipv4Port` (a TUN device the kernel routes an IPv4 pool into, live; a packet
port in simulation).

The router hands over every packet it would forward whose destination the translator
claims (RFC 6052 prefix, or an EAM entry's IPv6 side); what comes back from the IPv4 side
is translated and forwarded like any packet the router received. Errors the translator
originates, and packets hairpinned by a NAT64 (RFC 6146 §3.8), go back the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address
from typing import TYPE_CHECKING

from tcpip6.stack.counters import CounterSet
from tcpip6.stack.translate.nat64 import Nat64
from tcpip6.stack.translate.siit import Siit, Translated
from tcpip6.wire.errors import WireError
from tcpip6.wire.ipv6 import Ipv6Header

if TYPE_CHECKING:
    from tcpip6.stack.host import Host
    from tcpip6.stack.interface import Interface

#: Where translated IPv4 packets go: (packet, now).
Ipv4Port = Callable[[bytes, float], None]


@dataclass
class HookCounters(CounterSet):
    """What the hook between the translator and the router dropped."""

    #: an IPv4 packet from the IPv4 side for an address outside the translator's pool4
    v4_not_pool_drop: int = 0
    #: a translated IPv6 packet with no router to forward it (the host is not a router)
    v6_no_router_drop: int = 0
    v6_unparsable_drop: int = 0


class Translator:
    """SIIT or NAT64 attached to a host (``host.translators``). ``pool4`` (optional) limits
    the IPv4 destinations taken from the IPv4 side (:meth:`receive_v4`); ``ipv4_side``
    names that side (a TUN device) for ``tcpip6 show translations``."""

    def __init__(
        self,
        host: Host,
        engine: Siit | Nat64,
        ipv4_port: Ipv4Port,
        pool4: tuple[IPv4Network, ...] = (),
        ipv4_side: str = "",
    ) -> None:
        self.host = host
        self.engine = engine
        self.ipv4_port = ipv4_port
        self.pool4 = pool4
        self.ipv4_side = ipv4_side
        self.counters = HookCounters()

    # -- what it claims ------------------------------------------------------------------
    def claims(self, dst: IPv6Address) -> bool:
        """An IPv6 destination this translator takes: one that maps to IPv4."""
        if isinstance(self.engine, Nat64):
            return dst in self.engine.config.prefix.prefix
        return self.engine.config.mapping.to_v4(dst, local=False) is not None

    def claims_v4(self, dst: IPv4Address) -> bool:
        """An IPv4 destination this translator takes (its pool, or mapped addresses)."""
        if self.pool4 and not any(dst in net for net in self.pool4):
            return False
        if isinstance(self.engine, Nat64):
            return dst in self.engine.pool
        return self.engine.config.mapping.to_v6(dst, local=True) is not None

    # -- the two sides ---------------------------------------------------------------------
    def from_v6(self, iface: Interface, packet: bytes, now: float) -> None:
        if isinstance(self.engine, Nat64):
            r = self.engine.translate_v6(packet, now)
        else:
            r = self.engine.translate_v6(packet)
        self._out(r, iface, now, from_v6=True)

    def receive_v4(self, packet: bytes, now: float) -> None:
        """An IPv4 packet from the IPv4 side (a TUN device): translated if its destination
        is claimed, else counted and dropped."""
        if len(packet) >= 20 and self.claims_v4(IPv4Address(packet[16:20])):
            self.from_v4(packet, now)
        else:
            self.counters.v4_not_pool_drop += 1

    def from_v4(self, packet: bytes, now: float) -> None:
        if isinstance(self.engine, Nat64):
            r = self.engine.translate_v4(packet, now)
        else:
            r = self.engine.translate_v4(packet)
        self._out(r, None, now, from_v6=False)

    def poll(self, now: float) -> None:
        if isinstance(self.engine, Nat64):
            for p in self.engine.poll(now):
                self._emit(p, None, now)

    def next_deadline(self) -> float | None:
        return self.engine.next_deadline() if isinstance(self.engine, Nat64) else None

    def _out(self, r: Translated, iface: Interface | None, now: float, from_v6: bool) -> None:
        for p in r.packets:
            self._emit(p, iface, now)
        for p in r.hairpinned:
            self._emit(p, iface, now)
        if r.error is not None:
            self._emit(r.error, iface, now)

    def _emit(self, packet: bytes, iface: Interface | None, now: float) -> None:
        """An IPv4 packet leaves by the IPv4 port; an IPv6 one is forwarded by the router."""
        if packet[0] >> 4 == 4:
            self.ipv4_port(packet, now)
            return
        router = self.host.router
        if router is None or not self.host.interfaces:
            self.counters.v6_no_router_drop += 1
            return
        try:
            hdr = Ipv6Header.parse(packet)
        except WireError:
            self.counters.v6_unparsable_drop += 1
            return
        # RFC 7915 §4.1: the translator decremented the TTL already: the router forwards
        # without a second decrement (and sends no Redirect, RFC 4861 §8.2: the packet did
        # not come from a neighbor on the link).
        router.forward(iface or self.host.interfaces[0], hdr, packet, now, translated=True)
