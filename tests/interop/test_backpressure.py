"""Back-pressure on a real link (tcpip6.stack.link, tcpip6.io.rawsock) against the Linux
kernel: the qdisc of tcpip6's veth end is a tbf whose queue holds two frames, so most
frames the packet socket is given find no room (the kernel answers ENOBUFS).

- TCP: the live host transmits to a Linux receiver through it (without offload: the
  port cuts TCP's segments itself and sends the frames many per sendmmsg). Every octet arrives, in
  ttcp's pattern (the receiver checks it); the host's packet socket lost no frame
  (``send_error_drop``, ``send_queue_full_drop``) and TCP had no retransmission timeout:
  the port kept the frames and TCP stopped for local congestion.
- UDP and raw sockets get what a Linux socket gets when its frames wait in a full queue:
  a tcpip6 socket in the host namespace and a Linux socket in the peer namespace, each
  behind a 10 Mbit/s tbf whose queue holds what they send, send the same burst: a
  non-blocking UDP socket gets EAGAIN (BlockingIOError), a blocking one waits until all
  is sent, a raw socket gets ENOBUFS, blocking or not. (With a qdisc that drops instead,
  Linux's UDP socket says nothing, or ENOBUFS with IPV6_RECVERR; tcpip6's port never
  drops for lack of room, so its sockets see the full queue as Linux's do a long one.)
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.interop import netns
from tests.interop.live import Live, live_host
from tests.interop.netns import HOST_IF, PEER_IF, LineReader, Topology
from tests.interop.test_ttcp import ACCEPT_ONE

BUFLEN = 8192
NBUF = 250
TINY_TBF = ("tbf", "rate", "20mbit", "burst", "3000", "limit", "3000")
#: A queue that holds a burst of BURST datagrams of 1400 octets (Linux's send buffer,
#: not the qdisc, is then what fills first).
LONG_TBF = ("tbf", "rate", "10mbit", "burst", "3000", "limit", "10000000")
BURST = 300

#: Linux's receiver: one connection, every octet checked against ttcp's pattern.
PATTERN_RECEIVER = (
    ACCEPT_ONE
    + """
buflen = int(sys.argv[2])
expected = bytes(32 + i % 95 for i in range(buflen))
total = differ = 0
while chunk := conn.recv(65536):
    for i, octet in enumerate(chunk):
        if octet != expected[(total + i) % buflen]:
            differ += 1
    total += len(chunk)
print(f"received {total} differ {differ}", flush=True)
"""
)

#: A socket sends BURST datagrams as fast as it can; what each sendto gave, counted.
#: argv: destination, blocking (0/1), raw (0/1). In the host namespace it is a tcpip6
#: socket (on a LiveDriver over a packet socket on veth-h), in the peer namespace Linux's.
BURST_SENDER = """
import errno, json, socket, sys
dst, blocking, raw = sys.argv[1], sys.argv[2] == "1", sys.argv[3] == "1"
if sys.argv[4] == "tcpip6":
    import random
    from ipaddress import IPv6Address
    from tcpip6.api import sockets as so
    from tcpip6.api.sockets import Stack
    from tcpip6.io.rawsock import RawSocketPort
    from tcpip6.io.runtime import LiveDriver
    from tcpip6.stack.host import Host
    from tcpip6.stack.link import EthernetLink
    from tcpip6.stack.params import InterfaceParameters
    port = RawSocketPort(sys.argv[5])
    host = Host("burst", random.Random(1))
    iface = host.add_interface(EthernetLink(port, port.mac, port.mtu), "veth-h",
                               InterfaceParameters(dup_addr_detect_transmits=0))
    port.receiver = lambda frame, now: host.receive(iface, frame, now)
    port.on_writable = lambda now: host.link_writable(iface, now)
    driver = LiveDriver([host], [port])
    driver.add(port)
    iface.add_static_address(IPv6Address("fe80::2"), 64, driver.now)
    iface.add_static_neighbor(IPv6Address(dst.split("%")[0]), bytes.fromhex(sys.argv[6]))
    stack = Stack(host, driver)
    s = stack.socket(so.AF_INET6, so.SOCK_RAW if raw else so.SOCK_DGRAM, 253 if raw else 0)
    s.setblocking(blocking)
    target = (dst.split("%")[0], 0 if raw else 9, 0, iface.index)
else:
    port = None
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW if raw else socket.SOCK_DGRAM,
                      253 if raw else 0)
    s.setblocking(blocking)
    target = (dst, 0 if raw else 9)
got = {}
for _ in range(300):  # BURST
    try:
        s.sendto(bytes(1400), target)
        key = "ok"
    except OSError as exc:
        key = errno.errorcode.get(exc.errno or 0, type(exc).__name__)
    got[key] = got.get(key, 0) + 1
if port is not None:
    driver.wait(lambda: not port.queue, 10.0)
    got["port_drops"] = port.counters.send_error_drop + port.counters.send_queue_full_drop
print(json.dumps(got), flush=True)
"""


@pytest.fixture
def live(topology: Topology, tmp_path: Path) -> Iterator[Live]:
    # Without segmentation offload: this is the per-frame queue's test. A large frame is
    # cut by tbf itself (sch_tbf's tbf_segment), which drops the pieces it has no room for
    # and tells the socket nothing unless it dropped them all.
    with live_host(topology, tmp_path, "--no-offload") as live:
        yield live


def _qdisc(topo: Topology, ns: str, ifname: str, *spec: str) -> None:
    netns.sh("ip", "netns", "exec", ns, "tc", "qdisc", "replace", "dev", ifname, "root", *spec)


def _peer_link_local(topo: Topology) -> str:
    text = topo.peer_run("ip", "-6", "-br", "addr", "show", "dev", PEER_IF, "scope", "link")
    return text.split()[2].split("/")[0]


def test_tcp_through_a_full_qdisc_loses_nothing_and_never_times_out(live: Live) -> None:
    topo = live.topo
    _qdisc(topo, topo.host, HOST_IF, *TINY_TBF)
    receiver = LineReader(
        topo.start(topo.in_peer(sys.executable, "-u", "-c", PATTERN_RECEIVER, "5001",
                                str(BUFLEN)),
                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    )  # fmt: skip
    receiver.wait_for(r"^listening$")
    target = f"{_peer_link_local(topo)}%{HOST_IF}"
    cmd = [sys.executable, "-m", "tcpip6", "ttcp", "--control", str(live.control)]
    done = subprocess.run(
        [*cmd, "-t", "-l", str(BUFLEN), "-n", str(NBUF), target],
        cwd=netns.REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, (done.stdout, done.stderr)
    got = receiver.wait_for(r"^received (\d+) differ (\d+)$", timeout=60)
    assert (int(got.group(1)), int(got.group(2))) == (BUFLEN * NBUF, 0)
    counters = netns.show_json(live.control, "counters")
    port = counters["extra"][f"{HOST_IF} port"]
    # The qdisc refused frames (ENOBUFS) and the port kept every one of them, frames of
    # the segments it cut itself and sent many per sendmmsg among them.
    assert port["send_enobufs"] > 0
    assert port["soft_gso_frames_cut"] > 0 and port["sendmmsg_calls"] > 0
    assert (port["send_error_drop"], port["send_queue_full_drop"]) == (0, 0)
    tcp = counters["tcp"]
    assert tcp["timeouts"] == 0
    assert tcp["local_congestion_stops"] > 0


def _burst(topo: Topology, side: str, *, blocking: bool, raw: bool) -> dict[str, int]:
    if side == "linux":
        dst = "fe80::2%" + PEER_IF
        cmd = topo.in_peer(sys.executable, "-c", BURST_SENDER, dst, str(int(blocking)),
                           str(int(raw)), "linux")  # fmt: skip
    else:
        peer_mac = topo.peer_run("cat", f"/sys/class/net/{PEER_IF}/address").strip()
        dst = f"{_peer_link_local(topo)}%{HOST_IF}"
        cmd = topo.in_host(sys.executable, "-c", BURST_SENDER, dst, str(int(blocking)),
                           str(int(raw)), "tcpip6", HOST_IF, peer_mac.replace(":", ""))  # fmt: skip
    done = subprocess.run(cmd, cwd=netns.REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, int] = json.loads(done.stdout)
    return result


@pytest.mark.parametrize(
    ("blocking", "raw"), [(False, False), (True, False), (False, True), (True, True)]
)
def test_udp_and_raw_sockets_get_what_linux_gives(
    topology: Topology, blocking: bool, raw: bool
) -> None:
    topo = topology
    # The Linux sender's destination: a permanent neighbor entry (nobody answers).
    host_mac = topo.host_mac().hex(":")
    topo.peer_run("ip", "-6", "neigh", "replace", "fe80::2", "lladdr", host_mac, "dev", PEER_IF,
                  "nud", "permanent")  # fmt: skip
    _qdisc(topo, topo.peer, PEER_IF, *LONG_TBF)
    _qdisc(topo, topo.host, HOST_IF, *LONG_TBF)
    linux = _burst(topo, "linux", blocking=blocking, raw=raw)
    ours = _burst(topo, "tcpip6", blocking=blocking, raw=raw)
    assert ours.pop("port_drops") == 0
    # The same kinds of answers: what succeeded and which error the rest got.
    assert set(ours) == set(linux), (ours, linux)
    expected = {
        (False, False): "EAGAIN",
        (True, False): None,
        (False, True): "ENOBUFS",
        (True, True): "ENOBUFS",  # a raw socket is never made to wait
    }
    error = expected[(blocking, raw)]
    if error is None:
        assert ours == linux == {"ok": BURST}
    else:
        assert set(ours) == {"ok", error}, ours
