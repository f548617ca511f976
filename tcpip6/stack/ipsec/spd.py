"""The Security Policy Database (RFC 4301 §4.4.1): an ordered list of entries, each a
set of selectors and an action; the first entry that matches decides (RFC 4301 §4.4.1:
"the SPD is an ordered database ... the first matching entry").

Selectors (RFC 4301 §4.4.1.1): local and remote address ranges, the next layer protocol,
and for it the local and remote ports (TCP, UDP, SCTP), the ICMPv6 message type and code,
or the Mobility Header type. Each selector is a range or ANY. Outbound the local address
is the source; inbound it is the destination (RFC 4301 §4.4.1: one entry serves both
directions unless it names one).
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass
from ipaddress import IPv6Address

from tcpip6.wire import WireError
from tcpip6.wire import ext as wire_ext
from tcpip6.wire import ipv6 as wire_ipv6

#: RFC 4301 §4.4.1: the SPD is bounded here; adding more is a configuration error.
SPD_MAX_ENTRIES = 256

IPPROTO_MH = 135  # RFC 6275 §6.1: Mobility Header

_PORTS = struct.Struct("!HH")


class Action(enum.Enum):
    """RFC 4301 §4.4.1: what the SPD says of a packet."""

    PROTECT = "protect"
    BYPASS = "bypass"
    DISCARD = "discard"


class Direction(enum.Enum):
    INBOUND = "in"
    OUTBOUND = "out"


@dataclass(frozen=True, slots=True)
class AddressRange:
    """RFC 4301 §4.4.1.1: a range of addresses, ``low`` to ``high`` inclusive."""

    low: IPv6Address
    high: IPv6Address

    @classmethod
    def any(cls) -> AddressRange:
        return cls(IPv6Address(0), IPv6Address((1 << 128) - 1))

    @classmethod
    def parse(cls, text: str) -> AddressRange:
        """``any``, ``2001:db8::1``, ``2001:db8::/64`` or ``2001:db8::1-2001:db8::9``."""
        from ipaddress import IPv6Network

        if text == "any":
            return cls.any()
        if "-" in text:
            low, high = text.split("-", 1)
            r = cls(IPv6Address(low), IPv6Address(high))
            if r.low > r.high:
                raise ValueError(f"{text}: the range ends before it starts")
            return r
        if "/" in text:
            net = IPv6Network(text, strict=False)
            return cls(net.network_address, net.broadcast_address)
        a = IPv6Address(text)
        return cls(a, a)

    def __contains__(self, address: IPv6Address) -> bool:
        return self.low <= address <= self.high

    def __str__(self) -> str:
        if self == AddressRange.any():
            return "any"
        if self.low == self.high:
            return str(self.low)
        return f"{self.low}-{self.high}"


@dataclass(frozen=True, slots=True)
class PortRange:
    low: int = 0
    high: int = 0xFFFF

    def __contains__(self, port: int) -> bool:
        return self.low <= port <= self.high

    def is_any(self) -> bool:
        return (self.low, self.high) == (0, 0xFFFF)

    def __str__(self) -> str:
        if self.is_any():
            return "any"
        return str(self.low) if self.low == self.high else f"{self.low}-{self.high}"


@dataclass(frozen=True, slots=True)
class PacketSelectors:
    """The selector values of one packet, as seen from this host (RFC 4301 §4.4.1.1)."""

    local: IPv6Address
    remote: IPv6Address
    next_layer: int
    local_port: int | None = None
    remote_port: int | None = None
    #: ICMPv6 (RFC 4301 §4.4.1.1: message type and code in place of the ports).
    icmp_type: int | None = None
    icmp_code: int | None = None
    #: Mobility Header type (RFC 4301 §4.4.1.1, RFC 6275 §6.1).
    mh_type: int | None = None
    #: RFC 4301 §7: a non-initial fragment carries no ports (OPAQUE).
    opaque: bool = False


def packet_selectors(
    packet: bytes, direction: Direction, *, quoted: bool = False
) -> PacketSelectors | None:
    """Selectors of an IPv6 packet (fixed header first); None when the chain is malformed.
    ``quoted``: the packet is the invoking packet an ICMPv6 error carries, which may be cut
    short (RFC 4443 §2.4 (c)); its selectors come from the octets there are."""
    try:
        if quoted:
            hdr = wire_ipv6.Ipv6Header.parse(packet)
            end = wire_ipv6.Ipv6Header.HEADER_LEN + hdr.payload_length
            payload = memoryview(packet)[wire_ipv6.Ipv6Header.HEADER_LEN : end]
        else:
            hdr, payload = wire_ipv6.split(packet)
        rows = wire_ext.walk(hdr.next_header, payload)
    except WireError:
        return None
    nh, off, last = rows[-1]
    if last is not None:  # a non-initial fragment: no upper-layer header here
        nh = last.next_header if isinstance(last, wire_ext.FragmentHeader) else nh
        return _selectors(hdr.src, hdr.dst, direction, nh, b"", opaque=True)
    return _selectors(hdr.src, hdr.dst, direction, nh, bytes(payload[off : off + 4]))


def upper_selectors(
    src: IPv6Address, dst: IPv6Address, protocol: int, upper: bytes | memoryview
) -> PacketSelectors:
    """Inbound selectors of a packet delivered to ``protocol`` with header ``upper``."""
    return _selectors(src, dst, Direction.INBOUND, protocol, bytes(upper[:4]))


def _selectors(
    src: IPv6Address,
    dst: IPv6Address,
    direction: Direction,
    nh: int,
    head: bytes,
    *,
    opaque: bool = False,
) -> PacketSelectors:
    local, remote = (src, dst) if direction is Direction.OUTBOUND else (dst, src)
    if opaque:
        return PacketSelectors(local, remote, nh, opaque=True)
    if nh in (wire_ipv6.IPPROTO_TCP, wire_ipv6.IPPROTO_UDP, wire_ipv6.IPPROTO_UDPLITE):
        if len(head) < 4:
            return PacketSelectors(local, remote, nh, opaque=True)
        sport, dport = _PORTS.unpack(head)
        lport, rport = (sport, dport) if direction is Direction.OUTBOUND else (dport, sport)
        return PacketSelectors(local, remote, nh, local_port=lport, remote_port=rport)
    if nh == wire_ipv6.IPPROTO_ICMPV6 and len(head) >= 2:
        return PacketSelectors(local, remote, nh, icmp_type=head[0], icmp_code=head[1])
    if nh == IPPROTO_MH and len(head) >= 3:
        return PacketSelectors(local, remote, nh, mh_type=head[2])
    return PacketSelectors(local, remote, nh)


@dataclass(frozen=True, slots=True)
class SaTemplate:
    """What a PROTECT entry asks for (RFC 4301 §4.4.1.2: "IPsec protocol mode, ... the
    security protocol (AH or ESP)")."""

    protocol: int  # wire_ipv6.IPPROTO_ESP or IPPROTO_AH
    mode: str  # "transport" or "tunnel"


@dataclass(frozen=True, slots=True)
class SpdEntry:
    """One SPD entry (RFC 4301 §4.4.1.2). ``name`` identifies it to the SAs made for it;
    ``direction`` None serves both directions. ``protect`` lists the SAs of a bundle from
    the innermost (applied first outbound) to the outermost."""

    name: str
    action: Action
    local: AddressRange = AddressRange.any()  # noqa: RUF009 (frozen, immutable value)
    remote: AddressRange = AddressRange.any()  # noqa: RUF009
    next_layer: int | None = None  # None: ANY
    local_port: PortRange = PortRange()
    remote_port: PortRange = PortRange()
    icmp_type: int | None = None
    icmp_code: int | None = None
    mh_type: int | None = None
    direction: Direction | None = None
    protect: tuple[SaTemplate, ...] = ()

    def matches(self, s: PacketSelectors, direction: Direction) -> bool:
        """RFC 4301 §4.4.1.1: every selector matches (ANY matches everything)."""
        if self.direction is not None and self.direction is not direction:
            return False
        if s.local not in self.local or s.remote not in self.remote:
            return False
        if self.next_layer is None:
            return True
        if s.next_layer != self.next_layer:
            return False
        ports = not (self.local_port.is_any() and self.remote_port.is_any())
        if s.opaque:
            # RFC 4301 §4.4.1.1: a packet whose ports are OPAQUE matches only ANY.
            return not ports and self.icmp_type is None and self.mh_type is None
        if ports and not (
            s.local_port is not None
            and s.remote_port is not None
            and s.local_port in self.local_port
            and s.remote_port in self.remote_port
        ):
            return False
        if self.icmp_type is not None and s.icmp_type != self.icmp_type:
            return False
        if self.icmp_code is not None and s.icmp_code != self.icmp_code:
            return False
        return self.mh_type is None or s.mh_type == self.mh_type


class SecurityPolicyDatabase:
    """RFC 4301 §4.4.1: ordered entries; the first match decides."""

    def __init__(self, limit: int = SPD_MAX_ENTRIES) -> None:
        self.entries: list[SpdEntry] = []
        self.limit = limit

    def __len__(self) -> int:
        return len(self.entries)

    def add(self, entry: SpdEntry) -> None:
        if len(self.entries) >= self.limit:
            raise ValueError(f"SPD full ({self.limit} entries)")
        if any(e.name == entry.name for e in self.entries):
            raise ValueError(f"SPD entry {entry.name!r} exists")
        if entry.action is Action.PROTECT and not entry.protect:
            raise ValueError(f"SPD entry {entry.name!r}: PROTECT names no AH or ESP")
        self.entries.append(entry)

    def get(self, name: str) -> SpdEntry | None:
        return next((e for e in self.entries if e.name == name), None)

    def lookup(self, s: PacketSelectors, direction: Direction) -> SpdEntry | None:
        """RFC 4301 §4.4.1: the first entry that matches; None when none does (the
        packet is then discarded, RFC 4301 §5.1 step 3a / RFC 4301 §5.2)."""
        for entry in self.entries:
            if entry.matches(s, direction):
                return entry
        return None
