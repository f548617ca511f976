"""Interface ioctls (linux/sockios.h, netdevice(7)): a ``struct ifreq`` names the
interface and carries a 24-octet union (a sockaddr, an int or a short, by request).
Both the AF_PACKET port and the TAP port read the MAC, MTU and flags with them."""

from __future__ import annotations

import fcntl
import socket
import struct

SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
SIOCGIFMTU = 0x8921
SIOCGIFHWADDR = 0x8927
IFF_UP = 0x1

#: struct ifreq: the name, then the 24-octet union.
IFREQ = struct.Struct("16s24s")


def ifreq(sock: socket.socket, request: int, name: str, data: bytes = b"") -> bytes:
    """The union the kernel answers ``request`` on interface ``name`` with (``data`` is
    what to set, for a set request). OSError as the kernel says."""
    raw = fcntl.ioctl(sock.fileno(), request, IFREQ.pack(name.encode(), data))
    return bytes(raw)[16:]
