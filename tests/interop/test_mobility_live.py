"""A live home agent and a live mobile node (``tcpip6 host --home-agent`` and
``--mobile-node``, RFC 6275 §10, §11) in network namespaces this test makes: a Linux
namespace is the correspondent; the mobile node is carried from the home link to one
foreign link and on to another (its veth's far end moved between bridges, its carrier
dropped and raised), while the Linux correspondent pings its home address through the home
agent's tunnel. The pings are answered on every link, and ``tcpip6 show bindings`` of both
ends names the care-of address of the link the node is on.

::

    ns cn (Linux)  c0 ==== h3  ns ha (tcpip6 --router --home-agent h0=HOME)
                                h0 ==== brh  (home)    \
                                h1 ==== brv1 (visit1)   ns sw (bridges)
                                h2 ==== brv2 (visit2)  /
    ns mn (tcpip6 --mobile-node m0=HOA/64,HA)  m0 ==== mn0 on brh, then brv1, then brv2
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import IPv6Address, IPv6Network
from pathlib import Path
from typing import Any

import pytest

from tests.interop import netns
from tests.interop.conftest import _require_root
from tests.interop.netns import LineReader, sh

pytestmark = pytest.mark.interop

HOME = IPv6Network("2001:db8:a10::/64")
VISIT1 = IPv6Network("2001:db8:a20::/64")
VISIT2 = IPv6Network("2001:db8:a30::/64")
CNNET = IPv6Network("2001:db8:a40::/64")
HA = HOME[1]
HOA = HOME[0x100]
CN = CNNET[0xC]
_serial = itertools.count(1)


@dataclass
class Net:
    ns: dict[str, str]
    processes: list[subprocess.Popen[str]]

    def run(self, where: str, *cmd: str) -> str:
        return sh("ip", "netns", "exec", self.ns[where], *cmd)

    def start(self, where: str, *cmd: str) -> LineReader:
        full = ["ip", "netns", "exec", self.ns[where], *cmd]
        proc = subprocess.Popen(
            full, cwd=netns.REPO, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        self.processes.append(proc)
        return LineReader(proc)

    def plug(self, bridge: str) -> None:
        """Carry the mobile node to ``bridge``: its veth's carrier drops, the far end
        moves to the other bridge, the carrier comes back."""
        sw = self.ns["sw"]
        sh("ip", "-n", sw, "link", "set", "mn0", "down")
        sh("ip", "-n", sw, "link", "set", "mn0", "master", bridge)
        sh("ip", "-n", sw, "link", "set", "mn0", "up")


def _veth(a_ns: str, a: str, b_ns: str, b: str) -> None:
    sh("ip", "-n", a_ns, "link", "add", a, "type", "veth", "peer", "name", b, "netns", b_ns)


def _tcpip6_side(ns: str, ifname: str) -> None:
    sh("ip", "netns", "exec", ns, "sysctl", "-qw", f"net.ipv6.conf.{ifname}.disable_ipv6=1")
    sh("ip", "-n", ns, "link", "set", ifname, "up")


@contextlib.contextmanager
def network() -> Iterator[Net]:
    n = next(_serial)
    ns = {k: f"mip-{k}-{os.getpid()}-{n}" for k in ("sw", "ha", "mn", "cn")}
    net = Net(ns, [])
    try:
        for name in ns.values():
            sh("ip", "netns", "add", name)
            sh("ip", "-n", name, "link", "set", "lo", "up")
        sw = ns["sw"]
        for bridge in ("brh", "brv1", "brv2"):
            sh("ip", "-n", sw, "link", "add", bridge, "type", "bridge")
            sh("ip", "netns", "exec", sw, "sysctl", "-qw",
               f"net.ipv6.conf.{bridge}.disable_ipv6=1")  # fmt: skip
            sh("ip", "-n", sw, "link", "set", bridge, "up")
        for i, bridge in enumerate(("brh", "brv1", "brv2")):
            _veth(sw, f"ha{i}", ns["ha"], f"h{i}")
            sh("ip", "-n", sw, "link", "set", f"ha{i}", "master", bridge)
            sh("ip", "-n", sw, "link", "set", f"ha{i}", "up")
            _tcpip6_side(ns["ha"], f"h{i}")
        _veth(sw, "mn0", ns["mn"], "m0")
        sh("ip", "-n", sw, "link", "set", "mn0", "master", "brh")
        sh("ip", "-n", sw, "link", "set", "mn0", "up")
        _tcpip6_side(ns["mn"], "m0")
        _veth(ns["cn"], "c0", ns["ha"], "h3")
        _tcpip6_side(ns["ha"], "h3")
        cn = ns["cn"]
        sh("ip", "netns", "exec", cn, "sysctl", "-qw", "net.ipv6.conf.c0.accept_dad=0")
        sh("ip", "-n", cn, "link", "set", "c0", "up")
        sh("ip", "-n", cn, "-6", "addr", "add", f"{CN}/64", "dev", "c0", "nodad")
        sh("ip", "-n", cn, "-6", "route", "add", "default", "via", str(CNNET[1]), "dev", "c0")
        yield net
    finally:
        for proc in net.processes:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)
        netns.delete_namespaces(*ns.values())


def wait_bound(control: Path, prefix: IPv6Network, timeout: float = 30.0) -> dict[str, Any]:
    """The mobile node's Binding Update List once its home registration names a care-of
    address of ``prefix`` and is acknowledged."""
    end = time.monotonic() + timeout
    data: dict[str, Any] = {}
    while time.monotonic() < end:
        data = netns.show_json(control, "bindings")
        for entry in data.get("binding_update_list", []):
            coa = entry.get("care_of_address")
            if entry.get("state") == "BOUND" and coa and IPv6Address(coa) in prefix:
                return data
        time.sleep(0.5)
    raise AssertionError(f"no binding via {prefix} within {timeout} s: {data}")


def pings(net: Net, count: int) -> int:
    """How many of ``count`` echo requests from the Linux correspondent to the home
    address were answered."""
    done = subprocess.run(
        [
            "ip",
            "netns",
            "exec",
            net.ns["cn"],
            "ping",
            "-6",
            "-n",
            "-c",
            str(count),
            "-i",
            "0.2",
            "-W",
            "2",
            str(HOA),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    m = re.search(r"(\d+) received", done.stdout)
    return int(m.group(1)) if m else 0


def test_pings_to_the_home_address_survive_two_moves(tmp_path: Path) -> None:
    _require_root()
    with network() as net:
        ha_ctl, mn_ctl = tmp_path / "ha.sock", tmp_path / "mn.sock"
        py = [sys.executable, "-u", "-m", "tcpip6", "host"]
        ha = net.start(
            "ha", *py, "--router",
            "--link", "ethernet:h0", "--link", "ethernet:h1",
            "--link", "ethernet:h2", "--link", "ethernet:h3",
            "--address", f"h0={HA}/64", "--address", f"h1={VISIT1[1]}/64",
            "--address", f"h2={VISIT2[1]}/64", "--address", f"h3={CNNET[1]}/64",
            "--advertise", f"h0={HOME}", "--advertise", f"h1={VISIT1}",
            "--advertise", f"h2={VISIT2}",
            "--home-agent", f"h0={HOME}",
            "--control", str(ha_ctl), "--pcap", str(tmp_path / "ha.pcap"),
        )  # fmt: skip
        ha.wait_for(rf"^control socket {ha_ctl}$")
        mn = net.start(
            "mn", *py, "--link", "ethernet:m0",
            "--mobile-node", f"m0={HOA}/64,{HA}",
            "--control", str(mn_ctl), "--pcap", str(tmp_path / "mn.pcap"),
        )  # fmt: skip
        mn.wait_for(rf"^control socket {mn_ctl}$")
        mn.wait_for(rf"^mobile node: home address {HOA}")
        mn.wait_for(rf"^address {HOA}/64 on m0 preferred")
        pings(net, 1)  # the first resolves the neighbors on the way
        # At home: no tunnel, the home agent forwards on the home link.
        assert pings(net, 5) >= 4
        for bridge, prefix in (("brv1", VISIT1), ("brv2", VISIT2)):
            net.plug(bridge)
            data = wait_bound(mn_ctl, prefix)
            (bul,) = data["binding_update_list"]
            care_of = IPv6Address(bul["care_of_address"])
            # RFC 6275 §10.3.1: the home agent's Binding Cache holds the same binding.
            home = netns.show_json(ha_ctl, "bindings")["binding_cache"]
            assert [(e["home_address"], e["care_of_address"]) for e in home] == [
                (str(HOA), str(care_of))
            ]
            # RFC 6275 §10.4.1, RFC 6275 §11.3.1: through the tunnel both ways.
            assert pings(net, 10) >= 9
        ha_rest, mn_rest = ha.lines, mn.lines
        assert not [line for line in ha_rest + mn_rest if "Traceback" in line]
