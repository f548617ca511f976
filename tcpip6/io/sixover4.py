"""6over4 (RFC 2529): IPv6 over IPv4 multicast, a virtual Ethernet with full ND.

An IPv4 multicast domain is the link. Its link-layer address is an IPv4 address (4 octets);
its frames are IPv4 datagrams (protocol 41) carrying one IPv6 packet, as in
:mod:`tcpip6.io.tunnel`. Unlike configured and 6to4 tunnels, Neighbor Discovery runs on
it, with these link-specific rules:

- §3: the default link MTU is 1480 (an Ethernet's 1500 less the IPv4 header); a Router
  Advertisement's MTU option may change it;
- §4: the interface identifier is 32 zero bits then the IPv4 address (fe80::V4ADDR);
- §5: the source/target link-layer address option has length 1 (8 octets): type, length,
  two zero octets, then the IPv4 address;
- §6: IPv6 multicast FF0x::...:A.B maps to the IPv4 organization-local scope group
  239.192.A.B (the last two octets of the IPv6 group); the link joins the IPv4 groups of
  its multicast list (IGMP, through the kernel).

The pure parts (:func:`multicast_ipv4`, :class:`SixOverFourLink`) take no socket; the live
one, :class:`MulticastIpv4Port`, is a raw IPv4 socket for protocol 41 that is not bound to
an address (a bound raw socket hears only datagrams to that address, never a group's).
"""

from __future__ import annotations

import contextlib
import socket
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address
from typing import Protocol

from tcpip6.io.rawsock import LinkError
from tcpip6.io.tunnel import (
    IP_MTU_DISCOVER,
    IP_PMTUDISC_DONT,
    TUNNEL_TTL,
    DecapsulationError,
    RawIpv4Counters,
    RawIpv4Port,
    decapsulate,
    encapsulate,
)
from tcpip6.io.tunnel import interface_identifier as ipv4_interface_identifier
from tcpip6.stack.counters import CounterSet
from tcpip6.stack.link import Received
from tcpip6.wire.ipv6 import MIN_MTU

#: RFC 2529 §3: the default MTU of a 6over4 link.
SIX_OVER_FOUR_MTU = 1480
#: RFC 2529 §6: the IPv4 organization-local scope (RFC 2365) prefix of the mapped groups.
ORGANIZATION_LOCAL = bytes([239, 192])
#: RFC 2529 §5: the link-layer address option body: two zero octets, the IPv4 address.
LLA_PAD = b"\0\0"
#: How many IPv4 groups the port joins at most (Linux's igmp_max_memberships is 20 by
#: default): the rest are counted, not joined.
MAX_GROUPS = 20
#: linux/in.h: send from this IPv4 address (struct in_pktinfo's ipi_spec_dst).
IP_PKTINFO = 8


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
class SixOverFourCounters(CounterSet):
    datagrams_received: int = 0
    datagrams_sent: int = 0
    malformed_drop: int = 0
    not_protocol_41_drop: int = 0
    fragment_drop: int = 0
    not_ipv6_drop: int = 0
    #: Neither our IPv4 address nor a group of our multicast list.
    not_for_us_drop: int = 0
    #: Our own multicast, looped back (the live port turns the loop off; a hub may not).
    own_datagram_drop: int = 0
    #: No 4-octet link address to send to (the core always names one on this link).
    no_ipv4_next_hop_drop: int = 0


class SixOverFourLink:
    """IPv6 over an IPv4 multicast domain (RFC 2529): ND resolves IPv6 addresses to IPv4
    ones, as it resolves them to MACs on Ethernet."""

    kind = "6over4"
    link_address_length = 4
    uses_nd = True

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

    def read_lla_option(self, data: bytes) -> bytes | None:
        # RFC 2529 §5: two zero octets, then the IPv4 address.
        if len(data) < 6:
            return None
        return bytes(data[2:6])

    def write_lla_option(self, link_address: bytes) -> bytes:
        return LLA_PAD + link_address

    def decapsulate(self, frame: bytes | memoryview) -> Received | None:
        try:
            hdr, packet = decapsulate(frame)
        except DecapsulationError as exc:
            setattr(self.counters, exc.reason, getattr(self.counters, exc.reason) + 1)
            return None
        if hdr.src == self.local:
            self.counters.own_datagram_drop += 1
            return None
        if hdr.dst != self.local and hdr.dst.packed not in self.multicast:
            self.counters.not_for_us_drop += 1
            return None
        self.counters.datagrams_received += 1
        return Received(packet, hdr.src.packed, hdr.dst.packed)


# -- the live port ---------------------------------------------------------------------------


@dataclass
class MulticastIpv4Counters(RawIpv4Counters):
    groups_joined: int = 0
    groups_left: int = 0
    #: IP_ADD_MEMBERSHIP failed, or MAX_GROUPS were joined already.
    group_join_error: int = 0


class MulticastIpv4Port(RawIpv4Port):
    """A raw IPv4 socket for protocol 41 on ``local``'s interface, joined to the IPv4
    groups of the 6over4 link's multicast list. Not bound (a raw socket bound to ``local``
    never hears a group): the link drops what is neither to ``local`` nor to a group it
    joined. Sends from ``local`` (IP_PKTINFO), multicast out of ``local``'s interface
    (IP_MULTICAST_IF) and not looped back to ourselves; DF clear, TTL :data:`TUNNEL_TTL`."""

    counters: MulticastIpv4Counters

    def __init__(self, local: IPv4Address, ifname: str = "tun0") -> None:
        self.local = local
        self.ifname = ifname
        self.counters = MulticastIpv4Counters()
        self.receiver = None
        self.error_receiver = None  # no IP_RECVERR here: RFC 4213 §3.4 is for tunnels
        self.groups: set[IPv4Address] = set()
        _check_local(local)
        try:
            sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, 41)
        except PermissionError:
            raise LinkError("a raw IPv4 socket (protocol 41) needs root (or CAP_NET_RAW)") from None
        try:
            sock.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DONT)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, TUNNEL_TTL)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, TUNNEL_TTL)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, local.packed)
            sock.setblocking(False)
        except BaseException:
            sock.close()
            raise
        self.sock = sock
        # struct in_pktinfo: ifindex 0 (routing chooses), ipi_spec_dst = local, ipi_addr.
        pktinfo = struct.pack("=I4s4s", 0, local.packed, bytes(4))
        self._pktinfo = [(socket.IPPROTO_IP, IP_PKTINFO, pktinfo)]

    def __repr__(self) -> str:
        return f"<MulticastIpv4Port {self.ifname} {self.local} protocol 41, 6over4>"

    def send_datagram(self, packet: bytes, dst: IPv4Address) -> None:
        try:
            self.sock.sendmsg([packet], self._pktinfo, 0, (str(dst), 0))
        except OSError:
            self.counters.send_error_drop += 1
            return
        self.counters.datagrams_sent += 1

    def set_groups(self, groups: frozenset[IPv4Address]) -> None:
        """Join the new groups and leave the old ones (IP_ADD/DROP_MEMBERSHIP on ``local``'s
        interface): the kernel's IGMP reports them to the IPv4 multicast routers."""
        for group in sorted(self.groups - groups):
            with contextlib.suppress(OSError):
                self._membership(socket.IP_DROP_MEMBERSHIP, group)
            self.groups.discard(group)
            self.counters.groups_left += 1
        for group in sorted(groups - self.groups):
            if len(self.groups) >= MAX_GROUPS:
                self.counters.group_join_error += 1
                continue
            try:
                self._membership(socket.IP_ADD_MEMBERSHIP, group)
            except OSError:
                self.counters.group_join_error += 1
                continue
            self.groups.add(group)
            self.counters.groups_joined += 1

    def _membership(self, option: int, group: IPv4Address) -> None:
        # struct ip_mreq: the group, then the local interface's address.
        self.sock.setsockopt(socket.IPPROTO_IP, option, group.packed + self.local.packed)


def _check_local(local: IPv4Address) -> None:
    """``local`` must be an address of this host (the bind a raw socket here skips)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind((str(local), 0))
        except OSError as exc:
            raise LinkError(
                f"cannot use {local} for a tunnel ({exc.strerror}): give an IPv4 address "
                f"of this host (ip -4 addr add {local}/24 dev IFNAME)"
            ) from None


__all__ = [
    "MAX_GROUPS",
    "SIX_OVER_FOUR_MTU",
    "MulticastDatagramPort",
    "MulticastIpv4Port",
    "SixOverFourCounters",
    "SixOverFourLink",
    "lla_option_body",
    "multicast_ipv4",
]
