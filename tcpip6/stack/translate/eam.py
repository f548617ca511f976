"""The Explicit Address Mapping table (RFC 7757 §3): pairs of an IPv4 prefix and an IPv6
prefix with suffixes of the same length, looked up by longest prefix match in either
direction and consulted before the RFC 6052 algorithm (RFC 7757 §3.3)."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

#: Every table is bounded; an entry past this is refused (RFC 7757 does not fix a size).
MAX_ENTRIES = 1024


@dataclass(frozen=True, slots=True)
class EamEntry:
    """RFC 7757 §3.1: one mapping; the suffix lengths of the two prefixes are equal."""

    ipv4: IPv4Network
    ipv6: IPv6Network

    def __post_init__(self) -> None:
        if 32 - self.ipv4.prefixlen != 128 - self.ipv6.prefixlen:
            raise ValueError(
                f"RFC 7757 §3.2: {self.ipv4} and {self.ipv6} have suffixes of different lengths"
            )


class EamTable:
    def __init__(self, entries: tuple[EamEntry, ...] = ()) -> None:
        self.entries: list[EamEntry] = []
        for e in entries:
            self.add(e)

    def add(self, entry: EamEntry) -> None:
        if len(self.entries) >= MAX_ENTRIES:
            raise ValueError(f"the EAM table holds at most {MAX_ENTRIES} entries")
        # RFC 7757 §3.2: no two entries with the same IPv4 or the same IPv6 prefix.
        for e in self.entries:
            if e.ipv4 == entry.ipv4 or e.ipv6 == entry.ipv6:
                raise ValueError(f"RFC 7757 §3.2: {entry.ipv4} {entry.ipv6} overlaps {e}")
        self.entries.append(entry)

    def v4_to_v6(self, v4: IPv4Address) -> IPv6Address | None:
        """RFC 7757 §3.3: the longest matching IPv4 prefix; the suffix is copied."""
        mapped = _copy_suffix(v4, [(e.ipv4, e.ipv6) for e in self.entries])
        return None if mapped is None else IPv6Address(mapped)

    def v6_to_v4(self, v6: IPv6Address) -> IPv4Address | None:
        """RFC 7757 §3.3: the longest matching IPv6 prefix; the suffix is copied."""
        mapped = _copy_suffix(v6, [(e.ipv6, e.ipv4) for e in self.entries])
        return None if mapped is None else IPv4Address(mapped)


Network = IPv4Network | IPv6Network


def _copy_suffix(
    address: IPv4Address | IPv6Address, pairs: list[tuple[Network, Network]]
) -> int | None:
    """RFC 7757 §3.3: of the (from, to) prefix pairs, the one whose from-prefix is the
    longest holding ``address``; the address in its to-prefix with the same suffix."""
    best: tuple[Network, Network] | None = None
    for source, target in pairs:
        if address in source and (best is None or source.prefixlen > best[0].prefixlen):
            best = (source, target)
    if best is None:
        return None
    source, target = best
    return int(target.network_address) + int(address) - int(source.network_address)
