"""ESP on a real link (``make bench-live``; the runner is :mod:`bench.live`): TCP between
two live tcpip6 hosts on a veth pair through ESP AES-GCM-16 (RFC 4106, transport mode,
manually keyed with ``tcpip6 host --ipsec``), as a ratio to the same transfer between two
tcpip6 hosts without IPsec.

Two topologies of :mod:`tests.interop.netns` (pid in the names; removed at the end, also on
failure), one tcpip6 host in each namespace of each (the kernel's IPv6 off on both veth
ends): one pair plain, one pair with the SPD protecting everything between ``A`` and ``B``
(Neighbor Discovery bypassed). Each repetition runs ``tcpip6 ttcp -r`` in host ``b`` and
``tcpip6 ttcp -t`` in host ``a`` (both through the control sockets), the plain pair and the
ESP pair alternating which goes first; the rate is ttcp's receiver's. Host ``b``'s
``show ipsec`` counters prove the ESP run went through ESP (and dropped nothing).
"""

from __future__ import annotations

import contextlib
import os
import re
import statistics
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from tcpip6.io.control import request as control_request
from tests.interop import netns
from tests.interop.netns import HOST_IF, PEER_IF, LineReader, Topology

A = "2001:db8:18::a"
B = "2001:db8:18::b"
#: AES-128 key and 4-octet salt (RFC 4106 §8.1), one per direction.
KEY_AB = "00112233445566778899aabbccddeeff01020304"
KEY_BA = "ffeeddccbbaa99887766554433221100a1a2a3a4"
BUFLEN = 65536
NBUF = 64  # 4 MiB a transfer
TTCP_R = re.compile(r"^ttcp-r: (\d+) bytes in ([\d.]+) real seconds")
TIMEOUT = 180.0


def ipsec_toml(me: str, peer: str, out_spi: int, key_out: str, in_spi: int, key_in: str) -> str:
    """SPD: ND bypassed (RFC 4301 §4.4.1 ordered entries: these first), everything between
    the two protected by ESP in transport mode, the rest bypassed; an SA each way."""
    text = "".join(
        f'[[policy]]\nname = "nd-{t}"\naction = "bypass"\nprotocol = "icmpv6"\nicmp_type = {t}\n\n'
        for t in (133, 134, 135, 136, 137)
    )
    text += f'[[policy]]\nname = "peer"\naction = "protect"\nlocal = "{me}"\nremote = "{peer}"\n'
    text += 'protect = ["esp/transport"]\n\n[[policy]]\nname = "rest"\naction = "bypass"\n'
    for spi, direction, src, dst, key in (
        (out_spi, "out", me, peer, key_out),
        (in_spi, "in", peer, me, key_in),
    ):
        text += (
            f'\n[[sa]]\npolicy = "peer"\ndirection = "{direction}"\nprotocol = "esp"\n'
            f'mode = "transport"\nspi = {spi}\nsrc = "{src}"\ndst = "{dst}"\n'
            f'encryption = "aes-gcm-16"\nencryption_key = "{key}"\n'
        )
    return text


@dataclass
class Pair:
    topo: Topology
    tmp: Path
    esp: bool

    def control(self, name: str) -> Path:
        return self.tmp / f"{name}.sock"

    def start(self, name: str) -> LineReader:
        me, peer = (A, B) if name == "a" else (B, A)
        ifname = HOST_IF if name == "a" else PEER_IF
        run_in = self.topo.in_host if name == "a" else self.topo.in_peer
        cmd = run_in(sys.executable, "-u", "-m", "tcpip6", "host", "--link", f"ethernet:{ifname}")
        cmd += ["--control", str(self.control(name)), "--address", f"{ifname}={me}/64"]
        if self.esp:
            out_spi, in_spi = (0x1000, 0x2000) if name == "a" else (0x2000, 0x1000)
            key_out, key_in = (KEY_AB, KEY_BA) if name == "a" else (KEY_BA, KEY_AB)
            conf = self.tmp / f"{name}.toml"
            conf.write_text(ipsec_toml(me, peer, out_spi, key_out, in_spi, key_in))
            cmd += ["--ipsec", str(conf)]
        proc = self.topo.start(
            cmd, cwd=netns.REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        reader = LineReader(proc)
        reader.wait_for(r"^control socket ")
        reader.wait_for(rf"^address {me}/64 on {ifname} preferred")  # DAD done
        return reader

    def ttcp(self, host: str, *args: str) -> list[str]:
        return [sys.executable, "-m", "tcpip6", "ttcp", "--control", str(self.control(host)),
                *args]  # fmt: skip

    def transfer(self) -> float:
        """One ttcp transfer a → b; MB/s as b's receiver counted it."""
        receiver = LineReader(
            self.topo.start(self.ttcp("b", "-r", "-l", str(BUFLEN)), cwd=netns.REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        )  # fmt: skip
        receiver.wait_for(r"^ttcp-r: socket$")
        sent = subprocess.run(
            self.ttcp("a", "-t", "-l", str(BUFLEN), "-n", str(NBUF), B),
            cwd=netns.REPO, capture_output=True, text=True, timeout=TIMEOUT,
        )  # fmt: skip
        if sent.returncode != 0:
            raise RuntimeError(f"ttcp -t exited {sent.returncode}: {sent.stdout[-300:]}")
        if receiver.proc.wait(timeout=TIMEOUT) != 0:
            raise RuntimeError(f"ttcp -r failed: {receiver.rest()[-3:]}")
        text = receiver.rest()
        (m,) = [m for line in text if (m := TTCP_R.match(line))]
        if int(m.group(1)) != BUFLEN * NBUF or any("differ" in line for line in text):
            raise RuntimeError(f"ttcp -r: {text[-3:]}")
        return int(m.group(1)) / float(m.group(2)) / 1e6

    def esp_counters(self) -> dict[str, Any]:
        answer = control_request(self.control("b"), {"show": "ipsec"})
        data: dict[str, Any] = answer.get("ipsec", answer)
        counters: dict[str, Any] = data["counters"]
        return counters


@contextlib.contextmanager
def _pair(tmp: Path, esp: bool) -> Iterator[Pair]:
    with netns.topology() as topo:
        # Both ends are tcpip6: the kernel's IPv6 is off on the peer's end too.
        topo.peer_run("sysctl", "-qw", f"net.ipv6.conf.{PEER_IF}.disable_ipv6=1")
        pair = Pair(topo, tmp / ("esp" if esp else "plain"), esp)
        pair.tmp.mkdir()
        hosts = [pair.start("a"), pair.start("b")]
        try:
            yield pair
        finally:
            for reader in hosts:
                if reader.proc.poll() is None:
                    netns.stop(reader)


def rows(reps: int) -> list[dict[str, object]]:
    if os.geteuid() != 0:
        raise RuntimeError("needs root (network namespaces, AF_PACKET): sudo make bench-live")
    plain_rates: list[float] = []
    esp_rates: list[float] = []
    with (
        TemporaryDirectory(prefix="bench-live-ipsec-") as tmp,
        _pair(Path(tmp), esp=False) as plain,
        _pair(Path(tmp), esp=True) as esp,
    ):
        before = esp.esp_counters()
        for rep in range(reps):
            order = (plain, esp) if rep % 2 == 0 else (esp, plain)
            for pair in order:
                print(f"  ipsec: repetition {rep + 1}, {'esp' if pair.esp else 'plain'}",
                      file=sys.stderr, flush=True)  # fmt: skip
                (esp_rates if pair.esp else plain_rates).append(pair.transfer())
        after = esp.esp_counters()
    went_through = after["in_ok"] - before["in_ok"]
    if went_through < reps * BUFLEN * NBUF // 1500:
        raise RuntimeError(f"only {went_through} packets came in through ESP")
    drops = {k: v - before.get(k, 0) for k, v in after.items() if k.endswith("_drop")}
    ours, ref = statistics.median(esp_rates), statistics.median(plain_rates)
    return [
        {
            "name": "TCP through ESP AES-GCM-16 / plain, tcpip6 ↔ tcpip6",
            "unit": "MB/s",
            "tcpip6": ours,
            "reference": ref,
            "ratio": ours / ref,
            "reps": esp_rates,
            "reference_reps": plain_rates,
            "esp_packets_in": went_through,
            "esp_drops": {k: v for k, v in drops.items() if v},
        }
    ]
