"""``tcpip6 demo``: a simulated network boots, autoconfigures, routes and pings (no root).

Two simnet Ethernet segments joined by a tcpip6 router::

    a, b --- lan1 (MTU 1500, 2001:db8:1::/64) --- r --- lan2 (MTU 1280, 2001:db8:2::/64) --- c

The router advertises a prefix on each segment (and the smaller MTU on lan2); the hosts
form link-local and global addresses (DAD, SLAAC), resolve their neighbours (ND) and ping
each other across the router. Then a sends c a datagram too big for lan2: the router
answers Packet Too Big, a lowers its path MTU to c and sends again in fragments, which c
reassembles (RFC 8200 §4.5, RFC 8201). Then a opens a TCP connection to c across the
router (RFC 9293: three-way handshake, data each way, both ends close). Then a mobile node
e binds its home address at b, a Mobile IPv6 correspondent (RFC 6275). Last, a host
configured by hand with an address in use detects the duplicate. Prints a timeline of
frames and graph state changes (each with the RFC section of its transition) and writes a
pcap.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from pathlib import Path

from tcpip6.apps.command import Subparsers, add_trace_options
from tcpip6.apps.decode import summarize_frame
from tcpip6.apps.demo_mobility import MobilityOutcome, mobility_phase
from tcpip6.io.ipv4_port import Ipv4PacketPort
from tcpip6.io.sim import SimWorld
from tcpip6.stack.host import Host
from tcpip6.stack.interface import Interface
from tcpip6.stack.machines.graph import TransitionRecord, trace_printer
from tcpip6.stack.router import AdvertisingParameters, AdvPrefix, Router
from tcpip6.stack.translate.eam import EamEntry, EamTable
from tcpip6.stack.translate.hook import Translator
from tcpip6.stack.translate.mapping import AddressMapping
from tcpip6.stack.translate.nat64 import Nat64, Nat64Config
from tcpip6.stack.translate.rfc6052 import Rfc6052Prefix
from tcpip6.stack.translate.siit import Siit, SiitConfig

LAN1 = IPv6Network("2001:db8:1::/64")
LAN2 = IPv6Network("2001:db8:2::/64")
LAN2_MTU = 1280
#: An echo request this big (1448 octets as a packet) fits lan1 but not lan2.
BIG_PING = 1400


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the timeline: a frame sent, a graph transition, or a phase heading."""

    now: float
    order: int
    text: str
    record: TransitionRecord | None = None


class Timeline:
    """Frames and graph transitions, in the order they happened; with ``trace`` each
    transition is also printed as it happens (``--trace``)."""

    def __init__(self, trace: bool = False, trace_format: str = "text") -> None:
        self.rows: list[Row] = []
        self.printer = trace_printer(sys.stdout, trace_format) if trace else None
        # A JSON trace is transitions only (JSON Lines that diagram --highlight reads).
        self.print_logs = trace and trace_format == "text"

    def add(self, now: float, text: str, record: TransitionRecord | None = None) -> None:
        self.rows.append(Row(now, len(self.rows), text, record))

    def on_frame(self, iface: Interface, frame: bytes, now: float) -> None:
        self.add(now, f"{iface.host.name} {iface.name} > {summarize_frame(frame)}")

    def on_transition(self, rec: TransitionRecord) -> None:
        text = (
            f"  [{rec.graph}] {rec.entity}: {rec.old} --{rec.trigger}--> {rec.new} (RFC {rec.rfc})"
        )
        self.add(rec.now or 0.0, text, rec)
        if self.printer is not None:
            self.printer(rec)

    def on_log(self, now: float, level: str, text: str) -> None:
        """A host's log message (``d: duplicate address ...``), in its place in time."""
        self.add(now, f"  [{level}] {text}")
        if self.print_logs:
            print(f"{now:8.3f}  {level:<20} {text}", flush=True)

    def ordered(self) -> list[Row]:
        return sorted(self.rows, key=lambda r: (r.now, r.order))


class _TimelineLog(logging.Handler):
    """The demo hosts' log records go to the timeline, in order, not to stderr."""

    def __init__(self, timeline: Timeline, world: SimWorld) -> None:
        super().__init__()
        self.timeline = timeline
        self.world = world

    def emit(self, record: logging.LogRecord) -> None:
        self.timeline.on_log(self.world.now, record.levelname.lower(), record.getMessage())


def _log_to(timeline: Timeline, world: SimWorld, host: Host) -> None:
    log = logging.Logger(f"tcpip6.demo.{host.name}")  # this run's own, not the registry's
    log.addHandler(_TimelineLog(timeline, world))
    host.log = log


@dataclass
class DemoRun:
    """What the demo network did, for the report, the tests and the docs pages."""

    world: SimWorld
    timeline: Timeline
    router: Router
    hosts: dict[str, Host]
    ifaces: dict[str, Interface]
    addrs: dict[str, IPv6Address]
    duplicate_iface: Interface
    big: bytes
    tcp_echo: bytes
    pcap_frames: int
    mobility: MobilityOutcome
    #: what c echoed to a through NAT64, IPv4 and SIIT
    nat64_echo: bytes = b""

    @property
    def path_mtu_a_to_c(self) -> int | None:
        return self.hosts["a"].routes.path_mtu(self.addrs["c"], self.world.now)

    def small_replies(self) -> dict[str, list[str]]:
        return {
            n: sorted(str(r.src) for r in h.icmpv6.echo_replies if r.data == PING_DATA)
            for n, h in self.hosts.items()
        }

    def expected_small_replies(self) -> dict[str, list[str]]:
        got: dict[str, list[str]] = {n: [] for n in self.hosts}
        for src, dst in PINGS:
            got[src].append(str(self.addrs[dst]))
        return {n: sorted(v) for n, v in got.items()}

    def big_replies(self) -> int:
        return sum(r.data == self.big for r in self.hosts["a"].icmpv6.echo_replies)

    def duplicate_detected(self) -> bool:
        nte = self.duplicate_iface.addresses.get(self.addrs["a"])
        return nte is not None and nte.state.name == "DUPLICATE"

    def ok(self) -> bool:
        return (
            self.small_replies() == self.expected_small_replies()
            and self.big_replies() == 1
            and self.path_mtu_a_to_c == LAN2_MTU
            and self.duplicate_detected()
            and self.tcp_echo == TCP_DATA
            and self.nat64_echo == NAT64_DATA
            and self.mobility.ok()
        )


#: The pings of the second phase: (from, to), on lan1 and across the router.
PINGS = (("a", "b"), ("b", "a"), ("a", "c"), ("c", "b"))
PING_DATA = b"tcpip6"
#: What a sends c over TCP, and c sends back.
TCP_DATA = b"hello over TCP, across the router"
TCP_PORT = 7


def simulate(pcap_path: Path, timeline: Timeline) -> DemoRun:
    """Build the demo network and run it; every frame and transition goes to ``timeline``."""
    world = SimWorld(seed=2026)
    pcap = world.capture(pcap_path)
    world.observers.append(timeline.on_frame)

    world.segment("lan2", mtu=LAN2_MTU)
    router = world.router("r")
    world.connect_router(router, "lan1", LAN1)
    lan2_params = AdvertisingParameters(prefixes=(AdvPrefix(LAN2),), link_mtu=LAN2_MTU)
    world.connect_router(router, "lan2", LAN2, lan2_params)
    hosts = {n: world.host(n) for n in ("a", "b", "c")}
    ifaces = {n: world.connect(h, "lan2" if n == "c" else "lan1") for n, h in hosts.items()}
    for host in (router.host, *hosts.values()):
        host.trace_sink = timeline.on_transition
        _log_to(timeline, world, host)
        host.start(world.now)
    timeline.add(world.now, "== boot: DAD, router solicitation, SLAAC ==")
    world.run_for(12.0)

    addrs = {
        n: next(a for a in ifaces[n].source_candidates() if a in (LAN2 if n == "c" else LAN1))
        for n in hosts
    }
    timeline.add(world.now, "== ping: on the link and across the router ==")
    seq = 0
    for src, dst in PINGS:
        seq += 1
        hosts[src].icmpv6.send_echo_request(addrs[dst], 1, seq, PING_DATA, world.now)
        world.run_for(1.0)

    timeline.add(world.now, f"== a big ping to c: {BIG_PING} bytes, too big for lan2 ==")
    big = bytes(range(256)) * (BIG_PING // 256) + bytes(BIG_PING % 256)
    for _ in range(2):  # the first draws a Packet Too Big; the second goes in fragments
        seq += 1
        hosts["a"].icmpv6.send_echo_request(addrs["c"], 1, seq, big, world.now)
        world.run_for(1.0)

    timeline.add(world.now, f"== TCP: a connects to c port {TCP_PORT}, data both ways, close ==")
    echo = _tcp_echo(world, hosts["a"], hosts["c"], addrs["c"], TCP_DATA)

    # IPsec (RFC 4301): an ESP tunnel between a and b whose SAs live 3 s, then 6 s.
    timeline.add(world.now, "== IPsec: a and b through an ESP tunnel; its SAs expire ==")
    from tcpip6.apps.ipsec_sim import protect
    from tcpip6.stack.ipsec import Lifetime

    lifetime = Lifetime(soft_seconds=3.0, hard_seconds=6.0)
    protect(hosts["a"], addrs["a"], addrs["b"], 0x1000, 0x2000, lifetime, world.now)
    protect(hosts["b"], addrs["b"], addrs["a"], 0x2000, 0x1000, lifetime, world.now)
    for _ in range(2):
        seq += 1
        hosts["a"].icmpv6.send_echo_request(addrs["b"], 1, seq, b"through ESP", world.now)
        world.run_for(3.5)
    nat64_echo = _nat64_phase(world, timeline, router, hosts, addrs)
    timeline.add(world.now, "== Mobile IPv6: e binds its home address at b (RFC 6275) ==")
    mobility = mobility_phase(world, hosts["b"], addrs["b"], LAN1, timeline.on_transition)

    timeline.add(world.now, "== d is configured by hand with a's address ==")
    dup = world.host("d")
    dup.trace_sink = timeline.on_transition
    _log_to(timeline, world, dup)
    idup = world.connect(dup, "lan1")
    idup.add_static_address(addrs["a"], 64, world.now)
    world.run_for(4.0)
    pcap.close()
    return DemoRun(
        world,
        timeline,
        router,
        hosts,
        ifaces,
        addrs,
        idup,
        big,
        echo,
        pcap.frames,
        mobility,
        nat64_echo,
    )


#: The translation phase: r runs a stateful NAT64 (RFC 6146) for lan1 and a SIIT (RFC 7915)
#: in front of c, which appears on the IPv4 side as C_IPV4; an IPv4 packet port joins them.
NAT64_PREFIX = IPv6Network("2001:db8:64::/96")
SIIT_PREFIX = IPv6Network("2001:db8:46::/96")
NAT64_POOL = IPv4Network("203.0.113.0/30")
C_IPV4 = IPv4Address("198.51.100.3")
NAT64_DATA = b"hello over IPv4, through NAT64 and SIIT"


def _nat64_phase(
    world: SimWorld,
    timeline: Timeline,
    router: Router,
    hosts: dict[str, Host],
    addrs: dict[str, IPv6Address],
) -> bytes:
    """a connects to c by c's IPv4 address in the NAT64 prefix; returns what came back."""
    port = Ipv4PacketPort()
    nat64 = Nat64(
        Nat64Config(Rfc6052Prefix(NAT64_PREFIX), (NAT64_POOL,)),
        trace_sink=timeline.on_transition,
    )
    eam = EamTable((EamEntry(IPv4Network(C_IPV4), IPv6Network(addrs["c"])),))
    siit = Siit(SiitConfig(AddressMapping(Rfc6052Prefix(SIIT_PREFIX), eam), mtu4=1500))
    for engine in (nat64, siit):
        translator = Translator(router.host, engine, port.send)
        router.host.translators.append(translator)
        port.translators.append(translator)
    c_v4 = Rfc6052Prefix(NAT64_PREFIX).embed(C_IPV4)
    assert c_v4 is not None
    timeline.add(world.now, f"== NAT64 + SIIT: a connects to c as {c_v4} (IPv4 {C_IPV4}) ==")
    return _tcp_echo(world, hosts["a"], hosts["c"], c_v4, NAT64_DATA)


def _tcp_echo(
    world: SimWorld, client_host: Host, server_host: Host, dst: IPv6Address, data: bytes
) -> bytes:
    """``client_host`` connects to ``server_host`` (at ``dst``) on TCP_PORT, sends ``data``,
    gets it echoed, and both close: what came back."""
    listener = server_host.tcp.listen(IPv6Address("::"), TCP_PORT, 4, world.now)
    client = client_host.tcp.connect(dst, TCP_PORT, world.now)
    world.run_for(1.0)
    echo = b""
    if listener.accept_queue:
        server = listener.accept_queue.popleft()
        client.send(data, world.now)
        world.run_for(1.0)
        server.send(server.read(4096, world.now), world.now)
        world.run_for(1.0)
        echo = client.read(4096, world.now)
        client.close(world.now)
        world.run_for(1.0)
        server.close(world.now)
        world.run_for(1.0)
    listener.close(world.now)
    return echo


def run_demo(pcap_path: Path, trace: bool = False, trace_format: str = "text") -> int:
    """``tcpip6 demo``: run the network, then print the timeline and what came of it (or,
    with ``trace``, only the transitions as they happen)."""
    if not trace:
        print("tcpip6 demo: a tcpip6 router joins two simulated Ethernet segments")
        print(f"  lan1 (MTU 1500) {LAN1}: hosts a, b    lan2 (MTU {LAN2_MTU}) {LAN2}: host c")
    run = simulate(pcap_path, Timeline(trace, trace_format))
    if trace:
        return 0 if run.ok() else 1
    print("\ntimeline (simulated seconds):")
    for row in run.timeline.ordered():
        print(f"  {row.now:8.4f}  {row.text}")
    print("\naddresses (like `ip -6 addr`):")
    for n, iface in [*run.ifaces.items(), ("d", run.duplicate_iface)]:
        for nte in iface.addresses:
            print(
                f"  {n} {iface.name}: {nte.address}/{nte.prefix_length} "
                f"{nte.state.name.lower()} {nte.origin.value}"
            )
    print("\nping results:")
    small = run.small_replies()
    for n in run.hosts:
        replies = "echo reply" if len(small[n]) == 1 else "echo replies"
        print(f"  {n}: {len(small[n])} {replies} from {', '.join(small[n]) or '-'}")
    c = run.router.counters
    print(
        f"  r forwarded {c.forwarded} packets, sent {c.too_big} packet too big, "
        f"{c.advertisements_sent} router advertisements"
    )
    a = run.hosts["a"]
    print(
        f"  a: path MTU to {run.addrs['c']} is now {run.path_mtu_a_to_c}; the {BIG_PING}-byte "
        f"ping {'was answered' if run.big_replies() else 'got no answer'} "
        f"({a.ip.fragments_created} fragments sent, {a.ip.reassembly_ok} "
        f"{'reply' if a.ip.reassembly_ok == 1 else 'replies'} reassembled)"
    )
    print(f"  TCP: c echoed {len(run.tcp_echo)} bytes back to a: {run.tcp_echo == TCP_DATA}")
    print(
        f"  NAT64 + SIIT: c echoed {len(run.nat64_echo)} bytes back to a over IPv4: "
        f"{run.nat64_echo == NAT64_DATA}"
    )
    acks = ", ".join(f"seq {a.sequence} status {a.status}" for a in run.mobility.acks)
    print(
        f"  Mobile IPv6: e's Binding Updates at b acknowledged ({acks or 'none'}); b's ping "
        f"to e's home address via its care-of address answered: {run.mobility.ping_answered}"
    )
    print(f"  d: {run.addrs['a']} is a duplicate and is not used: {run.duplicate_detected()}")
    print(f"\npcap: {pcap_path} ({run.pcap_frames} frames); open it with tshark -r or Wireshark")
    if not run.ok():
        print("demo: something did not happen as it should (see above)")
        return 1
    return 0


# -- the command line: tcpip6 demo ----------------------------------------------------


def add_parser(sub: Subparsers) -> argparse.ArgumentParser:
    demo = sub.add_parser(
        "demo",
        help="run a simulated network (no root needed) and print its timeline",
        description=(
            "Boot a simulated Ethernet segment with tcpip6 hosts: each forms a link-local "
            "address (RFC 4862 DAD), learns a prefix from Router Advertisements (SLAAC), "
            "resolves its neighbours (RFC 4861 ND) and pings them. Prints a timeline of "
            "what happened and writes a pcap that Wireshark/tshark open."
        ),
    )
    demo.add_argument("--pcap", default="tcpip6-demo.pcap", help="pcap file to write")
    add_trace_options(demo, "print every graph state change")
    demo.add_argument(
        "--sim",
        choices=("mobile",),
        default=None,
        help="run another simulated network instead: mobile = a Mobile IPv6 node moves "
        "home -> visit1 -> visit2 -> home while it sends a correspondent a TCP stream "
        "from its home address, through its home agent (RFC 6275, RFC 2473)",
    )
    return demo


def run(args: argparse.Namespace) -> int:
    if args.sim == "mobile":
        from tcpip6.apps.demo_mobility import run_mobile_demo

        return run_mobile_demo(args.pcap, trace=args.trace)
    return run_demo(pcap_path=Path(args.pcap), trace=args.trace, trace_format=args.trace_format)
