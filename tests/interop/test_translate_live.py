"""The live translator between an IPv6-only and an IPv4-only Linux namespace.

::

 ns "peer" (IPv6 only)          ns "host" (the translator)                  ns "v4" (IPv4 only)
  veth-p 2001:db8:1::10 <=====> veth-h: tcpip6 host 2001:db8:1::1
                                 --translate ... --tun xlat    (TUN: the kernel's side)
                                 kernel IPv4: xlat <-> veth-x4 198.51.100.1 <=====> veth-4
                                                                             198.51.100.2, .3

tcpip6 runs on veth-h over AF_PACKET (the kernel's IPv6 off there); its IPv4 side is the
TUN device ``xlat`` that the kernel of the translator's namespace routes the pool into and
forwards to the IPv4-only namespace. The oracle is the Linux kernel at both ends: its
ping, traceroute, curl and sockets see replies, data, translated ICMP errors, and record
path MTUs in their route caches (``ip route get``). SIIT and NAT64 each run the same
checks in a topology of their own; the addresses of the other side:

- SIIT (RFC 7915): the IPv4 hosts are 2001:db8:64::198.51.100.x (RFC 6052 /96), the IPv6
  host is 192.0.2.16 to IPv4 (RFC 7757 EAM), the translator 192.0.2.1;
- NAT64 (RFC 6146): the IPv4 hosts are the same, the IPv6 host leaves from the pool
  192.0.2.0/28 (first address 192.0.2.1), with short session lifetimes to see them expire.

A route with MTU 1300 to 198.51.100.3 in the translator's namespace makes the kernel send
Fragmentation Needed, which must reach the IPv6 host as Packet Too Big 1320 (RFC 7915 §4.2).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tcpip6.apps.show import format_view
from tests.interop.translate_net import (
    BIG,
    H4,
    H4_SMALL_MTU,
    H6,
    H6_AS_V4,
    HTTP_PORT,
    KERNEL4,
    POOL4,
    PREFIX,
    SHORT,
    TUN,
    UDP_PORT,
    XLAT4,
    Net,
    translator_network,
    v6,
)


@pytest.fixture(scope="module", params=["siit", "nat64"])
def net(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Net]:
    if os.geteuid() != 0 and not os.environ.get("CI"):
        pytest.skip("needs root (network namespaces, AF_PACKET, a TUN device)")
    for tool in ("ip", "ping", "traceroute", "curl"):
        assert subprocess.run(["which", tool], capture_output=True).returncode == 0, (
            f"{tool} is not installed (make test installs it)"
        )
    mode: str = request.param
    www = tmp_path_factory.mktemp(f"xlate-{mode}") / "www"
    www.mkdir()
    (www / "big").write_bytes(os.urandom(BIG))
    (www / "index.html").write_text(f"hello from the IPv4-only side ({mode})\n")
    with translator_network(mode, www) as built:
        yield built


def _wait_http(net: Net, url: str) -> None:
    end = time.monotonic() + 15
    while True:
        done = subprocess.run(
            net.topo.in_peer("curl", "-sS", "-g", "--max-time", "3", url),
            capture_output=True, text=True, timeout=20,
        )  # fmt: skip
        if done.returncode == 0 or time.monotonic() > end:
            assert done.returncode == 0, done.stderr
            return
        time.sleep(0.3)


# -- ping, both ways where the mode allows ---------------------------------------------------


def test_ping_from_ipv6_to_ipv4(net: Net) -> None:
    out = net.topo.peer_run("ping", "-6", "-c", "3", "-i", "0.2", "-W", "2", v6(H4))
    assert "3 received" in out, out
    assert f"from {v6(H4)}" in out


def test_ping_from_ipv4_to_ipv6_through_siit(net: Net) -> None:
    if net.mode != "siit":
        # RFC 6146 §3.5.3: a NAT64 creates no session for an IPv4-initiated echo: it
        # reaches the NAT64, is counted and dropped, and ping gets no reply
        before = net.translations()["translators"][0]["counters"]
        done = subprocess.run(net.in_v4("ping", "-c", "1", "-W", "1", XLAT4),
                              capture_output=True, text=True, timeout=20)  # fmt: skip
        assert done.returncode != 0
        after = net.translations()["translators"][0]["counters"]
        assert after["v4_in"] > before["v4_in"]
        assert after["v4_translated"] == before["v4_translated"]
        return
    out = net.v4_run("ping", "-c", "3", "-i", "0.2", "-W", "2", H6_AS_V4)
    assert "3 received" in out, out


# -- TCP and UDP ------------------------------------------------------------------------------


def test_curl_and_10_mb_over_tcp(net: Net) -> None:
    url = f"http://[{v6(H4)}]:{HTTP_PORT}"
    _wait_http(net, f"{url}/index.html")
    page = net.topo.peer_run("curl", "-sS", "-g", "--max-time", "10", f"{url}/index.html")
    assert page == f"hello from the IPv4-only side ({net.mode})\n"
    start = time.monotonic()
    got = subprocess.run(
        net.topo.in_peer("curl", "-sS", "-g", "--max-time", "60", f"{url}/big"),
        capture_output=True, timeout=90,
    )  # fmt: skip
    seconds = time.monotonic() - start
    assert got.returncode == 0, got.stderr
    want = hashlib.sha256((net.www / "big").read_bytes()).hexdigest()
    assert len(got.stdout) == BIG
    assert hashlib.sha256(got.stdout).hexdigest() == want, f"{seconds:.1f} s"


def test_curl_from_ipv4_to_ipv6_through_siit(net: Net) -> None:
    if net.mode != "siit":
        # RFC 6146 §3.5.2.2: an IPv4 SYN for a pool address with no BIB entry makes no
        # session: curl gets nowhere, and the NAT64 counts the drop
        before = net.translations()["translators"][0]["counters"]["v4_no_bib_entry_drop"]
        done = subprocess.run(
            net.in_v4("curl", "-sS", "--max-time", "1", f"http://{XLAT4}:{HTTP_PORT}/"),
            capture_output=True, text=True, timeout=20,
        )  # fmt: skip
        assert done.returncode != 0
        after = net.translations()["translators"][0]["counters"]["v4_no_bib_entry_drop"]
        assert after > before
        return
    server = net.topo.start(
        net.topo.in_peer(sys.executable, "-m", "http.server", "--bind", H6,
                         "--directory", str(net.www), str(HTTP_PORT + 1)),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        end = time.monotonic() + 15
        while True:
            done = subprocess.run(
                net.in_v4("curl", "-sS", "--max-time", "3",
                          f"http://{H6_AS_V4}:{HTTP_PORT + 1}/index.html"),
                capture_output=True, text=True, timeout=20,
            )  # fmt: skip
            if done.returncode == 0 or time.monotonic() > end:
                break
            time.sleep(0.3)
        assert done.returncode == 0, done.stderr
        assert done.stdout == "hello from the IPv4-only side (siit)\n"
    finally:
        server.kill()
        server.wait(timeout=5)


UDP_ECHO = (
    "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
    f"s.bind(('0.0.0.0', {UDP_PORT})); s.settimeout(15); "
    "d, a = s.recvfrom(2048); s.sendto(d.upper() + (' from %s' % a[0]).encode(), a)"
)
UDP_CLIENT = (
    "import socket, sys; s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); "
    "s.settimeout(2)\n"
    "for _ in range(10):\n"
    f"    s.sendto(b'udp through the translator', (sys.argv[1], {UDP_PORT}))\n"
    "    try:\n"
    "        print(s.recvfrom(2048)[0].decode()); break\n"
    "    except TimeoutError:\n"
    "        pass\n"
)


def test_udp_exchange(net: Net) -> None:
    server = net.topo.start(net.in_v4(sys.executable, "-c", UDP_ECHO))
    try:
        out = net.topo.peer_run(sys.executable, "-c", UDP_CLIENT, v6(H4), timeout=30)
    finally:
        server.wait(timeout=20)
    # the IPv4 host saw the IPv6 host at its IPv4 address: the EAM's, or the NAT64's pool
    seen_as = XLAT4 if net.mode == "nat64" else H6_AS_V4
    assert out.strip() == f"UDP THROUGH THE TRANSLATOR from {seen_as}"


# -- translated ICMP errors ------------------------------------------------------------------


def _hops(out: str) -> list[str]:
    """traceroute -n's hop addresses, in order ('*' for none)."""
    hops = []
    for line in out.splitlines()[1:]:
        words = line.split()
        hops.append(words[1] if len(words) > 1 else "*")
    return hops


def test_traceroute_shows_translated_time_exceeded(net: Net) -> None:
    out = net.topo.peer_run("traceroute", "-6", "-n", "-q", "1", "-w", "2", "-m", "5", v6(H4),
                            timeout=40)  # fmt: skip
    # hop 1: the translator's own Time Exceeded (RFC 7915 §5.1) from its address in the
    # prefix; hop 2: the kernel's ICMPv4 Time Exceeded, translated (RFC 7915 §4.2); 3: there.
    assert _hops(out) == [v6(XLAT4), v6(KERNEL4), v6(H4)], out
    if net.mode == "siit":
        out4 = net.v4_run("traceroute", "-n", "-q", "1", "-w", "2", "-m", "5", H6_AS_V4,
                          timeout=40)  # fmt: skip
        # hop 2: the translator's ICMPv4 Time Exceeded (RFC 7915 §4.1); hop 3: the IPv6
        # host's Port Unreachable, translated to ICMPv4 (RFC 7915 §5.2)
        assert _hops(out4) == [KERNEL4, XLAT4, H6_AS_V4], out4


def test_packet_too_big_and_fragmentation_needed(net: Net) -> None:
    # IPv6 -> IPv4: 1400 octets of IPv6 leave as 1380 of IPv4 with DF (RFC 7915 §5.1); the
    # kernel's route MTU 1300 answers Fragmentation Needed, which comes back as Packet Too
    # Big 1320 (RFC 7915 §4.2: the IPv4 MTU plus 20), and the Linux IPv6 host records it.
    done = subprocess.run(
        net.topo.in_peer("ping", "-6", "-c", "2", "-i", "0.3", "-W", "1", "-M", "do",
                         "-s", "1352", v6(H4_SMALL_MTU)),
        capture_output=True, text=True, timeout=20,
    )  # fmt: skip
    assert "mtu=1320" in done.stdout + done.stderr, done.stdout + done.stderr
    route = net.topo.peer_run("ip", "-6", "route", "get", v6(H4_SMALL_MTU))
    assert re.search(r"\bmtu 1320\b", route), route
    fits = net.topo.peer_run("ping", "-6", "-c", "1", "-W", "2", "-M", "do", "-s", "1272",
                             v6(H4_SMALL_MTU))  # fmt: skip
    assert "1 received" in fits, fits
    if net.mode == "siit":
        # IPv4 -> IPv6: 1500 octets with DF would be 1520 of IPv6 on a 1500 link: the
        # translator answers Fragmentation Needed with MTU 1480 (RFC 7915 §4.1, RFC 7915 §6).
        done = subprocess.run(
            net.in_v4("ping", "-c", "2", "-i", "0.3", "-W", "1", "-M", "do", "-s", "1472",
                      H6_AS_V4),
            capture_output=True, text=True, timeout=20,
        )  # fmt: skip
        assert "mtu = 1480" in done.stdout + done.stderr, done.stdout + done.stderr
        route4 = net.v4_run("ip", "route", "get", H6_AS_V4)
        assert re.search(r"\bmtu 1480\b", route4), route4


# -- the NAT64's sessions --------------------------------------------------------------------


def test_nat64_sessions_show_and_expire(net: Net) -> None:
    if net.mode != "nat64":
        # the command line, end to end: tcpip6 show translations [--json]
        done = net.show("--json", "translations")
        assert done.returncode == 0, done.stderr
        (t,) = json.loads(done.stdout)["translators"]
        assert (t["mode"], t["prefix"], t["sessions"]) == ("siit", str(PREFIX.prefix), [])
        assert t["eam"] == [{"ipv4": f"{H6_AS_V4}/32", "ipv6": f"{H6}/128"}]
        assert t["counters"]["v6_translated"] > 0 and t["counters"]["v4_translated"] > 0
        lines = net.show("translations").stdout.splitlines()
        assert lines[:2] == [
            f"siit prefix {PREFIX.prefix} pool4 {H6_AS_V4}/32 dev {TUN} mtu4 1500 mtu6 1500 "
            f"src4 {XLAT4} src6 {v6(XLAT4)}",
            f"    eam {H6_AS_V4}/32 {H6}/128",
        ]
        return
    _sessions_gone(net)  # what earlier tests left expires
    out = net.topo.peer_run("ping", "-6", "-c", "1", "-W", "2", v6(H4))
    pinged = time.monotonic()
    assert "1 received" in out, out
    (t,) = net.translations()["translators"]
    (session,) = t["sessions"]
    assert session["protocol"] == "icmp" and session["state"] is None
    assert (session["x_address"], session["y_address"]) == (H6, v6(H4))
    assert (session["t_address"], session["z_address"]) == (XLAT4, H4)
    assert 0 <= session["expires"] <= SHORT
    (bib,) = t["bib"]
    assert (bib["ipv6_address"], bib["ipv4_address"], bib["sessions"]) == (H6, XLAT4, 1)
    lines = format_view("translations", {"translators": [t]})
    assert lines[0].startswith(f"nat64 prefix {PREFIX.prefix} pool4 {POOL4} dev {TUN}")
    assert any(re.match(rf"^    icmp \[{H6}\]:\d+ \[{v6(H4)}\]:\d+ <-> {XLAT4}:\d+ {H4}:\d+ "
                        r"expires \d+sec$", line) for line in lines), lines  # fmt: skip
    t = _sessions_gone(net)
    # RFC 6146 §3.5.3: the ICMP session lived its configured lifetime, not less
    assert time.monotonic() - pinged >= SHORT - 0.5
    assert t["bib"] == []
    assert t["counters"]["sessions_expired"] >= 1 and t["counters"]["bib_deleted"] >= 1


def _sessions_gone(net: Net) -> dict[str, Any]:
    """Wait (at most SHORT + 5 s) until the NAT64 holds no session; the translator's dict."""
    end = time.monotonic() + SHORT + 5
    while True:
        (t,) = net.translations()["translators"]
        if not t["sessions"] or time.monotonic() > end:
            assert t["sessions"] == [], t["sessions"]
            return dict(t)
        time.sleep(0.5)
