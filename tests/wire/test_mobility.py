"""The Mobility Header and the Home Address option (RFC 6275 §6) against scapy's MIPv6
layers (``scapy.layers.inet6``: MIP6MH_*, MIP6Opt*, HAO)."""

from __future__ import annotations

import contextlib
from ipaddress import IPv6Address
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from scapy.layers import inet6 as s6

from tcpip6.wire import ChecksumError, WireError, ext, nd
from tcpip6.wire import mobility as mh
from tests.wire.strategies import ipv6_addresses, mutations
from tests.wire.strategies_mobility import aligned_headers, any_headers, known_options, messages

SRC = IPv6Address("2001:db8::1")
DST = IPv6Address("2001:db8::2")


def scapy_option(o: mh.MhOption) -> Any:
    if isinstance(o, mh.MhPad1):
        return s6.Pad1()
    if isinstance(o, mh.MhPadN):
        return s6.PadN(optdata=o.data)
    if isinstance(o, mh.BindingRefreshAdvice):
        return s6.MIP6OptBRAdvice(rinter=o.refresh_interval)
    if isinstance(o, mh.AlternateCareOfAddress):
        return s6.MIP6OptAltCoA(acoa=str(o.address))
    if isinstance(o, mh.NonceIndices):
        # scapy's default length for this option is 16; the RFC's is 4.
        return s6.MIP6OptNonceIndices(olen=4, hni=o.home_nonce_index, coni=o.care_of_nonce_index)
    if isinstance(o, mh.BindingAuthorizationData) and len(o.authenticator) == 12:
        # scapy's class holds exactly the 96 bits of RFC 6275 §5.2.6.
        return s6.MIP6OptBindingAuthData(olen=12, authenticator=int.from_bytes(o.authenticator))
    if isinstance(o, mh.BindingAuthorizationData):
        return s6.MIP6OptUnknown(otype=mh.MOPT_BINDING_AUTH_DATA, odata=o.authenticator)
    return s6.MIP6OptUnknown(otype=o.type, odata=o.data)


def scapy_message(m: mh.MhMessage, reserved: int, options: list[Any], autopad: int) -> Any:
    common: dict[str, Any] = {"res": reserved, "options": options, "autopad": autopad}
    if isinstance(m, mh.BindingRefreshRequest):
        return s6.MIP6MH_BRR(res2=m.reserved, **common)
    if isinstance(m, mh.HomeTestInit):
        return s6.MIP6MH_HoTI(
            reserved=m.reserved.to_bytes(2, "big"), cookie=m.home_init_cookie, **common
        )
    if isinstance(m, mh.CareOfTestInit):
        return s6.MIP6MH_CoTI(
            reserved=m.reserved.to_bytes(2, "big"), cookie=m.care_of_init_cookie, **common
        )
    if isinstance(m, mh.HomeTest):
        return s6.MIP6MH_HoT(
            index=m.home_nonce_index, cookie=m.home_init_cookie, token=m.home_keygen_token, **common
        )
    if isinstance(m, mh.CareOfTest):
        return s6.MIP6MH_CoT(
            index=m.care_of_nonce_index,
            cookie=m.care_of_init_cookie,
            token=m.care_of_keygen_token,
            **common,
        )
    if isinstance(m, mh.BindingUpdate):
        word = int.from_bytes(m.encode()[2:4], "big")
        # scapy splits the word as 7 flag bits (A H L K and three later RFCs' flags) and 9
        # reserved bits.
        return s6.MIP6MH_BU(
            seq=m.sequence, flags=word >> 9, reserved=word & 0x1FF, mhtime=m.lifetime, **common
        )
    if isinstance(m, mh.BindingAcknowledgement):
        flags = m.encode()[1]
        return s6.MIP6MH_BA(
            status=m.status,
            flags=flags >> 5,
            res2=flags & 0x1F,
            seq=m.sequence,
            mhtime=m.lifetime,
            **common,
        )
    if isinstance(m, mh.BindingError):
        del common["autopad"]
        return s6.MIP6MH_BE(status=m.status, reserved=m.reserved, ha=str(m.home_address), **common)
    raise AssertionError(m)


def scapy_bytes(layer: Any, src: IPv6Address = SRC, dst: IPv6Address = DST) -> bytes:
    return bytes(s6.IPv6(src=str(src), dst=str(dst)) / layer)[40:]


# -- round trips ------------------------------------------------------------------------
@given(any_headers, ipv6_addresses, ipv6_addresses)
def test_round_trip(h: mh.MobilityHeader, src: IPv6Address, dst: IPv6Address) -> None:
    raw = h.build(src, dst)
    assert len(raw) == h.buffer_len() and len(raw) % 8 == 0
    assert mh.MobilityHeader.parse(raw, src, dst) == h
    assert mh.MobilityHeader.parse_unchecked(raw) == h


@given(st.integers(min_value=8, max_value=0xFF), st.integers(min_value=0, max_value=3), st.data())
def test_unknown_message_round_trip(mh_type: int, units: int, data: st.DataObject) -> None:
    body = data.draw(st.binary(min_size=2 + 8 * units, max_size=2 + 8 * units))
    h = mh.MobilityHeader(mh.UnknownMessage(mh_type, body))
    raw = h.build(SRC, DST)
    assert raw[2] == mh_type and mh.MobilityHeader.parse(raw, SRC, DST) == h
    theirs = scapy_bytes(s6.MIP6MH_Generic(mhtype=mh_type, res=0, msg=body))
    assert raw == theirs


# -- scapy as the oracle ----------------------------------------------------------------
@given(any_headers, ipv6_addresses, ipv6_addresses)
def test_matches_scapy_explicit_padding(
    h: mh.MobilityHeader, src: IPv6Address, dst: IPv6Address
) -> None:
    layer = scapy_message(h.message, h.reserved, [scapy_option(o) for o in h.options], 0)
    theirs = scapy_bytes(layer, src, dst)
    assert h.build(src, dst) == theirs
    assert mh.MobilityHeader.parse(theirs, src, dst) == h


@given(messages, st.lists(known_options, max_size=3))
def test_alignment_matches_scapy_autopad(m: mh.MhMessage, options: list[mh.MhOption]) -> None:
    # scapy pads each option to its RFC 6275 §6.2 alignment itself (except after a Binding
    # Error, whose scapy class has no autopad).
    assume(not isinstance(m, mh.BindingError))
    for o in options:
        assume(not isinstance(o, mh.BindingAuthorizationData) or len(o.authenticator) == 12)
    ours = mh.MobilityHeader.aligned(m, tuple(options))
    layer = scapy_message(m, 0, [scapy_option(o) for o in options], 1)
    assert ours.build(SRC, DST) == scapy_bytes(layer)


@given(aligned_headers)
def test_scapy_dissects_ours(h: mh.MobilityHeader) -> None:
    raw = h.build(SRC, DST)
    pkt = s6.IPv6(bytes(s6.IPv6(src=str(SRC), dst=str(DST), nh=135, plen=len(raw))) + raw)
    layer = pkt.payload
    assert layer.mhtype == h.mh_type and layer.len == len(raw) // 8 - 1
    # scapy's own checksum over the same pseudo-header and octets, the field cleared.
    zeroed = raw[:4] + b"\x00\x00" + raw[6:]
    assert s6.in6_chksum(mh.IPPROTO_MH, pkt, zeroed) == int.from_bytes(raw[4:6], "big")
    m = h.message
    if isinstance(m, mh.BindingUpdate):
        assert (layer.seq, layer.mhtime) == (m.sequence, m.lifetime)
    elif isinstance(m, mh.BindingAcknowledgement):
        assert (layer.status, layer.seq, layer.mhtime) == (m.status, m.sequence, m.lifetime)
    elif isinstance(m, mh.HomeTest):
        assert (layer.index, layer.cookie, layer.token) == (
            m.home_nonce_index,
            m.home_init_cookie,
            m.home_keygen_token,
        )
    elif isinstance(m, mh.BindingError):
        assert (layer.status, IPv6Address(layer.ha)) == (m.status, m.home_address)


def test_binding_update_flags_on_the_wire() -> None:
    bu = mh.BindingUpdate(sequence=0x1234, lifetime=105, a=True, k=True)
    raw = mh.MobilityHeader.aligned(bu).build(SRC, DST)
    # RFC 6275 §6.1.7: Sequence #, then A H L K and 12 reserved bits, then Lifetime.
    assert raw[6:12] == bytes.fromhex("1234 9000 0069")
    theirs = scapy_bytes(s6.MIP6MH_BU(seq=0x1234, flags="AK", mhtime=105, res=0))
    assert raw == theirs


def test_home_address_option_matches_scapy() -> None:
    home = IPv6Address("2001:db8:1::5")
    ours = mh.home_address_header(mh.IPPROTO_MH, home).build()
    theirs = bytes(s6.IPv6ExtHdrDestOpt(nh=135, options=[s6.HAO(hoa=str(home))]))
    assert ours == theirs
    (opt,) = [o for o in ext.DestinationOptions.parse(ours).options if isinstance(o, ext.Option)]
    # RFC 6275 §6.3: alignment 8n+6 from the start of the Destination Options header.
    assert ours.index(bytes([mh.HOME_ADDRESS_OPTION, 16])) % 8 == 6
    assert mh.parse_home_address_option(opt) == home


@pytest.mark.parametrize("data", [b"", b"\x00" * 15, b"\x00" * 17])
def test_home_address_option_wrong_length(data: bytes) -> None:
    with pytest.raises(WireError):
        mh.parse_home_address_option(ext.Option(mh.HOME_ADDRESS_OPTION, data))


# -- malformed input --------------------------------------------------------------------
def test_bad_checksum() -> None:
    raw = bytearray(mh.MobilityHeader.aligned(mh.BindingRefreshRequest()).build(SRC, DST))
    raw[-1] ^= 1
    with pytest.raises(ChecksumError):
        mh.MobilityHeader.parse(bytes(raw), SRC, DST)
    # The pseudo-header counts (RFC 6275 §6.1.1).
    good = mh.MobilityHeader.aligned(mh.BindingRefreshRequest()).build(SRC, DST)
    with pytest.raises(ChecksumError):
        mh.MobilityHeader.parse(good, SRC, DST + 1)


@pytest.mark.parametrize(
    ("option", "length"),
    [(mh.MOPT_NONCE_INDICES, 3), (mh.MOPT_ALTERNATE_COA, 4), (mh.MOPT_BINDING_REFRESH_ADVICE, 1)],
)
def test_known_option_wrong_length(option: int, length: int) -> None:
    with pytest.raises(WireError):
        mh.parse_mobility_options(bytes((option, length)) + b"\x00" * length)


def test_header_len_shorter_than_message() -> None:
    # A Binding Update needs 6 octets of data; Header Len 0 leaves it 2 (RFC 6275 §9.2).
    raw = bytes((59, 0, mh.MH_BU, 0, 0, 0, 0, 0))
    with pytest.raises(WireError):
        mh.MobilityHeader.parse_unchecked(raw)


@given(any_headers.flatmap(lambda h: mutations(h.build(SRC, DST))))
def test_fuzz_raises_only_wire_error(data: bytes) -> None:
    for parse in (
        lambda: mh.MobilityHeader.parse(data, SRC, DST),
        lambda: mh.MobilityHeader.parse_unchecked(data),
        lambda: mh.parse_mobility_options(data),
    ):
        with contextlib.suppress(WireError):
            parse()


@given(st.binary(max_size=64))
def test_fuzz_random_octets(data: bytes) -> None:
    with contextlib.suppress(WireError):
        mh.MobilityHeader.parse_unchecked(data)


# -- ICMPv6 for home agent and prefix discovery (RFC 6275 §6.5 - RFC 6275 §6.8) ---------------
_ids = st.integers(0, 0xFFFF)


@given(_ids, st.lists(ipv6_addresses, max_size=4), ipv6_addresses, ipv6_addresses)
def test_home_agent_discovery_matches_scapy(
    identifier: int, agents: list[IPv6Address], src: IPv6Address, dst: IPv6Address
) -> None:
    req = mh.HaadRequest(identifier).build(src, dst)
    ours = s6.IPv6(src=str(src), dst=str(dst)) / s6.ICMPv6HAADRequest(id=identifier, R=0)
    assert req == bytes(ours[s6.ICMPv6HAADRequest])
    assert mh.HaadRequest.parse(req, src, dst) == mh.HaadRequest(identifier)
    reply = mh.HaadReply(identifier, tuple(agents))
    raw = reply.build(src, dst)
    theirs = s6.IPv6(src=str(src), dst=str(dst)) / s6.ICMPv6HAADReply(
        id=identifier, R=0, addresses=[str(a) for a in agents]
    )
    assert raw == bytes(theirs[s6.ICMPv6HAADReply])
    assert mh.HaadReply.parse(raw, src, dst) == reply


@given(_ids, st.booleans(), st.booleans(), ipv6_addresses, ipv6_addresses)
def test_mobile_prefix_discovery_matches_scapy(
    identifier: int, managed: bool, other: bool, src: IPv6Address, dst: IPv6Address
) -> None:
    sol = mh.MobilePrefixSolicitation(identifier).build(src, dst)
    ours = s6.IPv6(src=str(src), dst=str(dst)) / s6.ICMPv6MPSol(id=identifier)
    assert sol == bytes(ours[s6.ICMPv6MPSol])
    pi = nd.PrefixInformation(64, True, False, 3600, 1800, IPv6Address("2001:db8:10::"))
    adv = mh.MobilePrefixAdvertisement(identifier, (pi,), managed, other)
    raw = adv.build(src, dst)
    theirs = (
        s6.IPv6(src=str(src), dst=str(dst))
        / s6.ICMPv6MPAdv(id=identifier, flags=(2 if managed else 0) | (1 if other else 0))
        / s6.ICMPv6NDOptPrefixInfo(
            prefixlen=64,
            L=1,
            A=0,
            validlifetime=3600,
            preferredlifetime=1800,
            prefix="2001:db8:10::",
        )
    )
    assert raw == bytes(theirs[s6.ICMPv6MPAdv])
    assert mh.MobilePrefixAdvertisement.parse(raw, src, dst) == adv


@given(st.binary(max_size=40))
def test_discovery_fuzz_raises_only_wire_error(data: bytes) -> None:
    for kind in (
        mh.HaadRequest,
        mh.HaadReply,
        mh.MobilePrefixSolicitation,
        mh.MobilePrefixAdvertisement,
    ):
        with contextlib.suppress(WireError):
            kind.parse(data, SRC, DST)


def test_home_agents_anycast_address() -> None:
    """RFC 2526 §2: the reserved subnet anycast interface identifier with Anycast ID 0x7E."""
    assert mh.home_agents_anycast(IPv6Address("2001:db8:10::")) == IPv6Address(
        "2001:db8:10::fdff:ffff:ffff:fffe"
    )
