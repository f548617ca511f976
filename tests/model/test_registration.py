"""The mobile node's home registration (RFC 6275 §11.7, the ``registration`` graph) against
the RFC 6275 reference model (spec/rfc6275_mobility.py): new care-of addresses, returns
home, Binding Refresh Requests, random Binding Acknowledgements (every status class,
Sequence Numbers across the 2^16 wrap, any lifetime) and time passing; after every step the
Binding Update List entry, its graph state and every Binding Update on the wire (read by
scapy) agree with the model."""

from __future__ import annotations

from ipaddress import IPv6Address, IPv6Network
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from scapy.layers import inet6 as s6
from scapy.layers.l2 import Ether

from tcpip6.io.sim import SimWorld
from tcpip6.spec import rfc6275_mobility as spec
from tcpip6.stack.machines import registration as registration_graph
from tcpip6.stack.machines.graph import TransitionRecord
from tcpip6.stack.machines.registration import TRANSITIONS
from tcpip6.stack.mobility.mobile_node import MobileNode, enable_mobile_node
from tcpip6.wire import mobility as wire_mh
from tests.model.mobile_node import mobile_node_host
from tests.model.walks import run_walks, walk_then_top_up, walks_leave_untaken

HOME = IPv6Network("2001:db8:10::/64")
HA = HOME[1]
HOA = HOME[0x100]
COAS = [IPv6Address("2001:db8:20::200"), IPv6Address("2001:db8:30::300")]
HA_MAC = bytes.fromhex("0200000000a1")
#: Acceptances weigh more: a registration must stand for the refresh rules to run.
STATUSES = [0, 0, 0, 1, 128, 129, 130, 132, 133, 134, 135, 139]

#: Every (source, trigger, dest) of the registration graph seen, across examples.
SEEN: set[tuple[str, str, str]] = set()


def record(rec: TransitionRecord) -> None:
    SEEN.add((rec.old, rec.trigger, rec.new))


class RegistrationVersusSpec(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.world = SimWorld(5)
        host, iface = mobile_node_host(self.world, (*COAS, HOA), {HA: HA_MAC})
        #: Frames the home agent's port received since the last check, and the Binding
        #: Updates among all of them so far (read by scapy).
        self.frames: list[bytes] = []
        self.on_wire: list[tuple[Any, ...]] = []
        port = self.world.segment("lan").attach(HA_MAC)
        port.receiver = lambda frame, now: self.frames.append(frame)
        self.node: MobileNode = enable_mobile_node(host, iface, HOA, HOME, HA)
        self.node.entry.trace_sink = record
        self.model = spec.BindingUpdateListEntry()
        self.expected: list[tuple[Any, ...]] = []

    @initialize(sequence=st.integers(0, 0xFFFF) | st.sampled_from([0xFFFE, 0xFFFF, 0x7FFF]))
    def first_sequence(self, sequence: int) -> None:
        self.node.entry.sequence_number = sequence
        self.model = spec.BindingUpdateListEntry(sequence_number=sequence)
        self.frames.clear()

    def _sent(self, actions: list[spec.SendBindingUpdate]) -> None:
        for a in actions:
            src = HOA if a.care_of_address is None else a.care_of_address
            hao = None if a.care_of_address is None else HOA
            self.expected.append((a.sequence_number, a.lifetime, src, hao))
        # A millisecond for the frames to reach the wire; whatever falls due meanwhile (a
        # binding acknowledged with lifetime 0 ends at once) is due in the model too.
        self.world.run_for(0.001)
        self.model, more = spec.on_registration_time(self.model, self.world.now)
        if more:
            self._sent(more)

    # -- what happens to the mobile node --------------------------------------------------
    @rule(care_of=st.sampled_from(COAS))
    def new_care_of_address(self, care_of: IPv6Address) -> None:
        self.node.register(care_of, self.world.now)
        self.model, sent = spec.on_new_care_of_address(self.model, care_of, self.world.now)
        self._sent(sent)

    @rule()
    def back_home(self) -> None:
        self.node.deregister(self.world.now)
        self.model, sent = spec.on_returned_home(self.model, self.world.now)
        self._sent(sent)

    @rule()
    def binding_refresh_request(self) -> None:
        self.node.binding_refresh_request(self.world.now)
        self.model, sent = spec.on_binding_refresh_request(self.model, self.world.now)
        self._sent(sent)

    @rule(
        status=st.sampled_from(STATUSES),
        which=st.sampled_from(["outstanding"] * 4 + ["previous", "next"]) | st.integers(0, 0xFFFF),
        lifetime=st.sampled_from([0, 1, 15, 15, 150, 200]) | st.integers(0, 0xFFFF),
    )
    def binding_acknowledgement(self, status: int, which: str | int, lifetime: int) -> None:
        seq = self.model.sequence_number
        sequence = {"outstanding": seq, "previous": seq - 1, "next": seq + 1}.get(
            str(which), which if isinstance(which, int) else seq
        )
        sequence = int(sequence) % 0x10000
        ba = wire_mh.BindingAcknowledgement(status, sequence, lifetime)
        self.node.binding_acknowledgement(ba, self.world.now)
        self.model, sent = spec.on_binding_acknowledgement(
            self.model, status, sequence, lifetime, self.world.now
        )
        self._sent(sent)

    @rule(seconds=st.sampled_from([0.5, 1.0, 1.5, 2.0, 5.0, 31.0, 40.0, 61.0, 300.0, 700.0]))
    def time_passes(self, seconds: float) -> None:
        self.world.run_for(seconds)
        self.model, sent = spec.on_registration_time(self.model, self.world.now)
        self._sent(sent)

    # -- the stack and the model agree ----------------------------------------------------
    @invariant()
    def agree(self) -> None:
        e, m = self.node.entry, self.model
        assert e.state.name == m.state
        assert e.sequence_number == m.sequence_number
        assert e.care_of_address == m.care_of_address
        assert e.lifetime == m.lifetime
        if m.state in (spec.BOUND, spec.REFRESHING):
            assert e.expires == m.expires
        if m.state in spec.OUTSTANDING:
            assert e.retransmit_at == m.retransmit_at
        assert self.node.next_deadline() == spec.next_registration_deadline(m)
        for frame in self.frames:
            if frame[20] not in (60, 135):  # only a Mobility Header, or one after options
                continue
            p = Ether(frame)
            if s6.MIP6MH_BU not in p:
                continue
            bu = p[s6.MIP6MH_BU]
            assert bu.flags.A and bu.flags.H  # RFC 6275 §11.7.1
            hao = IPv6Address(p[s6.HAO].hoa) if s6.HAO in p else None
            self.on_wire.append((bu.seq, bu.mhtime, IPv6Address(p[s6.IPv6].src), hao))
        self.frames.clear()
        assert self.on_wire == self.expected
        assert self.node.host.internal_errors == 0


TestRegistrationVersusSpec = RegistrationVersusSpec.TestCase


#: Scripted runs that take every row of the graph (``tests/model/test_graphs.py`` runs them
#: before the random search): (rule, arguments) steps, the model checked after each.
WALKS: list[list[tuple[str, dict[str, Any]]]] = [
    # register, acknowledged; refresh, acknowledged; expire without refresh
    [
        ("new_care_of_address", {"care_of": COAS[0]}),
        ("binding_acknowledgement", {"status": 0, "which": "outstanding", "lifetime": 15}),
        ("time_passes", {"seconds": 40.0}),
        ("binding_acknowledgement", {"status": 0, "which": "outstanding", "lifetime": 15}),
        ("time_passes", {"seconds": 61.0}),
    ],
    # every answer to an outstanding registration, a refresh and a deregistration
    *[
        [
            ("new_care_of_address", {"care_of": COAS[0]}),
            *(
                []
                if phase == "REGISTERING"
                else [
                    (
                        "binding_acknowledgement",
                        {"status": 0, "which": "outstanding", "lifetime": 150},
                    ),
                    ("binding_refresh_request", {}),
                ]
            ),
            *([("back_home", {})] if phase == "DEREGISTERING" else []),
            ("time_passes", {"seconds": 1.5}),
            ("binding_acknowledgement", {"status": 135, "which": 0x1234, "lifetime": 0}),
            ("new_care_of_address", {"care_of": COAS[1]})
            if last == "register"
            else ("back_home", {})
            if last == "deregister"
            else (
                "binding_acknowledgement",
                {"status": last, "which": "outstanding", "lifetime": 150},
            ),
        ]
        for phase in ("REGISTERING", "REFRESHING", "DEREGISTERING")
        for last in (0, 128, "register", "deregister")
    ],
    # acknowledged with lifetime 0: the binding ends at once
    [
        ("new_care_of_address", {"care_of": COAS[0]}),
        ("binding_acknowledgement", {"status": 0, "which": "outstanding", "lifetime": 0}),
    ],
    # moves on, and home, from an acknowledged binding
    *[
        [
            ("new_care_of_address", {"care_of": COAS[0]}),
            ("binding_acknowledgement", {"status": 1, "which": "outstanding", "lifetime": 150}),
            step,
        ]
        for step in (("new_care_of_address", {"care_of": COAS[1]}), ("back_home", {}))
    ],
    # a refresh outstanding when the binding's lifetime ends
    [
        ("new_care_of_address", {"care_of": COAS[0]}),
        ("binding_acknowledgement", {"status": 0, "which": "outstanding", "lifetime": 1}),
        ("binding_refresh_request", {}),
        ("time_passes", {"seconds": 5.0}),
    ],
]


def walk_every_row() -> None:
    run_walks(RegistrationVersusSpec, WALKS, first_sequence=0xFFFF)  # across the wrap at once


def test_the_walks_take_every_row() -> None:
    """The scripted walks alone take every row (``make graph-coverage`` counts them)."""
    assert walks_leave_untaken(walk_every_row, SEEN, TRANSITIONS) == set()


def test_model_test_takes_every_transition() -> None:
    walk_then_top_up(
        walk_every_row, RegistrationVersusSpec, registration_graph.GRAPH, SEEN, max_examples=300
    )
