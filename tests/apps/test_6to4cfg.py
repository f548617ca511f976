"""``tcpip6 6to4cfg``: the 6to4 configuration of an IPv4 address (RFC 3056 §2, RFC 3068)."""

from __future__ import annotations

import subprocess
from ipaddress import IPv4Address, IPv6Address

import pytest

from tcpip6.apps.host import build_config
from tcpip6.apps.sixtofourcfg import parse_relay, report, resolve
from tcpip6.stack.tunnel import TunnelKind, TunnelSpec
from tests.cli import tcpip6_cli


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return tcpip6_cli("6to4cfg", *args)


def test_report_for_an_address_and_a_relay() -> None:
    lines = report(IPv4Address("192.0.2.7"), parse_relay("anycast"))
    assert lines[1].split()[:3] == ["6to4", "prefix", "2002:c000:207::/48"]
    # RFC 3056 §2: 2002 then the 32 bits of 192.0.2.7 (c0.00.02.07).
    address = lines[2].split()[2]
    assert IPv6Address(address.split("/")[0]).packed[2:6] == bytes([192, 0, 2, 7])
    assert address == "2002:c000:207::c000:207/16"
    assert lines[3].split()[2:5] == ["192.88.99.1", "=", "2002:c058:6301::"]
    assert "  tcpip6 host --link tunnel:6to4:192.0.2.7:192.88.99.1" in lines
    assert '  links = ["tunnel:6to4:192.0.2.7:192.88.99.1"]' in lines
    # The printed settings are what tcpip6 host accepts, and configure that tunnel.
    config = build_config(links=["tunnel:6to4:192.0.2.7:192.88.99.1"])
    assert config.tunnels["tun0"] == TunnelSpec(
        TunnelKind.SIX_TO_FOUR, IPv4Address("192.0.2.7"), relay=IPv4Address("192.88.99.1")
    )


def test_a_global_address_gets_no_note_a_private_one_does() -> None:
    assert not [line for line in report(IPv4Address("8.8.4.4")) if line.startswith("note")]
    assert [line for line in report(IPv4Address("10.0.0.2")) if line.startswith("note")]
    assert "relay router     none" in "\n".join(report(IPv4Address("8.8.4.4")))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["300.1.1.1"], "address 300.1.1.1: Octet 300 (> 255) not permitted"),
        (["224.0.0.1"], "address 224.0.0.1: not a unicast address a 6to4 site can have"),
        (["0.0.0.0"], "not a unicast address"),
        (["lo"], "lo's address 127.0.0.1: not a unicast address"),
        (["no-such-if0"], "no-such-if0: no such interface (nor an IPv4 address)"),
        (["a" * 20], "is neither an IPv4 address nor an interface name"),
        (["192.0.2.7", "--relay", "x"], "--relay x: Expected 4 octets"),
    ],
)
def test_bad_input_is_a_one_line_error(args: list[str], message: str) -> None:
    done = run(*args)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert message in done.stderr


def test_help_teaches() -> None:
    done = run("--help")
    assert done.returncode == 0
    for what in ("2002:V4ADDR::/48", "--relay anycast", "192.88.99.1", "IPV4ADDR|IFNAME"):
        assert what in done.stdout


def test_command_prints_the_report() -> None:
    done = run("198.51.100.1")
    assert done.returncode == 0
    assert done.stdout.splitlines() == report(IPv4Address("198.51.100.1"))
    assert resolve("198.51.100.1") == IPv4Address("198.51.100.1")
