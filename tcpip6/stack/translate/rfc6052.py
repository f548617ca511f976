"""IPv4-embedded IPv6 addresses (RFC 6052 §2.2): an IPv4 address inside an IPv6 prefix of
length 32, 40, 48, 56, 64 or 96, with the octet of bits 64..71 (the "u" octet) left zero.

::

    +--+---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+
    |PL| 0-------------32--40--48--56--64--72--80--88--96--104---------|
    +--+---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+
    |32|     prefix    |v4(32)         | u | suffix                    |
    |40|     prefix        |v4(24)     | u |(8)| suffix                |
    |48|     prefix            |v4(16) | u | (16)  | suffix            |
    |56|     prefix                |(8)| u |  v4(24)   | suffix        |
    |64|     prefix                    | u |   v4(32)      | suffix    |
    |96|     prefix                                    |    v4(32)     |
    +--+---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

#: RFC 6052 §2.2: the prefix lengths an IPv4-embedded address may have.
PREFIX_LENGTHS = (32, 40, 48, 56, 64, 96)

#: RFC 6052 §2.1: the Well-Known Prefix.
WELL_KNOWN_PREFIX = IPv6Network("64:ff9b::/96")

_U_OCTET = 8  # RFC 6052 §2.2: bits 64 to 71 of the address

# RFC 6052 §3.1: the Well-Known Prefix MUST NOT be used with non-global IPv4 addresses
# (RFC 1918 and the other special-purpose blocks of RFC 6890).
_NON_GLOBAL = tuple(
    IPv4Network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
    )
)


def _positions(length: int) -> tuple[int, ...]:
    """The octet indices of the IPv6 address that hold the IPv4 address, in order."""
    start = length // 8
    return tuple(i for i in range(start, start + 5) if i != _U_OCTET)[:4]


def is_global_ipv4(address: IPv4Address) -> bool:
    return not any(address in n for n in _NON_GLOBAL)


@dataclass(frozen=True, slots=True)
class Rfc6052Prefix:
    """A Network-Specific or the Well-Known Prefix (RFC 6052 §2)."""

    prefix: IPv6Network

    def __post_init__(self) -> None:
        if self.prefix.prefixlen not in PREFIX_LENGTHS:
            raise ValueError(
                f"RFC 6052 §2.2: prefix length {self.prefix.prefixlen} is not one of "
                f"{', '.join(map(str, PREFIX_LENGTHS))}"
            )
        # RFC 6052 §2.2: bits 64 to 71 MUST be zero, so a /96 prefix's u octet is zero too.
        if self.prefix.prefixlen == 96 and self.prefix.network_address.packed[_U_OCTET]:
            raise ValueError("RFC 6052 §2.2: bits 64 to 71 of the prefix must be zero")

    @property
    def well_known(self) -> bool:
        return self.prefix == WELL_KNOWN_PREFIX

    def embed(self, v4: IPv4Address) -> IPv6Address | None:
        """RFC 6052 §2.3: the IPv4-embedded IPv6 address; None where RFC 6052 §3.1 forbids it
        (the Well-Known Prefix with a non-global IPv4 address)."""
        if self.well_known and not is_global_ipv4(v4):
            return None
        out = bytearray(self.prefix.network_address.packed)
        for pos, octet in zip(_positions(self.prefix.prefixlen), v4.packed, strict=True):
            out[pos] = octet
        return IPv6Address(bytes(out))

    def extract(self, v6: IPv6Address) -> IPv4Address | None:
        """RFC 6052 §2.3: the embedded IPv4 address, or None when ``v6`` is not in the prefix
        (or RFC 6052 §3.1 forbids its IPv4 address with the Well-Known Prefix)."""
        if v6 not in self.prefix:
            return None
        raw = v6.packed
        v4 = IPv4Address(bytes(raw[p] for p in _positions(self.prefix.prefixlen)))
        if self.well_known and not is_global_ipv4(v4):
            return None
        return v4
