"""Linux cooked captures (SLL and SLL2) as :mod:`tcpip6.io.capture` reads them: the IPv6
packet inside each frame, scapy writing the frames and the pcap files."""

from __future__ import annotations

from pathlib import Path

import pytest
from scapy.layers.inet import IP
from scapy.layers.inet6 import ICMPv6EchoRequest, IPv6
from scapy.layers.l2 import CookedLinux, CookedLinuxV2
from scapy.packet import Packet
from scapy.utils import PcapWriter

from tcpip6.io.capture import CaptureStats, read_capture


@pytest.mark.parametrize(
    ("linktype", "cooked"),
    [(113, CookedLinux), (276, CookedLinuxV2)],
    ids=["sll", "sll2"],
)
def test_cooked_frames_give_their_ipv6_packet(
    tmp_path: Path, linktype: int, cooked: type[Packet]
) -> None:
    packet = IPv6(src="2001:db8::a", dst="2001:db8::b") / ICMPv6EchoRequest(id=1, seq=2)
    ipv4 = cooked(proto=0x0800) / IP(src="192.0.2.1", dst="192.0.2.2")
    frames = [bytes(cooked(proto=0x86DD) / packet), bytes(ipv4), bytes(cooked())[:10]]
    path = tmp_path / "cooked.pcap"
    with PcapWriter(str(path), linktype=linktype) as out:
        for frame in frames:
            out.write(frame)
    stats = CaptureStats()
    assert [p.packet for p in read_capture(path, stats)] == [bytes(packet)]
    assert (stats.frames, stats.ipv6) == (3, 1)
    assert dict(stats.skipped) == {"not IPv6": 1, "short cooked frame": 1}
