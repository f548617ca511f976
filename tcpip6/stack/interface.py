"""The Interface (MSR IPv6's IF): one link, its parameters, its addresses and caches.

The link module (:mod:`tcpip6.stack.link`) is the link-layer contract; the interface adds
what the core keeps per link: the RFC 4861 §6.3.2 variables, the receive addresses, the
neighbor cache, multicast groups and counters. Per the call-context rule (MSR IPv6 §4.4),
changes to the link's multicast list are queued here and applied by the host after the
current receive (or poll) completes, never from inside it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from ipaddress import IPv6Address
from typing import TYPE_CHECKING, Any

from tcpip6.stack.address_selection import SourceCandidate
from tcpip6.stack.addresses import INFINITY, AddressTable, Origin
from tcpip6.stack.counters import LinkCounters
from tcpip6.stack.link import EthernetLink, LinkLayer
from tcpip6.stack.machines.dad import AddressState
from tcpip6.stack.machines.graph import TraceSink
from tcpip6.stack.mld import MulticastListener
from tcpip6.stack.neighbors import NeighborCache
from tcpip6.stack.params import InterfaceParameters
from tcpip6.stack.router_solicitation import RouterSolicitor
from tcpip6.stack.timers import DeadlineQueue
from tcpip6.wire.gso import segment_tcp

if TYPE_CHECKING:
    from tcpip6.stack.host import Host

Capture = Callable[["Interface", bytes, float, str], None]


class Interface:
    def __init__(
        self,
        host: Host,
        index: int,
        name: str,
        link: LinkLayer,
        params: InterfaceParameters | None = None,
    ) -> None:
        self.host = host
        self.index = index
        self.name = name
        self.link = link
        self.params = params or InterfaceParameters(link_mtu=link.mtu)
        self.counters = LinkCounters()
        self.capture: Capture | None = None
        # Link multicast groups, reference counted (a socket and the stack may both join).
        self.groups: Counter[IPv6Address] = Counter()
        #: The groups changed since the link's filter was last programmed.
        self.multicast_changed = False
        label = f"{host.name}/{name} "
        self.addresses = AddressTable(self.params, label=label, rng=host.rng)
        self.neighbors = NeighborCache(
            self.params, capacity=self.params.neighbor_cache_size, label=label
        )
        self.solicitor = RouterSolicitor(label=label)
        self.mld = MulticastListener(
            host.rng,
            unsolicited_report_interval=self.params.unsolicited_report_interval,
            label=label,
        )
        #: Started by Host.start: solicits routers and autoconfigures (RFC 4862). A host
        #: configured only by hand does neither.
        self.autoconfigure = False
        #: False while the link is down (Host.link_down): frames are dropped and counted.
        self.link_is_up = True
        #: True once the host has removed the interface (Host.remove_interface): what is
        #: still bound to it finds no route.
        self.removed = False
        #: RFC 6059: the routers of the previous attachment, probed with unicast NSs once
        #: the link-local address is usable again after a link up (Host.link_up).
        self.attachment_candidates: list[IPv6Address] = []
        #: RFC 8106 recursive DNS servers learned from Router Advertisements.
        self.dns_servers: list[IPv6Address] = []

    def __repr__(self) -> str:
        return f"<Interface {self.index} {self.name} {self.link.kind}>"

    @property
    def mtu(self) -> int:
        return self.params.link_mtu

    # -- multicast list (deferred, MSR §4.4) ----------------------------------------------
    def join_link_group(self, group: IPv6Address) -> None:
        self.groups[group] += 1
        if self.groups[group] == 1:
            self.multicast_changed = True

    def leave_link_group(self, group: IPv6Address) -> None:
        if self.groups[group] <= 0:
            return
        self.groups[group] -= 1
        if self.groups[group] == 0:
            del self.groups[group]
            self.multicast_changed = True

    def in_group(self, group: IPv6Address) -> bool:
        return self.groups[group] > 0

    def apply_multicast_changes(self) -> bool:
        """Program the link's multicast filter if the group list changed."""
        if not self.multicast_changed:
            return False
        self.multicast_changed = False
        self.link.set_multicast_addresses({self.link.map_multicast(g) for g in self.groups})
        return True

    # -- transmit ----------------------------------------------------------------------
    def transmit(self, packet: bytes, dst_link: bytes, now: float) -> None:
        if not self.link_is_up:
            self.counters.link_down_drop += 1
            return
        if len(packet) > self.link.mtu:
            self.counters.frame_too_big_drop += 1
            return
        self.counters.frames_sent += 1
        # addresses.message_sent(), written out (every frame): RFC 4862 §5.4.2, later
        # DADs need no delay.
        self.addresses.first_message_sent = True
        if self.capture is not None:
            self.capture(self, self.link.frame_bytes(packet, dst_link), now, "out")
        self.link.transmit(packet, dst_link)

    def transmit_segments(self, packet: bytes, dst_link: bytes, gso_size: int, now: float) -> bool:
        """``packet``, one TCP segment larger than the MTU, for an Ethernet link that cuts
        it into segments of ``gso_size`` octets (segmentation offload); False (nothing
        sent) when this link cannot."""
        link = self.link
        if not isinstance(link, EthernetLink) or not self.link_is_up:
            return False
        if len(packet) > link.gso_max_size:
            return False
        self.counters.frames_sent += 1
        self.addresses.message_sent()  # RFC 4862 §5.4.2: later DADs need no delay
        if self.capture is not None:
            # What the wire carries: the segments the link makes of it.
            for piece in segment_tcp(packet, gso_size):
                self.capture(self, link.frame_bytes(piece, dst_link), now, "out")
        link.transmit_segments(packet, dst_link, gso_size)
        return True

    def tx_stopped(self) -> bool:
        """The link's transmit queue is above its high-water mark (back-pressure,
        :mod:`tcpip6.stack.link`): whoever can wait stops adding to it until
        ``Host.link_writable``. False for a link that never holds frames back."""
        stopped = getattr(self.link, "tx_stopped", None)
        return stopped is not None and bool(stopped())

    def set_trace_sink(self, sink: TraceSink | None) -> None:
        for owner in (self.addresses, self.neighbors):
            owner.trace_sink = sink
        self.solicitor.trace_sink = sink
        self.mld.trace_sink = sink
        for listener in self.mld.listeners.values():
            listener.trace_sink = sink
        for nte in self.addresses:
            nte.trace_sink = sink
        for nce in self.neighbors.entries.values():
            nce.trace_sink = sink

    # -- addresses ----------------------------------------------------------------------
    def add_static_address(self, address: IPv6Address, prefix_length: int, now: float) -> None:
        """A manually configured address: still DAD-checked (RFC 4862 §5.4)."""
        # Origin.LINK_LOCAL is for the address formed from the hardware identifier (a
        # duplicate stops autoconfiguration, RFC 4862 §5.4.5); one set by hand is STATIC.
        actions = self.addresses.add(address, prefix_length, Origin.STATIC, now)
        self.host.nd_module.apply_address_actions(self, actions, now)
        if not address.is_link_local:
            self.host.routes.on_prefix_information(
                self, address, prefix_length, True, INFINITY, now
            )

    def is_receive_address(self, address: IPv6Address) -> bool:
        return self.addresses.receives(address)

    def link_local_address(self) -> IPv6Address | None:
        """A usable (never tentative) link-local address: the source RFC 4861 §6.1.2
        (RAs), RFC 4861 §6.3.7 (RSs), RFC 4861 §8.2 (Redirects) and RFC 2710 §3 (MLD) call for."""
        for entry in self.addresses.source_candidates():
            if entry.address.is_link_local:
                return entry.address
        return None

    def source_candidates(self) -> list[IPv6Address]:
        return [e.address for e in self.addresses.source_candidates()]

    def source_entries(self) -> list[SourceCandidate]:
        """The assigned addresses as RFC 6724 candidates: prefix length, deprecated or not,
        this interface's index. Never a tentative or duplicate one (RFC 4862 §5.4)."""
        return [
            SourceCandidate(
                e.address,
                e.prefix_length,
                # RFC 4429 §2.1: an optimistic address is treated as a deprecated one.
                deprecated=e.state in (AddressState.DEPRECATED, AddressState.OPTIMISTIC),
                interface=self.index,
            )
            for e in self.addresses.source_candidates()
        ]

    # -- neighbors ------------------------------------------------------------------------
    def add_static_neighbor(self, address: IPv6Address, link_address: bytes) -> None:
        self.neighbors.add_static(address, link_address)

    def resolve(self, next_hop: IPv6Address, packet: bytes, now: float) -> None:
        """Hand a packet to the neighbor cache (RFC 4861 §7.2.2)."""
        link_address = self.neighbors.ready(next_hop)
        if link_address is not None:
            self.transmit(packet, link_address, now)
            return
        actions = self.neighbors.resolve(next_hop, packet, now)
        self.host.nd_module.apply_neighbor_actions(self, actions, now)

    # -- timers ---------------------------------------------------------------------------
    def timer_queues(self) -> tuple[DeadlineQueue[Any], ...]:
        """The queues among what :meth:`next_deadline` takes the earliest of; the router
        solicitor's one timer is the rest."""
        return (self.neighbors.timers, self.addresses.timers, self.mld.timers)

    def next_deadline(self) -> float | None:
        # earliest_of, written out: asked after every frame the host receives.
        best: float | None = None
        for at in (
            self.neighbors.next_deadline(),
            self.addresses.next_deadline(),
            self.solicitor.next_deadline(),
            self.mld.next_deadline(),
        ):
            if at is not None and (best is None or at < best):
                best = at
        return best

    def poll(self, now: float) -> None:
        nd = self.host.nd_module
        nd.apply_neighbor_actions(self, self.neighbors.poll(now), now)
        nd.apply_address_actions(self, self.addresses.poll(now), now)
        nd.poll_solicitor(self, now)
        self.host.mld_module.apply(self, self.mld.poll(now), now)
