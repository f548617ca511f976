"""``tcpip6 show translations``: the translators of a host. For each: its mode, prefix, pool
and TUN device; for a stateful NAT64 (RFC 6146) the Binding Information Base (RFC 6146 §3.1)
and the session table (RFC 6146 §3.2), each session with its TCP state (RFC 6146 §3.5.2) and
the seconds left; for SIIT its explicit address mappings (RFC 7757); then the counters.

In the lines, a BIB entry reads ``tcp [X']:port <-> T:port`` and a session
``tcp [X']:port [Y']:port <-> T:port Z:port STATE expires Nsec``, RFC 6146's names for the
IPv6 host (X'), the IPv4 host as the IPv6 side sees it (Y'), the pool address (T) and the
IPv4 host (Z).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tcpip6.apps.show_format import counter_group, expires, seconds_left
from tcpip6.stack.translate.nat64 import Nat64
from tcpip6.wire.ipv6 import IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP

if TYPE_CHECKING:
    from tcpip6.stack.host import Host
    from tcpip6.stack.translate.hook import Translator

Data = dict[str, Any]

#: The BIB's protocols by name; a NAT64 keys ICMP Query sessions as ICMPv6 (RFC 6146 §3.5.3).
PROTOCOLS = {IPPROTO_TCP: "tcp", IPPROTO_UDP: "udp", IPPROTO_ICMPV6: "icmp"}


def _transport_addresses(**named: tuple[object, int]) -> Data:
    """Each (address, port or identifier) pair as ``NAME_address`` and ``NAME_port``, in
    the order given (RFC 6146 §3.1: a transport address)."""
    data: Data = {}
    for name, (address, port) in named.items():
        data[f"{name}_address"] = str(address)
        data[f"{name}_port"] = port
    return data


def _translator(t: Translator, now: float) -> Data:
    engine = t.engine
    config = engine.config
    data: Data = {
        "mode": "nat64" if isinstance(engine, Nat64) else "siit",
        "ipv4_side": t.ipv4_side,
        "pool4": [str(n) for n in t.pool4],
        "ipv4_address": None if config.ipv4_address is None else str(config.ipv4_address),
        "ipv6_address": None if config.ipv6_address is None else str(config.ipv6_address),
        "mtu4": config.mtu4,
        "mtu6": config.mtu6,
    }
    if isinstance(engine, Nat64):
        data["prefix"] = str(engine.config.prefix.prefix)
        data["eam"] = []
        data["bib"] = [
            {
                "protocol": PROTOCOLS.get(b.protocol, str(b.protocol)),
                **_transport_addresses(ipv6=b.x, ipv4=b.t),
                "sessions": b.sessions,
                "static": b.static,
            }
            for b in sorted(engine.bib_by_x.values(), key=lambda b: (b.protocol, b.t))
        ]
        data["sessions"] = [
            {
                "protocol": PROTOCOLS.get(s.protocol, str(s.protocol)),
                **_transport_addresses(x=s.x, y=s.y, t=s.t, z=s.z),
                "state": s.state.name if s.protocol == IPPROTO_TCP else None,
                "expires": seconds_left(s.expires, now),
            }
            for s in sorted(engine.sessions_v6.values(), key=lambda s: (s.protocol, s.t, s.z))
        ]
    else:
        mapping = engine.config.mapping
        prefix = getattr(mapping, "prefix", None)
        eam = getattr(mapping, "eam", None)
        data["prefix"] = None if prefix is None else str(prefix.prefix)
        data["eam"] = [
            {"ipv4": str(e.ipv4), "ipv6": str(e.ipv6)}
            for e in (eam.entries if eam is not None else [])
        ]
        data["bib"] = []
        data["sessions"] = []
    counters = {**engine.counters.as_dict(), **t.counters.as_dict()}
    if isinstance(engine, Nat64):
        # the header translation's own reasons behind the NAT64's translate_drop
        counters.update({f"siit_{k}": v for k, v in engine.siit.counters.as_dict().items()})
    data["counters"] = counters
    return data


def translations(host: Host, now: float) -> Data:
    """The ``translations`` view's dict."""
    return {"translators": [_translator(t, now) for t in host.translators]}


def translation_lines(data: Data) -> list[str]:
    """The lines of the ``translations`` view."""
    if not data["translators"]:
        return ["no translator (tcpip6 host --translate siit:PREFIX or nat64:PREFIX --tun NAME)"]
    lines: list[str] = []
    for t in data["translators"]:
        head = [t["mode"], "prefix", str(t["prefix"]), "pool4", " ".join(t["pool4"])]
        if t["ipv4_side"]:
            head += ["dev", t["ipv4_side"]]
        head += ["mtu4", str(t["mtu4"]), "mtu6", str(t["mtu6"])]
        if t["ipv4_address"]:
            head += ["src4", t["ipv4_address"]]
        if t["ipv6_address"]:
            head += ["src6", t["ipv6_address"]]
        lines.append(" ".join(head))
        for e in t["eam"]:
            lines.append(f"    eam {e['ipv4']} {e['ipv6']}")
        if t["mode"] == "nat64":
            lines.append(f"bib ({len(t['bib'])} entries):")
            for b in t["bib"]:
                static = " static" if b["static"] else ""
                lines.append(
                    f"    {b['protocol']} [{b['ipv6_address']}]:{b['ipv6_port']} <-> "
                    f"{b['ipv4_address']}:{b['ipv4_port']} sessions {b['sessions']}{static}"
                )
            lines.append(f"sessions ({len(t['sessions'])}):")
            for s in t["sessions"]:
                state = f" {s['state']}" if s["state"] else ""
                lines.append(
                    f"    {s['protocol']} [{s['x_address']}]:{s['x_port']} "
                    f"[{s['y_address']}]:{s['y_port']} <-> {s['t_address']}:{s['t_port']} "
                    f"{s['z_address']}:{s['z_port']}{state}{expires(s['expires'])}"
                )
        lines += counter_group("counters", t["counters"])
    return lines
