"""The IPv4 header (RFC 791 §3.1), as IPv6-in-IPv4 tunnels carry it (protocol 41, RFC 4213).

::

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |Version|  IHL  |    DSCP   |ECN|          Total Length         |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |         Identification        |0|D|M|      Fragment Offset    |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |  Time to Live |    Protocol   |         Header Checksum       |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                       Source Address                          |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                    Destination Address                        |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                    Options                    |    Padding    |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

The Type of Service octet is kept whole as ``tos`` (RFC 2474 DSCP in the high six bits,
RFC 3168 ECN in the low two). ``flags`` is the 3-bit field (reserved, DF, MF). The options
are kept as bytes, padding included. The header checksum is not a field: it is computed
on emit and verified on parse.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import ClassVar

from tcpip6.wire.checksum import internet_checksum
from tcpip6.wire.errors import ChecksumError, WireError

IPPROTO_ICMP = 1
IPPROTO_IPV6 = 41  # RFC 4213 §3.5: IPv6 encapsulated in IPv4

FLAG_RESERVED = 0x4  # RFC 791: must be zero
FLAG_DF = 0x2  # Don't Fragment
FLAG_MF = 0x1  # More Fragments

MIN_HEADER_LEN = 20
MAX_HEADER_LEN = 60
MAX_OPTIONS_LEN = MAX_HEADER_LEN - MIN_HEADER_LEN

_HEADER = struct.Struct("!BBHHHBBH4s4s")
_CHECKSUM = struct.Struct("!H")


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

    HEADER_LEN: ClassVar[int] = MIN_HEADER_LEN

    @classmethod
    def parse(cls, buf: bytes | bytearray | memoryview) -> Ipv4Header:
        """Parse the header (not the payload: see :func:`split`). Checks the version, the
        IHL against the buffer and Total Length, and the header checksum."""
        if len(buf) < MIN_HEADER_LEN:
            raise WireError(f"ipv4: {len(buf)} octets, need {MIN_HEADER_LEN}")
        vihl, tos, total, ident, frag, ttl, proto, _csum, src, dst = _HEADER.unpack_from(buf, 0)
        if vihl >> 4 != 4:
            raise WireError(f"ipv4: version {vihl >> 4}")
        # RFC 791 §3.1: IHL counts 32-bit words; 5 is the minimum.
        hlen = (vihl & 0xF) * 4
        if hlen < MIN_HEADER_LEN or hlen > len(buf):
            raise WireError(f"ipv4: header length {hlen} with {len(buf)} octets")
        if total < hlen:
            raise WireError(f"ipv4: total length {total} below header length {hlen}")
        # RFC 791 §3.1: the checksum over the header, checksum field included, sums to 0.
        if internet_checksum(memoryview(buf)[:hlen]) != 0:
            raise ChecksumError("ipv4: bad header checksum")
        return cls(
            tos=tos,
            total_length=total,
            identification=ident,
            flags=frag >> 13,
            fragment_offset=frag & 0x1FFF,
            ttl=ttl,
            protocol=proto,
            src=IPv4Address(src),
            dst=IPv4Address(dst),
            options=bytes(buf[MIN_HEADER_LEN:hlen]),
        )

    @property
    def header_len(self) -> int:
        """IHL in octets."""
        return MIN_HEADER_LEN + len(self.options)

    @property
    def dscp(self) -> int:
        """RFC 2474 §3: the high six bits of the TOS octet."""
        return self.tos >> 2

    @property
    def ecn(self) -> int:
        """RFC 3168 §5: the low two bits of the TOS octet."""
        return self.tos & 3

    @property
    def dont_fragment(self) -> bool:
        return bool(self.flags & FLAG_DF)

    @property
    def more_fragments(self) -> bool:
        return bool(self.flags & FLAG_MF)

    @property
    def is_fragment(self) -> bool:
        """A piece of a larger datagram: MF set or a non-zero offset."""
        return self.more_fragments or self.fragment_offset != 0

    def buffer_len(self) -> int:
        return self.header_len

    def emit(self, buf: bytearray | memoryview, off: int = 0) -> None:
        if len(self.options) % 4 or len(self.options) > MAX_OPTIONS_LEN:
            raise ValueError("ipv4: options are padded to 32 bits, at most 40 octets")
        if not 0 <= self.flags <= 7 or not 0 <= self.fragment_offset <= 0x1FFF:
            raise ValueError("ipv4: flags are 3 bits, fragment offset 13 bits")
        hlen = self.header_len
        _HEADER.pack_into(
            buf,
            off,
            0x40 | (hlen // 4),
            self.tos,
            self.total_length,
            self.identification,
            (self.flags << 13) | self.fragment_offset,
            self.ttl,
            self.protocol,
            0,
            self.src.packed,
            self.dst.packed,
        )
        buf[off + MIN_HEADER_LEN : off + hlen] = self.options
        _CHECKSUM.pack_into(buf, off + 10, internet_checksum(buf[off : off + hlen]))

    def build(self) -> bytes:
        buf = bytearray(self.header_len)
        self.emit(buf)
        return bytes(buf)


def split(buf: bytes | bytearray | memoryview) -> tuple[Ipv4Header, memoryview]:
    """Parse a datagram into its header and exactly its payload (Total Length minus the
    header; trailing link padding is cut off). Raises :class:`WireError` when truncated."""
    hdr = Ipv4Header.parse(buf)
    if hdr.total_length > len(buf):
        raise WireError(f"ipv4: total length {hdr.total_length} with {len(buf)} octets")
    return hdr, memoryview(buf)[hdr.header_len : hdr.total_length]


def datagram(hdr: Ipv4Header, payload: bytes | bytearray | memoryview) -> bytes:
    """Header + payload; ``hdr.total_length`` must be the header plus the payload."""
    if hdr.total_length != hdr.header_len + len(payload):
        raise ValueError("total_length does not match the header and payload")
    return hdr.build() + bytes(payload)
