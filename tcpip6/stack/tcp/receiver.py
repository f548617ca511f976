"""The receiving half of a TCP connection: the receive sequence space of RFC 9293 §3.3.1
(RCV.NXT, RCV.WND, RCV.UP, IRS), the receive buffer, the out-of-order queue
(RFC 9293 §3.10.7.4 seventh), the SACK blocks to send (RFC 2018 §4) with a duplicate
reported first (D-SACK, RFC 2883), the window
advertised with receiver SWS avoidance (RFC 1122 §4.2.3.3), and the acknowledgment owed
(RFC 1122 §4.2.3.2, RFC 5681 §4.2).

Positions are unwrapped offsets from the IRS (offset 0 is the peer's SYN), so the queue
and the SACK blocks never compare modulo 2**32; :attr:`Receiver.rcv_nxt` gives the 32-bit
RCV.NXT of the wire. What the segment means for the connection's state (a FIN in order,
TIME-WAIT) is the connection's business: this module only holds and counts octets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tcpip6.stack.tcp import seq as sq
from tcpip6.stack.tcp.params import TcpParameters
from tcpip6.stack.tcp.ranges import RangeSet
from tcpip6.wire.tcp import ACK, FIN, RST, SYN, URG

if TYPE_CHECKING:
    from tcpip6.stack.tcp.layer import TcpCounters

#: Out-of-order segments held per connection (the window bounds their octets).
MAX_OUT_OF_ORDER = 256
#: RFC 1122 §4.2.3.3: the receiver SWS threshold uses the MSS, never below
#: RFC 9293 §3.7.1's default of 536.
MIN_SWS_MSS = 536
#: Auto-tuning measures what the application reads over at least this long (a round trip
#: on a veth is shorter than a Python driver's step).
MIN_TUNING_INTERVAL = 0.001


class Receiver:
    """RCV.* of one connection, and the octets received."""

    def __init__(self, params: TcpParameters, counters: TcpCounters) -> None:
        self.counters = counters
        self.irs = 0
        self.nxt = 0  # RCV.NXT as an offset
        self.adv = 0  # the right edge of the window we advertised
        self.rcvbuf = bytearray()
        self.ooo: dict[int, bytes] = {}
        self.ooo_ranges = RangeSet()
        #: RFC 2018 §4: the blocks to report, the most recently changed first.
        self.ooo_blocks: list[tuple[int, int]] = []
        #: RFC 2883 §4: the octets of a duplicate segment, reported once in the first block
        #: of the next ACK's SACK option.
        self.dsack: tuple[int, int] | None = None
        self.fin_off: int | None = None  # a FIN seen beyond RCV.NXT
        self.up: int | None = None  # RCV.UP as an offset (RFC 9293 §3.8.5)
        self.eof = False  # the peer's FIN has been received in order
        self.read_shut = False  # shutdown(SHUT_RD): data is acknowledged and dropped
        self.receive_buffer = params.receive_buffer
        # -- auto-tuning (Linux's dynamic right-sizing, tcp_rcv_space_adjust) -------------
        #: The bound the buffer may grow to (0 or below the buffer: fixed).
        self.receive_buffer_max = params.receive_buffer_max
        self.space = params.receive_buffer // 2  # the most read in one round trip so far
        self.space_read = 0  # octets read since space_time
        self.space_time: float | None = None
        # -- acknowledgments owed (RFC 1122 §4.2.3.2) ------------------------------------
        self.ack_pending = 0  # full-size segments received and not yet acknowledged
        self.delack_due = False  # a delayed ACK is owed when the timer fires
        self.ack_owed = False  # an immediate ACK, sent when the segment is processed

    # -- the RFC's variables, as the wire sees them ---------------------------------------
    @property
    def rcv_nxt(self) -> int:
        return (self.irs + self.nxt) % sq.MOD

    @property
    def rcv_wnd(self) -> int:
        """RCV.WND: what the window we advertised still allows."""
        return max(0, self.adv - self.nxt)

    def seq_offset(self, seq: int) -> int:
        """The offset of sequence number ``seq`` (RFC 9293 §3.4: modulo 2**32, near
        RCV.NXT)."""
        nxt = self.nxt
        d = (seq - self.irs - nxt) % sq.MOD  # sq.diff(seq, RCV.NXT), written out
        return nxt + (d - sq.MOD if d >= sq.HALF else d)

    def acceptable(self, off: int, seg_len: int, wnd: int) -> bool:
        """RFC 9293 §3.10.7.4 first: the acceptability test, the four cases of its table
        (a segment of ``seg_len`` at offset ``off``, a receive window of ``wnd``)."""
        if seg_len == 0:
            return off == self.nxt if wnd == 0 else self.nxt <= off < self.nxt + wnd
        if wnd == 0:
            return False
        end = off + seg_len - 1
        return (self.nxt <= off < self.nxt + wnd) or (self.nxt <= end < self.nxt + wnd)

    def allowance(self, off: int, flags: int) -> bool:
        """RFC 9293 §3.10.7.4 first, a zero receive window: the segments whose control
        is still taken ("special allowance should be made to accept valid ACKs, URGs,
        and RSTs") -- at RCV.NXT; or the ACK of a peer whose SND.NXT went past our closed
        window (the octet of its zero-window probe) at RCV.NXT + 1; or at RCV.NXT - 1,
        the ACK of a zero-window probe sent as Linux sends it (SEG.SEQ = SND.UNA - 1, so
        that it is answered). Their acknowledgment still counts: a peer whose one ACK was
        lost repeats it only in its probes, and both ends would wait for the other."""
        nxt = self.nxt
        if off == nxt and flags & (ACK | RST | URG):
            return True
        return bool(flags & ACK and not flags & RST and (off == nxt + 1 or off == nxt - 1))

    def trim(
        self, off: int, data: bytes, flags: int, wnd: int, sack_ok: bool
    ) -> tuple[int, bytes, int]:
        """RFC 9293 §3.10.7.4: an acceptable segment trimmed to the window: the octets
        before RCV.NXT (and a SYN's octet there), and those beyond the right edge (and a
        FIN there). Returns the new offset, text and flags."""
        if off < self.nxt:
            cut = self.nxt - off
            if flags & SYN:
                cut -= 1
                flags &= ~SYN
            if data and cut > 0 and sack_ok:
                # RFC 2883 §4: the old part of the text (it starts after a SYN's octet), in
                # a D-SACK block of an ACK sent now; without SACK there is nothing to tell.
                self.duplicate(self.nxt - cut, min(cut, len(data)))
                self.ack_now()
            data = data[cut:]
            off = self.nxt
        right = self.nxt + max(wnd, 0)
        if off + len(data) > right:
            data = data[: max(0, right - off)]
            flags &= ~FIN
        return off, data, flags

    def synchronize(self, irs: int, window: int) -> None:
        """The peer's SYN: IRS, RCV.NXT = IRS + 1 (RFC 9293 §3.10.7.2-3), and the right
        edge the window of our SYN offers."""
        self.irs = irs
        self.nxt = 1
        self.adv = 1 + window

    # -- text (RFC 9293 §3.10.7.4 seventh) ------------------------------------------------
    def accept_in_order(self, data: bytes) -> None:
        """Text at RCV.NXT: into the buffer (unless SHUT_RD), RCV.NXT advances."""
        if self.fin_off is not None:
            # Nothing follows the peer's FIN (RFC 9293 §3.10.7.4 eighth): text beyond it
            # is bogus.
            data = data[: max(0, self.fin_off - self.nxt)]
        if not self.read_shut:
            self.rcvbuf += data
        self.nxt += len(data)
        self.counters.in_octets += len(data)

    def pull_out_of_order(self) -> bool:
        """Move what the queue holds at RCV.NXT into the buffer; True when a FIN held
        beyond a gap is now in order (the caller processes it)."""
        # With no text held, a FIN held after the gap may still be reached now.
        progress = bool(self.ooo)
        while progress:
            progress = False
            for start in sorted(self.ooo):
                chunk = self.ooo[start]
                end = start + len(chunk)
                if end <= self.nxt:
                    del self.ooo[start]
                    progress = True
                elif start <= self.nxt:
                    del self.ooo[start]
                    self.accept_in_order(chunk[self.nxt - start :])
                    progress = True
        if self.ooo_ranges.ranges:
            self.ooo_ranges.remove_below(self.nxt)
            live = {(s, e) for s, e in self.ooo_ranges.ranges}
            self.ooo_blocks = [b for b in self.ooo_blocks if b in live]
        elif self.ooo_blocks:
            self.ooo_blocks = []  # nothing held: no block to report
        # (else nothing is held and nothing reported: the usual in-order segment)
        if self.fin_off is not None and self.fin_off == self.nxt:
            self.fin_off = None
            return True
        return False

    def hold_out_of_order(self, off: int, data: bytes) -> None:
        """RFC 9293 §3.10.7.4 seventh: text beyond RCV.NXT is held (bounded, counted),
        and its block goes first in the SACK option (RFC 2018 §4). Octets already held
        stay: the first copy of an octet wins, as in the reference model."""
        c = self.counters
        c.out_of_order_segments += 1
        end = off + len(data)
        pieces = self._not_held(off, end)
        held = self._first_held(off, end, pieces)
        if held is not None:
            # RFC 2883 §4: octets already queued above RCV.NXT: a D-SACK block for them, then
            # the block that holds them (moved first below, so second in the option).
            self.dsack = held
        if pieces and len(self.ooo) + len(pieces) > MAX_OUT_OF_ORDER:
            c.out_of_order_queue_full_drop += 1
            return
        for start, stop in pieces:
            self.ooo[start] = data[start - off : stop - off]
        block = self.ooo_ranges.add(off, end)
        self.ooo_blocks = [block] + [b for b in self.ooo_blocks if b != block]

    @staticmethod
    def _first_held(off: int, end: int, pieces: list[tuple[int, int]]) -> tuple[int, int] | None:
        """The first run of ``[off, end)`` the queue held already (``pieces`` are the
        runs it did not)."""
        pos = off
        for start, stop in pieces:
            if start > pos:
                return pos, start
            pos = stop
        return (pos, end) if pos < end else None

    def duplicate(self, off: int, length: int) -> None:
        """RFC 2883 §4: ``length`` octets of text at ``off``, all below RCV.NXT (already
        acknowledged): the next ACK reports them in a D-SACK block, so that the sender
        learns its retransmission was spurious (RFC 3708)."""
        if length > 0 and off > 0 and off + length <= self.nxt:
            self.dsack = (off, off + length)

    def _not_held(self, off: int, end: int) -> list[tuple[int, int]]:
        """The parts of ``[off, end)`` the out-of-order queue does not hold yet."""
        pieces = []
        pos = off
        for s, e in self.ooo_ranges.ranges:
            if e <= pos:
                continue
            if s >= end:
                break
            if s > pos:
                pieces.append((pos, s))
            pos = e
        if pos < end:
            pieces.append((pos, end))
        return pieces

    def first_copies(self, off: int, data: bytes) -> bytes:
        """In-order text at ``off`` with the octets the queue already holds put back:
        the first copy of an octet wins (a later segment overlapping held text with other
        octets does not replace them)."""
        end = off + len(data)
        out: bytearray | None = None
        for start, chunk in self.ooo.items():
            lo, hi = max(start, off), min(start + len(chunk), end)
            if lo < hi:
                out = bytearray(data) if out is None else out
                out[lo - off : hi - off] = chunk[lo - start : hi - start]
        return data if out is None else bytes(out)

    @property
    def sack_recent(self) -> list[tuple[int, int]]:
        """The blocks the next SACK option reports, as offsets: a D-SACK block first
        (RFC 2883 §4: "the first SACK block"), then the out-of-order blocks (RFC 2018 §4)."""
        if self.dsack is None:
            return self.ooo_blocks
        return [self.dsack, *self.ooo_blocks]

    def sack_blocks(self, limit: int) -> tuple[tuple[int, int], ...]:
        """RFC 2018 §4: up to ``limit`` blocks, as sequence numbers."""
        irs = self.irs
        return tuple(((irs + s) % sq.MOD, (irs + e) % sq.MOD) for s, e in self.sack_recent[:limit])

    def rst_at_fin(self, off: int) -> bool:
        """An RST at RCV.NXT - 1 once the peer's FIN has been received in order: accepted as
        an exact one (a deliberate deviation from RFC 5961 §3, as Linux's
        ``tcp_reset_check``). A closed peer answers each of our later segments with an RST
        whose SEQ is that segment's ACK field, and a segment sent before we acknowledged
        its FIN carries the FIN's own number, RCV.NXT - 1 here: RFC 5961 §3.2 would drop
        every one of them and we would send the whole send buffer into a closed peer. The
        blind-attack exposure grows by one sequence number, and only after a FIN. The
        connection calls this only in CLOSE-WAIT, CLOSING and LAST-ACK."""
        return self.eof and off == self.nxt - 1

    # -- the application side -------------------------------------------------------------
    def read(self, n: int) -> bytes:
        out = bytes(self.rcvbuf[:n])
        del self.rcvbuf[:n]
        return out

    def autotune(self, read: int, now: float, rtt: float | None) -> None:
        """Receive-buffer auto-tuning, as Linux's dynamic right-sizing does it: once a
        round trip (``rtt``, at least :data:`MIN_TUNING_INTERVAL`), the octets the
        application read in it are compared with the most read in one before; a new most
        grows the buffer to twice it, up to ``receive_buffer_max``. A window that holds
        twice what one round trip drains never limits a sender the reader keeps up with
        (RFC 7323 §2: the window must reach the bandwidth-delay product)."""
        if self.receive_buffer >= self.receive_buffer_max or rtt is None:
            return
        if self.space_time is None:
            self.space_time = now
            return
        self.space_read += read
        if now - self.space_time < max(rtt, MIN_TUNING_INTERVAL):
            return
        copied, self.space_read, self.space_time = self.space_read, 0, now
        if copied > self.space:
            self.space = copied
            grown = min(self.receive_buffer_max, 2 * copied)
            self.receive_buffer = max(self.receive_buffer, grown)

    def shutdown(self) -> None:
        self.read_shut = True
        self.rcvbuf.clear()

    # -- the window we advertise (RFC 1122 §4.2.3.3) --------------------------------------
    def free_space(self) -> int:
        held = len(self.rcvbuf)
        if self.ooo:
            held += sum(len(v) for v in self.ooo.values())
        return max(0, self.receive_buffer - held)

    def _sws_threshold(self, mss: int) -> int:
        return min(self.receive_buffer // 2, max(mss, MIN_SWS_MSS))

    def advertise(self, mss: int, wscale: int) -> int:
        """The window field, and RCV.ADV moved only by receiver SWS avoidance: the right
        edge advances when it can advance by min(RCV.BUFF/2, MSS) (never shrinks)."""
        # free_space and _sws_threshold, written out (every segment sent).
        held = len(self.rcvbuf)
        if self.ooo:
            held += sum(len(v) for v in self.ooo.values())
        candidate = self.nxt + max(0, self.receive_buffer - held)
        threshold = min(self.receive_buffer // 2, max(mss, MIN_SWS_MSS))
        if candidate - self.adv >= threshold or self.adv < self.nxt:
            self.adv = max(self.adv, candidate)
        wnd = max(0, self.adv - self.nxt) >> wscale
        return min(wnd, 0xFFFF)

    def window_update_due(self, mss: int) -> bool:
        """RFC 1122 §4.2.3.3: a window update is sent when the window grows by the SWS
        threshold (a window that had been closed opens with it: the peer's persist
        timer)."""
        candidate = self.nxt + self.free_space()
        return candidate - self.adv >= self._sws_threshold(mss)

    # -- acknowledgments ------------------------------------------------------------------
    def ack_now(self) -> None:
        """An immediate ACK is owed: it goes at the end of the segment's processing, on
        the data or FIN sent then, or alone (RFC 9293 §3.10.7.4 seventh: "This
        acknowledgment should be piggybacked on a segment being transmitted if possible
        without incurring undue delay")."""
        self.ack_owed = True

    def acked(self) -> None:
        """A segment carrying our ACK left: nothing is owed any more (a D-SACK block is
        reported once, RFC 2883 §4)."""
        self.dsack = None
        self.ack_pending = 0
        self.delack_due = False
        self.ack_owed = False
