"""Render a :class:`~tcpip6.stack.machines.graph.Graph` as DOT, mermaid or SVG.

Drawn from the very table the stack runs (``Graph.edges()``), so the picture cannot drift
from the code. Edge labels read ``trigger [guard] (RFC section)``.
"""

from __future__ import annotations

import shutil
import subprocess
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tcpip6.stack.machines.graph import Graph

FORMATS = ("dot", "mermaid", "svg", "png")


class RendererMissing(RuntimeError):
    """The format needs a program that is not installed."""


def _label(trigger: str, guard: str, rfc: str) -> str:
    guard_part = f" [{guard}]" if guard else ""
    return f"{trigger}{guard_part} ({rfc})"


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(graph: Graph) -> str:
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
        label = _dot_quote(_label(trig, guard, rfc))
        lines.append(f"  {_dot_quote(src)} -> {_dot_quote(dest)} [label={label}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _mermaid_id(state: str) -> str:
    return state.replace("-", "_")


def to_mermaid(graph: Graph) -> str:
    lines = ["---", f"title: {graph.name} (RFC {graph.rfc})", "---", "stateDiagram-v2"]
    for state in graph.states:
        lines.append(f'  state "{state.name}" as {_mermaid_id(state.name)}')
    lines.append(f"  [*] --> {_mermaid_id(graph.initial.name)}")
    for src, dest, trig, guard, rfc in graph.edges():
        label = _label(trig, guard, rfc).replace(":", "﹕")
        lines.append(f"  {_mermaid_id(src)} --> {_mermaid_id(dest)}: {label}")
    return "\n".join(lines) + "\n"


def render(graph: Graph, fmt: str) -> str:
    if fmt == "dot":
        return to_dot(graph)
    if fmt == "mermaid":
        return to_mermaid(graph)
    if fmt == "svg":
        return render_with_dot(graph, "svg").decode()
    raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


def render_with_dot(graph: Graph, fmt: str) -> bytes:
    dot = shutil.which("dot")
    if dot is None:
        raise RendererMissing(
            f"format {fmt} needs Graphviz's 'dot' (apt-get install graphviz); "
            "formats dot and mermaid need nothing"
        )
    done = subprocess.run(
        [dot, f"-T{fmt}"], input=to_dot(graph).encode(), capture_output=True, check=False
    )
    if done.returncode != 0:
        raise RendererMissing(f"dot -T{fmt} failed: {done.stderr.decode().strip()}")
    return done.stdout
