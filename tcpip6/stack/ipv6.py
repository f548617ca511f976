"""The IPv6 layer: the receive path (RFC 8200 §4 header chain) and the send path.

Receive: fixed-header checks -> destination is one of our receive addresses (ADE) or a
joined group -> extension headers processed in order -> protocol switch. Send: route
(next-hop determination), source selection, header, link-layer resolution.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv6Address
from typing import TYPE_CHECKING, TypeVar

from tcpip6.stack.fragment import (
    FragmentDropped,
    Reassembler,
    ReassemblyAction,
    SendParameterProblem,
    SendTimeExceeded,
    fragment_packet,
)
from tcpip6.stack.ipsec.layer import IPSEC_PROTOCOLS
from tcpip6.wire import WireError
from tcpip6.wire import ext as wire_ext
from tcpip6.wire import icmpv6 as wire_icmp
from tcpip6.wire import ipv6 as wire_ipv6
from tcpip6.wire import mobility as wire_mh
from tcpip6.wire.gso import segment_tcp, tcp_header_len
from tcpip6.wire.ipv6 import Ipv6Header
from tcpip6.wire.values import quick_init

if TYPE_CHECKING:
    from tcpip6.stack.host import Host
    from tcpip6.stack.interface import Interface


@quick_init
@dataclass(frozen=True, slots=True)
class Delivery:
    """What an upper-layer protocol receives from the protocol switch."""

    interface: Interface
    header: Ipv6Header
    #: The whole IPv6 packet as received (reassembled if it was fragmented).
    packet: bytes
    #: Offset of this protocol's header inside ``packet``.
    offset: int
    now: float
    #: Whether the packet came in a fragment header (RFC 6980: ND must not).
    fragmented: bool = False
    #: The Next Header value that named this protocol (UDP and UDP-Lite share a handler).
    protocol: int = -1

    @property
    def payload(self) -> memoryview:
        return memoryview(self.packet)[self.offset :]


ProtocolHandler = Callable[[Delivery], None]


@dataclass(frozen=True, slots=True)
class ControlMessage:
    """An ICMPv6 error about a packet this host sent, for the upper-layer protocol that
    sent it (the control-message entry of the protocol switch, MSR IPv6 §3.3)."""

    interface: Interface
    now: float
    #: Who sent the error (a router on the path, or the destination).
    reporter: IPv6Address
    error: wire_icmp.ErrorMessage
    #: The fixed header of the packet we sent, as quoted in the error.
    invoking_header: Ipv6Header
    #: The quoted upper-layer header and data (as much as the error carried).
    upper: bytes
    #: The upper-layer protocol of the packet we sent (its last Next Header value).
    protocol: int


ControlHandler = Callable[[ControlMessage], None]


#: Options this host recognises in Hop-by-Hop and Destination Options headers (Router
#: Alert, RFC 2711, comes with MLD).
KNOWN_OPTIONS = frozenset({wire_ext.PAD1, wire_ext.PADN, wire_ext.ROUTER_ALERT})
#: Pad1 and PadN (RFC 8200 §4.2), and the most padding in a row this host accepts: an
#: options header never needs more than 7 octets to reach its 8-octet multiple.
_PADDING = frozenset({wire_ext.PAD1, wire_ext.PADN})
MAX_PADDING = 7
#: Hop-by-Hop adds the Jumbo Payload option (RFC 2675 §2), recognised for its errors.
HOP_BY_HOP_OPTIONS = KNOWN_OPTIONS | {wire_ext.JUMBO_PAYLOAD}
#: The Home Address option (RFC 6275 §6.3), recognised in Destination Options by a host
#: that runs Mobile IPv6 (``host.mobility``).
HAO_OPTIONS = frozenset({wire_mh.HOME_ADDRESS_OPTION})
_Ext = TypeVar("_Ext", wire_ext.OptionsHeader, wire_ext.RoutingHeader)
#: ::1 (RFC 4291 §2.5.3) as the 16 octets of an address field.
_LOOPBACK_OCTETS = wire_ipv6.LOOPBACK.packed


#: What the Mobile IPv6 send hook leaves alone: packets that already carry a routing header
#: and the Mobility Header's own messages, which RFC 6275 §9.4 and RFC 6275 §9.5.4 route themselves.
_MIP6_OWN = frozenset({wire_ipv6.IPPROTO_ROUTING, wire_mh.IPPROTO_MH})


#: Neighbor Discovery's messages (RS, RA, NS, NA, Redirect: RFC 4861 §4) stay on the link.
_ND_TYPES = frozenset(range(133, 138))


def _neighbor_discovery(next_header: int, payload: bytes) -> bool:
    """Whether ``payload`` is an ND message, which a correspondent never sends through a
    binding: it is for the node on the link, never the care-of address (RFC 4861 §4)."""
    return next_header == wire_ipv6.IPPROTO_ICMPV6 and bool(payload) and payload[0] in _ND_TYPES


def _jumbo_payload_error(hdr: Ipv6Header, opt: wire_ext.Option, opt_off: int) -> int | None:
    """The Parameter Problem (code 0) pointer for a Jumbo Payload option at ``opt_off`` of
    a Hop-by-Hop header, or None when the option is valid. The option has the shape
    ``_jumbo_payload_well_formed`` checks."""
    # RFC 2675 §3: a Jumbo Payload Length of 65,535 or less: the pointer is the high-order
    # octet of that field.
    if int.from_bytes(opt.data, "big") <= 0xFFFF:
        return opt_off + 2
    # RFC 2675 §3: a valid option and a non-zero Payload Length: the pointer is the Option
    # Type field of the Jumbo Payload option.
    if hdr.payload_length != 0:
        return opt_off
    return None


def _jumbo_payload_well_formed(opt: wire_ext.Option, opt_off: int) -> bool:
    """RFC 2675 §2: Opt Data Len 4, alignment 4n+2. RFC 2675 §3 names no error for a
    wrong shape; the packet is dropped silently, as Linux does."""
    return len(opt.data) == 4 and opt_off % 4 == 2


class Ipv6Layer:
    """RFC 8200 receive path for one host."""

    def __init__(self, host: Host) -> None:
        self.host = host
        #: RFC 8200 §4.5 reassembly; the context of a fragment is its interface.
        self.reassembler: Reassembler[Interface] = Reassembler(label=f"{host.name} ")

    # -- reassembly (RFC 8200 §4.5) --------------------------------------------------------
    def _fragment(
        self, iface: Interface, packet: bytes, off: int, nh_pointer: int, now: float
    ) -> None:
        c = self.host.ip
        if len(packet) < off + wire_ext.FragmentHeader.HEADER_LEN:
            c.ext_header_malformed_drop += 1
            return
        c.fragments_received += 1
        self._apply(self.reassembler.add(packet, off, nh_pointer, now, iface), now)

    def next_deadline(self) -> float | None:
        """When the oldest reassembly buffer expires."""
        return self.reassembler.next_deadline()

    def poll(self, now: float) -> None:
        """Expire reassembly buffers (RFC 8200 §4.5: Time Exceeded code 1)."""
        self._apply(self.reassembler.poll(now), now)

    def _apply(self, actions: list[ReassemblyAction[Interface]], now: float) -> None:
        c = self.host.ip
        icmp = self.host.icmpv6
        for a in actions:
            if isinstance(a, FragmentDropped):
                setattr(c, a.reason, getattr(c, a.reason) + 1)
                if a.packet_lost:
                    c.reassembly_failed_drop += 1
            elif isinstance(a, SendTimeExceeded):
                hdr = Ipv6Header.parse(a.packet)
                msg = wire_icmp.TimeExceeded(
                    wire_icmp.TIME_EXCEEDED_REASSEMBLY, wire_icmp.truncate_invoking(a.packet)
                )
                icmp.send_error(a.context, hdr, a.packet, msg, now)
            elif isinstance(a, SendParameterProblem):
                hdr = Ipv6Header.parse(a.packet)
                icmp.parameter_problem(a.context, hdr, a.packet, a.code, a.pointer, now)
            else:
                if a.atomic:
                    c.atomic_fragments += 1
                else:
                    c.reassembly_ok += 1
                hdr = Ipv6Header.parse(a.packet)
                self._walk(
                    a.context,
                    hdr,
                    a.packet,
                    a.next_header,
                    a.offset,
                    a.next_header_pointer,
                    now,
                    first=False,  # after a Fragment header, even at offset 40
                    fragmented=True,
                )

    # -- receive ----------------------------------------------------------------------
    def receive(self, iface: Interface, packet: bytes, now: float) -> None:
        host = self.host
        c = host.ip
        c.in_receives += 1
        # What wire_ipv6.split checks, without the payload view nobody here reads.
        try:
            hdr = Ipv6Header.parse(packet)
        except WireError:
            c.truncated_drop += 1
            return
        end = Ipv6Header.HEADER_LEN + hdr.payload_length
        if len(packet) < end:
            c.truncated_drop += 1
            return
        if hdr.payload_length or hdr.next_header != wire_ipv6.HOPOPT:
            packet = packet[:end]
        # else RFC 2675 §3: the length is in a Jumbo Payload option, if there is one.
        # The address tests read the octets the header was parsed from (octets 8-23 the
        # source, 24-39 the destination): no address object is asked on every packet.
        if packet[8] == 0xFF:  # RFC 4291 §2.7: a multicast address is never a source
            c.source_multicast_drop += 1
            return
        if packet[8:24] == _LOOPBACK_OCTETS and iface.link.kind != "loopback":  # RFC 4291 §2.5.3
            c.source_loopback_drop += 1
            return
        if packet[24:40] == _LOOPBACK_OCTETS and iface.link.kind != "loopback":  # RFC 4291 §2.5.3
            c.destination_not_ours_drop += 1
            return
        if not host.accepts_destination(iface, hdr.dst):
            host.not_for_us(iface, hdr, packet, now)
            return
        # walk_chain, one call nearer (every packet).
        self._walk(iface, hdr, packet, hdr.next_header, Ipv6Header.HEADER_LEN, 6, now, first=True)

    def walk_chain(self, iface: Interface, hdr: Ipv6Header, packet: bytes, now: float) -> None:
        """RFC 8200 §4.1: process extension headers strictly in the order they occur."""
        self._walk(iface, hdr, packet, hdr.next_header, Ipv6Header.HEADER_LEN, 6, now, first=True)

    def _walk(
        self,
        iface: Interface,
        hdr: Ipv6Header,
        packet: bytes,
        nh: int,
        off: int,
        nh_pointer: int,
        now: float,
        *,
        first: bool,
        fragmented: bool = False,
    ) -> None:
        """Walk the chain from the header ``nh`` at ``off``, named by the Next Header field
        at ``nh_pointer``; ``first`` when that is the header right after the IPv6 header as
        received; ``fragmented`` for a packet made whole from fragments."""
        c = self.host.ip
        jumbogram = False
        while True:
            if nh == wire_ipv6.HOPOPT:
                if not first:
                    # RFC 8200 §4.1: Hop-by-Hop only immediately after the IPv6 header;
                    # otherwise it is an unrecognised Next Header value.
                    c.hop_by_hop_not_first_drop += 1
                    self.host.icmpv6.parameter_problem(
                        iface, hdr, packet, wire_icmp.PARAM_PROBLEM_NEXT_HEADER, nh_pointer, now
                    )
                    return
                length = self._options_header(iface, hdr, packet, off, now, HOP_BY_HOP_OPTIONS)
                if length is None:
                    return
                # Payload Length 0 got past the RFC 2675 §3 checks: a valid Jumbo option.
                jumbogram = hdr.payload_length == 0
            elif nh == wire_ipv6.IPPROTO_DSTOPTS:
                mobility = self.host.mobility
                known = KNOWN_OPTIONS if mobility is None else KNOWN_OPTIONS | HAO_OPTIONS
                length = self._options_header(iface, hdr, packet, off, now, known)
                if length is None:
                    return
                if mobility is not None:
                    # Mobile IPv6 hook (RFC 6275 §9.3.1): a Home Address option puts the
                    # home address in the source, or drops the packet.
                    swapped = mobility.home_address_option(hdr, packet, off, now)
                    if swapped is None:
                        return
                    hdr = swapped
            elif nh == wire_ipv6.IPPROTO_ROUTING:
                routed = self._routing_header(iface, hdr, packet, off, now)
                if routed is None:
                    return
                length, hdr = routed
            elif nh == wire_ipv6.IPPROTO_FRAGMENT and jumbogram:
                # RFC 2675 §3: a Fragment header in a packet with a valid Jumbo Payload
                # option: code 0, pointer at the first octet of the Fragment header.
                c.jumbo_payload_error_drop += 1
                self.host.icmpv6.parameter_problem(
                    iface, hdr, packet, wire_icmp.PARAM_PROBLEM_HEADER_FIELD, off, now
                )
                return
            elif nh == wire_ipv6.IPPROTO_FRAGMENT:
                # RFC 8200 §4.5: the headers before the Fragment header were processed
                # on arrival; the reassembled packet goes on after it (so Hop-by-Hop is
                # never processed twice).
                self._fragment(iface, packet, off, nh_pointer, now)
                return
            elif nh == wire_ipv6.IPPROTO_NONE:
                c.no_next_header += 1  # RFC 8200 §4.7: nothing follows
                return
            elif jumbogram:
                # RFC 2675 §4 changes every upper layer's lengths; none here does that, and
                # no link of this host is bigger than 65,575 octets (RFC 2675 §3).
                c.jumbogram_drop += 1
                return
            else:
                delivery = Delivery(iface, hdr, packet, off, now, fragmented, nh)
                # -- IPsec hook (RFC 4301 §5.2): the inbound policy decides first (when
                # there is one: ipsec.enabled, the SPD's entries read in place).
                ipsec = self.host.ipsec
                if (
                    ipsec.spd.entries
                    and nh not in IPSEC_PROTOCOLS
                    and not ipsec.inbound_permits(delivery)
                ):
                    return
                handler = self.host.protocols.get(nh)
                # RFC 3542 §3: raw sockets of this protocol get a copy (the stack's own
                # handler, if any, still processes the packet); ICMPv6 hands them theirs
                # once its checksum is verified (RFC 3542 §3.1).
                # (An empty table of raw sockets, the usual case, asked without the call.)
                raw = (
                    nh != wire_ipv6.IPPROTO_ICMPV6
                    and bool(self.host.raw_sockets)
                    and self.host.deliver_raw(delivery)
                )
                if handler is None:
                    if raw:
                        c.in_delivers += 1
                        return
                    # RFC 8200 §4: unrecognised Next Header -> Parameter Problem code 1,
                    # pointer at the Next Header field that named it.
                    c.unknown_next_header_drop += 1
                    self.host.icmpv6.parameter_problem(
                        iface, hdr, packet, wire_icmp.PARAM_PROBLEM_NEXT_HEADER, nh_pointer, now
                    )
                    return
                c.in_delivers += 1
                handler(delivery)
                return
            # Generic extension header: next header in its first octet.
            nh = packet[off]
            nh_pointer = off
            off += length
            first = False

    def continue_chain(
        self,
        iface: Interface,
        hdr: Ipv6Header,
        packet: bytes,
        nh: int,
        off: int,
        nh_pointer: int,
        now: float,
        *,
        fragmented: bool = False,
    ) -> None:
        """Go on along the chain of ``packet`` from the header ``nh`` at ``off`` (IPsec
        resumes here once it removed AH or ESP, RFC 4301 §5.2)."""
        first = off == Ipv6Header.HEADER_LEN
        self._walk(iface, hdr, packet, nh, off, nh_pointer, now, first=first, fragmented=fragmented)

    def _parse_extension(
        self,
        parse: Callable[[memoryview], _Ext],
        iface: Interface,
        hdr: Ipv6Header,
        packet: bytes,
        off: int,
        now: float,
    ) -> _Ext | None:
        """The extension header at ``off``, parsed; or, when it is malformed, None, counted
        and answered with a Parameter Problem pointing at its length octet (RFC 8200 §4)."""
        try:
            return parse(memoryview(packet)[off:])
        except WireError:
            self.host.ip.ext_header_malformed_drop += 1
            self.host.icmpv6.parameter_problem(
                iface, hdr, packet, wire_icmp.PARAM_PROBLEM_HEADER_FIELD, off + 1, now
            )
            return None

    def _options_header(
        self,
        iface: Interface,
        hdr: Ipv6Header,
        packet: bytes,
        off: int,
        now: float,
        known: frozenset[int] = KNOWN_OPTIONS,
    ) -> int | None:
        """Hop-by-Hop / Destination Options (RFC 8200 §4.2-§4.3, RFC 8200 §4.6). Returns the
        header length, or None when the packet was discarded."""
        c = self.host.ip
        opts = self._parse_extension(wire_ext.OptionsHeader.parse, iface, hdr, packet, off, now)
        if opts is None:
            return None
        opt_off = off + 2
        padding = 0
        jumbo = False
        for opt in opts.options:
            # RFC 4942 §2.1.9.5 advises, and RFC 8504 §5.3 allows, refusing padding that
            # could hide data: RFC 8200 §4.2 never needs more than 7 octets in a row
            # (Linux drops such packets too). Silently, as Linux does.
            padding = padding + opt.buffer_len() if opt.type in _PADDING else 0
            if padding > MAX_PADDING:
                c.padding_too_long_drop += 1
                return None
            if (
                isinstance(opt, wire_ext.Option)
                and opt.type == wire_ext.JUMBO_PAYLOAD
                and opt.type in known
            ):
                if not _jumbo_payload_well_formed(opt, opt_off):
                    c.jumbo_payload_malformed_drop += 1
                    return None
                pointer = _jumbo_payload_error(hdr, opt, opt_off)
                if pointer is not None:
                    c.jumbo_payload_error_drop += 1
                    self.host.icmpv6.parameter_problem(
                        iface, hdr, packet, wire_icmp.PARAM_PROBLEM_HEADER_FIELD, pointer, now
                    )
                    return None
                jumbo = True
            elif opt.type not in known:
                # RFC 8200 §4.2: the two high-order bits say what to do with it.
                action = wire_ext.option_action(opt.type)
                if action != wire_ext.ACTION_SKIP:
                    c.unknown_option_drop += 1
                    if action == wire_ext.ACTION_DISCARD_ICMP or (
                        action == wire_ext.ACTION_DISCARD_ICMP_UNLESS_MULTICAST
                        and not hdr.dst.is_multicast
                    ):
                        # RFC 8200 §4.2: code 2, pointer at the option type.
                        self.host.icmpv6.parameter_problem(
                            iface,
                            hdr,
                            packet,
                            wire_icmp.PARAM_PROBLEM_OPTION,
                            opt_off,
                            now,
                            allow_multicast=True,
                        )
                    return None
            opt_off += opt.buffer_len()
        if wire_ext.JUMBO_PAYLOAD in known and hdr.payload_length == 0 and not jumbo:
            # RFC 2675 §3: Payload Length 0, Hop-by-Hop and no Jumbo Payload option: code 0,
            # pointer at the high-order octet of the Payload Length (offset 4).
            c.jumbo_payload_error_drop += 1
            self.host.icmpv6.parameter_problem(
                iface, hdr, packet, wire_icmp.PARAM_PROBLEM_HEADER_FIELD, 4, now
            )
            return None
        return opts.buffer_len()

    def _routing_header(
        self, iface: Interface, hdr: Ipv6Header, packet: bytes, off: int, now: float
    ) -> tuple[int, Ipv6Header] | None:
        """RFC 8200 §4.4; type 0 deprecated by RFC 5095; type 2 per RFC 6275 §6.4. Returns
        the header's length and the fixed header the rest of the chain sees (a type 2
        header makes the home address the destination), or None when it was discarded."""
        c = self.host.ip
        rh = self._parse_extension(wire_ext.RoutingHeader.parse, iface, hdr, packet, off, now)
        if rh is None:
            return None
        if rh.segments_left == 0:
            # RFC 8200 §4.4: ignore the header and continue with the next one.
            return rh.buffer_len(), hdr
        if rh.routing_type == wire_ext.ROUTING_TYPE_2:
            return self._type2_routing_header(iface, hdr, rh)
        # RFC 5095 §3 / RFC 8200 §4.4: an unrecognised (or type 0) routing header with
        # Segments Left non-zero: Parameter Problem code 0 at the Routing Type field.
        c.routing_header_drop += 1
        self.host.icmpv6.parameter_problem(
            iface, hdr, packet, wire_icmp.PARAM_PROBLEM_HEADER_FIELD, off + 2, now
        )
        return None

    def _type2_routing_header(
        self, iface: Interface, hdr: Ipv6Header, rh: wire_ext.RoutingHeader
    ) -> tuple[int, Ipv6Header] | None:
        """RFC 6275 §6.4: a packet to us (the care-of address) carrying the home address.
        The length is 2, Segments Left 1 and the home address one of ours, or the packet
        is silently discarded; then the home address becomes the destination (also of
        the upper-layer checksum, RFC 8200 §8.1) and the chain goes on."""
        c = self.host.ip
        try:
            t2 = wire_ext.Type2RoutingHeader.from_generic(rh)
        except WireError:
            c.routing_type2_drop += 1
            return None
        if t2.segments_left != 1 or not self.host.is_local_unicast(iface, t2.home_address):
            c.routing_type2_drop += 1
            return None
        return t2.buffer_len(), dataclasses.replace(hdr, dst=t2.home_address)

    # -- send ---------------------------------------------------------------------------
    def send(
        self,
        dst: IPv6Address,
        next_header: int,
        payload: bytes,
        now: float,
        *,
        src: IPv6Address | None = None,
        interface: Interface | None = None,
        hop_limit: int | None = None,
        traffic_class: int = 0,
        flow_label: int = 0,
        hop_by_hop: tuple[wire_ext.TlvOption, ...] = (),
        destination_options: tuple[wire_ext.TlvOption, ...] = (),
    ) -> bool:
        """Route, pick a source, and send. False (and a counter) when it cannot.
        ``hop_by_hop`` and ``destination_options`` are options the sender adds (see
        :meth:`send_on`)."""
        path = self.host.route_with_source(dst, interface, src, now)
        if path is None:
            return False
        iface, next_hop, src = path
        return self.send_on(
            iface,
            next_hop,
            src,
            dst,
            next_header,
            payload,
            now,
            hop_limit=hop_limit,
            traffic_class=traffic_class,
            flow_label=flow_label,
            hop_by_hop=hop_by_hop,
            destination_options=destination_options,
        )

    def send_on(
        self,
        iface: Interface,
        next_hop: IPv6Address,
        src: IPv6Address,
        dst: IPv6Address,
        next_header: int,
        payload: bytes,
        now: float,
        *,
        hop_limit: int | None = None,
        traffic_class: int = 0,
        flow_label: int = 0,
        link_address: bytes | None = None,
        hop_by_hop: tuple[wire_ext.TlvOption, ...] = (),
        destination_options: tuple[wire_ext.TlvOption, ...] = (),
        multicast_loop: bool = False,
    ) -> bool:
        """Build the IPv6 header and hand the packet to the link: to ``link_address`` when
        given (a NUD probe), else resolving the next hop. Non-empty ``hop_by_hop`` or
        ``destination_options`` add those headers, padded, in the order of RFC 8200 §4.1
        (Hop-by-Hop first; Destination Options for the final destination last, in the
        fragmentable part). With ``multicast_loop`` (a socket's IPV6_MULTICAST_LOOP) a
        packet to a group this interface has joined is also received here."""
        c = self.host.ip
        c.out_requests += 1
        if hop_limit is None:
            # RFC 3542 §6.3: multicast hop limit defaults to 1; unicast uses CurHopLimit.
            hop_limit = 1 if wire_ipv6.is_multicast(dst) else iface.params.cur_hop_limit
        mobile = self.host.mobile_node
        if mobile is not None and next_header != wire_mh.IPPROTO_MH and mobile.away_from(src):
            # Mobile IPv6 hook (RFC 6275 §11.3.1): to a correspondent with a binding, from
            # the care-of address with the home address in a Home Address option (at 8n+6,
            # RFC 6275 §6.3); the upper-layer checksum stays over the home address.
            care_of = mobile.route_optimised(dst, now)
            if care_of is not None:
                hao = (wire_ext.pad_n(4), wire_mh.home_address_option(src))
                destination_options = (*hao, *destination_options)
                src = care_of
        if destination_options:
            opts = wire_ext.pad_options(destination_options)
            payload = wire_ext.DestinationOptions(next_header, opts).build() + payload
            next_header = wire_ipv6.IPPROTO_DSTOPTS
        if (
            self.host.mobility is not None
            and next_header not in _MIP6_OWN
            and not _neighbor_discovery(next_header, payload)
        ):
            # Mobile IPv6 hook (RFC 6275 §9.3.2): to a home address with a binding, send to
            # the care-of address with a type 2 routing header carrying the home address.
            care_of = self.host.mobility.route_optimise(dst)
            if care_of is not None:
                payload = wire_ext.Type2RoutingHeader(next_header, dst).build() + payload
                next_header = wire_ipv6.IPPROTO_ROUTING
                dst = care_of
                route = self.host.route(care_of, None, now)
                if route is not None:
                    iface, next_hop = route
        if hop_by_hop:
            opts = wire_ext.pad_options(hop_by_hop)
            payload = wire_ext.HopByHopOptions(next_header, opts).build() + payload
            next_header = wire_ipv6.HOPOPT
        packet = (
            Ipv6Header.build_fields(
                traffic_class, flow_label, len(payload), next_header, hop_limit, src, dst
            )
            + payload
        )
        if mobile is not None and mobile.away_from(src):
            # Mobile IPv6 hook (RFC 6275 §11.3.1): from the home address while away from
            # home, the packet goes to the home agent in an IPv6-in-IPv6 tunnel (RFC 2473).
            tunnelled = mobile.reverse_tunnel(packet, now)
            if tunnelled is None:
                return False  # no care-of address on this link yet (counted)
            iface, next_hop, dst, packet = tunnelled
        # -- IPsec hook (RFC 4301 §5.1, RFC 4301 §7): SPD and SAs before fragmentation
        # (ipsec.enabled, the SPD's entries read in place: every packet sent).
        if self.host.ipsec.spd.entries:
            protected = self.host.ipsec.outbound(packet, now)
            if protected is None:
                return False
            if protected is not packet:
                packet = protected
                outer_dst = IPv6Address(packet[24:40])
                if outer_dst != dst:  # tunnel mode: route to the tunnel's far end
                    route = self.host.route(outer_dst, None, now)
                    if route is None:
                        self.host.ipsec.counters.out_no_route_drop += 1
                        return False
                    iface, next_hop = route
                    dst = outer_dst
        local = self.host.local_interface_for(dst)
        if local is not None:
            # To ourselves, never fragmented: through the loopback interface when there is
            # one (MSR IPv6 did so), else straight to the receive path; either way after
            # this call.
            lo = self.host.loopback_interface()
            if lo is not None:
                lo.transmit(packet, b"", now)
            else:
                self.host.loop_back(local, packet)
            c.out_transmits += 1
            return True
        if multicast_loop and wire_ipv6.is_multicast(dst) and iface.in_group(dst):
            self.host.loop_back(iface, packet)  # RFC 3493 §5.2: IPV6_MULTICAST_LOOP
        packets = [packet]
        if len(packet) > wire_ipv6.MIN_MTU:
            mtu = self._mtu(iface, dst, now)
            if len(packet) > mtu:
                # RFC 8200 §4.5, RFC 8200 §5: the source fragments what does not fit the path MTU,
                # with an unpredictable Identification (RFC 7739 §5).
                packets = fragment_packet(packet, mtu, self.host.rng.getrandbits(32))
                if not packets:
                    c.too_big_drop += 1
                    return False
                c.fragmented_ok += 1
                c.fragments_created += len(packets)
        for p in packets:
            self._transmit(iface, next_hop, dst, p, now, link_address)
        c.out_transmits += len(packets)
        return True

    # -- segmentation offload (a link that cuts one large TCP segment into MTU-sized ones) --
    def segment_offload_size(self, iface: Interface, src: IPv6Address, dst: IPv6Address) -> int:
        """The largest IPv6 packet with one TCP segment from ``src`` to ``dst`` that
        :meth:`send_tcp_segments` hands to ``iface``'s link whole (0: none): only a plain
        IPv6 header before the TCP header (no IPsec, no Mobile IPv6 headers or tunnel), to
        another node, over a link that segments."""
        size = iface.link.gso_max_size
        if not size or self.host.ipsec.enabled or wire_ipv6.is_multicast(dst):
            return 0
        mobile = self.host.mobile_node
        if mobile is not None and mobile.away_from(src):
            return 0
        if self.host.mobility is not None and self.host.mobility.route_optimise(dst) is not None:
            return 0
        if self.host.local_interface_for(dst) is not None:
            return 0
        return size

    def send_tcp_segments(
        self,
        iface: Interface,
        next_hop: IPv6Address,
        src: IPv6Address,
        dst: IPv6Address,
        segment: bytes,
        gso_size: int,
        now: float,
    ) -> None:
        """One TCP segment with more data than a segment may carry (``gso_size`` octets a
        piece; its checksum field the pseudo-header sum, ``TcpSegment.build_partial``):
        whole to a link that cuts it up (segmentation offload) when the neighbor's link
        address is known and every piece fits the path MTU; else cut here
        (:func:`tcpip6.wire.gso.segment_tcp`, the same pieces), each sent as usual."""
        hop_limit = iface.params.cur_hop_limit
        packet = (
            Ipv6Header.build_fields(0, 0, len(segment), wire_ipv6.IPPROTO_TCP, hop_limit, src, dst)
            + segment
        )
        piece = Ipv6Header.HEADER_LEN + tcp_header_len(packet) + gso_size
        if len(packet) <= self.segment_offload_size(iface, src, dst) and piece <= self._mtu(
            iface, dst, now
        ):
            link_address = iface.neighbors.ready(next_hop)
            if link_address is not None and iface.transmit_segments(
                packet, link_address, gso_size, now
            ):
                c = self.host.ip
                c.out_requests += 1
                c.out_transmits += 1
                return
        for p in segment_tcp(packet, gso_size):
            self.send_on(iface, next_hop, src, dst, wire_ipv6.IPPROTO_TCP, p[40:], now)

    def _mtu(self, iface: Interface, dst: IPv6Address, now: float) -> int:
        """The MTU to send with: the path MTU when the route cache knows one, else the
        link MTU; never below the IPv6 minimum (RFC 8200 §5)."""
        pmtu = self.host.routes.path_mtu(dst, now, iface)
        return max(wire_ipv6.MIN_MTU, iface.mtu if pmtu is None else pmtu)

    def _transmit(
        self,
        iface: Interface,
        next_hop: IPv6Address,
        dst: IPv6Address,
        packet: bytes,
        now: float,
        link_address: bytes | None,
    ) -> None:
        if link_address is not None:
            iface.transmit(packet, link_address, now)
        elif wire_ipv6.is_multicast(dst):
            iface.transmit(packet, iface.link.map_multicast(dst), now)
        elif not iface.link.uses_nd:
            # A link without ND (a configured tunnel): a static neighbor's link address, as
            # MSR IPv6's no-ND NCE state; else the link maps the destination itself.
            nce = iface.neighbors.get(next_hop)
            dst_link = nce.link_address if nce is not None and nce.link_address else b""
            iface.transmit(packet, dst_link, now)
        else:
            iface.resolve(next_hop, packet, now)
