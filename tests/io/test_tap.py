"""The TAP port's pieces that need no root: its MAC, its address filter (frames fed
through a datagram socket pair standing in for the TAP descriptor), its error lines, and
``--link tap:NAME`` on the command line."""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tcpip6.apps.host import HostConfigError, build_config, parse_link
from tcpip6.io.rawsock import LinkError
from tcpip6.io.runtime import LiveDriver
from tcpip6.io.tap import (
    READ_BUDGET,
    TapPort,
    accepts,
    name_problem,
    setiff_error,
    tap_mac,
)
from tcpip6.wire.ethernet import BROADCAST, ETHERTYPE_ARP, ETHERTYPE_IPV6
from tcpip6.wire.ethernet import frame as ethernet_frame
from tests.cli import tcpip6_cli

OWN = tap_mac("tap6")
KERNEL = bytes.fromhex("a2c42b36e355")
ALL_NODES = bytes.fromhex("333300000001")
SOLICITED = bytes.fromhex("3333ff000001")
OTHER_GROUP = bytes.fromhex("3333ff000002")


def to(dst: bytes, ethertype: int = ETHERTYPE_IPV6, payload: bytes = b"\x60" + bytes(39)) -> bytes:
    return ethernet_frame(dst, KERNEL, ethertype, payload)


class Wire:
    """A TapPort on one end of a datagram socket pair; the test is the kernel's side."""

    def __init__(self) -> None:
        ours, self.kernel = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.port = TapPort.over(ours.detach(), "tap6", mac=OWN)
        self.got: list[bytes] = []
        self.port.receiver = lambda frame, now: self.got.append(frame)

    def feed(self, *frames: bytes) -> int:
        for f in frames:
            self.kernel.send(f)
        return self.port.read_ready(0.0)


@pytest.fixture
def wire() -> Iterator[Wire]:
    w = Wire()
    yield w
    w.port.close()
    w.kernel.close()


def test_mac_is_locally_administered_unicast_and_not_the_kernels() -> None:
    for name in ("tap0", "tap6", "x"):
        mac = tap_mac(name)
        assert len(mac) == 6
        assert mac[0] & 0x02 and not mac[0] & 0x01  # U/L set, I/G clear (IEEE 802)
        assert tap_mac(name) == mac  # reproducible
        assert tap_mac(name, avoid=mac) != mac
        assert tap_mac(name, avoid=mac)[0] & 0x03 == 0x02
    assert tap_mac("tap0") != tap_mac("tap1")


def test_accepts_own_broadcast_and_programmed_groups_only() -> None:
    groups = frozenset({ALL_NODES, SOLICITED})
    assert accepts(OWN, OWN, groups)
    assert accepts(BROADCAST, OWN, groups)
    assert accepts(SOLICITED, OWN, groups)
    assert not accepts(OTHER_GROUP, OWN, groups)
    assert not accepts(KERNEL, OWN, groups)
    assert not accepts(SOLICITED, OWN, frozenset())


def test_port_filters_what_the_kernel_sends(wire: Wire) -> None:
    wire.port.set_multicast_filter(frozenset({ALL_NODES, SOLICITED}))
    wanted = [to(OWN), to(BROADCAST), to(ALL_NODES), to(SOLICITED)]
    unwanted = [to(OTHER_GROUP), to(bytes.fromhex("020000000001")), to(BROADCAST, ETHERTYPE_ARP)]
    handed = wire.feed(*unwanted[:2], wanted[0], unwanted[2], *wanted[1:], b"\x33\x33")
    assert handed == 4 and wire.got == wanted
    c = wire.port.counters
    assert (c.frames_received, c.not_for_us_drop, c.not_ipv6_drop, c.runt_drop) == (4, 2, 1, 1)
    # A group the stack left is filtered again.
    wire.port.set_multicast_filter(frozenset({ALL_NODES}))
    assert wire.feed(to(SOLICITED), to(ALL_NODES)) == 1 and wire.got[-1] == to(ALL_NODES)


def test_read_is_bounded_per_call(wire: Wire) -> None:
    for _ in range(READ_BUDGET + 6):
        wire.kernel.send(to(OWN))
    assert wire.port.read_ready(0.0) == READ_BUDGET
    assert wire.port.read_ready(0.0) == 6
    assert wire.port.read_ready(0.0) == 0  # nothing waits: no blocking


def test_send_frame_writes_whole_frames_and_drops_too_big(wire: Wire) -> None:
    small = ethernet_frame(KERNEL, OWN, ETHERTYPE_IPV6, bytes(1500))
    wire.port.send_frame(small)
    wire.port.send_frame(small + b"x")  # over the MTU
    assert wire.kernel.recv(4096) == small
    assert (wire.port.counters.frames_sent, wire.port.counters.send_too_big_drop) == (1, 1)


def test_live_driver_reads_the_port() -> None:
    w = Wire()
    driver = LiveDriver(sources=[w.port])
    try:
        w.kernel.send(to(OWN))
        driver.step(limit=driver.now + 1.0)
        assert w.got == [to(OWN)]
    finally:
        driver.close()
        w.port.close()
        w.kernel.close()
    assert w.port.fileno() == -1


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("tap6", None),
        ("a" * 15, None),
        ("a" * 16, "longer than 15 characters"),
        ("", "empty"),
        ("..", "cannot name an interface"),
        ("tap%d", "contains '%'"),
        ("a/b", "contains '/'"),
        ("a b", "contains ' '"),
    ],
)
def test_name_problem(name: str, problem: str | None) -> None:
    found = name_problem(name)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


def test_bad_name_and_missing_clone_device_are_link_errors(tmp_path: Path) -> None:
    with pytest.raises(LinkError, match="longer than 15"):
        TapPort("a-very-long-tap-name")
    with pytest.raises(LinkError, match=r"no .*/missing: .*modprobe tun"):
        TapPort("tap6", clone=tmp_path / "missing")


def test_setiff_errors_say_what_to_do() -> None:
    assert "exists already (choose another tap:NAME)" in setiff_error("lo", errno.EBUSY)
    assert "needs root" in setiff_error("tap6", errno.EPERM)
    assert "is not a TAP device" in setiff_error("eth0", errno.EINVAL)
    assert "tap6" in setiff_error("tap6", errno.ENOMEM)


def test_parse_link_tap() -> None:
    taps: list[str] = []
    assert parse_link("tap:tap6", taps=taps) == "tap6"
    assert taps == ["tap6"]
    assert parse_link("tap:tap7") == "tap7"
    config = build_config(links=["tap:tap6", "ethernet:eth1"])
    assert config.links == ["tap6", "eth1"] and config.taps == ["tap6"]
    for bad, message in [
        ("tap:", "expected KIND:IFNAME"),
        ("tap:" + "x" * 16, "longer than 15 characters"),
        ("tap:a:b", "contains ':'"),
        ("tap:t%d", "contains '%'"),
    ]:
        with pytest.raises(HostConfigError, match=message):
            parse_link(bad)


def test_too_long_tap_name_is_a_one_line_error() -> None:
    done = tcpip6_cli("host", "--link", "tap:this-name-is-too-long")
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "longer than 15 characters" in done.stderr


def test_help_shows_tap() -> None:
    done = tcpip6_cli("host", "--help")
    assert done.returncode == 0 and "tap:NAME" in done.stdout
