"""tcpip6 host's Mobile IPv6 switches: --home-agent and --mobile-node (RFC 6275 §10, §11):
what they configure, and what they refuse in one line before touching a link."""

from __future__ import annotations

import subprocess
import sys
from ipaddress import IPv6Address, IPv6Interface, IPv6Network

import pytest

from tcpip6.apps.host import HostConfigError, config_from, validate


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tcpip6", *args], capture_output=True, text=True, timeout=60
    )


def test_the_flags_are_parsed_into_the_config() -> None:
    ha = config_from({"links": ["ethernet:h"], "router": True, "home_agent": "h=2001:db8:1::/64"})
    validate(ha)
    assert ha.home_agent == ("h", IPv6Network("2001:db8:1::/64"))
    mn = config_from({"links": ["ethernet:m"], "mobile_node": "m=2001:db8:1::100/64,2001:db8:1::1"})
    validate(mn)
    assert mn.mobile_node == (
        "m",
        IPv6Interface("2001:db8:1::100/64"),
        IPv6Address("2001:db8:1::1"),
    )
    # RFC 6275 §11.4.1: without the agent's address, discovery finds it.
    found = config_from({"links": ["ethernet:m"], "mobile_node": "m=2001:db8:1::100/64"})
    validate(found)
    assert found.mobile_node == ("m", IPv6Interface("2001:db8:1::100/64"), None)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--home-agent", "a=2001:db8:1::/64"], "--home-agent needs --router"),
        (["--router", "--home-agent", "b=2001:db8:1::/64"], "--home-agent names b"),
        (["--router", "--home-agent", "a=nonsense"], "--home-agent a=nonsense:"),
        (["--mobile-node", "a=2001:db8:1::100/64,zz"], "IFNAME=HOME/LEN[,AGENT]"),
        (["--mobile-node", "a=2001:db8:1::100/64,2001:db8:2::1"], "not on the home prefix"),
        (["--router", "--mobile-node", "a=2001:db8:1::100/64,2001:db8:1::1"], "is a host"),
    ],
)
def test_bad_switches_are_one_line_errors(args: list[str], message: str) -> None:
    done = run("host", "--link", "ethernet:a", *args)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1 and message in done.stderr


def test_help_teaches_them() -> None:
    text = " ".join(run("host", "--help").stdout.split())
    assert "--home-agent IFNAME=PREFIX" in text and "--mobile-node IFNAME=HOME/LEN[,AGENT]" in text
    with pytest.raises(HostConfigError):
        config_from({"links": ["ethernet:m"], "mobile_node": "m=zz"})
