"""The tests' layout: every test under tests/interop carries the ``interop`` marker (so
``pytest -m "not interop"`` is the suite that needs no root), and no other test does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _collect(*args: str) -> list[str]:
    # -o addopts= drops the configured -q, so -q lists one node id a line.
    command = [sys.executable, "-m", "pytest", "-o", "addopts=", "-p", "no:cacheprovider"]
    out = subprocess.run(
        [*command, "--collect-only", "-q", *args],
        cwd=TESTS.parent,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [line.split("::")[0] for line in out.splitlines() if "::" in line]


def test_the_interop_marker_selects_exactly_tests_interop() -> None:
    # tests/io has the rootless tests of the same ports the interop tests run for real.
    paths = ["tests/interop", "tests/io"]
    everything = _collect(*paths)
    interop = _collect("-m", "interop", *paths)
    rootless = _collect("-m", "not interop", *paths)
    assert interop and rootless
    assert all(p.startswith("tests/interop/") for p in interop)
    assert not any(p.startswith("tests/interop/") for p in rootless)
    assert sorted(interop + rootless) == sorted(everything)


def test_only_cross_cutting_tests_at_the_top() -> None:
    """Tests of one layer live in its directory (tests/wire, stack, model, io, apps,
    interop); the top holds the ones about the whole tree."""
    top = sorted(p.name for p in TESTS.glob("test_*.py"))
    assert top == [
        "test_bench.py",
        "test_bench_mutants.py",
        "test_citations.py",
        "test_cli.py",
        "test_deb_packages.py",
        "test_docs.py",
        "test_docs_paths.py",
        "test_layering.py",
        "test_layout.py",
        "test_packaging.py",
    ]
