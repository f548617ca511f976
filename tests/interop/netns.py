"""Network namespaces for the interop tests, made and removed by the tests themselves.

::

 ns "peer-<pid>-<n>" (Linux IPv6: ping, ip -6 neigh, radvd)
    veth-p  <====== veth pair ======>  veth-h   ns "host-<pid>-<n>" (kernel IPv6
                                                 disabled on veth-h; tcpip6 host)

Nothing here touches the machine's own interfaces: the veth pair is created inside the
peer namespace with its other end moved straight into the host namespace, and removing
the namespaces removes it. Every process started in a namespace is ended by its pid.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent.parent
PEER_IF = "veth-p"
HOST_IF = "veth-h"
#: Generous: a loaded CI machine may take seconds to start a Python process.
START_TIMEOUT = 30.0
COMMAND_TIMEOUT = 20.0

_serial = itertools.count(1)


def sh(*cmd: str, timeout: float = COMMAND_TIMEOUT) -> str:
    """Run a command; its stdout. A failure raises with the command and its stderr."""
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} exited {done.returncode}: {done.stderr.strip() or done.stdout}"
        )
    return done.stdout


@dataclass
class Topology:
    peer: str
    host: str
    processes: list[subprocess.Popen[str]] = field(default_factory=list)

    def in_peer(self, *cmd: str) -> list[str]:
        return ["ip", "netns", "exec", self.peer, *cmd]

    def in_host(self, *cmd: str) -> list[str]:
        return ["ip", "netns", "exec", self.host, *cmd]

    def peer_run(self, *cmd: str, timeout: float = COMMAND_TIMEOUT) -> str:
        return sh(*self.in_peer(*cmd), timeout=timeout)

    def host_mac(self) -> bytes:
        text = sh("ip", "-n", self.host, "-br", "link", "show", HOST_IF)
        return bytes.fromhex(text.split()[2].replace(":", ""))

    def start(self, cmd: Sequence[str], **kwargs: Any) -> subprocess.Popen[str]:
        """Start a process (its pid is ended at teardown if it is still running)."""
        proc = subprocess.Popen(cmd, text=True, **kwargs)
        self.processes.append(proc)
        return proc

    def start_radvd(
        self, conf: str, directory: Path, peer_address: str | None = None, log: Path | None = None
    ) -> subprocess.Popen[str]:
        """The Linux peer as a router: forwarding on, ``peer_address`` (a /64, no DAD) on
        veth-p when given, and radvd with the configuration ``conf`` (written into
        ``directory``), logging into ``log`` (or nowhere). It is ended at teardown."""
        self.peer_run("sysctl", "-qw", "net.ipv6.conf.all.forwarding=1")
        if peer_address is not None:
            self.peer_run("ip", "-6", "addr", "add", f"{peer_address}/64", "dev", PEER_IF, "nodad")
        path = directory / "radvd.conf"
        path.write_text(conf)
        pid = directory / "radvd.pid"
        cmd = self.in_peer("radvd", "-n", "-C", str(path), "-p", str(pid), "-m", "stderr")
        if log is None:
            return self.start(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        with log.open("w") as out:
            return self.start(cmd, stdout=out, stderr=subprocess.STDOUT)


def _make(topo: Topology) -> None:
    sh("ip", "netns", "add", topo.peer)
    sh("ip", "netns", "add", topo.host)
    # Both ends are born in the namespaces: the root namespace never sees them.
    sh("ip", "-n", topo.peer, "link", "add", PEER_IF, "type", "veth", "peer", "name", HOST_IF,
       "netns", topo.host)  # fmt: skip
    # The Linux peer: no DAD delay, so its link-local address is usable at once.
    topo.peer_run("sysctl", "-qw", f"net.ipv6.conf.{PEER_IF}.accept_dad=0")
    # The tcpip6 side: the kernel's IPv6 off, or two stacks would answer for one MAC.
    sh(*topo.in_host("sysctl", "-qw", f"net.ipv6.conf.{HOST_IF}.disable_ipv6=1"))
    sh("ip", "-n", topo.peer, "link", "set", "lo", "up")
    sh("ip", "-n", topo.host, "link", "set", "lo", "up")
    sh("ip", "-n", topo.peer, "link", "set", PEER_IF, "up")
    sh("ip", "-n", topo.host, "link", "set", HOST_IF, "up")


def remove(topo: Topology) -> None:
    """End the processes ``topo`` started, then its namespaces (one, when peer and host
    are the same namespace)."""
    for proc in topo.processes:
        if proc.poll() is None:
            proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
    delete_namespaces(*dict.fromkeys((topo.peer, topo.host)))


def delete_namespaces(*names: str) -> None:
    """Kill what still runs in the namespaces ``names`` and delete them (never raises: it
    runs at teardown, also after a failed set-up)."""
    for ns in names:
        # Anything still running in a namespace of ours was started by this test.
        pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True)
        for pid in pids.stdout.split():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


@contextlib.contextmanager
def topology() -> Iterator[Topology]:
    n = next(_serial)
    pid = os.getpid()
    topo = Topology(peer=f"peer-{pid}-{n}", host=f"host-{pid}-{n}")
    try:
        _make(topo)
        yield topo
    finally:
        remove(topo)


class LineReader:
    """The lines a process prints, read by a thread, waited for with a deadline."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        self.proc = proc
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, pattern: str, timeout: float = START_TIMEOUT) -> re.Match[str]:
        regex = re.compile(pattern)
        for line in self.lines:
            if m := regex.search(line):
                return m
        end = time.monotonic() + timeout
        while (left := end - time.monotonic()) > 0:
            try:
                got = self._queue.get(timeout=left)
            except queue.Empty:
                break
            if got is None:
                raise AssertionError(
                    f"exited {self.proc.wait()} before printing /{pattern}/: {self.lines}"
                )
            self.lines.append(got)
            if m := regex.search(got):
                return m
        raise AssertionError(f"no line /{pattern}/ within {timeout} s: {self.lines}")

    def rest(self, timeout: float = 5.0) -> list[str]:
        """Every line, once the process has closed its output."""
        self._thread.join(timeout)
        while not self._queue.empty():
            line = self._queue.get()
            if line is not None:
                self.lines.append(line)
        return self.lines


def radvd_conf(
    prefix: str, min_interval: int = 3, max_interval: int = 4, prefix_options: Sequence[str] = ()
) -> str:
    """A radvd.conf advertising ``prefix`` (on-link, autonomous, with ``prefix_options``)
    from the peer's end of the veth pair, every ``min_interval`` to ``max_interval`` s."""
    options = "".join(
        f"        {option};\n" for option in ("AdvOnLink on", "AdvAutonomous on", *prefix_options)
    )
    return (
        f"interface {PEER_IF} {{\n"
        "    AdvSendAdvert on;\n"
        f"    MinRtrAdvInterval {min_interval};\n"
        f"    MaxRtrAdvInterval {max_interval};\n"
        f"    prefix {prefix} {{\n{options}    }};\n"
        "};\n"
    )


def start_tcpip6_host(topo: Topology, pcap: Path, *args: str) -> LineReader:
    """``tcpip6 host --link ethernet:veth-h --pcap PCAP ARGS`` in the host namespace."""
    cmd = topo.in_host(sys.executable, "-u", "-m", "tcpip6", "host")
    cmd += ["--link", f"ethernet:{HOST_IF}", "--pcap", str(pcap)]
    if "--control" not in args:
        # A control socket beside the pcap: the test leaves nothing under /run.
        cmd += ["--control", str(pcap.with_suffix(".sock"))]
    cmd += args
    proc = topo.start(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return LineReader(proc)


def show_json(control: Path, view: str) -> dict[str, Any]:
    """``tcpip6 show --json VIEW`` against the host serving ``control``: the command
    succeeded, and what it printed, decoded."""
    show = subprocess.run(
        [sys.executable, "-m", "tcpip6", "show", "--control", str(control), "--json", view],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=REPO,
    )
    assert show.returncode == 0, show.stderr
    data: dict[str, Any] = json.loads(show.stdout)
    return data


def start_sniffer(topo: Topology, pcap: Path) -> LineReader:
    """A witness on the Linux side: every IPv6 frame veth-p carries, in a pcap."""
    cmd = topo.in_peer(sys.executable, "-u", "-m", "tests.interop.sniff", PEER_IF, str(pcap))
    proc = topo.start(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    reader = LineReader(proc)
    reader.wait_for(r"^sniffing ")
    return reader


def stop(reader: LineReader, timeout: float = 10.0) -> int:
    """SIGTERM, and the exit status."""
    reader.proc.send_signal(signal.SIGTERM)
    return reader.proc.wait(timeout=timeout)


def link_local_line(address: str = r"fe80::[0-9a-f:]+") -> str:
    return rf"^address ({address})/64 on {HOST_IF} preferred \(link-local; DAD: no duplicate\)"
