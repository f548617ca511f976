"""Reassembly of one fragmented packet (RFC 8200 §4.5, with RFC 5722 §4 on overlaps).

One graph per reassembly buffer: the buffer of the fragments that share a Source Address,
a Destination Address and a Fragment Identification. Its owner
(:class:`~tcpip6.stack.fragment.Reassembler`) looks at each fragment, decides which
trigger it is, and fires it; the state then says what the buffer is waiting for:

* a buffer is ``EMPTY`` only while the fragment that created it is being filed;
* ``AWAITING_FIRST`` holds fragments, but not the one at offset 0: if the 60 seconds run
  out now, nothing is sent (RFC 8200 §4.5: Time Exceeded only "if the first fragment ... has been
  received");
* ``HAVE_FIRST`` holds the offset-0 fragment, whose per-fragment headers the reassembled
  packet keeps; a timeout now sends ICMPv6 Time Exceeded code 1 about it;
* ``DISCARDED``: an overlap (RFC 5722) or fragments that disagree on where the packet ends
  made the packet impossible to rebuild with certainty; everything held is freed, and
  until the timer expires every further fragment of it is dropped too;
* ``COMPLETE`` (every octet arrived, the packet was delivered), ``TIMED_OUT`` (the
  reassembly time ran out) and ``EVICTED`` (given up, the oldest, to make room for a
  newer packet when reassembly memory is full) are final: the owner frees the buffer.

Which fragment is which trigger: ``first_fragment`` has offset 0 and M=1 (offset 0 with
M=0 is an atomic fragment, RFC 6946, never buffered); ``middle_fragment`` has an offset and
M=1; ``last_fragment`` has an offset and M=0, and tells the length of the packet. Fragments
the owner refuses on their own (length not a multiple of 8, too long, incomplete header
chain, a packet too big for its source's share of memory) change no buffer and fire
nothing. The 60-second timer is the owner's; it fires ``timer_expired``. When a fragment
does not fit the memory bounds, the owner fires ``evicted`` on the oldest other buffers
until it does.
"""

from __future__ import annotations

import enum
from typing import Any

from tcpip6.stack.machines.graph import Graph, self_loops


class ReassemblyState(enum.Enum):
    EMPTY = "EMPTY"  # just created for the fragment being filed
    AWAITING_FIRST = "AWAITING_FIRST"  # fragments held, not the one at offset 0
    HAVE_FIRST = "HAVE_FIRST"  # the offset-0 fragment is held
    DISCARDED = "DISCARDED"  # abandoned; later fragments dropped until the timer expires
    COMPLETE = "COMPLETE"  # reassembled and delivered
    TIMED_OUT = "TIMED_OUT"  # the reassembly time ran out
    EVICTED = "EVICTED"  # given up to make room (the oldest first)


COLLECTING = ["AWAITING_FIRST", "HAVE_FIRST"]

TRANSITIONS: list[dict[str, Any]] = [
    # RFC 8200 §4.5: "the packet whose Fragment Offset is zero" brings the per-fragment headers.
    {
        "trigger": "first_fragment",
        "source": ["EMPTY", "AWAITING_FIRST"],
        "dest": "HAVE_FIRST",
        "rfc": "8200 §4.5",
    },
    # Fragments after the first are filed by their offset; the state only says whether
    # the first is among them.
    {
        "trigger": "middle_fragment",
        "source": "EMPTY",
        "dest": "AWAITING_FIRST",
        "rfc": "8200 §4.5",
    },
    *self_loops("middle_fragment", COLLECTING, "8200 §4.5"),
    # RFC 8200 §4.5: the Payload Length of the reassembled packet comes from "the length and offset
    # of the last fragment".
    {"trigger": "last_fragment", "source": "EMPTY", "dest": "AWAITING_FIRST", "rfc": "8200 §4.5"},
    *self_loops("last_fragment", COLLECTING, "8200 §4.5"),
    # RFC 5722 §4 (and RFC 8200 §4.5): an implementation "MAY choose to detect" exact duplicates
    # and "drop exact duplicate fragments while keeping the other fragments".
    *self_loops("duplicate", COLLECTING, "5722 §4"),
    # RFC 5722 §4: an overlapping fragment: "the entire datagram (and any constituent
    # fragments, including those not yet received) MUST be silently discarded".
    {"trigger": "overlap", "source": COLLECTING, "dest": "DISCARDED", "rfc": "5722 §4"},
    # RFC 8200 §4.5 takes the length from the last fragment; two last fragments that disagree, or
    # data past the end, leave no one length: abandoned silently, as for an overlap.
    {"trigger": "length_conflict", "source": COLLECTING, "dest": "DISCARDED", "rfc": "8200 §4.5"},
    # RFC 8200 §4.5: every octet of the Fragmentable Part is here (so the first fragment is too).
    {"trigger": "reassembled", "source": "HAVE_FIRST", "dest": "COMPLETE", "rfc": "8200 §4.5"},
    # RFC 8200 §4.5: "within 60 seconds of the reception of the first-arriving fragment".
    {
        "trigger": "timer_expired",
        "source": ["AWAITING_FIRST", "HAVE_FIRST", "DISCARDED"],
        "dest": "TIMED_OUT",
        "rfc": "8200 §4.5",
    },
    # RFC 8200 §4.5 bounds nothing; the bound is an implementation choice, and so is what
    # gives when it is reached: the oldest packet (of the same source while that source
    # is over its share), as Linux's fragment evictor does, rather than refusing new ones
    # for 60 s while fragments that will never complete hold the room. Nothing is sent.
    {
        "trigger": "evicted",
        "source": ["AWAITING_FIRST", "HAVE_FIRST", "DISCARDED"],
        "dest": "EVICTED",
        "rfc": "8200 §4.5",
    },
]

#: RFC 5722 §4: fragments of a discarded packet, "including those not yet received", are
#: silently discarded: no state change.
IGNORED = frozenset(
    {
        ("DISCARDED", "first_fragment"),
        ("DISCARDED", "middle_fragment"),
        ("DISCARDED", "last_fragment"),
    }
)

_NOTHING_HELD = "nothing is held to compare a fragment with"
#: Pairs the owner never fires, and why (with the rows and IGNORED: a total table).
IMPOSSIBLE = {
    **{
        ("EMPTY", t): "EMPTY lasts only while the fragment that made the buffer is filed"
        for t in (
            "duplicate",
            "overlap",
            "length_conflict",
            "reassembled",
            "timer_expired",
            "evicted",
        )
    },
    ("AWAITING_FIRST", "reassembled"): "the packet is not whole without its first fragment",
    ("HAVE_FIRST", "first_fragment"): "another fragment at offset 0 is a duplicate or an overlap",
    **{
        ("DISCARDED", t): _NOTHING_HELD
        for t in ("duplicate", "overlap", "length_conflict", "reassembled")
    },
}

GRAPH = Graph(
    name="reassembly",
    states=ReassemblyState,
    transitions=TRANSITIONS,
    initial=ReassemblyState.EMPTY,
    rfc="8200 §4.5",
    description="Reassembly of one fragmented packet",
    ignored=IGNORED,
    impossible=IMPOSSIBLE,
)
