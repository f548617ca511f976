"""What the checker knows of one captured packet: its IPv6 header, its header chain and
its upper-layer message, parsed with tcpip6's own parsers.

Checksums are not judged: a capture taken at a sender with checksum offload holds
checksums the NIC fills in later (tshark does not judge them either by default). The
parsers that verify a checksum get the packet with the checksum field recomputed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from ipaddress import IPv6Address

from tcpip6.io.capture import CapturedPacket
from tcpip6.wire import WireError
from tcpip6.wire import ext as wire_ext
from tcpip6.wire import icmpv6 as wi
from tcpip6.wire import ipv6 as wire_ipv6
from tcpip6.wire import tcp as wire_tcp
from tcpip6.wire.checksum import upper_layer_checksum

IPPROTO_TCP = wire_ipv6.IPPROTO_TCP
IPPROTO_ICMPV6 = wire_ipv6.IPPROTO_ICMPV6


@dataclass(frozen=True, slots=True)
class Deviation:
    """An observed packet the RFC does not allow (or a required one that did not come)."""

    frame: int
    time: float
    flow: str
    rule: str
    rfc: str
    observed: str
    expected: str

    def format(self) -> str:
        return (
            f"  frame {self.frame} at {self.time:.6f}: {self.rule} [{self.rfc}]\n"
            f"    observed: {self.observed}\n    expected: {self.expected}"
        )


@dataclass(frozen=True, slots=True)
class Observed:
    """One IPv6 packet of the capture, parsed as far as it goes."""

    frame: int
    time: float
    interface: int
    link_multicast: bool | None
    link_source: bytes | None
    link_destination: bytes | None
    header: wire_ipv6.Ipv6Header
    payload: bytes
    #: (next header, offset in ``payload``, extension header or None for the last row)
    chain: tuple[tuple[int, int, wire_ext.ExtensionHeader | None], ...]
    fragment: wire_ext.FragmentHeader | None
    icmp: wi.Icmpv6Message | None = None
    tcp: wire_tcp.TcpSegment | None = None

    @property
    def src(self) -> IPv6Address:
        return self.header.src

    @property
    def dst(self) -> IPv6Address:
        return self.header.dst

    @property
    def upper(self) -> tuple[int, int]:
        nh, off, _ = self.chain[-1]
        return nh, off


def _fixed(proto: int, src: IPv6Address, dst: IPv6Address, data: bytes, at: int) -> bytes:
    """``data`` with its checksum field (at offset ``at``) set to the right value."""
    buf = bytearray(data)
    if len(buf) < at + 2:
        return data
    buf[at : at + 2] = b"\0\0"
    buf[at : at + 2] = upper_layer_checksum(src, dst, proto, buf).to_bytes(2, "big")
    return bytes(buf)


def observe(captured: CapturedPacket) -> Observed | str:
    """The parsed packet, or why it could not be parsed (the checker counts it)."""
    try:
        hdr, view = wire_ipv6.split(captured.packet)
        payload = bytes(view)
        chain = tuple(wire_ext.walk(hdr.next_header, payload))
    except WireError as exc:
        return f"malformed: {exc}"
    frag = next((h for _, _, h in chain if isinstance(h, wire_ext.FragmentHeader)), None)
    obs = Observed(
        captured.frame,
        captured.time,
        captured.interface,
        captured.link_multicast,
        captured.link_source,
        captured.link_destination,
        hdr,
        payload,
        chain,
        frag,
    )
    if frag is not None and not frag.is_atomic:
        return obs  # the upper-layer message is split across fragments
    nh, off, _ = chain[-1]
    body = payload[off:]
    try:
        if nh == IPPROTO_ICMPV6:
            icmp = wi.parse_icmpv6_unchecked(body)
            return replace(obs, icmp=icmp)
        if nh == IPPROTO_TCP:
            seg = wire_tcp.TcpSegment.parse(
                _fixed(nh, hdr.src, hdr.dst, body, 16), hdr.src, hdr.dst
            )
            return replace(obs, tcp=seg)
    except WireError as exc:
        return f"malformed upper layer: {exc}"
    return obs
