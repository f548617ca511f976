"""``tcpip6 6to4cfg IFNAME`` reads the interface's IPv4 address (in a namespace of the
test's own, so the machine's interfaces play no part), and the host it prints runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.interop import netns
from tests.interop.netns import HOST_IF, REPO, Topology
from tests.interop.test_tunnels import HOST_V4, _ipv4_path, _start_host


def test_6to4cfg_reads_an_interface_and_its_command_line_runs(
    topology: Topology, tmp_path: Path
) -> None:
    topo = topology
    _ipv4_path(topo)
    cmd = topo.in_host(sys.executable, "-m", "tcpip6", "6to4cfg", HOST_IF, "--relay", "anycast")
    out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == f"IPv4 address     {HOST_V4} (from {HOST_IF})"
    assert lines[1].startswith("6to4 prefix      2002:a00:2::/48")
    command = next(line.split() for line in lines if line.startswith("  tcpip6 host"))
    assert command == ["tcpip6", "host", "--link", f"tunnel:6to4:{HOST_V4}:192.88.99.1"]
    host = _start_host(topo, tmp_path / "cfg.pcap", *command[2:])
    host.wait_for(r"^link tun0 up: tunnel 6to4 2002:a00:2::/48 relay 192.88.99.1 mtu 1280$")
    host.wait_for(r"^address 2002:a00:2::a00:2/16 on tun0 preferred")
    assert netns.stop(host) == 0
    # An interface without an IPv4 address: a one-line error.
    netns.sh(
        "ip", "-n", topo.host, "link", "add", "noaddr6", "type", "veth", "peer", "name", "noaddr6p"
    )
    cmd = topo.in_host(sys.executable, "-m", "tcpip6", "6to4cfg", "noaddr6")
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr == "tcpip6 6to4cfg: noaddr6 has no IPv4 address (ip -4 addr show noaddr6)\n"
