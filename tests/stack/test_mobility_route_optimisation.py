"""The mobile node's return routability and route optimisation (RFC 6275 §11.6, RFC 6275
§11.7.2) against a correspondent built in this test from scapy's Mobile IPv6 layers: it
computes its keygen tokens, Kbm and Authenticators with its own HMAC code (RFC 6275 §5.2.5,
RFC 6275 §5.2.6), checks the mobile node's Binding Updates and answers them. The mobile
node and its home agent are tcpip6."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from ipaddress import IPv6Address, IPv6Network
from typing import Any

from scapy.layers import inet6 as s6
from scapy.layers.l2 import Ether
from scapy.packet import Packet

from tcpip6.apps.demo_mobility import move
from tcpip6.io.sim import SimWorld
from tcpip6.stack.host import Host
from tcpip6.stack.interface import Interface
from tcpip6.stack.machines.correspondent_registration import CorrespondentRegistrationState
from tcpip6.stack.mobility.home_agent import enable_home_agent
from tcpip6.stack.mobility.mobile_node import MobileNode, enable_mobile_node
from tcpip6.wire import icmpv6 as wire_icmp
from tcpip6.wire.ipv6 import IPPROTO_ICMPV6

S = CorrespondentRegistrationState
HOME = IPv6Network("2001:db8:10::/64")
VISIT1 = IPv6Network("2001:db8:20::/64")
VISIT2 = IPv6Network("2001:db8:30::/64")
CNNET = IPv6Network("2001:db8:40::/64")
HOA = HOME[0x100]
CN = CNNET[0xC]
CN_MAC = "02:00:00:00:cc:01"
KCN = bytes(range(20))


def _first(bits: int, data: bytes) -> bytes:
    return data[: bits // 8]


def keygen_token(address: str, nonce: bytes, which: int) -> bytes:
    """RFC 6275 §5.2.5: First(64, HMAC_SHA1(Kcn, (address | nonce | 0 or 1)))."""
    data = IPv6Address(address).packed + nonce + bytes([which])
    return _first(64, hmac.new(KCN, data, hashlib.sha1).digest())


def authenticator(kbm: bytes, care_of: str, mh: bytes, auth_at: int) -> bytes:
    """RFC 6275 §5.2.6: First(96, HMAC_SHA1(Kbm, care-of | correspondent | MH Data)), MH
    Data with the Checksum zero and without the 12 octets of the Authenticator."""
    zeroed = mh[:4] + b"\x00\x00" + mh[6:]
    data = zeroed[:auth_at] + zeroed[auth_at + 12 :]
    msg = IPv6Address(care_of).packed + CN.packed + data
    return _first(96, hmac.new(kbm, msg, hashlib.sha1).digest())


def _auth_option(value: bytes) -> Packet:
    """scapy holds the 96-bit Authenticator as an integer, and its default Option Length
    is not the 12 octets of RFC 6275 §6.2.7: both set here."""
    return s6.MIP6OptBindingAuthData(olen=12, authenticator=int.from_bytes(value, "big"))


@dataclass
class ScapyCorrespondent:
    """RFC 6275 §9 as far as this test needs: nonces, tokens, Binding Updates checked,
    acknowledged with Binding Authorization Data; echo replies through the binding."""

    world: SimWorld
    port: Any
    router_mac: str
    nonces: dict[int, bytes] = field(default_factory=lambda: {7: b"nonce-07", 8: b"nonce-08"})
    index: int = 7
    binding: tuple[str, int] | None = None  # care-of address, sequence
    got: list[Packet] = field(default_factory=list)
    bus: list[Packet] = field(default_factory=list)
    bu_auth_ok: list[bool] = field(default_factory=list)
    echoes: list[Packet] = field(default_factory=list)
    tests: list[Packet] = field(default_factory=list)  # HoTI and CoTI as received
    #: What the next Binding Update gets: "ok", "bad-auth", "nonce-expired", or None.
    answer: str | None = "ok"
    cookie_tamper: bool = False
    #: Where Home Tests go: None, to the Home Test Init's source (the home address).
    hot_to: str | None = None

    def send(self, pkt: Packet) -> None:
        self.port.send_frame(bytes(Ether(src=CN_MAC, dst=self.router_mac) / pkt))

    def run(self, seconds: float) -> None:
        end = self.world.now + seconds
        while self.world.now < end:
            self.world.run_for(0.01)
            frames, self.got = self.got, []
            for p in frames:
                if s6.IPv6 in p and p[s6.IPv6].dst == str(CN):
                    self.handle(p)

    def handle(self, p: Packet) -> None:
        ip = p[s6.IPv6]
        nonce = self.nonces[self.index]
        if s6.MIP6MH_HoTI in p or s6.MIP6MH_CoTI in p:
            self.tests.append(p)
        if s6.MIP6MH_HoTI in p:
            cookie = bytes(p[s6.MIP6MH_HoTI].cookie)
            if self.cookie_tamper:
                cookie = bytes(8)
            token = keygen_token(ip.src, nonce, 0)
            self.send(
                s6.IPv6(src=str(CN), dst=self.hot_to or ip.src)
                / s6.MIP6MH_HoT(index=self.index, cookie=cookie, token=token)
            )
        elif s6.MIP6MH_CoTI in p:
            token = keygen_token(ip.src, nonce, 1)
            cookie = bytes(p[s6.MIP6MH_CoTI].cookie)
            self.send(
                s6.IPv6(src=str(CN), dst=ip.src)
                / s6.MIP6MH_CoT(index=self.index, cookie=cookie, token=token)
            )
        elif s6.MIP6MH_BU in p:
            self.binding_update(p)
        elif s6.ICMPv6EchoRequest in p:
            self.echoes.append(p)
            req = p[s6.ICMPv6EchoRequest]
            reply = s6.ICMPv6EchoReply(id=req.id, seq=req.seq, data=req.data)
            if s6.HAO in p and self.binding is not None and self.binding[0] == ip.src:
                # RFC 6275 §9.3.2: through the binding, a type 2 routing header.
                rh2 = s6.IPv6ExtHdrRouting(type=2, segleft=1, addresses=[p[s6.HAO].hoa])
                self.send(s6.IPv6(src=str(CN), dst=ip.src) / rh2 / reply)
            else:
                self.send(s6.IPv6(src=str(CN), dst=ip.src) / reply)

    def binding_update(self, p: Packet) -> None:
        self.bus.append(p)
        bu = p[s6.MIP6MH_BU]
        care_of = p[s6.IPv6].src
        home = p[s6.HAO].hoa if s6.HAO in p else care_of
        nonces = bu[s6.MIP6OptNonceIndices]
        auth = int(bu[s6.MIP6OptBindingAuthData].authenticator).to_bytes(12, "big")
        raw = bytes(bu)
        home_token = keygen_token(home, self.nonces[nonces.hni], 0)
        dereg = bu.mhtime == 0 or care_of == home
        coa_token = b"" if dereg else keygen_token(care_of, self.nonces[nonces.coni], 1)
        kbm = hashlib.sha1(home_token + coa_token).digest()
        ok = hmac.compare_digest(auth, authenticator(kbm, care_of, raw, raw.index(auth)))
        self.bu_auth_ok.append(ok)
        if not ok or self.answer is None:
            return
        status, lifetime = 0, min(bu.mhtime, 105)
        if self.answer == "nonce-expired":
            status, lifetime = 138, 0
            self.index = 8  # a fresh nonce for the next tests
        elif not dereg:
            self.binding = (care_of, bu.seq)
        else:
            self.binding = None
        self.answer = "ok" if self.answer != "bad-auth" else self.answer
        self.ack(status, bu.seq, lifetime, kbm if status < 136 else None, care_of, home)

    def ack(
        self, status: int, seq: int, lifetime: int, kbm: bytes | None, care_of: str, home: str
    ) -> None:
        """RFC 6275 §9.5.4: with a type 2 routing header to the care-of address; the
        Authenticator computed over the octets scapy lays out."""
        placeholder = b"\xaa" * 12
        opts = [] if kbm is None else [_auth_option(placeholder)]
        ba = s6.MIP6MH_BA(status=status, seq=seq, mhtime=lifetime, options=opts)
        head = s6.IPv6(src=str(CN), dst=care_of)
        if care_of != home:
            head = head / s6.IPv6ExtHdrRouting(type=2, segleft=1, addresses=[home])
        if kbm is not None:
            raw = bytes(s6.IPv6(bytes(head / ba))[s6.MIP6MH_BA])
            auth = authenticator(kbm, care_of, raw, raw.index(placeholder))
            if self.answer == "bad-auth":
                auth = bytes(b ^ 1 for b in auth)
                self.answer = "ok"
            ba = s6.MIP6MH_BA(status=status, seq=seq, mhtime=lifetime)
            ba.options = [_auth_option(auth)]
        self.send(head / ba)


@dataclass
class Net:
    world: SimWorld
    mn: Host
    mn_if: Interface
    node: MobileNode
    cn: ScapyCorrespondent

    def ping(self, seq: int) -> None:
        echo = wire_icmp.EchoRequest(9, seq, b"ro-%d" % seq).build(HOA, CN)
        self.mn.ipv6.send(CN, IPPROTO_ICMPV6, echo, self.world.now, src=HOA)
        self.cn.run(0.5)

    def answered(self, seq: int) -> bool:
        return any(r.src == CN and r.data == b"ro-%d" % seq for r in self.mn.icmpv6.echo_replies)


def network() -> Net:
    world = SimWorld(11)
    router = world.router("ha")
    home_if = world.connect_router(router, "home", HOME)
    world.connect_router(router, "visit1", VISIT1)
    world.connect_router(router, "visit2", VISIT2)
    cn_if = world.connect_router(router, "cnlink", CNNET)
    enable_home_agent(router.host, home_if, HOME, now=world.now)
    cn_if.add_static_neighbor(CN, bytes.fromhex(CN_MAC.replace(":", "")))
    port = world.segment("cnlink").attach(bytes.fromhex(CN_MAC.replace(":", "")))
    cn = ScapyCorrespondent(world, port, cn_if.link.link_address.hex(":"))
    port.receiver = lambda frame, now: cn.got.append(Ether(frame))
    mn = world.host("mn")
    mn_if = world.connect(mn, "home")
    mn_if.add_static_address(HOA, 64, world.now)
    node = enable_mobile_node(mn, mn_if, HOA, HOME, HOME[1], route_optimisation=True)
    router.host.start(world.now)
    mn.start(world.now)
    cn.run(5.0)
    return Net(world, mn, mn_if, node, cn)


def away(net: Net, segment: str = "visit1") -> Net:
    move(net.world, net.mn_if, segment)
    net.cn.run(5.0)
    net.ping(1)  # through the home agent: the correspondent is worth a binding
    net.cn.run(3.0)
    return net


def entry(net: Net) -> Any:
    assert net.node.ro is not None
    return net.node.ro.entries[CN]


def test_return_routability_then_route_optimised_pings() -> None:
    net = away(network())
    cn, e = net.cn, entry(net)
    assert net.answered(1)
    # RFC 6275 §11.7.2: one Binding Update, from the care-of address with the Home Address
    # option, Nonce Indices as handed out, lifetime at most MAX_RR_BINDING_LIFETIME, the A
    # flag and not the H flag; its Authenticator is right by the correspondent's own HMAC.
    assert len(cn.bus) == 1 and cn.bu_auth_ok == [True]
    bu = cn.bus[0]
    care_of = net.node.care_of_address
    assert care_of is not None and care_of in VISIT1
    assert bu[s6.IPv6].src == str(care_of) and bu[s6.HAO].hoa == str(HOA)
    assert bu[s6.MIP6MH_BU].flags.A and not bu[s6.MIP6MH_BU].flags.H
    assert 0 < bu[s6.MIP6MH_BU].mhtime <= 105
    nonces = bu[s6.MIP6OptNonceIndices]
    assert (nonces.hni, nonces.coni) == (7, 7)
    assert e.state is S.BOUND and e.bound_care_of == care_of
    # RFC 6275 §11.3.1: now from the care-of address with the Home Address option; the
    # reply came back through the correspondent's type 2 routing header.
    cn.echoes.clear()
    net.ping(2)
    assert net.answered(2)
    assert len(cn.echoes) == 1
    echo = cn.echoes[0]
    assert echo[s6.IPv6].src == str(care_of) and echo[s6.HAO].hoa == str(HOA)
    # The checksum is over the home address (RFC 6275 §6.3): scapy agrees once it knows.
    req = echo[s6.ICMPv6EchoRequest]
    check = s6.IPv6(src=str(HOA), dst=str(CN)) / s6.ICMPv6EchoRequest(
        id=req.id, seq=req.seq, data=req.data
    )
    assert s6.ICMPv6EchoRequest(bytes(check[s6.ICMPv6EchoRequest])).cksum == req.cksum
    assert net.node.ro.counters.route_optimised >= 1  # type: ignore[union-attr]
    assert net.mn.internal_errors == 0


def test_return_routability_messages_on_the_wire() -> None:
    net = away(network())
    care_of = net.node.care_of_address
    assert care_of is not None
    # RFC 6275 §11.6.1: the Home Test Init from the home address (out of the home agent's
    # tunnel), the Care-of Test Init from the care-of address, each with its own 64-bit
    # cookie and no Home Address option.
    hoti = [p for p in net.cn.tests if s6.MIP6MH_HoTI in p]
    coti = [p for p in net.cn.tests if s6.MIP6MH_CoTI in p]
    assert len(hoti) == 1 and len(coti) == 1
    assert hoti[0][s6.IPv6].src == str(HOA) and coti[0][s6.IPv6].src == str(care_of)
    assert s6.HAO not in hoti[0] and s6.HAO not in coti[0]
    assert hoti[0][s6.MIP6MH_HoTI].cookie != coti[0][s6.MIP6MH_CoTI].cookie
    for p in hoti + coti:  # the Mobility Header checksum, recomputed by scapy
        mh = p[s6.IPv6].payload
        sent = mh.cksum
        mh.cksum = None
        assert s6.IPv6(bytes(p[s6.IPv6]))[s6.IPv6].payload.cksum == sent
    assert net.node.ro is not None
    c = net.node.ro.counters
    assert (c.hoti_sent, c.coti_sent, c.hot_received, c.cot_received) == (1, 1, 1, 1)
    assert entry(net).home_cookie is None and entry(net).care_of_cookie is None


def test_wrong_cookie_is_ignored_and_the_tests_retransmitted() -> None:
    net = network()
    net.cn.cookie_tamper = True
    away(net)
    e = entry(net)
    assert net.node.ro is not None
    c = net.node.ro.counters
    # RFC 6275 §11.6.2: a Home Test without the outstanding cookie is dropped; RFC 6275
    # §11.8: the Home Test Init goes again.
    assert c.test_unmatched_drop >= 1 and e.state is S.TESTING and not net.cn.bus
    assert c.tests_retransmitted >= 1
    net.cn.cookie_tamper = False
    net.cn.run(5.0)
    assert e.state.name == "BOUND" and net.cn.bu_auth_ok == [True]


def test_a_home_test_not_to_the_home_address_is_ignored() -> None:
    net = away(network())
    e = entry(net)
    assert net.node.ro is not None and net.node.care_of_address is not None
    c = net.node.ro.counters
    dropped = c.test_unmatched_drop
    # RFC 6275 §11.6.2: a Home Test is taken only at the home address its Init came from;
    # this one, with the right cookie, comes to the care-of address and is dropped.
    net.cn.hot_to = str(net.node.care_of_address)
    net.cn.send(s6.IPv6(src=str(CN), dst=str(HOA)) / s6.MIP6MH_BRR())
    net.cn.run(2.0)
    assert c.test_unmatched_drop > dropped and e.state is S.TESTING and len(net.cn.bus) == 1
    net.cn.hot_to = None
    net.cn.run(5.0)
    assert e.state is S.BOUND and len(net.cn.bus) == 2 and all(net.cn.bu_auth_ok)


def test_bad_authenticator_in_the_ack_is_dropped() -> None:
    net = network()
    net.cn.answer = "bad-auth"
    away(net)
    assert net.node.ro is not None
    c = net.node.ro.counters
    # RFC 6275 §11.7.3: the acknowledgement must carry a valid Authenticator; the Binding
    # Update is sent again (RFC 6275 §11.8) with the next Sequence Number and then taken.
    assert c.ba_authenticator_drop == 1
    assert entry(net).state is S.BOUND
    seqs = [p[s6.MIP6MH_BU].seq for p in net.cn.bus]
    assert len(seqs) == 2 and (seqs[1] - seqs[0]) % 0x10000 == 1
    assert net.cn.bu_auth_ok == [True, True]


def test_expired_nonces_run_the_tests_again() -> None:
    net = network()
    net.cn.answer = "nonce-expired"
    away(net)
    assert net.node.ro is not None
    # RFC 6275 §11.7.3: status 138: new tests, the new nonce index in the next Binding Update.
    assert net.node.ro.counters.ba_nonce_expired == 1
    assert entry(net).state is S.BOUND
    last = net.cn.bus[-1][s6.MIP6OptNonceIndices]
    assert (last.hni, last.coni) == (8, 8) and net.cn.bu_auth_ok == [True, True]


def test_binding_refresh_request_and_moves() -> None:
    net = away(network())
    e = entry(net)
    first_care_of = net.node.care_of_address
    # RFC 6275 §11.7.4: a Binding Refresh Request: return routability and a new BU.
    net.cn.send(s6.IPv6(src=str(CN), dst=str(HOA)) / s6.MIP6MH_BRR())
    net.cn.run(2.0)
    assert len(net.cn.bus) == 2 and e.state is S.BOUND
    # RFC 6275 §11.6.1: a move: the tests again for the new care-of address.
    move(net.world, net.mn_if, "visit2")
    net.cn.run(6.0)
    second = net.node.care_of_address
    assert second is not None and second in VISIT2 and second != first_care_of
    assert net.cn.bus[-1][s6.IPv6].src == str(second) and e.bound_care_of == second
    assert all(net.cn.bu_auth_ok)
    net.cn.echoes.clear()
    net.ping(3)
    assert net.answered(3) and net.cn.echoes[0][s6.IPv6].src == str(second)
    # RFC 6275 §11.5.5: home again: lifetime 0 from the home address, no Home Address
    # option, Kbm from the home keygen token alone (checked by the correspondent's HMAC).
    move(net.world, net.mn_if, "home")
    net.cn.run(6.0)
    dereg = net.cn.bus[-1]
    assert dereg[s6.IPv6].src == str(HOA) and s6.HAO not in dereg
    assert dereg[s6.MIP6MH_BU].mhtime == 0 and net.cn.bu_auth_ok[-1]
    assert e.state.name == "NO_BINDING" and net.cn.binding is None


def test_refreshed_before_the_binding_ends() -> None:
    net = away(network())
    e = entry(net)
    assert e.expires is not None
    before = len(net.cn.bus)
    # RFC 6275 §11.7.2: the tests and the Binding Update again before the lifetime ends.
    net.cn.run(e.expires - net.world.now - 1.0)
    assert len(net.cn.bus) == before + 1 and e.state is S.BOUND
    assert e.expires > net.world.now + 300
