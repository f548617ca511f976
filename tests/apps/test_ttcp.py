"""ttcp over UDP: both sides in one process, simnet's clock giving the seconds."""

from __future__ import annotations

import io
import re

from tcpip6.apps.topology import LINE_RATE, Topology
from tcpip6.apps.ttcp import TtcpOptions, pattern, ttcp_pair
from tcpip6.io.runtime import loopback_stack

LINE = re.compile(
    r"^ttcp-([tr]): (\d+) bytes in (\d+\.\d\d) real seconds = (\d+\.\d\d) KB/sec \+\+\+$", re.M
)


def test_throughput_lines(demo: Topology) -> None:
    out = io.StringIO()
    opts = TtcpOptions(buflen=1024, nbuf=1024)
    status = ttcp_pair(
        demo.stack("a"),
        demo.stack("b"),
        demo.resolve("b"),
        out,
        opts,
        room=demo.send_buffer_has_room("a"),
        name="b",
    )
    text = out.getvalue()
    assert status == 0, text
    assert "ttcp-t: buflen=1024, nbuf=1024, align=16384/0, port=5001  udp  -> b" in text
    found = {side: (int(n), float(s), float(r)) for side, n, s, r in LINE.findall(text)}
    assert found["t"][0] == found["r"][0] == 1048576
    # 1024-octet datagrams: 1024 + 8 + 40 + 14 octets a frame, plus 24 on the wire.
    wire_seconds = 1024 * (1024 + 62 + 24) * 8 / LINE_RATE
    nbytes, seconds, rate = found["r"]
    assert abs(seconds - wire_seconds) < 0.02
    assert rate == round(nbytes / seconds / 1024, 2) or abs(rate - nbytes / seconds / 1024) < 200
    assert "ttcp-r: 1026 I/O calls" in text  # the data, the start and the end mark


def test_loss_shows_at_the_receiver(demo: Topology) -> None:
    demo.world.segments["lan1"].impairments.loss = 0.1
    out = io.StringIO()
    opts = TtcpOptions(buflen=512, nbuf=200)
    ttcp_pair(
        demo.stack("a"),
        demo.stack("b"),
        demo.resolve("b"),
        out,
        opts,
        room=demo.send_buffer_has_room("a"),
    )
    found = {side: int(n) for side, n, *_ in LINE.findall(out.getvalue())}
    assert found.get("t") == 512 * 200
    if "r" in found:
        assert found["r"] < 512 * 200 and found["r"] % 512 == 0


def test_pattern_is_printable() -> None:
    assert pattern(100)[:3] == b' !"' and all(32 <= b < 127 for b in pattern(300))


def test_loopback() -> None:
    stack, _ = loopback_stack()
    out = io.StringIO()
    assert ttcp_pair(stack, stack, "::1", out, TtcpOptions(buflen=1000, nbuf=100)) == 0
    found = {side: int(n) for side, n, *_ in LINE.findall(out.getvalue())}
    assert found == {"t": 100000, "r": 100000}
