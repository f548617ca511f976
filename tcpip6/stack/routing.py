"""Routing data structures of a host: MSR IPv6's PLE, RLE and RCE (RFC 4861 §5.1-§5.2,
RFC 4861 §6.3.4-§6.3.6, RFC 4861 §8.3; RFC 8201; RFC 4443 §2.4 (f)).

* :class:`PrefixListEntry` (PLE): an on-link prefix of an interface with its invalidation
  time, learned from a Prefix Information option with L=1 (RFC 4861 §6.3.4) or configured.
* :class:`RouterListEntry` (RLE): an entry of the Default Router List, invalidated when
  its Router Lifetime runs out (RFC 4861 §6.3.4, RFC 4861 §6.3.5).
* :class:`RouteCacheEntry` (RCE): the Destination Cache: destination -> interface, next
  hop, preferred source, path MTU (RFC 8201) and the ICMPv6 error token bucket
  (RFC 4443 §2.4 (f)). Bounded; the least recently used entry is evicted and counted.
* :class:`StaticRoute`: configured routes, matched longest prefix first.

:class:`Routes` owns them all and performs next-hop determination (RFC 4861 §5.2) and
default router selection (RFC 4861 §6.3.6): :meth:`Routes.route` is the one path from a
destination to its RCE, and :meth:`Routes.zone` the one place that decides a destination's
zone (RFC 4007 §6). It is sans-I/O: every call that reads or sets a timer takes
``now``, expiries are reported by :meth:`Routes.poll` as action values, and interfaces
are opaque hashable values. How reachable a neighbor is comes from a callable the
neighbor cache supplies, ``reachability(interface, address) -> str``:

* ``"reachable"`` (REACHABLE) or ``"probably"`` (STALE, DELAY, PROBE): preferred;
* ``"incomplete"`` (INCOMPLETE), ``"unknown"`` (no entry), ``"unreachable"`` (NUD failed):
  reachability unknown or suspect.
"""

from __future__ import annotations

import enum
import math
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from ipaddress import IPv6Address, IPv6Network
from typing import Any, Generic, TypeVar

from tcpip6.stack.counters import CounterSet
from tcpip6.stack.timers import DeadlineQueue
from tcpip6.wire import ipv6 as wire_ipv6

Iface = TypeVar("Iface", bound=Hashable)

#: RFC 8200 §5: the IPv6 minimum link MTU; RFC 8201 §4: no PMTU estimate below it.
MIN_MTU = 1280
#: RFC 8201 §4: try a larger PMTU again no less than 5 minutes, preferably 10, after a
#: Packet Too Big lowered the estimate.
PMTU_AGING = 600.0
#: RFC 4443 §2.4 (f): token bucket for ICMPv6 errors: tokens per second, bucket size.
ICMP_ERROR_RATE = 10.0
ICMP_ERROR_BUCKET_SIZE = 10.0
#: RFC 4861 §4.6.2: a Valid Lifetime of all ones is infinity.
INFINITE_LIFETIME = 0xFFFFFFFF
INFINITY = math.inf

#: RFC 4861 §6.3.6: the reachability values that make a router "reachable or probably reachable".
REACHABLE_OR_PROBABLY = frozenset({"reachable", "probably"})
_LINK_LOCAL = IPv6Network("fe80::/10")

#: ``reachability(interface, address)``: see the module docstring for its values.
Reachability = Callable[[Iface, IPv6Address], str]
#: A Destination Cache key: the destination and its zone (RFC 4007), the interface for
#: link-local and multicast destinations, ``None`` for global ones.
RceKey = tuple[IPv6Address, Iface | None]


class PrefixOrigin(enum.Enum):
    ROUTER_ADVERTISEMENT = "router advertisement"
    STATIC = "static"


class NextHopReason(enum.Enum):
    """Why an RCE has its next hop (which change of the lists invalidates it)."""

    ON_LINK_SCOPE = "link-local or multicast destination"  # RFC 4861 §5.1, RFC 4007
    ON_LINK_PREFIX = "on-link prefix"  # RFC 4861 §5.2 Prefix List match
    STATIC_ROUTE = "static route"
    DEFAULT_ROUTER = "default router"  # RFC 4861 §6.3.6
    REDIRECT = "redirect"  # RFC 4861 §8.3


@dataclass(slots=True)
class PrefixListEntry(Generic[Iface]):
    prefix: IPv6Network
    interface: Iface
    invalidation_time: float  # math.inf: never
    origin: PrefixOrigin


@dataclass(slots=True)
class RouterListEntry(Generic[Iface]):
    router: IPv6Address
    interface: Iface
    invalidation_time: float
    #: RFC 4191 §2.1 Default Router Preference: -1 low, 0 medium, 1 high.
    preference: int = 0


@dataclass(slots=True)
class TokenBucket:
    """RFC 4443 §2.4 (f): ``rate`` tokens a second into a bucket of ``size``; an error
    may be sent when a whole token is there."""

    rate: float
    size: float
    tokens: float
    stamp: float | None = None

    def allow(self, now: float) -> bool:
        if self.stamp is not None and now > self.stamp:
            self.tokens = min(self.size, self.tokens + (now - self.stamp) * self.rate)
        if self.stamp is None or now > self.stamp:
            self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


@dataclass(slots=True)
class RouteCacheEntry(Generic[Iface]):
    destination: IPv6Address
    interface: Iface
    next_hop: IPv6Address
    reason: NextHopReason
    #: RFC 8201: the PMTU estimate, lowered by Packet Too Big, raised back after aging.
    path_mtu: int
    icmp_errors: TokenBucket
    #: When a Packet Too Big last lowered ``path_mtu`` (None: not lowered).
    pmtu_timestamp: float | None = None
    #: Filled by source address selection (RFC 6724), kept with the route.
    preferred_source: IPv6Address | None = None

    @property
    def redirected(self) -> bool:
        return self.reason is NextHopReason.REDIRECT

    @property
    def on_link(self) -> bool:
        return self.next_hop == self.destination

    def allow_icmp_error(self, now: float) -> bool:
        """RFC 4443 §2.4 (f): may an ICMPv6 error go to this destination now?"""
        return self.icmp_errors.allow(now)


@dataclass(frozen=True, slots=True)
class StaticRoute(Generic[Iface]):
    prefix: IPv6Network
    interface: Iface
    next_hop: IPv6Address | None  # None: the prefix is on-link


# -- actions (returned by Routes.poll) ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class RouterExpired(Generic[Iface]):
    """RFC 4861 §6.3.5: the router's lifetime ran out; it left the Default Router List and the
    destinations that used it will choose again."""

    interface: Iface
    router: IPv6Address


@dataclass(frozen=True, slots=True)
class PrefixExpired(Generic[Iface]):
    """RFC 4861 §6.3.5: the prefix's valid lifetime ran out; it left the Prefix List."""

    interface: Iface
    prefix: IPv6Network


@dataclass(frozen=True, slots=True)
class PathMtuIncreased(Generic[Iface]):
    """RFC 8201 §4: the aging time passed; the PMTU estimate is the link MTU again (an
    upper layer may grow its segments)."""

    destination: IPv6Address
    interface: Iface
    path_mtu: int


RoutingAction = RouterExpired[Iface] | PrefixExpired[Iface] | PathMtuIncreased[Iface]


@dataclass
class RoutingCounters(CounterSet):
    route_cache_evictions: int = 0  # LRU evictions of the bounded Destination Cache
    route_cache_flushes: int = 0  # RCEs dropped because a router, prefix or route changed
    no_route: int = 0
    zone_missing: int = 0  # link-local or multicast destination without an interface
    redirects_accepted: int = 0
    redirects_not_from_first_hop_ignored: int = 0
    redirects_bad_target_ignored: int = 0
    packet_too_big_accepted: int = 0  # lowered the estimate
    packet_too_big_below_minimum: int = 0  # reported < 1280: taken as 1280, then counted
    # again as accepted or not lower
    packet_too_big_not_lower_ignored: int = 0
    packet_too_big_no_route_ignored: int = 0
    path_mtu_increases: int = 0
    icmp_errors_rate_limited: int = 0
    routers_added: int = 0
    routers_removed: int = 0
    router_list_full_drop: int = 0
    prefixes_added: int = 0
    prefixes_removed: int = 0
    prefix_list_full_drop: int = 0
    prefix_link_local_ignored: int = 0
    prefix_bad_length_ignored: int = 0
    static_routes_full_drop: int = 0
    dead_gateway_switches: int = 0  # a suspected router passed over (TCP dead gateway)


class Routes(Generic[Iface]):
    """Prefix List, Default Router List, static routes and Destination Cache of a host."""

    def __init__(
        self,
        reachability: Reachability[Iface],
        link_mtu: Callable[[Iface], int],
        *,
        route_cache_capacity: int = 512,
        max_prefixes: int = 64,
        max_routers: int = 16,
        max_static_routes: int = 64,
        pmtu_aging: float = PMTU_AGING,
        icmp_error_rate: float = ICMP_ERROR_RATE,
        icmp_error_bucket_size: float = ICMP_ERROR_BUCKET_SIZE,
        default_zone: Callable[[], Iface | None] = lambda: None,
    ) -> None:
        self.reachability = reachability
        #: RFC 4007 §6: the zone of a link-local or multicast destination sent without one
        #: (a host with a single interface has a default zone; None: there is none).
        self.default_zone = default_zone
        self.link_mtu = link_mtu
        self.route_cache_capacity = route_cache_capacity
        self.max_prefixes = max_prefixes
        self.max_routers = max_routers
        self.max_static_routes = max_static_routes
        self.pmtu_aging = pmtu_aging
        self.icmp_error_rate = icmp_error_rate
        self.icmp_error_bucket_size = icmp_error_bucket_size
        self.prefix_list: dict[tuple[Iface, IPv6Network], PrefixListEntry[Iface]] = {}
        self.default_router_list: list[RouterListEntry[Iface]] = []
        self.static_routes: list[StaticRoute[Iface]] = []
        self.route_cache: OrderedDict[RceKey[Iface], RouteCacheEntry[Iface]] = OrderedDict()
        #: The last lookup that found or made an RCE: (destination, hint, RCE, whether the
        #: destination is unzoned, its RCE then serving every hint it agrees with).
        self._last: tuple[IPv6Address, Iface | None, RouteCacheEntry[Iface], bool] | None = None
        #: RFC 4861 §6.3.6 round-robin position: the next router to try when none is reachable.
        self.round_robin_cursor = 0
        #: Routers an upper layer suspects dead (TCP's dead gateway detection), until when:
        #: while another router is live, default router selection passes them over.
        self.suspected: dict[tuple[Iface, IPv6Address], float] = {}
        self.counters = RoutingCounters()
        self._router_timers: DeadlineQueue[tuple[Iface, IPv6Address]] = DeadlineQueue()
        self._prefix_timers: DeadlineQueue[tuple[Iface, IPv6Network]] = DeadlineQueue()
        self._pmtu_timers: DeadlineQueue[RceKey[Iface]] = DeadlineQueue()
        #: No timer of the three above is due before this time (a lower bound: arming
        #: lowers it, an expiry pass sets it): every route lookup advances the timers,
        #: and most find nothing due.
        self._quiet_until = -math.inf
        # Errors to destinations without an RCE share one bucket.
        self._uncached_icmp_errors = self._new_bucket()
        self._pending: list[RoutingAction[Iface]] = []

    def forget_interface(self, interface: Iface) -> None:
        """``interface`` is gone: its prefixes, routers, static routes and destination
        cache entries go with it, timers included."""
        for key in [k for k in self.prefix_list if k[0] == interface]:
            del self.prefix_list[key]
            self._prefix_timers.cancel(key)
        for entry in [e for e in self.default_router_list if e.interface == interface]:
            self.default_router_list.remove(entry)
            self._router_timers.cancel((interface, entry.router))
        self.round_robin_cursor = 0
        self.static_routes = [r for r in self.static_routes if r.interface != interface]
        self.suspected = {k: t for k, t in self.suspected.items() if k[0] != interface}
        self.invalidate(interface=interface)

    # -- Default Router List (RFC 4861 §6.3.4, RFC 4861 §6.3.5) ------------------------------------
    def router_entry(self, interface: Iface, router: IPv6Address) -> RouterListEntry[Iface] | None:
        for entry in self.default_router_list:
            if entry.router == router and entry.interface == interface:
                return entry
        return None

    def on_router_advertisement(
        self,
        interface: Iface,
        router: IPv6Address,
        router_lifetime: float,
        now: float,
        preference: int = 0,
    ) -> None:
        """A valid RA from ``router`` (its link-local source) with Router Lifetime in
        seconds, and the RFC 4191 preference (-1, 0, 1; anything else counts as 0)."""
        self._advance(now)
        if preference not in (-1, 0, 1):
            preference = 0  # RFC 4191 §2.2: the reserved value is treated as medium
        entry = self.router_entry(interface, router)
        if router_lifetime == 0:
            # RFC 4861 §6.3.4: a zero Router Lifetime times the entry out at once; absent: ignore.
            if entry is not None:
                self._remove_router(entry)
            return
        deadline = now + router_lifetime
        if entry is None:
            # RFC 4861 §6.3.4: not in the list and a non-zero lifetime: create the entry.
            if len(self.default_router_list) >= self.max_routers:
                self.counters.router_list_full_drop += 1
                return
            entry = RouterListEntry(router, interface, deadline, preference)
            self.default_router_list.append(entry)
            self.counters.routers_added += 1
        else:
            # RFC 4861 §6.3.4: already present: reset its invalidation timer.
            entry.invalidation_time = deadline
            entry.preference = preference
        self._router_timers.arm((interface, router), deadline)
        self._quiet_until = min(self._quiet_until, deadline)

    def router_flag_cleared(self, interface: Iface, address: IPv6Address) -> None:
        """RFC 4861 §7.2.5: IsRouter went from TRUE to FALSE: remove the router from the Default
        Router List and make destinations using it as next hop choose again (RFC 4861 §7.3.3)."""
        entry = self.router_entry(interface, address)
        if entry is not None:
            self._remove_router(entry)
        else:
            self.invalidate(interface=interface, next_hop=address)

    def neighbor_unreachable(self, interface: Iface, address: IPv6Address) -> None:
        """RFC 4861 §7.3.3: NUD failed for ``address``: destinations using it as next hop perform
        next-hop determination again, and round-robin selection (RFC 4861 §6.3.6) continues after
        it, so a dead default router is skipped. The router stays on the list."""
        self.invalidate(interface=interface, next_hop=address)
        for i, entry in enumerate(self.default_router_list):
            if entry.router == address and entry.interface == interface:
                self.round_robin_cursor = i + 1

    def _remove_router(self, entry: RouterListEntry[Iface]) -> None:
        self.default_router_list.remove(entry)
        self._router_timers.cancel((entry.interface, entry.router))
        self.counters.routers_removed += 1
        # RFC 4861 §6.3.5: entries using the router MUST perform next-hop determination again.
        self.invalidate(interface=entry.interface, next_hop=entry.router)

    # -- Prefix List (RFC 4861 §6.3.4, RFC 4861 §6.3.5) --------------------------------------------
    def on_prefix_information(
        self,
        interface: Iface,
        prefix: IPv6Address,
        prefix_len: int,
        on_link: bool,
        valid_lifetime: float,
        now: float,
    ) -> None:
        """A Prefix Information option of a valid RA; Valid Lifetime in seconds
        (``INFINITE_LIFETIME`` or ``math.inf`` for infinity)."""
        self._advance(now)
        if not on_link:
            return  # RFC 4861 §6.3.4: L=0 says nothing about on-link status
        if not 0 <= prefix_len <= 128:
            self.counters.prefix_bad_length_ignored += 1
            return
        net = IPv6Network((prefix, prefix_len), strict=False)
        if net.network_address in _LINK_LOCAL:
            # RFC 4861 §6.3.4: "If the prefix is the link-local prefix, silently ignore".
            self.counters.prefix_link_local_ignored += 1
            return
        lifetime = INFINITY if valid_lifetime == INFINITE_LIFETIME else valid_lifetime
        entry = self.prefix_list.get((interface, net))
        if entry is not None and entry.origin is PrefixOrigin.STATIC:
            return  # configured on-link prefixes are not advertised away
        if entry is None:
            if lifetime == 0:
                return  # RFC 4861 §6.3.4: zero lifetime, not in the list: ignore
            self._add_prefix(interface, net, now + lifetime, PrefixOrigin.ROUTER_ADVERTISEMENT)
        elif lifetime == 0:
            self._remove_prefix(entry)  # RFC 4861 §6.3.4: "time-out the prefix immediately"
        else:
            # RFC 4861 §6.3.4: already present: reset its invalidation timer.
            entry.invalidation_time = now + lifetime
            self._arm_prefix(entry)

    def add_on_link_prefix(self, interface: Iface, prefix: IPv6Network) -> bool:
        """Configure ``prefix`` as on-link on ``interface`` (never expires)."""
        entry = self.prefix_list.get((interface, prefix))
        if entry is not None:
            entry.origin, entry.invalidation_time = PrefixOrigin.STATIC, INFINITY
            self._prefix_timers.cancel((interface, prefix))
            return True
        return self._add_prefix(interface, prefix, INFINITY, PrefixOrigin.STATIC)

    def remove_on_link_prefix(self, interface: Iface, prefix: IPv6Network) -> bool:
        entry = self.prefix_list.get((interface, prefix))
        if entry is None:
            return False
        self._remove_prefix(entry)
        return True

    def _add_prefix(
        self, interface: Iface, net: IPv6Network, deadline: float, origin: PrefixOrigin
    ) -> bool:
        if len(self.prefix_list) >= self.max_prefixes:
            self.counters.prefix_list_full_drop += 1
            return False
        entry = PrefixListEntry(net, interface, deadline, origin)
        self.prefix_list[(interface, net)] = entry
        self._arm_prefix(entry)
        self.counters.prefixes_added += 1
        # Destinations under the new prefix are on-link now: route them again.
        self.invalidate(
            prefix=net, reasons=(NextHopReason.STATIC_ROUTE, NextHopReason.DEFAULT_ROUTER)
        )
        return True

    def _arm_prefix(self, entry: PrefixListEntry[Iface]) -> None:
        key = (entry.interface, entry.prefix)
        if math.isinf(entry.invalidation_time):
            self._prefix_timers.cancel(key)
        else:
            self._prefix_timers.arm(key, entry.invalidation_time)
            self._quiet_until = min(self._quiet_until, entry.invalidation_time)

    def _remove_prefix(self, entry: PrefixListEntry[Iface]) -> None:
        del self.prefix_list[(entry.interface, entry.prefix)]
        self._prefix_timers.cancel((entry.interface, entry.prefix))
        self.counters.prefixes_removed += 1
        # RFC 4861 §6.3.5 lets NUD recover such destinations; choosing again is quicker.
        self.invalidate(
            interface=entry.interface,
            prefix=entry.prefix,
            reasons=(NextHopReason.ON_LINK_PREFIX,),
        )

    # -- static routes --------------------------------------------------------------------
    def add_static_route(
        self, prefix: IPv6Network, interface: Iface, next_hop: IPv6Address | None
    ) -> bool:
        """A configured route; ``next_hop=None`` means ``prefix`` is on-link. Replaces the
        route for the same (prefix, interface)."""
        kept = [r for r in self.static_routes if (r.prefix, r.interface) != (prefix, interface)]
        if len(kept) >= self.max_static_routes:
            self.counters.static_routes_full_drop += 1
            return False
        self.static_routes = [*kept, StaticRoute(prefix, interface, next_hop)]
        self.invalidate(
            prefix=prefix, reasons=(NextHopReason.STATIC_ROUTE, NextHopReason.DEFAULT_ROUTER)
        )
        return True

    def remove_static_route(self, prefix: IPv6Network, interface: Iface) -> bool:
        kept = [r for r in self.static_routes if (r.prefix, r.interface) != (prefix, interface)]
        if len(kept) == len(self.static_routes):
            return False
        self.static_routes = kept
        self.invalidate(interface=interface, prefix=prefix, reasons=(NextHopReason.STATIC_ROUTE,))
        return True

    # -- zones (RFC 4007) -----------------------------------------------------------------
    @staticmethod
    def zoned(destination: IPv6Address) -> bool:
        """RFC 4007 §6: a link-local or multicast destination is ambiguous without a zone:
        the sender's interface says which link, and no route lookup can."""
        return wire_ipv6.is_link_local(destination) or wire_ipv6.is_multicast(destination)

    def zone(self, destination: IPv6Address, interface: Iface | None) -> Iface | None:
        """The zone (interface) of ``destination``: the one given, else the default zone,
        for a zoned destination (RFC 4007 §6); None for a global destination, whose
        interface next-hop determination chooses. The part of the RCE key after the
        destination: a link-local destination is a different one on each link."""
        if not self.zoned(destination):
            return None
        return interface if interface is not None else self.default_zone()

    # -- next-hop determination (RFC 4861 §5.2) and default router selection (RFC 4861 §6.3.6) -----
    def next_hop(
        self, destination: IPv6Address, interface_hint: Iface | None, now: float
    ) -> tuple[Iface, IPv6Address] | None:
        """RFC 4861 §5.2: the (interface, next hop) for ``destination``, or None (no route,
        or a zoned destination without a zone: counted). What every sender asks."""
        rce = self.route(destination, interface_hint, now)
        return None if rce is None else (rce.interface, rce.next_hop)

    def route(
        self, destination: IPv6Address, interface_hint: Iface | None, now: float
    ) -> RouteCacheEntry[Iface] | None:
        """RFC 4861 §5.2 next-hop determination: the RCE for ``destination`` (from the Destination
        Cache, else created), or None (no route, counted). ``interface_hint``, when given,
        restricts the choice to that interface; it is the zone of a zoned destination."""
        self._advance(now)
        return self._route(destination, interface_hint, count=True)

    def lookup(
        self, destination: IPv6Address, interface_hint: Iface | None = None
    ) -> RouteCacheEntry[Iface] | None:
        """The RCE for ``destination``, if cached; no next-hop determination."""
        rce = self.route_cache.get((destination, self.zone(destination, interface_hint)))
        if rce is None or (interface_hint is not None and rce.interface != interface_hint):
            return None
        return rce

    def cached(
        self, destination: IPv6Address, interfaces: Iterable[Iface]
    ) -> RouteCacheEntry[Iface] | None:
        """The RCE for ``destination`` in whichever zone of ``interfaces`` it is cached
        (a dictionary lookup per zone, never a scan of the cache)."""
        if not self.zoned(destination):
            return self.route_cache.get((destination, None))
        for iface in interfaces:
            rce = self.route_cache.get((destination, iface))
            if rce is not None:
                return rce
        return None

    def _route(
        self, destination: IPv6Address, hint: Iface | None, count: bool
    ) -> RouteCacheEntry[Iface] | None:
        last = self._last
        if (
            last is not None
            and last[0] is destination
            and (last[1] is hint or (last[3] and (hint is None or last[2].interface == hint)))
        ):
            # The same destination object as the lookup before (a connection's every
            # segment asks for its route, then for its path MTU on the route's interface):
            # that RCE, still cached (dropping any RCE forgets this) and still the most
            # recently used. An unzoned destination's RCE is the one keyed without a zone,
            # what the lookup below finds for any hint it agrees with.
            return last[2]
        zone = None
        if self.zoned(destination):
            zone = hint if hint is not None else self.default_zone()
            if zone is None:
                if count:
                    self.counters.zone_missing += 1
                return None
        key: RceKey[Iface] = (destination, zone)
        rce = self.route_cache.get(key)
        if rce is not None and (hint is None or rce.interface == hint):
            # RFC 4861 §5.2: the Destination Cache is consulted first.
            self.route_cache.move_to_end(key)
        else:
            decision = self._determine(destination, hint, zone)
            if decision is None:
                if count:
                    self.counters.no_route += 1
                return None
            interface, next_hop, reason = decision
            rce = self._insert(key, destination, interface, next_hop, reason)
        # Remembered unless the zone came from the default zone (which may change).
        self._last = (
            (destination, hint, rce, zone is None) if zone is None or hint is not None else None
        )
        return rce

    def _determine(
        self, destination: IPv6Address, hint: Iface | None, zone: Iface | None
    ) -> tuple[Iface, IPv6Address, NextHopReason] | None:
        if zone is not None:
            # RFC 4861 §5.1: the link-local prefix is always on-link; multicast is sent on
            # the link of its zone (RFC 4007 §6).
            return zone, destination, NextHopReason.ON_LINK_SCOPE
        if destination.is_unspecified or destination.is_loopback:
            return None
        # RFC 4861 §5.2: longest prefix match against the Prefix List (then the static routes).
        ple = max(
            (p for p in self.prefix_list.values() if self._matches(p, destination, hint)),
            key=lambda p: p.prefix.prefixlen,
            default=None,
        )
        if ple is not None:
            return ple.interface, destination, NextHopReason.ON_LINK_PREFIX
        sr = max(
            (r for r in self.static_routes if self._matches(r, destination, hint)),
            key=lambda r: r.prefix.prefixlen,
            default=None,
        )
        if sr is not None:
            hop = destination if sr.next_hop is None else sr.next_hop
            return sr.interface, hop, NextHopReason.STATIC_ROUTE
        # RFC 4861 §5.2: off-link: the next hop is a default router (RFC 4861 §6.3.6).
        router = self._select_default_router(hint)
        if router is None:
            # RFC 4861 §5.2 (unlike RFC 2461, see RFC 4943): with no default router the
            # destination is unreachable, never assumed on-link.
            return None
        return router.interface, router.router, NextHopReason.DEFAULT_ROUTER

    @staticmethod
    def _matches(
        entry: PrefixListEntry[Iface] | StaticRoute[Iface],
        destination: IPv6Address,
        hint: Iface | None,
    ) -> bool:
        return destination in entry.prefix and (hint is None or entry.interface == hint)

    def select_default_router(
        self, interface_hint: Iface | None, now: float
    ) -> RouterListEntry[Iface] | None:
        """RFC 4861 §6.3.6 Default Router Selection (RFC 4191 §3.2 preference among the
        reachable)."""
        self._advance(now)
        return self._select_default_router(interface_hint)

    def suspect_router(self, interface: Iface, router: IPv6Address, until: float) -> bool:
        """Dead gateway detection (Windows; RFC 4861 §6.3.6 leaves the choice among
        routers to the host): pass ``router`` over until ``until`` and send its
        destinations to the next default router. False when there is no other router."""
        others = [
            r
            for r in self.default_router_list
            if r.interface == interface
            and r.router != router
            and (r.interface, r.router) not in self.suspected
        ]
        if not others:
            return False
        self.suspected[(interface, router)] = until
        self.counters.dead_gateway_switches += 1
        self.invalidate(interface=interface, next_hop=router)
        return True

    def _select_default_router(self, hint: Iface | None) -> RouterListEntry[Iface] | None:
        live = [r for r in self.default_router_list if hint is None or r.interface == hint]
        trusted = [r for r in live if (r.interface, r.router) not in self.suspected]
        if trusted:
            live = trusted
        # RFC 4861 §6.3.6 (1): routers reachable or probably reachable (not INCOMPLETE, with an
        # entry) are preferred; RFC 4191: the highest preference among them, list order.
        best: RouterListEntry[Iface] | None = None
        for r in live:
            if self.reachability(r.interface, r.router) in REACHABLE_OR_PROBABLY and (
                best is None or r.preference > best.preference
            ):
                best = r
        if best is not None or not live:
            return best
        # RFC 4861 §6.3.6 (2): none known reachable: round-robin, so every router gets probed.
        chosen = live[self.round_robin_cursor % len(live)]
        self.round_robin_cursor += 1
        return chosen

    def _new_bucket(self) -> TokenBucket:
        size = self.icmp_error_bucket_size
        return TokenBucket(self.icmp_error_rate, size, size)

    def _insert(
        self,
        key: RceKey[Iface],
        destination: IPv6Address,
        interface: Iface,
        next_hop: IPv6Address,
        reason: NextHopReason,
    ) -> RouteCacheEntry[Iface]:
        if key in self.route_cache:
            self._drop_rce(key)
        elif len(self.route_cache) >= self.route_cache_capacity:
            oldest = next(iter(self.route_cache))
            self._drop_rce(oldest)
            self.counters.route_cache_evictions += 1
        rce = RouteCacheEntry(
            destination, interface, next_hop, reason, self.link_mtu(interface), self._new_bucket()
        )
        self._last = None  # the newest RCE is this one now
        self.route_cache[key] = rce
        return rce

    def _drop_rce(self, key: RceKey[Iface]) -> None:
        self._last = None
        del self.route_cache[key]
        self._pmtu_timers.cancel(key)

    def invalidate(
        self,
        *,
        interface: Iface | None = None,
        next_hop: IPv6Address | None = None,
        prefix: IPv6Network | None = None,
        reasons: Sequence[NextHopReason] | None = None,
    ) -> int:
        """Flush the RCEs matching every filter given (all of them with none); their
        destinations perform next-hop determination again. Returns how many."""
        doomed = [
            key
            for key, rce in self.route_cache.items()
            if (interface is None or rce.interface == interface)
            and (next_hop is None or rce.next_hop == next_hop)
            and (prefix is None or rce.destination in prefix)
            and (reasons is None or rce.reason in reasons)
        ]
        for key in doomed:
            self._drop_rce(key)
        self.counters.route_cache_flushes += len(doomed)
        return len(doomed)

    def forget_sources(self) -> None:
        """The addresses changed (one became available, deprecated or renewed): source
        selection (RFC 6724) must run again for every cached destination."""
        for rce in self.route_cache.values():
            rce.preferred_source = None

    # -- Redirect (RFC 4861 §8.1, RFC 4861 §8.3) ---------------------------------------------------
    def on_redirect(
        self,
        interface: Iface,
        router: IPv6Address,
        target: IPv6Address,
        destination: IPv6Address,
        now: float,
    ) -> bool:
        """A Redirect from ``router`` (its IP source) arrived on ``interface``. Returns
        whether it was accepted (the RCE now sends to ``target``)."""
        self._advance(now)
        # RFC 4861 §8.1: the Target is link-local (a better router) or the Destination (on-link).
        if target != destination and not target.is_link_local:
            self.counters.redirects_bad_target_ignored += 1
            return False
        # RFC 4861 §8.1: the source must be the current first-hop router for the Destination.
        rce = self._route(destination, self.zone(destination, interface), count=False)
        if rce is None or rce.interface != interface or rce.next_hop != router:
            self.counters.redirects_not_from_first_hop_ignored += 1
            return False
        # RFC 4861 §8.3: update the Destination Cache; target == destination means on-link.
        rce.next_hop = target
        rce.reason = NextHopReason.REDIRECT
        self.counters.redirects_accepted += 1
        return True

    # -- Path MTU (RFC 8201) and the ICMPv6 error rate (RFC 4443 §2.4 (f)) ---------------
    def on_packet_too_big(
        self,
        destination: IPv6Address,
        mtu: int,
        now: float,
        interface_hint: Iface | None = None,
    ) -> bool:
        """A Packet Too Big about a packet we sent to ``destination``. Returns whether it
        lowered the PMTU estimate."""
        self._advance(now)
        rce = self._route(destination, interface_hint, count=False)
        if rce is None:
            self.counters.packet_too_big_no_route_ignored += 1
            return False
        if mtu < MIN_MTU:
            # RFC 8201 §4: never reduce the estimate below the IPv6 minimum link MTU.
            self.counters.packet_too_big_below_minimum += 1
            mtu = MIN_MTU
        if mtu >= self._current_pmtu(rce):
            # RFC 8201 §4: a Packet Too Big never increases the estimate.
            self.counters.packet_too_big_not_lower_ignored += 1
            return False
        rce.path_mtu = mtu
        rce.pmtu_timestamp = now
        self._pmtu_timers.arm(self._key_of(rce), now + self.pmtu_aging)
        self._quiet_until = min(self._quiet_until, now + self.pmtu_aging)
        self.counters.packet_too_big_accepted += 1
        return True

    def path_mtu(
        self, destination: IPv6Address, now: float, interface_hint: Iface | None = None
    ) -> int | None:
        """The PMTU estimate for ``destination`` (performing next-hop determination if it
        has no RCE yet); None when there is no route."""
        self._advance(now)
        rce = self._route(destination, interface_hint, count=True)
        return None if rce is None else self._current_pmtu(rce)

    def _current_pmtu(self, rce: RouteCacheEntry[Iface]) -> int:
        return min(rce.path_mtu, self.link_mtu(rce.interface))

    def allow_icmp_error(
        self, destination: IPv6Address, now: float, interface_hint: Iface | None = None
    ) -> bool:
        """RFC 4443 §2.4 (f): may an ICMPv6 error be sent to ``destination`` now? Uses the
        destination's RCE bucket, or one bucket shared by destinations without an RCE."""
        rce = self.lookup(destination, interface_hint)
        bucket = self._uncached_icmp_errors if rce is None else rce.icmp_errors
        if bucket.allow(now):
            return True
        self.counters.icmp_errors_rate_limited += 1
        return False

    def _key_of(self, rce: RouteCacheEntry[Iface]) -> RceKey[Iface]:
        return (rce.destination, self.zone(rce.destination, rce.interface))

    # -- timers ----------------------------------------------------------------------------
    def timer_queues(self) -> tuple[DeadlineQueue[Any], ...]:
        """The queues :meth:`next_deadline` takes the earliest of (a host that is asked
        after every frame keeps their earliest deadline until one of them changes)."""
        return (self._router_timers, self._prefix_timers, self._pmtu_timers)

    def next_deadline(self) -> float | None:
        # earliest_of, written out: asked after every frame the host receives.
        best: float | None = None
        for at in (
            self._router_timers.next_deadline(),
            self._prefix_timers.next_deadline(),
            self._pmtu_timers.next_deadline(),
        ):
            if at is not None and (best is None or at < best):
                best = at
        return best

    def poll(self, now: float) -> list[RoutingAction[Iface]]:
        """Expire routers and prefixes, age PMTU estimates; what happened since the last
        poll (including expiries noticed by other calls at their ``now``)."""
        self._advance(now)
        actions, self._pending = self._pending, []
        return actions

    def _advance(self, now: float) -> None:
        if self.suspected:
            for suspect, until in list(self.suspected.items()):
                if until <= now:
                    del self.suspected[suspect]
        if now < self._quiet_until:
            return
        for interface, router in self._router_timers.pop_due(now):
            entry = self.router_entry(interface, router)
            if entry is not None:
                self._remove_router(entry)  # RFC 4861 §6.3.5
                self._pending.append(RouterExpired(interface, router))
        for interface, prefix in self._prefix_timers.pop_due(now):
            ple = self.prefix_list.get((interface, prefix))
            if ple is not None:
                self._remove_prefix(ple)  # RFC 4861 §6.3.5
                self._pending.append(PrefixExpired(interface, prefix))
        for key in self._pmtu_timers.pop_due(now):
            rce = self.route_cache.get(key)
            if rce is not None:
                # RFC 8201 §4: after the aging time, try the link MTU again.
                rce.path_mtu = self.link_mtu(rce.interface)
                rce.pmtu_timestamp = None
                self.counters.path_mtu_increases += 1
                self._pending.append(PathMtuIncreased(rce.destination, rce.interface, rce.path_mtu))
        following = self.next_deadline()
        self._quiet_until = math.inf if following is None else following
