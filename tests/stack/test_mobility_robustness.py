"""The correspondent under bad input and churn: malformed Mobility Headers and Home Address
options are dropped and counted, never raised out of ``Host.receive``; Binding Cache
entries leave their graph when they end."""

from __future__ import annotations

import gc
from ipaddress import IPv6Address

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scapy.layers import inet6 as s6
from scapy.packet import Raw

from tcpip6.stack.machines.binding_cache import GRAPH
from tcpip6.stack.mobility.binding_cache import BindingCache
from tests.stack.mip6 import CN, COA1, HOME, correspondent
from tests.wire.strategies import mutations

MN = correspondent()
MN.direct = True
VALID = bytes(s6.IPv6(src=str(HOME), dst=str(CN)) / s6.MIP6MH_HoTI(cookie=b"12345678"))


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.binary(max_size=64).map(lambda b: (135, b)),
        mutations(VALID[40:]).map(lambda b: (135, b)),
        st.binary(max_size=40).map(lambda b: (60, bytes([135, 2, 0xC9, 16]) + b)),
    )
)
def test_malformed_mobility_input_is_dropped_and_counted(case: tuple[int, bytes]) -> None:
    nh, payload = case
    before = MN.cn.counters.mh_received + MN.cn_host.ip.in_receives
    MN.send(s6.IPv6(src=str(COA1), dst=str(CN), nh=nh) / Raw(payload))
    assert MN.cn_host.internal_errors == 0
    assert MN.cn.counters.mh_received + MN.cn_host.ip.in_receives > before
    MN.take()


def test_binding_cache_entries_leave_the_graph() -> None:
    gc.collect()  # the graph counts live entities: not the dead ones of earlier tests
    models = len(GRAPH)
    cache = BindingCache(capacity=100)
    now = 0.0
    for i in range(2000):
        home = IPv6Address(int(HOME) + i)
        entry = cache.accept(home, COA1, 1, 10.0, now)
        assert entry is not None
        if i % 2:
            cache.fire(entry, "deregistered", now)
        now += 0.1
        cache.poll(now)
    cache.poll(now + 11.0)
    gc.collect()
    assert len(cache) == 0 and len(GRAPH) == models
