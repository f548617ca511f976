"""tcpip6 host on a TAP device of its own, the Linux kernel on the device's other side.

One namespace holds both: tcpip6 creates ``tap6`` and the kernel's IPv6 on ``tap6`` is the
peer. The kernel forms its link-local address (DAD over the TAP), pings tcpip6's, and keeps
tcpip6 in its neighbor cache with tcpip6's own MAC (not the device's); SIGTERM ends tcpip6
with exit status 0 and the device goes with it; tshark reads tcpip6's pcap cleanly.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from ipaddress import IPv6Address
from pathlib import Path

import pytest

from tests import tshark
from tests.interop import netns
from tests.interop.netns import LineReader, Topology
from tests.interop.test_offload import ECHO

TAP = "tap6"
_serial = itertools.count(1)


@pytest.fixture
def namespace() -> Iterator[Topology]:
    """One namespace (both "peer" and "host" of the Topology), removed afterwards."""
    if os.geteuid() != 0 and not os.environ.get("CI"):
        pytest.skip("interop tests need root (network namespaces and /dev/net/tun)")
    for tool in ("ip", "ping", "tshark"):
        if shutil.which(tool) is None:
            raise AssertionError(f"{tool} is not installed (make test installs it)")
    ns = f"tap-{os.getpid()}-{next(_serial)}"
    topo = Topology(peer=ns, host=ns)
    try:
        netns.sh("ip", "netns", "add", ns)
        netns.sh("ip", "-n", ns, "link", "set", "lo", "up")
        yield topo
    finally:
        netns.remove(topo)


def start_on_tap(topo: Topology, pcap: Path, name: str = TAP) -> LineReader:
    cmd = topo.in_host(sys.executable, "-u", "-m", "tcpip6", "host", "--link", f"tap:{name}")
    cmd += ["--pcap", str(pcap), "--control", str(pcap.with_suffix(".sock"))]
    proc = topo.start(cmd, cwd=netns.REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return LineReader(proc)


def kernel_link_local(topo: Topology) -> IPv6Address:
    """The kernel's link-local address on the TAP, once DAD has finished with it."""
    deadline = time.monotonic() + netns.START_TIMEOUT
    while True:
        shown = topo.peer_run("ip", "-6", "addr", "show", "dev", TAP)
        m = re.search(r"inet6 (fe80::[0-9a-f:]+)/64 scope link(.*)", shown)
        if m and "tentative" not in m.group(2):
            return IPv6Address(m.group(1))
        assert time.monotonic() < deadline, f"no usable link-local address on {TAP}: {shown}"
        time.sleep(0.1)


def test_linux_pings_tcpip6_over_its_tap(namespace: Topology, tmp_path: Path) -> None:
    topo = namespace
    host = start_on_tap(topo, tmp_path / "tap.pcap")
    mac = host.wait_for(rf"^link {TAP} up: tap ([0-9a-f:]{{17}}) mtu 1500$").group(1)
    link_local = IPv6Address(
        host.wait_for(
            rf"^address (fe80::[0-9a-f:]+)/64 on {TAP} preferred "
            r"\(link-local; DAD: no duplicate\)"
        ).group(1)
    )
    # tcpip6's station has a MAC of its own, not the kernel interface's.
    kernel_mac = topo.peer_run("ip", "-br", "link", "show", TAP).split()[2]
    assert mac != kernel_mac
    kernel_address = kernel_link_local(topo)
    assert kernel_address != link_local
    out = topo.peer_run("ping", "-6", "-c", "3", "-i", "0.2", "-W", "2", f"{link_local}%{TAP}")
    assert "3 received" in out, out
    # RFC 4861: the kernel resolved tcpip6's address to tcpip6's MAC.
    neigh = topo.peer_run("ip", "-6", "neigh", "show", "dev", TAP)
    entry = next((ln for ln in neigh.splitlines() if ln.startswith(f"{link_local} ")), "")
    assert f"lladdr {mac}" in entry, neigh
    assert netns.stop(host) == 0, host.rest()
    assert re.match(
        r"stopped by SIGTERM: reset \d+ TCP connections, left \d+ multicast groups", host.rest()[-1]
    )
    # The device was tcpip6's: it went when tcpip6 closed it.
    gone = subprocess.run(topo.in_peer("ip", "link", "show", TAP), capture_output=True)
    assert gone.returncode != 0
    frames = tshark.assert_clean(tmp_path / "tap.pcap")
    infos = " | ".join(f.info for f in frames)
    for what in ("Neighbor Solicitation", "Neighbor Advertisement", "Echo (ping) reply"):
        assert what in infos, infos


def run_host(topo: Topology, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = topo.in_host(sys.executable, "-m", "tcpip6", "host", *args)
    return subprocess.run(cmd, cwd=netns.REPO, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("a-name-too-long-for-linux", "longer than 15 characters"),
        ("lo", "an interface named lo exists already (choose another tap:NAME)"),
    ],
)
def test_unusable_tap_name_is_a_one_line_error(
    namespace: Topology, tmp_path: Path, name: str, message: str
) -> None:
    done = run_host(namespace, "--link", f"tap:{name}", "--control", str(tmp_path / "c.sock"))
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert message in done.stderr


def test_tcp_echo_over_the_tap_with_offload(namespace: Topology, tmp_path: Path) -> None:
    """The kernel sends 600 KB through tcpip6's echo service over the TAP and gets it back
    byte for byte. With offload (``IFF_VNET_HDR``, ``TUNSETOFFLOAD``) the kernel hands
    tcpip6 its TSO segments whole and takes tcpip6's segments of several MSS to cut up
    (the port's counters say so); tshark finds no malformed frame and no bad checksum in
    the pcap (the segments the kernel made of tcpip6's)."""
    topo = namespace
    pcap = tmp_path / "tap.pcap"
    cmd = topo.in_host(sys.executable, "-u", "-m", "tcpip6", "host", "--link", f"tap:{TAP}")
    cmd += ["--pcap", str(pcap), "--control", str(pcap.with_suffix(".sock"))]
    cmd += ["--serve", "echo"]
    host = LineReader(
        topo.start(cmd, cwd=netns.REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    )
    host.wait_for(rf"^link {TAP} offload: gso\+gro$")
    link_local = host.wait_for(
        rf"^address (fe80::[0-9a-f:]+)/64 on {TAP} preferred \(link-local; DAD: no duplicate\)"
    ).group(1)
    host.wait_for(r"^serving echo ")
    kernel_link_local(topo)
    echoed = subprocess.run(
        topo.in_peer(sys.executable, "-c", ECHO, f"{link_local}%{TAP}", "600000"),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert echoed.returncode == 0, echoed.stderr
    assert echoed.stdout.strip() == "echoed"
    port = netns.show_json(pcap.with_suffix(".sock"), "counters")["extra"][f"{TAP} port"]
    assert port["large_frames_sent"] > 0 and port["large_frames_received"] > 0
    assert netns.stop(host) == 0, host.rest()
    # A bulk echo fills windows (tshark's expert notes say so): malformed frames and bad
    # checksums are what must not be there.
    frames = tshark.read(pcap)
    assert frames and not [f for f in frames if f.malformed or f.bad_checksum]
