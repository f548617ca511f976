"""The lifetime of a Security Association (RFC 4301 §4.4.2.1, with the PF_KEY v2 state
names of RFC 2367 §2.3.3).

A manually keyed SA enters the SAD complete, MATURE (RFC 2367 §2.3.3: "SADB_SASTATE_MATURE
... fully formed"; a LARVAL SA exists only while a key management daemon fills it in, so it
never appears here). Its lifetime (RFC 4301 §4.4.2.1) has a soft and a hard limit, in
seconds and in octets: past the soft limit it is DYING (RFC 2367 §2.3.3: "the soft lifetime
has expired"; it still carries traffic, and a key manager would replace it); past the hard
limit, or deleted by the administrator (RFC 2367 §3.1.4 SADB_DELETE), it is DEAD and carries
nothing more (RFC 4301 §4.4.2.1: "the SA MUST be terminated").

The limits are checked by the owner (:class:`~tcpip6.stack.ipsec.layer.Ipsec`): time at its
deadlines, octets as they are counted.
"""

from __future__ import annotations

import enum
from typing import Any

from tcpip6.stack.machines.graph import Graph


class SaLifetimeState(enum.Enum):
    MATURE = "MATURE"  # RFC 2367 §2.3.3: fully formed, in use
    DYING = "DYING"  # soft lifetime expired: still in use, to be replaced
    DEAD = "DEAD"  # hard lifetime expired or deleted: carries nothing


TRANSITIONS: list[dict[str, Any]] = [
    {"trigger": "soft_expired", "source": "MATURE", "dest": "DYING", "rfc": "4301 §4.4.2.1"},
    {
        "trigger": "hard_expired",
        "source": ["MATURE", "DYING"],
        "dest": "DEAD",
        "rfc": "4301 §4.4.2.1",
    },
    {"trigger": "deleted", "source": ["MATURE", "DYING"], "dest": "DEAD", "rfc": "2367 §3.1.4"},
]

#: RFC 4301 §4.4.2.1: the soft limit warns once; passing it again (another octet, another
#: deadline check) changes nothing for a DYING SA.
IGNORED = frozenset({("DYING", "soft_expired")})

#: DEAD handles nothing (a terminal state), so nothing is impossible elsewhere: every
#: trigger can reach MATURE and DYING (a hard limit may be reached before the soft one when
#: the soft limit is unset or larger, and an administrator deletes at any time).
IMPOSSIBLE: dict[tuple[str, str], str] = {}

GRAPH = Graph(
    name="sa",
    states=SaLifetimeState,
    transitions=TRANSITIONS,
    initial=SaLifetimeState.MATURE,
    rfc="4301 §4.4.2.1",
    description="Security Association lifetime",
    ignored=IGNORED,
    impossible=IMPOSSIBLE,
)
