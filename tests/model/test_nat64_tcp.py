"""The NAT64 TCP session graph (through the stack's Nat64) against the RFC 6146 §3.5.2
reference model (spec/rfc6146_nat64.py): the same random segments in both directions and
the same passing of time, compared after every step (state, lifetime, what was sent)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from scapy.layers.inet import ICMP, IP, TCP
from scapy.layers.inet6 import IPv6

from tcpip6.spec import rfc6146_nat64 as spec
from tcpip6.stack.machines import nat64_tcp as nat64_graph
from tcpip6.stack.machines.graph import TransitionRecord
from tcpip6.stack.translate.nat64 import Nat64, Nat64Config
from tcpip6.stack.translate.rfc6052 import Rfc6052Prefix
from tests.model.coverage import take_every_transition

SEEN: set[tuple[str, str, str]] = set()

X = (IPv6Address("2001:db8:1::1"), 40000)
Z = (IPv4Address("198.51.100.7"), 80)
POOL = IPv4Address("192.0.2.10")
T = (POOL, 50000)
PREFIX = Rfc6052Prefix(IPv6Network("2001:db8:64::/96"))
Y6 = PREFIX.embed(Z[0])

#: the graph's state names for the RFC's
STATE = {
    spec.CLOSED: "CLOSED",
    spec.V4_INIT: "V4_INIT",
    spec.V6_INIT: "V6_INIT",
    spec.ESTABLISHED: "ESTABLISHED",
    spec.V4_FIN_RCV: "V4_FIN_RCV",
    spec.V6_FIN_RCV: "V6_FIN_RCV",
    spec.V4_FIN_V6_FIN_RCV: "V4_FIN_V6_FIN_RCV",
    spec.TRANS: "TRANS",
}

FLAGS = st.sampled_from(
    ["S", "SA", "A", "PA", "F", "FA", "R", "RA", "SF", "SR", "FR"]
) | st.sampled_from(["S", "A", "FA"])
STEPS = st.sampled_from(
    [1.0, 5.0, 6.0, 7.0, 120.0, 239.0, 240.0, 241.0, 300.0, 7439.0, 7440.0, 7441.0]
)


def record(rec: TransitionRecord) -> None:
    SEEN.add((rec.old, rec.trigger, rec.new))


class Nat64TcpVersusSpec(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = 1000.0
        self.nat = Nat64(
            Nat64Config(PREFIX, (IPv4Network(POOL),), ipv4_address=IPv4Address("192.0.2.1")),
            trace_sink=record,
        )
        # A static BIB entry (RFC 6146 §3.1): with it an IPv4 SYN may open a session.
        self.nat.add_static(6, X, T)
        self.model = spec.TcpSession()

    def session(self) -> object | None:
        return self.nat.sessions_v6.get((6, X, (Y6, Z[1])))

    @rule(flags=FLAGS)
    def segment_from_v6(self, flags: str) -> None:
        pkt = IPv6(src=str(X[0]), dst=str(Y6)) / TCP(sport=X[1], dport=Z[1], flags=flags)
        r = self.nat.translate_v6(bytes(pkt), self.now)
        self._compare_segment(True, flags, r.packets)
        if r.packets:
            out = IP(r.packets[0])
            assert (out.src, out[TCP].sport, out.dst, out[TCP].dport) == (
                str(T[0]),
                T[1],
                str(Z[0]),
                Z[1],
            )

    @rule(flags=FLAGS)
    def segment_from_v4(self, flags: str) -> None:
        pkt = IP(src=str(Z[0]), dst=str(T[0])) / TCP(sport=Z[1], dport=T[1], flags=flags)
        r = self.nat.translate_v4(bytes(pkt), self.now)
        self._compare_segment(False, flags, r.packets)
        if r.packets:
            out = IPv6(r.packets[0])
            assert (out.src, out[TCP].sport, out.dst, out[TCP].dport) == (
                str(Y6),
                Z[1],
                str(X[0]),
                X[1],
            )

    def _compare_segment(self, from_v6: bool, flags: str, packets: tuple[bytes, ...]) -> None:
        seg = spec.Segment(from_v6, syn="S" in flags, fin="F" in flags, rst="R" in flags)
        self.model, actions = spec.on_segment(self.model, seg, self.now)
        assert bool(packets) == (("translate",) in actions), (flags, actions)

    @rule()
    def connection_opens_from_v6(self) -> None:
        """A whole opening (SYN out, SYN-ACK in, ACK out), so that later steps start from
        ESTABLISHED more often than chance would."""
        for side, flags in ((True, "S"), (False, "SA"), (True, "A")):
            (self.segment_from_v6 if side else self.segment_from_v4)(flags)

    @rule(dt=STEPS)
    def time_passes(self, dt: float) -> None:
        self.now += dt
        sent = self.nat.poll(self.now)
        actions: list[tuple[str, ...]] = []
        if spec.is_due(self.model, self.now):
            self.model, actions = spec.on_lifetime_expired(self.model, self.now)
        probes = [p for p in sent if p[0] >> 4 == 6]
        unreach = [p for p in sent if p[0] >> 4 == 4]
        assert len(probes) == actions.count(("probe",))
        assert len(unreach) == actions.count(("port_unreachable",))
        for p in probes:
            # RFC 6146 §3.5.2.2: no data, SEQ and ACK zero, only ACK, from Y' to X'.
            seg = IPv6(p)[TCP]
            assert (seg.seq, seg.ack, str(seg.flags), len(seg.payload)) == (0, 0, "A", 0)
        for p in unreach:
            assert (IP(p)[ICMP].type, IP(p)[ICMP].code, IP(p).dst) == (3, 3, str(Z[0]))

    @invariant()
    def agree(self) -> None:
        s = self.session()
        if self.model.state == spec.CLOSED:
            assert s is None
            return
        assert s is not None
        assert (s.state.name, s.expires) == (STATE[self.model.state], self.model.expires)  # type: ignore[attr-defined]


Nat64TcpVersusSpec.TestCase.settings = settings(
    max_examples=200, stateful_step_count=40, deadline=None
)
TestNat64TcpVersusSpec = Nat64TcpVersusSpec.TestCase


#: One segment (or the lifetime's end) per trigger, as the machine's rules send it: the
#: owner classifies RST before SYN before FIN, then anything else (an ACK here).
FIRE: dict[str, tuple[str, str]] = {
    "v6_syn": ("v6", "S"),
    "v4_syn": ("v4", "S"),
    "v6_fin": ("v6", "FA"),
    "v4_fin": ("v4", "FA"),
    "v6_rst": ("v6", "R"),
    "v4_rst": ("v4", "R"),
    "v6_other": ("v6", "A"),
    "v4_other": ("v4", "A"),
    "lifetime_expired": ("time", ""),
}


def fire(m: Nat64TcpVersusSpec, trigger: str) -> None:
    side, flags = FIRE[trigger]
    if side == "v6":
        m.segment_from_v6(flags)
    elif side == "v4":
        m.segment_from_v4(flags)
    else:  # past the longest lifetime (TCP_EST), and one expiry at a time
        m.time_passes(7441.0)
    m.agree()


def paths() -> dict[str, list[str]]:
    """The shortest trigger sequence from CLOSED to each state, over the declared edges."""
    found: dict[str, list[str]] = {"CLOSED": []}
    frontier = ["CLOSED"]
    while frontier:
        nxt = []
        for source, dest, trigger, _, _ in nat64_graph.GRAPH.edges():
            if source in frontier and dest not in found:
                found[dest] = [*found[source], trigger]
                nxt.append(dest)
        frontier = nxt
    return found


def test_a_tour_of_every_transition() -> None:
    """Each declared transition, from a fresh translator, compared with the spec model at
    every step on the way: the rarer ones (an IPv4 segment in TRANS, a lifetime ending in a
    FIN state) are taken on every run, not only by the random run's luck."""
    route = paths()
    for source, dest, trigger, _, _ in nat64_graph.GRAPH.edges():
        m = Nat64TcpVersusSpec()
        for step in route[source]:
            fire(m, step)
        assert STATE[m.model.state] == source
        SEEN.discard((source, trigger, dest))
        fire(m, trigger)
        assert STATE[m.model.state] == dest, (source, trigger)
        # The stack's graph fired it too (agree() compared the session's state).
        assert (source, trigger, dest) in SEEN, (source, trigger, dest)
        m.teardown()


def test_model_test_takes_every_transition() -> None:
    test_a_tour_of_every_transition()
    take_every_transition(
        Nat64TcpVersusSpec, nat64_graph.GRAPH, SEEN, max_examples=100, stateful_step_count=50
    )
