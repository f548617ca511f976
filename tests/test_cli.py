"""The command line: --help teaches, bad input gets one line and a non-zero exit."""

from __future__ import annotations

from pathlib import Path

from tests import tshark
from tests.cli import tcpip6_cli as run


def test_help_lists_commands() -> None:
    done = run("--help")
    assert done.returncode == 0
    assert "demo" in done.stdout and "diagram" in done.stdout and "examples:" in done.stdout


def test_bad_flag_is_one_line_error() -> None:
    done = run("demo", "--no-such-flag")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "unrecognized arguments: --no-such-flag" in done.stderr


def test_unknown_machine_is_one_line_error() -> None:
    done = run("diagram", "no-such-machine")
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "unknown machine 'no-such-machine'" in done.stderr


def test_demo_runs_and_writes_a_clean_pcap(tmp_path: Path) -> None:
    pcap = tmp_path / "demo.pcap"
    done = run("demo", "--pcap", str(pcap))
    assert done.returncode == 0, done.stderr
    assert "timeline" in done.stdout and f"pcap: {pcap}" in done.stdout
    out = done.stdout
    # The router's Packet Too Big, the fragments a then sends, c's fragmented reply
    # reassembled by a, and the reassembly graph's transitions with their RFC section.
    assert "packet too big mtu 1280" in out
    assert out.count("frag (id ") == 8  # 2 fragments each way, each seen on both links
    assert "the 1400-byte ping was answered (2 fragments sent, 1 reply reassembled)" in out
    assert "HAVE_FIRST --reassembled--> COMPLETE (RFC 8200 §4.5)" in out
    assert "is a duplicate and is not used: True" in out
    frames = tshark.assert_clean(pcap)
    assert len(frames) >= 60
    # tshark reassembles the fragments into the echo request and reply.
    assert any("Echo (ping) reply" in f.info for f in frames)


def test_diagram_list_and_formats(tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    listing = run("diagram", "--list")
    assert listing.returncode == 0
    names = [line.split()[0] for line in listing.stdout.splitlines()]
    assert {"nce", "dad", "mld", "router_solicitation"} <= set(names)
    svg = tmp_path / "nce.svg"
    done = run("diagram", "nce", "--format", "svg", "--output", str(svg))
    assert done.returncode == 0, done.stderr
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg")
    text = svg.read_text()
    for state in ("INCOMPLETE", "REACHABLE", "STALE", "DELAY", "PROBE"):
        assert f">{state}<" in text
    mermaid = run("diagram", "dad", "--format", "mermaid")
    assert "stateDiagram-v2" in mermaid.stdout and "TENTATIVE --> PREFERRED" in mermaid.stdout


def _record_a_run(path: Path) -> list[dict[str, object]]:
    """A short simnet run (a router, two hosts, a ping) recorded as --trace-format json."""
    import json
    from dataclasses import asdict
    from ipaddress import IPv6Network

    from tcpip6.io.sim import SimWorld
    from tcpip6.stack.machines.graph import TransitionRecord

    records: list[TransitionRecord] = []
    world = SimWorld(seed=3)
    prefix = IPv6Network("2001:db8:5::/64")
    router = world.router("r")
    world.connect_router(router, "lan", prefix)
    hosts = [router.host, world.host("a"), world.host("b")]
    ifaces = [world.connect(h, "lan") for h in hosts[1:]]
    for h in hosts:
        h.trace_sink = records.append
        h.start(world.now)
    world.run_for(10.0)
    dst = next(a for a in ifaces[1].source_candidates() if a in prefix)
    hosts[1].icmpv6.send_echo_request(dst, 1, 1, b"x", world.now)
    world.run_for(30.0)
    rows = [asdict(r) for r in records]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return rows


def test_diagram_highlight_draws_the_transitions_a_run_took(tmp_path: Path) -> None:
    import re
    from collections import Counter

    trace = tmp_path / "run.json"
    rows = _record_a_run(trace)
    for machine in ("nce", "dad"):
        want = Counter((r["old"], r["trigger"], r["new"]) for r in rows if r["graph"] == machine)
        assert want, f"the run exercised {machine}"
        done = run("diagram", machine, "--highlight", str(trace))
        assert done.returncode == 0, done.stderr
        got = {}
        for src, dst, n, trig in re.findall(
            r'^\s+"([^"]+)" -> "([^"]+)" \[label="(\d+)x (\w+)[^"]*" color="red"',
            done.stdout,
            re.M,
        ):
            got[(src, trig, dst)] = int(n)
        assert got == dict(want)
        # Edges the run did not take are drawn as usual.
        plain = re.findall(r'^\s+"[^"]+" -> "[^"]+" \[label="[^"]*"\];$', done.stdout, re.M)
        assert len(plain) + len(got) == done.stdout.count(" -> ") - 1  # minus the start arrow
    svg = tmp_path / "nce.svg"
    done = run("diagram", "nce", "--highlight", str(trace), "--format", "svg", "--output", str(svg))
    assert done.returncode == 0 and "red" in svg.read_text()


def test_diagram_highlight_errors_are_one_line(tmp_path: Path) -> None:
    missing = run("diagram", "nce", "--highlight", str(tmp_path / "nope.json"))
    assert missing.returncode == 1 and missing.stderr.count("\n") == 1
    assert "cannot read trace" in missing.stderr
    bad = tmp_path / "bad.json"
    bad.write_text("not json\n")
    done = run("diagram", "nce", "--highlight", str(bad))
    assert done.returncode == 1 and done.stderr.count("\n") == 1
    assert "not a JSON trace line" in done.stderr
    wrong = tmp_path / "wrong.json"
    wrong.write_text(
        '{"now": 1.0, "graph": "nce", "entity": "x", "old": "PROBE", '
        '"trigger": "no_such", "new": "STALE", "rfc": "4861 §7.3.3"}\n'
    )
    done = run("diagram", "nce", "--highlight", str(wrong))
    assert done.returncode == 1 and "nce has no transition PROBE --no_such--> STALE" in done.stderr


def test_diagram_output_errors_are_one_line_and_writes_are_confirmed(tmp_path: Path) -> None:
    done = run("diagram", "nce", "--format", "svg", "--output", "/nonexistent-dir/x.svg")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr == (
        "tcpip6 diagram: cannot write /nonexistent-dir/x.svg: No such file or directory\n"
    )
    out = tmp_path / "nce.dot"
    done = run("diagram", "nce", "--output", str(out))
    assert done.returncode == 0 and done.stdout == f"wrote {out}\n"
    assert out.read_text().startswith("digraph")
    blocker = tmp_path / "file"
    blocker.write_text("")
    done = run("diagram", "--all", "--output-dir", str(blocker / "sub"))
    assert done.returncode == 1 and done.stderr.count("\n") == 1
    assert f"cannot create {blocker / 'sub'}" in done.stderr


def test_the_trace_format_is_json_lines() -> None:
    help_text = " ".join(run("demo", "--help").stdout.split())
    assert "JSON Lines" in help_text and ".jsonl" in help_text
    assert "TRACE.jsonl" in run("diagram", "--help").stdout
    assert "run.jsonl" in run("--help").stdout


def test_demo_logs_are_in_the_timeline_not_on_stderr(tmp_path: Path) -> None:
    import re

    done = run("demo", "--pcap", str(tmp_path / "d.pcap"))
    assert done.returncode == 0 and done.stderr == ""
    timeline = done.stdout.split("timeline (simulated seconds):\n")[1].split("\n\n")[0]
    rows = timeline.splitlines()
    logged = [i for i, r in enumerate(rows) if "[error] d: duplicate address" in r]
    assert len(logged) == 1
    # In its place: right after d's DAD saw a's Neighbor Advertisement, times in order.
    times = [float(r.split()[0]) for r in rows]
    assert times == sorted(times)
    assert "TENTATIVE --dad_na_received--> DUPLICATE" in "".join(rows[logged[0] - 3 : logged[0]])
    assert re.search(r"^  b: 1 echo reply from ", done.stdout, re.M)
    assert re.search(r"^  a: 2 echo replies from ", done.stdout, re.M)
    trace = run("demo", "--trace", "--pcap", str(tmp_path / "t.pcap"))
    assert trace.returncode == 0 and trace.stderr == ""
    lines = trace.stdout.splitlines()
    at = next(i for i, x in enumerate(lines) if "error" in x and "duplicate address" in x)
    assert "DUPLICATE" in lines[at - 2] and float(lines[at].split()[0]) == float(
        lines[at - 2].split()[0]
    )
    jsonl = run("demo", "--trace", "--trace-format", "json", "--pcap", str(tmp_path / "j.pcap"))
    assert jsonl.stderr == "" and all(x.startswith("{") for x in jsonl.stdout.splitlines())


def test_commands_name_the_module_that_registers_each() -> None:
    import argparse
    import importlib

    from tcpip6 import cli

    registered: dict[str, str] = {}
    sub = argparse.ArgumentParser().add_subparsers()
    for name in cli.TOOLS:
        importlib.import_module(name).add_parser(sub)
        registered.update({command: name for command in sub.choices if command not in registered})
    assert registered == cli.COMMANDS


def test_one_command_imports_one_tool_and_parses_as_the_whole_parser() -> None:
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from tcpip6 import cli\n"
        "with open('/dev/null', 'w') as sys.stdout:\n"
        "    status = cli.main(['6to4cfg', '198.51.100.1'])\n"
        "sys.stdout = sys.__stdout__\n"
        "print(status, *sorted(m for m in sys.modules if m in cli.TOOLS))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.stdout.split() == ["0", "tcpip6.apps.sixtofourcfg"], done.stderr


def test_each_command_alone_parses_as_in_the_whole_parser() -> None:
    import argparse
    import contextlib
    import io

    import pytest

    from tcpip6 import cli

    def help_of(parser: argparse.ArgumentParser, command: str) -> str:
        out = io.StringIO()
        with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
            parser.parse_args([command, "--help"])
        return out.getvalue()

    whole = cli.build_parser()
    for command, tool in cli.COMMANDS.items():
        assert help_of(cli.build_parser((tool,)), command) == help_of(whole, command), command
