"""The mobile node's registration with a correspondent (RFC 6275 §11.6, RFC 6275 §11.7.2,
the ``correspondent_registration`` graph) against the RFC 6275 reference model
(spec/rfc6275_mobility.py): new care-of addresses, returns home, Home Tests and Care-of
Tests with their own cookies or others, random Binding Acknowledgements (every status
class, Sequence Numbers across the 2^16 wrap, any lifetime, Authenticators right and
wrong), Binding Refresh Requests and time passing; after every step the Binding Update List
entry, its graph state and every message on the wire (read by scapy, the Authenticator
checked with the model's Kbm) agree with the model."""

from __future__ import annotations

from ipaddress import IPv6Address, IPv6Network
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from scapy.layers import inet6 as s6
from scapy.layers.l2 import Ether

from tcpip6.io.sim import SimWorld
from tcpip6.spec import rfc6275_mobility as spec
from tcpip6.stack.machines import correspondent_registration as registration_graph
from tcpip6.stack.machines.correspondent_registration import TRANSITIONS
from tcpip6.stack.machines.graph import TransitionRecord
from tcpip6.stack.mobility import return_routability as rr
from tcpip6.stack.mobility.mobile_node import enable_mobile_node
from tcpip6.stack.mobility.route_optimisation import CorrespondentEntry, RouteOptimisation
from tcpip6.wire import mobility as wire_mh
from tests.model.mobile_node import mobile_node_host
from tests.model.walks import run_walks, walk_then_top_up, walks_leave_untaken

HOME = IPv6Network("2001:db8:10::/64")
HA = HOME[1]
HOA = HOME[0x100]
CN = HOME[0xC]
COAS = [IPv6Address("2001:db8:20::200"), IPv6Address("2001:db8:30::300")]
HA_MAC = bytes.fromhex("0200000000a1")
CN_MAC = bytes.fromhex("0200000000c1")
#: Acceptances weigh more: a binding must stand for the refresh rules to run.
STATUSES = [0, 0, 0, 1, 128, 130, 135, 136, 137, 138, 139]
TOKENS = st.binary(min_size=8, max_size=8)

#: Every (source, trigger, dest) of the graph seen, across examples.
SEEN: set[tuple[str, str, str]] = set()


def record(rec: TransitionRecord) -> None:
    SEEN.add((rec.old, rec.trigger, rec.new))


def _mh_data(raw: bytes, auth: bytes) -> bytes:
    """RFC 6275 §5.2.6: the Mobility Header, Checksum zero, without the Authenticator."""
    zeroed = raw[:4] + b"\x00\x00" + raw[6:]
    at = raw.index(auth)
    return zeroed[:at] + zeroed[at + len(auth) :]


class CorrespondentRegistrationVersusSpec(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.world = SimWorld(5)
        host, iface = mobile_node_host(self.world, (*COAS, HOA), {HA: HA_MAC, CN: CN_MAC})
        #: Frames the correspondent's port received since the last check; what they said.
        self.frames: list[bytes] = []
        self.on_wire: list[tuple[Any, ...]] = []
        self.expected: list[tuple[Any, ...]] = []
        self.keys: list[bytes] = []  # the model's Kbm of each Binding Update expected
        self.home_cookie = self.care_of_cookie = b"\x00" * 8
        port = self.world.segment("lan").attach(CN_MAC)
        port.receiver = lambda frame, now: self.frames.append(frame)
        node = enable_mobile_node(host, iface, HOA, HOME, HA, route_optimisation=True)
        assert node.ro is not None
        self.ro: RouteOptimisation = node.ro
        entry = self.ro.want(CN, self.world.now)
        assert entry is not None
        self.entry: CorrespondentEntry = entry
        self.entry.trace_sink = record
        self.model = spec.CorrespondentEntry(sequence_number=self.entry.sequence_number)
        self.registered: IPv6Address | None = None

    @initialize(sequence=st.integers(0, 0xFFFF) | st.sampled_from([0xFFFE, 0xFFFF]))
    def first_sequence(self, sequence: int) -> None:
        self.entry.sequence_number = sequence
        self.model = spec.CorrespondentEntry(sequence_number=sequence)

    def _sent(self, actions: list[spec.RrAction]) -> None:
        for a in actions:
            if isinstance(a, spec.SendHomeTestInit):
                self.expected.append(("hoti", HOA))
            elif isinstance(a, spec.SendCareOfTestInit):
                self.expected.append(("coti", a.care_of_address))
            else:
                home = a.care_of_address == HOA
                self.expected.append(
                    (
                        "bu",
                        a.sequence_number,
                        a.lifetime,
                        a.care_of_address,
                        None if home else HOA,
                        a.home_nonce_index,
                        a.care_of_nonce_index,
                    )
                )
                self.keys.append(a.kbm)
        # A millisecond for the frames to reach the wire; whatever falls due meanwhile is
        # due in the model too.
        self.world.run_for(0.001)
        self.model, more = spec.on_rr_time(self.model, HOA, self.world.now)
        if more:
            self._sent(more)
        self._read_wire()

    def _read_wire(self) -> None:
        for frame in self.frames:
            p = Ether(frame)
            if s6.MIP6MH_HoTI in p:
                self.home_cookie = bytes(p[s6.MIP6MH_HoTI].cookie)
                self.on_wire.append(("hoti", IPv6Address(p[s6.IPv6].src)))
            elif s6.MIP6MH_CoTI in p:
                self.care_of_cookie = bytes(p[s6.MIP6MH_CoTI].cookie)
                self.on_wire.append(("coti", IPv6Address(p[s6.IPv6].src)))
            elif s6.MIP6MH_BU in p:
                bu = p[s6.MIP6MH_BU]
                assert bu.flags.A and not bu.flags.H  # RFC 6275 §11.7.2
                nonces = bu[s6.MIP6OptNonceIndices]
                auth = int(bu[s6.MIP6OptBindingAuthData].authenticator).to_bytes(12, "big")
                src = IPv6Address(p[s6.IPv6].src)
                hao = IPv6Address(p[s6.HAO].hoa) if s6.HAO in p else None
                self.on_wire.append(("bu", bu.seq, bu.mhtime, src, hao, nonces.hni, nonces.coni))
                # RFC 6275 §5.2.6: the Authenticator under the model's Kbm.
                key = self.keys[sum(1 for w in self.on_wire if w[0] == "bu") - 1]
                assert spec.authenticator(key, src, CN, _mh_data(bytes(bu), auth)) == auth
        self.frames.clear()

    # -- what happens to the mobile node --------------------------------------------------
    @rule(care_of=st.sampled_from(COAS))
    def care_of_registered(self, care_of: IPv6Address) -> None:
        self.ro.home_registered(care_of, self.world.now)
        if care_of == self.registered:
            self._sent([])  # the same care-of address again: nothing new
            return
        self.registered = care_of
        self.model, sent = spec.on_rr_care_of_registered(self.model, care_of, self.world.now)
        self._sent(sent)

    @rule()
    def returned_home(self) -> None:
        self.ro.returned_home(self.world.now)
        self.registered = None
        self.model, sent = spec.on_rr_returned_home(self.model, HOA, self.world.now)
        self._sent(sent)

    @rule()
    def binding_refresh_request(self) -> None:
        self.ro.binding_refresh_request(self.entry, self.world.now)
        self.model, sent = spec.on_rr_binding_refresh_request(self.model, self.world.now)
        self._sent(sent)

    @rule(matches=st.booleans(), index=st.integers(0, 0xFFFF), token=TOKENS)
    def home_test(self, matches: bool, index: int, token: bytes) -> None:
        cookie = self.home_cookie if matches else bytes(b ^ 0x5A for b in self.home_cookie)
        msg = wire_mh.HomeTest(index, cookie, token)
        self.ro.home_test(self.entry, msg, HOA, self.world.now)
        self.model, sent = spec.on_rr_home_test(
            self.model, matches, index, token, HOA, self.world.now
        )
        self._sent(sent)

    @rule(matches=st.booleans(), index=st.integers(0, 0xFFFF), token=TOKENS)
    def care_of_test(self, matches: bool, index: int, token: bytes) -> None:
        cookie = self.care_of_cookie if matches else bytes(b ^ 0x5A for b in self.care_of_cookie)
        to = self.model.care_of_address or COAS[0]
        msg = wire_mh.CareOfTest(index, cookie, token)
        self.ro.care_of_test(self.entry, msg, to, self.world.now)
        self.model, sent = spec.on_rr_care_of_test(
            self.model, matches, index, token, HOA, self.world.now
        )
        self._sent(sent)

    @rule(
        status=st.sampled_from(STATUSES),
        which=st.sampled_from(["outstanding"] * 4 + ["previous", "next"]) | st.integers(0, 0xFFFF),
        lifetime=st.sampled_from([0, 1, 15, 105, 105]) | st.integers(0, 0xFFFF),
        authentic=st.sampled_from([True, True, True, False]),
    )
    def binding_acknowledgement(
        self, status: int, which: str | int, lifetime: int, authentic: bool
    ) -> None:
        seq = self.model.sequence_number
        picked = {"outstanding": seq, "previous": seq - 1, "next": seq + 1}.get(str(which))
        sequence = (picked if picked is not None else int(which)) % 0x10000
        ba = wire_mh.BindingAcknowledgement(status, sequence, lifetime)
        key = self.keys[-1] if self.keys else None
        care_of = self.model.care_of_address
        if key is not None and care_of is not None and authentic:
            header = rr.authenticate(key, care_of, CN, ba)
        elif key is not None and care_of is not None:
            # A wrong Authenticator: Kbm with one bit flipped.
            header = rr.authenticate(bytes([key[0] ^ 1]) + key[1:], care_of, CN, ba)
        else:
            header = wire_mh.MobilityHeader.aligned(ba)
        good = authentic and key is not None and care_of is not None
        self.ro.binding_acknowledgement(self.entry, header, ba, self.world.now)
        self.model, sent = spec.on_rr_binding_acknowledgement(
            self.model, status, sequence, lifetime, good, HOA, self.world.now
        )
        self._sent(sent)

    @rule(code=st.sampled_from([1, 1, 0, 2]))
    def parameter_problem(self, code: int) -> None:
        """The correspondent answers a Mobility Header message with ICMPv6 Parameter
        Problem (code 1: unrecognized Next Header), through the host's ICMPv6 input."""
        care_of = self.model.care_of_address or HOA
        invoking = s6.IPv6(src=str(care_of), dst=str(CN)) / s6.MIP6MH_CoTI(cookie=b"12345678")
        error = (
            s6.IPv6(src=str(CN), dst=str(care_of), hlim=64)
            / s6.ICMPv6ParamProblem(code=code, ptr=6)
            / invoking
        )
        iface = self.ro.mn.interface
        frame = bytes(Ether(src=CN_MAC.hex(":"), dst=iface.link.link_address.hex(":")) / error)
        self.ro.mn.host.receive(iface, frame, self.world.now)
        self.model, sent = spec.on_rr_parameter_problem(self.model, code)
        self._sent(sent)

    @rule(seconds=st.sampled_from([0.5, 1.0, 2.0, 5.0, 33.0, 100.0, 200.0, 400.0]))
    def time_passes(self, seconds: float) -> None:
        self.world.run_for(seconds)
        self.model, sent = spec.on_rr_time(self.model, HOA, self.world.now)
        self._sent(sent)

    # -- the stack and the model agree ----------------------------------------------------
    @invariant()
    def agree(self) -> None:
        e, m = self.entry, self.model
        assert e.state.name == m.state
        assert e.sequence_number == m.sequence_number
        assert e.care_of_address == m.care_of_address
        assert (e.home_cookie is not None) == m.home_test_outstanding
        assert (e.care_of_cookie is not None) == m.care_of_test_outstanding
        assert (e.home_token, e.home_nonce_index) == (m.home_token, m.home_nonce_index)
        assert (e.care_of_token, e.care_of_nonce_index) == (m.care_of_token, m.care_of_nonce_index)
        assert e.bu_outstanding == m.bu_outstanding
        assert e.not_supported == m.not_supported
        assert (e.bound_care_of, e.expires) == (m.bound_care_of, m.expires)
        assert e.retransmit_at == m.retransmit_at
        assert self.ro.next_deadline() == spec.next_rr_deadline(m)
        assert self.on_wire == self.expected
        assert self.ro.mn.host.internal_errors == 0


CorrespondentRegistrationVersusSpec.TestCase.settings = settings(
    max_examples=25, stateful_step_count=25, deadline=None
)
TestCorrespondentRegistrationVersusSpec = CorrespondentRegistrationVersusSpec.TestCase

_OK = {"status": 0, "which": "outstanding", "lifetime": 105, "authentic": True}
_TESTS = [
    ("home_test", {"matches": True, "index": 3, "token": b"home-tok"}),
    ("care_of_test", {"matches": True, "index": 4, "token": b"coa-tokn"}),
]
_BOUND = [("care_of_registered", {"care_of": COAS[0]}), *_TESTS, ("binding_acknowledgement", _OK)]
_REGISTERING = _BOUND[:-1]
_HOME = [("returned_home", {})]

#: Scripted runs that take every row of the graph (``tests/model/test_graphs.py`` runs them
#: before the random search): (rule, arguments) steps, the model checked after each.
WALKS: list[list[tuple[str, dict[str, Any]]]] = [
    # bound, refreshed by a Binding Refresh Request, then by time, then expired; moved
    [
        *_BOUND,
        ("binding_refresh_request", {}),
        *_TESTS,
        ("binding_acknowledgement", _OK),
        ("time_passes", {"seconds": 400.0}),
        ("time_passes", {"seconds": 100.0}),
        ("care_of_registered", {"care_of": COAS[1]}),
        ("care_of_registered", {"care_of": COAS[0]}),
    ],
    # unanswered tests and Binding Updates are sent again; a move from each state
    [
        ("care_of_registered", {"care_of": COAS[0]}),
        ("time_passes", {"seconds": 2.0}),
        *_TESTS,
        ("time_passes", {"seconds": 2.0}),
        ("care_of_registered", {"care_of": COAS[1]}),
        *_TESTS,
        ("binding_acknowledgement", _OK),
        ("care_of_registered", {"care_of": COAS[0]}),
    ],
    # home again from TESTING, REGISTERING and BOUND; the deregistration's answers
    *[
        [*steps, *_HOME, *tail]
        for steps in (_BOUND[:1], _REGISTERING, _BOUND)
        for tail in (
            [("binding_acknowledgement", _OK)],
            [("binding_acknowledgement", {**_OK, "status": 135, "which": 0x1234})],
            [("binding_acknowledgement", {**_OK, "status": 138}), ("home_test", _TESTS[0][1])],
            [("binding_acknowledgement", {**_OK, "status": 128})],
            [("time_passes", {"seconds": 1.0}), ("care_of_registered", {"care_of": COAS[1]})],
        )
    ],
    # a correspondent without Mobile IPv6, found while testing, registering, deregistering
    [("care_of_registered", {"care_of": COAS[0]}), ("parameter_problem", {"code": 1})],
    [
        *_REGISTERING,
        ("parameter_problem", {"code": 1}),
        ("care_of_registered", {"care_of": COAS[1]}),
    ],
    [*_BOUND, *_HOME, ("parameter_problem", {"code": 1})],
    # home with an old home token: a new Home Test first
    [*_BOUND, ("time_passes", {"seconds": 300.0}), *_HOME, ("home_test", _TESTS[0][1])],
    # every answer to an outstanding Binding Update for a care-of address
    *[
        [*_REGISTERING, ("binding_acknowledgement", {**_OK, **change})]
        for change in (
            {"status": 135, "which": 0x1234},
            {"status": 136},
            {"status": 130},
            {"authentic": False},
            {"which": "previous"},
            {"lifetime": 0},  # acknowledged for no time: the binding ends at once
            {"lifetime": 0xFFFF},  # more than asked: the asked lifetime counts
        )
    ],
]


def walk_every_row() -> None:
    run_walks(
        CorrespondentRegistrationVersusSpec, WALKS, first_sequence=0xFFFF
    )  # across the wrap at once


def test_the_walks_take_every_row() -> None:
    """The scripted walks alone take every row (``make graph-coverage`` counts them)."""
    assert walks_leave_untaken(walk_every_row, SEEN, TRANSITIONS) == set()


def test_model_test_takes_every_transition() -> None:
    # The walks take every row; the random sweep only tops up what they might miss.
    walk_then_top_up(
        walk_every_row,
        CorrespondentRegistrationVersusSpec,
        registration_graph.GRAPH,
        SEEN,
        max_examples=20,
    )
