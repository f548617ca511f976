"""Overlapping text with different octets: the first copy of an octet wins. Text held out
of order (RFC 9293 §3.10.7.4 seventh) is not replaced by a later segment that covers it,
in order or not -- the rule of the reference model (tcpip6.spec.rfc9293_tcp, "the first
copy of an octet wins"), whose model test found the stack taking the later copy."""

from __future__ import annotations

from tcpip6.wire.tcp import ACK, PSH, TcpSegment
from tests.stack.conftest import Pair
from tests.stack.tcpscenario import Connected, connected, inject


def _text(c: Connected, at: int, data: bytes) -> TcpSegment:
    """Text from a to b at RCV.NXT + ``at``."""
    return TcpSegment(
        c.ca.local_port,
        c.ca.remote_port,
        (c.cb.rcv_nxt + at) % 2**32,
        c.cb.snd_nxt,
        ACK | PSH,
        1000,
        payload=data,
    )


def test_held_octets_are_not_replaced_by_in_order_text(pair: Pair) -> None:
    c = connected(pair)
    inject(pair, _text(c, 2, b"XY"))  # held: RCV.NXT + 2, + 3
    inject(pair, _text(c, 0, b"abcdef"))  # in order, covering the held octets
    assert c.server.recv(100) == b"abXYef"


def test_held_octets_are_not_replaced_by_later_out_of_order_text(pair: Pair) -> None:
    c = connected(pair)
    inject(pair, _text(c, 3, b"Q"))  # held: RCV.NXT + 3
    inject(pair, _text(c, 2, b"xyz"))  # out of order too, overlapping it
    inject(pair, _text(c, 0, b"ab"))  # fills the gap
    assert c.server.recv(100) == b"abxQz"
    assert pair.b.tcp.counters.out_of_order_segments == 2
