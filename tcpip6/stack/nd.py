"""Neighbor Discovery for a host (RFC 4861) and the glue to autoconfiguration (RFC 4862).

Receives RS/RA/NS/NA/Redirect (validity checks in :mod:`tcpip6.stack.nd_checks`, each drop
counted in ``host.nd``), feeds the neighbor cache, the address table, the router
solicitor and the routing table, and turns their actions into packets.
"""

from __future__ import annotations

from ipaddress import IPv6Address
from typing import TYPE_CHECKING

from tcpip6.stack import address_selection
from tcpip6.stack import addresses as ad
from tcpip6.stack import nd_checks as checks
from tcpip6.stack import neighbors as nb
from tcpip6.stack.events import (
    AddressConfigured,
    AddressOptimistic,
    AddressRemoved,
    DuplicateAddress,
    LogMessage,
    NeighborUnreachableEvent,
)
from tcpip6.stack.params import MAX_RTR_SOLICITATION_DELAY
from tcpip6.stack.router_solicitation import SendRouterSolicitation
from tcpip6.wire import icmpv6 as wi
from tcpip6.wire import ipv6 as wire_ipv6
from tcpip6.wire import nd as wn

if TYPE_CHECKING:
    from tcpip6.stack.host import Host
    from tcpip6.stack.interface import Interface
    from tcpip6.stack.ipv6 import Delivery

ND_HOP_LIMIT = 255


class NeighborDiscovery:
    def __init__(self, host: Host) -> None:
        self.host = host
        handlers = host.icmpv6.handlers
        handlers[wn.ROUTER_SOLICITATION] = self._router_solicitation
        handlers[wn.ROUTER_ADVERTISEMENT] = self._router_advertisement
        handlers[wn.NEIGHBOR_SOLICITATION] = self._neighbor_solicitation
        handlers[wn.NEIGHBOR_ADVERTISEMENT] = self._neighbor_advertisement
        handlers[wn.REDIRECT] = self._redirect

    # -- start-up (RFC 4862 §5.3, RFC 4861 §6.3.7) ----------------------------------------
    def start_interface(self, iface: Interface, now: float) -> None:
        """Form the link-local address (DAD runs first) and, once it is usable, solicit
        routers."""
        if not iface.link.uses_nd:
            return
        # RFC 4862 §5.3: routers form link-local addresses too, but neither solicit routers
        # nor autoconfigure from advertisements (RFC 4861 §6.2.7).
        iface.autoconfigure = not self.host.forwarding
        lla = ad.link_local_address(iface.link.interface_identifier())
        if lla is None:
            return
        # RFC 4862 §5.4.2: the table draws the random delay before this first NS.
        actions = iface.addresses.add(lla, 64, ad.Origin.LINK_LOCAL, now)
        self.apply_address_actions(iface, actions, now)

    def probe_attachment(self, iface: Interface, now: float) -> None:
        """RFC 6059: with the link-local address usable again after a link up, probe the
        routers of the previous attachment (unicast NSs, NUD's PROBE), beside the RS."""
        candidates, iface.attachment_candidates = iface.attachment_candidates, []
        for router in candidates:
            self.host.nd.attachment_probes += 1
            self.apply_neighbor_actions(iface, iface.neighbors.attachment_probe(router, now), now)

    # -- actions -> packets ---------------------------------------------------------------
    def apply_neighbor_actions(
        self, iface: Interface, actions: list[nb.NdAction], now: float
    ) -> None:
        host = self.host
        for a in actions:
            if isinstance(a, nb.SendSolicitation):
                self.send_neighbor_solicitation(iface, a.target, a.link_address, now)
            elif isinstance(a, nb.TransmitPackets):
                for packet in a.packets:
                    iface.transmit(packet, a.link_address, now)
            elif isinstance(a, nb.ResolutionFailed):
                host.nd.resolution_failures += 1
                for packet in a.packets:
                    self._address_unreachable(iface, packet, now)
            elif isinstance(a, nb.NeighborUnreachable):
                host.routes.neighbor_unreachable(iface, a.target)
                host.emit(NeighborUnreachableEvent(now, iface.name, a.target))
                if host.mobile_node is not None:  # RFC 6275 §11.5.1: a movement hint
                    host.mobile_node.neighbor_unreachable(iface, a.target, now)
            elif isinstance(a, nb.RouterFlagCleared):
                host.routes.router_flag_cleared(iface, a.target)

    def _address_unreachable(self, iface: Interface, packet: bytes, now: float) -> None:
        """RFC 4861 §7.2.2: ICMPv6 destination unreachable (address unreachable) for each
        packet whose next hop could not be resolved."""
        try:
            hdr, _ = wire_ipv6.split(packet)
        except Exception:  # our own packet: cannot be malformed, but never raise here
            return
        msg = wi.DestinationUnreachable(wi.UNREACH_ADDRESS, wi.truncate_invoking(packet))
        self.host.icmpv6.send_error(iface, hdr, packet, msg, now)

    def apply_address_actions(
        self, iface: Interface, actions: list[ad.AddressAction], now: float
    ) -> None:
        host = self.host
        for a in actions:
            if isinstance(a, ad.SendDadSolicitation):
                self.send_dad_solicitation(iface, a.target, now)
            elif isinstance(a, ad.JoinGroup):
                host.join_group(iface, a.group, now)
            elif isinstance(a, ad.LeaveGroup):
                host.leave_group(iface, a.group, now)
            elif isinstance(a, (ad.AddressDeprecated, ad.AddressRenewed)):
                host.routes.forget_sources()
            elif isinstance(a, ad.AddressOptimistic):
                host.routes.forget_sources()
                host.emit(
                    AddressOptimistic(now, iface.name, a.address, a.prefix_length, a.origin.value)
                )
                if a.origin is ad.Origin.LINK_LOCAL and iface.autoconfigure:
                    self._solicit_routers(iface, now)
            elif isinstance(a, ad.AddressAvailable):
                host.routes.forget_sources()
                host.emit(
                    AddressConfigured(now, iface.name, a.address, a.prefix_length, a.origin.value)
                )
                if (
                    a.origin is ad.Origin.LINK_LOCAL
                    and iface.autoconfigure
                    and not a.was_optimistic
                ):
                    self._solicit_routers(iface, now)
                if a.address.is_link_local and host.router is not None:
                    host.router.interface_ready(iface, now)
            elif isinstance(a, ad.DuplicateAddressDetected):
                host.nd.duplicate_addresses += 1
                host.emit(DuplicateAddress(now, iface.name, a.address, a.interface_disabled))
                text = f"duplicate address {a.address} on {iface.name}: not used"
                if a.interface_disabled:
                    text += "; hardware address not unique, autoconfiguration stopped"
                host.emit(LogMessage(now, iface.name, "error", text))
                host.log.error("%s: %s", host.name, text)
            elif isinstance(a, ad.AddressRemoved):
                host.routes.invalidate()
                host.emit(AddressRemoved(now, iface.name, a.address))

    def _solicit_routers(self, iface: Interface, now: float) -> None:
        # RFC 4861 §6.3.7: the link-local address is usable (assigned, or optimistic:
        # RFC 4429 §3.3 makes it "available for use" at once); the first RS after a random
        # delay in [0, MAX_RTR_SOLICITATION_DELAY].
        iface.solicitor.begin(now, self.host.rng.uniform(0.0, MAX_RTR_SOLICITATION_DELAY))
        self.probe_attachment(iface, now)

    # -- sending ND messages --------------------------------------------------------------
    def send_nd(
        self,
        iface: Interface,
        src: IPv6Address,
        dst: IPv6Address,
        msg: wn.NdMessage,
        now: float,
        link_address: bytes | None = None,
    ) -> None:
        self.host.icmpv6.send_on(
            iface, dst, src, dst, msg, now, hop_limit=ND_HOP_LIMIT, link_address=link_address
        )

    def _own_lla_option(self, iface: Interface, cls: type) -> tuple[wn.NdOption, ...]:
        data = iface.link.write_lla_option(iface.link.link_address)
        return (cls(data),) if data else ()

    def send_neighbor_solicitation(
        self, iface: Interface, target: IPv6Address, link_address: bytes | None, now: float
    ) -> None:
        """RFC 4861 §7.2.2 (multicast, address resolution) or RFC 4861 §7.3.3 (unicast, a NUD
        probe)."""
        src = self._prompting_source(iface, target) or self.host.select_source(iface, target)
        if src is not None and self._optimistic(iface, src):
            # RFC 4429 §3.2: "A node MUST NOT use an Optimistic Address as the source address
            # of a Neighbor Solicitation" (its SLLAO could override the rightful owner's
            # entries, RFC 4429 §2.2): another source, or none until DAD ends (the packets
            # wait in the NCE, and the next retransmission goes from the assigned address).
            entries = [e for e in iface.source_entries() if not self._optimistic(iface, e.address)]
            chosen = address_selection.select_source(
                target, entries, outgoing_interface=iface.index
            )
            src = None if chosen is None else chosen.address
            if src is None:
                self.host.nd.ns_optimistic_source_deferred += 1
        if src is None:
            return
        dst = wire_ipv6.solicited_node(target) if link_address is None else target
        msg = wn.NeighborSolicitation(
            target, self._own_lla_option(iface, wn.SourceLinkLayerAddress)
        )
        self.host.nd.out_neighbor_solicitations += 1
        if link_address is None:
            self.send_nd(iface, src, dst, msg, now)
        else:
            self.send_nd(iface, src, dst, msg, now, link_address=link_address)

    def _prompting_source(self, iface: Interface, target: IPv6Address) -> IPv6Address | None:
        """RFC 4861 §7.2.2: "If the source address of the packet prompting the solicitation is the
        same as one of the addresses assigned to the outgoing interface, that address
        SHOULD be placed in the IP Source Address of the outgoing solicitation." The newest
        packet queued for the target is the one that prompted it."""
        nce = iface.neighbors.get(target)
        if nce is None or not nce.queue or len(nce.queue[-1]) < wire_ipv6.Ipv6Header.HEADER_LEN:
            return None
        src = IPv6Address(nce.queue[-1][8:24])
        usable = {e.address for e in iface.addresses.source_candidates() if not e.optimistic}
        return src if src in usable else None

    def send_dad_solicitation(self, iface: Interface, target: IPv6Address, now: float) -> None:
        """RFC 4862 §5.4.2: from the unspecified address, to the solicited-node group, with
        no source link-layer address option."""
        self.host.nd.out_neighbor_solicitations += 1
        msg = wn.NeighborSolicitation(target)
        self.send_nd(iface, wire_ipv6.UNSPECIFIED, wire_ipv6.solicited_node(target), msg, now)

    @staticmethod
    def _optimistic(iface: Interface, address: IPv6Address) -> bool:
        nte = iface.addresses.get(address)
        return nte is not None and nte.optimistic

    def send_router_solicitation(self, iface: Interface, now: float) -> None:
        """RFC 4861 §6.3.7: from a usable link-local address with our link-layer address, or from
        the unspecified address without one."""
        src = iface.link_local_address()  # an assigned one first, else an optimistic one
        options: tuple[wn.NdOption, ...] = ()
        if src is not None and not self._optimistic(iface, src):
            options = self._own_lla_option(iface, wn.SourceLinkLayerAddress)
        # RFC 4429 §3.2: "A node MUST NOT send a Router Solicitation with a SLLAO from an
        # Optimistic Address. Router Solicitations SHOULD be sent from a non-Optimistic or
        # the Unspecified Address; however, they MAY be sent from an Optimistic Address as
        # long as the SLLAO is not included." tcpip6 takes the MAY: with a source address the
        # router may answer by unicast (RFC 4861 §6.2.6), which no MIN_DELAY_BETWEEN_RAS
        # holds back as it holds back multicast advertisements; the router resolves the
        # optimistic address by an NS, answered without Override (RFC 4429 §2.2).
        msg = wn.RouterSolicitation(options)
        self.host.nd.out_router_solicitations += 1
        self.send_nd(iface, src or wire_ipv6.UNSPECIFIED, wire_ipv6.ALL_ROUTERS, msg, now)

    def poll_solicitor(self, iface: Interface, now: float) -> None:
        for action in iface.solicitor.poll(now):
            if isinstance(action, SendRouterSolicitation):
                self.send_router_solicitation(iface, now)

    # -- receiving ------------------------------------------------------------------------
    def _valid(self, d: Delivery, reason: str | None) -> bool:
        if d.fragmented:
            # RFC 6980 §5: ND messages in fragments are silently discarded.
            self.host.nd.in_fragment_drop += 1
            return False
        if reason is not None:
            setattr(self.host.nd, reason, getattr(self.host.nd, reason) + 1)
            return False
        return True

    def _neighbor_solicitation(self, d: Delivery, msg: wn.NeighborSolicitation) -> None:
        host, iface, hdr, now = self.host, d.interface, d.header, d.now
        host.nd.in_neighbor_solicitations += 1
        if not self._valid(d, checks.check_neighbor_solicitation(hdr, msg)):
            return
        nte = iface.addresses.get(msg.target)
        if nte is None:
            # Mobile IPv6 hook (RFC 6275 §10.4.1): a home agent answers for home addresses.
            if host.home_agent is not None and host.home_agent.proxy_solicitation(d, msg):
                return
            host.nd.not_for_us_drop += 1  # RFC 4861 §7.2.3: target is not one of ours
            return
        if hdr.src.is_unspecified:
            if iface.addresses.in_dad(msg.target):
                # RFC 4862 §5.4.3: someone else is doing DAD for our tentative address;
                # RFC 4429 §3.3: for an optimistic one too, not answered but a duplicate.
                self.apply_address_actions(
                    iface, iface.addresses.on_dad_solicitation(msg.target, now), now
                )
            elif nte.usable:
                # RFC 4861 §7.2.4: answer DAD for an address in use: S=0, to all-nodes.
                self.send_neighbor_advertisement(
                    iface, wire_ipv6.ALL_NODES, msg.target, solicited=False, now=now
                )
            return
        if not nte.usable:
            return  # RFC 4862 §5.4.3: not yet ours to answer for
        lla = checks.source_link_address(msg)
        link_address = None
        if lla is not None:
            link_address = iface.link.read_lla_option(lla)
            if link_address is not None:
                self.apply_neighbor_actions(
                    iface, iface.neighbors.on_neighbor_solicitation(hdr.src, link_address, now), now
                )
        # RFC 4861 §7.2.4: a solicited advertisement, Override set (not an anycast address).
        # When the cache had no room for the soliciting neighbor (RFC 6583 §7.1: entries in
        # use are not evicted for it), the advertisement goes to its Source Link-Layer
        # Address as is, instead of starting address resolution for it.
        direct = link_address if iface.neighbors.get(hdr.src) is None else None
        self.send_neighbor_advertisement(
            iface, hdr.src, msg.target, solicited=True, now=now, link_address=direct
        )

    def send_neighbor_advertisement(
        self,
        iface: Interface,
        dst: IPv6Address,
        target: IPv6Address,
        solicited: bool,
        now: float,
        link_address: bytes | None = None,
    ) -> None:
        msg = wn.NeighborAdvertisement(
            target,
            router=self.host.forwarding,
            solicited=solicited,
            # RFC 4429 §2.2: "clearing the 'Override' flag in Neighbor Advertisements for
            # Optimistic Addresses", so that the rightful owner's entries stay as they are.
            override=not self._optimistic(iface, target),
            options=self._own_lla_option(iface, wn.TargetLinkLayerAddress),
        )
        self.host.nd.out_neighbor_advertisements += 1
        self.send_nd(iface, target, dst, msg, now, link_address=link_address)

    def _neighbor_advertisement(self, d: Delivery, msg: wn.NeighborAdvertisement) -> None:
        host, iface, hdr, now = self.host, d.interface, d.header, d.now
        host.nd.in_neighbor_advertisements += 1
        if not self._valid(d, checks.check_neighbor_advertisement(hdr, msg)):
            return
        if iface.addresses.get(msg.target) is not None:
            # RFC 4862 §5.4.4: an NA for a tentative address of ours: a duplicate. For an
            # address in use it is a conflict to report, not to act on.
            self.apply_address_actions(
                iface, iface.addresses.on_neighbor_advertisement(msg.target, now), now
            )
            return
        if host.home_agent is not None:  # Mobile IPv6 hook: DAD on behalf (RFC 6275 §10.3.1)
            host.home_agent.neighbor_advertisement(iface, msg.target)
        raw = checks.target_link_address(msg)
        lla = iface.link.read_lla_option(raw) if raw is not None else None
        actions = iface.neighbors.on_neighbor_advertisement(
            msg.target, lla, msg.router, msg.solicited, msg.override, now
        )
        self.apply_neighbor_actions(iface, actions, now)

    def _router_solicitation(self, d: Delivery, msg: wn.RouterSolicitation) -> None:
        self.host.nd.in_router_solicitations += 1
        if not self._valid(d, checks.check_router_solicitation(d.header, msg)):
            return
        if self.host.router is None:
            self.host.nd.rs_ignored_as_host += 1  # RFC 4861 §6.2.6: hosts silently discard RSs
            return
        self.host.router.on_router_solicitation(d, msg)

    def _router_advertisement(self, d: Delivery, msg: wn.RouterAdvertisement) -> None:
        host, iface, hdr, now = self.host, d.interface, d.header, d.now
        host.nd.in_router_advertisements += 1
        if not self._valid(d, checks.check_router_advertisement(hdr, msg)):
            return
        if host.forwarding:
            host.nd.ra_ignored_as_router += 1
            return
        params = iface.params
        # RFC 4861 §6.3.4: non-zero values update the host variables.
        if msg.cur_hop_limit:
            params.cur_hop_limit = msg.cur_hop_limit
        if msg.reachable_time and msg.reachable_time / 1000 != params.base_reachable_time:
            params.base_reachable_time = msg.reachable_time / 1000
            params.rerandomize_reachable_time(host.rng)
        if msg.retrans_timer:
            params.retrans_timer = msg.retrans_timer / 1000
        iface.solicitor.on_router_advertisement(now)
        raw = checks.source_link_address(msg)
        link_address = iface.link.read_lla_option(raw) if raw is not None else None
        # RFC 4861 §6.3.4: the router's entry records its address (if given) and IsRouter = TRUE.
        actions = iface.neighbors.on_router_message_lla(hdr.src, link_address, now, is_router=True)
        self.apply_neighbor_actions(iface, actions, now)
        host.routes.on_router_advertisement(iface, hdr.src, msg.router_lifetime, now)
        iid = iface.link.interface_identifier()
        for opt in msg.options:
            if isinstance(opt, wn.Mtu):
                # RFC 4861 §6.3.4: accept an MTU between the minimum and the link's maximum.
                if wire_ipv6.MIN_MTU <= opt.mtu <= iface.link.mtu:
                    params.link_mtu = opt.mtu
            elif isinstance(opt, wn.PrefixInformation):
                host.routes.on_prefix_information(
                    iface,
                    opt.prefix,
                    opt.prefix_length,
                    opt.on_link,
                    ad.lifetime_seconds(opt.valid_lifetime),
                    now,
                )
                if not iface.autoconfigure:
                    continue  # configured by hand: no addresses from advertisements
                actions2 = iface.addresses.on_prefix_information(
                    opt.prefix,
                    opt.prefix_length,
                    opt.autonomous,
                    opt.valid_lifetime,
                    opt.preferred_lifetime,
                    iid,
                    now,
                    from_multicast_ra=hdr.dst.is_multicast,
                )
                self.apply_address_actions(iface, actions2, now)
            elif isinstance(opt, wn.Rdnss):
                iface.dns_servers = list(opt.servers)[:3]  # RFC 8106 §5.3.1: keep a few
        if host.mobile_node is not None:
            # Mobile IPv6 hook (RFC 6275 §11.5.1): movement detection.
            host.mobile_node.router_advertisement(iface, hdr.src, msg, now)

    def _redirect(self, d: Delivery, msg: wn.Redirect) -> None:
        host, iface, hdr, now = self.host, d.interface, d.header, d.now
        host.nd.in_redirects += 1
        if not self._valid(d, checks.check_redirect(hdr, msg)):
            return
        if not host.routes.on_redirect(iface, hdr.src, msg.target, msg.destination, now):
            host.nd.redirect_not_from_first_hop_drop += 1
            return
        raw = checks.target_link_address(msg)
        lla = iface.link.read_lla_option(raw) if raw is not None else None
        if lla is not None:
            # RFC 4861 §8.3: the target's entry gets the link-layer address and becomes STALE; a
            # target other than the destination is a router.
            is_router = True if msg.target != msg.destination else None
            actions = iface.neighbors.on_router_message_lla(
                msg.target, lla, now, is_router=is_router
            )
            self.apply_neighbor_actions(iface, actions, now)
