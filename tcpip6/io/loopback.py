"""The loopback interface's port: what the host transmits on it comes back as received,
after the current call (never from inside it). Bounded: frames beyond ``limit`` that
nobody has delivered yet are dropped and counted."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable


class LoopbackPort:
    def __init__(self, limit: int = 256) -> None:
        self.queue: deque[bytes] = deque()
        self.limit = limit
        self.dropped = 0
        self.receiver: Callable[[bytes, float], None] | None = None
        self.now = 0.0

    # FramePort
    def send_frame(self, frame: bytes) -> None:
        if len(self.queue) >= self.limit:
            self.dropped += 1
            return
        self.queue.append(frame)

    def set_multicast_filter(self, link_addresses: frozenset[bytes]) -> None:
        return None

    # Driven like any node: due at once while frames wait.
    def next_deadline(self) -> float | None:
        return self.now if self.queue else None

    def poll(self, now: float) -> float | None:
        self.now = now
        budget = len(self.queue)
        while self.queue and budget and self.receiver is not None:
            budget -= 1
            self.receiver(self.queue.popleft(), now)
        return self.next_deadline()
