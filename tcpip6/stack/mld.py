"""Multicast Listener Discovery, the host side (RFC 2710): which multicast addresses an
interface listens to, and the Reports and Dones that tell the link's routers.

:class:`MulticastListener` is one interface's part. It keeps, per joined multicast
address, a reference count (a socket and the stack's own solicited-node address may both
join), and, for the addresses MLD reports (RFC 2710 §5: not ff02::1, not scope 0 or 1), a
:class:`GroupListener` that runs the RFC 2710 §5 graph of
:mod:`tcpip6.stack.machines.mld` with its timer and its "last reporter" flag.

Sans-I/O: every method that sets or checks a timer takes ``now``; outputs are actions
(values) for the host to turn into packets and link filter changes; random delays come
from the ``random.Random`` given. Draw contract (what the model test relies on): exactly
one ``rng.uniform(0.0, maximum)`` per timer started or reset, and a General Query visits
the listened addresses in ascending order.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from ipaddress import IPv6Address

from transitions import EventData

from tcpip6.stack.counters import CounterSet
from tcpip6.stack.machines.graph import TraceSink
from tcpip6.stack.machines.mld import GRAPH, ListenerState
from tcpip6.stack.timers import DeadlineQueue

#: RFC 2710 §7.10 [Unsolicited Report Interval], seconds.
UNSOLICITED_REPORT_INTERVAL = 10.0
#: The link-scope all-nodes address (RFC 2710 §5: never reported).
ALL_NODES = IPv6Address("ff02::1")
#: Distinct multicast addresses one interface listens to at most.
MAX_GROUPS = 256


# -- actions ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SendReport:
    """Send a Multicast Listener Report for ``group``, to ``group`` itself (RFC 2710 §4)."""

    group: IPv6Address


@dataclass(frozen=True, slots=True)
class SendDone:
    """Send a Multicast Listener Done for ``group`` to all-routers ff02::2 (RFC 2710 §4)."""

    group: IPv6Address


@dataclass(frozen=True, slots=True)
class JoinLink:
    """Add ``group`` to the link's multicast filter (first join of a group of link scope
    or wider). Apply it after the current receive completes (MSR IPv6 §4.4)."""

    group: IPv6Address


@dataclass(frozen=True, slots=True)
class LeaveLink:
    """Remove ``group`` from the link's multicast filter (its last leave). Deferred like
    :class:`JoinLink`."""

    group: IPv6Address


MldAction = SendReport | SendDone | JoinLink | LeaveLink


@dataclass
class MldCounters(CounterSet):
    reports_sent: int = 0
    dones_sent: int = 0
    general_queries_received: int = 0
    specific_queries_received: int = 0
    #: A Multicast-Address-Specific Query for an address not reported here.
    specific_query_not_listening_ignored: int = 0
    reports_received: int = 0
    #: Another node's Report stopped our timer (RFC 2710 §4 suppression).
    reports_suppressed: int = 0
    #: Joins refused because the interface already listens to ``max_groups`` addresses.
    groups_refused: int = 0
    #: Leaves of an address not joined (or whose join was refused).
    leave_not_joined_ignored: int = 0


def scope(group: IPv6Address) -> int:
    """The scope field of a multicast address (RFC 4291 §2.7)."""
    return group.packed[1] & 0x0F


def is_reported(group: IPv6Address) -> bool:
    """RFC 2710 §5: no Report or Done for all-nodes ff02::1, nor for scope 0 (reserved) or
    1 (interface-local). Solicited-node addresses (scope 2) are reported."""
    return group != ALL_NODES and scope(group) > 1


def on_link_filter(group: IPv6Address) -> bool:
    """Groups of link scope or wider arrive from the link; scope 0 and 1 never do."""
    return scope(group) > 1


class GroupListener:
    """One multicast address on one interface: the RFC 2710 §5 listener.

    ``state`` is given by the graph (it changes only through its triggers); ``timer`` is
    the time the Report timer expires (``None``: not running); ``last_reporter`` is the
    RFC's flag, "we were the last node to send a Report for this address".
    """

    def __init__(self, group: IPv6Address, label: str = "") -> None:
        self.group = group
        self.timer: float | None = None
        self.last_reporter = False
        #: What the trace names this entry with (before its address), as built on demand.
        self.label = label
        self.trace_sink: TraceSink | None = None
        self.state: ListenerState
        GRAPH.attach(self)

    @property
    def trace_label(self) -> str:
        return f"{self.label}{self.group}"

    def max_response_delay_below_timer(self, event: EventData) -> bool:
        """Guard of the Delaying Listener's "query received" (RFC 2710 §4, RFC 2710 §5)."""
        if self.timer is None:
            return True
        remaining: float = self.timer - event.kwargs["now"]
        return bool(event.kwargs["max_response_delay"] < remaining)


class MulticastListener:
    """The MLD host side of one interface (RFC 2710 §4, RFC 2710 §5)."""

    def __init__(
        self,
        rng: random.Random,
        max_groups: int = MAX_GROUPS,
        unsolicited_report_interval: float = UNSOLICITED_REPORT_INTERVAL,
        label: str = "",
    ) -> None:
        self.rng = rng
        self.max_groups = max_groups
        self.unsolicited_report_interval = unsolicited_report_interval
        self.label = label
        #: Joins per address (every joined address, reported or not).
        self.refs: Counter[IPv6Address] = Counter()
        #: The reported addresses' listeners.
        self.listeners: dict[IPv6Address, GroupListener] = {}
        self.counters = MldCounters()
        self.timers: DeadlineQueue[IPv6Address] = DeadlineQueue()
        self._trace_sink: TraceSink | None = None

    @property
    def trace_sink(self) -> TraceSink | None:
        return self._trace_sink

    @trace_sink.setter
    def trace_sink(self, sink: TraceSink | None) -> None:
        self._trace_sink = sink
        for listener in self.listeners.values():
            listener.trace_sink = sink

    # -- queries on the table -------------------------------------------------------------
    def groups(self) -> list[IPv6Address]:
        """Every address joined on this interface, in ascending order."""
        return sorted(self.refs)

    def listener(self, group: IPv6Address) -> GroupListener | None:
        return self.listeners.get(group)

    # -- timers -----------------------------------------------------------------------------
    def _start_timer(self, listener: GroupListener, now: float, maximum: float) -> None:
        """RFC 2710 §5 "start timer"/"reset timer": a random delay in [0, maximum]."""
        listener.timer = now + self.rng.uniform(0.0, maximum)
        self.timers.arm(listener.group, listener.timer)

    def _stop_timer(self, listener: GroupListener) -> None:
        listener.timer = None
        self.timers.cancel(listener.group)

    def next_deadline(self) -> float | None:
        return self.timers.next_deadline()

    # -- events from the upper layers -------------------------------------------------------
    def join(self, group: IPv6Address, now: float) -> list[MldAction]:
        """Start listening to ``group`` (reference counted: only the first join acts)."""
        if not group.is_multicast:
            raise ValueError(f"{group} is not a multicast address")
        if self.refs[group]:
            self.refs[group] += 1
            return []
        if len(self.refs) >= self.max_groups:
            self.counters.groups_refused += 1
            return []
        self.refs[group] = 1
        actions: list[MldAction] = [JoinLink(group)] if on_link_filter(group) else []
        if not is_reported(group):
            return actions
        listener = GroupListener(group, self.label)
        listener.trace_sink = self._trace_sink
        self.listeners[group] = listener
        actions.append(self._announce(listener, "start_listening", now))
        return actions

    def _announce(self, listener: GroupListener, trigger: str, now: float) -> SendReport:
        """``trigger`` (start listening, or the link coming up) on ``listener``, and the
        Report it sends at once."""
        GRAPH.fire(listener, trigger, now)
        # RFC 2710 §5 start listening: send report, set flag, start timer. RFC 2710 §4: the first
        # Report is repeated once, "after short delays [Unsolicited Report Interval]" -
        # RFC 2710 §5: a delay "chosen uniformly from the interval [0, [Unsolicited Report
        # Interval]]", as if a Multicast-Address-Specific Query had arrived.
        listener.last_reporter = True
        self._start_timer(listener, now, self.unsolicited_report_interval)
        self.counters.reports_sent += 1
        return SendReport(listener.group)

    def leave(self, group: IPv6Address, now: float) -> list[MldAction]:
        """Stop listening to ``group`` (only the last of its joins acts)."""
        if not self.refs[group]:
            self.counters.leave_not_joined_ignored += 1
            return []
        self.refs[group] -= 1
        if self.refs[group]:
            return []
        del self.refs[group]
        actions: list[MldAction] = []
        listener = self.listeners.pop(group, None)
        if listener is not None:
            GRAPH.fire(listener, "stop_listening", now)
            # RFC 2710 §5 stop listening: stop timer, send done if flag set (RFC 2710 §4: a node
            # whose last Report was suppressed "MAY send nothing").
            self._stop_timer(listener)
            GRAPH.detach(listener)
            if listener.last_reporter:
                self.counters.dones_sent += 1
                actions.append(SendDone(group))
        if on_link_filter(group):
            actions.append(LeaveLink(group))
        return actions

    def link_up(self, now: float) -> list[MldAction]:
        """The interface is attached to a link again (``Host.link_up``): each reported
        address is announced again, as when the node started listening to it (RFC 2710 §4:
        an unsolicited Report at once, repeated after [0, Unsolicited Report Interval])."""
        return [self._announce(self.listeners[g], "link_up", now) for g in sorted(self.listeners)]

    # -- MLD messages from the link -----------------------------------------------------------
    def on_query(
        self, multicast_address: IPv6Address, max_response_delay: float, now: float
    ) -> None:
        """A Multicast Listener Query: a General Query when ``multicast_address`` is ``::``
        (it concerns every reported address), else a Multicast-Address-Specific Query.
        ``max_response_delay`` in seconds. Reports follow from :meth:`poll` when the timers
        fall due (at once for a delay of 0)."""
        if multicast_address.is_unspecified:
            self.counters.general_queries_received += 1
            targets = [self.listeners[g] for g in sorted(self.listeners)]
        else:
            self.counters.specific_queries_received += 1
            listener = self.listeners.get(multicast_address)
            if listener is None:
                self.counters.specific_query_not_listening_ignored += 1
                return
            targets = [listener]
        for listener in targets:
            # RFC 2710 §4, RFC 2710 §5: Idle -> start timer; Delaying -> reset timer only if the
            # Maximum Response Delay is less than the remaining time (the graph's guard).
            if GRAPH.fire(listener, "query_received", now, max_response_delay=max_response_delay):
                self._start_timer(listener, now, max_response_delay)

    def on_report(self, group: IPv6Address, now: float) -> None:
        """Another node's Report for ``group`` was heard on this interface."""
        self.counters.reports_received += 1
        listener = self.listeners.get(group)
        if listener is None or listener.state is not ListenerState.DELAYING_LISTENER:
            return  # RFC 2710 §5: an Idle Listener has no timer to stop
        # RFC 2710 §4, RFC 2710 §5 Delaying Listener, report received: stop timer, clear flag.
        GRAPH.fire(listener, "report_received", now)
        self._stop_timer(listener)
        listener.last_reporter = False
        self.counters.reports_suppressed += 1

    # -- timers falling due -------------------------------------------------------------------
    def poll(self, now: float) -> list[MldAction]:
        """Send the Reports whose timers are due (earliest first)."""
        actions: list[MldAction] = []
        for group in self.timers.pop_due(now):
            listener = self.listeners[group]
            GRAPH.fire(listener, "timer_expired", now)
            # RFC 2710 §5 Delaying Listener, timer expired: send report, set flag.
            listener.timer = None
            listener.last_reporter = True
            self.counters.reports_sent += 1
            actions.append(SendReport(group))
        return actions
