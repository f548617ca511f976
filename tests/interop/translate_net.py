"""The translator's live network (see test_translate_live.py's picture): an IPv6-only Linux
namespace, tcpip6 host translating on AF_PACKET and a TUN device, and an IPv4-only Linux
namespace behind the translator namespace's kernel, with an HTTP server of a directory.
Made and removed (also on failure) by :func:`translator_network`; namespaces carry the
pid. Used by tests/interop/test_translate_live.py and bench/live_translate.py."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Network
from pathlib import Path
from typing import Any

from tcpip6.io.control import request
from tcpip6.stack.translate.rfc6052 import Rfc6052Prefix
from tests.interop import netns
from tests.interop.netns import HOST_IF, PEER_IF, LineReader, Topology, sh

PREFIX = Rfc6052Prefix(IPv6Network("2001:db8:64::/96"))
H6 = "2001:db8:1::10"
ROUTER6 = "2001:db8:1::1"
H4 = "198.51.100.2"
H4_SMALL_MTU = "198.51.100.3"  # reached over a route with MTU 1300
KERNEL4 = "198.51.100.1"
H6_AS_V4 = "192.0.2.16"  # SIIT's EAM
XLAT4 = "192.0.2.1"  # the translator's own IPv4 address (NAT64: its first pool address)
POOL4 = "192.0.2.0/28"
TUN = "xlat"
V4_IF, X4_IF = "veth-4", "veth-x4"
ROUTE_MTU = 1300
HTTP_PORT = 8080
UDP_PORT = 9999
BIG = 10 * 1024 * 1024
#: NAT64 lifetimes (seconds) short enough to watch sessions expire, long enough for two
#: ``tcpip6 show`` to look at one on a loaded machine
SHORT = 3.0


def v6(v4: str) -> str:
    """An IPv4 host as the IPv6 side sees it (RFC 6052 §2.3)."""
    address = PREFIX.embed(IPv4Address(v4))
    assert address is not None
    return str(address)


@dataclass
class Net:
    mode: str
    topo: Topology
    v4: str
    host: LineReader
    control: Path
    www: Path

    def in_v4(self, *cmd: str) -> list[str]:
        return ["ip", "netns", "exec", self.v4, *cmd]

    def v4_run(self, *cmd: str, timeout: float = netns.COMMAND_TIMEOUT) -> str:
        return sh(*self.in_v4(*cmd), timeout=timeout)

    def show(self, *flags: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "tcpip6", "show", "--control", str(self.control), *flags]
        return subprocess.run(cmd, cwd=netns.REPO, capture_output=True, text=True, timeout=60)

    def translations(self) -> dict[str, Any]:
        """The ``translations`` view, asked of the control socket as ``tcpip6 show`` asks
        (in-process: a Python start-up on a loaded machine takes seconds, longer than the
        NAT64 sessions live here)."""
        return request(self.control, {"show": "translations"})


def _wire(topo: Topology, v4: str) -> None:
    """The IPv4-only namespace and its veth to the translator's; the IPv6-only peer."""
    sh("ip", "netns", "add", v4)
    sh("ip", "-n", v4, "link", "add", V4_IF, "type", "veth", "peer", "name", X4_IF,
       "netns", topo.host)  # fmt: skip
    for ns, cmd in (
        (v4, "net.ipv6.conf.all.disable_ipv6=1"),
        (v4, "net.ipv6.conf.default.disable_ipv6=1"),
        (topo.host, "net.ipv4.ip_forward=1"),
    ):
        sh("ip", "netns", "exec", ns, "sysctl", "-qw", cmd)
    sh("ip", "-n", v4, "link", "set", "lo", "up")
    sh("ip", "-n", v4, "link", "set", V4_IF, "up")
    sh("ip", "-n", v4, "addr", "add", f"{H4}/24", "dev", V4_IF)
    sh("ip", "-n", v4, "addr", "add", f"{H4_SMALL_MTU}/24", "dev", V4_IF)
    sh("ip", "-n", v4, "route", "add", "default", "via", KERNEL4)
    sh("ip", "-n", topo.host, "link", "set", X4_IF, "up")
    sh("ip", "-n", topo.host, "addr", "add", f"{KERNEL4}/24", "dev", X4_IF)
    # RFC 1191: the translator's kernel forwards to .3 over a path of MTU 1300 only.
    sh("ip", "-n", topo.host, "route", "add", f"{H4_SMALL_MTU}/32", "dev", X4_IF,
       "mtu", str(ROUTE_MTU))  # fmt: skip
    # The IPv6-only peer: a global address (no DAD wait), the prefix through tcpip6.
    sh("ip", "-n", topo.peer, "addr", "add", f"{H6}/64", "dev", PEER_IF, "nodad")
    sh("ip", "-n", topo.peer, "-6", "route", "add", str(PREFIX.prefix), "via", ROUTER6)


def _translator_args(mode: str, lifetime: float) -> list[str]:
    if mode == "siit":
        return ["--translate", f"siit:{PREFIX.prefix}", "--tun", TUN,
                "--eam", f"{H6_AS_V4}/32={H6}/128", "--translator-ipv4", XLAT4]  # fmt: skip
    lifetimes = f"udp={lifetime},icmp={lifetime},tcp-trans={lifetime}"
    return ["--translate", f"nat64:{PREFIX.prefix}", "--tun", TUN, "--pool4", POOL4,
            "--nat64-lifetimes", lifetimes]  # fmt: skip


def _wait_listening(ns: str, port: int, proc: subprocess.Popen[str], timeout: float = 20) -> None:
    """Until a TCP socket listens on ``port`` in ``ns`` (``proc``, the server, still runs)."""
    end = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < end:
        if sh("ip", "netns", "exec", ns, "ss", "-Hltn", f"sport = :{port}").strip():
            return
        time.sleep(0.1)
    raise AssertionError(f"nothing listens on port {port} in {ns} (exit status {proc.poll()})")


@contextlib.contextmanager
def translator_network(mode: str, www: Path, lifetime: float = SHORT) -> Iterator[Net]:
    """SIIT or NAT64 (``mode``) between the two namespaces, the IPv4 host serving ``www``
    over HTTP on HTTP_PORT; everything removed afterwards."""
    with netns.topology() as topo:
        v4 = f"v4-{os.getpid()}-{mode}"
        try:
            _wire(topo, v4)
            control = www.parent / f"{mode}.sock"
            cmd = topo.in_host(sys.executable, "-u", "-m", "tcpip6", "host",
                               "--link", f"ethernet:{HOST_IF}",
                               "--address", f"{HOST_IF}={ROUTER6}/64",
                               "--control", str(control),
                               *_translator_args(mode, lifetime))  # fmt: skip
            proc = topo.start(cmd, cwd=netns.REPO, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT)  # fmt: skip
            host = LineReader(proc)
            host.wait_for(rf"^translator {mode} .* dev {TUN} .*mtu 1500$")
            host.wait_for(rf"^address {ROUTER6}/64 on {HOST_IF} preferred")
            host.wait_for(rf"^control socket {control}$")
            sh("ip", "-n", topo.host, "route", "add", "192.0.2.0/24", "dev", TUN)
            http = topo.start(
                ["ip", "netns", "exec", v4, sys.executable, "-m", "http.server", "--bind",
                 "0.0.0.0", "--directory", str(www), str(HTTP_PORT)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            _wait_listening(v4, HTTP_PORT, http)
            yield Net(mode, topo, v4, host, control, www)
            assert netns.stop(host) == 0, host.rest()
        finally:
            netns.delete_namespaces(v4)
