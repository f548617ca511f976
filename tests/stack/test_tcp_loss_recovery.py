"""NewReno's own rule on the wire: the window inflation of fast recovery (RFC 6582 §3.2
step 3) lets new data out while the retransmission is on its way, once the duplicate ACKs
have added more than the flight's half back to cwnd."""

from __future__ import annotations

import dataclasses

from tcpip6.stack.tcp import TcpParameters
from tests.stack.conftest import Pair, make_pair
from tests.stack.tcpscenario import Connected, Sent, connected, drop_once, tcp_wire

#: One-way delay: a round trip of 100 ms, far above the time a flight takes to send.
DELAY = 0.05


def _seq(c: Connected, k: int) -> int:
    """The sequence number of the client's data segment number ``k`` (from 0)."""
    return (c.ca.iss + 1 + k * c.ca.mss) % 2**32


def _off(c: Connected, seq: int) -> int:
    return (seq - c.ca.iss - 1) % 2**32


def _transfer(c: Connected, size: int) -> None:
    c.transfer(bytes(i % 253 for i in range(size)))


def _receiver(p: TcpParameters) -> TcpParameters:
    # Every segment acknowledged at once, and a window far above the flights.
    return dataclasses.replace(p, delayed_ack=False, receive_buffer=4 * 1024 * 1024)


def _data_from_a(wire: list[Sent]) -> list[Sent]:
    return [s for s in wire if s.host == "a" and s.data]


def _slow_link_pair() -> Pair:
    """The pair of tests/stack/conftest.py, a sending at 10 Mbit/s: the duplicate ACKs of
    a flight come back spread over its sending time, not in one instant."""
    return make_pair(line_rate=10e6)


def test_newreno_inflates_the_window_and_sends_new_data_during_recovery() -> None:
    pair = _slow_link_pair()
    pair.world.segments["lan"].impairments.delay = DELAY
    c = connected(pair, lambda p: TcpParameters(sack=False), _receiver)
    mss = c.ca.mss
    wire = tcp_wire(pair.world)
    lost = _seq(c, 40)
    drop_once(pair.world, pair.ib, {lost})
    _transfer(c, 120 * mss)
    sent = _data_from_a(wire)
    first = next(i for i, s in enumerate(sent) if s.seg.seq == lost)
    rtx = next(s for s in sent[first + 1 :] if s.seg.seq == lost)
    before = max(_off(c, s.seg.seq) + len(s.data) for s in sent if s.t <= rtx.t)
    # The ACK that covers the retransmission reaches a one link delay after b sent it.
    healed = next(
        s for s in wire if s.host == "b" and s.t > rtx.t and _off(c, s.seg.ack) > _off(c, lost)
    )
    # RFC 6582 §3.2 step 3: each duplicate ACK after the third adds one SMSS to cwnd
    # (ssthresh + 3*SMSS after the fast retransmit, RFC 6582 §3.2 step 2); once it is
    # above the flight, new data goes out, before the loss is repaired.
    new_data = [s for s in sent if rtx.t < s.t < healed.t + DELAY and _off(c, s.seg.seq) >= before]
    assert len(new_data) >= 5
    counters = pair.a.tcp.counters
    assert (counters.fast_retransmits, counters.timeouts) == (1, 0)
