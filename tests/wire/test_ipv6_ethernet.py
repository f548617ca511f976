"""Ethernet II, the IPv6 fixed header and the checksum, checked against scapy."""

from __future__ import annotations

import contextlib
from ipaddress import IPv6Address

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scapy.layers.inet6 import UDP, IPv6
from scapy.layers.l2 import Ether

from tcpip6.wire import WireError
from tcpip6.wire.checksum import upper_layer_checksum
from tcpip6.wire.ethernet import EthernetHeader, format_mac, parse_mac
from tcpip6.wire.ipv6 import (
    Ipv6Header,
    is_link_local,
    is_loopback,
    is_multicast,
    solicited_node,
    split,
)
from tests.wire.strategies import ipv6_addresses, macs, mutations, u8, u16

ipv6_headers = st.builds(
    Ipv6Header,
    traffic_class=u8,
    flow_label=st.integers(min_value=0, max_value=0xFFFFF),
    payload_length=u16,
    next_header=u8,
    hop_limit=u8,
    src=ipv6_addresses,
    dst=ipv6_addresses,
)
ethernet_headers = st.builds(EthernetHeader, dst=macs, src=macs, ethertype=u16)


@given(ipv6_headers)
def test_ipv6_round_trip(h: Ipv6Header) -> None:
    assert Ipv6Header.parse(h.build()) == h


@given(ipv6_headers)
def test_ipv6_matches_scapy(h: Ipv6Header) -> None:
    theirs = IPv6(
        tc=h.traffic_class,
        fl=h.flow_label,
        plen=h.payload_length,
        nh=h.next_header,
        hlim=h.hop_limit,
        src=str(h.src),
        dst=str(h.dst),
    )
    assert bytes(theirs) == h.build()
    # The send path's header, built from its fields without the object.
    fields = (h.traffic_class, h.flow_label, h.payload_length, h.next_header, h.hop_limit)
    assert Ipv6Header.build_fields(*fields, h.src, h.dst) == bytes(theirs)
    parsed = Ipv6Header.parse(bytes(theirs))
    assert parsed == h


@given(ethernet_headers)
def test_ethernet_matches_scapy(h: EthernetHeader) -> None:
    theirs = bytes(Ether(dst=format_mac(h.dst), src=format_mac(h.src), type=h.ethertype))
    assert theirs == h.build()
    assert EthernetHeader.parse(theirs) == h
    assert parse_mac(format_mac(h.dst)) == h.dst


@given(st.binary(max_size=128))
def test_parsers_raise_only_wire_error(data: bytes) -> None:
    for parse in (Ipv6Header.parse, EthernetHeader.parse, split):
        with contextlib.suppress(WireError):
            parse(data)


@given(ipv6_headers.flatmap(lambda h: mutations(h.build())))
def test_ipv6_mutated(data: bytes) -> None:
    with contextlib.suppress(WireError):
        split(data)


@given(ipv6_addresses, ipv6_addresses, st.binary(max_size=200), u16, u16)
def test_checksum_matches_scapy(
    src: IPv6Address, dst: IPv6Address, body: bytes, sp: int, dp: int
) -> None:
    pkt = IPv6(src=str(src), dst=str(dst)) / UDP(sport=sp, dport=dp) / body
    raw = bytes(pkt)
    udp = raw[40:]
    zeroed = udp[:6] + b"\x00\x00" + udp[8:]
    ours = upper_layer_checksum(src, dst, 17, zeroed)
    expected = int.from_bytes(udp[6:8], "big")
    # RFC 768/8200 §8.1: a computed 0 is transmitted as 0xffff.
    assert (ours or 0xFFFF) == expected
    assert upper_layer_checksum(src, dst, 17, udp) == 0


def test_solicited_node() -> None:
    assert solicited_node(IPv6Address("fe80::2aa:ff:fe28:9c5a")) == IPv6Address("ff02::1:ff28:9c5a")


def test_truncated_payload_is_wire_error() -> None:
    h = Ipv6Header(0, 0, 10, 59, 64, IPv6Address("::1"), IPv6Address("::1"))
    try:
        split(h.build() + b"\x00" * 4)
    except WireError as e:
        assert "payload length" in str(e)
    else:
        raise AssertionError("truncated packet accepted")


# Near the type boundaries as well as anywhere: the prefixes ff00::/8, fe80::/10, ::1.
_EDGES = [0, 1, 2, 0xFE7F << 112, 0xFE80 << 112, 0xFEBF << 112 | (1 << 112) - 1, 0xFEC0 << 112]
_EDGES += [0xFEFF << 112, 0xFF00 << 112, (1 << 128) - 1]


@given(st.one_of(st.sampled_from(_EDGES), st.integers(min_value=0, max_value=(1 << 128) - 1)))
def test_address_type_tests_match_ipaddress(value: int) -> None:
    addr = IPv6Address(value)
    assert is_multicast(addr) == addr.is_multicast
    assert is_link_local(addr) == addr.is_link_local
    assert is_loopback(addr) == addr.is_loopback
    scoped = IPv6Address(f"{addr}%eth0")
    assert is_multicast(scoped) == scoped.is_multicast
    assert is_link_local(scoped) == scoped.is_link_local


def test_parsed_addresses_are_shared_and_the_cache_is_bounded() -> None:
    from tcpip6.wire.ipv6 import AddressCache, InternedAddress

    cache = AddressCache(capacity=2)
    a = cache.address(IPv6Address("2001:db8::1").packed)
    assert a == IPv6Address("2001:db8::1") and cache.address(a.packed) is a
    cache.address(IPv6Address("2001:db8::2").packed)
    assert len(cache) == 2 and cache.emptied == 0
    c = cache.address(IPv6Address("2001:db8::3").packed)  # full: emptied, then kept
    assert c == IPv6Address("2001:db8::3") and len(cache) == 1 and cache.emptied == 1
    assert cache.address(a.packed) is not a and cache.address(a.packed) == a
    group = IPv6Address("ff02::1:ff00:1").packed  # multicast: built, never kept
    kept = len(cache)
    assert cache.address(group) == IPv6Address(group) and len(cache) == kept
    with pytest.raises(ValueError):
        InternedAddress(group)  # what is_multicast relies on


@given(st.one_of(st.sampled_from(_EDGES), st.integers(min_value=0, max_value=(1 << 128) - 1)))
def test_an_interned_address_is_the_address(value: int) -> None:
    """What the cache keeps hashes, compares, prints, packs and copies as IPv6Address."""
    import copy
    import pickle

    from tcpip6.wire.ipv6 import AddressCache

    plain = IPv6Address(value)
    cache = AddressCache()
    got = cache.intern(plain)
    assert got == plain and plain == got and hash(got) == hash(plain)
    assert {plain: 1}[got] == 1 and {got: 1}[plain] == 1
    assert (str(got), repr(got), got.packed, int(got)) == (
        str(plain),
        repr(plain),
        plain.packed,
        value,
    )
    assert cache.intern(got) is got
    # The address tests answer for it as ipaddress does (is_multicast knows an interned
    # address unicast without reading its value).
    assert is_multicast(got) == plain.is_multicast and is_link_local(got) == plain.is_link_local
    if not plain.is_multicast:  # a group is never kept
        assert cache.address(plain.packed) is got and got is not plain
    for twin in (copy.copy(got), pickle.loads(pickle.dumps(got))):
        assert twin == plain and type(twin) is IPv6Address
    if value < (1 << 128) - 1:
        assert got + 1 == plain + 1 and hash(got + 1) == hash(plain + 1)
    scoped = IPv6Address(f"{plain}%eth0")
    assert cache.intern(scoped) is scoped  # a zone is not in the octets: kept as it is


@given(ipv6_headers, st.integers(min_value=0, max_value=7))
def test_ipv6_emit_at_an_offset_writes_what_build_returns(h: Ipv6Header, off: int) -> None:
    buf = bytearray(b"\xee" * (off + Ipv6Header.HEADER_LEN))
    h.emit(buf, off)
    assert buf[:off] == b"\xee" * off and bytes(buf[off:]) == h.build()
