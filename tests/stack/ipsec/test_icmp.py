"""RFC 4301 §6: ICMPv6 errors and IPsec, against a scapy peer whose SAs (scapy's own
``SecurityAssociation``) protect what it sends and open what tcpip6 sends.

The policy protects only UDP between tcpip6 (host b) and the peer, so an ICMPv6 error
matches no PROTECT entry by its own selectors: what decides is the packet it quotes.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from scapy.layers.inet import UDP
from scapy.layers.inet6 import (
    ICMPv6DestUnreach,
    ICMPv6PacketTooBig,
    IPerror6,
    IPv6,
    TCPerror,
    UDPerror,
)
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from tcpip6.apps.ipsec_config import IpsecConfigError, load_ipsec_file
from tcpip6.stack.ipsec import Action, AddressRange, Direction, Mode, SaTemplate, SpdEntry
from tcpip6.wire import ipv6 as wire_ipv6
from tests.stack.conftest import B_LL, Pair
from tests.stack.ipsec.helpers import ND_TYPES, SUITES, scapy_sa, tcpip6_sa

PEER_LL = "fe80::99"
PEER_MAC = bytes.fromhex("020000000099")
GCM = next(s for s in SUITES if s.encryption == "aes-gcm-16")


class Peer:
    """A NIC on the segment driven by scapy; b protects UDP between b and it."""

    def __init__(self, pair: Pair, *, clear_errors: bool) -> None:
        from ipaddress import IPv6Address

        self.pair = pair
        self.port = pair.world.segment("lan").attach(PEER_MAC)
        self.got: list[bytes] = []
        self.port.receiver = lambda frame, now: self.got.append(frame)
        peer = IPv6Address(PEER_LL)
        pair.ib.add_static_neighbor(peer, PEER_MAC)
        ipsec = pair.b.ipsec
        icmp = wire_ipv6.IPPROTO_ICMPV6
        for t in ND_TYPES:
            ipsec.add_policy(SpdEntry(f"nd-{t}", Action.BYPASS, next_layer=icmp, icmp_type=t))
        if clear_errors:  # routers' Destination Unreachable and Packet Too Big
            for t in (1, 2):
                ipsec.add_policy(SpdEntry(f"err-{t}", Action.BYPASS, next_layer=icmp, icmp_type=t))
        ipsec.add_policy(
            SpdEntry(
                "udp",
                Action.PROTECT,
                local=AddressRange(B_LL, B_LL),
                remote=AddressRange(peer, peer),
                next_layer=wire_ipv6.IPPROTO_UDP,
                protect=(SaTemplate(wire_ipv6.IPPROTO_ESP, "transport"),),
            )
        )
        ipsec.add_policy(SpdEntry("rest", Action.DISCARD))
        out, in_ = Direction.OUTBOUND, Direction.INBOUND
        ipsec.add_sa(tcpip6_sa(GCM, Mode.TRANSPORT, B_LL, peer, out, spi=0x2000, policy="udp"))
        ipsec.add_sa(tcpip6_sa(GCM, Mode.TRANSPORT, peer, B_LL, in_, spi=0x1000, policy="udp"))
        self.tx = scapy_sa(GCM, Mode.TRANSPORT, peer, B_LL, spi=0x1000)
        self.rx = scapy_sa(GCM, Mode.TRANSPORT, B_LL, peer, spi=0x2000)

    def inject(self, packet: IPv6, *, protect: bool) -> None:
        ip = bytes(self.tx.encrypt(packet)) if protect else bytes(packet)
        eth = Ether(dst=self.pair.ib.link.link_address, src=PEER_MAC, type=0x86DD)
        self.port.send_frame(bytes(eth) + ip)
        self.pair.world.run_for(0.5)

    def received(self) -> list[IPv6]:
        """What b sent the peer, opened with the peer's SA where it is ESP."""
        out = []
        for f in self.got:
            ip = IPv6(f[14:])
            if ip.nh == wire_ipv6.IPPROTO_ESP:
                out.append(IPv6(bytes(self.rx.decrypt(ip))))
            elif ip.nh == wire_ipv6.IPPROTO_ICMPV6 and ip.payload.type < 128:
                out.append(ip)
        return out

    def error(self, quoted: IPv6, kind: type = ICMPv6DestUnreach, **fields: int) -> IPv6:
        return IPv6(src=PEER_LL, dst=str(B_LL)) / kind(**fields) / quoted


def b_sent_to_peer(**fields: object) -> IPv6:
    return IPv6(**{"src": str(B_LL), "dst": PEER_LL, **fields})


def test_an_error_no_entry_lets_out_goes_on_the_return_traffics_sa(pair: Pair) -> None:
    """RFC 4301 §6.2: b's Port Unreachable about a UDP datagram that came through ESP
    matches only "rest" (DISCARD) by itself; it is sent on the SA of the UDP traffic."""
    peer = Peer(pair, clear_errors=False)
    peer.inject(IPv6(src=PEER_LL, dst=str(B_LL)) / UDP(sport=7000, dport=9) / b"hi", protect=True)
    (got,) = peer.received()
    assert got[ICMPv6DestUnreach].code == 4  # port unreachable
    assert got[IPerror6].src == PEER_LL and got[UDPerror].dport == 9
    c = pair.b.ipsec.counters
    assert (c.out_icmp_error_mapped, c.out_ok, c.out_discard_policy_drop) == (1, 1, 0)


def test_an_error_through_an_sa_must_quote_that_sas_traffic(pair: Pair) -> None:
    """RFC 4301 §6.2 at the receiver: an error that came through the UDP SA is accepted
    when it quotes b's UDP traffic to the peer, dropped when it quotes anything else."""
    peer = Peer(pair, clear_errors=False)
    udp = b_sent_to_peer() / UDP(sport=5000, dport=7000) / b"x"
    peer.inject(peer.error(udp, code=4), protect=True)
    errors = list(pair.b.icmpv6.errors_received)
    assert [(e.type, e.code) for e in errors] == [(1, 4)]
    tcp = b_sent_to_peer() / TCPerror(sport=5000, dport=7000)
    peer.inject(peer.error(tcp, code=4), protect=True)
    elsewhere = b_sent_to_peer(dst="fe80::77") / UDP(sport=5000, dport=7000)
    peer.inject(peer.error(elsewhere, code=4), protect=True)
    assert len(pair.b.icmpv6.errors_received) == 1
    c = pair.b.ipsec.counters
    assert (c.in_icmp_error_via_sa, c.in_icmp_payload_mismatch_drop) == (1, 2)
    sa = pair.b.ipsec.sad.inbound(0x1000, B_LL, wire_ipv6.IPPROTO_ESP)
    assert sa is not None and sa.counters.policy_mismatch == 2


def test_an_error_in_the_clear_about_protected_traffic_is_configurable(pair: Pair) -> None:
    """RFC 4301 §6.1.1: the SPD lets routers' errors in; one that quotes b's UDP to the
    peer in the clear cannot come from a router (which sees only ESP) and is discarded,
    unless the administrator accepts such errors. One about an ESP packet is a router's
    and is processed (a Packet Too Big for the path, RFC 4301 §8.2)."""
    peer = Peer(pair, clear_errors=True)
    udp = b_sent_to_peer() / UDP(sport=5000, dport=7000) / b"x"
    peer.inject(peer.error(udp, code=4), protect=False)
    assert list(pair.b.icmpv6.errors_received) == []
    assert pair.b.ipsec.counters.in_unprotected_icmp_error_drop == 1
    esp = b_sent_to_peer(nh=50) / Raw(bytes.fromhex("00002000000000050102030405060708"))
    peer.inject(peer.error(esp, ICMPv6PacketTooBig, mtu=1280), protect=False)
    assert [(e.type, e.parameter) for e in pair.b.icmpv6.errors_received] == [(2, 1280)]
    pair.b.ipsec.accept_unprotected_icmp_errors = True
    peer.inject(peer.error(udp, code=4), protect=False)
    assert [e.type for e in pair.b.icmpv6.errors_received] == [2, 1]
    assert pair.b.ipsec.counters.in_unprotected_icmp_error_drop == 1


@pytest.mark.parametrize(("value", "accept"), [(None, False), ("discard", False), ("accept", True)])
def test_the_choice_in_the_ipsec_file(tmp_path: Path, value: str | None, accept: bool) -> None:
    path = tmp_path / "ipsec.toml"
    line = "" if value is None else f'unprotected_icmp_errors = "{value}"\n'
    path.write_text(line + '[[policy]]\nname = "all"\naction = "bypass"\n')
    assert load_ipsec_file(path).accept_unprotected_icmp_errors is accept


def test_a_bad_choice_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "ipsec.toml"
    path.write_text('unprotected_icmp_errors = "maybe"\n')
    with pytest.raises(IpsecConfigError, match="unprotected_icmp_errors: 'maybe' is not"):
        load_ipsec_file(path)
