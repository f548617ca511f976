"""ICMPv4 errors about tunnelled packets, relayed as ICMPv6 errors (RFC 4213 §3.4).

An IPv4 router on the tunnel's path reports trouble with an ICMPv4 error quoting the IPv4
datagram it could not deliver: its header, then (RFC 1812 §4.3.2.3 routers quote as much as
they can; RFC 792 hosts 8 octets) the start of the IPv6 packet inside. When the quote holds
the whole IPv6 header, the tunnel's node can tell the IPv6 source, and RFC 4213 §3.4 says
what to tell it:

- ICMPv4 "fragmentation needed" -> ICMPv6 Packet Too Big, MTU = the ICMPv4 MTU - 20 (the
  IPv4 header the tunnel adds);
- any other ICMPv4 error -> ICMPv6 Destination Unreachable, code 3 (address unreachable).

The live port learns of the errors through ``IP_RECVERR`` on its protocol-41 socket: the
kernel matches each ICMPv4 error to the socket that sent the datagram (our address,
protocol 41), hands over the type, code and MTU in a ``sock_extended_err`` and the quoted
bytes after the IPv4 header; a second raw socket for all ICMPv4 would see (and have to
filter) every ICMP message of the host. :func:`parse_icmpv4` reads the same facts from a
whole ICMPv4 datagram (what such a socket or a capture holds).

The ICMPv6 error goes to the stack as if from the tunnel endpoint: an IPv6 packet from the
endpoint's IPv6 address on the link, inside an IPv4 datagram from its IPv4 address, so
the link's own checks (RFC 4213 §3.6, RFC 3056 §9) apply to it as to any datagram.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address

from tcpip6.stack.tunnel import encapsulate
from tcpip6.wire import icmpv6 as wi
from tcpip6.wire.errors import WireError
from tcpip6.wire.ipv4 import IPPROTO_IPV6, Ipv4Header
from tcpip6.wire.ipv6 import IPPROTO_ICMPV6, Ipv6Header

#: RFC 792: the ICMPv4 error types (3 destination unreachable, 11 time exceeded, 12
#: parameter problem); quench (4) and redirect (5) are not errors about delivery.
ICMPV4_ERRORS = frozenset({3, 11, 12})
ICMPV4_UNREACHABLE = 3
#: RFC 792 / RFC 1191: destination unreachable, fragmentation needed and DF set.
CODE_FRAG_NEEDED = 4
#: The IPv4 header a tunnel adds (RFC 4213 §3.4: MTU - 20).
IPV4_HEADER_LEN = 20
#: linux/errqueue.h: struct sock_extended_err, and its origin for ICMPv4 errors.
EXTENDED_ERR = struct.Struct("=IBBBBII")
SO_EE_ORIGIN_ICMP = 2


@dataclass(frozen=True, slots=True)
class Icmpv4Error:
    """What an ICMPv4 error says about one of our tunnel's datagrams."""

    type: int
    code: int
    #: RFC 1191: the next-hop MTU of a "fragmentation needed" (0 otherwise).
    mtu: int
    #: The quoted datagram's destination: the tunnel endpoint we sent to.
    endpoint: IPv4Address
    #: The quoted start of the IPv6 packet (everything after the quoted IPv4 header).
    inner: bytes


def parse_icmpv4(datagram: bytes) -> Icmpv4Error | None:
    """An IPv4 datagram carrying an ICMPv4 error about a protocol-41 datagram, else None."""
    try:
        outer = Ipv4Header.parse(memoryview(datagram))
        icmp = datagram[outer.header_len :]
        if outer.protocol != 1 or len(icmp) < 8 or icmp[0] not in ICMPV4_ERRORS:
            return None
        quoted = Ipv4Header.parse(memoryview(icmp[8:]))
    except (WireError, ValueError):
        return None
    if quoted.protocol != IPPROTO_IPV6:
        return None
    mtu = struct.unpack_from("!H", icmp, 6)[0] if icmp[0] == ICMPV4_UNREACHABLE else 0
    inner = icmp[8 + quoted.header_len :]
    return Icmpv4Error(icmp[0], icmp[1], mtu, quoted.dst, bytes(inner))


def from_extended_err(ee: bytes, endpoint: IPv4Address, quoted: bytes) -> Icmpv4Error | None:
    """The error an IP_RECVERR message reports: ``ee`` the ``sock_extended_err``, ``endpoint``
    the address the datagram was sent to (the message's name), ``quoted`` its data (the
    quote after the IPv4 header). None if it is not an ICMPv4 error."""
    if len(ee) < EXTENDED_ERR.size:
        return None
    _errno, origin, etype, code, _pad, info, _data = EXTENDED_ERR.unpack_from(ee)
    if origin != SO_EE_ORIGIN_ICMP or etype not in ICMPV4_ERRORS:
        return None
    mtu = info if (etype, code) == (ICMPV4_UNREACHABLE, CODE_FRAG_NEEDED) else 0
    return Icmpv4Error(etype, code, mtu, endpoint, bytes(quoted))


def icmpv6_error(error: Icmpv4Error, src: IPv6Address) -> bytes | None:
    """RFC 4213 §3.4: the IPv6 packet (header included) carrying the ICMPv6 error for
    ``error``, from ``src`` (the endpoint's IPv6 address) to the quoted packet's source.
    None when the quote is shorter than the IPv6 header."""
    inner = error.inner
    if len(inner) < Ipv6Header.HEADER_LEN or inner[0] >> 4 != 6:
        return None
    dst = IPv6Address(inner[8:24])
    invoking = wi.truncate_invoking(inner)
    msg: wi.Icmpv6Message
    if (error.type, error.code) == (ICMPV4_UNREACHABLE, CODE_FRAG_NEEDED) and error.mtu:
        msg = wi.PacketTooBig(0, invoking, max(error.mtu - IPV4_HEADER_LEN, 0))
    else:
        msg = wi.DestinationUnreachable(wi.UNREACH_ADDRESS, invoking)
    body = wi.build_icmpv6(msg, src, dst)
    return Ipv6Header(0, 0, len(body), IPPROTO_ICMPV6, 64, src, dst).build() + body


def relay_datagram(error: Icmpv4Error, src6: IPv6Address, local: IPv4Address) -> bytes | None:
    """The ICMPv6 error as the tunnel endpoint would send it: inside an IPv4 datagram
    from ``error.endpoint`` to ``local``, ready for the link's decapsulation."""
    packet = icmpv6_error(error, src6)
    return None if packet is None else encapsulate(packet, error.endpoint, local)


__all__ = [
    "Icmpv4Error",
    "from_extended_err",
    "icmpv6_error",
    "parse_icmpv4",
    "relay_datagram",
]
