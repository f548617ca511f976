"""The two policies a TCP sender consults about loss, each behind a small interface.

- :class:`CongestionControl`, the congestion window: how ``cwnd`` grows as data is
  acknowledged and what a loss does to ``ssthresh`` (RFC 5681 §3.1: slow start and
  congestion avoidance; RFC 9438 CUBIC would be another). It is chosen by name
  (``TcpParameters.congestion_control``, as Linux's TCP_CONGESTION socket option does).
- :class:`LossRecovery`, fast retransmit and fast recovery (RFC 5681 §3.2): when duplicate
  ACKs declare a segment lost, what is sent again, and what the window allows until the
  loss is repaired. RFC 6582 NewReno and RFC 6675 SACK-based recovery are the two here;
  RFC 6937 PRR or RFC 8985 RACK-TLP would be others. The handshake chooses: SACK-based
  recovery when both ends permitted SACK (RFC 2018 §2), NewReno otherwise.

The sender (:class:`~tcpip6.stack.tcp.sender.Sender`) calls the recovery on every ACK and
timeout; the recovery calls the congestion control. Neither sends a segment itself: the
recovery asks the sender to retransmit a range of the send space.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, ClassVar

from tcpip6.stack.tcp.params import TcpParameters

if TYPE_CHECKING:
    from tcpip6.stack.tcp.sender import Sender

#: RFC 5681 §3.1 (after RFC 3390): IW = min(4*SMSS, max(2*SMSS, 4380)) octets.
IW_OCTETS = 4380


class CongestionControl(ABC):
    """``cwnd`` and ``ssthresh`` of one connection (RFC 5681 §3.1), in octets."""

    #: The name ``TcpParameters.congestion_control`` selects it by.
    name: ClassVar[str]

    def __init__(self, params: TcpParameters) -> None:
        self.params = params
        self.cwnd = 0
        #: RFC 5681 §3.1: "The initial value of ssthresh SHOULD be set arbitrarily high".
        self.ssthresh = 1 << 30
        #: The smoothed round-trip time (RFC 6298 SRTT), seconds, as the sender last
        #: measured it (0 before a measurement): RFC 9438's RTT.
        self.srtt = 0.0

    def on_established(self, smss: int, now: float) -> None:
        """RFC 5681 §3.1: the initial window, once the handshake fixed SMSS."""
        iw = self.params.initial_window_segments
        self.cwnd = iw * smss if iw else min(4 * smss, max(2 * smss, IW_OCTETS))

    @abstractmethod
    def on_ack(self, acked: int, smss: int, now: float) -> None:
        """``acked`` octets of new data acknowledged outside loss recovery: grow ``cwnd``."""

    @abstractmethod
    def on_congestion(self, flight: int, smss: int, now: float) -> None:
        """A loss was detected with ``flight`` octets outstanding (FlightSize): set
        ``ssthresh`` (the recovery sets ``cwnd`` from it)."""

    def on_timeout(self, flight: int, smss: int, now: float) -> None:
        """RFC 5681 §3.1: after the retransmission timer expires, ``ssthresh`` as for any
        loss and ``cwnd`` the loss window, one SMSS."""
        self.on_congestion(flight, smss, now)
        self.cwnd = smss

    def on_recovery_exit(self, now: float) -> None:
        """RFC 6582 §3.2 step 3, RFC 6675 §5: the loss is repaired: ``cwnd = ssthresh``
        ("deflating" the window)."""
        self.cwnd = self.ssthresh


class LossRecovery(ABC):
    """Fast retransmit and fast recovery for one connection's sender."""

    def __init__(self, cc: CongestionControl, snd: Sender) -> None:
        self.cc = cc
        self.snd = snd
        self.in_recovery = False
        #: RFC 6582 "recover", RFC 6675 RecoveryPoint: the highest octet sent when the
        #: loss was detected (a send offset).
        self.recover = 0
        self.dupacks = 0  # consecutive duplicate ACKs (RFC 5681 §2 DUPLICATE ACKNOWLEDGMENT)

    @property
    def dup_thresh(self) -> int:
        """RFC 5681 §3.2, RFC 6675 §2 DupThresh."""
        return self.snd.conn.params.dup_thresh

    # -- events ---------------------------------------------------------------------------
    def on_ack(self, una: int, acked: int, now: float) -> None:
        """New data acknowledged: SND.UNA is now ``una``, ``acked`` octets more than before."""
        if self.in_recovery:
            if una >= self.recover:
                # RFC 6582 §3.2 step 3 / RFC 6675 §5: full acknowledgment ends recovery.
                self.in_recovery = False
                self.on_recovery_exit(now)
            else:
                self.on_partial_ack(acked, now)
        else:
            self.cc.on_ack(acked, self.snd.conn.opt.mss, now)  # conn.mss, on every ACK
        self.dupacks = 0

    def after_ack(self, now: float) -> None:
        """Every acceptable ACK, after :meth:`on_ack` or :meth:`on_duplicate_ack`
        (``snd.delivered`` is its RFC 6937 DeliveredData). Nothing by default."""
        return None

    def sent(self, start: int, end: int, now: float, retransmission: bool) -> None:
        """``[start, end)`` of the send space went out (new data or a retransmission).
        Nothing by default."""
        return None

    def on_dsack(self) -> None:
        """An ACK reported a duplicate segment (RFC 2883 D-SACK). Nothing by default."""
        return None

    def early_timeout(self, kind: str, now: float) -> None:
        """The retransmission timer fired armed by :meth:`Sender.arm_early` (RFC 8985's
        PTO or reordering timer). Never armed by default."""
        return None

    @abstractmethod
    def on_duplicate_ack(self, now: float) -> None:
        """A duplicate ACK (RFC 5681 §2) arrived: count it, perhaps declare a loss."""

    @abstractmethod
    def on_partial_ack(self, acked: int, now: float) -> None:
        """In recovery, an ACK of new data below the recovery point."""

    def on_recovery_exit(self, now: float) -> None:
        self.cc.on_recovery_exit(now)

    def on_timeout(self, now: float) -> None:
        """RFC 5681 §3.1 (the loss window); recovery ends (RFC 6582 §4, RFC 6675 §5.1)."""
        snd = self.snd
        self.cc.on_timeout(snd.max - snd.una, snd.conn.mss, now)
        self.in_recovery = False
        self.recover = snd.max
        self.dupacks = 0

    def enter_recovery(self, now: float) -> None:
        """RFC 5681 §3.2 steps 2-3: ssthresh from FlightSize, the first unacknowledged
        segment again at once (fast retransmit), then the recovery's own window."""
        snd = self.snd
        self.cc.on_congestion(snd.max - snd.una, snd.conn.mss, now)
        self.recover = snd.max
        self.in_recovery = True
        snd.conn.tcp.counters.fast_retransmits += 1
        snd.timed = None  # Karn: the measured segment may be the one retransmitted
        self.fast_retransmit(now)
        snd.restart_timer(now)

    @abstractmethod
    def fast_retransmit(self, now: float) -> None:
        """Entering recovery: send the first unacknowledged segment again and set cwnd."""

    # -- what may be sent ---------------------------------------------------------------
    @abstractmethod
    def retransmit(self, now: float) -> None:
        """Retransmissions that go before new data, each time the sender may send in
        recovery (:attr:`in_recovery`; never called outside it)."""

    def usable(self) -> int:
        """Octets of new data the windows allow beyond SND.NXT (RFC 5681 §3.1: the lesser
        of cwnd and the peer's window, less what is outstanding)."""
        snd = self.snd
        # snd.right, written out: asked on every ACK.
        return min(snd.wnd_base + snd.wnd, snd.una + self.cc.cwnd) - snd.nxt
