"""Two tcpip6 hosts exchange random byte streams in both directions at once over simnet,
directly or through a tcpip6 router, while the segments lose, duplicate, reorder and
delay frames; once with RFC 6675/RFC 6582 loss recovery (the default), once with RFC 8985
RACK-TLP. Each example draws the parameters of both ends (SACK, timestamps, window
scaling, Nagle, delayed ACKs, buffer sizes, a small MTU) and an application that writes
and reads random amounts at random times (a slow reader closes the window), and may
half-close one side and keep reading.

At every step: no internal error, no connection error, each side has received a prefix
of what the other sent, and the buffers stay within their limits. At the end both sides
close: each has received exactly the octets the other sent, in order, once; both
connections reach CLOSED or TIME-WAIT, and TIME-WAIT ends in CLOSED after 2*MSL."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from ipaddress import IPv6Address, IPv6Network

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from tcpip6.io.sim import SimWorld
from tcpip6.io.simnet import Segment
from tcpip6.stack.host import Host
from tcpip6.stack.interface import Interface
from tcpip6.stack.params import InterfaceParameters
from tcpip6.stack.tcp import Connection, TcpParameters, TcpState
from tests.profiles import examples

PORT = 7
NET_A = IPv6Network("2001:db8:a::/64")
NET_B = IPv6Network("2001:db8:b::/64")
ADDR_A = IPv6Address("2001:db8:a::a")
ADDR_B = IPv6Address("2001:db8:b::b")
ROUTER_LL = IPv6Address("fe80::1")
#: 2*MSL, short: a TIME-WAIT is one timer, however long.
MSL = 5.0
#: Simulated seconds the final exchange may take (loss stays <= 20%).
FINISH_WITHIN = 1200.0
DONE = (TcpState.CLOSED, TcpState.TIME_WAIT)


@dataclass
class Topology:
    routed: bool
    mtu_a: int
    mtu_b: int


def tcp_parameters() -> st.SearchStrategy[TcpParameters]:
    return st.builds(
        TcpParameters,
        sack=st.booleans(),
        timestamps=st.booleans(),
        window_scaling=st.booleans(),
        nagle=st.booleans(),
        delayed_ack=st.booleans(),
        send_buffer=st.sampled_from([1000, 4096, 20000, 200_000]),
        receive_buffer=st.sampled_from([1024, 3000, 16384, 70000, 300_000]),
        # Loss is bounded, so the connection never gives up: what is under test is that
        # the data arrives, not the retransmission limit.
        max_data_retransmissions=st.just(30),
        max_connect_retransmissions=st.just(30),
        msl=st.just(MSL),
    )


topologies = st.builds(
    Topology,
    routed=st.booleans(),
    mtu_a=st.sampled_from([1500, 1500, 1280]),
    mtu_b=st.sampled_from([1500, 1280]),
)


def _no_dad(mtu: int) -> InterfaceParameters:
    """Static addresses and neighbors only: no DAD, and the segment's MTU."""
    return InterfaceParameters(dup_addr_detect_transmits=0, link_mtu=mtu)


class Side:
    """One end: its connection and what its application sent and received."""

    def __init__(self, name: str, conn: Connection, seed: int) -> None:
        self.name = name
        self.conn = conn
        self.rng = random.Random(seed)
        self.sent = bytearray()
        self.received = bytearray()
        self.shut = False

    def write(self, size: int, now: float) -> None:
        if self.shut or self.conn.state not in (TcpState.ESTABLISHED, TcpState.CLOSE_WAIT):
            return
        data = self.rng.randbytes(size)
        n = self.conn.send(data, now)
        assert 0 <= n <= size
        self.sent += data[:n]

    def read(self, size: int, now: float) -> None:
        self.received += self.conn.read(size, now)


WRITE_SIZES = st.sampled_from([0, 1, 10, 100, 536, 1220, 1500, 5000, 30000])
READ_SIZES = st.sampled_from([0, 1, 100, 1000, 10000, 1 << 20])


class TcpNetwork(RuleBasedStateMachine):
    #: RFC 8985 RACK-TLP loss detection (TcpParameters.rack) on both ends.
    RACK = False

    def __init__(self) -> None:
        super().__init__()
        self.world = SimWorld(seed=7)
        self.a: Side
        self.b: Side
        self.hosts: list[Host] = []
        self.segments: list[Segment] = []

    # -- the network ----------------------------------------------------------------------
    def _build(self, topo: Topology) -> tuple[Host, Host]:
        w = self.world
        w.segment("net_a", mtu=topo.mtu_a)
        w.segment("net_b", mtu=topo.mtu_b)
        a, b = w.host("a"), w.host("b")
        ia = w.connect(a, "net_a", params=_no_dad(topo.mtu_a))
        if not topo.routed:
            ib = w.connect(b, "net_a", params=_no_dad(topo.mtu_a))
            ia.add_static_address(ADDR_A, 64, w.now)
            ib.add_static_address(ADDR_B, 64, w.now)
            a.routes.add_static_route(NET_B, ia, None)
            b.routes.add_static_route(NET_A, ib, None)
            ia.add_static_neighbor(ADDR_B, ib.link.link_address)
            ib.add_static_neighbor(ADDR_A, ia.link.link_address)
            self.hosts = [a, b]
            self.segments = [w.segments["net_a"]]
            return a, b
        ib = w.connect(b, "net_b", params=_no_dad(topo.mtu_b))
        r = w.router("r")
        ra = w.connect(r.host, "net_a", params=_no_dad(topo.mtu_a))
        rb = w.connect(r.host, "net_b", params=_no_dad(topo.mtu_b))
        for iface, addr in ((ia, ADDR_A), (ib, ADDR_B)):
            iface.add_static_address(addr, 64, w.now)
        for iface, net in ((ra, NET_A), (rb, NET_B)):
            iface.add_static_address(ROUTER_LL, 64, w.now)
            iface.add_static_address(net[1], 64, w.now)
        a.routes.add_static_route(NET_B, ia, ROUTER_LL)
        b.routes.add_static_route(NET_A, ib, ROUTER_LL)
        ia.add_static_neighbor(ROUTER_LL, ra.link.link_address)
        ib.add_static_neighbor(ROUTER_LL, rb.link.link_address)
        ra.add_static_neighbor(ADDR_A, ia.link.link_address)
        rb.add_static_neighbor(ADDR_B, ib.link.link_address)
        self.hosts = [a, b, r.host]
        self.segments = [w.segments["net_a"], w.segments["net_b"]]
        return a, b

    @initialize(
        topo=topologies,
        pa=tcp_parameters(),
        pb=tcp_parameters(),
        loss=st.sampled_from([0.0, 0.1]),
    )
    def open(self, topo: Topology, pa: TcpParameters, pb: TcpParameters, loss: float) -> None:
        # RFC 8985 RACK-TLP on both ends or on neither (the class says which).
        pa, pb = replace(pa, rack=self.RACK), replace(pb, rack=self.RACK)
        a, b = self._build(topo)
        w = self.world
        w.run_for(0.01)
        for seg in self.segments:
            seg.impairments.loss = loss / len(self.segments)
        listener = b.tcp.listen(IPv6Address("::"), PORT, 4, w.now, params=pb)
        conn = a.tcp.connect(ADDR_B, PORT, w.now, params=pa)
        deadline = w.now + 300.0
        while not listener.accept_queue and w.now < deadline:
            w.run_for(0.5)
        assert listener.accept_queue, "the handshake did not complete"
        assert conn.state is TcpState.ESTABLISHED
        self.a = Side("a", conn, 1)
        self.b = Side("b", listener.accept_queue.popleft(), 2)
        self.beyond_window: list[str] = []
        w.observers.append(self._check_window)

    def _check_window(self, iface: Interface, frame: bytes, now: float) -> None:
        """On the wire, as it is sent: no octet beyond the window the receiver offered,
        but the one octet of a zero-window probe (RFC 9293 §3.8.6.1)."""
        if frame[12:14] != b"\x86\xdd" or frame[20] != 6 or iface.host.name not in "ab":
            return
        sender, receiver = (self.a, self.b) if iface.host.name == "a" else (self.b, self.a)
        if receiver.conn.state is TcpState.CLOSED:
            return
        tcp = frame[54:]
        octets = len(tcp) - (tcp[12] >> 4) * 4
        if not octets:
            return
        end = receiver.conn.rcv.seq_offset(int.from_bytes(tcp[4:8], "big")) + octets
        right = max(receiver.conn.rcv.adv, receiver.conn.rcv.nxt)
        if end > right + 1:
            self.beyond_window.append(
                f"{sender.name} sent up to {end}, window ends at {right} ({now})"
            )

    def _side(self, which: bool) -> Side:
        return self.a if which else self.b

    # -- the segments ---------------------------------------------------------------------
    @rule(
        data=st.data(),
        loss=st.sampled_from([0.0, 0.0, 0.02, 0.1, 0.2]),
        duplicate=st.sampled_from([0.0, 0.0, 0.05, 0.2]),
        reorder=st.sampled_from([0.0, 0.0, 0.05, 0.3]),
        delay=st.sampled_from([0.0001, 0.001, 0.01, 0.05]),
        jitter=st.sampled_from([0.0, 0.0, 0.001, 0.02]),
    )
    def impair(
        self,
        data: st.DataObject,
        loss: float,
        duplicate: float,
        reorder: float,
        delay: float,
        jitter: float,
    ) -> None:
        seg = data.draw(st.sampled_from(self.segments))
        imp = seg.impairments
        # At most ~20% end to end: a routed path crosses both segments.
        imp.loss = loss / len(self.segments)
        imp.duplicate, imp.reorder = duplicate, reorder
        imp.delay, imp.jitter = delay, jitter
        imp.reorder_delay = max(0.005, 2 * delay)

    # -- the applications -----------------------------------------------------------------
    @rule(which=st.booleans(), size=WRITE_SIZES)
    def write(self, which: bool, size: int) -> None:
        self._side(which).write(size, self.world.now)

    @rule(which=st.booleans(), size=READ_SIZES)
    def read(self, which: bool, size: int) -> None:
        self._side(which).read(size, self.world.now)

    @rule(
        writes=st.tuples(WRITE_SIZES, WRITE_SIZES),
        reads=st.tuples(READ_SIZES, READ_SIZES),
        dt=st.sampled_from([0.01, 0.1, 0.5, 2.0]),
    )
    def both_ways(self, writes: tuple[int, int], reads: tuple[int, int], dt: float) -> None:
        """Both applications write, time passes, both read: the streams cross."""
        now = self.world.now
        self.a.write(writes[0], now)
        self.b.write(writes[1], now)
        self.world.run_for(dt)
        self.a.read(reads[0], self.world.now)
        self.b.read(reads[1], self.world.now)

    @rule(dt=st.sampled_from([0.001, 0.01, 0.1, 0.5, 2.0, 10.0]))
    def time_passes(self, dt: float) -> None:
        self.world.run_for(dt)

    @precondition(lambda self: not (self.a.shut and self.b.shut))
    @rule(which=st.booleans())
    def shutdown(self, which: bool) -> None:
        """Half-close: the FIN follows what was written; reading goes on."""
        side = self._side(which)
        if not side.shut:
            side.shut = True
            side.conn.close(self.world.now)

    # -- invariants -----------------------------------------------------------------------
    @invariant()
    def no_errors(self) -> None:
        for host in self.hosts:
            assert host.internal_errors == 0
        for side in (self.a, self.b):
            assert side.conn.error is None, f"{side.name}: {side.conn.error!r}"

    @invariant()
    def within_the_window(self) -> None:
        """No data octet past the receiver's window (but a probe's one). Random runs found
        senders sliding the window's right edge forward with SND.UNA when an ACK too old
        by SND.WL1 to update SND.WND acknowledged new data (test_tcp_window.py)."""
        assert self.beyond_window == [], self.beyond_window

    @invariant()
    def received_a_prefix_of_what_was_sent(self) -> None:
        for sender, receiver in ((self.a, self.b), (self.b, self.a)):
            got = receiver.received
            assert sender.sent[: len(got)] == got, f"{receiver.name} received other octets"

    @invariant()
    def buffers_bounded(self) -> None:
        for side in (self.a, self.b):
            conn = side.conn
            held = len(conn.rcvbuf) + sum(len(v) for v in conn.rcv.ooo.values())
            assert held <= conn.receive_buffer, f"{side.name}: {held} > {conn.receive_buffer}"
            assert len(conn.sndbuf) <= conn.params.send_buffer

    def teardown(self) -> None:
        if not hasattr(self, "a"):
            return
        w = self.world
        for side in (self.a, self.b):
            if not side.shut:
                side.shut = True
                side.conn.close(w.now)
        deadline = w.now + FINISH_WITHIN
        while w.now < deadline:
            w.run_for(0.5)
            for side in (self.a, self.b):
                side.read(1 << 20, w.now)
            self.no_errors()
            self.buffers_bounded()
            if self.a.conn.state in DONE and self.b.conn.state in DONE:
                break
        for sender, receiver in ((self.a, self.b), (self.b, self.a)):
            assert len(receiver.received) == len(sender.sent), (
                f"{receiver.name} received {len(receiver.received)} of {len(sender.sent)}"
            )
            assert receiver.received == sender.sent
            assert receiver.conn.eof
        states = (self.a.conn.state, self.b.conn.state)
        assert states[0] in DONE and states[1] in DONE, states
        w.run_for(2 * MSL + 1.0)
        assert (self.a.conn.state, self.b.conn.state) == (TcpState.CLOSED, TcpState.CLOSED)
        for host in self.hosts:
            assert host.tcp.connections == {}
            assert host.internal_errors == 0


class TcpNetworkRack(TcpNetwork):
    """The same network, loss detected by RFC 8985 RACK-TLP (with RFC 6937 PRR) where
    both ends permit SACK, RFC 6582 NewReno where not."""

    RACK = True


TcpNetwork.TestCase.settings = settings(
    max_examples=examples(60), stateful_step_count=40, deadline=None
)
TcpNetworkRack.TestCase.settings = settings(
    max_examples=examples(60), stateful_step_count=40, deadline=None
)
TestTcpNetwork = TcpNetwork.TestCase
TestTcpNetworkRack = TcpNetworkRack.TestCase


# -- regressions: examples the machine found, as plain tests ---------------------------------


def _params(**kw: object) -> TcpParameters:
    base: dict[str, object] = {
        "max_data_retransmissions": 30,
        "max_connect_retransmissions": 30,
        "msl": MSL,
    }
    return TcpParameters(**{**base, **kw})  # type: ignore[arg-type]


def test_rtt_sample_taken_by_the_ack_that_ends_the_timed_segment() -> None:
    """Found as a transfer into a 1440-octet window that took minutes: the segment
    filling the window was timed, the ACK of exactly its last octet was not taken as
    its measurement (SEG.ACK was compared with > to the segment's end), so the next
    ACK, a minute later after a lost window update, gave a 60 s RTT sample and an RTO
    of 35 s. Here the sender simply pauses between two writes."""
    net = TcpNetwork()
    no_ts = _params(timestamps=False, delayed_ack=False)
    net.open(Topology(routed=False, mtu_a=1500, mtu_b=1500), no_ts, no_ts, 0.0)
    net.b.write(100, net.world.now)
    net.world.run_for(30.0)
    net.b.write(100, net.world.now)
    net.world.run_for(1.0)
    assert net.b.conn.rto.rto == 1.0  # RFC 6298 §2.4: min_rto, from millisecond samples
    net.teardown()


def test_zero_window_probes_resend_one_octet_and_never_give_up() -> None:
    """Found as a receiver with a 1440-octet buffer that paused reading: each persist
    timeout sent the next octet beyond the closed window (the earlier probe counted as
    sent, so a new one went after it), the ACKs of those probes counted as duplicate
    ACKs, a fast retransmit started the retransmission timer, and its timeouts backed
    off and used up the retries of a connection whose peer answered every probe."""
    net = TcpNetwork()
    # The default retransmission limits: a closed window must not use them up.
    small = TcpParameters(timestamps=False, receive_buffer=1024, delayed_ack=False, msl=MSL)
    net.open(Topology(routed=False, mtu_a=1500, mtu_b=1500), small, TcpParameters(msl=MSL), 0.0)
    probes: list[int] = []

    def probe(iface: Interface, frame: bytes, now: float) -> None:
        if iface.host.name == "b" and len(frame) == 54 + 20 + 1:
            probes.append(int.from_bytes(frame[58:62], "big"))

    net.world.observers.append(probe)
    net.b.write(4000, net.world.now)
    net.world.run_for(300.0)  # a does not read: b's window stays closed
    c = net.b.conn
    assert c.state is TcpState.ESTABLISHED and c.error is None
    assert len(probes) >= 4 and len(set(probes)) == 1  # RFC 9293 §3.8.6.1: the same octet
    counters = net.hosts[1].tcp.counters
    assert counters.fast_retransmits == 0 and counters.timeouts == 0
    net.teardown()


def test_retransmission_timeout_stays_within_the_window() -> None:
    """Found as: a 1024-octet window, 1220 octets written, the first segment (1024
    octets) lost: the retransmission took a full MSS, 1220 octets, past the window."""
    net = TcpNetwork()
    pa = _params(timestamps=False, window_scaling=False, nagle=False)
    pb = _params(timestamps=False, window_scaling=False, receive_buffer=1024)
    net.open(Topology(routed=False, mtu_a=1500, mtu_b=1500), pa, pb, 0.0)
    lan = net.segments[0].impairments
    lan.loss = 1.0
    net.a.write(1220, net.world.now)
    net.world.run_for(0.1)
    lan.loss = 0.0
    net.world.run_for(2.0)  # the retransmission timeout
    assert net.hosts[0].tcp.counters.timeouts == 1
    net.within_the_window()
    net.teardown()


def test_acks_after_a_timeout_carry_the_highest_sequence_sent() -> None:
    """Found by a random run (both ends writing, 10% loss while opening): after their
    timeouts both ends went back to resend (go-back-N) and sent their ACKs with the older
    SEQ; each ACK then lay before the other's RCV.NXT, failed the acceptability test
    (RFC 9293 §3.10.7.4) and had its acknowledgment ignored, so neither end ever learned
    its data had arrived. A pure ACK carries the highest sequence number sent."""
    net = TcpNetwork()
    common = {"max_data_retransmissions": 30, "max_connect_retransmissions": 30, "msl": MSL}
    pa = TcpParameters(
        sack=False, delayed_ack=False, send_buffer=20000, receive_buffer=16384, **common
    )  # type: ignore[arg-type]
    pb = TcpParameters(sack=False, timestamps=False, delayed_ack=False, send_buffer=200000,
                       receive_buffer=16384, **common)  # type: ignore[arg-type]  # fmt: skip
    net.open(Topology(routed=False, mtu_a=1500, mtu_b=1500), pa, pb, 0.1)
    steps = [(True, 0, 5000), (True, 100, 0), (False, 1, 1500), (False, 10000, 0)]
    steps += [(True, 1 << 20, 0), (True, 1000, 5000), (True, 10000, 0), (False, 0, 30000)]
    for which, read, write in steps:
        side = net.a if which else net.b
        if write:
            side.write(write, net.world.now)
        side.read(read, net.world.now)
    # Exactly the octets sent arrive both ways (before the fix: 4320 of 10000), then both
    # ends close.
    net.teardown()
