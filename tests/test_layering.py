"""The arrows of DESIGN.md point one way: spec and stack never import each other, wire
imports nothing else of tcpip6, and the stack never imports io."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "tcpip6"


def imports(package: str) -> set[tuple[str, str]]:
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.add((path.name, node.module))
            elif isinstance(node, ast.Import):
                found.update((path.name, alias.name) for alias in node.names)
    return found


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("spec", ("tcpip6.stack", "tcpip6.io", "tcpip6.apps", "transitions")),
        ("stack", ("tcpip6.spec", "tcpip6.io", "tcpip6.apps", "scapy")),
        ("wire", ("tcpip6.stack", "tcpip6.spec", "tcpip6.io", "scapy")),
    ],
)
def test_layering(package: str, forbidden: tuple[str, ...]) -> None:
    bad = {(f, m) for f, m in imports(package) if m.startswith(forbidden)}
    assert bad == set()
