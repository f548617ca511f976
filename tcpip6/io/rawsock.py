"""An AF_PACKET port: tcpip6's Ethernet link on a real Linux interface.

:class:`RawSocketPort` is the :class:`~tcpip6.stack.link.FramePort` of an
:class:`~tcpip6.stack.link.EthernetLink` bound to an existing interface (a NIC, one end
of a veth pair, a bridge port...). It sends and receives whole Ethernet frames of type
IPv6 through a ``SOCK_RAW`` packet socket (packet(7)):

- the interface's own MAC and MTU are read from the kernel (``SIOCGIFHWADDR``,
  ``SIOCGIFMTU``), so the stack forms its interface identifier from the real address;
- the multicast filter the stack programs becomes packet-socket memberships
  (``PACKET_ADD_MEMBERSHIP`` with ``PACKET_MR_MULTICAST``): the NIC accepts those groups,
  and is never put in promiscuous mode;
- frames the socket sees leaving the interface (``PACKET_OUTGOING``: our own) are ignored;
- a frame whose UDP or TCP checksum the sending kernel left to the hardware (checksum
  offload: the other end of a veth pair, a TAP device) arrives marked
  ``TP_STATUS_CSUMNOTREADY`` (``PACKET_AUXDATA``); the port completes the checksum, as
  the NIC would have, before the stack sees it.

The kernel's own IPv6 must be off on that interface (``disable_ipv6 = 1``), or two stacks
would answer for one MAC: :func:`check_kernel_ipv6_disabled` says so in one line, with the
sysctl command that fixes it.

The socket is non-blocking; a driver (:class:`~tcpip6.io.runtime.LiveDriver`) waits on
:meth:`RawSocketPort.fileno` and calls :meth:`RawSocketPort.read_ready` when frames wait.

A frame the socket refuses is kept, not lost (back-pressure, :mod:`tcpip6.stack.link`): on
EAGAIN (the socket's send buffer is full of frames waiting in the kernel's queue) it waits
in the port's bounded queue (:data:`TX_QUEUE_LIMIT`) until the socket is writable
(:meth:`RawSocketPort.wants_write`, :meth:`RawSocketPort.write_ready`); on ENOBUFS (a queue
past the socket dropped it: a full qdisc, the veth peer's backlog; the socket itself stays
writable) it is tried again :data:`ENOBUFS_RETRY` later (the port is a node of the driver
for that: :meth:`RawSocketPort.next_deadline`). At :data:`TX_STOP` waiting frames the port
says it is stopped (``tx_stopped``): TCP stops sending new segments; at :data:`TX_WAKE` it
calls ``on_writable``, which the live host points at ``Host.link_writable``.


Without a virtio-net header, the frames that waited in that queue go many per
``sendmmsg`` (:mod:`tcpip6.io.mmsg`); its answer says how many the kernel took, so what
it refused stays queued, in order, as after a refused ``send``. With ``soft_gso=True``
(the live host without offload, unless ``TCPIP6_SOFT_GSO=0``) the port takes TCP's large
segments as it does with offload (``gso_max_size``), cuts them itself into MTU-sized
frames, each with its checksum (:func:`tcpip6.wire.gso.segment_tcp`, what the kernel's
GSO would make), and sends them in one ``sendmmsg``: the kernel segments nothing and
computes no checksum, as with offload off, and TCP builds a segment per 64 KB, not per
MSS. Unshaped on a veth with offloads off at both ends, a bulk sender went from 31 to
46 MB/s (``bench/live_tcp.py``), its CPU per MB down by a third to a half.

With ``tx_ring=True`` (the live host: with ``TCPIP6_TX_RING=1`` in its environment, and
then without segmentation offload) frames
are sent through a transmit ring (``PACKET_TX_RING``, packet(7) and the kernel's
packet_mmap.rst): :meth:`RawSocketPort.send_frame` copies a frame into a slot of the
shared ring, and one ``send`` hands every filled slot to the kernel
(:meth:`RawSocketPort.flush`), when :data:`TX_BATCH` slots are filled and whenever the
driver is about to sleep. A bulk sender pays one system call (and one chance of being
preempted by the task its frames wake) per batch instead of per frame. A frame that finds
no free slot waits in a bounded queue (:data:`TX_QUEUE_LIMIT`, drops counted in
``send_queue_full_drop``) until the kernel gives slots back: :meth:`RawSocketPort.wants_write`
asks the driver to wake the port when the socket is writable. Where the kernel refuses
the ring, frames go one ``send`` each, as without it.

Segmentation offload, the way the kernel's own virtual NICs take it (on unless
``offload=False``): with ``PACKET_VNET_HDR`` (packet(7)) every frame sent and received
carries a ``struct virtio_net_hdr`` (virtio 1.1 section 5.1.6) before it. The port takes a TCP
frame of up to :data:`GSO_MAX_SIZE` octets (:meth:`RawSocketPort.send_segments`: the
stack's segments of several MSS, ``gso_max_size`` in the link contract) with a header that
asks the kernel to cut it into ``gso_size`` pieces (``VIRTIO_NET_HDR_GSO_TCPV6``) and to
complete each piece's checksum (``VIRTIO_NET_HDR_F_NEEDS_CSUM``): one system call per
64 KB. What the kernel coalesced on receive (GRO, or a local sender's TSO segment that a
veth passes whole) arrives as one frame whose header says so, and whose checksum the port
completes where the header asks (``NEEDS_CSUM``, as ``TP_STATUS_CSUMNOTREADY`` does
without the header). Where the kernel refuses the option, or with the transmit ring (whose
slots would need the header too), the port runs without: :attr:`RawSocketPort.offload`
says which and why.

The live host uses the ring only without segmentation offload (which sends a frame per
64 KB). In 20 MB transfers with 2 % loss each way on a loaded 2-core machine
(``bench/live_loss.py``, before segmentation offload, a frame per segment), the ring cut
the wall time per frame from 219 us to 19 us and the sender's involuntary context switches
from 7,817 to 1,619, but the retransmission timeouts rose from 2 to 37 in 8 runs each. In
every timeout traced the frames had left (a capture shows them) and the Linux receiver
acknowledged them only when the retransmission arrived a second later (its D-SACK and
TSval say so). Unshaped, with offload off at both ends, a bulk sender went from 19-29 MB/s
(a ``send`` per frame, the process at 100 % CPU) to 43-53 MB/s with the ring.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import mmap
import socket
import struct
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tcpip6.io.coalesce import coalesce as coalesce_segments
from tcpip6.io.ifreq import IFF_UP, SIOCGIFFLAGS, SIOCGIFHWADDR, SIOCGIFMTU, ifreq
from tcpip6.io.mmsg import (
    MessageBatch,
    ReceiveBatch,
    control_messages,
    message_batch,
    receive_batch,
)
from tcpip6.stack.counters import CounterSet
from tcpip6.wire import WireError
from tcpip6.wire import ext as wire_ext
from tcpip6.wire.checksum import ones_complement_sum, upper_layer_checksum
from tcpip6.wire.ethernet import ETHERTYPE_IPV6, MAC_LEN, EthernetHeader
from tcpip6.wire.gso import segment_tcp
from tcpip6.wire.ipv6 import IPPROTO_TCP, IPPROTO_UDP, split

# linux/if_packet.h (the socket module lacks some of them).
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_DROP_MEMBERSHIP = 2
PACKET_MR_MULTICAST = 0
PACKET_IGNORE_OUTGOING = 23  # Linux 4.20: outgoing frames are not looped back to us
PACKET_OUTGOING = 4
PACKET_AUXDATA = 8
TP_STATUS_CSUMNOTREADY = 1 << 3
ARPHRD_ETHER = 1

#: struct packet_mreq: ifindex, type, address length, address (up to 8 octets).
_PACKET_MREQ = struct.Struct("iHH8s")
#: struct tpacket_auxdata: status, len, snaplen, mac, net, vlan tci, vlan tpid.
_AUXDATA = struct.Struct("IIIHHHH")
#: Where the checksum field sits in the upper-layer headers that use offload.
CHECKSUM_OFFSET = {IPPROTO_UDP: 6, IPPROTO_TCP: 16}
#: Frames read per call to read_ready, so that timers still run under a flood.
READ_BUDGET = 64
#: Frames read per recvmmsg (each slot holds the largest frame: MAX_FRAME).
RX_BATCH_SLOTS = 16
#: Receive buffer per read: a jumbo frame fits, and the largest IPv6 packet (a coalesced
#: one: 65,535 octets of payload) with its Ethernet and virtio-net headers.
MAX_FRAME = 65536 + 64
# linux/if_packet.h, linux/virtio_net.h: segmentation offload.
PACKET_VNET_HDR = 15
VIRTIO_NET_HDR_F_NEEDS_CSUM = 1
VIRTIO_NET_HDR_F_DATA_VALID = 2
VIRTIO_NET_HDR_GSO_NONE = 0
VIRTIO_NET_HDR_GSO_TCPV6 = 4
#: struct virtio_net_hdr: flags, gso_type, hdr_len, gso_size, csum_start, csum_offset
#: (host byte order: a packet socket's header is the legacy, native-endian one).
VNET_HDR = struct.Struct("=BBHHHH")
_VNET_HDR = VNET_HDR
VNET_HDR_LEN = VNET_HDR.size
NO_VNET = bytes(VNET_HDR_LEN)  # a frame with nothing asked of the kernel
#: The largest frame send_segments takes (Linux's default gso_max_size).
GSO_MAX_SIZE = 65536
#: Where a TCP header starts in a frame send_segments takes (Ethernet, IPv6, TCP).
_TCP_AT = EthernetHeader.HEADER_LEN + 40
_CHECKSUM16 = struct.Struct("!H")
#: Where the upper-layer header starts when it follows the IPv6 header (Ethernet, IPv6).
_UPPER_AT = EthernetHeader.HEADER_LEN + 40
_ETHERTYPE_IPV6 = ETHERTYPE_IPV6.to_bytes(2, "big")
# linux/if_packet.h: the transmit ring (TPACKET_V2 frame headers).
PACKET_LOSS = 14
PACKET_VERSION = 10
PACKET_TX_RING = 13
TPACKET_V2 = 1
TP_STATUS_AVAILABLE = 0
TP_STATUS_SEND_REQUEST = 1
#: struct tpacket_req: block size, block count, frame size, frame count.
_TPACKET_REQ = struct.Struct("IIII")
#: struct tpacket2_hdr's first two fields: tp_status, tp_len.
_TP_STATUS = struct.Struct("I")
_TP_LEN_AT = 4
#: Where a transmitted frame's octets start in its slot: TPACKET2_HDRLEN less the
#: sockaddr_ll (TPACKET_ALIGN(sizeof(struct tpacket2_hdr)) = 32).
TP_DATA = 32
#: Slots in the transmit ring (at least this many), and the octets of one ring block.
TX_RING_FRAMES = 256
TX_RING_BLOCK = 65536
#: Filled slots that make send_frame hand the ring to the kernel at once.
TX_BATCH = 32
#: Frames that wait for a free slot (or for the socket to take them) at most; more are
#: dropped and counted.
TX_QUEUE_LIMIT = 1024
#: Back-pressure (tcpip6.stack.link): with this many frames waiting the port stops, and it
#: wakes the host (``on_writable``) when they are down to TX_WAKE.
TX_STOP = 64
TX_WAKE = 16
#: After ENOBUFS (a queue past the socket dropped the frame: a full qdisc, the veth peer's
#: backlog; the socket itself stays writable) the port tries again this much later.
ENOBUFS_RETRY = 0.001


class LinkError(Exception):
    """The interface cannot be used: the message is one line, with what to do."""


@dataclass
class RawSocketCounters(CounterSet):
    frames_received: int = 0
    frames_sent: int = 0
    outgoing_ignored: int = 0
    checksums_completed: int = 0
    checksum_not_completed: int = 0
    runt_drop: int = 0
    send_too_big_drop: int = 0
    send_error_drop: int = 0
    send_queue_full_drop: int = 0
    large_frames_sent: int = 0
    #: Large TCP frames cut into MTU-sized ones by the port (soft_gso), those that were
    #: not a TCP segment it could cut, the sendmmsg calls that sent frames and the
    #: recvmmsg calls made to read.
    soft_gso_frames_cut: int = 0
    soft_gso_malformed_drop: int = 0
    sendmmsg_calls: int = 0
    recvmmsg_calls: int = 0
    large_frames_received: int = 0
    #: Frames read that went to the stack inside coalesced segments, and those segments.
    frames_coalesced: int = 0
    coalesced_segments: int = 0
    #: Frames the socket refused for now (EAGAIN, ENOBUFS): kept and sent later.
    send_eagain: int = 0
    send_enobufs: int = 0
    #: Times the queue reached TX_STOP (back-pressure), and drained to TX_WAKE after.
    tx_stops: int = 0
    tx_wakes: int = 0
    tx_ring_flushes: int = 0
    receive_error: int = 0
    memberships_added: int = 0
    memberships_dropped: int = 0


def kernel_ipv6_disabled(ifname: str, proc: Path = Path("/proc/sys/net/ipv6/conf")) -> bool:
    """Whether the kernel's IPv6 is off on ``ifname`` (True too when the kernel has no
    IPv6 at all)."""
    try:
        return (proc / ifname / "disable_ipv6").read_text().strip() == "1"
    except FileNotFoundError:
        return not proc.exists()


def disable_ipv6_command(ifname: str) -> str:
    # sysctl(8) reads dots as separators: an interface name with dots needs slashes.
    if "." in ifname:
        return f"sysctl -w net/ipv6/conf/{ifname}/disable_ipv6=1"
    return f"sysctl -w net.ipv6.conf.{ifname}.disable_ipv6=1"


def complete_checksum(frame: bytes) -> bytes | None:
    """The frame with its UDP or TCP checksum computed (RFC 8200 §8.1), for a frame whose
    sender left it to checksum offload; None when there is no such checksum to complete."""
    completed = _complete_direct(frame)
    if completed is not None:
        return completed
    try:
        eth = EthernetHeader.parse(frame)
        if eth.ethertype != ETHERTYPE_IPV6:
            return None
        start = EthernetHeader.HEADER_LEN
        hdr, payload = split(memoryview(frame)[start:])
        chain = wire_ext.walk(hdr.next_header, payload)
    except WireError:
        return None
    next_header, offset, last = chain[-1]
    field = CHECKSUM_OFFSET.get(next_header)
    if last is not None or field is None or len(payload) < offset + field + 2:
        return None  # a fragment, or no UDP/TCP header
    upper = bytearray(payload[offset:])
    upper[field : field + 2] = b"\0\0"
    checksum = upper_layer_checksum(hdr.src, hdr.dst, next_header, upper)
    if next_header == IPPROTO_UDP and checksum == 0:
        checksum = 0xFFFF  # RFC 8200 §8.1: UDP sends a computed zero as all ones
    at = start + 40 + offset + field
    return frame[:at] + checksum.to_bytes(2, "big") + frame[at + 2 :]


def _complete_direct(frame: bytes) -> bytes | None:
    """complete_checksum for the common frame, an IPv6 header with TCP or UDP right after
    it, without parsing: None for any other (complete_checksum then parses it)."""
    if len(frame) < _UPPER_AT + 8 or frame[12:14] != _ETHERTYPE_IPV6:
        return None
    next_header = frame[20]
    field = CHECKSUM_OFFSET.get(next_header)
    length = (frame[18] << 8) | frame[19]
    if field is None or length < field + 2 or _UPPER_AT + length > len(frame):
        return None
    # RFC 8200 §8.1: the pseudo-header (the addresses read as one integer sum as their
    # words do, see tcpip6.wire.checksum), then the upper-layer packet with its checksum
    # field as zero: its value, which sits at an even offset, taken out of the sum.
    value = int.from_bytes(frame[_UPPER_AT : _UPPER_AT + length], "big")
    if length & 1:
        value <<= 8
    at = _UPPER_AT + field
    total = int.from_bytes(frame[22:_UPPER_AT], "big") + length + next_header + value
    checksum = 0xFFFF - ((total - ((frame[at] << 8) | frame[at + 1])) % 0xFFFF or 0xFFFF)
    if next_header == IPPROTO_UDP and checksum == 0:
        checksum = 0xFFFF  # RFC 8200 §8.1: UDP sends a computed zero as all ones
    return b"".join((frame[:at], _CHECKSUM16.pack(checksum), frame[at + 2 :]))


def complete_partial_checksum(frame: bytes, csum_start: int, csum_offset: int) -> bytes | None:
    """The frame with the checksum a virtio-net header asks for (``NEEDS_CSUM``)
    completed: the one's complement sum from ``csum_start`` to the end (the field holds
    the pseudo-header's sum), complemented, at ``csum_start + csum_offset``; None when
    those point outside the frame."""
    at = csum_start + csum_offset
    if csum_start < EthernetHeader.HEADER_LEN or at + 2 > len(frame):
        return None
    checksum = ~ones_complement_sum(memoryview(frame)[csum_start:]) & 0xFFFF
    if checksum == 0 and csum_offset == CHECKSUM_OFFSET[IPPROTO_UDP]:
        checksum = 0xFFFF  # RFC 8200 §8.1: UDP sends a computed zero as all ones
    return b"".join((frame[:at], _CHECKSUM16.pack(checksum), frame[at + 2 :]))


def gso_header(frame: bytes, gso_size: int) -> bytes:
    """The virtio-net header of a frame (Ethernet, IPv6, TCP) to be cut into segments of
    ``gso_size`` octets of data (``VIRTIO_NET_HDR_GSO_TCPV6``), each checksummed from the
    TCP header on (``NEEDS_CSUM``, the field at offset 16 holding the pseudo-header sum)."""
    hdr_len = _TCP_AT + (frame[_TCP_AT + 12] >> 4) * 4
    return VNET_HDR.pack(
        VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV6, hdr_len, gso_size, _TCP_AT, 16
    )


def check_kernel_ipv6_disabled(ifname: str) -> None:
    if not kernel_ipv6_disabled(ifname):
        raise LinkError(
            f"the kernel's IPv6 is enabled on {ifname}; two stacks cannot share it: "
            f"{disable_ipv6_command(ifname)}"
        )


_AUX_SPACE = socket.CMSG_SPACE(_AUXDATA.size)


def _checksum_not_ready(ancillary: list[tuple[int, int, bytes]]) -> bool:
    for level, kind, data in ancillary:
        if level == SOL_PACKET and kind == PACKET_AUXDATA and len(data) >= _AUXDATA.size:
            return bool(_AUXDATA.unpack_from(data)[0] & TP_STATUS_CSUMNOTREADY)
    return False


class TxRing:
    """The socket's ``PACKET_TX_RING``: slots the process fills and marks
    ``TP_STATUS_SEND_REQUEST``, the kernel sends on the next ``send`` and marks
    ``TP_STATUS_AVAILABLE`` again once it has let go of the octets."""

    def __init__(self, sock: socket.socket, max_frame: int) -> None:
        self.frame_size = -(-(TP_DATA + max_frame) // 16) * 16  # TPACKET_ALIGNMENT
        page = mmap.PAGESIZE
        block = max(TX_RING_BLOCK, -(-self.frame_size // page) * page)
        self.per_block = block // self.frame_size
        blocks = -(-TX_RING_FRAMES // self.per_block)
        self.block = block
        self.frames = self.per_block * blocks
        sock.setsockopt(SOL_PACKET, PACKET_VERSION, TPACKET_V2)
        # A frame the kernel finds malformed is skipped, not left to block the ring.
        sock.setsockopt(SOL_PACKET, PACKET_LOSS, 1)
        req = _TPACKET_REQ.pack(block, blocks, self.frame_size, self.frames)
        sock.setsockopt(SOL_PACKET, PACKET_TX_RING, req)
        self.map = mmap.mmap(sock.fileno(), block * blocks)
        self.head = 0  # the next slot to fill
        self.pending = 0  # slots filled since the last flush

    def slot(self, i: int) -> int:
        return (i // self.per_block) * self.block + (i % self.per_block) * self.frame_size

    def put(self, frame: bytes) -> bool:
        """Copy ``frame`` into the next slot and mark it for sending; False when the
        kernel still holds that slot (the ring is full)."""
        at = self.slot(self.head)
        m = self.map
        if _TP_STATUS.unpack_from(m, at)[0] != TP_STATUS_AVAILABLE:
            return False
        m[at + TP_DATA : at + TP_DATA + len(frame)] = frame
        _TP_STATUS.pack_into(m, at + _TP_LEN_AT, len(frame))
        _TP_STATUS.pack_into(m, at, TP_STATUS_SEND_REQUEST)  # last: the slot is whole
        self.head = (self.head + 1) % self.frames
        self.pending += 1
        return True

    def close(self) -> None:
        self.map.close()


class RawSocketPort:
    """A packet socket bound to interface ``ifname`` (see the module docstring)."""

    def __init__(
        self,
        ifname: str,
        *,
        require_kernel_ipv6_off: bool = True,
        tx_ring: bool = False,
        offload: bool = True,
        coalesce: bool = True,
        soft_gso: bool = False,
    ) -> None:
        self.ifname = ifname
        self.counters = RawSocketCounters()
        self.receiver: Callable[[bytes, float], None] | None = None
        self.memberships: set[bytes] = set()
        try:
            self.ifindex = socket.if_nametoindex(ifname)
        except OSError:
            raise LinkError(f"no interface named {ifname!r} ('ip link show' lists them)") from None
        if require_kernel_ipv6_off:
            check_kernel_ipv6_disabled(ifname)
        try:
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETHERTYPE_IPV6))
        except PermissionError:
            raise LinkError(f"a packet socket on {ifname} needs root (or CAP_NET_RAW)") from None
        try:
            self.mac, self.mtu, up = self._read_interface(sock, ifname)
            if not up:
                raise LinkError(f"{ifname} is down: ip link set {ifname} up")
            sock.bind((ifname, ETHERTYPE_IPV6))
            # An older kernel lacks the option: read_ready drops PACKET_OUTGOING itself.
            self.kernel_ignores_outgoing = False
            with contextlib.suppress(OSError):
                sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
                self.kernel_ignores_outgoing = True
            sock.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
            sock.setblocking(False)
        except BaseException:
            sock.close()
            raise
        self.sock = sock
        #: Whether read_ready coalesces in-order TCP segments (tcpip6.io.coalesce).
        self.coalesce = coalesce
        #: Segmentation offload: whether frames carry a virtio-net header, the largest
        #: frame send_segments takes (0: none), and the startup line's word for it.
        self.vnet = False
        self.gso_max_size = 0
        self.offload = "off (--no-offload)"
        if offload and tx_ring:
            self.offload = "off (the transmit ring)"
        elif offload:
            try:
                sock.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
            except OSError as exc:
                self.offload = f"off (PACKET_VNET_HDR: {exc.strerror})"
            else:
                self.vnet = True
                self.gso_max_size = GSO_MAX_SIZE
                self.offload = "gso+gro"
        self.ring: TxRing | None = None
        if tx_ring:
            try:
                self.ring = TxRing(sock, self.mtu + EthernetHeader.HEADER_LEN)
            except OSError:
                self.ring = None  # a kernel without the ring: one send per frame
        #: Frames without a virtio-net header go many per sendmmsg (tcpip6.io.mmsg)
        #: where the C library has it: the pieces of a segment cut in software, and
        #: the frames that waited in the queue.
        self.batch: MessageBatch | None = None
        if self.ring is None and not self.vnet:
            self.batch = message_batch(self.mtu + EthernetHeader.HEADER_LEN)
        #: Software segmentation (soft_gso, without the kernel's): send_segments cuts
        #: large TCP frames into MTU-sized ones itself (tcpip6.wire.gso) and sends them
        #: in one sendmmsg; the kernel segments nothing and computes no checksum.
        #: Without the virtio-net header, and where the kernel keeps our own frames from
        #: the socket (no address needed to tell them), frames are read many per
        #: recvmmsg (tcpip6.io.mmsg), each with its PACKET_AUXDATA.
        self.rx_batch: ReceiveBatch | None = None
        if not self.vnet and self.kernel_ignores_outgoing:
            self.rx_batch = receive_batch(MAX_FRAME, _AUX_SPACE, RX_BATCH_SLOTS)
        self.soft_gso = soft_gso and self.batch is not None
        if self.soft_gso:
            self.gso_max_size = GSO_MAX_SIZE
            self.offload += ", segments cut by tcpip6 (software GSO, sendmmsg)"
        #: Frames waiting for a free slot of the ring or for the socket to take them
        #: (bounded by TX_QUEUE_LIMIT).
        self.queue: deque[bytes] = deque()
        #: Back-pressure (tcpip6.stack.link): stopped at TX_STOP frames, until TX_WAKE.
        self.stopped = False
        self.on_writable: Callable[[float], None] | None = None
        #: The driver's time as last given to the port, and when to try again after an
        #: ENOBUFS (None: not waiting for that).
        self.now = 0.0
        self.retry_at: float | None = None

    @staticmethod
    def _read_interface(sock: socket.socket, ifname: str) -> tuple[bytes, int, bool]:
        try:
            hw = ifreq(sock, SIOCGIFHWADDR, ifname)
            mtu_raw = ifreq(sock, SIOCGIFMTU, ifname)
            flags_raw = ifreq(sock, SIOCGIFFLAGS, ifname)
        except OSError as exc:
            raise LinkError(f"cannot read {ifname}: {exc.strerror}") from None
        family = struct.unpack_from("H", hw)[0]
        if family != ARPHRD_ETHER:
            raise LinkError(f"{ifname} is not an Ethernet interface (hardware type {family})")
        mac = hw[2 : 2 + MAC_LEN]
        (mtu,) = struct.unpack_from("i", mtu_raw)
        (flags,) = struct.unpack_from("H", flags_raw)
        return mac, mtu, bool(flags & IFF_UP)

    def __repr__(self) -> str:
        return f"<RawSocketPort {self.ifname} {self.mac.hex(':')} mtu {self.mtu}>"

    def fileno(self) -> int:
        return self.sock.fileno()

    # FramePort
    def send_frame(self, frame: bytes) -> None:
        if len(frame) > self.mtu + EthernetHeader.HEADER_LEN:
            self.counters.send_too_big_drop += 1
            return
        ring = self.ring
        if ring is None:
            self._send_or_keep(frame, NO_VNET if self.vnet else None)
            return
        if self.queue or not ring.put(frame):
            self._enqueue(frame)  # behind the frames already waiting, in order
            self._flush()
            return
        self.counters.frames_sent += 1
        if ring.pending >= TX_BATCH:
            self._flush()

    def _send(self, frame: bytes, header: bytes | None = None) -> bool:
        """One ``send`` (of ``header`` and ``frame``: a virtio-net header goes first on a
        PACKET_VNET_HDR socket); False when the socket refused the frame for now (kept)."""
        try:
            if header is None:
                self.sock.send(frame)
            else:
                self.sock.sendmsg((header, frame))
        except BlockingIOError:
            # EAGAIN: the socket's send buffer is full (its frames wait in a queue of the
            # kernel); it becomes writable when they leave.
            self.counters.send_eagain += 1
            return False
        except OSError as exc:
            if exc.errno == errno.ENOBUFS:
                # A queue past the socket dropped it (a full qdisc or the peer's backlog):
                # the socket stays writable, so try again shortly.
                self.counters.send_enobufs += 1
                self.retry_at = self.now + ENOBUFS_RETRY
                return False
            # A link that went down (ENETDOWN, ENXIO): a lost frame, which the protocols
            # above recover from like any loss on the wire; the link events say so.
            self.counters.send_error_drop += 1
            return True
        self.counters.frames_sent += 1
        return True

    def _send_or_keep(self, frame: bytes, header: bytes | None) -> None:
        """Send ``frame`` now, unless frames wait (it goes behind them, in order) or the
        socket refuses it: then it is kept, with its virtio-net header (what waits is
        sent as it is)."""
        if self.queue or not self._send(frame, header):
            self._enqueue(frame if header is None else header + frame)

    def _enqueue(self, frame: bytes) -> None:
        if len(self.queue) >= TX_QUEUE_LIMIT:
            self.counters.send_queue_full_drop += 1
            return
        self.queue.append(frame)
        if not self.stopped and len(self.queue) >= TX_STOP:
            self.stopped = True
            self.counters.tx_stops += 1

    def tx_stopped(self) -> bool:
        """Back-pressure (tcpip6.stack.link): TX_STOP frames wait, not yet TX_WAKE."""
        return self.stopped

    def _wake(self) -> None:
        if self.stopped and len(self.queue) <= TX_WAKE:
            self.stopped = False
            self.counters.tx_wakes += 1
            if self.on_writable is not None:
                self.on_writable(self.now)

    def send_segments(self, frame: bytes, gso_size: int) -> None:
        """One TCP frame (Ethernet, IPv6, TCP with the pseudo-header sum in its checksum
        field) for the kernel to cut into segments of ``gso_size`` octets of data and
        checksum (see the module docstring); with ``soft_gso``, cut here
        (:meth:`_send_cut`)."""
        if len(frame) > self.gso_max_size:
            self.counters.send_too_big_drop += 1
            return
        if self.soft_gso:
            self._send_cut(frame, gso_size)
            return
        self.counters.large_frames_sent += 1
        self._send_or_keep(frame, gso_header(frame, gso_size))

    def _send_cut(self, frame: bytes, gso_size: int) -> None:
        """Software segmentation: the MTU-sized frames, each with its own TCP checksum
        (tcpip6.wire.gso), that the kernel's GSO would have made of ``frame``, sent in
        one sendmmsg; what the socket refuses is kept, in order."""
        at = EthernetHeader.HEADER_LEN
        try:
            frames = segment_tcp(memoryview(frame)[at:], gso_size, frame[:at])
        except WireError:
            self.counters.soft_gso_malformed_drop += 1
            return
        if len(frames[0]) > self.mtu + at:  # the first piece is the largest
            self.counters.send_too_big_drop += 1
            return
        self.counters.soft_gso_frames_cut += 1
        done = 0 if self.queue else self._send_batch(frames)
        for i in range(done, len(frames)):
            self._enqueue(frames[i])  # behind the frames already waiting, in order

    def _send_batch(self, frames: Sequence[bytes]) -> int:
        """``frames`` from the first, many per sendmmsg, until the socket refuses one
        (EAGAIN, ENOBUFS: as :meth:`_send`); how many are done with (sent, or lost to a
        link that went down), from the first on."""
        batch = self.batch
        assert batch is not None
        fd = self.sock.fileno()
        counters = self.counters
        done, total = 0, len(frames)
        while done < total:
            try:
                done += (n := batch.send(fd, frames, done))
            except BlockingIOError:
                counters.send_eagain += 1
                break
            except InterruptedError:
                continue
            except ValueError:
                counters.send_too_big_drop += 1  # larger than a slot: never queued so
                done += 1
                continue
            except OSError as exc:
                if exc.errno == errno.ENOBUFS:
                    counters.send_enobufs += 1
                    self.retry_at = self.now + ENOBUFS_RETRY
                    break
                counters.send_error_drop += 1  # as in _send: the link events say why
                done += 1
                continue
            counters.frames_sent += n
            counters.sendmmsg_calls += 1
        return done

    def flush(self) -> None:
        """Hand what waits to the kernel (:meth:`_flush`), then wake the host if the
        queue drained after it stopped. Never called from inside a call into the host
        (``send_frame`` uses ``_flush``): ``on_writable`` is a call into the host."""
        self._flush()
        self._wake()

    def _flush(self) -> None:
        """The filled slots of the transmit ring (one ``send``), then the waiting frames
        into the slots it gave back; without the ring, the waiting frames one ``send``
        each until the socket refuses one."""
        ring = self.ring
        if ring is None:
            if self.retry_at is None:
                queue = self.queue
                if self.batch is None:
                    while queue and self._send(queue[0]):
                        queue.popleft()
                    return
                while queue:
                    chunk = list(itertools.islice(queue, self.batch.slots))
                    done = self._send_batch(chunk)
                    for _ in range(done):
                        queue.popleft()
                    if done < len(chunk):
                        return
            return
        while True:
            if ring.pending:
                ring.pending = 0
                self.counters.tx_ring_flushes += 1
                try:
                    self.sock.send(b"")
                except OSError:
                    # The kernel keeps the slots it could not send; a link that went
                    # down: the link events say so.
                    self.counters.send_error_drop += 1
            moved = False
            queue = self.queue
            while queue and ring.put(queue[0]):
                queue.popleft()
                self.counters.frames_sent += 1
                moved = True
            if not moved:
                return

    def wants_write(self) -> bool:
        """Frames wait for the socket: wake the port (``write_ready``) when it has room
        (packet(7): a ring socket is writable when its next slot is free). Not while
        waiting out an ENOBUFS: the socket is writable then, the queue past it full."""
        return bool(self.queue) and self.retry_at is None

    def write_ready(self, now: float) -> None:
        self.now = now
        self.flush()

    # A node of the driver: the retry after ENOBUFS.
    def next_deadline(self) -> float | None:
        return self.retry_at if self.queue else None

    def poll(self, now: float) -> float | None:
        self.now = now
        if self.retry_at is not None and now >= self.retry_at:
            self.retry_at = None
            self.flush()
        elif not self.queue:
            self.retry_at = None
        return self.next_deadline()

    def set_multicast_filter(self, link_addresses: frozenset[bytes]) -> None:
        wanted = set(link_addresses)
        for mac in sorted(self.memberships - wanted):
            self._membership(PACKET_DROP_MEMBERSHIP, mac)
            self.counters.memberships_dropped += 1
        for mac in sorted(wanted - self.memberships):
            self._membership(PACKET_ADD_MEMBERSHIP, mac)
            self.counters.memberships_added += 1
        self.memberships = wanted

    def _membership(self, option: int, mac: bytes) -> None:
        mreq = _PACKET_MREQ.pack(self.ifindex, PACKET_MR_MULTICAST, len(mac), mac)
        try:
            self.sock.setsockopt(SOL_PACKET, option, mreq)
        except OSError as exc:
            if exc.errno != errno.EADDRNOTAVAIL:  # dropping one the kernel lost: fine
                raise

    # Receive, when the driver finds the socket readable.
    def read_ready(self, now: float) -> int:
        """Hand the waiting frames (at most READ_BUDGET read) to the receiver, in-order
        TCP segments of one connection coalesced (:mod:`tcpip6.io.coalesce`); how many
        frames the receiver got."""
        self.now = now
        batch = self._read_vnet() if self.vnet else self._read_plain()
        if not batch:
            return 0
        counters = self.counters
        if self.coalesce and len(batch) > 1:
            merged = coalesce_segments([(b[0], b[1]) for b in batch])
            if len(merged) < len(batch):
                where = {id(b[0]): b for b in batch}
                batch = []
                for frame, _, n in merged:
                    if n > 1:
                        counters.frames_coalesced += n
                        counters.coalesced_segments += 1
                        batch.append((frame, False, 0, 0))
                    else:
                        batch.append(where[id(frame)])
        handed = 0
        for frame, partial, csum_start, csum_offset in batch:
            if partial:
                if csum_start:
                    completed = complete_partial_checksum(frame, csum_start, csum_offset)
                else:
                    completed = complete_checksum(frame)
                if completed is None:
                    counters.checksum_not_completed += 1
                else:
                    counters.checksums_completed += 1
                    frame = completed
            if self.receiver is not None:
                self.receiver(frame, now)
                handed += 1
        return handed

    def _read_plain(self) -> list[tuple[bytes, bool, int, int]]:
        """Up to READ_BUDGET frames: each, whether its checksum is left to offload
        (``TP_STATUS_CSUMNOTREADY``), and 0, 0 (where the checksum is: found by parsing)."""
        if self.rx_batch is not None:
            return self._read_batched(self.rx_batch)
        batch: list[tuple[bytes, bool, int, int]] = []
        counters = self.counters
        for _ in range(READ_BUDGET):
            try:
                frame, ancillary, _, address = self.sock.recvmsg(MAX_FRAME, _AUX_SPACE)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                # ENETDOWN when the interface went down (the socket tells once), ENXIO
                # when it vanished: the link events say what became of the link.
                counters.receive_error += 1
                break
            pkttype = address[2]
            if pkttype == PACKET_OUTGOING:
                counters.outgoing_ignored += 1
                continue
            if len(frame) < EthernetHeader.HEADER_LEN:
                counters.runt_drop += 1
                continue
            counters.frames_received += 1
            batch.append((frame, _checksum_not_ready(ancillary), 0, 0))
        return batch

    def _read_batched(self, rx: ReceiveBatch) -> list[tuple[bytes, bool, int, int]]:
        """_read_plain many frames per recvmmsg: a call that finds fewer than it has
        room for emptied the socket, so none is made only to learn it is empty."""
        batch: list[tuple[bytes, bool, int, int]] = []
        counters = self.counters
        fd = self.sock.fileno()
        while len(batch) < READ_BUDGET:
            try:
                got = rx.receive(fd)
            except OSError:
                counters.receive_error += 1  # as in _read_plain: the link events say why
                break
            counters.recvmmsg_calls += 1
            for frame, control in got:
                if len(frame) < EthernetHeader.HEADER_LEN:
                    counters.runt_drop += 1
                    continue
                counters.frames_received += 1
                batch.append((frame, _checksum_not_ready(control_messages(control)), 0, 0))
            if len(got) < rx.slots:
                break
        return batch

    def _read_vnet(self) -> list[tuple[bytes, bool, int, int]]:
        """_read_plain with PACKET_VNET_HDR: each frame after its virtio-net header, which
        says whether the checksum is left to offload and where it is."""
        batch: list[tuple[bytes, bool, int, int]] = []
        sock = self.sock
        counters = self.counters
        # Where the kernel keeps our own frames from the socket, a plain recv: recvmsg's
        # address costs a system call a frame (the interface's name from its index).
        plain = self.kernel_ignores_outgoing
        for _ in range(READ_BUDGET):
            try:
                if plain:
                    data = sock.recv(MAX_FRAME)
                else:
                    data, _, _, address = sock.recvmsg(MAX_FRAME)
                    if address[2] == PACKET_OUTGOING:
                        counters.outgoing_ignored += 1
                        continue
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                counters.receive_error += 1
                break
            if len(data) < VNET_HDR_LEN + EthernetHeader.HEADER_LEN:
                counters.runt_drop += 1
                continue
            flags, gso_type, _, _, csum_start, csum_offset = _VNET_HDR.unpack_from(data)
            if gso_type != VIRTIO_NET_HDR_GSO_NONE:
                counters.large_frames_received += 1
            counters.frames_received += 1
            partial = bool(flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
            # A csum_start of 0 would mean "parse to find it": never so with NEEDS_CSUM.
            batch.append((data[VNET_HDR_LEN:], partial, csum_start or 1, csum_offset))
        return batch

    def close(self) -> None:
        # Closing the socket drops its memberships too.
        self.memberships.clear()
        with contextlib.suppress(OSError):
            self._flush()
        if self.ring is not None:
            self.ring.close()
            self.ring = None
        self.queue.clear()
        self.retry_at = None
        self.sock.close()
