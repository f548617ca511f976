"""Plug-and-play links of the live host, as Linux sees them.

- ``ip link set veth-h down`` then ``up``: the host hears it over rtnetlink and, when the
  link is back, runs DAD again (an NS from ``::`` for its address, RFC 4862 §5.4.2) and
  solicits routers again (RFC 4861 §6.3.7): Linux's own capture (dumpcap on veth-p,
  decoded by tshark) holds them after the up, with the MLD Reports for its groups again
  (RFC 2710 §4) and the RFC 6059 probe of the router it knew (radvd on the Linux side), and
  Linux pings the host again.
- ``tcpip6 link del veth-h`` / ``tcpip6 link add ethernet:veth-h`` through the control
  socket: while removed Linux's pings go unanswered, added again (a new interface) they
  are answered and the DAD NS went out again.
- The veth pair deleted under the host: it says the link vanished, removes the interface
  (``tcpip6 show interfaces`` no longer lists it) and runs on, and stops cleanly.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from ipaddress import IPv6Address
from pathlib import Path

from tcpip6.wire.ipv6 import solicited_node
from tests.interop import netns
from tests.interop.netns import HOST_IF, PEER_IF, REPO, LineReader, Topology


def capture(topo: Topology, path: Path) -> subprocess.Popen[str]:
    proc = topo.start(topo.in_peer("dumpcap", "-q", "-i", PEER_IF, "-f", "ip6", "-w", str(path)),
                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    end = time.monotonic() + 20
    while not path.exists() or path.stat().st_size == 0:  # dumpcap writes its header first
        assert proc.poll() is None and time.monotonic() < end, "dumpcap did not start"
        time.sleep(0.1)
    return proc


def stop_capture(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=10)


def icmpv6(path: Path, since: float) -> list[tuple[str, int, str]]:
    """(source, ICMPv6 type, NS target) of the ND messages Linux captured after ``since``."""
    out = netns.sh("tshark", "-r", str(path), "-Y", f"frame.time_epoch >= {since} && "
                   "(icmpv6.type == 133 || icmpv6.type == 135)", "-T", "fields", "-e", "ipv6.src",
                   "-e", "icmpv6.type", "-e", "icmpv6.nd.ns.target_address")  # fmt: skip
    rows = [line.split("\t") for line in out.splitlines() if line]
    return [(r[0], int(r[1]), r[2] if len(r) > 2 else "") for r in rows]


def ping(topo: Topology, address: IPv6Address, count: int = 2) -> int:
    done = subprocess.run(
        topo.in_peer("ping", "-6", "-c", str(count), "-W", "1", f"{address}%{PEER_IF}"),
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    return done.returncode


def start(topo: Topology, tmp: Path) -> tuple[LineReader, IPv6Address]:
    host = netns.start_tcpip6_host(topo, tmp / "host.pcap")
    return host, IPv6Address(host.wait_for(netns.link_local_line()).group(1))


def test_link_del_and_add_through_the_control_socket(topology: Topology, tmp_path: Path) -> None:
    host, lla = start(topology, tmp_path)
    control = str((tmp_path / "host.pcap").with_suffix(".sock"))

    def link(*args: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "tcpip6", "link", *args, "--control", control]
        return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=30)

    assert ping(topology, lla) == 0
    done = link("del", HOST_IF)
    assert done.returncode == 0 and done.stdout == f"{HOST_IF} removed\n", done.stderr
    assert ping(topology, lla) != 0
    cap = capture(topology, tmp_path / "linux.pcapng")
    added_at = time.time()
    done = link("add", f"ethernet:{HOST_IF}")
    assert done.returncode == 0 and done.stdout == f"{HOST_IF} attached\n", done.stderr
    host.wait_for(rf"^link {HOST_IF} removed$")
    time.sleep(2.0)
    assert ping(topology, lla) == 0
    stop_capture(cap)
    assert ("::", 135, str(lla)) in icmpv6(tmp_path / "linux.pcapng", added_at)
    bad = link("add", "ethernet:nosuch0")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "nosuch0" in bad.stderr
    assert link("del", "nosuch0").returncode == 2
    assert netns.stop(host) == 0, host.rest()


def test_a_vanished_interface_leaves_the_host_running(topology: Topology, tmp_path: Path) -> None:
    host, _ = start(topology, tmp_path)
    netns.sh("ip", "-n", topology.peer, "link", "del", PEER_IF)  # both ends go
    host.wait_for(rf"^link {HOST_IF} vanished: removed, the host runs on$")
    control = str((tmp_path / "host.pcap").with_suffix(".sock"))
    shown = subprocess.run(
        [sys.executable, "-m", "tcpip6", "show", "interfaces", "--control", control],
        cwd=REPO, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert shown.returncode == 0 and HOST_IF not in shown.stdout, shown.stdout + shown.stderr
    assert netns.stop(host) == 0, "\n".join(host.rest())


RADVD_CONF = netns.radvd_conf("2001:db8:79::/64", 30, 60)


def test_down_and_up_runs_dad_rs_mld_and_probes_the_router_it_knew(
    topology: Topology, tmp_path: Path
) -> None:
    """``ip link set veth-h down``/``up`` with radvd on the Linux side. While down, Linux's
    pings go unanswered. After the up Linux's capture holds the DAD NS from ``::``
    (RFC 4862 §5.4.2), the RS (RFC 4861 §6.3.7), tcpip6's MLD Reports for its groups
    (RFC 2710 §4) and the RFC 6059 probe: a unicast NS for radvd's link-local address, to
    veth-p's MAC, from tcpip6's link-local address; Linux answers it with a solicited NA and
    tcpip6 holds the router REACHABLE; Linux pings tcpip6 again."""
    topology.start_radvd(RADVD_CONF, tmp_path)
    host, lla = start(topology, tmp_path)
    host.wait_for(rf"^address 2001:db8:79:[0-9a-f:]+/64 on {HOST_IF} preferred")
    assert ping(topology, lla) == 0
    peer_lla = topology.peer_run("ip", "-6", "-br", "addr", "show", "dev", PEER_IF, "scope", "link")
    router = peer_lla.split()[2].split("/")[0]
    peer_mac = topology.peer_run("ip", "-br", "link", "show", PEER_IF).split()[2]
    path = tmp_path / "linux.pcapng"
    proc = capture(topology, path)
    netns.sh("ip", "-n", topology.host, "link", "set", HOST_IF, "down")
    host.wait_for(rf"^link {HOST_IF} down$")
    assert ping(topology, lla, 1) != 0
    up_at = time.time()
    netns.sh("ip", "-n", topology.host, "link", "set", HOST_IF, "up")
    host.wait_for(rf"^link {HOST_IF} up again: DAD and router solicitation again$")
    control = (tmp_path / "host.pcap").with_suffix(".sock")
    end = time.monotonic() + 20
    while True:  # DAD (1 s), then the probe and Linux's answer
        shown = subprocess.run(
            [sys.executable, "-m", "tcpip6", "show", "neighbors", "--json", "--control",
             str(control)], cwd=REPO, capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        entries = {n["neighbor"]: n for n in json.loads(shown.stdout)["neighbors"]}
        if entries.get(router, {}).get("state") == "REACHABLE":
            break
        assert time.monotonic() < end, entries
        time.sleep(0.5)
    assert ping(topology, lla, 1) == 0  # the address answers again, DAD over
    time.sleep(1.0)  # the RS follows within MAX_RTR_SOLICITATION_DELAY
    stop_capture(proc)
    seen = icmpv6(path, up_at)
    assert ("::", 135, str(lla)) in seen, seen  # RFC 4862 §5.4.2: DAD again
    assert (str(lla), 133, "") in seen, seen  # RFC 4861 §6.3.7: RS again
    fields = ("eth.dst", "ipv6.src", "ipv6.dst", "icmpv6.type", "icmpv6.nd.ns.target_address",
              "icmpv6.mld.multicast_address", "icmpv6.nd.na.flag.s")  # fmt: skip
    out = netns.sh("tshark", "-r", str(path), "-Y", f"frame.time_epoch >= {up_at} && icmpv6",
                   "-T", "fields", *(a for f in fields for a in ("-e", f)))  # fmt: skip
    rows = [dict(zip(fields, line.split("\t"), strict=False)) for line in out.splitlines()]
    probes = [r for r in rows if r["icmpv6.type"] == "135" and r["ipv6.dst"] == router]
    assert probes, rows
    probe = probes[0]
    assert probe["eth.dst"] == peer_mac and probe["ipv6.src"] == str(lla), probe
    assert probe["icmpv6.nd.ns.target_address"] == router
    answers = [r for r in rows if r["icmpv6.type"] == "136" and r["ipv6.dst"] == str(lla)]
    assert answers and answers[0]["icmpv6.nd.na.flag.s"] in ("1", "True"), rows
    # RFC 2710 §4: the solicited-node group of tcpip6's addresses reported again.
    reports = {r["icmpv6.mld.multicast_address"] for r in rows if r["icmpv6.type"] == "131"}
    assert str(solicited_node(lla)) in reports, rows
    assert netns.stop(host) == 0, host.rest()
