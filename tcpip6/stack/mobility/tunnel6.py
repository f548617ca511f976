"""Generic packet tunnelling in IPv6 (RFC 2473): IPv6-in-IPv6, as the home agent and the
mobile node of Mobile IPv6 use it (RFC 6275 §10.4.1, RFC 6275 §10.4.5, RFC 6275 §11.3.1).

The tunnel is a pair of functions and a small entry/exit-point object, not a link: the
home agent tunnels what it intercepts for a home address to the care-of address, and the
mobile node reverse-tunnels what it sends from its home address to its home agent. The
rules kept here, each from RFC 2473:

* RFC 2473 §3.1: the entry point prepends an IPv6 header (Next Header 41); when it
  forwards the original packet (the home agent), the original Hop Limit is first
  decremented as any forwarding node does, and a packet whose Hop Limit would reach zero
  is answered with Time Exceeded instead;
* RFC 2473 §6.3: the tunnel header's Hop Limit is the entry point's default (the
  interface's CurHopLimit); RFC 2473 §6.5, RFC 2473 §6.6: Traffic Class and Flow Label are
  the tunnel's configured values, zero here;
* RFC 2473 §7.1: an original packet larger than the tunnel MTU (the path MTU less the
  tunnel header) and than the IPv6 minimum MTU is refused with Packet Too Big carrying
  the tunnel MTU; a smaller one is encapsulated and the tunnel packet fragmented;
* RFC 2473 §3.2: the exit point removes the tunnel header and the original packet goes on
  as if received on the interface the tunnel packet came in on.

Left out, and so documented: the Tunnel Encapsulation Limit option (RFC 2473 §4.1.1) is
never sent — the entry points here never nest tunnels — and one received is skipped as
any unknown option whose type's two high bits are zero (RFC 8200 §4.2).
"""

from __future__ import annotations

from dataclasses import dataclass

from tcpip6.stack.counters import CounterSet
from tcpip6.wire import ipv6 as wire_ipv6
from tcpip6.wire.ipv6 import Ipv6Header

#: RFC 2473 §3: the Next Header value of an encapsulated IPv6 packet.
IPPROTO_IPV6 = wire_ipv6.IPPROTO_IPV6
#: RFC 2473 §6.5, RFC 2473 §6.6: the tunnel's configured Traffic Class and Flow Label.
TUNNEL_TRAFFIC_CLASS = 0
TUNNEL_FLOW_LABEL = 0
#: The octets the tunnel header adds (RFC 2473 §7: the tunnel MTU is the path MTU less these).
TUNNEL_HEADER_LEN = Ipv6Header.HEADER_LEN
_HOP_LIMIT_AT = 7


@dataclass
class TunnelCounters(CounterSet):
    """What the tunnel's entry and exit points did (each drop counted once)."""

    encapsulated: int = 0
    decapsulated: int = 0
    hop_limit_exceeded_drop: int = 0  # RFC 2473 §3.1: Time Exceeded sent
    too_big_drop: int = 0  # RFC 2473 §7.1: Packet Too Big sent
    inner_malformed_drop: int = 0  # RFC 2473 §3.2: the original packet does not parse
    not_from_tunnel_peer_drop: int = 0  # RFC 6275 §10.4.5, RFC 6275 §11.3.3


def tunnel_mtu(path_mtu: int) -> int:
    """RFC 2473 §7: the largest original packet the tunnel carries unfragmented."""
    return path_mtu - TUNNEL_HEADER_LEN


def forwarded_hop_limit(packet: bytes) -> bytes | None:
    """RFC 2473 §3.1: the original packet as the entry point forwards it into the tunnel,
    its Hop Limit decremented; None when the Hop Limit would reach zero (Time Exceeded)."""
    hop_limit = packet[_HOP_LIMIT_AT]
    if hop_limit <= 1:
        return None
    out = bytearray(packet)
    out[_HOP_LIMIT_AT] = hop_limit - 1
    return bytes(out)


def too_big_for_tunnel(original: bytes, path_mtu: int) -> bool:
    """RFC 2473 §7.1: an original packet over the tunnel MTU and over the IPv6 minimum MTU
    is refused (Packet Too Big); a smaller one goes in a fragmented tunnel packet."""
    return len(original) > tunnel_mtu(path_mtu) and len(original) > wire_ipv6.MIN_MTU


def decapsulate(payload: bytes | memoryview) -> tuple[Ipv6Header, bytes]:
    """RFC 2473 §3.2: the original packet carried after a tunnel header (its payload),
    cut to its own Payload Length. Raises WireError when it is no whole IPv6 packet
    (a version other than 6, or truncated)."""
    hdr, body = wire_ipv6.split(payload)
    return hdr, bytes(payload[: Ipv6Header.HEADER_LEN]) + bytes(body)


__all__ = [
    "IPPROTO_IPV6",
    "TUNNEL_HEADER_LEN",
    "TunnelCounters",
    "decapsulate",
    "forwarded_hop_limit",
    "too_big_for_tunnel",
    "tunnel_mtu",
]
