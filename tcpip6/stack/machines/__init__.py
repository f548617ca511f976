"""One ``transitions`` graph per RFC state machine. See :mod:`tcpip6.stack.machines.graph`.

Each module here that defines ``GRAPH`` is a machine; :func:`all_graphs` finds them for the
``tcpip6 diagram`` command, the docs and the coverage report.
"""

from __future__ import annotations

import importlib
import pkgutil

from tcpip6.stack.machines.graph import Graph

_NOT_MACHINES = frozenset({"graph", "render"})


def machine_names() -> list[str]:
    """The machine modules present, in alphabetical order."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name not in _NOT_MACHINES)


def get_graph(name: str) -> Graph:
    if name not in machine_names():
        raise KeyError(name)
    module = importlib.import_module(f"{__name__}.{name}")
    graph = getattr(module, "GRAPH", None)
    if not isinstance(graph, Graph):
        raise KeyError(name)
    return graph


def all_graphs() -> dict[str, Graph]:
    return {name: get_graph(name) for name in machine_names()}
