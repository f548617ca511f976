"""``tcpip6 show`` against a live host: the Linux peer pings tcpip6 and sends it a UDP echo;
the control socket then lists the peer in the neighbor cache with its MAC, the address
the host printed, and the datagram in the UDP counters. The socket goes when the host
exits."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.interop import netns
from tests.interop.live import Live, live_host
from tests.interop.netns import HOST_IF, PEER_IF, Topology


@pytest.fixture(scope="module")
def live(module_topology: Topology, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    tmp = tmp_path_factory.mktemp("show")
    serving = r"^serving echo 7/udp 7/tcp$"
    with live_host(module_topology, tmp, "--serve", "echo", ready=(serving,)) as live:
        yield live
    # The socket file goes with the host.
    assert not live.control.exists()


def show(live: Live, view: str, *flags: str) -> subprocess.CompletedProcess[str]:
    """``tcpip6 show`` from outside the namespaces: a Unix socket is a file, not a link."""
    cmd = [sys.executable, "-m", "tcpip6", "show", "--control", str(live.control), *flags, view]
    return subprocess.run(cmd, cwd=netns.REPO, capture_output=True, text=True, timeout=60)


def show_json(live: Live, view: str) -> dict[str, Any]:
    done = show(live, view, "--json")
    assert done.returncode == 0, done.stderr
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def peer_mac(topo: Topology) -> str:
    return netns.sh("ip", "-n", topo.peer, "-br", "link", "show", PEER_IF).split()[2]


def peer_link_local(topo: Topology) -> str:
    text = topo.peer_run("ip", "-6", "-br", "addr", "show", "dev", PEER_IF, "scope", "link")
    return text.split()[2].split("/")[0]


def test_neighbors_lists_the_linux_peer_with_its_mac(live: Live) -> None:
    out = live.topo.peer_run("ping", "-6", "-c", "2", "-i", "0.2", "-W", "2",
                             f"{live.link_local}%{PEER_IF}")  # fmt: skip
    assert "2 received" in out, out
    peer = peer_link_local(live.topo)
    entries = {n["neighbor"]: n for n in show_json(live, "neighbors")["neighbors"]}
    assert peer in entries, entries
    assert entries[peer]["link_address"] == peer_mac(live.topo)
    assert entries[peer]["interface"] == HOST_IF and entries[peer]["is_router"] is False
    done = show(live, "neighbors")
    assert done.returncode == 0, done.stderr
    assert f"{peer} dev {HOST_IF} lladdr {peer_mac(live.topo)} " in done.stdout


def test_addresses_agree_with_the_line_the_host_printed(live: Live) -> None:
    addresses = show_json(live, "addresses")["addresses"]
    (entry,) = [a for a in addresses if a["address"] == str(live.link_local)]
    assert entry["prefix_length"] == 64 and entry["interface"] == HOST_IF
    assert entry["state"] == "PREFERRED" and entry["origin"] == "link-local"
    assert entry["valid_lft"] is None  # forever
    done = show(live, "addresses")
    assert f"    inet6 {live.link_local}/64 scope link link-local PREFERRED" in done.stdout


def test_udp_echo_from_linux_comes_back_and_is_counted(live: Live) -> None:
    before = show_json(live, "counters")["udp"]
    script = (
        "import socket\n"
        "s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)\n"
        "s.settimeout(5)\n"
        f"s.connect(('{live.link_local}', 7, 0, socket.if_nametoindex('{PEER_IF}')))\n"
        "for _ in range(3):\n"
        "    s.send(b'hello, tcpip6')\n"
        "    try:\n"
        "        print(s.recv(100).decode())\n"
        "        break\n"
        "    except TimeoutError:\n"
        "        pass\n"
    )
    out = live.topo.peer_run(sys.executable, "-c", script, timeout=30)
    assert out.splitlines()[0] == "hello, tcpip6", out
    after = show_json(live, "counters")["udp"]
    assert after["in_datagrams"] > before["in_datagrams"]
    assert after["out_datagrams"] > before["out_datagrams"]
    text = show(live, "counters").stdout.splitlines()
    i = text.index("Udp6:")
    assert f"    {after['in_datagrams']} in_datagrams" in text[i:]
    for name in ("connections", "sockets"):  # "sockets": the older name
        rows = [line.split() for line in show(live, name).stdout.splitlines()]
        assert ["udp", "UNCONN", "0", "0", "[::]:7", "*"] in rows, rows


def test_every_view_answers(live: Live) -> None:
    for view in ("interfaces", "routes", "destinations"):
        done = show(live, view)
        assert done.returncode == 0, (view, done.stderr)
    (iface,) = show_json(live, "interfaces")["interfaces"]
    assert iface["name"] == HOST_IF
    assert iface["link_address"] == live.topo.host_mac().hex(":")


def test_show_after_the_host_is_gone(topology: Topology, tmp_path: Path) -> None:
    control = tmp_path / "gone.sock"
    host = netns.start_tcpip6_host(topology, tmp_path / "h.pcap", "--control", str(control))
    host.wait_for(rf"^control socket {control}$")
    assert control.is_socket()
    assert netns.stop(host) == 0
    assert not control.exists()
    done = subprocess.run(
        [sys.executable, "-m", "tcpip6", "show", "--control", str(control), "neighbors"],
        cwd=netns.REPO, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr == f"tcpip6 show: no control socket at {control} (is tcpip6 host running?)\n"


def test_ping6_and_tracert6_run_inside_the_host(live: Live) -> None:
    """``tcpip6 ping6 --control``: the live host pings the Linux peer with its own stack,
    and the lines come back through the control socket."""
    target = f"{peer_link_local(live.topo)}%{HOST_IF}"
    base = [sys.executable, "-m", "tcpip6"]
    ping = [*base, "ping6", "--control", str(live.control), "-c", "3", "-i", "0.2", target]
    done = subprocess.run(ping, cwd=netns.REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    address = target.split("%")[0]
    assert lines[0] == f"PING {target}({address}) 56 data bytes", lines
    replies = [line for line in lines if " bytes from fe80::" in line]
    assert len(replies) == 3 and all("ttl=64" in line for line in replies), lines
    assert "3 packets transmitted, 3 received, 0% packet loss" in done.stdout
    trace = [*base, "tracert6", "--control", str(live.control), "-q", "1", target]
    done = subprocess.run(trace, cwd=netns.REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    hops = [line for line in done.stdout.splitlines() if line.startswith("  1 ")]
    assert len(hops) == 1 and hops[0].endswith(address), done.stdout
