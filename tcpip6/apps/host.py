"""``tcpip6 host``: tcpip6 as a live host (or router) on real Linux interfaces.

Each ``--link ethernet:IFNAME`` becomes an interface of one :class:`Host`, over an
AF_PACKET socket (:mod:`tcpip6.io.rawsock`); each ``--link tap:NAME``, over a TAP device
tcpip6 creates, whose kernel side is the peer (:mod:`tcpip6.io.tap`). The host forms its
link-local addresses (with DAD), solicits routers and autoconfigures from their
advertisements (RFC 4862); addresses given with ``--address`` are configured by hand
(still DAD-checked). ``--router`` turns on forwarding and ``--advertise`` sends Router
Advertisements for a prefix. The host prints a line per link that comes up and per
address it configures, with the DAD outcome, then runs until SIGINT or SIGTERM; it then
leaves its multicast groups (MLD Done goes out) and exits 0.

While it runs, a control socket (``--control PATH``, by default
``/run/tcpip6/<hostname>.sock``) answers ``tcpip6 show`` (:mod:`tcpip6.io.control`,
:mod:`tcpip6.apps.show`); ``--serve echo,discard,...`` starts the simple services (UDP and TCP)
(:mod:`tcpip6.apps.services`) on the host; ``--socks 127.0.0.1:1080`` opens a SOCKS5
front door on the kernel's loopback through which kernel programs reach the IPv6 network
over tcpip6 (:mod:`tcpip6.apps.socks_relay`). ``--config FILE.toml`` gives the same settings
from a file (:func:`load_config_file`); flags override it.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import signal
import socket
import sys
import time
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from ipaddress import IPv4Address, IPv6Address, IPv6Interface, IPv6Network
from pathlib import Path
from typing import Any, TextIO

from tcpip6.api.sockets import Stack
from tcpip6.apps import show, translate_config
from tcpip6.apps.command import CliError, Subparsers, add_trace_options
from tcpip6.apps.ftpd import Ftpd
from tcpip6.apps.httpd import HTTP_PORT, Httpd
from tcpip6.apps.ipsec_config import IpsecConfig, IpsecConfigError, apply_ipsec, load_ipsec_file
from tcpip6.apps.jobs import Job, start_job
from tcpip6.apps.link_events import LinkEvents
from tcpip6.apps.services import PORTS, Services
from tcpip6.apps.socks_relay import SocksConfigError, SocksServer, parse_listen
from tcpip6.apps.tcp_settings import apply_tcp, parse_tcp
from tcpip6.apps.translate_config import TranslateConfig, TranslateConfigError
from tcpip6.apps.tunnel_slots import TunnelSlots
from tcpip6.io.control import ControlError, ControlServer, default_path
from tcpip6.io.fairness import FairShare
from tcpip6.io.pcap import LINKTYPE_ETHERNET, PcapWriter
from tcpip6.io.rawsock import LinkError, RawSocketPort
from tcpip6.io.runtime import LiveDriver
from tcpip6.io.sixover4 import MulticastIpv4Port
from tcpip6.io.tap import TapPort, name_problem
from tcpip6.io.tun import TunPort
from tcpip6.io.tunnel import ErrorReceiver, RawIpv4Port
from tcpip6.stack.counters import CounterSet
from tcpip6.stack.events import (
    AddressConfigured,
    AddressOptimistic,
    AddressRemoved,
    DuplicateAddress,
    HostEvent,
    NeighborUnreachableEvent,
)
from tcpip6.stack.host import Host
from tcpip6.stack.icmpv4_relay import from_extended_err, relay_datagram
from tcpip6.stack.interface import Interface
from tcpip6.stack.link import EthernetLink
from tcpip6.stack.machines.graph import trace_printer
from tcpip6.stack.mobility.correspondent import enable_correspondent
from tcpip6.stack.mobility.home_agent import enable_home_agent
from tcpip6.stack.mobility.mobile_node import enable_mobile_node
from tcpip6.stack.params import InterfaceParameters
from tcpip6.stack.router import AdvertisingParameters, AdvPrefix, Router
from tcpip6.stack.sixover4 import SixOverFourLink
from tcpip6.stack.tunnel import (
    LINKTYPE_RAW,
    TunnelKind,
    TunnelLink,
    TunnelSpec,
    next_hop_link_address,
)
from tcpip6.stack.tunnel import configure_interface as configure_tunnel
from tcpip6.stack.tunnel import interface_parameters as tunnel_parameters

LINK_KINDS = ("ethernet", "tap", "tunnel")
#: --route: at most this many (the routing table's static route capacity).
MAX_ROUTES = 64
#: Tunnel interfaces are named tun0, tun1... in --link order.
TUNNEL_PREFIX = "tun"


class HostConfigError(Exception):
    """A bad command line or an unusable interface: one line for the user."""


@dataclass(frozen=True, slots=True)
class StaticRouteSpec:
    """``--route PREFIX=NEXTHOP%IFNAME`` (or ``PREFIX=%IFNAME``: PREFIX is on-link)."""

    prefix: IPv6Network
    next_hop: IPv6Address | None
    ifname: str

    def __str__(self) -> str:
        via = f"via {self.next_hop}" if self.next_hop is not None else "on-link"
        return f"{self.prefix} {via} dev {self.ifname}"


@dataclass
class HostConfig:
    links: list[str]  # interface names, in --link order
    addresses: list[tuple[str, IPv6Interface]] = field(default_factory=list)
    router: bool = False
    advertise: list[tuple[str, IPv6Network]] = field(default_factory=list)
    pcap: Path | None = None
    seed: int | None = None
    name: str = "tcpip6"
    #: --trace: print every state change of every graph, as text or json.
    trace: str | None = None
    #: The --link tunnel:... interfaces, by name (tun0, tun1...).
    tunnels: dict[str, TunnelSpec] = field(default_factory=dict)
    #: --serve: the simple services to start, over UDP and TCP (names of services.PORTS).
    serve: list[str] = field(default_factory=list)
    #: --serve http=DIR: the directory the HTTP server serves on port 80.
    http_root: Path | None = None
    #: --serve ftp=DIR (read-only) or ftp-upload=DIR: ftpd6's directory, and whether
    #: it takes uploads.
    ftp_root: Path | None = None
    ftp_upload: bool = False
    #: --control: the control socket's path (None: the default, CONTROL_DIR/<name>.sock).
    control: Path | None = None
    #: The --link tap:NAME interfaces: TAP devices tcpip6 creates (and removes at exit).
    taps: list[str] = field(default_factory=list)
    #: --route PREFIX=NEXTHOP%IFNAME: static routes (next hop None: PREFIX is on-link).
    routes: list[StaticRouteSpec] = field(default_factory=list)
    #: --socks: the kernel loopback address and port of the SOCKS5 front door.
    socks: tuple[str, int] | None = None
    #: --log-level: what the stack's log (``tcpip6.*`` loggers) prints on stderr.
    log_level: str = "warning"
    #: --ipsec FILE.toml: SPD entries and manually keyed SAs (tcpip6.apps.ipsec_config).
    ipsec: IpsecConfig | None = None
    #: --mobility correspondent: a Mobile IPv6 correspondent node (RFC 6275 §9).
    mobility: str | None = None
    #: --translate MODE:PREFIX --tun NAME ...: SIIT or NAT64 (tcpip6.apps.translate_config).
    translate: TranslateConfig | None = None
    #: --tcp KEY=VALUE: TcpParameters fields set (tcpip6.apps.tcp_settings).
    tcp: dict[str, Any] = field(default_factory=dict)
    #: --home-agent IFNAME=PREFIX: the home agent of PREFIX on IFNAME (RFC 6275 §10).
    home_agent: tuple[str, IPv6Network] | None = None
    #: --mobile-node IFNAME=HOME/LEN[,AGENT]: a mobile node (RFC 6275 §11).
    mobile_node: tuple[str, IPv6Interface, IPv6Address | None] | None = None
    #: --no-offload (or TCPIP6_OFFLOAD=0): no segmentation offload on packet sockets.
    offload: bool = True
    #: --optimistic-dad / --no-optimistic-dad: RFC 4429 Optimistic DAD for the link-local
    #: and autoconfigured addresses (never for --address ones, RFC 4429 §3.1). On by default
    #: here: their interface identifiers come from the hardware address (RFC 2464), the
    #: most likely unique kind RFC 4429 §3.1 names, and a live host is usable at once.
    optimistic_dad: bool = True

    @property
    def control_path(self) -> Path:
        return self.control if self.control is not None else default_path(self.name)


def parse_link(
    text: str, tunnels: dict[str, TunnelSpec] | None = None, taps: list[str] | None = None
) -> str:
    """``ethernet:IFNAME`` -> ``IFNAME``; ``tap:NAME`` -> ``NAME``, added to ``taps``;
    ``tunnel:configured:LOCAL4:REMOTE4``, ``tunnel:6to4:LOCAL4[:RELAY4]`` or
    ``tunnel:automatic:LOCAL4`` or ``tunnel:6over4:LOCAL4`` -> the next
    free ``tunN``, its spec added to ``tunnels``."""
    kind, sep, ifname = text.partition(":")
    if not sep or not ifname:
        raise HostConfigError(f"--link {text}: expected KIND:IFNAME, e.g. ethernet:eth1")
    if kind not in LINK_KINDS:
        raise HostConfigError(
            f"--link {text}: unknown link kind {kind!r} (known: {', '.join(LINK_KINDS)})"
        )
    if kind == "tunnel":
        try:
            spec = TunnelSpec.parse(ifname)
        except ValueError as exc:
            raise HostConfigError(f"--link {text}: {exc}") from None
        tunnels = {} if tunnels is None else tunnels
        name = f"{TUNNEL_PREFIX}{len(tunnels)}"
        tunnels[name] = spec
        return name
    if kind == "tap":
        problem = name_problem(ifname)
        if problem is not None:
            raise HostConfigError(f"--link {text}: {problem}")
        if taps is not None:
            taps.append(ifname)
    return ifname


def _split(flag: str, text: str) -> tuple[str, str]:
    ifname, sep, value = text.partition("=")
    if not sep or not ifname or not value:
        raise HostConfigError(f"{flag} {text}: expected IFNAME=VALUE")
    return ifname, value


def parse_address(text: str) -> tuple[str, IPv6Interface]:
    """``IFNAME=ADDR/PLEN``."""
    ifname, value = _split("--address", text)
    if "/" not in value:
        raise HostConfigError(f"--address {text}: give a prefix length, e.g. {value}/64")
    try:
        address = IPv6Interface(value)
    except ValueError as exc:
        raise HostConfigError(f"--address {text}: {exc}") from None
    if address.ip.is_multicast or address.ip.is_unspecified or address.ip.is_loopback:
        raise HostConfigError(f"--address {text}: not a unicast address for an interface")
    return ifname, address


#: The prefix length SLAAC forms addresses in: 128 less the 64-bit interface identifier
#: (RFC 4291 §2.5.1; RFC 2464 §4 on Ethernet).
SLAAC_PREFIX_LENGTH = 64


def parse_advertise(text: str) -> tuple[str, IPv6Network]:
    """``IFNAME=PREFIX/64``."""
    ifname, value = _split("--advertise", text)
    try:
        prefix = IPv6Network(value)
    except ValueError as exc:
        raise HostConfigError(f"--advertise {text}: {exc}") from None
    # RFC 4862 §5.5.3 (d): a host ignores a Prefix Information option whose prefix length
    # plus its interface identifier's length is not 128: a /48 would configure nothing.
    if prefix.prefixlen != SLAAC_PREFIX_LENGTH:
        raise HostConfigError(
            f"--advertise {text}: hosts autoconfigure only from a /{SLAAC_PREFIX_LENGTH} "
            f"(RFC 4862 §5.5.3: prefix length + 64-bit interface identifier = 128); "
            f"advertise a /{SLAAC_PREFIX_LENGTH} of {prefix}"
        )
    return ifname, prefix


def parse_route(text: str) -> StaticRouteSpec:
    """``PREFIX=NEXTHOP%IFNAME`` (``2001:db8:9::/48=fe80::1%eth1``), or ``PREFIX=%IFNAME``
    for an on-link prefix; ``default`` stands for ``::/0``."""
    prefix_text, sep, value = text.partition("=")
    hop_text, pct, ifname = value.rpartition("%")
    if not sep or not prefix_text or not pct or not ifname:
        raise HostConfigError(
            f"--route {text}: expected PREFIX=NEXTHOP%IFNAME (or PREFIX=%IFNAME for on-link)"
        )
    try:
        prefix = IPv6Network("::/0" if prefix_text == "default" else prefix_text)
        next_hop = IPv6Address(hop_text) if hop_text else None
    except ValueError as exc:
        raise HostConfigError(f"--route {text}: {exc}") from None
    if prefix.is_multicast:
        raise HostConfigError(f"--route {text}: a route is for unicast destinations")
    if next_hop is not None and (
        next_hop.is_multicast or next_hop.is_unspecified or next_hop.is_loopback
    ):
        raise HostConfigError(f"--route {text}: the next hop must be a unicast neighbor")
    return StaticRouteSpec(prefix, next_hop, ifname)


def parse_serve(texts: Sequence[str]) -> list[str]:
    """``echo,discard`` (repeatable) -> the service names, in order, once each
    (``http=DIR`` is :func:`parse_http`'s)."""
    names: list[str] = []
    for text in texts:
        for name in (n.strip() for n in text.split(",")):
            if name.startswith(("http=", "ftp=", "ftp-upload=")):
                continue
            if name not in PORTS:
                known = ", ".join([*PORTS, "http=DIR", "ftp=DIR", "ftp-upload=DIR"])
                raise HostConfigError(f"--serve {text}: unknown service {name!r} (known: {known})")
            if name not in names:
                names.append(name)
    return names


def parse_http(texts: Sequence[str], key: str = "http=") -> Path | None:
    """The DIR of ``--serve http=DIR`` (or of another ``key``: ``ftp=``, the last one
    given), checked to be a directory."""
    root: Path | None = None
    for text in texts:
        for item in (n.strip() for n in text.split(",")):
            if item.startswith(key):
                root = Path(item[len(key) :])
                if not str(root) or not root.is_dir():
                    raise HostConfigError(f"--serve {item}: no such directory")
    return root


def validate(config: HostConfig) -> None:
    if not config.links:
        raise HostConfigError("give at least one --link (ethernet:IFNAME, tap:NAME or tunnel:...)")
    if len(set(config.links)) != len(config.links):
        raise HostConfigError("each interface can be given to --link once")
    for flag, ifname in (
        [("--address", n) for n, _ in config.addresses]
        + [("--advertise", n) for n, _ in config.advertise]
        + [("--route", r.ifname) for r in config.routes]
    ):
        if ifname not in config.links:
            raise HostConfigError(f"{flag} names {ifname}, which is not a --link")
    if config.advertise and not config.router:
        raise HostConfigError("--advertise needs --router (a host does not advertise)")
    # Mobile IPv6 (RFC 6275 §10, RFC 6275 §11): a home agent is a router, a mobile node a host.
    for flag, role in (("--home-agent", config.home_agent), ("--mobile-node", config.mobile_node)):
        if role is not None and role[0] not in config.links:
            raise HostConfigError(f"{flag} names {role[0]}, which is not a --link")
    if config.home_agent is not None and not config.router:
        raise HostConfigError("--home-agent needs --router (RFC 6275 §10: a home agent routes)")
    if config.mobile_node is not None and config.router:
        raise HostConfigError("--mobile-node is a host: drop --router")
    if len(config.routes) > MAX_ROUTES:
        raise HostConfigError(f"at most {MAX_ROUTES} --route (the static route table's size)")
    seen: set[tuple[IPv6Network, str]] = set()
    for route in config.routes:
        if (route.prefix, route.ifname) in seen:
            raise HostConfigError(f"--route {route}: one route per prefix and interface")
        seen.add((route.prefix, route.ifname))


def add_route(host: Host, route: StaticRouteSpec) -> None:
    """Install a ``--route`` in ``host``'s static routes (HostConfigError if it is full)."""
    iface = host.interface(route.ifname)
    if route.next_hop is not None and not iface.link.uses_nd:
        # A link without ND reaches a next hop at the IPv4 address it maps it to (a
        # PERMANENT neighbor, as MSR IPv6's tunnel NCEs): a 6to4 router's embedded
        # address, an IPv4-compatible address's low 32 bits.
        mapped = next_hop_link_address(iface.link, route.next_hop)
        if mapped is not None and iface.neighbors.get(route.next_hop) is None:
            iface.add_static_neighbor(route.next_hop, mapped)
    if not host.routes.add_static_route(route.prefix, iface, route.next_hop):
        raise HostConfigError(f"--route {route}: the static route table is full")


def _relay_errors_to(host: Host, iface: Interface, tunnel: TunnelLink) -> ErrorReceiver:
    """RFC 4213 §3.4: an ICMPv4 error about one of the tunnel's datagrams reaches the stack
    as the ICMPv6 error it means, from the tunnel endpoint."""

    def relay(ee: bytes, endpoint: IPv4Address, quoted: bytes, now: float) -> None:
        error = from_extended_err(ee, endpoint, quoted)
        if error is None:
            return
        datagram = relay_datagram(error, tunnel.endpoint_address(endpoint), tunnel.local)
        if datagram is not None:
            host.receive(iface, datagram, now)

    return relay


def _say(out: TextIO, line: str) -> None:
    print(line, file=out, flush=True)


def describe(event: HostEvent) -> str | None:
    """The line printed for a host event (None: not printed)."""
    if isinstance(event, AddressConfigured):
        return (
            f"address {event.address}/{event.prefix_length} on {event.interface} preferred "
            f"({event.origin}; DAD: no duplicate)"
        )
    if isinstance(event, AddressOptimistic):
        return (
            f"address {event.address}/{event.prefix_length} on {event.interface} optimistic "
            f"({event.origin}; DAD running)"
        )
    if isinstance(event, DuplicateAddress):
        extra = "; autoconfiguration stopped" if event.link_local else ""
        return (
            f"address {event.address} on {event.interface} duplicate "
            f"(DAD: another node has it; not used{extra})"
        )
    if isinstance(event, AddressRemoved):
        return f"address {event.address} on {event.interface} removed"
    if isinstance(event, NeighborUnreachableEvent):
        return f"neighbor {event.neighbor} on {event.interface} unreachable"
    return None


class LiveHost:
    """The host, its ports and its driver, built from a :class:`HostConfig`."""

    def __init__(self, config: HostConfig, out: TextIO = sys.stdout) -> None:
        validate(config)
        self.config = config
        self.out = out
        rng = random.Random(config.seed)
        self.host = Host(name=config.name, rng=rng)
        apply_tcp(self.host.tcp.params, config.tcp)
        if config.trace is not None:
            self.host.trace_sink = trace_printer(out, config.trace)
        self.router = Router(self.host) if config.router else None
        if config.mobility == "correspondent":  # Mobile IPv6 (RFC 6275 §9)
            enable_correspondent(self.host)
        self.driver = LiveDriver([self.host])
        self.driver.on_late_wake = self._late_wake
        self.ports: list[RawSocketPort | TapPort | RawIpv4Port] = []
        #: Each Ethernet port's input fairness counters (tcpip6.io.fairness).
        self.fairness: dict[str, CounterSet] = {}
        self.pcap: PcapWriter | None = None
        self.control: ControlServer | None = None
        self.stack = Stack(self.host, self.driver)
        self.services: Services | None = None
        self.httpd: Httpd | None = None
        self.ftpd: Ftpd | None = None
        self.tunnel_slots = TunnelSlots(self.host, self.driver, self._log)
        self.link_events = LinkEvents(self, self._log)
        self.socks: SocksServer | None = None
        self.tun: TunPort | None = None  # the translator's IPv4 side
        try:
            for ifname in config.links:
                self.ports.append(self._open_port(ifname))
            if config.translate is not None:
                self.tun = translate_config.open_tun(config.translate)
            if config.pcap is not None:
                # Tunnels capture IPv4 datagrams: raw IP when every link is a tunnel (in a
                # mixed run, only the Ethernet links are captured).
                tunnels_only = len(config.tunnels) == len(config.links)
                try:
                    self.pcap = PcapWriter(
                        config.pcap, LINKTYPE_RAW if tunnels_only else LINKTYPE_ETHERNET
                    )
                except OSError as exc:
                    raise HostConfigError(f"cannot write {config.pcap}: {exc.strerror}") from None
            self._open_control()
            if config.socks is not None:
                self.socks = SocksServer(self.stack, config.socks, log=self._log)
        except SocksConfigError as exc:
            self.close()
            raise HostConfigError(str(exc)) from None
        except (LinkError, HostConfigError):
            self.close()
            raise

    def _log(self, line: str) -> None:
        _say(self.out, line)

    def _late_wake(self, late: float) -> None:
        """The driver woke ``late`` seconds late (the process was stopped, the machine
        suspended): what fell due meanwhile runs now, once."""
        _say(self.out, f"clock jumped: woke {late:.1f} s late, due timers run once")

    def _open_port(self, ifname: str) -> RawSocketPort | TapPort | RawIpv4Port:
        spec = self.config.tunnels.get(ifname)
        if spec is not None and spec.kind is TunnelKind.SIX_OVER_FOUR:
            return MulticastIpv4Port(spec.local, ifname)
        if spec is not None:
            return RawIpv4Port(spec.local, ifname)
        offload = self.config.offload and os.environ.get("TCPIP6_OFFLOAD") != "0"
        if ifname in self.config.taps:
            return TapPort(ifname, offload=offload)
        return self.packet_port(ifname)

    def packet_port(self, ifname: str) -> RawSocketPort:
        """The AF_PACKET port of ``ifname``. Segmentation offload (tcpip6.io.rawsock): on
        unless --no-offload or TCPIP6_OFFLOAD=0, off by itself where the kernel refuses
        it. The transmit ring only with TCPIP6_TX_RING=1 (and then without offload): a
        frame that a queue past the socket drops (a full qdisc, the veth peer's backlog)
        is lost without a word to a ring's sender, where a plain ``send`` gets ENOBUFS and
        the port keeps the frame (back-pressure)."""
        offload = self.config.offload and os.environ.get("TCPIP6_OFFLOAD") != "0"
        ring = os.environ.get("TCPIP6_TX_RING", "")
        return RawSocketPort(
            ifname,
            tx_ring=ring == "1",
            offload=offload,
            # Receive coalescing (tcpip6.io.coalesce) is the port's own batching, with or
            # without offload; TCPIP6_COALESCE=0 turns it off.
            coalesce=os.environ.get("TCPIP6_COALESCE") != "0",
            # Without the kernel's segmentation offload the port cuts TCP's large segments
            # itself and sends the pieces in batches; TCPIP6_SOFT_GSO=0: a segment per MSS.
            soft_gso=os.environ.get("TCPIP6_SOFT_GSO") != "0",
        )

    def _open_control(self) -> None:
        """The control socket: a failure is an error when --control named the path; at the
        default path it is only said (the host runs without one)."""
        path = self.config.control_path
        try:
            self.control = ControlServer(path, self.answer)
        except ControlError as exc:
            if self.config.control is not None:
                raise HostConfigError(str(exc)) from None
            _say(self.out, f"{exc}: running without one (give --control PATH)")
            return
        self.control.attach(self.driver)

    def answer(self, request: Mapping[str, Any]) -> dict[str, Any] | Job:
        """A control-socket request: ``{"show": VIEW}`` -> that view's dict;
        ``{"run": TOOL, "args": {...}}`` -> a job of :mod:`tcpip6.apps.jobs`."""
        if "run" in request:
            return start_job(self.stack, request)
        if set(request) == {"tunnel"}:  # the tunnel broker's (tcpip6.apps.tunnel_slots)
            return self.tunnel_slots.request(request["tunnel"])
        if set(request) == {"link"}:  # tcpip6 link add|del (tcpip6.apps.link_events)
            return self.link_events.request(request["link"])
        view = request.get("show")
        if set(request) != {"show"} or not isinstance(view, str):
            raise ValueError(f'expected {{"show": VIEW}}, VIEW one of {", ".join(show.VIEWS)}')
        extra: dict[str, CounterSet] = {f"{port.ifname} port": port.counters for port in self.ports}
        extra.update({f"{name} fairness": c for name, c in self.fairness.items()})
        extra["driver"] = self.driver.counters
        if self.socks is not None:
            extra["socks"] = self.socks.counters
        if self.ftpd is not None:
            extra["ftpd"] = self.ftpd.counters
        if self.link_events.monitor is not None:
            extra["link events"] = self.link_events.monitor.counters
        if self.tun is not None:  # the translator (tcpip6.apps.translate_config)
            extra[f"{self.tun.name} tun"] = self.tun.counters
            for t in self.host.translators:
                extra[f"translator {t.ipv4_side}"] = t.engine.counters
        return show.snapshot(self.host, view, self.driver.now, extra=extra)

    def _capture(self, iface: Interface, frame: bytes, now: float, direction: str) -> None:
        if self.pcap is not None:
            self.pcap.write(frame, time.time())

    def _attach(self, port: RawSocketPort | TapPort | RawIpv4Port) -> Interface:
        host = self.host
        if isinstance(port, MulticastIpv4Port):
            spec = self.config.tunnels[port.ifname]
            # RFC 2529: ND, DAD and router discovery run as on Ethernet.
            over4 = SixOverFourLink(port, spec.local)
            iface = host.add_interface(over4, port.ifname, InterfaceParameters(link_mtu=over4.mtu))
            summary = f"tunnel {spec} mtu {over4.mtu}"
        elif isinstance(port, RawIpv4Port):
            spec = self.config.tunnels[port.ifname]
            tunnel = TunnelLink(
                port,
                spec.local,
                remote=spec.remote,
                relay=spec.relay,
                automatic=spec.kind is TunnelKind.AUTOMATIC,
            )
            iface = host.add_interface(tunnel, port.ifname, tunnel_parameters(tunnel))
            configure_tunnel(iface, tunnel, self.driver.now)
            port.error_receiver = _relay_errors_to(host, iface, tunnel)
            summary = f"tunnel {spec} mtu {tunnel.mtu}"
        else:
            link = EthernetLink(port, port.mac, mtu=port.mtu)
            iface = host.add_interface(link, name=port.ifname)
            kind = "tap" if isinstance(port, TapPort) else "ethernet"
            summary = f"{kind} {port.mac.hex(':')} mtu {port.mtu}"
        iface.params.optimistic_dad = self.config.optimistic_dad
        # RFC 7559 §2: Router Solicitations go on, with backoff, until a router answers
        # (as Linux does by default); the RANDs from the host's generator.
        iface.solicitor.backoff = True
        iface.solicitor.rng = host.rng
        clock = self.driver

        def receiver(frame: bytes, now: float) -> None:
            # Each frame at the time it is handled, not at the time its batch was read:
            # what the host sends in answer is stamped with that time, and RFC 8985 §6.2
            # RACK compares those send times with the ACKs' (a batch takes milliseconds).
            host.receive(iface, frame, max(now, clock.now))

        port.receiver = receiver
        if isinstance(port, RawSocketPort):
            # Back-pressure (tcpip6.stack.link): the port's queue drained after it
            # stopped; and it retries a frame the kernel answered ENOBUFS to on a timer.
            port.on_writable = partial(host.link_writable, iface)
            self.driver.add(port)
        if iface.link.kind == "ethernet":
            # A flood of SYNs, fragments or ND cannot starve what is established.
            fair = FairShare(receiver)
            self.fairness[port.ifname] = fair.counters
            port.receiver = fair
        # Only with --pcap: a capture hook builds every frame a second time (and cuts
        # a large TCP segment into what the wire carries).
        if self.pcap is not None and (self.pcap.linktype == LINKTYPE_ETHERNET) == (
            iface.link.kind == "ethernet"
        ):
            iface.capture = self._capture
        self.driver.add_source(port)
        _say(self.out, f"link {port.ifname} up: {summary}")
        if isinstance(port, RawSocketPort):
            ring = ", transmit ring" if port.ring is not None else ""
            _say(self.out, f"link {port.ifname} offload: {port.offload}{ring}")
        elif isinstance(port, TapPort):
            _say(self.out, f"link {port.ifname} offload: {port.offload}")
        return iface

    def _start_mobile_ipv6(self, now: float) -> None:
        """--home-agent (RFC 6275 §10) and --mobile-node (RFC 6275 §11)."""
        if self.config.home_agent is not None:
            ifname, prefix = self.config.home_agent
            enable_home_agent(self.host, self.host.interface(ifname), prefix, now=now)
            _say(self.out, f"home agent of {prefix} on {ifname}")
        if self.config.mobile_node is not None:
            ifname, home, agent = self.config.mobile_node
            iface = self.host.interface(ifname)
            iface.add_static_address(home.ip, home.network.prefixlen, now)
            enable_mobile_node(self.host, iface, home.ip, home.network, agent)
            found = "found by discovery" if agent is None else str(agent)
            _say(self.out, f"mobile node: home address {home.ip}, home agent {found}")

    def start(self) -> None:
        now = self.driver.now
        self.host.now = now
        for port in self.ports:
            self._attach(port)
        self.host.start(now)
        self.link_events.start()
        for ifname, address in self.config.addresses:
            iface = self.host.interface(ifname)
            iface.add_static_address(address.ip, address.network.prefixlen, now)
        for route in self.config.routes:
            add_route(self.host, route)
            _say(self.out, f"route {route}")
        self._start_mobile_ipv6(now)
        if self.config.ipsec is not None:  # IPsec hook (RFC 4301 §4.5: manual keying)
            apply_ipsec(self.host, self.config.ipsec, now)
            ipsec = self.config.ipsec
            _say(self.out, f"ipsec: {len(ipsec.policies)} policies, {len(ipsec.sas)} SAs")
        if self.tun is not None and self.config.translate is not None:
            self._start_translator(self.tun, self.config.translate)
        if self.router is not None:
            for ifname, prefix in self.config.advertise:
                iface = self.host.interface(ifname)
                params = AdvertisingParameters(prefixes=(AdvPrefix(prefix),))
                self.router.advertise(iface, params)
                _say(self.out, f"advertising {prefix} on {ifname}")
        if self.config.serve:
            self.services = Services(self.stack)
            self.services.start(tuple(self.config.serve))
            served = ", ".join(
                f"{name} {PORTS[name]}/udp {PORTS[name]}/tcp" for name in self.config.serve
            )
            _say(self.out, f"serving {served}")
        if self.config.http_root is not None:
            try:
                self.httpd = Httpd(self.stack, self.config.http_root)
            except OSError as exc:
                raise HostConfigError(f"cannot serve http: {exc.strerror or exc}") from None
            self.driver.add(self.httpd)  # its idle-connection timer
            _say(self.out, f"serving http {HTTP_PORT}/tcp from {self.config.http_root}")
        if self.config.ftp_root is not None:
            self._start_ftpd(self.config.ftp_root)
        if self.socks is not None:
            self.socks.attach(self.driver)
            listen, listen_port = self.socks.address
            where = f"[{listen}]" if ":" in listen else listen
            _say(self.out, f"socks5 front door at {where}:{listen_port}")
        if self.control is not None:
            _say(self.out, f"control socket {self.control.path}")
        self.print_events()

    def _start_translator(self, tun: TunPort, config: TranslateConfig) -> None:
        fallback = self.config.addresses[0][1].ip if self.config.addresses else None
        translate_config.attach(self.host, config, tun, fallback)
        self.driver.add_source(tun)
        pool = " ".join(str(n) for n in config.pool4)
        _say(self.out, f"translator {config.summary()} mtu {tun.mtu}")
        _say(self.out, f"  route the pool into it: ip route add {pool} dev {tun.name}")

    def _start_ftpd(self, root: Path) -> None:
        from tcpip6.apps.ftpd import FTP_PORT

        try:
            self.ftpd = Ftpd(self.stack, root, upload=self.config.ftp_upload)
        except OSError as exc:
            raise HostConfigError(f"cannot serve ftp: {exc.strerror or exc}") from None
        mode = "read-write" if self.config.ftp_upload else "read-only"
        _say(self.out, f"serving ftp {FTP_PORT}/tcp from {root} ({mode})")

    def print_events(self) -> None:
        for event in self.host.events.drain():
            line = describe(event)
            if line is not None:
                _say(self.out, line)

    def leave_groups(self) -> int:
        """Leave every multicast group on every interface (MLD Done where RFC 2710 §5
        says so); how many groups were left."""
        host = self.host
        now = self.driver.now
        left = 0
        for iface in host.interfaces:
            for group in list(iface.mld.refs):
                for _ in range(iface.mld.refs[group]):
                    host.leave_group(iface, group, now)
                left += 1
        return left

    def run(self) -> int:
        self.driver.stop_on_signals()
        self.start()
        self.driver.run(self.print_events)
        # TCP connections are reset (the peers learn at once), then MLD Done for each group.
        reset = self.host.tcp.shutdown(self.driver.now)
        left = self.leave_groups()
        self.print_events()
        signum = self.driver.stop_signal
        signame = signal.Signals(signum).name if signum is not None else "request"
        _say(
            self.out,
            f"stopped by {signame}: reset {reset} TCP connections, left {left} multicast groups",
        )
        return 0

    def close(self) -> None:
        if self.socks is not None:
            self.socks.close()
        if self.services is not None:
            self.services.close()
        if self.httpd is not None:
            self.httpd.close()
        if self.ftpd is not None:
            self.ftpd.close()
        self.tunnel_slots.close()
        self.link_events.close()
        if self.tun is not None:
            self.tun.close()
        if self.control is not None:
            self.control.close()
        for port in self.ports:
            port.close()
        if self.pcap is not None:
            self.pcap.close()
        self.driver.close()


def run_host(config: HostConfig, out: TextIO = sys.stdout) -> int:
    configure_logging(config.log_level)
    live = LiveHost(config, out)
    try:
        return live.run()
    finally:
        live.close()


def build_config(
    links: Sequence[str] = (),
    addresses: Sequence[str] = (),
    router: bool = False,
    advertise: Sequence[str] = (),
    pcap: str | None = None,
    seed: int | None = None,
    trace: str | None = None,
    serve: Sequence[str] = (),
    control: str | None = None,
    routes: Sequence[str] = (),
    socks: str | None = None,
    log_level: str | None = None,
    ipsec: str | None = None,
    mobility: str | None = None,
    translate: str | None = None,
    tun: str | None = None,
    pool4: Sequence[str] = (),
    eam: Sequence[str] = (),
    translator_ipv4: str | None = None,
    nat64_lifetimes: str | None = None,
    tcp: Sequence[str] = (),
    home_agent: str | None = None,
    mobile_node: str | None = None,
    no_offload: bool = False,
    optimistic_dad: bool = True,
) -> HostConfig:
    """A :class:`HostConfig` from the command line's strings (HostConfigError if bad)."""
    level = (log_level or "warning").lower()
    if level not in LOG_LEVELS:
        raise HostConfigError(f"--log-level {log_level}: choose {', '.join(LOG_LEVELS)}")
    if mobility not in (None, *MOBILITY_ROLES):
        raise HostConfigError(f"--mobility {mobility}: choose {', '.join(MOBILITY_ROLES)}")
    tunnels: dict[str, TunnelSpec] = {}
    taps: list[str] = []
    try:  # the translator's options (tcpip6.apps.translate_config)
        xlate = translate_config.build_translate(
            translate, tun, pool4, eam, translator_ipv4, nat64_lifetimes
        )
    except TranslateConfigError as exc:
        raise HostConfigError(str(exc)) from None
    try:
        tcp_settings = parse_tcp(tcp)
    except ValueError as exc:
        raise HostConfigError(str(exc)) from None
    return HostConfig(
        links=[parse_link(t, tunnels, taps) for t in links],
        tunnels=tunnels,
        taps=taps,
        addresses=[parse_address(t) for t in addresses],
        # a translator forwards between the links and the TUN: the host is a router
        router=router or xlate is not None,
        advertise=[parse_advertise(t) for t in advertise],
        pcap=Path(pcap) if pcap else None,
        seed=seed,
        trace=trace,
        name=socket.gethostname() or "tcpip6",
        serve=parse_serve(serve),
        http_root=parse_http(serve),
        ftp_root=parse_http(serve, "ftp-upload=") or parse_http(serve, "ftp="),
        ftp_upload=parse_http(serve, "ftp-upload=") is not None,
        control=Path(control) if control else None,
        routes=[parse_route(t) for t in routes],
        socks=_parse_socks(socks) if socks else None,
        log_level=level,
        ipsec=_load_ipsec(ipsec) if ipsec else None,
        mobility=mobility,
        translate=xlate,
        tcp=tcp_settings,
        home_agent=parse_home_agent(home_agent) if home_agent else None,
        mobile_node=parse_mobile_node(mobile_node) if mobile_node else None,
        offload=not no_offload,
        optimistic_dad=optimistic_dad,
    )


def parse_home_agent(text: str) -> tuple[str, IPv6Network]:
    """``IFNAME=PREFIX`` (``eth1=2001:db8:1::/64``): the home link and its prefix."""
    ifname, value = _split("--home-agent", text)
    try:
        return ifname, IPv6Network(value)
    except ValueError as exc:
        raise HostConfigError(f"--home-agent {text}: {exc}") from None


def parse_mobile_node(text: str) -> tuple[str, IPv6Interface, IPv6Address | None]:
    """``IFNAME=HOME/LEN[,AGENT]`` (``eth1=2001:db8:1::100/64,2001:db8:1::1``): the interface
    that starts on the home link, the home address with the home prefix's length, and the
    home agent's address (without it, found by discovery, RFC 6275 §11.4.1)."""
    ifname, value = _split("--mobile-node", text)
    home_text, _, agent_text = value.partition(",")
    try:
        home = IPv6Interface(home_text)
        agent = IPv6Address(agent_text) if agent_text else None
    except ValueError as exc:
        raise HostConfigError(
            f"--mobile-node {text}: {exc} (IFNAME=HOME/LEN[,AGENT], as "
            "eth1=2001:db8:1::100/64,2001:db8:1::1)"
        ) from None
    if agent is not None and agent not in home.network:
        raise HostConfigError(f"--mobile-node {text}: the home agent is not on the home prefix")
    return ifname, home, agent


def _load_ipsec(path: str) -> IpsecConfig:
    try:
        return load_ipsec_file(path)
    except IpsecConfigError as exc:
        raise HostConfigError(str(exc)) from None


#: --mobility's choices: the Mobile IPv6 roles a live host can take (RFC 6275 §9).
MOBILITY_ROLES = ("correspondent",)

#: --log-level's choices, quietest last.
LOG_LEVELS = ("debug", "info", "warning", "error")


def configure_logging(level: str, stream: TextIO = sys.stderr) -> None:
    """The stack's loggers (``tcpip6.*``) print at ``level`` and above on ``stream``."""
    logger = logging.getLogger("tcpip6")
    logger.setLevel(level.upper())
    if not any(getattr(h, "tcpip6_host", False) for h in logger.handlers):
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logging.Formatter("tcpip6 %(levelname)s %(name)s: %(message)s"))
        handler.tcpip6_host = True  # type: ignore[attr-defined]
        logger.addHandler(handler)


def _parse_socks(text: str) -> tuple[str, int]:
    try:
        return parse_listen(text)
    except SocksConfigError as exc:
        raise HostConfigError(str(exc)) from None


#: The settings a config file may give: each takes the strings its flag takes.
FILE_SETTINGS: dict[str, str] = {
    "links": "list",
    "addresses": "list",
    "router": "bool",
    "advertise": "list",
    "pcap": "str",
    "seed": "int",
    "serve": "list",
    "control": "str",
    "routes": "list",
    "socks": "str",
    "log_level": "str",
    "ipsec": "str",
    "mobility": "str",
    **translate_config.FILE_SETTINGS,
    "tcp": "list",
    "home_agent": "str",
    "mobile_node": "str",
    "no_offload": "bool",
    "optimistic_dad": "bool",
}


def load_config_file(path: str | Path) -> dict[str, Any]:
    """The settings of a TOML file, checked for their types (HostConfigError, one line)::

    links = ["ethernet:eth1"]
    addresses = ["eth1=2001:db8:1::1/64"]
    router = true
    advertise = ["eth1=2001:db8:1::/64"]
    pcap = "eth1.pcap"
    seed = 7
    serve = ["echo", "discard", "http=/srv/www"]   # or "echo,discard,http=/srv/www"
    control = "/run/tcpip6/eth1.sock"
    routes = ["2001:db8:9::/48=fe80::1%eth1"]
    socks = "127.0.0.1:1080"
    log_level = "info"
    ipsec = "ipsec.toml"
    translate = "nat64:64:ff9b::/96"   # and tun, pool4, eam, translator_ipv4, nat64_lifetimes
    tcp = ["min_rto=0.2", "congestion=cubic"]
    optimistic_dad = false                 # classic DAD (RFC 4862 §5.4) only
    """
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as exc:
        raise HostConfigError(f"--config {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise HostConfigError(f"--config {path}: not TOML: {exc}") from None
    for key, value in data.items():
        kind = FILE_SETTINGS.get(key)
        if kind is None:
            raise HostConfigError(
                f"--config {path}: unknown setting {key!r} (known: {', '.join(FILE_SETTINGS)})"
            )
        if kind == "list" and isinstance(value, str):
            value = data[key] = [value]
        ok = {
            "list": isinstance(value, list) and all(isinstance(v, str) for v in value),
            "bool": isinstance(value, bool),
            "str": isinstance(value, str),
            "int": isinstance(value, int) and not isinstance(value, bool),
        }[kind]
        if not ok:
            expected = {"list": "a list of strings", "bool": "true or false"}.get(kind, f"a {kind}")
            raise HostConfigError(f"--config {path}: {key} should be {expected}")
    return data


def config_from(flags: Mapping[str, Any], config_file: str | Path | None = None) -> HostConfig:
    """The config from the flags (None, empty or False: not given) over the file's."""
    settings: dict[str, Any] = load_config_file(config_file) if config_file else {}
    for key, value in flags.items():
        if value not in (None, [], (), False):
            settings[key] = value
    try:
        return build_config(**settings)
    except HostConfigError as exc:
        if config_file is None:
            raise
        raise HostConfigError(f"{exc} (with --config {config_file})") from None


# -- the command line: tcpip6 host ----------------------------------------------------
EPILOG = """\
tcpip6 replaces the kernel's IPv6 on the interfaces it is given: turn the kernel's off
there first (sysctl -w net.ipv6.conf.IFNAME.disable_ipv6=1). Runs until SIGINT/SIGTERM,
then leaves its multicast groups (MLD Done) and exits 0. Needs root (or CAP_NET_RAW).

example: a Linux namespace and tcpip6 on the two ends of a veth pair
  ip netns add peer; ip netns add h6
  ip -n peer link add veth-p type veth peer name veth-h netns h6
  ip netns exec h6 sysctl -w net.ipv6.conf.veth-h.disable_ipv6=1
  ip -n peer link set veth-p up; ip -n h6 link set veth-h up
  ip netns exec h6 tcpip6 host --link ethernet:veth-h --pcap h6.pcap
      link veth-h up: ethernet 9a:..:.. mtu 1500
      address fe80::98..:..../64 on veth-h preferred (link-local; DAD: no duplicate)
  ip netns exec peer ping -6 fe80::98..%veth-p         (from another terminal)
  ip netns exec peer ip -6 neigh show dev veth-p
  tcpip6 show neighbors          (tcpip6's neighbor cache, asked through its control socket)

  the same from a file, with the UDP echo and discard services (flags override the file):
  ip netns exec h6 tcpip6 host --config h6.toml
      h6.toml:  links = ["ethernet:veth-h"]
                serve = "echo,discard"

  serving a directory over HTTP (from the peer: curl -6 -g 'http://[ADDR%veth-p]/file'):
  ip netns exec h6 tcpip6 host --link ethernet:veth-h --serve http=/srv/www

  a router advertising a prefix (Linux hosts on the link autoconfigure from it):
  ip netns exec h6 tcpip6 host --link ethernet:veth-h --router \\
      --address veth-h=2001:db8:1::1/64 --advertise veth-h=2001:db8:1::/64

  a static route (PREFIX=NEXTHOP%IFNAME; "default" is ::/0; PREFIX=%IFNAME: on-link):
  ip netns exec h6 tcpip6 host --link ethernet:veth-h --address veth-h=2001:db8:1::2/64 \\
      --route 2001:db8:77::/48=fe80::1%veth-h

A TAP device of tcpip6's own (tap:NAME, at most 15 characters): tcpip6 creates NAME, brings
it up and removes it at exit. The kernel's side of the TAP is an ordinary interface whose
kernel IPv6 stays on: the kernel is the peer at the other end of the wire, and tcpip6 has
a MAC of its own (locally administered, derived from NAME):
  ip netns exec h6 tcpip6 host --link tap:tap6
      link tap6 up: tap 8e:70:..:.. mtu 1500
  ip netns exec h6 ping -6 fe80::8c70:..%tap6

IPv6 over IPv4 (protocol 41, on the kernel's IPv4: give an IPv4 address of this host).
Tunnel interfaces are named tun0, tun1... in --link order; no ND, no DAD on them
(but on 6over4):
  tunnel:configured:LOCAL4:REMOTE4   RFC 4213 configured tunnel: mtu 1280, fe80::LOCAL4,
                                     the remote end fe80::REMOTE4 is the default route
  tunnel:6to4:LOCAL4[:RELAY4]        RFC 3056 6to4: 2002:LOCAL4::LOCAL4/16; other
                                     destinations go to a relay router (RFC 3068)
  tunnel:automatic:LOCAL4            RFC 2893 §5 automatic tunnel (historical): ::LOCAL4/96;
                                     a ::A.B.C.D destination is sent to A.B.C.D
  tunnel:6over4:LOCAL4               RFC 2529 6over4: IPv4 multicast (239.192.A.B) as a
                                     virtual Ethernet, with ND and DAD; mtu 1480
  tcpip6 host --link tunnel:configured:10.0.0.2:10.0.0.1 --address tun0=2001:db8:46::2/64
  tcpip6 host --link tunnel:6to4:10.0.0.2:192.88.99.1

SOCKS5 front door (RFC 1928, no authentication, so loopback addresses only): kernel
programs CONNECT (and UDP ASSOCIATE) to IPv6 addresses through tcpip6's own TCP and UDP.
Names are not resolved: give IPv6 literals.
  tcpip6 host --link ethernet:eth1 --socks 127.0.0.1:1080
  curl --socks5-hostname 127.0.0.1:1080 'http://[2001:db8:77::1]:8000/'
"""


def run(args: argparse.Namespace) -> int:
    try:
        flags = {
            "links": args.link,
            "addresses": args.address,
            "router": args.router,
            "advertise": args.advertise,
            "pcap": args.pcap,
            "seed": args.seed,
            "trace": args.trace_format if args.trace else None,
            "serve": args.serve,
            "control": args.control,
            "routes": args.route,
            "socks": args.socks,
            "log_level": args.log_level,
            "ipsec": args.ipsec,  # IPsec hook
            "mobility": args.mobility,
            **translate_config.flags(args),
            "tcp": args.tcp,
            "home_agent": args.home_agent,
            "mobile_node": args.mobile_node,
            "no_offload": args.no_offload,
        }
        config = config_from(flags, args.config)
        if args.optimistic_dad is not None:  # the flag overrides the file, either way
            config.optimistic_dad = args.optimistic_dad
        return run_host(config)
    except (HostConfigError, LinkError) as exc:
        raise CliError(str(exc)) from None


def add_parser(sub: Subparsers) -> argparse.ArgumentParser:
    host = sub.add_parser(
        "host",
        help="run tcpip6 as a live host (or router) on real interfaces (root)",
        description=(
            "Run tcpip6 on real Ethernet interfaces through AF_PACKET sockets: it forms\n"
            "link-local addresses (RFC 4862 DAD), solicits routers and autoconfigures\n"
            "global addresses from their advertisements, answers Neighbor Discovery and\n"
            "ping. Prints one line per link that comes up and per address it configures."
        ),
        epilog=EPILOG + translate_config.EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    host.add_argument(
        "--link",
        action="append",
        metavar="ethernet:IFNAME|tap:NAME|tunnel:...",
        help="an interface to run on (repeat for several; TAP devices, tunnels: see below)",
    )
    host.add_argument(
        "--address",
        action="append",
        metavar="IFNAME=ADDR/PLEN",
        help="a manually configured address (DAD-checked; repeatable)",
    )
    host.add_argument(
        "--route",
        action="append",
        metavar="PREFIX=NEXTHOP%IFNAME",
        help="a static route: PREFIX (or default) through NEXTHOP on IFNAME; PREFIX=%%IFNAME "
        "makes PREFIX on-link (repeatable)",
    )
    host.add_argument(
        "--router", action="store_true", help="router mode: forward between the links"
    )
    host.add_argument(
        "--advertise",
        action="append",
        metavar="IFNAME=PREFIX/64",
        help="send Router Advertisements for PREFIX on IFNAME (needs --router; repeatable)",
    )
    host.add_argument("--pcap", metavar="FILE", help="write every frame sent and received")
    host.add_argument(
        "--no-offload",
        action="store_true",
        help="no segmentation offload (virtio-net header) on packet sockets: one frame per "
        "segment each way (also TCPIP6_OFFLOAD=0)",
    )
    host.add_argument("--seed", type=int, help="seed the random choices (DAD and RS delays)")
    host.add_argument(
        "--optimistic-dad",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="RFC 4429 Optimistic DAD: link-local and autoconfigured addresses usable while "
        "DAD runs (default: on; --no-optimistic-dad: classic RFC 4862 DAD)",
    )
    add_trace_options(host, "print every graph state change as it happens")
    host.add_argument(
        "--serve",
        action="append",
        metavar="SERVICE[,SERVICE...]",
        help="start services, each over UDP and TCP: echo, discard, daytime, qotd, chargen; "
        "http=DIR, an HTTP/1.1 server of DIR on port 80; ftp=DIR (ftp-upload=DIR: "
        "uploads too), an FTP server of DIR on port 21 (repeatable)",
    )
    host.add_argument(
        "--control",
        metavar="PATH",
        help="the control socket tcpip6 show asks (default /run/tcpip6/HOSTNAME.sock)",
    )
    host.add_argument(
        "--socks",
        metavar="ADDR:PORT",
        help="a SOCKS5 front door on the kernel's loopback (127.0.0.1:1080): kernel "
        "programs reach the IPv6 network through tcpip6 (see below)",
    )
    host.add_argument(
        "--log-level",
        metavar="LEVEL",
        help="what the stack logs on stderr: debug, info, warning (the default) or error",
    )
    host.add_argument(
        "--config",
        metavar="FILE.toml",
        help="settings from a TOML file (links, addresses, routes, router, advertise, pcap, "
        "seed, serve, control, socks, log_level, ipsec, mobility, translate, tun, pool4, eam, "
        "translator_ipv4, nat64_lifetimes, tcp); flags override it",
    )
    host.add_argument(
        "--mobility",
        metavar="ROLE",
        help="Mobile IPv6 (RFC 6275): 'correspondent' binds mobile nodes' home addresses "
        "(return routability, Binding Updates, route optimisation; tcpip6 show bindings)",
    )
    host.add_argument(
        "--tcp",
        action="append",
        metavar="KEY=VALUE",
        help="a TCP setting: min_rto=SECONDS (RFC 6298's minimum RTO, default 1), "
        "congestion=reno|cubic, prr=on|off, rack=on|off (repeatable)",
    )
    host.add_argument(
        "--home-agent",
        metavar="IFNAME=PREFIX",
        help="Mobile IPv6 home agent (RFC 6275 §10; needs --router) for PREFIX on IFNAME: "
        "home registrations, proxy ND and DAD for away nodes' home addresses, an "
        "IPv6-in-IPv6 tunnel (RFC 2473) to their care-of addresses, e.g. "
        "eth1=2001:db8:1::/64",
    )
    host.add_argument(
        "--mobile-node",
        metavar="IFNAME=HOME/LEN[,AGENT]",
        help="Mobile IPv6 mobile node (RFC 6275 §11): IFNAME starts on the home link with "
        "the home address HOME; on another link it registers its care-of address with "
        "the home agent AGENT (without it, found by Dynamic Home Agent Address Discovery) "
        "and reverse-tunnels, e.g. eth1=2001:db8:1::100/64,2001:db8:1::1",
    )
    host.add_argument(  # IPsec hook: tcpip6.apps.ipsec_config
        "--ipsec",
        metavar="FILE.toml",
        help="IPsec: SPD entries and manually keyed AH/ESP SAs from a TOML file",
    )
    translate_config.add_arguments(host)  # --translate, --tun, --pool4, ...
    return host


__all__ = [
    "HostConfig",
    "HostConfigError",
    "LiveHost",
    "StaticRouteSpec",
    "add_route",
    "build_config",
    "config_from",
    "describe",
    "load_config_file",
    "parse_address",
    "parse_advertise",
    "parse_link",
    "parse_route",
    "parse_serve",
    "run_host",
]
