"""Congestion control on the wire (RFC 5681 §3.1): the initial window, slow start doubling
the flight each round trip, congestion avoidance adding one segment a round trip, and the
loss window after a retransmission timeout."""

from __future__ import annotations

import dataclasses

import pytest

from tcpip6.stack.tcp import TcpParameters
from tests.stack.conftest import Pair
from tests.stack.tcpscenario import Connected, Sent, connected, data_segments, tcp_wire

#: One-way delay of the link: a round trip of 100 ms, far above the send time of a flight.
DELAY = 0.05
RTT = 2 * DELAY


def _no_delayed_ack_big_window(p: TcpParameters) -> TcpParameters:
    # Every segment acknowledged at once (so each ACK grows cwnd by one SMSS,
    # RFC 5681 §3.1), and a receive window far above the flights, so that only cwnd
    # limits them.
    return dataclasses.replace(p, delayed_ack=False, receive_buffer=4 * 1024 * 1024)


def _flights(wire: list[Sent], start: float) -> list[int]:
    """Data segments a sent in each round trip after ``start``."""
    counts: dict[int, int] = {}
    for s in data_segments(wire, "a"):
        k = int((s.t - start) / RTT + 1e-9)
        counts[k] = counts.get(k, 0) + 1
    return [counts.get(k, 0) for k in range(max(counts) + 1)] if counts else []


def _open(pair: Pair, *, rack: bool = True) -> Connected:
    pair.world.segments["lan"].impairments.delay = DELAY
    return connected(
        pair,
        lambda p: dataclasses.replace(p, rack=rack),
        server_params=_no_delayed_ack_big_window,
    )


def test_slow_start_doubles_the_flight_each_round_trip(pair: Pair) -> None:
    c = _open(pair)
    mss = c.ca.mss
    # RFC 5681 §3.1: IW = min(4*SMSS, max(2*SMSS, 4380 bytes)): 4380 with SMSS 1428.
    assert c.ca.cwnd == min(4 * mss, max(2 * mss, 4380)) == 4380
    wire = tcp_wire(pair.world)
    start = pair.world.now
    c.client.sendall(bytes(200 * mss))
    pair.world.run_for(5 * RTT + DELAY)
    # Three full segments fit the initial window; every ACK then adds one SMSS, so each
    # round trip sends twice the segments of the last.
    assert _flights(wire, start)[:5] == [3, 6, 12, 24, 48]
    assert c.ca.ssthresh > c.ca.cwnd  # still in slow start: nothing was lost


def test_congestion_avoidance_adds_one_segment_a_round_trip(pair: Pair) -> None:
    c = _open(pair)
    mss = c.ca.mss
    # As after a loss: cwnd = ssthresh = 10 segments (RFC 5681 §3.1: "slow start ... when
    # cwnd < ssthresh ... congestion avoidance ... when cwnd > ssthresh").
    c.ca.ssthresh = c.ca.cwnd = 10 * mss
    wire = tcp_wire(pair.world)
    start = pair.world.now
    c.client.sendall(bytes(200 * mss))
    pair.world.run_for(5 * RTT + DELAY)
    # RFC 5681 eq. 3 (cwnd += SMSS*SMSS/cwnd per ACK): about one SMSS per round trip.
    assert _flights(wire, start)[:5] == [10, 11, 12, 13, 14]


@pytest.mark.parametrize("rack", [False, True], ids=["rfc6675", "rack-tlp"])
def test_a_timeout_shrinks_cwnd_to_the_loss_window_and_halves_ssthresh(
    pair: Pair, rack: bool
) -> None:
    c = _open(pair, rack=rack)
    mss = c.ca.mss
    c.client.sendall(bytes(40 * mss))
    pair.world.run_for(3 * RTT)  # slow start has grown cwnd
    grown = c.ca.cwnd
    assert grown >= 20 * mss
    lan = pair.world.segments["lan"]
    lan.impairments.loss = 1.0  # the link goes dead with a full flight outstanding
    c.client.sendall(bytes(40 * mss))
    flight = c.ca.in_flight
    assert flight > 0
    pair.world.run_for(1.5)  # past the first retransmission timeout (RTO >= 1 s)
    if rack:
        # RFC 8985 §7.3: a tail loss probe went first, one SMSS of new data; it is part
        # of the FlightSize at the timeout.
        assert pair.a.tcp.counters.tail_loss_probes == 1
        flight += mss
    assert pair.a.tcp.counters.timeouts == 1
    # RFC 5681 eq. 4: ssthresh = max(FlightSize / 2, 2*SMSS); then cwnd = the loss
    # window, one SMSS.
    assert c.ca.ssthresh == max(flight // 2, 2 * mss)
    assert c.ca.cwnd == mss
    lan.impairments.loss = 0.0
    got = b""
    while len(got) < 80 * mss:
        got += c.server.recv(1 << 20)
    assert got == bytes(80 * mss)
