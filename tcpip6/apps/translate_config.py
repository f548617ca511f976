"""The translator of a live host: ``tcpip6 host --translate siit:PREFIX`` or
``--translate nat64:PREFIX``, with its IPv4 side on a TUN device (``--tun NAME``).

The IPv6 side is the host's own links: the host becomes a router, and every packet it would
forward to an address in PREFIX (or, for SIIT, an ``--eam`` IPv6 prefix) is translated and
written to the TUN device; the kernel routes it on over IPv4. Whatever the kernel routes
into the TUN device for an address of ``--pool4`` comes back translated to IPv6 and is
forwarded by the router (:mod:`tcpip6.stack.translate.hook`, :mod:`tcpip6.io.tun`).

- ``siit``: the stateless translator (RFC 7915). IPv4 addresses map to PREFIX by the RFC 6052
  algorithm; ``--eam V4PREFIX=V6PREFIX`` gives the IPv6 hosts the IPv4 addresses they are
  known by (RFC 7757), and ``--pool4`` (by default the EAM's IPv4 prefixes) says which IPv4
  destinations the translator takes from the TUN.
- ``nat64``: the stateful NAT64 (RFC 6146): ``--pool4`` is its IPv4 address pool, IPv6 hosts
  reach IPv4 hosts at PREFIX+IPv4, the BIB and sessions show in ``tcpip6 show
  translations``; ``--nat64-lifetimes`` shortens the session lifetimes of RFC 6146 §4.

``--translator-ipv4`` is the translator's own IPv4 address, the source of the ICMPv4 errors
it sends (Time Exceeded, Fragmentation Needed: RFC 7915 §4.1); its ICMPv6 errors come from
that address embedded in PREFIX (RFC 6052 §2.3), or else from the host's first
``--address``. A NAT64 uses its first pool address unless told.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from tcpip6.io.tap import name_problem
from tcpip6.io.tun import TunPort
from tcpip6.stack.host import Host
from tcpip6.stack.translate.eam import EamEntry, EamTable
from tcpip6.stack.translate.hook import Translator
from tcpip6.stack.translate.mapping import AddressMapping
from tcpip6.stack.translate.nat64 import (
    ICMP_DEFAULT,
    TCP_EST,
    TCP_INCOMING_SYN,
    TCP_TRANS,
    UDP_DEFAULT,
    Nat64,
    Nat64Config,
)
from tcpip6.stack.translate.rfc6052 import Rfc6052Prefix
from tcpip6.stack.translate.siit import Siit, SiitConfig

MODES = ("siit", "nat64")

#: --nat64-lifetimes: the keys, the Nat64Config field each sets, and the RFC 6146 §4 value.
LIFETIME_KEYS: dict[str, tuple[str, float]] = {
    "udp": ("udp_lifetime", UDP_DEFAULT),
    "icmp": ("icmp_lifetime", ICMP_DEFAULT),
    "tcp-est": ("tcp_est", TCP_EST),
    "tcp-trans": ("tcp_trans", TCP_TRANS),
    "tcp-syn": ("tcp_incoming_syn", TCP_INCOMING_SYN),
}


class TranslateConfigError(Exception):
    """A bad translator option: one line for the user."""


@dataclass(frozen=True)
class TranslateConfig:
    mode: str
    prefix: Rfc6052Prefix
    tun: str
    pool4: tuple[IPv4Network, ...]
    eam: tuple[EamEntry, ...] = ()
    ipv4_address: IPv4Address | None = None
    #: Nat64Config field -> seconds (only those given)
    lifetimes: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        pool = " ".join(str(n) for n in self.pool4)
        words = [self.mode, str(self.prefix.prefix), "pool4", pool, "dev", self.tun]
        for e in self.eam:
            words += ["eam", f"{e.ipv4}={e.ipv6}"]
        if self.ipv4_address is not None:
            words += ["src4", str(self.ipv4_address)]
        return " ".join(words)


def _fail(flag: str, text: str, why: str) -> TranslateConfigError:
    return TranslateConfigError(f"{flag} {text}: {why}")


def parse_prefix(text: str) -> tuple[str, Rfc6052Prefix]:
    """``siit:2001:db8:64::/96`` or ``nat64:64:ff9b::/96`` -> (mode, prefix)."""
    mode, sep, value = text.partition(":")
    if not sep or mode not in MODES or not value:
        raise _fail("--translate", text, f"expected MODE:PREFIX, MODE one of {', '.join(MODES)} "
                    "(e.g. nat64:64:ff9b::/96)")  # fmt: skip
    try:
        return mode, Rfc6052Prefix(IPv6Network(value))
    except ValueError as exc:
        raise _fail("--translate", text, str(exc)) from None


def parse_pool4(text: str) -> IPv4Network:
    try:
        return IPv4Network(text)
    except ValueError as exc:
        raise _fail("--pool4", text, f"{exc} (expected A.B.C.D/N, e.g. 192.0.2.0/24)") from None


def parse_eam(text: str) -> EamEntry:
    """``V4PREFIX=V6PREFIX`` (``192.0.2.16/32=2001:db8:1::10/128``)."""
    v4, sep, v6 = text.partition("=")
    if not sep:
        raise _fail(
            "--eam", text, "expected V4PREFIX=V6PREFIX, e.g. 192.0.2.16/32=2001:db8::10/128"
        )
    try:
        return EamEntry(IPv4Network(v4), IPv6Network(v6))
    except ValueError as exc:
        raise _fail("--eam", text, str(exc)) from None


def parse_lifetimes(text: str) -> dict[str, float]:
    """``udp=5,icmp=5,tcp-trans=4`` -> Nat64Config fields and seconds."""
    out: dict[str, float] = {}
    for item in (i.strip() for i in text.split(",")):
        key, sep, value = item.partition("=")
        if not sep or key not in LIFETIME_KEYS:
            raise _fail("--nat64-lifetimes", text,
                        f"expected KEY=SECONDS, KEY one of {', '.join(LIFETIME_KEYS)}")  # fmt: skip
        try:
            seconds = float(value)
        except ValueError:
            seconds = -1.0
        if not 0 < seconds < 1e9:
            raise _fail("--nat64-lifetimes", text, f"{key}: a positive number of seconds")
        out[LIFETIME_KEYS[key][0]] = seconds
    return out


def build_translate(
    translate: str | None,
    tun: str | None = None,
    pool4: Sequence[str] = (),
    eam: Sequence[str] = (),
    translator_ipv4: str | None = None,
    nat64_lifetimes: str | None = None,
) -> TranslateConfig | None:
    """The translator's config from the command line's strings (TranslateConfigError)."""
    if translate is None:
        given = [f for f, v in (("--tun", tun), ("--pool4", pool4), ("--eam", eam),
                                ("--translator-ipv4", translator_ipv4),
                                ("--nat64-lifetimes", nat64_lifetimes)) if v]  # fmt: skip
        if given:
            raise TranslateConfigError(
                f"{given[0]} needs --translate (siit:PREFIX or nat64:PREFIX)"
            )
        return None
    mode, prefix = parse_prefix(translate)
    if not tun:
        raise TranslateConfigError(
            f"--translate {translate} needs --tun NAME: the TUN device of its IPv4 side"
        )
    problem = name_problem(tun)
    if problem is not None:
        raise _fail("--tun", tun, problem)
    pools = tuple(parse_pool4(p) for p in pool4)
    entries = tuple(parse_eam(e) for e in eam)
    try:
        EamTable(entries)
    except ValueError as exc:
        raise TranslateConfigError(f"--eam: {exc}") from None
    address = None
    if translator_ipv4:
        try:
            address = IPv4Address(translator_ipv4)
        except ValueError as exc:
            raise _fail("--translator-ipv4", translator_ipv4, str(exc)) from None
    lifetimes = parse_lifetimes(nat64_lifetimes) if nat64_lifetimes else {}
    if mode == "nat64":
        if entries:
            raise TranslateConfigError("--eam is for siit (a NAT64 maps by its sessions)")
        if not pools:
            raise TranslateConfigError(
                f"--translate {translate} needs --pool4 A.B.C.D/N: the NAT64's IPv4 addresses"
            )
        if address is None:
            address = next(iter(pools[0].hosts()), pools[0].network_address)
    else:
        if lifetimes:
            raise TranslateConfigError("--nat64-lifetimes is for nat64 (SIIT keeps no state)")
        pools = pools or tuple(e.ipv4 for e in entries)
        if not pools:
            raise TranslateConfigError(
                f"--translate {translate} needs --pool4 A.B.C.D/N or --eam: the IPv4 addresses "
                "of the IPv6 side"
            )
        if address is None:
            raise TranslateConfigError(
                f"--translate {translate} needs --translator-ipv4 A.B.C.D: the source of its "
                "ICMPv4 errors (Time Exceeded, Fragmentation Needed)"
            )
    return TranslateConfig(mode, prefix, tun, pools, entries, address, lifetimes)


def open_tun(config: TranslateConfig) -> TunPort:
    """The TUN device of the IPv4 side (LinkError if it cannot be made)."""
    return TunPort(config.tun)


def attach(
    host: Host, config: TranslateConfig, tun: TunPort, fallback6: IPv6Address | None = None
) -> Translator:
    """The engine and its hook on ``host`` (a router, its links attached): IPv6 packets for
    the prefix go to ``tun``, IPv4 packets read from ``tun`` come back translated."""
    mtu6 = min((i.mtu for i in host.interfaces), default=1280)
    src6 = config.prefix.embed(config.ipv4_address) if config.ipv4_address else None
    src6 = src6 or fallback6
    engine: Siit | Nat64
    if config.mode == "nat64":
        engine = Nat64(
            Nat64Config(
                config.prefix,
                config.pool4,
                ipv4_address=config.ipv4_address,
                ipv6_address=src6,
                mtu4=tun.mtu,
                mtu6=mtu6,
                **config.lifetimes,  # type: ignore[arg-type]
            ),
            rng=host.rng,
            trace_sink=host.trace_sink,
        )
    else:
        mapping = AddressMapping(config.prefix, EamTable(config.eam))
        engine = Siit(
            SiitConfig(mapping, config.ipv4_address, src6, mtu4=tun.mtu, mtu6=mtu6),
            rng=host.rng,
        )
    translator = Translator(host, engine, tun.send, config.pool4, ipv4_side=tun.name)
    tun.receiver = translator.receive_v4
    host.translators.append(translator)
    return translator


# -- the command line: options of tcpip6 host ---------------------------------------------
EPILOG = """
IPv6/IPv4 translation. The host becomes a router; the IPv4 side is a TUN device tcpip6
creates (removed at exit): route the pool into it and let the kernel forward IPv4.
  stateful NAT64 (RFC 6146): IPv6-only hosts reach the IPv4 host 198.51.100.2 at
  2001:db8:64::c633:6402 (the Well-Known Prefix 64:ff9b::/96 carries only global IPv4
  addresses, RFC 6052 §3.1):
  ip netns exec x tcpip6 host --link ethernet:veth-h --address veth-h=2001:db8:1::1/64 \\
      --translate nat64:2001:db8:64::/96 --tun nat64 --pool4 192.0.2.0/24
      translator nat64 2001:db8:64::/96 pool4 192.0.2.0/24 dev nat64 src4 192.0.2.1 mtu 1500
  ip -n x route add 192.0.2.0/24 dev nat64; ip netns exec x sysctl -w net.ipv4.ip_forward=1
  on the IPv6 host:  ip -6 route add 2001:db8:64::/96 via 2001:db8:1::1
                     curl 'http://[2001:db8:64::c633:6402]/'
  tcpip6 show translations       the BIB and sessions, with state and seconds left (--json)
  short lifetimes, for tests: --nat64-lifetimes udp=10,icmp=10,tcp-trans=10
  stateless SIIT (RFC 7915): the IPv4 hosts at 2001:db8:64::A.B.C.D, the IPv6 host
  2001:db8:1::10 known to IPv4 as 192.0.2.16 (an explicit address mapping, RFC 7757);
  either side may start a conversation:
  ip netns exec x tcpip6 host --link ethernet:veth-h --address veth-h=2001:db8:1::1/64 \\
      --translate siit:2001:db8:64::/96 --tun siit --eam 192.0.2.16/32=2001:db8:1::10/128 \\
      --translator-ipv4 192.0.2.1
  ip -n x route add 192.0.2.0/24 dev siit; ip netns exec x sysctl -w net.ipv4.ip_forward=1
  the same in a --config file:  translate = "siit:2001:db8:64::/96"
                                tun = "siit"
                                eam = ["192.0.2.16/32=2001:db8:1::10/128"]
                                translator_ipv4 = "192.0.2.1"
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("IPv6/IPv4 translation (see below)")
    group.add_argument(
        "--translate",
        metavar="MODE:PREFIX",
        help="translate between IPv6 and IPv4: siit:PREFIX (RFC 7915) or nat64:PREFIX "
        "(RFC 6146); PREFIX is an RFC 6052 prefix (/32, /40, /48, /56, /64 or /96)",
    )
    group.add_argument("--tun", metavar="NAME", help="the TUN device of the IPv4 side")
    group.add_argument(
        "--pool4",
        action="append",
        metavar="A.B.C.D/N",
        help="nat64: the IPv4 address pool; siit: the IPv4 addresses of the IPv6 side "
        "(default: the --eam IPv4 prefixes); route them into the TUN (repeatable)",
    )
    group.add_argument(
        "--eam",
        action="append",
        metavar="V4PREFIX=V6PREFIX",
        help="siit: an explicit address mapping (RFC 7757), e.g. "
        "192.0.2.16/32=2001:db8:1::10/128 (repeatable)",
    )
    group.add_argument(
        "--translator-ipv4",
        metavar="A.B.C.D",
        help="the translator's own IPv4 address, the source of its ICMPv4 errors (needed for "
        "siit; nat64: its first pool address)",
    )
    group.add_argument(
        "--nat64-lifetimes",
        metavar="KEY=S[,...]",
        help="nat64 session lifetimes in seconds: udp, icmp, tcp-est, tcp-trans, tcp-syn "
        "(RFC 6146 §4's by default: 300, 60, 7440, 240, 6)",
    )


def flags(args: argparse.Namespace) -> dict[str, object]:
    """The translator's flags, for ``config_from`` (names of the config file's keys)."""
    return {
        "translate": args.translate,
        "tun": args.tun,
        "pool4": args.pool4,
        "eam": args.eam,
        "translator_ipv4": args.translator_ipv4,
        "nat64_lifetimes": args.nat64_lifetimes,
    }


#: The config file's keys for the translator, and their kinds (host.FILE_SETTINGS).
FILE_SETTINGS = {
    "translate": "str",
    "tun": "str",
    "pool4": "list",
    "eam": "list",
    "translator_ipv4": "str",
    "nat64_lifetimes": "str",
}

__all__ = [
    "EPILOG",
    "FILE_SETTINGS",
    "TranslateConfig",
    "TranslateConfigError",
    "add_arguments",
    "attach",
    "build_translate",
    "flags",
    "open_tun",
]
