"""ping6 over simnet: iputils' lines and statistics, errors from routers, -M do."""

from __future__ import annotations

import io
import math
import re

from tcpip6.apps.ping6 import PingOptions, PingStats, ping6
from tcpip6.apps.topology import Topology
from tcpip6.io.runtime import loopback_stack

REPLY = re.compile(r"^64 bytes from (\S+): icmp_seq=(\d+) ttl=(\d+) time=([\d.]+) ms$", re.M)


def run(topo: Topology, dst: str, **opts: object) -> tuple[int, str]:
    out = io.StringIO()
    status = ping6(topo.stack(), dst, out, PingOptions(**opts), address=topo.resolve(dst))  # type: ignore[arg-type]
    return status, out.getvalue()


def test_ping_across_the_router(demo: Topology) -> None:
    status, out = run(demo, "c", count=3)
    c = str(demo.addresses["c"])
    assert status == 0
    lines = out.splitlines()
    assert lines[0] == f"PING c({c}) 56 data bytes"
    replies = REPLY.findall(out)
    assert [(src, int(seq), int(ttl)) for src, seq, ttl, _ in replies] == [
        (c, 1, 63),
        (c, 2, 63),
        (c, 3, 63),
    ]
    rtts = [float(t) for *_, t in replies]
    assert lines[-3] == "--- c ping statistics ---"
    assert lines[-2] == "3 packets transmitted, 3 received, 0% packet loss, time 2000ms"
    mean = sum(rtts) / 3
    mdev = math.sqrt(sum(t * t for t in rtts) / 3 - mean * mean)
    shown = re.fullmatch(
        r"rtt min/avg/max/mdev = ([\d.]+)/([\d.]+)/([\d.]+)/([\d.]+) ms", lines[-1]
    )
    assert shown is not None
    got = [float(x) for x in shown.groups()]
    # The printed times are rounded to the microsecond: so much slack.
    for value, want in zip(got, (min(rtts), mean, max(rtts), mdev), strict=True):
        assert abs(value - want) <= 0.0015
    # On the fake clock: two links, 100 µs each way plus 100 Mb/s serialisation.
    assert 0.4 < min(rtts) < 1.0


def test_loss_is_counted(demo: Topology) -> None:
    demo.world.segments["lan2"].impairments.loss = 0.5
    status, out = run(demo, "c", count=20, interval=0.2)
    got = len(REPLY.findall(out))
    assert 0 < got < 20 and status == 0
    loss = (20 - got) * 100 / 20
    assert f"20 packets transmitted, {got} received, {loss:g}% packet loss, time " in out
    assert "rtt min/avg/max/mdev = " in out


def test_no_reply_at_all(demo: Topology) -> None:
    demo.world.segments["lan2"].impairments.loss = 1.0
    status, out = run(demo, "c", count=2, timeout=2.0)
    assert status == 1
    assert "2 packets transmitted, 0 received, 100% packet loss" in out
    assert "rtt" not in out


def test_hop_limit_exceeded(demo: Topology) -> None:
    status, out = run(demo, "c", count=2, hop_limit=1)
    assert status == 1
    assert "From 2001:db8:1::1 icmp_seq=1 Time exceeded: Hop limit" in out
    assert "From 2001:db8:1::1 icmp_seq=2 Time exceeded: Hop limit" in out
    assert "2 packets transmitted, 0 received, +2 errors, 100% packet loss" in out


def test_dont_fragment_refuses_what_is_too_big(demo: Topology) -> None:
    # Too big for a's own link: refused before anything is sent.
    before = demo.hosts["a"].ip.out_requests
    status, out = run(demo, "b", count=2, size=2000, pmtudisc="do")
    assert status == 1
    assert out.count("ping6: local error: message too long, mtu=1500") == 2
    assert "2 packets transmitted, 0 received, +2 errors, 100% packet loss" in out
    assert demo.hosts["a"].ip.out_requests == before
    # Fits lan1, not lan2: the router answers Packet Too Big, then a knows the path MTU.
    status, out = run(demo, "c", count=3, size=1300, pmtudisc="do")
    assert "From 2001:db8:1::1 icmp_seq=1 Packet too big: mtu=1280" in out
    assert out.count("local error: message too long, mtu=1280") == 2
    # Without -M do the stack fragments to the path MTU and c answers.
    status, out = run(demo, "c", count=1, size=1300)
    assert status == 0 and "1308 bytes from" in out


def test_statistics_arithmetic() -> None:
    s = PingStats(transmitted=3, received=1, rtts=[1.0], elapsed=2.0049)
    assert s.lines("x")[1] == "3 packets transmitted, 1 received, 66.6667% packet loss, time 2004ms"
    s = PingStats(transmitted=4, received=4, rtts=[1.0, 2.0, 3.0, 4.0])
    assert s.lines("x")[2] == "rtt min/avg/max/mdev = 1.000/2.500/4.000/1.118 ms"


def test_unknown_name_is_an_error(demo: Topology) -> None:
    out = io.StringIO()
    assert ping6(demo.stack(), "nosuch", out, PingOptions(count=1)) == 2
    assert out.getvalue() == "ping6: nosuch: Name or service not known\n"


def test_loopback_in_real_time() -> None:
    stack, _ = loopback_stack()
    out = io.StringIO()
    assert ping6(stack, "::1", out, PingOptions(count=2, interval=0.05)) == 0
    text = out.getvalue()
    assert text.startswith("PING ::1(::1) 56 data bytes\n")
    assert len(re.findall(r"^64 bytes from ::1: icmp_seq=\d ttl=64 time=", text, re.M)) == 2
    assert "2 packets transmitted, 2 received, 0% packet loss" in text
