"""Segment sizes and the path: a Packet Too Big from a router whose next link shrank
mid-connection lowers the MSS and the data still arrives (RFC 8201 §5.4); a path that
silently loses big frames is found by black-hole detection (Windows' EnablePMTUBHDetect,
RFC 4821's idea) and not without it."""

from __future__ import annotations

import errno
from dataclasses import dataclass
from ipaddress import IPv6Address, IPv6Network

import pytest

from tcpip6.api import sockets as so
from tcpip6.api.sockets import Stack
from tcpip6.api.stream import StreamSocket
from tcpip6.io.runtime import SimDriver
from tcpip6.io.sim import SimWorld
from tcpip6.stack.interface import Interface
from tcpip6.stack.tcp import TcpParameters
from tcpip6.wire.tcp import SYN, MaxSegmentSize
from tests.stack.conftest import Pair
from tests.stack.tcpscenario import connected, data_segments, tcp_wire

P1 = IPv6Network("2001:db8:1::/64")
P2 = IPv6Network("2001:db8:2::/64")
DATA = bytes(range(251)) * 80  # 20080 octets


@dataclass
class Routed:
    world: SimWorld
    a: Stack
    b: Stack
    ia: Interface
    ib: Interface
    r2: Interface  # the router's interface on lan2

    def gua(self, iface: Interface, prefix: IPv6Network) -> IPv6Address:
        return next(a for a in iface.source_candidates() if a in prefix)


def _routed() -> Routed:
    """a on lan1 — router r — b on lan2, addresses from the router's advertisements."""
    world = SimWorld(seed=5)
    router = world.router("r")
    world.connect_router(router, "lan1", P1)
    r2 = world.connect_router(router, "lan2", P2)
    a, b = world.host("a"), world.host("b")
    ia, ib = world.connect(a, "lan1"), world.connect(b, "lan2")
    for h in (router.host, a, b):
        h.start(world.now)
    world.run_for(8.0)
    driver = SimDriver(world)
    return Routed(world, Stack(a, driver), Stack(b, driver), ia, ib, r2)


def _read_all(sock: StreamSocket, n: int) -> bytes:
    got = b""
    while len(got) < n:
        chunk = sock.recv(65536)
        assert chunk
        got += chunk
    return got


def test_packet_too_big_mid_connection_shrinks_segments_and_data_arrives() -> None:
    net = _routed()
    wire = tcp_wire(net.world)
    b_addr = net.gua(net.ib, P2)
    listener = net.b.socket(so.AF_INET6, so.SOCK_STREAM)
    listener.bind(("::", 80))
    listener.listen()
    client = net.a.socket(so.AF_INET6, so.SOCK_STREAM)
    client.settimeout(30.0)
    client.connect((str(b_addr), 80))
    server, _ = listener.accept()
    server.settimeout(30.0)
    conn = client.conn
    assert conn is not None
    # Both ends offered 1440 (1500-octet links) and the first data goes in full segments.
    syn_mss = [s.seg.option(MaxSegmentSize) for s in wire if s.has(SYN) and s.host != "r"]
    assert syn_mss == [MaxSegmentSize(1440), MaxSegmentSize(1440)]
    client.sendall(DATA[:5000])
    assert _read_all(server, 5000) == DATA[:5000]
    assert conn.mss == 1428
    # Now the router's link to b shrinks to 1280 octets.
    net.world.segment("lan2").mtu = 1280
    net.r2.params.link_mtu = 1280
    ptbs: list[tuple[str, int]] = []
    net.world.observers.append(
        lambda iface, f, now: (
            ptbs.append((iface.host.name, int.from_bytes(f[58:62], "big")))
            if f[20] == 58 and f[54] == 2
            else None
        )
    )
    t0 = net.world.now
    client.sendall(DATA[5000:])
    assert _read_all(server, len(DATA) - 5000) == DATA[5000:]
    [(host, mtu)] = ptbs[:1]
    assert (host, mtu) == ("r", 1280)  # ICMPv6 type 2, MTU field 1280
    # RFC 8201: the path MTU is 1280; the MSS 1280 - 60 - 12 (timestamps).
    assert net.world.hosts["a"].routes.path_mtu(b_addr, net.world.now) == 1280
    assert conn.mss == 1208
    later = [s for s in data_segments(wire, "a") if s.t >= t0]
    resent = [s for s in later if len(s.data) == 1208]
    assert resent and max(s.frame_len for s in resent) == 14 + 1280
    # The lost segment went again at once, not after an RTO.
    assert net.world.hosts["a"].tcp.counters.timeouts == 0
    assert net.world.hosts["a"].tcp.counters.pmtu_retransmits >= 1


def _black_hole(pair: Pair) -> None:
    """The link silently loses frames above 1280 octets (no Packet Too Big): both hosts
    still believe in 1500."""
    pair.world.segment("lan").mtu = 1280


def test_black_hole_detection_lowers_the_mss_after_two_timeouts(pair: Pair) -> None:
    # RACK-TLP off: RFC 6298's timeouts, without a tail loss probe ahead of the first.
    params = TcpParameters(pmtu_blackhole_detection=True, blackhole_timeouts=2, rack=False)
    c = connected(pair, lambda p: params)
    assert c.ca.mss == 1428
    wire = tcp_wire(pair.world)
    _black_hole(pair)
    t0 = pair.world.now
    c.client.sendall(DATA[:3000])
    got = b""
    while len(got) < 3000:
        got += c.server.recv(4000)
    assert got == DATA[:3000]
    sent = data_segments(wire, "a")
    # Two timeouts (1 s, then 2 s later) of full-size segments, then 1220 - 12 octets.
    big = [s for s in sent if len(s.data) == 1428]
    small = [s for s in sent if len(s.data) == 1208]
    assert [round(s.t - t0, 3) for s in big] == [0.0, 0.0, 1.0]
    assert round(small[0].t - t0, 3) == 3.0
    assert c.ca.mss == 1208 and pair.a.tcp.counters.blackhole_detected == 1
    assert pair.world.segment("lan").counters.frames_too_big == 3


def test_without_black_hole_detection_the_connection_times_out(pair: Pair) -> None:
    c = connected(pair)
    _black_hole(pair)
    c.client.sendall(DATA[:3000])
    c.client.settimeout(600.0)
    with pytest.raises(TimeoutError) as exc:
        c.client.recv(100)
    assert exc.value.errno == errno.ETIMEDOUT
    assert pair.a.tcp.counters.blackhole_detected == 0
