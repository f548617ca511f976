"""The application API: sockets shaped like the standard library's, and an asyncio face.

A Python programmer can guess it::

    stack = Stack(host, driver)                     # driver: simnet or real time (tcpip6.io)
    s = stack.socket(AF_INET6, SOCK_DGRAM)          # UDP; IPPROTO_UDPLITE for UDP-Lite
    s.bind(("::", 7))
    data, (src, port, flowinfo, scope_id) = s.recvfrom(2048)
    s.sendto(data, (src, port, flowinfo, scope_id))

Addresses are ``socket.AF_INET6`` tuples ``(host, port, flowinfo, scope_id)`` (``host``
may carry a zone, ``fe80::1%eth0``; ``scope_id`` is an interface index, RFC 4007 §11).
Blocking calls let the *driver* run the network until they can complete (a fake clock on
simnet, real time on the live runtime), so the same application code runs on both.
Timeouts and non-blocking mode raise :class:`TimeoutError` and :class:`BlockingIOError`
as the standard library does; option names and values are the standard library's
(``socket.IPV6_UNICAST_HOPS`` …), so code written for ``socket`` carries over.

Raw sockets (``SOCK_RAW``) receive a copy of every packet of their Next Header value
(RFC 3542 §3): for ICMPv6, the message with its header, filtered by ``ICMP6_FILTER``
(Linux's semantics: a set bit blocks that type), and the stack computes the ICMPv6
checksum of what they send (RFC 3542 §3.1).

A full transmit queue (back-pressure, :mod:`tcpip6.stack.link`) gives what a Linux socket
gets when its frames wait in a full queue: a UDP socket's ``sendto`` raises
:class:`BlockingIOError` (EAGAIN) when non-blocking and waits for room when blocking (a
timeout: :class:`TimeoutError`); a raw socket's raises ``OSError(ENOBUFS)`` in either mode.

The asyncio face is :func:`create_datagram_endpoint`, with the transport/protocol pair of
``loop.create_datagram_endpoint``.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import socket as _socket
import struct
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv6Address
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol, Self, overload

from tcpip6.stack import address_selection
from tcpip6.stack.counters import CounterSet
from tcpip6.stack.udp import UNSPECIFIED, Received
from tcpip6.wire import icmpv6 as wire_icmp
from tcpip6.wire import ipv6 as wire_ipv6
from tcpip6.wire.checksum import upper_layer_checksum

if TYPE_CHECKING:
    from tcpip6.api.stream import StreamSocket
    from tcpip6.stack.host import Host
    from tcpip6.stack.interface import Interface
    from tcpip6.stack.ipv6 import ControlMessage, Delivery

AF_INET6 = _socket.AF_INET6
SOCK_DGRAM = _socket.SOCK_DGRAM
SOCK_STREAM: Final = _socket.SocketKind.SOCK_STREAM
IPPROTO_TCP = wire_ipv6.IPPROTO_TCP
SOCK_RAW = _socket.SOCK_RAW
IPPROTO_IPV6 = _socket.IPPROTO_IPV6
IPPROTO_UDP = wire_ipv6.IPPROTO_UDP
IPPROTO_UDPLITE = wire_ipv6.IPPROTO_UDPLITE
IPPROTO_ICMPV6 = wire_ipv6.IPPROTO_ICMPV6
SOL_SOCKET = _socket.SOL_SOCKET
SO_RCVBUF = _socket.SO_RCVBUF
IPV6_UNICAST_HOPS = _socket.IPV6_UNICAST_HOPS
IPV6_MULTICAST_HOPS = _socket.IPV6_MULTICAST_HOPS
IPV6_MULTICAST_LOOP = _socket.IPV6_MULTICAST_LOOP
IPV6_MULTICAST_IF = _socket.IPV6_MULTICAST_IF
IPV6_JOIN_GROUP = _socket.IPV6_JOIN_GROUP
IPV6_LEAVE_GROUP = _socket.IPV6_LEAVE_GROUP
IPV6_V6ONLY = _socket.IPV6_V6ONLY
IPV6_TCLASS = getattr(_socket, "IPV6_TCLASS", 67)
IPV6_RECVHOPLIMIT = getattr(_socket, "IPV6_RECVHOPLIMIT", 51)
IPV6_HOPLIMIT = getattr(_socket, "IPV6_HOPLIMIT", 52)
IPV6_RECVPKTINFO = getattr(_socket, "IPV6_RECVPKTINFO", 49)
IPV6_PKTINFO = getattr(_socket, "IPV6_PKTINFO", 50)
IPV6_DONTFRAG = getattr(_socket, "IPV6_DONTFRAG", 62)
#: Linux's IPV6_MTU: the path MTU of a connected socket (getsockopt only here).
IPV6_MTU = 24
MSG_TRUNC = _socket.MSG_TRUNC
MSG_CTRUNC = _socket.MSG_CTRUNC
#: Linux values (linux/udp.h, linux/icmpv6.h): the standard library does not name them.
UDPLITE_SEND_CSCOV = 10
UDPLITE_RECV_CSCOV = 11
ICMP6_FILTER = 1

#: Datagrams a socket holds for the application before it drops (and counts) more.
DEFAULT_QUEUE = 256
#: Errors kept for an unconnected socket (``Socket.errors``); older ones are dropped.
ERROR_QUEUE = 64

Address = tuple[str, int, int, int]


class Driver(Protocol):
    """What runs the network while a blocking call waits (``tcpip6.io.runtime``)."""

    @property
    def now(self) -> float: ...

    def wait(self, ready: Callable[[], bool], timeout: float | None) -> bool:
        """Run until ``ready()`` or ``timeout`` seconds pass (None: no limit; 0: only what
        is due now). Returns ``ready()``."""
        ...


@dataclass
class SocketCounters(CounterSet):
    received: int = 0
    queue_full_drop: int = 0
    filtered: int = 0
    sent: int = 0
    errors: int = 0
    #: sendto calls that found the transmit queue stopped (EAGAIN, ENOBUFS or a wait).
    send_queue_stopped: int = 0


@dataclass(frozen=True, slots=True)
class Queued:
    """A datagram waiting for the application, with what ``recvmsg`` can tell of it."""

    data: bytes
    address: Address
    hop_limit: int
    destination: IPv6Address
    ifindex: int


@dataclass(frozen=True, slots=True)
class SocketError:
    """An ICMPv6 error about something this socket sent (kept for unconnected sockets)."""

    reporter: IPv6Address
    type: int
    code: int
    parameter: int
    destination: IPv6Address


class Stack:
    """A host and its driver, as the application sees them."""

    def __init__(self, host: Host, driver: Driver) -> None:
        self.host = host
        self.driver = driver

    @overload
    def socket(  # type: ignore[overload-overlap]
        self, family: int, type: Literal[1, _socket.SocketKind.SOCK_STREAM], proto: int = 0
    ) -> StreamSocket: ...

    @overload
    def socket(self, family: int = AF_INET6, type: int = SOCK_DGRAM, proto: int = 0) -> Socket: ...

    def socket(
        self, family: int = AF_INET6, type: int = SOCK_DGRAM, proto: int = 0
    ) -> Socket | StreamSocket:
        if family != AF_INET6:
            raise OSError(errno.EAFNOSUPPORT, "tcpip6 speaks IPv6 only: use AF_INET6")
        if type == SOCK_STREAM:
            if proto not in (0, IPPROTO_TCP):
                raise OSError(errno.EPROTONOSUPPORT, f"no stream protocol {proto}")
            from tcpip6.api.stream import StreamSocket

            return StreamSocket(self)
        if type == SOCK_DGRAM:
            proto = proto or IPPROTO_UDP
            if proto not in (IPPROTO_UDP, IPPROTO_UDPLITE):
                raise OSError(errno.EPROTONOSUPPORT, f"no datagram protocol {proto}")
        elif type == SOCK_RAW:
            if not 0 < proto < 256:
                raise OSError(errno.EPROTONOSUPPORT, "a raw socket names its Next Header value")
        else:
            raise OSError(errno.ESOCKTNOSUPPORT, "SOCK_STREAM, SOCK_DGRAM or SOCK_RAW")
        return Socket(self, type, proto)

    def resolve(
        self, address: tuple[Any, ...], no_interface: int = errno.ENETUNREACH
    ) -> tuple[IPv6Address, int, Interface | None]:
        """An AF_INET6 tuple as (address, port, interface): the zone of the text or the
        scope_id names the interface (RFC 4007 §11). A zone naming no interface (one that
        was removed) is ``OSError(no_interface)``: Linux's ENODEV for a bind, ENETUNREACH
        (no route) for the other calls."""
        if not isinstance(address, tuple) or not 2 <= len(address) <= 4:
            raise TypeError("an AF_INET6 address is (host, port[, flowinfo[, scope_id]])")
        host_text, port = address[0], address[1]
        scope_id = address[3] if len(address) == 4 else 0
        if not isinstance(port, int) or not 0 <= port <= 0xFFFF:
            raise OverflowError("port must be 0-65535")
        text = "::" if host_text in ("", None) else str(host_text)
        if scope_id and "%" not in text:
            text = f"{text}%{scope_id}"
        _, zone = address_selection.parse_scoped(text)
        if zone and not any(zone in (i.index, i.name) for i in self.host.interfaces):
            raise OSError(no_interface, f"{text}: no such interface")
        addr, iface = self.host.scoped_destination(text)
        return addr, port, iface

    def sockaddr(self, address: IPv6Address, port: int, iface: Interface | None) -> Address:
        scope = iface.index if iface is not None and address_selection.needs_zone(address) else 0
        return (_address_text(address), port, 0, scope)


class SocketBase:
    """What every kind of socket shares: ``socket``'s blocking modes (None blocks, 0.0 is
    non-blocking, a positive number is a timeout in seconds), ``with`` closing it, and
    EBADF once it is closed."""

    _timeout: float | None = None
    closed: bool = False

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def fileno(self) -> int:
        return -1  # no kernel descriptor: the stack lives in this process

    def _check_open(self) -> None:
        if self.closed:
            raise OSError(errno.EBADF, "Bad file descriptor")

    def settimeout(self, value: float | None) -> None:
        if value is not None and value < 0:
            raise ValueError("Timeout value out of range")
        self._timeout = value

    def gettimeout(self) -> float | None:
        return self._timeout

    def setblocking(self, flag: bool) -> None:
        self._timeout = None if flag else 0.0

    def getblocking(self) -> bool:
        return self._timeout != 0.0


class Socket(SocketBase):
    """A datagram (UDP, UDP-Lite) or raw IPv6 socket. See the module docstring."""

    def __init__(self, stack: Stack, type: int, proto: int) -> None:
        self.stack = stack
        self.host = stack.host
        self.family = AF_INET6
        self.type = type
        self.proto = proto
        self.protocol = proto  # the UDP module's Endpoint field
        self.local_address: IPv6Address = UNSPECIFIED
        self.local_port = 0
        self.remote_address: IPv6Address | None = None
        self.remote_port = 0
        self.remote_interface: Interface | None = None
        self.bound_interface: Interface | None = None
        self.min_coverage = 0
        self.send_coverage = 0
        self.unicast_hops = -1
        self.multicast_hops = 1
        self.multicast_loop = True
        self.multicast_interface: Interface | None = None
        self.traffic_class = 0
        self.icmp6_filter = bytes(32)  # Linux: a set bit blocks the type; none blocked
        # RFC 3542 §6: ancillary data recvmsg returns; RFC 3542 §11.2: no fragmentation on send.
        self.recv_hoplimit = False
        self.recv_pktinfo = False
        self.dontfrag = False
        self.queue: deque[Queued] = deque()
        self.queue_limit = DEFAULT_QUEUE
        self.errors: deque[SocketError] = deque(maxlen=ERROR_QUEUE)
        self.counters = SocketCounters()
        self.pending_error: OSError | None = None
        self.groups: list[tuple[IPv6Address, Interface]] = []
        self._timeout: float | None = None
        self._bound = False
        self.closed = False
        #: The asyncio face: datagrams go to this callback instead of the queue.
        self.on_datagram: Callable[[bytes, Address], None] | None = None
        self.on_error: Callable[[OSError], None] | None = None
        if type == SOCK_RAW:
            self.host.raw_sockets.setdefault(proto, []).append(self)
            self._bound = True

    def __repr__(self) -> str:
        kind = "raw" if self.type == SOCK_RAW else "dgram"
        return f"<tcpip6 socket {kind} proto={self.proto} {self.getsockname()}>"

    # -- the standard library's calls --------------------------------------------------
    def bind(self, address: tuple[Any, ...]) -> None:
        self._check_open()
        if self._bound and self.type == SOCK_DGRAM:
            raise OSError(errno.EINVAL, "already bound")
        addr, port, iface = self.stack.resolve(address, errno.ENODEV)
        local = addr.is_unspecified or addr.is_multicast
        if not local and self.host.local_interface_for(addr) is None:
            raise OSError(errno.EADDRNOTAVAIL, f"{addr} is not an address of this host")
        self.bound_interface = iface
        if self.type == SOCK_RAW:
            self.local_address = addr
            return
        # Bound to a group, the socket receives only datagrams sent to that group (as
        # Linux does); what it sends takes a source chosen as usual (never the group).
        self.local_address = addr
        self.host.udp.bind(self, port)
        self._bound = True

    def connect(self, address: tuple[Any, ...]) -> None:
        self._check_open()
        addr, port, iface = self.stack.resolve(address)
        self.remote_address, self.remote_port, self.remote_interface = addr, port, iface
        if self.type == SOCK_DGRAM:
            self._autobind()
            self.host.udp.rebound(self)

    def sendto(self, data: bytes, *args: Any) -> int:
        """``sendto(data, address)`` or ``sendto(data, flags, address)``."""
        self._check_open()
        address = args[-1]
        if len(args) not in (1, 2):
            raise TypeError("sendto(data[, flags], address)")
        dst, port, iface = self.stack.resolve(address)
        return self._send(bytes(data), dst, port, iface)

    def send(self, data: bytes, flags: int = 0) -> int:
        self._check_open()
        if self.remote_address is None:
            raise OSError(errno.EDESTADDRREQ, "not connected: use sendto")
        return self._send(bytes(data), self.remote_address, self.remote_port, self.remote_interface)

    def recvfrom(self, bufsize: int, flags: int = 0) -> tuple[bytes, Address]:
        item = self._next()
        return item.data[:bufsize], item.address

    def recvmsg(
        self, bufsize: int, ancbufsize: int = 0, flags: int = 0
    ) -> tuple[bytes, list[tuple[int, int, bytes]], int, Address]:
        """``socket.recvmsg``: with IPV6_RECVHOPLIMIT / IPV6_RECVPKTINFO set, the
        ancillary data carries the Hop Limit and the destination address and interface
        (RFC 3542 §6.1, RFC 3542 §6.3); none fits in ``ancbufsize`` 0 (MSG_CTRUNC)."""
        item = self._next()
        ancdata: list[tuple[int, int, bytes]] = []
        if self.recv_hoplimit:
            ancdata.append((IPPROTO_IPV6, IPV6_HOPLIMIT, struct.pack("i", item.hop_limit)))
        if self.recv_pktinfo:
            info = item.destination.packed + struct.pack("I", item.ifindex)
            ancdata.append((IPPROTO_IPV6, IPV6_PKTINFO, info))
        msg_flags = MSG_TRUNC if len(item.data) > bufsize else 0
        if ancdata and ancbufsize <= 0:
            ancdata, msg_flags = [], msg_flags | MSG_CTRUNC
        return item.data[:bufsize], ancdata, msg_flags, item.address

    def _next(self) -> Queued:
        self._check_open()
        if not self.stack.driver.wait(self._readable, self._wait_time()):
            if self._timeout == 0.0:
                raise BlockingIOError(errno.EAGAIN, "no datagram waiting")
            raise TimeoutError("timed out")
        self._raise_pending()
        return self.queue.popleft()

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        return self.recvfrom(bufsize, flags)[0]

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        now = self.stack.driver.now
        for group, iface in self.groups:
            self.host.leave_group(iface, group, now)
        self.groups.clear()
        if self.type == SOCK_RAW:
            self.host.raw_sockets.get(self.proto, []).remove(self)
        elif self.local_port:
            self.host.udp.unbind(self)
        self.queue.clear()

    def getsockname(self) -> Address:
        return self.stack.sockaddr(self.local_address, self.local_port, self.bound_interface)

    def getpeername(self) -> Address:
        if self.remote_address is None:
            raise OSError(errno.ENOTCONN, "not connected")
        return self.stack.sockaddr(self.remote_address, self.remote_port, self.remote_interface)

    def setsockopt(self, level: int, option: int, value: int | bytes) -> None:
        self._check_open()
        key = (level, option)
        if key == (IPPROTO_IPV6, IPV6_UNICAST_HOPS):
            self.unicast_hops = _hops(value, allow_default=True)
        elif key == (IPPROTO_IPV6, IPV6_MULTICAST_HOPS):
            hops = _hops(value, allow_default=True)
            self.multicast_hops = 1 if hops == -1 else hops
        elif key == (IPPROTO_IPV6, IPV6_MULTICAST_LOOP):
            self.multicast_loop = bool(_int(value))
        elif key == (IPPROTO_IPV6, IPV6_MULTICAST_IF):
            index = _int(value)
            self.multicast_interface = None if index == 0 else self._interface(index)
        elif key in ((IPPROTO_IPV6, IPV6_JOIN_GROUP), (IPPROTO_IPV6, IPV6_LEAVE_GROUP)):
            group, iface = self._membership(value)
            if option == IPV6_JOIN_GROUP:
                self._join(group, iface)
            else:
                self._leave(group, iface)
        elif key == (IPPROTO_IPV6, IPV6_TCLASS):
            tclass = _int(value)
            if not -1 <= tclass <= 255:
                raise OSError(errno.EINVAL, "traffic class is 0-255 (-1: default)")
            self.traffic_class = max(tclass, 0)
        elif key == (IPPROTO_IPV6, IPV6_RECVHOPLIMIT):
            self.recv_hoplimit = bool(_int(value))
        elif key == (IPPROTO_IPV6, IPV6_RECVPKTINFO):
            self.recv_pktinfo = bool(_int(value))
        elif key == (IPPROTO_IPV6, IPV6_DONTFRAG):
            self.dontfrag = bool(_int(value))
        elif key == (IPPROTO_IPV6, IPV6_V6ONLY):
            if not _int(value):
                raise OSError(errno.ENOPROTOOPT, "tcpip6 has no IPv4: sockets are IPv6 only")
        elif key == (SOL_SOCKET, SO_RCVBUF):
            self.queue_limit = max(1, _int(value) // 2048)
        elif key == (IPPROTO_UDPLITE, UDPLITE_SEND_CSCOV) and self.proto == IPPROTO_UDPLITE:
            self.send_coverage = _coverage(value)
        elif key == (IPPROTO_UDPLITE, UDPLITE_RECV_CSCOV) and self.proto == IPPROTO_UDPLITE:
            self.min_coverage = _coverage(value)
        elif key == (IPPROTO_ICMPV6, ICMP6_FILTER) and self.proto == IPPROTO_ICMPV6:
            if not isinstance(value, (bytes, bytearray)) or len(value) != 32:
                raise OSError(errno.EINVAL, "ICMP6_FILTER is 32 octets (256 bits)")
            self.icmp6_filter = bytes(value)
        else:
            raise OSError(errno.ENOPROTOOPT, f"option ({level}, {option}) not supported")

    def getsockopt(self, level: int, option: int) -> int | bytes:
        key = (level, option)
        if key == (IPPROTO_IPV6, IPV6_MTU):
            if self.remote_address is None:
                raise OSError(errno.ENOTCONN, "IPV6_MTU needs a connected socket")
            return self._path_mtu(self.remote_address, self.remote_interface)
        values: dict[tuple[int, int], int | bytes] = {
            (IPPROTO_IPV6, IPV6_UNICAST_HOPS): self._unicast_hops(),
            (IPPROTO_IPV6, IPV6_MULTICAST_HOPS): self.multicast_hops,
            (IPPROTO_IPV6, IPV6_MULTICAST_LOOP): int(self.multicast_loop),
            (IPPROTO_IPV6, IPV6_TCLASS): self.traffic_class,
            (IPPROTO_IPV6, IPV6_V6ONLY): 1,
            (IPPROTO_IPV6, IPV6_RECVHOPLIMIT): int(self.recv_hoplimit),
            (IPPROTO_IPV6, IPV6_RECVPKTINFO): int(self.recv_pktinfo),
            (IPPROTO_IPV6, IPV6_DONTFRAG): int(self.dontfrag),
            (SOL_SOCKET, SO_RCVBUF): self.queue_limit * 2048,
            (IPPROTO_UDPLITE, UDPLITE_SEND_CSCOV): self.send_coverage,
            (IPPROTO_UDPLITE, UDPLITE_RECV_CSCOV): self.min_coverage,
            (IPPROTO_ICMPV6, ICMP6_FILTER): self.icmp6_filter,
        }
        if key not in values:
            raise OSError(errno.ENOPROTOOPT, f"option ({level}, {option}) not supported")
        return values[key]

    # -- what the stack calls -----------------------------------------------------------
    def deliver(self, datagram: Received) -> None:
        """A datagram for this UDP/UDP-Lite socket (from :mod:`tcpip6.stack.udp`)."""
        addr = self.stack.sockaddr(datagram.src, datagram.src_port, datagram.interface)
        self._enqueue(
            Queued(
                datagram.data,
                addr,
                datagram.hop_limit,
                datagram.dst,
                datagram.interface.index,
            )
        )

    def deliver_raw(self, d: Delivery) -> None:
        """A copy of a packet for this raw socket: the payload from its protocol's header
        on (RFC 3542 §3)."""
        payload = bytes(d.payload)
        blocked = self.proto == IPPROTO_ICMPV6 and payload and self._blocked(payload[0])
        if blocked:
            self.counters.filtered += 1
            return
        if not self.local_address.is_unspecified and d.header.dst != self.local_address:
            return
        if self.bound_interface is not None and d.interface is not self.bound_interface:
            return
        addr = self.stack.sockaddr(d.header.src, 0, d.interface)
        hdr = d.header
        self._enqueue(Queued(payload, addr, hdr.hop_limit, hdr.dst, d.interface.index))

    def _blocked(self, icmp_type: int) -> bool:
        """ICMP6_FILTER (Linux): bit ``type`` set blocks the type."""
        return bool(self.icmp6_filter[icmp_type >> 3] & (1 << (icmp_type & 7)))

    def error_received(self, message: ControlMessage) -> None:
        """An ICMPv6 error about a datagram this socket sent."""
        err = message.error
        parameter = wire_icmp.error_parameter(err)
        self.counters.errors += 1
        self.errors.append(
            SocketError(
                message.reporter, err.type, err.code, parameter, message.invoking_header.dst
            )
        )
        if self.remote_address is None:
            return  # Linux reports errors to connected sockets only (without IP_RECVERR)
        exc = _errno_of(err)
        if exc is None:
            return
        if self.on_error is not None:
            self.on_error(exc)
        else:
            self.pending_error = exc

    # -- inside -------------------------------------------------------------------------
    def _enqueue(self, item: Queued) -> None:
        self.counters.received += 1
        if self.on_datagram is not None:
            self.on_datagram(item.data, item.address)
            return
        if len(self.queue) >= self.queue_limit:
            self.counters.queue_full_drop += 1
            return
        self.queue.append(item)

    def _readable(self) -> bool:
        return bool(self.queue) or self.pending_error is not None or self.closed

    def _wait_time(self) -> float | None:
        return self._timeout

    def _raise_pending(self) -> None:
        self._check_open()
        if self.pending_error is not None:
            exc, self.pending_error = self.pending_error, None
            raise exc

    def _autobind(self) -> None:
        if not self._bound:
            self.host.udp.bind(self, 0)
            self._bound = True

    def _interface(self, index: int) -> Interface:
        try:
            return self.host.interface(index)
        except KeyError:
            raise OSError(errno.ENODEV, f"no interface {index}") from None

    def _path_mtu(self, dst: IPv6Address, iface: Interface | None) -> int:
        """The path MTU the stack knows for ``dst`` (RFC 8201), the link MTU until a Packet
        Too Big says less; the IPv6 minimum without a route."""
        host, now = self.host, self.stack.driver.now
        route = host.route(dst, iface, now)
        if route is None:
            return wire_ipv6.MIN_MTU
        pmtu = host.routes.path_mtu(dst, now, route[0])
        return route[0].mtu if pmtu is None else pmtu

    def _unicast_hops(self) -> int:
        if self.unicast_hops != -1:
            return self.unicast_hops
        ifaces = self.host.interfaces
        return ifaces[0].params.cur_hop_limit if ifaces else 64

    def _send(self, data: bytes, dst: IPv6Address, port: int, iface: Interface | None) -> int:
        self._raise_pending()
        now = self.stack.driver.now
        hops: int | None
        if dst.is_multicast:
            iface = iface or self.multicast_interface
            hops = self.multicast_hops
        else:
            hops = None if self.unicast_hops == -1 else self.unicast_hops
        iface = iface or self.bound_interface
        if self.dontfrag:
            # RFC 3542 §11.2: with IPV6_DONTFRAG nothing is fragmented: too big is EMSGSIZE.
            size = (
                wire_ipv6.Ipv6Header.HEADER_LEN + len(data) + (8 if self.type == SOCK_DGRAM else 0)
            )
            mtu = self._path_mtu(dst, iface)
            if size > mtu:
                raise OSError(errno.EMSGSIZE, f"Message too long (path MTU {mtu})")
        self._wait_for_room(dst, iface)
        if self.type == SOCK_RAW:
            sent = self._send_raw(data, dst, iface, hops, now)
        else:
            if len(data) > 0xFFFF - 8:
                raise OSError(errno.EMSGSIZE, "Message too long")
            if port == 0:
                raise OSError(errno.EINVAL, "destination port 0")
            self._autobind()
            sent = self.host.udp.send(
                self,
                data,
                dst,
                port,
                now,
                interface=iface,
                hop_limit=hops,
                traffic_class=self.traffic_class,
                coverage=self.send_coverage,
                multicast_loop=self.multicast_loop,
            )
        if not sent:
            raise OSError(errno.ENETUNREACH, f"Network is unreachable: {dst}")
        self.counters.sent += 1
        return len(data)

    def _wait_for_room(self, dst: IPv6Address, iface: Interface | None) -> None:
        """The interface towards ``dst`` has a stopped transmit queue: as Linux, EAGAIN
        (non-blocking) or a wait (blocking) for UDP, whose frames would wait in it, and
        ENOBUFS for a raw socket."""
        if not any(i.tx_stopped() for i in self.host.interfaces):
            return  # the usual case, without a route lookup
        route = self.host.route(dst, iface, self.stack.driver.now)
        if route is None or not route[0].tx_stopped():
            return
        out = route[0]
        self.counters.send_queue_stopped += 1
        if self.type == SOCK_RAW:
            raise OSError(errno.ENOBUFS, "No buffer space available")
        if not self.stack.driver.wait(lambda: self.closed or not out.tx_stopped(), self._timeout):
            if self._timeout == 0.0:
                raise BlockingIOError(errno.EAGAIN, "the transmit queue is full")
            raise TimeoutError("timed out")
        self._check_open()

    def _send_raw(
        self,
        data: bytes,
        dst: IPv6Address,
        iface: Interface | None,
        hops: int | None,
        now: float,
    ) -> bool:
        host = self.host
        local = self.local_address
        path = host.route_with_source(dst, iface, None if local.is_multicast else local, now)
        if path is None:
            return False
        out, next_hop, src = path
        if self.proto == IPPROTO_ICMPV6 and len(data) >= 4:
            # RFC 3542 §3.1: the kernel computes the ICMPv6 checksum of raw sockets.
            body = bytearray(data)
            body[2:4] = b"\x00\x00"
            csum = upper_layer_checksum(src, dst, IPPROTO_ICMPV6, body)
            body[2:4] = struct.pack("!H", csum)
            data = bytes(body)
        return host.ipv6.send_on(
            out,
            next_hop,
            src,
            dst,
            self.proto,
            data,
            now,
            hop_limit=hops,
            traffic_class=self.traffic_class,
            multicast_loop=self.multicast_loop,
        )

    def _membership(self, value: int | bytes | tuple[Any, ...]) -> tuple[IPv6Address, Interface]:
        """``struct ipv6_mreq`` (16 octets of group, a native unsigned interface index), or
        the tuple ``(group, ifindex)``."""
        if isinstance(value, tuple):
            group, index = IPv6Address(value[0]), int(value[1])
        elif isinstance(value, (bytes, bytearray)) and len(value) == 20:
            packed, index = struct.unpack("16sI", value)
            group = IPv6Address(packed)
        else:
            raise OSError(errno.EINVAL, "ipv6_mreq is 16 octets of group and an interface index")
        if not group.is_multicast:
            raise OSError(errno.EINVAL, f"{group} is not a multicast address")
        if index:
            return group, self._interface(index)
        route = self.host.route(group, None, self.stack.driver.now)
        if route is None:
            raise OSError(errno.ENODEV, "several interfaces: name one in ipv6_mreq")
        return group, route[0]

    def _join(self, group: IPv6Address, iface: Interface) -> None:
        if (group, iface) in self.groups:
            raise OSError(errno.EADDRINUSE, f"already a member of {group}")
        self.groups.append((group, iface))
        self.host.join_group(iface, group, self.stack.driver.now)

    def _leave(self, group: IPv6Address, iface: Interface) -> None:
        if (group, iface) not in self.groups:
            raise OSError(errno.EADDRNOTAVAIL, f"not a member of {group}")
        self.groups.remove((group, iface))
        self.host.leave_group(iface, group, self.stack.driver.now)


#: The text of an address, as ``str`` gives it: every datagram received names its source
#: this way, and ``ipaddress`` takes microseconds to write an IPv6 address.
_address_text = functools.lru_cache(maxsize=1024)(IPv6Address.__str__)


def _int(value: int | bytes) -> int:
    if isinstance(value, (bytes, bytearray)):
        if len(value) != 4:
            raise OSError(errno.EINVAL, "an integer option is 4 octets")
        return int(struct.unpack("i", value)[0])
    return int(value)


def _hops(value: int | bytes, allow_default: bool) -> int:
    hops = _int(value)
    if not (-1 if allow_default else 0) <= hops <= 255:
        raise OSError(errno.EINVAL, "hop limit is 0-255 (-1: the default)")
    return hops


def _coverage(value: int | bytes) -> int:
    cover = _int(value)
    # RFC 3828 §3.1: 0 (everything) or at least the 8-octet header.
    if cover != 0 and not 8 <= cover <= 0xFFFF:
        raise OSError(errno.EINVAL, "UDP-Lite coverage is 0 or 8-65535")
    return cover


def _errno_of(err: wire_icmp.ErrorMessage) -> OSError | None:
    """The errno Linux gives a connected socket for an ICMPv6 error (icmpv6_err_convert)."""
    if isinstance(err, wire_icmp.DestinationUnreachable):
        if err.code == wire_icmp.UNREACH_PORT:
            return ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
        if err.code == wire_icmp.UNREACH_ADMIN_PROHIBITED:
            return PermissionError(errno.EACCES, "Permission denied")
        return OSError(errno.EHOSTUNREACH, "No route to host")
    if isinstance(err, wire_icmp.TimeExceeded):
        return OSError(errno.EHOSTUNREACH, "No route to host")
    if isinstance(err, wire_icmp.ParameterProblem):
        return OSError(errno.EPROTO, "Protocol error")
    return None  # Packet Too Big: the stack adapts (RFC 8201), nothing for the application


# -- the asyncio face -----------------------------------------------------------------------
class DatagramTransport(asyncio.DatagramTransport):
    """``asyncio.DatagramTransport`` over a tcpip6 socket."""

    def __init__(self, sock: Socket, protocol: asyncio.DatagramProtocol) -> None:
        super().__init__()
        self._sock = sock
        self._protocol = protocol
        sock.setblocking(False)
        sock.on_datagram = self._received
        sock.on_error = protocol.error_received

    def _received(self, data: bytes, addr: Address) -> None:
        try:
            self._protocol.datagram_received(data, addr)
        except Exception as exc:  # never into the receive path
            self._sock.counters.errors += 1
            self._protocol.error_received(OSError(errno.EIO, f"datagram_received: {exc!r}"))

    def sendto(self, data: Any, addr: Any = None) -> None:
        try:
            if addr is None:
                self._sock.send(bytes(data))
            else:
                self._sock.sendto(bytes(data), addr)
        except OSError as exc:
            self._protocol.error_received(exc)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name == "sockname":
            return self._sock.getsockname()
        if name == "peername":
            return self._sock.getpeername() if self._sock.remote_address else default
        if name == "socket":
            return self._sock
        return default

    def is_closing(self) -> bool:
        return self._sock.closed

    def close(self) -> None:
        if self._sock.closed:
            return
        self._sock.close()
        self._protocol.connection_lost(None)

    def abort(self) -> None:
        self.close()


async def create_datagram_endpoint(
    stack: Stack,
    protocol_factory: Callable[[], asyncio.DatagramProtocol],
    local_addr: tuple[Any, ...] | None = None,
    remote_addr: tuple[Any, ...] | None = None,
    *,
    proto: int = IPPROTO_UDP,
) -> tuple[DatagramTransport, asyncio.DatagramProtocol]:
    """``loop.create_datagram_endpoint`` for a tcpip6 stack: UDP (or UDP-Lite) only."""
    sock = stack.socket(AF_INET6, SOCK_DGRAM, proto)
    if local_addr is not None:
        sock.bind(local_addr)
    if remote_addr is not None:
        sock.connect(remote_addr)
    protocol = protocol_factory()
    transport = DatagramTransport(sock, protocol)
    protocol.connection_made(transport)
    return transport, protocol
