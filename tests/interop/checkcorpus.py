"""Captures of the Linux kernel talking to itself, made by the tests in network namespaces
they create (never downloaded), for ``tcpip6 check`` to judge.

Two namespaces, ``lx-a-<pid>-<n>`` and ``lx-b-<pid>-<n>``, a veth pair between them with
the kernel's IPv6 on at both ends, and dumpcap on b's end writing pcapng. With
``querier=True`` b's end is a port of a Linux bridge that is the link's MLD querier, and b's
addresses go on the bridge. What runs on the link is up to the caller: :func:`linux_capture`
yields the pair once the capture runs and returns when the capture file is closed.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.interop.netns import REPO, delete_namespaces, sh

_serial = itertools.count(1)
A_IF, B_IF = "lx-a0", "lx-b0"
BRIDGE = "lx-br"
#: The bridge querier's timers, in centiseconds as the bridge takes them: a General Query
#: every 2 s, Maximum Response Delay 1 s (RFC 2710 §7.2, RFC 2710 §7.3 defaults: 125 s, 10 s).
QUERY_INTERVAL_CS, QUERY_RESPONSE_INTERVAL_CS = 200, 100
A_ADDR, B_ADDR = "2001:db8:c::a", "2001:db8:c::b"

SERVER = """
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::", int(sys.argv[1])))
s.listen(4)
print("listening", flush=True)
for _ in range(int(sys.argv[2])):
    c, _ = s.accept()
    n = 0
    try:
        while True:
            d = c.recv(65536)
            if not d:
                break
            n += len(d)
        c.sendall(str(n).encode())
    except ConnectionResetError:
        pass
    c.close()
"""

CLIENT = """
import socket, struct, sys
host, port, size, abort = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
c = socket.create_connection((host, port), timeout=60)
c.sendall(bytes(range(256)) * (size // 256))
if abort:
    # SO_LINGER (1, 0): close with an RST (RFC 9293 §3.10.5 ABORT).
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()
    print("aborted")
else:
    c.shutdown(socket.SHUT_WR)
    print(c.recv(64).decode())
    c.close()
"""

SIMULTANEOUS = """
import socket, sys
role, peer, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
filler = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
filler.bind(("::", 9))  # the peer's filler lands here (no port unreachable)
if role == "server":
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::", port))
    s.listen(1)
    print("listening", flush=True)
    c, _ = s.accept()
else:
    c = socket.create_connection((peer, port), timeout=30)
print("connected", flush=True)
sys.stdin.readline()  # both ends go at once
# Datagrams queued ahead of the FIN in the rate-limited qdisc: each FIN leaves its host
# only after the other end has sent its own.
for _ in range(10):
    filler.sendto(bytes(1200), (peer, 9))
c.shutdown(socket.SHUT_WR)
assert c.recv(16) == b""
c.close()
print("closed", flush=True)
"""


@dataclass
class LinuxPair:
    a: str
    b: str
    #: The interface that holds b's addresses (its veth end, or the bridge).
    b_if: str = B_IF

    def run_a(self, *cmd: str, timeout: float = 60) -> str:
        return sh("ip", "netns", "exec", self.a, *cmd, timeout=timeout)

    def run_b(self, *cmd: str, timeout: float = 60) -> str:
        return sh("ip", "netns", "exec", self.b, *cmd, timeout=timeout)

    def simultaneous_close(self, port: int) -> None:
        """A connection from a to b that both ends close at once (RFC 9293 §3.6, case 3):
        each FIN waits behind 12 KB of datagrams in a 200 kbit/s qdisc, so both are sent
        before either arrives. The routes to the peers say rto_min 1 s, so the FINs that
        wait are not sent again (Linux's own minimum is 200 ms), and the tail loss probe
        (RFC 8985 §7, which rto_min does not bound) is off: the delayed FIN would otherwise
        be probed at 2·SRTT, as soon as half a second, on a loaded machine."""
        for run, ifname, peer in ((self.run_a, A_IF, B_ADDR), (self.run_b, self.b_if, A_ADDR)):
            run("ip", "-6", "route", "add", f"{peer}/128", "dev", ifname, "rto_min", "1s")
            run("sysctl", "-qw", "net.ipv4.tcp_early_retrans=0")
        for ns, ifname in ((self.a, A_IF), (self.b, B_IF)):
            sh("ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", ifname, "root", "tbf",
               "rate", "200kbit", "burst", "1600", "limit", "100000")  # fmt: skip
        ends = []
        try:
            for ns, role, peer in ((self.b, "server", A_ADDR), (self.a, "client", B_ADDR)):
                proc = subprocess.Popen(
                    ["ip", "netns", "exec", ns, sys.executable, "-c", SIMULTANEOUS, role, peer,
                     str(port)],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                )  # fmt: skip
                ends.append(proc)
                assert proc.stdout is not None
                if role == "server":
                    assert proc.stdout.readline().strip() == "listening"
            for proc in ends:
                assert proc.stdout is not None
                assert proc.stdout.readline().strip() == "connected"
            for proc in ends:
                assert proc.stdin is not None
                proc.stdin.write("go\n")
                proc.stdin.flush()
            for proc in ends:
                assert proc.stdout is not None
                assert proc.stdout.readline().strip() == "closed"
                assert proc.wait(timeout=30) == 0
        finally:
            for proc in ends:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            for ns, ifname in ((self.a, A_IF), (self.b, B_IF)):
                subprocess.run(["ip", "netns", "exec", ns, "tc", "qdisc", "del", "dev", ifname,
                                "root"], capture_output=True)  # fmt: skip

    def transfer(self, size: int, port: int, abort: bool = False) -> str:
        """``size`` octets from a to b over TCP; b answers how many it counted."""
        server = subprocess.Popen(
            ["ip", "netns", "exec", self.b, sys.executable, "-c", SERVER, str(port), "1"],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert server.stdout is not None
            assert server.stdout.readline().strip() == "listening"
            out = self.run_a(
                sys.executable, "-c", CLIENT, B_ADDR, str(port), str(size), "1" if abort else "0"
            )
            server.wait(timeout=60)
            return out.strip()
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()


@contextlib.contextmanager
def linux_capture(path: Path, querier: bool = False) -> Iterator[LinuxPair]:
    """Two Linux namespaces joined by a veth, captured on b's end into ``path``; with
    ``querier``, b's end is a port of a bridge that sends MLD General Queries."""
    n, pid = next(_serial), os.getpid()
    pair = LinuxPair(a=f"lx-a-{pid}-{n}", b=f"lx-b-{pid}-{n}", b_if=BRIDGE if querier else B_IF)
    capture: subprocess.Popen[str] | None = None
    try:
        sh("ip", "netns", "add", pair.a)
        sh("ip", "netns", "add", pair.b)
        sh("ip", "-n", pair.a, "link", "add", A_IF, "type", "veth", "peer", "name", B_IF,
           "netns", pair.b)  # fmt: skip
        for ns in (pair.a, pair.b):
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        # dumpcap needs its interface up; without its peer it has no carrier yet, so
        # nothing (DAD, router solicitation) starts before the capture does.
        sh("ip", "-n", pair.b, "link", "set", B_IF, "up")
        if querier:
            # The bridge is the link's querier (RFC 2710 §4: it sends General Queries);
            # MLDv1 queries, so the hosts answer in MLDv1 (RFC 3810 §8.2.1).
            sh("ip", "-n", pair.b, "link", "add", BRIDGE, "type", "bridge",
               "mcast_snooping", "1", "mcast_querier", "1", "mcast_mld_version", "1",
               "mcast_query_interval", str(QUERY_INTERVAL_CS),
               "mcast_query_response_interval", str(QUERY_RESPONSE_INTERVAL_CS),
               "mcast_startup_query_interval", str(QUERY_INTERVAL_CS))  # fmt: skip
            # A second port with carrier: the bridge has carrier, and its link-local
            # address, before the capture begins.
            sh("ip", "-n", pair.b, "link", "add", "lx-bq0", "type", "veth", "peer", "name",
               "lx-bq1")  # fmt: skip
            sh("ip", "-n", pair.b, "link", "set", "lx-bq0", "master", BRIDGE)
            # The far end of that port is no host: no IPv6 on it.
            sh("ip", "netns", "exec", pair.b, "sysctl", "-qw",
               "net.ipv6.conf.lx-bq1.disable_ipv6=1")  # fmt: skip
            # b routes (an MLD querier is a router): it sends no router solicitations.
            sh("ip", "netns", "exec", pair.b, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1")
            sh("ip", "-n", pair.b, "link", "set", B_IF, "master", BRIDGE)
            for ifname in ("lx-bq1", "lx-bq0", BRIDGE):
                sh("ip", "-n", pair.b, "link", "set", ifname, "up")
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                out = sh("ip", "-n", pair.b, "-6", "addr", "show", "dev", BRIDGE, "scope", "link")
                if "inet6" in out and "tentative" not in out:
                    break
                time.sleep(0.1)
            else:
                raise AssertionError(f"{BRIDGE}'s link-local address stayed tentative")
        capture = subprocess.Popen(
            ["ip", "netns", "exec", pair.b, "dumpcap", "-q", "-i", B_IF, "-w", str(path)],
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        assert capture.stderr is not None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            line = capture.stderr.readline()
            if "Capturing on" in line or not line:
                break
        if capture.poll() is not None:
            raise AssertionError(f"dumpcap on {B_IF} exited {capture.returncode}")
        # The carrier comes only now: DAD and router solicitation are in the capture.
        sh("ip", "-n", pair.a, "link", "set", A_IF, "up")
        yield pair
    finally:
        if capture is not None and capture.poll() is None:
            capture.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                capture.wait(timeout=10)
            if capture.poll() is None:
                capture.kill()
        delete_namespaces(pair.a, pair.b)
