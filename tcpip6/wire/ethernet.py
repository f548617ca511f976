"""Ethernet II framing (IEEE 802.3 / DIX) as IPv6 uses it (RFC 2464).

::

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                Destination MAC (6 octets) ...                 |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                Source MAC (6 octets) ...                      |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |          EtherType            |   payload ...
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import ClassVar

from tcpip6.wire.errors import WireError

ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_ARP = 0x0806
ETHERTYPE_IPV6 = 0x86DD

MAC_LEN = 6
BROADCAST = b"\xff" * 6

_HEADER = struct.Struct("!6s6sH")
#: The fixed header's layout (destination, source, EtherType), for readers of many frames.
ETHERNET_HEADER = _HEADER


def format_mac(mac: bytes) -> str:
    """``b'\\x02\\x00...'`` -> ``'02:00:...'`` (the form ``ip link`` prints)."""
    return ":".join(f"{b:02x}" for b in mac)


def parse_mac(text: str) -> bytes:
    """``'02:00:5e:10:00:01'`` -> 6 bytes; raises :class:`WireError` on bad text."""
    parts = text.replace("-", ":").split(":")
    if len(parts) != MAC_LEN:
        raise WireError(f"not a MAC address: {text!r}")
    try:
        return bytes(int(p, 16) for p in parts)
    except ValueError as exc:
        raise WireError(f"not a MAC address: {text!r}") from exc


def is_multicast_mac(mac: bytes) -> bool:
    """The I/G bit: the low-order bit of the first octet."""
    return bool(mac[0] & 1)


@dataclass(frozen=True, slots=True)
class EthernetHeader:
    dst: bytes
    src: bytes
    ethertype: int

    HEADER_LEN: ClassVar[int] = 14

    @classmethod
    def parse(cls, buf: bytes | bytearray | memoryview) -> EthernetHeader:
        if len(buf) < cls.HEADER_LEN:
            raise WireError(f"ethernet: {len(buf)} bytes, need {cls.HEADER_LEN}")
        dst, src, ethertype = _HEADER.unpack_from(buf, 0)
        return cls(dst, src, ethertype)

    def buffer_len(self) -> int:
        return self.HEADER_LEN

    def emit(self, buf: bytearray | memoryview, off: int = 0) -> None:
        if len(self.dst) != MAC_LEN or len(self.src) != MAC_LEN:
            raise ValueError("ethernet addresses are 6 octets")
        _HEADER.pack_into(buf, off, self.dst, self.src, self.ethertype)

    def build(self) -> bytes:
        buf = bytearray(self.HEADER_LEN)
        self.emit(buf)
        return bytes(buf)


def frame(dst: bytes, src: bytes, ethertype: int, payload: bytes | bytearray | memoryview) -> bytes:
    """A whole Ethernet II frame (no FCS, no padding: the link adds what it needs)."""
    return _HEADER.pack(dst, src, ethertype) + bytes(payload)
