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


def segment_tcp(packet: bytes | memoryview, gso_size: int, prefix: bytes = b"") -> list[bytes]:
    """The IPv6 packets, each with at most ``gso_size`` octets of TCP data, that carry
    ``packet``'s data (see the module docstring), each after ``prefix`` (a link header)."""
    if gso_size <= 0:
        raise WireError(f"gso: segment size {gso_size}")
    if len(packet) < IPV6_HEADER_LEN + 20 or packet[6] != IPPROTO_TCP:
        raise WireError("gso: not an IPv6 packet with a TCP header right after it")
    view = memoryview(packet)
    thl = tcp_header_len(view)
    if thl < 20 or IPV6_HEADER_LEN + thl > len(view):
        raise WireError(f"gso: TCP header of {thl} octets")
    # RFC 8200 §8.1: the pseudo-header's sum less the upper-layer length, which each
    # segment adds. The source and destination read as one 256-bit integer sum, modulo
    # 0xFFFF, as their 16-bit words do (tcpip6.wire.checksum.ones_complement_sum).
    pseudo = int.from_bytes(view[8:40], "big") + IPPROTO_TCP
    ip_head = prefix + bytes(view[:4])
    ip_tail = bytes(view[6:40])
    tcp = bytearray(view[IPV6_HEADER_LEN : IPV6_HEADER_LEN + thl])
    (seq,) = _SEQ.unpack_from(tcp, 4)
    flags = tcp[13]
    data = view[IPV6_HEADER_LEN + thl :]
    total = len(data)
    out: list[bytes] = []
    append, join, from_bytes = out.append, b"".join, int.from_bytes
    pack_length, pack_seq, pack_sum = _PAYLOAD_LENGTH.pack, _SEQ.pack_into, _CHECKSUM.pack_into
    start = 0
    while True:
        chunk = data[start : start + gso_size]
        size = len(chunk)
        end = start + size
        f = flags
        if end < total:
            f &= ~(FIN | PSH)
        if start:
            f &= ~CWR
        tcp[13] = f
        pack_seq(tcp, 4, (seq + start) & 0xFFFFFFFF)
        tcp[16] = tcp[17] = 0
        length = thl + size
        # RFC 9293 §3.1: the one's complement of the one's complement sum of the
        # pseudo-header, the header and the data (an odd last octet padded with zero).
        octets = from_bytes(chunk, "big") << 8 if size & 1 else from_bytes(chunk, "big")
        folded = (pseudo + length + from_bytes(tcp, "big") + octets) % 0xFFFF or 0xFFFF
        pack_sum(tcp, 16, 0xFFFF - folded)
        append(join((ip_head, pack_length(length), ip_tail, tcp, chunk)))
        start = end
        if start >= total:
            return out
