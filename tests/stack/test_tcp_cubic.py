"""CUBIC (RFC 9438) as the second congestion control, checked against the RFC's own
formulas computed here: K (RFC 9438 equation 2), W_cubic(t) (equation 1), the
multiplicative decrease by beta_cubic = 0.7 (RFC 9438 §4.6) with fast convergence
(RFC 9438 §4.7), and the Reno-friendly region (RFC 9438 §4.3: alpha_cubic =
3 * (1 - 0.7) / (1 + 0.7) segments a round trip); selected per host and per socket by
name, NewReno staying the default."""

from __future__ import annotations

import dataclasses

import pytest

from tcpip6.api import stream as st
from tcpip6.stack.tcp import TcpParameters
from tcpip6.stack.tcp.congestion import Cubic, Reno, congestion_control
from tests.stack.conftest import Pair
from tests.stack.tcpscenario import connected

SMSS = 1000


def _after_loss(w_max_segments: int, srtt: float) -> Cubic:
    """A CUBIC window of ``w_max_segments`` that just lost a segment, recovery over."""
    cc = Cubic(TcpParameters())
    cc.srtt = srtt
    cc.cwnd = w_max_segments * SMSS
    cc.on_congestion(w_max_segments * SMSS, SMSS, 0.0)
    cc.on_recovery_exit(0.0)
    return cc


def _round_trips(cc: Cubic, start: float, rtt: float, rounds: int) -> list[tuple[float, float]]:
    """A window's worth of ACKs (one a segment) each round trip: (t, cwnd in segments)
    at the end of each."""
    out = []
    t = start
    for _ in range(rounds):
        for _ in range(cc.cwnd // SMSS):
            cc.on_ack(SMSS, SMSS, t)
        t += rtt
        out.append((t - start, cc.cwnd / SMSS))
    return out


def test_the_multiplicative_decrease_is_beta_cubic() -> None:
    cc = _after_loss(100, 0.1)
    # RFC 9438 §4.6: ssthresh = flight_size * beta_cubic; W_max = cwnd at the loss.
    assert cc.ssthresh == 70 * SMSS and cc.cwnd == 70 * SMSS
    assert cc.w_max == 100
    # RFC 9438 §4.7 fast convergence: a second loss below W_max remembers less.
    cc.on_congestion(cc.cwnd, SMSS, 1.0)
    assert cc.w_max == pytest.approx(70 * (1 + 0.7) / 2)
    assert cc.ssthresh == 49 * SMSS


def test_k_and_w_cubic_follow_equations_1_and_2() -> None:
    rtt = 0.1
    cc = _after_loss(100, rtt)
    cc.on_ack(SMSS, SMSS, 10.0)  # the epoch begins
    # Equation 2: K = cbrt(W_max * (1 - beta_cubic) / C) = cbrt(100 * 0.3 / 0.4).
    k = (100 * (1 - 0.7) / 0.4) ** (1 / 3)
    assert cc.k == pytest.approx(k) == pytest.approx(4.2172, abs=1e-4)
    assert cc.w_cubic(0.0) == pytest.approx(70.0)
    assert cc.w_cubic(k) == pytest.approx(100.0)
    assert cc.w_cubic(2 * k) == pytest.approx(0.4 * k**3 + 100)
    trace = _round_trips(cc, 10.0, rtt, 90)
    # The window tracks W_cubic(t + RTT) (RFC 9438 §4.4-4.5), a round trip ahead: flat
    # at W_max around t = K (concave, then convex), past it after.
    for t, w in trace:
        expected = 0.4 * (t - k) ** 3 + 100
        if 1.0 < t < 8.0:
            assert w == pytest.approx(expected, rel=0.05), t
    near_k = [w for t, w in trace if abs(t - k) < 0.5]
    assert all(99 <= w <= 101 for w in near_k)
    assert trace[-1][1] > 130


def test_the_reno_friendly_region() -> None:
    """A small window on a short path: W_cubic grows slower than an AIMD flow would
    (RFC 9438 §4.3), so cwnd follows W_est: alpha_cubic = 0.529... segments a round trip."""
    rtt = 0.001
    cc = _after_loss(10, rtt)
    trace = _round_trips(cc, 5.0, rtt, 40)
    alpha = 3 * (1 - 0.7) / (1 + 0.7)
    assert alpha == pytest.approx(0.5294, abs=1e-4)
    # W_cubic after 40 ms: 0.4 * (0.04 - cbrt(7.5))**3 + 10 = 7.18 segments; W_est has
    # grown by alpha a round trip, and cwnd with it.
    assert cc.w_cubic(0.04) == pytest.approx(0.4 * (0.04 - 7.5 ** (1 / 3)) ** 3 + 10)
    assert cc.w_cubic(0.04) < 7.2
    grown = trace[-1][1] - 7.0
    assert grown == pytest.approx(40 * alpha, rel=0.1)


def test_slow_start_is_rfc_5681_s() -> None:
    cc = Cubic(TcpParameters())
    cc.on_established(SMSS, 0.0)
    start = cc.cwnd
    cc.on_ack(SMSS, SMSS, 0.1)
    assert cc.cwnd == start + SMSS


def test_selected_by_name_reno_the_default(pair: Pair) -> None:
    assert isinstance(congestion_control(TcpParameters()), Reno)
    assert isinstance(congestion_control(TcpParameters(congestion_control="cubic")), Cubic)
    c = connected(pair, lambda p: dataclasses.replace(p, congestion_control="cubic"))
    assert isinstance(c.ca.snd.cc, Cubic)
    assert c.client.getsockopt(st.IPPROTO_TCP, st.TCP_CONGESTION) == b"cubic"
    # Per socket: TCP_CONGESTION on the server's socket switches its connection.
    assert isinstance(c.cb.snd.cc, Reno)
    cwnd = c.cb.cwnd
    c.server.setsockopt(st.IPPROTO_TCP, st.TCP_CONGESTION, b"cubic")
    assert isinstance(c.cb.snd.cc, Cubic) and c.cb.cwnd == cwnd
    c.client.sendall(b"x" * 100_000)
    got = 0
    while got < 100_000:
        got += len(c.server.recv(1 << 16))
