"""tcpip6 host's command line: what it refuses, in one line, before it touches a link."""

from __future__ import annotations

from pathlib import Path

import pytest

from tcpip6.apps.host import HostConfigError, config_from, parse_advertise
from tests.cli import tcpip6_cli as run


@pytest.mark.parametrize("prefix", ["2001:db8:1::/48", "2001:db8:1::/56", "2001:db8:1::/80"])
def test_advertise_needs_a_slaac_prefix(prefix: str) -> None:
    # RFC 4862 §5.5.3 (d): hosts with 64-bit interface identifiers ignore any other length.
    done = run("host", "--link", "ethernet:a", "--router", "--advertise", f"a={prefix}")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1
    assert f"--advertise a={prefix}: hosts autoconfigure only from a /64" in done.stderr
    assert parse_advertise("a=2001:db8:1::/64")[1].prefixlen == 64


def test_advertise_from_a_config_file_is_checked_too(tmp_path: Path) -> None:
    conf = tmp_path / "r.toml"
    conf.write_text('links = ["ethernet:a"]\nrouter = true\nadvertise = ["a=2001:db8:1::/48"]\n')
    with pytest.raises(HostConfigError, match=r"RFC 4862 §5\.5\.3"):
        config_from({}, conf)
