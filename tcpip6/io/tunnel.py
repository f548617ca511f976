"""The live port of an IPv6-in-IPv4 tunnel (RFC 4213, RFC 3056, RFC 2893 §5): a raw IPv4
socket for protocol 41 on the kernel's IPv4. The kernel adds the IPv4 header on send and
hands over whole datagrams, header included, on receive; the ICMPv4 errors about our
datagrams come through its error queue (``IP_RECVERR``, RFC 4213 §3.4).

The link module itself (encapsulation, the 6to4 mapping, :class:`TunnelLink`) is pure logic
and lives in :mod:`tcpip6.stack.tunnel`; this port is the :class:`DatagramPort` it sends
through.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address

from tcpip6.io.rawsock import LinkError
from tcpip6.stack.counters import CounterSet
from tcpip6.stack.tunnel import TUNNEL_TTL
from tcpip6.wire.ipv4 import IPPROTO_IPV6

#: Datagrams read per call to read_ready (timers still run under a flood).
READ_BUDGET = 64
#: An IPv4 datagram is at most this long.
MAX_DATAGRAM = 65535
#: linux/in.h (typeshed lacks them): path MTU discovery off, so DF stays clear; ICMPv4
#: errors about our datagrams queued on the socket (RFC 4213 §3.4 relays them).
IP_MTU_DISCOVER = 10
IP_PMTUDISC_DONT = 0
IP_RECVERR = 11
#: Room for the control message of one queued error (sock_extended_err and offender).
ERRQUEUE_CONTROL = 512

#: What the port hands over for an ICMPv4 error: the ``sock_extended_err`` octets, the
#: address our datagram went to, the quoted octets after its IPv4 header, and ``now``.
ErrorReceiver = Callable[[bytes, IPv4Address, bytes, float], None]

# -- the live port: a raw IPv4 socket for protocol 41 ------------------------------------


@dataclass
class RawIpv4Counters(CounterSet):
    datagrams_received: int = 0
    datagrams_sent: int = 0
    send_error_drop: int = 0
    #: ICMPv4 errors read from the socket's error queue (IP_RECVERR).
    icmpv4_errors_received: int = 0


def open_protocol_41() -> socket.socket:
    """A raw IPv4 socket for protocol 41 that sends with DF clear (``IP_PMTUDISC_DONT``,
    RFC 4213 §3.2.1) and TTL :data:`TUNNEL_TTL`. LinkError, one line, without root."""
    try:
        sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, IPPROTO_IPV6)
    except PermissionError:
        raise LinkError("a raw IPv4 socket (protocol 41) needs root (or CAP_NET_RAW)") from None
    try:
        sock.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DONT)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, TUNNEL_TTL)
    except BaseException:
        sock.close()
        raise
    return sock


def bind_local(sock: socket.socket, local: IPv4Address) -> None:
    """Bind ``sock`` to ``local``; LinkError, one line, when that is not an IPv4 address
    of this host."""
    try:
        sock.bind((str(local), 0))
    except OSError as exc:
        raise LinkError(
            f"cannot use {local} for a tunnel ({exc.strerror}): give an IPv4 address "
            f"of this host (ip -4 addr add {local}/24 dev IFNAME)"
        ) from None


class RawIpv4Port:
    """A raw IPv4 socket for protocol 41, bound to ``local`` (it then receives only the
    datagrams to that address). Sends with DF clear (``IP_PMTUDISC_DONT``, RFC 4213
    RFC 4213 §3.2.1) and TTL :data:`TUNNEL_TTL`."""

    def __init__(self, local: IPv4Address, ifname: str = "tun0") -> None:
        self.local = local
        self.ifname = ifname
        self.counters = RawIpv4Counters()
        self.receiver: Callable[[bytes, float], None] | None = None
        self.error_receiver: ErrorReceiver | None = None
        sock = open_protocol_41()
        try:
            bind_local(sock, local)
            # RFC 4213 §3.4: the kernel queues the ICMPv4 errors about our datagrams.
            sock.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)
            sock.setblocking(False)
        except BaseException:
            sock.close()
            raise
        self.sock = sock

    def __repr__(self) -> str:
        return f"<RawIpv4Port {self.ifname} {self.local} protocol 41>"

    def fileno(self) -> int:
        return self.sock.fileno()

    # DatagramPort
    def send_datagram(self, packet: bytes, dst: IPv4Address) -> None:
        try:
            self.sock.sendto(packet, (str(dst), 0))
        except OSError:
            # No route, a full queue, an ICMP error reported on the socket: a lost
            # datagram, which the protocols above recover from like any loss.
            self.counters.send_error_drop += 1
            return
        self.counters.datagrams_sent += 1

    def read_ready(self, now: float) -> int:
        """Hand the waiting datagrams (at most READ_BUDGET) to the receiver; how many."""
        handed = 0
        for _ in range(READ_BUDGET):
            try:
                datagram = self.sock.recv(MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                # An ICMPv4 error pending on the socket: its report waits in the error
                # queue, read below.
                continue
            self.counters.datagrams_received += 1
            if self.receiver is not None:
                self.receiver(datagram, now)
                handed += 1
        return handed + self.read_errors(now)

    def read_errors(self, now: float) -> int:
        """Hand the queued ICMPv4 errors (at most READ_BUDGET) to ``error_receiver``."""
        handed = 0
        for _ in range(READ_BUDGET):
            try:
                quoted, ancdata, _flags, addr = self.sock.recvmsg(
                    MAX_DATAGRAM, ERRQUEUE_CONTROL, socket.MSG_ERRQUEUE
                )
            except OSError:  # BlockingIOError: the queue is empty
                break
            ee = next(
                (d for lvl, t, d in ancdata if (lvl, t) == (socket.IPPROTO_IP, IP_RECVERR)), b""
            )
            self.counters.icmpv4_errors_received += 1
            if self.error_receiver is not None and ee and addr:
                self.error_receiver(ee, IPv4Address(addr[0]), quoted, now)
                handed += 1
        return handed

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


__all__ = [
    "ErrorReceiver",
    "RawIpv4Counters",
    "RawIpv4Port",
]
