"""The correspondent node (RFC 6275 §9) against a mobile node made of scapy's MIPv6
layers: return routability, Binding Updates and their acknowledgements, route
optimisation both ways, Binding Errors, Binding Refresh Requests, expiry."""

from __future__ import annotations

from ipaddress import IPv6Address

import pytest
from scapy.layers import inet6 as s6
from scapy.packet import Raw

from tcpip6.stack.machines.binding_cache import BindingState
from tcpip6.wire import mobility as wire_mh
from tests.stack.mip6 import CN, COA1, COA2, HOME, MobileNode, correspondent


@pytest.fixture
def mn() -> MobileNode:
    return correspondent()


def ba_of(mn: MobileNode) -> list[tuple[int, int, int, bool, str | None, str]]:
    """(status, sequence, lifetime, has auth data, RH2 home address, IPv6 dst) per BA."""
    out = []
    for p in mn.take():
        if s6.MIP6MH_BA not in p:
            continue
        ba = p[s6.MIP6MH_BA]
        rh = p.getlayer(s6.IPv6ExtHdrRouting)
        home = None
        if rh is not None:
            assert (rh.type, rh.segleft, rh.len) == (2, 1, 2)
            home = str(rh.addresses[0])
        has_auth = b"\x05\x0c" in bytes(ba)[12:]
        out.append((ba.status, ba.seq, ba.mhtime, has_auth, home, p[s6.IPv6].dst))
    return out


def bind(mn: MobileNode, coa: IPv6Address = COA1, seq: int = 1, lifetime: int = 50) -> None:
    mn.return_routability(coa)
    mn.binding_update(coa, seq, lifetime)


def test_return_routability_then_binding_update_is_acknowledged(mn: MobileNode) -> None:
    bind(mn)
    # RFC 6275 §9.5.4: to the care-of address, the home address in a type 2 routing header.
    assert ba_of(mn) == [(0, 1, 50, True, str(HOME), str(COA1))]
    entry = mn.cn.cache.get(HOME)
    assert entry is not None and entry.care_of_address == COA1 and entry.sequence_number == 1
    assert entry.state is BindingState.BOUND and entry.lifetime == 200.0
    assert mn.cn.counters.bu_accepted == 1


def test_ba_authenticator_verifies_with_the_mobile_nodes_kbm(mn: MobileNode) -> None:
    from tests.stack.mip6 import authenticate, kbm

    mn.return_routability(COA1)
    mn.binding_update(COA1, 7, 10)
    (p,) = [p for p in mn.take() if s6.MIP6MH_BA in p]
    assert mn.home_token is not None
    key = kbm(mn.home_token[1], mn.care_of_tokens[COA1][1])
    ba = s6.MIP6MH_BA(bytes(p[s6.MIP6MH_BA]))
    redone = authenticate(ba, key, COA1, CN)
    assert redone.options[-1].authenticator == ba.options[-1].authenticator


def test_route_optimisation_both_ways(mn: MobileNode) -> None:
    bind(mn)
    mn.take()
    # The mobile node sends from its care-of address with a Home Address option: the
    # correspondent answers the home address, through the care-of address (RFC 6275 §9.3).
    hao = s6.IPv6ExtHdrDestOpt(options=[s6.HAO(hoa=str(HOME))])
    mn.send(s6.IPv6(src=str(COA1), dst=str(CN)) / hao / s6.ICMPv6EchoRequest(id=1, seq=9))
    (reply,) = mn.take()
    assert reply[s6.IPv6].dst == str(COA1)
    rh = reply[s6.IPv6ExtHdrRouting]
    assert (rh.type, rh.segleft, [str(a) for a in rh.addresses]) == (2, 1, [str(HOME)])
    assert reply[s6.ICMPv6EchoReply].seq == 9
    # scapy checks the ICMPv6 checksum over the final destination (RFC 8200 §8.1).
    raw = bytes(reply[s6.ICMPv6EchoReply])
    zeroed = raw[:2] + b"\x00\x00" + raw[4:]
    assert s6.in6_chksum(58, reply[s6.IPv6ExtHdrRouting], zeroed) == int.from_bytes(raw[2:4], "big")
    assert mn.cn.counters.hao_accepted == 1 and mn.cn.counters.route_optimised == 1


def test_home_address_option_without_binding_gets_binding_error(mn: MobileNode) -> None:
    hao = s6.IPv6ExtHdrDestOpt(options=[s6.HAO(hoa=str(HOME))])
    for seq in (1, 2):
        mn.send(s6.IPv6(src=str(COA1), dst=str(CN)) / hao / s6.ICMPv6EchoRequest(seq=seq))
    out = mn.take()
    # RFC 6275 §9.3.1: dropped; Binding Error status 1 to the source, rate-limited.
    assert [p[s6.IPv6].dst for p in out] == [str(COA1)]
    be = out[0][s6.MIP6MH_BE]
    assert (be.status, be.ha) == (1, str(HOME))
    c = mn.cn.counters
    assert (c.hao_no_binding_drop, c.be_sent, c.be_rate_limited) == (2, 1, 1)
    mn.world.run_for(1.0)
    mn.send(s6.IPv6(src=str(COA1), dst=str(CN)) / hao / s6.ICMPv6EchoRequest(seq=3))
    assert len(mn.mh(s6.MIP6MH_BE)) == 1


def test_hao_from_another_care_of_address_is_refused(mn: MobileNode) -> None:
    bind(mn)
    mn.take()
    hao = s6.IPv6ExtHdrDestOpt(options=[s6.HAO(hoa=str(HOME))])
    mn.send(s6.IPv6(src=str(COA2), dst=str(CN)) / hao / s6.ICMPv6EchoRequest(seq=1))
    (be,) = mn.mh(s6.MIP6MH_BE)
    assert be.status == 1


def test_bad_authenticator_is_silently_discarded(mn: MobileNode) -> None:
    mn.return_routability(COA1)
    mn.binding_update(COA1, 1, 50, bad_auth=True)
    assert mn.take() == [] and mn.cn.cache.get(HOME) is None
    assert mn.cn.counters.bu_authenticator_drop == 1


def test_old_sequence_number_gets_135_with_the_last_accepted(mn: MobileNode) -> None:
    bind(mn, seq=100)
    mn.take()
    mn.binding_update(COA1, 100, 50)
    mn.binding_update(COA1, (100 - 0x8000) % 0x10000, 50)  # half the space behind
    assert [(s, q) for s, q, *_ in ba_of(mn)] == [(135, 100), (135, 100)]
    entry = mn.cn.cache.get(HOME)
    assert entry is not None and entry.state is BindingState.BOUND


def test_sequence_number_wraps(mn: MobileNode) -> None:
    bind(mn, seq=0xFFFF)
    mn.binding_update(COA1, 0, 50)  # 0 is greater than 65535 (RFC 6275 §9.5.1)
    assert [(s, q) for s, q, *_ in ba_of(mn)] == [(0, 0xFFFF), (0, 0)]


def test_lifetime_is_cut_to_max_rr_binding_lifetime(mn: MobileNode) -> None:
    bind(mn, lifetime=0xFFFF)
    # RFC 6275 §9.5.2 / RFC 6275 §12: at most MAX_RR_BINDING_LIFETIME (420 s = 105 units).
    assert [(s, t) for s, _, t, *_ in ba_of(mn)] == [(0, 105)]
    entry = mn.cn.cache.get(HOME)
    assert entry is not None and entry.lifetime == 420.0


def test_expired_nonces(mn: MobileNode) -> None:
    mn.return_routability(COA1)
    mn.world.run_for(241.0)  # MAX_NONCE_LIFETIME
    mn.take()
    mn.binding_update(COA1, 1, 10)
    assert [(s, a) for s, _, _, a, *_ in ba_of(mn)] == [(138, False)]
    # A fresh care-of nonce, the old home nonce: 136.
    mn.send(s6.IPv6(src=str(COA1), dst=str(CN)) / s6.MIP6MH_CoTI(cookie=b"coacook!"))
    (cot,) = mn.mh(s6.MIP6MH_CoT)
    mn.care_of_tokens[COA1] = (cot.index, bytes(cot.token))
    mn.binding_update(COA1, 1, 10)
    assert [s for s, *_ in ba_of(mn)] == [136]
    # An unknown care-of nonce index with a fresh home nonce: 137.
    mn.return_routability(COA1)
    mn.binding_update(COA1, 1, 10, care_of_index=(mn.care_of_tokens[COA1][0] + 5) % 65536)
    assert [s for s, *_ in ba_of(mn)] == [137]


def test_home_registration_is_refused(mn: MobileNode) -> None:
    mn.return_routability(COA1)
    bu = s6.MIP6MH_BU(seq=1, flags="AH", mhtime=10)
    hao = s6.IPv6ExtHdrDestOpt(options=[s6.HAO(hoa=str(HOME))])
    mn.send(s6.IPv6(src=str(COA1), dst=str(CN)) / hao / bu)
    assert [s for s, *_ in ba_of(mn)] == [131]


def test_deregistration_removes_the_binding(mn: MobileNode) -> None:
    bind(mn)
    mn.take()
    mn.binding_update(COA1, 2, 0)
    assert [(s, q, t) for s, q, t, *_ in ba_of(mn)] == [(0, 2, 0)]
    assert mn.cn.cache.get(HOME) is None
    # Back home (care-of address = home address, RFC 6275 §9.5.1): also a deregistration.
    bind(mn, seq=3)
    mn.take()
    mn.binding_update(HOME, 4, 10)
    (ba,) = ba_of(mn)
    assert ba[:3] == (0, 4, 0) and ba[4:] == (None, str(HOME))
    assert mn.cn.cache.get(HOME) is None and mn.cn.counters.deregistrations == 2


def test_binding_refresh_request_then_expiry(mn: MobileNode) -> None:
    bind(mn, lifetime=25)  # 100 s
    mn.take()
    mn.cn_host.ipv6.send(HOME, 59, b"", mn.world.now)  # the binding is used
    mn.world.run_for(0.01)
    mn.take()
    mn.world.run_for(69.0)
    assert mn.refresh_requests == []
    mn.world.run_for(2.0)  # 30 s before the end (RFC 6275 §9.5.5)
    (brr,) = mn.refresh_requests
    assert s6.MIP6MH_BRR in brr and brr[s6.IPv6].dst == str(COA1)
    assert brr[s6.IPv6ExtHdrRouting].addresses == [str(HOME)]
    entry = mn.cn.cache.get(HOME)
    assert entry is not None and entry.state is BindingState.REFRESH_REQUESTED
    mn.world.run_for(30.0)
    assert mn.cn.cache.get(HOME) is None and mn.cn.counters.bindings_expired == 1


def test_refresh_after_request_returns_to_bound(mn: MobileNode) -> None:
    bind(mn, lifetime=25)
    mn.cn_host.ipv6.send(HOME, 59, b"", mn.world.now)
    mn.world.run_for(71.0)
    mn.take()
    mn.return_routability(COA2)
    mn.binding_update(COA2, 2, 25)
    entry = mn.cn.cache.get(HOME)
    assert entry is not None and entry.state is BindingState.BOUND
    assert entry.care_of_address == COA2


def test_binding_cache_is_bounded(mn: MobileNode) -> None:
    small = correspondent(capacity=0)
    bind(small)
    assert [s for s, *_ in ba_of(small)] == [130]
    assert small.cn.counters.bu_no_room_refused == 1


def test_mobility_header_checks(mn: MobileNode) -> None:
    # RFC 6275 §9.2: Payload Proto not 59: Parameter Problem code 0 at that field.
    mn.send(s6.IPv6(src=str(COA1), dst=str(CN)) / s6.MIP6MH_BRR(nh=6))
    (pp,) = mn.take()
    err = pp[s6.ICMPv6ParamProblem]
    assert (err.code, err.ptr) == (0, 40)
    # Header Len shorter than a Binding Update: Parameter Problem pointing at Header Len.
    mn.send(s6.IPv6(src=str(COA1), dst=str(CN), nh=135) / Raw(bytes([59, 0, 5, 0, 0, 0, 0, 0])))
    (pp,) = mn.take()
    assert (pp[s6.ICMPv6ParamProblem].code, pp[s6.ICMPv6ParamProblem].ptr) == (0, 41)
    # Unknown MH Type: Binding Error status 2.
    mn.send(s6.IPv6(src=str(COA1), dst=str(CN)) / s6.MIP6MH_Generic(mhtype=200, msg=b"\x00" * 2))
    (be,) = mn.mh(s6.MIP6MH_BE)
    assert be.status == wire_mh.BE_UNRECOGNIZED_MH_TYPE
    # A bad checksum: silently discarded.
    raw = bytearray(bytes(s6.IPv6(src=str(COA1), dst=str(CN)) / s6.MIP6MH_HoTI()))
    raw[-1] ^= 1
    mn.send(s6.IPv6(bytes(raw)))
    assert mn.take() == []
    c = mn.cn.counters
    assert (c.mh_payload_proto_drop, c.mh_header_len_drop, c.mh_unknown_type_drop) == (1, 1, 1)
    assert c.mh_checksum_drop == 1 and mn.cn_host.internal_errors == 0


def test_hoti_with_home_address_option_is_dropped(mn: MobileNode) -> None:
    # RFC 6275 §9.4.1: a Home Test Init never carries a Home Address option (without a
    # binding the option alone earns a Binding Error, RFC 6275 §9.3.1).
    bind(mn)
    mn.take()
    hao = s6.IPv6ExtHdrDestOpt(options=[s6.HAO(hoa=str(HOME))])
    mn.send(s6.IPv6(src=str(COA1), dst=str(CN)) / hao / s6.MIP6MH_HoTI(cookie=b"12345678"))
    assert mn.take() == [] and mn.cn.counters.test_init_with_hao_drop == 1


def test_unused_binding_expires_without_a_refresh_request(mn: MobileNode) -> None:
    bind(mn, lifetime=5)  # 20 s, never used: no Binding Refresh Request (RFC 6275 §9.5.5)
    mn.take()
    mn.world.run_for(20.0)
    assert mn.take() == [] and mn.refresh_requests == [] and mn.cn.cache.get(HOME) is None
    assert (mn.cn.counters.bindings_expired, mn.cn.counters.brr_sent) == (1, 0)


def test_deregistration_after_a_refresh_request(mn: MobileNode) -> None:
    bind(mn, lifetime=25)
    mn.cn_host.ipv6.send(HOME, 59, b"", mn.world.now)
    mn.world.run_for(71.0)
    entry = mn.cn.cache.get(HOME)
    assert entry is not None and entry.state is BindingState.REFRESH_REQUESTED
    mn.take()
    mn.return_routability(COA1)
    mn.binding_update(COA1, 2, 0)
    assert mn.cn.cache.get(HOME) is None and entry.state is BindingState.DEREGISTERED
