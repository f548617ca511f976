"""Router solicitation by a host at start-up (RFC 4861 §6.3.7).

On start a host waits a random delay in [0, MAX_RTR_SOLICITATION_DELAY], then sends up to
MAX_RTR_SOLICITATIONS Router Solicitations RTR_SOLICITATION_INTERVAL apart. A valid Router
Advertisement ends the process; so does the last interval passing without one.
"""

from __future__ import annotations

import enum
from typing import Any

from tcpip6.stack.machines.graph import Graph


class SolicitationState(enum.Enum):
    IDLE = "IDLE"
    DELAYING = "DELAYING"
    SOLICITING = "SOLICITING"
    DONE = "DONE"


TRANSITIONS: list[dict[str, Any]] = [
    {"trigger": "start", "source": "IDLE", "dest": "DELAYING", "rfc": "4861 §6.3.7"},
    {"trigger": "delay_expired", "source": "DELAYING", "dest": "SOLICITING", "rfc": "4861 §6.3.7"},
    {
        "trigger": "advertisement_received",
        "source": ["DELAYING", "SOLICITING"],
        "dest": "DONE",
        "rfc": "4861 §6.3.7",
    },
    {
        "trigger": "solicitations_exhausted",
        "source": "SOLICITING",
        "dest": "DONE",
        "rfc": "4861 §6.3.7",
    },
]

#: §6.3.7: an RA before start, or after the end, changes nothing; neither does another
#: interval passing while soliciting (the next RS is sent, state stays SOLICITING).
IGNORED = frozenset(
    {
        ("IDLE", "advertisement_received"),
        ("DONE", "advertisement_received"),
        ("SOLICITING", "interval_expired"),
    }
)

GRAPH = Graph(
    name="router_solicitation",
    states=SolicitationState,
    transitions=TRANSITIONS,
    initial=SolicitationState.IDLE,
    rfc="4861 §6.3.7",
    description="Router solicitation by a host at start-up",
    ignored=IGNORED,
)


def diagram(fmt: str = "dot") -> str:
    return GRAPH.diagram(fmt)
