"""Congestion control and loss recovery are policies a connection holds
(tcpip6.stack.tcp.congestion): the handshake picks the recovery (RFC 6675 with SACK,
RFC 6582 NewReno without), TcpParameters.congestion_control names the window algorithm
(as Linux's TCP_CONGESTION), and a new algorithm is a new class, not a branch in the
sender: one registered here limits the flight it allows, as the segments on the wire
show."""

from __future__ import annotations

import dataclasses

import pytest

from tcpip6.api import sockets as so
from tcpip6.stack.tcp import TcpParameters
from tcpip6.stack.tcp import congestion as cc
from tcpip6.stack.tcp.congestion import CongestionControl, NewReno, SackRecovery
from tests.stack.conftest import Pair
from tests.stack.tcpscenario import B, Sent, connected, stacks, tcp_wire

FLIGHT_SEGMENTS = 2


class FixedWindow(CongestionControl):
    """A window of FLIGHT_SEGMENTS segments that neither grows nor shrinks."""

    name = "fixed-test"

    def on_established(self, smss: int, now: float) -> None:
        self.cwnd = FLIGHT_SEGMENTS * smss

    def on_ack(self, acked: int, smss: int, now: float) -> None:
        pass

    def on_congestion(self, flight: int, smss: int, now: float) -> None:
        self.ssthresh = FLIGHT_SEGMENTS * smss


def _largest_flight(wire: list[Sent]) -> int:
    """The most octets a had sent and b had not yet acknowledged, at any moment."""
    sent_end = acked = largest = 0
    base = None
    for s in wire:
        seg = s.seg
        if s.host == "a" and seg.payload:
            base = seg.seq if base is None else base
            sent_end = max(sent_end, (seg.seq - base) % 2**32 + len(seg.payload))
        elif s.host == "b" and base is not None:
            acked = max(acked, (seg.ack - base) % 2**32)
        largest = max(largest, sent_end - acked)
    return largest


def test_the_handshake_picks_the_loss_recovery(pair: Pair) -> None:
    with_sack = connected(pair)
    assert isinstance(with_sack.ca.snd.recovery, SackRecovery)
    assert isinstance(with_sack.cb.snd.recovery, SackRecovery)
    without = connected(pair, server_params=lambda p: TcpParameters(sack=False), port=5002)
    assert isinstance(without.ca.snd.recovery, NewReno)
    assert isinstance(without.cb.snd.recovery, NewReno)


def test_the_parameter_selects_a_new_congestion_control(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(cc.CONGESTION_CONTROLS, FixedWindow.name, FixedWindow)

    def fixed(p: TcpParameters) -> TcpParameters:
        return dataclasses.replace(p, congestion_control=FixedWindow.name, delayed_ack=False)

    pair.world.segments["lan"].impairments.delay = 0.05  # a round trip of 100 ms
    c = connected(pair, client_params=fixed)
    assert isinstance(c.ca.snd.cc, FixedWindow)
    mss = c.ca.mss
    wire = tcp_wire(pair.world)
    c.transfer(bytes(i % 251 for i in range(40 * mss)))
    # Never more than the fixed window in flight (Reno's initial window alone is three
    # segments, and slow start doubles it each round trip).
    assert _largest_flight(wire) == FLIGHT_SEGMENTS * mss


def test_reno_is_the_default_and_its_flight_grows(pair: Pair) -> None:
    pair.world.segments["lan"].impairments.delay = 0.05
    c = connected(pair, server_params=lambda p: dataclasses.replace(p, delayed_ack=False))
    assert c.ca.params.congestion_control == "reno"
    mss = c.ca.mss
    wire = tcp_wire(pair.world)
    data = bytes(40 * mss)
    c.client.sendall(data)
    got = 0
    while got < len(data):
        got += len(c.server.recv(1 << 16))
    assert _largest_flight(wire) > FLIGHT_SEGMENTS * mss


def test_an_unknown_congestion_control_is_refused(pair: Pair) -> None:
    pair.a.tcp.params = dataclasses.replace(pair.a.tcp.params, congestion_control="vegas")
    sa, _ = stacks(pair)
    client = sa.socket(so.AF_INET6, so.SOCK_STREAM)
    with pytest.raises(
        ValueError, match="no congestion control 'vegas' \\(there is cubic, reno\\)"
    ):
        client.connect((B, 5001))
