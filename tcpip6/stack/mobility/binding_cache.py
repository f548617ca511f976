"""The Binding Cache of a correspondent node (RFC 6275 §9.1), bounded.

One :class:`BindingCacheEntry` per home address, each a model of the Binding Cache entry
graph (:mod:`tcpip6.stack.machines.binding_cache`); the entry changes state only through
:meth:`BindingCache.fire`. Sans-I/O: times come in as ``now``; the cache says when its
next entry expires or wants refreshing (:meth:`BindingCache.next_deadline`).
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv6Address

from tcpip6.stack.machines.binding_cache import GRAPH, BindingState
from tcpip6.stack.machines.graph import TraceSink

#: How many bindings a correspondent keeps; one more is refused with Binding
#: Acknowledgement status 130, insufficient resources (RFC 6275 §9.5.2).
DEFAULT_CAPACITY = 1024
#: RFC 6275 §9.5.5 leaves the moment of a Binding Refresh Request to the correspondent:
#: this one asks when a used binding has BRR_LEAD_TIME seconds (or half its lifetime, if
#: shorter) left.
BRR_LEAD_TIME = 30.0


def sequence_greater(new: int, old: int) -> bool:
    """RFC 6275 §9.5.1: ``new`` is greater than ``old`` modulo 2**16 ("a Sequence Number
    of 0 is greater than 65535"): the difference is less than half the space."""
    return 0 < (new - old) % 0x10000 < 0x8000


class BindingCacheEntry:
    """RFC 6275 §9.1: home address, care-of address, lifetime (as the time it ends), the
    largest Sequence Number received, and usage information for RFC 6275 §9.5.5."""

    def __init__(
        self,
        home_address: IPv6Address,
        care_of_address: IPv6Address,
        sequence_number: int,
        lifetime: float,
        now: float,
        label: str = "",
    ) -> None:
        self.home_address = home_address
        self.care_of_address = care_of_address
        self.sequence_number = sequence_number
        self.lifetime = lifetime
        self.registered = now
        #: Whether packets were sent or received through the binding since it was last
        #: updated (RFC 6275 §9.5.5: only a binding in use is worth a refresh request).
        self.used = False
        self.state: BindingState
        self.trace_label = f"{label}{home_address}"
        self.trace_sink: TraceSink | None = None
        GRAPH.attach(self)

    @property
    def expires(self) -> float:
        return self.registered + self.lifetime

    @property
    def refresh_at(self) -> float:
        return self.expires - min(BRR_LEAD_TIME, self.lifetime / 2)

    def update(
        self, care_of_address: IPv6Address, sequence_number: int, lifetime: float, now: float
    ) -> None:
        self.care_of_address = care_of_address
        self.sequence_number = sequence_number
        self.lifetime = lifetime
        self.registered = now
        self.used = False

    def __repr__(self) -> str:
        return (
            f"<BindingCacheEntry {self.home_address} -> {self.care_of_address} "
            f"seq {self.sequence_number} {self.state.name}>"
        )


@dataclass(frozen=True, slots=True)
class BindingRefreshDue:
    """RFC 6275 §9.5.5: send a Binding Refresh Request to this entry's mobile node."""

    entry: BindingCacheEntry


@dataclass(frozen=True, slots=True)
class BindingExpired:
    """RFC 6275 §9.1: the entry's lifetime ran out and it was deleted."""

    home_address: IPv6Address


class BindingCache:
    """RFC 6275 §9.1: the entries by home address, at most ``capacity`` of them."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY, label: str = "") -> None:
        self.capacity = capacity
        self.label = label
        self.entries: dict[IPv6Address, BindingCacheEntry] = {}
        self.trace_sink: TraceSink | None = None

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, home_address: IPv6Address) -> BindingCacheEntry | None:
        return self.entries.get(home_address)

    @property
    def full(self) -> bool:
        return len(self.entries) >= self.capacity

    def fire(self, entry: BindingCacheEntry, trigger: str, now: float) -> None:
        """Move ``entry`` along its graph; a final state removes it from the cache."""
        GRAPH.fire(entry, trigger, now)
        if entry.state in (BindingState.DEREGISTERED, BindingState.EXPIRED):
            del self.entries[entry.home_address]
            GRAPH.detach(entry)

    def refused_sequence(
        self, entry: BindingCacheEntry | None, sequence_number: int, now: float
    ) -> int | None:
        """RFC 6275 §9.5.1 (and RFC 6275 §10.3.1 for a home registration): a Binding Update
        whose Sequence Number is not greater than ``entry``'s is refused, and the entry takes
        ``bu_rejected``. The number to answer with (status 135: the last accepted one), or
        None when there is no entry or the number is greater."""
        if entry is None or sequence_greater(sequence_number, entry.sequence_number):
            return None
        self.fire(entry, "bu_rejected", now)
        return entry.sequence_number

    def accept(
        self,
        home_address: IPv6Address,
        care_of_address: IPv6Address,
        sequence_number: int,
        lifetime: float,
        now: float,
    ) -> BindingCacheEntry | None:
        """RFC 6275 §9.5.2: create or update the entry. None when a new one does not fit."""
        entry = self.entries.get(home_address)
        if entry is None:
            if self.full:
                return None
            entry = BindingCacheEntry(
                home_address, care_of_address, sequence_number, lifetime, now, self.label
            )
            entry.trace_sink = self.trace_sink
            self.entries[home_address] = entry
        else:
            entry.update(care_of_address, sequence_number, lifetime, now)
        self.fire(entry, "bu_accepted", now)
        return entry

    def next_deadline(self) -> float | None:
        best: float | None = None
        for e in self.entries.values():
            t = e.expires
            if e.used and e.state is BindingState.BOUND:
                t = min(t, e.refresh_at)
            best = t if best is None else min(best, t)
        return best

    def poll(self, now: float) -> list[BindingRefreshDue | BindingExpired]:
        """Expire entries (RFC 6275 §9.1) and ask for refreshes of used ones (RFC 6275 §9.5.5)."""
        out: list[BindingRefreshDue | BindingExpired] = []
        for entry in list(self.entries.values()):
            if now >= entry.expires:
                self.fire(entry, "lifetime_expired", now)
                out.append(BindingExpired(entry.home_address))
            elif entry.used and entry.state is BindingState.BOUND and now >= entry.refresh_at:
                self.fire(entry, "refresh_due", now)
                out.append(BindingRefreshDue(entry))
        return out
