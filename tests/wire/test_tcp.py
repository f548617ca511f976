"""The TCP header and options, checked against scapy."""

from __future__ import annotations

import contextlib
import dataclasses
from ipaddress import IPv6Address
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scapy.layers.inet import TCP
from scapy.layers.inet6 import IPv6

from tcpip6.wire import ChecksumError, WireError
from tcpip6.wire import tcp as wt
from tcpip6.wire.ipv6 import IPPROTO_TCP
from tests.wire.strategies import ipv6_addresses, mutations
from tests.wire.strategies_transport import tcp_option, tcp_segments, with_checksum

SRC = IPv6Address("2001:db8::1")
DST = IPv6Address("2001:db8::2")


def scapy_option(o: wt.TcpOption) -> tuple[Any, Any]:
    if isinstance(o, wt.EndOfOptions):
        return ("EOL", None)
    if isinstance(o, wt.NoOperation):
        return ("NOP", None)
    if isinstance(o, wt.MaxSegmentSize):
        return ("MSS", o.mss)
    if isinstance(o, wt.WindowScale):
        return ("WScale", o.shift)
    if isinstance(o, wt.SackPermitted):
        return ("SAckOK", b"")
    if isinstance(o, wt.Sack):
        return ("SAck", tuple(edge for block in o.blocks for edge in block))
    if isinstance(o, wt.Timestamps):
        return ("Timestamp", (o.tsval, o.tsecr))
    return (o.kind, o.data)


def scapy_segment(seg: wt.TcpSegment, src: IPv6Address, dst: IPv6Address) -> Any:
    # scapy splits the four reserved bits: three "reserved" and the last as a ninth flag
    # bit (the old NS bit, now AE).
    return (
        IPv6(src=str(src), dst=str(dst))
        / TCP(
            sport=seg.src_port,
            dport=seg.dst_port,
            seq=seg.seq,
            ack=seg.ack,
            reserved=seg.reserved >> 1,
            flags=seg.flags | ((seg.reserved & 1) << 8),
            window=seg.window,
            urgptr=seg.urgent,
            options=[scapy_option(o) for o in seg.options],
        )
        / seg.payload
    )


def up_to_first_eol(options: tuple[wt.TcpOption, ...]) -> tuple[wt.TcpOption, ...]:
    """scapy's reading of an options area: the list ends at the first End of Option List."""
    for i, o in enumerate(options):
        if isinstance(o, wt.EndOfOptions):
            return options[: i + 1]
    return options


@given(tcp_segments, ipv6_addresses, ipv6_addresses)
def test_round_trip(seg: wt.TcpSegment, src: IPv6Address, dst: IPv6Address) -> None:
    raw = seg.build(src, dst)
    assert len(raw) == seg.buffer_len() and seg.header_len % 4 == 0
    assert wt.TcpSegment.parse(raw, src, dst) == seg


@given(tcp_segments)
def test_matches_scapy(seg: wt.TcpSegment) -> None:
    pkt = scapy_segment(seg, SRC, DST)
    theirs = bytes(pkt)[40:]
    # scapy computes the checksum over the IPv6 pseudo-header: all octets must agree.
    assert seg.build(SRC, DST) == theirs
    assert wt.TcpSegment.parse(theirs, SRC, DST) == seg
    d = IPv6(bytes(pkt))[TCP]
    assert (d.sport, d.dport, d.seq, d.ack, d.window, d.urgptr) == (
        seg.src_port,
        seg.dst_port,
        seg.seq,
        seg.ack,
        seg.window,
        seg.urgent,
    )
    assert (d.dataofs * 4, (d.reserved << 1) | (int(d.flags) >> 8), int(d.flags) & 0xFF) == (
        seg.header_len,
        seg.reserved,
        seg.flags,
    )
    assert d.chksum == int.from_bytes(theirs[16:18], "big")
    assert d.options == [scapy_option(o) for o in up_to_first_eol(seg.options)]
    assert bytes(d.payload) == seg.payload


def test_linux_syn_options_match_scapy() -> None:
    # The SYN options Linux sends: MSS, SACK permitted, timestamps, NOP, window scale.
    options = (
        wt.MaxSegmentSize(1440),
        wt.SackPermitted(),
        wt.Timestamps(123456, 0),
        wt.NoOperation(),
        wt.WindowScale(7),
    )
    seg = wt.TcpSegment(40000, 80, 1, 0, wt.SYN, 64800, options=options)
    raw = seg.build(SRC, DST)
    assert seg.header_len == 40 and raw[12] >> 4 == 10
    assert raw == bytes(scapy_segment(seg, SRC, DST))[40:]
    parsed = wt.TcpSegment.parse(raw, SRC, DST)
    assert parsed == seg
    assert parsed.option(wt.MaxSegmentSize) == wt.MaxSegmentSize(1440)
    assert parsed.option(wt.WindowScale) == wt.WindowScale(7)
    assert parsed.option(wt.Sack) is None
    assert parsed.seg_len == 1


@given(st.lists(tcp_option, max_size=4))
def test_unpadded_options_come_back_padded(options: list[wt.TcpOption]) -> None:
    """Emit pads with zero octets; parse reads them as End of Option List: what comes
    back is pad_options of what went in."""
    opts = tuple(options)
    if wt.options_len(wt.pad_options(opts)) > wt.MAX_OPTIONS_LEN:
        return
    seg = wt.TcpSegment(1, 2, 3, 4, wt.ACK, 5, options=opts)
    parsed = wt.TcpSegment.parse(seg.build(SRC, DST), SRC, DST)
    assert parsed.options == wt.pad_options(opts)
    assert parsed.build(SRC, DST) == seg.build(SRC, DST)


def test_padding_after_eol_is_read_as_eol() -> None:
    seg = wt.TcpSegment(1, 2, 3, 4, wt.ACK, 5, options=(wt.WindowScale(2),))
    raw = bytearray(seg.build(SRC, DST))
    raw[20:24] = bytes.fromhex("030302 00")
    assert wt.TcpSegment.parse(bytes(raw), SRC, DST).options == (
        wt.WindowScale(2),
        wt.EndOfOptions(),
    )
    assert wt.parse_options(bytes.fromhex("00 02 04 05")) == (wt.EndOfOptions(),) * 4


# -- rules ------------------------------------------------------------------------------
def test_bad_checksum() -> None:
    raw = bytearray(wt.TcpSegment(1, 2, 3, 4, wt.SYN, 100, payload=b"data").build(SRC, DST))
    raw[-1] ^= 0x01
    with pytest.raises(ChecksumError):
        wt.TcpSegment.parse(bytes(raw), SRC, DST)


@pytest.mark.parametrize("words", [0, 4, 6])
def test_data_offset_checked(words: int) -> None:
    raw = bytearray(wt.TcpSegment(1, 2, 3, 4, wt.SYN, 100).build(SRC, DST))
    raw[12] = words << 4  # below 5, or beyond the 20 octets present
    raw = bytearray(with_checksum(bytes(raw), 16, SRC, DST, IPPROTO_TCP))
    with pytest.raises(WireError) as info:
        wt.TcpSegment.parse(bytes(raw), SRC, DST)
    assert not isinstance(info.value, ChecksumError)


@pytest.mark.parametrize(
    "options",
    [
        "0203 05b4",  # MSS with length 3
        "0400 0000",  # SACK permitted with length 0
        "0801 0000",  # length 1
        "0202 0000",  # MSS with length 2
        "050e 00000001 00000002 00000003",  # SACK of 14 octets: not 8n + 2
        "0502 0000",  # SACK with no block
        "0102 0304 0506 0708 0909",  # last option runs past the area
    ],
)
def test_malformed_options(options: str) -> None:
    area = bytes.fromhex(options)
    area += b"\x00" * (-len(area) % 4)
    with pytest.raises(WireError):
        wt.parse_options(area)
    seg = wt.TcpSegment(1, 2, 3, 4, wt.ACK, 5, options=(wt.EndOfOptions(),) * len(area))
    raw = bytearray(seg.build(SRC, DST))
    raw[20 : 20 + len(area)] = area
    with pytest.raises(WireError):
        wt.TcpSegment.parse(with_checksum(bytes(raw), 16, SRC, DST, IPPROTO_TCP), SRC, DST)


def test_unknown_option_kept() -> None:
    options = wt.pad_options((wt.UnknownTcpOption(30, b"\x00\x81"), wt.NoOperation()))
    seg = wt.TcpSegment(1, 2, 3, 4, wt.ACK, 5, options=options)
    assert wt.TcpSegment.parse(seg.build(SRC, DST), SRC, DST).options == options


def test_too_many_options_refused_on_emit() -> None:
    options = (wt.Sack(((1, 2),) * 4), wt.Timestamps(1, 2))
    with pytest.raises(ValueError):
        wt.TcpSegment(1, 2, 3, 4, wt.ACK, 5, options=options).build(SRC, DST)


def test_flags() -> None:
    # tcpdump's letters in tcpdump's order: F S R P . U E W.
    assert wt.format_flags(wt.SYN | wt.ACK) == "S."
    assert wt.format_flags(wt.FIN | wt.PSH | wt.ACK) == "FP."
    assert wt.format_flags(wt.SYN | wt.ACK | wt.ECE) == "S.E"
    assert wt.format_flags(wt.SYN | wt.ECE | wt.CWR) == "SEW"
    assert wt.format_flags(0) == "none"
    assert wt.Flags(wt.SYN | wt.ACK) == wt.Flags.SYN | wt.Flags.ACK
    assert [f.value for f in wt.Flags] == [1, 2, 4, 8, 16, 32, 64, 128]


def test_seg_len_counts_syn_and_fin() -> None:
    # RFC 9293 §3.4: SEG.LEN includes SYN and FIN.
    assert wt.TcpSegment(1, 2, 3, 4, wt.SYN | wt.FIN, 5, payload=b"abc").seg_len == 5
    assert wt.TcpSegment(1, 2, 3, 4, wt.ACK, 5).seg_len == 0


# -- robustness -------------------------------------------------------------------------
def parse_all(data: bytes) -> None:
    with contextlib.suppress(WireError):
        wt.TcpSegment.parse(data, SRC, DST)
    with contextlib.suppress(WireError):
        wt.parse_options(data)


@given(st.binary(max_size=80))
def test_arbitrary_bytes_raise_only_wire_error(data: bytes) -> None:
    parse_all(data)
    parse_all(with_checksum(data, 16, SRC, DST, IPPROTO_TCP))


@given(tcp_segments.flatmap(lambda s: mutations(s.build(SRC, DST))))
def test_mutated_raise_only_wire_error(data: bytes) -> None:
    parse_all(data)
    # With the checksum made right again, the mutation reaches the offset and options.
    parse_all(with_checksum(data, 16, SRC, DST, IPPROTO_TCP))


@given(tcp_segments, ipv6_addresses, ipv6_addresses, st.integers(min_value=0, max_value=7))
def test_emit_at_an_offset_writes_what_build_returns(
    seg: wt.TcpSegment, src: IPv6Address, dst: IPv6Address, off: int
) -> None:
    buf = bytearray(b"\xee" * (off + seg.buffer_len()))
    seg.emit(buf, src, dst, off)
    assert buf[:off] == b"\xee" * off and bytes(buf[off:]) == seg.build(src, dst)


@given(tcp_segments, st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1))
def test_timestamp_layout_matches_scapy(seg: wt.TcpSegment, tsval: int, tsecr: int) -> None:
    """NOP, NOP, Timestamps (RFC 7323 Appendix A), which build encodes and parse reads
    by a shorter path: the octets scapy writes, and every option found as the general
    loop over the options finds it."""
    seg = dataclasses.replace(seg, options=wt.timestamp_options(tsval, tsecr))
    theirs = bytes(scapy_segment(seg, SRC, DST))[40:]
    assert seg.build(SRC, DST) == theirs
    parsed = wt.TcpSegment.parse(theirs, SRC, DST)
    assert parsed == seg
    for cls in (wt.NoOperation, wt.Timestamps, wt.Sack, wt.MaxSegmentSize, wt.EndOfOptions):
        first = next((o for o in parsed.options if isinstance(o, cls)), None)
        assert parsed.option(cls) == first and seg.option(cls) == first
