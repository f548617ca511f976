"""curl in the tcpip6 namespace reaches a Linux web server THROUGH tcpip6: the SOCKS5
front door (``--socks 127.0.0.1:1080``) on the namespace's kernel loopback, tcpip6's TCP
over the veth, Python's http.server on the Linux peer.

The kernel's IPv6 is off on veth-h, so nothing but tcpip6 can carry the request. The veth
ends keep their default offloads (the transfers pass with TSO, GSO and GRO as the kernel
sets them).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.interop import netns
from tests.interop.netns import HOST_IF, PEER_IF, LineReader, Topology

PEER = "2001:db8:77::1"
HOST = "2001:db8:77::2"
SOCKS = "127.0.0.1:1080"
HTTP_PORT = 8000


@dataclass
class Door:
    topo: Topology
    host: LineReader
    blob: bytes
    control: Path


@pytest.fixture(scope="module")
def door(module_topology: Topology, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Door]:
    topo = module_topology
    if shutil.which("curl") is None:
        raise AssertionError("curl is not installed")
    tmp = tmp_path_factory.mktemp("socks")
    topo.peer_run("ip", "-6", "addr", "add", f"{PEER}/64", "dev", PEER_IF, "nodad")
    www = tmp / "www"
    www.mkdir()
    blob = os.urandom(300_000)  # many windows' worth, both ways of back-pressure
    (www / "blob").write_bytes(blob)
    http = [sys.executable, "-m", "http.server", "--bind", PEER, "--directory", str(www)]
    server = topo.start(
        topo.in_peer(*http, str(HTTP_PORT)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    control = tmp / "host.sock"
    host = netns.start_tcpip6_host(
        topo, tmp / "host.pcap", "--address", f"{HOST_IF}={HOST}/64", "--socks", SOCKS,
        "--control", str(control),
    )  # fmt: skip
    host.wait_for(rf"^socks5 front door at {re.escape(SOCKS)}$")
    host.wait_for(rf"^address {HOST}/64 on {HOST_IF} preferred")
    assert server.poll() is None, "http.server did not start"
    yield Door(topo, host, blob, control)
    assert netns.stop(host) == 0, host.rest()


def curl(door: Door, *args: str) -> subprocess.CompletedProcess[bytes]:
    cmd = door.topo.in_host("curl", "-sS", "--max-time", "30", "--retry", "3",
                            "--retry-connrefused", "--socks5-hostname", SOCKS, *args)  # fmt: skip
    return subprocess.run(cmd, capture_output=True, timeout=120)


def test_curl_fetches_a_file_from_linux_through_tcpip6(door: Door) -> None:
    done = curl(door, f"http://[{PEER}]:{HTTP_PORT}/blob")
    assert done.returncode == 0, done.stderr
    assert done.stdout == door.blob
    line = door.host.wait_for(rf"CONNECT \[{PEER}\]:{HTTP_PORT}: connected from \[{HOST}\]:\d+")
    assert line


#: On the Linux peer: take one connection, read it to its FIN, answer with the length and
#: SHA-256 of what came, close.
DIGEST_SERVER = """
import hashlib, socket, sys
srv = socket.create_server((sys.argv[1], int(sys.argv[2])), family=socket.AF_INET6)
print("listening", flush=True)
conn, _ = srv.accept()
h, n = hashlib.sha256(), 0
while chunk := conn.recv(65536):
    h.update(chunk)
    n += len(chunk)
conn.sendall(f"{n} {h.hexdigest()}".encode())
conn.close()
"""

#: In the tcpip6 namespace: SOCKS5 by hand, a CONNECT to ``argv[1]`` port ``argv[2]``
#: through the relay on 127.0.0.1:1080; ``s`` is the connection, ``reply`` the answer.
SOCKS_CONNECT = """
import ipaddress, socket, struct, sys
s = socket.create_connection(("127.0.0.1", 1080), timeout=30)
s.sendall(b"\\x05\\x01\\x00")
assert s.recv(2) == b"\\x05\\x00"
dst = ipaddress.IPv6Address(sys.argv[1]).packed
s.sendall(b"\\x05\\x01\\x00\\x04" + dst + struct.pack("!H", int(sys.argv[2])))
reply = b""
while len(reply) < 22:
    reply += s.recv(22 - len(reply))
assert reply[1] == 0, reply
"""

#: In the tcpip6 namespace: SOCKS5 by hand, send 1 MB, half-close, print the answer.
SOCKS_CLIENT = (
    SOCKS_CONNECT
    + """
s.sendall(bytes(range(256)) * 4096)
s.shutdown(socket.SHUT_WR)
answer = b""
while chunk := s.recv(4096):
    answer += chunk
print(answer.decode())
"""
)


def test_a_megabyte_upload_and_half_close_reach_linux(door: Door) -> None:
    port = str(HTTP_PORT + 2)
    server = door.topo.start(
        door.topo.in_peer(sys.executable, "-u", "-c", DIGEST_SERVER, PEER, port),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    LineReader(server).wait_for("^listening$")
    client = door.topo.in_host(sys.executable, "-c", SOCKS_CLIENT, PEER, port)
    done = subprocess.run(client, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    data = bytes(range(256)) * 4096
    assert done.stdout.split() == [str(len(data)), hashlib.sha256(data).hexdigest()]


#: In the tcpip6 namespace: a SOCKS5 CONNECT that stays open until stdin closes.
HOLDING_CLIENT = (
    SOCKS_CONNECT
    + """
s.sendall(b"GET /")  # half a request line: http.server waits for the rest
print(ipaddress.IPv6Address(reply[4:20]), struct.unpack("!H", reply[20:22])[0], flush=True)
sys.stdin.read()
"""
)


def test_show_connections_lists_the_relayed_connection(door: Door) -> None:
    client = door.topo.start(
        door.topo.in_host(sys.executable, "-u", "-c", HOLDING_CLIENT, PEER, str(HTTP_PORT)),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    m = LineReader(client).wait_for(r"^(\S+) (\d+)$")
    local, port = m.group(1), int(m.group(2))
    assert local == HOST
    cmd = [sys.executable, "-m", "tcpip6", "show", "--control", str(door.control)]
    done = subprocess.run([*cmd, "connections", "--json"], cwd=netns.REPO, capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)["connections"]
    mine = [r for r in rows if r["protocol"] == "tcp" and r["local_port"] == port]
    assert len(mine) == 1, rows
    assert mine[0]["state"] == "ESTABLISHED"
    assert (mine[0]["remote_address"], mine[0]["remote_port"]) == (PEER, HTTP_PORT)
    text = subprocess.run([*cmd, "connections"], cwd=netns.REPO, capture_output=True, text=True,
                          timeout=60).stdout.splitlines()  # fmt: skip
    row = ["tcp", "ESTABLISHED", "0", "0", f"[{HOST}]:{port}", f"[{PEER}]:{HTTP_PORT}"]
    assert row in [line.split() for line in text], text
    counters = subprocess.run([*cmd, "counters", "--json"], cwd=netns.REPO, capture_output=True,
                              text=True, timeout=60)  # fmt: skip
    data = json.loads(counters.stdout)
    assert data["tcp"]["active_opens"] >= 1 and data["extra"]["socks"]["connects"] >= 1
    assert client.stdin is not None
    client.stdin.close()
    client.wait(timeout=30)


def test_a_closed_port_is_connection_refused(door: Door) -> None:
    cmd = door.topo.in_host("curl", "-sS", "--max-time", "20", "--socks5-hostname", SOCKS,
                            f"http://[{PEER}]:{HTTP_PORT + 1}/")  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    # curl 97: the proxy said no; it prints the REP code, X'05' Connection refused.
    assert done.returncode == 97 and "(5)" in done.stderr, done.stderr


def test_a_name_is_host_unreachable(door: Door) -> None:
    cmd = door.topo.in_host("curl", "-sS", "--max-time", "20", "--socks5-hostname", SOCKS,
                            "http://example.com/")  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    # No resolver: X'04' Host unreachable.
    assert done.returncode == 97 and "(4)" in done.stderr, done.stderr
