"""ping6 and tracert6 run inside a live host through its control socket (no root): a
loopback-only host on a LiveDriver, its control server answering like ``tcpip6 host``'s,
and clients that ask it to ping and trace ::1."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from tcpip6 import cli
from tests.apps.conftest import Rig, lines


def test_ping_job_streams_iputils_lines(rig: Rig) -> None:
    sock = rig.ask({"run": "ping6", "args": {"destination": "::1", "count": 3, "interval": 0.05}})
    answers = rig.answers(sock)
    text = lines(answers)
    assert text[0] == "PING ::1(::1) 56 data bytes"
    assert [t.split(" time=")[0] for t in text[1:4]] == [
        f"64 bytes from ::1: icmp_seq={n} ttl=64" for n in (1, 2, 3)
    ]
    assert text[4:6] == ["", "--- ::1 ping statistics ---"]
    assert text[6].startswith("3 packets transmitted, 3 received, 0% packet loss")
    assert answers[-1] == {"done": True, "status": 0}
    assert not rig.stack.host.raw_sockets.get(58)  # the job's socket is closed
    sock.close()


def test_trace_job_to_the_host_itself(rig: Rig) -> None:
    sock = rig.ask({"run": "tracert6", "args": {"destination": "::1", "probes": 2}})
    text = lines(rig.answers(sock))
    assert text[:3] == ["Tracing route to ::1", "over a maximum of 30 hops:", ""]
    assert text[3].startswith("  1 ") and text[3].endswith("  ::1")
    assert text[3].count(" ms") == 2
    assert text[4:] == ["", "Trace complete."]
    sock.close()


def test_stop_ends_a_ping_with_its_statistics(rig: Rig) -> None:
    sock = rig.ask({"run": "ping6", "args": {"destination": "::1", "interval": 0.05}})
    rig.answers(sock, until="line")
    rig.run_until(lambda: not rig.driver.now < 0.3)
    rig.ask({"stop": True}, sock)
    answers = rig.answers(sock)
    assert any(t.startswith("--- ::1 ping statistics ---") for t in lines(answers))
    assert answers[-1] == {"done": True, "status": 0}
    sock.close()


def test_jobs_are_bounded_and_a_closed_client_cancels_its_job(rig: Rig) -> None:
    forever = {"run": "ping6", "args": {"destination": "::1", "interval": 0.1}}
    first, second = rig.ask(forever), rig.ask(forever)
    rig.answers(first, until="line")
    rig.answers(second, until="line")
    third = rig.ask(forever)
    assert rig.answers(third, until="error") == [{"error": "busy: 2 jobs running already"}]
    # One job per connection.
    rig.ask(forever, first)
    assert rig.answers(first, until="error")[-1] == {"error": "a job is running on this connection"}
    assert len(rig.stack.host.raw_sockets[58]) == 2
    first.close()
    second.close()
    rig.run_until(lambda: not rig.stack.host.raw_sockets.get(58))
    third.close()


@pytest.mark.parametrize(
    ("request_", "error"),
    [
        ({"run": "nmap", "args": {}}, "unknown tool 'nmap' (known: ping6, tracert6, ttcp, ftp6)"),
        ({"run": "ping6", "args": {}}, "ping6: give a destination address"),
        ({"run": "ping6", "args": {"destination": "::1", "count": "x"}}, "count: expected"),
        ({"run": "ping6", "args": {"destination": "::1", "interval": 0}}, "at least 0.01"),
        ({"run": "ping6", "args": {"destination": "::1", "size": -1}}, "invalid -s value"),
        ({"run": "tracert6", "args": {"destination": "::1", "max_hops": 0}}, "max hops 0"),
        ({"run": "ping6", "args": {"destination": "nonsense"}}, "ping6: "),
    ],
)
def test_bad_job_requests_are_one_error_line(
    rig: Rig, request_: dict[str, Any], error: str
) -> None:
    sock = rig.ask(request_)
    (answer,) = rig.answers(sock, until="error")
    assert error in answer["error"]
    sock.close()


def test_the_cli_prints_the_lines_of_a_ping_inside_a_host(
    rig: Rig, capsys: pytest.CaptureFixture[str]
) -> None:
    """``tcpip6 ping6 --control PATH``: the host's driver runs in a thread here, as it runs
    in its own process for real; only the control socket joins them."""
    runner = threading.Thread(target=rig.driver.run, daemon=True)
    runner.start()
    try:
        path = str(rig.server.path)
        status = cli.main(["ping6", "--control", path, "-c", "2", "-i", "0.05", "::1"])
        out = capsys.readouterr().out.splitlines()
        assert status == 0
        assert out[0] == "PING ::1(::1) 56 data bytes" and "2 received" in out[-2]
        status = cli.main(["tracert6", "--control", path, "-q", "1", "::1"])
        out = capsys.readouterr().out.splitlines()
        assert status == 0 and out[-1] == "Trace complete."
        status = cli.main(["ping6", "--control", path, "-c", "1", "2001:db8::bad%x"])
        err = capsys.readouterr().err
        assert status == 2 and err.startswith(f"tcpip6 ping6: {path}: ping6: ")
        assert err.count("\n") == 1
    finally:
        rig.driver.stop()
        runner.join(5)


def test_the_cli_without_a_host(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "none.sock"
    assert cli.main(["ping6", "--control", str(path), "::1"]) == 1
    err = capsys.readouterr().err
    assert err == f"tcpip6 ping6: no control socket at {path} (is tcpip6 host running?)\n"
