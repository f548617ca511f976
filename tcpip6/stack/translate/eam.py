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
        best: EamEntry | None = None
        for e in self.entries:
            if v4 in e.ipv4 and (best is None or e.ipv4.prefixlen > best.ipv4.prefixlen):
                best = e
        if best is None:
            return None
        suffix = int(v4) - int(best.ipv4.network_address)
        return IPv6Address(int(best.ipv6.network_address) + suffix)

    def v6_to_v4(self, v6: IPv6Address) -> IPv4Address | None:
        """RFC 7757 §3.3: the longest matching IPv6 prefix; the suffix is copied."""
        best: EamEntry | None = None
        for e in self.entries:
            if v6 in e.ipv6 and (best is None or e.ipv6.prefixlen > best.ipv6.prefixlen):
                best = e
        if best is None:
            return None
        suffix = int(v6) - int(best.ipv6.network_address)
        return IPv4Address(int(best.ipv4.network_address) + suffix)
