"""The NCE graph (through the stack's NeighborCache) against the RFC 4861 reference model
(spec/rfc1970_nd.py), driven by the same random events, compared at every step."""

from __future__ import annotations

from ipaddress import IPv6Address
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from tcpip6.spec import rfc1970_nd as spec
from tcpip6.stack import neighbors as nb
from tcpip6.stack.machines.graph import TransitionRecord
from tcpip6.stack.params import InterfaceParameters

ADDRS = [IPv6Address("fe80::1"), IPv6Address("2001:db8::2")]
MACS = [b"\x02\x00\x00\x00\x00\x01", b"\x02\x00\x00\x00\x00\x02"]
addrs = st.sampled_from(ADDRS)
macs = st.sampled_from(MACS)
REACHABLE_TIME = 30.0
RETRANS = 1.0

#: Every (source, trigger, dest) the model test has seen fire, across examples.
SEEN: set[tuple[str, str, str]] = set()


def normalize(action: nb.NdAction) -> tuple[Any, ...]:
    if isinstance(action, nb.SendSolicitation):
        if action.link_address is None:
            return (action.target, "multicast_ns")
        return (action.target, "unicast_ns", action.link_address)
    if isinstance(action, nb.TransmitPackets):
        return (action.neighbor, "transmit", action.link_address, action.packets)
    if isinstance(action, nb.ResolutionFailed):
        return (action.target, "address_unreachable", action.packets)
    if isinstance(action, nb.NeighborUnreachable):
        return (action.target, "unreachable", action.was_router)
    return (action.target, "router_flag_cleared")


class NceVersusSpec(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0
        self.params = InterfaceParameters(reachable_time=REACHABLE_TIME, retrans_timer=RETRANS)
        self.cache = nb.NeighborCache(self.params, capacity=16, queue_limit=3)
        self.cache.trace_sink = self._seen
        self.v = spec.Variables(REACHABLE_TIME, RETRANS, 3)
        self.model: dict[IPv6Address, spec.NeighborCacheEntry] = {}
        self.packet_no = 0

    def _seen(self, rec: TransitionRecord) -> None:
        SEEN.add((rec.old, rec.trigger, rec.new))

    def _compare(
        self, stack_actions: list[nb.NdAction], spec_actions: list[tuple[Any, ...]]
    ) -> None:
        assert sorted(map(repr, map(normalize, stack_actions))) == sorted(map(repr, spec_actions))

    def _apply(self, addr: IPv6Address, result: spec.Result) -> list[tuple[Any, ...]]:
        entry, actions = result
        if entry is None:
            self.model.pop(addr, None)
        else:
            self.model[addr] = entry
        return [(addr, *a) for a in actions]

    @rule(addr=addrs)
    def send(self, addr: IPv6Address) -> None:
        self.packet_no += 1
        packet = f"packet {self.packet_no}".encode()
        got = self.cache.resolve(addr, packet, self.now)
        want = self._apply(addr, spec.send_packet(self.model.get(addr), packet, self.now, self.v))
        self._compare(got, want)

    @rule(
        addr=addrs,
        lla=st.one_of(st.none(), macs),
        r=st.booleans(),
        s=st.booleans(),
        o=st.booleans(),
    )
    def neighbor_advertisement(
        self, addr: IPv6Address, lla: bytes | None, r: bool, s: bool, o: bool
    ) -> None:
        got = self.cache.on_neighbor_advertisement(addr, lla, r, s, o, self.now)
        want = self._apply(
            addr,
            spec.receive_neighbor_advertisement(
                self.model.get(addr), lla, r, s, o, self.now, self.v
            ),
        )
        self._compare(got, want)

    @precondition(
        lambda self: any(e.state in (spec.DELAY, spec.PROBE) for e in self.model.values())
    )
    @rule(data=st.data())
    def new_address_while_probing(self, data: st.DataObject) -> None:
        """An unsolicited, overriding NA with a new link-layer address for an entry in
        DELAY or PROBE (a neighbor that changed its NIC): rare by chance, so aimed at."""
        addr = data.draw(
            st.sampled_from(
                sorted(a for a, e in self.model.items() if e.state in (spec.DELAY, spec.PROBE))
            )
        )
        current = self.model[addr].link_layer_address
        lla = MACS[1] if current == MACS[0] else MACS[0]
        got = self.cache.on_neighbor_advertisement(addr, lla, False, False, True, self.now)
        want = self._apply(
            addr,
            spec.receive_neighbor_advertisement(
                self.model.get(addr), lla, False, False, True, self.now, self.v
            ),
        )
        self._compare(got, want)

    @rule(addr=addrs, lla=macs, is_router=st.sampled_from([None, True, False]))
    def solicitation_or_router_message(
        self, addr: IPv6Address, lla: bytes, is_router: bool | None
    ) -> None:
        got = self.cache.on_link_address(addr, lla, self.now, is_router=is_router)
        want = self._apply(
            addr, spec.receive_link_layer_address(self.model.get(addr), lla, is_router)
        )
        self._compare(got, want)

    @rule(addr=addrs)
    def upper_layer_hint(self, addr: IPv6Address) -> None:
        self.cache.upper_layer_hint(addr, self.now)
        self._apply(addr, spec.upper_layer_confirmation(self.model.get(addr), self.now, self.v))

    def _run_timers_until(self, target: float) -> None:
        while True:
            deadline = self.cache.next_deadline()
            if deadline is None or deadline > target:
                break
            self.now = deadline
            got = self.cache.poll(self.now)
            want: list[tuple[Any, ...]] = []
            for addr, entry in sorted(self.model.items()):
                if entry.timer is not None and entry.timer <= self.now:
                    want += self._apply(addr, spec.timer_expired(entry, self.now, self.v))
            self._compare(got, want)
        self.now = max(self.now, target)

    @rule()
    def next_timer(self) -> None:
        deadline = self.cache.next_deadline()
        if deadline is not None:
            self._run_timers_until(deadline)

    @rule(dt=st.floats(min_value=0.01, max_value=40.0))
    def time_passes(self, dt: float) -> None:
        self._run_timers_until(self.now + dt)

    @invariant()
    def same_entries(self) -> None:
        stack_view = {
            a: (e.state.name, e.link_address, e.is_router, e.probes, e.timer, tuple(e.queue))
            for a, e in self.cache.entries.items()
        }
        spec_view = {
            a: (e.state, e.link_layer_address, e.is_router, e.unanswered_probes, e.timer, e.queued)
            for a, e in self.model.items()
        }
        assert stack_view == spec_view
        spec_deadlines = [e.timer for e in self.model.values() if e.timer is not None]
        assert self.cache.next_deadline() == (min(spec_deadlines) if spec_deadlines else None)


NceVersusSpec.TestCase.settings = settings(max_examples=250, stateful_step_count=50, deadline=None)
TestNceVersusSpec = NceVersusSpec.TestCase
