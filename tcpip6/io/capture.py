"""Reading captures made by any tool: classic pcap (either byte order, micro- or
nanosecond timestamps) and pcapng (any number of sections and interfaces, each with its own
link type and timestamp resolution).

Only the IPv6 packets are handed on, with the number the frame has in the file (counted
from 1, as tshark and Wireshark number them) and its time. Link types understood: Ethernet
(1, with 802.1Q tags), raw IP (101, 228/229), Linux cooked capture v1 and v2 (113, 276),
BSD loopback (0, 108). A file that is neither format, or cut short in a header, raises
:class:`CaptureError` with a message for the user; a frame of another link type or
protocol is skipped and counted.
"""

from __future__ import annotations

import struct
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LOOP = 108
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
LINKTYPE_LINUX_SLL2 = 276

ETHERTYPE_IPV6 = 0x86DD
_VLAN = (0x8100, 0x88A8)
#: Linux cooked captures: the header's length and where its protocol (an EtherType) sits.
#: SLL: packet type, ARPHRD, address length, 8 address octets, then the protocol; SLL2:
#: the protocol first, in 20 octets.
_COOKED = {LINKTYPE_LINUX_SLL: (16, 14), LINKTYPE_LINUX_SLL2: (20, 0)}
#: AF_INET6 as BSD loopback captures write it (Linux, FreeBSD, macOS, OpenBSD values).
_AF_INET6 = (10, 24, 28, 30)

_PCAP_MAGIC = {
    b"\xd4\xc3\xb2\xa1": ("<", 1e-6),
    b"\xa1\xb2\xc3\xd4": (">", 1e-6),
    b"\x4d\x3c\xb2\xa1": ("<", 1e-9),
    b"\xa1\xb2\x3c\x4d": (">", 1e-9),
}
_PCAPNG_SHB = 0x0A0D0D0A
_BYTE_ORDER_MAGIC = 0x1A2B3C4D


class CaptureError(ValueError):
    """The file is not a capture this reader understands."""


@dataclass(frozen=True, slots=True)
class CapturedPacket:
    """An IPv6 packet as captured: frame number (from 1), time, interface, bytes."""

    frame: int
    time: float
    interface: int
    packet: bytes
    #: The frame had a link-layer multicast destination (Ethernet only; None if unknown).
    link_multicast: bool | None = None
    #: The link-layer source address (Ethernet only).
    link_source: bytes | None = None
    #: The link-layer destination address (Ethernet only).
    link_destination: bytes | None = None


@dataclass
class CaptureStats:
    frames: int = 0
    ipv6: int = 0
    skipped: Counter[str] = field(default_factory=Counter)


def _ipv6_from_link(
    linktype: int, frame: bytes
) -> tuple[bytes | None, bool | None, bytes | None, bytes | None, str]:
    """The IPv6 packet inside a frame of ``linktype`` (None and why not)."""
    if linktype == LINKTYPE_ETHERNET:
        if len(frame) < 14:
            return None, None, None, None, "short Ethernet frame"
        multicast = bool(frame[0] & 1)
        ethertype, off = int.from_bytes(frame[12:14], "big"), 14
        while ethertype in _VLAN and len(frame) >= off + 4:
            ethertype, off = int.from_bytes(frame[off + 2 : off + 4], "big"), off + 4
        if ethertype != ETHERTYPE_IPV6:
            return None, None, None, None, f"ethertype 0x{ethertype:04x}"
        return frame[off:], multicast, frame[6:12], frame[0:6], ""
    if linktype in (LINKTYPE_RAW, LINKTYPE_IPV6, LINKTYPE_IPV4):
        if frame and frame[0] >> 4 == 6:
            return frame, None, None, None, ""
        return None, None, None, None, "not IPv6"
    if linktype in _COOKED:
        length, protocol_at = _COOKED[linktype]
        if len(frame) < length:
            return None, None, None, None, "short cooked frame"
        if int.from_bytes(frame[protocol_at : protocol_at + 2], "big") != ETHERTYPE_IPV6:
            return None, None, None, None, "not IPv6"
        return frame[length:], None, None, None, ""
    if linktype in (LINKTYPE_NULL, LINKTYPE_LOOP):
        if len(frame) < 4:
            return None, None, None, None, "short loopback frame"
        family = max(int.from_bytes(frame[:4], "little"), int.from_bytes(frame[:4], "big"))
        if family not in _AF_INET6:
            return None, None, None, None, "not IPv6"
        return frame[4:], None, None, None, ""
    return None, None, None, None, f"link type {linktype}"


def _pcap(data: bytes, stats: CaptureStats) -> Iterator[CapturedPacket]:
    order, unit = _PCAP_MAGIC[data[:4]]
    if len(data) < 24:
        raise CaptureError("pcap: the file header is cut short")
    linktype = struct.unpack_from(order + "I", data, 20)[0] & 0x0FFFFFFF
    record = struct.Struct(order + "IIII")
    off, number = 24, 0
    while off + record.size <= len(data):
        sec, frac, incl, _orig = record.unpack_from(data, off)
        off += record.size
        frame = data[off : off + incl]
        off += incl
        number += 1
        yield from _emit(number, sec + frac * unit, 0, linktype, frame, stats)


def _emit(
    number: int, time: float, iface: int, linktype: int, frame: bytes, stats: CaptureStats
) -> Iterator[CapturedPacket]:
    stats.frames += 1
    packet, multicast, source, destination, why = _ipv6_from_link(linktype, frame)
    if packet is None:
        stats.skipped[why] += 1
        return
    stats.ipv6 += 1
    yield CapturedPacket(number, time, iface, packet, multicast, source, destination)


def _tsresol(options: bytes, order: str) -> float:
    """The if_tsresol option (code 9) of an Interface Description Block; 1 µs by default."""
    off = 0
    while off + 4 <= len(options):
        code, length = struct.unpack_from(order + "HH", options, off)
        if code == 0:
            break
        if code == 9 and length >= 1:
            value = options[off + 4]
            return 2.0 ** -(value & 0x7F) if value & 0x80 else 10.0**-value
        off += 4 + ((length + 3) & ~3)
    return 1e-6


def _pcapng(data: bytes, stats: CaptureStats) -> Iterator[CapturedPacket]:
    off, number = 0, 0
    order = "<"
    interfaces: list[tuple[int, float]] = []
    while off + 12 <= len(data):
        btype = struct.unpack_from(order + "I", data, off)[0]
        if btype == _PCAPNG_SHB:
            bom = data[off + 8 : off + 12]
            if bom == _BYTE_ORDER_MAGIC.to_bytes(4, "little"):
                order = "<"
            elif bom == _BYTE_ORDER_MAGIC.to_bytes(4, "big"):
                order = ">"
            else:
                raise CaptureError("pcapng: bad byte-order magic")
            interfaces = []  # interfaces are numbered per section
        length = struct.unpack_from(order + "I", data, off + 4)[0]
        if length < 12 or off + length > len(data):
            raise CaptureError(f"pcapng: a block at offset {off} is cut short")
        body = data[off + 8 : off + length - 4]
        if btype == 1 and len(body) >= 8:  # Interface Description Block
            linktype = struct.unpack_from(order + "H", body, 0)[0]
            interfaces.append((linktype, _tsresol(body[8:], order)))
        elif btype == 6 and len(body) >= 20:  # Enhanced Packet Block
            iface, hi, lo, caplen = struct.unpack_from(order + "IIII", body, 0)
            number += 1
            if iface >= len(interfaces):
                stats.frames += 1
                stats.skipped["no interface description"] += 1
            else:
                linktype, unit = interfaces[iface]
                yield from _emit(
                    number, ((hi << 32) | lo) * unit, iface, linktype, body[20 : 20 + caplen], stats
                )
        elif btype == 3 and len(body) >= 4 and interfaces:  # Simple Packet Block
            number += 1
            linktype, _ = interfaces[0]
            yield from _emit(number, 0.0, 0, linktype, body[4:], stats)
        off += length


def read_capture(path: str | Path, stats: CaptureStats | None = None) -> Iterator[CapturedPacket]:
    """The IPv6 packets of a pcap or pcapng file, in file order."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise CaptureError(f"{path}: {exc.strerror or exc}") from None
    stats = stats if stats is not None else CaptureStats()
    if data[:4] in _PCAP_MAGIC:
        return _pcap(data, stats)
    if len(data) >= 4 and int.from_bytes(data[:4], "little") == _PCAPNG_SHB:
        return _pcapng(data, stats)
    raise CaptureError(f"{path}: neither a pcap nor a pcapng file")
