"""The timeline's one-line summaries of Mobility Header messages, for packets scapy builds."""

from __future__ import annotations

import pytest
from scapy.layers import inet6 as s6
from scapy.packet import Packet, Raw

from tcpip6.apps.decode import summarize_packet

HEAD = "2001:db8::1 > 2001:db8::2: "


@pytest.mark.parametrize(
    ("layer", "text"),
    [
        (s6.MIP6MH_BU(seq=7, flags="AK", mhtime=25), "MH Binding Update seq 7 lifetime 25 AK"),
        (s6.MIP6MH_BA(status=135, seq=6, mhtime=0), "MH Binding Ack status 135 seq 6 lifetime 0"),
        (s6.MIP6MH_BE(status=1, ha="2001:db8::9"), "MH Binding Error status 1 home 2001:db8::9"),
        (s6.MIP6MH_HoT(index=3), "MH Home Test nonce index 3"),
        (s6.MIP6MH_CoT(index=4), "MH Care-of Test nonce index 4"),
        (s6.MIP6MH_HoTI(), "MH Home Test Init"),
        (s6.MIP6MH_CoTI(), "MH Care-of Test Init"),
        (s6.MIP6MH_BRR(), "MH Binding Refresh Request"),
        (s6.MIP6MH_Generic(mhtype=99, msg=b"\x00\x00"), "MH type 99"),
    ],
)
def test_mobility_messages(layer: Packet, text: str) -> None:
    pkt = s6.IPv6(src="2001:db8::1", dst="2001:db8::2") / layer
    assert summarize_packet(bytes(pkt)) == HEAD + text


def test_malformed_mobility_header() -> None:
    pkt = s6.IPv6(src="2001:db8::1", dst="2001:db8::2", nh=135) / Raw(b"\x3b\x00\x05")
    assert summarize_packet(bytes(pkt)).startswith(HEAD + "MH malformed (")
