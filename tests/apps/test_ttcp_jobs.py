"""ttcp runs inside a live host through its control socket (no root): on a loopback-only
host, a ``ttcp -r`` job listens and a ``ttcp -t`` job transmits to ::1, each stepped by
the host's loop, each printing ttcp's lines."""

from __future__ import annotations

import json
import re
import socket
import threading
from typing import Any

import pytest

from tcpip6 import cli
from tcpip6.stack.machines.tcp import TcpState
from tests.apps.conftest import Rig, lines

LINE = re.compile(r"^ttcp-([tr]): (\d+) bytes in \d+\.\d\d real seconds = \d+\.\d\d KB/sec \+\+\+$")


def counted(text: list[str]) -> dict[str, int]:
    return {m.group(1): int(m.group(2)) for line in text if (m := LINE.match(line))}


def transfer(
    rig: Rig, args: dict[str, Any]
) -> tuple[socket.socket, socket.socket, list[dict[str, Any]], list[dict[str, Any]]]:
    """A receiver job, then a transmitter job to ::1, with ``args``: their control
    connections and what each answered (the receiver's from its first line on)."""
    rsock = rig.ask({"run": "ttcp", "args": {"transmit": False, **args}})
    listening = rig.answers(rsock, until="line")
    tsock = rig.ask({"run": "ttcp", "args": {"transmit": True, "destination": "::1", **args}})
    sent = rig.answers(tsock)
    return rsock, tsock, listening + rig.answers(rsock), sent


def test_a_transfer_between_two_jobs_of_one_host(rig: Rig) -> None:
    rsock, tsock, got, sent = transfer(rig, {"buflen": 1000, "nbuf": 300})
    t, r = lines(sent), lines(got)
    assert t[:3] == [
        "ttcp-t: buflen=1000, nbuf=300, align=16384/0, port=5001  tcp  -> ::1",
        "ttcp-t: socket",
        "ttcp-t: connect",
    ]
    assert t[4].startswith("ttcp-t: 300 I/O calls, msec/call = ")
    assert r[:3] == [
        "ttcp-r: buflen=1000, nbuf=300, align=16384/0, port=5001  tcp",
        "ttcp-r: socket",
        "ttcp-r: accept from ::1",
    ]
    assert r[4].startswith("ttcp-r: ") and " I/O calls, msec/call = " in r[4]
    assert counted(t) == {"t": 300000} and counted(r) == {"r": 300000}
    assert sent[-1] == got[-1] == {"done": True, "status": 0}
    tcp = rig.stack.host.tcp
    assert not tcp.listeners  # the receiver's port is free again
    # What is left of the connection closes on its own (TIME-WAIT at the most).
    rig.run_until(lambda: all(c.state is TcpState.TIME_WAIT for c in tcp.connections.values()))
    tsock.close()
    rsock.close()


def test_a_udp_transfer_between_two_jobs_of_one_host(rig: Rig) -> None:
    rsock, tsock, got, sent = transfer(rig, {"buflen": 1000, "nbuf": 200, "udp": True})
    t, r = lines(sent), lines(got)
    assert t[:2] == [
        "ttcp-t: buflen=1000, nbuf=200, align=16384/0, port=5001  udp  -> ::1",
        "ttcp-t: socket",
    ]
    assert r[:2] == [
        "ttcp-r: buflen=1000, nbuf=200, align=16384/0, port=5001  udp",
        "ttcp-r: socket",
    ]
    # The loopback loses nothing: every datagram, the start mark and the end mark.
    assert counted(t) == {"t": 200000} and counted(r) == {"r": 200000}
    assert t[3].startswith("ttcp-t: 206 I/O calls")  # start, 200, end and 4 more ends
    assert r[3].startswith("ttcp-r: 202 I/O calls")
    assert sent[-1] == got[-1] == {"done": True, "status": 0}
    assert not any(rig.stack.host.udp.bindings.values())  # both sockets are closed
    tsock.close()
    rsock.close()


def test_the_receiver_counts_octets_that_are_not_the_pattern(rig: Rig) -> None:
    """A transmitter with longer buffers: the pattern starts again where the receiver
    does not expect it."""
    rsock = rig.ask({"run": "ttcp", "args": {"transmit": False, "buflen": 100, "port": 6001}})
    rig.answers(rsock, until="line")
    job = {"transmit": True, "destination": "::1", "buflen": 150, "nbuf": 2, "port": 6001}
    tsock = rig.ask({"run": "ttcp", "args": job})
    assert rig.answers(tsock)[-1] == {"done": True, "status": 0}
    got = rig.answers(rsock)
    assert counted(lines(got)) == {"r": 300}
    assert lines(got)[-1].endswith(" of 300 octets differ from ttcp's pattern")
    assert got[-1] == {"done": True, "status": 1}


def test_nothing_listening_is_a_refused_connect(rig: Rig) -> None:
    sock = rig.ask({"run": "ttcp", "args": {"transmit": True, "destination": "::1", "port": 9}})
    answers = rig.answers(sock)
    assert lines(answers)[-1] == "ttcp-t: connect: Connection refused"
    assert answers[-1] == {"done": True, "status": 2}


def test_stop_ends_a_waiting_receiver_and_frees_its_port(rig: Rig) -> None:
    sock = rig.ask({"run": "ttcp", "args": {"transmit": False}})
    rig.answers(sock, until="line")
    assert 5001 in rig.stack.host.tcp.listeners
    rig.ask({"stop": True}, sock)
    answers = rig.answers(sock)
    assert lines(answers)[-1] == "ttcp-r: interrupted after 0 bytes"
    assert answers[-1] == {"done": True, "status": 130}
    assert not rig.stack.host.tcp.listeners


def test_a_client_that_goes_cancels_its_transfer(rig: Rig) -> None:
    rsock = rig.ask({"run": "ttcp", "args": {"transmit": False}})
    rig.answers(rsock, until="line")
    rsock.close()
    rig.run_until(lambda: not rig.stack.host.tcp.listeners)


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ({}, 'ttcp: "transmit": true (-t) or false (-r)'),
        ({"transmit": True}, "ttcp: -t: give the receiver's address"),
        ({"transmit": True, "destination": "nonsense"}, "ttcp: "),
        ({"transmit": False, "buflen": 0}, "ttcp: -l 0: a TCP buffer is 1-1048576 octets"),
        ({"transmit": False, "nbuf": "many"}, "ttcp: nbuf: expected a int"),
        ({"transmit": False, "port": 70000}, "ttcp: -p 70000: a port is 1-65535"),
        ({"transmit": False, "udp": True, "buflen": 4}, "ttcp: -l 4: a UDP buffer is 5-65527"),
    ],
)
def test_bad_ttcp_requests_are_one_error_line(rig: Rig, args: dict[str, Any], error: str) -> None:
    sock = rig.ask({"run": "ttcp", "args": args})
    (answer,) = rig.answers(sock, until="error")
    assert answer["error"].startswith(error)
    sock.close()


def test_a_port_in_use_is_a_bind_error(rig: Rig) -> None:
    first = rig.ask({"run": "ttcp", "args": {"transmit": False}})
    rig.answers(first, until="line")
    second = rig.ask({"run": "ttcp", "args": {"transmit": False}})
    assert rig.answers(second, until="error") == [{"error": "ttcp: bind: port 5001 is in use"}]
    first.close()
    second.close()


def test_the_cli_transmits_from_inside_the_host(
    rig: Rig, capsys: pytest.CaptureFixture[str]
) -> None:
    """``tcpip6 ttcp --control PATH -t ::1`` to a receiver job of the same host, the host's
    driver running in a thread as it runs in its own process for real."""
    rsock = rig.ask({"run": "ttcp", "args": {"transmit": False, "buflen": 512, "nbuf": 64}})
    rig.answers(rsock, until="line")
    runner = threading.Thread(target=rig.driver.run, daemon=True)
    runner.start()
    try:
        path = str(rig.server.path)
        status = cli.main(["ttcp", "--control", path, "-t", "-l", "512", "-n", "64", "::1"])
        out = capsys.readouterr().out.splitlines()
        assert status == 0, out
        assert counted(out) == {"t": 512 * 64}
        rsock.setblocking(True)
        rsock.settimeout(10)
        data = b""
        while b'"done"' not in data:
            data += rsock.recv(65536)
        answers = [json.loads(line) for line in data.splitlines() if line]
        assert counted(lines(answers)) == {"r": 512 * 64}
        assert answers[-1] == {"done": True, "status": 0}
        for argv, message in [
            (["-t"], "-t: give the receiver's address"),
            (["-t", "-r", "::1"], "with --control, one side: -t HOST or -r"),
            (["-r", "::1"], "-r takes no host (::1): it listens on port 5001"),
        ]:
            assert cli.main(["ttcp", "--control", path, *argv]) == 2
            assert capsys.readouterr().err == f"tcpip6 ttcp: {message}\n"
    finally:
        rig.driver.stop()
        runner.join(5)
        rsock.close()


@pytest.mark.parametrize(
    ("buflen", "free", "due"),
    [
        (65536, 0, False),
        (65536, 1460, False),  # what one ACK frees
        (65536, 128 * 1024 // 3 - 1, False),
        (65536, 128 * 1024 // 3, True),  # a third of the buffer
        (1000, 999, False),
        (1000, 1000, True),  # a whole buffer of ttcp's, smaller than a third
    ],
)
def test_the_transmitter_is_woken_for_a_third_of_the_send_buffer(
    buflen: int, free: int, due: bool
) -> None:
    """ttcp -t is woken for room as Linux wakes a blocked writer: not for each ACK's
    worth, but once a third of the send buffer is free (or one of its own buffers).
    A stand-in connection, established, says how much is free."""
    from types import SimpleNamespace

    from tcpip6.apps.ttcp import TtcpOptions
    from tcpip6.apps.ttcp_jobs import TtcpTransmitJob
    from tcpip6.stack.tcp.params import TcpParameters

    job = TtcpTransmitJob.__new__(TtcpTransmitJob)
    job.opts = TtcpOptions(buflen=buflen, nbuf=10)
    job.started, job.left, job.status, job.wake = 0.0, 10, None, 30.0
    job.conn = SimpleNamespace(  # type: ignore[assignment]
        error=None, state=TcpState.ESTABLISHED, send_space=free, params=TcpParameters()
    )
    assert TcpParameters().send_buffer == 128 * 1024
    assert job.next_deadline() == (0.0 if due else 30.0)
