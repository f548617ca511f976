"""The Multicast Listener Discovery listener, per multicast address and interface.

RFC 2710 §5 ("Node State Transition Diagram") draws it: a node is, for each multicast
address on each interface, a Non-Listener, a Delaying Listener (a Report timer is
running) or an Idle Listener; it also keeps a flag saying whether it was the last node to
send a Report for the address. §4 gives the same rules in prose. The events are "start
listening" and "stop listening" (from the upper layers), "query received", "report
received" (another node's Report) and "timer expired". The actions (send report, send
done if flag set, start/reset/stop timer, set/clear flag) belong to the owner of the timer,
:class:`tcpip6.stack.mld.MulticastListener`.

The one guarded row is the Delaying Listener's "query received": the timer is reset only
if the query's Maximum Response Delay is less than the time the timer still has to run.
The trigger carries ``now`` and ``max_response_delay``; the model (a
:class:`~tcpip6.stack.mld.GroupListener`) answers the guard from its timer.

The all-nodes address ff02::1 (which §5 keeps in Idle Listener for ever) and addresses
of scope 0 or 1 never take part in MLD (§5), so they are never models of this graph.
"""

from __future__ import annotations

import enum
from typing import Any

from tcpip6.stack.machines.graph import Graph


class ListenerState(enum.Enum):
    """RFC 2710 §5 states: "Non-Listener", "Delaying Listener", "Idle Listener"."""

    NON_LISTENER = "Non-Listener"
    DELAYING_LISTENER = "Delaying Listener"
    IDLE_LISTENER = "Idle Listener"


TRANSITIONS: list[dict[str, Any]] = [
    # Non-Listener, "start listening": send report, set flag, start timer
    # (to [0, Unsolicited Report Interval], §4's repeat of the first Report).
    {
        "trigger": "start_listening",
        "source": "NON_LISTENER",
        "dest": "DELAYING_LISTENER",
        "rfc": "2710 §5",
    },
    # Delaying Listener, "stop listening": stop timer, send done if flag set.
    {
        "trigger": "stop_listening",
        "source": "DELAYING_LISTENER",
        "dest": "NON_LISTENER",
        "rfc": "2710 §5",
    },
    # Delaying Listener, "query received": reset timer if Max Response Delay < current
    # timer (§4: "only if the requested Maximum Response Delay is less than the remaining
    # value of the running timer").
    {
        "trigger": "query_received",
        "source": "DELAYING_LISTENER",
        "dest": "DELAYING_LISTENER",
        "conditions": "max_response_delay_below_timer",
        "rfc": "2710 §5",
    },
    # Delaying Listener, "report received": stop timer, clear flag (suppression, §4).
    {
        "trigger": "report_received",
        "source": "DELAYING_LISTENER",
        "dest": "IDLE_LISTENER",
        "rfc": "2710 §5",
    },
    # Delaying Listener, "timer expired": send report, set flag.
    {
        "trigger": "timer_expired",
        "source": "DELAYING_LISTENER",
        "dest": "IDLE_LISTENER",
        "rfc": "2710 §5",
    },
    # Idle Listener, "stop listening": send done if flag set.
    {
        "trigger": "stop_listening",
        "source": "IDLE_LISTENER",
        "dest": "NON_LISTENER",
        "rfc": "2710 §5",
    },
    # Idle Listener, "query received": start timer (to [0, Maximum Response Delay]).
    {
        "trigger": "query_received",
        "source": "IDLE_LISTENER",
        "dest": "DELAYING_LISTENER",
        "rfc": "2710 §5",
    },
    # The interface is attached to a link again (link up): the routers there know nothing
    # of what the node listens to, so a listener starts again as when it started listening,
    # RFC 2710 §4's unsolicited Report, repeated after [0, Unsolicited Report Interval]: send
    # report, set flag, (re)start timer.
    {
        "trigger": "link_up",
        "source": "IDLE_LISTENER",
        "dest": "DELAYING_LISTENER",
        "rfc": "2710 §4",
    },
    {
        "trigger": "link_up",
        "source": "DELAYING_LISTENER",
        "dest": "DELAYING_LISTENER",
        "rfc": "2710 §4",
    },
]

#: RFC 2710 §5 lists, per state, only the events above; every other (state, event) pair
#: is no transition and no action: a Non-Listener only starts listening; a listener that
#: is already listening does not start again; an Idle Listener has no timer to expire or
#: to stop on another node's Report.
IGNORED = frozenset(
    {
        ("NON_LISTENER", "stop_listening"),
        ("NON_LISTENER", "query_received"),
        ("NON_LISTENER", "report_received"),
        ("NON_LISTENER", "timer_expired"),
        ("DELAYING_LISTENER", "start_listening"),
        ("IDLE_LISTENER", "start_listening"),
        ("IDLE_LISTENER", "report_received"),
        ("IDLE_LISTENER", "timer_expired"),
        # A Non-Listener listens to nothing: a link coming up gives it nothing to report.
        ("NON_LISTENER", "link_up"),
    }
)

GRAPH = Graph(
    name="mld",
    states=ListenerState,
    transitions=TRANSITIONS,
    initial=ListenerState.NON_LISTENER,
    rfc="2710 §5",
    description="MLD listener, per multicast address and interface",
    ignored=IGNORED,
)
