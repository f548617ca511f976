"""SIIT (RFC 7915) against Debian's tayga: the same Hypothesis-made packets through both
translators, the outputs compared field by field (scapy dissects both).

Both are configured alike (tests/interop/tayga.py): prefix 2001:db8:64::/96 (RFC 6052),
192.0.2.1 <-> 2001:db8:1::1 explicitly mapped (RFC 7757 / tayga's ``map``), the
translator's own IPv4 address 192.0.2.254, next-hop MTUs 9000 (the TUN's), IPv6 fragments
cut to 1280 when the IPv4 sender left DF clear.

Where the two differ, :data:`KNOWN_DIFFERENCES` says which RFC paragraph decides and which
side follows it; each entry is a check of its own (the tcpip6 side is asserted to do
what the paragraph says), and every other field must be equal.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.inet import ICMP, IP, UDP, UDPerror
from scapy.layers.inet6 import (
    ICMPv6ParamProblem,
    IPv6,
    IPv6ExtHdrFragment,
    IPv6ExtHdrRouting,
    in6_chksum,
)
from scapy.packet import Packet

from tcpip6.stack.translate.eam import EamEntry, EamTable
from tcpip6.stack.translate.mapping import AddressMapping
from tcpip6.stack.translate.rfc6052 import Rfc6052Prefix
from tcpip6.stack.translate.siit import Siit, SiitConfig, Translated
from tests.interop import tayga as rig
from tests.translate.compare import dissect, fields_of
from tests.translate.packets import KINDS4, KINDS6, ipv4_packets, ipv6_packets

MTU = 9000


def make_siit() -> Siit:
    mapping = AddressMapping(
        Rfc6052Prefix(IPv6Network(rig.PREFIX)),
        EamTable((EamEntry(IPv4Network(rig.MAP_V4), IPv6Network(rig.MAP_V6)),)),
    )
    tayga_v4 = IPv4Address(rig.TAYGA_IPV4)
    own_v6 = mapping.to_v6(tayga_v4)
    return Siit(SiitConfig(mapping, tayga_v4, own_v6, mtu4=MTU, mtu6=MTU))


@dataclass(frozen=True)
class Known:
    """A justified difference: ``applies`` recognises it from the input and tcpip6's
    result; ``check`` asserts tcpip6's side follows ``rfc``; ``ignore`` lists the fields
    not compared where it applies (None: tayga's output is not compared at all)."""

    name: str
    rfc: str
    follows: str  # which side follows the RFC paragraph
    applies: Callable[[bytes, Translated], bool]
    check: Callable[[bytes, Translated], None]
    ignore: tuple[str, ...] | None


def _outer_ipv4_df_rule(pkt: bytes, r: Translated) -> None:
    for out in r.packets:
        ip = IP(out)
        if ip.frag == 0 and not ip.flags.MF:
            # RFC 7915 §5.1: DF clear up to 1260 octets, set above.
            assert bool(ip.flags.DF) == (ip.len > 1260), ip.summary()


def _is_v6(pkt: bytes) -> bool:
    return pkt[0] >> 4 == 6


def _param_problem_at_segments_left(pkt: bytes, r: Translated) -> None:
    assert r.error is not None
    pp = IPv6(r.error)[ICMPv6ParamProblem]
    routing = IPv6(pkt)[IPv6ExtHdrRouting]
    # RFC 7915 §5.1: the pointer names the Segments Left octet of the Routing header.
    assert (pp.code, pp.ptr) == (0, len(pkt) - len(bytes(routing)) + 3)


def _source_route_failed(pkt: bytes, r: Translated) -> None:
    if IP(pkt).frag != 0:
        # RFC 1812 §4.3.2.7: no error about a non-initial fragment.
        assert r.error is None
        return
    assert r.error is not None
    icmp = IP(r.error)[ICMP]
    assert (icmp.type, icmp.code) == (3, 5)


def _udp_checksum_computed(pkt: bytes, r: Translated) -> None:
    first = IPv6(r.packets[0])
    # the datagram again, from the pieces when the translator fragmented it
    data = b"".join(
        bytes(IPv6(x)[IPv6ExtHdrFragment].payload) if IPv6(x).nh == 44 else bytes(IPv6(x).payload)
        for x in r.packets
    )
    sent = int.from_bytes(data[6:8], "big")
    zeroed = data[:6] + b"\0\0" + data[8:]
    assert sent != 0 and in6_chksum(17, IPv6(src=first.src, dst=first.dst), zeroed) == sent


def _quotes_udp_zero(pkt: bytes) -> bool:
    p = dissect(pkt)
    return bool(p.haslayer(UDPerror)) and p[UDPerror].chksum == 0


def _quoted_udp_zero(r: Translated) -> None:
    (out,) = r.packets
    assert _quotes_udp_zero(out)


def _no_error(r: Translated) -> None:
    assert r.error is None and not r.packets


def _time_exceeded(pkt: bytes, r: Translated) -> None:
    assert r.error is not None
    if _is_v6(r.error):
        assert bytes(IPv6(r.error).payload)[0] == 3
    else:
        assert IP(r.error)[ICMP].type == 11


#: RFC 7915 Figure 6, written out again from the RFC for the check.
FIGURE_6 = {0: 0, 1: 1, 4: 2, 5: 2, 6: 9, 7: 8, **dict.fromkeys(range(8, 24), 12)}
FIGURE_6.update(dict.fromkeys(range(24, 40), 16))


def _figure6(pkt: bytes, r: Translated) -> None:
    err = _icmpv6_error(pkt)
    assert err is not None
    if err[2] not in FIGURE_6:
        assert r.drop == "v6_icmp_type_drop"
        return
    icmp = IP(r.packets[0])[ICMP]
    assert (icmp.type, icmp.code, icmp.ptr) == (12, 0, FIGURE_6[err[2]])


#: RFC 7915 Figure 3, written out again from the RFC for the check.
FIGURE_3 = {0: 0, 1: 1, 2: 4, 3: 4, 8: 7, 9: 6, **dict.fromkeys(range(12, 16), 8)}
FIGURE_3.update(dict.fromkeys(range(16, 20), 24))


def _figure3(pkt: bytes, r: Translated) -> None:
    pointer = bytes(IP(pkt).payload)[4]
    if pointer not in FIGURE_3:
        assert r.drop == "v4_icmp_type_drop"
        return
    raw = bytes(IPv6(r.packets[0]).payload)
    assert (raw[0], raw[1], int.from_bytes(raw[4:8], "big")) == (4, 0, FIGURE_3[pointer])


def _icmp_informational(pkt: bytes) -> bool:
    if _is_v6(pkt):
        p = IPv6(pkt)
        icmp = [layer.__name__ for layer in p.layers() if layer.__name__.startswith("ICMPv6")]
        return bool(icmp) and icmp[0].startswith("ICMPv6Echo")
    p4 = IP(pkt)
    return (
        p4.proto == 1
        and p4.frag == 0
        and bytes(p4.payload)[:1] not in (b"\x03", b"\x0b", b"\x0c", b"\x04", b"\x05")
    )


def _icmpv6_error(pkt: bytes) -> tuple[int, int, int] | None:
    """(type, code, pointer-or-0) of an outer ICMPv6 error, else None."""
    p = IPv6(pkt)
    if p.nh != 58:
        return None
    raw = bytes(p.payload)
    if raw[0] >= 128:
        return None
    return raw[0], raw[1], int.from_bytes(raw[4:8], "big")


def _translated_icmpv4(
    expect: Callable[[int, int, int], tuple[int, int, int]],
) -> Callable[[bytes, Translated], None]:
    def check(pkt: bytes, r: Translated) -> None:
        err = _icmpv6_error(pkt)
        assert err is not None and len(r.packets) == 1
        icmp = IP(r.packets[0])[ICMP]
        assert (icmp.type, icmp.code, icmp.ptr if icmp.type == 12 else 0) == expect(*err)

    return check


KNOWN_DIFFERENCES: tuple[Known, ...] = (
    Known(
        "ICMPv6 Destination Unreachable code 3 (address unreachable)",
        "RFC 7915 §5.2: becomes ICMPv4 Destination Unreachable code 1 (host unreachable); "
        "tayga drops it",
        "tcpip6",
        lambda pkt, r: (
            _is_v6(pkt) and r.drop is None and (_icmpv6_error(pkt) or (0, 0, 0))[:2] == (1, 3)
        ),
        _translated_icmpv4(lambda t, c, p: (3, 1, 0)),
        None,
    ),
    Known(
        "ICMPv6 Parameter Problem code 0 (erroneous header field)",
        "RFC 7915 §5.2: becomes ICMPv4 Parameter Problem code 0 with the pointer of "
        "RFC 7915 Figure 6 (dropped where the figure has none); tayga drops every one",
        "tcpip6",
        lambda pkt, r: (
            _is_v6(pkt)
            and r.drop in (None, "v6_icmp_type_drop")
            and (_icmpv6_error(pkt) or (0, 0, 0))[:2] == (4, 0)
        ),
        lambda pkt, r: _figure6(pkt, r),
        None,
    ),
    Known(
        "IPv4 DF and Identification of a packet that had no Fragment header",
        "RFC 7915 §5.1 (Flags, Identification): DF clear up to 1260 octets and an "
        "identification from the translator; tayga follows RFC 6145 §5.1 (DF always set, "
        "identification 0)",
        "tcpip6",
        lambda pkt, r: _is_v6(pkt) and bool(r.packets),
        _outer_ipv4_df_rule,
        ("IP#0.flags", "IP#0.id", "IP#0.chksum", "IPerror#2.flags", "IPerror#2.chksum"),
    ),
    Known(
        "Routing header with Segments Left non-zero",
        "RFC 7915 §5.1: such a packet MUST be discarded and a Parameter Problem (code 0) "
        "pointing at Segments Left returned; tayga skips the header and translates",
        "tcpip6",
        lambda pkt, r: r.drop == "v6_routing_segments_left_drop",
        _param_problem_at_segments_left,
        None,
    ),
    Known(
        "IPv4 unexpired source route option",
        "RFC 7915 §4.1: the packet MUST be discarded, Destination Unreachable / Source Route "
        "Failed SHOULD be returned; tayga ignores the option and translates",
        "tcpip6",
        lambda pkt, r: r.drop == "v4_source_route_drop",
        _source_route_failed,
        None,
    ),
    Known(
        "Unfragmented IPv4 UDP with a zero checksum",
        "RFC 7915 §4.5: the translator computes the missing checksum (and counts it); "
        "tayga drops the packet",
        "tcpip6",
        lambda pkt, r: (
            not _is_v6(pkt)
            and IP(pkt).proto == 17
            and IP(pkt).frag == 0
            and not IP(pkt).flags.MF
            and bytes(IP(pkt).payload)[6:8] == b"\0\0"
            and bool(r.packets)
        ),
        _udp_checksum_computed,
        None,
    ),
    Known(
        "Time Exceeded about an ICMP informational message",
        "RFC 7915 §4.1 / RFC 7915 §5.1 (the translator is a router: RFC 1812 §5.3.1, "
        "RFC 4443 §3.3) "
        "with RFC 1122 §3.2.2 and RFC 4443 §2.4 (e) forbidding errors only about errors; "
        "tayga sends no error about any ICMP message",
        "tcpip6",
        lambda pkt, r: (
            r.drop in ("v4_ttl_exceeded_drop", "v6_hop_limit_exceeded_drop")
            and _icmp_informational(pkt)
        ),
        _time_exceeded,
        None,
    ),
    Known(
        "ICMPv4 Parameter Problem codes 0 and 2",
        "RFC 7915 §4.2: become ICMPv6 Parameter Problem code 0 with the pointer of RFC 7915 "
        "Figure 3 (dropped where the figure has none); tayga drops every one",
        "tcpip6",
        lambda pkt, r: (
            not _is_v6(pkt)
            and r.drop in (None, "v4_icmp_type_drop")
            and IP(pkt).proto == 1
            and bytes(IP(pkt).payload)[:1] == b"\x0c"
            and bytes(IP(pkt).payload)[1] in (0, 2)
        ),
        lambda pkt, r: _figure3(pkt, r),
        None,
    ),
    Known(
        "ICMP error quoting a UDP datagram with a zero checksum",
        "RFC 7915 §4.3 and RFC 7915 §5.3: the quoted packet is translated like any other (its zero "
        "checksum stays zero; RFC 7915 §4.5 applies to the datagram itself); tayga drops "
        "the error",
        "tcpip6",
        lambda pkt, r: r.drop is None and _quotes_udp_zero(pkt),
        lambda pkt, r: _quoted_udp_zero(r),
        None,
    ),
    Known(
        "Time Exceeded about a non-initial IPv4 fragment",
        "RFC 1812 §4.3.2.7 (and RFC 1122 §3.2.2): an ICMP error MUST NOT be sent about a "
        "fragment other than the first; tayga sends one",
        "tcpip6",
        lambda pkt, r: not _is_v6(pkt) and IP(pkt).frag != 0 and r.drop == "v4_ttl_exceeded_drop",
        lambda pkt, r: _no_error(r),
        None,
    ),
    Known(
        "Identification of the translator's own ICMPv4 errors",
        "RFC 6864 §4: the source chooses the identification of a non-atomic datagram; "
        "RFC 7915 does not fix it (tayga uses 0, tcpip6 its generator)",
        "both",
        lambda pkt, r: r.error is not None and not _is_v6(r.error),
        lambda pkt, r: None,
        ("IP#0.id", "IP#0.chksum"),
    ),
)


#: RFC 1624 §3: 0x0000 and 0xFFFF are both one's complement zero; a checksum computed from
#: scratch and one carried over incrementally may differ in exactly that way.
CHECKSUM_FIELDS = ("chksum", "cksum")


def _same(key: str, a: object, b: object) -> bool:
    if a == b:
        return True
    return key.rsplit(".", 1)[-1] in CHECKSUM_FIELDS and {a, b} == {0, 0xFFFF}


def compare(pkt: bytes, ours: Translated, theirs: list[bytes]) -> list[str]:
    """The unexplained differences between tcpip6's result and tayga's packets."""
    ignored: set[str] = set()
    for known in KNOWN_DIFFERENCES:
        if known.applies(pkt, ours):
            known.check(pkt, ours)
            if known.ignore is None:
                return []
            ignored.update(known.ignore)
    mine = list(ours.packets) + ([ours.error] if ours.error is not None else [])
    if len(mine) != len(theirs):
        return [f"tcpip6 {len(mine)} packets ({ours.drop}), tayga {len(theirs)}"]
    diffs = []
    for i, (a, b) in enumerate(zip(mine, theirs, strict=True)):
        fa, fb = fields_of(a), fields_of(b)
        for key in sorted(set(fa) | set(fb)):
            if key not in ignored and not _same(key, fa.get(key), fb.get(key)):
                diffs.append(f"packet {i} {key}: tcpip6 {fa.get(key)!r}, tayga {fb.get(key)!r}")
    return diffs


@pytest.fixture(scope="module")
def tayga(tmp_path_factory: pytest.TempPathFactory) -> Iterator[rig.Tayga]:
    if os.geteuid() != 0 and not os.environ.get("CI"):
        pytest.skip("the tayga rig needs root (a network namespace and a TUN device)")
    with rig.tayga(Path(tmp_path_factory.mktemp("tayga")), mtu=MTU) as t:
        yield t


@pytest.mark.parametrize("kind", KINDS4)
@settings(max_examples=100)
@given(data=st.data())
def test_ipv4_to_ipv6_agrees_with_tayga(tayga: rig.Tayga, kind: str, data: st.DataObject) -> None:
    pkt = data.draw(ipv4_packets((kind,)))
    ours = make_siit().translate_v4(pkt)
    theirs = tayga.translate(pkt)
    assert compare(pkt, ours, theirs) == [], dissect(pkt).summary()


@pytest.mark.parametrize("kind", KINDS6)
@settings(max_examples=100)
@given(data=st.data())
def test_ipv6_to_ipv4_agrees_with_tayga(tayga: rig.Tayga, kind: str, data: st.DataObject) -> None:
    pkt = data.draw(ipv6_packets((kind,)))
    ours = make_siit().translate_v6(pkt)
    theirs = tayga.translate(pkt)
    assert compare(pkt, ours, theirs) == [], dissect(pkt).summary()


def test_the_rig_sees_tayga_translate(tayga: rig.Tayga) -> None:
    """The rig itself: a plain datagram comes back translated (so an empty answer in the
    property tests means tayga dropped, not that the rig is deaf)."""
    pkt = bytes(IP(src="198.51.100.7", dst=rig.MAP_V4) / UDP(sport=1, dport=2) / b"hello")
    (out,) = tayga.translate(pkt)
    v6 = IPv6(out)
    assert (v6.src, v6.dst, bytes(v6[UDP].payload)) == (
        str(make_siit().config.mapping.to_v6(IPv4Address("198.51.100.7"))),
        str(IPv6Address(rig.MAP_V6)),
        b"hello",
    )


def _icmpv4_errors() -> list[bytes]:
    """Every ICMPv4 error type and code RFC 7915 §4.2 names, the Parameter Problem
    pointers 0-23, and Fragmentation Needed with MTUs around the arithmetic's edges."""
    inner = IP(src=rig.MAP_V4, dst="198.51.100.7", ttl=3) / UDP(sport=4000, dport=53) / b"q?"
    out = []
    for t, codes in ((3, range(16)), (11, range(2)), (4, range(1)), (5, range(4))):
        for c in codes:
            out.append(ICMP(type=t, code=c))
    out += [ICMP(type=12, code=c, ptr=p) for c in (0, 1, 2) for p in range(24)]
    out += [ICMP(type=3, code=4, nexthopmtu=m) for m in (0, 68, 296, 1006, 1280, 1400, 8980, 9000)]
    return [bytes(IP(src="203.0.113.1", dst=rig.MAP_V4) / msg / inner) for msg in out]


def _icmpv6_errors() -> list[bytes]:
    """Every ICMPv6 error type and code RFC 7915 §5.2 names, pointers 0-43, Packet Too Big
    with MTUs around the arithmetic's edges."""
    from scapy.layers.inet6 import (
        ICMPv6DestUnreach,
        ICMPv6PacketTooBig,
        ICMPv6TimeExceeded,
    )

    peer6 = str(make_siit().config.mapping.to_v6(IPv4Address("198.51.100.7"), local=False))
    inner = IPv6(src=peer6, dst=rig.MAP_V6, hlim=3) / UDP(sport=53, dport=4000) / b"a!"
    msgs: list[Packet] = [ICMPv6DestUnreach(code=c) for c in range(8)]
    msgs += [ICMPv6TimeExceeded(code=c) for c in range(2)]
    msgs += [ICMPv6ParamProblem(code=c, ptr=p) for c in range(3) for p in range(44)]
    msgs += [ICMPv6PacketTooBig(mtu=m) for m in (0, 88, 1280, 1300, 1500, 9000, 9020, 65535)]
    return [bytes(IPv6(src=rig.MAP_V6, dst=peer6) / m / inner) for m in msgs]


def test_every_icmpv4_error_agrees_with_tayga(tayga: rig.Tayga) -> None:
    """RFC 7915 §4.2 table by table, each message through both translators."""
    wrong = {}
    for pkt in _icmpv4_errors():
        diffs = compare(pkt, make_siit().translate_v4(pkt), tayga.translate(pkt))
        if diffs:
            wrong[dissect(pkt)[ICMP].sprintf("%type% %code% ptr=%ptr% mtu=%nexthopmtu%")] = diffs
    assert wrong == {}


def test_every_icmpv6_error_agrees_with_tayga(tayga: rig.Tayga) -> None:
    """RFC 7915 §5.2 table by table, each message through both translators."""
    wrong = {}
    for pkt in _icmpv6_errors():
        diffs = compare(pkt, make_siit().translate_v6(pkt), tayga.translate(pkt))
        if diffs:
            wrong[bytes(IPv6(pkt).payload)[:8].hex()] = diffs
    assert wrong == {}
