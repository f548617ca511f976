"""The options a TCP connection negotiates in its SYNs and what follows from them: the
MSS (RFC 9293 §3.7.1; RFC 6691: less the options every segment carries; RFC 8201: no more
than the path MTU allows), window scaling (RFC 7323 §2), timestamps (RFC 7323 §3-5: TSval,
TS.Recent), SACK permitted (RFC 2018 §2), and the receive buffer and SYN window that fit
them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tcpip6.stack.tcp import seq as sq
from tcpip6.stack.tcp.cookies import options_from_tsecr
from tcpip6.stack.tcp.params import TcpParameters
from tcpip6.wire import tcp as wire_tcp
from tcpip6.wire.tcp import TcpSegment

if TYPE_CHECKING:
    from tcpip6.stack.tcp.connection import Connection

#: RFC 9293 §3.7.1: without an MSS option, IPv6 assumes 1220 (the minimum MTU less 60).
DEFAULT_IPV6_MSS = 1220
#: IPv6 header (40) plus TCP header (20): what the MSS option leaves out (RFC 9293 §3.7.1).
HEADERS = 60
#: RFC 7323 §2.3: the largest shift count.
MAX_WSCALE = 14
#: RFC 7323 §3.2: the timestamps option with its two NOPs, in every segment.
TIMESTAMPS_LEN = 12


def receive_window(buffer: int, mss: int, scaling: bool, bound: int = 0) -> tuple[int, int, int]:
    """The receive buffer rounded up to whole segments, the (unscaled) window of a SYN
    rounded down to them, and the window scale to offer for it (RFC 7323 §2.2): enough
    for the buffer, or for the ``bound`` auto-tuning may grow it to."""
    buffer = -(-buffer // mss) * mss
    shift = 0
    largest = max(buffer, bound)
    if scaling:
        while (largest >> shift) > 0xFFFF and shift < MAX_WSCALE:
            shift += 1
    return buffer, min(buffer, 0xFFFF // mss * mss), shift


def interface_mss(mtu: int) -> int:
    """RFC 9293 §3.7.1: the MSS option is the MTU of the interface less the fixed headers."""
    return max(mtu - HEADERS, DEFAULT_IPV6_MSS)


class Options:
    """What the SYNs agreed, for one connection."""

    def __init__(self, conn: Connection, params: TcpParameters) -> None:
        self.conn = conn
        self.params = params
        self.peer_mss = DEFAULT_IPV6_MSS
        self.mss = DEFAULT_IPV6_MSS  # the effective send MSS (data octets a segment)
        self.snd_wscale = 0  # RFC 7323 Snd.Wind.Shift
        self.rcv_wscale = 0  # RFC 7323 Rcv.Wind.Shift
        self.ts_ok = False
        self.ts_recent = 0  # RFC 7323 §4.3 TS.Recent
        self.ts_recent_time = 0.0
        self.ts_offset = 0
        #: RFC 7323 §5.4: the last TSval sent; the clock never goes below it.
        self.ts_last: int | None = None
        self.sack_ok = False
        self.wscale_offered = 0
        self.peer_wscale: int | None = None  # the shift of the peer's SYN, if it had one
        self.syn_window = 0xFFFF  # the (unscaled) window our SYN offers

    def choose_receive_window(self, now: float) -> None:
        """Our window scale (RFC 7323 §2.2) for the receive buffer, and the window of our
        SYN. Windows: the receive window is a whole number of segments, so the buffer is
        rounded up to one, and the unscaled window of the SYN down to one (the window
        offered in the SYN is never shrunk afterwards, RFC 9293 §3.8.6)."""
        rcv = self.conn.rcv
        scaling = self.params.window_scaling
        rcv.receive_buffer, self.syn_window, self.wscale_offered = receive_window(
            rcv.receive_buffer, self.our_mss(now), scaling, rcv.receive_buffer_max
        )

    def our_mss(self, now: float) -> int:
        """RFC 9293 §3.7.1: the MSS option is the MTU of the interface less the fixed headers."""
        route = self.conn.tcp.route_for(self.conn, now)
        return interface_mss(route[0].mtu if route is not None else 1280)

    def syn_options(self, now: float, syn_ack: bool) -> tuple[wire_tcp.TcpOption, ...]:
        opts: list[wire_tcp.TcpOption] = [wire_tcp.MaxSegmentSize(self.our_mss(now))]
        p = self.params
        if p.sack and (not syn_ack or self.sack_ok):
            opts.append(wire_tcp.SackPermitted())
        if p.timestamps and (not syn_ack or self.ts_ok):
            opts.append(wire_tcp.Timestamps(self.tsval(now), self.ts_recent if syn_ack else 0))
        if p.window_scaling and (not syn_ack or self.peer_wscale is not None):
            opts += [wire_tcp.NoOperation(), wire_tcp.WindowScale(self.wscale_offered)]
        return tuple(opts)

    def take_syn_options(self, seg: TcpSegment) -> None:
        """The options of the peer's SYN (RFC 7323 §2.2, RFC 7323 §3.2; RFC 2018 §2;
        RFC 9293 §3.7.1)."""
        p = self.params
        mss_opt = seg.option(wire_tcp.MaxSegmentSize)
        if mss_opt is not None and mss_opt.mss > 0:
            self.peer_mss = max(mss_opt.mss, 64)
        ws = seg.option(wire_tcp.WindowScale)
        if ws is not None and p.window_scaling:
            # RFC 7323 §2.3: a shift above 14 is used as 14.
            self.peer_wscale = min(ws.shift, MAX_WSCALE)
        ts = seg.option(wire_tcp.Timestamps)
        if ts is not None and p.timestamps:
            self.ts_ok = True
            self.ts_recent = ts.tsval
        if seg.option(wire_tcp.SackPermitted) is not None and p.sack:
            self.sack_ok = True

    def take_cookie_options(self, seg: TcpSegment, mss: int, ts_offset: int) -> None:
        """RFC 4987 §3.6: what a SYN cookie kept of the SYN's options: its MSS (``mss``);
        with timestamps, the window scale and SACK-permitted carried in the ACK's TSecr,
        and the TSval clock (``ts_offset``) the SYN,ACK used."""
        self.peer_mss = mss
        ts = seg.option(wire_tcp.Timestamps) if self.params.timestamps else None
        if ts is None:
            return
        self.ts_ok = True
        self.ts_recent = ts.tsval
        self.ts_offset = ts_offset
        self.ts_last = ts.tsecr  # the SYN,ACK's TSval: the clock goes on from it
        peer_ws, sack = options_from_tsecr(ts.tsecr)
        if self.params.window_scaling:
            self.peer_wscale = peer_ws
        self.sack_ok = sack and self.params.sack

    def update_mss(self, now: float) -> None:
        """The effective send MSS: the peer's MSS, the path MTU (RFC 8201), less the
        options every segment carries (RFC 6691)."""
        pmtu = self.conn.tcp.path_mtu(self.conn, now)
        mss = min(self.peer_mss, pmtu - HEADERS)
        if self.conn.snd.blackhole:
            mss = min(mss, DEFAULT_IPV6_MSS)
        if self.ts_ok:
            mss -= TIMESTAMPS_LEN
        self.mss = max(mss, 64)

    def tsval(self, now: float) -> int:
        """RFC 7323 §5.4: a clock of 1 ms ticks, with a random offset per connection.

        RFC 7323 §5.4 asks for a clock "at least approximately proportional to real
        time" whose values are monotone: the peer's PAWS test (RFC 7323 §5.3 R1) drops a
        segment whose TSval is older than TS.Recent. The ``now`` a call brings may be
        older than one an earlier call brought (a live driver hands a batch of frames the
        time it read them, while the application, called back in between, runs at a later
        time), so the clock holds at the last TSval rather than step back (counted).
        """
        tsval = (int(now * 1000) + self.ts_offset) % sq.MOD
        last = self.ts_last
        if last is not None and (tsval - last) % sq.MOD >= sq.HALF:  # sq.lt(tsval, last)
            self.conn.tcp.counters.ts_clock_held += 1
            tsval = last
        self.ts_last = tsval
        return tsval

    def timestamps(self, seg: TcpSegment) -> wire_tcp.Timestamps | None:
        """The Timestamps option of ``seg`` when the connection uses them (RFC 7323 §3.2:
        once agreed, every segment carries one), else None."""
        return seg.option(wire_tcp.Timestamps) if self.ts_ok else None

    def negotiated(self, seg: TcpSegment, now: float) -> None:
        """Both SYNs seen: fix what the options agreed (RFC 7323 §1.3: window scaling
        and timestamps only when both SYNs carried them)."""
        if self.peer_wscale is not None and self.params.window_scaling:
            self.snd_wscale = self.peer_wscale
            self.rcv_wscale = self.wscale_offered
        else:
            self.snd_wscale = self.rcv_wscale = 0
        if not self.params.timestamps or seg.option(wire_tcp.Timestamps) is None:
            self.ts_ok = False
        self.ts_recent_time = now
        self.update_mss(now)
        # Windows: the receive window is a whole number of segments.
        rcv = self.conn.rcv
        mss = self.our_mss(now)
        rcv.receive_buffer = -(-rcv.receive_buffer // mss) * mss
        if self.rcv_wscale == 0:
            rcv.receive_buffer = min(rcv.receive_buffer, 0xFFFF // mss * mss)
        # Auto-tuning grows the buffer no further than the agreed shift can advertise.
        rcv.receive_buffer_max = min(
            rcv.receive_buffer_max, (0xFFFF << self.rcv_wscale) // mss * mss
        )
