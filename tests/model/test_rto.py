"""The stack's retransmission timer (tcpip6/stack/tcp/rto.py) against the RFC 6298 model
(tcpip6/spec/rfc6298_rto.py): the same random measurements, timeouts and SYN timeouts, the
same SRTT, RTTVAR and RTO after every step, with the stack's default parameters."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tcpip6.spec import rfc6298_rto as spec
from tcpip6.stack.tcp.params import TcpParameters
from tcpip6.stack.tcp.rto import RtoEstimator

EVENTS = st.lists(
    st.one_of(
        st.tuples(st.just("measure"), st.floats(min_value=0.0, max_value=120.0)),
        st.tuples(st.just("timeout"), st.just(0.0)),
        st.tuples(st.just("syn_timeout"), st.just(0.0)),
    ),
    max_size=40,
)


def _same(stack: RtoEstimator, model: spec.Rto) -> None:
    if model.srtt is None:
        assert stack.srtt is None
    else:
        assert stack.srtt == pytest.approx(model.srtt, rel=1e-12, abs=1e-12)
    assert stack.rttvar == pytest.approx(model.rttvar, rel=1e-12, abs=1e-12)
    assert stack.rto == pytest.approx(model.rto, rel=1e-12, abs=1e-12)


def _same_after_every_step(
    events: list[tuple[str, float]], params: TcpParameters, min_rto: float = spec.MIN_RTO
) -> None:
    stack = RtoEstimator(params)
    # The model starts from the RFC's own initial RTO, not the stack's parameter.
    model = spec.Rto()
    _same(stack, model)
    for kind, r in events:
        if kind == "measure":
            stack.sample(r)
            model = spec.on_measurement(
                model, r, granularity=params.clock_granularity, min_rto=min_rto
            )
        elif kind == "timeout":
            stack.timed_out()
            model = spec.on_timeout(model)
        else:
            stack.syn_timed_out_reset()
            model = spec.on_syn_timeout_then_data(model)
        _same(stack, model)


@given(EVENTS)
def test_the_rto_follows_rfc_6298(events: list[tuple[str, float]]) -> None:
    _same_after_every_step(events, TcpParameters())


def test_a_worked_example() -> None:
    """By hand from RFC 6298 §2: R = 0.1 s, then 0.3 s."""
    m = spec.on_measurement(spec.Rto(), 0.1, granularity=0.001)
    assert (m.srtt, m.rttvar, m.rto) == (0.1, 0.05, 1.0)  # 0.1 + 4*0.05 = 0.3 -> 1 s (§2.4)
    m = spec.on_measurement(m, 3.0, granularity=0.001)
    # RTTVAR = 0.75*0.05 + 0.25*2.9 = 0.7625; SRTT = 0.875*0.1 + 0.125*3.0 = 0.4625
    assert m.rttvar == pytest.approx(0.7625) and m.srtt == pytest.approx(0.4625)
    assert m.rto == pytest.approx(0.4625 + 4 * 0.7625)
    assert spec.on_timeout(m).rto == pytest.approx(2 * m.rto)
    assert spec.on_timeout(spec.Rto(rto=40.0)).rto == 60.0  # §2.5's maximum


@given(EVENTS, st.sampled_from([0.001, 0.2, 0.3, 1.0, 2.5]))
def test_a_smaller_minimum_rto_is_rfc_6298_s_bound_moved(
    events: list[tuple[str, float]], min_rto: float
) -> None:
    """``min_rto`` (Linux's 200 ms, Windows' 300 ms) replaces only the 1 s of RFC 6298
    §2.4: the model given the same bound agrees after every step."""
    _same_after_every_step(events, TcpParameters(min_rto=min_rto), min_rto)
