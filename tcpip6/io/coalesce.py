"""Receive coalescing in the port, as the kernel's GRO does it: consecutive in-order TCP
segments of one connection, read in one batch from a packet socket, become one segment
for the stack, so that what the stack does per segment (the IPv6 and TCP headers, the
receive path, the acknowledgment) is done once per batch.

A run of frames merges when every frame is an Ethernet frame with an IPv6 header and the
TCP header right after it (no extension headers), carrying data, with the same Ethernet
and IPv6 headers (but the Payload Length), the same ports, acknowledgment number, window
and options (RFC 7323 timestamps included: a segment with a newer TSval starts a new run),
flags ACK alone (PSH on the last one), each segment's sequence number the end of the one
before, every segment but the last as long as the first, and the whole within an IPv6
packet's 65,535 octets. The merged segment carries the last segment's flags. It is what a
sender's TSO would have cut into those segments, and what Linux's GRO makes of them.

Checksums (RFC 9293 §3.1): a run is either of frames whose checksum the sending kernel
left to offload (``partial``: the field holds the pseudo-header sum), merged and then
checksummed once; or of frames with a checksum, each verified (one that fails ends the
run and goes to the stack unmerged, to be dropped and counted there), the merged one's
derived from theirs without summing the data again.
"""

from __future__ import annotations

import struct
from ipaddress import IPv6Address

from tcpip6.wire.checksum import ones_complement_sum, pseudo_header_sum

#: Where the TCP header starts: Ethernet (14) and IPv6 (40) headers.
TCP_AT = 54
ACK, PSH = 0x10, 0x08
IPPROTO_TCP = 6
#: The largest merged TCP segment: an IPv6 Payload Length (RFC 8200 §3).
MAX_SEGMENT = 65535
_U16 = struct.Struct("!H")
_U32 = struct.Struct("!I")


def _fold(total: int) -> int:
    return total % 0xFFFF or 0xFFFF if total else 0


class _Run:
    __slots__ = ("end_seq", "flags", "frames", "full", "key", "partial", "size", "thl")

    def __init__(self, frame: bytes, thl: int, key: bytes, partial: bool) -> None:
        self.frames = [frame]
        self.thl = thl
        self.key = key
        self.full = len(frame) - TCP_AT - thl
        self.end_seq = (_U32.unpack_from(frame, TCP_AT + 4)[0] + self.full) & 0xFFFFFFFF
        self.size = len(frame) - TCP_AT
        self.partial = partial
        self.flags = frame[TCP_AT + 13]


def _candidate(frame: bytes) -> tuple[int, bytes] | None:
    """(TCP header length, merge key) of a frame that may join a run, else None."""
    n = len(frame)
    if (
        n <= TCP_AT + 20
        or frame[12] != 0x86
        or frame[13] != 0xDD
        or frame[20] != IPPROTO_TCP
        or frame[14] >> 4 != 6
    ):
        return None
    thl = (frame[TCP_AT + 12] >> 4) * 4
    flags = frame[TCP_AT + 13]
    if thl < 20 or n <= TCP_AT + thl or flags & ~PSH != ACK:
        return None
    if _U16.unpack_from(frame, 18)[0] != n - TCP_AT:
        return None  # Ethernet padding or a truncated frame: not ours to judge
    key = b"".join(
        (frame[:18], frame[20:TCP_AT + 4], frame[TCP_AT + 8 : TCP_AT + 13],
         frame[TCP_AT + 14 : TCP_AT + 16], frame[TCP_AT + 20 : TCP_AT + thl])
    )  # fmt: skip
    return thl, key


def _verified_data_sum(frame: bytes, thl: int) -> int | None:
    """The one's complement sum of the data of a frame whose TCP checksum is valid
    (derived from the headers), or None when it is not valid."""
    src = IPv6Address(frame[22:38])
    dst = IPv6Address(frame[38:54])
    pseudo = pseudo_header_sum(src, dst, len(frame) - TCP_AT, IPPROTO_TCP)
    view = memoryview(frame)
    if ones_complement_sum(view[TCP_AT:], pseudo) != 0xFFFF:
        return None
    header = ones_complement_sum(view[TCP_AT : TCP_AT + thl])
    # pseudo + header + data = 0 (mod 0xFFFF) for a valid segment.
    return -(pseudo + header) % 0xFFFF


def _merge(run: _Run, data_sums: list[int] | None) -> bytes:
    first = run.frames[0]
    thl = run.thl
    at = TCP_AT + thl
    header = bytearray(first[:at])
    _U16.pack_into(header, 18, run.size)
    header[TCP_AT + 13] = run.flags
    header[TCP_AT + 16 : TCP_AT + 18] = b"\0\0"
    data = b"".join([f[at:] for f in run.frames])
    src = IPv6Address(first[22:38])
    dst = IPv6Address(first[38:54])
    pseudo = pseudo_header_sum(src, dst, run.size, IPPROTO_TCP)
    if data_sums is None:
        total = ones_complement_sum(data, ones_complement_sum(header[TCP_AT:], pseudo))
    else:
        total = ones_complement_sum(header[TCP_AT:], pseudo) + sum(data_sums)
    _U16.pack_into(header, TCP_AT + 16, ~_fold(total) & 0xFFFF)
    return bytes(header) + data


def coalesce(frames: list[tuple[bytes, bool]]) -> list[tuple[bytes, bool, int]]:
    """``frames`` as read, each with whether its checksum is left to offload (partial):
    the frames for the stack, each with whether its checksum is still partial and how many
    frames it was made of (1: unmerged)."""
    out: list[tuple[bytes, bool, int]] = []
    run: _Run | None = None
    sums: list[int] | None = None

    def close() -> None:
        nonlocal run, sums
        if run is None:
            return
        if len(run.frames) == 1:
            out.append((run.frames[0], run.partial, 1))
        else:
            out.append((_merge(run, None if run.partial else sums), False, len(run.frames)))
        run, sums = None, None

    for frame, partial in frames:
        cand = _candidate(frame)
        if cand is None:
            close()
            out.append((frame, partial, 1))
            continue
        thl, key = cand
        dlen = len(frame) - TCP_AT - thl
        data_sum = 0
        if not partial:
            verified = _verified_data_sum(frame, thl)
            if verified is None:
                close()
                out.append((frame, partial, 1))  # the stack drops and counts it
                continue
            data_sum = verified
        if (
            run is not None
            and key == run.key
            and thl == run.thl
            and partial == run.partial
            and run.flags == ACK
            and _U32.unpack_from(frame, TCP_AT + 4)[0] == run.end_seq
            and dlen <= run.full
            and len(run.frames[-1]) - TCP_AT - thl == run.full
            and run.full % 2 == 0
            and run.size + dlen <= MAX_SEGMENT
        ):
            run.frames.append(frame)
            run.end_seq = (run.end_seq + dlen) & 0xFFFFFFFF
            run.size += dlen
            run.flags = frame[TCP_AT + 13]
            if sums is not None:
                sums.append(data_sum)
            continue
        close()
        run = _Run(frame, thl, key, partial)
        sums = None if partial else [data_sum]
    close()
    return out
