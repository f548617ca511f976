"""Two tcpip6 hosts over an automatic tunnel (RFC 2893 §5) on the kernel's IPv4.

::

 ns "peer": tcpip6 host                   ns "host": tcpip6 (tunnel_ping)
   --link tunnel:automatic:10.0.0.1         --link tunnel:automatic:10.0.0.2
   ::10.0.0.1/96                          ::10.0.0.2/96, pings ::10.0.0.1
    veth-p 10.0.0.1/24  <==== veth (IPv4 only) ====>  veth-h 10.0.0.2/24

No route is configured on either side: ::/96 is on-link through the tunnel, and each
packet's IPv4 destination is the low 32 bits of its IPv6 destination.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from scapy.layers.inet import IP
from scapy.layers.inet6 import ICMPv6EchoReply, ICMPv6EchoRequest, IPv6

from tcpip6.io.pcap import read_pcap
from tests import tshark
from tests.interop import netns
from tests.interop.netns import REPO, LineReader, Topology
from tests.interop.test_tunnels import HOST_V4, PEER_V4, _ipv4_path


def start_peer_host(topo: Topology, tmp: Path, link: str, *args: str) -> LineReader:
    """``tcpip6 host --link LINK`` in the peer namespace."""
    cmd = topo.in_peer(sys.executable, "-u", "-m", "tcpip6", "host", "--link", link)
    cmd += ["--pcap", str(tmp / "peer.pcap"), "--control", str(tmp / "peer.sock"), *args]
    proc = topo.start(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return LineReader(proc)


def run_pinger(topo: Topology, tmp: Path, target: str, *args: str) -> tuple[int, str]:
    """tests/interop/tunnel_ping.py in the host namespace: its exit status and output."""
    cmd = topo.in_host(sys.executable, "-u", "-m", "tests.interop.tunnel_ping", target)
    cmd += ["--control", str(tmp / "pinger.sock"), "--pcap", str(tmp / "pinger.pcap"), *args]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=60)
    return done.returncode, done.stdout + done.stderr


def test_two_tcpip6_hosts_ping_over_an_automatic_tunnel(topology: Topology, tmp_path: Path) -> None:
    topo = topology
    _ipv4_path(topo)
    peer = start_peer_host(topo, tmp_path, f"tunnel:automatic:{PEER_V4}")
    peer.wait_for(r"^link tun0 up: tunnel automatic ::a00:1/96 mtu 1280$")
    peer.wait_for(r"^address ::a00:1/96 on tun0 preferred \(static; DAD: no duplicate\)")
    status, out = run_pinger(topo, tmp_path, "::10.0.0.1", "--link", f"tunnel:automatic:{HOST_V4}")
    assert status == 0, out
    assert "link tun0 up: tunnel automatic ::a00:2/96 mtu 1280" in out
    assert "3 packets transmitted, 3 received" in out, out
    assert netns.stop(peer) == 0
    # On the wire (the pinger's capture): protocol 41 between the two IPv4 addresses,
    # whose IPv6 addresses are their IPv4-compatible forms.
    datagrams = [IP(frame) for _, frame in read_pcap(tmp_path / "pinger.pcap")]
    assert {(d.proto, d.src, d.dst, d[IPv6].src, d[IPv6].dst) for d in datagrams} == {
        (41, HOST_V4, PEER_V4, "::10.0.0.2", "::10.0.0.1"),
        (41, PEER_V4, HOST_V4, "::10.0.0.1", "::10.0.0.2"),
    }
    assert sum(ICMPv6EchoRequest in d for d in datagrams) == 3
    assert sum(ICMPv6EchoReply in d for d in datagrams) == 3
    tshark.assert_clean(tmp_path / "pinger.pcap")
