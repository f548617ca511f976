"""UDP (RFC 768, checksum mandatory over IPv6: RFC 8200 §8.1) and UDP-Lite (RFC 3828).

The protocol module the protocol switch hands datagrams to (Next Header 17 and 136): it
checks each datagram, finds the endpoint bound to its destination port (the most specific
binding: local address and remote address/port when connected, RFC 768 leaves the rest to
the implementation), and hands it over; with nobody listening it answers ICMPv6
Destination Unreachable, port unreachable (RFC 4443 §3.1), never to a multicast. ICMPv6
errors about datagrams we sent come back through the control-message entry and go to
the endpoint that sent them. Endpoints are what :mod:`tcpip6.api.sockets` builds.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv6Address
from typing import TYPE_CHECKING, Protocol

from tcpip6.stack.counters import CounterSet
from tcpip6.wire import WireError
from tcpip6.wire import icmpv6 as wire_icmp
from tcpip6.wire import ipv6 as wire_ipv6
from tcpip6.wire.errors import ChecksumError
from tcpip6.wire.udp import HEADER_LEN, UdpDatagram, UdpLiteDatagram

if TYPE_CHECKING:
    from tcpip6.stack.host import Host
    from tcpip6.stack.interface import Interface
    from tcpip6.stack.ipv6 import ControlMessage, Delivery

#: RFC 6056 §3.2: the dynamic port range ephemeral ports are drawn from.
EPHEMERAL_LOW = 49152
EPHEMERAL_HIGH = 65535
UNSPECIFIED = wire_ipv6.UNSPECIFIED


@dataclass(frozen=True, slots=True)
class Received:
    """One datagram for an endpoint."""

    data: bytes
    src: IPv6Address
    src_port: int
    dst: IPv6Address
    interface: Interface
    hop_limit: int
    #: UDP-Lite: how many octets the checksum covered (RFC 3828 §3.3); UDP: all of them.
    coverage: int


class Endpoint(Protocol):
    """What the UDP module needs of a socket."""

    protocol: int
    local_address: IPv6Address
    local_port: int
    remote_address: IPv6Address | None
    remote_port: int
    #: RFC 3828 §3.3: the smallest coverage accepted (0: any, even partial).
    min_coverage: int

    def deliver(self, datagram: Received) -> None: ...

    def error_received(self, message: ControlMessage) -> None: ...


@dataclass
class UdpCounters(CounterSet):
    """RFC 4113 udpInDatagrams, udpNoPorts, udpInErrors, udpOutDatagrams, by protocol."""

    in_datagrams: int = 0
    no_ports: int = 0
    in_errors: int = 0
    bad_checksum: int = 0
    coverage_too_small_drop: int = 0
    out_datagrams: int = 0
    errors_to_endpoints: int = 0


class Udp:
    """UDP and UDP-Lite for one host; ``host.udp``."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self.counters = {
            wire_ipv6.IPPROTO_UDP: UdpCounters(),
            wire_ipv6.IPPROTO_UDPLITE: UdpCounters(),
        }
        #: (protocol, local port) -> the endpoints bound to it, most specific first.
        self.bindings: dict[tuple[int, int], list[Endpoint]] = {}
        for proto in self.counters:
            host.register_protocol(proto, self.receive, self.control)

    # -- ports ----------------------------------------------------------------------------
    def bind(self, endpoint: Endpoint, port: int) -> int:
        """Bind ``endpoint`` (its local address already set) to ``port`` (0: an ephemeral
        one, RFC 6056 §3.3.1 random). Raises OSError(EADDRINUSE) when taken."""
        proto = endpoint.protocol
        if port == 0:
            port = self._ephemeral(proto)
        for other in self.bindings.get((proto, port), []):
            if other.local_address in (endpoint.local_address, UNSPECIFIED) or (
                endpoint.local_address == UNSPECIFIED
            ):
                raise OSError(98, f"port {port} is in use")  # EADDRINUSE
        endpoint.local_port = port
        bound = self.bindings.setdefault((proto, port), [])
        bound.append(endpoint)
        bound.sort(key=_specificity, reverse=True)
        return port

    def unbind(self, endpoint: Endpoint) -> None:
        key = (endpoint.protocol, endpoint.local_port)
        bound = self.bindings.get(key, [])
        if endpoint in bound:
            bound.remove(endpoint)
        if not bound:
            self.bindings.pop(key, None)

    def rebound(self, endpoint: Endpoint) -> None:
        """The endpoint connected (or disconnected): keep the most specific first."""
        self.bindings.get((endpoint.protocol, endpoint.local_port), []).sort(
            key=_specificity, reverse=True
        )

    def _ephemeral(self, proto: int) -> int:
        span = EPHEMERAL_HIGH - EPHEMERAL_LOW + 1
        start = self.host.rng.randrange(span)
        for i in range(span):
            port = EPHEMERAL_LOW + (start + i) % span
            if (proto, port) not in self.bindings:
                return port
        raise OSError(98, "no ephemeral port left")

    # -- receive --------------------------------------------------------------------------
    def receive(self, d: Delivery) -> None:
        proto = d.protocol
        c = self.counters[proto]
        hdr = d.header
        parser = UdpDatagram if proto == wire_ipv6.IPPROTO_UDP else UdpLiteDatagram
        try:
            dgram = parser.parse(d.payload, hdr.src, hdr.dst)
        except ChecksumError:
            c.in_errors += 1
            c.bad_checksum += 1
            return
        except WireError:
            c.in_errors += 1
            return
        coverage = dgram.covered_len if isinstance(dgram, UdpLiteDatagram) else len(d.payload)
        endpoint = self._lookup(proto, hdr.dst, dgram.dst_port, hdr.src, dgram.src_port)
        if endpoint is None:
            c.no_ports += 1
            # RFC 4443 §3.1: port unreachable, code 4 (never about a multicast, RFC 4443 §2.4 (e)).
            msg = wire_icmp.DestinationUnreachable(
                wire_icmp.UNREACH_PORT, wire_icmp.truncate_invoking(d.packet)
            )
            self.host.icmpv6.send_error(d.interface, hdr, d.packet, msg, d.now)
            return
        if endpoint.min_coverage and coverage < endpoint.min_coverage:
            # RFC 3828 §3.3: a receiver may require a minimum coverage; less is dropped.
            c.in_errors += 1
            c.coverage_too_small_drop += 1
            return
        c.in_datagrams += 1
        endpoint.deliver(
            Received(
                dgram.payload,
                hdr.src,
                dgram.src_port,
                hdr.dst,
                d.interface,
                hdr.hop_limit,
                coverage,
            )
        )

    def _lookup(
        self, proto: int, dst: IPv6Address, port: int, src: IPv6Address, src_port: int
    ) -> Endpoint | None:
        for ep in self.bindings.get((proto, port), []):
            if ep.local_address not in (UNSPECIFIED, dst):
                continue
            if ep.remote_address is not None and (ep.remote_address, ep.remote_port) != (
                src,
                src_port,
            ):
                continue
            return ep
        return None

    def control(self, message: ControlMessage) -> None:
        """An ICMPv6 error about a datagram we sent: to the endpoint that sent it."""
        quoted = message.upper
        if len(quoted) < 4 or message.protocol not in self.counters:
            return
        sport = int.from_bytes(quoted[0:2], "big")
        dport = int.from_bytes(quoted[2:4], "big")
        inv = message.invoking_header
        for ep in self.bindings.get((message.protocol, sport), []):
            if ep.local_address not in (UNSPECIFIED, inv.src):
                continue
            if ep.remote_address is not None and (ep.remote_address, ep.remote_port) != (
                inv.dst,
                dport,
            ):
                continue
            self.counters[ep.protocol].errors_to_endpoints += 1
            ep.error_received(message)
            return

    # -- send ---------------------------------------------------------------------------
    def send(
        self,
        endpoint: Endpoint,
        data: bytes,
        dst: IPv6Address,
        dst_port: int,
        now: float,
        *,
        interface: Interface | None = None,
        hop_limit: int | None = None,
        traffic_class: int = 0,
        coverage: int = 0,
        multicast_loop: bool = False,
    ) -> bool:
        """Build the datagram (the checksum needs the source, so route and select it
        first: the bound address, else RFC 6724) and send it."""
        host = self.host
        local = endpoint.local_address
        # A socket bound to a multicast group sends from a unicast source (RFC 4291 §2.7).
        path = host.route_with_source(dst, interface, None if local.is_multicast else local, now)
        if path is None:
            return False
        iface, next_hop, src = path
        if endpoint.protocol == wire_ipv6.IPPROTO_UDP:
            body = UdpDatagram(endpoint.local_port, dst_port, data).build(src, dst)
        else:
            cover = 0 if coverage == 0 else max(HEADER_LEN, min(coverage, HEADER_LEN + len(data)))
            body = UdpLiteDatagram(endpoint.local_port, dst_port, data, cover).build(src, dst)
        self.counters[endpoint.protocol].out_datagrams += 1
        return host.ipv6.send_on(
            iface,
            next_hop,
            src,
            dst,
            endpoint.protocol,
            body,
            now,
            hop_limit=hop_limit,
            traffic_class=traffic_class,
            multicast_loop=multicast_loop,
        )


def _specificity(ep: Endpoint) -> tuple[bool, bool]:
    return (ep.remote_address is not None, ep.local_address != UNSPECIFIED)
