"""Address mapping for the stateless translator: the Explicit Address Mapping table first
(RFC 7757 §3.3), then the RFC 6052 algorithm with the translator's prefix."""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address
from typing import Protocol

from tcpip6.stack.translate.eam import EamTable
from tcpip6.stack.translate.rfc6052 import Rfc6052Prefix


class Mapping(Protocol):
    """What the translator asks of an address mapping, in each direction. ``local`` says
    whether the address is the IPv6-side host's (the source of what goes IPv6 -> IPv4, the
    destination of what comes back) or the IPv4-side peer's: stateless SIIT maps both
    alike, a NAT64 session does not (RFC 6146 §3.7)."""

    def to_v6(self, v4: IPv4Address, local: bool) -> IPv6Address | None: ...

    def to_v4(self, v6: IPv6Address, local: bool) -> IPv4Address | None: ...


@dataclass
class AddressMapping:
    prefix: Rfc6052Prefix | None = None
    eam: EamTable = field(default_factory=EamTable)

    def to_v6(self, v4: IPv4Address, local: bool = True) -> IPv6Address | None:
        # RFC 7757 §3.3: an EAM entry wins over the RFC 6052 algorithm.
        hit = self.eam.v4_to_v6(v4)
        if hit is not None:
            return hit
        return self.prefix.embed(v4) if self.prefix is not None else None

    def to_v4(self, v6: IPv6Address, local: bool = True) -> IPv4Address | None:
        hit = self.eam.v6_to_v4(v6)
        if hit is not None:
            return hit
        return self.prefix.extract(v6) if self.prefix is not None else None
