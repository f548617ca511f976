"""IPv6, ICMPv6 and Neighbor Discovery rules, judged on what a node sent.

Each rule is the RFC's, and the values it compares with are the spec models' constants
(``tcpip6/spec/``): fragments by RFC 8200 §4.5 with RFC 5722 and RFC 7112
(``rfc8200_ipv6``), ICMPv6 errors by RFC 4443 §2.4, ND messages by the validity checks of
RFC 4861 §6.1 and RFC 4861 §7.1 and the sender's duties of RFC 4861 §4, DAD probes by RFC 4862
RFC 4862 §5.4 (``rfc1971_autoconf``), address resolution and router solicitation timing by RFC 4861
RFC 4861 §7.2.2 and RFC 4861 §6.3.7 (``rfc1970_nd``).

Timing rules allow ``TOLERANCE`` of the interval, for the capture's own clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv6Address

from tcpip6.apps.check.packet import Observed
from tcpip6.spec import rfc1970_nd as nd_spec
from tcpip6.spec import rfc1971_autoconf as autoconf_spec
from tcpip6.spec import rfc8200_ipv6 as ipv6_spec
from tcpip6.wire import WireError
from tcpip6.wire import icmpv6 as wi
from tcpip6.wire import ipv6 as wire_ipv6
from tcpip6.wire import nd as wn

#: A timing rule accepts an interval this much shorter than the RFC's (capture clocks).
TOLERANCE = 0.02
UNSPECIFIED = IPv6Address("::")
ALL_ROUTERS = IPv6Address("ff02::2")


@dataclass(frozen=True)
class Variables:
    """The node variables the timing rules use; the spec models' defaults unless the user
    says otherwise (``--retrans-timer``, ``--dad-transmits``)."""

    retrans_timer: float = nd_spec.RETRANS_TIMER
    dup_addr_detect_transmits: int = autoconf_spec.Variables().DupAddrDetectTransmits
    max_multicast_solicit: int = nd_spec.MAX_MULTICAST_SOLICIT
    max_rtr_solicitations: int = nd_spec.MAX_RTR_SOLICITATIONS
    rtr_solicitation_interval: float = nd_spec.RTR_SOLICITATION_INTERVAL


Report = Callable[[Observed, str, str, str, str], None]


def _is_link_local(a: IPv6Address) -> bool:
    return a.is_link_local


@dataclass
class _Probes:
    """Solicitations of one kind from one node for one target, since the last answer."""

    times: list[float] = field(default_factory=list)


class IcmpChecker:
    """Every rule of this module, over the packets of a capture in order."""

    def __init__(self, variables: Variables, report: Report) -> None:
        self.v = variables
        self.report = report
        self._fragments: dict[tuple[IPv6Address, IPv6Address, int], ipv6_spec.ReassemblyBuffer] = {}
        #: Probes by (the prober's link-layer address where the capture shows it, target).
        self._dad: dict[tuple[bytes | None, IPv6Address], _Probes] = {}
        self._resolution: dict[tuple[IPv6Address, IPv6Address], _Probes] = {}
        self._rs: dict[IPv6Address, _Probes] = {}

    def flow(self, obs: Observed) -> str:
        return f"{obs.src} > {obs.dst}"

    def _deviate(self, obs: Observed, rule: str, rfc: str, observed: str, expected: str) -> None:
        self.report(obs, rule, rfc, observed, expected)

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

    def _ns(self, obs: Observed, msg: wn.NeighborSolicitation) -> None:
        self._nd_common(obs, msg, "RFC 4861 §7.1.1")
        if msg.target.is_multicast:
            self._deviate(
                obs,
                "NS for a multicast target",
                "RFC 4861 §7.1.1",
                f"target {msg.target}",
                "the Target Address is not a multicast address",
            )
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
        probes = self._dad.setdefault((obs.link_source, msg.target), _Probes())
        window = self.v.retrans_timer * (self.v.dup_addr_detect_transmits + 1)
        if probes.times and obs.time - probes.times[-1] > window:
            probes.times.clear()  # a new run of DAD (the interface came up again)
        if probes.times:
            gap = obs.time - probes.times[-1]
            if gap < self.v.retrans_timer * (1 - TOLERANCE):
                self._deviate(
                    obs,
                    "DAD probes closer than RetransTimer",
                    "RFC 4862 §5.4.2",
                    f"a probe for {msg.target} {gap:.3f} s after the last",
                    f"probes RetransTimer ({self.v.retrans_timer:g} s) apart",
                )
        probes.times.append(obs.time)
        if len(probes.times) > self.v.dup_addr_detect_transmits:
            self._deviate(
                obs,
                "more DAD probes than DupAddrDetectTransmits",
                "RFC 4862 §5.4.2",
                f"probe {len(probes.times)} for {msg.target}",
                f"DupAddrDetectTransmits = {self.v.dup_addr_detect_transmits} probes",
            )

    def _resolution_probe(self, obs: Observed, msg: wn.NeighborSolicitation) -> None:
        """RFC 4861 §7.2.2: multicast solicitations every RetransTimer, at most
        MAX_MULTICAST_SOLICIT without an answer."""
        key = (obs.src, msg.target)
        probes = self._resolution.setdefault(key, _Probes())
        if probes.times:
            gap = obs.time - probes.times[-1]
            if gap > self.v.retrans_timer * (self.v.max_multicast_solicit + 1):
                probes.times.clear()  # resolution gave up, and this is a new one
            elif gap < self.v.retrans_timer * (1 - TOLERANCE):
                self._deviate(
                    obs,
                    "address resolution NS closer than RetransTimer",
                    "RFC 4861 §7.2.2",
                    f"an NS for {msg.target} {gap:.3f} s after the last",
                    f"retransmissions every RetransTimer ({self.v.retrans_timer:g} s)",
                )
        probes.times.append(obs.time)
        if len(probes.times) > self.v.max_multicast_solicit:
            self._deviate(
                obs,
                "more multicast NS than MAX_MULTICAST_SOLICIT",
                "RFC 4861 §7.2.2",
                f"solicitation {len(probes.times)} for {msg.target} without an answer",
                f"at most MAX_MULTICAST_SOLICIT = {self.v.max_multicast_solicit}",
            )
        if len(self._resolution) > 4096:
            self._resolution.pop(next(iter(self._resolution)))

    def _na(self, obs: Observed, msg: wn.NeighborAdvertisement) -> None:
        self._nd_common(obs, msg, "RFC 4861 §7.1.2")
        if msg.target.is_multicast:
            self._deviate(
                obs,
                "NA for a multicast target",
                "RFC 4861 §7.1.2",
                f"target {msg.target}",
                "the Target Address is not a multicast address",
            )
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
        if probes.times:
            gap = obs.time - probes.times[-1]
            if gap < self.v.rtr_solicitation_interval * (1 - TOLERANCE):
                self._deviate(
                    obs,
                    "router solicitations closer than RTR_SOLICITATION_INTERVAL",
                    "RFC 4861 §6.3.7",
                    f"an RS {gap:.3f} s after the last",
                    f"RTR_SOLICITATION_INTERVAL = {self.v.rtr_solicitation_interval:g} s",
                )
        probes.times.append(obs.time)
        if len(probes.times) > self.v.max_rtr_solicitations:
            self._deviate(
                obs,
                "more router solicitations than MAX_RTR_SOLICITATIONS",
                "RFC 4861 §6.3.7",
                f"router solicitation {len(probes.times)} from {obs.src}",
                f"at most MAX_RTR_SOLICITATIONS = {self.v.max_rtr_solicitations}",
            )

    def router_advertised(self, obs: Observed) -> None:
        """An RA ends every node's soliciting (RFC 4861 §6.3.7)."""
        if isinstance(obs.icmp, wn.RouterAdvertisement):
            self._rs.clear()
