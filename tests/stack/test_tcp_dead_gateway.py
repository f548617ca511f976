"""Dead gateway detection (Windows' EnableDeadGWDetect with RFC 4861 §6.3.6): a host with
two default routers loses the one its TCP connection goes through; past half the
retransmission limit the connection suspects it, the host moves the destination to the
other router, and the data keeps arriving."""

from __future__ import annotations

from ipaddress import IPv6Address, IPv6Network

from tcpip6.api import sockets as so
from tcpip6.api.sockets import Stack
from tcpip6.io.runtime import SimDriver
from tcpip6.io.sim import SimWorld
from tcpip6.stack.router import AdvertisingParameters, AdvPrefix
from tests.stack.tcpscenario import data_segments, tcp_wire

P1 = IPv6Network("2001:db8:1::/64")
P2 = IPv6Network("2001:db8:2::/64")


def test_the_connection_moves_to_the_other_router_when_its_router_dies() -> None:
    world = SimWorld(seed=8)
    r1, r2 = world.router("r1"), world.router("r2")
    # Both routers advertise themselves on lan1 (a's two default routers). On lan2 only
    # r2 is a default router, so b's answers never need r1.
    r1_lan1 = world.connect_router(r1, "lan1", P1)
    r1_lan2 = world.connect_router(
        r1, "lan2", P2, AdvertisingParameters(prefixes=(AdvPrefix(P2),), default_lifetime=0)
    )
    r2_lan1 = world.connect(r2.host, "lan1")
    r2_lan1.add_static_address(IPv6Address("2001:db8:1::2"), 64, world.now)
    r2.advertise(r2_lan1, AdvertisingParameters(prefixes=(AdvPrefix(P1),)))
    r2_lan2 = world.connect(r2.host, "lan2")
    r2_lan2.add_static_address(IPv6Address("2001:db8:2::2"), 64, world.now)
    r2.advertise(r2_lan2, AdvertisingParameters(prefixes=(AdvPrefix(P2),)))
    a, b = world.host("a"), world.host("b")
    world.connect(a, "lan1")
    ib = world.connect(b, "lan2")
    r1.host.start(world.now)
    a.start(world.now)
    b.start(world.now)
    world.run_for(2.0)  # r1's advertisement first: a lists r1 before r2
    r2.host.start(world.now)
    world.run_for(8.0)
    assert len(a.routes.default_router_list) == 2
    b_addr = next(x for x in ib.source_candidates() if x in P2)
    driver = SimDriver(world)
    sa, sb = Stack(a, driver), Stack(b, driver)
    listener = sb.socket(so.AF_INET6, so.SOCK_STREAM)
    listener.bind(("::", 80))
    listener.listen()
    client = sa.socket(so.AF_INET6, so.SOCK_STREAM)
    client.settimeout(60.0)
    client.connect((str(b_addr), 80))
    server, _ = listener.accept()
    server.settimeout(60.0)
    r1_ll = next(x for x in r1_lan1.source_candidates() if x.is_link_local)
    r2_ll = next(x for x in r2_lan1.source_candidates() if x.is_link_local)
    rce = a.routes.lookup(b_addr)
    assert rce is not None and rce.next_hop == r1_ll
    client.sendall(b"before")
    assert server.recv(100) == b"before"
    # r1 dies: none of its ports sends or receives.
    for iface in (r1_lan1, r1_lan2):
        iface.link.port.up = False  # type: ignore[attr-defined]
    wire = tcp_wire(world)
    t0 = world.now
    client.sendall(b"after the router died")
    assert server.recv(100) == b"after the router died"
    sent = data_segments(wire, "a")
    # RFC 8985 §7.2: a tail loss probe first, after 2*SRTT + WCDelAckT (200 ms); then
    # timeouts 1 s and 3 s after it (through r1, lost), the third (7 s) passes the
    # limit's half (3 * 2 > 5): the router is suspected and the retransmission goes via
    # r2. A probe is not a timeout: it does not count toward the limit.
    times = [round(s.t - t0, 3) for s in sent]
    assert len(times) == 5 and times[0] == 0.0 and 0.2 < times[1] < 0.25
    assert [round(t - times[1], 3) for t in times[2:]] == [1.0, 3.0, 7.0]
    assert a.tcp.counters.tail_loss_probes == 1
    assert a.tcp.counters.dead_gateway_suspected == 1
    rce = a.routes.lookup(b_addr)
    assert rce is not None and rce.next_hop == r2_ll
    forwarded = [s for s in wire if s.host == "r2" and s.data]
    assert [s.data for s in forwarded] == [b"after the router died"]
    # And the connection goes on through r2.
    client.sendall(b"and more")
    assert server.recv(100) == b"and more"
    assert a.tcp.counters.timeouts == 3
