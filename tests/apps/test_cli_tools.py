"""The tools' command lines: the shapes a teacher sees, and one-line errors."""

from __future__ import annotations

import re

import pytest

from tests.cli import tcpip6_cli as run


def test_ping6_across_the_demo() -> None:
    done = run("ping6", "--sim", "demo", "-c", "3", "c")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert re.fullmatch(r"PING c\(2001:db8:2::[0-9a-f:]+\) 56 data bytes", lines[0])
    assert (
        len(
            [
                x
                for x in lines
                if re.match(
                    r"64 bytes from 2001:db8:2::\S+: icmp_seq=\d ttl=63 time=\d+\.\d{3} ms", x
                )
            ]
        )
        == 3
    )
    assert lines[-2] == "3 packets transmitted, 3 received, 0% packet loss, time 2000ms"
    assert re.fullmatch(r"rtt min/avg/max/mdev = (\d+\.\d{3}/){3}\d+\.\d{3} ms", lines[-1])


def test_tracert6_across_the_chain() -> None:
    done = run("tracert6", "--sim", "chain", "z")
    assert done.returncode == 0, done.stderr
    hops = re.findall(r"^\s+(\d)\s.*\s(\S+)$", done.stdout, re.M)
    assert [a for _, a in hops][:3] == ["2001:db8:1::1", "2001:db8:2::2", "2001:db8:3::2"]
    assert hops[3][1].startswith("2001:db8:4::")


def test_ttcp_and_services() -> None:
    done = run("ttcp", "--sim", "demo", "-t", "-r", "-u", "-l", "1000", "-n", "100")
    assert done.returncode == 0, done.stderr
    assert (
        len(re.findall(r"^ttcp-[tr]: 100000 bytes in \d+\.\d\d real seconds", done.stdout, re.M))
        == 2
    )
    done = run("ttcp", "--sim", "demo", "-t", "-r", "-l", "4096", "-n", "64")
    assert done.returncode == 0, done.stderr
    assert "ttcp-t: buflen=4096, nbuf=64, align=16384/0, port=5001  tcp  -> b" in done.stdout
    assert "ttcp-t: connect" in done.stdout and "ttcp-r: accept from 2001:db8:1::" in done.stdout
    assert (
        len(re.findall(r"^ttcp-[tr]: 262144 bytes in \d+\.\d\d real seconds", done.stdout, re.M))
        == 2
    )
    done = run("ttcp", "--loopback", "-r", "-l", "1000", "-n", "50")
    assert done.returncode == 0, done.stderr
    assert re.search(r"^ttcp-r: 50000 bytes in", done.stdout, re.M)
    assert "ttcp-t:" not in done.stdout
    done = run("services", "--sim", "demo")
    assert done.returncode == 0, done.stderr
    assert "daytime  13/udp" in done.stdout


def test_ping6_loopback() -> None:
    done = run("ping6", "--loopback", "-c", "2", "-i", "0.05", "::1")
    assert done.returncode == 0, done.stderr
    assert "2 packets transmitted, 2 received, 0% packet loss" in done.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("ping6", "--sim", "demo", "nosuch"), "nosuch: Name or service not known"),
        (("ping6", "-c", "1", "::1"), "say where to run"),
        (("ping6", "--sim", "mesh", "::1"), "unknown topology 'mesh'"),
        (("ping6", "--sim", "demo", "-s", "-1", "c"), "invalid -s value"),
        (("tracert6", "--sim", "chain", "-h", "0", "z"), "max hops 0"),
        (("ttcp", "--sim", "demo", "-t", "-l", "0"), "-l 0: a TCP buffer is 1-1048576 octets"),
        (("ttcp", "--sim", "demo", "a"), "a is the transmitter"),
        (("ttcp", "--sim", "demo", "-u", "-l", "3"), "-l 3"),
        (("services", "--sim", "demo", "a"), "other than a"),
    ],
)
def test_bad_arguments_are_one_line(args: tuple[str, ...], message: str) -> None:
    done = run(*args)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1 and message in done.stderr


def test_help_teaches() -> None:
    done = run("ping6", "--help")
    assert done.returncode == 0
    assert "IPv6 routers never fragment" in " ".join(done.stdout.split())
    # Inside a live host: the flag, and an example of it.
    assert "tcpip6 ping6 --control /tmp/h6.sock -c 3 2001:db8:77::1" in done.stdout
    trace = run("tracert6", "--help")
    assert trace.returncode == 0 and "-h MAX_HOPS" in trace.stdout
    ttcp = " ".join(run("ttcp", "--help").stdout.split())
    assert "Over TCP by default" in ttcp and "-u UDP instead of TCP" in ttcp
