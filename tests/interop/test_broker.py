"""The tunnel broker end to end in network namespaces, and its page in headless Chromium.

::

 ns "peer": tunnel server + broker           ns "host": the user
   tcpip6 host --link ethernet:veth-p          tcpip6 broker request http://10.0.0.1:8080
     (control socket; tunnels added at run       --run: tcpip6 host --link
      time: tb1 = configured 10.0.0.1->.2)          tunnel:configured:10.0.0.2:10.0.0.1
   tcpip6 broker serve 10.0.0.1:8080           tcpip6 ping6 --control ... SERVER::1
    veth-p 10.0.0.1/24  <==== veth (IPv4) ====>  veth-h 10.0.0.2/24

The user asks the broker over HTTP, the broker configures the tunnel server through its
control socket, the user's tcpip6 brings the tunnel up and pings the tunnel server's end
of its /64 over IPv6 inside IPv4. The broker restarts and keeps the tunnel; a release
frees the /64 and the tunnel stops answering. Chromium renders the page (its DOM holds
the tunnel; its screenshot is a real picture). docs/broker.png is this test's screenshot
(``TCPIP6_DOCS_SCREENSHOT=1`` writes it).
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.interop import netns
from tests.interop.netns import HOST_IF, PEER_IF, REPO, LineReader, Topology

SERVER_V4 = "10.0.0.1"
CLIENT_V4 = "10.0.0.2"
URL = f"http://{SERVER_V4}:8080"
PREFIX = "2001:db8:100:1::/64"
SERVER_END = "2001:db8:100:1::1"
SHOT = (1000, 640)
DOCS_SHOT = REPO / "docs" / "broker.png"


@dataclass
class Site:
    topo: Topology
    server: LineReader
    tmp: Path

    def broker(self) -> LineReader:
        cmd = self.topo.in_peer(
            sys.executable, "-u", "-m", "tcpip6", "broker", "serve",
            "--listen", f"{SERVER_V4}:8080", "--control", str(self.tmp / "ts.sock"),
            "--server-ipv4", SERVER_V4, "--db", str(self.tmp / "broker.sqlite"),
        )  # fmt: skip
        proc = self.topo.start(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        reader = LineReader(proc)
        reader.wait_for(r"^broker at http://")
        return reader

    def api(self, method: str = "GET", path: str = "/api/tunnels") -> dict[str, object]:
        code = (
            "import sys, urllib.request\n"
            "r = urllib.request.Request(sys.argv[1], method=sys.argv[2])\n"
            "print(urllib.request.urlopen(r, timeout=20).read().decode())\n"
        )
        out = netns.sh(*self.topo.in_host(sys.executable, "-c", code, URL + path, method))
        answer: dict[str, object] = json.loads(out)
        return answer


@pytest.fixture
def site(topology: Topology, tmp_path: Path) -> Iterator[Site]:
    topo = topology
    for ns, ifname, v4 in ((topo.peer, PEER_IF, SERVER_V4), (topo.host, HOST_IF, CLIENT_V4)):
        netns.sh(
            "ip", "netns", "exec", ns, "sysctl", "-qw", f"net.ipv6.conf.{ifname}.disable_ipv6=1"
        )
        netns.sh("ip", "-n", ns, "-4", "addr", "add", f"{v4}/24", "dev", ifname)
    control = str(tmp_path / "ts.sock")
    cmd = topo.in_peer(sys.executable, "-u", "-m", "tcpip6", "host",
                       "--link", f"ethernet:{PEER_IF}", "--control", control)  # fmt: skip
    proc = topo.start(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    server = LineReader(proc)
    server.wait_for(r"^control socket ")
    yield Site(topo, server, tmp_path)
    assert netns.stop(server) == 0, server.rest()


def ping(site: Site, control: Path, count: int = 3) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "tcpip6", "ping6", "--control", str(control), "-c", str(count),
           "-i", "0.2", "-W", "1", SERVER_END]  # fmt: skip
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=60)


def png_pixels(path: Path) -> tuple[int, int, set[bytes]]:
    """Width, height and the distinct colours of an 8-bit RGB/RGBA PNG (PNG spec §9)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, bytearray(), 0
    height = kind = 0
    while pos < len(data):
        length, tag = struct.unpack(">I4s", data[pos : pos + 8])
        chunk = data[pos + 8 : pos + 8 + length]
        if tag == b"IHDR":
            width, height, depth, kind = struct.unpack(">IIBB", chunk[:10])
            assert depth == 8 and kind in (2, 6) and chunk[12] == 0  # not interlaced
        elif tag == b"IDAT":
            idat += chunk
        pos += 12 + length
    bpp = 3 if kind == 2 else 4
    raw, stride = zlib.decompress(bytes(idat)), width * bpp
    prev, colours = bytearray(stride), set()
    for y in range(height):
        ftype, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 255
            elif ftype == 2:
                line[i] = (line[i] + b) & 255
            elif ftype == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        if y % 8 == 0:
            colours.update(bytes(line[x : x + 3]) for x in range(0, stride, bpp * 4))
        prev = line
    return width, height, colours


def chromium(site: Site, *args: str) -> subprocess.CompletedProcess[str]:
    profile = f"--user-data-dir={site.tmp / 'chromium'}"
    cmd = site.topo.in_peer("chromium", "--headless", "--no-sandbox", "--disable-gpu",
                            "--no-first-run", profile, *args)  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def test_a_user_gets_a_tunnel_pings_through_it_and_releases_it(site: Site) -> None:
    broker = site.broker()
    client_sock = site.tmp / "client.sock"
    cmd = site.topo.in_host(sys.executable, "-u", "-m", "tcpip6", "broker", "request", URL,
                            "--run", "--control", str(client_sock))  # fmt: skip
    proc = site.topo.start(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    client = LineReader(proc)
    client.wait_for(rf"^tunnel 1: {PREFIX} over {CLIENT_V4} -> {SERVER_V4}; ")
    client.wait_for(rf"^tcpip6 host --link tunnel:configured:{CLIENT_V4}:{SERVER_V4} "
                    r"--address tun0=2001:db8:100:1::2/64$")  # fmt: skip
    client.wait_for(r"^address 2001:db8:100:1::2/64 on tun0 preferred")
    site.server.wait_for(rf"^tunnel tb1 added: configured {SERVER_V4} -> {CLIENT_V4}, ")
    done = ping(site, client_sock)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 packets transmitted, 3 received" in done.stdout

    # A restart of the broker keeps the allocation (SQLite) and the tunnel.
    assert netns.stop(broker) == 0
    broker = site.broker()
    listed = site.api()
    assert [t["prefix"] for t in listed["tunnels"]] == [PREFIX]  # type: ignore[union-attr,index]
    assert ping(site, client_sock, 1).returncode == 0

    # The page in a real browser: its DOM holds the tunnel, its screenshot is a picture.
    dom = chromium(site, "--dump-dom", f"{URL}/?id=1")
    assert dom.returncode == 0, dom.stderr
    assert PREFIX in dom.stdout and "Your tunnel 1" in dom.stdout
    shot = site.tmp / "broker.png"
    done = chromium(site, f"--screenshot={shot}", f"--window-size={SHOT[0]},{SHOT[1]}",
                    "--hide-scrollbars", f"{URL}/?id=1")  # fmt: skip
    assert done.returncode == 0 and shot.exists(), done.stderr
    width, height, colours = png_pixels(shot)
    assert (width, height) == SHOT
    assert len(colours) > 8  # text, table rules and the highlighted row, not a blank page
    if os.environ.get("TCPIP6_DOCS_SCREENSHOT"):  # how docs/broker.png was made
        DOCS_SHOT.write_bytes(shot.read_bytes())

    # A release frees the /64 and the tunnel server forgets the tunnel.
    released = site.api("DELETE", "/api/tunnels/1")
    assert released["released"]["prefix"] == PREFIX  # type: ignore[index]
    site.server.wait_for(r"^tunnel tb1 released$")
    assert site.api() == {"tunnels": []}
    assert ping(site, client_sock, 2).returncode != 0
    assert netns.stop(client) == 0
    assert netns.stop(broker) == 0
