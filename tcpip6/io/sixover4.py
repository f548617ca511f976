"""The live port of a 6over4 link (RFC 2529): a raw IPv4 socket for protocol 41 that is not
bound to an address (a bound raw socket hears only datagrams to that address, never a
group's), joined to the IPv4 groups of the link's multicast list (IGMP, through the
kernel). The link module itself, :class:`SixOverFourLink`, is pure logic and lives in
:mod:`tcpip6.stack.sixover4`; this port is the :class:`MulticastDatagramPort` it uses.
"""

from __future__ import annotations

import contextlib
import socket
import struct
from dataclasses import dataclass
from ipaddress import IPv4Address

from tcpip6.io.tunnel import RawIpv4Counters, RawIpv4Port, bind_local, open_protocol_41
from tcpip6.stack.tunnel import TUNNEL_TTL

#: How many IPv4 groups the port joins at most (Linux's igmp_max_memberships is 20 by
#: default): the rest are counted, not joined.
MAX_GROUPS = 20
#: linux/in.h: send from this IPv4 address (struct in_pktinfo's ipi_spec_dst).
IP_PKTINFO = 8


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
        sock = open_protocol_41()
        try:
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
        bind_local(probe, local)


__all__ = [
    "MAX_GROUPS",
    "MulticastIpv4Counters",
    "MulticastIpv4Port",
]
