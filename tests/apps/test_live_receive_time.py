"""The live host hands each received frame to the core at the driver's time when the frame
is handled, not at the time its batch was read: a batch of frames takes milliseconds, and
the segments sent in answer carry that time (RFC 8985 RACK compares them with the ACKs'
send times). No root: the port is a stand-in with the packet socket's interface."""

from __future__ import annotations

import io
import socket
from pathlib import Path

import pytest

from tcpip6.apps.host import LiveHost, config_from


class _Port:
    """What LiveHost needs of a packet socket port, without the socket."""

    def __init__(self, ifname: str) -> None:
        self.ifname = ifname
        self.mac = bytes.fromhex("020000000001")
        self.mtu = 1500
        self.receiver = None
        self.sent: list[bytes] = []
        self._pair = socket.socketpair()

    def fileno(self) -> int:
        return self._pair[0].fileno()

    def read_ready(self, now: float) -> int:
        return 0

    def send_frame(self, frame: bytes) -> None:
        self.sent.append(frame)

    def set_multicast_filter(self, link_addresses: frozenset[bytes]) -> None:
        return None

    def close(self) -> None:
        for s in self._pair:
            s.close()


def test_a_frame_is_handled_at_the_drivers_time(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(LiveHost, "_open_port", lambda self, ifname: _Port(ifname))
    config = config_from({"links": ["ethernet:fake0"], "control": str(tmp_path / "c.sock")})
    live = LiveHost(config, io.StringIO())
    try:
        live.start()
        port = live.ports[0]
        batch_read_at = live.driver.now
        live.driver._t0 -= 5.0  # the batch took 5 s to handle (the driver's clock moved on)
        handled_at = live.driver.now
        assert port.receiver is not None
        port.receiver(bytes(60), batch_read_at)  # a frame of that batch, dropped as junk
        assert live.host.now >= handled_at
    finally:
        live.close()
