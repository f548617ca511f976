"""Segmentation offload on simnet: a host whose port segments in software
(:class:`tcpip6.io.softgso.SoftGsoPort`) hands its link segments of several MSS, and the
peer receives, segment for segment, what a host without offload sends (the oracle: the
same transfer without the offload), with valid checksums (scapy), also when segments are
lost."""

from __future__ import annotations

import dataclasses

import pytest
from scapy.layers.inet import TCP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether

from tcpip6.io.softgso import SoftGsoPort
from tests.stack.conftest import make_pair
from tests.stack.tcpscenario import connected, drop_once, parse_frame, sim_port

DATA = bytes((i * 13) % 251 for i in range(600_000))


def transfer(
    gso: bool, lose: set[int] = frozenset(), rack: bool = False
) -> tuple[list[tuple[int, int, int]], list[bytes], int, float]:
    """a sends DATA to b: (seq, length, flags) of each data segment b receives, the raw
    frames, how many large frames a's port cut up, and the simulated time it took."""
    pair = make_pair()
    soft = SoftGsoPort(pair.ia.link.port)
    if gso:
        pair.ia.link.port = soft  # type: ignore[attr-defined]
    c = connected(pair, lambda p: dataclasses.replace(p, rack=rack))
    port = sim_port(pair.ib)
    frames: list[bytes] = []
    inner = port.receiver
    assert inner is not None

    def receiver(frame: bytes, now: float) -> None:
        frames.append(frame)
        inner(frame, now)

    port.receiver = receiver
    dropped = drop_once(pair.world, pair.ib, {(c.ca.snd.iss + off) % 2**32 for off in lose})
    got = bytearray()
    sent = 0
    c.server.settimeout(0.0)
    world = pair.world
    start = world.now
    for _ in range(100_000):
        if sent < len(DATA):
            sent += c.ca.send(memoryview(DATA)[sent : sent + 65536], world.now)
        world.run_for(0.001)
        try:
            while chunk := c.server.recv(1 << 20):
                got += chunk
        except BlockingIOError:
            pass
        if len(got) == len(DATA):
            break
    assert bytes(got) == DATA
    assert len(dropped) == len(lose)
    segs = [s for f in frames if (s := parse_frame(f)) is not None and s.payload]
    wire = [(s.seq, len(s.payload), s.flags) for s in segs]
    return wire, frames, soft.counters.large_frames, world.now - start


@pytest.mark.parametrize(
    ("lose", "rack"),
    [
        (frozenset(), False),
        (frozenset({1 + 1428 * 40, 1 + 1428 * 41}), False),
        # RFC 8985 RACK keeps a send time per segment: the pieces of a large one too.
        (frozenset({1 + 1428 * 40, 1 + 1428 * 41}), True),
    ],
)
def test_same_segments_as_without_offload(lose: frozenset[int], rack: bool) -> None:
    plain, _, _, plain_time = transfer(False, set(lose), rack)
    offloaded, frames, large, offloaded_time = transfer(True, set(lose), rack)
    assert large > 10  # the offload path was taken
    if not rack:
        assert offloaded == plain
    else:
        # With RACK the losses are marked at another moment (fewer duplicate ACKs come
        # back when the pieces leave together): the same data, repaired about as fast,
        # with no more segments. A piece whose send time RACK did not record would wait
        # for a timeout instead.
        assert len(offloaded) <= len(plain) + 2
        assert offloaded_time <= plain_time * 2
    for f in frames:
        assert len(f) <= 14 + 1500
        ether = Ether(f)
        if TCP in ether:
            tcp = ether[TCP]
            sent = tcp.chksum
            del tcp.chksum
            assert TCP(bytes(IPv6(bytes(ether[IPv6])))[40:]).chksum == sent
