"""Test-wide settings: Hypothesis profiles (derandomized and bounded under CI), and the
``interop`` marker on every test under tests/interop (``pytest -m "not interop"`` runs the
suite that needs no root)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=60,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))

INTEROP = Path(__file__).resolve().parent / "interop"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark by place: a test is an interop test because it lives in tests/interop."""
    for item in items:
        if item.path.is_relative_to(INTEROP):
            item.add_marker(pytest.mark.interop)
