"""The TUN port against the Linux kernel: an IPv4-only namespace routes 198.51.100.0/24 into
tcpip6's TUN device; tcpip6's SIIT translates the kernel's ping to IPv6, an IPv6 host
(played by the test with scapy) answers, the answer is translated back and written to the
TUN, and the kernel's ping counts the reply. A UDP datagram goes the same way to a kernel
socket. Everything lives in a namespace the test makes and removes."""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import subprocess
import threading
import time
from collections.abc import Iterator
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

import pytest
from scapy.layers.inet import UDP
from scapy.layers.inet6 import ICMPv6EchoReply, ICMPv6EchoRequest, IPv6

from tcpip6.io.tun import TunPort
from tcpip6.stack.translate.eam import EamEntry, EamTable
from tcpip6.stack.translate.mapping import AddressMapping
from tcpip6.stack.translate.rfc6052 import Rfc6052Prefix
from tcpip6.stack.translate.siit import Siit, SiitConfig

TUN = "t64"
KERNEL4 = "192.0.2.1"
PEER4 = "198.51.100.7"
PEER6 = "2001:db8:1::7"
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _in_ns(ns: str, fn):  # type: ignore[no-untyped-def]
    out: list[object] = []
    err: list[BaseException] = []

    def run() -> None:
        fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
        try:
            assert _libc.setns(fd, CLONE_NEWNET) == 0
            out.append(fn())
        except BaseException as exc:
            err.append(exc)
        finally:
            os.close(fd)

    t = threading.Thread(target=run)
    t.start()
    t.join()
    if err:
        raise err[0]
    return out[0]


@contextlib.contextmanager
def ipv4_namespace() -> Iterator[tuple[str, TunPort]]:
    if os.geteuid() != 0 and not os.environ.get("CI"):
        pytest.skip("needs root (a network namespace and a TUN device)")
    ns = f"v4only-{os.getpid()}"
    port: TunPort | None = None
    try:
        subprocess.run(["ip", "netns", "add", ns], check=True, capture_output=True)
        port = _in_ns(ns, lambda: TunPort(TUN))
        for cmd in (
            ["link", "set", "lo", "up"],
            ["addr", "add", f"{KERNEL4}/32", "dev", "lo"],
            ["route", "add", "198.51.100.0/24", "dev", TUN, "src", KERNEL4],
        ):
            subprocess.run(["ip", "-n", ns, *cmd], check=True, capture_output=True)
        yield ns, port
    finally:
        if port is not None:
            port.close()
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def siit() -> Siit:
    eam = EamTable((EamEntry(IPv4Network(PEER4), IPv6Network(PEER6)),))
    mapping = AddressMapping(Rfc6052Prefix(IPv6Network("2001:db8:64::/96")), eam)
    return Siit(SiitConfig(mapping, mtu4=1500, mtu6=1500))


def serve(port: TunPort, translator: Siit, seconds: float, seen: list[IPv6]) -> None:
    """The IPv6 host behind the translator: answer echo requests, record everything."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready, _, _ = select.select([port], [], [], 0.1)
        if not ready:
            continue
        packets: list[bytes] = []
        port.read_packets(packets.append)
        for pkt in packets:
            for out6 in translator.translate_v4(pkt).packets:
                p = IPv6(out6)
                seen.append(p)
                if p.haslayer(ICMPv6EchoRequest):
                    req = p[ICMPv6EchoRequest]
                    reply = IPv6(src=p.dst, dst=p.src) / ICMPv6EchoReply(
                        id=req.id, seq=req.seq, data=req.data
                    )
                    for back in translator.translate_v6(bytes(reply)).packets:
                        port.send(back)


def test_kernel_ping_and_udp_through_siit_on_tun() -> None:
    translator = siit()
    seen: list[IPv6] = []
    with ipv4_namespace() as (ns, port):
        server = threading.Thread(target=serve, args=(port, translator, 8.0, seen))
        server.start()
        try:
            ping = subprocess.run(
                ["ip", "netns", "exec", ns, "ping", "-c", "3", "-i", "0.2", "-W", "2", PEER4],
                capture_output=True,
                text=True,
                timeout=20,
            )
            subprocess.run(
                ["ip", "netns", "exec", ns, "python3", "-c",
                 "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
                 f"s.sendto(b'udp through tun', ('{PEER4}', 9999))"],
                check=True, capture_output=True, timeout=20,
            )  # fmt: skip
            time.sleep(0.5)
        finally:
            server.join()
    assert ping.returncode == 0, ping.stdout + ping.stderr
    assert "3 received" in ping.stdout
    mapped = Rfc6052Prefix(IPv6Network("2001:db8:64::/96")).embed(IPv4Address(KERNEL4))
    echoes = [p for p in seen if p.haslayer(ICMPv6EchoRequest)]
    assert len(echoes) == 3
    assert {(p.src, p.dst) for p in echoes} == {(str(mapped), str(IPv6Address(PEER6)))}
    (udp,) = [p for p in seen if p.haslayer(UDP)]
    assert (bytes(udp[UDP].payload), udp[UDP].dport) == (b"udp through tun", 9999)
    assert port.counters.packets_sent == 3
