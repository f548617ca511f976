"""The state of an address of an interface: Duplicate Address Detection and lifetimes
(RFC 4862 §2 terminology, §5.4, §5.5.3, §5.5.4).

An address starts TENTATIVE while Duplicate Address Detection runs (§5.4). When DAD ends
without a Neighbor Solicitation or Advertisement for it, the address is assigned:
PREFERRED, or DEPRECATED at once if its preferred lifetime is already over (a prefix
advertised with a zero preferred lifetime). A DAD Neighbor Solicitation (§5.4.3) or a
Neighbor Advertisement (§5.4.4) for a tentative address makes it DUPLICATE: never assigned
(§5.4.5). The end of the preferred lifetime makes a preferred address DEPRECATED, the end
of the valid lifetime makes any address INVALID (§5.5.4), and the table then drops it. A
Prefix Information option with a non-zero preferred lifetime makes a deprecated address
preferred again (§5.5.3 (e)). When the interface's link comes back up (it was detached,
or is attached to another link), every address in DAD or assigned is TENTATIVE again and
DAD runs anew (RFC 4862 §5.3, §5.4).

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


TRANSITIONS: list[dict[str, Any]] = [
    # §5.4: DAD sent DupAddrDetectTransmits solicitations and heard nothing for RetransTimer
    # after the last one (§5.1): the address is unique and assigned. Rows are tried in
    # order: an address whose preferred lifetime ended meanwhile is assigned deprecated
    # (the guard is the entity's ``preferred_lifetime_over(event)``).
    {
        "trigger": "dad_succeeded",
        "source": "TENTATIVE",
        "dest": "DEPRECATED",
        "conditions": "preferred_lifetime_over",
        "rfc": "4862 §5.5.4",
    },
    {"trigger": "dad_succeeded", "source": "TENTATIVE", "dest": "PREFERRED", "rfc": "4862 §5.4"},
    # §5.4.3: an NS from the unspecified address whose target is the tentative address.
    {
        "trigger": "dad_ns_received",
        "source": "TENTATIVE",
        "dest": "DUPLICATE",
        "rfc": "4862 §5.4.3",
    },
    # §5.4.4: "If the target address is tentative, the tentative address is not unique."
    {
        "trigger": "dad_na_received",
        "source": "TENTATIVE",
        "dest": "DUPLICATE",
        "rfc": "4862 §5.4.4",
    },
    # §5.5.4: "A preferred address becomes deprecated when its preferred lifetime expires";
    # the same when a Prefix Information option resets the preferred lifetime to zero.
    {
        "trigger": "preferred_lifetime_expired",
        "source": "PREFERRED",
        "dest": "DEPRECATED",
        "rfc": "4862 §5.5.4",
    },
    # §5.5.3 (e): the preferred lifetime is reset to the advertised one: a deprecated
    # address with a new non-zero preferred lifetime is preferred again.
    {
        "trigger": "preferred_lifetime_renewed",
        "source": "DEPRECATED",
        "dest": "PREFERRED",
        "rfc": "4862 §5.5.3 (e)",
    },
    # §5.5.4: "An address (and its association with an interface) becomes invalid when its
    # valid lifetime expires."
    {
        "trigger": "valid_lifetime_expired",
        "source": ["TENTATIVE", "PREFERRED", "DEPRECATED"],
        "dest": "INVALID",
        "rfc": "4862 §5.5.4",
    },
    # RFC 4862 §5.3: an interface is (re)enabled when it is "reattached to a link after being
    # detached for some time"; RFC 4862 §5.4: "Duplicate Address Detection MUST be performed on all
    # unicast addresses prior to assigning them to an interface": each address in DAD or
    # assigned is tentative again until a new DAD has checked it on the link it is on now.
    {
        "trigger": "link_up",
        "source": ["TENTATIVE", "PREFERRED", "DEPRECATED"],
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
        # §5.5.3 (e) on a tentative address only moves its deadline; whether it is assigned
        # deprecated is decided when DAD ends.
        ("TENTATIVE", "preferred_lifetime_expired"),
        ("TENTATIVE", "preferred_lifetime_renewed"),
        # §5.4.3: an NS for an address that is not tentative is ordinary Neighbor Discovery
        # (answered by the host); §5.4.4: an NA for an assigned address is "beyond the scope
        # of this document". DAD does not run again on an assigned address.
        ("PREFERRED", "dad_succeeded"),
        ("PREFERRED", "dad_ns_received"),
        ("PREFERRED", "dad_na_received"),
        ("PREFERRED", "preferred_lifetime_renewed"),
        ("DEPRECATED", "dad_succeeded"),
        ("DEPRECATED", "dad_ns_received"),
        ("DEPRECATED", "dad_na_received"),
        ("DEPRECATED", "preferred_lifetime_expired"),
        # §5.4.5: a duplicate is never assigned: DAD and the preferred lifetime are over.
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

GRAPH = Graph(
    name="dad",
    states=AddressState,
    transitions=TRANSITIONS,
    initial=AddressState.TENTATIVE,
    rfc="4862 §5.4",
    description="Address states: Duplicate Address Detection and lifetimes",
    ignored=IGNORED,
)
