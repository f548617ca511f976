"""The ``tcpip6`` command line.

Every subcommand explains itself with ``--help``. A bad command line gets a one-line
error and exit status 2 (argparse's convention), never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

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
"""


class CliError(Exception):
    """A user-facing error: printed as one line, exit status 1."""


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

  a router advertising a prefix (Linux hosts on the link autoconfigure from it):
  ip netns exec h6 tcpip6 host --link ethernet:veth-h --router \\
      --address veth-h=2001:db8:1::1/64 --advertise veth-h=2001:db8:1::/64
"""


def _cmd_host(args: argparse.Namespace) -> int:
    from tcpip6.apps.host import HostConfigError, build_config, run_host
    from tcpip6.io.rawsock import LinkError

    try:
        config = build_config(
            links=args.link or [],
            addresses=args.address or [],
            router=args.router,
            advertise=args.advertise or [],
            pcap=args.pcap,
            seed=args.seed,
        )
        return run_host(config)
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
        metavar="ethernet:IFNAME",
        help="an interface to run on (repeat for several)",
    )
    host.add_argument(
        "--address",
        action="append",
        metavar="IFNAME=ADDR/PLEN",
        help="a manually configured address (DAD-checked; repeatable)",
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
    host.set_defaults(func=_cmd_host)


# -- end of tcpip6 host ---------------------------------------------------------------


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
    _add_host_parser(sub)
    return parser


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
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # Output piped into `head` and the like: not an error of ours.
        sys.stderr.close()
        return 0
