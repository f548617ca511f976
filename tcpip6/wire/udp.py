"""UDP (RFC 768) and UDP-Lite (RFC 3828) over IPv6.

::

     0      7 8     15 16    23 24    31
    +--------+--------+--------+--------+
    |     Source      |   Destination   |
    |      Port       |      Port       |
    +--------+--------+--------+--------+
    |     Length      |    Checksum     |      UDP
    +--------+--------+--------+--------+
    |    Checksum     |    Checksum     |      UDP-Lite (RFC 3828 §3.1)
    |    Coverage     |                 |
    +--------+--------+--------+--------+
    |          data octets ...
    +---------------- ...

The checksum is not a field: it is computed on emit and verified on parse, over the IPv6
pseudo-header (RFC 8200 §8.1) built from the ``src``/``dst`` given to ``parse``/``emit``/
``build``. UDP's Length is not a field either: it is the header plus the payload.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv6Address
from typing import ClassVar

from tcpip6.wire.checksum import upper_layer_checksum
from tcpip6.wire.errors import ChecksumError, WireError
from tcpip6.wire.ipv6 import IPPROTO_UDP, IPPROTO_UDPLITE

HEADER_LEN = 8
MAX_LENGTH = 0xFFFF  # no jumbograms (RFC 2675 §4 would need Length 0)

_HEADER = struct.Struct("!HHHH")
_CHECKSUM = struct.Struct("!H")

__all__ = [
    "HEADER_LEN",
    "IPPROTO_UDP",
    "IPPROTO_UDPLITE",
    "MAX_LENGTH",
    "UdpDatagram",
    "UdpLiteDatagram",
]


@dataclass(frozen=True, slots=True)
class _Datagram:
    """What UDP and UDP-Lite share: the ports, the payload, an 8-octet header whose third
    field each protocol uses its own way, and a checksum that is never sent as zero."""

    src_port: int
    dst_port: int
    payload: bytes

    HEADER_LEN: ClassVar[int] = HEADER_LEN
    PROTOCOL: ClassVar[int]
    #: The protocol's name in error messages.
    NAME: ClassVar[str]

    @classmethod
    def _unpack(cls, buf: bytes | bytearray | memoryview) -> tuple[int, int, int, int]:
        """Source port, destination port, the third field and the checksum."""
        if len(buf) < HEADER_LEN:
            raise WireError(f"{cls.NAME}: {len(buf)} octets, need {HEADER_LEN}")
        sport, dport, third, csum = _HEADER.unpack_from(buf, 0)
        return sport, dport, third, csum

    def buffer_len(self) -> int:
        return HEADER_LEN + len(self.payload)

    def _emit(
        self,
        buf: bytearray | memoryview,
        src: IPv6Address,
        dst: IPv6Address,
        off: int,
        third: int,
        covered: int,
    ) -> None:
        """The header with ``third`` as its third field, the payload, and the checksum
        over the pseudo-header (its length is the whole datagram's) and the first
        ``covered`` octets."""
        length = self.buffer_len()
        if length > MAX_LENGTH:
            raise ValueError(f"{self.NAME}: {length} octets, at most {MAX_LENGTH}")
        _HEADER.pack_into(buf, off, self.src_port, self.dst_port, third, 0)
        buf[off + HEADER_LEN : off + length] = self.payload
        data = buf[off : off + covered]
        csum = upper_layer_checksum(src, dst, self.PROTOCOL, data, length=length)
        # RFC 768, RFC 8200 §8.1, RFC 3828 §3.1: a computed zero is sent as all ones (0
        # means "no checksum").
        _CHECKSUM.pack_into(buf, off + 6, csum or 0xFFFF)

    def build(self, src: IPv6Address, dst: IPv6Address) -> bytes:
        buf = bytearray(self.buffer_len())
        self.emit(buf, src, dst)
        return bytes(buf)

    def emit(
        self, buf: bytearray | memoryview, src: IPv6Address, dst: IPv6Address, off: int = 0
    ) -> None:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class UdpDatagram(_Datagram):
    """RFC 768. Octets of the IPv6 payload beyond the Length field are not part of the
    datagram: parse ignores them."""

    PROTOCOL: ClassVar[int] = IPPROTO_UDP
    NAME: ClassVar[str] = "udp"

    @classmethod
    def parse(
        cls, buf: bytes | bytearray | memoryview, src: IPv6Address, dst: IPv6Address
    ) -> UdpDatagram:
        sport, dport, length, csum = cls._unpack(buf)
        # RFC 768: Length counts the header and the data, so it is at least 8, and the
        # datagram must fit in what the IPv6 layer delivered.
        if length < HEADER_LEN or length > len(buf):
            raise WireError(f"udp: length field {length} with {len(buf)} octets")
        # RFC 8200 §8.1: over IPv6 the checksum is mandatory; a received zero is discarded.
        if csum == 0:
            raise ChecksumError("udp: zero checksum over IPv6")
        # RFC 8200 §8.1: the pseudo-header length is UDP's own Length field.
        data = memoryview(buf)[:length]
        if upper_layer_checksum(src, dst, IPPROTO_UDP, data) != 0:
            raise ChecksumError("udp: bad checksum")
        return cls(sport, dport, bytes(data[HEADER_LEN:]))

    def emit(
        self, buf: bytearray | memoryview, src: IPv6Address, dst: IPv6Address, off: int = 0
    ) -> None:
        length = self.buffer_len()
        self._emit(buf, src, dst, off, length, length)


@dataclass(frozen=True, slots=True)
class UdpLiteDatagram(_Datagram):
    """RFC 3828. ``coverage`` is the Checksum Coverage field: 0 covers the whole datagram,
    otherwise the number of octets covered from the start of the header (8 up to the
    datagram length). The datagram length is the IPv6 payload length: all of ``buf``."""

    coverage: int = 0

    PROTOCOL: ClassVar[int] = IPPROTO_UDPLITE
    NAME: ClassVar[str] = "udp-lite"

    @classmethod
    def parse(
        cls, buf: bytes | bytearray | memoryview, src: IPv6Address, dst: IPv6Address
    ) -> UdpLiteDatagram:
        sport, dport, coverage, csum = cls._unpack(buf)
        # RFC 3828 §3.1: coverage 1..7, or beyond the datagram, is illegal: discard.
        if 0 < coverage < HEADER_LEN or coverage > len(buf):
            raise WireError(f"udp-lite: coverage {coverage} with {len(buf)} octets")
        # RFC 3828 §3.1: the checksum is mandatory (a computed 0 is sent as 0xffff), so a
        # zero field never comes from a valid sender.
        if csum == 0:
            raise ChecksumError("udp-lite: zero checksum")
        covered = memoryview(buf)[: coverage or len(buf)]
        # RFC 3828 §3.1: the pseudo-header length is the IPv6 payload length, not the
        # coverage.
        if upper_layer_checksum(src, dst, IPPROTO_UDPLITE, covered, length=len(buf)) != 0:
            raise ChecksumError("udp-lite: bad checksum")
        return cls(sport, dport, bytes(buf[HEADER_LEN:]), coverage)

    @property
    def covered_len(self) -> int:
        """How many octets the checksum protects (RFC 3828 §3.1)."""
        return self.coverage or self.buffer_len()

    def emit(
        self, buf: bytearray | memoryview, src: IPv6Address, dst: IPv6Address, off: int = 0
    ) -> None:
        length = self.buffer_len()
        if 0 < self.coverage < HEADER_LEN or self.coverage > length:
            raise ValueError(f"udp-lite: coverage {self.coverage} for {length} octets")
        self._emit(buf, src, dst, off, self.coverage, self.coverage or length)
