"""The IPv4 header of IPv6-in-IPv4 tunnels, checked against scapy."""

from __future__ import annotations

import contextlib
from ipaddress import IPv4Address
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scapy.layers.inet import IP
from scapy.layers.inet6 import IPv6
from scapy.packet import Raw

from tcpip6.wire import ChecksumError, WireError
from tcpip6.wire.ipv4 import (
    FLAG_DF,
    IPPROTO_IPV6,
    Ipv4Header,
    datagram,
    split,
)
from tests.wire.strategies import mutations
from tests.wire.strategies_transport import ipv4_headers

A = IPv4Address("192.0.2.1")
B = IPv4Address("198.51.100.2")


def scapy_ip(h: Ipv4Header) -> Any:
    return IP(
        tos=h.tos,
        len=h.total_length,
        id=h.identification,
        flags=h.flags,
        frag=h.fragment_offset,
        ttl=h.ttl,
        proto=h.protocol,
        src=str(h.src),
        dst=str(h.dst),
        options=[Raw(h.options)] if h.options else [],
    )


@given(ipv4_headers)
def test_round_trip(h: Ipv4Header) -> None:
    raw = h.build()
    assert len(raw) == h.buffer_len() == h.header_len
    assert Ipv4Header.parse(raw) == h


@given(ipv4_headers)
def test_matches_scapy(h: Ipv4Header) -> None:
    theirs = bytes(scapy_ip(h))
    # scapy computes the checksum: the whole header must agree, checksum included.
    assert h.build() == theirs
    assert Ipv4Header.parse(theirs) == h
    d = IP(theirs)
    assert (d.version, d.ihl * 4, d.tos, d.len, d.id, int(d.flags), d.frag) == (
        4,
        h.header_len,
        h.tos,
        h.total_length,
        h.identification,
        h.flags,
        h.fragment_offset,
    )
    assert (d.ttl, d.proto, IPv4Address(d.src), IPv4Address(d.dst)) == (
        h.ttl,
        h.protocol,
        h.src,
        h.dst,
    )
    assert b"".join(bytes(o) for o in d.options) == h.options


@given(st.binary(max_size=64))
def test_tunnel_packet_matches_scapy(inner: bytes) -> None:
    """Protocol 41: the IPv4 header in front of an IPv6 packet, split back apart."""
    v6 = bytes(IPv6(src="2001:db8::1", dst="2001:db8::2") / inner)
    hdr = Ipv4Header(0, 20 + len(v6), 7, FLAG_DF, 0, 64, IPPROTO_IPV6, A, B)
    ours = datagram(hdr, v6)
    theirs = bytes(IP(src=str(A), dst=str(B), id=7, flags="DF", ttl=64) / IPv6(v6))
    assert ours == theirs
    parsed, payload = split(ours + b"\x00" * 6)  # trailing link padding is cut off
    assert parsed == hdr and bytes(payload) == v6
    assert parsed.dont_fragment and not parsed.more_fragments and not parsed.is_fragment


@given(st.binary(max_size=80))
def test_arbitrary_bytes_raise_only_wire_error(data: bytes) -> None:
    for parse in (Ipv4Header.parse, split):
        with contextlib.suppress(WireError):
            parse(data)


@given(ipv4_headers.flatmap(lambda h: mutations(h.build())))
def test_mutated_raise_only_wire_error(data: bytes) -> None:
    for parse in (Ipv4Header.parse, split):
        with contextlib.suppress(WireError):
            parse(data)


def test_bad_checksum() -> None:
    raw = bytearray(Ipv4Header(0, 20, 1, 0, 0, 64, IPPROTO_IPV6, A, B).build())
    raw[8] ^= 0x01  # TTL changed, checksum not
    with pytest.raises(ChecksumError):
        Ipv4Header.parse(bytes(raw))


@pytest.mark.parametrize(
    ("offset", "value", "reason"),
    [
        (0, 0x65, "version"),  # IPv6 version nibble
        (0, 0x44, "IHL 4"),  # below the 20-octet minimum
        (0, 0x46, "IHL 6"),  # 24 octets, only 20 present
        (3, 19, "total length"),  # below the header length
    ],
)
def test_malformed_header(offset: int, value: int, reason: str) -> None:
    raw = bytearray(Ipv4Header(0, 20, 1, 0, 0, 64, IPPROTO_IPV6, A, B).build())
    raw[offset] = value
    with pytest.raises(WireError) as info:
        Ipv4Header.parse(bytes(raw))
    assert not isinstance(info.value, ChecksumError), reason


def test_truncated_payload() -> None:
    hdr = Ipv4Header(0, 40, 1, 0, 0, 64, IPPROTO_IPV6, A, B)
    with pytest.raises(WireError):
        split(hdr.build() + b"\x00" * 19)


def test_tos_fields() -> None:
    h = Ipv4Header((46 << 2) | 1, 20, 0, 0, 0, 1, 41, A, B)  # EF, ECT(1)
    assert (h.dscp, h.ecn) == (46, 1)
    with pytest.raises(ValueError):
        Ipv4Header(0, 20, 0, 0, 0, 1, 41, A, B, b"\x01").build()  # options not 32-bit
