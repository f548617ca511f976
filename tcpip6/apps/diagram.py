"""``tcpip6 diagram``: draw a state machine straight from the table the stack runs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tcpip6.apps.command import CliError, Subparsers
from tcpip6.stack.machines import all_graphs, get_graph, machine_names
from tcpip6.stack.machines.graph import Graph, TransitionRecord
from tcpip6.stack.machines.render import RendererMissing, render, render_with_dot


def add_parser(sub: Subparsers) -> argparse.ArgumentParser:
    diagram = sub.add_parser(
        "diagram",
        help="draw a state machine the stack runs",
        description=(
            "Draw a state machine straight from the transition table the stack runs: "
            "states, and transitions labelled 'trigger [guard] (RFC section)', one arrow per "
            "pair of states with a line per transition. A transition into one state from "
            "(almost) every state is drawn once, from an 'any state' node that names the "
            "states it is not from. DOT and mermaid need nothing; SVG and PNG need "
            "Graphviz's 'dot'."
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
        metavar="TRACE.jsonl",
        help="draw the transitions a recorded run took in red, with how often: a JSON "
        "Lines file, one transition per line (tcpip6 demo --trace --trace-format json "
        "> TRACE.jsonl)",
    )
    diagram.add_argument(
        "--simple",
        action="store_true",
        help="the textbook view: without the transitions drawn from 'any state' (TCP's "
        "abort, RST and give-up to CLOSED) and the rows of other RFCs, labels without "
        "sections; the caption says what is left out",
    )
    diagram.add_argument(
        "--all",
        action="store_true",
        help="every machine in every format, and each textbook view as NAME-simple.svg/.png",
    )
    diagram.add_argument("--output-dir", default="docs/diagrams", help="directory for --all")
    return diagram


def run(args: argparse.Namespace) -> int:
    if args.list:
        for name, graph in all_graphs().items():
            print(f"{name:<22} RFC {graph.rfc:<14} {graph.description}")
        return 0
    if args.all:
        outdir = Path(args.output_dir)
        try:
            outdir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CliError(f"cannot create {outdir}: {exc.strerror}") from None
        for name, graph in all_graphs().items():
            try:
                _write(outdir / f"{name}.dot", graph.diagram("dot").encode())
                _write(outdir / f"{name}.mmd", graph.diagram("mermaid").encode())
                _write(outdir / f"{name}.svg", render_with_dot(graph, "svg"))
                _write(outdir / f"{name}.png", render_with_dot(graph, "png"))
                _write(outdir / f"{name}-simple.svg", render_with_dot(graph, "svg", simple=True))
                _write(outdir / f"{name}-simple.png", render_with_dot(graph, "png", simple=True))
            except RendererMissing as exc:
                raise CliError(str(exc)) from exc
            print(f"wrote {outdir}/{name}.{{dot,mmd,svg,png}} and {name}-simple.{{svg,png}}")
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
            data = render_with_dot(graph, args.format, counts, args.simple)
        else:
            data = render(graph, args.format, counts, args.simple).encode()
    except RendererMissing as exc:
        raise CliError(str(exc)) from exc
    if args.output:
        _write(Path(args.output), data)
        print(f"wrote {args.output}")
    elif args.format == "png":
        raise CliError("PNG is binary: give --output FILE")
    else:
        sys.stdout.write(data.decode())
    return 0


def _write(path: Path, data: bytes) -> None:
    """Write a file; a path that cannot be written is a one-line error."""
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror}") from None


def _highlight(graph: Graph, path: str) -> dict[tuple[str, str, str], int]:
    """Count the transitions of ``graph`` in a ``--trace-format json`` file (JSON Lines:
    one JSON object per line)."""
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
