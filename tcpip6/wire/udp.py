"""UDP (RFC 768) and UDP-Lite (RFC 3828) over IPv6.

::

     0      7 8     15 16    23 24    31
    +--------+--------+--------+--------+
    |     Source      |   Destination   |
    |      Port       |      Port       |
    +--------+--------+--------+--------+
    |     Length      |    Checksum     |   (UDP-Lite: Checksum Coverage, Checksum)
    +--------+--------+--------+--------+
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv6Address
from typing import ClassVar

from tcpip6.wire.checksum import upper_layer_checksum
from tcpip6.wire.errors import ChecksumError, WireError

IPPROTO_UDP = 17
IPPROTO_UDPLITE = 136
HEADER_LEN = 8
_HEADER = struct.Struct("!HHHH")


@dataclass(frozen=True, slots=True)
class UdpDatagram:
    src_port: int
    dst_port: int
    payload: bytes

    HEADER_LEN: ClassVar[int] = HEADER_LEN

    @classmethod
    def parse(
        cls, buf: bytes | bytearray | memoryview, src: IPv6Address, dst: IPv6Address
    ) -> UdpDatagram:
        if len(buf) < HEADER_LEN:
            raise WireError(f"udp: {len(buf)} octets, need {HEADER_LEN}")
        sport, dport, length, csum = _HEADER.unpack_from(buf, 0)
        # RFC 768: Length covers header and data; it must fit the IPv6 payload.
        if length < HEADER_LEN or length > len(buf):
            raise WireError(f"udp: length field {length} with {len(buf)} octets")
        # RFC 8200 §8.1: over IPv6 the checksum is mandatory; a zero one is discarded.
        if csum == 0:
            raise ChecksumError("udp: zero checksum over IPv6")
        data = memoryview(buf)[:length]
        if upper_layer_checksum(src, dst, IPPROTO_UDP, data) != 0:
            raise ChecksumError("udp: bad checksum")
        return cls(sport, dport, bytes(data[HEADER_LEN:]))

    def buffer_len(self) -> int:
        return HEADER_LEN + len(self.payload)

    def emit(
        self, buf: bytearray | memoryview, src: IPv6Address, dst: IPv6Address, off: int = 0
    ) -> None:
        length = self.buffer_len()
        if length > 0xFFFF:
            raise ValueError("udp: datagram longer than 65535 octets")
        _HEADER.pack_into(buf, off, self.src_port, self.dst_port, length, 0)
        buf[off + HEADER_LEN : off + length] = self.payload
        csum = upper_layer_checksum(src, dst, IPPROTO_UDP, buf[off : off + length])
        # RFC 768 / RFC 8200 §8.1: a computed zero is transmitted as all ones.
        struct.pack_into("!H", buf, off + 6, csum or 0xFFFF)

    def build(self, src: IPv6Address, dst: IPv6Address) -> bytes:
        buf = bytearray(self.buffer_len())
        self.emit(buf, src, dst)
        return bytes(buf)


@dataclass(frozen=True, slots=True)
class UdpLiteDatagram:
    """RFC 3828. ``coverage`` 0 means the whole datagram; otherwise 8..length."""

    src_port: int
    dst_port: int
    payload: bytes
    coverage: int = 0

    HEADER_LEN: ClassVar[int] = HEADER_LEN

    @classmethod
    def parse(
        cls, buf: bytes | bytearray | memoryview, src: IPv6Address, dst: IPv6Address
    ) -> UdpLiteDatagram:
        if len(buf) < HEADER_LEN:
            raise WireError(f"udp-lite: {len(buf)} octets, need {HEADER_LEN}")
        sport, dport, coverage, csum = _HEADER.unpack_from(buf, 0)
        # RFC 3828 §3.1: coverage 1-7 or beyond the datagram: discard.
        if 0 < coverage < HEADER_LEN or coverage > len(buf):
            raise WireError(f"udp-lite: coverage {coverage} with {len(buf)} octets")
        covered = len(buf) if coverage == 0 else coverage
        # RFC 3828 §3.1: the checksum is mandatory (zero is illegal).
        if csum == 0:
            raise ChecksumError("udp-lite: zero checksum")
        data = memoryview(buf)[:covered]
        if upper_layer_checksum(src, dst, IPPROTO_UDPLITE, data, length=len(buf)) != 0:
            raise ChecksumError("udp-lite: bad checksum")
        return cls(sport, dport, bytes(buf[HEADER_LEN:]), coverage)

    def buffer_len(self) -> int:
        return HEADER_LEN + len(self.payload)

    def emit(
        self, buf: bytearray | memoryview, src: IPv6Address, dst: IPv6Address, off: int = 0
    ) -> None:
        length = self.buffer_len()
        if 0 < self.coverage < HEADER_LEN or self.coverage > length:
            raise ValueError(f"udp-lite: coverage {self.coverage} for {length} octets")
        _HEADER.pack_into(buf, off, self.src_port, self.dst_port, self.coverage, 0)
        buf[off + HEADER_LEN : off + length] = self.payload
        covered = length if self.coverage == 0 else self.coverage
        # RFC 3828 §3.1: pseudo-header length is the IPv6 payload length (the datagram).
        csum = upper_layer_checksum(
            src, dst, IPPROTO_UDPLITE, buf[off : off + covered], length=length
        )
        struct.pack_into("!H", buf, off + 6, csum or 0xFFFF)

    def build(self, src: IPv6Address, dst: IPv6Address) -> bytes:
        buf = bytearray(self.buffer_len())
        self.emit(buf, src, dst)
        return bytes(buf)
