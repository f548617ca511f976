"""``tcpip6 show bindings``: Mobile IPv6 state (RFC 6275): the Binding Cache of a
correspondent node (RFC 6275 §9.1) and, on a home agent, its home registrations (RFC 6275
§10.1), each entry with its care-of address, the last accepted Sequence Number, the seconds
left and the entry's state in its graph; and the Binding Update List of a mobile node (RFC
6275 §11.1): its home agent, home and care-of addresses, the last Sequence Number sent, the
seconds left of the acknowledged binding and the registration graph's state. The counters
come along.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tcpip6.stack.host import Host
    from tcpip6.stack.mobility.binding_cache import BindingCache

Data = dict[str, Any]


def _cache(cache: BindingCache, now: float, home_registration: bool) -> list[Data]:
    return [
        {
            "home_address": str(e.home_address),
            "care_of_address": str(e.care_of_address),
            "sequence_number": e.sequence_number,
            "lifetime": e.lifetime,
            "expires": max(0, math.ceil(e.expires - now)),
            "state": e.state.name,
            "used": e.used,
            "home_registration": home_registration,
        }
        for e in sorted(cache.entries.values(), key=lambda e: int(e.home_address))
    ]


def bindings(host: Host, now: float) -> Data:
    """The ``bindings`` view's dict."""
    cn, ha, mn = host.mobility, host.home_agent, host.mobile_node
    roles = [
        name
        for name, part in (("correspondent", cn), ("home agent", ha), ("mobile node", mn))
        if part is not None
    ]
    cache: list[Data] = [] if cn is None else _cache(cn.cache, now, False)
    counters: dict[str, int] = {} if cn is None else dict(cn.counters.as_dict())
    if ha is not None:
        cache += _cache(ha.cache, now, True)
        counters |= ha.counters.as_dict()
        counters |= {f"tunnel_{k}": v for k, v in ha.tunnel.as_dict().items()}
    bul: list[Data] = []
    if mn is not None:
        e = mn.entry
        bul.append(
            {
                "peer": str(e.peer),
                "home_address": str(e.home_address),
                "care_of_address": None if e.care_of_address is None else str(e.care_of_address),
                "at_home": mn.at_home,
                "sequence_number": e.sequence_number,
                "lifetime": e.lifetime,
                "expires": None if e.expires is None else max(0, math.ceil(e.expires - now)),
                "state": e.state.name,
                "correspondent": False,
            }
        )
        if mn.ro is not None:
            # RFC 6275 §11.1: the correspondents' entries (return routability, §11.6).
            for c in sorted(mn.ro.entries.values(), key=lambda c: int(c.peer)):
                bound = c.bound_care_of
                bul.append(
                    {
                        "peer": str(c.peer),
                        "home_address": str(c.home_address),
                        "care_of_address": None if bound is None else str(bound),
                        "at_home": mn.at_home,
                        "sequence_number": c.sequence_number,
                        "lifetime": c.lifetime,
                        "expires": None
                        if c.expires is None
                        else max(0, math.ceil(c.expires - now)),
                        "state": c.state.name,
                        "correspondent": True,
                    }
                )
            counters |= {f"ro_{k}": v for k, v in mn.ro.counters.as_dict().items()}
        counters |= mn.counters.as_dict()
        counters |= {f"tunnel_{k}": v for k, v in mn.tunnel.as_dict().items()}
    return {
        "role": " + ".join(roles) if roles else None,
        "binding_cache": cache,
        "binding_update_list": bul,
        "counters": counters,
    }


def binding_lines(data: Data) -> list[str]:
    """The lines of the ``bindings`` view."""
    if data.get("role") is None:
        return [
            "no Mobile IPv6 role (tcpip6 host --mobility correspondent, --home-agent, "
            "--mobile-node)"
        ]
    lines = [f"Mobile IPv6: {data['role']}"]
    lines.append(f"Binding Cache ({len(data['binding_cache'])} entries):")
    for e in data["binding_cache"]:
        kind = " home registration" if e.get("home_registration") else ""
        lines.append(
            f"  {e['home_address']} via {e['care_of_address']} seq {e['sequence_number']} "
            f"expires {e['expires']}s {e['state']}{' used' if e['used'] else ''}{kind}"
        )
    lines.append(f"Binding Update List ({len(data['binding_update_list'])} entries):")
    for b in data["binding_update_list"]:
        where = "at home" if b["at_home"] else f"via {b['care_of_address']}"
        left = "" if b["expires"] is None else f" expires {b['expires']}s"
        role = "correspondent" if b.get("correspondent") else "home agent"
        lines.append(
            f"  {b['home_address']} {where} at {role} {b['peer']} "
            f"seq {b['sequence_number']}{left} {b['state']}"
        )
    nonzero = {k: v for k, v in data["counters"].items() if v}
    if nonzero:
        lines.append("Mip6:")
        lines += [f"    {k}: {v}" for k, v in nonzero.items()]
    return lines
