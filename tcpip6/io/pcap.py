"""Classic libpcap files (the format ``tshark -r`` and Wireshark read).

Global header: magic 0xa1b2c3d4 (microsecond timestamps), version 2.4, snaplen, link type
(1 = Ethernet, 229 = raw IPv6 for loopback and tunnels). One record per frame.
"""

from __future__ import annotations

import struct
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

LINKTYPE_ETHERNET = 1
LINKTYPE_IPV6 = 229

_GLOBAL = struct.Struct("<IHHiIII")
_RECORD = struct.Struct("<IIII")
MAGIC = 0xA1B2C3D4
SNAPLEN = 262144


class PcapWriter:
    """Append frames with their (simulated or real) timestamps."""

    def __init__(self, target: str | Path | BinaryIO, linktype: int = LINKTYPE_ETHERNET) -> None:
        if isinstance(target, (str, Path)):
            self._file: BinaryIO = open(target, "wb")  # noqa: SIM115 - closed in close()
            self._owned = True
        else:
            self._file = target
            self._owned = False
        self.linktype = linktype
        self.frames = 0
        self._file.write(_GLOBAL.pack(MAGIC, 2, 4, 0, 0, SNAPLEN, linktype))

    def write(self, frame: bytes | memoryview, timestamp: float) -> None:
        seconds = int(timestamp)
        micros = min(round((timestamp - seconds) * 1_000_000), 999_999)
        data = bytes(frame[:SNAPLEN])
        self._file.write(_RECORD.pack(seconds, micros, len(data), len(frame)))
        self._file.write(data)
        self.frames += 1

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        if self._owned:
            self._file.close()
        else:
            self._file.flush()

    def __enter__(self) -> PcapWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def read_pcap(path: str | Path) -> list[tuple[float, bytes]]:
    """Read back a file this module wrote (for tests and the demo's timeline)."""
    data = Path(path).read_bytes()
    magic, _, _, _, _, _, _ = _GLOBAL.unpack_from(data, 0)
    if magic != MAGIC:
        raise ValueError(f"{path}: not a microsecond pcap file")
    off = _GLOBAL.size
    out: list[tuple[float, bytes]] = []
    while off + _RECORD.size <= len(data):
        sec, usec, incl, _orig = _RECORD.unpack_from(data, off)
        off += _RECORD.size
        out.append((sec + usec / 1_000_000, data[off : off + incl]))
        off += incl
    return out
