"""tcpip6 host --route against the Linux kernel: a static route is what lets tcpip6 answer
a source beyond its link.

::

 ns "peer": Linux, 2001:db8:77::1/128 on lo, fe80::1 on veth-p
    veth-p  <==== veth ====>  veth-h   ns "host": tcpip6 host, 2001:db8:1::2/64,
                                        --route 2001:db8:77::/48=fe80::1%veth-h
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.interop import netns
from tests.interop.netns import HOST_IF, PEER_IF, Topology

HOST_ADDR = "2001:db8:1::2"
PEER_ADDR = "2001:db8:1::1"
FAR = "2001:db8:77::1"


def _ping_from(topo: Topology, source: str) -> str:
    cmd = ["ping", "-6", "-c", "3", "-i", "0.2", "-W", "2", "-I", source, HOST_ADDR]
    done = subprocess.run(
        topo.in_peer(*cmd), capture_output=True, text=True, timeout=netns.COMMAND_TIMEOUT
    )
    return done.stdout


def test_a_static_route_answers_a_source_beyond_the_link(
    topology: Topology, tmp_path: Path
) -> None:
    topo = topology
    topo.peer_run("ip", "-6", "addr", "add", "fe80::1/64", "dev", PEER_IF, "nodad")
    topo.peer_run("ip", "-6", "addr", "add", f"{PEER_ADDR}/64", "dev", PEER_IF, "nodad")
    topo.peer_run("ip", "-6", "addr", "add", f"{FAR}/128", "dev", "lo")
    host = netns.start_tcpip6_host(
        topo,
        tmp_path / "route.pcap",
        "--address",
        f"{HOST_IF}={HOST_ADDR}/64",
        "--route",
        f"2001:db8:77::/48=fe80::1%{HOST_IF}",
    )
    host.wait_for(rf"^route 2001:db8:77::/48 via fe80::1 dev {HOST_IF}$")
    host.wait_for(rf"^address {HOST_ADDR}/64 on {HOST_IF} preferred")
    out = _ping_from(topo, PEER_ADDR)
    assert "3 received" in out, out
    # From beyond the link: tcpip6 has no default router, only the static route.
    out = _ping_from(topo, FAR)
    assert "3 received" in out, out
    assert netns.stop(host) == 0


def test_without_the_route_the_far_source_gets_no_answer(
    topology: Topology, tmp_path: Path
) -> None:
    topo = topology
    topo.peer_run("ip", "-6", "addr", "add", f"{PEER_ADDR}/64", "dev", PEER_IF, "nodad")
    topo.peer_run("ip", "-6", "addr", "add", f"{FAR}/128", "dev", "lo")
    host = netns.start_tcpip6_host(
        topo, tmp_path / "noroute.pcap", "--address", f"{HOST_IF}={HOST_ADDR}/64"
    )
    host.wait_for(rf"^address {HOST_ADDR}/64 on {HOST_IF} preferred")
    assert "3 received" in _ping_from(topo, PEER_ADDR)
    assert " 0 received" in _ping_from(topo, FAR)
    assert netns.stop(host) == 0
