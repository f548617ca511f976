"""6over4 (RFC 2529): IPv6 over IPv4 multicast, a virtual Ethernet with full ND.

An IPv4 multicast domain is the link. Its link-layer address is an IPv4 address (4 octets);
its frames are IPv4 datagrams (protocol 41) carrying one IPv6 packet, as in
:mod:`tcpip6.stack.tunnel`. Unlike configured and 6to4 tunnels, Neighbor Discovery runs on
it, with these link-specific rules:

- RFC 2529 §3: the default link MTU is 1480 (an Ethernet's 1500 less the IPv4 header); a Router
  Advertisement's MTU option may change it;
- RFC 2529 §4: the interface identifier is 32 zero bits then the IPv4 address (fe80::V4ADDR);
- RFC 2529 §5: the source/target link-layer address option has length 1 (8 octets): type, length,
  two zero octets, then the IPv4 address;
- RFC 2529 §6: IPv6 multicast FF0x::...:A.B maps to the IPv4 organization-local scope group
  239.192.A.B (the last two octets of the IPv6 group); the link joins the IPv4 groups of
  its multicast list (IGMP, through the kernel).

This module is the pure logic (:func:`multicast_ipv4`, :class:`SixOverFourLink`) and takes
no socket; the live port, :class:`tcpip6.io.sixover4.MulticastIpv4Port`, is a raw IPv4
socket for protocol 41 that is not bound to an address (a bound raw socket hears only
datagrams to that address, never a group's).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address
from typing import Protocol

from tcpip6.stack.link import Received
from tcpip6.stack.tunnel import (
    LLA_PAD,
    Protocol41Counters,
    Protocol41Link,
    encapsulate,
)
from tcpip6.stack.tunnel import interface_identifier as ipv4_interface_identifier
from tcpip6.wire.ipv6 import MIN_MTU

#: RFC 2529 §3: the default MTU of a 6over4 link.
SIX_OVER_FOUR_MTU = 1480
#: RFC 2529 §6: the IPv4 organization-local scope (RFC 2365) prefix of the mapped groups.
ORGANIZATION_LOCAL = bytes([239, 192])


def multicast_ipv4(group: IPv6Address) -> IPv4Address:
    """RFC 2529 §6: FF0x::...:A.B -> 239.192.A.B (the group's last two octets)."""
    return IPv4Address(ORGANIZATION_LOCAL + group.packed[14:16])


def lla_option_body(v4: IPv4Address) -> bytes:
    """RFC 2529 §5: the 6 octets after an ND option's type and length (1): 0, 0, V4ADDR."""
    return LLA_PAD + v4.packed


class MulticastDatagramPort(Protocol):
    """Where a 6over4 link's datagrams go; ``set_groups`` is the IPv4 group list to join."""

    def send_datagram(self, packet: bytes, dst: IPv4Address) -> None: ...

    def set_groups(self, groups: frozenset[IPv4Address]) -> None: ...


@dataclass
class SixOverFourCounters(Protocol41Counters):
    #: Neither our IPv4 address nor a group of our multicast list.
    not_for_us_drop: int = 0
    #: Our own multicast, looped back (the live port turns the loop off; a hub may not).
    own_datagram_drop: int = 0
    #: No 4-octet link address to send to (the core always names one on this link).
    no_ipv4_next_hop_drop: int = 0


class SixOverFourLink(Protocol41Link):
    """IPv6 over an IPv4 multicast domain (RFC 2529): ND resolves IPv6 addresses to IPv4
    ones, as it resolves them to MACs on Ethernet."""

    kind = "6over4"
    counters: SixOverFourCounters
    uses_nd = True
    gso_max_size = 0  # no segmentation offload

    def __init__(
        self, port: MulticastDatagramPort, local: IPv4Address, mtu: int = SIX_OVER_FOUR_MTU
    ) -> None:
        if mtu < MIN_MTU:
            raise ValueError(f"an IPv6 link MTU is at least {MIN_MTU}")
        self.port = port
        self.local = local
        self.link_address = local.packed
        self.mtu = mtu
        self.multicast: frozenset[bytes] = frozenset()
        self.counters = SixOverFourCounters()

    def __repr__(self) -> str:
        return f"<SixOverFourLink {self.local} mtu {self.mtu}>"

    def frame_bytes(self, packet: bytes, dst_link: bytes) -> bytes:
        dst = IPv4Address(dst_link) if len(dst_link) == 4 else IPv4Address(0)
        return encapsulate(packet, self.local, dst)

    def transmit(self, packet: bytes, dst_link: bytes) -> None:
        if len(dst_link) != 4:
            self.counters.no_ipv4_next_hop_drop += 1
            return
        self.counters.datagrams_sent += 1
        self.port.send_datagram(packet, IPv4Address(dst_link))

    def set_multicast_addresses(self, link_addresses: Iterable[bytes]) -> None:
        # The link contract's multicast list: the IPv4 groups to join (RFC 2529 §6).
        self.multicast = frozenset(a for a in link_addresses if len(a) == 4)
        self.port.set_groups(frozenset(IPv4Address(a) for a in self.multicast))

    def interface_identifier(self) -> bytes:
        return ipv4_interface_identifier(self.local)  # RFC 2529 §4

    def map_multicast(self, group: IPv6Address) -> bytes:
        return multicast_ipv4(group).packed  # RFC 2529 §6

    def decapsulate(self, frame: bytes | memoryview) -> Received | None:
        outer = self._decapsulate(frame)
        if outer is None:
            return None
        hdr, packet = outer
        if hdr.src == self.local:
            self.counters.own_datagram_drop += 1
            return None
        if hdr.dst != self.local and hdr.dst.packed not in self.multicast:
            self.counters.not_for_us_drop += 1
            return None
        self.counters.datagrams_received += 1
        return Received(packet, hdr.src.packed, hdr.dst.packed)


__all__ = [
    "SIX_OVER_FOUR_MTU",
    "MulticastDatagramPort",
    "SixOverFourCounters",
    "SixOverFourLink",
    "lla_option_body",
    "multicast_ipv4",
]
