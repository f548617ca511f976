"""The state of an address of an interface: Duplicate Address Detection and lifetimes
(RFC 4862 §2 terminology, RFC 4862 §5.4, RFC 4862 §5.5.3, RFC 4862 §5.5.4).

An address starts TENTATIVE while Duplicate Address Detection runs (RFC 4862 §5.4). When DAD ends
without a Neighbor Solicitation or Advertisement for it, the address is assigned:
PREFERRED, or DEPRECATED at once if its preferred lifetime is already over (a prefix
advertised with a zero preferred lifetime). A DAD Neighbor Solicitation (RFC 4862 §5.4.3) or a
Neighbor Advertisement (RFC 4862 §5.4.4) for a tentative address makes it DUPLICATE: never assigned
(RFC 4862 §5.4.5). The end of the preferred lifetime makes a preferred address DEPRECATED, the end
of the valid lifetime makes any address INVALID (RFC 4862 §5.5.4), and the table then drops it. A
Prefix Information option with a non-zero preferred lifetime makes a deprecated address
preferred again (RFC 4862 §5.5.3 (e)). When the interface's link comes back up (it was detached,
or is attached to another link), every address in DAD or assigned is TENTATIVE again and
DAD runs anew (RFC 4862 §5.3, RFC 4862 §5.4).

With Optimistic DAD (RFC 4429, the interface's ``optimistic_dad`` switch) an address formed
from a most likely unique interface identifier (RFC 4429 §3.1: not one entered by hand) is
OPTIMISTIC from the moment DAD starts: usable at once, though not preferred over a
PREFERRED address, while the same solicitations run (RFC 4429 §3.3). It ends like a
tentative address: assigned when DAD ends, DUPLICATE on a DAD Neighbor Solicitation or a
Neighbor Advertisement for it.

Every NTE of every interface is a model of this one graph; its owner
(:class:`~tcpip6.stack.addresses.AddressTable`) keeps the timers and fires the triggers.
"""

from __future__ import annotations

import enum
from typing import Any

from tcpip6.stack.machines.graph import Graph


class AddressState(enum.Enum):
    TENTATIVE = "TENTATIVE"
    PREFERRED = "PREFERRED"
    DEPRECATED = "DEPRECATED"
    INVALID = "INVALID"
    DUPLICATE = "DUPLICATE"
    OPTIMISTIC = "OPTIMISTIC"


TRANSITIONS: list[dict[str, Any]] = [
    # RFC 4862 §5.4: DAD sent DupAddrDetectTransmits solicitations and heard nothing for
    # RetransTimer after the last one (RFC 4862 §5.1): the address is unique and assigned. Rows are
    # tried in order: an address whose preferred lifetime ended meanwhile is assigned deprecated
    # (the guard is the entity's ``preferred_lifetime_over(event)``).
    {
        "trigger": "dad_succeeded",
        "source": "TENTATIVE",
        "dest": "DEPRECATED",
        "conditions": "preferred_lifetime_over",
        "rfc": "4862 §5.5.4",
    },
    {"trigger": "dad_succeeded", "source": "TENTATIVE", "dest": "PREFERRED", "rfc": "4862 §5.4"},
    # RFC 4429 §3.3: "The Optimistic Address is configured and available for use on the
    # interface immediately. The address MUST be flagged as 'Optimistic'." The owner fires
    # this as DAD starts (no random delay first: RFC 4429 §3.3 "The host SHOULD NOT delay").
    {
        "trigger": "optimistic_dad_started",
        "source": "TENTATIVE",
        "dest": "OPTIMISTIC",
        "rfc": "4429 §3.3",
    },
    # RFC 4429 §3.3: "When DAD completes for an Optimistic Address, the address is no longer
    # Optimistic and it becomes Preferred or Deprecated according to the rules of RFC 2462."
    {
        "trigger": "dad_succeeded",
        "source": "OPTIMISTIC",
        "dest": "DEPRECATED",
        "conditions": "preferred_lifetime_over",
        "rfc": "4429 §3.3",
    },
    {"trigger": "dad_succeeded", "source": "OPTIMISTIC", "dest": "PREFERRED", "rfc": "4429 §3.3"},
    # RFC 4429 §3.3: an NS from the unspecified address for an Optimistic Address is not
    # answered: it "indicates that the address is a duplicate, and it MUST be deconfigured
    # as per the behaviour specified in RFC 2462 for Tentative addresses"; so is an NA
    # for it (RFC 4862 §5.4.4).
    {
        "trigger": "dad_ns_received",
        "source": "OPTIMISTIC",
        "dest": "DUPLICATE",
        "rfc": "4429 §3.3",
    },
    {
        "trigger": "dad_na_received",
        "source": "OPTIMISTIC",
        "dest": "DUPLICATE",
        "rfc": "4429 §3.3",
    },
    # RFC 4862 §5.4.3: an NS from the unspecified address whose target is the tentative address.
    {
        "trigger": "dad_ns_received",
        "source": "TENTATIVE",
        "dest": "DUPLICATE",
        "rfc": "4862 §5.4.3",
    },
    # RFC 4862 §5.4.4: "If the target address is tentative, the tentative address is not unique."
    {
        "trigger": "dad_na_received",
        "source": "TENTATIVE",
        "dest": "DUPLICATE",
        "rfc": "4862 §5.4.4",
    },
    # RFC 4862 §5.5.4: "A preferred address becomes deprecated when its preferred lifetime expires";
    # the same when a Prefix Information option resets the preferred lifetime to zero.
    {
        "trigger": "preferred_lifetime_expired",
        "source": "PREFERRED",
        "dest": "DEPRECATED",
        "rfc": "4862 §5.5.4",
    },
    # RFC 4862 §5.5.3 (e): the preferred lifetime is reset to the advertised one: a deprecated
    # address with a new non-zero preferred lifetime is preferred again.
    {
        "trigger": "preferred_lifetime_renewed",
        "source": "DEPRECATED",
        "dest": "PREFERRED",
        "rfc": "4862 §5.5.3 (e)",
    },
    # RFC 4862 §5.5.4: "An address (and its association with an interface) becomes invalid when its
    # valid lifetime expires."
    {
        "trigger": "valid_lifetime_expired",
        "source": ["TENTATIVE", "OPTIMISTIC", "PREFERRED", "DEPRECATED"],
        "dest": "INVALID",
        "rfc": "4862 §5.5.4",
    },
    # RFC 4862 §5.3: an interface is (re)enabled when it is "reattached to a link after being
    # detached for some time"; RFC 4862 §5.4: "Duplicate Address Detection MUST be performed on all
    # unicast addresses prior to assigning them to an interface": each address in DAD or
    # assigned is tentative again until a new DAD has checked it on the link it is on now
    # (with Optimistic DAD the owner makes it optimistic again at once, RFC 4429 §3.3).
    {
        "trigger": "link_up",
        "source": ["TENTATIVE", "OPTIMISTIC", "PREFERRED", "DEPRECATED"],
        "dest": "TENTATIVE",
        "rfc": "4862 §5.4",
    },
    # A duplicate address keeps the valid lifetime it was configured with and leaves the
    # table when that ends, so that duplicates do not fill it.
    {
        "trigger": "valid_lifetime_expired",
        "source": "DUPLICATE",
        "dest": "INVALID",
        "rfc": "4862 §5.5.4",
    },
]

#: (state, trigger) pairs that leave the state as it is.
IGNORED = frozenset(
    {
        # RFC 4862 §5.5.3 (e) on a tentative address only moves its deadline; whether it is assigned
        # deprecated is decided when DAD ends.
        ("TENTATIVE", "preferred_lifetime_expired"),
        ("TENTATIVE", "preferred_lifetime_renewed"),
        # RFC 4429 §3.3: an optimistic address becomes preferred or deprecated "according to
        # the rules of RFC 2462" when DAD completes: like a tentative one, its lifetimes only
        # move deadlines until then.
        ("OPTIMISTIC", "preferred_lifetime_expired"),
        ("OPTIMISTIC", "preferred_lifetime_renewed"),
        # RFC 4862 §5.4.3: an NS for an address that is not tentative is ordinary Neighbor Discovery
        # (answered by the host); RFC 4862 §5.4.4: an NA for an assigned address is "beyond the
        # scope of this document". DAD does not run again on an assigned address.
        ("PREFERRED", "dad_succeeded"),
        ("PREFERRED", "dad_ns_received"),
        ("PREFERRED", "dad_na_received"),
        ("PREFERRED", "preferred_lifetime_renewed"),
        ("DEPRECATED", "dad_succeeded"),
        ("DEPRECATED", "dad_ns_received"),
        ("DEPRECATED", "dad_na_received"),
        ("DEPRECATED", "preferred_lifetime_expired"),
        # RFC 4862 §5.4.5: a duplicate is never assigned: DAD and the preferred lifetime are over.
        ("DUPLICATE", "dad_succeeded"),
        ("DUPLICATE", "dad_ns_received"),
        ("DUPLICATE", "dad_na_received"),
        ("DUPLICATE", "preferred_lifetime_expired"),
        ("DUPLICATE", "preferred_lifetime_renewed"),
        # RFC 4862 §5.4.5: a duplicate "MUST NOT be assigned"; whether it is unique on the
        # new link is left to the administrator (it is removed and added again by hand).
        ("DUPLICATE", "link_up"),
        # An invalid address is leaving the table: nothing more happens to it.
        ("INVALID", "link_up"),
        ("INVALID", "dad_succeeded"),
        ("INVALID", "dad_ns_received"),
        ("INVALID", "dad_na_received"),
        ("INVALID", "preferred_lifetime_expired"),
        ("INVALID", "preferred_lifetime_renewed"),
        ("INVALID", "valid_lifetime_expired"),
    }
)

#: Pairs the owner never fires, and why (with the rows and IGNORED: a total table).
IMPOSSIBLE = {
    ("OPTIMISTIC", "optimistic_dad_started"): "optimistic DAD starts on a tentative address",
    ("PREFERRED", "optimistic_dad_started"): "optimistic DAD starts on a tentative address",
    ("DEPRECATED", "optimistic_dad_started"): "optimistic DAD starts on a tentative address",
    ("DUPLICATE", "optimistic_dad_started"): "a duplicate is never used (RFC 4862 §5.4.5)",
    ("INVALID", "optimistic_dad_started"): "an invalid address has left the table",
}

GRAPH = Graph(
    name="dad",
    states=AddressState,
    transitions=TRANSITIONS,
    initial=AddressState.TENTATIVE,
    rfc="4862 §5.4",
    description="Address states: Duplicate Address Detection and lifetimes",
    ignored=IGNORED,
    impossible=IMPOSSIBLE,
)
