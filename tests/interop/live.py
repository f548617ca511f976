"""A tcpip6 host running in the host namespace of a Topology with its control socket,
for the tests that drive it from outside (a Unix socket is a file, not a link)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from ipaddress import IPv6Address
from pathlib import Path

from tests.interop import netns
from tests.interop.netns import LineReader, Topology


@dataclass
class Live:
    topo: Topology
    host: LineReader
    control: Path
    link_local: IPv6Address


@contextmanager
def live_host(
    topo: Topology, tmp: Path, *flags: str, ready: tuple[str, ...] = ()
) -> Iterator[Live]:
    """Start ``tcpip6 host`` with ``flags`` and a control socket in ``tmp``, wait for its
    link-local address, the ``ready`` lines and the control socket; stop it afterwards
    (it must exit with 0)."""
    control = tmp / "c.sock"
    host = netns.start_tcpip6_host(topo, tmp / "host.pcap", "--control", str(control), *flags)
    link_local = IPv6Address(host.wait_for(netns.link_local_line()).group(1))
    for line in ready:
        host.wait_for(line)
    host.wait_for(rf"^control socket {control}$")
    yield Live(topo, host, control, link_local)
    assert netns.stop(host) == 0, host.rest()
