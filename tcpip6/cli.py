"""The ``tcpip6`` command line.

Every subcommand explains itself with ``--help``. A bad command line gets a one-line
error and exit status 2 (argparse's convention), never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from tcpip6.stack.machines.graph import Graph

EPILOG = """\
examples:
  tcpip6 demo                      a simulated network boots, autoconfigures and pings
  tcpip6 demo --trace              ... printing every state change of every graph
  tcpip6 diagram --list            the state machines the stack runs
  tcpip6 diagram nce --format mermaid
  tcpip6 demo --trace --trace-format json > run.json
  tcpip6 diagram nce --highlight run.json --format svg --output nce.svg
  tcpip6 docs                      one page per state machine in docs/machines/
  tcpip6 ping6 --sim demo -c 3 c   ping host c across the demo network's router
  tcpip6 tracert6 --sim chain z    the three routers between a and z, then z
  tcpip6 ttcp --sim demo -t -r     TCP throughput from a to b on a 100 Mb/s segment
  tcpip6 ttcp --sim demo -t -r -u  the same over UDP
  tcpip6 services --sim demo       echo, discard, daytime, qotd, chargen on b, queried by a
                                   over UDP and TCP
  tcpip6 httpd --sim demo          a fetches a file from b's HTTP server, checked byte for byte
  tcpip6 ping6 --loopback -c 2 ::1 the same ping6, real time, on a loopback host
  tcpip6 host --link ethernet:eth1 a live host on a real interface (root; see its --help)
"""

BACKENDS = """where the tool runs (no root needed for either):
  --sim TOPOLOGY   a simulated network on a fake clock, booted first (15 simulated
                   seconds of DAD and SLAAC); the tool runs on its host a, and a
                   destination may be a host name of the topology:
                     demo   a, b on lan1 2001:db8:1::/64 -- router r -- c on lan2
                            2001:db8:2::/64 (MTU 1280)
                     chain  a -- r1 -- r2 -- r3 -- z, links 2001:db8:1::/64 to :4::/64
  --loopback       a host whose only interface is the loopback (::1), in real time
  --control PATH   (ping6, tracert6, ttcp) inside a running tcpip6 host, through its
                   control socket: the host runs the tool with its own stack and the
                   lines come back here; the destination is an IPv6 address
                     tcpip6 ping6 --control /tmp/h6.sock -c 3 2001:db8:77::1
                     tcpip6 tracert6 --control /tmp/h6.sock 2001:db8:2::5
                     tcpip6 ttcp --control /tmp/h6.sock -r       (until the sender closes)
                     tcpip6 ttcp --control /tmp/h6.sock -t 2001:db8:77::1
"""


class CliError(Exception):
    """A user-facing error: printed as one line, exit status 1 (or ``status``)."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


class _Backend:
    """The stack a tool runs on (``--sim`` or ``--loopback``) and how names resolve."""

    def __init__(self, args: argparse.Namespace) -> None:
        from tcpip6.apps.topology import Topology, build
        from tcpip6.io.runtime import loopback_stack
        from tcpip6.stack.sockets import Stack

        self.topology: Topology | None = None
        if args.sim:
            try:
                self.topology = build(args.sim)
            except ValueError as exc:
                raise CliError(str(exc), 2) from None
            self.stack: Stack = self.topology.stack()
        elif args.loopback:
            self.stack, _ = loopback_stack()
        else:
            live = " or --control PATH (inside a running tcpip6 host)"
            raise CliError(
                "say where to run: --sim TOPOLOGY (demo, chain) or --loopback"
                + (live if getattr(args, "runs_in_host", False) else ""),
                2,
            )

    def address(self, text: str) -> str:
        """A destination as an address: a host name of the topology, or an address."""
        if self.topology is not None:
            text = self.topology.resolve(text)
        elif text == "localhost":
            text = "::1"
        try:
            self.stack.host.scoped_destination(text)
        except ValueError as exc:
            if ":" not in text:
                hint = "; hosts: " + ", ".join(self.topology.hosts) if self.topology else ""
                raise CliError(f"{text}: Name or service not known{hint}", 2) from None
            raise CliError(str(exc), 2) from None
        return text


class _Checked(Protocol):
    def check(self) -> None: ...


def _check(opts: _Checked) -> None:
    """A tool's options, checked: a bad one is a usage error (one line, exit 2)."""
    try:
        opts.check()
    except ValueError as exc:
        raise CliError(str(exc), 2) from None


def _run_in_host(tool: str, control: str, job_args: dict[str, Any]) -> int:
    """Run a tool inside a live host (its control socket at ``control``), printing the
    lines it sends back; the tool's exit status."""
    from tcpip6.io.control import ControlError, stream

    try:
        for answer in stream(Path(control), {"run": tool, "args": job_args}):
            if "error" in answer:
                raise CliError(f"{control}: {answer['error']}", 2)
            if "line" in answer:
                print(answer["line"], flush=True)
            if "done" in answer:
                status = answer.get("status")
                return status if isinstance(status, int) else 1
    except ControlError as exc:
        raise CliError(str(exc)) from None
    raise CliError(f"{control}: no answer", 1)


def _cmd_ping6(args: argparse.Namespace) -> int:
    from tcpip6.apps.ping6 import PingOptions, ping6

    opts = PingOptions(
        count=args.count,
        interval=args.interval,
        size=args.size,
        hop_limit=args.hop_limit,
        tclass=args.tclass,
        timeout=args.timeout,
        pmtudisc=args.pmtudisc,
    )
    _check(opts)
    if args.control:
        job = {k: v for k, v in vars(opts).items() if v is not None}
        return _run_in_host("ping6", args.control, {"destination": args.destination, **job})
    backend = _Backend(args)
    address = backend.address(args.destination)
    return ping6(backend.stack, args.destination, sys.stdout, opts, address=address)


def _cmd_tracert6(args: argparse.Namespace) -> int:
    from tcpip6.apps.tracert6 import TraceOptions, tracert6

    opts = TraceOptions(max_hops=args.max_hops, probes=args.probes, wait=args.wait, udp=args.udp)
    _check(opts)
    if args.control:
        job = {"destination": args.destination, **vars(opts)}
        return _run_in_host("tracert6", args.control, job)
    backend = _Backend(args)
    address = backend.address(args.destination)
    return tracert6(backend.stack, args.destination, sys.stdout, opts, address=address)


def _cmd_ttcp(args: argparse.Namespace) -> int:
    from tcpip6.apps.ttcp import TtcpOptions, ttcp_pair, ttcp_tcp_pair

    opts = TtcpOptions(buflen=args.buflen, nbuf=args.nbuf, port=args.port, udp=args.udp)
    _check(opts)
    if args.control:
        if args.transmit == args.receive:
            raise CliError("with --control, one side: -t HOST or -r", 2)
        if args.transmit and not args.host:
            raise CliError("-t: give the receiver's address", 2)
        if args.receive and args.host:
            raise CliError(f"-r takes no host ({args.host}): it listens on port {args.port}", 2)
        job = {"transmit": args.transmit, **vars(opts)}
        if args.host:
            job["destination"] = args.host
        return _run_in_host("ttcp", args.control, job)
    backend = _Backend(args)
    topo = backend.topology
    sides = ("t" if args.transmit else "") + ("r" if args.receive else "") or "tr"
    if topo is None:
        dst = backend.address(args.host or "::1")
        if dst != "::1":
            raise CliError("on --loopback both sides are this host: use ::1", 2)
        if not args.udp:
            return ttcp_tcp_pair(backend.stack, backend.stack, dst, sys.stdout, opts, sides=sides)
        return ttcp_pair(backend.stack, backend.stack, dst, sys.stdout, opts, sides=sides)
    peer = args.host or topo.peer
    if peer not in topo.hosts:
        raise CliError(f"{peer}: not a host of {topo.name} ({', '.join(topo.hosts)})", 2)
    if peer == topo.origin:
        raise CliError(f"{peer} is the transmitter: name another host", 2)
    if not args.udp:
        return ttcp_tcp_pair(
            topo.stack(),
            topo.stack(peer),
            topo.resolve(peer),
            sys.stdout,
            opts,
            sides=sides,
            name=peer,
        )
    return ttcp_pair(
        topo.stack(),
        topo.stack(peer),
        topo.resolve(peer),
        sys.stdout,
        opts,
        room=topo.send_buffer_has_room(),
        sides=sides,
        name=peer,
    )


def _cmd_services(args: argparse.Namespace) -> int:
    from tcpip6.apps.services import Services, demonstrate

    backend = _Backend(args)
    topo = backend.topology
    if topo is None:
        server, stack, name = "::1", backend.stack, "::1"
    else:
        name = args.server or topo.peer
        if name not in topo.hosts or name == topo.origin:
            raise CliError(f"{name}: name a host of {topo.name} other than {topo.origin}", 2)
        server, stack = topo.resolve(name), topo.stack(name)
    with Services(stack) as services:
        try:
            services.start()
        except OSError as exc:
            raise CliError(f"cannot bind the services: {exc.strerror or exc}") from None
        return demonstrate(backend.stack, server, sys.stdout, name)


def _cmd_httpd(args: argparse.Namespace) -> int:
    import tempfile

    from tcpip6.apps.httpd import DEMO_FILE, demo_root, demonstrate

    if args.root is not None and not Path(args.root).is_dir():
        raise CliError(f"--root {args.root}: no such directory", 2)
    if not args.path.startswith("/"):
        raise CliError(f"{args.path}: a path starts with /", 2)
    backend = _Backend(args)
    topo = backend.topology
    with tempfile.TemporaryDirectory(prefix="tcpip6-httpd-") as tmp:
        root = Path(args.root) if args.root is not None else demo_root(Path(tmp))
        path = args.path if args.root is not None or args.path != "/" else "/" + DEMO_FILE
        if topo is None:
            stack = backend.stack
            return demonstrate(stack, stack, "::1", root, path, sys.stdout, port=args.port)
        name = args.server or topo.peer
        if name not in topo.hosts or name == topo.origin:
            raise CliError(f"{name}: name a host of {topo.name} other than {topo.origin}", 2)
        return demonstrate(
            topo.stack(name),
            topo.stack(),
            topo.resolve(name),
            root,
            path,
            sys.stdout,
            name=name,
            port=args.port,
        )


def _cmd_diagram(args: argparse.Namespace) -> int:
    from tcpip6.stack.machines import all_graphs, get_graph, machine_names
    from tcpip6.stack.machines.render import RendererMissing, render_with_dot

    if args.list:
        for name, graph in all_graphs().items():
            print(f"{name:<22} RFC {graph.rfc:<14} {graph.description}")
        return 0
    if args.all:
        outdir = Path(args.output_dir)
        outdir.mkdir(parents=True, exist_ok=True)
        for name, graph in all_graphs().items():
            (outdir / f"{name}.dot").write_text(graph.diagram("dot"))
            (outdir / f"{name}.mmd").write_text(graph.diagram("mermaid"))
            try:
                (outdir / f"{name}.svg").write_bytes(render_with_dot(graph, "svg"))
                (outdir / f"{name}.png").write_bytes(render_with_dot(graph, "png"))
            except RendererMissing as exc:
                raise CliError(str(exc)) from exc
            print(f"wrote {outdir}/{name}.{{dot,mmd,svg,png}}")
        return 0
    if not args.machine:
        raise CliError("name a machine (see 'tcpip6 diagram --list') or use --all")
    try:
        graph = get_graph(args.machine)
    except KeyError:
        raise CliError(
            f"unknown machine {args.machine!r}; choose one of {', '.join(machine_names())}"
        ) from None
    counts = _highlight(graph, args.highlight) if args.highlight else None
    try:
        if args.format in ("svg", "png"):
            data = render_with_dot(graph, args.format, counts)
        else:
            data = graph.diagram(args.format, counts).encode()
    except RendererMissing as exc:
        raise CliError(str(exc)) from exc
    if args.output:
        Path(args.output).write_bytes(data)
    elif args.format == "png":
        raise CliError("PNG is binary: give --output FILE")
    else:
        sys.stdout.write(data.decode())
    return 0


def _highlight(graph: Graph, path: str) -> dict[tuple[str, str, str], int]:
    """Count the transitions of ``graph`` in a ``--trace-format json`` file."""
    from tcpip6.stack.machines.graph import TransitionRecord

    try:
        lines = Path(path).read_text().splitlines()
    except OSError as exc:
        raise CliError(f"cannot read trace {path}: {exc.strerror}") from None
    try:
        records = [TransitionRecord.from_json(line) for line in lines if line.strip()]
        counts = graph.taken(records)
    except ValueError as exc:
        raise CliError(f"{path}: {exc}") from None
    if not counts:
        print(f"tcpip6 diagram: {path} has no transition of {graph.name}", file=sys.stderr)
    return dict(counts)


def _cmd_demo(args: argparse.Namespace) -> int:
    from tcpip6.apps.demo import run_demo

    return run_demo(pcap_path=Path(args.pcap), trace=args.trace, trace_format=args.trace_format)


def _cmd_docs(args: argparse.Namespace) -> int:
    from tcpip6.apps.docs import write_docs

    try:
        written = write_docs(Path(args.output_dir))
    except OSError as exc:
        raise CliError(f"cannot write {exc.filename}: {exc.strerror}") from None
    for path in written:
        print(f"wrote {path}")
    return 0


# -- tcpip6 host: the live host on real interfaces ---------------------------------------
HOST_EPILOG = """\
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


def _cmd_host(args: argparse.Namespace) -> int:
    from tcpip6.apps.host import HostConfigError, config_from, run_host
    from tcpip6.io.rawsock import LinkError

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
        }
        return run_host(config_from(flags, args.config))
    except (HostConfigError, LinkError) as exc:
        raise CliError(str(exc)) from None


def _add_host_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    host = sub.add_parser(
        "host",
        help="run tcpip6 as a live host (or router) on real interfaces (root)",
        description=(
            "Run tcpip6 on real Ethernet interfaces through AF_PACKET sockets: it forms\n"
            "link-local addresses (RFC 4862 DAD), solicits routers and autoconfigures\n"
            "global addresses from their advertisements, answers Neighbor Discovery and\n"
            "ping. Prints one line per link that comes up and per address it configures."
        ),
        epilog=HOST_EPILOG,
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
    host.add_argument("--seed", type=int, help="seed the random choices (DAD and RS delays)")
    host.add_argument(
        "--trace", action="store_true", help="print every graph state change as it happens"
    )
    host.add_argument(
        "--trace-format", choices=("text", "json"), default="text", help="trace line format"
    )
    host.add_argument(
        "--serve",
        action="append",
        metavar="SERVICE[,SERVICE...]",
        help="start services, each over UDP and TCP: echo, discard, daytime, qotd, chargen; "
        "and http=DIR, an HTTP/1.1 server of DIR on port 80 (repeatable)",
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
        "seed, serve, control, socks, log_level); flags override it",
    )
    host.set_defaults(func=_cmd_host)


# -- end of tcpip6 host ---------------------------------------------------------------

SIXTOFOUR_EPILOG = """\
examples:
  tcpip6 6to4cfg 192.0.2.7                 the prefix 2002:c000:207::/48 and its address
  tcpip6 6to4cfg eth0                      the same for eth0's IPv4 address
  tcpip6 6to4cfg 192.0.2.7 --relay anycast also the default route through RFC 3068's
                                           anycast relay 192.88.99.1

RFC 3056 gives every globally unique IPv4 address V4ADDR an IPv6 site prefix,
2002:V4ADDR::/48. Packets to other 6to4 sites go straight to the IPv4 address their
destination embeds; everything else goes to a relay router (RFC 3068). The printed
command line runs tcpip6 on that prefix (root: it opens a raw IPv4 socket, protocol 41).
"""


def _cmd_6to4cfg(args: argparse.Namespace) -> int:
    from tcpip6.apps.sixtofourcfg import parse_relay, report, resolve

    try:
        v4 = resolve(args.address)
        relay = parse_relay(args.relay) if args.relay is not None else None
    except ValueError as exc:
        raise CliError(str(exc)) from None
    for line in report(v4, relay, source=args.address):
        print(line)
    return 0


def _add_6to4cfg_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "6to4cfg",
        help="print the 6to4 prefix, address and tcpip6 host settings of an IPv4 address",
        description=(
            "Print the 6to4 configuration (RFC 3056) of an IPv4 address, or of an\n"
            "interface's IPv4 address: the site prefix, the host's 6to4 address, and the\n"
            "tcpip6 host command line and TOML lines that configure it."
        ),
        epilog=SIXTOFOUR_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("address", metavar="IPV4ADDR|IFNAME", help="an IPv4 address or interface")
    p.add_argument(
        "--relay",
        metavar="RELAY4|anycast",
        help="a 6to4 relay router for native IPv6 destinations (anycast: 192.88.99.1)",
    )
    p.set_defaults(func=_cmd_6to4cfg)


# -- tcpip6 show: what a running tcpip6 host holds ---------------------------------------
SHOW_EPILOG = """views (like ip -6 and netstat; --json prints the same as JSON, with stable keys):
  interfaces    the interfaces, their link addresses, MTU and ND variables
  addresses     addresses with their DAD state and lifetimes left (like ip -6 addr)
  neighbors     the neighbor cache (like ip -6 neigh)
  routes        the prefix list, static routes and default routers (like ip -6 route)
  destinations  the route cache: next hop, interface, source, path MTU
  counters      the non-zero counters by protocol, TCP's too (like netstat -s)
  connections   TCP connections and listeners, UDP and raw sockets (like ss -tuan)
  sockets       the same as connections

example:
  ip netns exec h6 tcpip6 host --link ethernet:veth-h --control /tmp/h6.sock --serve echo
  tcpip6 show --control /tmp/h6.sock neighbors
  tcpip6 show --control /tmp/h6.sock connections --json
"""


def _cmd_show(args: argparse.Namespace) -> int:
    import json
    import socket

    from tcpip6.apps import show
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
        for line in show.format_view(args.view, answer):
            print(line)
    return 0


def _add_show_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from tcpip6.apps.show import VIEWS

    show = sub.add_parser(
        "show",
        help="print what a running tcpip6 host holds (asks its control socket)",
        description=(
            "Ask a running tcpip6 host (tcpip6 host) through its control socket for one\n"
            "of its conceptual data structures, and print it."
        ),
        epilog=SHOW_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    show.add_argument(
        "--control",
        metavar="PATH",
        help="the host's control socket (default /run/tcpip6/HOSTNAME.sock)",
    )
    show.add_argument("--json", action="store_true", help="print JSON")
    show.add_argument("view", choices=VIEWS, help="what to print")
    show.set_defaults(func=_cmd_show)


# -- end of tcpip6 show ---------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tcpip6",
        description="A user-space IPv6 host stack whose RFC state machines are explicit graphs.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

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
    demo.add_argument("--trace", action="store_true", help="print every graph state change")
    demo.add_argument(
        "--trace-format", choices=("text", "json"), default="text", help="trace line format"
    )
    demo.set_defaults(func=_cmd_demo)

    diagram = sub.add_parser(
        "diagram",
        help="draw a state machine the stack runs",
        description=(
            "Draw a state machine straight from the transition table the stack runs: "
            "states, and transitions labelled 'trigger [guard] (RFC section)'. DOT and "
            "mermaid need nothing; SVG and PNG need Graphviz's 'dot'."
        ),
    )
    diagram.add_argument("machine", nargs="?", help="machine name (see --list)")
    diagram.add_argument("--list", action="store_true", help="list the machines")
    diagram.add_argument(
        "--format", choices=("dot", "mermaid", "svg", "png"), default="dot", help="output format"
    )
    diagram.add_argument("--output", help="write to FILE instead of standard output")
    diagram.add_argument(
        "--highlight",
        metavar="TRACE.json",
        help="draw the transitions a recorded run took (tcpip6 demo --trace "
        "--trace-format json > TRACE.json) in red, with how often",
    )
    diagram.add_argument("--all", action="store_true", help="every machine in every format")
    diagram.add_argument("--output-dir", default="docs/diagrams", help="directory for --all")
    diagram.set_defaults(func=_cmd_diagram)

    docs = sub.add_parser(
        "docs",
        help="write one Markdown page per state machine, from the code and a demo run",
        description=(
            "Write docs/machines.md and docs/machines/<name>.md: for every state machine, "
            "what its RFC section says, the graph (mermaid; make diagrams adds SVG/PNG), the "
            "table the stack runs, and a walk through a real run of 'tcpip6 demo' (the "
            "frames and transitions at each moment the graph changed state)."
        ),
    )
    docs.add_argument("--output-dir", default="docs", help="where to write (default: docs)")
    docs.set_defaults(func=_cmd_docs)
    _add_tools(sub)
    _add_host_parser(sub)
    _add_show_parser(sub)
    _add_6to4cfg_parser(sub)
    return parser


def _backend_options(p: argparse.ArgumentParser, in_host: bool = False) -> None:
    where = p.add_mutually_exclusive_group()
    if in_host:
        where.add_argument(
            "--control",
            metavar="PATH",
            help="run inside the tcpip6 host whose control socket is PATH (see below)",
        )
    where.add_argument(
        "--sim", metavar="TOPOLOGY", help="run on host a of a simulated network: demo or chain"
    )
    where.add_argument(
        "--loopback", action="store_true", help="run on a loopback-only host (::1), real time"
    )


def _tool_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    help: str,
    description: str,
    add_help: bool = True,
    in_host: bool = False,
) -> argparse.ArgumentParser:
    p = sub.add_parser(
        name,
        help=help,
        description=description,
        epilog=BACKENDS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        add_help=add_help,
    )
    if not add_help:
        p.add_argument("--help", action="help", help="show this help message and exit")
    _backend_options(p, in_host)
    p.set_defaults(control=None, runs_in_host=in_host)
    return p


def _add_tools(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ping = _tool_parser(
        sub,
        "ping6",
        "send ICMPv6 echo requests, like iputils ping",
        "Send ICMPv6 Echo Requests (RFC 4443 §4) from a raw ICMPv6 socket, print each "
        "Echo Reply with its round-trip time and each ICMPv6 error a router sends back, "
        "then the statistics, as iputils ping does. Exit status: 0 when a reply came, 1 "
        "when none did, 2 on an error.",
        in_host=True,
    )
    ping.add_argument("destination", help="an IPv6 address, or with --sim a host name (c)")
    ping.add_argument(
        "-c",
        dest="count",
        type=int,
        metavar="COUNT",
        help="stop after COUNT requests (default: until interrupted)",
    )
    ping.add_argument(
        "-i",
        dest="interval",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="seconds between requests (default 1)",
    )
    ping.add_argument(
        "-s",
        dest="size",
        type=int,
        default=56,
        metavar="SIZE",
        help="octets of data per request (default 56: 64 with the header)",
    )
    ping.add_argument(
        "-t",
        dest="hop_limit",
        type=int,
        metavar="HOPS",
        help="Hop Limit of the requests (iputils' -t, the IPv4 TTL)",
    )
    ping.add_argument(
        "-Q", dest="tclass", type=int, metavar="TCLASS", help="Traffic Class of the requests, 0-255"
    )
    ping.add_argument(
        "-W",
        dest="timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="seconds to wait for a reply when none has come (default 10)",
    )
    ping.add_argument(
        "-M",
        dest="pmtudisc",
        choices=("do", "dont", "want"),
        default="dont",
        help="don't-fragment semantics. IPv6 routers never fragment: a packet "
        "too big for the next link is dropped and the router sends Packet Too "
        "Big. So only the sender can fragment: 'do' forbids it, and a request "
        "bigger than the path MTU is refused here ('message too long', as "
        "Linux ping -M do says); 'dont' and 'want' (default) let the stack "
        "fragment to the path MTU it knows",
    )
    ping.set_defaults(func=_cmd_ping6)

    trace = _tool_parser(
        sub,
        "tracert6",
        "show the routers on the path to a destination",
        "Send probes with Hop Limit 1, 2, 3...: the router where the hop limit runs out "
        "answers Time Exceeded (RFC 4443 §3.3), so each line names a hop, with the "
        "round-trip time of each probe ('*': no answer within the wait). Stops when the "
        "destination answers. Probes are ICMPv6 Echo Requests, as Windows tracert sends; "
        "-U sends UDP datagrams to ports 33434 and up, as traceroute does.",
        add_help=False,
        in_host=True,
    )
    trace.add_argument("destination", help="an IPv6 address, or with --sim a host name (z)")
    trace.add_argument(
        "-h",
        dest="max_hops",
        type=int,
        default=30,
        metavar="MAX_HOPS",
        help="the largest hop limit tried (default 30)",
    )
    trace.add_argument(
        "-q",
        dest="probes",
        type=int,
        default=3,
        metavar="PROBES",
        help="probes per hop (default 3)",
    )
    trace.add_argument(
        "-w",
        dest="wait",
        type=float,
        default=3.0,
        metavar="SECONDS",
        help="seconds to wait for each answer (default 3)",
    )
    trace.add_argument("-U", dest="udp", action="store_true", help="UDP probes, not echo")
    trace.set_defaults(func=_cmd_tracert6)

    ttcp = _tool_parser(
        sub,
        "ttcp",
        "measure throughput, like the classic ttcp",
        "The Test TCP tool: the transmitter (-t) writes NBUF buffers of BUFLEN octets, the "
        "receiver (-r) counts them, and each prints 'N bytes in S real seconds = R KB/sec'. "
        "Over TCP by default: the receiver accepts a connection, the transmitter writes and "
        "closes, and the receiver checks every octet it reads against ttcp's pattern (exit "
        "status 1 if one differs or the transfer stalls). With -u over UDP: as the original "
        "did, small datagrams mark the start and the end, and lost datagrams are simply not "
        "counted. Both sides run in this process: with --sim "
        "the transmitter is a and the receiver HOST (default: b in demo, z in chain), with "
        "the simulated clock giving the seconds (every NIC runs at 100 Mb/s); with "
        "--loopback both are ::1, in real time. -t or -r alone prints only that side. With "
        "--control, one side runs inside a live host: -t HOST transmits to a receiver at "
        "HOST, -r receives one connection on the port until the sender closes (with -u: until "
        "the end mark).",
        in_host=True,
    )
    ttcp.add_argument("host", nargs="?", help="the receiving host (with --sim, its name)")
    ttcp.add_argument("-t", dest="transmit", action="store_true", help="the transmitter's lines")
    ttcp.add_argument("-r", dest="receive", action="store_true", help="the receiver's lines")
    ttcp.add_argument("-u", dest="udp", action="store_true", help="UDP instead of TCP")
    ttcp.add_argument(
        "-l",
        dest="buflen",
        type=int,
        default=8192,
        metavar="BUFLEN",
        help="octets per write (default 8192)",
    )
    ttcp.add_argument(
        "-n",
        dest="nbuf",
        type=int,
        default=2048,
        metavar="NBUF",
        help="buffers to write (default 2048)",
    )
    ttcp.add_argument(
        "-p",
        dest="port",
        type=int,
        default=5001,
        metavar="PORT",
        help="the receiver's port (default 5001)",
    )
    ttcp.set_defaults(func=_cmd_ttcp)

    services = _tool_parser(
        sub,
        "services",
        "serve echo, discard, daytime, qotd, chargen and query each",
        "Start the simple services on a host, over UDP and TCP: echo (RFC 862, port 7), "
        "discard (RFC 863, 9), daytime (RFC 867, 13), quote of the day (RFC 865, 17) and "
        "character generator (RFC 864, 19); then query each from host a, over UDP and then "
        "over TCP, and print the answers (TCP chargen is a continuous stream: the client "
        "reads 740 octets and closes). Exit status 1 if an answer was wrong. With "
        "--sim the server is SERVER (default b in demo, z in chain); with --loopback both "
        "are ::1.",
    )
    services.add_argument("server", nargs="?", help="with --sim, the serving host's name")
    services.set_defaults(func=_cmd_services)

    httpd = _tool_parser(
        sub,
        "httpd",
        "serve files over HTTP/1.1 and fetch one, like curl",
        "A minimal HTTP/1.1 file server on tcpip6's TCP (GET and HEAD, Content-Length, "
        "keep-alive; 400 for a path with '..' or outside the root, 404, 405, 414; bounded "
        "requests and connections), and a tiny client that fetches PATH from it and checks "
        "the body byte for byte against the file on disk. With --sim the server is SERVER "
        "(default b in demo, z in chain) and the client a; with --loopback both are ::1. "
        "Without --root it serves a temporary directory holding index.html and a "
        "300 KB tcpip6.bin, and fetches /tcpip6.bin. A live host serves a directory with "
        "'tcpip6 host --serve http=DIR'.\n\nexamples:\n"
        "  tcpip6 httpd --sim demo                    a fetches /tcpip6.bin from b\n"
        "  tcpip6 httpd --sim demo --root site /a.txt  a fetches site/a.txt from b\n"
        "  tcpip6 httpd --sim demo c                  from c, across the router (MTU 1280)",
    )
    httpd.add_argument("server", nargs="?", help="with --sim, the serving host's name")
    httpd.add_argument("path", nargs="?", default="/", help="the path to fetch (default /)")
    httpd.add_argument("--root", metavar="DIR", help="the directory to serve")
    httpd.add_argument(
        "--port", type=int, default=80, metavar="PORT", help="the server's port (default 80)"
    )
    httpd.set_defaults(func=_cmd_httpd)

    from tcpip6.apps import check

    check.add_parser(sub)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        result: int = args.func(args)
        return result
    except CliError as exc:
        print(f"tcpip6 {args.command}: {exc}", file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # Output piped into `head` and the like: not an error of ours.
        sys.stderr.close()
        return 0
