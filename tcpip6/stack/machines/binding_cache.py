"""A Binding Cache entry at a correspondent node (RFC 6275 §9.1, RFC 6275 §9.5).

Every entry of the correspondent's Binding Cache (:class:`~BindingCache`, in
``tcpip6/stack/mobility/binding_cache.py``) is a model of this graph. Its owner, the
correspondent node, classifies each event and fires one trigger:

=====================  ==================================================================
``bu_accepted``        a Binding Update that passes every check of RFC 6275 §9.5.1 and
                       asks for a binding (lifetime > 0, care-of address not the home
                       address): the entry is created or updated (RFC 6275 §9.5.2)
``bu_rejected``        a Binding Update for this home address refused with a status
                       (sequence number out of window, expired nonces; RFC 6275
                       §9.5.1): the entry stays as it was
``deregistered``       a valid Binding Update with lifetime 0 or the home address as
                       care-of address: the entry is deleted (RFC 6275 §9.5.3)
``refresh_due``        the binding, used since it was last updated, nears its end: a
                       Binding Refresh Request goes to the mobile node (RFC 6275 §9.5.5)
``lifetime_expired``   the lifetime ran out: the entry is deleted (RFC 6275 §9.1)
=====================  ==================================================================

``NEW`` lasts only while the Binding Update that creates the entry is processed; a
Binding Update that is refused or silently discarded never creates an entry.
``DEREGISTERED`` and ``EXPIRED`` are final: the cache forgets the entry.
"""

from __future__ import annotations

import enum
from typing import Any

from tcpip6.stack.machines.graph import Graph


class BindingState(enum.Enum):
    NEW = "NEW"  # being created by the Binding Update under processing
    BOUND = "BOUND"  # a valid binding: packets to the home address go to the care-of address
    REFRESH_REQUESTED = "REFRESH_REQUESTED"  # a Binding Refresh Request was sent
    DEREGISTERED = "DEREGISTERED"  # deleted by the mobile node (final)
    EXPIRED = "EXPIRED"  # the lifetime ran out (final)


_LIVE = ["BOUND", "REFRESH_REQUESTED"]

TRANSITIONS: list[dict[str, Any]] = [
    # RFC 6275 §9.5.2: "create a new entry ... or update the existing one".
    {"trigger": "bu_accepted", "source": "NEW", "dest": "BOUND", "rfc": "6275 §9.5.2"},
    {"trigger": "bu_accepted", "source": "BOUND", "dest": "BOUND", "rfc": "6275 §9.5.2"},
    {
        "trigger": "bu_accepted",
        "source": "REFRESH_REQUESTED",
        "dest": "BOUND",
        "rfc": "6275 §9.5.2",
    },
    # RFC 6275 §9.5.3: "delete any existing entry in its Binding Cache for this home address".
    {"trigger": "deregistered", "source": _LIVE, "dest": "DEREGISTERED", "rfc": "6275 §9.5.3"},
    # RFC 6275 §9.5.5: "If a correspondent node ... is using a Binding Cache entry
    # which is about to expire, it MAY send a Binding Refresh Request".
    {
        "trigger": "refresh_due",
        "source": "BOUND",
        "dest": "REFRESH_REQUESTED",
        "rfc": "6275 §9.5.5",
    },
    # RFC 6275 §9.1: "After the expiration of this time, the entry MUST be deleted".
    {"trigger": "lifetime_expired", "source": _LIVE, "dest": "EXPIRED", "rfc": "6275 §9.1"},
]

#: RFC 6275 §9.5.1: a refused Binding Update (status 135-138) changes no existing entry.
IGNORED = frozenset({("BOUND", "bu_rejected"), ("REFRESH_REQUESTED", "bu_rejected")})

_NEW = "NEW lasts only while the accepted Binding Update that made it is filed"
#: Pairs the owner never fires, and why (with the rows and IGNORED: a total table).
IMPOSSIBLE = {
    ("NEW", "bu_rejected"): "a refused Binding Update creates no entry (RFC 6275 §9.5.1)",
    ("NEW", "deregistered"): "a deregistration creates no entry (RFC 6275 §9.5.3)",
    ("NEW", "refresh_due"): _NEW,
    ("NEW", "lifetime_expired"): _NEW,
    ("REFRESH_REQUESTED", "refresh_due"): "one Binding Refresh Request per binding lifetime",
}

GRAPH = Graph(
    name="binding_cache",
    states=BindingState,
    transitions=TRANSITIONS,
    initial=BindingState.NEW,
    rfc="6275 §9.5",
    description="Binding Cache entry at a correspondent node (Mobile IPv6)",
    ignored=IGNORED,
    impossible=IMPOSSIBLE,
)


def diagram(fmt: str = "dot") -> str:
    """The Binding Cache entry graph as ``dot``, ``mermaid`` or ``svg`` source."""
    return GRAPH.diagram(fmt)
