"""Segmentation offload in software: a :class:`~tcpip6.stack.link.FramePort` wrapper that
takes large TCP frames (:class:`~tcpip6.stack.link.SegmentingPort`) and sends the
MTU-sized segments a NIC's TSO or the kernel's GSO would make of them
(:func:`tcpip6.wire.gso.segment_tcp`). It lets a simnet host run the stack's
segmentation-offload path without root and without a kernel."""

from __future__ import annotations

from dataclasses import dataclass

from tcpip6.stack.counters import CounterSet
from tcpip6.stack.link import FramePort
from tcpip6.wire import WireError
from tcpip6.wire.ethernet import EthernetHeader
from tcpip6.wire.gso import segment_tcp

#: The largest frame taken, as Linux's default ``gso_max_size`` (65536).
GSO_MAX_SIZE = 65536


@dataclass
class SoftGsoCounters(CounterSet):
    large_frames: int = 0
    segments_made: int = 0
    malformed_drop: int = 0


class SoftGsoPort:
    """Sends through ``inner``; cuts large TCP frames into segments first."""

    def __init__(self, inner: FramePort, gso_max_size: int = GSO_MAX_SIZE) -> None:
        self.inner = inner
        self.gso_max_size = gso_max_size
        self.counters = SoftGsoCounters()

    def send_frame(self, frame: bytes) -> None:
        self.inner.send_frame(frame)

    def set_multicast_filter(self, link_addresses: frozenset[bytes]) -> None:
        self.inner.set_multicast_filter(link_addresses)

    def send_segments(self, frame: bytes, gso_size: int) -> None:
        at = EthernetHeader.HEADER_LEN
        try:
            frames = segment_tcp(memoryview(frame)[at:], gso_size, frame[:at])
        except WireError:
            self.counters.malformed_drop += 1
            return
        self.counters.large_frames += 1
        self.counters.segments_made += len(frames)
        for f in frames:
            self.inner.send_frame(f)
