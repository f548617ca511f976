"""What the mobility model test did not look at, found by `make mutants` (bench/mutants.py):
a deregistration and an expiry both remove a Binding Cache entry, but the trace tells them
apart: RFC 6275 §9.5.3 deletes the entry (DEREGISTERED), RFC 6275 §9.1 lets it run out
(EXPIRED)."""

from __future__ import annotations

from ipaddress import IPv6Address

import pytest

from tcpip6.stack.machines.binding_cache import BindingState
from tcpip6.stack.machines.graph import TransitionRecord
from tcpip6.stack.mobility.binding_cache import BindingCache

HOME, CARE_OF = IPv6Address("2001:db8:1::100"), IPv6Address("2001:db8:2::100")


@pytest.mark.parametrize(
    ("end", "state", "rfc"),
    [
        ("deregister", BindingState.DEREGISTERED, "6275 §9.5.3"),
        ("expire", BindingState.EXPIRED, "6275 §9.1"),
    ],
)
def test_the_end_of_a_binding_is_traced_as_what_ended_it(
    end: str, state: BindingState, rfc: str
) -> None:
    cache = BindingCache(label="cn ")
    records: list[TransitionRecord] = []
    cache.trace_sink = records.append
    entry = cache.accept(HOME, CARE_OF, 1, 60.0, 0.0)
    assert entry is not None and entry.state is BindingState.BOUND
    if end == "deregister":
        # RFC 6275 §9.5.3: a Binding Update with lifetime 0 for this home address.
        cache.fire(entry, "deregistered", 10.0)
        now = 10.0
    else:
        now = entry.expires
        cache.poll(now)
    assert entry.state is state
    assert cache.get(HOME) is None and len(cache) == 0
    assert (records[-1].old, records[-1].new, records[-1].rfc, records[-1].now) == (
        "BOUND",
        state.name,
        rfc,
        now,
    )
