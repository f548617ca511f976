"""The address/DAD graph (through the stack's AddressTable) against the RFC 4862
reference model (spec/rfc1971_autoconf.py), compared at every step."""

from __future__ import annotations

import math
from ipaddress import IPv6Address
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from tcpip6.spec import rfc1971_autoconf as spec
from tcpip6.stack import addresses as ad
from tcpip6.stack.params import InterfaceParameters

IID = bytes.fromhex("0200 5eff fe00 0001".replace(" ", ""))
PREFIXES = [IPv6Address("2001:db8:1::"), IPv6Address("2001:db8:2::"), IPv6Address("fe80::")]
STATIC = [IPv6Address("fe80::200:5eff:fe00:1"), IPv6Address("2001:db8:9::9")]
LIFETIMES = [0, 1, 2, 30, 3600, 7200, 7201, 10000, ad.INFINITE_LIFETIME]
RETRANS = 1.0
SEEN: set[tuple[str, str, str]] = set()


def normalize(action: ad.AddressAction) -> tuple[Any, ...] | None:
    if isinstance(action, ad.SendDadSolicitation):
        return ("dad_ns", action.target)
    if isinstance(action, ad.AddressAvailable):
        return ("available", action.address)
    if isinstance(action, ad.DuplicateAddressDetected):
        return ("duplicate", action.address, action.interface_disabled)
    if isinstance(action, ad.AddressRemoved):
        return ("removed", action.address)
    return None  # group joins and leaves: not part of the RFC 4862 model


class DadVersusSpec(RuleBasedStateMachine):
    @initialize(transmits=st.sampled_from([0, 1, 3]))
    def setup(self, transmits: int) -> None:
        self.now = 0.0
        params = InterfaceParameters(retrans_timer=RETRANS, dup_addr_detect_transmits=transmits)
        self.table = ad.AddressTable(params)
        self.table.trace_sink = lambda rec: SEEN.add((rec.old, rec.trigger, rec.new))
        self.v = spec.Variables(transmits, RETRANS)
        self.model = spec.Interface({})

    def _compare(self, got: list[ad.AddressAction], want: list[tuple[Any, ...]]) -> None:
        mine = [n for n in map(normalize, got) if n is not None]
        assert sorted(map(repr, mine)) == sorted(map(repr, want))

    @rule(which=st.integers(0, 1), delay=st.floats(0, 1))
    def add_static(self, which: int, delay: float) -> None:
        addr = STATIC[which]
        origin = ad.Origin.LINK_LOCAL if addr.is_link_local else ad.Origin.STATIC
        got = self.table.add(addr, 64, origin, self.now, dad_delay=delay)
        self.model, want = spec.add_address(
            self.model, addr, 64, origin.value, self.now, delay, math.inf, math.inf, self.v
        )
        self._compare(got, want)

    @rule(
        prefix=st.sampled_from(PREFIXES),
        plen=st.sampled_from([64, 64, 48]),
        autonomous=st.booleans(),
        valid=st.sampled_from(LIFETIMES),
        preferred=st.sampled_from(LIFETIMES),
        delay=st.floats(0, 1),
    )
    def prefix_information(
        self,
        prefix: IPv6Address,
        plen: int,
        autonomous: bool,
        valid: int,
        preferred: int,
        delay: float,
    ) -> None:
        got = self.table.on_prefix_information(
            prefix, plen, autonomous, valid, preferred, IID, self.now, dad_delay=delay
        )
        self.model, want = spec.prefix_information(
            self.model,
            prefix,
            plen,
            autonomous,
            ad.lifetime_seconds(valid),
            ad.lifetime_seconds(preferred),
            IID,
            self.now,
            delay,
            self.v,
        )
        self._compare(got, want)

    @precondition(lambda self: hasattr(self, "table") and self.v.dup_addr_detect_transmits > 0)
    @rule()
    def prefix_shorter_than_dad(self) -> None:
        """A prefix whose valid lifetime (1 s) ends before DAD can finish: rare by chance."""
        got = self.table.on_prefix_information(
            PREFIXES[1], 64, True, 1, 1, IID, self.now, dad_delay=0.5
        )
        self.model, want = spec.prefix_information(
            self.model, PREFIXES[1], 64, True, 1.0, 1.0, IID, self.now, 0.5, self.v
        )
        self._compare(got, want)

    def _ours(self) -> list[IPv6Address]:
        return sorted(self.model.addresses) or [STATIC[0]]

    @rule(data=st.data(), by_na=st.booleans())
    def dad_message(self, data: st.DataObject, by_na: bool) -> None:
        addr = data.draw(st.sampled_from(self._ours()))
        if by_na:
            got = self.table.on_neighbor_advertisement(addr, self.now)
        else:
            got = self.table.on_dad_solicitation(addr, self.now)
        self.model, want = spec.duplicate_detected(self.model, addr)
        self._compare(got, want)

    def _spec_deadline(self) -> float | None:
        times: list[float] = []
        for a in self.model.addresses.values():
            if a.state == spec.DUPLICATE:
                continue
            if a.dad_due is not None:
                times.append(a.dad_due)
            if a.state == spec.PREFERRED and not math.isinf(a.preferred_until):
                times.append(a.preferred_until)
            if not math.isinf(a.valid_until):
                times.append(a.valid_until)
        return min(times) if times else None

    def _run_until(self, target: float) -> None:
        while True:
            deadline = self.table.next_deadline()
            if deadline is None or deadline > target:
                break
            self.now = deadline
            got = self.table.poll(self.now)
            # Lifetimes first, then DAD (an address that expires as DAD ends is gone).
            self.model, want = spec.lifetimes_pass(self.model, self.now)
            for addr, a in sorted(self.model.addresses.items()):
                if a.dad_due is not None and a.dad_due <= self.now:
                    self.model, acts = spec.dad_step(self.model, addr, self.now, self.v)
                    want += acts
            self._compare(got, want)
        self.now = max(self.now, target)

    @rule()
    def next_timer(self) -> None:
        deadline = self.table.next_deadline()
        if deadline is not None:
            self._run_until(deadline)

    @rule(dt=st.sampled_from([0.3, 1.0, 29.0, 3000.0, 7000.0]))
    def time_passes(self, dt: float) -> None:
        self._run_until(self.now + dt)

    @invariant()
    def same_addresses(self) -> None:
        if not hasattr(self, "table"):
            return
        stack_view = {
            e.address: (
                e.state.name,
                e.prefix_length,
                e.origin.value,
                e.preferred_until,
                e.valid_until,
                e.dad_transmits_sent,
                e.dad_timer,
            )
            for e in self.table
        }
        spec_view = {
            addr: (
                a.state,
                a.prefix_length,
                a.origin,
                a.preferred_until,
                a.valid_until,
                a.dad_sent,
                a.dad_due,
            )
            for addr, a in self.model.addresses.items()
        }
        assert stack_view == spec_view
        assert self.table.next_deadline() == self._spec_deadline()
        assert self.table.autoconf_disabled == self.model.autoconf_disabled
        # A tentative, duplicate or invalid address is never a source.
        assert all(
            e.state.name in ("PREFERRED", "DEPRECATED") for e in self.table.source_candidates()
        )


DadVersusSpec.TestCase.settings = settings(max_examples=250, stateful_step_count=50, deadline=None)
TestDadVersusSpec = DadVersusSpec.TestCase
