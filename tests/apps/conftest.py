from __future__ import annotations

import pytest

from tcpip6.apps import topology


@pytest.fixture
def demo() -> topology.Topology:
    return topology.demo()


@pytest.fixture
def chain() -> topology.Topology:
    return topology.chain()
