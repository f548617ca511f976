"""Hypothesis strategies for the packets a translator meets: IPv4 with options, fragments,
TCP/UDP/ICMP and ICMP errors quoting the packet that caused them, and the IPv6 mirror images
with extension headers. Built with scapy (a format oracle independent of tcpip6's wire)."""

from __future__ import annotations

from hypothesis import strategies as st
from scapy.layers.inet import ICMP, IP, TCP, UDP, IPOption_LSRR, IPOption_NOP, IPOption_RR
from scapy.layers.inet6 import (
    ICMPv6DestUnreach,
    ICMPv6EchoReply,
    ICMPv6EchoRequest,
    ICMPv6PacketTooBig,
    ICMPv6ParamProblem,
    ICMPv6TimeExceeded,
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
    IPv6ExtHdrRouting,
)
from scapy.packet import Packet, Raw

#: The addresses of the rig (tests/interop/tayga.py): the IPv6 host 2001:db8:1::1 is
#: 192.0.2.1 by an explicit mapping; IPv4 hosts appear in 2001:db8:64::/96 (RFC 6052).
V6_HOST = "2001:db8:1::1"
V4_OF_V6_HOST = "192.0.2.1"
V4_PEERS = ("198.51.100.7", "203.0.113.9", "198.51.100.250")
V4_ROUTER = "203.0.113.1"


def embed(v4: str) -> str:
    a, b, c, d = (int(x) for x in v4.split("."))
    return f"2001:db8:64::{a:02x}{b:02x}:{c:02x}{d:02x}"


#: TTL / Hop Limit: 1 (the translator's Time Exceeded) now and then, mostly larger.
TTLS = st.sampled_from([2, 64, 255, 2, 64, 255, 1])

payloads = st.integers(0, 1600).map(lambda n: bytes((i * 7) & 0xFF for i in range(n)))
small_payloads = st.integers(0, 64).map(lambda n: bytes((i * 5) & 0xFF for i in range(n)))


@st.composite
def transport(draw: st.DrawFn, sport_dport: bool = True) -> Packet:
    kind = draw(st.sampled_from(["udp", "udp0", "tcp"]))
    ports = dict(sport=draw(st.integers(1, 65535)), dport=draw(st.integers(1, 65535)))
    if kind == "tcp":
        return TCP(
            **ports,
            seq=draw(st.integers(0, 2**32 - 1)),
            flags=draw(st.sampled_from(["S", "SA", "A", "PA", "FA", "R"])),
        )
    if kind == "udp0":
        return UDP(**ports, chksum=0)
    return UDP(**ports)


ipv4_options = st.sampled_from(
    [
        [],
        [IPOption_NOP(), IPOption_NOP(), IPOption_NOP(), IPOption_NOP()],
        [IPOption_RR(routers=["0.0.0.0"])],
        [IPOption_LSRR(routers=["198.51.100.1"], pointer=4)],  # unexpired
        [IPOption_LSRR(routers=["198.51.100.1"], pointer=8)],  # expired
    ]
)


@st.composite
def icmpv4_error(draw: st.DrawFn, dst: str) -> Packet:
    """An ICMPv4 error from an IPv4 router or host about a packet the IPv6 host sent."""
    peer = draw(st.sampled_from(V4_PEERS))
    inner_l4 = draw(
        st.one_of(
            transport(),
            st.builds(
                lambda i, s: ICMP(type=8, id=i, seq=s), st.integers(0, 65535), st.integers(0, 65535)
            ),
        )
    )
    inner = (
        IP(
            src=V4_OF_V6_HOST,
            dst=peer,
            ttl=draw(st.integers(1, 64)),
            flags=draw(st.sampled_from([0, 2])),
        )
        / inner_l4
        / draw(small_payloads)
    )
    t = draw(st.sampled_from([3, 3, 3, 11, 12, 4, 5]))
    c = draw(st.integers(0, 15)) if t == 3 else draw(st.integers(0, 2))
    fields: dict[str, object] = {"type": t, "code": c}
    if (t, c) == (3, 4):
        fields["nexthopmtu"] = draw(st.sampled_from([0, 68, 576, 1280, 1400, 1480, 1500]))
    if t == 12:
        fields["ptr"] = draw(st.integers(0, 24))
    return IP(src=draw(st.sampled_from([V4_ROUTER, peer])), dst=dst) / ICMP(**fields) / inner


KINDS4 = ("transport", "echo", "error", "other", "fragment")
KINDS6 = ("transport", "echo", "error", "fragment")


@st.composite
def ipv4_packets(draw: st.DrawFn, kinds: tuple[str, ...] = KINDS4) -> bytes:
    """An IPv4 packet to the IPv6 host (192.0.2.1), of one of ``kinds``."""
    src = draw(st.sampled_from(V4_PEERS))
    kind = draw(st.sampled_from(kinds))
    hdr = dict(
        src=src,
        dst=V4_OF_V6_HOST,
        tos=draw(st.integers(0, 255)),
        ttl=draw(TTLS),
        id=draw(st.integers(0, 65535)),
        flags=draw(st.sampled_from([0, 2])),
        options=draw(ipv4_options),
    )
    if kind == "error":
        pkt = draw(icmpv4_error(V4_OF_V6_HOST))
        pkt.tos, pkt.ttl, pkt.id, pkt.flags = hdr["tos"], hdr["ttl"], hdr["id"], hdr["flags"]
        return bytes(pkt)
    if kind == "echo":
        body: Packet = ICMP(
            type=draw(st.sampled_from([0, 8, 13, 17])), id=draw(st.integers(0, 65535))
        ) / draw(payloads)
    elif kind == "other":
        return bytes(IP(**hdr, proto=draw(st.sampled_from([47, 50, 132]))) / draw(payloads))
    else:
        body = draw(transport()) / draw(payloads)
    if kind == "fragment":
        raw = bytes(IP(**hdr) / body)
        whole = IP(raw)
        data = bytes(whole.payload)
        cut = draw(st.integers(1, max(1, (len(data) - 1) // 8))) * 8
        first = draw(st.booleans()) or len(data) <= cut
        hdr["flags"] = 1 if first else hdr["flags"] & 2
        piece = data[:cut] if first else data[cut:]
        return bytes(IP(**hdr, proto=whole.proto, frag=0 if first else cut // 8) / Raw(piece))
    return bytes(IP(**hdr) / body)


@st.composite
def icmpv6_error(draw: st.DrawFn) -> Packet:
    """An ICMPv6 error from the IPv6 host about a packet an IPv4 peer sent it."""
    peer = draw(st.sampled_from(V4_PEERS))
    inner_l4 = draw(
        st.one_of(transport(), st.builds(lambda i: ICMPv6EchoRequest(id=i), st.integers(0, 65535)))
    )
    inner = (
        IPv6(src=embed(peer), dst=V6_HOST, hlim=draw(st.integers(1, 64)))
        / inner_l4
        / draw(small_payloads)
    )
    kind = draw(st.sampled_from(["unreach", "ptb", "time", "param"]))
    if kind == "unreach":
        msg: Packet = ICMPv6DestUnreach(code=draw(st.integers(0, 7)))
    elif kind == "ptb":
        msg = ICMPv6PacketTooBig(mtu=draw(st.sampled_from([0, 1280, 1300, 1480, 1500, 9000])))
    elif kind == "time":
        msg = ICMPv6TimeExceeded(code=draw(st.integers(0, 1)))
    else:
        msg = ICMPv6ParamProblem(code=draw(st.integers(0, 2)), ptr=draw(st.integers(0, 44)))
    return IPv6(src=V6_HOST, dst=embed(peer)) / msg / inner


@st.composite
def ipv6_packets(draw: st.DrawFn, kinds: tuple[str, ...] = KINDS6) -> bytes:
    """An IPv6 packet from the IPv6 host to an IPv4 peer, of one of ``kinds``."""
    dst = embed(draw(st.sampled_from(V4_PEERS)))
    hdr = dict(
        src=V6_HOST,
        dst=dst,
        tc=draw(st.integers(0, 255)),
        fl=draw(st.integers(0, 0xFFFFF)),
        hlim=draw(TTLS),
    )
    kind = draw(st.sampled_from(kinds))
    ext = draw(st.sampled_from(["none", "none", "hbh", "dst", "rh0", "rh1"]))
    if kind == "error":
        pkt = draw(icmpv6_error())
        pkt.tc, pkt.fl, pkt.hlim = hdr["tc"], hdr["fl"], hdr["hlim"]
        return bytes(pkt)
    if kind == "echo":
        body: Packet = (ICMPv6EchoRequest if draw(st.booleans()) else ICMPv6EchoReply)(
            id=draw(st.integers(0, 65535))
        ) / draw(payloads)
    else:
        body = draw(transport()) / draw(payloads)
    exts: Packet | None = None
    if ext == "hbh":
        exts = IPv6ExtHdrHopByHop()
    elif ext == "dst":
        exts = IPv6ExtHdrDestOpt()
    elif ext in ("rh0", "rh1"):
        exts = IPv6ExtHdrRouting(type=253, segleft=0 if ext == "rh0" else 1, addresses=[])
    if kind == "fragment":
        whole = IPv6(**hdr) / body
        raw = bytes(whole)
        data = raw[40:]
        nh = raw[6]
        cut = draw(st.integers(1, max(1, (len(data) - 1) // 8))) * 8
        first = draw(st.booleans()) or len(data) <= cut
        frag = IPv6ExtHdrFragment(
            nh=nh,
            offset=0 if first else cut // 8,
            m=1 if first else draw(st.integers(0, 1)),
            id=draw(st.integers(0, 2**32 - 1)),
        )
        piece = data[:cut] if first else data[cut:]
        head = IPv6(**hdr) / exts / frag if exts is not None else IPv6(**hdr) / frag
        return bytes(head / Raw(piece))
    head = IPv6(**hdr) / exts if exts is not None else IPv6(**hdr)
    return bytes(head / body)
