"""The Multicast Listener Discovery listener, per group and interface (RFC 2710 §4, §6).

The RFC's own state diagram: Non-Listener, Delaying Listener and Idle Listener. Each
group a host joins on an interface (solicited-node groups included, as MSR IPv6 did) is a
model of this graph; the all-nodes group and groups of scope 0 and 1 are never reported
(RFC 2710 §5) and are not modelled.
"""

from __future__ import annotations

import enum
from typing import Any

from tcpip6.stack.machines.graph import Graph


class ListenerState(enum.Enum):
    NON_LISTENER = "NON_LISTENER"
    DELAYING_LISTENER = "DELAYING_LISTENER"
    IDLE_LISTENER = "IDLE_LISTENER"


TRANSITIONS: list[dict[str, Any]] = [
    # "start listening": send report, set flag, start timer.
    {
        "trigger": "start_listening",
        "source": "NON_LISTENER",
        "dest": "DELAYING_LISTENER",
        "rfc": "2710 §6",
    },
    # "stop listening": send done if flag set; (Delaying) stop timer.
    {
        "trigger": "stop_listening",
        "source": ["DELAYING_LISTENER", "IDLE_LISTENER"],
        "dest": "NON_LISTENER",
        "rfc": "2710 §6",
    },
    # "query received": (Idle) start timer; (Delaying) reset timer if Max Delay < timer.
    {
        "trigger": "query_received",
        "source": "IDLE_LISTENER",
        "dest": "DELAYING_LISTENER",
        "rfc": "2710 §6",
    },
    # "report received": stop timer, clear flag.
    {
        "trigger": "report_received",
        "source": "DELAYING_LISTENER",
        "dest": "IDLE_LISTENER",
        "rfc": "2710 §6",
    },
    # "timer expired": send report, set flag.
    {
        "trigger": "timer_expired",
        "source": "DELAYING_LISTENER",
        "dest": "IDLE_LISTENER",
        "rfc": "2710 §6",
    },
]

#: RFC 2710 §6: a query while Delaying keeps the state (the timer may be reset); a report
#: while Idle changes nothing; nothing but "start listening" concerns a Non-Listener.
IGNORED = frozenset(
    {
        ("DELAYING_LISTENER", "query_received"),
        ("IDLE_LISTENER", "report_received"),
        ("NON_LISTENER", "query_received"),
        ("NON_LISTENER", "report_received"),
    }
)

GRAPH = Graph(
    name="mld",
    states=ListenerState,
    transitions=TRANSITIONS,
    initial=ListenerState.NON_LISTENER,
    rfc="2710 §6",
    description="MLD listener, per multicast group and interface",
    ignored=IGNORED,
)


def diagram(fmt: str = "dot") -> str:
    return GRAPH.diagram(fmt)
