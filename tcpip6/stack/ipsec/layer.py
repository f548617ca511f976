"""IPsec processing of a host (RFC 4301 §5): outbound, SPD lookup and the SAs of a
PROTECT entry applied before fragmentation (RFC 4301 §7); inbound, AH and ESP found by
SPI, destination and protocol, the ICV checked, the replay window, and after
decapsulation the packet checked against the policy of the SAs it came through
(RFC 4301 §5.2). Every drop is counted by its reason (:class:`IpsecCounters`).

An empty SPD means IPsec is off: every packet is bypassed without a lookup.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv6Address
from typing import TYPE_CHECKING

from tcpip6.stack.counters import CounterSet
from tcpip6.stack.ipsec import transforms
from tcpip6.stack.ipsec.sad import (
    Mode,
    SaState,
    SecurityAssociation,
    SecurityAssociationDatabase,
)
from tcpip6.stack.ipsec.spd import (
    Action,
    Direction,
    PacketSelectors,
    SecurityPolicyDatabase,
    SpdEntry,
    packet_selectors,
    upper_selectors,
)
from tcpip6.stack.ipsec.transforms import ah_icv_field_len
from tcpip6.stack.machines.sa import GRAPH as SA_GRAPH
from tcpip6.wire import WireError
from tcpip6.wire import ipv6 as wire_ipv6
from tcpip6.wire.ipsec import AuthenticationHeader, EspHeader
from tcpip6.wire.ipv6 import Ipv6Header

if TYPE_CHECKING:
    from tcpip6.stack.host import Host
    from tcpip6.stack.ipv6 import Delivery

IPSEC_PROTOCOLS = frozenset({wire_ipv6.IPPROTO_ESP, wire_ipv6.IPPROTO_AH})

_SEQ_MAX = (1 << 32) - 1
_ESN_MAX = (1 << 64) - 1


@dataclass
class IpsecCounters(CounterSet):
    """Host-wide, like ``ip -s xfrm state`` and ``/proc/net/xfrm_stat`` (XfrmIn*)."""

    in_esp: int = 0
    in_ah: int = 0
    in_ok: int = 0
    in_bypass: int = 0
    in_truncated_drop: int = 0  # XfrmInHdrError
    in_unknown_spi_drop: int = 0  # XfrmInNoStates
    in_sa_expired_drop: int = 0  # XfrmInStateExpired
    in_replay_drop: int = 0  # XfrmInStateSeqError
    in_too_old_drop: int = 0  # left of the replay window (XfrmInStateSeqError)
    in_bad_icv_drop: int = 0  # XfrmInStateProtoError (integrity)
    in_padding_drop: int = 0
    in_mode_mismatch_drop: int = 0  # XfrmInStateModeError
    in_policy_mismatch_drop: int = 0  # XfrmInPolBlock: not the policy of its SAs
    in_unprotected_drop: int = 0  # XfrmInNoPols: PROTECT policy, arrived in clear
    in_discard_policy_drop: int = 0
    in_no_policy_drop: int = 0
    #: RFC 4301 §6: ICMPv6 errors judged by the packet they quote.
    in_icmp_error_via_sa: int = 0  # through an SA, quoting that SA's traffic
    in_icmp_payload_mismatch_drop: int = 0  # through an SA, quoting other traffic
    in_unprotected_icmp_error_drop: int = 0  # in the clear, quoting protected traffic
    out_ok: int = 0
    out_bypass: int = 0
    out_malformed_drop: int = 0
    out_no_policy_drop: int = 0  # XfrmOutNoStates / XfrmOutPolBlock
    out_discard_policy_drop: int = 0
    out_no_sa_drop: int = 0  # XfrmOutNoStates
    out_sa_expired_drop: int = 0  # XfrmOutStateExpired
    out_seq_overflow_drop: int = 0  # XfrmOutStateSeqError
    out_no_route_drop: int = 0
    out_icmp_error_mapped: int = 0  # RFC 4301 §6.2: sent on the return traffic's SA


class Ipsec:
    """The IPsec layer of one host: SPD, SAD, counters."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self.spd = SecurityPolicyDatabase()
        self.sad = SecurityAssociationDatabase()
        self.counters = IpsecCounters()
        #: The SAs the packet now being walked came through, outermost first (checked
        #: against their policy once it is decapsulated, RFC 4301 §5.2).
        self._through: list[SecurityAssociation] = []
        #: RFC 4301 §6.1.1: whether an ICMPv6 error that arrives in the clear but quotes
        #: a packet of protected traffic is accepted. A router on the path only ever sees
        #: that traffic as ESP or AH, so such an error was not made from a packet this
        #: host sent: it is discarded unless the administrator says otherwise.
        self.accept_unprotected_icmp_errors = False

    @property
    def enabled(self) -> bool:
        return bool(self.spd.entries)  # len(self.spd) > 0, asked for every packet sent

    def add_policy(self, entry: SpdEntry) -> None:
        self.spd.add(entry)

    def add_sa(self, sa: SecurityAssociation) -> None:
        self.sad.add(sa)
        if sa.trace_sink is None:
            sa.trace_sink = self.host.trace_sink

    def delete_sa(self, sa: SecurityAssociation, now: float) -> None:
        """RFC 2367 §3.1.4 SADB_DELETE: the SA is DEAD and leaves the SAD."""
        if sa.state is not SaState.DEAD:
            SA_GRAPH.fire(sa, "deleted", now)
        self.sad.remove(sa)

    # -- lifetimes (RFC 4301 §4.4.2.1) -------------------------------------------------
    def _lifetime(self, sa: SecurityAssociation, now: float) -> None:
        """Fire the SA graph's triggers for the limits reached at ``now``: past a hard
        limit (time or octets) DEAD, past a soft one DYING (RFC 4301 §4.4.2.1)."""
        if sa.state is SaState.DEAD:
            return
        lt, octets = sa.lifetime, sa.counters.octets
        age = now - sa.added
        if (lt.hard_seconds and age >= lt.hard_seconds) or (
            lt.hard_octets and octets >= lt.hard_octets
        ):
            SA_GRAPH.fire(sa, "hard_expired", now)
        elif (lt.soft_seconds and age >= lt.soft_seconds) or (
            lt.soft_octets and octets >= lt.soft_octets
        ):
            SA_GRAPH.fire(sa, "soft_expired", now)  # ignored when already DYING

    def _alive(self, sa: SecurityAssociation, now: float) -> bool:
        self._lifetime(sa, now)
        return sa.state is not SaState.DEAD

    def next_deadline(self) -> float | None:
        """The next time limit of an SA (octet limits are checked as octets count)."""
        best: float | None = None
        if not len(self.sad):
            return None
        for sa in self.sad.all():
            lt = sa.lifetime
            if sa.state is SaState.DEAD:
                continue
            for limit in (lt.soft_seconds if sa.state is SaState.MATURE else 0, lt.hard_seconds):
                if limit and (best is None or sa.added + limit < best):
                    best = sa.added + limit
        return best

    def poll(self, now: float) -> None:
        for sa in self.sad.all():
            self._lifetime(sa, now)

    def overhead(
        self,
        local: IPv6Address,
        remote: IPv6Address,
        next_layer: int,
        local_port: int | None = None,
        remote_port: int | None = None,
    ) -> int:
        """RFC 4301 §8.2.1: the octets AH and ESP add to a packet with these selectors
        (the most, padding included), so that an upper layer can size its packets to
        the path MTU less IPsec's part; 0 when the packet is not protected."""
        if not self.enabled:
            return 0
        sel = PacketSelectors(local, remote, next_layer, local_port, remote_port)
        entry = self.spd.lookup(sel, Direction.OUTBOUND)
        if entry is None or entry.action is not Action.PROTECT:
            return 0
        total = 0
        for template in entry.protect:
            sa = self.sad.outbound(entry.name, template.protocol)
            if sa is None:
                continue
            if sa.mode is Mode.TUNNEL:
                total += Ipv6Header.HEADER_LEN
            if sa.cipher is not None:  # ESP: header, IV, padding, trailer, ICV
                align = max(4, sa.cipher.block_size)
                total += EspHeader.HEADER_LEN + sa.cipher.iv_len + align - 1 + 2
                total += sa.icv_len()
            else:  # AH: the fixed part and the ICV field padded to 8 octets
                total += AuthenticationHeader.FIXED_LEN + ah_icv_field_len(sa.icv_len())
        return total

    # -- outbound (RFC 4301 §5.1) --------------------------------------------------------
    def outbound(self, packet: bytes, now: float) -> bytes | None:
        """The packet to send in place of ``packet`` (itself when bypassed), or None when
        it is discarded (counted)."""
        c = self.counters
        sel = packet_selectors(packet, Direction.OUTBOUND)
        if sel is None:
            c.out_malformed_drop += 1
            return None
        entry = self.spd.lookup(sel, Direction.OUTBOUND)
        if (entry is None or entry.action is Action.DISCARD) and _is_icmp_error(sel):
            # RFC 4301 §6.2: an ICMP error no entry lets out goes on the SA that would
            # carry the return traffic of the packet that triggered it (its addresses
            # and ports reversed); without one it is discarded, as counted below.
            mapped = self._return_traffic_entry(packet)
            if mapped is not None:
                c.out_icmp_error_mapped += 1
                entry = mapped
        if entry is None:
            c.out_no_policy_drop += 1  # RFC 4301 §5.1 step 3a: no match, discard
            return None
        if entry.action is Action.BYPASS:
            c.out_bypass += 1
            return packet
        if entry.action is Action.DISCARD:
            c.out_discard_policy_drop += 1
            return None
        bundle: list[SecurityAssociation] = []
        for template in entry.protect:
            sa = self.sad.outbound(entry.name, template.protocol)
            if sa is None:
                # RFC 4301 §5.1 step 3c: no SA and no key management to make one.
                c.out_no_sa_drop += 1
                return None
            if not self._alive(sa, now):
                c.out_sa_expired_drop += 1
                return None
            limit = _ESN_MAX if sa.esn else _SEQ_MAX
            if sa.sequence_number >= limit:
                # RFC 4303 §3.3.3: the counter never cycles; a new SA is needed.
                c.out_seq_overflow_drop += 1
                return None
            bundle.append(sa)
        for sa in bundle:
            # RFC 4301 §4.4.2.1: the octets this SA was handed count toward its lifetime.
            sa.counters.octets += len(packet)
            sa.sequence_number += 1
            seq = sa.sequence_number
            if sa.protocol == wire_ipv6.IPPROTO_ESP:
                assert sa.cipher is not None
                # RFC 4106 §3.1: the GCM/ChaCha20 IV must never repeat under one key:
                # the sequence number is such a counter. CBC needs an unpredictable one
                # (RFC 3602 §2.3), from the host's generator.
                if sa.cipher.aead:
                    iv = seq.to_bytes(8, "big")
                else:
                    iv = self.host.rng.randbytes(sa.cipher.iv_len)
                packet = transforms.esp_protect(sa, packet, seq, iv)
            else:
                packet = transforms.ah_protect(sa, packet, seq)
            sa.counters.packets += 1
            self._lifetime(sa, now)
        c.out_ok += 1
        return packet

    # -- inbound (RFC 4301 §5.2) ---------------------------------------------------------
    def receive_esp(self, d: Delivery) -> None:
        self.counters.in_esp += 1
        self._receive(d, wire_ipv6.IPPROTO_ESP)

    def receive_ah(self, d: Delivery) -> None:
        self.counters.in_ah += 1
        self._receive(d, wire_ipv6.IPPROTO_AH)

    def _receive(self, d: Delivery, protocol: int) -> None:
        c = self.counters
        header = EspHeader if protocol == wire_ipv6.IPPROTO_ESP else AuthenticationHeader
        try:
            parsed = header.parse(d.payload)
        except WireError:
            c.in_truncated_drop += 1
            return
        spi, seq_low = parsed.spi, parsed.sequence_number
        sa = self.sad.inbound(spi, d.header.dst, protocol)
        if sa is None:
            c.in_unknown_spi_drop += 1  # RFC 4303 §3.4.2: no SA, discard (auditable)
            return
        if not self._alive(sa, d.now):
            c.in_sa_expired_drop += 1
            return
        seq = sa.replay.infer_esn(seq_low) if sa.esn else seq_low
        if sa.replay.size:
            why = sa.replay.check(seq)  # RFC 4303 §3.4.3: before the ICV, cheaply
            if why is not None:
                sa.counters.replay += 1
                if why == "too_old":
                    c.in_too_old_drop += 1
                else:
                    c.in_replay_drop += 1
                return
        pointer = _nh_pointer(d)
        if pointer is None:
            c.in_truncated_drop += 1
            return
        if protocol == wire_ipv6.IPPROTO_ESP:
            opened = transforms.esp_open(sa, d.packet, d.offset, pointer, seq)
        else:
            opened = transforms.ah_open(sa, d.packet, d.offset, pointer, seq)
        if isinstance(opened, str):
            if opened == "integrity":
                sa.counters.integrity_failed += 1
                c.in_bad_icv_drop += 1
            elif opened == "padding":
                sa.counters.padding_failed += 1
                c.in_padding_drop += 1
            else:
                c.in_truncated_drop += 1
            return
        # RFC 4303 §3.4.3: the window moves only for authenticated packets.
        if sa.replay.size:
            sa.replay.update(seq)
        sa.counters.packets += 1
        sa.counters.octets += len(d.packet)
        self._lifetime(sa, d.now)
        if sa.mode is Mode.TUNNEL and opened.next_header != wire_ipv6.IPPROTO_IPV6:
            c.in_mode_mismatch_drop += 1
            return
        c.in_ok += 1
        self._through.append(sa)
        try:
            if sa.mode is Mode.TUNNEL:
                # RFC 4301 §5.2 step 4: the inner packet goes on as if it had arrived.
                self.host.ipv6.receive(d.interface, opened.packet, d.now)
            else:
                hdr = Ipv6Header.parse(opened.packet)
                if d.header.dst != hdr.dst:  # a Routing type 2 header named the home address
                    hdr = Ipv6Header(
                        hdr.traffic_class,
                        hdr.flow_label,
                        hdr.payload_length,
                        hdr.next_header,
                        hdr.hop_limit,
                        hdr.src,
                        d.header.dst,
                    )
                self.host.ipv6.continue_chain(
                    d.interface,
                    hdr,
                    opened.packet,
                    opened.next_header,
                    opened.offset,
                    opened.nh_pointer,
                    d.now,
                    fragmented=d.fragmented,
                )
        finally:
            self._through.pop()

    def inbound_permits(self, d: Delivery) -> bool:
        """RFC 4301 §5.2: may this packet, about to be delivered to its upper layer, be
        delivered? After AH/ESP it must match the policy its SAs were made for, with the
        same protocols and modes; in the clear, the first matching entry must be BYPASS."""
        c = self.counters
        if d.protocol == wire_ipv6.IPPROTO_ICMPV6 and d.payload[:1] and d.payload[0] < 128:
            verdict = self._icmp_error_permits(d)
            if verdict is not None:
                return verdict
        sel = upper_selectors(d.header.src, d.header.dst, d.protocol, d.payload)
        entry = self.spd.lookup(sel, Direction.INBOUND)
        if self._through:
            wanted = {(t.protocol, t.mode) for t in entry.protect} if entry else set()
            came = {(sa.protocol, sa.mode.value) for sa in self._through}
            if (
                entry is None
                or entry.action is not Action.PROTECT
                or any(sa.policy != entry.name for sa in self._through)
                or came != wanted
            ):
                for sa in self._through:
                    sa.counters.policy_mismatch += 1
                c.in_policy_mismatch_drop += 1
                return False
            return True
        if entry is None:
            c.in_no_policy_drop += 1
            return False
        if entry.action is Action.DISCARD:
            c.in_discard_policy_drop += 1
            return False
        if entry.action is Action.PROTECT:
            c.in_unprotected_drop += 1
            return False
        c.in_bypass += 1
        return True

    # -- ICMP (RFC 4301 §6) ----------------------------------------------------------------
    def _icmp_error_permits(self, d: Delivery) -> bool | None:
        """An ICMPv6 error (RFC 4443 §2.1: type < 128) judged by the packet it quotes,
        which this host sent (RFC 4301 §6); None: the error's own selectors decide."""
        c = self.counters
        quoted = packet_selectors(bytes(d.payload[8:]), Direction.OUTBOUND, quoted=True)
        if quoted is None:
            return None
        if self._through:
            # RFC 4301 §6.2: an error carried by an SA belongs to the traffic of that SA:
            # the packet it quotes must be one that SA's policy covers (the check the
            # error's sender made when it mapped the error to the SA).
            for sa in self._through:
                entry = self.spd.get(sa.policy)
                if (
                    entry is None
                    or entry.action is not Action.PROTECT
                    or not entry.matches(quoted, entry.direction or Direction.INBOUND)
                ):
                    sa.counters.policy_mismatch += 1
                    c.in_icmp_payload_mismatch_drop += 1
                    return False
            c.in_icmp_error_via_sa += 1
            return True
        if quoted.next_layer in IPSEC_PROTOCOLS:
            return None  # about an AH/ESP packet: a router's error, the SPD decides
        entry = self.spd.lookup(quoted, Direction.OUTBOUND)
        if (
            entry is not None
            and entry.action is Action.PROTECT
            and not self.accept_unprotected_icmp_errors
        ):
            c.in_unprotected_icmp_error_drop += 1  # RFC 4301 §6.1.1: configurable
            return False
        return None

    def _return_traffic_entry(self, packet: bytes) -> SpdEntry | None:
        """RFC 4301 §6.2: the PROTECT entry of the return traffic of the packet an
        outgoing ICMPv6 error quotes (that packet arrived here: seen inbound, its
        addresses and ports are already reversed into local and remote)."""
        try:
            hdr, payload = wire_ipv6.split(packet)
        except WireError:
            return None
        if hdr.next_header != wire_ipv6.IPPROTO_ICMPV6:
            return None  # this host's errors carry no extension header
        rev = packet_selectors(bytes(payload[8:]), Direction.INBOUND, quoted=True)
        if rev is None:
            return None
        entry = self.spd.lookup(rev, Direction.OUTBOUND)
        return entry if entry is not None and entry.action is Action.PROTECT else None


def _is_icmp_error(sel: PacketSelectors) -> bool:
    return (
        sel.next_layer == wire_ipv6.IPPROTO_ICMPV6
        and sel.icmp_type is not None
        and sel.icmp_type < 128  # RFC 4443 §2.1: the error messages
    )


def _nh_pointer(d: Delivery) -> int | None:
    """The offset of the Next Header field that named the header at ``d.offset``."""
    packet = d.packet
    nh, off, pointer = packet[6], Ipv6Header.HEADER_LEN, 6
    while off < d.offset:
        if off + 2 > len(packet):
            return None
        length = 8 if nh == wire_ipv6.IPPROTO_FRAGMENT else (packet[off + 1] + 1) * 8
        if nh == wire_ipv6.IPPROTO_AH:
            length = (packet[off + 1] + 2) * 4
        nh, pointer, off = packet[off], off, off + length
    return pointer if off == d.offset else None
