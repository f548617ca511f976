"""IPv6 over IPv4 against the Linux kernel: tcpip6's tunnel on the kernel's IPv4.

::

 ns "peer": Linux IPv6 on TUN t6in4      ns "host": tcpip6 host --link tunnel:...
   (addresses, routes, ping)                 raw IPv4 socket, protocol 41
   relay6in4: TUN <-> protocol 41            |
    veth-p 10.0.0.1/24  <==== veth (IPv4 only) ====>  veth-h 10.0.0.2/24

The veth pair carries IPv4 only (the kernel's IPv6 is off on both ends), so every IPv6
packet between Linux and tcpip6 crosses the tunnel. This kernel has no ``sit``; Linux's end
is its IPv6 on a TUN device and a relay that adds and strips the IPv4 header
(relay6in4.py). Where ``ip link add ... type sit`` works, a real sit tunnel is tried too.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from scapy.layers.inet import IP
from scapy.layers.inet6 import ICMPv6EchoReply, IPv6

from tcpip6.io.pcap import read_pcap
from tests import tshark
from tests.interop import netns
from tests.interop.netns import HOST_IF, PEER_IF, REPO, LineReader, Topology

PEER_V4 = "10.0.0.1"
HOST_V4 = "10.0.0.2"
TUN = "t6in4"
PEER_TUNNEL_ADDR = "2001:db8:46::1"
HOST_TUNNEL_ADDR = "2001:db8:46::2"
# RFC 3056 §2: 2002:V4ADDR::/48 (tcpip6 takes the ::V4ADDR identifier, RFC 4213 §3.7).
PEER_6TO4 = "2002:a00:1::1"
HOST_6TO4 = "2002:a00:2::a00:2"
ND_AND_MLD = {133, 134, 135, 136, 143}


@dataclass
class Tunnel:
    topo: Topology
    host: LineReader
    pcap: Path
    peer_if: str


def _ipv4_path(topo: Topology) -> None:
    """IPv4 on the veth pair, and the kernel's IPv6 off on both ends."""
    topo.peer_run("sysctl", "-qw", f"net.ipv6.conf.{PEER_IF}.disable_ipv6=1")
    topo.peer_run("ip", "-4", "addr", "add", f"{PEER_V4}/24", "dev", PEER_IF)
    netns.sh(*topo.in_host("ip", "-4", "addr", "add", f"{HOST_V4}/24", "dev", HOST_IF))


def _start_relay(topo: Topology, *mode: str) -> LineReader:
    cmd = topo.in_peer(sys.executable, "-u", "-m", "tests.interop.relay6in4", TUN, PEER_V4)
    proc = topo.start([*cmd, *mode], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    relay = LineReader(proc)
    relay.wait_for(rf"^relaying {TUN}$")
    topo.peer_run("ip", "link", "set", TUN, "mtu", "1280", "up")
    return relay


def _start_host(topo: Topology, pcap: Path, *args: str) -> LineReader:
    cmd = topo.in_host(sys.executable, "-u", "-m", "tcpip6", "host", "--pcap", str(pcap))
    # A control socket beside the pcap: the test leaves nothing under /run.
    cmd += ["--control", str(pcap.with_suffix(".sock"))]
    proc = topo.start([*cmd, *args], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return LineReader(proc)


def _address_line(address: str, plen: int) -> str:
    return rf"^address {address}/{plen} on tun0 preferred \(static; DAD: no duplicate\)"


@pytest.fixture
def configured(topology: Topology, tmp_path: Path) -> Iterator[Tunnel]:
    """RFC 4213 configured tunnel: 10.0.0.1 (Linux, TUN + relay) <-> 10.0.0.2 (tcpip6)."""
    topo = topology
    _ipv4_path(topo)
    _start_relay(topo, "--remote", HOST_V4)
    topo.peer_run("ip", "-6", "addr", "add", "fe80::a00:1/64", "dev", TUN, "nodad")
    topo.peer_run("ip", "-6", "addr", "add", f"{PEER_TUNNEL_ADDR}/64", "dev", TUN, "nodad")
    pcap = tmp_path / "tunnel.pcap"
    link = f"tunnel:configured:{HOST_V4}:{PEER_V4}"
    host = _start_host(topo, pcap, "--link", link, "--address", f"tun0={HOST_TUNNEL_ADDR}/64")
    host.wait_for(rf"^link tun0 up: tunnel configured {HOST_V4} -> {PEER_V4} mtu 1280$")
    host.wait_for(_address_line(HOST_TUNNEL_ADDR, 64))
    yield Tunnel(topo, host, pcap, TUN)
    assert netns.stop(host) == 0


@pytest.fixture
def sixtofour(topology: Topology, tmp_path: Path) -> Iterator[Tunnel]:
    """RFC 3056 6to4: 2002:a00:1::/48 on Linux's TUN, 2002:a00:2::/48 on tcpip6."""
    topo = topology
    _ipv4_path(topo)
    _start_relay(topo, "--6to4")
    topo.peer_run("ip", "-6", "addr", "add", f"{PEER_6TO4}/16", "dev", TUN, "nodad")
    pcap = tmp_path / "6to4.pcap"
    host = _start_host(topo, pcap, "--link", f"tunnel:6to4:{HOST_V4}")
    host.wait_for(r"^link tun0 up: tunnel 6to4 2002:a00:2::/48 relay - mtu 1280$")
    host.wait_for(_address_line(HOST_6TO4, 16))
    yield Tunnel(topo, host, pcap, TUN)
    assert netns.stop(host) == 0


def ping(topo: Topology, target: str, *extra: str) -> str:
    return topo.peer_run("ping", "-6", "-c", "3", "-i", "0.2", "-W", "2", *extra, target)


def _udp_refused(topo: Topology, target: str) -> str:
    script = (
        "import socket\n"
        "s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)\n"
        "s.settimeout(3)\n"
        f"s.connect(('{target}', 9))\n"
        "s.send(b'anyone?')\n"
        "try:\n"
        "    s.recv(100)\n"
        "except OSError as exc:\n"
        "    print(type(exc).__name__)\n"
    )
    return topo.peer_run(sys.executable, "-c", script).strip()


def _datagrams(pcap: Path) -> list[IP]:
    return [IP(frame) for _, frame in read_pcap(pcap)]


def _check_wire(tunnel: Tunnel, host_v4: str, peer_v4: str) -> list[IP]:
    """tcpip6's pcap: protocol 41 between the two IPv4 ends only, DF clear on what tcpip6
    sent, no Neighbor Discovery or MLD inside (ND is inhibited on the tunnel); tshark
    decodes every frame cleanly."""
    assert netns.stop(tunnel.host) == 0
    datagrams = _datagrams(tunnel.pcap)
    assert datagrams
    assert all(d.proto == 41 for d in datagrams)
    assert {(d.src, d.dst) for d in datagrams} == {(host_v4, peer_v4), (peer_v4, host_v4)}
    assert all(d.flags == 0 for d in datagrams if d.src == host_v4)
    sent = [d[IPv6] for d in datagrams if d.src == host_v4]
    assert not [p for p in sent if p.nh == 58 and p.payload.type in ND_AND_MLD]
    tshark.assert_clean(tunnel.pcap)
    return datagrams


# -- configured tunnel (RFC 4213) ----------------------------------------------------------


def test_configured_tunnel_linux_pings_tcpip6(configured: Tunnel) -> None:
    out = ping(configured.topo, HOST_TUNNEL_ADDR)
    assert "3 received" in out, out
    # RFC 4213 §3.7: tcpip6's link-local address is fe80::V4ADDR.
    out = ping(configured.topo, f"fe80::a00:2%{TUN}")
    assert "3 received" in out, out
    # tcpip6 originates an error too: Port Unreachable for a closed UDP port.
    assert _udp_refused(configured.topo, HOST_TUNNEL_ADDR) == "ConnectionRefusedError"
    datagrams = _check_wire(configured, HOST_V4, PEER_V4)
    replies = [d for d in datagrams if d.src == HOST_V4 and ICMPv6EchoReply in d]
    assert len(replies) == 6
    assert {d[IPv6].src for d in replies} == {HOST_TUNNEL_ADDR, "fe80::a00:2"}


def test_configured_tunnel_big_pings_fragment_to_1280(configured: Tunnel) -> None:
    # 2000 octets of ICMP data: Linux fragments to its TUN's 1280, tcpip6 reassembles and
    # its reply is fragmented to the tunnel MTU (RFC 4213 §3.2.1: 1280).
    out = ping(configured.topo, HOST_TUNNEL_ADDR, "-s", "2000")
    assert "3 received" in out, out
    datagrams = _check_wire(configured, HOST_V4, PEER_V4)
    sent = [d for d in datagrams if d.src == HOST_V4]
    assert len(sent) >= 6 and all(len(d[IPv6]) <= 1280 for d in sent)


# -- 6to4 (RFC 3056) -------------------------------------------------------------------------


def test_sixtofour_linux_pings_tcpip6(sixtofour: Tunnel) -> None:
    out = ping(sixtofour.topo, HOST_6TO4)
    assert "3 received" in out, out
    assert _udp_refused(sixtofour.topo, HOST_6TO4) == "ConnectionRefusedError"
    datagrams = _check_wire(sixtofour, HOST_V4, PEER_V4)
    # The IPv4 next hop of tcpip6's replies is the one 2002:a00:1::1 embeds.
    replies = [d for d in datagrams if ICMPv6EchoReply in d]
    assert len(replies) == 3
    assert {(d.dst, d[IPv6].dst) for d in replies} == {(PEER_V4, PEER_6TO4)}


def test_sixtofour_drops_a_native_source_without_a_relay(sixtofour: Tunnel) -> None:
    # A native source arriving from 10.0.0.1, which is no relay router: dropped, unanswered.
    topo = sixtofour.topo
    topo.peer_run("ip", "-6", "addr", "add", "2001:db8:99::1/64", "dev", TUN, "nodad")
    done = subprocess.run(
        topo.in_peer("ping", "-6", "-c", "1", "-W", "1", "-I", "2001:db8:99::1", HOST_6TO4),
        capture_output=True,
        text=True,
        timeout=netns.COMMAND_TIMEOUT,
    )
    assert done.returncode == 1 and "0 received" in done.stdout, done.stdout
    out = ping(topo, HOST_6TO4)  # the 6to4 source still works
    assert "3 received" in out, out


# -- a real sit tunnel, where the kernel has one ----------------------------------------------


def test_configured_tunnel_against_linux_sit(topology: Topology, tmp_path: Path) -> None:
    topo = topology
    _ipv4_path(topo)
    sit = subprocess.run(
        topo.in_peer("ip", "link", "add", "sit6", "type", "sit", "local", PEER_V4,
                     "remote", HOST_V4, "ttl", "64"),
        capture_output=True,
        text=True,
    )  # fmt: skip
    if sit.returncode != 0:
        print(f"this kernel has no sit ({sit.stderr.strip()}): the TUN + relay variant stands")
        pytest.skip("this kernel has no sit tunnels (ip link add ... type sit failed)")
    topo.peer_run("ip", "link", "set", "sit6", "mtu", "1280", "up")
    topo.peer_run("ip", "-6", "addr", "add", f"{PEER_TUNNEL_ADDR}/64", "dev", "sit6", "nodad")
    pcap = tmp_path / "sit.pcap"
    link = f"tunnel:configured:{HOST_V4}:{PEER_V4}"
    host = _start_host(topo, pcap, "--link", link, "--address", f"tun0={HOST_TUNNEL_ADDR}/64")
    host.wait_for(_address_line(HOST_TUNNEL_ADDR, 64))
    out = ping(topo, HOST_TUNNEL_ADDR)
    assert "3 received" in out, out
    _check_wire(Tunnel(topo, host, pcap, "sit6"), HOST_V4, PEER_V4)
