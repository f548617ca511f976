"""UDP against scapy, UDP-Lite against its checksum computed from first principles."""

from __future__ import annotations

import contextlib
import struct
from ipaddress import IPv6Address

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scapy.layers.inet import UDP
from scapy.layers.inet6 import IPv6

from tcpip6.wire import ChecksumError, WireError
from tcpip6.wire.udp import IPPROTO_UDP, IPPROTO_UDPLITE, UdpDatagram, UdpLiteDatagram
from tests.wire.strategies import ipv6_addresses, mutations
from tests.wire.strategies_transport import udp_datagrams, udplite_datagrams, with_checksum

SRC = IPv6Address("2001:db8::1")
DST = IPv6Address("2001:db8::2")


def ones_sum_first_principles(data: bytes) -> int:
    """RFC 1071: 16-bit words added with end-around carry."""
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def udplite_checksum_first_principles(
    src: IPv6Address, dst: IPv6Address, datagram: bytes, coverage: int
) -> int:
    """RFC 3828 §3.1: the pseudo-header of RFC 8200 §8.1 with the IPv6 payload length (not
    the coverage), then the covered octets with the checksum field zero; 0 goes as 0xffff."""
    covered = datagram[: coverage or len(datagram)]
    covered = covered[:6] + b"\x00\x00" + covered[8:]
    pseudo = src.packed + dst.packed + struct.pack("!I3xB", len(datagram), 136)
    return (~ones_sum_first_principles(pseudo + covered) & 0xFFFF) or 0xFFFF


# -- UDP --------------------------------------------------------------------------------
@given(udp_datagrams, ipv6_addresses, ipv6_addresses)
def test_udp_round_trip(d: UdpDatagram, src: IPv6Address, dst: IPv6Address) -> None:
    raw = d.build(src, dst)
    assert len(raw) == d.buffer_len()
    assert UdpDatagram.parse(raw, src, dst) == d


@given(udp_datagrams, ipv6_addresses, ipv6_addresses)
def test_udp_matches_scapy(d: UdpDatagram, src: IPv6Address, dst: IPv6Address) -> None:
    pkt = IPv6(src=str(src), dst=str(dst)) / UDP(sport=d.src_port, dport=d.dst_port) / d.payload
    theirs = bytes(pkt)[40:]
    assert d.build(src, dst) == theirs
    assert UdpDatagram.parse(theirs, src, dst) == d
    dissected = IPv6(bytes(pkt))[UDP]
    assert (dissected.sport, dissected.dport, dissected.len, dissected.chksum) == (
        d.src_port,
        d.dst_port,
        d.buffer_len(),
        int.from_bytes(d.build(src, dst)[6:8], "big"),
    )


def test_udp_computed_zero_is_sent_as_ffff() -> None:
    # A two-octet payload chosen so that the one's complement sum is 0xffff: the
    # checksum computes to 0 and must go on the wire as 0xffff (RFC 768, RFC 8200 §8.1).
    pseudo = SRC.packed + DST.packed + struct.pack("!I3xB", 10, 17)
    rest = ones_sum_first_principles(pseudo + struct.pack("!HHHH", 1000, 2000, 10, 0))
    payload = (0xFFFF - rest).to_bytes(2, "big")
    raw = UdpDatagram(1000, 2000, payload).build(SRC, DST)
    assert raw[6:8] == b"\xff\xff"
    pkt = IPv6(src=str(SRC), dst=str(DST)) / UDP(sport=1000, dport=2000) / payload
    assert bytes(pkt)[40:] == raw
    assert UdpDatagram.parse(raw, SRC, DST).payload == payload


def test_udp_zero_checksum_rejected_over_ipv6() -> None:
    raw = bytearray(UdpDatagram(1, 2, b"hi").build(SRC, DST))
    raw[6:8] = b"\x00\x00"
    with pytest.raises(ChecksumError):
        UdpDatagram.parse(bytes(raw), SRC, DST)


def test_udp_bad_checksum() -> None:
    raw = bytearray(UdpDatagram(1, 2, b"hello").build(SRC, DST))
    raw[-1] ^= 0x40
    with pytest.raises(ChecksumError):
        UdpDatagram.parse(bytes(raw), SRC, DST)
    # The pseudo-header counts: the same octets from another source do not verify.
    with pytest.raises(ChecksumError):
        UdpDatagram.parse(UdpDatagram(1, 2, b"hello").build(SRC, DST), SRC + 1, DST)


@pytest.mark.parametrize("length", [0, 7, 14])
def test_udp_length_field_checked(length: int) -> None:
    raw = bytearray(UdpDatagram(1, 2, b"hello").build(SRC, DST))  # 13 octets
    raw[4:6] = length.to_bytes(2, "big")
    with pytest.raises(WireError) as info:
        UdpDatagram.parse(bytes(raw), SRC, DST)
    assert not isinstance(info.value, ChecksumError)


def test_udp_octets_beyond_length_are_not_the_datagram() -> None:
    d = UdpDatagram(1, 2, b"hello")
    assert UdpDatagram.parse(d.build(SRC, DST) + b"pad", SRC, DST) == d


# -- UDP-Lite ---------------------------------------------------------------------------
@given(udplite_datagrams, ipv6_addresses, ipv6_addresses)
def test_udplite_round_trip_and_checksum(
    d: UdpLiteDatagram, src: IPv6Address, dst: IPv6Address
) -> None:
    raw = d.build(src, dst)
    assert UdpLiteDatagram.parse(raw, src, dst) == d
    assert struct.unpack("!HHHH", raw[:8]) == (
        d.src_port,
        d.dst_port,
        d.coverage,
        udplite_checksum_first_principles(src, dst, raw, d.coverage),
    )
    assert raw[8:] == d.payload


@given(udplite_datagrams.filter(lambda d: 0 < d.coverage < d.buffer_len()), st.data())
def test_udplite_octets_beyond_coverage_may_change(d: UdpLiteDatagram, data: st.DataObject) -> None:
    raw = bytearray(d.build(SRC, DST))
    at = data.draw(st.integers(min_value=d.coverage, max_value=len(raw) - 1))
    raw[at] ^= 0xFF
    assert UdpLiteDatagram.parse(bytes(raw), SRC, DST).payload[at - 8] == raw[at]


def test_udplite_covered_octet_changed_is_bad_checksum() -> None:
    raw = bytearray(UdpLiteDatagram(1, 2, b"0123456789", coverage=12).build(SRC, DST))
    raw[11] ^= 0x01
    with pytest.raises(ChecksumError):
        UdpLiteDatagram.parse(bytes(raw), SRC, DST)


@pytest.mark.parametrize("coverage", [1, 7, 19, 0xFFFF])
def test_udplite_bad_coverage_rejected(coverage: int) -> None:
    raw = bytearray(UdpLiteDatagram(1, 2, b"0123456789").build(SRC, DST))  # 18 octets
    raw[4:6] = coverage.to_bytes(2, "big")
    # Coverage 1..7 (RFC 3828 §3.1) or beyond the datagram: malformed, whatever the
    # checksum says.
    raw = bytearray(with_checksum(bytes(raw), 6, SRC, DST, IPPROTO_UDPLITE))
    with pytest.raises(WireError) as info:
        UdpLiteDatagram.parse(bytes(raw), SRC, DST)
    assert not isinstance(info.value, ChecksumError)
    with pytest.raises(ValueError):
        UdpLiteDatagram(1, 2, b"0123456789", coverage=coverage).build(SRC, DST)


def test_udplite_zero_checksum_rejected() -> None:
    raw = bytearray(UdpLiteDatagram(1, 2, b"x").build(SRC, DST))
    raw[6:8] = b"\x00\x00"
    with pytest.raises(ChecksumError):
        UdpLiteDatagram.parse(bytes(raw), SRC, DST)


def test_udplite_is_not_udp() -> None:
    # Same octets, different next header in the pseudo-header.
    raw = UdpLiteDatagram(1, 2, b"abc").build(SRC, DST)
    with pytest.raises(WireError):
        UdpDatagram.parse(raw, SRC, DST)
    assert (IPPROTO_UDP, IPPROTO_UDPLITE) == (17, 136)


# -- robustness -------------------------------------------------------------------------
def parse_all(data: bytes) -> None:
    for parse in (UdpDatagram.parse, UdpLiteDatagram.parse):
        with contextlib.suppress(WireError):
            parse(data, SRC, DST)


@given(st.binary(max_size=64))
def test_arbitrary_bytes_raise_only_wire_error(data: bytes) -> None:
    parse_all(data)


encodings = st.one_of(
    udp_datagrams.map(lambda d: (d.build(SRC, DST), IPPROTO_UDP)),
    udplite_datagrams.map(lambda d: (d.build(SRC, DST), IPPROTO_UDPLITE)),
)


@given(
    encodings.flatmap(
        lambda e: st.tuples(mutations(e[0]), st.just(e[1]), st.booleans()),
    )
)
def test_mutated_raise_only_wire_error(case: tuple[bytes, int, bool]) -> None:
    data, proto, fix = case
    # With the checksum made right again, the mutation reaches the length checks.
    parse_all(with_checksum(data, 6, SRC, DST, proto) if fix else data)
