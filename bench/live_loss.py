"""TCP under random loss against the Linux kernel (``make bench-live``, root): 2 % of the
TCP segments dropped in each direction by nftables (``numgen random mod 100 < 2``), a
bulk transfer of :data:`OCTETS` to a Linux reader, the sender being tcpip6 (NewReno with
SACK, RFC 8985 RACK-TLP and RFC 6937 PRR, RFC 6298's 1 s minimum RTO; and with CUBIC) or
the Linux kernel with Reno (``net.ipv4.tcp_congestion_control=reno`` in its namespace),
alternating, on identical links in the same run::

    ns lossa-PID (Linux, reno)  va ==== vb1 \\
                                              ns lossb-PID (Linux reader; nft drops
    ns losst-PID (tcpip6 host)  vt ==== vb2 /   2 % of TCP in on vb1/vb2 and out)

Both directions are dropped in the reader's namespace (a netdev ingress chain on each of
its veths, an output chain for its ACKs), so the tcpip6 sender, whose frames leave through
a packet socket, sees the same loss as the kernel's. Offloads are off on every veth.

Each row: goodput (MB/s, median of ``reps``), and per run retransmitted segments and
retransmission timeouts (tcpip6's counters; the kernel's TcpRetransSegs and
TcpExtTCPTimeouts), and timeouts per 1,000 data segments. ``reference`` is Linux Reno.
Namespaces are removed at the end, also on failure.

Two environment variables serve before/after comparisons on a noisy machine:
``BENCH_LOSS_CASES`` (comma-separated words; only the configurations whose name contains
one of them run) and ``BENCH_LOSS_BASELINE`` (the directory of another tcpip6 source tree,
say ``git archive`` of the commit before a change): every configuration then runs from
that tree too, in the same alternation, as a row "… [baseline]" whose ``vs_baseline``
field is this tree's goodput over the baseline's, repetition by repetition.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
OCTETS = 20_000_000
PORT = 19  # chargen (RFC 864): tcpip6 host --serve chargen; the kernel's sender likewise
LOSS_PERCENT = 2
TIMEOUT = 600.0
A_ADDR, B1_ADDR = "fd00:1::1", "fd00:1::2"
T_ADDR, B2_ADDR = "fd00:2::1", "fd00:2::2"

#: The Linux sender: chargen-like, the same octets again and again until the reader closes.
LINUX_SENDER = """
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::", int(sys.argv[1]))); s.listen(1); print("listening", flush=True)
while True:
    c, _ = s.accept()
    block = bytes(range(256)) * 256
    try:
        while True:
            c.sendall(block)
    except OSError:
        c.close()
"""

#: The Linux reader: connect, read OCTETS, print the seconds from connect to the last.
READER = """
import json, socket, sys, time
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.settimeout(float(sys.argv[4]))
s.connect((sys.argv[1], int(sys.argv[3])))
t0 = time.monotonic(); n = 0; want = int(sys.argv[2])
while n < want:
    b = s.recv(1 << 20)
    if not b:
        break
    n += len(b)
print(json.dumps({"octets": n, "seconds": time.monotonic() - t0}))
s.close()
"""

#: The tcpip6 configurations: the row's name and its --tcp settings.
TCPIP6_CASES = {
    # No --tcp settings: what the tree defaults to (with BENCH_LOSS_BASELINE, a change of
    # default shows pair by pair).
    "tcpip6 defaults": [],
    "tcpip6 newreno+sack (RFC 6675)": ["rack=off", "prr=off"],
    "tcpip6 newreno+sack+rack-tlp+prr": ["rack=on", "prr=on"],
    "tcpip6 newreno+sack+rack-tlp+prr, min_rto 0.2 s": ["rack=on", "prr=on", "min_rto=0.2"],
    "tcpip6 cubic+sack+rack-tlp+prr": ["rack=on", "prr=on", "congestion=cubic"],
}


def sh(*cmd: str, timeout: float = 30.0) -> str:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {done.returncode}: {done.stderr.strip()}")
    return done.stdout


class Lab:
    """The three namespaces and the processes started in them."""

    def __init__(self) -> None:
        pid = os.getpid()
        self.a, self.b, self.t = f"lossa-{pid}", f"lossb-{pid}", f"losst-{pid}"
        self.procs: list[subprocess.Popen[str]] = []

    def ns(self, ns: str, *cmd: str) -> list[str]:
        return ["ip", "netns", "exec", ns, *cmd]

    def make(self) -> None:
        for ns in (self.a, self.b, self.t):
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "-n", self.b, "link", "add", "vb1", "type", "veth", "peer", "name", "va",
           "netns", self.a)  # fmt: skip
        sh("ip", "-n", self.b, "link", "add", "vb2", "type", "veth", "peer", "name", "vt",
           "netns", self.t)  # fmt: skip
        sh(*self.ns(self.t, "sysctl", "-qw", "net.ipv6.conf.vt.disable_ipv6=1"))
        sh(*self.ns(self.a, "sysctl", "-qw", "net.ipv4.tcp_congestion_control=reno"))
        for ns, dev in ((self.a, "va"), (self.b, "vb1"), (self.b, "vb2"), (self.t, "vt")):
            with contextlib.suppress(RuntimeError):  # what the device cannot change stays
                sh(*self.ns(ns, "ethtool", "-K", dev, "tso", "off", "gso", "off", "gro", "off"))
            sh("ip", "-n", ns, "link", "set", dev, "up")
        sh("ip", "-n", self.a, "addr", "add", f"{A_ADDR}/64", "dev", "va", "nodad")
        sh("ip", "-n", self.b, "addr", "add", f"{B1_ADDR}/64", "dev", "vb1", "nodad")
        sh("ip", "-n", self.b, "addr", "add", f"{B2_ADDR}/64", "dev", "vb2", "nodad")
        rules = f"""
table netdev lossin {{
  chain vb1 {{ type filter hook ingress device "vb1" priority 0;
    ip6 nexthdr tcp numgen random mod 100 < {LOSS_PERCENT} drop; }}
  chain vb2 {{ type filter hook ingress device "vb2" priority 0;
    ip6 nexthdr tcp numgen random mod 100 < {LOSS_PERCENT} drop; }}
}}
table inet lossout {{
  chain out {{ type filter hook output priority 0;
    meta l4proto tcp numgen random mod 100 < {LOSS_PERCENT} drop; }}
}}
"""
        subprocess.run(self.ns(self.b, "nft", "-f", "-"), input=rules, text=True, check=True)

    def start(self, cmd: list[str], cwd: Path = REPO, **kw: Any) -> subprocess.Popen[str]:
        proc = subprocess.Popen(cmd, text=True, cwd=cwd, **kw)
        self.procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[str]) -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)

    def remove(self) -> None:
        for proc in self.procs:
            self.stop(proc)
        for ns in (self.a, self.b, self.t):
            pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True)
            for pid in pids.stdout.split():
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), signal.SIGKILL)
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


@contextlib.contextmanager
def lab() -> Iterator[Lab]:
    it = Lab()
    try:
        it.make()
        yield it
    finally:
        it.remove()


def _wait_line(proc: subprocess.Popen[str], word: str, timeout: float = 30.0) -> None:
    assert proc.stdout is not None
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"exited {proc.poll()} before printing {word!r}")
        if word in line:
            return
    raise RuntimeError(f"no {word!r} within {timeout} s")


def _wait_file(proc: subprocess.Popen[str], log: Path, word: str, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if word in log.read_text():
            return
        if proc.poll() is not None:
            raise RuntimeError(f"exited {proc.returncode}: {log.read_text()[-500:]}")
        time.sleep(0.05)
    raise RuntimeError(f"no {word!r} within {timeout} s: {log.read_text()[-500:]}")


def _read(lab: Lab, addr: str) -> dict[str, float]:
    cmd = lab.ns(lab.b, sys.executable, "-c", READER, addr, str(OCTETS), str(PORT), str(TIMEOUT))
    out = sh(*cmd, timeout=TIMEOUT + 10)
    got: dict[str, float] = json.loads(out)
    if got["octets"] < OCTETS:
        raise RuntimeError(f"the reader got {got['octets']} of {OCTETS} octets")
    return got


def _nstat(lab: Lab) -> dict[str, int]:
    out = sh(*lab.ns(lab.a, "nstat", "-az", "TcpOutSegs", "TcpRetransSegs", "TcpExtTCPTimeouts"))
    values = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1].isdigit():
            values[parts[0]] = int(parts[1])
    return values


def linux_run(lab: Lab, sender: subprocess.Popen[str]) -> dict[str, float]:
    before = _nstat(lab)
    got = _read(lab, A_ADDR)
    after = _nstat(lab)
    d = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    segments = max(1, d.get("TcpOutSegs", 0))
    return {
        "MBps": got["octets"] / got["seconds"] / 1e6,
        "retransmissions": d.get("TcpRetransSegs", 0),
        "timeouts": d.get("TcpExtTCPTimeouts", 0),
        "timeouts_per_1000": 1000 * d.get("TcpExtTCPTimeouts", 0) / segments,
    }


def _tcpip6_counters(control: Path) -> dict[str, int]:
    cmd = [sys.executable, "-m", "tcpip6", "show", "--control", str(control), "--json"]
    out = sh(*cmd, "counters")
    tcp: dict[str, int] = json.loads(out)["tcp"]
    return tcp


def tcpip6_run(lab: Lab, settings: list[str], workdir: Path, tree: Path = REPO) -> dict[str, float]:
    control = workdir / f"losst-{os.getpid()}.sock"
    cmd = lab.ns(lab.t, sys.executable, "-u", "-m", "tcpip6", "host", "--link", "ethernet:vt")
    cmd += ["--address", f"vt={T_ADDR}/64", "--serve", "chargen", "--control", str(control)]
    for s in settings:
        cmd += ["--tcp", s]
    log = workdir / "host.log"
    with log.open("w") as out:  # a file, not a pipe nobody reads once the host is up
        host = lab.start(cmd, cwd=tree, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_file(host, log, f"address {T_ADDR}")
        before = _tcpip6_counters(control)
        got = _read(lab, T_ADDR)
        after = _tcpip6_counters(control)
    finally:
        lab.stop(host)
    d = {k: after[k] - before.get(k, 0) for k in after if isinstance(after[k], int)}
    mss = 1500 - 40 - 20 - 12
    segments = max(1, OCTETS // mss + d.get("retransmitted_segments", 0))
    return {
        "MBps": got["octets"] / got["seconds"] / 1e6,
        "retransmissions": d.get("retransmitted_segments", 0),
        "timeouts": d.get("timeouts", 0),
        "timeouts_per_1000": 1000 * d.get("timeouts", 0) / segments,
        "fast_retransmits": d.get("fast_retransmits", 0),
        "tail_loss_probes": d.get("tail_loss_probes", 0),
        # Linux reports each duplicate it received (RFC 2883): retransmissions not needed.
        "dsacks_received": d.get("dsacks_received", 0),
    }


def _row(
    name: str, runs: list[dict[str, float]], linux: list[dict[str, float]]
) -> dict[str, object]:
    rate = statistics.median(r["MBps"] for r in runs)
    reference = statistics.median(r["MBps"] for r in linux)
    return {
        "name": f"2% loss each way, {OCTETS // 1_000_000} MB: {name} -> Linux (ref. Linux reno)",
        "unit": "MB/s",
        "tcpip6": rate,
        "reference": reference,
        "ratio": rate / reference if reference else None,
        "retransmissions": [r["retransmissions"] for r in runs],
        "timeouts": [r["timeouts"] for r in runs],
        "timeouts_per_1000_segments": [round(r["timeouts_per_1000"], 2) for r in runs],
        "reference_retransmissions": [r["retransmissions"] for r in linux],
        "reference_timeouts": [r["timeouts"] for r in linux],
        "reps": runs,
        "reference_reps": linux,
    }


def _selected(only: list[str] | None) -> dict[str, list[str]]:
    words = [w for w in os.environ.get("BENCH_LOSS_CASES", "").split(",") if w]
    return {
        k: v
        for k, v in TCPIP6_CASES.items()
        if (only is None or k in only) and (not words or any(w in k for w in words))
    }


def rows(reps: int, only: list[str] | None = None) -> list[dict[str, object]]:
    """Linux Reno -> Linux, then each tcpip6 configuration -> Linux, alternating ``reps``
    times on the same links: a row per tcpip6 configuration, Linux Reno its reference
    (and with ``BENCH_LOSS_BASELINE``, a row per configuration run from that tree)."""
    import tempfile

    cases = _selected(only)
    base = os.environ.get("BENCH_LOSS_BASELINE")
    baseline = Path(base).resolve() if base else None
    if baseline is not None and not (baseline / "tcpip6" / "__main__.py").exists():
        raise RuntimeError(f"BENCH_LOSS_BASELINE={base}: no tcpip6 source tree there")
    linux: list[dict[str, float]] = []
    ours: dict[str, list[dict[str, float]]] = {name: [] for name in cases}
    theirs: dict[str, list[dict[str, float]]] = {name: [] for name in cases}
    with lab() as it, tempfile.TemporaryDirectory() as tmp:
        sender = it.start(it.ns(it.a, sys.executable, "-u", "-c", LINUX_SENDER, str(PORT)),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
        _wait_line(sender, "listening")
        for rep in range(reps):
            linux.append(linux_run(it, sender))
            for name, settings in cases.items():
                trees = [REPO] if baseline is None else [REPO, baseline]
                for tree in trees if rep % 2 == 0 else trees[::-1]:
                    got = tcpip6_run(it, settings, Path(tmp), tree)
                    (ours if tree == REPO else theirs)[name].append(got)
    out = [_row(name, runs, linux) for name, runs in ours.items()]
    if baseline is not None:
        for name, runs in theirs.items():
            row = _row(f"{name} [baseline]", runs, linux)
            row["vs_baseline"] = [
                round(a["MBps"] / b["MBps"], 3) for a, b in zip(ours[name], runs, strict=True)
            ]
            out.append(row)
    return out


if __name__ == "__main__":
    for row in rows(int(sys.argv[1]) if len(sys.argv) > 1 else 1):
        print(json.dumps(row))
