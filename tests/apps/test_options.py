"""One options builder for the command line and the control socket's jobs: a tool's
defaults are written once, on its options dataclass, and both paths give the same
object for the same settings."""

from __future__ import annotations

import math
from typing import Any

import pytest

from tcpip6 import cli
from tcpip6.apps.jobs import PingJob, TraceJob, start_job
from tcpip6.apps.options import build_options, defaults
from tcpip6.apps.ping6 import PingOptions
from tcpip6.apps.tracert6 import TraceOptions
from tcpip6.apps.ttcp import TtcpOptions
from tcpip6.apps.ttcp_jobs import TtcpReceiveJob
from tcpip6.io.runtime import loopback_stack


def _flags(*argv: str) -> dict[str, Any]:
    return vars(cli.build_parser().parse_args(list(argv)))


def test_every_tool_owns_its_command_line() -> None:
    import importlib

    parser = cli.build_parser()
    assert parser.format_help().count("\n") > 10
    for name in cli.TOOLS:
        tool = importlib.import_module(name)
        assert callable(tool.add_parser) and callable(tool.run), name


@pytest.mark.parametrize(
    ("cls", "argv"),
    [
        (PingOptions, ("ping6", "--sim", "demo", "c")),
        (TraceOptions, ("tracert6", "--sim", "chain", "z")),
        (TtcpOptions, ("ttcp", "--sim", "demo")),
    ],
)
def test_no_flags_means_the_dataclass_defaults(
    cls: type[Any], argv: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    from_cli = build_options(cls, _flags(*argv))
    from_job = build_options(cls, {"destination": "::1"})  # a request with no settings
    assert from_cli == from_job == cls()
    # The defaults are the dataclass's, and --help says them.
    with pytest.raises(SystemExit):
        cli.main([argv[0], "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for value in defaults(cls).values():
        if isinstance(value, int | float) and not isinstance(value, bool) and value:
            assert f"(default {value:g}" in text


def test_flags_and_job_args_build_the_same_options() -> None:
    argv = ("ping6", "--control", "/x", "-c", "3", "-i", "0.5", "-s", "100", "-M", "do", "::1")
    opts = build_options(PingOptions, _flags(*argv))
    assert opts == PingOptions(count=3, interval=0.5, size=100, pmtudisc="do")
    # What the command line sends to the host, rebuilt there: the same object.
    sent = {k: v for k, v in vars(opts).items() if v is not None}
    assert build_options(PingOptions, sent) == opts
    trace = build_options(TraceOptions, _flags("tracert6", "--sim", "chain", "-q", "1", "-U", "z"))
    assert build_options(TraceOptions, vars(trace)) == trace == TraceOptions(probes=1, udp=True)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"count": True}, "count: expected a int"),
        ({"count": "3"}, "count: expected a int"),
        ({"interval": math.inf}, "interval: expected a finite number"),
        ({"size": -1}, "invalid -s value"),
        ({"pmtudisc": 1}, "pmtudisc: expected a str"),
    ],
)
def test_a_bad_value_is_one_line(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_options(PingOptions, values)


def test_jobs_take_the_same_defaults() -> None:
    stack, _ = loopback_stack()
    ping = start_job(stack, {"run": "ping6", "args": {"destination": "::1"}})
    assert isinstance(ping, PingJob) and ping.pinger.opts == PingOptions()
    ping.cancel(0.0)
    trace = start_job(stack, {"run": "tracert6", "args": {"destination": "::1"}})
    assert isinstance(trace, TraceJob) and trace.opts == TraceOptions()
    trace.cancel(0.0)
    # ttcp without -u is TCP on both paths.
    receive = start_job(stack, {"run": "ttcp", "args": {"transmit": False}})
    assert isinstance(receive, TtcpReceiveJob) and receive.opts == TtcpOptions()
    receive.cancel(0.0)


@pytest.mark.parametrize("tool", [t.rsplit(".", 1)[1] for t in cli.TOOLS])
def test_help_is_wrapped(tool: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Every --help fits 100 columns (descriptions are filled, not one long line)."""
    name = {"sixtofourcfg": "6to4cfg", "link_events": "link"}.get(tool, tool)
    with pytest.raises(SystemExit):
        cli.main([name, "--help"])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) > 5
    assert max(len(line) for line in lines) <= 100
