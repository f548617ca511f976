"""A mobile node's home registration (RFC 6275 §11.7.1, RFC 6275 §11.7.3, RFC 6275 §11.8).

The home agent's entry of the mobile node's Binding Update List (:class:`~BindingUpdateListEntry`,
in ``tcpip6/stack/mobility/mobile_node.py``) is a model of this graph. Its owner, the mobile
node, classifies each event and fires one trigger:

==============================  ===========================================================
``register``                    a new care-of address (the node moved to a foreign link,
                                or on to another): a Binding Update with the H and A flags
                                goes to the home agent (RFC 6275 §11.7.1)
``refresh_due``                 the acknowledged binding nears its end, or the home agent
                                sent a Binding Refresh Request: the same Binding Update
                                again with the next Sequence Number (RFC 6275 §11.7.1)
``deregister``                  the node is back on its home link: a Binding Update with
                                lifetime 0 (RFC 6275 §11.5.5)
``ba_accepted``                 the Binding Acknowledgement of the outstanding Binding
                                Update, status below 128 (RFC 6275 §11.7.3)
``ba_sequence_out_of_window``   its status is 135: the node takes the home agent's Sequence
                                Number and sends again, one higher (RFC 6275 §11.7.3)
``ba_rejected``                 any other status of 128 or more: the registration failed
                                (RFC 6275 §11.7.3)
``bindack_timeout``             no acknowledgement in time: the Binding Update is sent
                                again after twice the wait (RFC 6275 §11.8)
``lifetime_expired``            the acknowledged lifetime ran out without a refresh
                                (RFC 6275 §11.7.1)
==============================  ===========================================================

A Binding Acknowledgement is matched to the outstanding Binding Update (its Sequence
Number, RFC 6275 §11.7.3) before any trigger fires; one that matches none is silently
discarded and fires nothing.
"""

from __future__ import annotations

import enum
from typing import Any

from tcpip6.stack.machines.graph import Graph, self_loops


class RegistrationState(enum.Enum):
    NO_BINDING = "NO_BINDING"  # at home, or the registration failed or ended
    REGISTERING = "REGISTERING"  # a Binding Update for a new care-of address is outstanding
    BOUND = "BOUND"  # the home agent acknowledged the binding
    REFRESHING = "REFRESHING"  # a Binding Update extending the binding is outstanding
    DEREGISTERING = "DEREGISTERING"  # back home: the deregistration is outstanding


_AWAY = ["NO_BINDING", "REGISTERING", "BOUND", "REFRESHING", "DEREGISTERING"]
_PENDING = ["REGISTERING", "REFRESHING", "DEREGISTERING"]

TRANSITIONS: list[dict[str, Any]] = [
    # RFC 6275 §11.7.1: "a mobile node MUST send a Binding Update to its home agent" for
    # each new primary care-of address.
    {"trigger": "register", "source": _AWAY, "dest": "REGISTERING", "rfc": "6275 §11.7.1"},
    # RFC 6275 §11.7.1: the binding is refreshed before its lifetime ends.
    {"trigger": "refresh_due", "source": "BOUND", "dest": "REFRESHING", "rfc": "6275 §11.7.1"},
    # RFC 6275 §11.5.5: "a Binding Update to its home agent ... lifetime of zero".
    {
        "trigger": "deregister",
        "source": ["REGISTERING", "BOUND", "REFRESHING"],
        "dest": "DEREGISTERING",
        "rfc": "6275 §11.5.5",
    },
    # RFC 6275 §11.7.3: an accepted acknowledgement updates the Binding Update List entry.
    {"trigger": "ba_accepted", "source": "REGISTERING", "dest": "BOUND", "rfc": "6275 §11.7.3"},
    {"trigger": "ba_accepted", "source": "REFRESHING", "dest": "BOUND", "rfc": "6275 §11.7.3"},
    {
        "trigger": "ba_accepted",
        "source": "DEREGISTERING",
        "dest": "NO_BINDING",
        "rfc": "6275 §11.5.5",
    },
    # RFC 6275 §11.7.3: status 135: resend with the home agent's number plus one.
    *self_loops("ba_sequence_out_of_window", _PENDING, "6275 §11.7.3"),
    # RFC 6275 §11.7.3: any other status of 128 or more: the registration failed.
    {"trigger": "ba_rejected", "source": _PENDING, "dest": "NO_BINDING", "rfc": "6275 §11.7.3"},
    # RFC 6275 §11.8: retransmit, doubling the timeout up to MAX_BINDACK_TIMEOUT.
    *self_loops("bindack_timeout", _PENDING, "6275 §11.8"),
    # RFC 6275 §11.7.1: the binding's lifetime ran out.
    {
        "trigger": "lifetime_expired",
        "source": ["BOUND", "REFRESHING"],
        "dest": "NO_BINDING",
        "rfc": "6275 §11.7.1",
    },
]

#: Events that change nothing, and why.
IGNORED = frozenset(
    {
        # RFC 6275 §11.5.5: nothing is registered, nothing to deregister.
        ("NO_BINDING", "deregister"),
        # RFC 6275 §11.5.5: the deregistration is already outstanding.
        ("DEREGISTERING", "deregister"),
        # RFC 6275 §11.7.1: the outstanding (de)registration decides; the lifetime of the
        # binding it replaces no longer matters.
        ("REGISTERING", "lifetime_expired"),
        ("DEREGISTERING", "lifetime_expired"),
    }
)

_UNMATCHED = "no Binding Update is outstanding: the BA matches none (RFC 6275 §11.7.3)"
_NO_TIMER = "no Binding Update is outstanding, so no retransmission timer runs (RFC 6275 §11.8)"
#: Pairs the owner never fires, and why (with the rows and IGNORED: a total table).
IMPOSSIBLE = {
    ("NO_BINDING", "ba_accepted"): _UNMATCHED,
    ("BOUND", "ba_accepted"): _UNMATCHED,
    ("NO_BINDING", "ba_rejected"): _UNMATCHED,
    ("BOUND", "ba_rejected"): _UNMATCHED,
    ("NO_BINDING", "ba_sequence_out_of_window"): _UNMATCHED,
    ("BOUND", "ba_sequence_out_of_window"): _UNMATCHED,
    ("NO_BINDING", "bindack_timeout"): _NO_TIMER,
    ("BOUND", "bindack_timeout"): _NO_TIMER,
    ("NO_BINDING", "refresh_due"): "nothing acknowledged to refresh",
    ("REGISTERING", "refresh_due"): "the refresh timer runs only for an acknowledged binding",
    ("REFRESHING", "refresh_due"): "one refresh at a time: the retransmission timer runs",
    ("DEREGISTERING", "refresh_due"): "the refresh timer stops when the node is back home",
    ("NO_BINDING", "lifetime_expired"): "no lifetime runs without an acknowledged binding",
}

GRAPH = Graph(
    name="registration",
    states=RegistrationState,
    transitions=TRANSITIONS,
    initial=RegistrationState.NO_BINDING,
    rfc="6275 §11.7",
    description="Home registration of a mobile node (Mobile IPv6)",
    ignored=IGNORED,
    impossible=IMPOSSIBLE,
)


def diagram(fmt: str = "dot") -> str:
    """The home registration graph as ``dot``, ``mermaid`` or ``svg`` source."""
    return GRAPH.diagram(fmt)
