"""``tcpip6 host --ipsec FILE.toml``: the SPD entries and manually keyed SAs of a host
(RFC 4301 §4.4.1, §4.4.2, §4.5), and ``tcpip6 show ipsec``.

The file, entries in SPD order (the first match decides, RFC 4301 §4.4.1)::

    [[policy]]
    name = "nd"                      # SAs name the entry they were made for
    action = "bypass"                # protect, bypass or discard
    protocol = "icmpv6"              # icmpv6, udp, tcp, mh or a number; absent: any
    icmp_type = 135                  # with icmpv6 (icmp_code too); mh_type with mh
    direction = "in"                 # in or out; absent: both

    [[policy]]
    name = "to-b"
    action = "protect"
    local = "2001:db8:1::a"          # an address, a prefix, "LOW-HIGH" or "any"
    remote = "2001:db8:1::b"
    local_port = "any"               # with udp/tcp: "53", "1000-2000", "any"
    remote_port = "any"
    protect = ["esp/tunnel"]         # innermost first: ["esp/transport", "ah/transport"]

    [[sa]]
    policy = "to-b"
    direction = "out"
    protocol = "esp"
    mode = "tunnel"
    spi = "0x1000"                   # or a number
    src = "fe80::a"                  # the SA's endpoints (the tunnel's, in tunnel mode)
    dst = "fe80::b"
    encryption = "aes-gcm-16"        # null, aes-cbc, aes-gcm-16, chacha20-poly1305
    encryption_key = "0102...14"     # hex (salt included for the AEADs)
    integrity = "hmac-sha256-128"    # hmac-sha1-96, hmac-sha256-128; none for AEADs
    integrity_key = "..."            # hex
    esn = false
    replay_window = 64
    soft_seconds = 0                 # lifetimes (RFC 4301 §4.4.2.1), 0: no limit
    hard_seconds = 0
    soft_octets = 0
    hard_octets = 0

And, outside the tables, what to do with an ICMPv6 error that arrives in the clear but
quotes a packet of protected traffic (RFC 4301 §6.1.1: configurable; a router on the path
only sees that traffic as ESP or AH, so the default is to discard it)::

    unprotected_icmp_errors = "discard"   # or "accept"

A bad file is one line naming the file, the line and the key.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from ipaddress import IPv6Address
from pathlib import Path
from typing import Any

from tcpip6.stack.host import Host
from tcpip6.stack.ipsec import (
    Action,
    AddressRange,
    Direction,
    Lifetime,
    Mode,
    PortRange,
    SaTemplate,
    SecurityAssociation,
    SpdEntry,
)
from tcpip6.stack.ipsec.algorithms import ENCRYPTION, INTEGRITY
from tcpip6.wire import ipv6 as wire_ipv6

PROTOCOLS = {
    "icmpv6": wire_ipv6.IPPROTO_ICMPV6,
    "udp": wire_ipv6.IPPROTO_UDP,
    "tcp": wire_ipv6.IPPROTO_TCP,
    "mh": 135,
}
IPSEC_PROTOCOLS = {"esp": wire_ipv6.IPPROTO_ESP, "ah": wire_ipv6.IPPROTO_AH}

POLICY_KEYS = frozenset(
    {
        "name",
        "action",
        "protocol",
        "local",
        "remote",
        "local_port",
        "remote_port",
        "icmp_type",
        "icmp_code",
        "mh_type",
        "direction",
        "protect",
    }
)
SA_KEYS = frozenset(
    {
        "policy",
        "direction",
        "protocol",
        "mode",
        "spi",
        "src",
        "dst",
        "encryption",
        "encryption_key",
        "integrity",
        "integrity_key",
        "esn",
        "replay_window",
        "soft_seconds",
        "hard_seconds",
        "soft_octets",
        "hard_octets",
    }
)


class IpsecConfigError(Exception):
    """A bad --ipsec file: one line for the user."""


@dataclass(frozen=True)
class IpsecConfig:
    path: Path
    policies: tuple[SpdEntry, ...]
    #: The SAs' settings, made into SecurityAssociation objects when applied (an SA
    #: belongs to one host: it enters its graph and counts its traffic).
    sas: tuple[dict[str, Any], ...]
    accept_unprotected_icmp_errors: bool = False


class _Where:
    """Finds the line of ``key`` in the ``index``-th ``[[table]]`` of the file's text."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()

    def line(self, table: str, index: int, key: str | None) -> int:
        seen = -1
        start = 0
        for n, line in enumerate(self.lines, 1):
            if re.match(rf"\s*\[\[\s*{table}\s*\]\]", line):
                seen += 1
                if seen == index:
                    start = n
                    if key is None:
                        return n
            elif start and re.match(r"\s*\[", line):
                break
            elif start and key is not None and re.match(rf"\s*{re.escape(key)}\s*=", line):
                return n
        return start or 1

    def error(self, table: str, index: int, key: str | None, why: str) -> IpsecConfigError:
        where = f"{table}[{index}]" + (f".{key}" if key else "")
        line = self.line(table, index, key)
        return IpsecConfigError(f"--ipsec {self.path}:{line}: {where}: {why}")


def load_ipsec_file(path: str | Path) -> IpsecConfig:
    """Read and check the file (IpsecConfigError, one line naming the key and its line)."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise IpsecConfigError(f"--ipsec {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise IpsecConfigError(f"--ipsec {path}: not TOML: {exc}") from None
    where = _Where(path, text)
    unknown = set(data) - {"policy", "sa", "unprotected_icmp_errors"}
    if unknown:
        raise IpsecConfigError(
            f"--ipsec {path}: unknown key {sorted(unknown)[0]!r}"
            " (known: [[policy]], [[sa]], unprotected_icmp_errors)"
        )
    icmp = data.get("unprotected_icmp_errors", "discard")
    if icmp not in ("discard", "accept"):
        raise IpsecConfigError(
            f"--ipsec {path}: unprotected_icmp_errors: {icmp!r} is not discard or accept"
        )
    policies = tuple(_policy(where, i, p) for i, p in enumerate(_tables(where, data, "policy")))
    names = [p.name for p in policies]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise where.error("policy", i, "name", f"{name!r} is already an entry")
    sas = tuple(_sa(where, i, s, set(names)) for i, s in enumerate(_tables(where, data, "sa")))
    config = IpsecConfig(path, policies, sas, icmp == "accept")
    # Building every SA once checks the algorithms against the keys.
    for i, settings in enumerate(sas):
        try:
            SecurityAssociation(**settings).end()
        except ValueError as exc:
            raise where.error("sa", i, None, str(exc)) from None
    return config


def _tables(where: _Where, data: dict[str, Any], name: str) -> list[dict[str, Any]]:
    tables = data.get(name, [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise IpsecConfigError(f"--ipsec {where.path}: write [[{name}]] tables")
    return tables


def _get(where: _Where, table: str, i: int, d: dict[str, Any], key: str, kind: type) -> Any:
    value = d[key]
    if kind is int and isinstance(value, str) and key == "spi":
        try:
            return int(value, 0)
        except ValueError:
            raise where.error(table, i, key, f"{value!r} is not a number") from None
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise where.error(table, i, key, f"should be a {kind.__name__}")
    return value


def _choice(where: _Where, table: str, i: int, value: str, key: str, choices: Any) -> Any:
    if value not in choices:
        raise where.error(table, i, key, f"{value!r}: choose {', '.join(choices)}")
    return choices[value]


def _policy(where: _Where, i: int, p: dict[str, Any]) -> SpdEntry:
    for key in p:
        if key not in POLICY_KEYS:
            raise where.error("policy", i, key, "unknown key")
    for key in ("name", "action"):
        if key not in p:
            raise where.error("policy", i, None, f"{key} is missing")

    def text(key: str, default: str) -> str:
        return str(_get(where, "policy", i, p, key, str)) if key in p else default

    def number(key: str) -> int | None:
        return int(_get(where, "policy", i, p, key, int)) if key in p else None

    actions = {a.value: a for a in Action}
    action = _choice(where, "policy", i, text("action", ""), "action", actions)
    next_layer: int | None = None
    if "protocol" in p:
        raw = p["protocol"]
        if isinstance(raw, int) and not isinstance(raw, bool) and 0 <= raw <= 255:
            next_layer = raw
        else:
            next_layer = _choice(where, "policy", i, str(raw), "protocol", PROTOCOLS)
    addresses: dict[str, AddressRange] = {}
    for key in ("local", "remote"):
        try:
            addresses[key] = AddressRange.parse(text(key, "any"))
        except ValueError as exc:
            raise where.error("policy", i, key, str(exc)) from None
    ports: dict[str, PortRange] = {}
    for key in ("local_port", "remote_port"):
        value = text(key, "any") if not isinstance(p.get(key), int) else str(p[key])
        ports[key] = _port_range(where, i, key, value)
    directions = {d.value: d for d in Direction}
    direction = (
        _choice(where, "policy", i, text("direction", ""), "direction", directions)
        if "direction" in p
        else None
    )
    protect: list[SaTemplate] = []
    for item in p.get("protect", []):
        m = re.fullmatch(r"(esp|ah)/(transport|tunnel)", str(item))
        if m is None:
            raise where.error("policy", i, "protect", f"{item!r}: write esp/transport, ah/tunnel…")
        protect.append(SaTemplate(IPSEC_PROTOCOLS[m[1]], m[2]))
    try:
        entry = SpdEntry(
            text("name", ""),
            action,
            local=addresses["local"],
            remote=addresses["remote"],
            next_layer=next_layer,
            local_port=ports["local_port"],
            remote_port=ports["remote_port"],
            icmp_type=number("icmp_type"),
            icmp_code=number("icmp_code"),
            mh_type=number("mh_type"),
            direction=direction,
            protect=tuple(protect),
        )
    except ValueError as exc:
        raise where.error("policy", i, None, str(exc)) from None
    if action is Action.PROTECT and not protect:
        raise where.error("policy", i, "protect", "a protect entry names esp or ah")
    return entry


def _port_range(where: _Where, i: int, key: str, value: str) -> PortRange:
    if value == "any":
        return PortRange()
    m = re.fullmatch(r"(\d+)(?:-(\d+))?", value)
    if m is None or int(m[2] or m[1]) > 0xFFFF or int(m[1]) > int(m[2] or m[1]):
        raise where.error("policy", i, key, f"{value!r}: a port, LOW-HIGH or any")
    return PortRange(int(m[1]), int(m[2] or m[1]))


def _hex(where: _Where, i: int, s: dict[str, Any], key: str) -> bytes:
    value = str(_get(where, "sa", i, s, key, str)) if key in s else ""
    try:
        return bytes.fromhex(value.removeprefix("0x").replace(":", ""))
    except ValueError:
        raise where.error("sa", i, key, "not hex") from None


def _sa(where: _Where, i: int, s: dict[str, Any], policies: set[str]) -> dict[str, Any]:
    for key in s:
        if key not in SA_KEYS:
            raise where.error("sa", i, key, "unknown key")
    for key in ("policy", "direction", "protocol", "spi", "src", "dst"):
        if key not in s:
            raise where.error("sa", i, None, f"{key} is missing")
    policy = _get(where, "sa", i, s, "policy", str)
    if policy not in policies:
        raise where.error("sa", i, "policy", f"no [[policy]] is named {policy!r}")
    addresses = {}
    for key in ("src", "dst"):
        try:
            addresses[key] = IPv6Address(_get(where, "sa", i, s, key, str))
        except ValueError as exc:
            raise where.error("sa", i, key, str(exc)) from None
    protocol = _choice(where, "sa", i, str(s["protocol"]), "protocol", IPSEC_PROTOCOLS)
    directions = {d.value: d for d in Direction}
    modes = {m.value: m for m in Mode}
    encryption = str(s.get("encryption", "null"))
    _choice(where, "sa", i, encryption, "encryption", {k: k for k in ENCRYPTION})
    integrity = s.get("integrity")
    if integrity in (None, "none"):
        integrity = None
    else:
        _choice(where, "sa", i, str(integrity), "integrity", {k: k for k in INTEGRITY})

    def limit(key: str, kind: type) -> Any:
        return _get(where, "sa", i, s, key, kind) if key in s else kind(0)

    return {
        "spi": _get(where, "sa", i, s, "spi", int),
        "protocol": protocol,
        "direction": _choice(where, "sa", i, str(s["direction"]), "direction", directions),
        "mode": _choice(where, "sa", i, str(s.get("mode", "transport")), "mode", modes),
        "src": addresses["src"],
        "dst": addresses["dst"],
        "policy": policy,
        "encryption": encryption,
        "encryption_key": _hex(where, i, s, "encryption_key"),
        "integrity": integrity,
        "integrity_key": _hex(where, i, s, "integrity_key"),
        "esn": bool(_get(where, "sa", i, s, "esn", bool)) if "esn" in s else False,
        "replay_window_size": limit("replay_window", int) if "replay_window" in s else 64,
        "lifetime": Lifetime(
            soft_seconds=limit("soft_seconds", float),
            hard_seconds=limit("hard_seconds", float),
            soft_octets=limit("soft_octets", int),
            hard_octets=limit("hard_octets", int),
        ),
    }


def apply_ipsec(host: Host, config: IpsecConfig, now: float) -> None:
    """Enter the file's SPD entries, then its SAs (added at ``now``), into ``host``."""
    host.ipsec.accept_unprotected_icmp_errors = config.accept_unprotected_icmp_errors
    for entry in config.policies:
        host.ipsec.add_policy(entry)
    for settings in config.sas:
        host.ipsec.add_sa(SecurityAssociation(**settings, added=now))


# -- tcpip6 show ipsec ------------------------------------------------------------------------
def snapshot(host: Host, now: float) -> dict[str, Any]:
    """The SPD in order and every SA with its counters, never a key; the host's IPsec
    counters (``ip xfrm policy``, ``ip -s xfrm state`` and ``/proc/net/xfrm_stat``)."""
    names = {v: k for k, v in PROTOCOLS.items()}
    policies = []
    for e in host.ipsec.spd.entries:
        policies.append(
            {
                "name": e.name,
                "action": e.action.value,
                "direction": e.direction.value if e.direction else "both",
                "local": str(e.local),
                "remote": str(e.remote),
                "protocol": "any"
                if e.next_layer is None
                else names.get(e.next_layer, e.next_layer),
                "local_port": str(e.local_port),
                "remote_port": str(e.remote_port),
                "icmp_type": e.icmp_type,
                "icmp_code": e.icmp_code,
                "mh_type": e.mh_type,
                "protect": [
                    f"{'esp' if t.protocol == wire_ipv6.IPPROTO_ESP else 'ah'}/{t.mode}"
                    for t in e.protect
                ],
            }
        )
    return {
        "policies": policies,
        "sas": [sa.describe() for sa in host.ipsec.sad.all()],
        "counters": host.ipsec.counters.as_dict(),
    }


def lines(data: dict[str, Any]) -> list[str]:
    out = ["SPD (first match decides):"]
    for n, p in enumerate(data["policies"], 1):
        what = p["protocol"]
        if p["icmp_type"] is not None:
            what += f" type {p['icmp_type']}"
        if p["local_port"] != "any" or p["remote_port"] != "any":
            what += f" ports {p['local_port']}->{p['remote_port']}"
        protect = " " + "+".join(p["protect"]) if p["protect"] else ""
        out.append(
            f"  {n:3} {p['name']:<12} {p['direction']:<4} {p['local']} -> {p['remote']} "
            f"{what}: {p['action']}{protect}"
        )
    out.append("SAD:")
    for sa in data["sas"]:
        alg = sa["encryption"] or "-"
        if sa["integrity"]:
            alg += f"+{sa['integrity']}"
        c = sa["counters"]
        out.append(
            f"  {sa['protocol']} spi {sa['spi']} {sa['direction']:<3} {sa['mode']} "
            f"{sa['src']} -> {sa['dst']} policy {sa['policy']} {alg} {sa['state']}"
        )
        out.append(
            f"      seq {sa['sequence_number']} replay-window {sa['replay_window']} "
            f"top {sa['replay_top']}  {c['packets']} packets {c['octets']} octets  "
            f"replay {c['replay']} integrity-failed {c['integrity_failed']} "
            f"padding {c['padding_failed']} policy {c['policy_mismatch']}"
        )
    nonzero = {k: v for k, v in data["counters"].items() if v}
    out.append("IPsec: " + (", ".join(f"{k} {v}" for k, v in nonzero.items()) or "no traffic"))
    return out
