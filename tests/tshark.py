"""tshark as the independent reader of our pcap files."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

# Wireshark expert severities (epan/proto.h): PI_WARN and PI_ERROR.
PI_WARN = 0x00600000
PI_ERROR = 0x00800000
_FIELDS = (
    "frame.number",
    "icmpv6.checksum.status",
    "udp.checksum.status",
    "tcp.checksum.status",
    "_ws.malformed",
    "_ws.expert.severity",
    "_ws.expert.message",
    "_ws.col.Protocol",  # tshark 4.0 spelling
    "_ws.col.Info",
    "_ws.col.protocol",  # tshark >= 4.2 spelling
    "_ws.col.info",
)


@dataclass(frozen=True)
class TsharkFrame:
    number: int
    protocol: str
    info: str
    bad_checksum: bool
    malformed: bool
    warnings: tuple[str, ...]


def read(path: str | Path) -> list[TsharkFrame]:
    tshark = shutil.which("tshark")
    if tshark is None:
        raise AssertionError("tshark is not installed (make test installs it)")
    cmd = [tshark, "-r", str(path), "-o", "udp.check_checksum:TRUE"]
    cmd += ["-o", "tcp.check_checksum:TRUE", "-T", "fields", "-E", "occurrence=a"]
    for f in _FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    frames = []
    for line in out.splitlines():
        cols = line.split("\t")
        if len(cols) < len(_FIELDS):
            continue
        num, icmp, udp, tcp, malformed, sev, msg, proto, info, proto2, info2 = cols[: len(_FIELDS)]
        proto, info = proto or proto2, info or info2
        sevs = [int(s) for s in sev.split(",") if s]
        msgs = msg.split(",") if msg else []
        warnings = tuple(m for s, m in zip(sevs, msgs, strict=False) if s >= PI_WARN)
        frames.append(
            TsharkFrame(
                number=int(num),
                protocol=proto,
                info=info,
                bad_checksum="0" in (icmp.split(",") + udp.split(",") + tcp.split(",")),
                malformed=bool(malformed),
                warnings=warnings,
            )
        )
    return frames


def assert_clean(path: str | Path) -> list[TsharkFrame]:
    """Every frame decodes: no malformed packet, no bad checksum, no expert warning."""
    frames = read(path)
    assert frames, f"{path}: tshark read no frames"
    bad = [f for f in frames if f.malformed or f.bad_checksum or f.warnings]
    assert not bad, f"{path}: tshark complains about {bad[:5]}"
    return frames
