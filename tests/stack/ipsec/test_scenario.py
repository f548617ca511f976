"""Two tcpip6 hosts on simnet through AH and ESP, transport and tunnel mode, every
algorithm; a scapy ``SecurityAssociation`` as the peer at the other end (it protects
what tcpip6 must accept and opens what tcpip6 sends); every drop counted by reason."""

from __future__ import annotations

from ipaddress import IPv6Address

import pytest
from scapy.layers.inet6 import ICMPv6EchoReply, ICMPv6EchoRequest, IPv6
from scapy.layers.l2 import Ether

from tcpip6.stack.ipsec import Mode
from tcpip6.wire import ipv6 as wire_ipv6
from tests.stack.conftest import A_LL, B_LL, Pair
from tests.stack.ipsec.helpers import SUITES, Suite, protect_between, scapy_sa

G_A = IPv6Address("2001:db8:1::a")
G_B = IPv6Address("2001:db8:1::b")
PEER_LL = IPv6Address("fe80::99")
G_PEER = IPv6Address("2001:db8:1::99")
PEER_MAC = bytes.fromhex("020000000099")
SUITE_IDS = [s.id for s in SUITES]


def addresses(pair: Pair, mode: Mode) -> tuple[IPv6Address, IPv6Address]:
    """The addresses the traffic flows between: link-local in transport mode; global ones
    inside a tunnel between the link-local addresses."""
    if mode is Mode.TRANSPORT:
        return A_LL, B_LL
    pair.ia.add_static_address(G_A, 64, pair.world.now)
    pair.ib.add_static_address(G_B, 64, pair.world.now)
    return G_A, G_B


def configure(
    pair: Pair, suite: Suite, mode: Mode, **kw: object
) -> tuple[IPv6Address, IPv6Address]:
    a, b = addresses(pair, mode)
    outer_a = (A_LL, B_LL) if mode is Mode.TUNNEL else None
    outer_b = (B_LL, A_LL) if mode is Mode.TUNNEL else None
    protect_between(pair.a, suite, mode, a, b, outer=outer_a, spi_out=0x1000, spi_in=0x2000, **kw)  # type: ignore[arg-type]
    protect_between(pair.b, suite, mode, b, a, outer=outer_b, spi_out=0x2000, spi_in=0x1000, **kw)  # type: ignore[arg-type]
    return a, b


def frames_of(pair: Pair) -> list[tuple[str, bytes]]:
    seen: list[tuple[str, bytes]] = []
    pair.world.observers.append(lambda iface, f, now: seen.append((iface.host.name, f)))
    return seen


@pytest.mark.parametrize("mode", [Mode.TRANSPORT, Mode.TUNNEL], ids=lambda m: m.value)
@pytest.mark.parametrize("suite", SUITES, ids=SUITE_IDS)
def test_ping_between_two_tcpip6_hosts(pair: Pair, suite: Suite, mode: Mode) -> None:
    a, b = configure(pair, suite, mode)
    seen = frames_of(pair)
    for seq in range(3):
        assert pair.a.icmpv6.send_echo_request(b, 7, seq, b"secret" * 5, pair.world.now)
        pair.world.run_for(1.0)
    assert [(r.src, r.sequence, r.data) for r in pair.a.icmpv6.echo_replies] == [
        (b, seq, b"secret" * 5) for seq in range(3)
    ]
    # On the wire: only AH/ESP between the two, never the echo in the clear.
    ipv6 = [IPv6(f[14:]) for _, f in seen if f[12:14] == b"\x86\xdd"]
    assert not any(
        ICMPv6EchoRequest in p or ICMPv6EchoReply in p for p in ipv6 if suite.protocol == 50
    )
    protected = [p for p in ipv6 if p.nh == suite.protocol]
    assert len(protected) == 6
    # scapy, with the same keys, opens A's first request (the independent oracle).
    outer = (A_LL, B_LL) if mode is Mode.TUNNEL else (a, b)
    inner = IPv6(bytes(scapy_sa(suite, mode, *outer, spi=0x1000).decrypt(protected[0])))
    assert (inner[IPv6].src, inner[IPv6].dst) == (str(a), str(b))
    assert inner[ICMPv6EchoRequest].data == b"secret" * 5
    # Counters: three in, three out on each side, no drop.
    for host in (pair.a, pair.b):
        c = host.ipsec.counters
        assert (c.in_ok, c.out_ok) == (3, 3)
        assert {k: v for k, v in c.nonzero().items() if k.endswith("_drop")} == {}
    sa_out = pair.a.ipsec.sad.inbound(0x1000, outer[1], suite.protocol)
    assert sa_out is None  # it is A's outbound SA, not an inbound one
    sa_in = pair.b.ipsec.sad.inbound(0x1000, outer[1], suite.protocol)
    assert sa_in is not None and sa_in.counters.packets == 3 and sa_in.replay.top == 3


# -- scapy at the other end ------------------------------------------------------------------
class ScapyPeer:
    """A NIC on the segment driven by scapy: its SAs protect and open independently."""

    def __init__(self, pair: Pair, suite: Suite, mode: Mode) -> None:
        self.pair, self.suite, self.mode = pair, suite, mode
        self.port = pair.world.segment("lan").attach(PEER_MAC)
        self.got: list[bytes] = []
        self.port.receiver = lambda frame, now: self.got.append(frame)
        pair.ib.add_static_neighbor(PEER_LL, PEER_MAC)
        if mode is Mode.TUNNEL:
            pair.ib.add_static_address(G_B, 64, pair.world.now)
            self.me, self.b = G_PEER, G_B
            outer: tuple[IPv6Address, IPv6Address] | None = (B_LL, PEER_LL)
            self.outer = (PEER_LL, B_LL)
        else:
            self.me, self.b = PEER_LL, B_LL
            outer = None
            self.outer = (PEER_LL, B_LL)
        protect_between(
            pair.b, suite, mode, self.b, self.me, outer=outer, spi_out=0x2000, spi_in=0x1000
        )
        self.tx = scapy_sa(suite, mode, *self.outer, spi=0x1000)
        self.rx = scapy_sa(suite, mode, self.outer[1], self.outer[0], spi=0x2000)

    def frame(self, ip: bytes) -> bytes:
        return bytes(Ether(dst=self.pair.ib.link.link_address, src=PEER_MAC, type=0x86DD)) + ip

    def send(self, packet: IPv6, *, sa: object = None, seq: int | None = None) -> bytes:
        """Protect ``packet`` with the peer's SA and put it on the segment; the frame."""
        use = sa if sa is not None else self.tx
        enc = use.encrypt(packet, seq_num=seq) if seq is not None else use.encrypt(packet)  # type: ignore[attr-defined]
        frame = self.frame(bytes(enc))
        self.inject(frame)
        return frame

    def inject(self, frame: bytes) -> None:
        self.port.send_frame(frame)
        self.pair.world.run_for(0.5)

    def echo(self, seq: int, data: bytes) -> IPv6:
        return IPv6(src=str(self.me), dst=str(self.b)) / ICMPv6EchoRequest(id=9, seq=seq, data=data)

    def replies(self) -> list[IPv6]:
        out = []
        for f in self.got:
            ip = IPv6(f[14:])
            if ip.nh == self.suite.protocol:
                out.append(IPv6(bytes(self.rx.decrypt(ip))))
        return out


@pytest.mark.parametrize("mode", [Mode.TRANSPORT, Mode.TUNNEL], ids=lambda m: m.value)
@pytest.mark.parametrize("suite", SUITES, ids=SUITE_IDS)
def test_scapy_peer_pings_tcpip6(pair: Pair, suite: Suite, mode: Mode) -> None:
    peer = ScapyPeer(pair, suite, mode)
    for seq in (1, 2, 3):
        peer.send(peer.echo(seq, b"from scapy %d" % seq))
    replies = peer.replies()
    assert [(r[ICMPv6EchoReply].seq, r[ICMPv6EchoReply].data) for r in replies] == [
        (seq, b"from scapy %d" % seq) for seq in (1, 2, 3)
    ]
    assert all((r.src, r.dst) == (str(peer.b), str(peer.me)) for r in replies)
    assert pair.b.ipsec.counters.in_ok == 3 and pair.b.ipsec.counters.out_ok == 3


def test_drops_are_counted_by_reason(pair: Pair) -> None:
    gcm = next(s for s in SUITES if s.encryption == "aes-gcm-16")
    peer = ScapyPeer(pair, gcm, Mode.TRANSPORT)
    ok = peer.send(peer.echo(1, b"one"))
    peer.inject(ok)  # the same frame again: a replay (RFC 4303 §3.4.3)
    peer.send(peer.echo(2, b"x"), sa=scapy_sa(gcm, Mode.TRANSPORT, *peer.outer, spi=0x9999))
    bad = bytearray(peer.frame(bytes(peer.tx.encrypt(peer.echo(3, b"y")))))
    bad[-1] ^= 0x80  # the ICV (the GCM tag)
    peer.inject(bytes(bad))
    peer.send(peer.echo(200, b"far ahead"), seq=200)
    peer.send(peer.echo(100, b"too old"), seq=100)  # 200 - 100 >= the 64 of the window
    peer.inject(peer.frame(bytes(peer.echo(4, b"in the clear"))))  # PROTECT says no
    # An SA made for another policy carries a packet of this one (RFC 4301 §5.2).
    other = next(s for s in SUITES if s.encryption == "chacha20-poly1305")
    from tcpip6.stack.ipsec import Direction
    from tests.stack.ipsec.helpers import tcpip6_sa

    pair.b.ipsec.add_sa(
        tcpip6_sa(
            other, Mode.TRANSPORT, PEER_LL, B_LL, Direction.INBOUND, spi=0x3000, policy="rest"
        )
    )
    peer.send(
        peer.echo(5, b"wrong door"), sa=scapy_sa(other, Mode.TRANSPORT, *peer.outer, spi=0x3000)
    )
    assert [r[ICMPv6EchoReply].data for r in peer.replies()] == [b"one", b"far ahead"]
    drops = {k: v for k, v in pair.b.ipsec.counters.nonzero().items() if k.endswith("_drop")}
    assert drops == {
        "in_replay_drop": 1,
        "in_unknown_spi_drop": 1,
        "in_bad_icv_drop": 1,
        "in_too_old_drop": 1,
        "in_unprotected_drop": 1,
        "in_policy_mismatch_drop": 1,
    }
    sa = pair.b.ipsec.sad.inbound(0x1000, B_LL, wire_ipv6.IPPROTO_ESP)
    assert sa is not None
    assert (sa.counters.replay, sa.counters.integrity_failed) == (2, 1)
    assert sa.replay.top == 200 and sa.replay.received()[:1] == [200]


def test_bad_padding_is_dropped_and_counted(pair: Pair) -> None:
    # ESP with NULL encryption and HMAC-SHA-256-128 built by hand (stdlib hmac): the ICV
    # is right, the padding is not the default 1, 2, ... (RFC 4303 §2.4).
    import hashlib
    import hmac
    import struct

    null = next(s for s in SUITES if s.id == "esp-null-hmac-sha256-128")
    peer = ScapyPeer(pair, null, Mode.TRANSPORT)
    icmp = bytes(peer.echo(1, b"pad"))[40:]
    for padding, counted in ((b"\x01\x02", False), (b"\x07\x07", True)):
        seq = 2 if counted else 1
        body = struct.pack("!II", 0x1000, seq) + icmp + padding + bytes([len(padding), 58])
        esp = body + hmac.new(null.auth_key(), body, hashlib.sha256).digest()[:16]
        ip = IPv6(src=str(PEER_LL), dst=str(B_LL), nh=50, plen=len(esp))
        peer.inject(peer.frame(bytes(ip) + esp))
        assert pair.b.ipsec.counters.in_padding_drop == int(counted)
    assert len(peer.replies()) == 1


def _udp_echo(pair: Pair, a: IPv6Address, b: IPv6Address, payload: bytes) -> bytes:
    from tcpip6.api import sockets as so
    from tcpip6.api.sockets import Stack
    from tcpip6.io.runtime import SimDriver

    driver = SimDriver(pair.world)
    sa, sb = Stack(pair.a, driver), Stack(pair.b, driver)
    srv = sb.socket(so.AF_INET6, so.SOCK_DGRAM)
    srv.bind((str(b), 7))
    cli = sa.socket(so.AF_INET6, so.SOCK_DGRAM)
    cli.settimeout(5.0)
    srv.settimeout(5.0)
    cli.sendto(payload, (str(b), 7))
    data, peer = srv.recvfrom(65535)
    srv.sendto(data, peer)
    reply, _ = cli.recvfrom(65535)
    srv.close()
    cli.close()
    return bytes(reply)


def _tcp_transfer(pair: Pair, b: IPv6Address, data: bytes) -> bytes:
    from tcpip6.api import sockets as so
    from tcpip6.api.sockets import Stack
    from tcpip6.io.runtime import SimDriver

    driver = SimDriver(pair.world)
    sa, sb = Stack(pair.a, driver), Stack(pair.b, driver)
    listener = sb.socket(so.AF_INET6, so.SOCK_STREAM)
    listener.bind(("::", 5001))
    listener.listen(4)
    listener.settimeout(30.0)
    client = sa.socket(so.AF_INET6, so.SOCK_STREAM)
    client.settimeout(30.0)
    client.connect((str(b), 5001))
    server, _ = listener.accept()
    server.settimeout(30.0)
    client.sendall(data)
    client.close()
    got = b""
    while True:
        chunk = server.recv(65536)
        if not chunk:
            return got
        got += chunk


@pytest.mark.parametrize("mode", [Mode.TRANSPORT, Mode.TUNNEL], ids=lambda m: m.value)
@pytest.mark.parametrize("suite_id", ["esp-aes-gcm-16-None", "ah-null-hmac-sha256-128"])
def test_udp_and_tcp_through_ipsec(pair: Pair, suite_id: str, mode: Mode) -> None:
    suite = next(s for s in SUITES if s.id == suite_id)
    a, b = configure(pair, suite, mode)
    seen = frames_of(pair)
    # A datagram bigger than the link: IPsec first, then fragmentation (RFC 4301 §7).
    big = bytes(range(256)) * 12
    assert _udp_echo(pair, a, b, b"datagram") == b"datagram"
    assert _udp_echo(pair, a, b, big) == big
    data = bytes((i * 7) & 0xFF for i in range(150_000))
    assert _tcp_transfer(pair, b, data) == data
    ip = [IPv6(f[14:]) for _, f in seen if f[12:14] == b"\x86\xdd"]
    between = [p for p in ip if {p.src, p.dst} == {str(A_LL), str(B_LL)}]
    # Every packet between the two is AH/ESP, or a fragment of one.
    assert all(p.nh in (suite.protocol, 44) for p in between)
    assert any(p.nh == 44 and p.payload.nh == suite.protocol for p in between)
    for host in (pair.a, pair.b):
        drops = {k: v for k, v in host.ipsec.counters.nonzero().items() if k.endswith("_drop")}
        assert drops == {}


def test_ah_around_esp_bundle(pair: Pair) -> None:
    esp = next(s for s in SUITES if s.id == "esp-aes-cbc-hmac-sha256-128")
    ah = next(s for s in SUITES if s.id == "ah-null-hmac-sha1-96")
    configure(pair, esp, Mode.TRANSPORT, bundle=(ah,))
    seen = frames_of(pair)
    assert pair.a.icmpv6.send_echo_request(B_LL, 7, 1, b"bundle", pair.world.now)
    pair.world.run_for(1.0)
    assert [r.data for r in pair.a.icmpv6.echo_replies] == [b"bundle"]
    first = IPv6(seen[0][1][14:])
    # RFC 4301 §4.5: AH outside, ESP inside; scapy opens both, one after the other.
    assert first.nh == 51
    opened = IPv6(bytes(scapy_sa(ah, Mode.TRANSPORT, A_LL, B_LL, spi=0x1001).decrypt(first)))
    assert opened.nh == 50
    inner = IPv6(bytes(scapy_sa(esp, Mode.TRANSPORT, A_LL, B_LL, spi=0x1000).decrypt(opened)))
    assert inner[ICMPv6EchoRequest].data == b"bundle"


def test_esp_alone_where_the_policy_wants_ah_and_esp_is_a_policy_mismatch(pair: Pair) -> None:
    esp = next(s for s in SUITES if s.id == "esp-aes-cbc-hmac-sha256-128")
    ah = next(s for s in SUITES if s.id == "ah-null-hmac-sha1-96")
    protect_between(
        pair.b, esp, Mode.TRANSPORT, B_LL, A_LL, spi_out=0x2000, spi_in=0x1000, bundle=(ah,)
    )
    protect_between(pair.a, esp, Mode.TRANSPORT, A_LL, B_LL, spi_out=0x1000, spi_in=0x2000)
    assert pair.a.icmpv6.send_echo_request(B_LL, 7, 1, b"esp only", pair.world.now)
    pair.world.run_for(1.0)
    assert pair.b.ipsec.counters.in_policy_mismatch_drop == 1
    assert pair.b.icmp.in_echo_requests == 0


@pytest.mark.parametrize("mode", [Mode.TRANSPORT, Mode.TUNNEL], ids=lambda m: m.value)
def test_tcp_segments_leave_room_for_esp(pair: Pair, mode: Mode) -> None:
    # RFC 4301 §8.2.1: TCP sizes its segments to the path MTU less what ESP adds, so no
    # protected segment needs fragmenting.
    suite = next(s for s in SUITES if s.id == "esp-aes-cbc-hmac-sha256-128")
    _, b = configure(pair, suite, mode)
    seen = frames_of(pair)
    data = bytes(range(256)) * 200
    assert _tcp_transfer(pair, b, data) == data
    ip = [IPv6(f[14:]) for _, f in seen if f[12:14] == b"\x86\xdd"]
    esp = [p for p in ip if p.nh == 50]
    assert esp and not [p for p in ip if p.nh == 44]
    assert max(len(f) for _, f in seen) > 1400  # full-size segments, still within 1514
    assert max(len(f) for _, f in seen) <= 1514
