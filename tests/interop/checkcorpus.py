"""Captures of the Linux kernel talking to itself, made by the tests in network namespaces
they create (never downloaded), for ``tcpip6 check`` to judge.

Two namespaces, ``lx-a-<pid>-<n>`` and ``lx-b-<pid>-<n>``, a veth pair between them with
the kernel's IPv6 on at both ends, and dumpcap on b's end writing pcapng. What runs on the
link is up to the caller: :func:`linux_capture` yields the pair once the capture runs and
returns when the capture file is closed.
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

from tests.interop.netns import REPO, sh

_serial = itertools.count(1)
A_IF, B_IF = "lx-a0", "lx-b0"
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


@dataclass
class LinuxPair:
    a: str
    b: str

    def run_a(self, *cmd: str, timeout: float = 60) -> str:
        return sh("ip", "netns", "exec", self.a, *cmd, timeout=timeout)

    def run_b(self, *cmd: str, timeout: float = 60) -> str:
        return sh("ip", "netns", "exec", self.b, *cmd, timeout=timeout)

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
def linux_capture(path: Path) -> Iterator[LinuxPair]:
    """Two Linux namespaces joined by a veth, captured on b's end into ``path``."""
    n, pid = next(_serial), os.getpid()
    pair = LinuxPair(a=f"lx-a-{pid}-{n}", b=f"lx-b-{pid}-{n}")
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
        for ns in (pair.a, pair.b):
            pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True)
            for p in pids.stdout.split():
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(p), signal.SIGKILL)
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
