"""The TCB's variables as the wire and the application see them (RFC 9293 §3.3.1), read
through from the parts of a connection that keep them: the sender (SND.*), the receiver
(RCV.*), the options the SYNs agreed, and the congestion window. Inside, positions are
offsets from the ISS and the IRS; here they are the 32-bit sequence numbers of the wire.

:class:`TcbView` is the base of :class:`~tcpip6.stack.tcp.connection.Connection`: the
socket layer, ``show`` and the tests read these, and nothing here changes the TCB except
the few setters the socket layer and the tests need (the receive buffer, cwnd and
ssthresh, the end-of-file flag the socket reports once).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tcpip6.stack.tcp import seq as sq
from tcpip6.stack.tcp.rto import RtoEstimator

if TYPE_CHECKING:
    from tcpip6.stack.tcp.options import Options
    from tcpip6.stack.tcp.receiver import Receiver
    from tcpip6.stack.tcp.sender import Sender


class TcbView:
    """Read-through properties over ``snd``, ``rcv`` and ``opt``."""

    snd: Sender
    rcv: Receiver
    opt: Options

    # -- the RFC's variables, as the wire sees them ---------------------------------------
    @property
    def snd_una(self) -> int:
        return (self.snd.iss + self.snd.una) % sq.MOD

    @property
    def snd_nxt(self) -> int:
        return (self.snd.iss + self.snd.nxt) % sq.MOD

    @property
    def rcv_nxt(self) -> int:
        return self.rcv.rcv_nxt

    @property
    def rcv_wnd(self) -> int:
        """RCV.WND: what the window we advertised still allows."""
        return self.rcv.rcv_wnd

    # -- what the SYNs agreed (the options') ------------------------------------------------
    @property
    def mss(self) -> int:
        """The effective send MSS: data octets a segment."""
        return self.opt.mss

    @property
    def snd_wscale(self) -> int:
        return self.opt.snd_wscale

    @property
    def rcv_wscale(self) -> int:
        return self.opt.rcv_wscale

    @property
    def ts_ok(self) -> bool:
        return self.opt.ts_ok

    @property
    def ts_recent(self) -> int:
        return self.opt.ts_recent

    @property
    def sack_ok(self) -> bool:
        return self.opt.sack_ok

    @property
    def irs(self) -> int:
        return self.rcv.irs

    @property
    def iss(self) -> int:
        return self.snd.iss

    @property
    def snd_wnd(self) -> int:
        return self.snd.wnd

    @property
    def snd_wl1(self) -> int:
        return self.snd.wl1

    @property
    def snd_wl2(self) -> int:
        return self.snd.wl2

    # -- the sender's state, for the socket layer and for tests ----------------------------
    @property
    def sndbuf(self) -> bytearray:
        return self.snd.sndbuf

    @property
    def fin_queued(self) -> bool:
        return self.snd.fin_queued

    @property
    def fin_acked(self) -> bool:
        return self.snd.fin_acked

    @property
    def send_space(self) -> int:
        """Octets the send buffer can still take."""
        return self.snd.space

    @property
    def unsent(self) -> int:
        return self.snd.unsent

    @property
    def in_flight(self) -> int:
        return self.snd.in_flight

    @property
    def rto(self) -> RtoEstimator:
        return self.snd.rto

    @property
    def retries(self) -> int:
        return self.snd.retries

    @property
    def in_recovery(self) -> bool:
        return self.snd.recovery.in_recovery

    @property
    def cwnd(self) -> int:
        return self.snd.cc.cwnd

    @cwnd.setter
    def cwnd(self, octets: int) -> None:
        self.snd.cc.cwnd = octets

    @property
    def ssthresh(self) -> int:
        return self.snd.cc.ssthresh

    @ssthresh.setter
    def ssthresh(self, octets: int) -> None:
        self.snd.cc.ssthresh = octets

    # -- what the application reads (the receiver's) --------------------------------------
    @property
    def rcvbuf(self) -> bytearray:
        return self.rcv.rcvbuf

    @rcvbuf.setter
    def rcvbuf(self, buf: bytearray) -> None:
        self.rcv.rcvbuf = buf

    @property
    def eof(self) -> bool:
        """The peer's FIN has been received in order (the socket clears it once seen)."""
        return self.rcv.eof

    @eof.setter
    def eof(self, value: bool) -> None:
        self.rcv.eof = value

    @property
    def receive_buffer(self) -> int:
        return self.rcv.receive_buffer

    @receive_buffer.setter
    def receive_buffer(self, size: int) -> None:
        self.rcv.receive_buffer = size
