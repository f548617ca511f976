"""The TCP session of a stateful NAT64 (RFC 6146 §3.5.2): the state the translator keeps
for one TCP connection between an IPv6 and an IPv4 endpoint, driven by the SYN, FIN and RST
it sees go through in each direction and by the session lifetime.

Every TCP session of the NAT64 is a model of this one graph. The owner
(:class:`~tcpip6.stack.translate.nat64.Nat64`) classifies each translated segment into one
trigger (RST before SYN before FIN, then anything else) and fires it; the lifetime each
transition sets is the owner's (``lifetime_after``, with the lifetimes of ``Nat64Config``:
RFC 6146 §4's unless ``tcpip6 host --nat64-lifetimes`` says otherwise), and its expiry
fires ``lifetime_expired``.

=====================  ==========================================================
``v6_syn`` ``v4_syn``  a segment with SYN from the IPv6 / IPv4 side
``v6_fin`` ``v4_fin``  a segment with FIN (and no SYN or RST)
``v6_rst`` ``v4_rst``  a segment with RST
``v6_other``           any other segment (``v4_other`` likewise)
``lifetime_expired``   the session lifetime ran out
=====================  ==========================================================

``CLOSED`` is where a session starts (it exists only while the SYN that creates it is
being handled) and where it ends: the owner deletes a session that reaches it.
"""

from __future__ import annotations

import enum
from typing import Any

from tcpip6.stack.machines.graph import Graph


class Nat64TcpState(enum.Enum):
    CLOSED = "CLOSED"
    V4_INIT = "V4_INIT"
    V6_INIT = "V6_INIT"
    ESTABLISHED = "ESTABLISHED"
    V4_FIN_RCV = "V4_FIN_RCV"
    V6_FIN_RCV = "V6_FIN_RCV"
    V4_FIN_V6_FIN_RCV = "V4_FIN_V6_FIN_RCV"
    TRANS = "TRANS"


PACKET_TRIGGERS = (
    "v6_syn",
    "v4_syn",
    "v6_fin",
    "v4_fin",
    "v6_rst",
    "v4_rst",
    "v6_other",
    "v4_other",
)
TRIGGERS = (*PACKET_TRIGGERS, "lifetime_expired")

_R = "6146 §3.5.2.2"

TRANSITIONS: list[dict[str, Any]] = [
    # RFC 6146 §3.5.2.2, CLOSED: a SYN from the IPv6 side opens V6 INIT (TCP_TRANS); one
    # from the IPv4 side, where the filtering allows it, opens V4 INIT (TCP_INCOMING_SYN).
    {"trigger": "v6_syn", "source": "CLOSED", "dest": "V6_INIT", "rfc": _R},
    {"trigger": "v4_syn", "source": "CLOSED", "dest": "V4_INIT", "rfc": _R},
    # RFC 6146 §3.5.2.2, V4 INIT: the IPv6 SYN completes the opening (TCP_EST); expiry ends
    # the session (the stored SYN is answered with Port Unreachable).
    {"trigger": "v6_syn", "source": "V4_INIT", "dest": "ESTABLISHED", "rfc": _R},
    {"trigger": "lifetime_expired", "source": "V4_INIT", "dest": "CLOSED", "rfc": _R},
    # RFC 6146 §3.5.2.2, V6 INIT: the IPv4 SYN completes it (TCP_EST); a repeated IPv6 SYN
    # sets the lifetime to TCP_TRANS again; expiry ends the session.
    {"trigger": "v4_syn", "source": "V6_INIT", "dest": "ESTABLISHED", "rfc": _R},
    {"trigger": "v6_syn", "source": "V6_INIT", "dest": "V6_INIT", "rfc": _R},
    {"trigger": "lifetime_expired", "source": "V6_INIT", "dest": "CLOSED", "rfc": _R},
    # RFC 6146 §3.5.2.2, ESTABLISHED: a FIN from one side, an RST from either, or the
    # lifetime running out (a probe is sent) change the state; any other segment sets the
    # lifetime to TCP_EST again.
    {"trigger": "v4_fin", "source": "ESTABLISHED", "dest": "V4_FIN_RCV", "rfc": _R},
    {"trigger": "v6_fin", "source": "ESTABLISHED", "dest": "V6_FIN_RCV", "rfc": _R},
    {"trigger": "v4_rst", "source": "ESTABLISHED", "dest": "TRANS", "rfc": _R},
    {"trigger": "v6_rst", "source": "ESTABLISHED", "dest": "TRANS", "rfc": _R},
    {"trigger": "lifetime_expired", "source": "ESTABLISHED", "dest": "TRANS", "rfc": _R},
]
# ESTABLISHED: the segments that only set the lifetime to TCP_EST again are rows too (they
# act), one per trigger.
TRANSITIONS += [
    {"trigger": t, "source": "ESTABLISHED", "dest": "ESTABLISHED", "rfc": _R}
    for t in ("v6_syn", "v4_syn", "v6_other", "v4_other")
]
TRANSITIONS += [
    # RFC 6146 §3.5.2.2, V4 FIN RCV: the IPv6 FIN closes both halves (TCP_TRANS); any other
    # segment sets the lifetime to TCP_EST again; expiry ends the session.
    {"trigger": "v6_fin", "source": "V4_FIN_RCV", "dest": "V4_FIN_V6_FIN_RCV", "rfc": _R},
    {"trigger": "lifetime_expired", "source": "V4_FIN_RCV", "dest": "CLOSED", "rfc": _R},
    # RFC 6146 §3.5.2.2, V6 FIN RCV: the same, mirrored.
    {"trigger": "v4_fin", "source": "V6_FIN_RCV", "dest": "V4_FIN_V6_FIN_RCV", "rfc": _R},
    {"trigger": "lifetime_expired", "source": "V6_FIN_RCV", "dest": "CLOSED", "rfc": _R},
    # RFC 6146 §3.5.2.2, V4 FIN + V6 FIN RCV: segments go through, the lifetime is not
    # touched; expiry ends the session.
    {"trigger": "lifetime_expired", "source": "V4_FIN_V6_FIN_RCV", "dest": "CLOSED", "rfc": _R},
    # RFC 6146 §3.5.2.2, TRANS: any segment but an RST brings the session back to
    # ESTABLISHED (TCP_EST); expiry ends it.
    {"trigger": "lifetime_expired", "source": "TRANS", "dest": "CLOSED", "rfc": _R},
]
# RFC 6146 §3.5.2.2: in V4 FIN RCV and V6 FIN RCV every other segment sets the lifetime to
# TCP_EST again; in TRANS every segment but an RST moves the session back to ESTABLISHED.
TRANSITIONS += [
    {"trigger": t, "source": "V4_FIN_RCV", "dest": "V4_FIN_RCV", "rfc": _R}
    for t in PACKET_TRIGGERS
    if t != "v6_fin"
]
TRANSITIONS += [
    {"trigger": t, "source": "V6_FIN_RCV", "dest": "V6_FIN_RCV", "rfc": _R}
    for t in PACKET_TRIGGERS
    if t != "v4_fin"
]
TRANSITIONS += [
    {"trigger": t, "source": "TRANS", "dest": "ESTABLISHED", "rfc": _R}
    for t in PACKET_TRIGGERS
    if t not in ("v4_rst", "v6_rst")
]

#: (state, trigger) pairs that leave the state and the lifetime as they are: the segment is
#: translated and nothing else happens (RFC 6146 §3.5.2.2).
IGNORED = frozenset(
    {("V4_INIT", t) for t in PACKET_TRIGGERS if t != "v6_syn"}
    | {("V6_INIT", t) for t in PACKET_TRIGGERS if t not in ("v4_syn", "v6_syn")}
    | {("V4_FIN_V6_FIN_RCV", t) for t in PACKET_TRIGGERS}
    | {("TRANS", "v4_rst"), ("TRANS", "v6_rst")}
)

_NO_SESSION = (
    "no session exists before a SYN: a segment that matches no session is dropped by the "
    "owner and counted (RFC 6146 §3.5.2.2), firing nothing"
)
#: Pairs the owner never fires, and why.
IMPOSSIBLE = {
    **{("CLOSED", t): _NO_SESSION for t in PACKET_TRIGGERS if t not in ("v4_syn", "v6_syn")},
    ("CLOSED", "lifetime_expired"): "no lifetime runs before the session exists",
}

GRAPH = Graph(
    name="nat64_tcp",
    states=Nat64TcpState,
    transitions=TRANSITIONS,
    initial=Nat64TcpState.CLOSED,
    rfc="6146 §3.5.2",
    description="Stateful NAT64 TCP session",
    ignored=IGNORED,
    impossible=IMPOSSIBLE,
)
