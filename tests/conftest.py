"""Test-wide settings: the Hypothesis profiles of tests/profiles.py (derandomized and
bounded under CI), and the ``interop`` marker on every test under tests/interop
(``pytest -m "not interop"`` runs the suite that needs no root)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings

from tests.profiles import profile_name

settings.load_profile(profile_name())

INTEROP = Path(__file__).resolve().parent / "interop"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark by place: a test is an interop test because it lives in tests/interop."""
    for item in items:
        if item.path.is_relative_to(INTEROP):
            item.add_marker(pytest.mark.interop)
