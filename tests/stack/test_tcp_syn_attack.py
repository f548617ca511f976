"""Windows' SynAttackProtect (RFC 4987 §3.3, the shorter SYN-RECEIVED timer) on simnet:
scapy builds the SYNs and reads the SYN,ACKs off the wire with their times; the reference
model (spec/rfc4987_syn_cookies.py) says when the host is under attack and when each
SYN,ACK retransmission and the give-up are due."""

from __future__ import annotations

from ipaddress import IPv6Address

import pytest
from scapy.layers.inet import TCP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether

from tcpip6.spec import rfc4987_syn_cookies as spec
from tcpip6.stack.tcp.params import TcpParameters
from tests.stack.conftest import B_LL, Pair

PORT = 80
NOBODY = bytes.fromhex("02000000bad0")  # no NIC on the segment answers for it
VICTIM = IPv6Address("fe80::1e9")  # a legitimate client whose ACK is slow to come


def syn_from(pair: Pair, src: IPv6Address, sport: int) -> None:
    pair.ib.add_static_neighbor(src, NOBODY)
    eth = Ether(src=NOBODY.hex(":"), dst=pair.ib.link.link_address.hex(":"))
    syn = TCP(sport=sport, dport=PORT, flags="S", seq=7, options=[("MSS", 1440)])
    pair.b.receive(pair.ib, bytes(eth / IPv6(src=str(src), dst=str(B_LL)) / syn), pair.world.now)


def flood(pair: Pair, count: int) -> None:
    for i in range(count):
        syn_from(pair, IPv6Address(f"fe80::bad:{i:x}"), 20000 + i)


def listen(pair: Pair, backlog: int, **params: int) -> None:
    for name, value in params.items():
        setattr(pair.b.tcp.params, name, value)
    sock = pair.b.tcp.listen(IPv6Address("::"), PORT, backlog, pair.world.now)
    assert sock is not None


def syn_ack_times(seen: list[tuple[float, bytes]], dst: IPv6Address) -> list[float]:
    """When each SYN,ACK to ``dst`` went out, read back by scapy."""
    out = []
    for now, frame in seen:
        pkt = Ether(frame)
        if TCP in pkt and pkt[TCP].flags == "SA" and IPv6Address(pkt[IPv6].dst) == dst:
            assert pkt[TCP].ack == 8 and pkt[TCP].sport == PORT
            out.append(now)
    return out


def watch(pair: Pair) -> list[tuple[float, bytes]]:
    seen: list[tuple[float, bytes]] = []
    pair.world.observers.append(lambda iface, frame, now: seen.append((now, frame)))
    return seen


def expected(attack: bool) -> tuple[list[float], float]:
    p = TcpParameters()
    n = spec.syn_ack_retransmissions(
        attack, p.max_connect_retransmissions, p.syn_attack_response_retransmissions
    )
    return spec.syn_ack_times(p.initial_rto, n)


def victim_in_queue(pair: Pair) -> bool:
    return any(c.remote_address == VICTIM for c in pair.b.tcp.listeners[PORT][0].syn_queue)


def run_victim(pair: Pair, seen: list[tuple[float, bytes]]) -> tuple[list[float], float]:
    """The victim's SYN: the times of its SYN,ACK retransmissions after the first, and
    when its half-open connection left the SYN queue."""
    start = pair.world.now
    syn_from(pair, VICTIM, 5555)
    assert victim_in_queue(pair)
    gone = None
    for _ in range(400):
        pair.world.run_for(0.05)
        if not victim_in_queue(pair):
            gone = pair.world.now - start
            break
    assert gone is not None
    times = [t - start for t in syn_ack_times(seen, VICTIM)]
    assert times[0] == 0.0
    return times[1:], gone


def test_normal_host_retransmits_the_syn_ack_as_the_model_says(pair: Pair) -> None:
    seen = watch(pair)
    listen(pair, 16, max_half_open=4)
    flood(pair, 2)  # below the threshold
    retx, gone = run_victim(pair, seen)
    assert not spec.under_attack(3, 0, 4, 80)
    want, give_up = expected(attack=False)
    assert len(retx) == len(want) == 3
    assert retx == [pytest.approx(t, abs=0.06) for t in want]
    assert give_up <= gone < give_up + 0.1
    c = pair.b.tcp.counters
    assert (c.syn_attack_entered, c.syn_attack_reduced_retransmissions) == (0, 0)


def test_past_max_half_open_a_new_connection_retransmits_fewer_times(pair: Pair) -> None:
    seen = watch(pair)
    listen(pair, 16, max_half_open=4)
    flood(pair, 4)  # TcpMaxHalfOpen reached
    assert pair.b.tcp.half_open == 4 and spec.under_attack(4, 0, 4, 80)
    retx, gone = run_victim(pair, seen)
    want, give_up = expected(attack=True)
    assert len(retx) == len(want) == 1
    assert retx == [pytest.approx(t, abs=0.06) for t in want]
    assert give_up <= gone < give_up + 0.1  # 3 s instead of 15 s
    c = pair.b.tcp.counters
    assert (c.syn_attack_entered, c.syn_attack_reduced_retransmissions) == (1, 1)
    # The flood's four were made before the attack: they keep the normal count.
    assert pair.b.tcp.half_open == 4


def test_retransmitted_half_open_connections_count_then_the_attack_ends(pair: Pair) -> None:
    seen = watch(pair)
    listen(pair, 16, max_half_open=100, max_half_open_retried=3)
    flood(pair, 3)
    pair.world.run_for(0.5)
    assert len(pair.b.tcp.half_open_retried) == 0
    pair.world.run_for(0.6)  # each flood SYN,ACK retransmitted once
    assert len(pair.b.tcp.half_open_retried) == 3 and spec.under_attack(3, 3, 100, 3)
    retx, _ = run_victim(pair, seen)
    assert len(retx) == 1
    pair.world.run_for(15.0)  # the flood's connections gave up
    tcp = pair.b.tcp
    assert (tcp.half_open, len(tcp.half_open_retried)) == (0, 0)
    syn_from(pair, IPv6Address("fe80::900d"), 4444)  # the host is no longer under attack
    c = tcp.counters
    assert (c.syn_attack_entered, c.syn_attack_left) == (1, 1)
    assert c.syn_attack_reduced_retransmissions == 1


def test_off_no_connection_is_shortened(pair: Pair) -> None:
    seen = watch(pair)
    listen(pair, 16, max_half_open=4, syn_attack_protect=False)
    flood(pair, 6)
    retx, _ = run_victim(pair, seen)
    assert len(retx) == 3 and pair.b.tcp.counters.syn_attack_entered == 0


def test_a_full_queue_still_answers_with_cookies_under_attack(pair: Pair) -> None:
    listen(pair, 4, max_half_open=2)
    flood(pair, 10)
    c = pair.b.tcp.counters
    assert (c.syn_attack_entered, c.syn_attack_reduced_retransmissions) == (1, 2)
    assert c.syn_cookies_sent == 6 and pair.b.tcp.half_open == 4
