"""Render a :class:`~tcpip6.stack.machines.graph.Graph` as DOT, mermaid or SVG.

Drawn from the very table the stack runs (``Graph.edges()``), so the picture cannot drift
from the code. Edge labels read ``trigger [guard] (RFC section)``.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tcpip6.stack.machines.graph import Graph

#: How many times a recorded run took each (source, trigger, dest) transition.
Counts = Mapping[tuple[str, str, str], int]

FORMATS = ("dot", "mermaid", "svg", "png")


class RendererMissing(RuntimeError):
    """The format needs a program that is not installed."""


def _label(trigger: str, guard: str, rfc: str) -> str:
    guard_part = f" [{guard}]" if guard else ""
    return f"{trigger}{guard_part} ({rfc})"


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(graph: Graph, counts: Counts | None = None) -> str:
    """DOT source; with ``counts`` (``--highlight``) the transitions a run took are drawn
    bold and red, their labels prefixed with how often (``3x``)."""
    lines = [
        f"digraph {_dot_quote(graph.name)} {{",
        f"  graph [rankdir=LR label={_dot_quote(f'{graph.name} (RFC {graph.rfc})')}];",
        '  node [shape=rectangle style="rounded"];',
        '  "__start__" [shape=point label=""];',
    ]
    for state in graph.states:
        lines.append(f"  {_dot_quote(state.name)};")
    lines.append(f'  "__start__" -> {_dot_quote(graph.initial.name)};')
    for src, dest, trig, guard, rfc in graph.edges():
        n = counts.get((src, trig, dest), 0) if counts is not None else 0
        label = _dot_quote(f"{n}x " * bool(n) + _label(trig, guard, rfc))
        style = ' color="red" fontcolor="red" penwidth=2.5' if n else ""
        lines.append(f"  {_dot_quote(src)} -> {_dot_quote(dest)} [label={label}{style}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _mermaid_id(state: str) -> str:
    return state.replace("-", "_")


def to_mermaid(graph: Graph, counts: Counts | None = None) -> str:
    lines = ["---", f"title: {graph.name} (RFC {graph.rfc})", "---", "stateDiagram-v2"]
    for state in graph.states:
        lines.append(f'  state "{state.name}" as {_mermaid_id(state.name)}')
    lines.append(f"  [*] --> {_mermaid_id(graph.initial.name)}")
    for src, dest, trig, guard, rfc in graph.edges():
        n = counts.get((src, trig, dest), 0) if counts is not None else 0
        label = (f"{n}x " * bool(n) + _label(trig, guard, rfc)).replace(":", "﹕")
        lines.append(f"  {_mermaid_id(src)} --> {_mermaid_id(dest)}: {label}")
    return "\n".join(lines) + "\n"


def render(graph: Graph, fmt: str, counts: Counts | None = None) -> str:
    if fmt == "dot":
        return to_dot(graph, counts)
    if fmt == "mermaid":
        return to_mermaid(graph, counts)
    if fmt == "svg":
        return render_with_dot(graph, "svg", counts).decode()
    raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


def render_with_dot(graph: Graph, fmt: str, counts: Counts | None = None) -> bytes:
    dot = shutil.which("dot")
    if dot is None:
        raise RendererMissing(
            f"format {fmt} needs Graphviz's 'dot' (apt-get install graphviz); "
            "formats dot and mermaid need nothing"
        )
    done = subprocess.run(
        [dot, f"-T{fmt}"], input=to_dot(graph, counts).encode(), capture_output=True, check=False
    )
    if done.returncode != 0:
        raise RendererMissing(f"dot -T{fmt} failed: {done.stderr.decode().strip()}")
    return done.stdout
