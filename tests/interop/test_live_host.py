"""tcpip6 host on one end of a veth pair, the Linux kernel on the other.

The Linux peer pings tcpip6's link-local address and the global address tcpip6 forms by
SLAAC from radvd's advertisements, and keeps tcpip6 in its neighbor cache with the right
MAC; SIGTERM ends tcpip6 with exit status 0 and an MLD Done that the Linux end receives;
tshark reads tcpip6's pcap without a complaint.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import IPv6Address
from pathlib import Path

import pytest

from tcpip6.io.pcap import read_pcap
from tcpip6.wire.ethernet import ETHERTYPE_IPV6, EthernetHeader
from tcpip6.wire.ipv6 import split
from tests import tshark
from tests.interop import netns
from tests.interop.netns import HOST_IF, PEER_IF, LineReader, Topology

PREFIX = "2001:db8:77::"
PEER_GLOBAL = "2001:db8:77::1"
RADVD_CONF = netns.radvd_conf(f"{PREFIX}/64")
ICMPV6 = 58
MLD_DONE = 132


@dataclass
class Lan:
    topo: Topology
    host: LineReader
    link_local: IPv6Address
    mac: bytes
    radvd_log: Path


@pytest.fixture(scope="module")
def lan(module_topology: Topology, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lan]:
    """radvd advertising 2001:db8:77::/64 from the Linux peer, tcpip6 host on the other end."""
    topo = module_topology
    tmp = tmp_path_factory.mktemp("lan")
    log = tmp / "radvd.log"
    topo.start_radvd(RADVD_CONF, tmp, peer_address=PEER_GLOBAL, log=log)
    host = netns.start_tcpip6_host(topo, tmp / "host.pcap")
    link_local = IPv6Address(host.wait_for(netns.link_local_line()).group(1))
    yield Lan(topo, host, link_local, topo.host_mac(), log)
    netns.stop(host)


def ping(topo: Topology, target: str) -> str:
    return topo.peer_run("ping", "-6", "-c", "3", "-i", "0.2", "-W", "2", target)


def test_linux_pings_the_link_local_address(lan: Lan) -> None:
    out = ping(lan.topo, f"{lan.link_local}%{PEER_IF}")
    assert "3 received" in out, out
    # RFC 4861: Linux resolved tcpip6's address to the MAC of veth-h and confirmed it.
    neigh = lan.topo.peer_run("ip", "-6", "neigh", "show", "dev", PEER_IF)
    entry = next((ln for ln in neigh.splitlines() if ln.startswith(f"{lan.link_local} ")), "")
    assert f"lladdr {lan.mac.hex(':')}" in entry, neigh
    assert re.search(r"\b(REACHABLE|STALE|DELAY|PROBE)\b", entry), neigh


def test_slaac_from_radvd_then_linux_pings_the_global_address(lan: Lan) -> None:
    # RFC 4862 §5.5.3: the prefix plus the EUI-64 interface identifier of veth-h's MAC.
    try:
        m = lan.host.wait_for(
            rf"^address ({PREFIX[:-1]}[0-9a-f:]+)/64 on {HOST_IF} preferred \(autoconf; "
            r"DAD: no duplicate\)"
        )
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nradvd: {lan.radvd_log.read_text()}") from None
    address = IPv6Address(m.group(1))
    assert address.packed[8:] == lan.link_local.packed[8:]
    out = ping(lan.topo, str(address))
    assert "3 received" in out, out


def test_udp_to_a_closed_port_is_refused(lan: Lan) -> None:
    # Linux leaves the UDP checksum to veth's offload: the port completes it, so tcpip6
    # accepts the datagram and answers Port Unreachable (RFC 4443 §3.1, code 4), which
    # Linux reports on the connected socket as ECONNREFUSED.
    script = (
        "import socket\n"
        "s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)\n"
        "s.settimeout(3)\n"
        f"s.connect(('{lan.link_local}', 9, 0, socket.if_nametoindex('{PEER_IF}')))\n"
        "s.send(b'anyone?')\n"
        "try:\n"
        "    s.recv(100)\n"
        "except OSError as exc:\n"
        "    print(type(exc).__name__)\n"
    )
    out = lan.topo.peer_run(sys.executable, "-c", script)
    assert out.strip() == "ConnectionRefusedError"


def test_router_mode_linux_autoconfigures_from_tcpip6(topology: Topology, tmp_path: Path) -> None:
    router = "2001:db8:88::1"
    host = netns.start_tcpip6_host(
        topology,
        tmp_path / "router.pcap",
        "--router",
        f"--address={HOST_IF}={router}/64",
        f"--advertise={HOST_IF}=2001:db8:88::/64",
    )
    host.wait_for(rf"^address {router}/64 on {HOST_IF} preferred \(static; DAD: no duplicate\)")
    # RFC 4862 §5.5.3: Linux forms an address from the prefix tcpip6 advertises.
    deadline = time.monotonic() + netns.START_TIMEOUT
    while "2001:db8:88:" not in (
        shown := topology.peer_run("ip", "-6", "addr", "show", "dev", PEER_IF)
    ):
        assert time.monotonic() < deadline, f"no SLAAC address on {PEER_IF}: {shown}"
        time.sleep(0.2)
    assert "3 received" in ping(topology, router)
    route = topology.peer_run("ip", "-6", "route", "show", "default")
    assert f"dev {PEER_IF}" in route and "proto ra" in route, route
    assert netns.stop(host) == 0


def mld_dones(path: Path, src: IPv6Address) -> list[IPv6Address]:
    """The groups of the MLD Done messages from ``src`` in a pcap."""
    groups = []
    for _, frame in read_pcap(path):
        eth = EthernetHeader.parse(frame)
        if eth.ethertype != ETHERTYPE_IPV6:
            continue
        hdr, payload = split(frame[EthernetHeader.HEADER_LEN :])
        # MLD comes after a Hop-by-Hop header (RFC 2710 §3): its length is in octet 1.
        if hdr.src != src or hdr.next_header != 0 or payload[0] != ICMPV6:
            continue
        icmp = payload[(payload[1] + 1) * 8 :]
        if icmp[0] == MLD_DONE:
            groups.append(IPv6Address(bytes(icmp[8:24])))
    return groups


def test_sigterm_sends_mld_done_and_exits_0(topology: Topology, tmp_path: Path) -> None:
    witness = netns.start_sniffer(topology, tmp_path / "peer.pcap")
    host = netns.start_tcpip6_host(topology, tmp_path / "host.pcap")
    link_local = IPv6Address(host.wait_for(netns.link_local_line()).group(1))
    assert "3 received" in ping(topology, f"{link_local}%{PEER_IF}")
    assert netns.stop(host) == 0, host.rest()
    assert re.match(
        r"stopped by SIGTERM: reset \d+ TCP connections, left \d+ multicast groups", host.rest()[-1]
    )
    assert netns.stop(witness) == 0, witness.rest()
    # RFC 2710 §5: Done for the solicited-node group of the address (RFC 4291 §2.7.1),
    # never for all-nodes; on the wire (the Linux end got it) and in tcpip6's own pcap.
    solicited = IPv6Address("ff02::1:ff00:0").packed[:13] + link_local.packed[13:]
    assert mld_dones(tmp_path / "peer.pcap", link_local) == [IPv6Address(solicited)]
    assert mld_dones(tmp_path / "host.pcap", link_local) == [IPv6Address(solicited)]
    # tshark reads every frame: no malformed packet, no bad checksum, no warning.
    frames = tshark.assert_clean(tmp_path / "host.pcap")
    infos = " | ".join(f.info for f in frames)
    for what in ("Neighbor Solicitation", "Neighbor Advertisement", "Echo (ping) reply"):
        assert what in infos, infos
    assert any("Multicast Listener Done" in f.info for f in frames), infos


def run_host(topo: Topology, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = topo.in_host(sys.executable, "-m", "tcpip6", "host", *args)
    return subprocess.run(cmd, cwd=netns.REPO, capture_output=True, text=True, timeout=60)


def test_unknown_interface_is_a_one_line_error(topology: Topology) -> None:
    done = run_host(topology, "--link", "ethernet:no-such-if0")
    assert done.returncode == 1
    assert (
        done.stderr == "tcpip6 host: no interface named 'no-such-if0' ('ip link show' lists them)\n"
    )


def test_kernel_ipv6_left_on_is_a_one_line_error_with_the_fix(topology: Topology) -> None:
    cmd = topology.in_peer(sys.executable, "-m", "tcpip6", "host", "--link", f"ethernet:{PEER_IF}")
    done = subprocess.run(cmd, cwd=netns.REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert f"sysctl -w net.ipv6.conf.{PEER_IF}.disable_ipv6=1" in done.stderr


def test_trace_prints_the_live_graphs_and_draws_them(topology: Topology, tmp_path: Path) -> None:
    """``tcpip6 host --trace --trace-format json``: every state change of the live host as
    it happens, with its RFC section; ``tcpip6 diagram --highlight`` draws the run."""
    import json

    host = netns.start_tcpip6_host(
        topology, tmp_path / "host.pcap", "--trace", "--trace-format", "json"
    )
    link_local = IPv6Address(host.wait_for(netns.link_local_line()).group(1))
    assert "3 received" in ping(topology, f"{link_local}%{PEER_IF}")
    assert netns.stop(host) == 0
    records = [json.loads(line) for line in host.rest() if line.startswith("{")]
    dad = [r for r in records if r["graph"] == "dad" and str(link_local) in r["entity"]]
    # RFC 4429 §3.3: the live host's Optimistic DAD (its default).
    assert [(r["old"], r["new"]) for r in dad] == [
        ("TENTATIVE", "OPTIMISTIC"),
        ("OPTIMISTIC", "PREFERRED"),
    ]
    assert all(r["rfc"].startswith("4429 §3.3") for r in dad)
    # The Linux peer's NS made an NCE; ping traffic moved it on (RFC 4861 §7.2.3, RFC 4861 §7.3.3).
    assert any(r["graph"] == "nce" and r["rfc"].startswith("4861") for r in records)
    trace = tmp_path / "run.json"
    trace.write_text("".join(json.dumps(r) + "\n" for r in records))
    drawn = subprocess.run(
        [sys.executable, "-m", "tcpip6", "diagram", "dad", "--highlight", str(trace)],
        cwd=netns.REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert drawn.returncode == 0, drawn.stderr
    assert re.search(r'"TENTATIVE" -> "OPTIMISTIC" \[label="1x [^"]*" color="red"', drawn.stdout)
