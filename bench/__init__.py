"""Benchmarks with JSON output: ``python -m bench`` (``make bench``) measures, and
``python -m bench.compare REV`` compares a revision's stack with the working tree's."""
