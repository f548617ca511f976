"""``tcpip6 docs``: one page per state machine, written from the code and a real run.

Each page (``docs/machines/<name>.md``) puts side by side what a student needs with the RFC
open: what the RFC section says (the graph module's own description), the diagram (mermaid,
which renders where Markdown does, and the committed SVG that ``make diagrams`` draws), the
table the stack runs with the RFC section of each row, and a walk through a real run: the frames and
transitions of ``tcpip6 demo`` at the moments this graph changed state, and how often the
run took each transition. Nothing on a page is written by hand, so no page can drift from
the code; a test regenerates the pages and compares them with the committed ones.
"""

from __future__ import annotations

import argparse
import bisect
import importlib
import re
import tempfile
from pathlib import Path

from tcpip6.apps.command import CliError, Subparsers
from tcpip6.apps.demo import DemoRun, Row, Timeline, simulate
from tcpip6.stack.machines import all_graphs
from tcpip6.stack.machines.graph import Graph

#: At most this many timeline lines per page (the rest is counted, not shown).
MAX_WALK_LINES = 60
#: Frames sent this long before a transition are shown with it, as its likely cause.
CAUSE_WINDOW = 0.001


def _markdown(docstring: str) -> str:
    """The graph module's reStructuredText-ish docstring as Markdown: literals, roles, and
    simple tables (a block between ``====`` rules, kept as preformatted text)."""
    text = re.sub(r":\w+:`~?(?:[\w.]+\.)?(\w+)`", r"`\1`", docstring)
    text = text.replace("``", "`")
    lines = text.strip().splitlines()
    out: list[str] = []
    in_table = False
    for i, line in enumerate(lines):
        if not re.fullmatch(r"=+( +=+)*", line.strip()):
            out.append(line)
            continue
        last = i + 1 == len(lines) or not lines[i + 1].strip()
        if not in_table:
            out.append("```text")
            in_table = True
        elif last:
            out.append("```")
            in_table = False
    if in_table:
        out.append("```")
    return "\n".join(out)


def _walk(graph: Graph, rows: list[Row]) -> tuple[list[str], int]:
    """The timeline at the moments ``graph`` changed state: its transitions and the frames
    sent at (or just before) those instants, with the phase headings; (lines, how many
    more were left out)."""
    moments = sorted({r.now for r in rows if r.record is not None and r.record.graph == graph.name})

    def near(now: float) -> bool:
        # A transition and the frame that caused it: the frame is stamped when it was
        # sent, the transition when it arrived (simnet's propagation delay is below 1 ms).
        i = bisect.bisect_left(moments, now)
        return i < len(moments) and moments[i] - now <= CAUSE_WINDOW

    lines: list[str] = []
    for r in rows:
        mine = r.record is not None and r.record.graph == graph.name
        frame = r.record is None and not r.text.startswith("==")
        if r.text.startswith("==") or mine or (frame and near(r.now)):
            lines.append(f"{r.now:8.4f}  {r.text}")
    # Headings with nothing of this graph under them are left out.
    kept = [
        line
        for i, line in enumerate(lines)
        if "==" not in line or (i + 1 < len(lines) and "==" not in lines[i + 1])
    ]
    return kept[:MAX_WALK_LINES], max(0, len(kept) - MAX_WALK_LINES)


def page(graph: Graph, run: DemoRun) -> str:
    module = importlib.import_module(f"tcpip6.stack.machines.{graph.name}")
    rows = run.timeline.ordered()
    taken = graph.taken(r.record for r in rows if r.record is not None)
    walk, more = _walk(graph, rows)
    out = [
        f"# `{graph.name}`: {graph.description} (RFC {graph.rfc})",
        "",
        "<!-- Written by `tcpip6 docs` from the code and a run of `tcpip6 demo`; do not edit. -->",
        "",
        "## What the RFC says",
        "",
        _markdown(module.__doc__ or ""),
        "",
        "## The graph",
        "",
        f"The stack runs `tcpip6/stack/machines/{graph.name}.py`; both drawings are made "
        f"from that table. Graphviz's (`tcpip6 diagram {graph.name} --format svg`; "
        "`make diagrams` draws every SVG in `docs/diagrams/` again, with PNG and DOT beside "
        "them):",
        "",
        f"![the {graph.name} graph](../diagrams/{graph.name}.svg)",
        "",
        f"The textbook view (`tcpip6 diagram {graph.name} --simple`): "
        f"[SVG](../diagrams/{graph.name}-simple.svg).",
        "",
        f"Mermaid's (`tcpip6 diagram {graph.name} --format mermaid`), which renders where "
        "Markdown does:",
        "",
        "```mermaid",
        graph.diagram("mermaid").rstrip("\n"),
        "```",
        "",
        "## The table the stack runs",
        "",
        "| from | trigger [guard] | to | RFC | taken in the run below |",
        "| --- | --- | --- | --- | --- |",
    ]
    for src, dest, trig, guard, rfc in graph.edges():
        label = f"`{trig}`" + (f" [{guard}]" if guard else "")
        out.append(f"| {src} | {label} | {dest} | {rfc} | {taken.get((src, trig, dest), 0)} |")
    if graph.ignored:
        ignored = ", ".join(f"{s} on `{t}`" for s, t in sorted(graph.ignored))
        out += ["", f"Events that leave the state as it is (the RFC says so): {ignored}."]
    if graph.impossible:
        out += ["", "Events that cannot happen in a state (fired anyway, they raise):", ""]
        out += [f"- {s} on `{t}`: {why}" for (s, t), why in sorted(graph.impossible.items())]
    out += [
        "",
        "## A real run",
        "",
        "`tcpip6 demo` (a tcpip6 router, hosts a and b on lan1, host c on lan2 with a smaller "
        "MTU, and d, configured by hand with a's address), at every moment this graph "
        "changed state: the frames sent at that instant and the transitions, with the RFC "
        "section of each. The same run's pcap is what `tcpip6 demo --pcap FILE` writes.",
        "",
        "```text",
        *walk,
        *([f"... and {more} more lines"] if more else []),
        "```",
        "",
    ]
    return "\n".join(out)


def index(graphs: dict[str, Graph]) -> str:
    out = [
        "# The state machines of tcpip6",
        "",
        "<!-- Written by `tcpip6 docs`; do not edit. -->",
        "",
        "Every RFC state machine the stack runs, one page each: what the RFC says, the "
        "graph, the table, and a real run.",
        "",
        "| machine | RFC | what |",
        "| --- | --- | --- |",
    ]
    for name, graph in graphs.items():
        out.append(f"| [{name}](machines/{name}.md) | {graph.rfc} | {graph.description} |")
    return "\n".join(out) + "\n"


def write_docs(outdir: Path) -> list[Path]:
    """Run the demo network once and write the index and one page per machine."""
    with tempfile.TemporaryDirectory() as tmp:
        run = simulate(Path(tmp) / "demo.pcap", Timeline())
    graphs = all_graphs()
    (outdir / "machines").mkdir(parents=True, exist_ok=True)
    written = [outdir / "machines.md"]
    written[0].write_text(index(graphs))
    for name, graph in graphs.items():
        path = outdir / "machines" / f"{name}.md"
        path.write_text(page(graph, run))
        written.append(path)
    return written


# -- the command line: tcpip6 docs ----------------------------------------------------


def add_parser(sub: Subparsers) -> argparse.ArgumentParser:
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
    return docs


def run(args: argparse.Namespace) -> int:
    try:
        written = write_docs(Path(args.output_dir))
    except OSError as exc:
        raise CliError(f"cannot write {exc.filename}: {exc.strerror}") from None
    for path in written:
        print(f"wrote {path}")
    return 0
