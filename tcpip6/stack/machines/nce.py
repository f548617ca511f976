"""Neighbor Unreachability Detection: the reachability states of a Neighbor Cache entry
(RFC 4861 §7.3.2, §7.3.3, Appendix C).

Every NCE of every interface is a model of this one graph. The entry's owner
(:class:`~tcpip6.stack.neighbors.NeighborCache`) classifies each event into one trigger and
fires it; what the trigger *does* besides the state change (record a link-layer address,
send queued packets, arm a timer) is the owner's, but no entry changes state anywhere else.

``PERMANENT`` is a static entry (a manually configured neighbor, or the remote end of a
configured tunnel, as MSR IPv6's "no ND" NCE state): it ignores every ND event.
``UNREACHABLE`` is where an entry ends when resolution or probing fails: the cache reports
it and removes the entry.
"""

from __future__ import annotations

import enum
from typing import Any

from tcpip6.stack.machines.graph import Graph, unlisted_pairs


class NceState(enum.Enum):
    INCOMPLETE = "INCOMPLETE"
    REACHABLE = "REACHABLE"
    STALE = "STALE"
    DELAY = "DELAY"
    PROBE = "PROBE"
    PERMANENT = "PERMANENT"
    UNREACHABLE = "UNREACHABLE"


_KNOWN = ["REACHABLE", "STALE", "DELAY", "PROBE"]

TRANSITIONS: list[dict[str, Any]] = [
    # Address resolution (§7.2.2, §7.2.5, Appendix C).
    {"trigger": "solicited_na", "source": "INCOMPLETE", "dest": "REACHABLE", "rfc": "4861 §7.2.5"},
    {
        "trigger": "unsolicited_na_new_lla",
        "source": "INCOMPLETE",
        "dest": "STALE",
        "rfc": "4861 §7.2.5",
    },
    {"trigger": "lla_changed", "source": "INCOMPLETE", "dest": "STALE", "rfc": "4861 §7.2.3"},
    {
        "trigger": "resolution_failed",
        "source": "INCOMPLETE",
        "dest": "UNREACHABLE",
        "rfc": "4861 §7.2.2",
    },
    # Reachability confirmed (§7.3.1): a solicited NA, or an upper-layer hint.
    {"trigger": "solicited_na", "source": _KNOWN, "dest": "REACHABLE", "rfc": "4861 §7.2.5"},
    {
        "trigger": "reachability_confirmed",
        "source": _KNOWN,
        "dest": "REACHABLE",
        "rfc": "4861 §7.3.1",
    },
    # A different link-layer address is learned (§7.2.3, §6.3.4, §8.3; §7.2.5 with O=1).
    {"trigger": "lla_changed", "source": _KNOWN, "dest": "STALE", "rfc": "4861 §7.2.3"},
    {"trigger": "unsolicited_na_new_lla", "source": _KNOWN, "dest": "STALE", "rfc": "4861 §7.2.5"},
    # §7.2.5: Override clear and a different address: only REACHABLE becomes STALE.
    {
        "trigger": "na_new_lla_no_override",
        "source": "REACHABLE",
        "dest": "STALE",
        "rfc": "4861 §7.2.5",
    },
    # NUD timers (§7.3.3).
    {"trigger": "reachable_timeout", "source": "REACHABLE", "dest": "STALE", "rfc": "4861 §7.3.3"},
    {"trigger": "send_packet", "source": "STALE", "dest": "DELAY", "rfc": "4861 §7.3.3"},
    {"trigger": "delay_timeout", "source": "DELAY", "dest": "PROBE", "rfc": "4861 §7.3.3"},
    {"trigger": "probes_exhausted", "source": "PROBE", "dest": "UNREACHABLE", "rfc": "4861 §7.3.3"},
]

#: Events that leave the state as it is (Appendix C: "-" in the new-state column).
_EVENTS = {
    "solicited_na",
    "unsolicited_na_new_lla",
    "unsolicited_na_same_lla",
    "na_new_lla_no_override",
    "lla_changed",
    "lla_same",
    "reachability_confirmed",
    "send_packet",
    "retransmit_timeout",
    "reachable_timeout",
    "delay_timeout",
    "probe_timeout",
    "probes_exhausted",
    "resolution_failed",
}


#: (state, trigger) pairs that are legal and change nothing: e.g. a packet sent while
#: INCOMPLETE is queued (§7.2.2), every ND event on a PERMANENT entry, NS retransmissions.
IGNORED = unlisted_pairs(NceState, TRANSITIONS, _EVENTS, terminal=(NceState.UNREACHABLE,))

GRAPH = Graph(
    name="nce",
    states=NceState,
    transitions=TRANSITIONS,
    initial=NceState.INCOMPLETE,
    rfc="4861 §7.3",
    description="Neighbor Cache entry reachability (NUD)",
    ignored=IGNORED,
)


def diagram(fmt: str = "dot") -> str:
    return GRAPH.diagram(fmt)
