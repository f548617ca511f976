"""IPsec headers: the Authentication Header (RFC 4302 §2) and the Encapsulating Security
Payload (RFC 4303 §2).

Authentication Header (RFC 4302 §2)::

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    | Next Header   |  Payload Len  |          RESERVED             |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                 Security Parameters Index (SPI)               |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                    Sequence Number Field                      |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                                                               |
    +                Integrity Check Value-ICV (variable)           |
    |                                                               |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

    Payload Len: the header's length in 32-bit words, minus 2 (RFC 4302 §2.2); in IPv6
    the header is a multiple of 8 octets, the ICV padded to get there (RFC 4302 §2.6).

Encapsulating Security Payload (RFC 4303 §2)::

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ ----
    |               Security Parameters Index (SPI)                 | ^Int.
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ |Cov-
    |                      Sequence Number                          | |ered
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ | ----
    |                    Payload Data* (variable)                   | |   ^
    ~                                                               ~ |   |
    |                                                               | |Conf.
    +               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ |Cov-
    |               |     Padding (0-255 bytes)                     | |ered*
    +-+-+-+-+-+-+-+-+               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ |   |
    |                               |  Pad Length   | Next Header   | v   v
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ ------
    |         Integrity Check Value-ICV   (variable)                |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

The clear part of ESP is the SPI and the Sequence Number (:class:`EspHeader`); the
trailer (Padding, Pad Length, Next Header) is inside the encryption and is read from the
plaintext by :func:`esp_trailer`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import ClassVar

from tcpip6.wire.errors import WireError

_AH = struct.Struct("!BBHII")
_ESP = struct.Struct("!II")


@dataclass(frozen=True, slots=True)
class AuthenticationHeader:
    """RFC 4302 §2. ``icv`` is the whole ICV field, any padding included."""

    next_header: int
    spi: int
    sequence_number: int
    icv: bytes
    reserved: int = 0

    FIXED_LEN: ClassVar[int] = 12

    @property
    def payload_len(self) -> int:
        """RFC 4302 §2.2: the length in 32-bit words minus 2."""
        return self.buffer_len() // 4 - 2

    @classmethod
    def parse(cls, buf: bytes | bytearray | memoryview) -> AuthenticationHeader:
        if len(buf) < cls.FIXED_LEN:
            raise WireError(f"ah: {len(buf)} bytes, need {cls.FIXED_LEN}")
        nh, plen, reserved, spi, seq = _AH.unpack_from(buf, 0)
        length = (plen + 2) * 4
        if length < cls.FIXED_LEN:
            raise WireError(f"ah: payload len {plen} shorter than the fixed part")
        if len(buf) < length:
            raise WireError(f"ah: payload len {plen} says {length} octets, have {len(buf)}")
        return cls(nh, spi, seq, bytes(buf[cls.FIXED_LEN : length]), reserved)

    def buffer_len(self) -> int:
        return self.FIXED_LEN + len(self.icv)

    def emit(self, buf: bytearray | memoryview, off: int = 0) -> None:
        if len(self.icv) % 4:
            raise ValueError("ah: the ICV field is a multiple of 32 bits (RFC 4302 §2.6)")
        _AH.pack_into(
            buf,
            off,
            self.next_header,
            self.payload_len,
            self.reserved,
            self.spi,
            self.sequence_number,
        )
        buf[off + self.FIXED_LEN : off + self.buffer_len()] = self.icv

    def build(self) -> bytes:
        buf = bytearray(self.buffer_len())
        self.emit(buf)
        return bytes(buf)


@dataclass(frozen=True, slots=True)
class EspHeader:
    """RFC 4303 §2: the SPI and Sequence Number in front of the (encrypted) payload."""

    spi: int
    sequence_number: int

    HEADER_LEN: ClassVar[int] = 8

    @classmethod
    def parse(cls, buf: bytes | bytearray | memoryview) -> EspHeader:
        if len(buf) < cls.HEADER_LEN:
            raise WireError(f"esp: {len(buf)} bytes, need {cls.HEADER_LEN}")
        spi, seq = _ESP.unpack_from(buf, 0)
        return cls(spi, seq)

    def buffer_len(self) -> int:
        return self.HEADER_LEN

    def emit(self, buf: bytearray | memoryview, off: int = 0) -> None:
        _ESP.pack_into(buf, off, self.spi, self.sequence_number)

    def build(self) -> bytes:
        return _ESP.pack(self.spi, self.sequence_number)


#: RFC 4303 §2.5: the two trailer octets after the padding.
ESP_TRAILER_LEN = 2


def esp_padding(length: int) -> bytes:
    """RFC 4303 §2.4: the default padding is the octets 1, 2, 3, ..."""
    if not 0 <= length <= 255:
        raise ValueError(f"esp: padding of {length} octets")
    return bytes(range(1, length + 1))


def esp_pad_length(payload_len: int, block_size: int) -> int:
    """RFC 4303 §2.4: padding so that payload + padding + the two trailer octets end on a
    multiple of the cipher's block size, and at least on a 4-octet boundary."""
    align = max(4, block_size)
    return -(payload_len + ESP_TRAILER_LEN) % align


def esp_plaintext(payload: bytes, next_header: int, block_size: int) -> bytes:
    """Payload Data, Padding, Pad Length and Next Header: what the cipher encrypts."""
    pad = esp_pad_length(len(payload), block_size)
    return payload + esp_padding(pad) + bytes((pad, next_header))


@dataclass(frozen=True, slots=True)
class EspTrailer:
    """What the receiver reads from the end of the decrypted plaintext."""

    payload_len: int
    padding: bytes
    next_header: int

    def padding_is_default(self) -> bool:
        """RFC 4303 §2.4: the receiver may check the padding is the default 1, 2, 3, ..."""
        return self.padding == esp_padding(len(self.padding))


def esp_trailer(plaintext: bytes | bytearray | memoryview) -> EspTrailer:
    """Split a decrypted ESP plaintext; WireError when the Pad Length does not fit."""
    if len(plaintext) < ESP_TRAILER_LEN:
        raise WireError(f"esp: plaintext of {len(plaintext)} octets has no trailer")
    pad, nh = plaintext[-2], plaintext[-1]
    end = len(plaintext) - ESP_TRAILER_LEN - pad
    if end < 0:
        raise WireError(f"esp: pad length {pad} longer than the plaintext")
    return EspTrailer(end, bytes(plaintext[end : end + pad]), nh)
