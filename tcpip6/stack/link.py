"""The link-layer contract (MSR IPv6 §3.2) and the link modules that are pure logic.

A link module supplies the core with the link address length, the interface's own link
address, the link MTU, and six entry points:

1. ``transmit(packet, dst_link)``: send an IPv6 packet to a link address (the module adds
   its own framing; the core never builds link headers);
2. ``set_multicast_addresses(addrs)``: the link multicast filter (applied after the current
   receive completes: see :class:`~tcpip6.stack.host.Host`);
3. ``interface_identifier()``: the 64-bit interface identifier (RFC 4291 §2.5.1);
4. ``map_multicast(group)``: an IPv6 multicast address to a link multicast address;
5. ``read_lla_option(data)``: a link address from the body of an ND source/target link-layer
   address option;
6. ``write_lla_option(link_address)``: the option body for our link address.

Receive goes the other way: the I/O side hands whole frames to ``Host.receive``, which asks
the link to ``decapsulate`` them. The Ethernet module (RFC 2464) serves simnet, AF_PACKET and
TAP alike: where the frames go is a :class:`FramePort`.

Back-pressure (send completion: the MSR stack's NDIS send-complete, in the shape of
Linux's transmit queue stop and wake). A port that cannot hand a frame on at once (a NIC
queue draining at line rate, a packet socket the kernel answers EAGAIN or ENOBUFS) keeps
it in a bounded transmit queue of its own instead of losing it, and says so through two
optional members (:class:`TransmitQueue`):

- ``tx_stopped() -> bool``: the queue is above the port's high-water mark, and whoever
  can wait should stop adding to it. ``send_frame`` still takes every frame (up to the
  port's hard limit, past which it drops and counts): an ACK, a Neighbor Advertisement
  is never held back by a bulk sender's stop;
- ``on_writable(now)``: a callback the port calls once, when its queue has drained to
  the low-water mark after it stopped. Whoever wires the port to a host sets it to
  ``Host.link_writable(interface, now)``.

A link module passes its port's ``tx_stopped`` on (``EthernetLink.tx_stopped``); the core
asks ``Interface.tx_stopped()`` and never sees the queue. What stops: TCP sends no new
segment while the interface it goes out on is stopped (local congestion, Linux's "qdisc
full" and TCP Small Queues: no window reduction, no retransmission timeout, the frames
are not lost), and resumes on ``Host.link_writable``; a UDP socket gets EAGAIN when
non-blocking and waits when blocking, a raw socket ENOBUFS, as a Linux socket whose
frames wait in a full queue (``tcpip6.api.sockets``). A port without the two members
never holds a frame back (loopback, tunnels).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from ipaddress import IPv6Address
from typing import Protocol, cast

from tcpip6.wire.ethernet import (
    BROADCAST,
    ETHERNET_HEADER,
    ETHERTYPE_IPV6,
    MAC_LEN,
    EthernetHeader,
    is_multicast_mac,
)
from tcpip6.wire.ethernet import frame as ethernet_frame
from tcpip6.wire.values import quick_init


class FramePort(Protocol):
    """Where a link module's frames go: a simnet segment, an AF_PACKET socket, a TAP fd..."""

    def send_frame(self, frame: bytes) -> None: ...

    def set_multicast_filter(self, link_addresses: frozenset[bytes]) -> None: ...


class SegmentingPort(FramePort, Protocol):
    """A port that segments large TCP frames itself (a NIC's TSO, the kernel's GSO through
    a virtio-net header): ``gso_max_size`` is the largest frame it takes (0: it takes none
    now), and :meth:`send_segments` sends an Ethernet frame holding an IPv6 header, a TCP
    header whose checksum field holds the pseudo-header sum (``TcpSegment.build_partial``)
    and data that the port cuts into pieces of ``gso_size`` octets, each a valid segment."""

    gso_max_size: int

    def send_segments(self, frame: bytes, gso_size: int) -> None: ...


class TransmitQueue(FramePort, Protocol):
    """A port with back-pressure (see the module docstring): it keeps what it cannot send
    now, says when it is above its high-water mark, and calls ``on_writable`` when it has
    drained after that."""

    on_writable: Callable[[float], None] | None

    def tx_stopped(self) -> bool: ...


def port_tx_stopped(port: FramePort) -> bool:
    """Whether ``port``'s transmit queue is stopped; False for a port that never holds
    frames back (one without ``tx_stopped``)."""
    stopped: Callable[[], bool] | None = getattr(port, "tx_stopped", None)
    return stopped is not None and stopped()


@quick_init
@dataclass(frozen=True, slots=True)
class Received:
    """What a link module makes of a frame it accepts."""

    packet: memoryview
    src_link: bytes
    dst_link: bytes


class LinkLayer(Protocol):
    """The contract every link module fulfils (MSR IPv6 §3.2)."""

    kind: str
    link_address: bytes
    link_address_length: int
    mtu: int
    #: Whether the link needs Neighbor Discovery for address resolution (Ethernet yes;
    #: loopback and configured tunnels no).
    uses_nd: bool

    @property
    def gso_max_size(self) -> int:
        """The largest IPv6 packet holding one TCP segment that the link cuts into
        MTU-sized segments itself (:meth:`EthernetLink.transmit_segments`); 0 when it
        cannot (every link but Ethernet over a segmenting port)."""
        ...

    def transmit(self, packet: bytes, dst_link: bytes) -> None: ...

    def set_multicast_addresses(self, link_addresses: Iterable[bytes]) -> None: ...

    def interface_identifier(self) -> bytes: ...

    def map_multicast(self, group: IPv6Address) -> bytes: ...

    def read_lla_option(self, data: bytes) -> bytes | None: ...

    def write_lla_option(self, link_address: bytes) -> bytes: ...

    def decapsulate(self, frame: bytes | memoryview) -> Received | None: ...

    def frame_bytes(self, packet: bytes, dst_link: bytes) -> bytes: ...


def eui64_from_mac(mac: bytes) -> bytes:
    """RFC 2464 §4 / RFC 4291 Appendix A: insert ff:fe, invert the universal/local bit."""
    return bytes([mac[0] ^ 0x02]) + mac[1:3] + b"\xff\xfe" + mac[3:6]


def address_from_prefix(prefix: IPv6Address, interface_id: bytes) -> IPv6Address:
    """The high 64 bits of ``prefix`` followed by the 64-bit interface identifier."""
    return IPv6Address(prefix.packed[:8] + interface_id)


class EthernetLink:
    """IPv6 over Ethernet (RFC 2464)."""

    kind = "ethernet"
    link_address_length = MAC_LEN
    uses_nd = True

    def __init__(self, port: FramePort, mac: bytes, mtu: int = 1500) -> None:
        if len(mac) != MAC_LEN:
            raise ValueError("an Ethernet address is 6 octets")
        if is_multicast_mac(mac):
            raise ValueError("an interface's own Ethernet address cannot be multicast")
        self.port = port
        self.link_address = mac
        self.mtu = mtu  # RFC 2464 §2: default 1500, may be lowered by an RA MTU option
        self.multicast: frozenset[bytes] = frozenset()

    def frame_bytes(self, packet: bytes, dst_link: bytes) -> bytes:
        return ethernet_frame(dst_link, self.link_address, ETHERTYPE_IPV6, packet)

    def transmit(self, packet: bytes, dst_link: bytes) -> None:
        # What frame_bytes returns (ethernet_frame, RFC 2464 §3), built here: every packet
        # sent comes this way.
        self.port.send_frame(
            ETHERNET_HEADER.pack(dst_link, self.link_address, ETHERTYPE_IPV6) + packet
        )

    @property
    def gso_max_size(self) -> int:
        # What the port takes, less the Ethernet header (RFC 2464 §3).
        port_max: int = getattr(self.port, "gso_max_size", 0)
        return max(0, port_max - EthernetHeader.HEADER_LEN)

    def transmit_segments(self, packet: bytes, dst_link: bytes, gso_size: int) -> None:
        """Send ``packet`` (IPv6 + one large TCP segment, checksum partial) for the port
        to cut into segments of ``gso_size`` octets of data (only when
        :attr:`gso_max_size` says the port can)."""
        cast(SegmentingPort, self.port).send_segments(self.frame_bytes(packet, dst_link), gso_size)

    def tx_stopped(self) -> bool:
        """Back-pressure (module docstring): the port's transmit queue is stopped (asked
        of the port each time: a link can be given another port)."""
        return port_tx_stopped(self.port)

    def set_multicast_addresses(self, link_addresses: Iterable[bytes]) -> None:
        self.multicast = frozenset(link_addresses)
        self.port.set_multicast_filter(self.multicast)

    def interface_identifier(self) -> bytes:
        return eui64_from_mac(self.link_address)

    def map_multicast(self, group: IPv6Address) -> bytes:
        # RFC 2464 §7: 33:33 followed by the low-order 32 bits of the group.
        return b"\x33\x33" + group.packed[12:]

    def read_lla_option(self, data: bytes) -> bytes | None:
        # RFC 2464 §8: the option is 8 octets; the address is its first 6 octets of data.
        if len(data) < MAC_LEN:
            return None
        return bytes(data[:MAC_LEN])

    def write_lla_option(self, link_address: bytes) -> bytes:
        return link_address

    def decapsulate(self, frame: bytes | memoryview) -> Received | None:
        # The fields EthernetHeader.parse reads, without the header object (every frame).
        if len(frame) < EthernetHeader.HEADER_LEN:
            return None
        dst, src, ethertype = ETHERNET_HEADER.unpack_from(frame, 0)
        if ethertype != ETHERTYPE_IPV6:
            return None
        # The port's filter decides what arrives; still, drop frames not for us (a
        # promiscuous port, a simnet hub): unicast to another MAC, or a group we left.
        if dst != self.link_address and not (
            is_multicast_mac(dst) and (dst in self.multicast or dst == BROADCAST)
        ):
            return None
        return Received(memoryview(frame)[EthernetHeader.HEADER_LEN :], src, dst)


class LoopbackLink:
    """The loopback interface: what it transmits, it receives (through its port)."""

    kind = "loopback"
    link_address = b""
    link_address_length = 0
    uses_nd = False
    gso_max_size = 0

    def __init__(self, port: FramePort, mtu: int = 65535) -> None:
        self.port = port
        self.mtu = mtu

    def frame_bytes(self, packet: bytes, dst_link: bytes) -> bytes:
        return packet

    def transmit(self, packet: bytes, dst_link: bytes) -> None:
        self.port.send_frame(packet)

    def set_multicast_addresses(self, link_addresses: Iterable[bytes]) -> None:
        return None

    def interface_identifier(self) -> bytes:
        return b"\x00" * 7 + b"\x01"

    def map_multicast(self, group: IPv6Address) -> bytes:
        return b""

    def read_lla_option(self, data: bytes) -> bytes | None:
        return None

    def write_lla_option(self, link_address: bytes) -> bytes:
        return b""

    def decapsulate(self, frame: bytes | memoryview) -> Received | None:
        return Received(memoryview(frame), b"", b"")
