"""ICMPv6 (RFC 4443): echo, error generation with its rules and rate limit, and dispatch
of the informational messages that ND (RFC 4861) and MLD (RFC 2710) carry.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv6Address
from typing import TYPE_CHECKING, Any

from tcpip6.wire import ChecksumError, WireError
from tcpip6.wire import ext as wire_ext
from tcpip6.wire import icmpv6 as wire_icmp
from tcpip6.wire import ipv6 as wire_ipv6
from tcpip6.wire.ipv6 import Ipv6Header

if TYPE_CHECKING:
    from tcpip6.stack.host import Host
    from tcpip6.stack.interface import Interface
    from tcpip6.stack.ipv6 import Delivery


@dataclass(frozen=True, slots=True)
class EchoReplyReceived:
    """An echo reply delivered to the application (``ping6``)."""

    now: float
    src: IPv6Address
    dst: IPv6Address
    identifier: int
    sequence: int
    data: bytes
    hop_limit: int


@dataclass(frozen=True, slots=True)
class IcmpErrorReceived:
    """An ICMPv6 error delivered to the application or upper layer that caused it."""

    now: float
    src: IPv6Address
    type: int
    code: int
    parameter: int
    invoking: bytes


#: A handler for one ICMPv6 informational type (ND and MLD register theirs).
MessageHandler = Callable[["Delivery", Any], None]


class Icmpv6:
    """The ICMPv6 protocol module of one host (next header 58)."""

    def __init__(self, host: Host, queue_limit: int = 256) -> None:
        self.host = host
        #: Echo replies waiting for the application, bounded (oldest dropped and counted).
        self.echo_replies: deque[EchoReplyReceived] = deque(maxlen=queue_limit)
        self.echo_replies_dropped = 0
        self.errors_received: deque[IcmpErrorReceived] = deque(maxlen=queue_limit)
        #: Dispatch table for informational types other than echo: type -> handler.
        self.handlers: dict[int, MessageHandler] = {}
        #: RFC 4443 §4.1: every node MUST answer echo requests (a knob for experiments).
        self.answer_echo = True

    # -- receive --------------------------------------------------------------------------
    def receive(self, d: Delivery) -> None:
        c = self.host.icmp
        hdr = d.header
        c.in_msgs += 1
        try:
            # d.payload, the view a property would make (every message received).
            msg = wire_icmp.parse_icmpv6(memoryview(d.packet)[d.offset :], hdr.src, hdr.dst)
        except ChecksumError:
            c.bad_checksum_drop += 1
            c.in_errors += 1
            return
        except WireError:
            c.malformed_drop += 1
            c.in_errors += 1
            return
        if self.host.raw_sockets:  # (asked without a call when there are none)
            self.host.deliver_raw(d)  # RFC 3542 §3.1: raw sockets see only good checksums
        if isinstance(msg, wire_icmp.EchoRequest):
            c.in_echo_requests += 1
            self._answer_echo(d, msg)
        elif isinstance(msg, wire_icmp.EchoReply):
            c.in_echo_replies += 1
            if len(self.echo_replies) == self.echo_replies.maxlen:
                self.echo_replies_dropped += 1
            self.echo_replies.append(
                EchoReplyReceived(
                    d.now,
                    hdr.src,
                    hdr.dst,
                    msg.identifier,
                    msg.sequence,
                    msg.data,
                    hdr.hop_limit,
                )
            )
        elif isinstance(msg, _ERROR_CLASSES):
            self._error_received(d, msg)
        elif msg.type in self.handlers:
            self.handlers[msg.type](d, msg)
        else:
            # RFC 4443 §2.4 (b): unknown informational messages are silently discarded.
            c.unknown_type_drop += 1

    def _answer_echo(self, d: Delivery, msg: wire_icmp.EchoRequest) -> None:
        if not self.answer_echo:
            return
        hdr = d.header
        # RFC 4443 §4.2: reply from the address the request was sent to; for a request to
        # a multicast address the source is chosen as usual.
        src = None if wire_ipv6.is_multicast(hdr.dst) else hdr.dst
        reply = wire_icmp.EchoReply(msg.identifier, msg.sequence, msg.data)
        if self.send(hdr.src, reply, d.now, src=src, interface=d.interface):
            self.host.icmp.out_echo_replies += 1

    def _error_received(self, d: Delivery, msg: wire_icmp.ErrorMessage) -> None:
        self.host.icmp.increment(_ERROR_COUNTERS[type(msg)])
        parameter = wire_icmp.error_parameter(msg)
        self.errors_received.append(
            IcmpErrorReceived(d.now, d.header.src, msg.type, msg.code, parameter, msg.invoking)
        )
        self.host.icmp_error_received(d, msg)

    # -- send -----------------------------------------------------------------------------
    def send(
        self,
        dst: IPv6Address,
        msg: wire_icmp.Icmpv6Message,
        now: float,
        *,
        src: IPv6Address | None = None,
        interface: Interface | None = None,
        hop_limit: int | None = None,
        hop_by_hop: tuple[wire_ext.TlvOption, ...] = (),
        destination_options: tuple[wire_ext.TlvOption, ...] = (),
    ) -> bool:
        """Send an ICMPv6 message; the checksum needs the source, so pick it first."""
        host = self.host
        path = host.route_with_source(dst, interface, src, now)
        if path is None:
            return False
        iface, next_hop, src = path
        return self.send_on(
            iface,
            next_hop,
            src,
            dst,
            msg,
            now,
            hop_limit=hop_limit,
            hop_by_hop=hop_by_hop,
            destination_options=destination_options,
        )

    def send_on(
        self,
        iface: Interface,
        next_hop: IPv6Address,
        src: IPv6Address,
        dst: IPv6Address,
        msg: wire_icmp.Icmpv6Message,
        now: float,
        *,
        hop_limit: int | None = None,
        link_address: bytes | None = None,
        hop_by_hop: tuple[wire_ext.TlvOption, ...] = (),
        destination_options: tuple[wire_ext.TlvOption, ...] = (),
    ) -> bool:
        """Send an ICMPv6 message on ``iface`` to ``next_hop`` from ``src``, chosen
        already (the checksum's pseudo-header needs it): ND and MLD send on one link."""
        body = msg.build(src, dst)
        self.host.icmp.out_msgs += 1
        return self.host.ipv6.send_on(
            iface,
            next_hop,
            src,
            dst,
            wire_ipv6.IPPROTO_ICMPV6,
            body,
            now,
            hop_limit=hop_limit,
            link_address=link_address,
            hop_by_hop=hop_by_hop,
            destination_options=destination_options,
        )

    def send_echo_request(
        self,
        dst: IPv6Address,
        identifier: int,
        sequence: int,
        data: bytes,
        now: float,
        *,
        interface: Interface | None = None,
        hop_limit: int | None = None,
    ) -> bool:
        req = wire_icmp.EchoRequest(identifier, sequence, data)
        sent = self.send(dst, req, now, interface=interface, hop_limit=hop_limit)
        if sent:
            self.host.icmp.out_echo_requests += 1
        return sent

    def send_error(
        self,
        iface: Interface,
        hdr: Ipv6Header,
        packet: bytes,
        msg: wire_icmp.ErrorMessage,
        now: float,
        *,
        allow_multicast: bool = False,
    ) -> bool:
        """Send ``msg`` about the offending ``packet``, unless RFC 4443 §2.4 (e) forbids it
        or the rate limit of RFC 4443 §2.4 (f) says not now."""
        c = self.host.icmp
        # (e.1) never about an ICMPv6 error message.
        if (
            hdr.next_header == wire_ipv6.IPPROTO_ICMPV6
            and len(packet) > Ipv6Header.HEADER_LEN
            and wire_icmp.is_error_type(packet[Ipv6Header.HEADER_LEN])
        ):
            c.error_suppressed += 1
            return False
        # (e.2, e.3) never about a packet to a multicast address, except Packet Too Big and
        # Parameter Problem code 2 for an option whose action bits say so (allow_multicast).
        if hdr.dst.is_multicast and not allow_multicast:
            c.error_suppressed += 1
            return False
        # (e.6) never when the source does not identify a single node.
        if hdr.src.is_unspecified or hdr.src.is_multicast:
            c.error_suppressed += 1
            return False
        # (f) rate limited per destination, with the token bucket kept in its RCE.
        if not self.host.routes.allow_icmp_error(hdr.src, now, iface):
            c.error_rate_limited += 1
            return False
        # The source of the error: the offending packet's destination, when it is ours.
        src = hdr.dst if self.host.is_local_unicast(iface, hdr.dst) else None
        if not self.send(hdr.src, msg, now, src=src, interface=iface):
            return False
        c.out_errors += 1
        c.increment("out" + _ERROR_COUNTERS[type(msg)][2:])
        return True

    def parameter_problem(
        self,
        iface: Interface,
        hdr: Ipv6Header,
        packet: bytes,
        code: int,
        pointer: int,
        now: float,
        *,
        allow_multicast: bool = False,
    ) -> bool:
        """RFC 4443 §3.4: the pointer is the offset of the problem in the packet."""
        msg = wire_icmp.ParameterProblem(code, wire_icmp.truncate_invoking(packet), pointer=pointer)
        return self.send_error(iface, hdr, packet, msg, now, allow_multicast=allow_multicast)


_ERROR_CLASSES = (
    wire_icmp.DestinationUnreachable,
    wire_icmp.PacketTooBig,
    wire_icmp.TimeExceeded,
    wire_icmp.ParameterProblem,
)
_ERROR_COUNTERS: dict[type, str] = {
    wire_icmp.DestinationUnreachable: "in_dest_unreachable",
    wire_icmp.PacketTooBig: "in_packet_too_big",
    wire_icmp.TimeExceeded: "in_time_exceeded",
    wire_icmp.ParameterProblem: "in_parameter_problem",
}
