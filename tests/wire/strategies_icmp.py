"""Hypothesis strategies for ICMPv6, ND and MLD values (every field, reserved ones too), and
helpers shared by their tests."""

from __future__ import annotations

from ipaddress import IPv6Address
from typing import Any

from hypothesis import strategies as st

from tcpip6.wire import icmpv6 as wi
from tcpip6.wire import mld as wm
from tcpip6.wire import nd as wn
from tcpip6.wire.checksum import upper_layer_checksum
from tests.wire.strategies import ipv6_addresses, u8, u16, u32

SRC = IPv6Address("fe80::1")
DST = IPv6Address("ff02::1")


def resum(raw: bytes, src: IPv6Address = SRC, dst: IPv6Address = DST) -> bytes:
    """``raw`` with its checksum recomputed, so that a mutation gets past the checksum
    and reaches the body parsers."""
    if len(raw) < 4:
        return raw
    body = bytearray(raw)
    body[2:4] = b"\x00\x00"
    body[2:4] = upper_layer_checksum(src, dst, 58, body).to_bytes(2, "big")
    return bytes(body)


def units(min_units: int = 1, max_units: int = 3, head: int = 2) -> st.SearchStrategy[bytes]:
    """Byte strings that fill whole 8-octet units after ``head`` octets."""
    return st.integers(min_units, max_units).flatmap(
        lambda n: st.binary(min_size=8 * n - head, max_size=8 * n - head)
    )


addresses = st.lists(ipv6_addresses, max_size=3).map(tuple)
invoking = st.binary(max_size=64)
codes = u8

# -- RFC 4443 -----------------------------------------------------------------------------
destination_unreachables = st.builds(wi.DestinationUnreachable, codes, invoking, u32)
packets_too_big = st.builds(wi.PacketTooBig, codes, invoking, u32)
time_exceededs = st.builds(wi.TimeExceeded, codes, invoking, u32)
parameter_problems = st.builds(wi.ParameterProblem, codes, invoking, u32)
echo_requests = st.builds(wi.EchoRequest, u16, u16, st.binary(max_size=64), codes)
echo_replies = st.builds(wi.EchoReply, u16, u16, st.binary(max_size=64), codes)
_KNOWN_TYPES = {1, 2, 3, 4, 128, 129, *wn.ND_TYPES, *wm.MLD_TYPES}
unknown_icmpv6 = st.builds(
    wi.UnknownIcmpv6,
    u8.filter(lambda t: t not in _KNOWN_TYPES),
    codes,
    st.binary(max_size=32),
)

# -- RFC 4861 options ---------------------------------------------------------------------
source_llas = st.builds(wn.SourceLinkLayerAddress, units())
target_llas = st.builds(wn.TargetLinkLayerAddress, units())
prefix_informations = st.builds(
    wn.PrefixInformation,
    st.integers(0, 255),
    st.booleans(),
    st.booleans(),
    u32,
    u32,
    ipv6_addresses,
    st.integers(0, 0x3F),
    u32,
)
redirected_headers = st.builds(wn.RedirectedHeader, units(0, 4, head=0), st.integers(0, 2**48 - 1))
mtus = st.builds(wn.Mtu, u32, u16)
rdnss_options = st.builds(
    wn.Rdnss, u32, st.lists(ipv6_addresses, min_size=1, max_size=3).map(tuple), u16
)
_KNOWN_OPTIONS = {1, 2, 3, 4, 5, 25}
unknown_nd_options = st.builds(
    wn.UnknownNdOption, u8.filter(lambda t: t not in _KNOWN_OPTIONS), units()
)
nd_option = st.one_of(
    source_llas,
    target_llas,
    prefix_informations,
    redirected_headers,
    mtus,
    rdnss_options,
    unknown_nd_options,
)
nd_options = st.lists(nd_option, max_size=4).map(tuple)

# -- RFC 4861 messages --------------------------------------------------------------------
router_solicitations = st.builds(wn.RouterSolicitation, nd_options, codes, u32)
router_advertisements = st.builds(
    wn.RouterAdvertisement,
    u8,
    st.booleans(),
    st.booleans(),
    u16,
    u32,
    u32,
    nd_options,
    st.integers(0, 0x3F),
    codes,
)
neighbor_solicitations = st.builds(wn.NeighborSolicitation, ipv6_addresses, nd_options, codes, u32)
neighbor_advertisements = st.builds(
    wn.NeighborAdvertisement,
    ipv6_addresses,
    st.booleans(),
    st.booleans(),
    st.booleans(),
    nd_options,
    codes,
    st.integers(0, wn.NA_RESERVED_MASK),
)
redirects = st.builds(wn.Redirect, ipv6_addresses, ipv6_addresses, nd_options, codes, u32)

# -- MLD ----------------------------------------------------------------------------------
mld_queries = st.builds(wm.MldQuery, ipv6_addresses, u16, codes, u16)
mld_reports = st.builds(wm.MldReport, ipv6_addresses, u16, codes, u16, st.binary(max_size=8))
mld_dones = st.builds(wm.MldDone, ipv6_addresses, u16, codes, u16, st.binary(max_size=8))
mldv2_queries = st.builds(
    wm.MldV2Query,
    ipv6_addresses,
    u16,
    st.booleans(),
    st.integers(0, 7),
    u8,
    addresses,
    codes,
    u16,
    st.integers(0, 15),
    st.binary(max_size=8),
)
records = st.builds(
    wm.MulticastAddressRecord,
    u8,
    ipv6_addresses,
    addresses,
    st.integers(0, 3).flatmap(lambda n: st.binary(min_size=4 * n, max_size=4 * n)),
)
mldv2_reports = st.builds(
    wm.MldV2Report, st.lists(records, max_size=3).map(tuple), codes, u16, st.binary(max_size=8)
)

#: One strategy per message class, for the tests that go through every one.
MESSAGES: dict[str, st.SearchStrategy[Any]] = {
    "destination_unreachable": destination_unreachables,
    "packet_too_big": packets_too_big,
    "time_exceeded": time_exceededs,
    "parameter_problem": parameter_problems,
    "echo_request": echo_requests,
    "echo_reply": echo_replies,
    "unknown": unknown_icmpv6,
    "router_solicitation": router_solicitations,
    "router_advertisement": router_advertisements,
    "neighbor_solicitation": neighbor_solicitations,
    "neighbor_advertisement": neighbor_advertisements,
    "redirect": redirects,
    "mld_query": mld_queries,
    "mld_report": mld_reports,
    "mld_done": mld_dones,
    "mldv2_query": mldv2_queries,
    "mldv2_report": mldv2_reports,
}
