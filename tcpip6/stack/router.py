"""Router mode: forwarding between interfaces, Router Advertisements, redirects.

A host becomes a router with ``Router(host)`` (MSR IPv6 1.4 did the same on one stack):

- **Forwarding** (RFC 8200 §3, RFC 4443, RFC 4007 §9): a packet that is not for us is
  sent on by next-hop determination over the routing table (on-link prefixes of the
  router's own addresses and static routes, longest match), its Hop Limit decremented;
  Time Exceeded when the hop limit runs out, Destination Unreachable when there is no
  route or the source's scope is too small, Packet Too Big when the next link is too
  small. Link-local packets never leave their link.
- **Router Advertisements** (RFC 4861 §6.2) on the interfaces configured to advertise:
  unsolicited ones at random intervals between MinRtrAdvInterval and MaxRtrAdvInterval,
  solicited ones after a random delay, never closer together than MIN_DELAY_BETWEEN_RAS.
- **Redirects** (RFC 4861 §8.2) when a host on a link sends a packet to us that has a
  better first hop on the same link.
- **Router Solicitations** are answered (RFC 4861 §6.2.6) and mark their sender as a host.

Routers do not autoconfigure from advertisements (RFC 4861 §6.2.7: they check them for
consistency only) and do not solicit routers; their addresses are configured by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv6Address, IPv6Network
from typing import TYPE_CHECKING

from tcpip6.stack import nd_checks as checks
from tcpip6.stack.counters import CounterSet
from tcpip6.wire import icmpv6 as wi
from tcpip6.wire import ipv6 as wire_ipv6
from tcpip6.wire import nd as wn
from tcpip6.wire.ipv6 import Ipv6Header

if TYPE_CHECKING:
    from tcpip6.stack.host import Host
    from tcpip6.stack.interface import Interface
    from tcpip6.stack.ipv6 import Delivery

# RFC 4861 §10 router constants.
MAX_INITIAL_RTR_ADVERT_INTERVAL = 16.0
MAX_INITIAL_RTR_ADVERTISEMENTS = 3
MIN_DELAY_BETWEEN_RAS = 3.0
MAX_RA_DELAY_TIME = 0.5

#: Offset of the Hop Limit octet in the IPv6 header (RFC 8200 §3).
HOP_LIMIT_OFFSET = 7
#: RFC 4861 §4.5: the Redirect message before its options; the Redirected Header option's
#: type, length and reserved octets (RFC 4861 §4.6.3).
REDIRECT_FIXED_LEN = 40
REDIRECTED_HEADER_OPTION_HEAD = 8


@dataclass(frozen=True, slots=True)
class AdvPrefix:
    """One entry of AdvPrefixList (RFC 4861 §6.2.1), lifetimes in seconds."""

    prefix: IPv6Network
    on_link: bool = True  # AdvOnLinkFlag
    autonomous: bool = True  # AdvAutonomousFlag
    valid_lifetime: int = 2592000  # AdvValidLifetime: 30 days
    preferred_lifetime: int = 604800  # AdvPreferredLifetime: 7 days

    def __post_init__(self) -> None:
        if self.preferred_lifetime > self.valid_lifetime:
            raise ValueError(f"{self.prefix}: preferred lifetime exceeds valid lifetime")


@dataclass(slots=True)
class AdvertisingParameters:
    """The router configuration variables of one advertising interface (RFC 4861 §6.2.1),
    with the RFC's defaults. Times in seconds except the two the RA carries in ms."""

    max_rtr_adv_interval: float = 600.0
    #: Default 0.33 * MaxRtrAdvInterval (or MaxRtrAdvInterval itself when it is below 9 s).
    min_rtr_adv_interval: float | None = None
    managed: bool = False  # AdvManagedFlag
    other_config: bool = False  # AdvOtherConfigFlag
    link_mtu: int = 0  # AdvLinkMTU: 0 = no MTU option
    reachable_time: int = 0  # AdvReachableTime, ms: 0 = unspecified
    retrans_timer: int = 0  # AdvRetransTimer, ms: 0 = unspecified
    cur_hop_limit: int = 64  # AdvCurHopLimit
    #: AdvDefaultLifetime, seconds; default 3 * MaxRtrAdvInterval; 0 = not a default router.
    default_lifetime: int | None = None
    prefixes: tuple[AdvPrefix, ...] = ()
    #: RFC 8106 recursive DNS servers, with their lifetime (default 3 * MaxRtrAdvInterval,
    #: RFC 8106 §5.1).
    rdnss: tuple[IPv6Address, ...] = ()
    rdnss_lifetime: int | None = None

    def __post_init__(self) -> None:
        # RFC 4861 §6.2.1: MaxRtrAdvInterval in [4, 1800]; MinRtrAdvInterval in [3, 0.75 * Max].
        if not 4 <= self.max_rtr_adv_interval <= 1800:
            raise ValueError("MaxRtrAdvInterval must be between 4 and 1800 seconds")
        low = self.min_interval
        if not 3 <= low <= 0.75 * self.max_rtr_adv_interval:
            raise ValueError("MinRtrAdvInterval must be between 3 s and 0.75 * MaxRtrAdvInterval")
        lifetime = self.router_lifetime
        if lifetime != 0 and not self.max_rtr_adv_interval <= lifetime <= 9000:
            raise ValueError("AdvDefaultLifetime must be 0 or between MaxRtrAdvInterval and 9000")
        if self.link_mtu and self.link_mtu < wire_ipv6.MIN_MTU:
            raise ValueError(f"AdvLinkMTU must be at least {wire_ipv6.MIN_MTU}")

    @property
    def min_interval(self) -> float:
        if self.min_rtr_adv_interval is not None:
            return self.min_rtr_adv_interval
        high = self.max_rtr_adv_interval
        return 0.33 * high if high >= 9 else 0.75 * high

    @property
    def router_lifetime(self) -> int:
        if self.default_lifetime is not None:
            return self.default_lifetime
        return min(int(3 * self.max_rtr_adv_interval), 9000)


@dataclass
class RouterCounters(CounterSet):
    """What the router did with packets not addressed to it, and its advertisements."""

    forwarded: int = 0
    hop_limit_exceeded: int = 0
    no_route: int = 0
    beyond_scope: int = 0
    too_big: int = 0
    link_local_not_forwarded: int = 0
    multicast_not_forwarded: int = 0
    unspecified_source_not_forwarded: int = 0
    redirects_sent: int = 0
    advertisements_sent: int = 0
    solicited_advertisements: int = 0


@dataclass(slots=True)
class Advertiser:
    """The advertising state of one interface (RFC 4861 §6.2.4-§6.2.6)."""

    params: AdvertisingParameters
    #: When the next multicast RA goes out (None: the interface is not advertising yet).
    next_time: float | None = None
    initial_sent: int = 0
    last_multicast: float | None = None
    sent: int = 0


class Router:
    """Router mode for ``host``: see the module docstring."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self.counters = RouterCounters()
        self.advertisers: dict[Interface, Advertiser] = {}
        host.forwarding = True
        host.router = self
        for iface in host.interfaces:
            self.enable_interface(iface)

    # -- configuration ------------------------------------------------------------------
    def enable_interface(self, iface: Interface) -> None:
        """RFC 4291 §2.8: a router listens to the all-routers group on every interface."""
        if not iface.in_group(wire_ipv6.ALL_ROUTERS):
            self.host.join_group(iface, wire_ipv6.ALL_ROUTERS, self.host.now)

    def advertise(self, iface: Interface, params: AdvertisingParameters) -> None:
        """Make ``iface`` an advertising interface (AdvSendAdvertisements = TRUE). The
        first advertisement goes out once its link-local address is usable (RFC 4861 §6.1.2: an RA
        comes from a link-local address)."""
        self.enable_interface(iface)
        adv = Advertiser(params)
        self.advertisers[iface] = adv
        if iface.link_local_address() is not None:
            self.interface_ready(iface, self.host.now)

    def add_route(
        self, prefix: IPv6Network | str, iface: Interface, next_hop: IPv6Address | str | None
    ) -> bool:
        """A static route (``next_hop`` None: the prefix is on-link on ``iface``)."""
        hop = None if next_hop is None else IPv6Address(next_hop)
        return self.host.routes.add_static_route(IPv6Network(prefix), iface, hop)

    # -- Router Advertisements (RFC 4861 §6.2.4-§6.2.6) ------------------------------------------
    def interface_ready(self, iface: Interface, now: float) -> None:
        """The link-local address of ``iface`` became usable: start advertising."""
        adv = self.advertisers.get(iface)
        if adv is None or adv.next_time is not None:
            return
        # RFC 4861 §6.2.4: the first advertisement when the interface becomes advertising.
        adv.next_time = now

    def advertisement(self, iface: Interface) -> wn.RouterAdvertisement:
        """The RA of RFC 4861 §6.2.3 for ``iface``."""
        p = self.advertisers[iface].params
        options: list[wn.NdOption] = []
        lla = iface.link.write_lla_option(iface.link.link_address)
        if lla:
            options.append(wn.SourceLinkLayerAddress(lla))
        if p.link_mtu:
            options.append(wn.Mtu(p.link_mtu))
        for ap in p.prefixes:
            options.append(
                wn.PrefixInformation(
                    ap.prefix.prefixlen,
                    ap.on_link,
                    ap.autonomous,
                    ap.valid_lifetime,
                    ap.preferred_lifetime,
                    ap.prefix.network_address,
                )
            )
        if p.rdnss:
            lifetime = p.rdnss_lifetime
            if lifetime is None:
                lifetime = int(3 * p.max_rtr_adv_interval)  # RFC 8106 §5.1
            options.append(wn.Rdnss(lifetime, p.rdnss))
        return wn.RouterAdvertisement(
            p.cur_hop_limit,
            p.managed,
            p.other_config,
            p.router_lifetime,
            p.reachable_time,
            p.retrans_timer,
            tuple(options),
        )

    def _send_advertisement(self, iface: Interface, now: float) -> None:
        adv = self.advertisers[iface]
        src = iface.link_local_address()
        if src is None:
            # RFC 4861 §6.1.2: no RA without a link-local source; wait for interface_ready again.
            adv.next_time = None
            return
        msg = self.advertisement(iface)
        self.host.nd.out_router_advertisements += 1
        self.host.nd_module.send_nd(iface, src, wire_ipv6.ALL_NODES, msg, now)
        adv.sent += 1
        adv.last_multicast = now
        self.counters.advertisements_sent += 1
        # RFC 4861 §6.2.4: the next one a uniformly random time in [MinRtrAdvInterval,
        # MaxRtrAdvInterval] later; the first MAX_INITIAL_RTR_ADVERTISEMENTS no more than
        # MAX_INITIAL_RTR_ADVERT_INTERVAL apart.
        p = adv.params
        interval = self.host.rng.uniform(p.min_interval, p.max_rtr_adv_interval)
        if adv.initial_sent < MAX_INITIAL_RTR_ADVERTISEMENTS:
            adv.initial_sent += 1
            interval = min(interval, MAX_INITIAL_RTR_ADVERT_INTERVAL)
        adv.next_time = now + interval

    def on_router_solicitation(self, d: Delivery, msg: wn.RouterSolicitation) -> None:
        """RFC 4861 §6.2.6: an RS on an interface (valid, checked by the caller)."""
        iface, hdr, now = d.interface, d.header, d.now
        if not hdr.src.is_unspecified:
            raw = checks.source_link_address(msg)
            lla = iface.link.read_lla_option(raw) if raw is not None else None
            # RFC 4861 §6.2.6: the sender's entry is created or updated and IsRouter set to FALSE.
            actions = iface.neighbors.on_router_message_lla(hdr.src, lla, now, is_router=False)
            self.host.nd_module.apply_neighbor_actions(iface, actions, now)
        adv = self.advertisers.get(iface)
        if adv is None or adv.next_time is None:
            return  # not an advertising interface (or not yet)
        # RFC 4861 §6.2.6: answer with a multicast RA after a random delay in [0,
        # MAX_RA_DELAY_TIME],
        # and no sooner than MIN_DELAY_BETWEEN_RAS after the last multicast RA.
        at = now + self.host.rng.uniform(0.0, MAX_RA_DELAY_TIME)
        if adv.last_multicast is not None and at < adv.last_multicast + MIN_DELAY_BETWEEN_RAS:
            at = adv.last_multicast + MIN_DELAY_BETWEEN_RAS + (at - now)
        # An advertisement already due sooner answers this solicitation too.
        if at < adv.next_time:
            adv.next_time = at
            self.counters.solicited_advertisements += 1

    # -- forwarding (RFC 8200 §3, RFC 4443 §3, RFC 4007 §9, RFC 4861 §8.2) ---------------
    def forward(
        self,
        iface: Interface,
        hdr: Ipv6Header,
        packet: bytes,
        now: float,
        *,
        translated: bool = False,
    ) -> None:
        """A packet arrived on ``iface`` for a destination that is not ours. ``translated``:
        it comes from a translator of this router (stack/translate/hook.py), which took the
        hop already (RFC 7915 §4.1) and did not receive it from a neighbor on ``iface``."""
        c = self.counters
        host = self.host
        icmp = host.icmpv6
        if hdr.dst.is_multicast:
            c.multicast_not_forwarded += 1  # no multicast routing
            return
        if hdr.src.is_unspecified:
            # RFC 4291 §2.5.2: never forwarded by a router.
            c.unspecified_source_not_forwarded += 1
            return
        if hdr.dst.is_link_local:
            # RFC 4291 §2.5.6: a router must not forward a packet with a link-local
            # destination.
            c.link_local_not_forwarded += 1
            return
        if hdr.hop_limit <= 1 and not translated:
            # RFC 8200 §3 / RFC 4443 §3.3: the hop limit would reach zero: Time Exceeded,
            # code 0.
            c.hop_limit_exceeded += 1
            msg = wi.TimeExceeded(wi.TIME_EXCEEDED_HOP_LIMIT, wi.truncate_invoking(packet))
            icmp.send_error(iface, hdr, packet, msg, now)
            return
        route = host.routes.next_hop(hdr.dst, None, now)
        if route is None:
            # RFC 4443 §3.1: no route to the destination: code 0.
            c.no_route += 1
            msg_nr = wi.DestinationUnreachable(wi.UNREACH_NO_ROUTE, wi.truncate_invoking(packet))
            icmp.send_error(iface, hdr, packet, msg_nr, now)
            return
        out, next_hop = route
        if hdr.src.is_link_local and out is not iface:
            # RFC 4007 §9 / RFC 4443 §3.1: a link-local source must not leave its link:
            # code 2, beyond scope of source address.
            c.beyond_scope += 1
            msg_bs = wi.DestinationUnreachable(
                wi.UNREACH_BEYOND_SCOPE, wi.truncate_invoking(packet)
            )
            icmp.send_error(iface, hdr, packet, msg_bs, now)
            return
        if len(packet) > out.mtu:
            # RFC 8200 §5 / RFC 4443 §3.2: routers never fragment; tell the source the MTU
            # of the next link.
            c.too_big += 1
            msg_tb = wi.PacketTooBig(0, wi.truncate_invoking(packet), out.mtu)
            icmp.send_error(iface, hdr, packet, msg_tb, now, allow_multicast=True)
            return
        if out is iface and not translated:
            self._maybe_redirect(iface, hdr, packet, next_hop, now)
        # RFC 8200 §3: decrement the Hop Limit by one.
        forwarded = bytearray(packet)
        if not translated:
            forwarded[HOP_LIMIT_OFFSET] = hdr.hop_limit - 1
        c.forwarded += 1
        host.ip.forwarded += 1
        if out.link.uses_nd:
            out.resolve(next_hop, bytes(forwarded), now)
        else:
            out.transmit(bytes(forwarded), b"", now)

    def _maybe_redirect(
        self,
        iface: Interface,
        hdr: Ipv6Header,
        packet: bytes,
        next_hop: IPv6Address,
        now: float,
    ) -> None:
        """RFC 4861 §8.2: the packet goes back out the link it came in on and its source is a
        neighbor on that link: tell the source the better first hop (the next hop, or the
        destination itself when it is on-link)."""
        host = self.host
        src_route = host.routes.next_hop(hdr.src, iface, now)
        if src_route is None or src_route != (iface, hdr.src):
            return  # the source is not a neighbor on this link
        # RFC 4861 §8.2: the router must use its link-local address as the source (hosts check it).
        src = iface.link_local_address()
        if src is None:
            return
        # RFC 4861 §8.2: rate limited; the per-destination ICMPv6 error bucket of the RCE serves.
        if not host.routes.allow_icmp_error(hdr.src, now, iface):
            return
        options: list[wn.NdOption] = []
        nce = iface.neighbors.get(next_hop)
        if nce is not None and nce.link_address is not None:
            data = iface.link.write_lla_option(nce.link_address)
            if data:
                options.append(wn.TargetLinkLayerAddress(data))
        # RFC 4861 §4.5, RFC 4861 §8.2: as much of the redirected packet as fits without the
        # Redirect
        # exceeding the minimum MTU (its option is padded to 8-octet units).
        used = Ipv6Header.HEADER_LEN + REDIRECT_FIXED_LEN + sum(o.buffer_len() for o in options)
        room = wire_ipv6.MIN_MTU - used - REDIRECTED_HEADER_OPTION_HEAD
        options.append(wn.RedirectedHeader(packet[: room - room % 8]))
        msg = wn.Redirect(next_hop, hdr.dst, tuple(options))
        host.nd.out_redirects += 1
        self.counters.redirects_sent += 1
        host.nd_module.send_nd(iface, src, hdr.src, msg, now)

    # -- timers ------------------------------------------------------------------------
    def next_deadline(self) -> float | None:
        times = [a.next_time for a in self.advertisers.values() if a.next_time is not None]
        return min(times) if times else None

    def poll(self, now: float) -> None:
        for iface, adv in self.advertisers.items():
            if adv.next_time is not None and adv.next_time <= now:
                self._send_advertisement(iface, now)
