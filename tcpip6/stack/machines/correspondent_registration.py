"""A mobile node's registration with a correspondent node: return routability and route
optimisation (RFC 6275 §5.2.5, RFC 6275 §11.6, RFC 6275 §11.7.2, RFC 6275 §11.8).

Each correspondent's entry of the mobile node's Binding Update List
(:class:`~CorrespondentEntry`, in ``tcpip6/stack/mobility/route_optimisation.py``) is a
model of this graph. Its owner, the mobile node, classifies each event and fires one trigger:

==============================  ===========================================================
``moved``                       a new care-of address is registered at home: a Home Test
                                Init (through the home agent) and a Care-of Test Init
                                (direct) go to the correspondent (RFC 6275 §11.6.1)
``refresh_due``                 the binding nears its end, or the correspondent sent a
                                Binding Refresh Request: return routability again
                                (RFC 6275 §11.7.2, RFC 6275 §11.7.4)
``test_received``               a Home Test or Care-of Test matching its cookie, the other
                                still outstanding (RFC 6275 §11.6.2)
``tests_complete``              the last keygen token needed arrived: the Binding Update
                                with Nonce Indices and Binding Authorization Data goes out
                                (RFC 6275 §11.7.2; at home the home token alone, RFC 6275
                                §11.5.5)
``ba_accepted``                 the acknowledgement of the outstanding Binding Update,
                                status below 128, authenticator valid (RFC 6275 §11.7.3)
``ba_sequence_out_of_window``   status 135: the correspondent's Sequence Number plus one,
                                sent again (RFC 6275 §11.7.3)
``ba_nonce_expired``            status 136, 137 or 138: return routability again
                                (RFC 6275 §11.7.3, RFC 6275 §5.2.7)
``ba_rejected``                 any other status of 128 or more (RFC 6275 §11.7.3)
``retransmit_timeout``          no answer in time: what is outstanding (Home Test Init,
                                Care-of Test Init or Binding Update) is sent again after
                                twice the wait (RFC 6275 §11.8)
``lifetime_expired``            the acknowledged binding ran out (RFC 6275 §11.7.2)
``not_supported``               an ICMPv6 Parameter Problem (code 1, unrecognized Next
                                Header) answered a Mobility Header message: the
                                correspondent has no Mobile IPv6; route optimisation with
                                it is not tried again (RFC 6275 §11.3.5)
``returned_home``               the node is back on its home link: the binding at the
                                correspondent is deleted with a Binding Update of lifetime
                                0 authorised by the home keygen token (RFC 6275 §11.5.5)
==============================  ===========================================================

Route optimisation (RFC 6275 §11.3.1: from the care-of address with a Home Address
option) is used while the acknowledged binding names the current care-of address, whatever
the state: a refresh in TESTING or REGISTERING keeps the binding it replaces.
"""

from __future__ import annotations

import enum
from typing import Any

from tcpip6.stack.machines.graph import Graph, self_loops


class CorrespondentRegistrationState(enum.Enum):
    NO_BINDING = "NO_BINDING"  # packets to the correspondent go through the home agent
    TESTING = "TESTING"  # Home Test Init / Care-of Test Init outstanding
    REGISTERING = "REGISTERING"  # the Binding Update to the correspondent is outstanding
    BOUND = "BOUND"  # acknowledged: route optimised
    DEREGISTERING = "DEREGISTERING"  # back home: home test or lifetime-0 BU outstanding


_ALL = ["NO_BINDING", "TESTING", "REGISTERING", "BOUND", "DEREGISTERING"]

TRANSITIONS: list[dict[str, Any]] = [
    # RFC 6275 §11.6.1: return routability for each new care-of address.
    {"trigger": "moved", "source": _ALL, "dest": "TESTING", "rfc": "6275 §11.6.1"},
    # RFC 6275 §11.7.2, RFC 6275 §11.7.4: before the lifetime ends, or on a Binding Refresh
    # Request, the binding is renewed through a new return routability procedure.
    {"trigger": "refresh_due", "source": "BOUND", "dest": "TESTING", "rfc": "6275 §11.7.2"},
    # RFC 6275 §11.6.2: a matching Home Test or Care-of Test; the other is awaited.
    {"trigger": "test_received", "source": "TESTING", "dest": "TESTING", "rfc": "6275 §11.6.2"},
    # RFC 6275 §11.7.2: both tokens in hand: the Binding Update to the correspondent.
    {
        "trigger": "tests_complete",
        "source": "TESTING",
        "dest": "REGISTERING",
        "rfc": "6275 §11.7.2",
    },
    # RFC 6275 §11.5.5: at home, the home keygen token alone authorises lifetime 0.
    {
        "trigger": "tests_complete",
        "source": "DEREGISTERING",
        "dest": "DEREGISTERING",
        "rfc": "6275 §11.5.5",
    },
    # RFC 6275 §11.7.3: the acknowledgement of the outstanding Binding Update.
    {"trigger": "ba_accepted", "source": "REGISTERING", "dest": "BOUND", "rfc": "6275 §11.7.3"},
    {
        "trigger": "ba_accepted",
        "source": "DEREGISTERING",
        "dest": "NO_BINDING",
        "rfc": "6275 §11.5.5",
    },
    # RFC 6275 §11.7.3: status 135: the correspondent's number plus one.
    *self_loops("ba_sequence_out_of_window", ["REGISTERING", "DEREGISTERING"], "6275 §11.7.3"),
    # RFC 6275 §11.7.3, RFC 6275 §5.2.7: the nonces expired: fresh tokens are needed.
    {
        "trigger": "ba_nonce_expired",
        "source": "REGISTERING",
        "dest": "TESTING",
        "rfc": "6275 §11.7.3",
    },
    {
        "trigger": "ba_nonce_expired",
        "source": "DEREGISTERING",
        "dest": "DEREGISTERING",
        "rfc": "6275 §11.7.3",
    },
    # RFC 6275 §11.7.3: any other status of 128 or more: the registration failed.
    {
        "trigger": "ba_rejected",
        "source": ["REGISTERING", "DEREGISTERING"],
        "dest": "NO_BINDING",
        "rfc": "6275 §11.7.3",
    },
    # RFC 6275 §11.8: sent again, the wait doubled up to MAX_BINDACK_TIMEOUT.
    *self_loops("retransmit_timeout", ["TESTING", "REGISTERING", "DEREGISTERING"], "6275 §11.8"),
    # RFC 6275 §11.7.2: the binding's lifetime ran out without a refresh.
    {
        "trigger": "lifetime_expired",
        "source": "BOUND",
        "dest": "NO_BINDING",
        "rfc": "6275 §11.7.2",
    },
    # RFC 6275 §11.3.5: the correspondent does not know the Mobility Header.
    {
        "trigger": "not_supported",
        "source": ["TESTING", "REGISTERING", "DEREGISTERING"],
        "dest": "NO_BINDING",
        "rfc": "6275 §11.3.5",
    },
    # RFC 6275 §11.5.5: back home, the correspondent's binding is deleted.
    {
        "trigger": "returned_home",
        "source": ["TESTING", "REGISTERING", "BOUND"],
        "dest": "DEREGISTERING",
        "rfc": "6275 §11.5.5",
    },
]

#: Events that change nothing, and why.
IGNORED = frozenset(
    {
        # RFC 6275 §11.7.2: the procedure under way decides; the binding it replaces ends
        # (route optimisation stops) but the tests or the Binding Update go on.
        ("TESTING", "lifetime_expired"),
        ("REGISTERING", "lifetime_expired"),
        ("DEREGISTERING", "lifetime_expired"),
        # RFC 6275 §11.5.5: nothing registered, or the deregistration already under way.
        ("NO_BINDING", "returned_home"),
        ("DEREGISTERING", "returned_home"),
    }
)

_NO_BU = "no Binding Update is outstanding: the BA matches none (RFC 6275 §11.7.3)"
_NO_TEST = "no Home or Care-of Test Init is outstanding: the cookie matches none (RFC 6275 §11.6.2)"
_NO_TIMER = "nothing is outstanding, so no retransmission timer runs (RFC 6275 §11.8)"
_NO_MH = "fired only while a Mobility Header message of ours is outstanding (RFC 6275 §11.3.5)"
_NO_REFRESH = "the refresh timer runs only for an acknowledged binding (RFC 6275 §11.7.2)"
#: Pairs the owner never fires, and why (with the rows and IGNORED: a total table).
IMPOSSIBLE = {
    ("NO_BINDING", "refresh_due"): _NO_REFRESH,
    ("NO_BINDING", "test_received"): _NO_TEST,
    ("NO_BINDING", "tests_complete"): _NO_TEST,
    ("NO_BINDING", "ba_accepted"): _NO_BU,
    ("NO_BINDING", "ba_sequence_out_of_window"): _NO_BU,
    ("NO_BINDING", "ba_nonce_expired"): _NO_BU,
    ("NO_BINDING", "ba_rejected"): _NO_BU,
    ("NO_BINDING", "retransmit_timeout"): _NO_TIMER,
    ("NO_BINDING", "lifetime_expired"): "no lifetime runs without an acknowledged binding",
    ("TESTING", "refresh_due"): _NO_REFRESH,
    ("TESTING", "ba_accepted"): _NO_BU,
    ("TESTING", "ba_sequence_out_of_window"): _NO_BU,
    ("TESTING", "ba_nonce_expired"): _NO_BU,
    ("TESTING", "ba_rejected"): _NO_BU,
    ("REGISTERING", "refresh_due"): _NO_REFRESH,
    ("REGISTERING", "test_received"): _NO_TEST,
    ("REGISTERING", "tests_complete"): _NO_TEST,
    ("BOUND", "test_received"): _NO_TEST,
    ("BOUND", "tests_complete"): _NO_TEST,
    ("BOUND", "ba_accepted"): _NO_BU,
    ("BOUND", "ba_sequence_out_of_window"): _NO_BU,
    ("BOUND", "ba_nonce_expired"): _NO_BU,
    ("BOUND", "ba_rejected"): _NO_BU,
    ("BOUND", "retransmit_timeout"): _NO_TIMER,
    ("DEREGISTERING", "refresh_due"): _NO_REFRESH,
    ("DEREGISTERING", "test_received"): "at home only the home test runs: it completes them",
    ("NO_BINDING", "not_supported"): _NO_MH,
    ("BOUND", "not_supported"): _NO_MH,
}

GRAPH = Graph(
    name="correspondent_registration",
    states=CorrespondentRegistrationState,
    transitions=TRANSITIONS,
    initial=CorrespondentRegistrationState.NO_BINDING,
    rfc="6275 §11.7.2",
    description="A mobile node's return routability and binding at a correspondent",
    ignored=IGNORED,
    impossible=IMPOSSIBLE,
)


def diagram(fmt: str = "dot") -> str:
    """The correspondent registration graph as ``dot``, ``mermaid`` or ``svg`` source."""
    return GRAPH.diagram(fmt)
