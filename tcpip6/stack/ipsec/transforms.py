"""AH (RFC 4302 §3) and ESP (RFC 4303 §3) processing of one packet with one SA, in
transport and tunnel mode: pure functions from bytes and an SA to bytes (or the reason a
packet is dropped). The SA's sequence counter and replay window are the caller's.

A packet here is a whole IPv6 packet, fixed header first.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from tcpip6.stack.ipsec.sad import Mode, SecurityAssociation
from tcpip6.wire import WireError
from tcpip6.wire import ipv6 as wire_ipv6
from tcpip6.wire.ipsec import AuthenticationHeader, EspHeader, esp_plaintext, esp_trailer
from tcpip6.wire.ipv6 import Ipv6Header

_U32 = struct.Struct("!I")
_U64 = struct.Struct("!Q")
_PLEN = struct.Struct("!H")

#: Headers that stay in front of AH or ESP in transport mode (RFC 4302 §3.1.1,
#: RFC 4303 §3.1.1): Hop-by-Hop, Routing and Fragment. Destination Options may go either
#: way; here they go after, so that they are protected, unless a Routing header follows.
_IN_FRONT = (wire_ipv6.HOPOPT, wire_ipv6.IPPROTO_ROUTING, wire_ipv6.IPPROTO_FRAGMENT)
_EXTENSIONS = (*_IN_FRONT, wire_ipv6.IPPROTO_DSTOPTS)


@dataclass(frozen=True, slots=True)
class Opened:
    """An inbound packet with one AH or ESP removed."""

    #: Transport mode: the packet without the IPsec header, ready for the chain walk to go
    #: on at ``offset`` with ``next_header``. Tunnel mode: the inner packet (offset 0).
    packet: bytes
    next_header: int
    offset: int
    nh_pointer: int
    sequence_number: int


def chain_position(packet: bytes) -> tuple[int, int, int]:
    """Where AH or ESP goes in transport mode: (offset, offset of the Next Header field
    that must name it, the Next Header value it replaces)."""
    nh, off, pointer = packet[6], Ipv6Header.HEADER_LEN, 6
    insert, insert_pointer, insert_nh = off, pointer, nh
    while nh in _EXTENSIONS:
        if off + 2 > len(packet):
            raise WireError("ipsec: truncated extension header")
        length = 8 if nh == wire_ipv6.IPPROTO_FRAGMENT else (packet[off + 1] + 1) * 8
        nxt = packet[off]
        if nh in _IN_FRONT or _routing_follows(packet, nxt, off + length):
            insert, insert_pointer, insert_nh = off + length, off, nxt
        nh, pointer, off = nxt, off, off + length
    return insert, insert_pointer, insert_nh


def _routing_follows(packet: bytes, nh: int, off: int) -> bool:
    while nh == wire_ipv6.IPPROTO_DSTOPTS and off + 2 <= len(packet):
        nh, off = packet[off], off + (packet[off + 1] + 1) * 8
    return nh == wire_ipv6.IPPROTO_ROUTING


def _splice(packet: bytes, pointer: int, nh: int, cut: int, insert: bytes, skip: int) -> bytes:
    """``packet[:cut]`` with the Next Header at ``pointer`` set to ``nh``, then ``insert``,
    then the packet from ``cut + skip``; the Payload Length follows."""
    head = bytearray(packet[:cut])
    head[pointer] = nh
    out = head + insert + packet[cut + skip :]
    _PLEN.pack_into(out, 4, len(out) - Ipv6Header.HEADER_LEN)
    return bytes(out)


def _outer_header(sa: SecurityAssociation, inner: bytes, nh: int, length: int) -> bytes:
    """RFC 4301 §5.1.2.1: the outer IPv6 header of tunnel mode: the SA's endpoints, the
    Traffic Class (DSCP and ECN) copied from the inner header, a new Hop Limit."""
    inner_hdr = Ipv6Header.parse(inner)
    return Ipv6Header(
        inner_hdr.traffic_class, inner_hdr.flow_label, length, nh, 64, sa.src, sa.dst
    ).build()


def _esn_high(sa: SecurityAssociation, seq: int) -> bytes:
    # RFC 4303 §2.2.1 / RFC 4302 §2.5.1: with ESN the high-order 32 bits take part in
    # the ICV, though they are never sent.
    return _U32.pack(seq >> 32) if sa.esn else b""


# -- ESP (RFC 4303 §3.3, RFC 4303 §3.4) ------------------------------------------------------------
def esp_payload(sa: SecurityAssociation, seq: int, iv: bytes, nh: int, payload: bytes) -> bytes:
    """The ESP header, encrypted payload and ICV for sequence number ``seq`` (64-bit with
    ESN; its low half is sent)."""
    cipher = sa.cipher
    assert cipher is not None
    header = EspHeader(sa.spi, seq & 0xFFFFFFFF).build()
    plaintext = esp_plaintext(payload, nh, cipher.block_size)
    if cipher.aead:
        # RFC 4106 §5 / RFC 7634 §2.2: AAD = SPI || [high 32 bits, ESN] || low 32 bits.
        aad = header[:4] + _U64.pack(seq) if sa.esn else header
        return header + iv + cipher.encrypt(iv, plaintext, aad)
    body = header + iv + cipher.encrypt(iv, plaintext, b"")
    assert sa.auth is not None
    return body + sa.auth.icv(body + _esn_high(sa, seq))


def esp_protect(sa: SecurityAssociation, packet: bytes, seq: int, iv: bytes) -> bytes:
    """RFC 4303 §3.1: ESP in transport mode (inserted in the chain) or tunnel mode (the
    whole packet inside a new IPv6 header)."""
    if sa.mode is Mode.TUNNEL:
        esp = esp_payload(sa, seq, iv, wire_ipv6.IPPROTO_IPV6, packet)
        return _outer_header(sa, packet, wire_ipv6.IPPROTO_ESP, len(esp)) + esp
    cut, pointer, nh = chain_position(packet)
    esp = esp_payload(sa, seq, iv, nh, packet[cut:])
    return _splice(packet, pointer, wire_ipv6.IPPROTO_ESP, cut, esp, len(packet) - cut)


def esp_open(
    sa: SecurityAssociation, packet: bytes, off: int, pointer: int, seq: int
) -> Opened | str:
    """RFC 4303 §3.4: verify and decrypt the ESP at ``off``; the reason of a drop
    (``truncated``, ``integrity``, ``padding``) otherwise. ``seq`` is the full sequence
    number (ESN inferred by the caller)."""
    cipher = sa.cipher
    assert cipher is not None
    esp = packet[off:]
    icv_len = sa.icv_len()
    start = EspHeader.HEADER_LEN + cipher.iv_len
    if len(esp) < start + 2 + icv_len:
        return "truncated"
    iv = esp[EspHeader.HEADER_LEN : start]
    if cipher.aead:
        aad = esp[:4] + _U64.pack(seq) if sa.esn else esp[:8]
        plaintext = cipher.decrypt(iv, esp[start:], aad)
        if plaintext is None:
            return "integrity"
    else:
        assert sa.auth is not None
        body, icv = esp[: len(esp) - icv_len], esp[len(esp) - icv_len :]
        # RFC 4303 §3.4.4.1: the ICV first (constant-time compare), then decryption.
        if not sa.auth.verify(body + _esn_high(sa, seq), icv):
            return "integrity"
        plaintext = cipher.decrypt(iv, body[start:], b"")
        if plaintext is None:
            return "truncated"
    try:
        trailer = esp_trailer(plaintext)
    except WireError:
        return "padding"
    if not trailer.padding_is_default():
        return "padding"  # RFC 4303 §2.4: the receiver checks the default padding
    payload = plaintext[: trailer.payload_len]
    if sa.mode is Mode.TUNNEL:
        return Opened(payload, trailer.next_header, 0, 6, seq)
    out = _splice(packet, pointer, trailer.next_header, off, payload, len(esp))
    return Opened(out, trailer.next_header, off, pointer, seq)


# -- AH (RFC 4302 §3.1, RFC 4303 §3.3, RFC 4302 §3.4) ----------------------------------------------
def ah_icv_field_len(icv_len: int) -> int:
    """RFC 4302 §2.6, RFC 4302 §3.3.3.2.1: in IPv6 the header is a multiple of 8 octets."""
    return icv_len + (-(AuthenticationHeader.FIXED_LEN + icv_len) % 8)


def ah_icv_input(packet: bytes, ah_off: int, icv_field_len: int) -> bytearray:
    """RFC 4302 §3.3.3.1: the packet with every mutable field zeroed: in the IPv6 header
    Traffic Class, Flow Label and Hop Limit (RFC 4302 §3.3.3.1.2.1); the data of each
    option whose "C" bit says it may change en route (RFC 8200 §4.2); the ICV itself."""
    buf = bytearray(packet)
    buf[0], buf[1], buf[2], buf[3], buf[7] = 0x60, 0, 0, 0, 0
    nh, off = buf[6], Ipv6Header.HEADER_LEN
    while off < ah_off:
        length = 8 if nh == wire_ipv6.IPPROTO_FRAGMENT else (buf[off + 1] + 1) * 8
        if nh in (wire_ipv6.HOPOPT, wire_ipv6.IPPROTO_DSTOPTS):
            i, end = off + 2, min(off + length, len(buf))
            while i < end:
                if buf[i] == 0:  # Pad1
                    i += 1
                    continue
                if i + 1 >= end:
                    break
                opt_len = buf[i + 1]
                if buf[i] & 0x20:  # RFC 8200 §4.2: option data may change en route
                    buf[i + 2 : i + 2 + opt_len] = bytes(opt_len)
                i += 2 + opt_len
        nh, off = buf[off], off + length
    start = ah_off + AuthenticationHeader.FIXED_LEN
    buf[start : start + icv_field_len] = bytes(icv_field_len)
    return buf


def ah_protect(sa: SecurityAssociation, packet: bytes, seq: int) -> bytes:
    """RFC 4302 §3.1: AH in transport mode (in the chain) or tunnel mode (around the whole
    packet), its ICV over the immutable and predictable fields (RFC 4302 §3.3.3)."""
    auth = sa.auth
    assert auth is not None
    field_len = ah_icv_field_len(auth.icv_len)
    if sa.mode is Mode.TUNNEL:
        nh = wire_ipv6.IPPROTO_IPV6
        ah = AuthenticationHeader(nh, sa.spi, seq & 0xFFFFFFFF, bytes(field_len))
        body = ah.build() + packet
        out = _outer_header(sa, packet, wire_ipv6.IPPROTO_AH, len(body)) + body
        cut = Ipv6Header.HEADER_LEN
    else:
        cut, pointer, nh = chain_position(packet)
        ah = AuthenticationHeader(nh, sa.spi, seq & 0xFFFFFFFF, bytes(field_len))
        out = _splice(packet, pointer, wire_ipv6.IPPROTO_AH, cut, ah.build(), 0)
    icv = auth.icv(bytes(ah_icv_input(out, cut, field_len)) + _esn_high(sa, seq))
    start = cut + AuthenticationHeader.FIXED_LEN
    return out[:start] + icv + out[start + len(icv) :]


def ah_open(
    sa: SecurityAssociation, packet: bytes, off: int, pointer: int, seq: int
) -> Opened | str:
    """RFC 4302 §3.4: verify the AH at ``off`` and remove it."""
    auth = sa.auth
    assert auth is not None
    try:
        ah = AuthenticationHeader.parse(memoryview(packet)[off:])
    except WireError:
        return "truncated"
    if len(ah.icv) != ah_icv_field_len(auth.icv_len):
        return "truncated"
    data = bytes(ah_icv_input(packet, off, len(ah.icv))) + _esn_high(sa, seq)
    if not auth.verify(data, ah.icv[: auth.icv_len]):  # RFC 4302 §3.4.4: constant time
        return "integrity"
    length = ah.buffer_len()
    if sa.mode is Mode.TUNNEL:
        return Opened(packet[off + length :], ah.next_header, 0, 6, seq)
    out = _splice(packet, pointer, ah.next_header, off, b"", length)
    return Opened(out, ah.next_header, off, pointer, seq)
