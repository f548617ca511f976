"""MLD in the host: turns group joins and leaves into listener events, MLD messages into
queries and reports for the listeners, and listener actions into packets (RFC 2710 §3:
link-local source, hop limit 1, a Router Alert option in a Hop-by-Hop header)."""

from __future__ import annotations

from ipaddress import IPv6Address
from typing import TYPE_CHECKING

from tcpip6.stack.mld import MldAction, SendDone, SendReport
from tcpip6.wire import ext as wire_ext
from tcpip6.wire import ipv6 as wire_ipv6
from tcpip6.wire import mld as wm

if TYPE_CHECKING:
    from tcpip6.stack.host import Host
    from tcpip6.stack.interface import Interface
    from tcpip6.stack.ipv6 import Delivery

#: RFC 2711 Router Alert, value 0: the datagram contains an MLD message.
ROUTER_ALERT_MLD = wire_ext.router_alert(wire_ext.ROUTER_ALERT_MLD)


class MldHost:
    def __init__(self, host: Host) -> None:
        self.host = host
        for msg_type in (wm.MLD_QUERY, wm.MLD_REPORT, wm.MLD_DONE, wm.MLDV2_REPORT):
            host.icmpv6.handlers[msg_type] = self._receive

    def apply(self, iface: Interface, actions: list[MldAction], now: float) -> None:
        for a in actions:
            if isinstance(a, SendReport):
                self._send(iface, a.group, wm.MldReport(a.group), now)
            elif isinstance(a, SendDone):
                self._send(iface, wire_ipv6.ALL_ROUTERS, wm.MldDone(a.group), now)

    def _send(self, iface: Interface, dst: IPv6Address, msg: wm.MldMessage, now: float) -> None:
        # RFC 2710 §3: a link-local source; RFC 3590 §4: the unspecified address while no
        # link-local address is usable yet (during DAD).
        src = iface.link_local_address() or wire_ipv6.UNSPECIFIED
        # RFC 2710 §3: hop limit 1 and a Router Alert option in a Hop-by-Hop header.
        self.host.icmpv6.send_on(
            iface, dst, src, dst, msg, now, hop_limit=1, hop_by_hop=(ROUTER_ALERT_MLD,)
        )

    def _receive(self, d: Delivery, msg: wm.MldMessage) -> None:
        iface, now = d.interface, d.now
        if not (d.header.src.is_link_local or d.header.src.is_unspecified):
            self.host.icmp.mld_source_not_link_local_drop += 1
            return
        if isinstance(msg, wm.MldQuery):
            iface.mld.on_query(msg.multicast_address, msg.max_response_delay / 1000, now)
        elif isinstance(msg, wm.MldV2Query):
            # An MLDv2 query answered as MLDv1 (RFC 3810 §8.2); its Maximum Response Code
            # decoded to milliseconds (RFC 3810 §5.1.3, floating point from 32768 on).
            iface.mld.on_query(msg.multicast_address, msg.max_response_delay / 1000, now)
        elif isinstance(msg, wm.MldReport):
            iface.mld.on_report(msg.multicast_address, now)
        # Done and MLDv2 reports concern routers only.
