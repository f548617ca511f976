"""The receiver's anti-replay window (RFC 4303 §3.4.3, RFC 4302 §3.4.3), with Extended
Sequence Numbers (RFC 4303 Appendix A).

The window is the highest sequence number authenticated so far (``top``, the "right edge")
and a bitmap of the ``size`` numbers up to it that were received (bit 0 is ``top``). A
packet is checked twice: before the ICV (:meth:`check`, to drop duplicates cheaply) and,
once the ICV verified, the window moves (:meth:`update`). Only authenticated packets move
the window (RFC 4303 §3.4.3).
"""

from __future__ import annotations

from dataclasses import dataclass

#: RFC 4303 §3.4.3: "a minimum window size of 32 packets MUST be supported ... a window
#: size of 64 is preferred and SHOULD be employed as the default".
DEFAULT_REPLAY_WINDOW = 64
MAX_REPLAY_WINDOW = 4096

SEQ_MOD = 1 << 32


@dataclass(slots=True)
class ReplayWindow:
    size: int = DEFAULT_REPLAY_WINDOW
    #: The highest (64-bit when ESN) sequence number accepted; 0 before the first.
    top: int = 0
    bitmap: int = 0

    def infer_esn(self, seq_low: int) -> int:
        """RFC 4303 Appendix A2.1: the high-order 32 bits for a received low half
        ``seq_low``, from the window's position (Th, Tl)."""
        th, tl = self.top >> 32, self.top & (SEQ_MOD - 1)
        w = self.size
        if tl >= w - 1:  # Case A: the window is within one sequence number subspace
            seqh = th if seq_low >= tl - w + 1 else th + 1
        else:  # Case B: the window spans two subspaces
            seqh = th - 1 if seq_low >= (tl - w + 1) % SEQ_MOD else th
        if seqh < 0:
            seqh = 0
        return (seqh << 32) | seq_low

    def check(self, seq: int) -> str | None:
        """RFC 4303 §3.4.3: None when ``seq`` (full width) may be accepted, else the
        reason it is dropped: ``replay`` (seen, or 0) or ``too_old`` (left of the
        window)."""
        if seq == 0:
            return "replay"  # RFC 4303 §3.3.3: the first packet carries 1
        if seq > self.top:
            return None
        diff = self.top - seq
        if diff >= self.size:
            return "too_old"
        if self.bitmap >> diff & 1:
            return "replay"
        return None

    def update(self, seq: int) -> None:
        """RFC 4303 §3.4.3: after the ICV verified, mark ``seq`` received, sliding the
        window when it is new on the right."""
        if seq > self.top:
            shift = seq - self.top
            self.bitmap = ((self.bitmap << shift) | 1) & ((1 << self.size) - 1)
            self.top = seq
        else:
            self.bitmap |= 1 << (self.top - seq)

    def received(self) -> list[int]:
        """The sequence numbers in the window that were received, highest first."""
        return [self.top - i for i in range(self.size) if self.bitmap >> i & 1]
