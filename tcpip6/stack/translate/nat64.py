"""Stateful NAT64 (RFC 6146): the Binding Information Bases and session tables of RFC 6146
RFC 6146 §3.1-§3.3, endpoint-independent mapping and filtering (RFC 6146 §3.5), an IPv4 address
pool with paired addresses and port-range preservation (RFC 6146 §3.5.1.1), session
lifetimes (RFC 6146 §4), hairpinning (RFC 6146 §3.8), and the TCP session state machine of
RFC 6146 §3.5.2 (the graph ``stack/machines/nat64_tcp.py``).

Sans-I/O like the rest of the core: :meth:`Nat64.translate_v6` and
:meth:`Nat64.translate_v4` take a packet and ``now``; :meth:`Nat64.poll` expires
sessions and returns what expiry sends (TCP probes, Port Unreachable for a stored SYN).
The header translation itself is SIIT's (RFC 6146 §3.7 refers to RFC 7915), with the
session's addresses; ports and ICMP identifiers are rewritten here, checksums carried.
"""

from __future__ import annotations

import heapq
import itertools
import random
import struct
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address

from tcpip6.stack.counters import CounterSet
from tcpip6.stack.machines import nat64_tcp
from tcpip6.stack.machines.graph import TraceSink
from tcpip6.stack.machines.nat64_tcp import Nat64TcpState as S
from tcpip6.stack.translate.headers import adjust, emit_v6, read_u16, read_v4, read_v6, write_u16
from tcpip6.stack.translate.rfc6052 import Rfc6052Prefix
from tcpip6.stack.translate.siit import Siit, SiitConfig, Translated
from tcpip6.wire import icmpv4 as v4
from tcpip6.wire import icmpv6 as v6
from tcpip6.wire.checksum import internet_checksum, upper_layer_checksum
from tcpip6.wire.ipv4 import IPPROTO_ICMP
from tcpip6.wire.ipv6 import IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, MIN_MTU

# RFC 6146 §4: lifetimes, in seconds.
UDP_MIN = 2 * 60
UDP_DEFAULT = 5 * 60
TCP_TRANS = 4 * 60
TCP_EST = 2 * 60 * 60 + 4 * 60
TCP_INCOMING_SYN = 6
ICMP_DEFAULT = 60

#: The BIB and session tables are bounded; past these a new mapping is refused and counted.
MAX_BIB_ENTRIES = 65536
MAX_SESSIONS = 65536

TCP_FLAGS_AT = 13
FLAG_FIN, FLAG_SYN, FLAG_RST = 0x01, 0x02, 0x04

Transport = tuple[IPv6Address, int]
Transport4 = tuple[IPv4Address, int]


@dataclass
class Nat64Counters(CounterSet):
    v6_in: int = 0
    v4_in: int = 0
    v6_translated: int = 0
    v4_translated: int = 0
    hairpinned: int = 0
    bib_created: int = 0
    bib_deleted: int = 0
    sessions_created: int = 0
    sessions_expired: int = 0
    tcp_probes_sent: int = 0
    v6_malformed_drop: int = 0
    v6_destination_not_prefix_drop: int = 0
    v6_protocol_unsupported_drop: int = 0
    v6_fragment_drop: int = 0
    v6_tcp_no_session_not_syn_drop: int = 0
    v4_malformed_drop: int = 0
    v4_destination_not_pool_drop: int = 0
    v4_protocol_unsupported_drop: int = 0
    v4_fragment_drop: int = 0
    v4_no_bib_entry_drop: int = 0
    v4_icmp_error_no_session_drop: int = 0
    v6_icmp_error_no_session_drop: int = 0
    v4_tcp_no_session_not_syn_drop: int = 0
    pool_exhausted_drop: int = 0
    bib_full_drop: int = 0
    sessions_full_drop: int = 0
    translate_drop: int = 0


@dataclass(eq=False)
class BibEntry:
    """RFC 6146 §3.1: X' (the IPv6 transport address) bound to T (the IPv4 one)."""

    protocol: int
    x: Transport
    t: Transport4
    sessions: int = 0
    static: bool = False


@dataclass(eq=False)
class Session:
    """RFC 6146 §3.2: one session table entry: (X', Y') on the IPv6 side, (T, Z) on the IPv4
    side, its lifetime and, for TCP, its state (a model of the nat64_tcp graph)."""

    protocol: int
    x: Transport
    y: Transport  # Y', the IPv4 peer's address in the prefix
    t: Transport4
    z: Transport4
    expires: float
    bib: BibEntry
    #: the IPv4 SYN held while in V4 INIT (RFC 6146 §3.5.2.2)
    stored_syn: bytes | None = None
    state: S = S.CLOSED
    trace_sink: TraceSink | None = None

    @property
    def trace_label(self) -> str:
        return f"[{self.x[0]}]:{self.x[1]}->{self.z[0]}:{self.z[1]}"


@dataclass
class Nat64Config:
    prefix: Rfc6052Prefix
    pool4: tuple[IPv4Network, ...]
    #: the translator's own addresses: the sources of the errors it sends
    ipv4_address: IPv4Address | None = None
    ipv6_address: IPv6Address | None = None
    mtu4: int = 1500
    mtu6: int = MIN_MTU
    udp_lifetime: float = UDP_DEFAULT
    icmp_lifetime: float = ICMP_DEFAULT
    #: RFC 6146 §4: the TCP lifetimes (the RFC's values unless configured)
    tcp_est: float = TCP_EST
    tcp_trans: float = TCP_TRANS
    tcp_incoming_syn: float = TCP_INCOMING_SYN
    max_bib_entries: int = MAX_BIB_ENTRIES
    max_sessions: int = MAX_SESSIONS


class _SessionMapping:
    """Addresses for SIIT while one packet of a session is translated: X <-> T, and the
    RFC 6052 prefix for the peer (RFC 6146 §3.7)."""

    def __init__(self, prefix: Rfc6052Prefix) -> None:
        self.prefix = prefix
        self.x: IPv6Address | None = None
        self.t: IPv4Address | None = None

    def to_v4(self, a: IPv6Address, local: bool) -> IPv4Address | None:
        if local:
            return self.t if a == self.x else None
        return self.prefix.extract(a)

    def to_v6(self, a: IPv4Address, local: bool) -> IPv6Address | None:
        if local:
            return self.x if a == self.t else None
        return self.prefix.embed(a)


def tcp_trigger(from_v6: bool, flags: int) -> str:
    """RFC 6146 §3.5.2: the segment as the graph sees it: RST, then SYN, then FIN."""
    side = "v6" if from_v6 else "v4"
    if flags & FLAG_RST:
        return f"{side}_rst"
    if flags & FLAG_SYN:
        return f"{side}_syn"
    if flags & FLAG_FIN:
        return f"{side}_fin"
    return f"{side}_other"


#: RFC 6146 §3.5.2.2: the lifetime a taken transition sets (None: left as it is).
def lifetime_after(
    old: S,
    new: S,
    est: float = TCP_EST,
    trans: float = TCP_TRANS,
    incoming_syn: float = TCP_INCOMING_SYN,
) -> float | None:
    if new is S.V6_INIT:
        return trans
    if new is S.V4_INIT:
        return incoming_syn
    if new is S.ESTABLISHED:
        return est
    if new in (S.V4_FIN_RCV, S.V6_FIN_RCV):
        return None if old is S.ESTABLISHED else est
    if new in (S.V4_FIN_V6_FIN_RCV, S.TRANS):
        return trans
    return None


class Nat64:
    def __init__(
        self,
        config: Nat64Config,
        rng: random.Random | None = None,
        trace_sink: TraceSink | None = None,
    ) -> None:
        self.config = config
        self.rng = rng or random.Random(0)
        self.trace_sink = trace_sink
        self.counters = Nat64Counters()
        self._mapping = _SessionMapping(config.prefix)
        self.siit = Siit(
            SiitConfig(
                self._mapping, config.ipv4_address, config.ipv6_address, config.mtu4, config.mtu6
            ),
            rng=self.rng,
        )
        self.pool = [
            a for net in config.pool4 for a in (net if net.num_addresses == 1 else net.hosts())
        ]
        # RFC 6146 §3.1: one BIB per protocol, searchable by X' and by T.
        self.bib_by_x: dict[tuple[int, Transport], BibEntry] = {}
        self.bib_by_t: dict[tuple[int, Transport4], BibEntry] = {}
        # RFC 6146 §3.2: sessions, searchable from each side.
        self.sessions_v6: dict[tuple[int, Transport, Transport], Session] = {}
        self.sessions_v4: dict[tuple[int, Transport4, Transport4], Session] = {}
        self._paired: dict[IPv6Address, IPv4Address] = {}
        self._deadlines: list[tuple[float, int, Session]] = []
        self._seq = itertools.count()

    # -- tables ----------------------------------------------------------------------------
    def _allocate(self, protocol: int, x: Transport) -> BibEntry | None:
        """RFC 6146 §3.5.1.1: an IPv4 transport address for X': the address paired with X's
        IPv6 address if any (RFC 4787 REQ-2), the same port if free, else one from the same
        range (0-1023 or 1024-65535)."""
        if len(self.bib_by_x) >= self.config.max_bib_entries:
            self.counters.bib_full_drop += 1
            return None
        addresses = [self._paired[x[0]]] if x[0] in self._paired else []
        addresses += [a for a in self.pool if a not in addresses]
        low, high = (1, 1023) if x[1] < 1024 else (1024, 65535)
        for addr in addresses:
            if (protocol, (addr, x[1])) not in self.bib_by_t:
                port = x[1]
            else:
                port = -1
                for _ in range(64):
                    cand = self.rng.randint(low, high)
                    if (protocol, (addr, cand)) not in self.bib_by_t:
                        port = cand
                        break
                if port < 0:
                    continue
            entry = BibEntry(protocol, x, (addr, port))
            self.bib_by_x[(protocol, x)] = entry
            self.bib_by_t[(protocol, entry.t)] = entry
            self._paired.setdefault(x[0], addr)
            self.counters.bib_created += 1
            return entry
        self.counters.pool_exhausted_drop += 1
        return None

    def add_static(self, protocol: int, x: Transport, t: Transport4) -> BibEntry:
        """A manually configured BIB entry (RFC 6146 §3.1): an IPv6 server reachable from
        IPv4 at T."""
        entry = BibEntry(protocol, x, t, static=True)
        self.bib_by_x[(protocol, x)] = entry
        self.bib_by_t[(protocol, t)] = entry
        return entry

    def _new_session(
        self, bib: BibEntry, y: Transport, z: Transport4, now: float, lifetime: float
    ) -> Session | None:
        if len(self.sessions_v6) >= self.config.max_sessions:
            self.counters.sessions_full_drop += 1
            return None
        s = Session(bib.protocol, bib.x, y, bib.t, z, now + lifetime, bib)
        if bib.protocol == IPPROTO_TCP:
            s.trace_sink = self.trace_sink
            nat64_tcp.GRAPH.attach(s)
        bib.sessions += 1
        self.sessions_v6[(bib.protocol, s.x, s.y)] = s
        self.sessions_v4[(bib.protocol, s.t, s.z)] = s
        self.counters.sessions_created += 1
        self._arm(s)
        return s

    def _arm(self, s: Session) -> None:
        heapq.heappush(self._deadlines, (s.expires, next(self._seq), s))

    def _delete(self, s: Session) -> None:
        self.sessions_v6.pop((s.protocol, s.x, s.y), None)
        self.sessions_v4.pop((s.protocol, s.t, s.z), None)
        if s.protocol == IPPROTO_TCP:
            nat64_tcp.GRAPH.detach(s)
        s.bib.sessions -= 1
        # RFC 6146 §3.5.1: a dynamic BIB entry goes with its last session.
        if s.bib.sessions == 0 and not s.bib.static:
            self.bib_by_x.pop((s.protocol, s.bib.x), None)
            self.bib_by_t.pop((s.protocol, s.bib.t), None)
            self.counters.bib_deleted += 1

    def _packet_of(self, s: Session, protocol: int, tcp_event: str, now: float) -> None:
        """A packet of session ``s`` goes through: a TCP one is ``tcp_event`` to the session's
        state machine (RFC 6146 §3.5.2); a UDP or ICMP one sets the lifetime to UDP_DEFAULT or
        ICMP_DEFAULT again (RFC 6146 §3.5.1, RFC 6146 §3.5.3)."""
        if protocol == IPPROTO_TCP:
            self._tcp_event(s, tcp_event, now)
            return
        c = self.config
        s.expires = now + (c.udp_lifetime if protocol == IPPROTO_UDP else c.icmp_lifetime)
        self._arm(s)

    def _tcp_event(self, s: Session, trigger: str, now: float) -> None:
        old = s.state
        ignored = (old.name, trigger) in nat64_tcp.GRAPH.ignored
        nat64_tcp.GRAPH.fire(s, trigger, now)
        if not ignored:
            life = self._lifetime_after(old, s.state)
            if life is not None:
                s.expires = now + life
                self._arm(s)

    def _lifetime_after(self, old: S, new: S) -> float | None:
        c = self.config
        return lifetime_after(old, new, c.tcp_est, c.tcp_trans, c.tcp_incoming_syn)

    # -- time --------------------------------------------------------------------------------
    def next_deadline(self) -> float | None:
        return self._deadlines[0][0] if self._deadlines else None

    def poll(self, now: float) -> list[bytes]:
        """Expire what is due (RFC 6146 §3.5.2.2, RFC 6146 §4); returns packets expiry sends."""
        out: list[bytes] = []
        while self._deadlines and self._deadlines[0][0] <= now:
            due, _, s = heapq.heappop(self._deadlines)
            if s.expires != due or (s.protocol, s.x, s.y) not in self.sessions_v6:
                continue  # re-armed later, or gone
            if s.protocol != IPPROTO_TCP:
                self.counters.sessions_expired += 1
                self._delete(s)
                continue
            old = s.state
            nat64_tcp.GRAPH.fire(s, "lifetime_expired", now)
            if s.state is not S.CLOSED:
                # RFC 6146 §3.5.2.2: ESTABLISHED expires into TRANS (TCP_TRANS), after a
                # probe to the IPv6 endpoint.
                s.expires = now + (self._lifetime_after(old, s.state) or self.config.tcp_trans)
                self._arm(s)
                if old is S.ESTABLISHED:
                    out.append(self._probe(s))
                    self.counters.tcp_probes_sent += 1
                continue
            if old is S.V4_INIT and s.stored_syn is not None:
                err = self.siit._icmp4_error(
                    memoryview(s.stored_syn), s.z[0], v4.DESTINATION_UNREACHABLE,
                    v4.PORT_UNREACHABLE, 0,
                )  # fmt: skip
                if err is not None:
                    out.append(err)
            self.counters.sessions_expired += 1
            self._delete(s)
        return out

    def _probe(self, s: Session) -> bytes:
        """RFC 6146 §3.5.2.2: a TCP segment with no data, SEQ and ACK zero, only ACK set,
        from Y' to X'."""
        seg = bytearray(20)
        struct.pack_into("!HHIIBBHHH", seg, 0, s.y[1], s.x[1], 0, 0, 5 << 4, 0x10, 0, 0, 0)
        write_u16(seg, 16, upper_layer_checksum(s.y[0], s.x[0], IPPROTO_TCP, seg))
        hdr = bytearray(40)
        emit_v6(hdr, 0, 20, IPPROTO_TCP, 64, s.y[0], s.x[0])
        return bytes(hdr + seg)

    # -- IPv6 -> IPv4 (RFC 6146 §3.4, RFC 6146 §3.5) -----------------------------------------------
    def translate_v6(self, packet: bytes | bytearray | memoryview, now: float) -> Translated:
        self.counters.v6_in += 1
        buf = bytearray(packet)
        h = read_v6(buf)
        if h is None or 40 + h.payload_length > len(buf):
            return self._drop("v6_malformed_drop")
        y4 = self.config.prefix.extract(h.dst)
        if y4 is None:
            return self._drop("v6_destination_not_prefix_drop")
        if h.fragment is not None:
            return self._drop("v6_fragment_drop")  # RFC 6146 §3.4 reassembly: not done
        off = h.upper_offset
        if h.protocol == IPPROTO_ICMPV6 and len(buf) > off and buf[off] < 128:
            return self._icmp6_error_out(buf, off, h.src, h.dst)
        key = _ports6(h.protocol, buf, off)
        if key is None:
            return self._drop("v6_protocol_unsupported_drop")
        protocol, sport, dport, flags = key
        x: Transport = (h.src, sport)
        y: Transport = (h.dst, dport)
        s = self.sessions_v6.get((protocol, x, y))
        if s is None:
            if protocol == IPPROTO_TCP and (not flags & FLAG_SYN or flags & FLAG_RST):
                return self._drop("v6_tcp_no_session_not_syn_drop")
            bib = self.bib_by_x.get((protocol, x)) or self._allocate(protocol, x)
            if bib is None:
                return Translated(drop="pool_exhausted_drop")
            # RFC 6146 §3.5.1 (ICMP: RFC 6146 §3.5.3): Z is the peer's IPv4 address and port; for
            # ICMP the identifier is T's on both sides.
            z: Transport4 = (y4, dport if protocol != IPPROTO_ICMPV6 else bib.t[1])
            life = {
                IPPROTO_UDP: self.config.udp_lifetime,
                IPPROTO_ICMPV6: self.config.icmp_lifetime,
            }
            s = self._new_session(bib, y, z, now, life.get(protocol, self.config.tcp_trans))
            if s is None:
                return Translated(drop="sessions_full_drop")
        self._packet_of(s, protocol, tcp_trigger(True, flags), now)
        # Rewrite the source port (or the ICMP identifier) to T's, then SIIT.
        _rewrite_port(buf, off, protocol, at=0 if protocol != IPPROTO_ICMPV6 else 4, new=s.t[1])
        r = self._through_siit(buf, s, from_v4=False, counted=False)
        if r.drop is not None:
            return r
        if y4 in self.pool:
            # RFC 6146 §3.8: hairpinning: the IPv4 packet is for our own pool; it goes
            # through the IPv4 -> IPv6 path and back to the IPv6 side.
            self.counters.hairpinned += 1
            back = [self.translate_v4(p, now) for p in r.packets]
            return Translated(hairpinned=tuple(p for b in back for p in b.packets))
        self.counters.v6_translated += 1
        return r

    # -- IPv4 -> IPv6 (RFC 6146 §3.4, RFC 6146 §3.5) -----------------------------------------------
    def translate_v4(self, packet: bytes | bytearray | memoryview, now: float) -> Translated:
        self.counters.v4_in += 1
        buf = bytearray(packet)
        h = read_v4(buf)
        if h is None or h.total_length > len(buf) or internet_checksum(buf[: h.ihl]) != 0:
            return self._drop("v4_malformed_drop")
        if h.dst not in self.pool:
            return self._drop("v4_destination_not_pool_drop")
        if h.is_fragment:
            return self._drop("v4_fragment_drop")  # RFC 6146 §3.4 reassembly: not done
        off = h.ihl
        if h.protocol == IPPROTO_ICMP and len(buf) > off and buf[off] in v4.ERROR_TYPES:
            return self._icmp4_error_in(buf, off, now)
        key = _ports4(h.protocol, buf, off)
        if key is None:
            return self._drop("v4_protocol_unsupported_drop")
        protocol, sport, dport, flags = key
        # ICMP Query: the identifier stands for both ports (RFC 6146 §3.5.3).
        t: Transport4 = (h.dst, dport)
        z: Transport4 = (h.src, sport)
        s = self.sessions_v4.get((protocol, t, z))
        if s is None:
            # RFC 6146 §3.5.1.2 / RFC 6146 §3.5.2.2: endpoint-independent filtering: any peer may
            # reach T while its BIB entry exists.
            bib = self.bib_by_t.get((protocol, t))
            if bib is None:
                return self._drop("v4_no_bib_entry_drop")
            if protocol == IPPROTO_TCP and (not flags & FLAG_SYN or flags & FLAG_RST):
                return self._drop("v4_tcp_no_session_not_syn_drop")
            y6 = self.config.prefix.embed(h.src)
            if y6 is None:
                return self._drop("v4_malformed_drop")
            y: Transport = (y6, sport if protocol != IPPROTO_ICMP else bib.x[1])
            life = {IPPROTO_UDP: self.config.udp_lifetime, IPPROTO_ICMP: self.config.icmp_lifetime}
            s = self._new_session(bib, y, z, now, life.get(protocol, self.config.tcp_incoming_syn))
            if s is None:
                return Translated(drop="sessions_full_drop")
            if protocol == IPPROTO_TCP:
                s.stored_syn = bytes(buf)
        self._packet_of(s, protocol, tcp_trigger(False, flags), now)
        _rewrite_port(buf, off, protocol, at=2 if protocol != IPPROTO_ICMP else 4, new=s.x[1])
        return self._through_siit(buf, s, from_v4=True)

    # -- ICMP errors about a session's packets (RFC 6146 §3.4, RFC 6146 §3.5.4) --------------------
    def _icmp4_error_in(self, buf: bytearray, off: int, now: float) -> Translated:
        """An ICMPv4 error about a packet the NAT64 sent from T to Z: the session is found
        from the quoted packet, the quoted source port (or identifier) is X's again, and
        SIIT translates the rest with the session's addresses (RFC 6146 §3.4)."""
        inner = off + 8
        q = read_v4(buf[inner:])
        if q is None:
            return self._drop("v4_icmp_error_no_session_drop")
        key = _ports4(q.protocol, buf, inner + q.ihl, quoted=True)
        if key is None:
            return self._drop("v4_icmp_error_no_session_drop")
        protocol, sport, dport, _ = key
        s = self.sessions_v4.get((protocol, (q.src, sport), (q.dst, dport)))
        if s is None:
            return self._drop("v4_icmp_error_no_session_drop")
        at = 0 if protocol != IPPROTO_ICMPV6 else 4
        _rewrite_port(buf, inner + q.ihl, q.protocol, at=at, new=s.x[1], quoted=True)
        # the ICMPv4 checksum covers the whole message (RFC 792)
        write_u16(buf, off + 2, 0)
        write_u16(buf, off + 2, internet_checksum(buf[off:]))
        return self._through_siit(buf, s, from_v4=True)

    def _icmp6_error_out(
        self, buf: bytearray, off: int, src: IPv6Address, dst: IPv6Address
    ) -> Translated:
        """An ICMPv6 error from X about a packet from Y' (RFC 6146 §3.4): the quoted
        destination port becomes T's."""
        inner = off + 8
        q = read_v6(buf[inner:])
        if q is None:
            return self._drop("v6_icmp_error_no_session_drop")
        key = _ports6(q.protocol, buf, inner + q.upper_offset, quoted=True)
        if key is None:
            return self._drop("v6_icmp_error_no_session_drop")
        protocol, sport, dport, _ = key
        s = self.sessions_v6.get((protocol, (q.dst, dport), (q.src, sport)))
        if s is None:
            return self._drop("v6_icmp_error_no_session_drop")
        at = 2 if protocol != IPPROTO_ICMPV6 else 4
        _rewrite_port(buf, inner + q.upper_offset, q.protocol, at=at, new=s.t[1], quoted=True)
        write_u16(buf, off + 2, 0)
        write_u16(buf, off + 2, upper_layer_checksum(src, dst, IPPROTO_ICMPV6, buf[off:]))
        return self._through_siit(buf, s, from_v4=False)

    def _through_siit(
        self, buf: bytearray, s: Session, *, from_v4: bool, counted: bool = True
    ) -> Translated:
        """SIIT with the session's addresses (RFC 6146 §3.4, RFC 6146 §3.5); a drop is
        counted, and with ``counted`` the translated packet too."""
        self._mapping.x, self._mapping.t = s.x[0], s.t[0]
        r = self.siit.translate_v4(buf) if from_v4 else self.siit.translate_v6(buf)
        if r.drop is not None:
            self.counters.translate_drop += 1
        elif counted:
            if from_v4:
                self.counters.v4_translated += 1
            else:
                self.counters.v6_translated += 1
        return r

    def _drop(self, reason: str) -> Translated:
        self.counters.increment(reason)
        return Translated(drop=reason)


def _ports(
    nh: int, buf: bytearray, off: int, icmp: int, echo: tuple[int, ...], quoted: bool
) -> tuple[int, int, int, int] | None:
    """(protocol, source port, destination port, TCP flags) of a TCP, UDP or ICMP Echo
    packet, the same on either side: ``icmp`` is the side's ICMP protocol number and
    ``echo`` the Echo types taken. ICMP's identifier stands for both ports, and its sessions
    are keyed by IPPROTO_ICMPV6 on both sides. A ``quoted`` packet (inside an ICMP error)
    may be cut short after its ports."""
    need = 4 if quoted else (20 if nh == IPPROTO_TCP else 8)
    if nh in (IPPROTO_TCP, IPPROTO_UDP) and len(buf) >= off + need:
        flags = buf[off + TCP_FLAGS_AT] if nh == IPPROTO_TCP and len(buf) > off + 13 else 0
        return nh, read_u16(buf, off), read_u16(buf, off + 2), flags
    if nh == icmp and len(buf) >= off + 8 and buf[off] in echo:
        ident = read_u16(buf, off + 4)
        return IPPROTO_ICMPV6, ident, ident, 0
    return None


def _ports6(
    nh: int, buf: bytearray, off: int, quoted: bool = False
) -> tuple[int, int, int, int] | None:
    """:func:`_ports` of an IPv6 packet: an Echo Request, or (quoted) either Echo."""
    echo = (v6.ECHO_REQUEST, v6.ECHO_REPLY) if quoted else (v6.ECHO_REQUEST,)
    return _ports(nh, buf, off, IPPROTO_ICMPV6, echo, quoted)


def _ports4(
    proto: int, buf: bytearray, off: int, quoted: bool = False
) -> tuple[int, int, int, int] | None:
    """:func:`_ports` of an IPv4 packet: an Echo Reply, or (quoted) either Echo."""
    echo = (v4.ECHO_REPLY, v4.ECHO_REQUEST) if quoted else (v4.ECHO_REPLY,)
    return _ports(proto, buf, off, IPPROTO_ICMP, echo, quoted)


def _rewrite_port(
    buf: bytearray, off: int, protocol: int, at: int, new: int, quoted: bool = False
) -> None:
    """Put ``new`` at ``off + at`` and carry the checksum (RFC 1624) when there is one (a
    quoted packet cut short before its checksum keeps only the port)."""
    old = read_u16(buf, off + at)
    if old == new:
        return
    write_u16(buf, off + at, new)
    csum_at = {IPPROTO_TCP: 16, IPPROTO_UDP: 6}.get(protocol, 2)
    if quoted and len(buf) < off + csum_at + 2:
        return
    csum = read_u16(buf, off + csum_at)
    if protocol == IPPROTO_UDP and csum == 0:
        return  # no checksum (IPv4): SIIT computes one (RFC 7915 §4.5)
    fixed = adjust(csum, old, new)
    write_u16(buf, off + csum_at, 0xFFFF if protocol == IPPROTO_UDP and fixed == 0 else fixed)
