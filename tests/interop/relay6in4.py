"""The Linux end of an IPv6-in-IPv4 tunnel on a kernel without ``sit``: Linux's own IPv6
on a TUN device, joined to the IPv4 path by this relay.

::

    python -m tests.interop.relay6in4 TUNNAME LOCAL4 --remote REMOTE4   (configured tunnel)
    python -m tests.interop.relay6in4 TUNNAME LOCAL4 --6to4             (6to4)

It creates the TUN device (IFF_TUN, no packet information: whole IPv6 packets), prints
``relaying TUNNAME`` and then only adds and strips the IPv4 header:

- an IPv6 packet Linux routes into the TUN device goes out inside IPv4 protocol 41 from
  LOCAL4 (a raw socket: the kernel writes the IPv4 header, DF clear) to REMOTE4, or, for
  6to4, to the IPv4 address its 2002::/16 destination embeds (others are dropped);
- a protocol-41 datagram to LOCAL4 (from REMOTE4 only, for a configured tunnel) has its
  IPv4 header stripped and the IPv6 packet inside is written to the TUN device.

Configuring the device (up, MTU, addresses, routes) is the caller's job, with ``ip``.
The device goes away with the process. SIGTERM ends it.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import selectors
import signal
import socket
import struct
import sys
from ipaddress import IPv4Address, IPv6Address, IPv6Network

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
IPPROTO_IPV6 = 41
IP_MTU_DISCOVER = 10
IP_PMTUDISC_DONT = 0
SIX_TO_FOUR = IPv6Network("2002::/16")


def open_tun(name: str) -> int:
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH22x", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def ipv4_destination(packet: bytes, remote: IPv4Address | None) -> IPv4Address | None:
    if remote is not None:
        return remote
    dst = IPv6Address(packet[24:40])
    return IPv4Address(dst.packed[2:6]) if dst in SIX_TO_FOUR else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="relay6in4")
    parser.add_argument("tun")
    parser.add_argument("local", type=IPv4Address)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--remote", type=IPv4Address)
    mode.add_argument("--6to4", dest="sixtofour", action="store_true")
    args = parser.parse_args(argv)
    remote: IPv4Address | None = args.remote

    tun = open_tun(args.tun)
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, IPPROTO_IPV6)
    raw.bind((str(args.local), 0))
    raw.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DONT)
    raw.setblocking(False)
    selector = selectors.DefaultSelector()
    selector.register(tun, selectors.EVENT_READ, "tun")
    selector.register(raw, selectors.EVENT_READ, "raw")
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"relaying {args.tun}", flush=True)
    counts = {"encapsulated": 0, "decapsulated": 0, "dropped": 0}
    while not stopping:
        for key, _ in selector.select(0.5):
            try:
                if key.data == "tun":
                    packet = os.read(tun, 65535)
                    dst = ipv4_destination(packet, remote) if packet[0] >> 4 == 6 else None
                    if dst is None or len(packet) < 40:
                        counts["dropped"] += 1
                        continue
                    raw.sendto(packet, (str(dst), 0))
                    counts["encapsulated"] += 1
                else:
                    datagram = raw.recv(65535)
                    ihl = (datagram[0] & 0x0F) * 4
                    total = struct.unpack_from("!H", datagram, 2)[0]
                    src = IPv4Address(datagram[12:16])
                    if datagram[9] != IPPROTO_IPV6 or (remote is not None and src != remote):
                        counts["dropped"] += 1
                        continue
                    os.write(tun, datagram[ihl:total])
                    counts["decapsulated"] += 1
            except (BlockingIOError, InterruptedError):
                continue
            except OSError as exc:  # no route, a full queue: a lost packet
                print(f"relay: {exc}", file=sys.stderr, flush=True)
                counts["dropped"] += 1
    print(" ".join(f"{k} {v}" for k, v in counts.items()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
