"""The floor under the ping rows of :mod:`bench.live_tcp`: Linux's ping on the same kind of
veth, answered by the least a Python process can do, with no stack.

The responder (:func:`respond`, run as ``python -m bench.live_floor IFNAME MAC ADDRESS``
in the host namespace) waits in ``epoll`` on a packet socket, as the live host does, and
answers an Echo Request to ``ADDRESS`` (RFC 4443 §4.2) and a Neighbor Solicitation for it
(RFC 4861 §7.2.4) by rewriting the request: no validation, no caches, no counters. What
it takes is what waking a Python process, reading a frame and writing one costs on this
machine; the ping rows of tcpip6 cannot go below it.

Rows (median of ``reps`` runs, each the median of its replies): the RTT at 5 ms and at
50 ms intervals. The figure is in the ``reference`` column: it is not tcpip6's.
"""

from __future__ import annotations

import select
import socket
import struct
import subprocess
import sys
import time
from ipaddress import IPv6Address
from typing import Any

from bench.live_tcp import ping_median
from tests.interop import netns
from tests.interop.netns import HOST_IF, PEER_IF

#: The peer's address and the responder's, on one /64 (RFC 3849 documentation prefix).
PEER_ADDRESS = "2001:db8:f1::1"
RESPONDER_ADDRESS = "2001:db8:f1::2"
START_TIMEOUT = 10.0
ETH_P_IPV6 = 0x86DD


def _checksum(src: bytes, dst: bytes, body: bytes) -> int:
    """RFC 4443 §2.3: the ICMPv6 checksum over the RFC 8200 §8.1 pseudo-header."""
    data = src + dst + struct.pack("!I3xB", len(body), 58) + body
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _reply(frame: bytes, ours: bytes, mac: bytes, body: bytes, hop_limit: int) -> bytes:
    src = frame[22:38]
    body = body[:2] + struct.pack("!H", _checksum(ours, src, body)) + body[4:]
    ip = frame[14:18] + struct.pack("!HBB", len(body), 58, hop_limit) + ours + src
    return frame[6:12] + mac + frame[12:14] + ip + body


def answer(frame: bytes, ours: bytes, mac: bytes) -> bytes | None:
    """The frame answering ``frame`` (an Ethernet frame), or None."""
    if len(frame) < 62 or frame[20] != 58:  # an ICMPv6 message right after the header
        return None
    icmp = frame[54:]
    if icmp[0] == 135 and icmp[8:24] == ours:
        # RFC 4861 §7.2.4: a solicited Neighbor Advertisement (S and O set) with our MAC.
        body = bytes((136, 0, 0, 0, 0x60, 0, 0, 0)) + ours + bytes((2, 1)) + mac
        return _reply(frame, ours, mac, body, 255)
    if icmp[0] == 128 and frame[38:54] == ours:
        # RFC 4443 §4.2: the Echo Reply carries the request's Identifier, Sequence and data.
        return _reply(frame, ours, mac, bytes((129, 0, 0, 0)) + icmp[4:], 64)
    return None


def respond(ifname: str, mac: bytes, address: str) -> None:
    """Answer on ``ifname`` until killed."""
    ours = IPv6Address(address).packed
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IPV6))
    sock.bind((ifname, 0))
    sock.setblocking(False)
    poller = select.epoll()
    poller.register(sock.fileno(), select.EPOLLIN)
    print("ready", flush=True)
    while True:
        poller.poll()
        while True:
            try:
                frame = sock.recv(65536)
            except BlockingIOError:
                break
            out = answer(frame, ours, mac)
            if out is not None:
                sock.send(out)


def rows(reps: int) -> list[dict[str, Any]]:
    medians: dict[int, list[float]] = {5: [], 50: []}
    with netns.topology() as topo:
        topo.peer_run("ip", "-6", "addr", "add", f"{PEER_ADDRESS}/64", "dev", PEER_IF, "nodad")
        mac = topo.host_mac()
        proc = topo.start(
            topo.in_host(sys.executable, "-u", "-m", "bench.live_floor", HOST_IF, mac.hex(),
                         RESPONDER_ADDRESS),
            cwd=netns.REPO, stdout=subprocess.PIPE,
        )  # fmt: skip
        reader = netns.LineReader(proc)
        reader.wait_for("^ready$", timeout=START_TIMEOUT)
        time.sleep(0.2)
        for _ in range(reps):
            medians[5].append(ping_median(topo, RESPONDER_ADDRESS, 200, 0.005))
            medians[50].append(ping_median(topo, RESPONDER_ADDRESS, 50, 0.05))
    out = []
    for interval, count in ((5, 200), (50, 50)):
        got = sorted(medians[interval])
        out.append(
            {
                "name": f"ping RTT floor: a bare Python responder, no stack, {count} at "
                f"{interval} ms",
                "unit": "ms",
                "tcpip6": None,
                "reference": got[len(got) // 2],
                "ratio": None,
                "reps": [],
                "reference_reps": medians[interval],
            }
        )
    return out


if __name__ == "__main__":
    respond(sys.argv[1], bytes.fromhex(sys.argv[2]), sys.argv[3])
