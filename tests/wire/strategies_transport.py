"""Hypothesis strategies for extension headers, IPv4, UDP, UDP-Lite and TCP values."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

from hypothesis import strategies as st

from tcpip6.wire import ext
from tcpip6.wire import tcp as wt
from tcpip6.wire.checksum import internet_checksum, pseudo_header_sum
from tcpip6.wire.ipv4 import Ipv4Header
from tcpip6.wire.udp import UdpDatagram, UdpLiteDatagram
from tests.wire.strategies import ipv4_addresses, ipv6_addresses, u8, u16, u32

# -- extension headers ------------------------------------------------------------------
# Option types scapy dissects into fixed layouts (Router Alert, RPL, Jumbo Payload, Home
# Address) get the data length those layouts have, so scapy reads them back whole.
_SCAPY_OPTION_DATA_LEN = {ext.ROUTER_ALERT: 2, 0x63: 4, ext.JUMBO_PAYLOAD: 4, 0xC9: 16}


def _option(option_type: int) -> st.SearchStrategy[ext.Option]:
    n = _SCAPY_OPTION_DATA_LEN.get(option_type)
    data = st.binary(max_size=12) if n is None else st.binary(min_size=n, max_size=n)
    return st.builds(ext.Option, st.just(option_type), data)


tlv_options = st.lists(
    st.one_of(
        st.just(ext.Pad1()),
        st.builds(ext.PadN, st.binary(max_size=6)),
        st.integers(min_value=2, max_value=0xFF).flatmap(_option),
    ),
    max_size=4,
).map(lambda opts: ext.pad_options(tuple(opts)))

options_headers = st.builds(
    lambda cls, nh, opts: cls(nh, opts),
    st.sampled_from([ext.HopByHopOptions, ext.DestinationOptions]),
    u8,
    tlv_options,
)

routing_headers = st.builds(
    ext.RoutingHeader,
    next_header=u8,
    routing_type=u8,
    segments_left=u8,
    # 4 octets and then 8n: the header is a multiple of 8.
    data=st.integers(min_value=0, max_value=4).flatmap(
        lambda n: st.binary(min_size=4 + 8 * n, max_size=4 + 8 * n)
    ),
)
type0_routing_headers = st.builds(
    ext.Type0RoutingHeader,
    next_header=u8,
    segments_left=u8,
    addresses=st.lists(ipv6_addresses, max_size=4).map(tuple),
    reserved=u32,
)
type2_routing_headers = st.builds(
    ext.Type2RoutingHeader,
    next_header=u8,
    home_address=ipv6_addresses,
    segments_left=u8,
    reserved=u32,
)
fragment_headers = st.builds(
    ext.FragmentHeader,
    next_header=u8,
    fragment_offset=st.integers(min_value=0, max_value=0x1FFF),
    more=st.booleans(),
    identification=u32,
    reserved=u8,
    res=st.integers(min_value=0, max_value=3),
)

# -- IPv4 -------------------------------------------------------------------------------
# Well-formed IPv4 options (RFC 791 §3.1), so that scapy can dissect them too: NOP,
# Router Alert (RFC 2113), and Stream ID; padded with End of Option List to 32 bits.
_ipv4_option = st.one_of(
    st.just(b"\x01"),
    st.just(b"\x94\x04\x00\x00"),
    st.builds(lambda sid: b"\x88\x04" + sid.to_bytes(2, "big"), u16),
)


def _pad_ipv4_options(parts: list[bytes]) -> bytes:
    raw = b"".join(parts)
    return raw + b"\x00" * (-len(raw) % 4)


ipv4_options = st.lists(_ipv4_option, max_size=6).map(_pad_ipv4_options)


def _ipv4(
    tos: int,
    payload_len: int,
    ident: int,
    flags: int,
    frag: int,
    ttl: int,
    proto: int,
    src: IPv4Address,
    dst: IPv4Address,
    options: bytes,
) -> Ipv4Header:
    total = 20 + len(options) + payload_len
    return Ipv4Header(tos, total, ident, flags, frag, ttl, proto, src, dst, options)


ipv4_headers = st.builds(
    _ipv4,
    u8,
    st.integers(min_value=0, max_value=0xFFFF - 60),
    u16,
    st.integers(min_value=0, max_value=7),
    st.integers(min_value=0, max_value=0x1FFF),
    u8,
    u8,
    ipv4_addresses,
    ipv4_addresses,
    ipv4_options,
)

# -- UDP, UDP-Lite ----------------------------------------------------------------------
payloads = st.binary(max_size=96)
udp_datagrams = st.builds(UdpDatagram, u16, u16, payloads)
udplite_datagrams = st.builds(
    lambda sp, dp, payload, pick: UdpLiteDatagram(
        sp, dp, payload, 0 if pick is None else 8 + pick % (len(payload) + 1)
    ),
    u16,
    u16,
    payloads,
    st.none() | u16,
)

# -- TCP --------------------------------------------------------------------------------
# Kinds scapy's TCP dissector does not give a meaning to (it knows 0-5, 8, 14, 15, 19,
# 25, 28, 29 and 34), so that an unknown option is unknown to both.
_SCAPY_KINDS = {0, 1, 2, 3, 4, 5, 8, 14, 15, 19, 25, 28, 29, 34}
unknown_tcp_kinds = st.integers(min_value=6, max_value=0xFF).filter(lambda k: k not in _SCAPY_KINDS)

tcp_option = st.one_of(
    st.just(wt.NoOperation()),
    st.builds(wt.MaxSegmentSize, u16),
    st.builds(wt.WindowScale, u8),
    st.just(wt.SackPermitted()),
    st.builds(wt.Timestamps, u32, u32),
    st.builds(wt.Sack, st.lists(st.tuples(u32, u32), min_size=1, max_size=4).map(tuple)),
    st.builds(wt.UnknownTcpOption, unknown_tcp_kinds, st.binary(max_size=6)),
)


def fit_options(options: list[wt.TcpOption]) -> tuple[wt.TcpOption, ...]:
    """The longest prefix that fits in 40 octets once padded, then padded."""
    kept: list[wt.TcpOption] = []
    for o in options:
        if wt.options_len((*kept, o)) > wt.MAX_OPTIONS_LEN:
            break
        kept.append(o)
    return wt.pad_options(tuple(kept))


tcp_options = st.lists(tcp_option, max_size=5).map(fit_options)

tcp_segments = st.builds(
    wt.TcpSegment,
    src_port=u16,
    dst_port=u16,
    seq=u32,
    ack=u32,
    flags=u8,
    window=u16,
    urgent=u16,
    options=tcp_options,
    payload=st.binary(max_size=64),
    reserved=st.integers(min_value=0, max_value=0xF),
)


def with_checksum(
    data: bytes, at: int, src: IPv6Address, dst: IPv6Address, next_header: int
) -> bytes:
    """``data`` with the 16-bit checksum at ``at`` recomputed over all of it, so that a
    mutated encoding gets past the checksum to the checks behind it."""
    if len(data) < at + 2:
        return data
    zeroed = data[:at] + b"\x00\x00" + data[at + 2 :]
    csum = internet_checksum(zeroed, pseudo_header_sum(src, dst, len(data), next_header))
    return zeroed[:at] + (csum or 0xFFFF).to_bytes(2, "big") + zeroed[at + 2 :]


__all__ = [
    "fit_options",
    "fragment_headers",
    "ipv4_headers",
    "ipv6_addresses",
    "options_headers",
    "routing_headers",
    "tcp_options",
    "tcp_segments",
    "tlv_options",
    "type0_routing_headers",
    "type2_routing_headers",
    "udp_datagrams",
    "udplite_datagrams",
    "with_checksum",
]
