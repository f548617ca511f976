"""The Interface (MSR IPv6's IF): one link, its parameters, its addresses and caches.

The link module (:mod:`tcpip6.stack.link`) is the link-layer contract; the interface adds
what the core keeps per link: the RFC 4861 §6.3.2 variables, the receive addresses, the
neighbor cache, multicast groups and counters. Per the call-context rule (MSR IPv6 §4.4),
changes to the link's multicast list are queued here and applied by the host after the
current receive (or poll) completes, never from inside it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from ipaddress import IPv6Address, IPv6Network
from typing import TYPE_CHECKING

from tcpip6.stack.counters import LinkCounters
from tcpip6.stack.link import LinkLayer
from tcpip6.stack.params import InterfaceParameters
from tcpip6.wire.ipv6 import solicited_node

if TYPE_CHECKING:
    from tcpip6.stack.host import Host

Capture = Callable[["Interface", bytes, float, str], None]


class Interface:
    def __init__(
        self,
        host: Host,
        index: int,
        name: str,
        link: LinkLayer,
        params: InterfaceParameters | None = None,
    ) -> None:
        self.host = host
        self.index = index
        self.name = name
        self.link = link
        self.params = params or InterfaceParameters(link_mtu=link.mtu)
        self.counters = LinkCounters()
        self.capture: Capture | None = None
        # Link multicast groups, reference counted (a socket and the stack may both join).
        self.groups: Counter[IPv6Address] = Counter()
        self._multicast_dirty = False
        # Manually configured addresses (prefix length) and neighbors.
        self.static_addresses: dict[IPv6Address, int] = {}
        self.static_neighbors: dict[IPv6Address, bytes] = {}

    def __repr__(self) -> str:
        return f"<Interface {self.index} {self.name} {self.link.kind}>"

    @property
    def mtu(self) -> int:
        return self.params.link_mtu

    # -- multicast list (deferred, MSR §4.4) ----------------------------------------------
    def join_link_group(self, group: IPv6Address) -> None:
        self.groups[group] += 1
        if self.groups[group] == 1:
            self._multicast_dirty = True

    def leave_link_group(self, group: IPv6Address) -> None:
        if self.groups[group] <= 0:
            return
        self.groups[group] -= 1
        if self.groups[group] == 0:
            del self.groups[group]
            self._multicast_dirty = True

    def in_group(self, group: IPv6Address) -> bool:
        return self.groups[group] > 0

    def apply_multicast_changes(self) -> bool:
        """Program the link's multicast filter if the group list changed."""
        if not self._multicast_dirty:
            return False
        self._multicast_dirty = False
        self.link.set_multicast_addresses({self.link.map_multicast(g) for g in self.groups})
        return True

    # -- transmit ----------------------------------------------------------------------
    def transmit(self, packet: bytes, dst_link: bytes, now: float) -> None:
        if len(packet) > self.link.mtu:
            self.counters.frame_too_big_drop += 1
            return
        self.counters.frames_sent += 1
        if self.capture is not None:
            self.capture(self, self.link.frame_bytes(packet, dst_link), now, "out")
        self.link.transmit(packet, dst_link)

    # -- addresses ----------------------------------------------------------------------
    def add_static_address(self, address: IPv6Address, prefix_length: int = 64) -> None:
        self.static_addresses[address] = prefix_length
        self.join_link_group(solicited_node(address))

    def is_receive_address(self, address: IPv6Address) -> bool:
        return address in self.static_addresses

    def source_candidates(self) -> list[IPv6Address]:
        return list(self.static_addresses)

    def on_link(self, address: IPv6Address) -> bool:
        if address.is_link_local or address.is_multicast:
            return True
        return any(
            address in IPv6Network((a, plen), strict=False)
            for a, plen in self.static_addresses.items()
        )

    # -- neighbors ------------------------------------------------------------------------
    def add_static_neighbor(self, address: IPv6Address, link_address: bytes) -> None:
        self.static_neighbors[address] = link_address

    def resolve(self, next_hop: IPv6Address, packet: bytes, now: float) -> None:
        lla = self.static_neighbors.get(next_hop)
        if lla is None:
            self.host.ip.resolution_failed_drop += 1
            return
        self.transmit(packet, lla, now)

    # -- timers ---------------------------------------------------------------------------
    def next_deadline(self) -> float | None:
        return None

    def poll(self, now: float) -> None:
        return None
