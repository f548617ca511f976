"""Addresses of an interface (MSR IPv6's NTE and ADE; RFC 4862).

* :class:`NetTableEntry` (NTE): a unicast address this interface may use as a source, with
  its DAD state (the :mod:`~tcpip6.stack.machines.dad` graph) and lifetimes.
* :class:`AddressEntry` (ADE): an address this interface receives for: each usable unicast
  address, and the multicast groups joined (the solicited-node group of every NTE, as MSR
  did). Each ADE names the NTE that answers for it.

Sans-I/O: methods take ``now`` and return actions (below) for the host.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import IPv6Address, IPv6Network

from tcpip6.stack.counters import CounterSet
from tcpip6.stack.machines.dad import GRAPH, AddressState
from tcpip6.stack.machines.graph import TraceSink
from tcpip6.stack.params import InterfaceParameters
from tcpip6.stack.timers import DeadlineQueue
from tcpip6.wire.ipv6 import solicited_node

INFINITY = math.inf
#: RFC 4861 §4.6.2: all ones is an infinite lifetime.
INFINITE_LIFETIME = 0xFFFFFFFF
#: RFC 4862 §5.5.3 (e): the two-hour rule.
TWO_HOURS = 7200.0


def lifetime_seconds(value: int) -> float:
    return INFINITY if value == INFINITE_LIFETIME else float(value)


class Origin(enum.Enum):
    LINK_LOCAL = "link-local"
    STATIC = "static"
    AUTOCONF = "autoconf"


# -- actions ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SendDadSolicitation:
    """§5.4.2: an NS from the unspecified address to the solicited-node group of target."""

    target: IPv6Address


@dataclass(frozen=True, slots=True)
class JoinGroup:
    group: IPv6Address


@dataclass(frozen=True, slots=True)
class LeaveGroup:
    group: IPv6Address


@dataclass(frozen=True, slots=True)
class AddressAvailable:
    """DAD finished without finding a duplicate: the address may be used."""

    address: IPv6Address
    prefix_length: int
    origin: Origin


@dataclass(frozen=True, slots=True)
class DuplicateAddressDetected:
    """§5.4.5: the address is a duplicate and will not be used. ``interface_disabled``
    when it was the hardware-derived link-local address: autoconfiguration stops."""

    address: IPv6Address
    interface_disabled: bool


@dataclass(frozen=True, slots=True)
class AddressRemoved:
    address: IPv6Address


AddressAction = (
    SendDadSolicitation
    | JoinGroup
    | LeaveGroup
    | AddressAvailable
    | DuplicateAddressDetected
    | AddressRemoved
)


@dataclass
class AddressCounters(CounterSet):
    dad_solicitations_sent: int = 0
    duplicates_detected: int = 0
    prefix_ignored_not_autonomous: int = 0
    prefix_ignored_link_local: int = 0
    prefix_ignored_preferred_exceeds_valid: int = 0
    prefix_ignored_bad_length: int = 0
    prefix_ignored_disabled: int = 0
    two_hour_rule_applied: int = 0
    table_full_drop: int = 0


class NetTableEntry:
    """An NTE: an address, its prefix length, how it came, its DAD state and lifetimes."""

    def __init__(
        self,
        address: IPv6Address,
        prefix_length: int,
        origin: Origin,
        preferred_until: float,
        valid_until: float,
        label: str = "",
    ) -> None:
        self.address = address
        self.prefix_length = prefix_length
        self.origin = origin
        self.preferred_until = preferred_until
        self.valid_until = valid_until
        self.dad_transmits_sent = 0
        self.dad_timer: float | None = None
        self.trace_label = f"{label}{address}"
        self.trace_sink: TraceSink | None = None
        GRAPH.attach(self)
        self.state: AddressState

    def __repr__(self) -> str:
        return f"<NTE {self.address}/{self.prefix_length} {self.state.name} {self.origin.value}>"

    def fire(self, trigger: str, now: float) -> None:
        getattr(self, trigger)(now=now)

    @property
    def prefix(self) -> IPv6Network:
        return IPv6Network((self.address, self.prefix_length), strict=False)

    @property
    def usable(self) -> bool:
        """Usable as a source and answers for itself (RFC 4862 §5.4: not tentative)."""
        return self.state in (AddressState.PREFERRED, AddressState.DEPRECATED)


@dataclass(frozen=True, slots=True)
class AddressEntry:
    """An ADE: an address this interface receives for, and the NTE that answers for it."""

    address: IPv6Address
    nte: NetTableEntry


class AddressTable:
    """The NTEs and unicast ADEs of one interface, with DAD and SLAAC (RFC 4862)."""

    def __init__(self, params: InterfaceParameters, capacity: int = 64, label: str = "") -> None:
        self.params = params
        self.capacity = capacity
        self.label = label
        self.entries: dict[IPv6Address, NetTableEntry] = {}
        self.timers: DeadlineQueue[tuple[IPv6Address, str]] = DeadlineQueue()
        self.counters = AddressCounters()
        self.trace_sink: TraceSink | None = None
        #: §5.4.5: a duplicate hardware-derived link-local address stops autoconfiguration.
        self.autoconf_disabled = False

    def __iter__(self) -> Iterator[NetTableEntry]:
        return iter(list(self.entries.values()))

    def get(self, address: IPv6Address) -> NetTableEntry | None:
        return self.entries.get(address)

    # -- queries ------------------------------------------------------------------------
    def lookup_ade(self, address: IPv6Address) -> AddressEntry | None:
        """The ADE for a unicast destination: only usable (not tentative) addresses
        receive packets (§5.4: "... a tentative address ... silently discard")."""
        nte = self.entries.get(address)
        if nte is None or not nte.usable:
            return None
        return AddressEntry(address, nte)

    def is_tentative(self, address: IPv6Address) -> bool:
        nte = self.entries.get(address)
        return nte is not None and nte.state is AddressState.TENTATIVE

    def source_candidates(self) -> list[NetTableEntry]:
        """Addresses that may be a source: never TENTATIVE, DUPLICATE or INVALID."""
        return [e for e in self.entries.values() if e.usable]

    def next_deadline(self) -> float | None:
        return self.timers.next_deadline()

    # -- adding addresses (§5.3, §5.4.2) -------------------------------------------------
    def add(
        self,
        address: IPv6Address,
        prefix_length: int,
        origin: Origin,
        now: float,
        *,
        dad_delay: float = 0.0,
        preferred_lifetime: float = INFINITY,
        valid_lifetime: float = INFINITY,
    ) -> list[AddressAction]:
        """Add a tentative address and start DAD after ``dad_delay`` seconds (§5.4.2: a
        random delay in [0, MAX_RTR_SOLICITATION_DELAY] when it is the first message sent
        from the interface, chosen by the caller)."""
        if address in self.entries:
            return []
        if len(self.entries) >= self.capacity:
            self.counters.table_full_drop += 1
            return []
        nte = NetTableEntry(
            address,
            prefix_length,
            origin,
            now + preferred_lifetime,
            now + valid_lifetime,
            self.label,
        )
        nte.trace_sink = self.trace_sink
        self.entries[address] = nte
        # §5.4.2: join the all-nodes and solicited-node groups before sending the NS.
        actions: list[AddressAction] = [JoinGroup(solicited_node(address))]
        self._arm(nte, "valid", nte.valid_until)
        if self.params.dup_addr_detect_transmits == 0:
            # §5.4: DupAddrDetectTransmits zero: no DAD, the address is usable at once.
            actions += self._dad_done(nte, now)
        else:
            self._arm(nte, "dad", now + dad_delay)
        return actions

    def _arm(self, nte: NetTableEntry, kind: str, deadline: float) -> None:
        if kind == "dad":
            nte.dad_timer = deadline
        if math.isinf(deadline):
            self.timers.cancel((nte.address, kind))
        else:
            self.timers.arm((nte.address, kind), deadline)

    def _dad_done(self, nte: NetTableEntry, now: float) -> list[AddressAction]:
        nte.fire("dad_succeeded", now)
        nte.dad_timer = None
        actions: list[AddressAction] = [
            AddressAvailable(nte.address, nte.prefix_length, nte.origin)
        ]
        if nte.preferred_until <= now:
            nte.fire("preferred_lifetime_expired", now)
        else:
            self._arm(nte, "preferred", nte.preferred_until)
        return actions

    def remove(self, address: IPv6Address) -> list[AddressAction]:
        nte = self.entries.pop(address, None)
        if nte is None:
            return []
        for kind in ("dad", "preferred", "valid"):
            self.timers.cancel((address, kind))
        GRAPH.detach(nte)
        return [LeaveGroup(solicited_node(address)), AddressRemoved(address)]

    # -- DAD input (§5.4.3, §5.4.4) ------------------------------------------------------
    def on_dad_solicitation(self, target: IPv6Address, now: float) -> list[AddressAction]:
        """An NS from the unspecified address whose target is one of our addresses."""
        return self._duplicate(target, "dad_ns_received", now)

    def on_neighbor_advertisement(self, target: IPv6Address, now: float) -> list[AddressAction]:
        """An NA whose target is one of our addresses."""
        return self._duplicate(target, "dad_na_received", now)

    def _duplicate(self, target: IPv6Address, trigger: str, now: float) -> list[AddressAction]:
        nte = self.entries.get(target)
        if nte is None:
            return []
        if nte.state is not AddressState.TENTATIVE:
            return []  # ordinary ND about an address in use, or a known duplicate
        nte.fire(trigger, now)
        self.counters.duplicates_detected += 1
        for kind in ("dad", "preferred", "valid"):
            self.timers.cancel((target, kind))
        nte.dad_timer = None
        # §5.4.5: a duplicate link-local address formed from the hardware address means
        # the hardware address is not unique: stop autoconfiguration on this interface.
        disabled = nte.origin is Origin.LINK_LOCAL
        if disabled:
            self.autoconf_disabled = True
        return [
            LeaveGroup(solicited_node(target)),
            DuplicateAddressDetected(target, disabled),
        ]

    # -- timers ---------------------------------------------------------------------------
    def poll(self, now: float) -> list[AddressAction]:
        actions: list[AddressAction] = []
        # Lifetimes before DAD: an address whose valid lifetime ends at the very moment its
        # DAD would finish is gone, not available.
        order = {"valid": 0, "preferred": 1, "dad": 2}
        for address, kind in sorted(self.timers.pop_due(now), key=lambda k: order[k[1]]):
            nte = self.entries.get(address)
            if nte is None:
                continue
            if kind == "dad":
                actions += self._dad_timer(nte, now)
            elif kind == "preferred" and nte.state is AddressState.PREFERRED:
                nte.fire("preferred_lifetime_expired", now)
            elif kind == "valid":
                nte.fire("valid_lifetime_expired", now)
                actions += self.remove(address)
        return actions

    def _dad_timer(self, nte: NetTableEntry, now: float) -> list[AddressAction]:
        if nte.dad_transmits_sent < self.params.dup_addr_detect_transmits:
            # §5.4.2: DupAddrDetectTransmits NSs, RetransTimer apart.
            nte.dad_transmits_sent += 1
            self.counters.dad_solicitations_sent += 1
            self._arm(nte, "dad", now + self.params.retrans_timer)
            return [SendDadSolicitation(nte.address)]
        # §5.4: RetransTimer after the last NS and no duplicate: the address is unique.
        return self._dad_done(nte, now)

    # -- stateless autoconfiguration (§5.5.3) ------------------------------------------
    def on_prefix_information(
        self,
        prefix: IPv6Address,
        prefix_length: int,
        autonomous: bool,
        valid_lifetime: int,
        preferred_lifetime: int,
        interface_id: bytes,
        now: float,
        *,
        dad_delay: float = 0.0,
    ) -> list[AddressAction]:
        """RFC 4862 §5.5.3: a Prefix Information option of a valid Router Advertisement."""
        c = self.counters
        if self.autoconf_disabled:
            c.prefix_ignored_disabled += 1
            return []
        # (a) "If the Autonomous flag is not set, silently ignore the Prefix Information."
        if not autonomous:
            c.prefix_ignored_not_autonomous += 1
            return []
        # (b) "If the prefix is the link-local prefix, silently ignore ..."
        if prefix.is_link_local:
            c.prefix_ignored_link_local += 1
            return []
        # (c) "If the preferred lifetime is greater than the valid lifetime, silently
        # ignore the Prefix Information option."
        if preferred_lifetime > valid_lifetime:
            c.prefix_ignored_preferred_exceeds_valid += 1
            return []
        network = IPv6Network((prefix, prefix_length), strict=False)
        existing = [
            e
            for e in self.entries.values()
            if e.origin is Origin.AUTOCONF
            and e.address in network
            and e.prefix_length == prefix_length
        ]
        live = [e for e in existing if e.state is not AddressState.DUPLICATE]
        valid = lifetime_seconds(valid_lifetime)
        preferred = lifetime_seconds(preferred_lifetime)
        if not existing:
            # (d) a new prefix with a non-zero valid lifetime: form an address. "If the sum
            # of the prefix length and interface identifier length does not equal 128
            # bits, the Prefix Information option MUST be ignored."
            if valid == 0:
                return []
            if prefix_length + 8 * len(interface_id) != 128:
                c.prefix_ignored_bad_length += 1
                return []
            address = IPv6Address(network.network_address.packed[:8] + interface_id)
            return self.add(
                address,
                prefix_length,
                Origin.AUTOCONF,
                now,
                dad_delay=dad_delay,
                preferred_lifetime=preferred,
                valid_lifetime=valid,
            )
        actions: list[AddressAction] = []
        for nte in live:
            # (e) "the preferred lifetime of the address is reset to the Preferred
            # Lifetime in the received advertisement"
            nte.preferred_until = now + preferred
            if nte.state is AddressState.DEPRECATED and preferred > 0:
                nte.fire("preferred_lifetime_renewed", now)
            if nte.state is AddressState.PREFERRED:
                if preferred == 0:
                    nte.fire("preferred_lifetime_expired", now)
                    self.timers.cancel((nte.address, "preferred"))
                else:
                    self._arm(nte, "preferred", nte.preferred_until)
            # the two-hour rule for the valid lifetime
            remaining = nte.valid_until - now
            if valid > TWO_HOURS or valid > remaining:
                # 1. "If the received Valid Lifetime is greater than 2 hours or greater
                # than RemainingLifetime, set the valid lifetime ... to the advertised".
                nte.valid_until = now + valid
            elif remaining <= TWO_HOURS:
                # 2. "If RemainingLifetime is less than or equal to 2 hours, ignore the
                # Prefix Information option with regards to the valid lifetime".
                c.two_hour_rule_applied += 1
            else:
                # 3. "Otherwise, reset the valid lifetime ... to 2 hours."
                c.two_hour_rule_applied += 1
                nte.valid_until = now + TWO_HOURS
            self._arm(nte, "valid", nte.valid_until)
        return actions
