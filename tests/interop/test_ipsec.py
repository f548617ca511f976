"""Two live tcpip6 hosts, one in each namespace of a veth pair, carry ping, a UDP and a
TCP ttcp transfer through ESP (transport and tunnel mode, AES-GCM-16) configured with
``tcpip6 host --ipsec``; every octet arrives (ttcp checks its pattern); the wire between
them is ESP only; a wrong key drops everything, counted by ``tcpip6 show ipsec``."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from scapy.layers.inet6 import ICMPv6EchoRequest, IPv6
from scapy.layers.l2 import Ether

from tcpip6.io.pcap import read_pcap
from tests.interop import netns
from tests.interop.netns import HOST_IF, PEER_IF, LineReader, Topology

A = "2001:db8:5::a"
B = "2001:db8:5::b"
KEY_AB = "00112233445566778899aabbccddeeff01020304"
KEY_BA = "ffeeddccbbaa99887766554433221100a1a2a3a4"
TTCP = re.compile(r"^ttcp-([tr]): (\d+) bytes in")


def ipsec_toml(
    me: str, peer: str, mode: str, out_spi: int, key_out: str, in_spi: int, key_in: str
) -> str:
    sas = ""
    for spi, direction, src, dst, key in (
        (out_spi, "out", me, peer, key_out),
        (in_spi, "in", peer, me, key_in),
    ):
        sas += f"""
[[sa]]
policy = "peer"
direction = "{direction}"
protocol = "esp"
mode = "{mode}"
spi = {spi}
src = "{src}"
dst = "{dst}"
encryption = "aes-gcm-16"
encryption_key = "{key}"
"""
    policies = "".join(
        f'[[policy]]\nname = "nd-{t}"\naction = "bypass"\nprotocol = "icmpv6"\nicmp_type = {t}\n\n'
        for t in (133, 134, 135, 136, 137)
    )
    return (
        policies
        + f'[[policy]]\nname = "peer"\naction = "protect"\nlocal = "{me}"\nremote = "{peer}"\n'
        + f'protect = ["esp/{mode}"]\n\n[[policy]]\nname = "rest"\naction = "bypass"\n'
        + sas
    )


@dataclass
class Pair:
    topo: Topology
    tmp: Path
    a: LineReader
    b: LineReader

    def control(self, name: str) -> Path:
        return self.tmp / f"{name}.sock"


def start(topo: Topology, tmp: Path, name: str, mode: str, wrong_key: bool = False) -> LineReader:
    me, peer = (A, B) if name == "a" else (B, A)
    out_spi, in_spi = (0x1000, 0x2000) if name == "a" else (0x2000, 0x1000)
    key_out, key_in = (KEY_AB, KEY_BA) if name == "a" else (KEY_BA, KEY_AB)
    if wrong_key:
        key_in = "ab" * 20
    conf = tmp / f"{name}.toml"
    conf.write_text(ipsec_toml(me, peer, mode, out_spi, key_out, in_spi, key_in))
    ifname = HOST_IF if name == "a" else PEER_IF
    run_in = topo.in_host if name == "a" else topo.in_peer
    cmd = run_in(sys.executable, "-u", "-m", "tcpip6", "host", "--link", f"ethernet:{ifname}")
    cmd += ["--pcap", str(tmp / f"{name}.pcap"), "--control", str(tmp / f"{name}.sock")]
    cmd += ["--address", f"{ifname}={me}/64", "--ipsec", str(conf)]
    proc = topo.start(cmd, cwd=netns.REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    reader = LineReader(proc)
    reader.wait_for(r"^ipsec: 7 policies, 2 SAs$")
    reader.wait_for(r"^control socket ")
    reader.wait_for(rf"^address {me}/64 on {ifname} preferred")  # DAD done
    return reader


@pytest.fixture
def make_pair(topology: Topology, tmp_path: Path) -> Iterator[Any]:
    # Both ends are tcpip6: the kernel's IPv6 is off on the Linux side of the veth too.
    topology.peer_run("sysctl", "-qw", f"net.ipv6.conf.{PEER_IF}.disable_ipv6=1")
    made: list[Pair] = []

    def make(mode: str, wrong_key: bool = False) -> Pair:
        a = start(topology, tmp_path, "a", mode)
        b = start(topology, tmp_path, "b", mode, wrong_key)
        made.append(Pair(topology, tmp_path, a, b))
        return made[-1]

    yield make
    for pair in made:
        for reader in (pair.a, pair.b):
            if reader.proc.poll() is None:
                netns.stop(reader)


def tool(
    pair: Pair, host: str, *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    cmd = [
        sys.executable,
        "-m",
        "tcpip6",
        *args[:1],
        "--control",
        str(pair.control(host)),
        *args[1:],
    ]
    return subprocess.run(cmd, cwd=netns.REPO, capture_output=True, text=True, timeout=timeout)


def show_ipsec(pair: Pair, host: str) -> dict[str, Any]:
    done = tool(pair, host, "show", "--json", "ipsec", timeout=30)
    assert done.returncode == 0, done.stderr
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def ttcp_transfer(
    pair: Pair, *flags: str, buflen: int = 8192, count: int = 100
) -> tuple[int, int, str]:
    cmd = [sys.executable, "-m", "tcpip6", "ttcp", "--control", str(pair.control("b")), "-r"]
    proc = subprocess.Popen(
        [*cmd, "-l", str(buflen), *flags],
        cwd=netns.REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    pair.topo.processes.append(proc)
    receiver = LineReader(proc)
    receiver.wait_for(r"^ttcp-r: socket$")
    sent = tool(pair, "a", "ttcp", "-t", "-l", str(buflen), "-n", str(count), *flags, B)
    assert sent.returncode == 0, (sent.stdout, sent.stderr)
    assert proc.wait(timeout=60) == 0, receiver.rest()
    text = "\n".join(receiver.rest())
    t = {m[1]: int(m[2]) for line in sent.stdout.splitlines() if (m := TTCP.match(line))}
    r = {m[1]: int(m[2]) for line in text.splitlines() if (m := TTCP.match(line))}
    return t["t"], r["r"], text


@pytest.mark.parametrize("mode", ["transport", "tunnel"])
def test_ping_udp_and_tcp_through_esp_between_two_live_hosts(make_pair: Any, mode: str) -> None:
    pair: Pair = make_pair(mode)
    done = tool(pair, "a", "ping6", "-c", "3", "-i", "0.2", B)
    assert " 3 received" in done.stdout, (done.stdout, done.stderr)
    sent, got, text = ttcp_transfer(pair, count=1280)  # 10 MiB, checked by the receiver
    assert sent == got == 8192 * 1280 and "differ" not in text
    sent, got, text = ttcp_transfer(pair, "-u", buflen=1024)
    assert got > 0 and "differ" not in text
    counters = show_ipsec(pair, "b")["counters"]
    assert counters["in_ok"] > 100 and counters["out_ok"] > 100
    assert {k: v for k, v in counters.items() if k.endswith("_drop") and v} == {}
    for reader in (pair.a, pair.b):
        assert netns.stop(reader) == 0
    # The wire, as host a captured it: between the two, ESP only (ND aside), the big UDP
    # datagrams fragmented after ESP (RFC 4301 §7: their fragments carry ESP).
    frames = [Ether(f) for _, f in read_pcap(pair.tmp / "a.pcap")]
    between = [f[IPv6] for f in frames if IPv6 in f and {f[IPv6].src, f[IPv6].dst} == {A, B}]
    assert between and all(p.nh in (50, 58, 44) for p in between)
    assert all(p.payload.nh == 50 for p in between if p.nh == 44)
    assert sum(p.nh == 50 for p in between) > 200
    assert not any(ICMPv6EchoRequest in p for p in between)


def test_a_wrong_key_drops_everything_and_counts_it(make_pair: Any) -> None:
    pair: Pair = make_pair("transport", wrong_key=True)
    done = tool(pair, "a", "ping6", "-c", "3", "-i", "0.2", "-W", "1", B)
    assert " 0 received" in done.stdout, (done.stdout, done.stderr)
    data = show_ipsec(pair, "b")
    drops = {k: v for k, v in data["counters"].items() if k.endswith("_drop") and v}
    assert drops == {"in_bad_icv_drop": 3}
    (sa_in,) = [sa for sa in data["sas"] if sa["direction"] == "in"]
    assert sa_in["counters"]["integrity_failed"] == 3 and sa_in["counters"]["packets"] == 0
    assert KEY_AB not in json.dumps(data)


PEER = "2001:db8:5::99"


def test_a_scapy_esp_peer_answers_tcpip6_pings(topology: Topology, tmp_path: Path) -> None:
    """The other end written independently: scapy's SecurityAssociation in the Linux-side
    namespace answers the echo requests that tcpip6 sends through ESP, through ESP."""
    topology.peer_run("sysctl", "-qw", f"net.ipv6.conf.{PEER_IF}.disable_ipv6=1")
    peer = LineReader(
        topology.start(
            topology.in_peer(sys.executable, "-u", "-m", "tests.interop.esp_peer", PEER_IF,
                             PEER, "0x1000", KEY_AB, "0x2000", KEY_BA),
            cwd=netns.REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
    )  # fmt: skip
    peer.wait_for(r"^ready$")
    conf = tmp_path / "a.toml"
    conf.write_text(ipsec_toml(A, PEER, "transport", 0x1000, KEY_AB, 0x2000, KEY_BA))
    host = netns.start_tcpip6_host(
        topology, tmp_path / "a.pcap", "--address", f"{HOST_IF}={A}/64", "--ipsec", str(conf)
    )
    host.wait_for(rf"^address {A}/64 on {HOST_IF} preferred")
    control = tmp_path / "a.sock"
    done = subprocess.run(
        [sys.executable, "-m", "tcpip6", "ping6", "--control", str(control), "-c", "3",
         "-i", "0.2", PEER],
        cwd=netns.REPO, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert " 3 received" in done.stdout, (done.stdout, done.stderr, peer.lines)
    peer.wait_for(r"^answered 3$")
    netns.stop(host)


def test_the_kernel_as_esp_peer(topology: Topology, tmp_path: Path) -> None:
    """Linux's own ESP at the other end, where the kernel has it (xfrm with esp6): its
    states and policies protect the echo requests in and the replies out."""
    add = topology.in_peer(
        "ip", "xfrm", "state", "add", "src", A, "dst", PEER, "proto", "esp", "spi", "0x1000",
        "mode", "transport", "aead", "rfc4106(gcm(aes))", "0x" + KEY_AB, "128",
    )  # fmt: skip
    done = subprocess.run(add, capture_output=True, text=True, timeout=20)
    if done.returncode != 0:
        pytest.skip(
            "this kernel cannot add an ESP state (no esp6 / rfc4106): "
            f"{done.stderr.strip()}; the scapy ESP peer test stands in for it"
        )
    topology.peer_run("ip", "-6", "addr", "add", f"{PEER}/64", "dev", PEER_IF, "nodad")
    topology.peer_run(
        "ip", "xfrm", "state", "add", "src", PEER, "dst", A, "proto", "esp", "spi", "0x2000",
        "mode", "transport", "aead", "rfc4106(gcm(aes))", "0x" + KEY_BA, "128",
    )  # fmt: skip
    # Only the echo exchange is protected, so that Neighbor Discovery stays in the clear.
    for direction, src, dst, icmp_type in (("in", A, PEER, "128"), ("out", PEER, A, "129")):
        topology.peer_run(
            "ip", "xfrm", "policy", "add", "src", f"{src}/128", "dst", f"{dst}/128",
            "proto", "ipv6-icmp", "type", icmp_type, "dir", direction,
            "tmpl", "src", src, "dst", dst, "proto", "esp", "mode", "transport",
        )  # fmt: skip
    conf = tmp_path / "a.toml"
    conf.write_text(ipsec_toml(A, PEER, "transport", 0x1000, KEY_AB, 0x2000, KEY_BA))
    host = netns.start_tcpip6_host(
        topology, tmp_path / "a.pcap", "--address", f"{HOST_IF}={A}/64", "--ipsec", str(conf)
    )
    host.wait_for(rf"^address {A}/64 on {HOST_IF} preferred")
    done = subprocess.run(
        [sys.executable, "-m", "tcpip6", "ping6", "--control", str(tmp_path / "a.sock"),
         "-c", "3", "-i", "0.2", PEER],
        cwd=netns.REPO, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert " 3 received" in done.stdout, (done.stdout, done.stderr)
    netns.stop(host)
