"""An interface removed under the live host, judged by what Linux does.

- Sockets bound to, connected through and naming a removed interface: the questions of
  ``sockets_after_removal`` (tests/stack/test_link_events.py) asked of the Linux kernel
  (``removal_probe`` in a namespace of the test) give the answers tcpip6 gives.
- ``tcpip6 link del veth-h`` with a TCP connection from Linux to tcpip6's echo service
  over the address autoconfigured from radvd: tcpip6 removes the interface without a word
  on the wire (Linux's socket is not reset), ``tcpip6 link add ethernet:veth-h`` makes a new
  interface that autoconfigures the same address, and Linux's retransmission is answered:
  the connection resumes, as one through a deleted and re-created Linux device does.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from tests.interop import netns
from tests.interop.netns import HOST_IF, REPO, Topology
from tests.stack.test_link_events import AFTER_REMOVAL, sockets_after_removal

PREFIX = "2001:db8:78:"
RADVD_CONF = netns.radvd_conf(f"{PREFIX}:/64")

CLIENT = """\
import socket, sys
s = socket.create_connection((sys.argv[1], 7), timeout=10)
s.sendall(b"before")
print(s.recv(100).decode(), flush=True)
sys.stdin.readline()
s.settimeout(40)
s.sendall(b"after")
try:
    print(s.recv(100).decode() or "eof", flush=True)
except OSError as exc:
    print(type(exc).__name__, exc.errno, flush=True)
"""


def test_linux_gives_the_errors_tcpip6_gives(topology: Topology) -> None:
    out = topology.peer_run(sys.executable, "-m", "tests.interop.removal_probe")
    linux = json.loads(out)
    assert linux == AFTER_REMOVAL
    assert sockets_after_removal() == linux


def link(control: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "tcpip6", "link", *args, "--control", str(control)]
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=30)


def test_a_connection_resumes_when_the_removed_nic_is_added_again(
    topology: Topology, tmp_path: Path
) -> None:
    topology.start_radvd(RADVD_CONF, tmp_path, peer_address=f"{PREFIX}:1")
    host = netns.start_tcpip6_host(topology, tmp_path / "host.pcap", "--serve", "echo")
    control = (tmp_path / "host.pcap").with_suffix(".sock")
    pattern = rf"^address ({PREFIX}[0-9a-f:]+)/64 on {HOST_IF} preferred"
    address = host.wait_for(pattern).group(1)
    client = topology.start(
        topology.in_peer(sys.executable, "-c", CLIENT, address),
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    assert client.stdout is not None and client.stdin is not None
    first = client.stdout.readline()
    assert first == "before\n", first + client.stdout.read()
    done = link(control, "del", HOST_IF)
    assert done.returncode == 0 and done.stdout == f"{HOST_IF} removed\n", done.stderr
    client.stdin.write("go\n")
    client.stdin.flush()  # Linux sends "after": unanswered while the interface is gone
    time.sleep(2.0)
    assert client.poll() is None  # not reset: tcpip6 said nothing
    done = link(control, "add", f"ethernet:{HOST_IF}")
    assert done.returncode == 0 and done.stdout == f"{HOST_IF} attached\n", done.stderr
    # The new interface autoconfigures the same address; Linux's next retransmission of
    # "after" reaches the connection tcpip6 kept, which acknowledges and echoes it.
    assert client.stdout.readline() == "after\n"
    assert client.wait(timeout=10) == 0
    shown = subprocess.run(
        [sys.executable, "-m", "tcpip6", "show", "interfaces", "--control", str(control)],
        cwd=REPO, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert shown.returncode == 0 and HOST_IF in shown.stdout
    assert netns.stop(host) == 0, host.rest()
