"""Link events from the kernel: a raw rtnetlink socket (``NETLINK_ROUTE``, the
``RTMGRP_LINK`` group), read by the live host's driver like a packet socket.

The kernel sends ``RTM_NEWLINK`` when an interface changes (its flags, its carrier) and
``RTM_DELLINK`` when it goes away (rtnetlink(7)). Each message is a ``nlmsghdr`` (16
octets: length, type, flags, sequence, port), an ``ifinfomsg`` (16 octets: family, type,
index, flags, change) and attributes (``rtattr``: length, type, value, padded to 4):
``IFLA_IFNAME`` and ``IFLA_OPERSTATE`` are the ones read here. A link is *up* when it is
administratively up and has a carrier (``IFF_UP`` and ``IFF_LOWER_UP``). Malformed
messages are counted and skipped.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from tcpip6.stack.counters import CounterSet

RTMGRP_LINK = 1
RTM_NEWLINK = 16
RTM_DELLINK = 17
IFLA_IFNAME = 3
IFLA_OPERSTATE = 16
IFF_UP = 0x1
IFF_LOWER_UP = 0x10000
_NLMSGHDR = struct.Struct("=IHHII")
_IFINFOMSG = struct.Struct("=BxHiII")
_RTATTR = struct.Struct("=HH")


@dataclass(frozen=True, slots=True)
class LinkEvent:
    index: int
    name: str
    up: bool  # IFF_UP and IFF_LOWER_UP
    deleted: bool  # RTM_DELLINK: the interface is gone


@dataclass
class NetlinkCounters(CounterSet):
    messages: int = 0
    link_events: int = 0
    other_message_ignored: int = 0
    malformed_drop: int = 0


def _align(n: int) -> int:
    return (n + 3) & ~3


def parse(data: bytes, counters: NetlinkCounters) -> Iterator[LinkEvent]:
    """The link events in one datagram from the socket."""
    off = 0
    if len(data) < _NLMSGHDR.size:
        counters.malformed_drop += 1
        return
    while off + _NLMSGHDR.size <= len(data):
        length, kind, _, _, _ = _NLMSGHDR.unpack_from(data, off)
        if length < _NLMSGHDR.size or off + length > len(data):
            counters.malformed_drop += 1
            return
        counters.messages += 1
        body = data[off + _NLMSGHDR.size : off + length]
        off += _align(length)
        if kind not in (RTM_NEWLINK, RTM_DELLINK):
            counters.other_message_ignored += 1
            continue
        if len(body) < _IFINFOMSG.size:
            counters.malformed_drop += 1
            continue
        _, _, index, flags, _ = _IFINFOMSG.unpack_from(body, 0)
        name = ""
        pos = _IFINFOMSG.size
        while pos + _RTATTR.size <= len(body):
            alen, atype = _RTATTR.unpack_from(body, pos)
            if alen < _RTATTR.size or pos + alen > len(body):
                counters.malformed_drop += 1
                break
            if atype == IFLA_IFNAME:
                name = body[pos + 4 : pos + alen].split(b"\0", 1)[0].decode("ascii", "replace")
            pos += _align(alen)
        counters.link_events += 1
        up = bool(flags & IFF_UP) and bool(flags & IFF_LOWER_UP)
        yield LinkEvent(index, name, up and kind == RTM_NEWLINK, kind == RTM_DELLINK)


class NetlinkMonitor:
    """A source of the live driver: ``read_ready`` reads what the kernel sent and calls
    ``on_event(event, now)`` for each link event."""

    def __init__(self, on_event: Callable[[LinkEvent, float], None]) -> None:
        self.on_event = on_event
        self.counters = NetlinkCounters()
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
        try:
            sock.bind((0, RTMGRP_LINK))
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        self.sock = sock

    def fileno(self) -> int:
        return self.sock.fileno()

    def read_ready(self, now: float) -> int:
        n = 0
        while True:
            try:
                data = self.sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                return n
            except OSError:  # ENOBUFS: events were lost; the next ones still come
                self.counters.malformed_drop += 1
                return n
            for event in parse(data, self.counters):
                self.on_event(event, now)
                n += 1

    def close(self) -> None:
        self.sock.close()
