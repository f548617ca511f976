"""``tcpip6 show bindings``: Mobile IPv6 state (RFC 6275): the Binding Cache of a
correspondent node (RFC 6275 §9.1), each entry with its care-of address, the last accepted
Sequence Number, the seconds left and the entry's state in its graph; and the Binding
Update List (RFC 6275 §11.1), empty until the host is a mobile node. The correspondent's
counters come along.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tcpip6.stack.host import Host

Data = dict[str, Any]


def bindings(host: Host, now: float) -> Data:
    """The ``bindings`` view's dict."""
    cn = host.mobility
    if cn is None:
        return {"role": None, "binding_cache": [], "binding_update_list": [], "counters": {}}
    cache = [
        {
            "home_address": str(e.home_address),
            "care_of_address": str(e.care_of_address),
            "sequence_number": e.sequence_number,
            "lifetime": e.lifetime,
            "expires": max(0, math.ceil(e.expires - now)),
            "state": e.state.name,
            "used": e.used,
        }
        for e in sorted(cn.cache.entries.values(), key=lambda e: int(e.home_address))
    ]
    return {
        "role": "correspondent",
        "binding_cache": cache,
        "binding_update_list": [],
        "counters": cn.counters.as_dict(),
    }


def binding_lines(data: Data) -> list[str]:
    """The lines of the ``bindings`` view."""
    if data.get("role") is None:
        return ["no Mobile IPv6 role (tcpip6 host --mobility correspondent)"]
    lines = [f"Binding Cache ({len(data['binding_cache'])} entries):"]
    for e in data["binding_cache"]:
        lines.append(
            f"  {e['home_address']} via {e['care_of_address']} seq {e['sequence_number']} "
            f"expires {e['expires']}s {e['state']}{' used' if e['used'] else ''}"
        )
    lines.append(f"Binding Update List ({len(data['binding_update_list'])} entries)")
    nonzero = {k: v for k, v in data["counters"].items() if v}
    if nonzero:
        lines.append("Mip6:")
        lines += [f"    {k}: {v}" for k, v in nonzero.items()]
    return lines
