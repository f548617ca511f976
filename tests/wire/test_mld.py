"""MLDv1 (RFC 2710 §3) and MLDv2 (RFC 3810 §5) messages, with scapy as the oracle."""

from __future__ import annotations

from ipaddress import IPv6Address
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scapy.layers import inet6 as s6
from scapy.packet import Packet, Raw

from tcpip6.wire import ChecksumError, WireError
from tcpip6.wire import icmpv6 as wi
from tcpip6.wire import mld as wm
from tests.wire import strategies_icmp as si
from tests.wire.strategies import ipv6_addresses

SRC, DST = si.SRC, si.DST
ALL_MLDV2_ROUTERS = IPv6Address("ff02::16")


def scapy_icmp(layer: Packet, src: IPv6Address, dst: IPv6Address) -> bytes:
    return bytes(s6.IPv6(src=str(src), dst=str(dst)) / layer)[40:]


def check_oracle(msg: Any, theirs: Packet, src: IPv6Address, dst: IPv6Address) -> None:
    """Our octets are scapy's, and scapy's octets parse to our value."""
    raw = scapy_icmp(theirs, src, dst)
    assert msg.build(src, dst) == raw
    assert wi.parse_icmpv6(raw, src, dst) == msg
    assert wm.parse_mld(raw, src, dst) == msg


def scapy_dissect(icmp: bytes) -> Packet:
    return s6.IPv6(bytes(s6.IPv6(src=str(SRC), dst=str(DST), nh=58, plen=len(icmp))) + icmp)


def scapy_record(r: wm.MulticastAddressRecord) -> Packet:
    return s6.ICMPv6MLDMultAddrRec(
        rtype=r.record_type,
        # scapy's default Aux Data Len counts octets; RFC 3810 §5.2.6 counts 32-bit words.
        auxdata_len=len(r.aux_data) // 4,
        dst=str(r.multicast_address),
        sources=[str(a) for a in r.sources],
        auxdata=r.aux_data,
    )


# -- MLDv1 --------------------------------------------------------------------------------
@given(si.mld_queries, ipv6_addresses, ipv6_addresses)
def test_query_matches_scapy(m: wm.MldQuery, src: IPv6Address, dst: IPv6Address) -> None:
    theirs = s6.ICMPv6MLQuery(
        code=m.code, mrd=m.max_response_delay, reserved=m.reserved, mladdr=str(m.multicast_address)
    )
    check_oracle(m, theirs, src, dst)


@given(st.one_of(si.mld_reports, si.mld_dones), ipv6_addresses, ipv6_addresses)
def test_report_and_done_match_scapy(
    m: wm.MldReport | wm.MldDone, src: IPv6Address, dst: IPv6Address
) -> None:
    cls = s6.ICMPv6MLReport if isinstance(m, wm.MldReport) else s6.ICMPv6MLDone
    theirs = cls(
        code=m.code, mrd=m.max_response_delay, reserved=m.reserved, mladdr=str(m.multicast_address)
    )
    check_oracle(m, theirs / Raw(m.additional_data), src, dst)


def test_general_and_specific_queries() -> None:
    general = wm.MldQuery(IPv6Address("::"), 10000)
    specific = wm.MldQuery(IPv6Address("ff02::1:ff00:1"), 1000)
    assert general.is_general and not specific.is_general
    theirs = scapy_dissect(specific.build(SRC, DST))[s6.ICMPv6MLQuery]
    assert (theirs.mrd, theirs.mladdr) == (1000, "ff02::1:ff00:1")


def test_v1_report_ignores_and_keeps_later_fields() -> None:
    # RFC 2710 §3: anything past the first 24 octets is ignored.
    base = wm.MldReport(IPv6Address("ff02::1:3"), 0)
    raw = si.resum(base.build(SRC, DST) + b"future")
    parsed = wi.parse_icmpv6(raw, SRC, DST)
    assert isinstance(parsed, wm.MldReport)
    assert parsed.multicast_address == base.multicast_address
    assert parsed.additional_data == b"future"


@pytest.mark.parametrize("cls", [wm.MldReport, wm.MldDone])
def test_truncated_v1_messages(cls: Any) -> None:
    raw = cls(IPv6Address("ff02::1:3")).build(SRC, DST)
    for n in range(4, 24):
        with pytest.raises(WireError):
            wi.parse_icmpv6(si.resum(raw[:n]), SRC, DST)


# -- RFC 3810 §8.1: the query version by length --------------------------------------------
def _query_of(length: int) -> bytes:
    raw = wm.MldQuery(IPv6Address("ff02::1:3"), 100).build(SRC, DST)
    return si.resum((raw + bytes(length))[:length])


@pytest.mark.parametrize("length", [25, 26, 27])
def test_query_of_25_to_27_octets_is_invalid(length: int) -> None:
    with pytest.raises(WireError):
        wi.parse_icmpv6(_query_of(length), SRC, DST)
    with pytest.raises(WireError):
        wm.parse_query(_query_of(length))


def test_query_versions_by_length() -> None:
    assert isinstance(wi.parse_icmpv6(_query_of(24), SRC, DST), wm.MldQuery)
    v2 = wi.parse_icmpv6(_query_of(28), SRC, DST)
    assert v2 == wm.MldV2Query(IPv6Address("ff02::1:3"), 100)
    for n in range(4, 24):
        with pytest.raises(WireError):
            wi.parse_icmpv6(_query_of(n), SRC, DST)
    # The classes themselves keep to their own length.
    with pytest.raises(WireError):
        wm.MldQuery.parse(_query_of(28), SRC, DST)
    with pytest.raises(WireError):
        wm.MldV2Query.parse(_query_of(24), SRC, DST)


# -- MLDv2 --------------------------------------------------------------------------------
@given(si.mldv2_queries, ipv6_addresses, ipv6_addresses)
def test_v2_query_matches_scapy(m: wm.MldV2Query, src: IPv6Address, dst: IPv6Address) -> None:
    theirs = s6.ICMPv6MLQuery2(
        code=m.code,
        mrd=m.max_response_code,
        reserved=m.reserved,
        mladdr=str(m.multicast_address),
        Resv=m.resv_bits,
        S=int(m.s_flag),
        QRV=m.qrv,
        QQIC=m.qqic,
        sources=[str(a) for a in m.sources],
    )
    check_oracle(m, theirs / Raw(m.additional_data), src, dst)


@given(si.mldv2_reports, ipv6_addresses)
def test_v2_report_matches_scapy(m: wm.MldV2Report, src: IPv6Address) -> None:
    theirs = s6.ICMPv6MLReport2(
        res=m.code, reserved=m.reserved, records=[scapy_record(r) for r in m.records]
    )
    check_oracle(m, theirs / Raw(m.additional_data), src, ALL_MLDV2_ROUTERS)


@given(si.records)
def test_record_round_trip_and_scapy(r: wm.MulticastAddressRecord) -> None:
    raw = r.build()
    assert len(raw) == r.buffer_len()
    assert wm.MulticastAddressRecord.parse(raw + b"tail") == r
    assert raw == bytes(scapy_record(r))


def test_scapy_reads_our_v2_messages() -> None:
    q = wm.MldV2Query(IPv6Address("ff02::db8"), 0x8123, True, 2, 125, (IPv6Address("2001:db8::1"),))
    theirs = scapy_dissect(q.build(SRC, DST))[s6.ICMPv6MLQuery2]
    assert (theirs.mrd, theirs.S, theirs.QRV, theirs.QQIC) == (0x8123, 1, 2, 125)
    assert (theirs.mladdr, theirs.sources) == ("ff02::db8", ["2001:db8::1"])
    rec = wm.MulticastAddressRecord(
        wm.CHANGE_TO_EXCLUDE_MODE, IPv6Address("ff05::1:3"), (IPv6Address("2001:db8::2"),)
    )
    report = scapy_dissect(wm.MldV2Report((rec,)).build(SRC, DST))[s6.ICMPv6MLReport2]
    assert report.records_number == 1
    (theirs_rec,) = report.records
    assert (theirs_rec.rtype, theirs_rec.dst, theirs_rec.sources) == (
        4,
        "ff05::1:3",
        ["2001:db8::2"],
    )


def test_decoded_response_code_and_query_interval() -> None:
    # RFC 3810 §5.1.3: below 32768 the code is the delay; above, a floating-point value
    # whose largest is 8387584 ms. The QQIC likewise, up to 31744 seconds.
    assert [wm.decode_max_response_code(c) for c in (0, 10000, 32767, 0x8000, 0xFFFF)] == [
        0,
        10000,
        32767,
        32768,
        8387584,
    ]
    assert [wm.decode_qqic(c) for c in (0, 125, 127, 0x80, 0xFF)] == [0, 125, 127, 128, 31744]
    q = wm.MldV2Query(IPv6Address("::"), 0x8001, qqic=0x81)
    assert (q.max_response_delay, q.query_interval) == (32776, 136)


def test_v2_query_sources_beyond_the_message() -> None:
    raw = bytearray(wm.MldV2Query(IPv6Address("::"), sources=(IPv6Address("::1"),)).build(SRC, DST))
    raw[26:28] = (2).to_bytes(2, "big")
    with pytest.raises(WireError):
        wi.parse_icmpv6(si.resum(bytes(raw)), SRC, DST)


def test_v2_query_additional_data_is_kept() -> None:
    # RFC 3810 §5.1: octets after the sources are checksummed, otherwise ignored.
    q = wm.MldV2Query(IPv6Address("ff02::1:3"), 1000, additional_data=b"\x01\x02")
    raw = q.build(SRC, DST)
    assert len(raw) == 30 and wi.parse_icmpv6(raw, SRC, DST) == q
    with pytest.raises(ChecksumError):
        wi.parse_icmpv6(raw[:-1] + b"\x03", SRC, DST)


def test_v2_report_records_beyond_the_message() -> None:
    rec = wm.MulticastAddressRecord(
        wm.MODE_IS_EXCLUDE, IPv6Address("ff02::1:3"), (IPv6Address("::1"),), b"abcd"
    )
    raw = wm.MldV2Report((rec,)).build(SRC, ALL_MLDV2_ROUTERS)
    for cut in (8 + 19, 8 + 20 + 15, len(raw) - 1):
        with pytest.raises(WireError):
            wi.parse_icmpv6(si.resum(raw[:cut], dst=ALL_MLDV2_ROUTERS), SRC, ALL_MLDV2_ROUTERS)
    more = bytearray(raw)
    more[7] = 2  # two records announced, one present
    with pytest.raises(WireError):
        wi.parse_icmpv6(si.resum(bytes(more), dst=ALL_MLDV2_ROUTERS), SRC, ALL_MLDV2_ROUTERS)


def test_aux_data_must_be_whole_words() -> None:
    with pytest.raises(ValueError):
        wm.MulticastAddressRecord(1, IPv6Address("ff02::1:3"), aux_data=b"abc").build()


def test_parse_mld_rejects_other_types() -> None:
    with pytest.raises(WireError):
        wm.parse_mld(wi.EchoRequest(1, 1).build(SRC, DST), SRC, DST)
