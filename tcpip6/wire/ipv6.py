"""The IPv6 fixed header (RFC 8200 §3) and protocol numbers.

::

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |Version| Traffic Class |           Flow Label                  |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |         Payload Length        |  Next Header  |   Hop Limit   |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                  Source Address (16 octets)                   |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |               Destination Address (16 octets)                 |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv6Address
from typing import ClassVar

from tcpip6.wire.errors import WireError
from tcpip6.wire.values import quick_init

# Next Header values (IANA "Assigned Internet Protocol Numbers").
HOPOPT = 0
IPPROTO_IPV4 = 4
IPPROTO_TCP = 6
IPPROTO_UDP = 17
IPPROTO_IPV6 = 41
IPPROTO_ROUTING = 43
IPPROTO_FRAGMENT = 44
IPPROTO_ESP = 50
IPPROTO_AH = 51
IPPROTO_ICMPV6 = 58
IPPROTO_NONE = 59
IPPROTO_DSTOPTS = 60
IPPROTO_UDPLITE = 136

MIN_MTU = 1280  # RFC 8200 §5
MAX_PAYLOAD = 0xFFFF

_FIXED = struct.Struct("!IHBB16s16s")


class InternedAddress(IPv6Address):
    """An address of the :class:`AddressCache`: its hash and its 16 octets kept, where an
    ``IPv6Address`` computes them again (through a hex string, through ``int.to_bytes``)
    at every dictionary lookup and every header built. Otherwise the ``IPv6Address`` it
    is: equal to it, hashing and printing alike, and copied or pickled as one. Never a
    multicast address (the cache keeps none), which :func:`is_multicast` relies on."""

    __slots__ = ("_hash", "_octets", "value")

    def __init__(self, address: object) -> None:
        super().__init__(address)
        #: ``int(self)``, without a call (the checksum's pseudo-header sums it).
        self.value: int = int(self)
        if self.value >> 120 == 0xFF:
            raise ValueError(f"{self}: a multicast address is not interned")
        # The octets it was made from, when they are those: the cache's key, not a copy.
        self._octets: bytes = address if type(address) is bytes else super().packed
        self._hash: int = super().__hash__()

    def __hash__(self) -> int:
        return self._hash

    @property
    def packed(self) -> bytes:
        return self._octets

    def __repr__(self) -> str:
        return f"IPv6Address('{self}')"

    def __reduce__(self) -> tuple[type[IPv6Address], tuple[str]]:
        return IPv6Address, (str(self),)


class AddressCache:
    """The addresses parsed lately, by their 16 octets, so that a packet's addresses are
    the objects the packets before it had: no address is built twice, and the tables
    keyed by addresses (connections, routes, neighbors) find them by identity instead of
    comparing them. Unicast addresses only (a multicast destination is no table's key:
    solicited-node groups, one per neighbor solicited, would crowd the others out).
    Bounded: emptied when full, and counted."""

    __slots__ = ("_by_octets", "capacity", "emptied")

    def __init__(self, capacity: int = 1024) -> None:
        self.capacity = capacity
        self.emptied = 0
        self._by_octets: dict[bytes, IPv6Address] = {}

    def __len__(self) -> int:
        return len(self._by_octets)

    def clear(self) -> None:
        """Forget every address (as when full): tables that keep one still find it, by
        equality."""
        self._by_octets.clear()

    def address(self, octets: bytes) -> IPv6Address:
        found = self._by_octets.get(octets)
        if found is None:
            if octets[0] == 0xFF:
                return IPv6Address(octets)
            if len(self._by_octets) >= self.capacity:
                self._by_octets.clear()
                self.emptied += 1
            found = self._by_octets[octets] = InternedAddress(octets)
        return found

    def intern(self, address: IPv6Address) -> IPv6Address:
        """The cache's object for ``address`` (one a table keeps or a connection sends
        from): ``address`` itself when it is one already, carries a zone, or is multicast
        (never kept)."""
        if isinstance(address, InternedAddress) or address.scope_id is not None:
            return address
        octets = address.packed
        return address if octets[0] == 0xFF else self.address(octets)


#: The cache :meth:`Ipv6Header.parse` uses.
ADDRESSES = AddressCache()


@quick_init
@dataclass(frozen=True, slots=True)
class Ipv6Header:
    traffic_class: int
    flow_label: int
    payload_length: int
    next_header: int
    hop_limit: int
    src: IPv6Address
    dst: IPv6Address

    HEADER_LEN: ClassVar[int] = 40

    @classmethod
    def parse(cls, buf: bytes | bytearray | memoryview) -> Ipv6Header:
        """Parse the fixed header. Checks length and version only; the payload length
        against the buffer is :func:`split`'s job."""
        if len(buf) < cls.HEADER_LEN:
            raise WireError(f"ipv6: {len(buf)} bytes, need {cls.HEADER_LEN}")
        word, plen, nh, hlim, src, dst = _FIXED.unpack_from(buf, 0)
        if word >> 28 != 6:
            raise WireError(f"ipv6: version {word >> 28}")
        # ADDRESSES.address, its dictionary asked first here (a hit is every packet's case).
        known = ADDRESSES._by_octets.get
        return cls(
            (word >> 20) & 0xFF,
            word & 0xFFFFF,
            plen,
            nh,
            hlim,
            known(src) or ADDRESSES.address(src),
            known(dst) or ADDRESSES.address(dst),
        )

    def buffer_len(self) -> int:
        return self.HEADER_LEN

    def emit(self, buf: bytearray | memoryview, off: int = 0) -> None:
        _FIXED.pack_into(buf, off, *self._fields())

    def build(self) -> bytes:
        return _FIXED.pack(*self._fields())

    @staticmethod
    def build_fields(
        traffic_class: int,
        flow_label: int,
        payload_length: int,
        next_header: int,
        hop_limit: int,
        src: IPv6Address,
        dst: IPv6Address,
    ) -> bytes:
        """What ``Ipv6Header(...).build()`` returns, without the header object (the send
        path builds one header per packet and never reads it again)."""
        word = (6 << 28) | ((traffic_class & 0xFF) << 20) | (flow_label & 0xFFFFF)
        return _FIXED.pack(word, payload_length, next_header, hop_limit, src.packed, dst.packed)

    def _fields(self) -> tuple[int | bytes, ...]:
        """RFC 8200 §3: Version 6, Traffic Class and Flow Label in the first word, then
        the rest of the fixed header in order."""
        word = (6 << 28) | ((self.traffic_class & 0xFF) << 20) | (self.flow_label & 0xFFFFF)
        return (
            word,
            self.payload_length,
            self.next_header,
            self.hop_limit,
            self.src.packed,
            self.dst.packed,
        )


def split(buf: bytes | bytearray | memoryview) -> tuple[Ipv6Header, memoryview]:
    """Parse a packet into its fixed header and exactly ``payload_length`` octets of payload
    (trailing link padding is cut off). Raises :class:`WireError` when truncated."""
    hdr = Ipv6Header.parse(buf)
    end = Ipv6Header.HEADER_LEN + hdr.payload_length
    if len(buf) < end:
        raise WireError(f"ipv6: payload length {hdr.payload_length} but {len(buf) - 40} octets")
    return hdr, memoryview(buf)[Ipv6Header.HEADER_LEN : end]


def packet(hdr: Ipv6Header, payload: bytes | bytearray | memoryview) -> bytes:
    """Fixed header + payload; ``hdr.payload_length`` must equal ``len(payload)``."""
    if hdr.payload_length != len(payload):
        raise ValueError("payload_length does not match the payload")
    return hdr.build() + bytes(payload)


# Address-type tests by the address's value, for the per-packet paths: what the properties
# of ``IPv6Address`` answer, without a network object and a containment test per call.
def is_multicast(address: IPv6Address) -> bool:
    """RFC 4291 §2.7: ff00::/8 (``address.is_multicast``). An interned address is known
    unicast without reading its value (a call: ``IPv6Address.__int__``)."""
    return type(address) is not InternedAddress and int(address) >> 120 == 0xFF


def is_link_local(address: IPv6Address) -> bool:
    """RFC 4291 §2.5.6: fe80::/10 (``address.is_link_local``)."""
    return int(address) >> 118 == 0x3FA


def is_loopback(address: IPv6Address) -> bool:
    """RFC 4291 §2.5.3: ::1 (``address.is_loopback``)."""
    return int(address) == 1


def solicited_node(address: IPv6Address) -> IPv6Address:
    """RFC 4291 §2.7.1: ff02::1:ffXX:XXXX from the low 24 bits."""
    return IPv6Address(b"\xff\x02" + b"\x00" * 9 + b"\x01\xff" + address.packed[13:])


ALL_NODES = IPv6Address("ff02::1")
ALL_ROUTERS = IPv6Address("ff02::2")
ALL_MLDV2_ROUTERS = IPv6Address("ff02::16")
UNSPECIFIED = IPv6Address("::")
LOOPBACK = IPv6Address("::1")
