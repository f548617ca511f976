"""The mobile node of Mobile IPv6 (RFC 6275 §11): home registration and the reverse tunnel.

What it does, section by section of RFC 6275:

* RFC 6275 §11.5.1: movement detection from Router Advertisements: an advertisement from
  a router that is not the current default router, without the home prefix, means a new
  link. What the host knew of the old link (its default router, its on-link prefixes and
  the addresses formed from them) is forgotten at once rather than left to time out;
* RFC 6275 §11.5.1: NUD of the default router as a hint: when it fails, routers are
  solicited at once (the answer, from a new router, is the movement);
* RFC 6275 §11.5.1, RFC 4862: the care-of address is the address stateless
  autoconfiguration forms from the new link's prefix, used once its DAD has passed;
* RFC 6275 §11.1: the Binding Update List entry of the home agent (a model of the
  ``registration`` graph, :mod:`tcpip6.stack.machines.registration`);
* RFC 6275 §11.7.1: a Binding Update with the H and A flags, from the care-of address with
  the home address in a Home Address option, for each new care-of address and before the
  acknowledged lifetime ends; RFC 6275 §11.8: retransmitted after
  INITIAL_BINDACK_TIMEOUT (the first registration: INITIAL_BINDACK_TIMEOUT_FIRST_REG),
  doubled each time up to MAX_BINDACK_TIMEOUT, each with a new Sequence Number;
* RFC 6275 §11.7.3: Binding Acknowledgements matched by Sequence Number; status 135 makes
  the node take the home agent's number and send again;
* RFC 6275 §11.3.1: away from home, packets from the home address go to the home agent in
  an IPv6-in-IPv6 tunnel (RFC 2473); RFC 6275 §11.3.3: packets tunnelled by the home agent
  to the care-of address are decapsulated and received as sent to the home address, which
  stays the node's own (sockets bound to it carry on across moves);
* RFC 6275 §11.5.5: back on the home link, a Binding Update with lifetime 0 from the home
  address; the home address is configured again without DAD (the home agent defends it
  until the deregistration), and once acknowledged a Neighbor Advertisement (Override set)
  tells the home link's nodes the address is here again.

* RFC 6275 §11.6, RFC 6275 §11.7.2: with ``route_optimisation``, return routability and
  Binding Updates with the correspondents it sends to, and route-optimised packets to them
  (:mod:`tcpip6.stack.mobility.route_optimisation`).

* RFC 6275 §11.4.1: with no home agent address given, Dynamic Home Agent Address
  Discovery from the care-of address to the Home-Agents anycast address of the home
  prefix, retried after INITIAL_DHAAD_TIMEOUT doubling, DHAAD_RETRIES times; the first
  address of the reply becomes the home agent.

Not done, and so documented: mobile prefix discovery from the mobile node's side
(RFC 6275 §11.4.2, RFC 6275 §11.4.3: the home agent answers, the node does not ask).
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv6Address, IPv6Network
from typing import TYPE_CHECKING

from tcpip6.stack.counters import CounterSet
from tcpip6.stack.machines.graph import TraceSink
from tcpip6.stack.machines.registration import GRAPH, RegistrationState
from tcpip6.stack.mobility import tunnel6
from tcpip6.stack.mobility.binding_update_list import granted_expiry, refresh_time
from tcpip6.stack.mobility.route_optimisation import RouteOptimisation
from tcpip6.wire import WireError
from tcpip6.wire import icmpv6 as wire_icmp
from tcpip6.wire import ipv6 as wire_ipv6
from tcpip6.wire import mobility as wire_mh
from tcpip6.wire import nd as wn
from tcpip6.wire.errors import ChecksumError
from tcpip6.wire.ipv6 import Ipv6Header

if TYPE_CHECKING:
    from tcpip6.stack.host import Host
    from tcpip6.stack.interface import Interface
    from tcpip6.stack.ipv6 import ControlMessage, Delivery

#: RFC 6275 §13: protocol constants and configuration variables, in seconds.
INITIAL_BINDACK_TIMEOUT = 1.0
INITIAL_BINDACK_TIMEOUT_FIRST_REG = 1.5
MAX_BINDACK_TIMEOUT = 32.0
#: RFC 6275 §12: Dynamic Home Agent Address Discovery's first wait and its retries.
INITIAL_DHAAD_TIMEOUT = 3.0
DHAAD_RETRIES = 4
#: The lifetime this node asks of its home agent, in seconds (a multiple of 4).
HOME_REGISTRATION_LIFETIME = 600
#: RFC 6275 §11.7.1 leaves the moment of a refresh to the node: here when this much of the
#: acknowledged lifetime (or half of it, if shorter) is left.
REFRESH_LEAD_TIME = 60.0
_PENDING = (
    RegistrationState.REGISTERING,
    RegistrationState.REFRESHING,
    RegistrationState.DEREGISTERING,
)


@dataclass
class MobileNodeCounters(CounterSet):
    """What the mobile node did (each drop counted once)."""

    movements: int = 0  # RFC 6275 §11.5.1: new default router without the home prefix
    nud_movement_hints: int = 0  # RFC 6275 §11.5.1: the default router became unreachable
    returned_home: int = 0
    bu_sent: int = 0
    bu_retransmitted: int = 0
    ba_received: int = 0
    ba_accepted: int = 0
    ba_rejected: int = 0
    ba_sequence_resync: int = 0  # status 135
    ba_unmatched_drop: int = 0  # RFC 6275 §11.7.3: silently discarded
    mh_not_from_home_agent_drop: int = 0
    mh_malformed_drop: int = 0
    mh_checksum_drop: int = 0
    mh_ignored: int = 0  # messages a mobile node here does not act on
    brr_received: int = 0
    bindings_expired: int = 0
    reverse_tunnelled: int = 0
    no_care_of_drop: int = 0  # from the home address before the new link's care-of address
    no_home_agent_drop: int = 0  # from the home address before discovery found the agent
    dhaad_requests_sent: int = 0  # RFC 6275 §11.4.1
    dhaad_replies_accepted: int = 0
    dhaad_unmatched_drop: int = 0  # no request outstanding with that Identifier
    dhaad_malformed_drop: int = 0
    dhaad_gave_up: int = 0  # DHAAD_RETRIES requests unanswered


class BindingUpdateListEntry:
    """RFC 6275 §11.1: the peer (here the home agent), the home address, the care-of
    address sent, the requested lifetime, when the acknowledged one ends, the largest
    Sequence Number sent, when the last Binding Update went out and the retransmission
    state (RFC 6275 §11.8)."""

    def __init__(
        self, peer: IPv6Address, home_address: IPv6Address, sequence: int, label: str = ""
    ) -> None:
        self.peer = peer
        self.home_address = home_address
        self.care_of_address: IPv6Address | None = None
        self.lifetime = 0  # requested, seconds
        self.expires: float | None = None  # the acknowledged binding's end
        self.sequence_number = sequence
        self.last_sent: float | None = None
        self.timeout = INITIAL_BINDACK_TIMEOUT
        self.retransmit_at: float | None = None
        self.state: RegistrationState
        self.trace_label = f"{label}{home_address}"
        self.trace_sink: TraceSink | None = None
        GRAPH.attach(self)

    @property
    def refresh_at(self) -> float | None:
        return refresh_time(self.expires, self.last_sent, REFRESH_LEAD_TIME)

    def __repr__(self) -> str:
        return (
            f"<BindingUpdateListEntry {self.home_address} -> {self.care_of_address} "
            f"at {self.peer} seq {self.sequence_number} {self.state.name}>"
        )


class MobileNode:
    """RFC 6275 §11 for one host with one interface that moves."""

    def __init__(
        self,
        host: Host,
        interface: Interface,
        home_address: IPv6Address,
        home_prefix: IPv6Network,
        home_agent: IPv6Address | None,
        lifetime: int = HOME_REGISTRATION_LIFETIME,
        route_optimisation: bool = False,
    ) -> None:
        self.host = host
        self.interface = interface
        self.home_address = home_address
        self.home_prefix = home_prefix
        #: RFC 6275 §11.4.1: with no agent given, the Home-Agents anycast address stands in
        #: until discovery answers (nothing but the discovery request goes to it).
        self.agent_known = home_agent is not None
        if home_agent is None:
            home_agent = wire_mh.home_agents_anycast(home_prefix.network_address)
        self.home_agent: IPv6Address = home_agent
        #: The outstanding discovery request: its Identifier, when it is sent again, how
        #: many went out, and the wait.
        self.dhaad_identifier: int | None = None
        self.dhaad_at: float | None = None
        self.dhaad_tries = 0
        self.dhaad_timeout = INITIAL_DHAAD_TIMEOUT
        self.lifetime = lifetime
        self.counters = MobileNodeCounters()
        self.tunnel = tunnel6.TunnelCounters()
        # RFC 6275 §11.7.1: the first Sequence Number may be any; a random one here.
        self.entry = BindingUpdateListEntry(
            home_agent, home_address, host.rng.getrandbits(16), label=f"{host.name} "
        )
        self.entry.trace_sink = host.trace_sink
        self.at_home = True
        #: The current default router and the prefixes it advertised (RFC 6275 §11.5.1).
        self.router: IPv6Address | None = None
        self.link_prefixes: set[IPv6Network] = set()
        #: Away from home and waiting for a care-of address to finish DAD.
        self.want_care_of = False
        #: RFC 6275 §11.7.2: the correspondents' entries, when route optimisation is on.
        self.ro: RouteOptimisation | None = RouteOptimisation(self) if route_optimisation else None

    @property
    def care_of_address(self) -> IPv6Address | None:
        return None if self.at_home else self.entry.care_of_address

    def away_from(self, address: IPv6Address) -> bool:
        """Whether ``address`` is the home address and the node is away from home (it
        stays the node's own, RFC 6275 §11.3.3)."""
        return not self.at_home and address == self.home_address

    # -- movement detection (RFC 6275 §11.5.1) ------------------------------------------
    def router_advertisement(
        self, iface: Interface, router: IPv6Address, msg: wn.RouterAdvertisement, now: float
    ) -> None:
        if iface is not self.interface or msg.router_lifetime == 0:
            return
        prefixes = {
            IPv6Network((o.prefix, o.prefix_length), strict=False)
            for o in msg.options
            if isinstance(o, wn.PrefixInformation) and o.on_link
        }
        if self.home_prefix in prefixes:
            if not self.at_home:
                self._returned_home(router, prefixes, now)
            else:
                self.router, self.link_prefixes = router, prefixes
            return
        if router == self.router:
            self.link_prefixes |= prefixes
            return
        # RFC 6275 §11.5.1: a new default router and no home prefix: a new link.
        self.counters.movements += 1
        self._forget_link(prefixes, now)
        self.at_home = False
        self.router, self.link_prefixes = router, prefixes
        self.want_care_of = True
        self._try_register(now)

    def neighbor_unreachable(self, iface: Interface, target: IPv6Address, now: float) -> None:
        """RFC 6275 §11.5.1: "the mobile node MAY use ... Neighbor Unreachability Detection
        ... of its default router": it failed, so the node may have moved; movement
        detection starts with a Router Solicitation now rather than waiting for the next
        unsolicited advertisement. An answer from a new router without the home prefix
        is a movement (:meth:`router_advertisement`); one from this router means it is
        still here."""
        if iface is not self.interface or target != self.router:
            return
        self.counters.nud_movement_hints += 1
        iface.solicitor.begin(now, 0.0)

    def _forget_link(self, keep: set[IPv6Network], now: float) -> None:
        """The old link's default router, prefixes and addresses are gone."""
        iface, host = self.interface, self.host
        if self.router is not None:
            host.routes.on_router_advertisement(iface, self.router, 0, now)
        for prefix in self.link_prefixes - keep:
            host.routes.remove_on_link_prefix(iface, prefix)
            for nte in list(iface.addresses):
                if nte.address in prefix:
                    actions = iface.addresses.remove(nte.address)
                    host.nd_module.apply_address_actions(iface, actions, now)
        host.routes.forget_sources()

    def _returned_home(self, router: IPv6Address, prefixes: set[IPv6Network], now: float) -> None:
        self.counters.returned_home += 1
        self._forget_link(prefixes, now)
        self.at_home = True
        self.want_care_of = False
        self.router, self.link_prefixes = router, prefixes
        iface = self.interface
        # RFC 6275 §11.5.5: the home address is the node's again at once, without DAD: the
        # home agent defends it until it has processed the deregistration.
        saved = iface.params.dup_addr_detect_transmits
        iface.params.dup_addr_detect_transmits = 0
        try:
            iface.add_static_address(self.home_address, self.home_prefix.prefixlen, now)
        finally:
            iface.params.dup_addr_detect_transmits = saved
        self.deregister(now)
        if self.ro is not None:
            self.ro.returned_home(now)

    # -- registration (RFC 6275 §11.7.1, RFC 6275 §11.8) ---------------------------------
    def _usable_care_of(self) -> IPv6Address | None:
        for entry in self.interface.addresses.source_candidates():
            if any(entry.address in p for p in self.link_prefixes):
                return entry.address
        return None

    def _try_register(self, now: float) -> None:
        if not self.want_care_of:
            return
        care_of = self._usable_care_of()
        if care_of is None:
            return  # RFC 4862 §5.4: not before DAD passed
        if not self.agent_known:
            if self.dhaad_identifier is None:
                self.dhaad_tries, self.dhaad_timeout = 0, INITIAL_DHAAD_TIMEOUT
                self.dhaad_identifier = self.host.rng.getrandbits(16)
                self._send_dhaad_request(care_of, now)
            return
        self.want_care_of = False
        self.register(care_of, now)

    # -- Dynamic Home Agent Address Discovery (RFC 6275 §11.4.1) ----------------------------
    def _send_dhaad_request(self, care_of: IPv6Address, now: float) -> None:
        """From the care-of address to the Home-Agents anycast address."""
        assert self.dhaad_identifier is not None
        anycast = wire_mh.home_agents_anycast(self.home_prefix.network_address)
        raw = wire_mh.HaadRequest(self.dhaad_identifier).build(care_of, anycast)
        self.dhaad_tries += 1
        self.dhaad_at = now + self.dhaad_timeout
        self.counters.dhaad_requests_sent += 1
        self.host.ipv6.send(anycast, wire_ipv6.IPPROTO_ICMPV6, raw, now, src=care_of)

    def haad_reply(self, d: Delivery, _msg: object) -> None:
        """RFC 6275 §11.4.1: the reply to the outstanding request names the home agents,
        most preferred first; the first on the home prefix is taken."""
        c = self.counters
        try:
            reply = wire_mh.HaadReply.parse(d.payload, d.header.src, d.header.dst)
        except WireError:
            c.dhaad_malformed_drop += 1
            return
        agent = next((a for a in reply.home_agents if a in self.home_prefix), None)
        if reply.identifier != self.dhaad_identifier or agent is None:
            c.dhaad_unmatched_drop += 1
            return
        c.dhaad_replies_accepted += 1
        self.dhaad_identifier = self.dhaad_at = None
        self.home_agent = self.entry.peer = agent
        self.agent_known = True
        self._try_register(d.now)

    def register(self, care_of: IPv6Address, now: float) -> None:
        """RFC 6275 §11.7.1: register ``care_of``, the new primary care-of address."""
        first = self.entry.state is RegistrationState.NO_BINDING
        self.entry.care_of_address = care_of
        self._fire("register", now)
        self._send_binding_update(now, first=first)

    def deregister(self, now: float) -> None:
        """RFC 6275 §11.5.5: back home, delete the registration (outstanding or not)."""
        if self.entry.state in (
            RegistrationState.REGISTERING,
            RegistrationState.BOUND,
            RegistrationState.REFRESHING,
        ):
            self._fire("deregister", now)
            self._send_binding_update(now, first=False)

    def binding_refresh_request(self, now: float) -> None:
        """RFC 6275 §11.7.4: answered with a Binding Update when the binding stands and
        nothing is outstanding."""
        self.counters.brr_received += 1
        if self.entry.state is RegistrationState.BOUND:
            self._fire("refresh_due", now)
            self._send_binding_update(now, first=False)

    def _fire(self, trigger: str, now: float) -> None:
        GRAPH.fire(self.entry, trigger, now)

    def _send_binding_update(self, now: float, *, first: bool, again: bool = False) -> None:
        """RFC 6275 §11.7.1: the next Sequence Number; lifetime 0 when deregistering."""
        e = self.entry
        dereg = e.state is RegistrationState.DEREGISTERING
        e.sequence_number = (e.sequence_number + 1) % 0x10000
        e.lifetime = 0 if dereg else self.lifetime
        if not again:
            e.timeout = INITIAL_BINDACK_TIMEOUT_FIRST_REG if first else INITIAL_BINDACK_TIMEOUT
        e.last_sent = now
        e.retransmit_at = now + e.timeout
        bu = wire_mh.BindingUpdate(e.sequence_number, e.lifetime // 4, a=True, h=True)
        header = wire_mh.MobilityHeader.aligned(bu)
        raw = header.build(self.home_address, self.home_agent)
        self.counters.bu_sent += 1
        care_of = e.care_of_address
        if dereg or care_of is None:
            # RFC 6275 §11.5.5: from the home address, on the home link.
            self.host.ipv6.send(
                self.home_agent, wire_mh.IPPROTO_MH, raw, now, src=self.home_address
            )
            return
        # RFC 6275 §11.7.1: from the care-of address, the home address in the option.
        dopts = wire_mh.home_address_header(wire_mh.IPPROTO_MH, self.home_address).build()
        self.host.ipv6.send(
            self.home_agent, wire_ipv6.IPPROTO_DSTOPTS, dopts + raw, now, src=care_of
        )

    # -- the Mobility Header (RFC 6275 §11.7.3, RFC 6275 §11.7.4) -----------------------------
    def receive(self, d: Delivery) -> None:
        c = self.counters
        try:
            mh = wire_mh.MobilityHeader.parse(d.payload, d.header.src, d.header.dst)
        except ChecksumError:
            c.mh_checksum_drop += 1
            return
        except WireError:
            c.mh_malformed_drop += 1
            return
        if d.header.src != self.home_agent:
            ro = self.ro
            if ro is None or not ro.receive(mh, d.header.src, d.header.dst, d.now):
                c.mh_not_from_home_agent_drop += 1
            return
        msg = mh.message
        if isinstance(msg, wire_mh.BindingAcknowledgement):
            self.binding_acknowledgement(msg, d.now)
        elif isinstance(msg, wire_mh.BindingRefreshRequest):
            self.binding_refresh_request(d.now)
        else:
            c.mh_ignored += 1

    def _dhaad_timeout(self, now: float) -> None:
        """RFC 6275 §11.4.1: sent again after twice the wait, DHAAD_RETRIES times; then
        the node gives up until it moves again."""
        care_of = self._usable_care_of()
        if self.dhaad_tries >= DHAAD_RETRIES or care_of is None or not self.want_care_of:
            if self.dhaad_tries >= DHAAD_RETRIES:
                self.counters.dhaad_gave_up += 1
                self.want_care_of = False
            self.dhaad_identifier = self.dhaad_at = None
            return
        self.dhaad_timeout *= 2
        self._send_dhaad_request(care_of, now)

    def binding_acknowledgement(self, ba: wire_mh.BindingAcknowledgement, now: float) -> None:
        """RFC 6275 §11.7.3."""
        c, e = self.counters, self.entry
        c.ba_received += 1
        if e.state not in _PENDING:
            c.ba_unmatched_drop += 1
            return
        if ba.status == wire_mh.BA_SEQUENCE_NUMBER_OUT_OF_WINDOW:
            # RFC 6275 §11.7.3: take the home agent's last accepted number, send again.
            c.ba_sequence_resync += 1
            self._fire("ba_sequence_out_of_window", now)
            e.sequence_number = ba.sequence
            self._send_binding_update(now, first=False)
            return
        if ba.sequence != e.sequence_number:
            c.ba_unmatched_drop += 1  # RFC 6275 §11.7.3: no outstanding Binding Update
            return
        e.retransmit_at = None
        if not ba.accepted:
            c.ba_rejected += 1
            e.expires = None
            self._fire("ba_rejected", now)
            return
        c.ba_accepted += 1
        if e.state is RegistrationState.DEREGISTERING:
            e.expires = None
            self._fire("ba_accepted", now)
            # RFC 6275 §11.5.5: tell the home link the home address is here again.
            self.host.nd_module.send_neighbor_advertisement(
                self.interface, wire_ipv6.ALL_NODES, self.home_address, False, now
            )
            return
        sent = e.last_sent if e.last_sent is not None else now
        e.expires = granted_expiry(sent, e.lifetime, ba.lifetime)
        self._fire("ba_accepted", now)
        if self.ro is not None and e.care_of_address is not None and not self.at_home:
            # RFC 6275 §11.6.1: the home agent has the new care-of address: return
            # routability with the correspondents can start.
            self.ro.home_registered(e.care_of_address, now)

    def route_optimised(self, dst: IPv6Address, now: float) -> IPv6Address | None:
        """RFC 6275 §11.3.1: the care-of address to send to ``dst`` from, with a Home Address
        option, or None (through the home agent's tunnel)."""
        return None if self.ro is None else self.ro.route_optimised(dst, now)

    def mh_error(self, m: ControlMessage) -> None:
        """RFC 6275 §11.3.5: an ICMPv6 error about a Mobility Header message of ours."""
        if self.ro is not None and isinstance(m.error, wire_icmp.ParameterProblem):
            self.ro.parameter_problem(m.invoking_header.dst, m.error.code, m.now)

    # -- the tunnel (RFC 6275 §11.3.1, RFC 6275 §11.3.3, RFC 2473) ---------------------------
    def reverse_tunnel(
        self, packet: bytes, now: float
    ) -> tuple[Interface, IPv6Address, IPv6Address, bytes] | None:
        """RFC 6275 §11.3.1: a packet from the home address while away, as the tunnel packet
        to the home agent (RFC 2473 §3.1, RFC 2473 §6.3) with its interface and next hop;
        None (dropped and counted) while there is no care-of address on this link yet."""
        care_of = self.care_of_address
        if care_of is None or self.want_care_of:
            self.counters.no_care_of_drop += 1
            return None
        if not self.agent_known:
            self.counters.no_home_agent_drop += 1
            return None
        route = self.host.route(self.home_agent, None, now)
        if route is None:
            self.counters.no_care_of_drop += 1
            return None
        iface, next_hop = route
        if self.ro is not None and packet[6] != wire_mh.IPPROTO_MH:
            # RFC 6275 §11.7.2: a correspondent worth a binding.
            self.ro.want(IPv6Address(packet[24:40]), now)
        outer = Ipv6Header(
            tunnel6.TUNNEL_TRAFFIC_CLASS,
            tunnel6.TUNNEL_FLOW_LABEL,
            len(packet),
            tunnel6.IPPROTO_IPV6,
            iface.params.cur_hop_limit,
            care_of,
            self.home_agent,
        )
        self.tunnel.encapsulated += 1
        self.counters.reverse_tunnelled += 1
        return iface, next_hop, self.home_agent, outer.build() + packet

    def receive_tunnelled(self, d: Delivery) -> None:
        """RFC 6275 §11.3.3, RFC 2473 §3.2: what the home agent tunnelled to the care-of
        address goes on as received for the home address."""
        try:
            inner, original = tunnel6.decapsulate(d.payload)
        except WireError:
            self.tunnel.inner_malformed_drop += 1
            return
        if d.header.src != self.home_agent or inner.dst != self.home_address:
            self.tunnel.not_from_tunnel_peer_drop += 1
            return
        self.tunnel.decapsulated += 1
        self.host.ipv6.receive(d.interface, original, d.now)

    # -- timers -------------------------------------------------------------------------
    def next_deadline(self) -> float | None:
        home = self._home_deadline()
        if self.dhaad_at is not None:
            home = self.dhaad_at if home is None else min(home, self.dhaad_at)
        if self.ro is None:
            return home
        ro = self.ro.next_deadline()
        return ro if home is None else home if ro is None else min(home, ro)

    def _home_deadline(self) -> float | None:
        e = self.entry
        if e.state in _PENDING:
            if e.state is RegistrationState.REFRESHING and e.expires is not None:
                return None if e.retransmit_at is None else min(e.expires, e.retransmit_at)
            return e.retransmit_at
        if e.state is RegistrationState.BOUND:
            return e.refresh_at
        return None

    def poll(self, now: float) -> None:
        """Everything due by ``now``, each at its own moment: RFC 6275 §11.7.1, the binding
        ends with its lifetime or is refreshed before it does; RFC 6275 §11.8, the Binding
        Update is sent again after twice the wait."""
        self._try_register(now)
        if self.dhaad_at is not None and self.dhaad_at <= now:
            self._dhaad_timeout(now)
        if self.ro is not None:
            self.ro.poll(now)
        e = self.entry
        while (at := self._home_deadline()) is not None and at <= now:
            bound = e.state in (RegistrationState.BOUND, RegistrationState.REFRESHING)
            if bound and e.expires is not None and at >= e.expires:
                self.counters.bindings_expired += 1
                e.expires = e.retransmit_at = None
                self._fire("lifetime_expired", at)
            elif e.state is RegistrationState.BOUND:
                self._fire("refresh_due", at)
                self._send_binding_update(at, first=False)
            else:
                self.counters.bu_retransmitted += 1
                self._fire("bindack_timeout", at)
                e.timeout = min(e.timeout * 2, MAX_BINDACK_TIMEOUT)
                self._send_binding_update(at, first=False, again=True)


def enable_mobile_node(
    host: Host,
    interface: Interface,
    home_address: IPv6Address,
    home_prefix: IPv6Network,
    home_agent: IPv6Address | None,
    lifetime: int = HOME_REGISTRATION_LIFETIME,
    route_optimisation: bool = False,
) -> MobileNode:
    """Make ``host`` a mobile node whose home address is ``home_address`` (configured on
    ``interface``, which starts on the home link) and whose home agent is ``home_agent`` (None:
    found by Dynamic Home Agent Address Discovery, RFC 6275 §11.4.1);
    with ``route_optimisation`` it also registers with its correspondents
    (RFC 6275 §11.7.2)."""
    mn = MobileNode(
        host, interface, home_address, home_prefix, home_agent, lifetime, route_optimisation
    )
    host.mobile_node = mn
    host.register_protocol(wire_mh.IPPROTO_MH, mn.receive, mn.mh_error)
    host.register_protocol(tunnel6.IPPROTO_IPV6, mn.receive_tunnelled)
    host.icmpv6.handlers[wire_mh.ICMPV6_HAAD_REPLY] = mn.haad_reply
    return mn


__all__ = [
    "HOME_REGISTRATION_LIFETIME",
    "INITIAL_BINDACK_TIMEOUT",
    "MAX_BINDACK_TIMEOUT",
    "BindingUpdateListEntry",
    "MobileNode",
    "MobileNodeCounters",
    "enable_mobile_node",
]
