"""Routing data structures of a host (MSR IPv6's PLE, RLE and RCE; RFC 4861 §5.1-§5.2,
§6.3.4-§6.3.6, §8.3).

* :class:`PrefixListEntry` (PLE): an on-link prefix of an interface, with its
  invalidation time (RFC 4861 §6.3.4, from Prefix Information options with L=1).
* :class:`RouterListEntry` (RLE): a default router, with its invalidation time (the
  Router Lifetime of its last advertisement).
* :class:`RouteCacheEntry` (RCE): the destination cache: destination -> interface, next
  hop, path MTU. Bounded, least recently used evicted.

Next-hop determination (§5.2) asks the neighbor cache how reachable a router is through
a callable, so this module does not depend on the NCE code.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv6Address, IPv6Network
from typing import TYPE_CHECKING

from tcpip6.stack.counters import CounterSet

if TYPE_CHECKING:
    from tcpip6.stack.interface import Interface

#: RFC 8201 §4: a PMTU estimate is raised back after at least 10 minutes.
PMTU_AGING = 600.0
MIN_MTU = 1280

#: Reachability of a neighbor as the neighbor cache sees it: "reachable" (REACHABLE,
#: STALE, DELAY, PROBE, PERMANENT: reachable or probably reachable), "incomplete", or
#: "unknown" (no entry).
Reachability = Callable[["Interface", IPv6Address], str]


@dataclass
class PrefixListEntry:
    prefix: IPv6Network
    interface: Interface
    invalidation_time: float


@dataclass
class RouterListEntry:
    router: IPv6Address
    interface: Interface
    invalidation_time: float


@dataclass
class RouteCacheEntry:
    destination: IPv6Address
    interface: Interface
    next_hop: IPv6Address
    path_mtu: int
    pmtu_lowered_at: float | None = None
    redirected: bool = False


@dataclass
class RoutingCounters(CounterSet):
    route_cache_evictions: int = 0
    no_route: int = 0
    redirects_accepted: int = 0
    redirects_not_from_first_hop_drop: int = 0
    packet_too_big_accepted: int = 0
    packet_too_big_below_minimum: int = 0
    routers_added: int = 0
    routers_removed: int = 0
    prefixes_added: int = 0
    prefixes_removed: int = 0


class RoutingTable:
    """PLE + RLE + RCE of one host."""

    def __init__(
        self,
        reachability: Reachability,
        route_cache_capacity: int = 512,
        pmtu_aging: float = PMTU_AGING,
        max_prefixes: int = 64,
        max_routers: int = 16,
    ) -> None:
        self.reachability = reachability
        self.prefixes: list[PrefixListEntry] = []
        self.routers: list[RouterListEntry] = []
        self.cache: OrderedDict[tuple[IPv6Address, int], RouteCacheEntry] = OrderedDict()
        self.capacity = route_cache_capacity
        self.pmtu_aging = pmtu_aging
        self.max_prefixes = max_prefixes
        self.max_routers = max_routers
        self.counters = RoutingCounters()
        self._round_robin = 0

    # -- the Prefix List and Default Router List (§6.3.4) --------------------------------
    def on_router_advertisement(
        self, iface: Interface, router: IPv6Address, lifetime: int, now: float
    ) -> None:
        """Router Lifetime in seconds; 0 removes the router (§6.3.4)."""
        entry = next((r for r in self.routers if r.router == router and r.interface is iface), None)
        if lifetime == 0:
            if entry is not None:
                self._remove_router(entry)
            return
        if entry is None:
            if len(self.routers) >= self.max_routers:
                return
            self.routers.append(RouterListEntry(router, iface, now + lifetime))
            self.counters.routers_added += 1
        else:
            entry.invalidation_time = now + lifetime

    def on_prefix_information(
        self, iface: Interface, prefix: IPv6Network, valid_lifetime: float, now: float
    ) -> None:
        """A Prefix Information option with L=1 (§6.3.4); the link-local prefix is ignored."""
        if prefix.network_address.is_link_local:
            return
        entry = next(
            (p for p in self.prefixes if p.prefix == prefix and p.interface is iface), None
        )
        if valid_lifetime == 0:
            if entry is not None:
                self.prefixes.remove(entry)
                self.counters.prefixes_removed += 1
                self.flush()
            return
        if entry is None:
            if len(self.prefixes) >= self.max_prefixes:
                return
            self.prefixes.append(PrefixListEntry(prefix, iface, now + valid_lifetime))
            self.counters.prefixes_added += 1
            self.flush()
        else:
            entry.invalidation_time = now + valid_lifetime

    def _remove_router(self, entry: RouterListEntry) -> None:
        self.routers.remove(entry)
        self.counters.routers_removed += 1
        self._flush_next_hop(entry.router)

    def remove_router(self, router: IPv6Address) -> None:
        """§7.2.5: IsRouter cleared; or the router was found unreachable."""
        for entry in [r for r in self.routers if r.router == router]:
            self._remove_router(entry)

    def neighbor_unreachable(self, address: IPv6Address) -> None:
        """§7.3.3: destinations using it as next hop must choose again (§6.3.6)."""
        self._flush_next_hop(address)

    def _flush_next_hop(self, next_hop: IPv6Address) -> None:
        for key in [k for k, r in self.cache.items() if r.next_hop == next_hop]:
            del self.cache[key]

    def flush(self) -> None:
        self.cache.clear()

    # -- next-hop determination (§5.2, §6.3.6) -------------------------------------------
    def on_link(self, iface: Interface, destination: IPv6Address, now: float) -> bool:
        return any(
            p.interface is iface and destination in p.prefix and p.invalidation_time > now
            for p in self.prefixes
        )

    def next_hop(
        self, destination: IPv6Address, interfaces: list[Interface], now: float
    ) -> RouteCacheEntry | None:
        """§5.2: the route cache first; then the Prefix List (longest match); then a default
        router (§6.3.6). RFC 4861 (unlike RFC 2461, see RFC 4943) never assumes an
        off-link destination is on-link when there is no router."""
        key = (destination, 0)
        rce = self.cache.get(key)
        if rce is not None and rce.interface in interfaces:
            self.cache.move_to_end(key)
            return rce
        best: PrefixListEntry | None = None
        for p in self.prefixes:
            if (
                p.interface in interfaces
                and destination in p.prefix
                and p.invalidation_time > now
                and (best is None or p.prefix.prefixlen > best.prefix.prefixlen)
            ):
                best = p
        if best is not None:
            return self._cache(destination, best.interface, destination)
        router = self.select_router(interfaces, now)
        if router is None:
            self.counters.no_route += 1
            return None
        return self._cache(destination, router.interface, router.router)

    def select_router(self, interfaces: list[Interface], now: float) -> RouterListEntry | None:
        """§6.3.6: routers reachable or probably reachable first (any NCE state but
        INCOMPLETE); otherwise round-robin, so a dead router is replaced."""
        live = [r for r in self.routers if r.interface in interfaces and r.invalidation_time > now]
        if not live:
            return None
        for r in live:
            if self.reachability(r.interface, r.router) == "reachable":
                return r
        self._round_robin += 1
        return live[self._round_robin % len(live)]

    def _cache(
        self, destination: IPv6Address, iface: Interface, next_hop: IPv6Address
    ) -> RouteCacheEntry:
        if len(self.cache) >= self.capacity:
            self.cache.popitem(last=False)
            self.counters.route_cache_evictions += 1
        rce = RouteCacheEntry(destination, iface, next_hop, iface.mtu)
        self.cache[(destination, 0)] = rce
        return rce

    # -- Redirect (§8.3) and Packet Too Big (RFC 8201) ----------------------------------
    def on_redirect(
        self,
        iface: Interface,
        source: IPv6Address,
        target: IPv6Address,
        destination: IPv6Address,
        now: float,
    ) -> bool:
        """§8.1: accepted only from the current first-hop router for the destination."""
        rce = self.cache.get((destination, 0))
        current = rce.next_hop if rce is not None else None
        if current is None:
            selected = self.next_hop(destination, [iface], now)
            current = selected.next_hop if selected is not None else None
        if current != source:
            self.counters.redirects_not_from_first_hop_drop += 1
            return False
        rce = self._cache(destination, iface, target)
        rce.redirected = True
        self.counters.redirects_accepted += 1
        return True

    def on_packet_too_big(self, destination: IPv6Address, mtu: int, now: float) -> None:
        rce = self.cache.get((destination, 0))
        if rce is None:
            return
        if mtu < MIN_MTU:
            # RFC 8201 §4: never below the IPv6 minimum link MTU.
            self.counters.packet_too_big_below_minimum += 1
            mtu = MIN_MTU
        if mtu < rce.path_mtu:
            rce.path_mtu = mtu
            rce.pmtu_lowered_at = now
            self.counters.packet_too_big_accepted += 1

    def path_mtu(self, rce: RouteCacheEntry, now: float) -> int:
        if rce.pmtu_lowered_at is not None and now - rce.pmtu_lowered_at >= self.pmtu_aging:
            rce.path_mtu = rce.interface.mtu  # RFC 8201 §4: try a larger PMTU again
            rce.pmtu_lowered_at = None
        return rce.path_mtu

    # -- timers ---------------------------------------------------------------------------
    def next_deadline(self) -> float | None:
        times = [r.invalidation_time for r in self.routers]
        times += [p.invalidation_time for p in self.prefixes]
        finite = [t for t in times if not math.isinf(t)]
        return min(finite) if finite else None

    def poll(self, now: float) -> None:
        for r in [r for r in self.routers if r.invalidation_time <= now]:
            self._remove_router(r)
        expired = [p for p in self.prefixes if p.invalidation_time <= now]
        for p in expired:
            self.prefixes.remove(p)
            self.counters.prefixes_removed += 1
        if expired:
            self.flush()
