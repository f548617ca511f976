"""TCP (RFC 9293) for one host: ``host.tcp``.

The protocol module the protocol switch hands Next Header 6 to. It checks each segment,
finds its connection (the exact four-tuple first, then a listener on the port,
RFC 9293 §3.10.7), and answers segments for no connection with a reset
(RFC 9293 §3.10.7.1). It owns what is shared between connections: the connection table,
the listeners, the timers of every connection (one
:class:`~tcpip6.stack.timers.DeadlineQueue`), initial sequence numbers (RFC 6528),
ephemeral ports (RFC 6056), the counters (RFC 4022 names where they exist), and the paths
(route, source, path MTU, dead gateway detection).
"""

from __future__ import annotations

import errno
import hashlib
from collections import OrderedDict
from dataclasses import dataclass, replace
from ipaddress import IPv6Address
from typing import TYPE_CHECKING

from tcpip6.stack.counters import CounterSet
from tcpip6.stack.machines.graph import TraceSink
from tcpip6.stack.machines.tcp import GRAPH as TCP_GRAPH
from tcpip6.stack.machines.tcp import TcpState
from tcpip6.stack.tcp import seq as sq
from tcpip6.stack.tcp.connection import Connection
from tcpip6.stack.tcp.cookies import COUNTER_PERIOD, TICKS_VALID, SynCookies, options_in_tsval
from tcpip6.stack.tcp.options import interface_mss, receive_window
from tcpip6.stack.tcp.params import TcpParameters
from tcpip6.stack.tcp.timers import TcpTimer
from tcpip6.stack.timers import DeadlineQueue
from tcpip6.wire import WireError
from tcpip6.wire import icmpv6 as wire_icmp
from tcpip6.wire import ipv6 as wire_ipv6
from tcpip6.wire import tcp as wire_tcp
from tcpip6.wire.errors import ChecksumError
from tcpip6.wire.tcp import ACK, RST, SYN, TcpSegment

if TYPE_CHECKING:
    from tcpip6.stack.host import Host
    from tcpip6.stack.interface import Interface
    from tcpip6.stack.ipv6 import ControlMessage, Delivery

#: RFC 6056 §3.2: the dynamic port range.
EPHEMERAL_LOW = 49152
EPHEMERAL_HIGH = 65535
UNSPECIFIED = wire_ipv6.UNSPECIFIED

Key = tuple[IPv6Address, int, IPv6Address, int]


@dataclass
class TcpCounters(CounterSet):
    """RFC 4022 tcpActiveOpens … tcpOutRsts, then what each drop and feature counts."""

    active_opens: int = 0
    passive_opens: int = 0
    attempt_fails: int = 0
    estab_resets: int = 0
    in_segs: int = 0
    out_segs: int = 0
    retransmitted_segments: int = 0
    in_errs: int = 0
    out_resets: int = 0
    in_resets: int = 0
    bad_checksum: int = 0
    malformed_drop: int = 0
    no_connection_drop: int = 0
    listen_overflow_drop: int = 0
    table_full_drop: int = 0
    out_of_window_drop: int = 0
    paws_drop: int = 0
    bad_ack_drop: int = 0
    no_syn_drop: int = 0
    no_ack_drop: int = 0
    ack_too_new_drop: int = 0
    ack_too_old_drop: int = 0
    rst_ignored: int = 0
    text_after_fin_drop: int = 0
    out_of_order_queue_full_drop: int = 0
    challenge_acks: int = 0
    acks_throttled: int = 0  # RFC 5961 §7: replies to unacceptable segments not sent
    in_data_segments: int = 0
    in_octets: int = 0
    out_octets: int = 0
    out_of_order_segments: int = 0
    duplicate_acks: int = 0
    fast_retransmits: int = 0
    timeouts: int = 0
    tail_loss_probes: int = 0  # RFC 8985 §7.3
    dsacks_received: int = 0  # RFC 2883 D-SACK blocks (RFC 8985 §6.2 step 4)
    gave_up: int = 0
    sack_blocks_sent: int = 0
    sack_blocks_received: int = 0
    window_updates: int = 0
    window_probes: int = 0
    keepalive_probes: int = 0
    keepalive_drops: int = 0
    pmtu_retransmits: int = 0
    blackhole_detected: int = 0
    dead_gateway_suspected: int = 0
    time_wait_recycled: int = 0
    icmp_errors: int = 0
    ts_clock_held: int = 0  # RFC 7323 §5.4: TSval held at the last one sent, not lower
    syn_cookies_sent: int = 0  # RFC 4987 §3.6: SYN,ACKs sent without keeping state
    syn_cookies_accepted: int = 0  # their ACKs, which made a connection
    syn_cookies_failed: int = 0  # ACKs to a listener that carried no cookie of ours
    # Windows' SynAttackProtect (RFC 4987 §3.3): times the host went under attack and
    # back, and the connections made under attack (fewer SYN,ACK retransmissions).
    syn_attack_entered: int = 0
    syn_attack_left: int = 0
    syn_attack_reduced_retransmissions: int = 0
    #: Times a connection stopped sending because the transmit queue of its interface
    #: was full (local congestion, stack/link.py), and resumed when it drained.
    local_congestion_stops: int = 0
    local_congestion_resumes: int = 0


class Tcp:
    """TCP for one host."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self.params = TcpParameters()
        self.counters = TcpCounters()
        self.connections: dict[Key, Connection] = {}
        #: Local port -> the listeners on it (a specific address before the unspecified).
        self.listeners: dict[int, list[Connection]] = {}
        self.timers: DeadlineQueue[tuple[Connection, TcpTimer]] = DeadlineQueue()
        #: Connections in TIME-WAIT, oldest first (bounded by max_time_wait).
        self.time_wait: OrderedDict[Connection, None] = OrderedDict()
        self.trace_sink: TraceSink | None = None
        #: (address, port) of sockets bound but not yet listening or connected.
        self.reserved: list[tuple[IPv6Address, int]] = []
        # RFC 6528 §3: "secretkey is a secret key ... that is randomly generated".
        self._secret = host.rng.getrandbits(128).to_bytes(16, "big")
        self.cookies = SynCookies(hashlib.sha256(b"syn cookies" + self._secret).digest())
        # Windows' SynAttackProtect: the connections in every listener's SYN queue
        # (SYN-RECEIVED), those whose SYN,ACK was retransmitted, and the verdict of the
        # last passive open.
        self.half_open = 0
        self.half_open_retried: set[Connection] = set()
        self.under_attack = False
        #: Connections stopped by local congestion (the interface whose transmit queue
        #: was full), in the order they stopped: Tcp.link_writable resumes them.
        self.stopped: dict[Connection, Interface] = {}
        host.register_protocol(wire_ipv6.IPPROTO_TCP, self.receive, self.control)

    # -- opening --------------------------------------------------------------------------
    def connect(
        self,
        remote: IPv6Address,
        remote_port: int,
        now: float,
        *,
        local: IPv6Address | None = None,
        local_port: int = 0,
        interface: Interface | None = None,
        params: TcpParameters | None = None,
    ) -> Connection:
        """RFC 9293 §3.10.1 active OPEN. OSError when there is no route, no source, or the
        four-tuple is taken."""
        if remote.is_multicast or remote.is_unspecified:
            raise OSError(errno.ENETUNREACH, f"{remote}: TCP needs a unicast peer")
        path = self.host.route_with_source(remote, interface, local, now)
        if path is None:
            raise OSError(errno.ENETUNREACH, f"no route to {remote}")
        iface, _, src = path
        # The addresses every segment is built with and looked up by, as parse makes them.
        remote, src = wire_ipv6.ADDRESSES.intern(remote), wire_ipv6.ADDRESSES.intern(src)
        if len(self.connections) >= self.params.max_connections:
            raise OSError(errno.ENOBUFS, "too many TCP connections")
        if local_port == 0:
            local_port = self._ephemeral(src, remote, remote_port)
        key = (src, local_port, remote, remote_port)
        if key in self.connections:
            raise OSError(errno.EADDRINUSE, "that connection exists already")
        zone = iface if (remote.is_link_local or interface is not None) else interface
        conn = Connection(self, src, local_port, remote, remote_port, params or self.params, zone)
        self.connections[key] = conn
        self.counters.active_opens += 1
        conn.open_active(now)
        return conn

    def listen(
        self,
        local: IPv6Address,
        port: int,
        backlog: int,
        now: float,
        *,
        params: TcpParameters | None = None,
        interface: Interface | None = None,
    ) -> Connection:
        """RFC 9293 §3.10.1 passive OPEN. OSError(EADDRINUSE) when the port is taken."""
        if port == 0:
            port = self._ephemeral(local, None, 0)
        for other in self.listeners.get(port, []):
            if UNSPECIFIED in (other.local_address, local) or other.local_address == local:
                raise OSError(errno.EADDRINUSE, f"port {port} is in use")
        conn = Connection(self, local, port, None, 0, params or self.params, interface)
        conn.open_passive(backlog, now)
        bound = self.listeners.setdefault(port, [])
        bound.append(conn)
        bound.sort(key=lambda c: c.local_address == UNSPECIFIED)
        return conn

    def reserve(self, local: IPv6Address, port: int) -> int:
        """A socket bound but neither listening nor connected holds its port (as on
        Linux); 0 picks an ephemeral one. OSError(EADDRINUSE) when it is taken."""
        if port == 0:
            port = self._ephemeral(local, None, 0)
        elif self.port_in_use(local, port):
            raise OSError(errno.EADDRINUSE, f"port {port} is in use")
        self.reserved.append((local, port))
        return port

    def release(self, local: IPv6Address, port: int) -> None:
        if (local, port) in self.reserved:
            self.reserved.remove((local, port))

    def port_in_use(self, local: IPv6Address, port: int) -> bool:
        if port in self.listeners:
            return True
        if any(
            (p == port and UNSPECIFIED in (a, local)) or (a, p) == (local, port)
            for a, p in self.reserved
        ):
            return True
        return any(k[1] == port and local in (k[0], UNSPECIFIED) for k in self.connections)

    def _ephemeral(self, src: IPv6Address, remote: IPv6Address | None, rport: int) -> int:
        """RFC 6056 §3.3.1: a random port, the next free one after it."""
        span = EPHEMERAL_HIGH - EPHEMERAL_LOW + 1
        start = self.host.rng.randrange(span)
        for i in range(span):
            port = EPHEMERAL_LOW + (start + i) % span
            if port in self.listeners:
                continue
            if remote is not None and (src, port, remote, rport) in self.connections:
                continue
            if remote is None and self.port_in_use(src, port):
                continue
            return port
        raise OSError(errno.EADDRINUSE, "no ephemeral port left")

    def initial_sequence_number(self, conn: Connection, now: float) -> int:
        """RFC 6528 §3: ISN = M + F(localip, localport, remoteip, remoteport, secretkey),
        M a 4-microsecond timer, F a keyed hash."""
        m = int(now * 250_000)
        h = hashlib.sha256(self._secret)
        h.update(conn.local_address.packed)
        h.update(conn.local_port.to_bytes(2, "big"))
        if conn.remote_address is not None:
            h.update(conn.remote_address.packed)
        h.update(conn.remote_port.to_bytes(2, "big"))
        f = int.from_bytes(h.digest()[:4], "big")
        return (m + f) % sq.MOD

    # -- paths ----------------------------------------------------------------------------
    def route_for(self, conn: Connection, now: float) -> tuple[Interface, IPv6Address] | None:
        if conn.remote_address is None:
            return None
        return self.host.route(conn.remote_address, conn.interface, now)

    def path_mtu(self, conn: Connection, now: float) -> int:
        route = self.route_for(conn, now)
        if route is None or conn.remote_address is None:
            return wire_ipv6.MIN_MTU
        pmtu = self.host.routes.path_mtu(conn.remote_address, now, route[0])
        mtu = route[0].mtu if pmtu is None else pmtu
        # IPsec hook (RFC 4301 §8.2.1): what AH and ESP add leaves less room for TCP.
        return mtu - self.host.ipsec.overhead(
            conn.local_address,
            conn.remote_address,
            wire_ipv6.IPPROTO_TCP,
            conn.local_port,
            conn.remote_port,
        )

    def suspect_gateway(self, conn: Connection, now: float) -> bool:
        """Dead gateway detection: the default router this connection goes through is
        suspected; the host moves the destination to another (RFC 4861 §6.3.6)."""
        if conn.remote_address is None:
            return False
        return self.host.suspect_router_for(conn.remote_address, conn.interface, now)

    # -- sending --------------------------------------------------------------------------
    def _next_hop(
        self, conn: Connection, now: float
    ) -> tuple[IPv6Address, Interface, IPv6Address] | None:
        """The destination, interface and next hop of ``conn``'s next segment; None (the
        segment is not sent) when it has no route."""
        dst = conn.remote_address
        if dst is None:
            return None
        route = self.host.route(dst, conn.interface, now)
        if route is None:
            self.host.ip.no_route_drop += 1
            # RFC 5461 §4: kept as a soft error and reported if the connection times out
            # (Linux does the same when a route lookup fails, e.g. its interface is gone).
            conn.soft_error = OSError(errno.ENETUNREACH, "Network is unreachable")
            return None
        return dst, route[0], route[1]

    def transmit(self, conn: Connection, seg: TcpSegment, now: float) -> None:
        if conn.remote_address is None:
            return
        self.transmit_octets(conn, seg.build(conn.local_address, conn.remote_address), now)

    def transmit_octets(self, conn: Connection, body: bytes, now: float) -> None:
        """One segment of ``conn``, built (its checksum over ``conn``'s addresses), to
        its next hop. The sender's usual segment comes here built from its fields
        (wire.tcp.build_octets), with no segment object made to be built and dropped."""
        hop = self._next_hop(conn, now)
        if hop is None:
            return
        dst, iface, next_hop = hop
        self.counters.out_segs += 1
        self.host.ipv6.send_on(iface, next_hop, conn.local_address, dst, 6, body, now)
        self._local_congestion(conn, iface)

    def _local_congestion(self, conn: Connection, iface: Interface) -> None:
        if iface.tx_stopped() and conn not in self.stopped:
            # Local congestion (Linux's full qdisc, TCP Small Queues): the segment is
            # queued, not lost; no new one goes until the queue drains (Sender.output).
            self.stopped[conn] = iface
            self.counters.local_congestion_stops += 1

    def link_writable(self, iface: Interface, now: float) -> None:
        """``iface``'s transmit queue drained: the connections it stopped send again, in
        the order they stopped, until it stops again."""
        self._resume(iface, now, until_stopped=True)

    def forget_interface(self, iface: Interface, now: float) -> None:
        """``iface`` is gone, and its transmit queue with it: the connections it stopped
        are stopped no more. They send again, find no route (a soft error, RFC 5461 §4)
        and time out with it unless a route comes back (``Host.remove_interface``)."""
        self._resume(iface, now, until_stopped=False)

    def _resume(self, iface: Interface, now: float, *, until_stopped: bool) -> None:
        stopped = self.stopped
        for conn in [c for c, i in stopped.items() if i is iface]:
            if until_stopped and iface.tx_stopped():
                return
            del stopped[conn]
            self.counters.local_congestion_resumes += 1
            conn.snd.output(now)

    def segment_offload_size(self, conn: Connection, now: float) -> int:
        """The largest IPv6 packet of this connection's that its link segments itself
        (segmentation offload; 0: none), from which the sender makes segments that carry
        several MSS of data (:meth:`transmit_segments`)."""
        for iface in self.host.interfaces:
            if iface.link.gso_max_size:
                break
        else:
            return 0  # no link of this host segments: no route to look up
        route = self.route_for(conn, now)
        if route is None or conn.remote_address is None:
            return 0
        return self.host.ipv6.segment_offload_size(
            route[0], conn.local_address, conn.remote_address
        )

    def transmit_segments(
        self, conn: Connection, seg: TcpSegment, gso_size: int, now: float
    ) -> None:
        """``seg`` carries more than ``gso_size`` octets of data: it leaves as the segments
        of ``gso_size`` octets the link (or, failing that, the IPv6 layer) cuts it into,
        each counted as sent."""
        hop = self._next_hop(conn, now)
        if hop is None:
            return
        dst, iface, next_hop = hop
        self.counters.out_segs += -(-len(seg.payload) // gso_size)
        body = seg.build_partial(conn.local_address, dst)
        self.host.ipv6.send_tcp_segments(
            iface, next_hop, conn.local_address, dst, body, gso_size, now
        )
        self._local_congestion(conn, iface)

    def send_reset(self, conn: Connection, ack_field: int, now: float) -> None:
        """<SEQ=SEG.ACK><CTL=RST> from a connection's addresses."""
        if conn.remote_address is None:
            return
        seg = TcpSegment(conn.local_port, conn.remote_port, ack_field, 0, RST, 0)
        self.counters.out_resets += 1
        self.transmit(conn, seg, now)

    def _reset_for(self, d: Delivery, seg: TcpSegment, now: float) -> None:
        """RFC 9293 §3.10.7.1 (CLOSED): "If the ACK bit is off, sequence number zero is used,
        <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>. If the ACK bit is on,
        <SEQ=SEG.ACK><CTL=RST>"; an RST is never answered."""
        if seg.flags & RST:
            return
        hdr = d.header
        if hdr.dst.is_multicast:
            return
        if seg.flags & ACK:
            reply = TcpSegment(seg.dst_port, seg.src_port, seg.ack, 0, RST, 0)
        else:
            ack = (seg.seq + seg.seg_len) % sq.MOD
            reply = TcpSegment(seg.dst_port, seg.src_port, 0, ack, RST | ACK, 0)
        route = self.host.route(hdr.src, d.interface, now)
        if route is None:
            return
        self.counters.out_resets += 1
        self.counters.out_segs += 1
        body = reply.build(hdr.dst, hdr.src)
        self.host.ipv6.send_on(route[0], route[1], hdr.dst, hdr.src, 6, body, now)

    # -- receiving ------------------------------------------------------------------------
    def receive(self, d: Delivery) -> None:
        c = self.counters
        hdr = d.header
        try:
            # d.payload, the view a property would make (every segment received).
            seg = TcpSegment.parse(memoryview(d.packet)[d.offset :], hdr.src, hdr.dst)
        except ChecksumError:
            c.in_errs += 1
            c.bad_checksum += 1
            return
        except WireError:
            c.in_errs += 1
            c.malformed_drop += 1
            return
        c.in_segs += 1
        now = d.now
        if wire_ipv6.is_multicast(hdr.dst) or wire_ipv6.is_multicast(hdr.src):
            c.malformed_drop += 1  # RFC 9293 §3.9.2.1: TCP is unicast
            return
        conn = self.connections.get((hdr.dst, seg.dst_port, hdr.src, seg.src_port))
        if conn is not None:
            conn.segment_arrives(seg, now)
            return
        listener = self._listener(hdr.dst, seg.dst_port)
        if listener is None:
            c.no_connection_drop += 1
            self._reset_for(d, seg, now)
            return
        self._listen_input(listener, d, seg, now)

    def _listener(self, dst: IPv6Address, port: int) -> Connection | None:
        for conn in self.listeners.get(port, []):
            if conn.local_address in (dst, UNSPECIFIED):
                return conn
        return None

    def _listen_input(self, listener: Connection, d: Delivery, seg: TcpSegment, now: float) -> None:
        """RFC 9293 §3.10.7.2 LISTEN."""
        c = self.counters
        flags = seg.flags
        if flags & RST:
            # "An incoming RST should be ignored."
            TCP_GRAPH.fire(listener, "rst_received", now)
            return
        if flags & ACK:
            # RFC 4987 §3.6: while this listener hands out cookies, an ACK may bring one back.
            if not flags & SYN and now < listener.cookies_until:
                if self._cookie_ack(listener, d, seg, now):
                    return
                c.syn_cookies_failed += 1
            # "Any acknowledgment is bad if it arrives on a connection still in the LISTEN
            # state. An acceptable reset segment should be formed ... <SEQ=SEG.ACK><CTL=RST>".
            self._reset_for(d, seg, now)
            return
        if not flags & SYN:
            c.no_syn_drop += 1  # "drop the segment and return"
            return
        pending = len(listener.syn_queue) + len(listener.accept_queue)
        if pending >= listener.backlog:
            if self.params.syn_cookies and len(listener.accept_queue) < listener.backlog:
                # RFC 4987 §3.6: the SYN queue is full; answer without keeping state.
                self._send_cookie(listener, d, seg, now)
                return
            c.listen_overflow_drop += 1  # the SYN queue and backlog are bounded
            return
        if len(self.connections) >= self.params.max_connections:
            c.table_full_drop += 1
            return
        child = self._child(listener, d, seg, self._syn_attack())
        listener.syn_queue.add(child)
        self.half_open += 1
        c.passive_opens += 1
        child.listen_segment(seg, now)

    def _syn_attack(self) -> bool:
        """Windows' SynAttackProtect: whether the host is under a SYN attack now, by its
        two half-open thresholds (TcpMaxHalfOpen, TcpMaxHalfOpenRetried)."""
        p = self.params
        attack = p.syn_attack_protect and (
            self.half_open >= p.max_half_open
            or len(self.half_open_retried) >= p.max_half_open_retried
        )
        if attack != self.under_attack:
            self.under_attack = attack
            if attack:
                self.counters.syn_attack_entered += 1
            else:
                self.counters.syn_attack_left += 1
        return attack

    def syn_ack_retransmitted(self, child: Connection) -> None:
        """A connection in a SYN queue retransmits its SYN,ACK (TcpMaxHalfOpenRetried)."""
        if child.listener is not None and child in child.listener.syn_queue:
            self.half_open_retried.add(child)

    def leave_syn_queue(self, listener: Connection, child: Connection) -> None:
        """``child`` leaves ``listener``'s SYN queue (established, closed or dropped)."""
        if child in listener.syn_queue:
            listener.syn_queue.discard(child)
            self.half_open -= 1
            self.half_open_retried.discard(child)

    def _child(
        self, listener: Connection, d: Delivery, seg: TcpSegment, attack: bool = False
    ) -> Connection:
        """RFC 9293 §3.10.7.2: the connection a listener makes for a peer (a copy of it)."""
        hdr = d.header
        params = listener.params
        if attack:
            # RFC 4987 §3.3 "Reducing SYN-RECEIVED Timer", as Windows' SynAttackProtect
            # does it: fewer SYN,ACK retransmissions for a connection made under attack.
            limit = min(
                params.max_connect_retransmissions, self.params.syn_attack_response_retransmissions
            )
            params = replace(params, max_connect_retransmissions=limit)
            self.counters.syn_attack_reduced_retransmissions += 1
        zone = d.interface if (hdr.src.is_link_local or hdr.dst.is_link_local) else None
        child = Connection(
            self,
            hdr.dst,
            listener.local_port,
            hdr.src,
            seg.src_port,
            params,
            zone or listener.interface,
            passive=True,
            listener=listener,
        )
        child.nodelay = listener.nodelay
        child.keepalive = listener.keepalive
        child.receive_buffer = listener.receive_buffer
        self.connections[(hdr.dst, listener.local_port, hdr.src, seg.src_port)] = child
        return child

    def _send_cookie(self, listener: Connection, d: Delivery, seg: TcpSegment, now: float) -> None:
        """RFC 4987 §3.6: a SYN,ACK whose ISN is a cookie, with the options the SYN asked
        for that the cookie can bring back; no state is kept but the time cookies last."""
        hdr = d.header
        route = self.host.route(hdr.src, d.interface, now)
        if route is None:
            return
        mss_opt = seg.option(wire_tcp.MaxSegmentSize)
        peer_mss = mss_opt.mss if mss_opt is not None and mss_opt.mss > 0 else 536
        iss = self.cookies.make(hdr.dst, listener.local_port, hdr.src, seg.src_port, peer_mss, now)
        p = listener.params
        mss = interface_mss(route[0].mtu)
        opts: list[wire_tcp.TcpOption] = [wire_tcp.MaxSegmentSize(mss)]
        ts = seg.option(wire_tcp.Timestamps)
        _, window, shift = receive_window(
            listener.receive_buffer, mss, p.window_scaling, listener.rcv.receive_buffer_max
        )
        if ts is not None and p.timestamps:
            # Window scale and SACK-permitted only where the TSecr can bring them back.
            ws = seg.option(wire_tcp.WindowScale)
            peer_ws = min(ws.shift, 14) if ws is not None and p.window_scaling else None
            sack = seg.option(wire_tcp.SackPermitted) is not None and p.sack
            offset = self.cookies.ts_offset(hdr.dst, hdr.src)
            tsval = options_in_tsval((int(now * 1000) + offset) % sq.MOD, peer_ws, sack)
            if sack:
                opts.append(wire_tcp.SackPermitted())
            opts.append(wire_tcp.Timestamps(tsval, ts.tsval))
            if peer_ws is not None:
                opts += [wire_tcp.NoOperation(), wire_tcp.WindowScale(shift)]
        ack = (seg.seq + 1) % sq.MOD
        flags = SYN | ACK
        reply = TcpSegment(seg.dst_port, seg.src_port, iss, ack, flags, window, options=tuple(opts))
        listener.cookies_until = now + TICKS_VALID * COUNTER_PERIOD  # as long as one is good
        self.counters.syn_cookies_sent += 1
        self.counters.out_segs += 1
        body = reply.build(hdr.dst, hdr.src)
        self.host.ipv6.send_on(route[0], route[1], hdr.dst, hdr.src, 6, body, now)

    def _cookie_ack(self, listener: Connection, d: Delivery, seg: TcpSegment, now: float) -> bool:
        """RFC 4987 §3.6: the ACK of a cookie SYN,ACK: the connection, ESTABLISHED, from
        what the cookie (and the TSecr) carry. False when the ACK carries no cookie."""
        hdr = d.header
        iss = (seg.ack - 1) % sq.MOD
        mss = self.cookies.check(iss, hdr.dst, listener.local_port, hdr.src, seg.src_port, now)
        if mss is None:
            return False
        c = self.counters
        if len(listener.accept_queue) >= listener.backlog:
            c.listen_overflow_drop += 1
            return True
        if len(self.connections) >= self.params.max_connections:
            c.table_full_drop += 1
            return True
        child = self._child(listener, d, seg)
        c.syn_cookies_accepted += 1
        c.passive_opens += 1
        offset = self.cookies.ts_offset(hdr.dst, hdr.src)
        child.cookie_established(seg, iss, mss, offset, now)
        return True

    def child_established(self, child: Connection) -> None:
        listener = child.listener
        if listener is None:
            return
        self.leave_syn_queue(listener, child)
        listener.accept_queue.append(child)
        listener._notify()

    def entered_time_wait(self, conn: Connection) -> None:
        self.time_wait[conn] = None
        while len(self.time_wait) > self.params.max_time_wait:
            oldest, _ = self.time_wait.popitem(last=False)
            self.counters.time_wait_recycled += 1
            TCP_GRAPH.fire(oldest, "time_wait_expired", self.host.now)
            oldest._closed(self.host.now)

    def forget(self, conn: Connection) -> None:
        """The TCB is deleted (CLOSED, or a passive copy back in LISTEN)."""
        TCP_GRAPH.detach(conn)
        self.time_wait.pop(conn, None)
        self.stopped.pop(conn, None)
        if conn.remote_address is not None:
            key = (conn.local_address, conn.local_port, conn.remote_address, conn.remote_port)
            if self.connections.get(key) is conn:
                del self.connections[key]
        else:
            bound = self.listeners.get(conn.local_port, [])
            if conn in bound:
                bound.remove(conn)
            if not bound:
                self.listeners.pop(conn.local_port, None)
        if conn.listener is not None:
            self.leave_syn_queue(conn.listener, conn)
            if conn in conn.listener.accept_queue:
                conn.listener.accept_queue.remove(conn)

    # -- ICMPv6 errors (the control-message entry) ----------------------------------------
    def control(self, message: ControlMessage) -> None:
        quoted = message.upper
        if len(quoted) < 8:
            return
        sport = int.from_bytes(quoted[0:2], "big")
        dport = int.from_bytes(quoted[2:4], "big")
        seqno = int.from_bytes(quoted[4:8], "big")
        inv = message.invoking_header
        conn = self.connections.get((inv.src, sport, inv.dst, dport))
        if conn is None:
            return
        # RFC 5927 §4.1: act only on errors quoting a sequence number in flight.
        in_flight = sq.le(conn.snd_una, seqno) and sq.le(seqno, conn.snd_nxt)
        if not in_flight and not (conn.tcp_state is TcpState.SYN_SENT and seqno == conn.iss):
            return
        self.counters.icmp_errors += 1
        err = message.error
        now = message.now
        if isinstance(err, wire_icmp.PacketTooBig):
            conn.path_mtu_changed(now)
            return
        if isinstance(err, wire_icmp.DestinationUnreachable):
            hard = err.code in (wire_icmp.UNREACH_PORT, wire_icmp.UNREACH_ADMIN_PROHIBITED)
            if err.code == wire_icmp.UNREACH_PORT:
                exc: OSError = ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
            else:
                exc = OSError(errno.EHOSTUNREACH, "No route to host")
            conn.icmp_error(exc, hard, now)
        elif isinstance(err, wire_icmp.TimeExceeded):
            conn.icmp_error(OSError(errno.EHOSTUNREACH, "No route to host"), False, now)

    # -- timers -----------------------------------------------------------------------------
    def next_deadline(self) -> float | None:
        return self.timers.next_deadline()

    def poll(self, now: float) -> None:
        for conn, kind in self.timers.pop_due(now):
            conn.timer_expired(kind, now)

    def shutdown(self, now: float) -> int:
        """The host is stopping: every connection that still has a peer is reset (RFC 9293 §3.10.5
        ABORT: the peer learns at once instead of timing out), every listener closed.
        How many connections were reset."""
        reset = 0
        for conn in list(self.connections.values()):
            if conn.tcp_state in (TcpState.TIME_WAIT, TcpState.CLOSED):
                continue
            if conn.tcp_state is not TcpState.SYN_SENT:
                reset += 1
            conn.abort(now, ConnectionAbortedError(errno.ECONNABORTED, "host stopping"))
        for bound in list(self.listeners.values()):
            for listener in list(bound):
                listener.close(now)
        return reset

    # -- views ------------------------------------------------------------------------------
    def all_connections(self) -> list[Connection]:
        out = [c for bound in self.listeners.values() for c in bound]
        return out + list(self.connections.values())
