"""simnet delivery and impairments; pcap files that tshark reads."""

from __future__ import annotations

from pathlib import Path

import pytest
from scapy.layers.inet6 import ICMPv6EchoRequest, IPv6
from scapy.layers.l2 import Ether

from tcpip6.io.pcap import PcapWriter, read_pcap
from tcpip6.io.simnet import SimNetwork, mac_for
from tests import tshark


def _frame(dst: bytes, src: bytes, seq: int) -> bytes:
    return bytes(
        Ether(dst=dst.hex(":"), src=src.hex(":"))
        / IPv6(src="fe80::1", dst="fe80::2")
        / ICMPv6EchoRequest(seq=seq)
    )


def _run(seed: int, **knobs: float) -> tuple[list[tuple[float, int]], SimNetwork]:
    net = SimNetwork(seed=seed)
    seg = net.segment("lan")
    for key, value in knobs.items():
        setattr(seg.impairments, key, value)
    a, b = seg.attach(mac_for(1)), seg.attach(mac_for(2))
    got: list[tuple[float, int]] = []
    b.receiver = lambda frame, now: got.append((now, frame[-1]))
    for seq in range(100):
        a.send_frame(_frame(b.mac, a.mac, seq))
        net.run_for(0.001)
    net.run_for(1.0)
    return got, net


def test_clean_link_delivers_in_order_with_delay() -> None:
    got, net = _run(1, delay=0.0005)
    assert [s for _, s in got] == list(range(100))
    assert net.segments["lan"].counters.frames_delivered == 100
    assert got[0][0] == pytest.approx(0.0005)


def test_impairments_are_seeded_and_counted() -> None:
    knobs = {"loss": 0.2, "duplicate": 0.1, "reorder": 0.2, "reorder_delay": 0.0035}
    got1, net1 = _run(7, **knobs)
    got2, _ = _run(7, **knobs)
    assert got1 == got2  # same seed, same run
    c = net1.segments["lan"].counters
    assert c.frames_lost > 0 and c.frames_duplicated > 0 and c.frames_reordered > 0
    seqs = [s for _, s in got1]
    assert len(seqs) == 100 - c.frames_lost + c.frames_duplicated
    assert seqs != sorted(seqs)  # reordered


def test_port_filters_unicast_and_multicast() -> None:
    net = SimNetwork()
    seg = net.segment("lan")
    a, b = seg.attach(mac_for(1)), seg.attach(mac_for(2))
    got: list[bytes] = []
    b.receiver = lambda frame, now: got.append(frame)
    group = b"\x33\x33\x00\x00\x00\x01"
    a.send_frame(_frame(mac_for(3), a.mac, 1))  # someone else's unicast
    a.send_frame(_frame(group, a.mac, 2))  # a group b has not joined
    b.set_multicast_filter(frozenset({group}))
    a.send_frame(_frame(group, a.mac, 3))
    net.run_for(1)
    assert [f[-1] for f in got] == [3]
    assert seg.counters.frames_filtered == 2


def test_tshark_reads_our_pcap(tmp_path: Path) -> None:
    path = tmp_path / "t.pcap"
    with PcapWriter(path) as w:
        for i in range(5):
            w.write(_frame(mac_for(2), mac_for(1), i), 1.5 + i * 0.25)
    assert [round(t, 2) for t, _ in read_pcap(path)] == [1.5, 1.75, 2.0, 2.25, 2.5]
    frames = tshark.assert_clean(path)
    assert [f.protocol for f in frames] == ["ICMPv6"] * 5
    assert all("Echo (ping) request" in f.info for f in frames)


def test_tshark_oracle_sees_bad_checksums(tmp_path: Path) -> None:
    # The oracle must be able to fail: a corrupted checksum is reported.
    path = tmp_path / "bad.pcap"
    frame = bytearray(_frame(mac_for(2), mac_for(1), 1))
    frame[14 + 40 + 2] ^= 0xFF
    with PcapWriter(path) as w:
        w.write(bytes(frame), 0.0)
    (f,) = tshark.read(path)
    assert f.bad_checksum
