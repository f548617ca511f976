"""ttcp over TCP and UDP: both sides in one process, simnet's clock giving the seconds."""

from __future__ import annotations

import io
import re

from tcpip6.api.sockets import AF_INET6, SOCK_STREAM
from tcpip6.apps.topology import LINE_RATE, Topology
from tcpip6.apps.ttcp import TcpTransfer, TtcpOptions, pattern, ttcp_pair, ttcp_tcp_pair
from tcpip6.io.runtime import loopback_stack

LINE = re.compile(
    r"^ttcp-([tr]): (\d+) bytes in (\d+\.\d\d) real seconds = (\d+\.\d\d) KB/sec \+\+\+$", re.M
)


def udp_a_to_b(demo: Topology, out: io.StringIO, opts: TtcpOptions, name: str | None = None) -> int:
    """ttcp over UDP from a to b of the demo, paced by a's send buffer."""
    room = demo.send_buffer_has_room("a")
    return ttcp_pair(
        demo.stack("a"), demo.stack("b"), demo.resolve("b"), out, opts, room=room, name=name
    )


def test_throughput_lines(demo: Topology) -> None:
    out = io.StringIO()
    opts = TtcpOptions(buflen=1024, nbuf=1024)
    status = udp_a_to_b(demo, out, opts, name="b")
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
    udp_a_to_b(demo, out, opts)
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


def tcp_lines(text: str) -> dict[str, tuple[int, float, float]]:
    return {side: (int(n), float(s), float(r)) for side, n, s, r in LINE.findall(text)}


def test_tcp_delivers_every_octet_at_nearly_the_line_rate(demo: Topology) -> None:
    out = io.StringIO()
    opts = TtcpOptions(buflen=8192, nbuf=128, udp=False)
    status = ttcp_tcp_pair(demo.stack("a"), demo.stack("b"), demo.resolve("b"), out, opts, name="b")
    text = out.getvalue()
    assert status == 0, text
    assert "ttcp-t: buflen=8192, nbuf=128, align=16384/0, port=5001  tcp  -> b" in text
    assert f"ttcp-r: accept from {demo.resolve('a')}" in text
    found = tcp_lines(text)
    assert found["t"][0] == found["r"][0] == 8192 * 128
    # A 100 Mb/s Ethernet carries at most 1428 of every 1538 octets of a full TCP frame
    # (with timestamps) as data: 11.6 MB/s. Slow start and ACKs take some of that.
    rate = found["r"][2] * 1024  # octets a second (the seconds printed are rounded)
    ceiling = LINE_RATE / 8 * 1428 / 1538
    assert ceiling * 0.5 < rate < ceiling
    assert demo.hosts["b"].tcp.counters.in_octets == 8192 * 128
    assert "ttcp-t: 128 I/O calls" in text


def test_tcp_through_the_router_to_the_smaller_mtu(demo: Topology) -> None:
    out = io.StringIO()
    opts = TtcpOptions(buflen=1000, nbuf=300, udp=False, port=6000)
    assert ttcp_tcp_pair(demo.stack("a"), demo.stack("c"), demo.resolve("c"), out, opts) == 0
    assert {side: n for side, (n, _, _) in tcp_lines(out.getvalue()).items()} == {
        "t": 300000,
        "r": 300000,
    }


def test_tcp_recovers_from_loss_and_still_delivers_everything(demo: Topology) -> None:
    demo.world.segments["lan1"].impairments.loss = 0.02
    out = io.StringIO()
    opts = TtcpOptions(buflen=4096, nbuf=64, udp=False)
    assert ttcp_tcp_pair(demo.stack("a"), demo.stack("b"), demo.resolve("b"), out, opts) == 0
    assert tcp_lines(out.getvalue())["r"][0] == 4096 * 64
    assert demo.hosts["a"].tcp.counters.retransmitted_segments > 0


def test_tcp_receiver_counts_what_differs() -> None:
    opts = TtcpOptions(buflen=10, udp=False)
    transfer = TcpTransfer(None, None, opts)  # type: ignore[arg-type]
    transfer._check(pattern(10)[:7])
    assert transfer.mismatched == 0
    transfer.received.nbytes = 7
    transfer._check(b"'()!")  # the pattern goes on "'()" and starts again with " "
    assert transfer.mismatched == 1


def test_tcp_errors_are_one_line(demo: Topology) -> None:
    out = io.StringIO()
    taken = demo.stack("b").socket(AF_INET6, SOCK_STREAM)
    taken.bind(("::", 5001))
    taken.listen()
    assert ttcp_tcp_pair(demo.stack("a"), demo.stack("b"), demo.resolve("b"), out) == 2
    assert out.getvalue() == "ttcp-r: bind: port 5001 is in use\n"


def test_tcp_on_loopback() -> None:
    stack, _ = loopback_stack()
    out = io.StringIO()
    opts = TtcpOptions(buflen=1000, nbuf=100, udp=False)
    assert ttcp_tcp_pair(stack, stack, "::1", out, opts, sides="r") == 0
    assert {side: n for side, (n, _, _) in tcp_lines(out.getvalue()).items()} == {"r": 100000}
