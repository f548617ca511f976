"""TCP rules, judged per connection from both directions of a capture.

For each endpoint the checker rebuilds, from what it sent and what it received, the parts
of its TCB an observer can know (RFC 9293 §3.3.1): ISS and the highest sequence number
sent (SND.NXT), the peer's acknowledgments (SND.UNA) and offered windows (SND.WND), what
the SYNs negotiated (RFC 7323 window scale and timestamps, RFC 2018 SACK), and an
inferred state (RFC 9293 §3.3.2). Sequence arithmetic is the spec model's
(``tcpip6/spec/rfc9293_tcp.py``), the retransmission timer's bounds RFC 6298's
(``tcpip6/spec/rfc6298_rto.py``).

Where an observer cannot know, the checker does not guess: a connection whose SYNs were
not captured has no known ISS, so its acknowledgments are not judged against SND.NXT, and
a segment lost before the capture point may explain a retransmission (so retransmission
timing is judged only against lower bounds that hold whatever was lost).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv6Address

from tcpip6.apps.check.packet import Observed
from tcpip6.spec import rfc6298_rto as rto_spec
from tcpip6.spec import rfc9293_tcp as spec
from tcpip6.wire import tcp as wt

Report = Callable[[Observed, str, str, str, str], None]
Endpoint = tuple[IPv6Address, int]
#: A timing rule accepts an interval this much shorter than the RFC's (capture clocks).
TOLERANCE = 0.02
#: RFC 5681 §3.2: the number of duplicate ACKs that starts a fast retransmit.
DUP_THRESH = 3
#: Connections followed at once; the oldest is forgotten beyond this.
MAX_CONNECTIONS = 4096


@dataclass
class Side:
    """What an observer knows of one endpoint's TCB."""

    endpoint: Endpoint
    state: str = "CLOSED"
    iss: int | None = None
    snd_nxt: int | None = None
    #: The peer's highest acknowledgment and the right edge it offered (SND.UNA + SND.WND).
    snd_una: int | None = None
    right_edge: int | None = None
    syn_options: tuple[wt.TcpOption, ...] | None = None
    #: Sequence number -> (time first sent, times sent, time last sent): data in flight.
    sent: dict[int, tuple[float, int, float]] = field(default_factory=dict)
    #: Duplicate ACKs this endpoint received for its SND.UNA, and SACK blocks seen.
    dup_acks: int = 0
    sacked: bool = False
    #: A retransmission was accepted: the rest of the recovery is not judged again until
    #: this sequence number is acknowledged (RFC 6298 §5.4 / go-back-N, RFC 6582, RFC 6675).
    recovery_until: int | None = None
    #: The interval between the last two timeouts of one segment (for RFC 6298 §5.5).
    last_backoff: tuple[int, float] | None = None
    #: SND.UNA when this endpoint last sent a tail loss probe (RFC 8985 §7.3): one probe
    #: until an acknowledgment moves SND.UNA.
    probed_una: int | None = None
    fin_seq: int | None = None


@dataclass
class Connection:
    a: Side
    b: Side
    shift: dict[Endpoint, int] = field(default_factory=dict)
    timestamps: bool | None = None
    sack: bool | None = None
    states: list[tuple[Endpoint, str, str, str, float]] = field(default_factory=list)

    def sides(self, src: Endpoint) -> tuple[Side, Side]:
        return (self.a, self.b) if self.a.endpoint == src else (self.b, self.a)


def _seg_len(seg: wt.TcpSegment) -> int:
    """RFC 9293 §3.4: SEG.LEN counts the data, SYN and FIN."""
    return len(seg.payload) + bool(seg.flags & wt.SYN) + bool(seg.flags & wt.FIN)


def _has(opts: tuple[wt.TcpOption, ...] | None, cls: type[wt.TcpOption]) -> bool:
    return opts is not None and any(isinstance(o, cls) for o in opts)


class TcpChecker:
    def __init__(self, report: Report, min_rto: float = rto_spec.MIN_RTO) -> None:
        self.report = report
        self.min_rto = min_rto
        self.connections: dict[tuple[Endpoint, Endpoint], Connection] = {}

    @staticmethod
    def key(src: Endpoint, dst: Endpoint) -> tuple[Endpoint, Endpoint]:
        return (src, dst) if (int(src[0]), src[1]) <= (int(dst[0]), dst[1]) else (dst, src)

    def segment(self, obs: Observed) -> None:
        seg = obs.tcp
        assert seg is not None
        src: Endpoint = (obs.src, seg.src_port)
        dst: Endpoint = (obs.dst, seg.dst_port)
        key = self.key(src, dst)
        conn = self.connections.get(key)
        if conn is None or (
            seg.flags & wt.SYN
            and not seg.flags & wt.ACK
            and conn.a.iss is not None
            and conn.sides(src)[0].iss not in (None, seg.seq)
        ):
            # A new connection (or a new incarnation of the 4-tuple: a SYN with a new ISS).
            conn = Connection(Side(key[0]), Side(key[1]))
            self.connections[key] = conn
            if len(self.connections) > MAX_CONNECTIONS:
                self.connections.pop(next(iter(self.connections)))
        me, peer = conn.sides(src)
        self._options(obs, conn, me, peer, seg)
        self._acknowledgment(obs, conn, me, peer, seg)
        self._window(obs, conn, me, seg)
        self._retransmission(obs, me, seg, sack=bool(conn.sack))
        self._sent(obs, conn, me, peer, seg)

    # -- RFC 7323, RFC 2018: options as negotiated ------------------------------------------
    def _options(
        self, obs: Observed, conn: Connection, me: Side, peer: Side, seg: wt.TcpSegment
    ) -> None:
        syn = bool(seg.flags & wt.SYN)
        opts = seg.options
        if syn:
            if seg.flags & wt.ACK and peer.syn_options is not None:
                for cls, name, rfc in (
                    (wt.WindowScale, "Window Scale", "RFC 7323 §2.2"),
                    (wt.Timestamps, "Timestamps", "RFC 7323 §3.2"),
                    (wt.SackPermitted, "SACK-Permitted", "RFC 2018 §2"),
                ):
                    if _has(opts, cls) and not _has(peer.syn_options, cls):
                        self.report(
                            obs,
                            f"{name} option in a SYN,ACK to a SYN without it",
                            rfc,
                            f"SYN,ACK with {name}",
                            f"{name} in a <SYN,ACK> only if the <SYN> had it",
                        )
            me.syn_options = opts
            if me.syn_options is not None and peer.syn_options is not None:
                both_ws = _has(me.syn_options, wt.WindowScale) and _has(
                    peer.syn_options, wt.WindowScale
                )
                for side in (me, peer):
                    ws = next(
                        (o for o in side.syn_options or () if isinstance(o, wt.WindowScale)), None
                    )
                    conn.shift[side.endpoint] = min(ws.shift, 14) if both_ws and ws else 0
                conn.timestamps = _has(me.syn_options, wt.Timestamps) and _has(
                    peer.syn_options, wt.Timestamps
                )
                conn.sack = _has(me.syn_options, wt.SackPermitted) and _has(
                    peer.syn_options, wt.SackPermitted
                )
            return
        for cls, name, rfc in (
            (wt.WindowScale, "Window Scale", "RFC 7323 §2.2"),
            (wt.SackPermitted, "SACK-Permitted", "RFC 2018 §2"),
        ):
            if _has(opts, cls):
                self.report(
                    obs, f"{name} option on a segment without SYN", rfc,
                    f"{wt.format_flags(seg.flags)} segment with {name}",
                    f"{name} only in a <SYN> segment",
                )  # fmt: skip
        if conn.sack is False and _has(opts, wt.Sack):
            self.report(
                obs, "SACK option without SACK-Permitted", "RFC 2018 §3",
                "a SACK option on a connection whose SYNs did not both permit it",
                "no SACK option unless SACK-Permitted was received",
            )  # fmt: skip
        if conn.timestamps is True and not seg.flags & wt.RST and not _has(opts, wt.Timestamps):
            self.report(
                obs, "segment without Timestamps on a connection that negotiated them",
                "RFC 7323 §3.2",
                f"{wt.format_flags(seg.flags)} segment without a TSopt",
                "once negotiated, TSopt in every non-<RST> segment",
            )  # fmt: skip
        if conn.timestamps is False and _has(opts, wt.Timestamps):
            self.report(
                obs, "Timestamps on a connection that did not negotiate them", "RFC 7323 §3.2",
                f"{wt.format_flags(seg.flags)} segment with a TSopt",
                "no TSopt unless both <SYN>s carried one",
            )  # fmt: skip

    # -- RFC 9293 §3.4: an ACK acknowledges only what was sent --------------------------------
    def _acknowledgment(
        self, obs: Observed, conn: Connection, me: Side, peer: Side, seg: wt.TcpSegment
    ) -> None:
        if not seg.flags & wt.ACK or seg.flags & wt.RST:
            return
        if peer.iss is not None and peer.snd_nxt is not None and spec.seq_lt(peer.snd_nxt, seg.ack):
            self.report(
                obs, "ACK of data never sent", "RFC 9293 §3.4",
                f"ACK {seg.ack} from {me.endpoint[0]}.{me.endpoint[1]}",
                f"an acknowledgment no later than the peer's SND.NXT {peer.snd_nxt}",
            )  # fmt: skip
        # What the peer learns: its SND.UNA, SND.WND and the duplicate ACKs.
        shift = conn.shift.get(me.endpoint, 0)
        window = seg.window if seg.flags & wt.SYN else seg.window << shift
        edge = spec.seq_add(seg.ack, window)
        if peer.snd_una is None or spec.seq_lt(peer.snd_una, seg.ack):
            peer.snd_una = seg.ack
            peer.dup_acks = 0
            peer.sacked = False
            for s in [s for s in peer.sent if spec.seq_lt(s, seg.ack)]:
                del peer.sent[s]
            if peer.recovery_until is not None and not spec.seq_lt(seg.ack, peer.recovery_until):
                peer.recovery_until = None
                peer.last_backoff = None
        elif seg.ack == peer.snd_una and not seg.payload and not seg.flags & (wt.SYN | wt.FIN):
            peer.dup_acks += 1
        if _has(seg.options, wt.Sack):
            peer.sacked = True
        if peer.right_edge is None or spec.seq_lt(peer.right_edge, edge):
            peer.right_edge = edge

    # -- RFC 9293 §3.8.6: the sender stays within the offered window ------------------------
    def _window(self, obs: Observed, conn: Connection, me: Side, seg: wt.TcpSegment) -> None:
        if not seg.payload or me.right_edge is None or me.snd_una is None:
            return
        end = spec.seq_add(seg.seq, len(seg.payload))
        if not spec.seq_lt(me.right_edge, end):
            return
        if len(seg.payload) == 1 and me.right_edge == me.snd_una:
            return  # RFC 9293 §3.8.6.1: a zero-window probe
        self.report(
            obs, "data beyond the offered window", "RFC 9293 §3.8.6",
            f"octets up to {end}, the peer offered up to {me.right_edge}",
            "no data beyond SND.UNA + SND.WND (but a one-octet zero-window probe)",
        )  # fmt: skip

    # -- RFC 6298: a retransmission timer is at least the minimum RTO ------------------------
    def _retransmission(self, obs: Observed, me: Side, seg: wt.TcpSegment, *, sack: bool) -> None:
        length = _seg_len(seg)
        if not length or me.snd_nxt is None or seg.flags & wt.RST:
            return
        if not spec.seq_lt(seg.seq, me.snd_nxt):
            return  # new data
        first = me.sent.get(seg.seq)
        if first is None:
            return  # a part of a segment, or sent before the capture began
        _t0, count, last = first
        if me.recovery_until is not None:
            return  # the rest of a recovery already judged (go-back-N, partial ACKs)
        if seg.seq == me.snd_una and (me.dup_acks >= DUP_THRESH or me.sacked):
            me.recovery_until = me.snd_nxt  # RFC 5681 §3.2 fast retransmit, RFC 6675
            return
        if seg.seq == me.snd_una or (me.snd_una is None and count >= 1):
            if sack and spec.seq_add(seg.seq, length) == me.snd_nxt and me.probed_una != me.snd_una:
                # RFC 8985 §7.3: a tail loss probe, the last segment sent again before the
                # RTO (after PTO = 2*SRTT, which an observer cannot know), on a connection
                # with SACK (RFC 8985 §4: RACK-TLP requires it). One per
                # SND.UNA; the RTO, rearmed at the probe, is judged from it.
                me.probed_una = me.snd_una
                return
            interval = obs.time - last
            if interval < self.min_rto * (1 - TOLERANCE):
                self.report(
                    obs, "retransmission before the minimum RTO", "RFC 6298 §2.4",
                    f"segment {seg.seq} sent again {interval:.3f} s after it was last sent, "
                    f"with {me.dup_acks} duplicate ACKs and no SACK",
                    f"a retransmission timeout of at least {self.min_rto:g} s",
                )  # fmt: skip
            elif me.last_backoff is not None and me.last_backoff[0] == seg.seq:
                previous = me.last_backoff[1]
                if interval < min(2 * previous, rto_spec.MAX_RTO) * (1 - TOLERANCE):
                    self.report(
                        obs, "retransmission timer not backed off", "RFC 6298 §5.5",
                        f"segment {seg.seq} sent again {interval:.3f} s after the last "
                        f"timeout, {previous:.3f} s before that",
                        "RTO <- RTO * 2 after each timeout",
                    )  # fmt: skip
            me.last_backoff = (seg.seq, interval)
            me.recovery_until = spec.seq_add(seg.seq, length)

    def _sent(
        self, obs: Observed, conn: Connection, me: Side, peer: Side, seg: wt.TcpSegment
    ) -> None:
        length = _seg_len(seg)
        if seg.flags & wt.SYN:
            me.iss = seg.seq
        if length:
            end = spec.seq_add(seg.seq, length)
            if me.snd_nxt is None or spec.seq_lt(me.snd_nxt, end):
                me.snd_nxt = end
            t0, count, _ = me.sent.get(seg.seq, (obs.time, 0, obs.time))
            me.sent[seg.seq] = (t0, count + 1, obs.time)
            if len(me.sent) > 65536:
                me.sent.pop(next(iter(me.sent)))
        self._infer_state(obs, conn, me, peer, seg)

    # -- RFC 9293 §3.3.2: the state each endpoint must be in to send what it sent -----------
    def _move(self, obs: Observed, conn: Connection, side: Side, trigger: str, new: str) -> None:
        if side.state != new:
            conn.states.append((side.endpoint, side.state, trigger, new, obs.time))
            side.state = new

    def _infer_state(
        self, obs: Observed, conn: Connection, me: Side, peer: Side, seg: wt.TcpSegment
    ) -> None:
        """The transitions the sender (and, from what it acknowledges, its peer) must have
        taken to send this segment; only rows of the TCP graph are recorded."""
        flags = seg.flags
        fin_sent_before = me.fin_seq is not None
        if flags & wt.RST:
            synchronized = me.state not in ("CLOSED", "LISTEN", "SYN_SENT")
            self._move(obs, conn, me, "abort", "CLOSED")
            # RFC 9293 §3.10.7.4: an RST at the receiver's RCV.NXT (the sender's SND.NXT)
            # closes a synchronized connection.
            at_rcv_nxt = me.snd_nxt is None or seg.seq == me.snd_nxt
            if synchronized and at_rcv_nxt and peer.state not in ("CLOSED", "LISTEN", "SYN_SENT"):
                self._move(obs, conn, peer, "rst_received", "CLOSED")
            return
        if flags & wt.SYN and not flags & wt.ACK:
            self._move(obs, conn, me, "active_open", "SYN_SENT")
        elif flags & wt.SYN:
            if me.state == "CLOSED":
                self._move(obs, conn, me, "passive_open", "LISTEN")
            self._move(obs, conn, me, "syn_received", "SYN_RECEIVED")
        elif flags & wt.ACK and peer.state == "SYN_RECEIVED":
            if me.state == "SYN_SENT":
                self._move(obs, conn, me, "syn_ack_received", "ESTABLISHED")
            self._move(obs, conn, peer, "ack_of_syn", "ESTABLISHED")
        if flags & wt.ACK and peer.fin_seq is not None and spec.seq_lt(peer.fin_seq, seg.ack):
            mine = {"ESTABLISHED": "CLOSE_WAIT", "FIN_WAIT_1": "CLOSING", "FIN_WAIT_2": "TIME_WAIT"}
            if me.state in mine:
                self._move(obs, conn, me, "fin_received", mine[me.state])
            if fin_sent_before and peer.state == "FIN_WAIT_1":
                # This end's FIN left before this acknowledgment, so the peer had it first
                # (RFC 9293 §3.10.7.4, eighth: FIN in FIN-WAIT-1 "enter the CLOSING
                # state"): both ends sent a FIN before receiving the other's, a
                # simultaneous close (RFC 9293 §3.6, case 3).
                self._move(obs, conn, peer, "fin_received", "CLOSING")
            theirs = {"FIN_WAIT_1": "FIN_WAIT_2", "CLOSING": "TIME_WAIT", "LAST_ACK": "CLOSED"}
            if peer.state in theirs:
                self._move(obs, conn, peer, "fin_acked", theirs[peer.state])
        if flags & wt.FIN:
            me.fin_seq = spec.seq_add(seg.seq, len(seg.payload) + bool(flags & wt.SYN))
            after = {"ESTABLISHED": "FIN_WAIT_1", "CLOSE_WAIT": "LAST_ACK"}.get(me.state)
            if after is not None:
                self._move(obs, conn, me, "close", after)
