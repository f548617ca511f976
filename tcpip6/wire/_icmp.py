"""The ICMPv6 common header and checksum (RFC 4443 §2.1, §2.3), shared by ICMPv6, ND, MLD.

::

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |     Type      |     Code      |          Checksum             |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                         Message Body                          |
"""

from __future__ import annotations

import struct
from ipaddress import IPv6Address

from tcpip6.wire.checksum import upper_layer_checksum
from tcpip6.wire.errors import ChecksumError, WireError

NEXT_HEADER_ICMPV6 = 58
HEADER = struct.Struct("!BBH")
HEADER_LEN = 4


def finish(body: bytearray, src: IPv6Address, dst: IPv6Address) -> bytes:
    """Fill in the checksum of a message whose checksum field (octets 2-3) is zero."""
    csum = upper_layer_checksum(src, dst, NEXT_HEADER_ICMPV6, body)
    body[2:4] = csum.to_bytes(2, "big")
    return bytes(body)


def verify(buf: bytes | bytearray | memoryview, src: IPv6Address, dst: IPv6Address) -> None:
    if len(buf) < HEADER_LEN:
        raise WireError(f"icmpv6: {len(buf)} octets, need {HEADER_LEN}")
    if upper_layer_checksum(src, dst, NEXT_HEADER_ICMPV6, buf) != 0:
        raise ChecksumError("icmpv6: bad checksum")


def start(msg_type: int, code: int, body_len: int) -> bytearray:
    """A zeroed buffer with type and code set, checksum zero."""
    buf = bytearray(HEADER_LEN + body_len)
    HEADER.pack_into(buf, 0, msg_type, code, 0)
    return buf
