"""The correspondent node (RFC 6275 §9, the Binding Cache entry graph) against the RFC 6275
reference model (spec/rfc6275_mobility.py): a mobile node made of scapy's MIPv6 layers
runs return routability and sends random Binding Updates (sequence numbers across the
2^16 wrap, any lifetime, right and wrong Authenticators, old nonce indices), time passes,
the correspondent sends to the home address; after every step the Binding Cache, the
entries' graph states and every message sent agree with the model."""

from __future__ import annotations

from ipaddress import IPv6Address
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from scapy.layers import inet6 as s6
from scapy.packet import Packet

from tcpip6.spec import rfc6275_mobility as spec
from tcpip6.stack.machines import binding_cache as binding_graph
from tcpip6.stack.machines.graph import TransitionRecord
from tests.model.coverage import take_every_transition
from tests.stack.mip6 import CN, COA1, COA2, HOME, MobileNode, correspondent

KCN = bytes(range(20))

#: Every (source, trigger, dest) of the Binding Cache entry graph seen, across examples.
SEEN: set[tuple[str, str, str]] = set()


def record(rec: TransitionRecord) -> None:
    SEEN.add((rec.old, rec.trigger, rec.new))


def mh_data(pkt: Packet) -> tuple[bytes, bytes]:
    """RFC 6275 §5.2.6 MH Data of the Binding Update in ``pkt`` as sent, and its
    Authenticator (the last 12 octets, the Binding Authorization Data option being last)."""
    raw = bytes(s6.IPv6(bytes(pkt))[s6.MIP6MH_BU])
    return raw[:4] + b"\x00\x00" + raw[6:-12], raw[-12:]


def acks(packets: list[Packet]) -> list[tuple[Any, ...]]:
    out = []
    for p in packets:
        if s6.MIP6MH_BA not in p:
            continue
        ba = p[s6.MIP6MH_BA]
        rh = p.getlayer(s6.IPv6ExtHdrRouting)
        via = (IPv6Address(p[s6.IPv6].dst), None if rh is None else IPv6Address(rh.addresses[0]))
        authorized = b"\x05\x0c" in bytes(ba)[12:]
        out.append((ba.status, ba.seq, ba.mhtime, authorized, via))
    return out


def expected_acks(actions: list[spec.Action]) -> list[tuple[Any, ...]]:
    out = []
    for a in actions:
        if isinstance(a, spec.SendBindingAcknowledgement):
            if a.care_of_address == a.home_address:
                via = (a.home_address, None)
            else:
                via = (a.care_of_address, a.home_address)
            out.append((a.status, a.sequence_number, a.lifetime, a.authorized, via))
    return out


class CorrespondentVersusSpec(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.mn: MobileNode = correspondent(kcn=KCN)
        self.mn.direct = True
        self.mn.cn.cache.trace_sink = record
        self.model = spec.Correspondent(CN, KCN, self.mn.cn.nonces.next_index, capacity=1024)
        self.last_seq = 0

    # -- return routability (RFC 6275 §9.4) -------------------------------------------------
    @rule(coa=st.sampled_from([COA1, COA2]))
    def return_routability(self, coa: IPv6Address) -> None:
        self.settle()
        t_home, t_care_of = self.mn.return_routability(coa)
        assert self.mn.home_token is not None
        home_index, home_token = self.mn.home_token
        care_of_index, care_of_token = self.mn.care_of_tokens[coa]
        table = self.mn.cn.nonces.nonces
        # The fresh values are the stack's random draws (an input); which nonce is handed
        # out, and the tokens, are the model's.
        fresh = table[home_index].value if home_index in table else b""
        self.model, out = spec.on_home_test_init(self.model, HOME, fresh, t_home)
        assert out == [spec.SendHomeTest(home_index, home_token)]
        fresh = table[care_of_index].value if care_of_index in table else b""
        self.model, out = spec.on_care_of_test_init(self.model, coa, fresh, t_care_of)
        assert out == [spec.SendCareOfTest(care_of_index, care_of_token)]

    # -- Binding Updates (RFC 6275 §9.5) ----------------------------------------------------
    @precondition(lambda self: self.mn.home_token is not None)
    @rule(
        coa=st.sampled_from([COA1, COA1, COA2, HOME]),
        step=st.one_of(
            st.integers(min_value=1, max_value=3),
            st.integers(min_value=1, max_value=3),
            st.integers(min_value=-3, max_value=0),
            st.sampled_from([0x7FFF, 0x8000, 0x8001, -0x8000]),
            st.integers(min_value=0, max_value=0xFFFF),
        ),
        lifetime=st.one_of(
            st.integers(min_value=1, max_value=40),
            st.integers(min_value=1, max_value=40),
            st.just(0),
            st.integers(min_value=100, max_value=0xFFFF),
        ),
        ack=st.booleans(),
        # Mostly right, so that bindings live long enough to be refreshed and deleted.
        bad_auth=st.sampled_from([False, False, False, True]),
        stale=st.sampled_from([None, None, None, None, "home", "care_of"]),
    )
    def binding_update(
        self,
        coa: IPv6Address,
        step: int,
        lifetime: int,
        ack: bool,
        bad_auth: bool,
        stale: str | None,
    ) -> None:
        self.settle()
        seq = (self.last_seq + step) % 0x10000
        self.last_seq = seq
        assert self.mn.home_token is not None
        home_index = self.mn.home_token[0]
        care_of_index = self.mn.care_of_tokens.get(coa, (0, b""))[0]
        if stale == "home":
            home_index = (home_index + 40) % 0x10000
        elif stale == "care_of":
            care_of_index = (care_of_index + 40) % 0x10000
        now = self.mn.world.now
        pkt = self.mn.binding_update(
            coa,
            seq,
            lifetime,
            ack=ack,
            bad_auth=bad_auth,
            home_index=home_index,
            care_of_index=care_of_index,
        )
        data, auth = mh_data(pkt)
        bu = spec.BindingUpdate(
            HOME, coa, seq, lifetime, ack, False, home_index, care_of_index, auth, data
        )
        self.model, actions = spec.on_binding_update(self.model, bu, now)
        assert acks(self.mn.take()) == expected_acks(actions)

    # -- route optimisation and time (RFC 6275 §9.3, §9.1, §9.5.5) --------------------------
    @rule()
    def send_to_home_address(self) -> None:
        self.settle()
        self.mn.cn_host.ipv6.send(HOME, 59, b"", self.mn.world.now)
        self.mn.world.run_for(0.001)
        self.model, care_of = spec.on_packet_to_home_address(self.model, HOME)
        (p,) = self.mn.take()
        rh = p.getlayer(s6.IPv6ExtHdrRouting)
        if care_of is None:
            assert (IPv6Address(p[s6.IPv6].dst), rh) == (HOME, None)
        else:
            assert IPv6Address(p[s6.IPv6].dst) == care_of
            assert rh is not None and IPv6Address(rh.addresses[0]) == HOME

    @rule(coa=st.sampled_from([COA1, COA2]))
    def packet_with_home_address_option(self, coa: IPv6Address) -> None:
        # Past the Binding Error rate limit, so that every refusal shows on the wire.
        self.tick(1.0)
        hao = s6.IPv6ExtHdrDestOpt(options=[s6.HAO(hoa=str(HOME))])
        self.mn.send(s6.IPv6(src=str(coa), dst=str(CN)) / hao / s6.ICMPv6EchoRequest(seq=5))
        self.model, accepted = spec.on_home_address_option(self.model, HOME, coa)
        out = self.mn.take()
        if accepted:
            assert [s6.ICMPv6EchoReply in p for p in out] == [True]
        else:
            assert [(p[s6.MIP6MH_BE].status, p[s6.IPv6].dst) for p in out] == [(1, str(coa))]

    @rule(seconds=st.one_of(st.floats(min_value=0.5, max_value=60.0), st.just(240.5)))
    def tick(self, seconds: float) -> None:
        self.mn.world.run_for(seconds)
        # The host may be polled at any time, not only at the deadlines it names.
        self.mn.cn_host.poll(self.mn.world.now)
        self.mn.world.run_for(0.0)
        self.settle()

    @precondition(lambda self: any(not e.refresh_requested for e in self.model.binding_cache))
    @rule()
    def until_refresh_due(self) -> None:
        """Time passes to just after a binding's refresh time (a Binding Refresh Request
        goes out only if the binding was used, RFC 6275 §9.5.5)."""
        due = min(e.refresh_at for e in self.model.binding_cache if not e.refresh_requested)
        self.tick(max(0.0, due - self.mn.world.now) + 0.001)

    @rule(coa=st.sampled_from([COA1, COA2]), lifetime=st.integers(min_value=1, max_value=40))
    def bind(self, coa: IPv6Address, lifetime: int) -> None:
        """What a mobile node does on a move or on a Binding Refresh Request (RFC 6275
        §11.7.2, §11.7.4): return routability, then a Binding Update with the next
        Sequence Number and the A bit."""
        self.return_routability(coa)
        self.binding_update(coa, 1, lifetime, True, False, None)

    def settle(self) -> None:
        """Whatever fell due by now at the correspondent fell due in the model too: the
        same Binding Refresh Requests (RFC 6275 §9.5.5), the same expiries (§9.1)."""
        self.model, actions = spec.on_time(self.model, self.mn.world.now)
        brr = [
            (IPv6Address(p[s6.IPv6ExtHdrRouting].addresses[0]), IPv6Address(p[s6.IPv6].dst))
            for p in self.mn.refresh_requests
        ]
        self.mn.refresh_requests.clear()
        assert brr == [
            (a.home_address, a.care_of_address)
            for a in actions
            if isinstance(a, spec.SendBindingRefreshRequest)
        ]

    # -- the two agree ----------------------------------------------------------------------
    @invariant()
    def binding_caches_agree(self) -> None:
        self.settle()
        stack = {
            home: (
                e.care_of_address,
                e.sequence_number,
                e.lifetime,
                e.registered,
                e.used,
                e.state.name,
            )
            for home, e in self.mn.cn.cache.entries.items()
        }
        model = {
            e.home_address: (
                e.care_of_address,
                e.sequence_number,
                e.lifetime,
                e.registered,
                e.used,
                "REFRESH_REQUESTED" if e.refresh_requested else "BOUND",
            )
            for e in self.model.binding_cache
        }
        assert stack == model
        assert self.mn.cn_host.internal_errors == 0


CorrespondentVersusSpec.TestCase.settings = settings(
    max_examples=60, stateful_step_count=40, deadline=None
)
TestCorrespondentVersusSpec = CorrespondentVersusSpec.TestCase


def test_model_test_takes_every_transition() -> None:
    take_every_transition(
        CorrespondentVersusSpec,
        binding_graph.GRAPH,
        SEEN,
        max_examples=100,
        stateful_step_count=50,
    )
