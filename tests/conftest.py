"""Test-wide settings: the Hypothesis profiles of tests/profiles.py (derandomized and
bounded under CI)."""

from __future__ import annotations

from hypothesis import settings

from tests.profiles import profile_name

settings.load_profile(profile_name())
