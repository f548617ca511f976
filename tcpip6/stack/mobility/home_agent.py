"""The home agent of Mobile IPv6 (RFC 6275 §10).

A router on the home link that keeps, for each mobile node away from home, a home
registration in its Binding Cache (RFC 6275 §10.1) and stands in for the mobile node there:

* RFC 6275 §10.3.1: a Binding Update with the Home Registration (H) flag is checked (home
  address on the home link's prefix, else status 132; Sequence Number modulo 2^16, else
  status 135 with the last accepted one), the lifetime is granted up to
  MAX_HOME_BINDING_LIFETIME, and the Binding Acknowledgement goes to the care-of address
  with a type 2 routing header;
* RFC 6275 §10.3.1, RFC 6275 §10.4.1: before the first registration of a home address the
  home agent runs Duplicate Address Detection for it on the home link on the mobile node's
  behalf (one solicitation, RetransTimer, as RFC 4862 §5.4 does); an advertisement for the
  address meanwhile fails the registration with status 134;
* RFC 6275 §10.4.1: while the registration stands the home agent is the home address's
  proxy on the home link: it joins the address's solicited-node group, advertises the
  address with its own link-layer address (Override set, Router clear), answers Neighbor
  Solicitations for it and defends it against another node's DAD;
* RFC 6275 §10.4.1, RFC 2473: what it receives for the home address goes through an
  IPv6-in-IPv6 tunnel to the care-of address; RFC 6275 §10.4.5: what the mobile node
  reverse-tunnels from its care-of address is decapsulated and forwarded (a tunnel packet
  whose outer source is not the care-of address of the inner source's binding is dropped);
* RFC 6275 §10.3.2: a deregistration (lifetime 0, or the home address as care-of address)
  deletes the entry and ends the proxy.

Simplified, and so documented: Binding Updates are not required to be protected by IPsec
(RFC 6275 §10.3.1 with RFC 4877), so neither are Mobile Prefix Solicitations and
Advertisements (RFC 6275 §10.6); the home agents list of Dynamic Home Agent Address
Discovery (RFC 6275 §10.5) holds this home agent alone (no Home Agent Information options
are learned from other routers), and no unsolicited Mobile Prefix Advertisement is sent
when the home prefixes change (RFC 6275 §10.6.3); DAD is skipped for a home
address that already has a registration (RFC 6275 §10.3.1 allows exactly that).
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv6Address, IPv6Network
from typing import TYPE_CHECKING

from tcpip6.stack import nd_checks
from tcpip6.stack.counters import CounterSet
from tcpip6.stack.mobility import tunnel6
from tcpip6.stack.mobility.binding_cache import BindingCache, BindingExpired
from tcpip6.wire import WireError
from tcpip6.wire import ext as wire_ext
from tcpip6.wire import icmpv6 as wire_icmp
from tcpip6.wire import ipv6 as wire_ipv6
from tcpip6.wire import mobility as wire_mh
from tcpip6.wire import nd as wn

if TYPE_CHECKING:
    from tcpip6.stack.host import Host
    from tcpip6.stack.interface import Interface
    from tcpip6.stack.ipv6 import Delivery
    from tcpip6.stack.mobility.correspondent import CorrespondentNode

#: The longest home registration this home agent grants, in seconds (RFC 6275 §10.3.1 lets
#: the home agent shorten the requested lifetime; the home address itself here never ends).
MAX_HOME_BINDING_LIFETIME = 3600
#: RFC 4861 §6.2.1 defaults (AdvValidLifetime, AdvPreferredLifetime), in seconds, for the
#: home prefix in a Mobile Prefix Advertisement (RFC 6275 §10.6.2).
ADV_VALID_LIFETIME = 2_592_000
ADV_PREFERRED_LIFETIME = 604_800
#: How many home registrations it keeps (RFC 6275 §10.3.1: status 130 beyond that).
HOME_AGENT_CAPACITY = 256
#: Home registrations waiting for DAD on the home link, at most.
PENDING_DAD_LIMIT = 64


@dataclass
class HomeAgentCounters(CounterSet):
    """What the home agent did (each drop or refusal counted once)."""

    home_bu_received: int = 0
    home_bu_not_home_subnet: int = 0  # status 132
    home_bu_sequence_refused: int = 0  # status 135
    home_bu_no_room_refused: int = 0  # status 130
    home_bu_dad_failed: int = 0  # status 134
    home_bu_dad_busy_drop: int = 0  # more pending DADs than PENDING_DAD_LIMIT
    home_bu_accepted: int = 0
    home_bu_lifetime_reduced: int = 0
    home_deregistrations: int = 0
    home_bindings_expired: int = 0
    dad_solicitations_sent: int = 0
    proxy_advertisements_sent: int = 0  # unsolicited, RFC 6275 §10.4.1
    proxy_solicitations_answered: int = 0
    proxy_dad_defended: int = 0
    intercepted: int = 0
    received_on_other_link: int = 0  # for the home agent's home-link address
    intercepted_nd_handled: int = 0
    tunnelled_out: int = 0
    tunnelled_in: int = 0
    haad_requests: int = 0  # RFC 6275 §10.5
    haad_replies_sent: int = 0
    haad_malformed_drop: int = 0
    haad_not_anycast_drop: int = 0  # RFC 6275 §10.5: sent to the Home-Agents anycast address
    mps_received: int = 0  # RFC 6275 §10.6.2
    mpa_sent: int = 0
    mps_malformed_drop: int = 0
    mps_no_binding_drop: int = 0  # not from a registered mobile node's home address


@dataclass
class PendingRegistration:
    """A first home registration waiting for DAD of its home address (RFC 6275 §10.3.1)."""

    home_address: IPv6Address
    care_of_address: IPv6Address
    sequence: int
    lifetime: int  # granted, in units of 4 seconds
    ours: IPv6Address
    decide_at: float
    duplicate: bool = False


class HomeAgent:
    """RFC 6275 §10 for one router and one home link."""

    def __init__(
        self,
        host: Host,
        cn: CorrespondentNode,
        home_interface: Interface,
        home_prefix: IPv6Network,
        capacity: int = HOME_AGENT_CAPACITY,
    ) -> None:
        self.host = host
        self.cn = cn
        self.home_interface = home_interface
        self.home_prefix = home_prefix
        self.counters = HomeAgentCounters()
        self.tunnel = tunnel6.TunnelCounters()
        self.cache = BindingCache(capacity, label=f"{host.name} home ")
        self.cache.trace_sink = host.trace_sink
        self.pending: dict[IPv6Address, PendingRegistration] = {}
        #: The home agent address each mobile node registered with: the tunnel's source
        #: (RFC 6275 §10.4.1: "the home agent's own address as the source").
        self.tunnel_source: dict[IPv6Address, IPv6Address] = {}

    # -- home registration (RFC 6275 §10.3.1, RFC 6275 §10.3.2) ------------------------
    def binding_update(
        self,
        bu: wire_mh.BindingUpdate,
        home: IPv6Address,
        care_of: IPv6Address,
        ours: IPv6Address,
        now: float,
    ) -> None:
        c = self.counters
        c.home_bu_received += 1
        if home not in self.home_prefix:
            # RFC 6275 §10.3.1: the home address is not on-link on the home link.
            c.home_bu_not_home_subnet += 1
            self.cn.acknowledge(
                wire_mh.BA_NOT_HOME_SUBNET, bu.sequence, 0, home, care_of, ours, now
            )
            return
        entry = self.cache.get(home)
        last = self.cache.refused_sequence(entry, bu.sequence, now)
        if last is not None:
            # RFC 6275 §10.3.1 (as RFC 6275 §9.5.1): status 135 with the last accepted number.
            c.home_bu_sequence_refused += 1
            self.cn.acknowledge(
                wire_mh.BA_SEQUENCE_NUMBER_OUT_OF_WINDOW, last, 0, home, care_of, ours, now
            )
            return
        if bu.lifetime == 0 or care_of == home:
            # RFC 6275 §10.3.2: delete the entry, stop being the proxy, acknowledge.
            c.home_deregistrations += 1
            self.pending.pop(home, None)
            if entry is not None:
                self.cache.fire(entry, "deregistered", now)
                self._stop_proxy(home, now)
            self.cn.acknowledge(wire_mh.BA_ACCEPTED, bu.sequence, 0, home, care_of, ours, now)
            return
        granted = min(bu.lifetime, MAX_HOME_BINDING_LIFETIME // 4)
        if granted < bu.lifetime:
            c.home_bu_lifetime_reduced += 1
        if entry is None:
            if home in self.pending or len(self.pending) >= PENDING_DAD_LIMIT:
                c.home_bu_dad_busy_drop += 1
                return
            if self.cache.full:
                c.home_bu_no_room_refused += 1
                self.cn.acknowledge(
                    wire_mh.BA_INSUFFICIENT_RESOURCES, bu.sequence, 0, home, care_of, ours, now
                )
                return
            # RFC 6275 §10.3.1: DAD for the home address on the home link first.
            wait = self.home_interface.params.retrans_timer
            self.pending[home] = PendingRegistration(
                home, care_of, bu.sequence, granted, ours, now + wait
            )
            c.dad_solicitations_sent += 1
            self.host.nd_module.send_dad_solicitation(self.home_interface, home, now)
            return
        self._register(home, care_of, bu.sequence, granted, ours, now)

    def _register(
        self,
        home: IPv6Address,
        care_of: IPv6Address,
        sequence: int,
        granted: int,
        ours: IPv6Address,
        now: float,
    ) -> None:
        fresh = self.cache.get(home) is None
        if self.cache.accept(home, care_of, sequence, granted * 4.0, now) is None:
            self.counters.home_bu_no_room_refused += 1
            self.cn.acknowledge(
                wire_mh.BA_INSUFFICIENT_RESOURCES, sequence, 0, home, care_of, ours, now
            )
            return
        self.counters.home_bu_accepted += 1
        self.tunnel_source[home] = ours
        if fresh:
            self._start_proxy(home, now)
        self.cn.acknowledge(wire_mh.BA_ACCEPTED, sequence, granted, home, care_of, ours, now)

    # -- discovery (RFC 6275 §10.5, RFC 6275 §10.6) -------------------------------------
    def own_address(self) -> IPv6Address | None:
        """This home agent's global unicast address on the home link."""
        return next(
            (a for a in self.home_interface.source_candidates() if a in self.home_prefix), None
        )

    def haad_request(self, d: Delivery, _msg: object) -> None:
        """RFC 6275 §10.5: a Home Agent Address Discovery Request to the Home-Agents anycast
        address is answered, to its source, with the home agents list (this home agent
        alone here), from this home agent's own address."""
        c = self.counters
        c.haad_requests += 1
        hdr = d.header
        try:
            request = wire_mh.HaadRequest.parse(d.payload, hdr.src, hdr.dst)
        except WireError:
            c.haad_malformed_drop += 1
            return
        if hdr.dst != wire_mh.home_agents_anycast(self.home_prefix.network_address):
            c.haad_not_anycast_drop += 1
            return
        own = self.own_address()
        if own is None:
            c.haad_malformed_drop += 1
            return
        reply = wire_mh.HaadReply(request.identifier, (own,)).build(own, hdr.src)
        if self.host.ipv6.send(hdr.src, wire_ipv6.IPPROTO_ICMPV6, reply, d.now, src=own):
            c.haad_replies_sent += 1

    def mobile_prefix_solicitation(self, d: Delivery, _msg: object) -> None:
        """RFC 6275 §10.6.2: a Mobile Prefix Solicitation from a registered mobile node
        (its home address, in a Home Address option, with a binding here) is answered with
        a Mobile Prefix Advertisement of the home prefix to the home address, through the
        care-of address in a type 2 routing header."""
        c = self.counters
        c.mps_received += 1
        hdr = d.header
        try:
            solicitation = wire_mh.MobilePrefixSolicitation.parse(d.payload, hdr.src, hdr.dst)
        except WireError:
            c.mps_malformed_drop += 1
            return
        entry = self.cache.get(hdr.src)
        own = self.tunnel_source.get(hdr.src) or self.own_address()
        if entry is None or own is None:
            c.mps_no_binding_drop += 1
            return
        prefix = wn.PrefixInformation(
            self.home_prefix.prefixlen,
            True,
            True,
            ADV_VALID_LIFETIME,
            ADV_PREFERRED_LIFETIME,
            self.home_prefix.network_address,
        )
        adv = wire_mh.MobilePrefixAdvertisement(solicitation.identifier, (prefix,))
        raw = adv.build(own, hdr.src)
        rh = wire_ext.Type2RoutingHeader(wire_ipv6.IPPROTO_ICMPV6, hdr.src).build()
        if self.host.ipv6.send(
            entry.care_of_address, wire_ipv6.IPPROTO_ROUTING, rh + raw, d.now, src=own
        ):
            c.mpa_sent += 1

    # -- proxy Neighbor Discovery (RFC 6275 §10.4.1) -------------------------------------
    def _start_proxy(self, home: IPv6Address, now: float) -> None:
        iface = self.home_interface
        self.host.join_group(iface, wire_ipv6.solicited_node(home), now)
        # The home agent's own neighbor entry for the address named the mobile node's
        # interface; from now on the address is its own to answer for.
        iface.neighbors.remove(home)
        # RFC 6275 §10.4.1: a multicast Neighbor Advertisement, Override set, so the
        # home link's nodes send to the home agent's link-layer address.
        self.counters.proxy_advertisements_sent += 1
        self._advertise(iface, wire_ipv6.ALL_NODES, home, solicited=False, now=now)

    def _stop_proxy(self, home: IPv6Address, now: float) -> None:
        self.tunnel_source.pop(home, None)
        self.host.leave_group(self.home_interface, wire_ipv6.solicited_node(home), now)

    def _advertise(
        self, iface: Interface, dst: IPv6Address, target: IPv6Address, solicited: bool, now: float
    ) -> None:
        """RFC 6275 §10.4.1: Target the home address, the home agent's link-layer address,
        Router flag clear (it speaks for a host), Override set."""
        lla = iface.link.write_lla_option(iface.link.link_address)
        options: tuple[wn.NdOption, ...] = (wn.TargetLinkLayerAddress(lla),) if lla else ()
        msg = wn.NeighborAdvertisement(
            target, router=False, solicited=solicited, override=True, options=options
        )
        src = iface.link_local_address()
        if src is None:
            return
        self.host.nd.out_neighbor_advertisements += 1
        self.host.nd_module.send_nd(iface, src, dst, msg, now)

    def proxy_solicitation(self, d: Delivery, msg: wn.NeighborSolicitation) -> bool:
        """A valid Neighbor Solicitation whose target is no address of ours: answered when
        the target is a home address this home agent is the proxy for (RFC 6275 §10.4.1)."""
        iface = d.interface
        if iface is not self.home_interface or self.cache.get(msg.target) is None:
            return False
        hdr, now = d.header, d.now
        if hdr.src.is_unspecified:
            # Another node's DAD for the home address: defend it (RFC 4861 §7.2.4).
            self.counters.proxy_dad_defended += 1
            self._advertise(iface, wire_ipv6.ALL_NODES, msg.target, solicited=False, now=now)
            return True
        raw = nd_checks.source_link_address(msg)
        lla = iface.link.read_lla_option(raw) if raw is not None else None
        if lla is not None:
            actions = iface.neighbors.on_neighbor_solicitation(hdr.src, lla, now)
            self.host.nd_module.apply_neighbor_actions(iface, actions, now)
        self.counters.proxy_solicitations_answered += 1
        self._advertise(iface, hdr.src, msg.target, solicited=True, now=now)
        return True

    def neighbor_advertisement(self, iface: Interface, target: IPv6Address) -> None:
        """RFC 6275 §10.3.1: an advertisement for a home address under DAD on the home link
        means another node has it: the registration fails (status 134)."""
        pending = self.pending.get(target)
        if pending is not None and iface is self.home_interface:
            pending.duplicate = True

    # -- the tunnel (RFC 6275 §10.4.1, RFC 6275 §10.4.5, RFC 2473) --------------------------
    def intercept(
        self, iface: Interface, hdr: wire_ipv6.Ipv6Header, packet: bytes, now: float
    ) -> bool:
        """A packet for a destination not ours: when it is a home address with a binding,
        tunnel it to the care-of address (or, if it is Neighbor Discovery for it, answer as
        its proxy). Whether the packet was taken. A packet for the home agent's own
        address on the home link, come in on another interface (a mobile node away from home
        writes to it there), is received as the home agent's."""
        if self.home_interface.is_receive_address(hdr.dst):
            self.counters.received_on_other_link += 1
            self.host.ipv6.walk_chain(iface, hdr, packet, now)
            return True
        entry = self.cache.get(hdr.dst)
        if entry is None:
            return False
        c = self.counters
        c.intercepted += 1
        if (
            hdr.next_header == wire_ipv6.IPPROTO_ICMPV6
            and len(packet) > wire_ipv6.Ipv6Header.HEADER_LEN
            and packet[wire_ipv6.Ipv6Header.HEADER_LEN] in wn.ND_TYPES
        ):
            # RFC 6275 §10.4.1: a unicast solicitation for the home address is the proxy's
            # to answer; Neighbor Discovery never goes through the tunnel.
            c.intercepted_nd_handled += 1
            self.host.ipv6.walk_chain(iface, hdr, packet, now)
            return True
        forwarded = tunnel6.forwarded_hop_limit(packet)
        if forwarded is None:
            # RFC 2473 §3.1: the entry point forwards the original packet: Time Exceeded.
            self.tunnel.hop_limit_exceeded_drop += 1
            msg = wire_icmp.TimeExceeded(
                wire_icmp.TIME_EXCEEDED_HOP_LIMIT, wire_icmp.truncate_invoking(packet)
            )
            self.host.icmpv6.send_error(iface, hdr, packet, msg, now)
            return True
        src = self.tunnel_source.get(hdr.dst)
        self.send_tunnelled(iface, hdr, forwarded, entry.care_of_address, src, now)
        return True

    def send_tunnelled(
        self,
        iface: Interface,
        hdr: wire_ipv6.Ipv6Header,
        original: bytes,
        care_of: IPv6Address,
        src: IPv6Address | None,
        now: float,
    ) -> None:
        """RFC 2473 §3.1, RFC 2473 §7.1: encapsulate ``original`` to ``care_of``, from
        ``src`` (the home agent address the mobile node registered with)."""
        route = self.host.route_with_source(care_of, None, src, now)
        if route is None:
            return
        out, _, src = route
        pmtu = self.host.routes.path_mtu(care_of, now, out) or out.mtu
        if tunnel6.too_big_for_tunnel(original, pmtu):
            self.tunnel.too_big_drop += 1
            msg = wire_icmp.PacketTooBig(
                0, wire_icmp.truncate_invoking(original), tunnel6.tunnel_mtu(pmtu)
            )
            self.host.icmpv6.send_error(iface, hdr, original, msg, now)
            return
        self.tunnel.encapsulated += 1
        self.counters.tunnelled_out += 1
        self.host.ipv6.send(care_of, tunnel6.IPPROTO_IPV6, original, now, src=src)

    def receive_tunnelled(self, d: Delivery) -> None:
        """RFC 6275 §10.4.5, RFC 2473 §3.2: a packet the mobile node reverse-tunnelled."""
        try:
            inner, original = tunnel6.decapsulate(d.payload)
        except WireError:
            self.tunnel.inner_malformed_drop += 1
            return
        entry = self.cache.get(inner.src)
        if entry is None or entry.care_of_address != d.header.src:
            self.tunnel.not_from_tunnel_peer_drop += 1
            return
        self.tunnel.decapsulated += 1
        self.counters.tunnelled_in += 1
        self.host.ipv6.receive(d.interface, original, d.now)

    # -- timers -------------------------------------------------------------------------
    def next_deadline(self) -> float | None:
        best = self.cache.next_deadline()
        for p in self.pending.values():
            best = p.decide_at if best is None else min(best, p.decide_at)
        return best

    def poll(self, now: float) -> None:
        for home, p in list(self.pending.items()):
            if now < p.decide_at:
                continue
            del self.pending[home]
            if p.duplicate:
                self.counters.home_bu_dad_failed += 1  # RFC 6275 §10.3.1: status 134
                self.cn.acknowledge(
                    wire_mh.BA_DAD_FAILED, p.sequence, 0, home, p.care_of_address, p.ours, now
                )
            else:
                self._register(home, p.care_of_address, p.sequence, p.lifetime, p.ours, now)
        for event in self.cache.poll(now):
            if isinstance(event, BindingExpired):
                self.counters.home_bindings_expired += 1
                self._stop_proxy(event.home_address, now)


def enable_home_agent(
    host: Host,
    home_interface: Interface,
    home_prefix: IPv6Network,
    capacity: int = HOME_AGENT_CAPACITY,
    now: float = 0.0,
) -> HomeAgent:
    """Make ``host`` (a router) the home agent of ``home_prefix`` on ``home_interface``; it is
    a correspondent node too (RFC 6275 §8.4). It answers home agent address discovery on
    the Home-Agents anycast address (RFC 6275 §10.5) and mobile prefix solicitations
    (RFC 6275 §10.6)."""
    from tcpip6.stack.mobility.correspondent import enable_correspondent

    cn = host.mobility if host.mobility is not None else enable_correspondent(host)
    ha = HomeAgent(host, cn, home_interface, home_prefix, capacity)
    cn.home_agent = ha
    host.home_agent = ha
    host.register_protocol(tunnel6.IPPROTO_IPV6, ha.receive_tunnelled)
    if home_prefix.prefixlen == 64:
        # RFC 6275 §10.5: the home agent receives on the Home-Agents anycast address.
        anycast = wire_mh.home_agents_anycast(home_prefix.network_address)
        actions = home_interface.addresses.add_anycast(anycast, 64, now)
        host.nd_module.apply_address_actions(home_interface, actions, now)
    host.icmpv6.handlers[wire_mh.ICMPV6_HAAD_REQUEST] = ha.haad_request
    host.icmpv6.handlers[wire_mh.ICMPV6_MOBILE_PREFIX_SOLICITATION] = ha.mobile_prefix_solicitation
    return ha


__all__ = [
    "MAX_HOME_BINDING_LIFETIME",
    "HomeAgent",
    "HomeAgentCounters",
    "enable_home_agent",
]
