"""``tcpip6 ttcp --control`` against the Linux kernel: the live host transmits to a Linux
receiver in the peer namespace (a small Python server counting what it reads until the
end of file), and a Linux sender writes a known number of octets to ``ttcp -r`` running in
the live host. Each side's count must be the other's, to the octet.

The ttcp clients run outside the namespaces: the control socket is a file, not a link.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.interop import netns
from tests.interop.live import Live, live_host
from tests.interop.netns import HOST_IF, PEER_IF, LineReader, Topology

LINE = re.compile(r"^ttcp-([tr]): (\d+) bytes in \d+\.\d\d real seconds = \d+\.\d\d KB/sec \+\+\+$")

#: The start of a Linux receiver: listen on port argv[1], say so, accept one connection
#: (``conn``, from ``peer``).
ACCEPT_ONE = """
import socket, sys
srv = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("::", int(sys.argv[1])))
srv.listen(1)
srv.settimeout(60)
print("listening", flush=True)
conn, peer = srv.accept()
conn.settimeout(60)
"""

#: Linux's receiver: listen, accept one connection, count to the end of file.
COUNT_RECEIVER = (
    ACCEPT_ONE
    + """
total = 0
while chunk := conn.recv(65536):
    total += len(chunk)
print(f"received {total} from {peer[0]}", flush=True)
"""
)

#: Linux's transmitter: ttcp's pattern (restarting every BUFLEN octets), N octets, close.
PATTERN_SENDER = """
import socket, sys
dst, n, buflen = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
buf = bytes(32 + i % 95 for i in range(buflen))
s = socket.create_connection((dst, 5001), timeout=30)
left = n
while left:
    s.sendall(buf[:min(left, buflen)])
    left -= min(left, buflen)
s.shutdown(socket.SHUT_WR)
assert s.recv(10) == b""
print(f"sent {n}", flush=True)
"""


@pytest.fixture(scope="module")
def live(module_topology: Topology, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    with live_host(module_topology, tmp_path_factory.mktemp("ttcp")) as live:
        yield live


def peer_link_local(topo: Topology) -> str:
    text = topo.peer_run("ip", "-6", "-br", "addr", "show", "dev", PEER_IF, "scope", "link")
    return text.split()[2].split("/")[0]


def ttcp(live: Live, *args: str) -> list[str]:
    return [sys.executable, "-m", "tcpip6", "ttcp", "--control", str(live.control), *args]


def counted(text: str) -> dict[str, int]:
    return {m.group(1): int(m.group(2)) for line in text.splitlines() if (m := LINE.match(line))}


def test_the_live_host_transmits_to_linux(live: Live) -> None:
    topo = live.topo
    receiver = LineReader(
        topo.start(topo.in_peer(sys.executable, "-u", "-c", COUNT_RECEIVER, "5001"),
                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    )  # fmt: skip
    receiver.wait_for(r"^listening$")
    target = f"{peer_link_local(topo)}%{HOST_IF}"
    done = subprocess.run(
        ttcp(live, "-t", "-l", "8192", "-n", "300", target),
        cwd=netns.REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, (done.stdout, done.stderr)
    lines = done.stdout.splitlines()
    assert lines[:3] == [
        f"ttcp-t: buflen=8192, nbuf=300, align=16384/0, port=5001  tcp  -> {target}",
        "ttcp-t: socket",
        "ttcp-t: connect",
    ]
    assert lines[4].startswith("ttcp-t: 300 I/O calls, msec/call = ")
    sent = counted(done.stdout)["t"]
    assert sent == 8192 * 300
    got = receiver.wait_for(r"^received (\d+) from (\S+)$")
    assert int(got.group(1)) == sent
    assert got.group(2) == str(live.link_local)


def test_linux_transmits_to_the_live_host(live: Live) -> None:
    topo = live.topo
    size = 8192 * 200 + 1234  # not a whole number of buffers: the count is exact
    proc = subprocess.Popen(
        ttcp(live, "-r", "-l", "8192"),
        cwd=netns.REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    topo.processes.append(proc)  # ended at teardown if the test fails
    receiver = LineReader(proc)
    receiver.wait_for(r"^ttcp-r: socket$")
    sender = subprocess.run(
        topo.in_peer(sys.executable, "-c", PATTERN_SENDER, f"{live.link_local}%{PEER_IF}",
                     str(size), "8192"),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert sender.returncode == 0, sender.stderr
    assert sender.stdout.strip() == f"sent {size}"
    assert proc.wait(timeout=30) == 0, receiver.rest()
    text = "\n".join(receiver.rest())
    # The host has one interface: its default zone, so no %zone (RFC 4007 §6).
    assert f"ttcp-r: accept from {peer_link_local(topo)}\n" in text, text
    assert counted(text) == {"r": size}, text
    assert "differ" not in text


def test_nothing_listening_on_linux_is_refused(live: Live) -> None:
    target = f"{peer_link_local(live.topo)}%{HOST_IF}"
    done = subprocess.run(
        ttcp(live, "-t", "-p", "5999", target),
        cwd=netns.REPO, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout
    assert done.stdout.splitlines()[-1] == "ttcp-t: connect: Connection refused"
