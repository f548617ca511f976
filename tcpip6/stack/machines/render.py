"""Render a :class:`~tcpip6.stack.machines.graph.Graph` as DOT, mermaid or SVG.

Drawn from the very table the stack runs (``Graph.edges()``), so the picture cannot drift
from the code. Edge labels read ``trigger [guard] (RFC section)``. Two rules keep a large
graph readable at slide size, and neither drops a row:

- **From any state.** A trigger that takes :data:`FAN_IN` or more states to one state with
  the same guard and RFC section (TCP's ``abort``, ``rst_received`` and ``give_up`` to
  CLOSED) is drawn once, from an "any state" node, naming the states it does *not* leave
  (``not from CLOSED, LISTEN``); its sources are every other state.
- **One arrow per pair of states.** Parallel transitions share one arrow whose label has
  one line per row (self-loops no longer stack their labels on top of each other).

``simple`` is the textbook view: the "from any state" rows and the rows of other RFCs
than the graph's own are left out (the caption says which), labels without sections.
"""

from __future__ import annotations

import shutil
import subprocess
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tcpip6.stack.machines.graph import Graph

#: How many times a recorded run took each (source, trigger, dest) transition.
Counts = Mapping[tuple[str, str, str], int]

FORMATS = ("dot", "mermaid", "svg", "png")
#: A (trigger, guard, RFC section) into one state from this many states is drawn once.
FAN_IN = 4
#: The pseudo-state the "from any state" transitions leave.
ANY = "__any__"
#: More states than this: drawn top to bottom (a slide's shape), fewer left to right.
TOP_DOWN_FROM = 8


class RendererMissing(RuntimeError):
    """The format needs a program that is not installed."""


def _label(trigger: str, guard: str, rfc: str | None) -> str:
    guard_part = f" [{guard}]" if guard else ""
    return f"{trigger}{guard_part}" + (f" ({rfc})" if rfc else "")


@dataclass(frozen=True, slots=True)
class FanIn:
    """A transition drawn once from "any state": the states it leaves are every state but
    ``exceptions``."""

    dest: str
    trigger: str
    guard: str
    rfc: str
    sources: tuple[str, ...]
    exceptions: tuple[str, ...]

    def text(self, sections: bool = True) -> str:
        label = _label(self.trigger, self.guard, self.rfc if sections else None)
        return label + (f" not from {', '.join(self.exceptions)}" if self.exceptions else "")


@dataclass(slots=True)
class Arrow:
    """One arrow between two states: a line of label per row it stands for."""

    src: str
    dest: str
    lines: list[str] = field(default_factory=list)
    taken: int = 0  # > 0: a highlighted row (drawn alone, in red)


@dataclass(slots=True)
class Drawing:
    arrows: list[Arrow]
    fan_ins: list[FanIn]
    left_out: list[str]  # simple view: the labels not drawn


def layout(graph: Graph, counts: Counts | None = None, simple: bool = False) -> Drawing:
    """What to draw: the table's rows as arrows and "from any state" transitions."""
    names = [s.name for s in graph.states]
    edges = graph.edges()
    own_rfc = graph.rfc.split()[0]
    groups: dict[tuple[str, str, str, str], list[str]] = defaultdict(list)
    for src, dest, trig, guard, rfc in edges:
        groups[(dest, trig, guard, rfc)].append(src)
    # A row out of the initial state is the way in, part of the main path: never "any".
    fan_ins = [
        FanIn(dest, trig, guard, rfc, tuple(srcs), tuple(n for n in names if n not in srcs))
        for (dest, trig, guard, rfc), srcs in groups.items()
        if len(srcs) >= FAN_IN and graph.initial.name not in srcs
    ]
    drawn_once = {(f.dest, f.trigger, f.guard, f.rfc) for f in fan_ins}
    left_out: list[str] = []
    if simple:
        by_dest: dict[str, list[str]] = defaultdict(list)
        for f in fan_ins:
            by_dest[f.dest].append(_label(f.trigger, f.guard, None))
        left_out = [f"{', '.join(t)} to {d} from any state" for d, t in by_dest.items()]
        fan_ins = []
    arrows: dict[tuple[str, str], Arrow] = {}
    taken: list[Arrow] = []
    for src, dest, trig, guard, rfc in edges:
        n = counts.get((src, trig, dest), 0) if counts is not None else 0
        if n:  # a highlighted row has its own arrow, whatever else draws it
            taken.append(Arrow(src, dest, [f"{n}x " + _label(trig, guard, rfc)], n))
        if (dest, trig, guard, rfc) in drawn_once:
            continue
        if simple and rfc.split()[0] != own_rfc:
            left_out.append(f"{_label(trig, guard, None)} from {src} to {dest} (RFC {rfc})")
            continue
        if n:
            continue
        arrow = arrows.setdefault((src, dest), Arrow(src, dest))
        arrow.lines.append(_label(trig, guard, None if simple else rfc))
    return Drawing([*arrows.values(), *taken], fan_ins, left_out)


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


#: DOT's line ends in a label: centred, left-aligned.
CENTRE, LEFT = "\\n", "\\l"


def _dot_lines(lines: list[str], end: str = CENTRE) -> str:
    """A DOT label of several lines: centred (``\\n``) or each left-aligned (``\\l``)."""
    body = end.join(_dot_quote(line)[1:-1] for line in lines)
    return '"' + body + (end if end == LEFT else "") + '"'


def to_dot(graph: Graph, counts: Counts | None = None, simple: bool = False) -> str:
    """DOT source; with ``counts`` (``--highlight``) the transitions a run took are drawn
    bold and red, their labels prefixed with how often (``3x``)."""
    drawing = layout(graph, counts, simple)
    title = [f"{graph.name} (RFC {graph.rfc})" + (", the textbook view" if simple else "")]
    title += [f"not drawn: {x}" for x in drawing.left_out]
    rankdir = "TB" if len(graph.states) > TOP_DOWN_FROM else "LR"
    lines = [
        f"digraph {_dot_quote(graph.name)} {{",
        f"  graph [rankdir={rankdir} label={_dot_lines(title)} fontsize=16 "
        "nodesep=0.5 ranksep=0.6];",
        '  node [shape=rectangle style="rounded" fontsize=14];',
        "  edge [fontsize=11];",
        '  "__start__" [shape=point label=""];',
    ]
    for state in graph.states:
        lines.append(f"  {_dot_quote(state.name)};")
    lines.append(f'  "__start__" -> {_dot_quote(graph.initial.name)};')
    for arrow in drawing.arrows:
        style = ' color="red" fontcolor="red" penwidth=2.5' if arrow.taken else ""
        label = _dot_lines(arrow.lines)
        lines.append(
            f"  {_dot_quote(arrow.src)} -> {_dot_quote(arrow.dest)} [label={label}{style}];"
        )
    if drawing.fan_ins:
        # One dashed arrow per destination, from a node outside the main path.
        lines.append("  subgraph any_state {")
        lines.append('    edge [style=dashed color="gray35" fontcolor="gray25"];')
        lines.append(
            f'    "{ANY}" [label="any state" shape=note style=dashed color="gray35" '
            'fontcolor="gray25"];'
        )
        by_dest: dict[str, list[str]] = defaultdict(list)
        for fan in drawing.fan_ins:
            by_dest[fan.dest].append(fan.text())
        for dest, texts in by_dest.items():
            label = _dot_lines(texts, LEFT)
            lines.append(f'    "{ANY}" -> {_dot_quote(dest)} [label={label}];')
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _mermaid_id(state: str) -> str:
    return state.replace("-", "_")


def to_mermaid(graph: Graph, counts: Counts | None = None, simple: bool = False) -> str:
    drawing = layout(graph, counts, simple)
    title = f"{graph.name} (RFC {graph.rfc})" + (", the textbook view" if simple else "")
    lines = ["---", f"title: {title}", "---", "stateDiagram-v2"]
    for state in graph.states:
        lines.append(f'  state "{state.name}" as {_mermaid_id(state.name)}')
    if drawing.fan_ins:
        lines.append(f'  state "any state" as {ANY}')
    lines.append(f"  [*] --> {_mermaid_id(graph.initial.name)}")

    def say(text: str) -> str:
        return text.replace(":", "﹕")  # a colon would end mermaid's label

    for arrow in drawing.arrows:
        for line in arrow.lines:
            lines.append(f"  {_mermaid_id(arrow.src)} --> {_mermaid_id(arrow.dest)}: {say(line)}")
    for fan in drawing.fan_ins:
        lines.append(f"  {ANY} --> {_mermaid_id(fan.dest)}: {say(fan.text())}")
    if drawing.left_out:
        lines.append(f"  note right of {_mermaid_id(graph.initial.name)}")
        lines.append("    not drawn: " + "; ".join(say(x) for x in drawing.left_out))
        lines.append("  end note")
    return "\n".join(lines) + "\n"


def render(graph: Graph, fmt: str, counts: Counts | None = None, simple: bool = False) -> str:
    if fmt == "dot":
        return to_dot(graph, counts, simple)
    if fmt == "mermaid":
        return to_mermaid(graph, counts, simple)
    if fmt == "svg":
        return render_with_dot(graph, "svg", counts, simple).decode()
    raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


def render_with_dot(
    graph: Graph, fmt: str, counts: Counts | None = None, simple: bool = False
) -> bytes:
    dot = shutil.which("dot")
    if dot is None:
        raise RendererMissing(
            f"format {fmt} needs Graphviz's 'dot' (apt-get install graphviz); "
            "formats dot and mermaid need nothing"
        )
    source = to_dot(graph, counts, simple).encode()
    done = subprocess.run([dot, f"-T{fmt}"], input=source, capture_output=True, check=False)
    if done.returncode != 0:
        raise RendererMissing(f"dot -T{fmt} failed: {done.stderr.decode().strip()}")
    return done.stdout
