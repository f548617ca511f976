"""IPv6 over IPv4 (protocol 41): configured tunnels (RFC 4213 §3), 6to4 (RFC 3056) and
automatic tunnels to IPv4-compatible addresses (RFC 2893 §5).

The tunnel is a link like any other (the contract of :mod:`tcpip6.stack.link`): its
link-layer address is an IPv4 address (4 octets), and its frames are IPv4 datagrams whose
payload is one IPv6 packet. Two kinds:

- **configured** (RFC 4213 §3): a point-to-point link to one remote IPv4 address. Every
  packet goes there. There is no Neighbor Discovery on it (RFC 4213 §3.8): the remote end is a
  PERMANENT neighbor, the NCE state that inhibits ND, as MSR IPv6 did; the default route
  points at it. The link MTU is static, 1280 (RFC 4213 §3.2.1), so the IPv4 header goes out with
  DF clear and IPv4 may fragment the datagram on the way.
- **6to4** (RFC 3056): a non-broadcast multi-access link over the whole IPv4 Internet.
  The site prefix is 2002:V4ADDR::/48 (RFC 3056 §2); the IPv4 next hop of a 2002::/16 destination is
  the V4ADDR embedded in it; every other destination goes to a relay router (RFC 3068), if
  one is configured.
- **automatic** (RFC 2893 §5, historical: RFC 4213 removed it; MSR IPv6 had it): the
  interface has the IPv4-compatible address ::V4ADDR/96, so ::/96 is on-link, and the IPv4
  next hop of a ::/96 destination is its low-order 32 bits. Off unless asked for.

Both form the interface identifier from the IPv4 address, 32 zero bits then the 32 bits
of the address (RFC 4213 §3.7): the link-local address of 10.0.0.2 is fe80::a00:2.

This module is the pure logic (:func:`encapsulate`, :func:`decapsulate`, the 6to4 mapping,
:class:`TunnelLink` and the interface it configures) and takes no socket: a
:class:`DatagramPort` carries the datagrams. The live port, a raw IPv4 socket for
protocol 41 on the kernel's IPv4, is :class:`tcpip6.io.tunnel.RawIpv4Port`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, IPv6Network
from typing import TYPE_CHECKING, Protocol

from tcpip6.stack.counters import CounterSet
from tcpip6.stack.link import Received
from tcpip6.stack.params import InterfaceParameters
from tcpip6.wire.errors import WireError
from tcpip6.wire.ipv4 import IPPROTO_IPV6, Ipv4Header
from tcpip6.wire.ipv4 import split as ipv4_split
from tcpip6.wire.ipv6 import MIN_MTU

if TYPE_CHECKING:
    from tcpip6.stack.interface import Interface

#: RFC 4213 §3.2.1: the static tunnel MTU.
TUNNEL_MTU = MIN_MTU
#: RFC 4213 §3.5: the IPv4 TTL is set "in an implementation-specific manner"; the usual
#: default IPv4 TTL.
TUNNEL_TTL = 64
#: RFC 3056 §2: the 6to4 prefix.
SIX_TO_FOUR = IPv6Network("2002::/16")
#: RFC 3068: the 6to4 relay anycast address (192.88.99.0/24, host 1).
RELAY_ANYCAST = IPv4Address("192.88.99.1")
#: pcap link type for raw IPv4/IPv6 datagrams (what a tunnel's frames are).
LINKTYPE_RAW = 101
#: The offset of the destination address in an IPv6 header, and the header length.
_IPV6_SRC = slice(8, 24)
_IPV6_DST = slice(24, 40)
_IPV6_HEADER_LEN = 40


class TunnelKind(enum.Enum):
    CONFIGURED = "configured"
    SIX_TO_FOUR = "6to4"
    AUTOMATIC = "automatic"
    #: RFC 2529: the link is :class:`tcpip6.stack.sixover4.SixOverFourLink`.
    SIX_OVER_FOUR = "6over4"


#: RFC 4291 §2.5.5.1: the IPv4-compatible addresses, ::V4ADDR.
IPV4_COMPATIBLE = IPv6Network("::/96")


# -- the 6to4 mapping (RFC 3056 §2) ---------------------------------------------------------


def sixtofour_prefix(v4: IPv4Address) -> IPv6Network:
    """RFC 3056 §2: 2002:V4ADDR::/48, the site prefix of the 6to4 site at ``v4``."""
    return IPv6Network((b"\x20\x02" + v4.packed + bytes(10), 48))


def embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    """The V4ADDR of a 2002::/16 address, else None."""
    if address not in SIX_TO_FOUR:
        return None
    return IPv4Address(address.packed[2:6])


def ipv4_compatible(v4: IPv4Address) -> IPv6Address:
    """RFC 4291 §2.5.5.1: ::V4ADDR, 96 zero bits then the IPv4 address."""
    return IPv6Address(bytes(12) + v4.packed)


def compatible_ipv4(address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv4-compatible address carries (RFC 2893 §5.3: the automatic
    tunnel's IPv4 destination is the low-order 32 bits), else None. ::, ::1 and the rest of
    ::0.0.0.0/104 carry none, nor do IPv4 multicast or broadcast addresses."""
    if address not in IPV4_COMPATIBLE:
        return None
    v4 = IPv4Address(address.packed[12:])
    if address.packed[12] == 0 or v4.is_multicast or v4 == IPv4Address("255.255.255.255"):
        return None
    return v4


def interface_identifier(v4: IPv4Address) -> bytes:
    """RFC 4213 §3.7: 32 zero bits, then the IPv4 address (RFC 3056 §2 suggests the same
    ::V4ADDR identifier for 6to4)."""
    return bytes(4) + v4.packed


def link_local(v4: IPv4Address) -> IPv6Address:
    """RFC 4213 §3.7: fe80::V4ADDR."""
    return IPv6Address(b"\xfe\x80" + bytes(6) + interface_identifier(v4))


def sixtofour_address(v4: IPv4Address) -> IPv6Address:
    """2002:V4ADDR::V4ADDR: the 6to4 prefix, subnet 0, the ::V4ADDR identifier."""
    return IPv6Address(sixtofour_prefix(v4).network_address.packed[:8] + interface_identifier(v4))


# -- encapsulation (RFC 4213 §3.5, RFC 4213 §3.6) -------------------------------------------------


def encapsulate(
    packet: bytes | memoryview,
    src: IPv4Address,
    dst: IPv4Address,
    *,
    ttl: int = TUNNEL_TTL,
    identification: int = 0,
    tos: int = 0,
) -> bytes:
    """An IPv4 datagram carrying ``packet``: protocol 41 (RFC 4213 §3.5), DF clear (the
    static tunnel MTU, RFC 4213 §3.2.1), no options. What the kernel sends for a raw protocol-41
    socket; here for captures and tests."""
    hdr = Ipv4Header(
        tos=tos,
        total_length=Ipv4Header.HEADER_LEN + len(packet),
        identification=identification,
        flags=0,
        fragment_offset=0,
        ttl=ttl,
        protocol=IPPROTO_IPV6,
        src=src,
        dst=dst,
    )
    return hdr.build() + bytes(packet)


class DecapsulationError(WireError):
    """Not an IPv6-in-IPv4 datagram this tunnel accepts; ``reason`` names the counter."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def decapsulate(datagram: bytes | memoryview) -> tuple[Ipv4Header, memoryview]:
    """The IPv4 header and the IPv6 packet it carries. Raises :class:`DecapsulationError`
    for a malformed datagram, another protocol, a fragment (the kernel reassembles before
    a raw socket sees them) or a payload that is not an IPv6 header."""
    try:
        hdr, payload = ipv4_split(datagram)
    except WireError as exc:
        raise DecapsulationError("malformed_drop", str(exc)) from None
    if hdr.protocol != IPPROTO_IPV6:
        raise DecapsulationError("not_protocol_41_drop", f"protocol {hdr.protocol}")
    if hdr.is_fragment:
        raise DecapsulationError("fragment_drop", "an IPv4 fragment")
    if len(payload) < _IPV6_HEADER_LEN or payload[0] >> 4 != 6:
        raise DecapsulationError("not_ipv6_drop", "the payload is not an IPv6 packet")
    return hdr, payload


# -- the link ----------------------------------------------------------------------------


class DatagramPort(Protocol):
    """Where a tunnel's datagrams go: the kernel's IPv4 (a raw socket), or a test's list.
    ``packet`` is the IPv6 packet; the port adds the IPv4 header."""

    def send_datagram(self, packet: bytes, dst: IPv4Address) -> None: ...


@dataclass
class Protocol41Counters(CounterSet):
    """What every link over IPv4 protocol 41 counts: the datagrams, and a drop for each
    reason :func:`decapsulate` refuses one (:attr:`DecapsulationError.reason`)."""

    datagrams_received: int = 0
    datagrams_sent: int = 0
    malformed_drop: int = 0
    not_protocol_41_drop: int = 0
    fragment_drop: int = 0
    not_ipv6_drop: int = 0


@dataclass
class TunnelCounters(Protocol41Counters):
    #: The outer destination is not our IPv4 address.
    not_for_us_drop: int = 0
    #: RFC 4213 §3.6: a configured tunnel accepts datagrams from its remote end only.
    wrong_remote_drop: int = 0
    #: RFC 3056 §9: a 2002::/16 source whose V4ADDR is not the outer source.
    spoofed_6to4_source_drop: int = 0
    #: 6to4: a native source from an IPv4 address that is not the relay router.
    native_source_not_relay_drop: int = 0
    #: 6to4: no IPv4 next hop for the destination (native, and no relay configured; or
    #: multicast, which 6to4 does not carry); automatic: not an IPv4-compatible destination.
    no_ipv4_next_hop_drop: int = 0
    #: Automatic: the inner source is not the IPv4-compatible form of the outer source.
    not_compatible_source_drop: int = 0


#: RFC 2529 §5: the link-layer address option body: two zero octets, the IPv4 address.
LLA_PAD = b"\0\0"


class Protocol41Link:
    """What the links that carry IPv6 in IPv4 protocol 41 share (RFC 4213 tunnels, RFC 2529
    6over4): 4-octet link addresses, in ND options in the form of RFC 2529 §5, and
    :func:`decapsulate` first for every datagram received, its refusals counted."""

    link_address_length = 4
    counters: Protocol41Counters

    def read_lla_option(self, data: bytes) -> bytes | None:
        # RFC 2529 §5: two zero octets, then the IPv4 address.
        if len(data) < 6:
            return None
        return bytes(data[2:6])

    def write_lla_option(self, link_address: bytes) -> bytes:
        return LLA_PAD + link_address

    def _decapsulate(self, frame: bytes | memoryview) -> tuple[Ipv4Header, memoryview] | None:
        """The IPv4 header and the IPv6 packet; None for a datagram :func:`decapsulate`
        refuses, counted under its reason."""
        try:
            return decapsulate(frame)
        except DecapsulationError as exc:
            self.counters.increment(exc.reason)
            return None


class TunnelLink(Protocol41Link):
    """IPv6 over IPv4 (protocol 41): a configured tunnel when ``remote`` is given, an
    automatic one (RFC 2893 §5) with ``automatic``, else 6to4 (with ``relay`` for native
    destinations, RFC 3068)."""

    kind = "tunnel"
    counters: TunnelCounters
    #: RFC 4213 §3.8 (configured) and RFC 3056 (6to4): no address resolution; the next
    #: hop's IPv4 address is configured or embedded in its IPv6 address.
    uses_nd = False
    gso_max_size = 0  # no segmentation offload

    def __init__(
        self,
        port: DatagramPort,
        local: IPv4Address,
        *,
        remote: IPv4Address | None = None,
        relay: IPv4Address | None = None,
        automatic: bool = False,
        mtu: int = TUNNEL_MTU,
    ) -> None:
        if remote is not None and relay is not None:
            raise ValueError("a relay router is for 6to4 tunnels, not configured ones")
        if automatic and (remote is not None or relay is not None):
            raise ValueError("an automatic tunnel has neither a remote end nor a relay")
        if mtu < MIN_MTU:
            raise ValueError(f"an IPv6 link MTU is at least {MIN_MTU}")
        self.port = port
        self.local = local
        self.remote = remote
        self.relay = relay
        self.automatic = automatic
        self.link_address = local.packed
        self.mtu = mtu
        self.counters = TunnelCounters()

    @property
    def tunnel_kind(self) -> TunnelKind:
        if self.automatic:
            return TunnelKind.AUTOMATIC
        return TunnelKind.SIX_TO_FOUR if self.remote is None else TunnelKind.CONFIGURED

    def __repr__(self) -> str:
        far = f"remote {self.remote}" if self.remote else f"6to4 relay {self.relay or '-'}"
        if self.automatic:
            far = "automatic ::/96"
        return f"<TunnelLink local {self.local} {far} mtu {self.mtu}>"

    def ipv4_next_hop(self, packet: bytes | memoryview, dst_link: bytes) -> IPv4Address | None:
        """The IPv4 address to send ``packet`` to: ``dst_link`` when the core names one (a
        PERMANENT neighbor's), else the remote end (configured), else the low-order 32 bits
        of an IPv4-compatible destination (automatic), else the 6to4 mapping of the IPv6
        destination or the relay router."""
        if len(dst_link) == 4:
            return IPv4Address(dst_link)
        if self.remote is not None:
            return self.remote
        if len(packet) < _IPV6_HEADER_LEN:
            return None
        dst = IPv6Address(bytes(packet[_IPV6_DST]))
        if self.automatic:
            return compatible_ipv4(dst)  # RFC 2893 §5.3
        if dst.is_multicast:
            return None
        v4 = embedded_ipv4(dst)
        return v4 if v4 is not None else self.relay

    def link_address_of(self, neighbor: IPv6Address) -> bytes | None:
        """The IPv4 address (4 octets) a neighbor on this link is reached at, if the link
        can tell: the remote end (configured), the V4ADDR a 2002::/16 address embeds (6to4).
        """
        if self.remote is not None:
            return self.remote.packed
        v4 = compatible_ipv4(neighbor) if self.automatic else embedded_ipv4(neighbor)
        return v4.packed if v4 is not None else None

    def endpoint_address(self, v4: IPv4Address) -> IPv6Address:
        """The IPv6 address of the tunnel endpoint at ``v4`` on this link (the source of a
        relayed ICMPv4 error, RFC 4213 §3.4): fe80::V4ADDR (configured), ::V4ADDR
        (automatic), 2002:V4ADDR::V4ADDR (6to4)."""
        if self.remote is not None:
            return link_local(v4)
        return ipv4_compatible(v4) if self.automatic else sixtofour_address(v4)

    def frame_bytes(self, packet: bytes, dst_link: bytes) -> bytes:
        dst = self.ipv4_next_hop(packet, dst_link) or IPv4Address(0)
        return encapsulate(packet, self.local, dst)

    def transmit(self, packet: bytes, dst_link: bytes) -> None:
        dst = self.ipv4_next_hop(packet, dst_link)
        if dst is None:
            self.counters.no_ipv4_next_hop_drop += 1
            return
        self.counters.datagrams_sent += 1
        self.port.send_datagram(packet, dst)

    def set_multicast_addresses(self, link_addresses: Iterable[bytes]) -> None:
        return None  # no link multicast: the port hears every datagram to our address

    def interface_identifier(self) -> bytes:
        return interface_identifier(self.local)

    def map_multicast(self, group: IPv6Address) -> bytes:
        # A configured tunnel is point-to-point: multicast goes to the other end. 6to4
        # has no multicast (b"": ipv4_next_hop finds none and the packet is dropped).
        return self.remote.packed if self.remote is not None else b""

    def decapsulate(self, frame: bytes | memoryview) -> Received | None:
        outer = self._decapsulate(frame)
        if outer is None:
            return None
        hdr, packet = outer
        if hdr.dst != self.local:
            self.counters.not_for_us_drop += 1
            return None
        if self.remote is not None:
            # RFC 4213 §3.6: only the configured remote end may send into the tunnel.
            if hdr.src != self.remote:
                self.counters.wrong_remote_drop += 1
                return None
        elif self.automatic:
            # RFC 2893 §5: automatic tunnels run between IPv4-compatible addresses; as RFC
            # 3056 §9 for 6to4, the inner source must be the outer one's ::V4ADDR.
            if compatible_ipv4(IPv6Address(bytes(packet[_IPV6_SRC]))) != hdr.src:
                self.counters.not_compatible_source_drop += 1
                return None
        else:
            src6 = IPv6Address(bytes(packet[_IPV6_SRC]))
            v4 = embedded_ipv4(src6)
            if v4 is not None and v4 != hdr.src:
                # RFC 3056 §9: a 6to4 source must come from the IPv4 address it embeds.
                self.counters.spoofed_6to4_source_drop += 1
                return None
            if v4 is None and hdr.src != self.relay:
                # Native IPv6 sources arrive through the relay router only.
                self.counters.native_source_not_relay_drop += 1
                return None
        self.counters.datagrams_received += 1
        return Received(packet, hdr.src.packed, hdr.dst.packed)


def next_hop_link_address(link: object, neighbor: IPv6Address) -> bytes | None:
    """The link address of ``neighbor`` on a tunnel link (None: not a tunnel, or the
    link cannot map it): what a static route's no-ND neighbor entry holds."""
    return link.link_address_of(neighbor) if isinstance(link, TunnelLink) else None


# -- the command line's spec, and the interface it configures ----------------------------


@dataclass(frozen=True, slots=True)
class TunnelSpec:
    """``configured:LOCAL4:REMOTE4``, ``6to4:LOCAL4[:RELAY4]``, ``automatic:LOCAL4`` or
    ``6over4:LOCAL4`` (after ``tunnel:``)."""

    kind: TunnelKind
    local: IPv4Address
    remote: IPv4Address | None = None
    relay: IPv4Address | None = None

    @classmethod
    def parse(cls, text: str) -> TunnelSpec:
        """Raises ValueError with a one-line message."""
        kind, _, rest = text.partition(":")
        parts = rest.split(":") if rest else []
        # IPv4Address raises AddressValueError (a ValueError) with a one-line message.
        if kind == TunnelKind.CONFIGURED.value and len(parts) == 2:
            local, remote = IPv4Address(parts[0]), IPv4Address(parts[1])
            if local == remote:
                raise ValueError("the two ends of a tunnel need different addresses")
            return cls(TunnelKind.CONFIGURED, local, remote=remote)
        if kind == TunnelKind.SIX_TO_FOUR.value and len(parts) in (1, 2):
            relay = IPv4Address(parts[1]) if len(parts) == 2 else None
            return cls(TunnelKind.SIX_TO_FOUR, IPv4Address(parts[0]), relay=relay)
        if kind == TunnelKind.AUTOMATIC.value and len(parts) == 1:
            local = IPv4Address(parts[0])
            if compatible_ipv4(ipv4_compatible(local)) is None:
                raise ValueError(f"{local} has no IPv4-compatible address (RFC 4291 §2.5.5.1)")
            return cls(TunnelKind.AUTOMATIC, local)
        if kind == TunnelKind.SIX_OVER_FOUR.value and len(parts) == 1:
            local = IPv4Address(parts[0])
            if local.is_multicast or local.is_unspecified or local.is_loopback:
                raise ValueError(f"{local} is not a unicast address of this host")
            return cls(TunnelKind.SIX_OVER_FOUR, local)
        raise ValueError(
            "expected configured:LOCAL4:REMOTE4, 6to4:LOCAL4[:RELAY4], automatic:LOCAL4 "
            "or 6over4:LOCAL4"
        )

    def __str__(self) -> str:
        if self.kind is TunnelKind.CONFIGURED:
            return f"configured {self.local} -> {self.remote}"
        if self.kind is TunnelKind.AUTOMATIC:
            return f"automatic {ipv4_compatible(self.local)}/96"
        if self.kind is TunnelKind.SIX_OVER_FOUR:
            return f"6over4 {self.local}"
        return f"6to4 {sixtofour_prefix(self.local)} relay {self.relay or '-'}"


def interface_parameters(link: TunnelLink) -> InterfaceParameters:
    """No DAD on a tunnel (RFC 4213 §3.8: ND is not needed on a configured tunnel; 6to4
    addresses are unique by construction, RFC 3056 §2)."""
    return InterfaceParameters(link_mtu=link.mtu, dup_addr_detect_transmits=0)


def configure_interface(iface: Interface, link: TunnelLink, now: float) -> None:
    """The addresses, neighbor and routes a tunnel interface starts with:

    - the link-local address fe80::V4ADDR (RFC 4213 §3.7);
    - configured: the remote end's link-local address as a PERMANENT neighbor at the
      remote IPv4 address (ND inhibited), and the default route through it;
    - automatic: ::V4ADDR/96 (RFC 2893 §5.3), which makes ::/96 on-link: each
      destination's IPv4 next hop is its low-order 32 bits; no link-local address, since
      fe80::/64 has no IPv4 mapping on this link;
    - 6to4: 2002:V4ADDR::V4ADDR/16, which makes 2002::/16 on-link (each destination's
      IPv4 next hop is embedded in it); with a relay router, the default route through
      the relay's 6to4 address 2002:RELAY4:: (RFC 3068).
    """
    routes = iface.host.routes
    if link.automatic:
        iface.add_static_address(ipv4_compatible(link.local), IPV4_COMPATIBLE.prefixlen, now)
        return
    iface.add_static_address(link_local(link.local), 64, now)
    if link.remote is not None:
        peer = link_local(link.remote)
        iface.add_static_neighbor(peer, link.remote.packed)
        routes.add_static_route(IPv6Network("::/0"), iface, peer)
        return
    iface.add_static_address(sixtofour_address(link.local), SIX_TO_FOUR.prefixlen, now)
    if link.relay is not None:
        relay6 = sixtofour_prefix(link.relay).network_address
        routes.add_static_route(IPv6Network("::/0"), iface, relay6)


__all__ = [
    "IPV4_COMPATIBLE",
    "LINKTYPE_RAW",
    "LLA_PAD",
    "RELAY_ANYCAST",
    "SIX_TO_FOUR",
    "TUNNEL_MTU",
    "TUNNEL_TTL",
    "DatagramPort",
    "DecapsulationError",
    "Protocol41Counters",
    "Protocol41Link",
    "TunnelCounters",
    "TunnelKind",
    "TunnelLink",
    "TunnelSpec",
    "compatible_ipv4",
    "configure_interface",
    "decapsulate",
    "embedded_ipv4",
    "encapsulate",
    "interface_identifier",
    "interface_parameters",
    "ipv4_compatible",
    "link_local",
    "next_hop_link_address",
    "sixtofour_address",
    "sixtofour_prefix",
]
