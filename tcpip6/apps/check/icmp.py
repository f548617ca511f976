"""IPv6, ICMPv6, Neighbor Discovery and MLD rules, judged on what a node sent.

Each rule is the RFC's, and the values it compares with are the spec models' constants
(``tcpip6/spec/``): fragments by RFC 8200 §4.5 with RFC 5722 and RFC 7112
(``rfc8200_ipv6``), ICMPv6 errors by RFC 4443 §2.4, ND messages by the validity checks of
RFC 4861 §6.1 and RFC 4861 §7.1 and the sender's duties of RFC 4861 §4, DAD probes by
RFC 4862 §5.4 (``rfc1971_autoconf``), address resolution, neighbor unreachability
detection and router solicitation timing by RFC 4861 §7.2.2, RFC 4861 §7.3.3 and
RFC 4861 §6.3.7 (``rfc1970_nd``), MLD reports against the Maximum Response Delay of the
query that asked for them by RFC 2710 §4 and RFC 3810 §6.2 (``rfc2710_mld``).

Timing rules allow ``TOLERANCE`` of the interval, for the capture's own clock; a report
that must come before a deadline may come ``LATENESS`` after it (the sender's timer runs
from a scheduler, and the capture point is not the sender).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv6Address
from typing import Any

from tcpip6.apps.check.packet import Observed
from tcpip6.spec import rfc1970_nd as nd_spec
from tcpip6.spec import rfc1971_autoconf as autoconf_spec
from tcpip6.spec import rfc2710_mld as mld_spec
from tcpip6.spec import rfc8200_ipv6 as ipv6_spec
from tcpip6.wire import WireError
from tcpip6.wire import icmpv6 as wi
from tcpip6.wire import ipv6 as wire_ipv6
from tcpip6.wire import mld as wm
from tcpip6.wire import nd as wn

#: A timing rule accepts an interval this much shorter than the RFC's (capture clocks).
TOLERANCE = 0.02
#: A message due by a deadline is accepted this much after it (seconds).
LATENESS = 0.1
#: RFC 7559 §2 retransmits RSs by the algorithm of RFC 3315 §14, whose RAND is in
#: [-0.1, 0.1].
RFC7559_RAND = 0.1
#: Entries each table of the checker keeps; the oldest is forgotten beyond this.
TABLE_LIMIT = 4096
UNSPECIFIED = IPv6Address("::")
ALL_ROUTERS = IPv6Address("ff02::2")


@dataclass(frozen=True)
class Variables:
    """The node variables the timing rules use; the spec models' defaults unless the user
    says otherwise (``--retrans-timer``, ``--dad-transmits``)."""

    retrans_timer: float = nd_spec.RETRANS_TIMER
    dup_addr_detect_transmits: int = autoconf_spec.Variables().DupAddrDetectTransmits
    max_multicast_solicit: int = nd_spec.MAX_MULTICAST_SOLICIT
    max_unicast_solicit: int = nd_spec.MAX_UNICAST_SOLICIT
    delay_first_probe_time: float = nd_spec.DELAY_FIRST_PROBE_TIME
    max_rtr_solicitations: int = nd_spec.MAX_RTR_SOLICITATIONS
    rtr_solicitation_interval: float = nd_spec.RTR_SOLICITATION_INTERVAL


Report = Callable[[Observed, str, str, str, str], None]


def _is_link_local(a: IPv6Address) -> bool:
    return a.is_link_local


@dataclass
class _Probes:
    """Solicitations of one kind from one node for one target, since the last answer."""

    times: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class _Pacing:
    """A kind of solicitation the RFC paces: at least ``interval`` apart, at most ``limit``
    of them without an answer. A gap longer than ``forget_after`` starts a new run (the
    last one gave up). The names are the RFC's, for the report."""

    closer: str
    more: str
    rfc: str
    interval: float
    interval_name: str
    limit: int
    limit_name: str
    forget_after: float = float("inf")
    #: Past ``limit``, a solicitation is still allowed when its gap is at least this many
    #: times the one before (an exponential backoff, as RFC 7559 §2 does for RSs).
    backoff: float | None = None


def _retrans_timer_pacing(
    what: str, counted: str, rfc: str, retrans_timer: float, limit: int, limit_name: str
) -> _Pacing:
    """Solicitations RetransTimer apart, at most ``limit`` (``limit_name``) of them, the run
    given up RetransTimer after the last: DAD probes (RFC 4862 §5.4.2), address resolution
    (RFC 4861 §7.2.2) and NUD probes (RFC 4861 §7.3.3) are all paced so."""
    return _Pacing(
        f"{what} closer than RetransTimer",
        f"more {counted} than {limit_name}",
        rfc,
        retrans_timer,
        "RetransTimer",
        limit,
        limit_name,
        forget_after=retrans_timer * (limit + 1),
    )


def _bounded(table: dict[Any, Any]) -> None:
    if len(table) > TABLE_LIMIT:
        table.pop(next(iter(table)))


#: Who sent or is sent a packet: its link-layer address where the capture shows one, else
#: its IPv6 address.
NodeId = bytes | IPv6Address
#: A sender and a receiver: (link source, link destination) where the capture shows link
#: addresses, else (None, IPv6 destination).
Pair = tuple[NodeId | None, NodeId]


class IcmpChecker:
    """Every rule of this module, over the packets of a capture in order."""

    def __init__(self, variables: Variables, report: Report) -> None:
        self.v = variables
        self.report = report
        self._fragments: dict[tuple[IPv6Address, IPv6Address, int], ipv6_spec.ReassemblyBuffer] = {}
        #: Probes by (the prober's link-layer address where the capture shows it, target).
        self._dad: dict[tuple[bytes | None, IPv6Address], _Probes] = {}
        #: When each link-layer source last sent a DAD probe: it has just (re)attached.
        self._attached: dict[bytes | None, float] = {}
        self._resolution: dict[tuple[IPv6Address, IPv6Address], _Probes] = {}
        self._rs: dict[IPv6Address, _Probes] = {}
        v = variables
        self._dad_pacing = _retrans_timer_pacing(
            "DAD probes",
            "DAD probes",
            "RFC 4862 §5.4.2",
            v.retrans_timer,
            v.dup_addr_detect_transmits,
            "DupAddrDetectTransmits",
        )
        self._resolution_pacing = _retrans_timer_pacing(
            "address resolution NS",
            "multicast NS",
            "RFC 4861 §7.2.2",
            v.retrans_timer,
            v.max_multicast_solicit,
            "MAX_MULTICAST_SOLICIT",
        )
        # RFC 7559 §2 (which updates RFC 4861 §6.3.7): retransmissions may go on past
        # MAX_RTR_SOLICITATIONS with the exponential backoff of RFC 3315 §14,
        # RT = 2 * RTprev + RAND * RTprev, the first RT = RTR_SOLICITATION_INTERVAL +
        # RAND * RTR_SOLICITATION_INTERVAL, RAND in [-0.1, 0.1].
        self._rs_pacing = _Pacing(
            "router solicitations closer than RTR_SOLICITATION_INTERVAL",
            "more router solicitations than MAX_RTR_SOLICITATIONS",
            "RFC 4861 §6.3.7",
            v.rtr_solicitation_interval * (1 - RFC7559_RAND),
            "RTR_SOLICITATION_INTERVAL less RFC 7559's randomization",
            v.max_rtr_solicitations,
            "MAX_RTR_SOLICITATIONS",
            backoff=2 - RFC7559_RAND,
        )
        self._nud_pacing = _retrans_timer_pacing(
            "NUD probes",
            "unicast NS",
            "RFC 4861 §7.3.3",
            v.retrans_timer,
            v.max_unicast_solicit,
            "MAX_UNICAST_SOLICIT",
        )
        #: Unicast probes by (prober, target) (RFC 4861 §7.3.3).
        self._nud: dict[tuple[NodeId, IPv6Address], _Probes] = {}
        #: When each node was first seen sending a unicast packet to each other node.
        self._first_sent: dict[Pair, float] = {}
        #: (prober, target) -> the pair the target's solicited NA joined, and the first
        #: packet the prober sent over it since (None: none yet). RFC 4861 §7.2.5: that NA
        #: made the entry REACHABLE, so its next DELAY needs a packet sent after it.
        self._confirmed: dict[tuple[NodeId, IPv6Address], float | None] = {}
        self._awaiting: dict[Pair, list[tuple[NodeId, IPv6Address]]] = {}
        #: The addresses each link-layer address was seen sending from: a packet to one of
        #: them goes to that neighbor's entry, not to another entry of the same node.
        self._own: dict[bytes, set[IPv6Address]] = {}
        self._start: float | None = None
        #: MLD (RFC 2710 §4, RFC 3810 §6.2): (node, multicast address) -> the time by which
        #: that listener must answer the queries heard since its last report (None: no
        #: query pending), for every listener the capture has seen report.
        self._listeners: dict[tuple[NodeId, IPv6Address], float | None] = {}
        #: The latest end of any query's response window, by multicast address (``::`` for
        #: General Queries).
        self._query_windows: dict[IPv6Address, float] = {}
        #: Nodes seen sending queries: a querier answers its own queries from inside, and
        #: may send each link its own copy at another time (a bridge does, per port), so
        #: its reports are not judged against the copy on this link.
        self._queriers: set[NodeId] = set()

    def flow(self, obs: Observed) -> str:
        return f"{obs.src} > {obs.dst}"

    def _deviate(self, obs: Observed, rule: str, rfc: str, observed: str, expected: str) -> None:
        self.report(obs, rule, rfc, observed, expected)

    def _paced(self, obs: Observed, probes: _Probes, pacing: _Pacing, what: str) -> None:
        """One more solicitation of a paced kind: judged against the interval since the
        last one and the number sent without an answer."""
        gap = obs.time - probes.times[-1] if probes.times else None
        backing_off = False
        if gap is not None:
            if gap > pacing.forget_after:
                probes.times.clear()
            elif len(probes.times) >= 2 and pacing.backoff is not None:
                before = probes.times[-1] - probes.times[-2]
                backing_off = gap >= pacing.backoff * before * (1 - TOLERANCE)
            if probes.times and gap < pacing.interval * (1 - TOLERANCE):
                self._deviate(
                    obs,
                    pacing.closer,
                    pacing.rfc,
                    f"{what} {gap:.3f} s after the last",
                    f"{pacing.interval_name} ({pacing.interval:g} s) apart",
                )
        probes.times.append(obs.time)
        if len(probes.times) > pacing.limit and not backing_off:
            backoff = (
                ""
                if pacing.backoff is None
                else (
                    f", or each gap at least {pacing.backoff:g} times the one before (RFC 7559 §2)"
                )
            )
            self._deviate(
                obs,
                pacing.more,
                pacing.rfc,
                f"{what}, number {len(probes.times)} without an answer",
                f"at most {pacing.limit_name} = {pacing.limit}{backoff}",
            )

    @staticmethod
    def _sender(obs: Observed) -> NodeId:
        return obs.link_source if obs.link_source is not None else obs.src

    @staticmethod
    def _receiver(obs: Observed) -> NodeId:
        return obs.link_destination if obs.link_destination is not None else obs.dst

    @staticmethod
    def _pair(source: bytes | None, destination: bytes | None, dst: IPv6Address) -> Pair:
        """Who sent to whom: link-layer addresses where the capture shows them, else only
        the IPv6 destination (a node's packets may come from any of its addresses)."""
        if destination is not None:
            return source, destination
        return None, dst

    def sent(self, obs: Observed) -> None:
        """Every packet of the capture: when the capture began, and when each node first
        sent a unicast packet to each other (a packet that can start NUD's DELAY)."""
        if self._start is None:
            self._start = obs.time
        if obs.link_source is not None and obs.src != UNSPECIFIED and not obs.src.is_multicast:
            own = self._own.setdefault(obs.link_source, set())
            if obs.src not in own and len(own) < 64:
                own.add(obs.src)
                _bounded(self._own)
        if obs.dst.is_multicast or obs.link_multicast:
            return
        if isinstance(obs.icmp, wn.NeighborSolicitation):
            return  # a unicast NS is a probe, sent in PROBE: it starts no DELAY
        key = self._pair(obs.link_source, obs.link_destination, obs.dst)
        if key not in self._first_sent:
            self._first_sent[key] = obs.time
            _bounded(self._first_sent)
        waiting = self._awaiting.get(key)
        if waiting:
            own = self._own.get(obs.link_destination or b"", set())
            for confirmed in list(waiting):
                # A packet to another address of the neighbor uses another entry; one to
                # an address it does not hold is routed through the neighbor (RFC 4861 §5.2).
                if obs.dst == confirmed[1] or obs.dst not in own:
                    waiting.remove(confirmed)
                    if confirmed in self._confirmed:
                        self._confirmed[confirmed] = obs.time

    # -- RFC 8200 §4.5 -------------------------------------------------------------------
    def fragment(self, obs: Observed, packet: bytes) -> bytes | None:
        """Reassemble as RFC 8200 §4.5 does (the spec model's rules); a source's fragments
        that a receiver must discard are deviations of that source. The whole packet once
        its last fragment is here, else None."""
        frag = ipv6_spec.parse_fragment(packet)
        if frag is None:
            return None
        buffer = self._fragments.get(frag.key)
        if buffer is not None and obs.time > buffer.deadline:
            buffer = None  # RFC 8200 §4.5: reassembly abandoned after 60 s
        buffer, actions = ipv6_spec.on_fragment(buffer, frag, obs.time)
        if buffer is None:
            self._fragments.pop(frag.key, None)
        else:
            self._fragments[frag.key] = buffer
            if len(self._fragments) > 4096:
                self._fragments.pop(next(iter(self._fragments)))
        whole = None
        for action in actions:
            if action[0] == "deliver":
                whole = action[1]
            elif action == ("drop", "overlap"):
                self._deviate(
                    obs,
                    "fragments overlap",
                    "RFC 8200 §4.5",
                    f"fragment {frag.offset}-{frag.end} of id 0x{frag.identification:08x} "
                    "overlaps one sent before",
                    "a source never sends overlapping fragments (RFC 5722 §4)",
                )
            elif action[0] == "parameter_problem":
                if action[1] == ipv6_spec.PARAMETER_PROBLEM_INCOMPLETE_CHAIN:
                    why = (
                        "first fragment without the whole header chain",
                        "the first fragment holds every header through the upper-layer one "
                        "(RFC 7112 §5)",
                    )
                else:
                    why = ("fragment a receiver must refuse", "a well-formed fragment")
                self._deviate(
                    obs,
                    why[0],
                    "RFC 8200 §4.5",
                    f"fragment {frag.offset}-{frag.end} of id 0x{frag.identification:08x}",
                    why[1],
                )
        return whole if isinstance(whole, bytes) else None

    # -- ICMPv6 --------------------------------------------------------------------------
    def icmp(self, obs: Observed) -> None:
        msg = obs.icmp
        if msg is None:
            return
        if wi.is_error_type(msg.type):
            self._error(obs, msg)
        elif isinstance(msg, wn.NeighborSolicitation):
            self._ns(obs, msg)
        elif isinstance(msg, wn.NeighborAdvertisement):
            self._na(obs, msg)
        elif isinstance(msg, wn.RouterSolicitation):
            self._rs_message(obs, msg)
        elif isinstance(msg, wn.RouterAdvertisement):
            self._nd_common(obs, msg, "RFC 4861 §6.1.2")
            if not _is_link_local(obs.src):
                self._deviate(
                    obs,
                    "RA from a source that is not link-local",
                    "RFC 4861 §6.1.2",
                    f"source {obs.src}",
                    "a Router Advertisement comes from the router's link-local address",
                )
        elif isinstance(msg, wn.Redirect):
            self._nd_common(obs, msg, "RFC 4861 §8.1")
        elif isinstance(msg, wm.MldQuery | wm.MldV2Query):
            self._mld_query(obs, msg)
        elif isinstance(msg, wm.MldReport):
            self._mld_report(obs, [msg.multicast_address], response=True, suppresses=True)
        elif isinstance(msg, wm.MldV2Report):
            self._mld_v2_report(obs, msg)
        elif isinstance(msg, wm.MldDone):
            self._listeners.pop((self._sender(obs), msg.multicast_address), None)

    def _error(self, obs: Observed, msg: wi.Icmpv6Message) -> None:
        """RFC 4443 §2.4 (e): errors a node MUST NOT originate."""
        invoking = getattr(msg, "invoking", b"")
        if len(invoking) < wire_ipv6.Ipv6Header.HEADER_LEN:
            return
        try:
            inner = wire_ipv6.Ipv6Header.parse(invoking)
        except WireError:
            return
        exception = isinstance(msg, wi.PacketTooBig) or (
            isinstance(msg, wi.ParameterProblem) and msg.code == 2
        )
        if inner.dst.is_multicast and not exception:
            self._deviate(
                obs,
                "ICMPv6 error about a multicast packet",
                "RFC 4443 §2.4",
                f"type {msg.type} code {msg.code} about a packet to {inner.dst}",
                "(e.3): no error about a packet to a multicast address, but Packet Too Big "
                "and Parameter Problem code 2",
            )
        if inner.src.is_multicast or inner.src == UNSPECIFIED:
            self._deviate(
                obs,
                "ICMPv6 error about a packet from no single node",
                "RFC 4443 §2.4",
                f"type {msg.type} code {msg.code} about a packet from {inner.src}",
                "(e.6): no error about a packet whose source does not identify one node",
            )
        inner_type = self._inner_icmp_type(invoking, inner)
        if inner_type is not None and (wi.is_error_type(inner_type) or inner_type == wn.REDIRECT):
            what = "a Redirect" if inner_type == wn.REDIRECT else "an ICMPv6 error"
            self._deviate(
                obs,
                f"ICMPv6 error about {what}",
                "RFC 4443 §2.4",
                f"type {msg.type} code {msg.code} about ICMPv6 type {inner_type}",
                "(e.1), (e.2): no error message about an error message or a Redirect",
            )

    @staticmethod
    def _inner_icmp_type(invoking: bytes, inner: wire_ipv6.Ipv6Header) -> int | None:
        from tcpip6.wire import ext as wire_ext

        try:
            chain = wire_ext.walk(inner.next_header, invoking[wire_ipv6.Ipv6Header.HEADER_LEN :])
        except WireError:
            return None
        nh, off, _ = chain[-1]
        at = wire_ipv6.Ipv6Header.HEADER_LEN + off
        if nh != wire_ipv6.IPPROTO_ICMPV6 or at >= len(invoking):
            return None
        return invoking[at]

    # -- Neighbor Discovery --------------------------------------------------------------
    def _nd_common(self, obs: Observed, msg: wi.Icmpv6Message, rfc: str) -> None:
        """The validity checks every ND message shares (RFC 4861 §6.1, RFC 4861 §7.1,
        RFC 4861 §8.1)."""
        if obs.header.hop_limit != 255:
            self._deviate(
                obs,
                "ND message with a hop limit other than 255",
                rfc,
                f"{type(msg).__name__} with hop limit {obs.header.hop_limit}",
                "IP Hop Limit 255, so that it cannot have come through a router",
            )
        if msg.code != 0:
            self._deviate(
                obs,
                "ND message with a non-zero code",
                rfc,
                f"{type(msg).__name__} code {msg.code}",
                "ICMP Code 0",
            )

    def _lla_present(self, msg: wn.RouterSolicitation | wn.NeighborSolicitation) -> bool:
        return msg.option(wn.SourceLinkLayerAddress) is not None

    def _target_common(
        self, obs: Observed, msg: wn.NeighborSolicitation | wn.NeighborAdvertisement, rfc: str
    ) -> None:
        """The validity checks NS (RFC 4861 §7.1.1) and NA (RFC 4861 §7.1.2) share: those of
        every ND message, and a Target Address that is not a multicast address."""
        self._nd_common(obs, msg, rfc)
        if msg.target.is_multicast:
            kind = "NS" if isinstance(msg, wn.NeighborSolicitation) else "NA"
            self._deviate(
                obs,
                f"{kind} for a multicast target",
                rfc,
                f"target {msg.target}",
                "the Target Address is not a multicast address",
            )

    def _ns(self, obs: Observed, msg: wn.NeighborSolicitation) -> None:
        self._target_common(obs, msg, "RFC 4861 §7.1.1")
        if obs.src == UNSPECIFIED:
            self._dad_probe(obs, msg)
            return
        if obs.src == msg.target and obs.dst == wire_ipv6.solicited_node(msg.target):
            # A node asking who has its own address: a DAD probe that is not from ::.
            self._deviate(
                obs,
                "DAD probe with a source address",
                "RFC 4862 §5.4.2",
                f"NS for {msg.target} from {obs.src} to its solicited-node address",
                "a DAD probe's IP source is the unspecified address",
            )
            return
        if obs.dst.is_multicast:
            if obs.link_multicast is not None and not self._lla_present(msg):
                # On a link with addresses (this capture is Ethernet).
                self._deviate(
                    obs,
                    "multicast NS without a Source Link-Layer Address",
                    "RFC 4861 §4.3",
                    f"NS for {msg.target} from {obs.src} to {obs.dst} with no SLLA option",
                    "the option MUST be included in multicast solicitations when the source "
                    "is not the unspecified address",
                )
            self._resolution_probe(obs, msg)
        else:
            self._unreachability_probe(obs, msg)

    def _dad_probe(self, obs: Observed, msg: wn.NeighborSolicitation) -> None:
        solicited = wire_ipv6.solicited_node(msg.target)
        if obs.dst != solicited:
            self._deviate(
                obs,
                "DAD probe not to the solicited-node address",
                "RFC 4861 §7.1.1",
                f"NS from :: to {obs.dst}",
                f"from the unspecified address, to the solicited-node address {solicited}",
            )
        if self._lla_present(msg):
            self._deviate(
                obs,
                "DAD probe with a Source Link-Layer Address",
                "RFC 4861 §7.1.1",
                "NS from :: carrying a Source Link-Layer Address option",
                "no Source Link-Layer Address option when the source is unspecified",
            )
        # RFC 4862 §5.4.2: DupAddrDetectTransmits probes, RetransTimer apart; a longer
        # silence is a new run of DAD (the interface came up again).
        probes = self._dad.setdefault((obs.link_source, msg.target), _Probes())
        self._paced(obs, probes, self._dad_pacing, f"a DAD probe for {msg.target}")
        self._attached[obs.link_source] = obs.time
        _bounded(self._attached)

    def _resolution_probe(self, obs: Observed, msg: wn.NeighborSolicitation) -> None:
        """RFC 4861 §7.2.2: multicast solicitations every RetransTimer, at most
        MAX_MULTICAST_SOLICIT without an answer."""
        probes = self._resolution.setdefault((obs.src, msg.target), _Probes())
        self._paced(obs, probes, self._resolution_pacing, f"a multicast NS for {msg.target}")
        _bounded(self._resolution)

    def _unreachability_probe(self, obs: Observed, msg: wn.NeighborSolicitation) -> None:
        """RFC 4861 §7.3.3: a unicast NS is a probe of an entry in PROBE, which it reaches
        DELAY_FIRST_PROBE_TIME after the first packet sent while STALE (DELAY); then
        MAX_UNICAST_SOLICIT probes RetransTimer apart, until an answer. The observer cannot
        see when the entry went STALE, so the first probe of a run is judged against the
        first packet the prober sent that neighbor since the neighbor's last solicited NA
        to it (or since the capture began): at least DELAY_FIRST_PROBE_TIME before."""
        prober = self._sender(obs)
        probes = self._nud.setdefault((prober, msg.target), _Probes())
        first = not probes.times or obs.time - probes.times[-1] > self._nud_pacing.forget_after
        self._paced(obs, probes, self._nud_pacing, f"a unicast NS for {msg.target}")
        _bounded(self._nud)
        delay = self.v.delay_first_probe_time * (1 - TOLERANCE)
        if not first or self._start is None or obs.time - self._start < delay:
            return  # the packet that started DELAY may be before the capture
        attached = self._attached.get(obs.link_source)
        if attached is not None and obs.time - attached < self.v.delay_first_probe_time:
            # RFC 6059 (detecting network attachment): a host that has just (re)attached
            # (it is running DAD again) probes the routers it knew with unicast NS at once,
            # not after a DELAY.
            return
        pair = self._pair(obs.link_source, obs.link_destination, msg.target)
        if (prober, msg.target) in self._confirmed:
            since = self._confirmed[(prober, msg.target)]  # since the last solicited NA
        else:
            since = self._first_sent.get(pair)
        if since is None or obs.time - since < delay:
            after = (
                "its last solicited NA"
                if (prober, msg.target) in self._confirmed
                else "the capture began"
            )
            seen = (
                f"no packet sent to that neighbor since {after}"
                if since is None
                else f"the first packet sent to that neighbor since {after} "
                f"{obs.time - since:.3f} s before it"
            )
            self._deviate(
                obs,
                "NUD probe before DELAY_FIRST_PROBE_TIME",
                "RFC 4861 §7.3.3",
                f"a unicast NS for {msg.target}, {seen}",
                "PROBE only after DELAY: DELAY_FIRST_PROBE_TIME "
                f"({self.v.delay_first_probe_time:g} s) after a packet sent to a STALE entry",
            )

    def _na(self, obs: Observed, msg: wn.NeighborAdvertisement) -> None:
        self._target_common(obs, msg, "RFC 4861 §7.1.2")
        if obs.dst.is_multicast and msg.solicited:
            self._deviate(
                obs,
                "solicited NA to a multicast address",
                "RFC 4861 §7.1.2",
                f"NA for {msg.target} to {obs.dst} with the Solicited flag set",
                "if the IP Destination Address is a multicast address the Solicited flag is zero",
            )
        # An answer ends the resolution of that target, whoever asked.
        for key in [k for k in self._resolution if k[1] == msg.target]:
            del self._resolution[key]
        # RFC 4861 §7.2.5: a solicited NA makes the asker's entry REACHABLE: its probing
        # ends (an unsolicited one leaves PROBE as it is, or makes the entry STALE).
        if msg.solicited:
            asker = self._receiver(obs)
            self._nud.pop((asker, msg.target), None)
            self._confirmed[(asker, msg.target)] = None
            _bounded(self._confirmed)
            pair = self._pair(obs.link_destination, obs.link_source, msg.target)
            self._awaiting.setdefault(pair, []).append((asker, msg.target))
            _bounded(self._awaiting)

    def _rs_message(self, obs: Observed, msg: wn.RouterSolicitation) -> None:
        self._nd_common(obs, msg, "RFC 4861 §6.1.1")
        if obs.src == UNSPECIFIED and self._lla_present(msg):
            self._deviate(
                obs,
                "RS from :: with a Source Link-Layer Address",
                "RFC 4861 §6.1.1",
                "RS from the unspecified address carrying an SLLA option",
                "no Source Link-Layer Address option when the source is unspecified",
            )
        if obs.dst != ALL_ROUTERS:
            return
        probes = self._rs.setdefault(obs.src, _Probes())
        self._paced(obs, probes, self._rs_pacing, f"a router solicitation from {obs.src}")
        _bounded(self._rs)

    # -- MLD: RFC 2710 §4, RFC 3810 §6.2 --------------------------------------------------
    def _mld_query(self, obs: Observed, msg: wm.MldQuery | wm.MldV2Query) -> None:
        """A Query asks every listener it concerns (every address for a General Query) to
        report within its Maximum Response Delay: RFC 2710 §4, the timer is "a random value
        selected from the range [0, Maximum Response Delay]", and a running timer is reset
        only to a sooner one; RFC 3810 §6.2 likewise for the interface and address timers."""
        self._queriers.add(self._sender(obs))
        deadline = obs.time + msg.max_response_delay / 1000
        group = msg.multicast_address
        window = self._query_windows.get(group)
        self._query_windows[group] = deadline if window is None else max(window, deadline)
        _bounded(self._query_windows)
        for key, due in self._listeners.items():
            if mld_spec.query_concerns(group, mld_spec.Listener(key[1])):
                self._listeners[key] = deadline if due is None else min(due, deadline)

    def _mld_report(
        self, obs: Observed, groups: list[IPv6Address], response: bool, suppresses: bool
    ) -> None:
        """Reports from one node for ``groups``; ``response``: a report that answers a
        query (an MLDv1 Report, which may also be an unsolicited one of a node that just
        began listening, or an MLDv2 Current State Record, which only a query asks for)."""
        node = self._sender(obs)
        judged = response and node not in self._queriers
        for group in groups:
            if not mld_spec.is_reported(group):
                continue
            due = self._listeners.get((node, group))
            if judged and due is not None and obs.time > due + LATENESS:
                self._late_report(obs, group, f"{obs.time - due:.3f} s after")
            self._listeners[(node, group)] = None
            _bounded(self._listeners)
            if suppresses:
                # RFC 2710 §4: a node that hears another's Report for the address stops
                # its timer and sends none (MLDv2 has no suppression, RFC 3810 §6.2).
                for key, pending in self._listeners.items():
                    if key[1] == group and pending is not None:
                        self._listeners[key] = None

    def _mld_v2_report(self, obs: Observed, msg: wm.MldV2Report) -> None:
        """RFC 3810 §5.2.12: Current State Records (MODE_IS_INCLUDE, MODE_IS_EXCLUDE) are
        sent "in response to a Query"; the others report a change of state, at any time.
        A Current State Record of a node not seen before is still judged against the
        windows of the queries heard: it answers one of them."""
        current = [
            r.multicast_address
            for r in msg.records
            if r.record_type in (wm.MODE_IS_INCLUDE, wm.MODE_IS_EXCLUDE)
        ]
        node = self._sender(obs)
        for group in current:
            if node in self._queriers or (node, group) in self._listeners:
                continue
            if not mld_spec.is_reported(group):
                continue
            windows = [self._query_windows.get(g) for g in (group, UNSPECIFIED)]
            known = [w for w in windows if w is not None]
            if known and obs.time > max(known) + LATENESS:
                self._late_report(obs, group, f"{obs.time - max(known):.3f} s after")
        self._mld_report(obs, current, response=True, suppresses=False)
        for r in msg.records:
            if r.record_type in (wm.MODE_IS_INCLUDE, wm.MODE_IS_EXCLUDE):
                continue
            if r.record_type == wm.CHANGE_TO_INCLUDE_MODE and not r.sources:
                self._listeners.pop((node, r.multicast_address), None)  # it left
            elif (node, r.multicast_address) not in self._listeners:
                self._mld_report(obs, [r.multicast_address], response=False, suppresses=False)

    def _late_report(self, obs: Observed, group: IPv6Address, when: str) -> None:
        self._deviate(
            obs,
            "MLD report later than the Maximum Response Delay",
            "RFC 2710 §4" if isinstance(obs.icmp, wm.MldReport) else "RFC 3810 §6.2",
            f"a report for {group} {when} the end of the response window of the last query",
            "a listener reports within the Maximum Response Delay of the query "
            "(its timer is a random value in [0, Maximum Response Delay])",
        )

    def router_advertised(self, obs: Observed) -> None:
        """An RA ends every node's soliciting (RFC 4861 §6.3.7)."""
        if isinstance(obs.icmp, wn.RouterAdvertisement):
            self._rs.clear()
