"""Hypothesis strategies for the Mobile IPv6 formats (RFC 6275 §6)."""

from __future__ import annotations

from hypothesis import strategies as st

from tcpip6.wire import mobility as mh
from tests.wire.strategies import ipv6_addresses, u8, u16

u64 = st.binary(min_size=8, max_size=8)

known_options: st.SearchStrategy[mh.MhOption] = st.one_of(
    st.builds(mh.BindingRefreshAdvice, u16),
    st.builds(mh.AlternateCareOfAddress, ipv6_addresses),
    st.builds(mh.NonceIndices, u16, u16),
    st.builds(
        mh.BindingAuthorizationData,
        st.one_of(st.binary(min_size=12, max_size=12), st.binary(max_size=20)),
    ),
)
unknown_options: st.SearchStrategy[mh.MhOption] = st.builds(
    mh.MobilityOption, st.integers(min_value=6, max_value=0xFF), st.binary(max_size=10)
)
padding: st.SearchStrategy[mh.MhOption] = st.one_of(
    st.just(mh.MhPad1()), st.builds(mh.MhPadN, st.binary(max_size=5))
)

messages: st.SearchStrategy[mh.MhMessage] = st.one_of(
    st.builds(mh.BindingRefreshRequest, u16),
    st.builds(mh.HomeTestInit, u64, u16),
    st.builds(mh.CareOfTestInit, u64, u16),
    st.builds(mh.HomeTest, u16, u64, u64),
    st.builds(mh.CareOfTest, u16, u64, u64),
    st.builds(
        mh.BindingUpdate,
        u16,
        u16,
        st.booleans(),
        st.booleans(),
        st.booleans(),
        st.booleans(),
        st.integers(min_value=0, max_value=0xFFF),
    ),
    st.builds(
        mh.BindingAcknowledgement,
        u8,
        u16,
        u16,
        st.booleans(),
        st.integers(min_value=0, max_value=0x7F),
    ),
    st.builds(mh.BindingError, u8, ipv6_addresses, u8),
)


def _aligned(message: mh.MhMessage, options: list[mh.MhOption], reserved: int) -> mh.MobilityHeader:
    h = mh.MobilityHeader.aligned(message, tuple(options))
    return mh.MobilityHeader(h.message, h.options, h.payload_proto, reserved)


#: Messages with their known options laid out by RFC 6275 §6.2's alignment rules.
aligned_headers = st.builds(_aligned, messages, st.lists(known_options, max_size=3), u8)

#: Messages with options and padding in any order, padded at the end to 8n.
any_headers = st.builds(
    _aligned,
    messages,
    st.lists(st.one_of(known_options, unknown_options, padding), max_size=4),
    u8,
)
