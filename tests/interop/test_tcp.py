"""TCP between the live host and the Linux kernel: ``curl -6`` in the peer namespace
fetches a file of a few hundred KB from ``tcpip6 host --serve http=DIR`` and gets it byte
for byte; Linux sends 300 KB into tcpip6's TCP discard service and 200 KB through its echo
service, and its PAWS test (TcpExt PAWSEstab) drops none of tcpip6's segments; tshark reads
the pcap of the whole exchange with no malformed packet.

The veth offloads stay on, as they are by default: Linux may hand veth-p TCP segments
larger than the MTU (TSO/GSO: nothing on a veth ever cuts them), and tcpip6's AF_PACKET
port receives them whole (up to 64 KiB) and completes their checksums (the
``TP_STATUS_CSUMNOTREADY`` frames), so the test exercises that path instead of
turning it off with ethtool.
"""

from __future__ import annotations

import itertools
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.interop import netns
from tests.interop.netns import PEER_IF, Topology
from tests.interop.test_offload import ECHO
from tests.tshark import read

SIZE = 400 * 1024

SEND_TO_DISCARD = """
import socket, sys
s = socket.create_connection((sys.argv[1], 9), timeout=20)
s.sendall(bytes(i % 251 for i in range(int(sys.argv[2]))))
s.shutdown(socket.SHUT_WR)
print("closed by the server" if s.recv(10) == b"" else "data came back")
"""


def paws_estab(topology: Topology) -> int:
    """The peer kernel's TcpExt PAWSEstab: segments of established connections it dropped
    because their TSval was older than TS.Recent (RFC 7323 §5.3 R1)."""
    lines = [line.split() for line in topology.peer_run("cat", "/proc/net/netstat").splitlines()]
    for names, values in itertools.pairwise(lines):
        if names[0] == "TcpExt:" and values[0] == "TcpExt:":
            return int(values[names.index("PAWSEstab")])
    raise AssertionError("no TcpExt PAWSEstab in the peer's /proc/net/netstat")


def test_curl_fetches_a_file_byte_for_byte(topology: Topology, tmp_path: Path) -> None:
    if shutil.which("curl") is None:
        raise AssertionError("curl is not installed (make test installs it)")
    www = tmp_path / "www"
    www.mkdir()
    data = bytes((i * 7 + (i >> 10)) % 256 for i in range(SIZE))
    (www / "file.bin").write_bytes(data)
    pcap = tmp_path / "host.pcap"
    host = netns.start_tcpip6_host(topology, pcap, "--serve", f"discard,echo,http={www}")
    link_local = host.wait_for(netns.link_local_line()).group(1)
    host.wait_for(rf"^serving http 80/tcp from {www}$")
    url = f"http://[{link_local}%25{PEER_IF}]/file.bin"
    out = tmp_path / "got.bin"
    done = subprocess.run(
        topology.in_peer("curl", "-6", "-g", "-sS", "--max-time", "60", "-o", str(out), "-w",
                         "%{http_code} %{size_download}", url),
        capture_output=True, text=True, timeout=90,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"200 {SIZE}"
    assert out.read_bytes() == data
    missing = subprocess.run(
        topology.in_peer("curl", "-6", "-g", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                         f"http://[{link_local}%25{PEER_IF}]/../etc/passwd", "--path-as-is"),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert missing.stdout == "400"
    # Linux to tcpip6: a bulk transfer into the discard service, read to the end, and
    # 200 KB through the echo service. tcpip6's timestamps never run backwards
    # (RFC 7323 §5.4), so the kernel's PAWS test drops none of its segments.
    paws_before = paws_estab(topology)
    sent = subprocess.run(
        topology.in_peer(sys.executable, "-c", SEND_TO_DISCARD, f"{link_local}%{PEER_IF}",
                         str(300 * 1024)),
        capture_output=True, text=True, timeout=90,
    )  # fmt: skip
    assert sent.returncode == 0, sent.stderr
    assert sent.stdout.strip() == "closed by the server"
    echoed = subprocess.run(
        topology.in_peer(sys.executable, "-c", ECHO, f"{link_local}%{PEER_IF}", str(200 * 1024)),
        capture_output=True, text=True, timeout=90,
    )  # fmt: skip
    assert echoed.returncode == 0, echoed.stderr
    assert echoed.stdout.strip() == "echoed"
    assert paws_estab(topology) - paws_before == 0
    assert netns.stop(host) == 0, host.rest()
    frames = read(pcap)
    assert not [f for f in frames if f.malformed or f.bad_checksum]
    tcp = [f for f in frames if f.protocol in ("TCP", "HTTP")]
    assert len(tcp) > SIZE // 1500  # many segments


HOLD_OPEN = """
import socket, sys
s = socket.create_connection((sys.argv[1], 7), timeout=30)
s.sendall(b"ping")
print("echoed" if s.recv(4) == b"ping" else "no echo", flush=True)
try:
    print("eof" if s.recv(10) == b"" else "data", flush=True)
except ConnectionResetError:
    print("reset", flush=True)
"""


def test_linux_negotiates_the_options_and_sees_a_reset_when_the_host_stops(
    topology: Topology, tmp_path: Path
) -> None:
    """The kernel as the oracle of option negotiation (``ss -tin`` shows what it agreed
    with tcpip6: timestamps, SACK, window scaling, tcpip6's MSS), and of the clean
    shutdown: SIGTERM resets tcpip6's connections, so a Linux reader gets ECONNRESET at
    once instead of waiting for its own timeout."""
    host = netns.start_tcpip6_host(topology, tmp_path / "host.pcap", "--serve", "echo")
    link_local = host.wait_for(netns.link_local_line()).group(1)
    host.wait_for(r"^serving echo ")
    client = subprocess.Popen(
        topology.in_peer(sys.executable, "-u", "-c", HOLD_OPEN, f"{link_local}%{PEER_IF}"),
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert client.stdout is not None
        assert client.stdout.readline().strip() == "echoed"
        ss = topology.peer_run("ss", "-tin", "dst", f"[{link_local}]")
        # This kernel's tcp_info names no "ts"/"sack" options (not even between two
        # Linux sockets), so the oracle is what they change: wscale:1,N is the shift
        # tcpip6 offered for its 64 KiB buffer, and mss:1428 is tcpip6's MSS option
        # (1500 - 60) less the 12 octets of the timestamps both sides agreed to.
        assert re.search(r"\bwscale:1,\d+\b", ss), ss
        assert re.search(r"\bmss:1428\b", ss), ss
        assert netns.stop(host) == 0
        assert client.stdout.readline().strip() == "reset"
        assert client.wait(timeout=10) == 0
    finally:
        client.kill()
    assert "reset 1 TCP connections" in host.rest()[-1]
