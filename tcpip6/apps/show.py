"""``tcpip6 show``: the conceptual data structures of a running host, as ``ip -6`` and the
MSR stack's ``ipv6`` tool print them.

Two pure steps, testable without a socket:

1. :func:`snapshot` reads a :class:`~tcpip6.stack.host.Host` at time ``now`` into a dict
   of plain values (strings, numbers, booleans, None, lists, dicts): what the control
   socket sends, and what ``tcpip6 show --json`` prints. Keys are the names of the
   structures' fields, and stay stable.
2. :func:`format_view` turns that dict into the lines a person reads.

A lifetime (``valid_lft``, ``preferred_lft``, ``expires``) is the whole seconds left, or
None for an infinite one ("forever" in the lines, as ``ip -6 addr`` prints it).

The views:

- ``interfaces``: each interface with its link address, MTU and RFC 4861 §6.3.2 variables;
- ``addresses``: each NTE with its DAD state (RFC 4862 §5.4), origin and lifetimes left;
- ``neighbors``: each NCE (RFC 4861 §5.1): neighbor, link address, IsRouter, state;
- ``routes``: the Prefix List, the static routes and the Default Router List;
- ``destinations``: the route cache (RCE): next hop, interface, source, path MTU;
- ``counters``: every counter in JSON; the non-zero ones by protocol in the lines (TCP's
  as ``Tcp6:``, like the ``Tcp:`` section of ``netstat -s``);
- ``connections``: every TCP connection and listener, then the bound UDP, UDP-Lite and raw
  sockets, as ``ss -tuan`` prints them (state, Recv-Q, Send-Q, local and peer address);
- ``sockets``: the same as ``connections`` (its older name), under the key ``sockets``;
- ``ipsec``: the SPD in order, the SAs (never their keys) with counters, IPsec counters.
- ``bindings``: Mobile IPv6's Binding Cache and Binding Update List (RFC 6275 §9.1, RFC 6275 §11.1).
- ``translations``: the translators (SIIT, NAT64): a NAT64's BIB and sessions (RFC 6146 §3.1-§3.2).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from ipaddress import IPv6Address
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tcpip6.apps import ipsec_config
from tcpip6.apps.command import CliError, Subparsers
from tcpip6.apps.show_bindings import binding_lines, bindings
from tcpip6.apps.show_format import counter_group, expires, seconds_left
from tcpip6.apps.show_translations import translation_lines, translations
from tcpip6.stack.counters import CounterSet
from tcpip6.wire import ipv6 as wire_ipv6

if TYPE_CHECKING:
    from tcpip6.stack.host import Host

VIEWS = (
    "interfaces",
    "addresses",
    "neighbors",
    "routes",
    "destinations",
    "counters",
    "connections",
    "sockets",
    "ipsec",
    "bindings",
    "translations",
)

Data = dict[str, Any]

_PROTOCOL_NAMES = {
    wire_ipv6.IPPROTO_UDP: "udp",
    wire_ipv6.IPPROTO_UDPLITE: "udplite",
    wire_ipv6.IPPROTO_ICMPV6: "icmpv6",
}


def _mac(link_address: bytes | None) -> str | None:
    return link_address.hex(":") if link_address else None


def _lft(value: int | None) -> str:
    return "forever" if value is None else f"{value}sec"


def _scope(address: IPv6Address) -> str:
    if address.is_loopback:
        return "host"
    if address.is_link_local:
        return "link"
    if address.is_site_local:
        return "site"
    return "global"


# -- data structures -> dicts ------------------------------------------------------------


def interfaces(host: Host, now: float) -> Data:
    """Each interface (MSR's IF) and its RFC 4861 §6.3.2 variables."""
    out = []
    for iface in host.interfaces:
        p = iface.params
        out.append(
            {
                "index": iface.index,
                "name": iface.name,
                "kind": iface.link.kind,
                "link_address": _mac(iface.link.link_address),
                "mtu": iface.mtu,
                "cur_hop_limit": p.cur_hop_limit,
                "base_reachable_time": p.base_reachable_time,
                "reachable_time": p.reachable_time,
                "retrans_timer": p.retrans_timer,
                "dup_addr_detect_transmits": p.dup_addr_detect_transmits,
                "autoconfigure": iface.autoconfigure,
                "forwarding": host.forwarding,
                "groups": [str(g) for g in sorted(iface.groups)],
                "dns_servers": [str(a) for a in iface.dns_servers],
            }
        )
    return {"interfaces": out}


def addresses(host: Host, now: float) -> Data:
    """Each interface's NTEs (and anycast addresses) with DAD state and lifetimes left."""
    out = []
    for iface in host.interfaces:
        for nte in sorted(iface.addresses, key=lambda e: (_scope(e.address), e.address)):
            out.append(
                {
                    "interface": iface.name,
                    "address": str(nte.address),
                    "prefix_length": nte.prefix_length,
                    "scope": _scope(nte.address),
                    "state": nte.state.name,
                    "origin": nte.origin.value,
                    "valid_lft": seconds_left(nte.valid_until, now),
                    "preferred_lft": seconds_left(nte.preferred_until, now),
                }
            )
        for address, prefix_length in sorted(iface.addresses.anycast.items()):
            out.append(
                {
                    "interface": iface.name,
                    "address": str(address),
                    "prefix_length": prefix_length,
                    "scope": _scope(address),
                    "state": "ANYCAST",
                    "origin": "anycast",
                    "valid_lft": None,
                    "preferred_lft": None,
                }
            )
    return {"addresses": out}


def neighbors(host: Host, now: float) -> Data:
    """Each NCE of each interface (RFC 4861 §5.1)."""
    out = []
    for iface in host.interfaces:
        for nce in iface.neighbors.entries.values():
            out.append(
                {
                    "interface": iface.name,
                    "neighbor": str(nce.neighbor),
                    "link_address": _mac(nce.link_address),
                    "is_router": nce.is_router,
                    "state": nce.state.name,
                    "probes": nce.probes,
                    "queued": len(nce.queue),
                }
            )
    return {"neighbors": out}


def routes(host: Host, now: float) -> Data:
    """The Prefix List, static routes and Default Router List (RFC 4861 §5.1)."""
    table = host.routes
    prefixes = [
        {
            "prefix": str(ple.prefix),
            "interface": ple.interface.name,
            "origin": ple.origin.name.lower(),
            "expires": seconds_left(ple.invalidation_time, now),
        }
        for ple in table.prefix_list.values()
    ]
    static = [
        {
            "prefix": str(route.prefix),
            "interface": route.interface.name,
            "next_hop": None if route.next_hop is None else str(route.next_hop),
        }
        for route in table.static_routes
    ]
    preference = {-1: "low", 0: "medium", 1: "high"}
    routers = [
        {
            "router": str(rle.router),
            "interface": rle.interface.name,
            "expires": seconds_left(rle.invalidation_time, now),
            "preference": preference.get(rle.preference, str(rle.preference)),
        }
        for rle in table.default_router_list
    ]
    return {"prefixes": prefixes, "static_routes": static, "default_routers": routers}


def destinations(host: Host, now: float) -> Data:
    """The route cache (MSR's RCEs; RFC 4861's Destination Cache), most recent last."""
    out = []
    for rce in host.routes.route_cache.values():
        source = rce.preferred_source
        out.append(
            {
                "destination": str(rce.destination),
                "next_hop": str(rce.next_hop),
                "interface": rce.interface.name,
                "preferred_source": None if source is None else str(source),
                # The estimate in use: never above the link's MTU (RFC 8201 §4).
                "path_mtu": min(rce.path_mtu, rce.interface.mtu),
                "reason": rce.reason.name.lower(),
            }
        )
    return {"destinations": out}


def counters(host: Host, now: float, extra: Mapping[str, CounterSet] | None = None) -> Data:
    """Every counter, by protocol, then by interface (``extra``: more groups, e.g. the
    live host's packet-socket ports)."""
    data: Data = {
        "ip": host.ip.as_dict(),
        "icmp": host.icmp.as_dict(),
        "nd": host.nd.as_dict(),
        "udp": host.udp.counters[wire_ipv6.IPPROTO_UDP].as_dict(),
        "udplite": host.udp.counters[wire_ipv6.IPPROTO_UDPLITE].as_dict(),
        "tcp": host.tcp.counters.as_dict(),
        "routing": host.routes.counters.as_dict(),
    }
    if host.router is not None:
        data["router"] = host.router.counters.as_dict()
    data["interfaces"] = {
        iface.name: {
            "link": iface.counters.as_dict(),
            "addresses": iface.addresses.counters.as_dict(),
            "neighbors": iface.neighbors.counters.as_dict(),
            "mld": iface.mld.counters.as_dict(),
        }
        for iface in host.interfaces
    }
    data["extra"] = {name: c.as_dict() for name, c in (extra or {}).items()}
    return data


def connections(host: Host, now: float) -> Data:
    """Every TCP connection and listener (RFC 9293 state, the octets in each buffer),
    then the bound UDP and UDP-Lite endpoints and the raw sockets."""
    return {"connections": _tcp_entries(host) + _socket_entries(host)}


def sockets(host: Host, now: float) -> Data:
    """``connections`` under its older name."""
    return {"sockets": connections(host, now)["connections"]}


def _tcp_entries(host: Host) -> list[Data]:
    out = []
    for conn in host.tcp.all_connections():
        listening = conn.remote_address is None
        zone = conn.interface
        out.append(
            {
                "protocol": "tcp",
                "state": conn.tcp_state.value,
                # As ss: a listener's Recv-Q is its accept queue, its Send-Q the backlog.
                "recv_q": len(conn.accept_queue) if listening else len(conn.rcvbuf),
                "send_q": conn.backlog if listening else len(conn.sndbuf),
                "local_address": str(conn.local_address),
                "local_port": conn.local_port,
                "remote_address": None if listening else str(conn.remote_address),
                "remote_port": conn.remote_port,
                "interface": None if zone is None or listening else zone.name,
                "queued": len(conn.accept_queue) if listening else len(conn.rcvbuf),
                "received": None,
                "sent": None,
            }
        )
    return out


def _socket_entries(host: Host) -> list[Data]:
    out = []
    for (proto, port), endpoints in sorted(host.udp.bindings.items()):
        for ep in endpoints:
            out.append(_socket_entry(_PROTOCOL_NAMES.get(proto, str(proto)), ep, port))
    for proto, socks in sorted(host.raw_sockets.items()):
        for sock in socks:
            out.append(_socket_entry("raw", sock, proto))
    return out


def _socket_entry(kind: str, ep: Any, port: int) -> Data:
    remote = getattr(ep, "remote_address", None)
    bound = getattr(ep, "bound_interface", None)
    queue = getattr(ep, "queue", ())
    sock_counters = getattr(ep, "counters", None)
    received = sock_counters.received if sock_counters is not None else None
    sent = sock_counters.sent if sock_counters is not None else None
    return {
        "protocol": kind,
        # As ss: a datagram socket is UNCONN, or ESTAB once connected.
        "state": "UNCONN" if remote is None else "ESTAB",
        "recv_q": sum(len(getattr(q, "data", b"")) for q in queue),
        "send_q": 0,
        "local_address": str(ep.local_address),
        # A raw socket's "port" is the Next Header value it receives (RFC 3542 §3).
        "local_port": port,
        "remote_address": None if remote is None else str(remote),
        "remote_port": getattr(ep, "remote_port", 0),
        "interface": None if bound is None else bound.name,
        "queued": len(queue),
        "received": received,
        "sent": sent,
    }


_SNAPSHOTS: dict[str, Callable[[Host, float], Data]] = {
    "interfaces": interfaces,
    "addresses": addresses,
    "neighbors": neighbors,
    "routes": routes,
    "destinations": destinations,
    "counters": counters,
    "connections": connections,
    "sockets": sockets,
    "ipsec": ipsec_config.snapshot,  # IPsec hook: SPD, SAD (never the keys), counters
    "bindings": bindings,  # Mobile IPv6 (RFC 6275): apps/show_bindings.py
    "translations": translations,  # SIIT and NAT64: apps/show_translations.py
}


def snapshot(
    host: Host, view: str, now: float, extra: Mapping[str, CounterSet] | None = None
) -> Data:
    """The dict of one view (ValueError for an unknown view)."""
    if view not in _SNAPSHOTS:
        raise ValueError(f"unknown view {view!r} (known: {', '.join(VIEWS)})")
    if view == "counters":
        return counters(host, now, extra)
    return _SNAPSHOTS[view](host, now)


# -- dicts -> lines --------------------------------------------------------------------------


def interface_lines(data: Data) -> list[str]:
    lines = []
    for i in data["interfaces"]:
        flags = ["UP"] + (["FORWARDING"] if i["forwarding"] else [])
        lines.append(f"{i['index']}: {i['name']}: <{','.join(flags)}> mtu {i['mtu']}")
        if i["link_address"]:
            lines.append(f"    link/{i['kind']} {i['link_address']}")
        else:
            lines.append(f"    link/{i['kind']}")
        lines.append(
            f"    cur_hop_limit {i['cur_hop_limit']} reachable_time "
            f"{_ms(i['reachable_time'])} (base {_ms(i['base_reachable_time'])}) "
            f"retrans_timer {_ms(i['retrans_timer'])} "
            f"dad_transmits {i['dup_addr_detect_transmits']}"
        )
        if i["groups"]:
            lines.append(f"    groups {' '.join(i['groups'])}")
        if i["dns_servers"]:
            lines.append(f"    dns {' '.join(i['dns_servers'])}")
    return lines


def _ms(seconds: float) -> str:
    return f"{round(seconds * 1000)}ms"


def address_lines(data: Data) -> list[str]:
    lines: list[str] = []
    current = None
    for a in data["addresses"]:
        if a["interface"] != current:
            current = a["interface"]
            lines.append(f"{current}:")
        lines.append(
            f"    inet6 {a['address']}/{a['prefix_length']} scope {a['scope']} "
            f"{a['origin']} {a['state']}"
        )
        if a["state"] != "ANYCAST":
            lines.append(
                f"       valid_lft {_lft(a['valid_lft'])} preferred_lft {_lft(a['preferred_lft'])}"
            )
    return lines


def neighbor_lines(data: Data) -> list[str]:
    """As ``ip -6 neigh``: ``fe80::1 dev eth0 lladdr 02:.. router REACHABLE``."""
    lines = []
    for n in data["neighbors"]:
        words = [n["neighbor"], "dev", n["interface"]]
        if n["link_address"]:
            words += ["lladdr", n["link_address"]]
        if n["is_router"]:
            words.append("router")
        words.append(n["state"])
        lines.append(" ".join(words))
    return lines


def route_lines(data: Data) -> list[str]:
    """As ``ip -6 route``: on-link prefixes, static routes, then default routers."""
    lines = []
    for p in data["prefixes"]:
        proto = "ra" if p["origin"] == "router_advertisement" else p["origin"]
        lines.append(f"{p['prefix']} dev {p['interface']} proto {proto}{expires(p['expires'])}")
    for s in data["static_routes"]:
        via = "" if s["next_hop"] is None else f" via {s['next_hop']}"
        lines.append(f"{s['prefix']}{via} dev {s['interface']} proto static")
    for r in data["default_routers"]:
        lines.append(
            f"default via {r['router']} dev {r['interface']} proto ra{expires(r['expires'])} "
            f"pref {r['preference']}"
        )
    return lines


def destination_lines(data: Data) -> list[str]:
    """As ``ip -6 route get``, one line per RCE, with its path MTU and why that next hop."""
    lines = []
    for d in data["destinations"]:
        via = "" if d["next_hop"] == d["destination"] else f" via {d['next_hop']}"
        src = "" if d["preferred_source"] is None else f" src {d['preferred_source']}"
        lines.append(
            f"{d['destination']}{via} dev {d['interface']}{src} pmtu {d['path_mtu']} "
            f"({d['reason'].replace('_', ' ')})"
        )
    return lines


_GROUP_TITLES = {
    "ip": "Ip6",
    "icmp": "Icmp6",
    "nd": "Nd",
    "udp": "Udp6",
    "udplite": "UdpLite6",
    "tcp": "Tcp6",
    "routing": "Routing",
    "router": "Router",
}


def counter_lines(data: Data) -> list[str]:
    """As ``netstat -s``: the non-zero counters, grouped by protocol, then by interface."""
    groups: list[tuple[str, dict[str, int]]] = [
        (_GROUP_TITLES[key], data[key]) for key in _GROUP_TITLES if key in data
    ]
    for ifname, sets in data.get("interfaces", {}).items():
        for kind, values in sets.items():
            groups.append((f"{ifname} {kind}", values))
    for name, values in data.get("extra", {}).items():
        groups.append((name, values))
    return [line for title, values in groups for line in counter_group(title, values)]


def connection_lines(data: Data) -> list[str]:
    """As ``ss -tuan``: protocol, state, receive and send queues (octets), local and
    peer address:port (``*`` for a listener's or an unconnected socket's peer)."""
    entries = data["connections"] if "connections" in data else data["sockets"]
    rows = [("Netid", "State", "Recv-Q", "Send-Q", "Local Address:Port", "Peer Address:Port")]
    for s in entries:
        local = f"[{s['local_address']}]:{s['local_port']}"
        if s["interface"]:
            local = f"[{s['local_address']}%{s['interface']}]:{s['local_port']}"
        remote = "*"
        if s["remote_address"] is not None:
            remote = f"[{s['remote_address']}]:{s['remote_port']}"
        rows.append((s["protocol"], s["state"], str(s["recv_q"]), str(s["send_q"]), local, remote))
    width = [max(len(r[i]) for r in rows) for i in range(6)]
    return [
        "  ".join(
            f"{cell:>{width[i]}}" if i in (2, 3) else f"{cell:<{width[i]}}"
            for i, cell in enumerate(row)
        ).rstrip()
        for row in rows
    ]


_FORMATTERS: dict[str, Callable[[Data], list[str]]] = {
    "interfaces": interface_lines,
    "addresses": address_lines,
    "neighbors": neighbor_lines,
    "routes": route_lines,
    "destinations": destination_lines,
    "counters": counter_lines,
    "connections": connection_lines,
    "sockets": connection_lines,
    "ipsec": ipsec_config.lines,
    "bindings": binding_lines,
    "translations": translation_lines,
}


def format_view(view: str, data: Data) -> list[str]:
    """The lines of one view's dict (ValueError for an unknown view)."""
    if view not in _FORMATTERS:
        raise ValueError(f"unknown view {view!r} (known: {', '.join(VIEWS)})")
    return _FORMATTERS[view](data)


# -- the command line: tcpip6 show ----------------------------------------------------
EPILOG = """views (like ip -6 and netstat; --json prints the same as JSON, with stable keys):
  interfaces    the interfaces, their link addresses, MTU and ND variables
  addresses     addresses with their DAD state and lifetimes left (like ip -6 addr)
  neighbors     the neighbor cache (like ip -6 neigh)
  routes        the prefix list, static routes and default routers (like ip -6 route)
  destinations  the route cache: next hop, interface, source, path MTU
  counters      the non-zero counters by protocol, TCP's too (like netstat -s)
  connections   TCP connections and listeners, UDP and raw sockets (like ss -tuan)
  sockets       the same as connections
  translations  the translator: a NAT64's BIB and sessions with their state and lifetime

example:
  ip netns exec h6 tcpip6 host --link ethernet:veth-h --control /tmp/h6.sock --serve echo
  tcpip6 show --control /tmp/h6.sock neighbors
  tcpip6 show --control /tmp/h6.sock connections --json
  tcpip6 show --control /tmp/x.sock translations     (tcpip6 host --translate nat64:...)
"""


def run(args: argparse.Namespace) -> int:
    import json
    import socket

    from tcpip6.io.control import ControlError, default_path, request

    path = Path(args.control) if args.control else default_path(socket.gethostname() or "tcpip6")
    try:
        answer = request(path, {"show": args.view})
    except ControlError as exc:
        raise CliError(str(exc)) from None
    if "error" in answer:
        raise CliError(f"{path}: {answer['error']}")
    if args.json:
        print(json.dumps(answer, indent=2))
    else:
        for line in format_view(args.view, answer):
            print(line)
    return 0


def add_parser(sub: Subparsers) -> argparse.ArgumentParser:
    show = sub.add_parser(
        "show",
        help="print what a running tcpip6 host holds (asks its control socket)",
        description=(
            "Ask a running tcpip6 host (tcpip6 host) through its control socket for one\n"
            "of its conceptual data structures, and print it."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    show.add_argument(
        "--control",
        metavar="PATH",
        help="the host's control socket (default /run/tcpip6/HOSTNAME.sock)",
    )
    show.add_argument("--json", action="store_true", help="print JSON")
    show.add_argument(
        "view", choices=VIEWS, metavar="VIEW", help="what to print: " + ", ".join(VIEWS)
    )
    return show


__all__ = [
    "VIEWS",
    "addresses",
    "connection_lines",
    "connections",
    "counters",
    "destinations",
    "format_view",
    "interfaces",
    "neighbors",
    "routes",
    "seconds_left",
    "snapshot",
    "sockets",
]
