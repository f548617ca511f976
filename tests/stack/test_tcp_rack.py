"""RFC 8985 RACK-TLP on the wire (``TcpParameters.rack``): a loss at the tail of a flight
is repaired after a tail loss probe instead of a retransmission timeout; a lost
retransmission is found and sent again without one; with RACK off (RFC 6675's
DupThresh rule alone) both end in RFC 6298 timeouts. RACK-TLP is the default, as in
Linux."""

from __future__ import annotations

import dataclasses

import pytest

from tcpip6.stack.tcp import TcpParameters
from tcpip6.stack.tcp.congestion import NewReno, RackRecovery, SackRecovery
from tests.stack.conftest import Pair
from tests.stack.tcpscenario import Connected, connected, data_segments, drop_once, tcp_wire

SEGMENTS = 10


def _rack(on: bool) -> object:
    def edit(p: TcpParameters) -> TcpParameters:
        return dataclasses.replace(p, rack=on, nagle=False)

    return edit


def _receiver(p: TcpParameters) -> TcpParameters:
    return dataclasses.replace(p, delayed_ack=False, receive_buffer=1 << 20)


def _flight(pair: Pair, on: bool) -> tuple[Connected, int]:
    c = connected(pair, _rack(on), _receiver)  # type: ignore[arg-type]
    c.client.sendall(b"warm")  # an RTT sample: SRTT for the PTO
    assert c.server.recv(10) == b"warm"
    pair.world.run_for(0.5)
    c.ca.cwnd = SEGMENTS * c.ca.mss
    return c, c.ca.mss


def _seq(c: Connected, k: int) -> int:
    return (c.ca.snd_una + k * c.ca.mss) % 2**32


def _transfer(c: Connected, n: int) -> float:
    t0 = c.pair.world.now
    data = bytes(i % 251 for i in range(n))
    c.client.sendall(data)
    got = bytearray()
    while len(got) < n:
        got += c.server.recv(1 << 20)
    assert got == data
    return c.pair.world.now - t0


@pytest.mark.parametrize(
    ("edit", "recovery"),
    [
        (lambda p: p, RackRecovery),
        (lambda p: dataclasses.replace(p, rack=False), SackRecovery),
        (lambda p: dataclasses.replace(p, sack=False), NewReno),
    ],
    ids=["default", "rack-off", "no-sack"],
)
def test_rack_tlp_is_the_default_recovery_with_sack(
    pair: Pair, edit: object, recovery: type[object]
) -> None:
    c = connected(pair, edit)  # type: ignore[arg-type]
    assert type(c.ca.snd.recovery) is recovery


@pytest.mark.parametrize("rack", [True, False])
def test_a_tail_loss_is_probed_not_timed_out(pair: Pair, rack: bool) -> None:
    c, mss = _flight(pair, rack)
    last = _seq(c, SEGMENTS - 1)
    dropped = drop_once(pair.world, pair.ib, {last})
    wire = tcp_wire(pair.world)
    took = _transfer(c, SEGMENTS * mss)
    assert len(dropped) == 1
    counters = pair.a.tcp.counters
    again = [s for s in data_segments(wire, "a") if s.seg.seq == last]
    assert len(again) == 2
    if rack:
        # RFC 8985 §7.3: the probe (the last segment again) after PTO = 2*SRTT, plus
        # WCDelAckT (RFC 8985 §7.2) as the last ACK leaves one segment outstanding: well
        # before RFC 6298's 1 s.
        assert (counters.tail_loss_probes, counters.timeouts) == (1, 0)
        assert 0.2 < again[1].t - again[0].t < 0.25 and took < 0.3
    else:
        assert (counters.tail_loss_probes, counters.timeouts) == (0, 1)
        assert again[1].t - again[0].t >= 1.0


@pytest.mark.parametrize("rack", [True, False])
def test_a_lost_retransmission_is_found_by_its_send_time(pair: Pair, rack: bool) -> None:
    c, mss = _flight(pair, rack)
    first = _seq(c, 2)
    lose = {first}
    dropped = drop_once(pair.world, pair.ib, lose)
    # The retransmission of the same segment is lost too (a second drop_once layer).
    dropped_again = drop_once(pair.world, pair.ib, lose)
    wire = tcp_wire(pair.world)
    # More data than the first flight: what recovery sends after the retransmission is
    # delivered before it would be.
    _transfer(c, 3 * SEGMENTS * mss)
    assert len(dropped) == len(dropped_again) == 1
    sends = [s for s in data_segments(wire, "a") if s.seg.seq == first]
    assert len(sends) == 3
    counters = pair.a.tcp.counters
    if rack:
        # RFC 8985 §6.2: the retransmission is lost once a segment sent after it (new
        # data, or the probe) is delivered and RACK.rtt + reo_wnd has passed.
        assert counters.timeouts == 0
        assert sends[2].t - sends[0].t < 0.5
    else:
        assert counters.timeouts == 1
