"""pyproject.toml: every dependency is used, and the metadata is in today's form."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

#: The checkout (wherever this file sits under tests/).
ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower()


def test_every_dependency_is_used() -> None:
    code = "\n".join(
        p.read_text() for d in ("tcpip6", "tests", "bench") for p in (ROOT / d).rglob("*.py")
    )
    makefile = (ROOT / "Makefile").read_text()
    for requirement in [*PROJECT["dependencies"], *PROJECT["optional-dependencies"]["dev"]]:
        name = _name(requirement)
        imported = re.search(rf"^\s*(import|from) {name}\b", code, re.M)
        run = re.search(rf"\$\(VENV\)/bin/{name}\b", makefile)
        # A pytest plugin the Makefile loads by name: ``-p xdist`` for pytest-xdist.
        loaded = re.search(rf" -p {name.removeprefix('pytest-')} ", makefile)
        assert imported or run or loaded, f"{name} is neither imported nor run: drop it"


def test_license_is_an_spdx_expression() -> None:
    # PEP 639: the table form ({text = ...}) is deprecated by setuptools.
    assert PROJECT["license"] == "MIT"
