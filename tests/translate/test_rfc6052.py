"""RFC 6052 address embedding against the RFC's own examples (RFC 6052 §2.4, Table 2) and
the RFC 7757 explicit address mapping table."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tcpip6.stack.translate.eam import EamEntry, EamTable
from tcpip6.stack.translate.mapping import AddressMapping
from tcpip6.stack.translate.rfc6052 import PREFIX_LENGTHS, Rfc6052Prefix

# RFC 6052 §2.4, Table 2: 192.0.2.33 under a Network-Specific Prefix of each length.
TABLE_2 = [
    ("2001:db8::/32", "2001:db8:c000:221::"),
    ("2001:db8:100::/40", "2001:db8:1c0:2:21::"),
    ("2001:db8:122::/48", "2001:db8:122:c000:2:2100::"),
    ("2001:db8:122:300::/56", "2001:db8:122:3c0:0:221::"),
    ("2001:db8:122:344::/64", "2001:db8:122:344:c0:2:2100:0"),
    ("2001:db8:122:344::/96", "2001:db8:122:344::192.0.2.33"),
]


@pytest.mark.parametrize(("prefix", "address"), TABLE_2)
def test_rfc6052_table_2(prefix: str, address: str) -> None:
    p = Rfc6052Prefix(IPv6Network(prefix))
    assert p.embed(IPv4Address("192.0.2.33")) == IPv6Address(address)
    assert p.extract(IPv6Address(address)) == IPv4Address("192.0.2.33")


def test_well_known_prefix_refuses_non_global_ipv4() -> None:
    """RFC 6052 §3.1: the Well-Known Prefix MUST NOT be used with non-global addresses."""
    wkp = Rfc6052Prefix(IPv6Network("64:ff9b::/96"))
    assert wkp.embed(IPv4Address("10.1.2.3")) is None
    assert wkp.extract(IPv6Address("64:ff9b::10.1.2.3")) is None
    assert wkp.embed(IPv4Address("8.8.8.8")) == IPv6Address("64:ff9b::808:808")


@pytest.mark.parametrize("length", [0, 16, 33, 72, 128])
def test_other_prefix_lengths_are_refused(length: int) -> None:
    with pytest.raises(ValueError, match="RFC 6052"):
        Rfc6052Prefix(IPv6Network(f"2001:db8::/{length}", strict=False))


@given(length=st.sampled_from(PREFIX_LENGTHS), v4=st.integers(0, 2**32 - 1))
def test_u_octet_is_zero_and_round_trip(length: int, v4: int) -> None:
    """RFC 6052 §2.2: bits 64..71 are zero, the suffix is zero, and extraction inverts."""
    prefix = Rfc6052Prefix(IPv6Network(f"2001:db8:aaaa:bb00::/{length}", strict=False))
    if length == 96:
        prefix = Rfc6052Prefix(IPv6Network("2001:db8:aaaa:bb00:0:cc::/96"))
    a = IPv4Address(v4)
    v6 = prefix.embed(a)
    assert v6 is not None
    assert v6.packed[8] == 0
    assert v6 in prefix.prefix
    assert prefix.extract(v6) == a


def test_eam_longest_match_and_precedence() -> None:
    """RFC 7757 §3.3: the longest matching entry, the suffix copied; an EAM entry wins over
    the RFC 6052 prefix."""
    eam = EamTable(
        (
            EamEntry(IPv4Network("192.0.2.0/24"), IPv6Network("2001:db8:6::/120")),
            EamEntry(IPv4Network("192.0.2.16/28"), IPv6Network("2001:db8:7::/124")),
        )
    )
    m = AddressMapping(Rfc6052Prefix(IPv6Network("2001:db8:64::/96")), eam)
    assert m.to_v6(IPv4Address("192.0.2.5")) == IPv6Address("2001:db8:6::5")
    assert m.to_v6(IPv4Address("192.0.2.17")) == IPv6Address("2001:db8:7::1")
    assert m.to_v4(IPv6Address("2001:db8:7::1")) == IPv4Address("192.0.2.17")
    assert m.to_v6(IPv4Address("198.51.100.1")) == IPv6Address("2001:db8:64::c633:6401")
    assert m.to_v4(IPv6Address("2001:db8:99::1")) is None


def test_eam_refuses_unequal_suffixes_and_duplicates() -> None:
    with pytest.raises(ValueError, match="RFC 7757"):
        EamEntry(IPv4Network("192.0.2.0/24"), IPv6Network("2001:db8::/64"))
    t = EamTable((EamEntry(IPv4Network("192.0.2.1/32"), IPv6Network("2001:db8::1/128")),))
    with pytest.raises(ValueError, match="RFC 7757"):
        t.add(EamEntry(IPv4Network("192.0.2.1/32"), IPv6Network("2001:db8::2/128")))
