"""Neighbor Unreachability Detection: the reachability states of a Neighbor Cache entry
(RFC 4861 §7.3.2, §7.3.3, Appendix C).

Every NCE of every interface is a model of this one graph. The entry's owner
(:class:`~tcpip6.stack.neighbors.NeighborCache`) classifies each event into one trigger and
fires it; what the trigger *does* besides the state change (record a link-layer address,
send queued packets, arm a timer) is the owner's, but no entry changes state anywhere else.

The triggers are the events of Appendix C that change the state in at least one state:

=========================  ===============================================================
``solicited_na``           NA, Solicited=1, and (entry INCOMPLETE, or Override=1, or the
                           same or no link-layer address) (§7.2.5)
``unsolicited_na_new_lla`` NA, Solicited=0, recording a link-layer address: any, while
                           INCOMPLETE; a different one with Override=1 otherwise (§7.2.5)
``na_new_lla_no_override`` NA, Override=0, a link-layer address different from the cached
                           one: only REACHABLE changes (to STALE, §7.2.5 I.a)
``lla_changed``            NS, RS, RA or Redirect with a link-layer address the entry does
                           not hold (§7.2.3, §6.2.6, §6.3.4, §8.3)
``reachability_confirmed`` upper-layer forward progress (§7.3.1)
``reachable_timeout``      ReachableTime passed without confirmation (§7.3.3)
``send_packet``            the first packet sent to a STALE entry (§7.3.3)
``delay_timeout``          DELAY_FIRST_PROBE_TIME passed in DELAY (§7.3.3)
``resolution_failed``      MAX_MULTICAST_SOLICIT NSs unanswered (§7.2.2)
``probes_exhausted``       MAX_UNICAST_SOLICIT probes unanswered (§7.3.3)
=========================  ===============================================================

Events that never change the state (a retransmission timeout with solicitations left, an
NS with the cached link-layer address, a packet sent to a REACHABLE entry) fire nothing.

``PERMANENT`` is a static entry (a manually configured neighbor, or the remote end of a
configured tunnel, as MSR IPv6's "no ND" NCE state): it ignores every ND event.
``UNREACHABLE`` is where an entry ends when resolution or probing fails (Appendix C:
"Discard entry"): the cache reports it and removes the entry, so nothing is ever fired at
it.
"""

from __future__ import annotations

import enum
from typing import Any

from tcpip6.stack.machines.graph import Graph


class NceState(enum.Enum):
    INCOMPLETE = "INCOMPLETE"
    REACHABLE = "REACHABLE"
    STALE = "STALE"
    DELAY = "DELAY"
    PROBE = "PROBE"
    PERMANENT = "PERMANENT"
    UNREACHABLE = "UNREACHABLE"


#: Appendix C's "!INCOMPLETE": the states in which the link-layer address is known.
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
    {"trigger": "lla_changed", "source": "INCOMPLETE", "dest": "STALE", "rfc": "4861 Appendix C"},
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
    # §7.2.5 I: Override clear and a different address: only REACHABLE becomes STALE.
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
    # Detecting network attachment (Host.link_up): the link is up again, perhaps another
    # one; a router of the previous attachment is probed with unicast NSs to the link-layer
    # address it had, in NUD's PROBE state (RFC 4861 §7.3.3): an answer says the same link
    # is back.
    {"trigger": "attachment_probe", "source": _KNOWN, "dest": "PROBE", "rfc": "4861 §7.3.3"},
]


#: (state, trigger) pairs that are legal and change nothing (the RFC's "unchanged" cells).
IGNORED = frozenset(
    {
        # RFC 4861 §7.2.5 I.b: Override clear and a different link-layer address in any state
        # but REACHABLE: "the received advertisement should be ignored".
        *((s, "na_new_lla_no_override") for s in ["STALE", "DELAY", "PROBE"]),
        # RFC 4861 §7.3.1: an upper-layer hint confirms a neighbor whose address is known;
        # an INCOMPLETE entry has nothing to confirm, and a PERMANENT (static) entry runs no
        # Neighbor Unreachability Detection at all.
        ("INCOMPLETE", "reachability_confirmed"),
        ("PERMANENT", "reachability_confirmed"),
        # Attachment probes go to routers the host learned; a static entry runs no NUD.
        ("PERMANENT", "attachment_probe"),
    }
)

_STATIC = (
    "a PERMANENT (static) entry is never changed by Neighbor Discovery: the owner returns first"
)
_TIMER = "this entry timer is armed only in its own state (RFC 4861 §7.2.2, RFC 4861 §7.3.3)"

#: Pairs the owner (:class:`~tcpip6.stack.neighbors.NeighborCache`) never fires, and why:
#: with the rows and IGNORED, a total table. Fired anyway, they raise.
IMPOSSIBLE: dict[tuple[str, str], str] = {
    # The owner fires send_packet only on a STALE entry (RFC 4861 §7.3.3): in any other
    # state a packet is sent or queued without a change of state.
    **{
        (s, "send_packet"): "sending changes the state of a STALE entry only (RFC 4861 §7.3.3)"
        for s in ["INCOMPLETE", "REACHABLE", "DELAY", "PROBE", "PERMANENT"]
    },
    # Timers: each runs in one state and is re-armed on every state change.
    **{
        (s, "resolution_failed"): _TIMER
        for s in ["REACHABLE", "STALE", "DELAY", "PROBE", "PERMANENT"]
    },
    **{
        (s, "reachable_timeout"): _TIMER
        for s in ["INCOMPLETE", "STALE", "DELAY", "PROBE", "PERMANENT"]
    },
    **{
        (s, "delay_timeout"): _TIMER
        for s in ["INCOMPLETE", "REACHABLE", "STALE", "PROBE", "PERMANENT"]
    },
    **{
        (s, "probes_exhausted"): _TIMER
        for s in ["INCOMPLETE", "REACHABLE", "STALE", "DELAY", "PERMANENT"]
    },
    ("INCOMPLETE", "attachment_probe"): (
        "an attachment probe goes to the link-layer address a router had; an entry without one is "
        "dropped when the link comes up (Host.link_up)"
    ),
    # RFC 4861 §7.2.5: an NA for an INCOMPLETE entry records its address whatever the
    # Override flag says, and the owner fires solicited_na or unsolicited_na_new_lla.
    ("INCOMPLETE", "na_new_lla_no_override"): (
        "an INCOMPLETE entry takes the address of any NA with one (RFC 4861 §7.2.5)"
    ),
    **{
        ("PERMANENT", t): _STATIC
        for t in ["solicited_na", "unsolicited_na_new_lla", "lla_changed", "na_new_lla_no_override"]
    },
}

GRAPH = Graph(
    name="nce",
    states=NceState,
    transitions=TRANSITIONS,
    initial=NceState.INCOMPLETE,
    rfc="4861 §7.3",
    description="Neighbor Cache entry reachability (NUD)",
    ignored=IGNORED,
    impossible=IMPOSSIBLE,
)
