"""Test-wide settings: the Hypothesis profiles of tests/profiles.py (derandomized and
bounded under CI), every module of the project loaded before the first test, and the
``interop`` marker on every test under tests/interop (``pytest -m "not interop"`` runs the
suite that needs no root)."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest
from hypothesis import settings

from tests.profiles import profile_name

settings.load_profile(profile_name())

ROOT = Path(__file__).resolve().parent.parent


def load_every_module() -> None:
    """Import every module of ``tcpip6``, ``bench`` and ``tests``.

    Hypothesis draws part of its examples from the constants of the project modules that
    are loaded when a test runs. Which modules those are would otherwise depend on which
    files pytest collected and which tests ran before in the same process, so a
    derandomized run (the ``ci`` profile) would find other examples alone than in the
    whole suite, on one process than on two. With everything loaded first, the examples
    depend on the code alone."""
    for package in ("tcpip6", "bench", "tests"):
        for info in pkgutil.walk_packages([str(ROOT / package)], f"{package}."):
            if not info.name.endswith(".__main__"):  # that one runs the command line
                importlib.import_module(info.name)


load_every_module()

INTEROP = Path(__file__).resolve().parent / "interop"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark by place: a test is an interop test because it lives in tests/interop."""
    for item in items:
        if item.path.is_relative_to(INTEROP):
            item.add_marker(pytest.mark.interop)
