"""Two tcpip6 hosts on 6over4 (RFC 2529): IPv4 multicast as their link, full ND over it.

::

 ns "peer": tcpip6 host                    ns "host": tcpip6 (tunnel_ping)
   --link tunnel:6over4:10.0.0.1             --link tunnel:6over4:10.0.0.2
   fe80::a00:1, joins 239.192.0.1 ...        pings fe80::a00:1%tun0
    veth-p 10.0.0.1/24  <==== veth (IPv4 only) ====>  veth-h 10.0.0.2/24

Each side's DAD, and the pinger's address resolution, go to 239.192.0.1 (the IPv4 group
that ff02::1:ff00:1 maps to, RFC 2529 §6); the pinger ends with the peer REACHABLE at link
address 10.0.0.1, and the peer (asked through tcpip6 show) holds the pinger at 10.0.0.2.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from scapy.layers.inet import IP
from scapy.layers.inet6 import ICMPv6EchoReply, ICMPv6ND_NA, ICMPv6ND_NS, IPv6

from tcpip6.io.pcap import read_pcap
from tests import tshark
from tests.interop import netns
from tests.interop.netns import REPO, Topology
from tests.interop.test_tunnel_automatic import run_pinger, start_peer_host
from tests.interop.test_tunnels import HOST_V4, PEER_V4, _ipv4_path


def _neighbors(lines: str) -> list[dict[str, object]]:
    line = next(x for x in lines.splitlines() if x.startswith("neighbors "))
    entries: list[dict[str, object]] = json.loads(line.removeprefix("neighbors "))["neighbors"]
    return entries


def test_two_tcpip6_hosts_resolve_and_ping_over_6over4(topology: Topology, tmp_path: Path) -> None:
    topo = topology
    _ipv4_path(topo)
    peer = start_peer_host(topo, tmp_path, f"tunnel:6over4:{PEER_V4}")
    peer.wait_for(r"^link tun0 up: tunnel 6over4 10.0.0.1 mtu 1480$")
    # RFC 2529 §4: the link-local address from the IPv4 address, DAD-checked over IPv4.
    peer.wait_for(r"^address fe80::a00:1/64 on tun0 preferred \(link-local; DAD: no duplicate\)")
    # The kernel joined the mapped IPv4 groups for the peer's socket (IP_ADD_MEMBERSHIP).
    groups = topo.peer_run("ip", "-4", "maddr", "show", "dev", "veth-p")
    assert "239.192.0.1" in groups, groups
    status, out = run_pinger(
        topo, tmp_path, "fe80::a00:1%tun0", "--link", f"tunnel:6over4:{HOST_V4}",
        "--settle", "2.5", "--neighbors",
    )  # fmt: skip
    assert status == 0, out
    assert "address fe80::a00:2/64 on tun0 preferred (link-local; DAD: no duplicate)" in out
    assert "3 packets transmitted, 3 received" in out, out
    # ND resolved the peer to its IPv4 address (RFC 2529 §5): REACHABLE after the NA.
    peer_entry = next(n for n in _neighbors(out) if n["neighbor"] == "fe80::a00:1")
    assert peer_entry["state"] == "REACHABLE", peer_entry
    assert peer_entry["link_address"] == "0a:00:00:01"
    # The peer, through tcpip6 show: the pinger at 10.0.0.2.
    show = topo.in_peer(sys.executable, "-m", "tcpip6", "show", "--json", "--control",
                        str(tmp_path / "peer.sock"), "neighbors")  # fmt: skip
    done = subprocess.run(show, cwd=REPO, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    entries = json.loads(done.stdout)["neighbors"]
    pinger = next(n for n in entries if n["neighbor"] == "fe80::a00:2")
    assert pinger["link_address"] == "0a:00:00:02"
    assert netns.stop(peer) == 0
    # The wire: the solicitation to the group, the advertisement and replies unicast.
    datagrams = [IP(f) for _, f in read_pcap(tmp_path / "pinger.pcap")]
    assert all(d.proto == 41 for d in datagrams)
    ns = [d for d in datagrams if ICMPv6ND_NS in d and d[IPv6].src == "fe80::a00:2"]
    assert ns and ns[0].dst == "239.192.0.1" and ns[0].src == HOST_V4
    assert bytes(ns[0][IPv6].payload)[24:32] == bytes([1, 1, 0, 0, 10, 0, 0, 2])
    na = [d for d in datagrams if ICMPv6ND_NA in d and d.src == PEER_V4]
    assert na and na[0].dst == HOST_V4
    assert bytes(na[0][IPv6].payload)[24:32] == bytes([2, 1, 0, 0, 10, 0, 0, 1])
    assert sum(ICMPv6EchoReply in d for d in datagrams) == 3
    tshark.assert_clean(tmp_path / "pinger.pcap")
