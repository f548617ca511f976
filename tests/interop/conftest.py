"""Fixtures for the live host against the Linux kernel (see netns.py for the topology).

These tests need root (network namespaces, AF_PACKET). Under CI (which runs as root) a
setup that fails is a failure, never a skip; elsewhere, without root, they are skipped.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from tests.interop import netns


def _require_root() -> None:
    if os.geteuid() != 0 and not os.environ.get("CI"):
        pytest.skip("interop tests need root (network namespaces and AF_PACKET)")
    for tool in ("ip", "ping", "radvd", "tshark"):
        if shutil.which(tool) is None:
            raise AssertionError(f"{tool} is not installed (make test installs it)")


@pytest.fixture
def topology() -> Iterator[netns.Topology]:
    """A fresh pair of namespaces and the veth between them, removed afterwards."""
    _require_root()
    with netns.topology() as topo:
        yield topo


@pytest.fixture(scope="module")
def module_topology() -> Iterator[netns.Topology]:
    """The same, shared by the tests of one module."""
    _require_root()
    with netns.topology() as topo:
        yield topo
