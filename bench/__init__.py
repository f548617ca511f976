"""Benchmarks with JSON output (``make bench``)."""
