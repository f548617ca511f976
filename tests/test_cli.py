"""The command line: --help teaches, bad input gets one line and a non-zero exit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests import tshark


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tcpip6", *args], capture_output=True, text=True, timeout=120
    )


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
    frames = tshark.assert_clean(pcap)
    assert len(frames) >= 12


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
