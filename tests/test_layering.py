"""The arrows of docs/architecture.md point one way, and this test is where they are
enforced. Layers, bottom up::

    spec    wire  <-  stack  <-  api  <-  io  <-  apps  <-  cli  <-  __main__

- ``spec`` (the RFC reference models, the oracle) imports nothing of tcpip6;
- ``wire`` imports nothing of tcpip6 but itself;
- ``stack`` (the sans-I/O core) reaches only ``wire``; ``stack.machines`` (the graphs)
  reaches nothing of the stack outside itself;
- ``api`` (blocking and asyncio sockets over a driver) sits above the core and below
  every driver: the core never reaches it, and it never reaches ``io``;
- ``io`` (what touches the OS) never reaches ``apps`` or ``cli``; ``apps`` never ``cli``;
- ``spec`` is reached only from ``apps`` (``tcpip6 check`` judges captures with it), never
  from the core it is the oracle of.

"Reaches" is transitive: a module may not get a forbidden layer through another module
either. Every import statement counts, wherever it is (top level, inside a function, under
``TYPE_CHECKING``), absolute or relative, and ``from package import module`` counts as
importing that module.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "tcpip6"

#: Layer -> the layers of tcpip6 it may reach (itself and the top package always).
ALLOWED: dict[str, frozenset[str]] = {
    "spec": frozenset(),
    "wire": frozenset(),
    "stack": frozenset({"wire"}),
    "api": frozenset({"stack", "wire"}),
    "io": frozenset({"api", "stack", "wire"}),
    "apps": frozenset({"io", "api", "stack", "wire", "spec"}),
    "cli": frozenset({"apps", "io", "api", "stack", "wire", "spec"}),
    "__main__": frozenset({"cli", "apps", "io", "api", "stack", "wire", "spec"}),
}

#: Layer -> third-party packages it may not import (directly or through tcpip6 modules).
FORBIDDEN_THIRD_PARTY: dict[str, tuple[str, ...]] = {
    "spec": ("transitions", "scapy"),
    "wire": ("transitions", "scapy"),
    "stack": ("scapy",),
}


class ImportGraph:
    """The modules of one package tree and what each imports (resolved to modules)."""

    def __init__(self, root: Path) -> None:
        self.package = root.name
        #: module name -> (path, is a package __init__)
        self.modules: dict[str, tuple[Path, bool]] = {}
        for path in root.rglob("*.py"):
            parts = list(path.relative_to(root.parent).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            if is_package:
                parts.pop()
            self.modules[".".join(parts)] = (path, is_package)
        self.internal: dict[str, set[str]] = {}
        self.external: dict[str, set[str]] = {}
        for name in self.modules:
            self._scan(name)

    def _owner(self, dotted: str) -> str | None:
        """The module a dotted name lives in (``pkg.mod.Class`` -> ``pkg.mod``)."""
        while dotted and dotted not in self.modules:
            dotted = dotted.rpartition(".")[0]
        return dotted or None

    def _absolute(self, module: str, node: ast.ImportFrom) -> str:
        if not node.level:
            return node.module or ""
        _path, is_package = self.modules[module]
        base = module.split(".") if is_package else module.split(".")[:-1]
        if node.level - 1 > len(base) - 1:
            raise ValueError(f"{module}: relative import beyond the top package")
        base = base[: len(base) - (node.level - 1)]
        return ".".join(base + ([node.module] if node.module else []))

    def _scan(self, module: str) -> None:
        path, _ = self.modules[module]
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = self._absolute(module, node)
                names.add(base)
                names.update(f"{base}.{alias.name}" for alias in node.names)
        internal: set[str] = set()
        external: set[str] = set()
        for name in names:
            top = name.partition(".")[0]
            if top == self.package:
                owner = self._owner(name)
                if owner is not None:
                    internal.add(owner)
            elif name:
                external.add(top)
        internal.discard(module)
        self.internal[module] = internal
        self.external[module] = external

    def reach(self, module: str) -> dict[str, list[str]]:
        """Every module ``module`` imports, directly or not, with one import chain to it."""
        chains: dict[str, list[str]] = {module: [module]}
        todo = [module]
        while todo:
            here = todo.pop()
            for there in sorted(self.internal[here]):
                if there not in chains:
                    chains[there] = [*chains[here], there]
                    todo.append(there)
        del chains[module]
        return chains


def layer_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def violations(graph: ImportGraph, layers: Iterable[str]) -> list[str]:
    bad = []
    for module in sorted(graph.modules):
        layer = layer_of(module)
        if layer not in layers:
            continue
        allowed = ALLOWED[layer] | {layer, graph.package}
        reached = graph.reach(module)
        machines = f"{graph.package}.stack.machines"
        in_machines = module == machines or module.startswith(f"{machines}.")
        for target, chain in sorted(reached.items()):
            outside_machines = target.startswith(f"{graph.package}.stack.") and not (
                target == machines or target.startswith(f"{machines}.")
            )
            if layer_of(target) not in allowed or (in_machines and outside_machines):
                bad.append(" -> ".join(chain))
        forbidden = FORBIDDEN_THIRD_PARTY.get(layer, ())
        for target in [module, *reached]:
            for ext in sorted(graph.external[target] & set(forbidden)):
                bad.append(" -> ".join([*reached.get(target, [module]), ext]))
    return bad


@pytest.fixture(scope="module")
def graph() -> ImportGraph:
    return ImportGraph(ROOT)


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layering(graph: ImportGraph, layer: str) -> None:
    assert violations(graph, {layer}) == []


def test_every_module_is_in_a_layer(graph: ImportGraph) -> None:
    """A new top-level package gets a row in ALLOWED (and a place in the docs)."""
    assert {layer_of(m) for m in graph.modules} - set(ALLOWED) == {"tcpip6"}


def test_graph_sees_the_imports_it_must(graph: ImportGraph) -> None:
    """The checker finds what is there: the api's import of the core, the runtime's of the
    api, and the stack's of wire through ``from package import module``."""
    assert "tcpip6.stack.host" in graph.reach("tcpip6.api.sockets")
    assert "tcpip6.api.sockets" in graph.internal["tcpip6.io.runtime"]
    assert "tcpip6.wire.ipv6" in graph.internal["tcpip6.stack.host"]


def _tree(tmp_path: Path, files: dict[str, str]) -> ImportGraph:
    root = tmp_path / "tcpip6"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for directory in [root, *(p for p in root.rglob("*") if p.is_dir())]:
        (directory / "__init__.py").touch()
    return ImportGraph(root)


@pytest.mark.parametrize(
    ("files", "chain"),
    [
        # A direct absolute import.
        (
            {"stack/host.py": "from tcpip6.api.sockets import Stack\n", "api/sockets.py": ""},
            "tcpip6.stack.host -> tcpip6.api.sockets",
        ),
        # A relative import, from a module and from a package __init__.
        (
            {"stack/host.py": "from ..io import tap\n", "io/tap.py": ""},
            "tcpip6.stack.host -> tcpip6.io.tap",
        ),
        (
            {"stack/__init__.py": "from ..api import sockets\n", "api/sockets.py": ""},
            "tcpip6.stack -> tcpip6.api.sockets",
        ),
        # A transitive import through an allowed module, hidden inside a function.
        (
            {
                "stack/host.py": "from tcpip6.wire import ipv6\n",
                "wire/ipv6.py": "def f():\n    import tcpip6.spec.model\n",
                "spec/model.py": "",
            },
            "tcpip6.stack.host -> tcpip6.wire.ipv6 -> tcpip6.spec.model",
        ),
        # The spec importing wire.
        (
            {"spec/rfc9293_tcp.py": "from tcpip6.wire.tcp import ACK\n", "wire/tcp.py": ""},
            "tcpip6.spec.rfc9293_tcp -> tcpip6.wire.tcp",
        ),
        # A graph reaching back into the stack.
        (
            {"stack/machines/nce.py": "from tcpip6.stack import host\n", "stack/host.py": ""},
            "tcpip6.stack.machines.nce -> tcpip6.stack.host",
        ),
        # A forbidden third-party package, reached through a module of the layer.
        (
            {"stack/host.py": "from . import util\n", "stack/util.py": "import scapy.all\n"},
            "tcpip6.stack.host -> tcpip6.stack.util -> scapy",
        ),
    ],
)
def test_checker_catches(tmp_path: Path, files: dict[str, str], chain: str) -> None:
    """The checker has teeth: each planted violation is reported with its chain."""
    assert chain in violations(_tree(tmp_path, files), ALLOWED)


def test_checker_passes_a_clean_tree(tmp_path: Path) -> None:
    tree = _tree(
        tmp_path,
        {
            "stack/host.py": "from . import routing\nfrom ..wire import ipv6\n",
            "stack/routing.py": "from tcpip6.stack.machines import nce\n",
            "stack/machines/nce.py": "import transitions\n",
            "wire/ipv6.py": "import struct\n",
            "api/sockets.py": "from tcpip6.stack.host import Host\n",
        },
    )
    assert violations(tree, ALLOWED) == []
