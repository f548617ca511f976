"""The state of an address: Duplicate Address Detection and lifetimes (RFC 4862 §5.4,
§5.5.3, §5.5.4; RFC 4862 §2 terminology).

An address starts TENTATIVE while DAD runs; it becomes PREFERRED when DAD finds no
duplicate, DUPLICATE when it does; its preferred lifetime expiring makes it DEPRECATED
(still usable for existing communication), its valid lifetime expiring makes it INVALID.
A Prefix Information option with a new preferred lifetime makes a deprecated address
preferred again (§5.5.3 (e)).
"""

from __future__ import annotations

import enum
from typing import Any

from tcpip6.stack.machines.graph import Graph, unlisted_pairs


class AddressState(enum.Enum):
    TENTATIVE = "TENTATIVE"
    PREFERRED = "PREFERRED"
    DEPRECATED = "DEPRECATED"
    INVALID = "INVALID"
    DUPLICATE = "DUPLICATE"


TRANSITIONS: list[dict[str, Any]] = [
    {"trigger": "dad_succeeded", "source": "TENTATIVE", "dest": "PREFERRED", "rfc": "4862 §5.4"},
    {
        "trigger": "dad_ns_received",
        "source": "TENTATIVE",
        "dest": "DUPLICATE",
        "rfc": "4862 §5.4.3",
    },
    {
        "trigger": "dad_na_received",
        "source": "TENTATIVE",
        "dest": "DUPLICATE",
        "rfc": "4862 §5.4.4",
    },
    {
        "trigger": "preferred_lifetime_expired",
        "source": "PREFERRED",
        "dest": "DEPRECATED",
        "rfc": "4862 §5.5.4",
    },
    {
        "trigger": "preferred_lifetime_renewed",
        "source": "DEPRECATED",
        "dest": "PREFERRED",
        "rfc": "4862 §5.5.3",
    },
    {
        "trigger": "valid_lifetime_expired",
        "source": ["TENTATIVE", "PREFERRED", "DEPRECATED"],
        "dest": "INVALID",
        "rfc": "4862 §5.5.4",
    },
]

_EVENTS = {
    "dad_succeeded",
    "dad_ns_received",
    "dad_na_received",
    "preferred_lifetime_expired",
    "preferred_lifetime_renewed",
    "valid_lifetime_expired",
}


#: Events that change nothing: an NS or NA for an address that is no longer tentative is
#: ordinary Neighbor Discovery, not DAD (§5.4.3, §5.4.4); a renewed preferred lifetime
#: on a preferred address only moves its deadline.
IGNORED = unlisted_pairs(
    AddressState, TRANSITIONS, _EVENTS, terminal=(AddressState.INVALID, AddressState.DUPLICATE)
)

GRAPH = Graph(
    name="dad",
    states=AddressState,
    transitions=TRANSITIONS,
    initial=AddressState.TENTATIVE,
    rfc="4862 §5.4",
    description="Address states: Duplicate Address Detection and lifetimes",
    ignored=IGNORED,
)


def diagram(fmt: str = "dot") -> str:
    return GRAPH.diagram(fmt)
