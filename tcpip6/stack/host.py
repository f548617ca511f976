"""The Host: interfaces, the protocol switch table, the receive and send paths, timers.

Sans-I/O and deterministic (docs/architecture.md): the host is driven from outside::

    host.receive(interface, frame, now)   # a frame arrived
    host.poll(now) -> float | None        # run due timers; the next deadline
    # out: interface.link.transmit(packet, dst_link)

It never reads a clock or touches a socket; randomness comes from the ``random.Random``
it is given. Bad input never raises out of :meth:`Host.receive`: a malformed packet is
dropped and counted, and answered with an ICMPv6 error where RFC 8200 / RFC 4443 say so.
"""

from __future__ import annotations

import logging
import random
from collections import deque
from collections.abc import Callable
from ipaddress import IPv6Address
from typing import TYPE_CHECKING, Any, Protocol

from tcpip6.stack import address_selection
from tcpip6.stack.counters import Icmpv6Counters, Ipv6Counters, NdCounters
from tcpip6.stack.events import EventLog, HostEvent
from tcpip6.stack.icmpv6 import Icmpv6
from tcpip6.stack.interface import Interface
from tcpip6.stack.ipsec import Ipsec
from tcpip6.stack.ipv6 import ControlHandler, ControlMessage, Delivery, Ipv6Layer, ProtocolHandler
from tcpip6.stack.link import LinkLayer
from tcpip6.stack.machines.graph import TraceSink
from tcpip6.stack.machines.nce import NceState
from tcpip6.stack.machines.router_solicitation import GRAPH as RS_GRAPH
from tcpip6.stack.mld_host import MldHost
from tcpip6.stack.nd import NeighborDiscovery
from tcpip6.stack.params import MAX_RTR_SOLICITATION_DELAY, InterfaceParameters
from tcpip6.stack.routing import NextHopReason, Routes
from tcpip6.stack.tcp import Tcp
from tcpip6.stack.timers import DeadlineQueue, earliest
from tcpip6.stack.udp import Udp
from tcpip6.wire import WireError
from tcpip6.wire import ext as wire_ext
from tcpip6.wire import icmpv6 as wire_icmp
from tcpip6.wire import ipv6 as wire_ipv6
from tcpip6.wire.ipv6 import Ipv6Header

if TYPE_CHECKING:
    from tcpip6.stack.mobility.correspondent import CorrespondentNode
    from tcpip6.stack.mobility.home_agent import HomeAgent
    from tcpip6.stack.mobility.mobile_node import MobileNode
    from tcpip6.stack.router import Router
    from tcpip6.stack.translate.hook import Translator

log = logging.getLogger("tcpip6.host")


def _interface_mtu(iface: Interface) -> int:
    return iface.mtu


class RawEndpoint(Protocol):
    """What a raw socket is to the core (RFC 3542 §3): it takes a copy of each packet of
    its Next Header value. The socket API above the core (``tcpip6.api``) implements it."""

    def deliver_raw(self, d: Delivery) -> None: ...


#: Packets looped back to ourselves wait here until the current call completes.
LOOPBACK_QUEUE_LIMIT = 64


class Host:
    """An IPv6 host."""

    def __init__(self, name: str = "host", rng: random.Random | None = None) -> None:
        self.name = name
        self.rng = rng if rng is not None else random.Random(0)
        self.interfaces: list[Interface] = []
        self.ip = Ipv6Counters()
        self.icmp = Icmpv6Counters()
        self.nd = NdCounters()
        self.events = EventLog()
        #: The protocol switch table: next header value -> handler (MSR IPv6 §3.3).
        self.protocols: dict[int, ProtocolHandler] = {}
        #: Its control-message entries: ICMPv6 errors about what each protocol sent.
        self.control_handlers: dict[int, ControlHandler] = {}
        #: Raise internal errors instead of counting them (tests turn this on).
        self.strict = False
        self.internal_errors = 0
        self.now = 0.0
        self._trace_sink: TraceSink | None = None
        #: Router mode (:class:`~tcpip6.stack.router.Router`) forwards between interfaces;
        #: a host never forwards.
        self.forwarding = False
        self.router: Router | None = None
        # -- IPv4/IPv6 translation (stack/translate/hook.py): translators that take the
        # packets a router would forward to their IPv6 destinations.
        self.translators: list[Translator] = []
        self.log = log
        self.ipv6 = Ipv6Layer(self)
        self.icmpv6 = Icmpv6(self)
        self.register_protocol(wire_ipv6.IPPROTO_ICMPV6, self.icmpv6.receive)
        # -- IPsec (RFC 4301): AH and ESP in the protocol switch table.
        self.ipsec = Ipsec(self)
        self.register_protocol(wire_ipv6.IPPROTO_ESP, self.ipsec.receive_esp)
        self.register_protocol(wire_ipv6.IPPROTO_AH, self.ipsec.receive_ah)
        #: Raw sockets by Next Header value (RFC 3542 §3).
        self.raw_sockets: dict[int, list[RawEndpoint]] = {}
        self.udp = Udp(self)
        self.tcp = Tcp(self)
        #: Prefix List, Default Router List, static routes, Destination Cache (RFC 4861 §5.1).
        self.routes: Routes[Interface] = Routes(
            self._reachability, _interface_mtu, default_zone=self._default_zone
        )
        self.nd_module = NeighborDiscovery(self)
        self.mld_module = MldHost(self)
        self._loopback: deque[tuple[Interface, bytes]] = deque()
        self._in_call = False
        #: Mobile IPv6 (RFC 6275 §9): set by ``mobility.correspondent.enable_correspondent``.
        self.mobility: CorrespondentNode | None = None
        #: RFC 6275 §10 / RFC 6275 §11: set by ``enable_home_agent`` / ``enable_mobile_node``.
        self.home_agent: HomeAgent | None = None
        self.mobile_node: MobileNode | None = None
        # What next_deadline takes the earliest of, found once (rebuilt when an interface
        # comes or goes), since a simulated network asks after every frame. The timer
        # queues that seldom change (routes, reassembly, and per interface neighbors,
        # addresses and MLD) count their changes in one cell: their earliest deadline is
        # kept until the count moves. The rest (TCP's timers, which change with nearly
        # every segment; IPsec; each router solicitor's timer) are asked every time.
        self._quiet_queues: tuple[DeadlineQueue[Any], ...] = ()
        self._quiet_changes = [0]
        self._quiet_seen = -1
        self._quiet_best: float | None = None
        self._deadline_sources: tuple[Callable[[], float | None], ...] = ()
        self._collect_deadline_sources()

    def _collect_deadline_sources(self) -> None:
        quiet = [*self.routes.timer_queues(), self.ipv6.reassembler.timers]
        sources: list[Callable[[], float | None]] = [
            self.tcp.timers.next_deadline,  # Tcp.next_deadline
            self.ipsec.next_deadline,  # IPsec hook
        ]
        for iface in self.interfaces:
            quiet.extend(iface.timer_queues())
            sources.append(iface.solicitor.next_deadline)
        for queue in quiet:
            queue.share_changes(self._quiet_changes)
        self._quiet_queues = tuple(quiet)
        self._deadline_sources = tuple(sources)

    def __repr__(self) -> str:
        return f"<Host {self.name}>"

    # -- configuration ----------------------------------------------------------------
    def add_interface(
        self, link: LinkLayer, name: str | None = None, params: InterfaceParameters | None = None
    ) -> Interface:
        # Indexes are never reused while the host runs (an interface may be removed).
        index = max((i.index for i in self.interfaces), default=0) + 1
        iface = Interface(self, index, name or f"if{index}", link, params)
        iface.set_trace_sink(self._trace_sink)
        # RFC 4291 §2.8: every interface listens to the all-nodes group.
        iface.join_link_group(wire_ipv6.ALL_NODES)
        iface.apply_multicast_changes()
        self.interfaces.append(iface)
        self._collect_deadline_sources()
        if self.router is not None:
            self.router.enable_interface(iface)
        return iface

    def interface(self, key: int | str) -> Interface:
        for iface in self.interfaces:
            if key in (iface.index, iface.name):
                return iface
        raise KeyError(f"no interface {key!r} on {self.name}")

    def scoped_destination(self, text: str) -> tuple[IPv6Address, Interface | None]:
        """``fe80::1%2`` or ``fe80::1%eth0`` (RFC 4007 §11): the address and the interface
        its zone names. A link-local (or link/interface-local multicast) address needs a
        zone unless the host has a single interface (the default zone, RFC 4007 §6); zone 0 is the
        default zone. ValueError, with a message for the user, on anything else."""
        address, zone = address_selection.parse_scoped(text)
        if zone is None or zone == 0:
            if address_selection.needs_zone(address) and len(self.interfaces) > 1:
                names = ", ".join(f"%{i.index} (%{i.name})" for i in self.interfaces)
                raise ValueError(f"{address} is link-local: say which interface, {names}")
            return address, None
        try:
            return address, self.interface(zone)
        except KeyError:
            raise ValueError(f"{text}: no interface {zone!r} on {self.name}") from None

    def start(self, now: float) -> None:
        """Bring every interface up: link-local address and DAD, then router solicitation
        (RFC 4862 §5.3, RFC 4861 §6.3.7)."""
        now = self._enter(now)
        try:
            for iface in self.interfaces:
                self.nd_module.start_interface(iface, now)
        finally:
            self._leave(now)

    def start_interface(self, iface: Interface, now: float) -> None:
        """Bring one interface up (added while the host runs), as :meth:`start` does."""
        self._enter(now)
        try:
            self.nd_module.start_interface(iface, now)
        finally:
            self._leave(now)

    def remove_interface(self, iface: Interface, now: float) -> None:
        """``iface`` is gone (its NIC vanished, or ``tcpip6 link del``), handled as Linux
        handles a deleted device: its addresses, groups, neighbor entries and router
        solicitation end (each leaves its graph), and its prefixes, routers, static routes and
        route cache entries are forgotten. What it would still send (MLD Done) is dropped and
        counted: the link is down.

        Sockets and connections are not closed: as on Linux, whatever is bound to the
        interface (its index) or to one of its addresses finds no route on its next send,
        ENETUNREACH for a datagram, and a TCP connection keeps that as its soft error and
        times out with it (RFC 5461 §4; ``Tcp.transmit``) unless a route comes back first:
        the same NIC added again autoconfigures the same global addresses and a connection
        through them resumes, which an abort would have made impossible."""
        if iface not in self.interfaces:
            return
        iface.link_is_up = False
        iface.removed = True
        self._enter(now)
        try:
            own = {e.address for e in iface.addresses}
            for address in sorted(own):
                actions = iface.addresses.remove(address)
                self.nd_module.apply_address_actions(iface, actions, now)
            for group in list(iface.mld.refs):
                for _ in range(iface.mld.refs[group]):
                    self.leave_group(iface, group, now)
            for address in list(iface.neighbors.entries):
                iface.neighbors.remove(address)
            RS_GRAPH.detach(iface.solicitor)
            self.routes.forget_interface(iface)
            self.routes.forget_sources()
            self.interfaces.remove(iface)
            self._collect_deadline_sources()
            self.tcp.forget_interface(iface, now)
        finally:
            self._leave(now)

    # -- link events (the live host's netlink monitor, the link control commands) ------
    def link_down(self, iface: Interface, now: float) -> None:
        """``iface`` lost its link: nothing is sent on it (dropped and counted) until
        :meth:`link_up`, and its addresses are no source for new traffic
        (:meth:`select_source`)."""
        iface.link_is_up = False
        self.routes.forget_sources()

    def link_writable(self, iface: Interface, now: float) -> None:
        """``iface``'s port has drained its transmit queue after it stopped (back-pressure,
        :mod:`tcpip6.stack.link`): the TCP connections that stopped for it send again."""
        now = self._enter(now)
        try:
            self.tcp.link_writable(iface, now)
        except Exception:
            self._internal_error("link_writable")
        finally:
            self._leave(now)

    def link_up(self, iface: Interface, now: float) -> None:
        """``iface`` is attached to a link again (perhaps another one) and so enabled again:

        - RFC 4862 §5.3, RFC 4862 §5.4: DAD runs again on every address (tentative meanwhile);
        - RFC 4861 §6.3.7: routers are solicited again, once the link-local address is
          assigned again (at once when DAD is off);
        - RFC 2710 §4: every group is reported again (unsolicited Reports), for the routers
          of this link know nothing of them;
        - RFC 6059: the neighbor entries of the default routers this interface had are kept
          and probed with unicast NSs to the link-layer addresses they had (NUD's PROBE)
          when the RS goes out: a router that answers is REACHABLE and the configuration
          learned from it (router, prefixes, addresses) stays; one that does not is removed
          when its probes run out (RFC 4861 §7.3.3) and the RS finds the routers of the new
          link. Every other dynamic entry may be another link's and is dropped, so the next
          packet to that neighbor resolves it anew; the route cache of the interface is
          flushed.
        """
        if iface.link_is_up:
            return
        iface.link_is_up = True
        self._enter(now)
        try:
            routers = {e.router for e in self.routes.default_router_list if e.interface is iface}
            probed: list[IPv6Address] = []
            for address, nce in list(iface.neighbors.entries.items()):
                if nce.state is NceState.PERMANENT:
                    continue
                if address in routers and nce.link_address is not None:
                    probed.append(address)
                    continue
                iface.neighbors.remove(address)
            iface.attachment_candidates = sorted(probed)
            self.routes.invalidate(interface=iface)
            self.routes.forget_sources()
            actions = iface.addresses.link_up(now)
            self.nd_module.apply_address_actions(iface, actions, now)
            if iface.link.uses_nd:  # RFC 2710 §4: the groups reported again on this link
                self.mld_module.apply(iface, iface.mld.link_up(now), now)
            if iface.params.dup_addr_detect_transmits == 0 and iface.autoconfigure:
                iface.solicitor.begin(now, self.rng.uniform(0.0, MAX_RTR_SOLICITATION_DELAY))
                self.nd_module.probe_attachment(iface, now)
        finally:
            self._leave(now)

    @property
    def trace_sink(self) -> TraceSink | None:
        return self._trace_sink

    @trace_sink.setter
    def trace_sink(self, sink: TraceSink | None) -> None:
        """Print (or record) every state change of every graph of this host."""
        self._trace_sink = sink
        self.ipv6.reassembler.trace_sink = sink
        self.tcp.trace_sink = sink
        for conn in self.tcp.all_connections():
            conn.trace_sink = sink
        for iface in self.interfaces:
            iface.set_trace_sink(sink)
        for sa in self.ipsec.sad.all():  # IPsec hook: the SA lifetime graph
            sa.trace_sink = sink

    def _default_zone(self) -> Interface | None:
        """RFC 4007 §6: a host with a single interface has a default zone: it."""
        return self.interfaces[0] if len(self.interfaces) == 1 else None

    def _reachability(self, iface: Interface, address: IPv6Address) -> str:
        nce = iface.neighbors.get(address)
        if nce is None:
            return "unknown"
        return "incomplete" if nce.state is NceState.INCOMPLETE else "reachable"

    def reachability_confirmed(self, dst: IPv6Address, now: float) -> None:
        """An upper-layer hint (RFC 4861 §7.3.1): traffic to ``dst`` is making forward
        progress, so its next hop is reachable."""
        rce = self.routes.cached(dst, self.interfaces)
        if rce is not None:
            rce.interface.neighbors.upper_layer_hint(rce.next_hop, now)
            return
        for iface in self.interfaces:
            iface.neighbors.upper_layer_hint(dst, now)

    def suspect_router_for(self, dst: IPv6Address, interface: Interface | None, now: float) -> bool:
        """Dead gateway detection: an upper layer sees no progress to ``dst``; if its
        route goes through a default router and another exists, pass that router over
        for a reachable time and route through the next (RFC 4861 §6.3.6)."""
        rce = self.routes.lookup(dst, interface)
        if rce is None or rce.reason is not NextHopReason.DEFAULT_ROUTER:
            return False
        hold = rce.interface.params.reachable_time
        return self.routes.suspect_router(rce.interface, rce.next_hop, now + hold)

    def join_group(self, iface: Interface, group: IPv6Address, now: float) -> None:
        """Listen to ``group`` on ``iface``: the link filter (deferred, MSR §4.4) and MLD."""
        iface.join_link_group(group)
        if iface.link.uses_nd:
            self.mld_module.apply(iface, iface.mld.join(group, now), now)
        if not self._in_call:  # outside a receive, apply at once
            iface.apply_multicast_changes()

    def leave_group(self, iface: Interface, group: IPv6Address, now: float) -> None:
        iface.leave_link_group(group)
        if iface.link.uses_nd:
            self.mld_module.apply(iface, iface.mld.leave(group, now), now)
        if not self._in_call:
            iface.apply_multicast_changes()

    def register_protocol(
        self,
        next_header: int,
        handler: ProtocolHandler,
        control: ControlHandler | None = None,
    ) -> None:
        self.protocols[next_header] = handler
        if control is not None:
            self.control_handlers[next_header] = control

    def deliver_raw(self, d: Delivery) -> bool:
        """A copy for every raw socket of the packet's protocol (RFC 3542 §3); whether
        there was any."""
        socks = self.raw_sockets.get(d.protocol)
        if not socks:
            return False  # the usual case: no raw socket of this protocol
        for sock in list(socks):
            sock.deliver_raw(d)
        return True

    def emit(self, event: HostEvent) -> None:
        self.events.push(event)

    # -- driving --------------------------------------------------------------------------
    def receive(self, iface: Interface, frame: bytes | memoryview, now: float) -> None:
        """A frame arrived on ``iface``. Never raises for bad input."""
        if now < self.now:
            now = self._enter(now)  # clamped and counted
        else:  # _enter, written out for the usual case (every frame)
            self.now = now
            self._in_call = True
        try:
            if iface.removed:  # a frame read before its interface went
                self.ip.interface_removed_drop += 1
                return
            iface.counters.frames_received += 1
            if iface.capture is not None:
                iface.capture(iface, bytes(frame), now, "in")
            received = iface.link.decapsulate(frame)
            if received is None:
                iface.counters.not_ipv6_or_not_for_us_drop += 1
                return
            self.ipv6.receive(iface, bytes(received.packet), now)
        except Exception:
            self._internal_error("receive")
        finally:
            self._leave(now)

    def poll(self, now: float) -> float | None:
        """Run every timer that is due at ``now``; return the next deadline."""
        now = self._enter(now)
        try:
            for iface in self.interfaces:
                iface.poll(now)
            self.routes.poll(now)
            self.ipv6.poll(now)  # reassembly timeouts (RFC 8200 §4.5)
            self.tcp.poll(now)
            self.ipsec.poll(now)  # IPsec hook: SA lifetimes (RFC 4301 §4.4.2.1)
            if self.router is not None:
                self.router.poll(now)
            for translator in self.translators:  # stack/translate/hook.py
                translator.poll(now)
            if self.mobility is not None:  # RFC 6275 §9.1, RFC 6275 §9.5.5: expiry, refreshes
                self.mobility.poll(now)
            if self.home_agent is not None:  # RFC 6275 §10: DAD on behalf, expiry
                self.home_agent.poll(now)
            if self.mobile_node is not None:  # RFC 6275 §11: Binding Update List timers
                self.mobile_node.poll(now)
        except Exception:
            self._internal_error("poll")
        finally:
            self._leave(now)
        return self.next_deadline()

    def next_deadline(self) -> float | None:
        # earliest_of, written out: a simulated network asks after every frame.
        changes = self._quiet_changes[0]
        if changes != self._quiet_seen:
            best: float | None = None
            for queue in self._quiet_queues:
                at = queue.next_deadline()
                if at is not None and (best is None or at < best):
                    best = at
            self._quiet_best = best
            self._quiet_seen = changes
        best = self._quiet_best
        for source in self._deadline_sources:
            at = source()
            if at is not None and (best is None or at < best):
                best = at
        if self.router is not None:
            best = earliest(best, self.router.next_deadline())
        for translator in self.translators:  # stack/translate/hook.py
            best = earliest(best, translator.next_deadline())
        if self.mobility is not None:
            best = earliest(best, self.mobility.next_deadline())
        if self.home_agent is not None:
            best = earliest(best, self.home_agent.next_deadline())
        if self.mobile_node is not None:
            best = earliest(best, self.mobile_node.next_deadline())
        if self._loopback and (best is None or self.now < best):
            best = self.now
        return best

    def _internal_error(self, where: str) -> None:
        self.internal_errors += 1
        log.exception("%s: internal error in %s", self.name, where)
        if self.strict:
            raise

    def _enter(self, now: float) -> float:
        """Start a call into the core at ``now``; the time the call runs at. The core's
        clock never runs backwards: a ``now`` older than one an earlier call brought (a
        live driver hands a whole batch of frames the time it read them, after calls that
        ran later) is taken as that earlier time, and counted. Timers, RTT samples and
        TCP timestamps (RFC 7323 §5.4: a monotone clock) all read this time."""
        if now < self.now:
            self.ip.clock_backwards_clamped += 1
            now = self.now
        self.now = now
        self._in_call = True
        return now

    def _leave(self, now: float) -> None:
        self._in_call = False
        # Packets we sent to ourselves are received now, outside the call that sent them.
        budget = LOOPBACK_QUEUE_LIMIT
        while self._loopback and budget:
            budget -= 1
            iface, packet = self._loopback.popleft()
            self._in_call = True
            try:
                self.ipv6.receive(iface, packet, now)
            except Exception:
                self._internal_error("loopback")
            finally:
                self._in_call = False
        # MSR IPv6 §4.4: multicast list changes are applied after the receive completes.
        for iface in self.interfaces:
            if iface.multicast_changed:  # (asked without a call: after every frame)
                iface.apply_multicast_changes()

    def loop_back(self, iface: Interface, packet: bytes) -> None:
        if len(self._loopback) >= LOOPBACK_QUEUE_LIMIT:
            self.ip.loopback_queue_full_drop += 1
            return
        self._loopback.append((iface, packet))

    # -- addresses and routes (used by the IPv6 and ICMPv6 layers) -------------------------
    def accepts_destination(self, iface: Interface, dst: IPv6Address) -> bool:
        if wire_ipv6.is_multicast(dst):
            return dst == wire_ipv6.ALL_NODES or iface.in_group(dst)
        if iface.link.kind == "loopback":
            # What comes in on loopback we sent to one of our own addresses.
            return self.local_interface_for(dst) is not None
        if self.mobile_node is None:  # is_local_unicast, one call nearer (every packet)
            return iface.addresses.receives(dst)
        return self.is_local_unicast(iface, dst)

    def loopback_interface(self) -> Interface | None:
        return next((i for i in self.interfaces if i.link.kind == "loopback"), None)

    def is_local_unicast(self, iface: Interface, dst: IPv6Address) -> bool:
        if self.mobile_node is not None and self.mobile_node.away_from(dst):
            return True  # RFC 6275 §11.3.3: the home address stays ours away from home
        return iface.addresses.receives(dst)  # iface.is_receive_address, on every packet

    def local_interface_for(self, dst: IPv6Address) -> Interface | None:
        for iface in self.interfaces:
            # iface.addresses.receives(dst) (is_receive_address), written out: asked twice
            # for every packet sent. Only an assigned address receives (RFC 4862 §5.4).
            table = iface.addresses
            nte = table.entries.get(dst)
            if nte is not None:
                if nte.usable:
                    return iface
            elif dst in table.anycast:
                return iface
        return None

    def route(
        self, dst: IPv6Address, interface: Interface | None, now: float
    ) -> tuple[Interface, IPv6Address] | None:
        """Next-hop determination (RFC 4861 §5.2): the interface and the next hop."""
        local = self.local_interface_for(dst)
        if local is not None:
            return local, dst
        if interface is not None and interface.removed:
            return None  # bound to an interface that is gone: no route (ENETUNREACH)
        rce = self.routes.route(dst, interface, now)  # routes.next_hop, one call nearer
        return None if rce is None else (rce.interface, rce.next_hop)

    def route_with_source(
        self,
        dst: IPv6Address,
        interface: Interface | None,
        src: IPv6Address | None,
        now: float,
    ) -> tuple[Interface, IPv6Address, IPv6Address] | None:
        """What every sender needs before it can build a checksum: the interface and next
        hop (RFC 4861 §5.2), and the source (``src`` when the sender fixed one, else RFC
        6724). None, counted as no route or no source, when there is none."""
        route = self.route(dst, interface, now)
        if route is None:
            self.ip.no_route_drop += 1
            return None
        iface, next_hop = route
        if src is None or src.is_unspecified:
            src = self.select_source(iface, dst)
            if src is None:
                self.ip.no_source_drop += 1
                return None
        return iface, next_hop, src

    def select_source(self, iface: Interface, dst: IPv6Address) -> IPv6Address | None:
        """RFC 6724 §5: the source for ``dst`` among the addresses of ``iface``, the outgoing
        interface (RFC 6724 §4: the RECOMMENDED candidate set). Only assigned addresses are
        candidates, never a tentative one (RFC 4862 §5.4); None when there is none."""
        # MSR IPv6 keeps the preferred source in the route cache entry: selection runs once
        # per destination, again only after the addresses change (forget_sources).
        if not iface.link_is_up and self.local_interface_for(dst) is None:
            # A link that is down (or gone) offers no source address: its addresses stay
            # configured, but nothing new starts from them until the link is back.
            self.ip.link_down_no_source += 1
            return None
        rce = self.routes.lookup(dst, iface)
        if rce is not None and rce.preferred_source is not None:
            return rce.preferred_source
        chosen = address_selection.select_source(
            dst, iface.source_entries(), outgoing_interface=iface.index
        )
        if chosen is None:
            return None
        if rce is not None:
            rce.preferred_source = chosen.address
        return chosen.address

    def not_for_us(self, iface: Interface, hdr: Ipv6Header, packet: bytes, now: float) -> None:
        # -- IPv4/IPv6 translation hook (stack/translate/hook.py)
        for translator in self.translators:
            if self.router is not None and translator.claims(hdr.dst):
                translator.from_v6(iface, packet, now)
                return
        # Mobile IPv6 hook (RFC 6275 §10.4.1): a home agent tunnels what is for a bound
        # home address to its care-of address.
        if self.home_agent is not None and self.home_agent.intercept(iface, hdr, packet, now):
            return
        if self.router is not None:
            self.router.forward(iface, hdr, packet, now)
            return
        self.ip.destination_not_ours_drop += 1

    def icmp_error_received(self, d: Delivery, msg: wire_icmp.ErrorMessage) -> None:
        """An ICMPv6 error arrived: a Packet Too Big lowers the path MTU (RFC 8201 §4), and
        the error goes to the upper layer that sent the offending packet (RFC 4443 §2.4
        (d): the upper-layer protocol is found from the quoted packet)."""
        try:
            invoking = Ipv6Header.parse(msg.invoking)
            chain = wire_ext.walk(invoking.next_header, msg.invoking[Ipv6Header.HEADER_LEN :])
        except WireError:
            self.icmp.error_invoking_malformed_drop += 1
            return
        if self.local_interface_for(invoking.src) is None:
            # Not about a packet of ours (RFC 8201 §5.2 asks for this check, against
            # forged Packet Too Big messages): nothing to act on.
            self.icmp.error_not_about_our_packet_drop += 1
            return
        if isinstance(msg, wire_icmp.PacketTooBig):
            # RFC 4007 §6: a zoned destination's RCE is the one on the arrival link.
            zone = self.routes.zone(invoking.dst, d.interface)
            self.routes.on_packet_too_big(invoking.dst, msg.mtu, d.now, zone)
        upper_nh, upper_off, _ = chain[-1]
        handler = self.control_handlers.get(upper_nh)
        if handler is not None:
            start = Ipv6Header.HEADER_LEN + upper_off
            handler(
                ControlMessage(
                    d.interface,
                    d.now,
                    d.header.src,
                    msg,
                    invoking,
                    msg.invoking[start:],
                    upper_nh,
                )
            )
