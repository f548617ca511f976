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


def test_optimistic_dad_is_on_unless_the_flag_or_the_file_says_no(tmp_path: Path) -> None:
    """RFC 4429 in ``tcpip6 host``: on by default, ``optimistic_dad = false`` in the file
    or ``--no-optimistic-dad`` for classic DAD, the flag over the file."""
    from tcpip6.cli import build_parser

    assert config_from({"links": ["ethernet:a"]}).optimistic_dad is True
    conf = tmp_path / "h.toml"
    conf.write_text('links = ["ethernet:a"]\noptimistic_dad = false\n')
    assert config_from({}, conf).optimistic_dad is False
    parser = build_parser(("tcpip6.apps.host",))
    for argv, want in (
        ([], None),
        (["--optimistic-dad"], True),
        (["--no-optimistic-dad"], False),
    ):
        args = parser.parse_args(["host", "--link", "ethernet:a", *argv])
        assert args.optimistic_dad is want
    conf.write_text('links = ["ethernet:a"]\noptimistic_dad = "no"\n')
    with pytest.raises(HostConfigError, match="optimistic_dad should be true or false"):
        config_from({}, conf)
