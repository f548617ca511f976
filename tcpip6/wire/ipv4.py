"""The IPv4 header (RFC 791), for IPv6-in-IPv4 tunnels (protocol 41, RFC 4213).

::

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |Version|  IHL  |Type of Service|          Total Length         |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |         Identification        |Flags|      Fragment Offset    |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |  Time to Live |    Protocol   |         Header Checksum       |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                       Source Address                          |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                    Destination Address                        |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                    Options                    |    Padding    |
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv4Address

from tcpip6.wire.checksum import internet_checksum
from tcpip6.wire.errors import ChecksumError, WireError

IPPROTO_IPV6 = 41
FLAG_DF = 0x2
FLAG_MF = 0x1
_HEADER = struct.Struct("!BBHHHBBH4s4s")
MIN_HEADER_LEN = 20


@dataclass(frozen=True, slots=True)
class Ipv4Header:
    tos: int
    total_length: int
    identification: int
    flags: int
    fragment_offset: int
    ttl: int
    protocol: int
    src: IPv4Address
    dst: IPv4Address
    options: bytes = b""

    @classmethod
    def parse(cls, buf: bytes | bytearray | memoryview) -> Ipv4Header:
        if len(buf) < MIN_HEADER_LEN:
            raise WireError(f"ipv4: {len(buf)} octets, need {MIN_HEADER_LEN}")
        vihl, tos, total, ident, frag, ttl, proto, _csum, src, dst = _HEADER.unpack_from(buf, 0)
        if vihl >> 4 != 4:
            raise WireError(f"ipv4: version {vihl >> 4}")
        hlen = (vihl & 0xF) * 4
        if hlen < MIN_HEADER_LEN or hlen > len(buf):
            raise WireError(f"ipv4: header length {hlen} with {len(buf)} octets")
        if total < hlen:
            raise WireError(f"ipv4: total length {total} below header length {hlen}")
        if internet_checksum(memoryview(buf)[:hlen]) != 0:
            raise ChecksumError("ipv4: bad header checksum")
        return cls(
            tos,
            total,
            ident,
            frag >> 13,
            frag & 0x1FFF,
            ttl,
            proto,
            IPv4Address(src),
            IPv4Address(dst),
            bytes(buf[MIN_HEADER_LEN:hlen]),
        )

    @property
    def header_len(self) -> int:
        return MIN_HEADER_LEN + len(self.options)

    def buffer_len(self) -> int:
        return self.header_len

    def emit(self, buf: bytearray | memoryview, off: int = 0) -> None:
        if len(self.options) % 4 or len(self.options) > 40:
            raise ValueError("ipv4 options are padded to 32 bits, at most 40 octets")
        hlen = self.header_len
        _HEADER.pack_into(
            buf,
            off,
            0x40 | (hlen // 4),
            self.tos,
            self.total_length,
            self.identification,
            ((self.flags & 7) << 13) | (self.fragment_offset & 0x1FFF),
            self.ttl,
            self.protocol,
            0,
            self.src.packed,
            self.dst.packed,
        )
        buf[off + MIN_HEADER_LEN : off + hlen] = self.options
        csum = internet_checksum(buf[off : off + hlen])
        struct.pack_into("!H", buf, off + 10, csum)

    def build(self) -> bytes:
        buf = bytearray(self.header_len)
        self.emit(buf)
        return bytes(buf)
