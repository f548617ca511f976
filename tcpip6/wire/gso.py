"""TCP segmentation in software: what a NIC's TSO, or the Linux kernel's GSO, makes of one
large TCP segment handed to it with a segment size (the virtio-net header's ``gso_size``,
virtio 1.1 section 5.1.6.2).

The large segment is an IPv6 header, a TCP header and the data, with nothing between the
two headers. Each resulting segment carries ``gso_size`` octets of the data (the last one
what is left), a copy of the TCP header with its sequence number advanced by the data
before it, the IPv6 header with its Payload Length, and its own checksum (RFC 9293 §3.1,
over the RFC 8200 §8.1 pseudo-header). As the kernel's ``tcp_gso_segment`` does, FIN and
PSH stay on the last segment only and CWR on the first only: they belong to the end of the
data (RFC 9293 §3.1) and to one segment (RFC 3168 §6.1.2).

The checksum field of the large segment is ignored (it may hold the partial sum the
offload convention asks for).
"""

from __future__ import annotations

import struct
from ipaddress import IPv6Address

from tcpip6.wire.checksum import ones_complement_sum, pseudo_header_sum
from tcpip6.wire.errors import WireError

IPV6_HEADER_LEN = 40
IPPROTO_TCP = 6
#: TCP flag bits (RFC 9293 §3.1, RFC 3168 §6.1).
FIN, PSH, CWR = 0x01, 0x08, 0x80
_PAYLOAD_LENGTH = struct.Struct("!H")
_SEQ = struct.Struct("!I")
_CHECKSUM = struct.Struct("!H")


def tcp_header_len(packet: bytes | memoryview) -> int:
    """The TCP header length (Data Offset, RFC 9293 §3.1) of an IPv6 packet whose next
    header is TCP."""
    return (packet[IPV6_HEADER_LEN + 12] >> 4) * 4


def segment_tcp(packet: bytes | memoryview, gso_size: int) -> list[bytes]:
    """The IPv6 packets, each with at most ``gso_size`` octets of TCP data, that carry
    ``packet``'s data (see the module docstring)."""
    if gso_size <= 0:
        raise WireError(f"gso: segment size {gso_size}")
    if len(packet) < IPV6_HEADER_LEN + 20 or packet[6] != IPPROTO_TCP:
        raise WireError("gso: not an IPv6 packet with a TCP header right after it")
    view = memoryview(packet)
    thl = tcp_header_len(view)
    if thl < 20 or IPV6_HEADER_LEN + thl > len(view):
        raise WireError(f"gso: TCP header of {thl} octets")
    src = IPv6Address(bytes(view[8:24]))
    dst = IPv6Address(bytes(view[24:40]))
    ip_head = bytes(view[:4])
    ip_tail = bytes(view[6:40])
    tcp = bytearray(view[IPV6_HEADER_LEN : IPV6_HEADER_LEN + thl])
    tcp[16:18] = b"\0\0"
    (seq,) = _SEQ.unpack_from(tcp, 4)
    flags = tcp[13]
    data = view[IPV6_HEADER_LEN + thl :]
    total = len(data)
    out: list[bytes] = []
    start = 0
    while True:
        chunk = data[start : start + gso_size]
        end = start + len(chunk)
        f = flags
        if end < total:
            f &= ~(FIN | PSH)
        if start:
            f &= ~CWR
        tcp[13] = f
        _SEQ.pack_into(tcp, 4, (seq + start) & 0xFFFFFFFF)
        tcp[16:18] = b"\0\0"
        length = thl + len(chunk)
        csum = ones_complement_sum(
            chunk, ones_complement_sum(tcp, pseudo_header_sum(src, dst, length, IPPROTO_TCP))
        )
        _CHECKSUM.pack_into(tcp, 16, ~csum & 0xFFFF)
        out.append(b"".join((ip_head, _PAYLOAD_LENGTH.pack(length), ip_tail, tcp, chunk)))
        start = end
        if start >= total:
            return out
