"""A TUN port: the IPv4 side of a translator (stack/translate/hook.py) on a Linux TUN device.

``/dev/net/tun`` with ``TUNSETIFF`` and ``IFF_TUN | IFF_NO_PI`` makes interface ``NAME``;
each ``read`` of the descriptor is one whole IP packet the kernel routed into the device
(the administrator routes the translator's IPv4 pool or mapped addresses there), each
``write`` one packet the kernel receives from it. ``IFF_TUN_EXCL`` refuses a name in use;
the device is not persistent, so closing the descriptor removes it. The port brings the
device up; addresses and routes are the administrator's (or the test's).

Only IPv4 packets are taken (the IPv6 side of the translator is tcpip6's own link); the
rest are counted and dropped. The descriptor is non-blocking: a driver waits on
:meth:`TunPort.fileno` and calls :meth:`TunPort.read_ready` (a frame source of
:class:`~tcpip6.io.runtime.LiveDriver`), which hands each packet to ``receiver``.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tcpip6.io.ifreq import IFF_UP, SIOCGIFFLAGS, SIOCGIFMTU, SIOCSIFFLAGS, ifreq
from tcpip6.io.rawsock import LinkError
from tcpip6.io.tap import CLONE_DEVICE, create_device, name_problem
from tcpip6.stack.counters import CounterSet

IFF_TUN = 0x0001
#: Packets read per call to read_ready, so that timers still run under a flood.
READ_BUDGET = 64
MAX_PACKET = 65536


@dataclass
class TunCounters(CounterSet):
    packets_received: int = 0
    packets_sent: int = 0
    not_ipv4_drop: int = 0
    send_error_drop: int = 0
    #: read before a translator took the device (no receiver yet)
    no_receiver_drop: int = 0


class TunPort:
    """A TUN device named ``name``, created for tcpip6 (see the module docstring)."""

    def __init__(self, name: str, *, clone: Path = CLONE_DEVICE) -> None:
        problem = name_problem(name)
        if problem is not None:
            raise LinkError(problem)
        self.name = name
        self.counters = TunCounters()
        #: where IPv4 packets read from the device go: (packet, now)
        self.receiver: Callable[[bytes, float], None] | None = None
        self.fd = create_device(name, clone, IFF_TUN, _setiff_error)
        try:
            #: the device's MTU, as the kernel has it (the IPv4 next-hop MTU of RFC 7915 §6)
            self.mtu = _bring_up(name)
        except LinkError:
            os.close(self.fd)
            raise

    @property
    def ifname(self) -> str:
        return self.name

    def fileno(self) -> int:
        return self.fd

    def send(self, packet: bytes, now: float = 0.0) -> None:
        """One IPv4 packet to the kernel (the translator's IPv4 port)."""
        try:
            os.write(self.fd, packet)
        except OSError:
            self.counters.send_error_drop += 1
            return
        self.counters.packets_sent += 1

    def read_ready(self, now: float) -> int:
        """Read what waits (at most READ_BUDGET packets); IPv4 ones go to ``receiver``."""
        receiver = self.receiver
        if receiver is None:
            return self.read_packets(self._no_receiver)
        return self.read_packets(lambda p: receiver(p, now))

    def _no_receiver(self, packet: bytes) -> None:
        self.counters.no_receiver_drop += 1

    def read_packets(self, deliver: Callable[[bytes], None]) -> int:
        """Read what waits (at most READ_BUDGET packets); IPv4 ones go to ``deliver``."""
        n = 0
        while n < READ_BUDGET:
            try:
                packet = os.read(self.fd, MAX_PACKET)
            except BlockingIOError:
                break
            except OSError as exc:
                if exc.errno in (errno.EAGAIN, errno.EINTR):
                    break
                raise
            n += 1
            if not packet or packet[0] >> 4 != 4:
                self.counters.not_ipv4_drop += 1
                continue
            self.counters.packets_received += 1
            deliver(packet)
        return n

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _setiff_error(name: str, code: int) -> str:
    """The one line for a TUNSETIFF that failed with ``code``."""
    if code == errno.EBUSY:
        return f"an interface named {name} exists already"
    return f"cannot create TUN device {name}: {os.strerror(code)}"


def _bring_up(name: str) -> int:
    """Bring ``name`` up; its MTU."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            (flags,) = struct.unpack_from("H", ifreq(sock, SIOCGIFFLAGS, name))
            ifreq(sock, SIOCSIFFLAGS, name, struct.pack("H", flags | IFF_UP))
        except OSError as exc:
            raise LinkError(f"cannot bring TUN device {name} up: {exc.strerror}") from None
        try:
            (mtu,) = struct.unpack_from("i", ifreq(sock, SIOCGIFMTU, name))
        except OSError as exc:
            raise LinkError(f"cannot read the MTU of {name}: {exc.strerror}") from None
    return int(mtu)
