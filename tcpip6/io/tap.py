"""A TAP port: tcpip6's Ethernet link on a Linux TAP device of its own.

:class:`TapPort` is the :class:`~tcpip6.stack.link.FramePort` of an
:class:`~tcpip6.stack.link.EthernetLink` whose wire is a TAP device (tuntap(7), the
kernel's ``Documentation/networking/tuntap.rst``). The port creates the device: opening
``/dev/net/tun`` and ``TUNSETIFF`` with ``IFF_TAP | IFF_NO_PI`` make interface ``NAME``,
and each ``read`` of the descriptor is one whole Ethernet frame the kernel sent on it, each
``write`` one frame the kernel receives. The kernel's side of the TAP is an ordinary
Ethernet interface that the kernel's own IPv6 uses: that is the peer, at the other end of
the wire, and tcpip6 is the station on this end.

- tcpip6 has a MAC of its own, not the kernel interface's: a locally administered unicast
  address (IEEE 802 U/L bit set, I/G bit clear) derived from the device's name, so a run
  is reproducible (:func:`tap_mac`);
- the MTU is the device's (``SIOCGIFMTU``); the port brings the device up itself
  (``SIOCSIFFLAGS`` with ``IFF_UP``);
- a TAP hands over everything the kernel sends, so the multicast filter is applied here:
  a frame is accepted when its destination is the port's MAC, broadcast, or one of the
  groups the stack programmed (:func:`accepts`), and only IPv6 frames are taken;
- ``IFF_TUN_EXCL`` makes ``TUNSETIFF`` fail on a name already in use, so the port never
  borrows an existing device; the device is not persistent, so closing the descriptor
  removes it.

Segmentation offload (on unless ``offload=False``), as for a packet socket
(:mod:`tcpip6.io.rawsock`): with ``IFF_VNET_HDR`` every frame read and written carries a
``struct virtio_net_hdr`` first, so the port writes TCP frames of up to 64 KB for the
kernel to segment (:meth:`TapPort.send_segments`); ``TUNSETOFFLOAD`` with ``TUN_F_CSUM |
TUN_F_TSO6`` tells the kernel the port takes frames whose checksum is left to it and TCP
segments of up to 64 KB (the kernel's TSO), whose checksums the port completes.

The descriptor is non-blocking; a driver (:class:`~tcpip6.io.runtime.LiveDriver`) waits on
:meth:`TapPort.fileno` and calls :meth:`TapPort.read_ready` when frames wait.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tcpip6.io.ifreq import (
    IFF_UP,
    IFREQ,
    SIOCGIFFLAGS,
    SIOCGIFHWADDR,
    SIOCGIFMTU,
    SIOCSIFFLAGS,
    ifreq,
)
from tcpip6.io.rawsock import (
    GSO_MAX_SIZE,
    NO_VNET,
    VIRTIO_NET_HDR_F_NEEDS_CSUM,
    VIRTIO_NET_HDR_GSO_NONE,
    VNET_HDR,
    VNET_HDR_LEN,
    LinkError,
    complete_partial_checksum,
    gso_header,
)
from tcpip6.stack.counters import CounterSet
from tcpip6.wire.ethernet import BROADCAST, ETHERTYPE_IPV6, MAC_LEN, EthernetHeader

# linux/if_tun.h.
TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
IFF_TUN_EXCL = 0x8000
IFF_VNET_HDR = 0x4000
TUNSETOFFLOAD = 0x400454D0
TUN_F_CSUM = 0x01
TUN_F_TSO6 = 0x04
#: IFNAMSIZ is 16 with the terminating NUL.
MAX_NAME_LEN = 15
CLONE_DEVICE = Path("/dev/net/tun")

#: Frames read per call to read_ready, so that timers still run under a flood.
READ_BUDGET = 64
#: Receive buffer per read: a jumbo frame fits, and a 64 KB segment with its headers.
MAX_FRAME = 65536 + 64


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a TAP device (the kernel's ``dev_valid_name`` rules, and
    no ``%d`` template), or None when it can."""
    if not name:
        return "empty interface name"
    if len(name.encode()) > MAX_NAME_LEN:
        return f"interface name {name!r} is longer than {MAX_NAME_LEN} characters"
    if name in (".", ".."):
        return f"{name!r} cannot name an interface"
    bad = sorted({c for c in name if c in "/:%" or c.isspace()})
    if bad:
        return f"interface name {name!r} contains {' '.join(repr(c) for c in bad)}"
    return None


def tap_mac(name: str, avoid: bytes = b"") -> bytes:
    """tcpip6's MAC on TAP ``name``: six octets of a hash of the name, made locally
    administered and unicast (IEEE 802: bit 1 of the first octet set, bit 0 clear); never
    ``avoid`` (the kernel side's MAC)."""
    digest = hashlib.sha256(b"tcpip6 tap " + name.encode()).digest()
    for at in range(0, len(digest) - MAC_LEN, MAC_LEN):
        mac = bytes([(digest[at] & 0xFC) | 0x02]) + digest[at + 1 : at + MAC_LEN]
        if mac != avoid:
            return mac
    raise AssertionError("unreachable: the hash has more than one candidate")


def accepts(dst: bytes, own: bytes, groups: frozenset[bytes]) -> bool:
    """Whether a frame to ``dst`` is for a station with MAC ``own`` listening to the
    multicast ``groups``: what a NIC's address filter decides."""
    return dst in (own, BROADCAST) or dst in groups


def setiff_error(name: str, code: int) -> str:
    """The one line for a TUNSETIFF that failed with ``code``."""
    if code == errno.EBUSY:
        return f"an interface named {name} exists already (choose another tap:NAME)"
    if code == errno.EPERM:
        return f"creating TAP device {name} needs root (or CAP_NET_ADMIN)"
    if code == errno.EINVAL:
        return f"an interface named {name} exists already and is not a TAP device"
    return f"cannot create TAP device {name}: {os.strerror(code)}"


@dataclass
class TapCounters(CounterSet):
    frames_received: int = 0
    frames_sent: int = 0
    not_for_us_drop: int = 0
    not_ipv6_drop: int = 0
    runt_drop: int = 0
    send_too_big_drop: int = 0
    send_error_drop: int = 0
    large_frames_sent: int = 0
    large_frames_received: int = 0
    checksums_completed: int = 0
    checksum_not_completed: int = 0


def create_device(
    name: str, clone: Path, mode: int, setiff_error: Callable[[str, int], str]
) -> int:
    """A non-blocking descriptor of a new TUN/TAP device ``name`` (``mode`` is ``IFF_TAP``
    or ``IFF_TUN``; no packet information, never an existing device); a failed
    ``TUNSETIFF`` is the LinkError ``setiff_error(name, errno)``."""
    try:
        fd = os.open(clone, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        missing = f"no {clone}: the kernel's TUN/TAP driver is missing (modprobe tun)"
        raise LinkError(missing) from None
    except PermissionError:
        raise LinkError(f"opening {clone} needs root (or CAP_NET_ADMIN)") from None
    flags = struct.pack("H", mode | IFF_NO_PI | IFF_TUN_EXCL)
    try:
        fcntl.ioctl(fd, TUNSETIFF, IFREQ.pack(name.encode(), flags))
    except OSError as exc:
        os.close(fd)
        raise LinkError(setiff_error(name, exc.errno or 0)) from None
    return fd


def _configure(name: str) -> tuple[int, bytes]:
    """Bring ``name`` up; its MTU and the kernel side's MAC."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            (flags,) = struct.unpack_from("H", ifreq(sock, SIOCGIFFLAGS, name))
            ifreq(sock, SIOCSIFFLAGS, name, struct.pack("H", flags | IFF_UP))
            (mtu,) = struct.unpack_from("i", ifreq(sock, SIOCGIFMTU, name))
            kernel_mac = ifreq(sock, SIOCGIFHWADDR, name)[2 : 2 + MAC_LEN]
        except OSError as exc:
            raise LinkError(f"cannot bring TAP device {name} up: {exc.strerror}") from None
    return mtu, kernel_mac


class TapPort:
    """A TAP device named ``name``, created for tcpip6 (see the module docstring)."""

    def __init__(
        self,
        name: str,
        *,
        mac: bytes | None = None,
        clone: Path = CLONE_DEVICE,
        offload: bool = True,
    ) -> None:
        problem = name_problem(name)
        if problem is not None:
            raise LinkError(f"tap:{name}: {problem}")
        fd = create_device(name, clone, IFF_TAP | (IFF_VNET_HDR if offload else 0), setiff_error)
        try:
            mtu, kernel_mac = _configure(name)
        except BaseException:
            os.close(fd)
            raise
        self._setup(fd, name, mac if mac is not None else tap_mac(name, kernel_mac), mtu)
        if offload:
            self.vnet = True
            self.gso_max_size = GSO_MAX_SIZE
            try:
                fcntl.ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO6)
            except OSError as exc:
                self.offload = f"gso (TUNSETOFFLOAD: {exc.strerror})"
            else:
                self.offload = "gso+gro"

    @classmethod
    def over(cls, fd: int, name: str, *, mac: bytes, mtu: int = 1500) -> TapPort:
        """A port on a descriptor opened elsewhere that reads and writes one frame at a
        time (a datagram socket pair, in tests); the port owns it from now on."""
        port = cls.__new__(cls)
        port._setup(fd, name, mac, mtu)
        return port

    def _setup(self, fd: int, name: str, mac: bytes, mtu: int) -> None:
        os.set_blocking(fd, False)
        self.fd = fd
        self.ifname = name
        self.mac = mac
        self.mtu = mtu
        self.groups: frozenset[bytes] = frozenset()
        self.counters = TapCounters()
        self.receiver: Callable[[bytes, float], None] | None = None
        #: Segmentation offload: frames carry a virtio-net header; the largest frame
        #: send_segments takes (0: none); the startup line's word for it.
        self.vnet = False
        self.gso_max_size = 0
        self.offload = "off (--no-offload)"

    def __repr__(self) -> str:
        return f"<TapPort {self.ifname} {self.mac.hex(':')} mtu {self.mtu}>"

    def fileno(self) -> int:
        return self.fd

    # FramePort
    def send_frame(self, frame: bytes) -> None:
        if len(frame) > self.mtu + EthernetHeader.HEADER_LEN:
            self.counters.send_too_big_drop += 1
            return
        try:
            if self.vnet:
                os.writev(self.fd, (NO_VNET, frame))
            else:
                os.write(self.fd, frame)
        except OSError:
            # A full queue, or the device set down (EIO): a frame lost on the wire.
            self.counters.send_error_drop += 1
            return
        self.counters.frames_sent += 1

    def send_segments(self, frame: bytes, gso_size: int) -> None:
        """One TCP frame for the kernel to cut into segments of ``gso_size`` octets of
        data, their checksums completed (see :meth:`RawSocketPort.send_segments`)."""
        if not self.vnet or len(frame) > self.gso_max_size:
            self.counters.send_too_big_drop += 1
            return
        try:
            os.writev(self.fd, (gso_header(frame, gso_size), frame))
        except OSError:
            self.counters.send_error_drop += 1
            return
        self.counters.frames_sent += 1
        self.counters.large_frames_sent += 1

    def set_multicast_filter(self, link_addresses: frozenset[bytes]) -> None:
        self.groups = frozenset(link_addresses)

    # Receive, when the driver finds the descriptor readable.
    def read_ready(self, now: float) -> int:
        """Hand the waiting frames for this station (at most READ_BUDGET read) to the
        receiver; how many."""
        handed = 0
        for _ in range(READ_BUDGET):
            try:
                frame = os.read(self.fd, MAX_FRAME)
            except (BlockingIOError, InterruptedError):
                break
            if not frame:
                break
            if self.vnet:
                stripped = self._strip_vnet(frame)
                if stripped is None:
                    continue
                frame = stripped
            if self.admit(frame) and self.receiver is not None:
                self.receiver(frame, now)
                handed += 1
        return handed

    def _strip_vnet(self, data: bytes) -> bytes | None:
        """The frame after its virtio-net header, its checksum completed where the header
        says the kernel left it (``NEEDS_CSUM``); None for a runt."""
        if len(data) < VNET_HDR_LEN + EthernetHeader.HEADER_LEN:
            self.counters.runt_drop += 1
            return None
        flags, gso_type, _, _, csum_start, csum_offset = VNET_HDR.unpack_from(data)
        frame = data[VNET_HDR_LEN:]
        if gso_type != VIRTIO_NET_HDR_GSO_NONE:
            self.counters.large_frames_received += 1
        if flags & VIRTIO_NET_HDR_F_NEEDS_CSUM:
            completed = complete_partial_checksum(frame, csum_start, csum_offset)
            if completed is None:
                self.counters.checksum_not_completed += 1
            else:
                self.counters.checksums_completed += 1
                frame = completed
        return frame

    def admit(self, frame: bytes) -> bool:
        """The port's filter: long enough, to us, and IPv6 (counted either way)."""
        if len(frame) < EthernetHeader.HEADER_LEN:
            self.counters.runt_drop += 1
            return False
        if not accepts(frame[:MAC_LEN], self.mac, self.groups):
            self.counters.not_for_us_drop += 1
            return False
        if int.from_bytes(frame[12:14], "big") != ETHERTYPE_IPV6:
            self.counters.not_ipv6_drop += 1
            return False
        self.counters.frames_received += 1
        return True

    def close(self) -> None:
        """Close the descriptor: the kernel removes the (non-persistent) device."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
