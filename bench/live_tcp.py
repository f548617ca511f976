"""TCP, ping and autoconfiguration on a veth, tcpip6 beside the Linux kernel (``make
bench-live``; the runner is :mod:`bench.live`).

Two topologies of :mod:`tests.interop.netns` are made once (pid in the names) and removed
at the end, also on failure:

- the reference: a Linux kernel at both ends of a veth pair (``veth-p`` in the peer
  namespace, ``veth-h`` in the host namespace, the kernel's IPv6 on both);
- tcpip6: the same veth pair, with ``tcpip6 host --link ethernet:veth-h --serve
  discard,echo`` in the host namespace (the kernel's IPv6 off there).

In both, the Linux peer runs radvd (RA every 3–4 s, prefix ``2001:db8:24:1::/64``) and a
receiver that counts what a connection brings until its end. Each repetition starts the
host side afresh (tcpip6: the process; Linux: the link, down and up) and measures, the
two sides alternating which goes first:

- start → link-local address usable, and start → SLAAC address usable (tcpip6: optimistic,
  RFC 4429, or DAD done; Linux: DAD done, its default);
- TCP bulk Linux → host, unshaped, with the Linux sender's TSO/GSO on, then off;
  host → Linux unshaped (tcpip6 with its segmentation offload, :mod:`tcpip6.io.rawsock`);
  both directions again over ``tbf rate 100mbit`` on both ends; and, last in a
  repetition, both directions unshaped with offloads off at both ends (TSO, GSO and GRO
  off on both veths, ``tcpip6 host --no-offload``: the kernel segments nothing and
  computes no checksum for tcpip6, whose port cuts TCP's large segments into MTU-sized
  frames itself and sends them many per ``sendmmsg``; the row names what the host said
  it ran), and host → Linux again with ``TCPIP6_SOFT_GSO=0`` (TCP builds a segment per MSS)
  (MB/s = 10⁶ octets per second, timed by the Linux end: from connect to the server's
  end of file when Linux sends, from accept to end of file when it receives);
- ping RTT from Linux, 200 at 5 ms and 50 at 50 ms intervals (median of the replies);
- the 200,000-octet echo (a client writes it all while reading it back);
- ``curl --http1.0`` of a 100-octet file (tcpip6's httpd; Python's ``http.server`` on the
  Linux host), curl's ``time_total``: until the server's close;
- tcpip6's CPU % while receiving and while sending over the 100 Mbit link (its run time
  in nanoseconds from ``/proc/PID/schedstat``: a transfer takes half a second, in which
  clock ticks count 50), its peak RSS,
  and, over the bulk runs, its retransmission timeouts (``tcp.timeouts``) and the frames
  its packet socket could not take (``send_error_drop``); beside them, the Linux pair's
  RTOs (``TcpExt TCPTimeouts``) and the segments Linux's PAWS check dropped (``TcpExt
  PAWSEstab``) in each topology.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from tcpip6.io.control import request as control_request
from tests.interop import netns
from tests.interop.netns import HOST_IF, PEER_IF, LineReader, Topology

#: Octets per bulk transfer: unshaped, and over the 100 Mbit/s link.
UNSHAPED_OCTETS = 16_000_000
TBF_OCTETS = 6_000_000
ECHO_OCTETS = 200_000
PREFIX = "2001:db8:24:1:"
RECEIVER_PORT = 5001
DISCARD_PORT = 9
ECHO_PORT = 7
HTTP_PORT = 80
HTTP_FILE = "small.txt"
TIMEOUT = 120.0
TBF = ("tbf", "rate", "100mbit", "burst", "64kb", "latency", "20ms")

RADVD_CONF = f"""interface {PEER_IF} {{
    AdvSendAdvert on;
    MinRtrAdvInterval 3;
    MaxRtrAdvInterval 4;
    prefix {PREFIX}:/64 {{ AdvOnLink on; AdvAutonomous on; }};
}};
"""

#: Linux's sender: connect, write N octets, shut down, wait for the server's end of file.
SEND = """
import socket, sys, time
n = int(sys.argv[2])
buf = bytes(i % 251 for i in range(65536))
s = socket.create_connection((sys.argv[1], int(sys.argv[3])), timeout=60)
t0 = time.monotonic()
left = n
while left:
    left -= s.send(memoryview(buf)[: min(left, len(buf))])
s.shutdown(socket.SHUT_WR)
assert s.recv(10) == b""
print(n, time.monotonic() - t0, flush=True)
"""

#: Linux's receiver (in the peer namespace, for ever): per connection, the octets until its
#: end of file and the seconds from accept to then.
RECEIVE = """
import socket, sys, time
srv = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("::", int(sys.argv[1])))
srv.listen(4)
print("listening", flush=True)
while True:
    conn, peer = srv.accept()
    t0 = time.monotonic()
    total = 0
    while chunk := conn.recv(262144):
        total += len(chunk)
    print("received", total, time.monotonic() - t0, flush=True)
    conn.close()
"""

#: The reference host's discard and echo services (Linux, in the host namespace).
SERVICES = """
import socket, threading
def serve(port, echo):
    srv = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("::", port))
    srv.listen(4)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=handle, args=(conn, echo), daemon=True).start()
def handle(conn, echo):
    while data := conn.recv(262144):
        if echo:
            conn.sendall(data)
    conn.close()
threading.Thread(target=serve, args=(9, False), daemon=True).start()
print("serving", flush=True)
serve(7, True)
"""

#: The echo client: one thread writes everything, the main one reads it back.
ECHO = """
import socket, sys, threading, time
data = bytes(i % 253 for i in range(int(sys.argv[2])))
s = socket.create_connection((sys.argv[1], 7), timeout=30)
t0 = time.monotonic()
threading.Thread(target=lambda: (s.sendall(data), s.shutdown(socket.SHUT_WR))).start()
got = bytearray()
while chunk := s.recv(65536):
    got += chunk
took = time.monotonic() - t0
assert got == data, len(got)
print(took, flush=True)
"""

#: The reference host's sender towards the peer's receiver.
SOURCE = """
import socket, sys
n = int(sys.argv[2])
buf = bytes(i % 251 for i in range(65536))
s = socket.create_connection((sys.argv[1], int(sys.argv[3])), timeout=60)
left = n
while left:
    left -= s.send(memoryview(buf)[: min(left, len(buf))])
s.shutdown(socket.SHUT_WR)
s.recv(10)
"""

RTT = re.compile(r"time=([\d.]+) ms")


def _python(ns: str, script: str, *args: str) -> list[str]:
    return ["ip", "netns", "exec", ns, sys.executable, "-u", "-c", script, *args]


def _run(cmd: list[str], timeout: float = TIMEOUT) -> str:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])}… exited {done.returncode}: {done.stderr[-300:]}")
    return done.stdout


def ping_median(topo: Topology, address: str, count: int, interval: float) -> float:
    """The median RTT in ms of ``count`` echo requests from Linux's ping in the peer
    namespace to ``address``, one every ``interval`` seconds (two first, unmeasured, so
    that Neighbor Discovery is done)."""
    ping = ["ping", "-6", "-n", "-c"]
    with contextlib.suppress(RuntimeError):
        _run(topo.in_peer(*ping, "2", "-i", "0.2", address))
    out = _run(topo.in_peer(*ping, str(count), "-i", str(interval), address))
    rtts = [float(m.group(1)) for m in RTT.finditer(out)]
    if len(rtts) < count // 2:
        raise RuntimeError(f"{len(rtts)} of {count} echo replies")
    return statistics.median(rtts)


def _netstat(ns: str, name: str) -> int:
    """A TcpExt counter of the kernel in namespace ``ns`` (/proc/net/netstat)."""
    text = netns.sh("ip", "netns", "exec", ns, "cat", "/proc/net/netstat")
    lines = [line.split() for line in text.splitlines()]
    for names, values in itertools.pairwise(lines):
        if names[0] == "TcpExt:" and values[0] == "TcpExt:":
            return int(values[names.index(name)])
    raise RuntimeError(f"no TcpExt {name} in {ns}")


def _link_local(ns: str, ifname: str) -> str | None:
    text = netns.sh("ip", "-n", ns, "-6", "-o", "addr", "show", "dev", ifname, "scope", "link")
    for line in text.splitlines():
        if "tentative" not in line and (m := re.search(r"inet6 (fe80::[0-9a-f:]+)/", line)):
            return m.group(1)
    return None


def _global(ns: str, ifname: str) -> str | None:
    text = netns.sh("ip", "-n", ns, "-6", "-o", "addr", "show", "dev", ifname, "scope", "global")
    for line in text.splitlines():
        if "tentative" not in line and (m := re.search(rf"inet6 ({PREFIX}[0-9a-f:]*)/", line)):
            return m.group(1)
    return None


@dataclass
class Side:
    """One topology and what runs in it; ``kind`` is ``linux`` or ``tcpip6``."""

    kind: str
    topo: Topology
    tmp: Path
    receiver: LineReader | None = None
    host: LineReader | None = None  # the tcpip6 process
    host_ll: str = ""
    peer_ll: str = ""
    control: Path = field(default_factory=Path)
    #: More arguments of ``tcpip6 host`` (say, ``--no-optimistic-dad``).
    host_args: tuple[str, ...] = ()
    #: What the tcpip6 host said of its link's offload when it last started.
    offload_line: str = ""

    # -- the host side, started afresh each repetition ------------------------------------
    def start(self) -> tuple[float, float]:
        """(Re)start the host side: seconds to a usable link-local and SLAAC address."""
        if self.kind == "tcpip6":
            return self._start_tcpip6()
        return self._start_linux()

    def _start_tcpip6(
        self, offload: bool = True, env: dict[str, str] | None = None
    ) -> tuple[float, float]:
        self.stop()
        cmd = self.topo.in_host(sys.executable, "-u", "-m", "tcpip6", "host")
        cmd += [] if offload else ["--no-offload"]
        cmd += ["--link", f"ethernet:{HOST_IF}", "--control", str(self.control)]
        cmd += ["--serve", f"discard,echo,http={self.tmp / 'www'}", *self.host_args]
        t0 = time.monotonic()
        proc = self.topo.start(
            cmd, cwd=netns.REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )  # fmt: skip
        self.host = LineReader(proc)
        self.offload_line = self.host.wait_for(rf"^link {HOST_IF} offload: (.*)$").group(1)
        # Usable: optimistic (RFC 4429 §3.3) or preferred, whichever is said first.
        usable = rf"on {HOST_IF} (?:preferred|optimistic) \("
        self.host_ll = self.host.wait_for(rf"^address (fe80::[0-9a-f:]+)/64 {usable}").group(1)
        t_ll = time.monotonic() - t0
        self.host.wait_for(rf"^address {PREFIX}[0-9a-f:]*/64 {usable}")
        t_slaac = time.monotonic() - t0
        self.host.wait_for(r"^control socket ")
        return t_ll, t_slaac

    def _start_linux(self) -> tuple[float, float]:
        ns = self.topo.host
        netns.sh("ip", "-n", ns, "link", "set", HOST_IF, "down")
        t0 = time.monotonic()
        netns.sh("ip", "-n", ns, "link", "set", HOST_IF, "up")
        t_ll = t_slaac = None
        end = t0 + 30
        while time.monotonic() < end and t_slaac is None:
            if t_ll is None and (ll := _link_local(ns, HOST_IF)) is not None:
                t_ll = time.monotonic() - t0
                self.host_ll = ll
            if t_ll is not None and _global(ns, HOST_IF) is not None:
                t_slaac = time.monotonic() - t0
            time.sleep(0.005)
        if t_ll is None or t_slaac is None:
            raise RuntimeError("Linux configured no SLAAC address within 30 s")
        return t_ll, t_slaac

    def stop(self) -> None:
        if self.host is not None and self.host.proc.poll() is None:
            netns.stop(self.host)
        self.host = None

    # -- measurements ----------------------------------------------------------------------
    @property
    def host_at_peer(self) -> str:
        return f"{self.host_ll}%{PEER_IF}"

    def send_to_host(self, octets: int) -> float:
        """MB/s, Linux (peer) → host's discard service, timed by the sender."""
        out = _run(
            _python(self.topo.peer, SEND, self.host_at_peer, str(octets),
                    str(DISCARD_PORT))
        )  # fmt: skip
        n, seconds = out.split()
        return int(n) / float(seconds) / 1e6

    def send_to_peer(self, octets: int) -> float:
        """MB/s, host → Linux peer's receiver, timed by the receiver."""
        assert self.receiver is not None
        target = f"{self.peer_ll}%{HOST_IF}"
        if self.kind == "tcpip6":
            buflen = 65536
            cmd = [sys.executable, "-m", "tcpip6", "ttcp", "--control", str(self.control)]
            cmd += ["-t", "-l", str(buflen), "-n", str(octets // buflen)]
            cmd += ["-p", str(RECEIVER_PORT), target]
            _run(cmd)
            octets = octets // buflen * buflen
        else:
            _run(_python(self.topo.host, SOURCE, target, str(octets),
                         str(RECEIVER_PORT)))  # fmt: skip
        line = self.receiver.wait_for(r"^received (\d+) ([\d.e-]+)$", timeout=TIMEOUT)
        self.receiver.lines.clear()
        if int(line.group(1)) != octets:
            raise RuntimeError(f"the peer received {line.group(1)} of {octets} octets")
        return octets / float(line.group(2)) / 1e6

    def ping(self, count: int, interval: float) -> float:
        """The median RTT in ms of ``count`` echo requests from Linux, one every
        ``interval`` seconds."""
        return ping_median(self.topo, self.host_at_peer, count, interval)

    def http10(self) -> float:
        """ms for ``curl --http1.0`` to fetch the 100-octet file (to the server's close)."""
        url = f"http://[{self.host_ll}%25{PEER_IF}]:{HTTP_PORT}/{HTTP_FILE}"
        out = _run(
            self.topo.in_peer("curl", "-6", "-g", "-sS", "--http1.0", "--max-time", "30",
                              "-o", "/dev/null", "-w", "%{http_code} %{time_total}", url)
        )  # fmt: skip
        code, seconds = out.split()
        if code != "200":
            raise RuntimeError(f"curl --http1.0: HTTP {code}")
        return float(seconds) * 1000

    def echo(self, octets: int) -> float:
        """ms for the whole echo."""
        out = _run(_python(self.topo.peer, ECHO, self.host_at_peer, str(octets)))
        return float(out) * 1000

    # -- tcpip6's own figures --------------------------------------------------------------
    def cpu_seconds(self) -> float:
        """The host process's time on a CPU so far (user and system: the scheduler's
        nanoseconds, /proc/PID/schedstat; proc(5)'s clock ticks where it has none)."""
        assert self.host is not None
        proc = Path(f"/proc/{self.host.proc.pid}")
        with contextlib.suppress(OSError, ValueError, IndexError):
            return int((proc / "schedstat").read_text().split()[0]) / 1e9
        fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])  # utime, stime (proc(5) fields 14, 15)
        return ticks / os.sysconf("SC_CLK_TCK")

    def peak_rss_mib(self) -> float:
        assert self.host is not None
        status = Path(f"/proc/{self.host.proc.pid}/status").read_text()
        m = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
        return int(m.group(1)) / 1024 if m else float("nan")

    def counters(self) -> dict[str, Any]:
        answer = control_request(self.control, {"show": "counters"})
        data: dict[str, Any] = answer.get("counters", answer)
        return data

    def rtos_and_drops(self) -> tuple[int, int]:
        """tcpip6's (tcp.timeouts, the frames its packet socket lost for lack of room:
        send_error_drop, and send_queue_full_drop past the transmit ring's queue) now."""
        data = self.counters()
        port = data["extra"].get(f"{HOST_IF} port", {})
        lost = int(port.get("send_error_drop", 0)) + int(port.get("send_queue_full_drop", 0))
        return int(data["tcp"]["timeouts"]), lost


def _shape(side: Side, on: bool) -> None:
    for ns, ifname in ((side.topo.peer, PEER_IF), (side.topo.host, HOST_IF)):
        if on:
            netns.sh("ip", "netns", "exec", ns, "tc", "qdisc", "replace", "dev", ifname, "root",
                     *TBF)  # fmt: skip
        else:
            subprocess.run(["ip", "netns", "exec", ns, "tc", "qdisc", "del", "dev", ifname,
                            "root"], capture_output=True)  # fmt: skip


def _offloads(side: Side, on: bool) -> None:
    state = "on" if on else "off"
    netns.sh("ip", "netns", "exec", side.topo.peer, "ethtool", "-K", PEER_IF, "tso", state,
             "gso", state)  # fmt: skip


def _offloads_both(side: Side, on: bool) -> None:
    """TSO, GSO and GRO on or off on both veths."""
    state = "on" if on else "off"
    for ns, ifname in ((side.topo.peer, PEER_IF), (side.topo.host, HOST_IF)):
        netns.sh("ip", "netns", "exec", ns, "ethtool", "-K", ifname, "tso", state, "gso", state,
                 "gro", state)  # fmt: skip


@contextlib.contextmanager
def _side(kind: str, tmp: Path) -> Iterator[Side]:
    with netns.topology() as topo:
        side = Side(kind, topo, tmp / kind, control=tmp / kind / "host.sock")
        side.tmp.mkdir()
        (side.tmp / "www").mkdir()
        (side.tmp / "www" / HTTP_FILE).write_bytes(bytes(i % 95 + 32 for i in range(100)))
        if kind == "linux":
            # The reference host: the kernel's IPv6 on, DAD as configured by default.
            netns.sh(*topo.in_host("sysctl", "-qw", f"net.ipv6.conf.{HOST_IF}.disable_ipv6=0"))
            services = LineReader(
                topo.start(_python(topo.host, SERVICES), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
            )  # fmt: skip
            services.wait_for("^serving$")
            topo.start(
                topo.in_host(sys.executable, "-m", "http.server", "--bind", "::", "--directory",
                             str(side.tmp / "www"), str(HTTP_PORT)),
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
        topo.peer_run("sysctl", "-qw", "net.ipv6.conf.all.forwarding=1")
        conf = side.tmp / "radvd.conf"
        conf.write_text(RADVD_CONF)
        topo.start(
            topo.in_peer("radvd", "-n", "-C", str(conf), "-p", str(side.tmp / "radvd.pid"),
                         "-m", "stderr"),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        side.receiver = LineReader(
            topo.start(_python(topo.peer, RECEIVE, str(RECEIVER_PORT)),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        )  # fmt: skip
        side.receiver.wait_for("^listening$")
        side.receiver.lines.clear()
        ll = None
        for _ in range(200):
            if (ll := _link_local(topo.peer, PEER_IF)) is not None:
                break
            time.sleep(0.01)
        if ll is None:
            raise RuntimeError("the Linux peer has no link-local address")
        side.peer_ll = ll
        try:
            yield side
        finally:
            side.stop()


@dataclass
class Series:
    """One row's values per repetition, for each side."""

    name: str
    unit: str
    values: dict[str, list[float | None]] = field(
        default_factory=lambda: {"tcpip6": [], "linux": []}
    )
    errors: list[str] = field(default_factory=list)
    #: What the tcpip6 host said it ran (its link's offload line), when the row depends on it.
    said: set[str] = field(default_factory=set)

    def measure(self, kind: str, fn: Callable[[], float]) -> None:
        try:
            self.values[kind].append(fn())
        except Exception as exc:  # one failed repetition is a gap, said in the row
            self.values[kind].append(None)
            self.errors.append(f"{kind}: {type(exc).__name__}: {exc}"[:300])

    def add(self, kind: str, value: float | None) -> None:
        self.values[kind].append(value)

    def row(self) -> dict[str, object]:
        def median(xs: list[float | None]) -> float | None:
            got = [x for x in xs if x is not None]
            return statistics.median(got) if got else None

        ours, ref = median(self.values["tcpip6"]), median(self.values["linux"])
        row: dict[str, object] = {
            "name": self.name,
            "unit": self.unit,
            "tcpip6": ours,
            "reference": ref,
            "ratio": None if ours is None or not ref else ours / ref,
            "reps": self.values["tcpip6"],
            "reference_reps": self.values["linux"],
        }
        if self.said:
            row["tcpip6_offload"] = sorted(self.said)
        if self.errors:
            row["errors"] = self.errors
        return row


def _repetition(side: Side, s: dict[str, Series]) -> None:
    kind = side.kind
    t_ll, t_slaac = side.start()
    s["link_local"].add(kind, t_ll)
    s["slaac"].add(kind, t_slaac)
    paws_peer = _netstat(side.topo.peer, "PAWSEstab")
    rtos_linux = _netstat(side.topo.peer, "TCPTimeouts") + _netstat(side.topo.host, "TCPTimeouts")
    ours = side.rtos_and_drops() if kind == "tcpip6" else (0, 0)
    s["rx_on"].measure(kind, lambda: side.send_to_host(UNSHAPED_OCTETS))
    _offloads(side, False)
    try:
        s["rx_off"].measure(kind, lambda: side.send_to_host(UNSHAPED_OCTETS))
    finally:
        _offloads(side, True)
    s["tx"].measure(kind, lambda: side.send_to_peer(UNSHAPED_OCTETS))
    _shape(side, True)
    try:
        cpu: dict[str, float] = {}
        for row, fn in (
            ("tbf_rx", lambda: side.send_to_host(TBF_OCTETS)),
            ("tbf_tx", lambda: side.send_to_peer(TBF_OCTETS)),
        ):
            before = side.cpu_seconds() if kind == "tcpip6" else 0.0
            s[row].measure(kind, fn)
            rate = s[row].values[kind][-1]
            if kind == "tcpip6" and rate:
                # Over the transfer's own time (not the tools' start-up around it).
                busy = side.cpu_seconds() - before
                cpu[row] = 100 * busy / (TBF_OCTETS / (rate * 1e6))
    finally:
        _shape(side, False)
    if kind == "tcpip6":
        after = side.rtos_and_drops()
        s["rtos"].add(kind, after[0] - ours[0])
        s["send_error_drop"].add(kind, after[1] - ours[1])
        s["cpu_rx"].add(kind, cpu.get("tbf_rx"))
        s["cpu_tx"].add(kind, cpu.get("tbf_tx"))
    else:
        after_linux = _netstat(side.topo.peer, "TCPTimeouts") + _netstat(
            side.topo.host, "TCPTimeouts"
        )
        s["rtos"].add(kind, after_linux - rtos_linux)
    s["paws"].add(kind, _netstat(side.topo.peer, "PAWSEstab") - paws_peer)
    s["ping5"].measure(kind, lambda: side.ping(200, 0.005))
    s["ping50"].measure(kind, lambda: side.ping(50, 0.05))
    s["echo"].measure(kind, lambda: side.echo(ECHO_OCTETS))
    s["http10"].measure(kind, side.http10)
    if kind == "tcpip6":
        s["rss"].add(kind, side.peak_rss_mib())
    # Offloads off at both ends (tcpip6 restarted without its own: the next repetition
    # starts it afresh anyway).
    _offloads_both(side, False)
    try:
        if kind == "tcpip6":
            side._start_tcpip6(offload=False)
        s["rx_plain"].measure(kind, lambda: side.send_to_host(UNSHAPED_OCTETS))
        s["tx_plain"].measure(kind, lambda: side.send_to_peer(UNSHAPED_OCTETS))
        if kind == "tcpip6":
            s["tx_plain"].said.add(side.offload_line)
            side._start_tcpip6(offload=False, env={"TCPIP6_SOFT_GSO": "0"})
            s["tx_plain_segment"].said.add(side.offload_line)
            s["tx_plain_segment"].measure(kind, lambda: side.send_to_peer(UNSHAPED_OCTETS))
        else:  # the same Linux reference as the row above
            s["tx_plain_segment"].add(kind, s["tx_plain"].values[kind][-1])
    finally:
        _offloads_both(side, True)


ROWS = (
    ("rx_on", "TCP Linux → host, unshaped, sender offloads on", "MB/s"),
    ("rx_off", "TCP Linux → host, unshaped, sender offloads off", "MB/s"),
    ("tx", "TCP host → Linux, unshaped", "MB/s"),
    ("rx_plain", "TCP Linux → host, unshaped, offloads off at both ends", "MB/s"),
    (
        "tx_plain",
        "TCP host → Linux, unshaped, offloads off at both ends "
        "(tcpip6 cuts its segments itself, sendmmsg)",
        "MB/s",
    ),
    (
        "tx_plain_segment",
        "TCP host → Linux, unshaped, offloads off at both ends, "
        "a segment per MSS (TCPIP6_SOFT_GSO=0)",
        "MB/s",
    ),
    ("tbf_rx", "TCP Linux → host, tbf 100mbit", "MB/s"),
    ("tbf_tx", "TCP host → Linux, tbf 100mbit", "MB/s"),
    ("ping5", "ping RTT from Linux, 200 at 5 ms", "ms"),
    ("ping50", "ping RTT from Linux, 50 at 50 ms", "ms"),
    ("link_local", "start → link-local usable", "s"),
    ("slaac", "start → SLAAC address usable (radvd)", "s"),
    ("echo", f"TCP echo of {ECHO_OCTETS:,} octets", "ms"),
    ("http10", "curl --http1.0 of a 100-octet file", "ms"),
    ("cpu_rx", "tcpip6 CPU receiving, tbf 100mbit", "%"),
    ("cpu_tx", "tcpip6 CPU sending, tbf 100mbit", "%"),
    ("rss", "tcpip6 peak RSS", "MiB"),
    ("rtos", "retransmission timeouts in the bulk runs", "count"),
    ("send_error_drop", "tcpip6 send_error_drop in the bulk runs", "count"),
    ("paws", "segments Linux's PAWS check dropped", "count"),
)


def alternating(reps: int, what: str, needs: str) -> Iterator[tuple[int, Side]]:
    """The Linux reference host and the tcpip6 host, each on a veth of its own, ``reps``
    times, each repetition in the other order than the one before; ``what`` names the
    module in the progress lines, ``needs`` what root is needed for. The namespaces are
    removed at the end, also on failure."""
    if os.geteuid() != 0:
        raise RuntimeError(f"needs root ({needs}): sudo make bench-live")
    with (
        TemporaryDirectory(prefix=f"bench-live-{what}-") as tmp,
        _side("linux", Path(tmp)) as linux,
        _side("tcpip6", Path(tmp)) as ours,
    ):
        for rep in range(reps):
            for side in (linux, ours) if rep % 2 == 0 else (ours, linux):
                print(f"  {what}: repetition {rep + 1}, {side.kind}", file=sys.stderr, flush=True)
                yield rep, side


def rows(reps: int) -> list[dict[str, object]]:
    series = {key: Series(name, unit) for key, name, unit in ROWS}
    for rep, side in alternating(reps, "tcp", "network namespaces, AF_PACKET, tc"):
        try:
            _repetition(side, series)
        except Exception as exc:
            # The repetition is a gap in every row it did not reach, said once.
            series["link_local"].errors.append(f"{side.kind}: {exc}"[:300])
        for one in series.values():
            one.values[side.kind] += [None] * (rep + 1 - len(one.values[side.kind]))
    out = [series[key].row() for key, _, _ in ROWS]
    # The cost of sending against that of receiving the same stream (at most 2x wanted).
    tx, rx = series["cpu_tx"].row()["tcpip6"], series["cpu_rx"].row()["tcpip6"]
    if isinstance(tx, float) and isinstance(rx, float) and rx:
        out.append(
            {"name": "tcpip6 CPU sending / receiving", "unit": "×", "tcpip6": tx / rx,
             "reference": None, "ratio": None, "reps": []}
        )  # fmt: skip
    return out
