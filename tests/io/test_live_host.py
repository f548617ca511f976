"""The live host's pieces that need no root: the command line of ``tcpip6 host``, the
lines it prints for host events, and the fd-aware driver on a socket pair."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from ipaddress import IPv6Address, IPv6Interface, IPv6Network
from pathlib import Path

import pytest

from tcpip6.apps.host import (
    HostConfigError,
    build_config,
    config_from,
    describe,
    parse_address,
    parse_advertise,
    parse_link,
)
from tcpip6.io.rawsock import complete_checksum, disable_ipv6_command, kernel_ipv6_disabled
from tcpip6.io.runtime import LiveDriver
from tcpip6.stack.events import AddressConfigured, DuplicateAddress
from tests.cli import tcpip6_cli as run


def test_parsers() -> None:
    assert parse_link("ethernet:eth1") == "eth1"
    assert parse_address("eth1=2001:db8::2/64") == ("eth1", IPv6Interface("2001:db8::2/64"))
    assert parse_advertise("eth1=2001:db8::/64") == ("eth1", IPv6Network("2001:db8::/64"))
    for bad, message in [
        (lambda: parse_link("eth1"), "expected KIND:IFNAME"),
        (lambda: parse_link("tunnel:eth1"), "expected configured:LOCAL4:REMOTE4"),
        (lambda: parse_address("eth1=2001:db8::2"), "give a prefix length"),
        (lambda: parse_address("eth1=ff02::1/64"), "not a unicast address"),
        (lambda: parse_address("2001:db8::2/64"), "expected IFNAME=VALUE"),
        (lambda: parse_advertise("eth1=2001:db8::1/64"), "has host bits set"),
    ]:
        with pytest.raises(HostConfigError, match=message):
            bad()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give at least one --link (ethernet:IFNAME, tap:NAME or tunnel:...)"),
        (["--link", "ethernet:a", "--address", "b=2001:db8::1/64"], "--address names b"),
        (["--link", "ethernet:a", "--advertise", "a=2001:db8::/64"], "needs --router"),
        (["--link", "bogus"], "--link bogus: expected KIND:IFNAME"),
        (["--link", "ethernet:a", "--socks", "0.0.0.0:1080"], "listen on a loopback address"),
        (["--link", "ethernet:a", "--socks", "1080"], "--socks 1080: expected ADDRESS:PORT"),
    ],
)
def test_bad_command_lines_are_one_line_errors(args: list[str], message: str) -> None:
    done = run("host", *args)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert message in done.stderr


def test_bad_flag_is_argparse_error() -> None:
    done = run("host", "--no-such-flag")
    assert done.returncode == 2 and "Traceback" not in done.stderr


def test_help_teaches_with_an_example() -> None:
    done = run("host", "--help")
    assert done.returncode == 0
    for what in ("ip netns add", "type veth", "disable_ipv6=1", "--advertise", "--socks5-hostname"):
        assert what in done.stdout


def test_config_from_strings() -> None:
    config = build_config(["ethernet:a", "ethernet:b"], router=True, advertise=["b=2001:db8::/64"])
    assert config.links == ["a", "b"] and config.advertise == [("b", IPv6Network("2001:db8::/64"))]


def test_socks_from_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "h.toml"
    path.write_text('links = ["ethernet:a"]\nsocks = "[::1]:1080"\n')
    assert config_from({}, path).socks == ("::1", 1080)
    assert config_from({"socks": "127.0.0.1:9050"}, path).socks == ("127.0.0.1", 9050)


def test_log_level_from_flags_and_file(tmp_path: Path) -> None:
    path = tmp_path / "h.toml"
    path.write_text('links = ["ethernet:a"]\nlog_level = "info"\n')
    assert config_from({}, path).log_level == "info"
    assert config_from({"log_level": "DEBUG"}, path).log_level == "debug"
    assert config_from({"links": ["ethernet:a"]}).log_level == "warning"
    with pytest.raises(
        HostConfigError, match=r"^--log-level loud: choose debug, info, warning, error"
    ):
        config_from({"links": ["ethernet:a"], "log_level": "loud"})


def test_the_log_level_decides_what_the_stack_prints(tmp_path: Path) -> None:
    import io
    import logging

    from tcpip6.apps.host import configure_logging

    err = io.StringIO()
    logger = logging.getLogger("tcpip6")
    saved = logger.level, list(logger.handlers)
    try:
        logger.handlers = []
        configure_logging("error", err)
        logging.getLogger("tcpip6.host").warning("a duplicate address")
        assert err.getvalue() == ""
        configure_logging("info", err)  # the same handler, a lower level
        logging.getLogger("tcpip6.host").info("an address is preferred")
        assert err.getvalue() == "tcpip6 INFO tcpip6.host: an address is preferred\n"
        assert len(logger.handlers) == 1
    finally:
        logger.setLevel(saved[0])
        logger.handlers = saved[1]


def test_event_lines() -> None:
    ll = IPv6Address("fe80::1")
    assert describe(AddressConfigured(1.0, "eth0", ll, 64, "link-local")) == (
        "address fe80::1/64 on eth0 preferred (link-local; DAD: no duplicate)"
    )
    line = describe(DuplicateAddress(1.0, "eth0", ll, True))
    assert line is not None and line.startswith("address fe80::1 on eth0 duplicate")


def test_kernel_ipv6_check_reads_the_sysctl(tmp_path: Path) -> None:
    proc = tmp_path
    (proc / "eth0").mkdir()
    (proc / "eth0" / "disable_ipv6").write_text("0\n")
    (proc / "eth1").mkdir()
    (proc / "eth1" / "disable_ipv6").write_text("1\n")
    assert not kernel_ipv6_disabled("eth0", proc)
    assert kernel_ipv6_disabled("eth1", proc)
    assert disable_ipv6_command("eth0") == "sysctl -w net.ipv6.conf.eth0.disable_ipv6=1"
    assert disable_ipv6_command("eth0.7") == "sysctl -w net/ipv6/conf/eth0.7/disable_ipv6=1"


class PairSource:
    """One end of a socket pair as a frame source."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.frames: list[tuple[bytes, float]] = []

    def fileno(self) -> int:
        return self.sock.fileno()

    def read_ready(self, now: float) -> int:
        frame = self.sock.recv(2048)
        self.frames.append((frame, now))
        return 1


class Ticker:
    """A node with a deadline every 10 ms."""

    def __init__(self) -> None:
        self.deadline = 0.0
        self.polls = 0

    def next_deadline(self) -> float | None:
        return self.deadline

    def poll(self, now: float) -> float | None:
        self.polls += 1
        self.deadline = now + 0.01
        return self.deadline


def test_live_driver_wakes_for_frames_and_deadlines() -> None:
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    source, ticker = PairSource(b), Ticker()
    driver = LiveDriver([ticker], [source])
    try:
        a.send(b"frame")
        assert driver.wait(lambda: bool(source.frames), timeout=2.0)
        assert source.frames[0][0] == b"frame"
        start = time.monotonic()
        assert not driver.wait(lambda: False, timeout=0.2)
        assert 0.19 <= time.monotonic() - start < 1.0
        assert ticker.polls >= 10  # the 10 ms deadlines ran while it waited
    finally:
        driver.close()
        a.close()
        b.close()


def test_live_driver_stops_on_a_signal_while_it_sleeps() -> None:
    # Nothing to poll and nothing to read: only the signal's self-pipe wakes the select
    # before its LIVE_MAX_SLEEP (1 s) is up.
    driver = LiveDriver()
    old = signal.getsignal(signal.SIGTERM)
    timer = threading.Timer(0.1, os.kill, (os.getpid(), signal.SIGTERM))
    try:
        driver.stop_on_signals([signal.SIGTERM])
        start = time.monotonic()
        timer.start()
        driver.run()  # returns: the handler stopped it
        assert time.monotonic() - start < 0.8
        assert driver.stopped and driver.stop_signal == signal.SIGTERM
    finally:
        timer.cancel()
        signal.signal(signal.SIGTERM, old)
        driver.close()


@pytest.mark.parametrize("proto", ["udp", "tcp"])
def test_complete_checksum_finishes_what_offload_left(proto: str) -> None:
    from scapy.layers.inet import TCP, UDP
    from scapy.layers.inet6 import IPv6, IPv6ExtHdrDestOpt
    from scapy.layers.l2 import Ether

    upper = UDP(sport=5000, dport=9) if proto == "udp" else TCP(sport=5000, dport=80)
    ip = IPv6(src="fe80::1", dst="fe80::2") / IPv6ExtHdrDestOpt()
    good = bytes(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / ip / upper / b"hi")
    # What a kernel leaves for the hardware: only a partial sum in the checksum field.
    field = 14 + 40 + 8 + (6 if proto == "udp" else 16)
    partial = good[:field] + b"\x12\x34" + good[field + 2 :]
    assert complete_checksum(partial) == good
    assert complete_checksum(good[:20]) is None  # truncated: left to the stack to drop
