"""Field-by-field comparison of two translators' outputs, dissected by scapy."""

from __future__ import annotations

from typing import Any

from scapy.layers.inet import IP
from scapy.layers.inet6 import IPv6
from scapy.packet import NoPayload, Packet

Field = tuple[int, str, str]  # (packet index, "layer.field" path, value)


def dissect(raw: bytes) -> Packet:
    return IPv6(raw) if raw and raw[0] >> 4 == 6 else IP(raw)


def fields_of(raw: bytes) -> dict[str, Any]:
    """Every field of every layer, keyed ``Layer#depth.field``."""
    out: dict[str, Any] = {}
    layer: Packet = dissect(raw)
    depth = 0
    while not isinstance(layer, NoPayload):
        name = f"{type(layer).__name__}#{depth}"
        for f in layer.fields_desc:
            out[f"{name}.{f.name}"] = layer.getfieldval(f.name)
        layer = layer.payload
        depth += 1
    return out


def differences(ours: list[bytes], theirs: list[bytes]) -> list[str]:
    """The fields that differ, packet by packet ('count' when the numbers differ)."""
    if len(ours) != len(theirs):
        return [f"count: tcpip6 {len(ours)} tayga {len(theirs)}"]
    diffs = []
    for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        fa, fb = fields_of(a), fields_of(b)
        for key in sorted(set(fa) | set(fb)):
            if fa.get(key) != fb.get(key):
                diffs.append(f"{i}:{key}: tcpip6 {fa.get(key)!r} tayga {fb.get(key)!r}")
    return diffs
