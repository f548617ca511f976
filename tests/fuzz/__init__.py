"""Fuzzing the receive path (python -m tests.fuzz)."""
