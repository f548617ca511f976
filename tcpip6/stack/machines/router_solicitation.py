"""Router solicitation by a host (RFC 4861 §6.3.7).

When an interface is enabled (at start-up, after a failure, on attaching to a link) a host
waits a random delay in [0, MAX_RTR_SOLICITATION_DELAY], then sends up to
MAX_RTR_SOLICITATIONS Router Solicitations RTR_SOLICITATION_INTERVAL apart. A valid Router
Advertisement with a non-zero Router Lifetime, received after an RS was sent, ends the
process; so does MAX_RTR_SOLICITATION_DELAY passing after the last RS with none (the host
concludes there are no routers on the link).

RFC 7559 (the owner's ``backoff`` switch) does not give up: after the MAX_RTR_SOLICITATIONS
the host goes on BACKING_OFF, one RS each backed-off interval (RFC 3315 §14's exponential
backoff, up to MAX_RTR_SOLICITATION_INTERVAL), until a Router Advertisement comes.

The timers are the owner's (:class:`~tcpip6.stack.router_solicitation.RouterSolicitor`);
each RS sent while SOLICITING changes no state and fires nothing.
"""

from __future__ import annotations

import enum
from typing import Any

from tcpip6.stack.machines.graph import Graph


class SolicitationState(enum.Enum):
    IDLE = "IDLE"  # the interface was never enabled
    DELAYING = "DELAYING"  # waiting the random delay before the first RS
    SOLICITING = "SOLICITING"  # RSs sent, waiting for an RA
    DONE = "DONE"  # an RA came, or no router answered
    BACKING_OFF = "BACKING_OFF"  # RFC 7559: no router answered yet; RSs with backoff


TRANSITIONS: list[dict[str, Any]] = [
    {
        "trigger": "interface_enabled",
        "source": ["IDLE", "SOLICITING", "DONE", "BACKING_OFF"],
        "dest": "DELAYING",
        "rfc": "4861 §6.3.7",
    },
    {"trigger": "delay_expired", "source": "DELAYING", "dest": "SOLICITING", "rfc": "4861 §6.3.7"},
    {
        "trigger": "advertisement_received",
        "source": "SOLICITING",
        "dest": "DONE",
        "rfc": "4861 §6.3.7",
    },
    # RFC 7559 §2: with the owner's ``backoff`` switch (the guard), the host goes on
    # soliciting, "until a valid RA is received" (rows are tried in order).
    {
        "trigger": "solicitations_exhausted",
        "source": "SOLICITING",
        "dest": "BACKING_OFF",
        "conditions": "backing_off",
        "rfc": "7559 §2",
    },
    {
        "trigger": "solicitations_exhausted",
        "source": "SOLICITING",
        "dest": "DONE",
        "rfc": "4861 §6.3.7",
    },
    {
        "trigger": "advertisement_received",
        "source": "BACKING_OFF",
        "dest": "DONE",
        "rfc": "7559 §2",
    },
]

#: RFC 4861 §6.3.7: an RA before the first RS leaves the host DELAYING ("a host SHOULD send at
#: least one solicitation in the case where an advertisement is received prior to having
#: sent a solicitation"); an RA before the interface is enabled, or after the end, does
#: nothing here; enabling a DELAYING interface again only draws a new delay.
IGNORED = frozenset(
    {
        ("IDLE", "advertisement_received"),
        ("DELAYING", "advertisement_received"),
        ("DONE", "advertisement_received"),
        ("DELAYING", "interface_enabled"),
    }
)

#: Pairs the owner never fires, and why (with the rows and IGNORED: a total table).
IMPOSSIBLE = {
    ("IDLE", "delay_expired"): "no timer runs before the interface is enabled",
    ("IDLE", "solicitations_exhausted"): "no timer runs before the interface is enabled",
    ("DELAYING", "solicitations_exhausted"): "no solicitation has been sent yet",
    ("SOLICITING", "delay_expired"): "the delay is over once the first RS is sent",
    ("DONE", "delay_expired"): "the timers stop when solicitation ends",
    ("DONE", "solicitations_exhausted"): "the timers stop when solicitation ends",
    ("BACKING_OFF", "delay_expired"): "the delay is over once the first RS is sent",
    ("BACKING_OFF", "solicitations_exhausted"): "the MAX_RTR_SOLICITATIONS are over already",
}

GRAPH = Graph(
    name="router_solicitation",
    states=SolicitationState,
    transitions=TRANSITIONS,
    initial=SolicitationState.IDLE,
    rfc="4861 §6.3.7",
    description="Router solicitation by a host",
    ignored=IGNORED,
    impossible=IMPOSSIBLE,
)
