"""Addresses of an interface: MSR IPv6's NTE and ADE, with Duplicate Address Detection and
stateless address autoconfiguration (RFC 4862).

* :class:`NetTableEntry` (NTE): a unicast address of the interface, usable as a source once
  DAD has passed (or at once while it is optimistic, RFC 4429), with its prefix length,
  where it came from (:class:`Origin`), its state in the :mod:`~tcpip6.stack.machines.dad`
  graph, its DAD transmit counter and its preferred and valid lifetimes (absolute deadlines,
  ``INFINITY`` for infinite).
* :class:`AddressEntry` (ADE): an address the interface receives for: a unicast address
  (its NTE answers for it), an anycast address (the NTEs on its prefix answer for it), or
  a multicast group the table listens to (all-nodes, and the solicited-node group of each
  NTE, which maps to the NTEs it serves).
* :class:`AddressTable`: the NTEs and ADEs of one interface, bounded, with the DAD and
  lifetime timers.

Sans-I/O: methods take ``now`` and return actions, frozen dataclasses defined below, that
the host turns into packets (``SendDadSolicitation``), group memberships (``JoinGroup``,
``LeaveGroup``: they pair up per address, so the host counts references) and reports.
"""

from __future__ import annotations

import enum
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import IPv6Address

from transitions import EventData

from tcpip6.stack.counters import CounterSet
from tcpip6.stack.machines.dad import GRAPH, AddressState
from tcpip6.stack.machines.graph import TraceSink
from tcpip6.stack.params import MAX_RTR_SOLICITATION_DELAY, InterfaceParameters
from tcpip6.stack.timers import DeadlineQueue
from tcpip6.wire.ipv6 import ADDRESSES, ALL_NODES, solicited_node

INFINITY = math.inf
#: RFC 4861 §4.6.2: a lifetime of all one bits is infinity.
INFINITE_LIFETIME = 0xFFFFFFFF
#: RFC 4862 §5.5.3 (e): the two-hour rule.
TWO_HOURS = 7200.0
_LINK_LOCAL_PREFIX = int(IPv6Address("fe80::"))


def lifetime_seconds(value: int) -> float:
    """A 32-bit lifetime of a Prefix Information option in seconds (all ones: infinite)."""
    return INFINITY if value == INFINITE_LIFETIME else float(value)


def link_local_address(interface_id: bytes) -> IPv6Address | None:
    """RFC 4862 §5.3: the interface identifier replaces the rightmost bits of FE80::0; "If
    the interface identifier is more than 118 bits in length, autoconfiguration fails"."""
    if 8 * len(interface_id) > 118:
        return None
    return IPv6Address(_LINK_LOCAL_PREFIX | int.from_bytes(interface_id, "big"))


def in_prefix(address: IPv6Address, prefix: IPv6Address, prefix_length: int) -> bool:
    """The first ``prefix_length`` bits of ``address`` and ``prefix`` are equal."""
    if not 0 <= prefix_length <= 128:
        return False
    shift = 128 - prefix_length
    return int(address) >> shift == int(prefix) >> shift


def form_address(
    prefix: IPv6Address, prefix_length: int, interface_id: bytes
) -> IPv6Address | None:
    """RFC 4862 §5.5.3 (d): the prefix's first ``prefix_length`` bits, then the interface
    identifier; None when the two lengths do not add up to 128 bits."""
    n = 8 * len(interface_id)
    if prefix_length + n != 128:
        return None
    return IPv6Address((int(prefix) >> n << n) | int.from_bytes(interface_id, "big"))


class Origin(enum.Enum):
    """How an NTE came to be. ``LINK_LOCAL`` is the link-local address formed from the
    interface's hardware-based identifier (RFC 4862 §5.3); a manually configured link-local address
    is ``STATIC``."""

    LINK_LOCAL = "link-local"
    STATIC = "static"
    AUTOCONF = "autoconf"


class AdeKind(enum.Enum):
    UNICAST = "unicast"
    ANYCAST = "anycast"
    MULTICAST = "multicast"


# -- actions ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SendDadSolicitation:
    """RFC 4862 §5.4.2: an NS from the unspecified address to the solicited-node group of target."""

    target: IPv6Address


@dataclass(frozen=True, slots=True)
class JoinGroup:
    """Listen to ``group`` (RFC 4862 §5.4.2: all-nodes and the solicited-node group, before DAD)."""

    group: IPv6Address


@dataclass(frozen=True, slots=True)
class LeaveGroup:
    """Stop listening to ``group`` for one address (a duplicate or removed one)."""

    group: IPv6Address


@dataclass(frozen=True, slots=True)
class AddressAvailable:
    """DAD finished without finding a duplicate: the address is assigned and usable.
    ``was_optimistic``: it was usable already, as an optimistic address (RFC 4429 §3.3)."""

    address: IPv6Address
    prefix_length: int
    origin: Origin
    was_optimistic: bool = False


@dataclass(frozen=True, slots=True)
class AddressOptimistic:
    """RFC 4429 §3.3: DAD started on an optimistic address: it is "available for use on the
    interface immediately", though not preferred over a preferred address (RFC 4429 §2.1)."""

    address: IPv6Address
    prefix_length: int
    origin: Origin


@dataclass(frozen=True, slots=True)
class AddressDeprecated:
    """RFC 4862 §5.5.4: the preferred lifetime ended: keep the address for existing communication,
    prefer others for new communication."""

    address: IPv6Address


@dataclass(frozen=True, slots=True)
class AddressRenewed:
    """RFC 4862 §5.5.3 (e): a deprecated address received a new preferred lifetime: preferred
    again."""

    address: IPv6Address


@dataclass(frozen=True, slots=True)
class DuplicateAddressDetected:
    """RFC 4862 §5.4.5: the tentative address is a duplicate and is not assigned. With
    ``interface_disabled`` it was the link-local address formed from the hardware address:
    the hardware address is probably not unique, autoconfiguration has stopped on the
    interface and IP operation on it SHOULD be disabled."""

    address: IPv6Address
    is_link_local: bool
    interface_disabled: bool


@dataclass(frozen=True, slots=True)
class AddressRemoved:
    """The address left the table (valid lifetime over, RFC 4862 §5.5.4, or removed by hand)."""

    address: IPv6Address


AddressAction = (
    SendDadSolicitation
    | JoinGroup
    | LeaveGroup
    | AddressAvailable
    | AddressOptimistic
    | AddressDeprecated
    | AddressRenewed
    | DuplicateAddressDetected
    | AddressRemoved
)


@dataclass
class AddressCounters(CounterSet):
    dad_solicitations_sent: int = 0
    duplicates_detected: int = 0
    dad_message_not_tentative_ignored: int = 0
    add_existing_ignored: int = 0
    table_full_drop: int = 0
    prefix_ignored_disabled: int = 0
    prefix_ignored_not_autonomous: int = 0
    prefix_ignored_link_local: int = 0
    prefix_ignored_preferred_exceeds_valid: int = 0
    prefix_ignored_zero_valid_lifetime: int = 0
    prefix_ignored_bad_length: int = 0
    two_hour_rule_applied: int = 0
    dad_restarted_link_up: int = 0
    optimistic_dad_started: int = 0


#: The states a link coming up makes tentative again (RFC 4862 §5.4).
_LINK_UP_STATES = (
    AddressState.TENTATIVE,
    AddressState.OPTIMISTIC,
    AddressState.PREFERRED,
    AddressState.DEPRECATED,
)
#: The states DAD runs in: a DAD message for the address makes it a duplicate.
_IN_DAD = (AddressState.TENTATIVE, AddressState.OPTIMISTIC)
#: RFC 4429 §2.1: an optimistic address is treated "equivalently to those in the Deprecated
#: state": usable, but another suitable address is preferred.
_AVOIDED = (AddressState.DEPRECATED, AddressState.OPTIMISTIC)


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
        #: RFC 4862 §5.4.2: solicitations sent so far for this address.
        self.dad_transmits_sent = 0
        #: When the next DAD step (end of the delay, next NS, or the decision) is due.
        self.dad_timer: float | None = None
        #: Whether the solicited-node group of the address has been joined for it.
        self.joined = False
        #: What the trace names this entry with (before its address), as built on demand.
        self.label = label
        self.trace_sink: TraceSink | None = None
        self.state: AddressState
        GRAPH.attach(self)

    @property
    def trace_label(self) -> str:
        return f"{self.label}{self.address}"

    def __repr__(self) -> str:
        return f"<NTE {self.address}/{self.prefix_length} {self.state.name} {self.origin.value}>"

    def preferred_lifetime_over(self, event: EventData) -> bool:
        """Guard of the graph: the preferred lifetime has ended by the trigger's time."""
        now: float = event.kwargs["now"]
        return self.preferred_until <= now

    @property
    def usable(self) -> bool:
        """Assigned: usable as a source and answers for itself (RFC 4862 §5.4: not tentative;
        RFC 4429 §3.3: an optimistic address is "available for use" too)."""
        return self.state in (
            AddressState.PREFERRED,
            AddressState.DEPRECATED,
            AddressState.OPTIMISTIC,
        )

    @property
    def optimistic(self) -> bool:
        """RFC 4429 §2.2: usable, under the rules that keep it from disrupting the rightful
        owner of the address (no Override flag, no NS from it, no SLLAO in an RS from it)."""
        return self.state is AddressState.OPTIMISTIC

    @property
    def listening(self) -> bool:
        """Its solicited-node group is received for it (RFC 4862 §5.4.2: tentative ones too)."""
        return self.state not in (AddressState.DUPLICATE, AddressState.INVALID)


@dataclass(frozen=True, slots=True)
class AddressEntry:
    """An ADE: an address this interface receives for, and the NTEs that answer for it."""

    address: IPv6Address
    kind: AdeKind
    ntes: tuple[NetTableEntry, ...]

    @property
    def nte(self) -> NetTableEntry | None:
        return self.ntes[0] if self.ntes else None


_TIMER_ORDER = {"valid": 0, "preferred": 1, "dad": 2}


class AddressTable:
    """The NTEs and ADEs of one interface, with DAD and SLAAC (RFC 4862).

    ``capacity`` bounds the unicast and anycast addresses together; an address beyond it
    is dropped and counted (``counters.table_full_drop``). ``rng`` draws the random delay of
    RFC 4862 §5.4.2; without one, DAD starts at once unless the caller gives ``dad_delay``.
    ``params`` is read when needed: ``dup_addr_detect_transmits`` at each DAD step,
    ``retrans_timer`` at each solicitation.
    """

    def __init__(
        self,
        params: InterfaceParameters,
        capacity: int = 64,
        label: str = "",
        rng: random.Random | None = None,
    ) -> None:
        self.params = params
        self.capacity = capacity
        self.label = label
        self.rng = rng
        self.entries: dict[IPv6Address, NetTableEntry] = {}
        #: Anycast addresses (no DAD, RFC 4862 §5.4) and their prefix lengths.
        self.anycast: dict[IPv6Address, int] = {}
        #: Deadlines keyed by (address, "dad" | "preferred" | "valid").
        self.timers: DeadlineQueue[tuple[IPv6Address, str]] = DeadlineQueue()
        self.counters = AddressCounters()
        self.trace_sink: TraceSink | None = None
        #: RFC 4862 §5.4.5: a duplicate hardware-derived link-local address stops autoconfiguration.
        self.autoconf_disabled = False
        #: RFC 4862 §5.4.2: whether a message was sent from the interface since (re)initialization.
        self.first_message_sent = False
        self.joined_all_nodes = False

    def __iter__(self) -> Iterator[NetTableEntry]:
        return iter(list(self.entries.values()))

    def __len__(self) -> int:
        return len(self.entries) + len(self.anycast)

    def get(self, address: IPv6Address) -> NetTableEntry | None:
        return self.entries.get(address)

    def message_sent(self) -> None:
        """The host sent something from the interface: later DAD is not "the first message
        sent from an interface after interface (re)initialization" (RFC 4862 §5.4.2)."""
        self.first_message_sent = True

    # -- queries ------------------------------------------------------------------------
    def receives(self, address: IPv6Address) -> bool:
        """``lookup_ade(address) is not None``, without building the entry (asked for every
        packet received and sent)."""
        nte = self.entries.get(address)
        if nte is not None:
            return nte.usable
        return address in self.anycast

    def lookup_ade(self, address: IPv6Address) -> AddressEntry | None:
        """The ADE of a unicast or anycast destination. Only an assigned address receives:
        a tentative one is not (yet) ours (RFC 4862 §5.4), a duplicate never is
        (RFC 4862 §5.4.5)."""
        nte = self.entries.get(address)
        if nte is not None:
            return AddressEntry(address, AdeKind.UNICAST, (nte,)) if nte.usable else None
        if address in self.anycast:
            plen = self.anycast[address]
            ntes = tuple(
                e for e in self.entries.values() if e.usable and in_prefix(e.address, address, plen)
            )
            return AddressEntry(address, AdeKind.ANYCAST, ntes)
        return None

    def lookup_group_ade(self, group: IPv6Address) -> AddressEntry | None:
        """The ADE of a multicast group the table listens to: all-nodes (every assigned NTE)
        or a solicited-node group (the NTEs it serves, tentative ones included: RFC 4862 §5.4.2 "an
        interface MUST receive and process datagrams sent to the all-nodes multicast address
        or solicited-node multicast address of the tentative address during the delay
        period")."""
        if group == ALL_NODES:
            ntes = tuple(e for e in self.entries.values() if e.usable)
            return AddressEntry(group, AdeKind.MULTICAST, ntes)
        ntes = tuple(
            e for e in self.entries.values() if e.listening and solicited_node(e.address) == group
        )
        if ntes or any(solicited_node(a) == group for a in self.anycast):
            return AddressEntry(group, AdeKind.MULTICAST, ntes)
        return None

    def is_tentative(self, address: IPv6Address) -> bool:
        nte = self.entries.get(address)
        return nte is not None and nte.state is AddressState.TENTATIVE

    def in_dad(self, address: IPv6Address) -> bool:
        """DAD runs for ``address``: it is tentative or optimistic (RFC 4429 §3.3: a DAD
        message for an optimistic address is handled as for a tentative one)."""
        nte = self.entries.get(address)
        return nte is not None and nte.state in _IN_DAD

    def source_candidates(self) -> list[NetTableEntry]:
        """Addresses that may be a source, preferred ones first (deprecated ones are for
        existing communication, RFC 4862 §5.5.4; optimistic ones are treated like
        deprecated ones, RFC 4429 §2.1); never TENTATIVE, DUPLICATE or INVALID."""
        usable = [e for e in self.entries.values() if e.usable]
        return sorted(usable, key=lambda e: e.state in _AVOIDED)

    def next_deadline(self) -> float | None:
        return self.timers.next_deadline()

    # -- adding and removing addresses (RFC 4862 §5.4, RFC 4862 §5.4.2) ----------------------------
    def add(
        self,
        address: IPv6Address,
        prefix_length: int,
        origin: Origin,
        now: float,
        *,
        preferred_lifetime: float = INFINITY,
        valid_lifetime: float = INFINITY,
        dad_delay: float | None = None,
        from_multicast_ra: bool = False,
    ) -> list[AddressAction]:
        """Add a tentative address and start DAD. ``dad_delay`` overrides the RFC 4862 §5.4.2 delay
        rule (see :meth:`_random_delay`); lifetimes are in seconds from ``now``."""
        if preferred_lifetime > valid_lifetime:
            raise ValueError("preferred lifetime longer than valid lifetime")
        if address in self.entries or address in self.anycast:
            self.counters.add_existing_ignored += 1
            return []
        if len(self) >= self.capacity:
            self.counters.table_full_drop += 1
            return []
        if address.scope_id is None:
            # The object the packets to and from it will carry (a lookup then matches it
            # by identity).
            address = ADDRESSES.address(address.packed)
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
        self._arm(nte, "valid", nte.valid_until)
        if self.params.dup_addr_detect_transmits == 0:
            # RFC 4862 §5.4: "An interface whose DupAddrDetectTransmits variable is set to zero does
            # not perform Duplicate Address Detection."
            return self._join(nte) + self._dad_done(nte, now)
        if self._optimistic(nte):
            return self._optimistic_start(nte, now, join=True)
        delay = self._random_delay(from_multicast_ra) if dad_delay is None else dad_delay
        if delay > 0:
            self._arm(nte, "dad", now + delay)
            return []
        return self._dad_start(nte, now)

    def _optimistic(self, nte: NetTableEntry) -> bool:
        # RFC 4429 §3.3: "A host MAY choose to configure a new address as an Optimistic
        # Address"; RFC 4429 §3.1: only for an address from a most likely unique interface
        # identifier, and "Optimistic DAD SHOULD NOT be used for manually entered addresses".
        return self.params.optimistic_dad and nte.origin is not Origin.STATIC

    def _optimistic_start(self, nte: NetTableEntry, now: float, join: bool) -> list[AddressAction]:
        # RFC 4429 §3.3: usable at once; DAD runs as for a tentative address, without the
        # random delay ("The host SHOULD NOT delay before sending Neighbor Solicitation
        # messages"): the first NS goes now (or at the next poll, after a link up).
        GRAPH.fire(nte, "optimistic_dad_started", now)
        self.counters.optimistic_dad_started += 1
        actions = self._dad_start(nte, now) if join else []
        return [*actions, AddressOptimistic(nte.address, nte.prefix_length, nte.origin)]

    def _random_delay(self, from_multicast_ra: bool) -> float:
        # RFC 4862 §5.4.2: delay joining the solicited-node group, and so the first NS, by a
        # random time in [0, MAX_RTR_SOLICITATION_DELAY] when the NS would be the first
        # message sent from the interface after (re)initialization, and when the address
        # comes from a Router Advertisement sent to a multicast address.
        if self.rng is None or (self.first_message_sent and not from_multicast_ra):
            return 0.0
        return self.rng.uniform(0.0, MAX_RTR_SOLICITATION_DELAY)

    def add_anycast(
        self, address: IPv6Address, prefix_length: int, now: float
    ) -> list[AddressAction]:
        """An anycast address: no DAD ("Duplicate Address Detection MUST NOT be performed on
        anycast addresses", RFC 4862 §5.4); its solicited-node group is joined (RFC 4861 §7.2.1)."""
        if address in self.entries or address in self.anycast:
            self.counters.add_existing_ignored += 1
            return []
        if len(self) >= self.capacity:
            self.counters.table_full_drop += 1
            return []
        self.anycast[address] = prefix_length
        return [JoinGroup(solicited_node(address))]

    def remove(self, address: IPv6Address) -> list[AddressAction]:
        """Remove an address by hand (not a lifetime event)."""
        if self.anycast.pop(address, None) is not None:
            return [LeaveGroup(solicited_node(address)), AddressRemoved(address)]
        nte = self.entries.get(address)
        return [] if nte is None else self._drop(nte)

    def _drop(self, nte: NetTableEntry) -> list[AddressAction]:
        del self.entries[nte.address]
        for kind in _TIMER_ORDER:
            self.timers.cancel((nte.address, kind))
        GRAPH.detach(nte)
        actions: list[AddressAction] = []
        if nte.joined:
            nte.joined = False
            actions.append(LeaveGroup(solicited_node(nte.address)))
        actions.append(AddressRemoved(nte.address))
        return actions

    def _arm(self, nte: NetTableEntry, kind: str, deadline: float) -> None:
        if kind == "dad":
            nte.dad_timer = deadline
        if math.isinf(deadline):
            self.timers.cancel((nte.address, kind))
        else:
            self.timers.arm((nte.address, kind), deadline)

    # -- DAD (RFC 4862 §5.4.2 - RFC 4862 §5.4.5) ---------------------------------------------------
    def _join(self, nte: NetTableEntry) -> list[AddressAction]:
        # RFC 4862 §5.4.2: "Before sending a Neighbor Solicitation, an interface MUST join the
        # all-nodes multicast address and the solicited-node multicast address of the
        # tentative address."
        actions: list[AddressAction] = []
        if not self.joined_all_nodes:
            self.joined_all_nodes = True
            actions.append(JoinGroup(ALL_NODES))
        nte.joined = True
        actions.append(JoinGroup(solicited_node(nte.address)))
        return actions

    def _dad_start(self, nte: NetTableEntry, now: float) -> list[AddressAction]:
        return self._join(nte) + self._send_solicitation(nte, now)

    def _send_solicitation(self, nte: NetTableEntry, now: float) -> list[AddressAction]:
        # RFC 4862 §5.4.2: DupAddrDetectTransmits solicitations, RetransTimer apart; RetransTimer
        # after the last one DAD decides (RFC 4862 §5.1).
        nte.dad_transmits_sent += 1
        self.counters.dad_solicitations_sent += 1
        self.first_message_sent = True
        self._arm(nte, "dad", now + self.params.retrans_timer)
        return [SendDadSolicitation(nte.address)]

    def _dad_timer(self, nte: NetTableEntry, now: float) -> list[AddressAction]:
        if not nte.joined:  # the random delay ended
            return self._dad_start(nte, now)
        if nte.dad_transmits_sent < self.params.dup_addr_detect_transmits:
            return self._send_solicitation(nte, now)
        return self._dad_done(nte, now)

    def _dad_done(self, nte: NetTableEntry, now: float) -> list[AddressAction]:
        # RFC 4862 §5.4: no NS or NA for the address arrived: it is unique and assigned (the graph
        # assigns it deprecated when its preferred lifetime already ended, RFC 4862 §5.5.4).
        nte.dad_timer = None
        self.timers.cancel((nte.address, "dad"))
        was_optimistic = nte.optimistic
        GRAPH.fire(nte, "dad_succeeded", now)
        actions: list[AddressAction] = [
            AddressAvailable(nte.address, nte.prefix_length, nte.origin, was_optimistic)
        ]
        if nte.state is AddressState.DEPRECATED:
            actions.append(AddressDeprecated(nte.address))
        else:
            self._arm(nte, "preferred", nte.preferred_until)
        return actions

    def link_up(self, now: float) -> list[AddressAction]:
        """The link came back up (RFC 4862 §5.3: the interface is reattached): each address
        whose solicited-node group is joined (in DAD or assigned) is tentative again, its
        solicitations start over, and the first goes out at ``now`` (the next poll). With
        DupAddrDetectTransmits zero nothing changes (RFC 4862 §5.4: no DAD). With Optimistic
        DAD an address it applies to is optimistic again at once (RFC 4429 §3.3). The caller
        forgets the cached source addresses (a tentative address is no source)."""
        if self.params.dup_addr_detect_transmits == 0:
            return []
        actions: list[AddressAction] = []
        for address in sorted(self.entries):
            nte = self.entries[address]
            if not nte.joined or nte.state not in _LINK_UP_STATES:
                continue
            GRAPH.fire(nte, "link_up", now)
            self.counters.dad_restarted_link_up += 1
            nte.dad_transmits_sent = 0
            self.timers.cancel((address, "preferred"))
            self._arm(nte, "dad", now)
            if self._optimistic(nte):
                actions += self._optimistic_start(nte, now, join=False)
        return actions

    def on_dad_solicitation(self, target: IPv6Address, now: float) -> list[AddressAction]:
        """RFC 4862 §5.4.3: a valid NS from the unspecified address whose target is ``target``. A
        tentative target is a duplicate (the interface is assumed not to loop back its own
        multicast, so any such NS is another node's). For an assigned target nothing
        changes: the host answers it (RFC 4861 §7.2.4)."""
        return self._duplicate(target, "dad_ns_received", now)

    def on_neighbor_advertisement(self, target: IPv6Address, now: float) -> list[AddressAction]:
        """RFC 4862 §5.4.4: a valid NA whose target is ``target``: a tentative target is a
        duplicate;
        an NA for an assigned address is "beyond the scope" of RFC 4862."""
        return self._duplicate(target, "dad_na_received", now)

    def _duplicate(self, target: IPv6Address, trigger: str, now: float) -> list[AddressAction]:
        nte = self.entries.get(target)
        if nte is None or nte.state not in _IN_DAD:
            self.counters.dad_message_not_tentative_ignored += 1
            return []
        GRAPH.fire(nte, trigger, now)
        self.counters.duplicates_detected += 1
        nte.dad_timer = None
        self.timers.cancel((target, "dad"))
        actions: list[AddressAction] = []
        if nte.joined:
            nte.joined = False
            actions.append(LeaveGroup(solicited_node(target)))
        # RFC 4862 §5.4.5: a duplicate link-local address formed from the hardware address means the
        # hardware address is not unique: stop autoconfiguration on this interface.
        disabled = nte.origin is Origin.LINK_LOCAL
        if disabled:
            self.autoconf_disabled = True
        actions.append(DuplicateAddressDetected(target, target.is_link_local, disabled))
        return actions

    # -- timers ---------------------------------------------------------------------------
    def poll(self, now: float) -> list[AddressAction]:
        """Run what is due: lifetimes first (RFC 4862 §5.5.4; an address whose valid lifetime ends
        as
        its DAD would end is gone, not available), then DAD steps."""
        actions: list[AddressAction] = []
        due = sorted(self.timers.pop_due(now), key=lambda key: _TIMER_ORDER[key[1]])
        for address, kind in due:
            nte = self.entries.get(address)
            if nte is None:
                continue
            if kind == "valid":
                GRAPH.fire(nte, "valid_lifetime_expired", now)
                if nte.state is AddressState.INVALID:  # an invalid NTE leaves the table
                    actions += self._drop(nte)
            elif kind == "preferred":
                if nte.state is AddressState.PREFERRED:
                    GRAPH.fire(nte, "preferred_lifetime_expired", now)
                    actions.append(AddressDeprecated(address))
            else:
                actions += self._dad_timer(nte, now)
        return actions

    # -- stateless autoconfiguration (RFC 4862 §5.5.3) ------------------------------------------
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
        dad_delay: float | None = None,
        from_multicast_ra: bool = True,
        authenticated: bool = False,
    ) -> list[AddressAction]:
        """RFC 4862 §5.5.3: a Prefix Information option of a valid Router Advertisement
        (lifetimes as on the wire, 32 bits, all ones infinite). ``from_multicast_ra``: the
        RA was sent to a multicast address (RFC 4862 §5.4.2 delay); ``authenticated``: the RA was
        authenticated (e.g. SEND), which lifts the two-hour rule's rule 2."""
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
        valid = lifetime_seconds(valid_lifetime)
        preferred = lifetime_seconds(preferred_lifetime)
        # "equal" prefixes: the same length and the same first prefix-length bits.
        matching = [
            e
            for e in self.entries.values()
            if e.origin is Origin.AUTOCONF
            and e.state is not AddressState.DUPLICATE
            and e.prefix_length == prefix_length
            and in_prefix(e.address, prefix, prefix_length)
        ]
        if matching:
            actions: list[AddressAction] = []
            for nte in matching:
                actions += self._update_lifetimes(nte, valid, preferred, now, authenticated)
            return actions
        # (d) a prefix not yet used by an autoconfigured address, "and if the Valid Lifetime
        # is not 0, form an address". "If the sum of the prefix length and interface
        # identifier length does not equal 128 bits, the Prefix Information option MUST be
        # ignored." add() ignores an address already in the list.
        if valid == 0:
            c.prefix_ignored_zero_valid_lifetime += 1
            return []
        address = form_address(prefix, prefix_length, interface_id)
        if address is None:
            c.prefix_ignored_bad_length += 1
            return []
        return self.add(
            address,
            prefix_length,
            Origin.AUTOCONF,
            now,
            preferred_lifetime=preferred,
            valid_lifetime=valid,
            dad_delay=dad_delay,
            from_multicast_ra=from_multicast_ra,
        )

    def _update_lifetimes(
        self, nte: NetTableEntry, valid: float, preferred: float, now: float, authenticated: bool
    ) -> list[AddressAction]:
        actions: list[AddressAction] = []
        # (e) "the preferred lifetime of the address is reset to the Preferred Lifetime in
        # the received advertisement."
        nte.preferred_until = now + preferred
        if nte.state is AddressState.PREFERRED:
            if preferred == 0:
                GRAPH.fire(nte, "preferred_lifetime_expired", now)
                self.timers.cancel((nte.address, "preferred"))
                actions.append(AddressDeprecated(nte.address))
            else:
                self._arm(nte, "preferred", nte.preferred_until)
        elif nte.state is AddressState.DEPRECATED and preferred > 0:
            GRAPH.fire(nte, "preferred_lifetime_renewed", now)
            self._arm(nte, "preferred", nte.preferred_until)
            actions.append(AddressRenewed(nte.address))
        # (e) the valid lifetime, with RemainingLifetime the time left before it ends:
        remaining = nte.valid_until - now
        if valid > TWO_HOURS or valid > remaining:
            # 1. "If the received Valid Lifetime is greater than 2 hours or greater than
            # RemainingLifetime, set the valid lifetime of the corresponding address to the
            # advertised Valid Lifetime."
            nte.valid_until = now + valid
        elif remaining <= TWO_HOURS:
            # 2. "If RemainingLifetime is less than or equal to 2 hours, ignore the Prefix
            # Information option with regards to the valid lifetime, unless the Router
            # Advertisement from which this option was obtained has been authenticated".
            if authenticated:
                nte.valid_until = now + valid
            else:
                self.counters.two_hour_rule_applied += 1
        else:
            # 3. "Otherwise, reset the valid lifetime of the corresponding address to 2 hours."
            self.counters.two_hour_rule_applied += 1
            nte.valid_until = now + TWO_HOURS
        self._arm(nte, "valid", nte.valid_until)
        return actions
