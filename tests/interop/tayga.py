"""Debian's tayga (a stateless NAT64 translator) as an independent oracle for SIIT.

::

    ns "tayga-<pid>-<n>"
      tayga  <== TUN "nat64" ==>  kernel side of the TUN: this test's AF_PACKET socket

A packet the test sends on the TUN's kernel side with an AF_PACKET socket is what tayga
reads from the device; what tayga writes back arrives there as an incoming packet, and
the socket reads it. Nothing is routed: no address is configured in the namespace, so the
kernel drops whatever tayga writes (after the socket has seen it). The namespace, and with
it the TUN, goes away when the test ends, also on failure.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import os
import select
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.interop.netns import delete_namespaces

TUN = "nat64"
ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
ETH_P_IPV6 = 0x86DD
PACKET_OUTGOING = 4
CLONE_NEWNET = 0x40000000

#: tayga's configuration; tcpip6's translator in the tests is configured the same way.
TAYGA_IPV4 = "192.0.2.254"
PREFIX = "2001:db8:64::/96"
MAP_V4 = "192.0.2.1"
MAP_V6 = "2001:db8:1::1"
#: The marker: a packet tayga always translates; what arrives before its translation is
#: what the packet under test became.
MARKER_PAYLOAD = b"tcpip6-tayga-marker"

_serial = itertools.count(1)
_libc = ctypes.CDLL(None, use_errno=True)


def _socket_in(ns: str) -> socket.socket:
    """An AF_PACKET socket on the TUN, made by a thread that entered the namespace (setns
    changes only the calling thread; the socket stays in the namespace it was made in)."""
    made: list[socket.socket] = []
    errors: list[str] = []

    def run() -> None:
        fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
        try:
            if _libc.setns(fd, CLONE_NEWNET) != 0:
                errors.append(os.strerror(ctypes.get_errno()))
                return
            s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
            s.bind((TUN, 0))
            made.append(s)
        finally:
            os.close(fd)

    t = threading.Thread(target=run)
    t.start()
    t.join()
    if not made:
        raise AssertionError(f"cannot open a packet socket in {ns}: {errors}")
    return made[0]


@dataclass
class Tayga:
    ns: str
    proc: subprocess.Popen[bytes]
    sock: socket.socket
    marker: bytes

    def translate(self, packet: bytes, timeout: float = 2.0) -> list[bytes]:
        """Everything tayga wrote in answer to ``packet`` (translations and errors)."""
        version = packet[0] >> 4 if packet else 0
        proto = ETH_P_IPV6 if version == 6 else ETH_P_IP
        self.sock.sendto(packet, (TUN, proto))
        self.sock.sendto(self.marker, (TUN, ETH_P_IP))
        got: list[bytes] = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("tayga did not translate the marker")
            ready, _, _ = select.select([self.sock], [], [], left)
            if not ready:
                continue
            data, addr = self.sock.recvfrom(70000)
            if addr[2] == PACKET_OUTGOING:
                continue
            if data.endswith(MARKER_PAYLOAD) and data[0] >> 4 == 6:
                return got
            got.append(data)


def _marker() -> bytes:
    from scapy.layers.inet import IP, UDP

    return bytes(
        IP(src="198.51.100.200", dst=MAP_V4, ttl=64) / UDP(sport=9, dport=9) / MARKER_PAYLOAD
    )


@contextlib.contextmanager
def tayga(tmp: Path, mtu: int = 9000) -> Iterator[Tayga]:
    ns = f"tayga-{os.getpid()}-{next(_serial)}"
    conf = tmp / "tayga.conf"
    conf.write_text(
        f"tun-device {TUN}\nipv4-addr {TAYGA_IPV4}\nprefix {PREFIX}\nmap {MAP_V4} {MAP_V6}\n"
    )
    proc: subprocess.Popen[bytes] | None = None
    sock: socket.socket | None = None
    try:
        subprocess.run(["ip", "netns", "add", ns], check=True, capture_output=True)
        # The TUN exists before tayga starts, with the MTU tayga is to read at start (it
        # sizes its buffers and its IPv4 MTU by it); removed explicitly at the end.
        subprocess.run(
            ["ip", "netns", "exec", ns, "tayga", "-c", str(conf), "--mktun"],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            ["ip", "-n", ns, "link", "set", TUN, "mtu", str(mtu), "up"],
            check=True,
            capture_output=True,
        )
        proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, "tayga", "-c", str(conf), "--nodetach"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        sock = _socket_in(ns)
        yield Tayga(ns, proc, sock, _marker())
    finally:
        if sock is not None:
            sock.close()
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
        subprocess.run(["ip", "-n", ns, "link", "del", TUN], capture_output=True)
        delete_namespaces(ns)
