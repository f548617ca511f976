"""The correspondent node of Mobile IPv6 (RFC 6275 §9).

What it does, section by section of RFC 6275:

* RFC 6275 §9.2: Mobility Header input: checksum, Payload Proto (59, else Parameter
  Problem), Header Len (at least the message, else Parameter Problem), unknown MH Type
  (Binding Error, status 2);
* RFC 6275 §9.3.1: a packet with a Home Address option is accepted only for an existing
  binding of that home address to the packet's source (the home address then stands in
  the source for the rest of the chain) or when it carries a Binding Update; otherwise it
  is dropped and a Binding Error (status 1) goes back, rate-limited;
* RFC 6275 §9.3.2: packets to a home address with a binding go to the care-of address in
  a type 2 routing header (the hook in :meth:`CorrespondentNode.route_optimise`);
* RFC 6275 §9.4.1, §9.4.2: Home Test Init and Care-of Test Init are answered with Home
  Test and Care-of Test (keygen tokens of RFC 6275 §5.2.5);
* RFC 6275 §9.5: Binding Update processing (nonces, Authenticator, sequence numbers modulo
  2^16, lifetime at most MAX_RR_BINDING_LIFETIME, deregistration) and Binding
  Acknowledgements (RFC 6275 §9.5.4); Binding Refresh Requests before a used binding
  expires (RFC 6275 §9.5.5).

Enabled per host with :func:`enable_correspondent`; the host's receive and send paths call
it only when it is there.
"""

from __future__ import annotations

import dataclasses
import hmac
from dataclasses import dataclass
from ipaddress import IPv6Address
from typing import TYPE_CHECKING

from tcpip6.stack.counters import CounterSet
from tcpip6.stack.mobility import return_routability as rr
from tcpip6.stack.mobility.binding_cache import (
    DEFAULT_CAPACITY,
    BindingCache,
    BindingExpired,
    BindingRefreshDue,
    sequence_greater,
)
from tcpip6.wire import WireError
from tcpip6.wire import ext as wire_ext
from tcpip6.wire import icmpv6 as wire_icmp
from tcpip6.wire import mobility as wire_mh
from tcpip6.wire.errors import ChecksumError
from tcpip6.wire.ipv6 import IPPROTO_NONE, IPPROTO_ROUTING, Ipv6Header

if TYPE_CHECKING:
    from tcpip6.stack.host import Host
    from tcpip6.stack.ipv6 import Delivery
    from tcpip6.stack.mobility.home_agent import HomeAgent

#: RFC 6275 §12: the longest binding return routability may authorise, in seconds.
MAX_RR_BINDING_LIFETIME = 420
#: RFC 6275 §9.3.1 asks that Binding Errors be rate-limited without a number: at most one
#: every BE_MIN_INTERVAL seconds here.
BE_MIN_INTERVAL = 1.0
#: Options a correspondent recognises in a Destination Options header (RFC 6275 §6.3).
KNOWN_DESTINATION_OPTIONS = frozenset({wire_mh.HOME_ADDRESS_OPTION})


@dataclass
class MobilityCounters(CounterSet):
    """What the correspondent received, sent and dropped (each drop counted once)."""

    mh_received: int = 0
    mh_checksum_drop: int = 0
    mh_malformed_drop: int = 0
    mh_payload_proto_drop: int = 0  # RFC 6275 §9.2: Parameter Problem code 0
    mh_header_len_drop: int = 0  # RFC 6275 §9.2: Parameter Problem code 0
    mh_unknown_type_drop: int = 0  # RFC 6275 §9.2: Binding Error status 2
    mh_not_for_correspondent_drop: int = 0  # BA, HoT, CoT, BRR, BE: a mobile node's
    test_init_with_hao_drop: int = 0  # RFC 6275 §9.4.1, RFC 6275 §9.4.2
    home_tests_sent: int = 0
    care_of_tests_sent: int = 0
    bu_received: int = 0
    bu_bad_address_drop: int = 0  # RFC 6275 §9.5.1: home or care-of address not unicast
    bu_missing_options_drop: int = 0  # RFC 6275 §9.5.1: no Nonce Indices or Auth Data
    bu_auth_not_last_drop: int = 0  # RFC 6275 §6.2.7: Binding Auth Data must be last
    bu_authenticator_drop: int = 0  # RFC 6275 §9.5.1: silently discarded
    bu_home_registration_refused: int = 0  # status 131
    bu_expired_nonce_refused: int = 0  # status 136, 137, 138
    bu_sequence_refused: int = 0  # status 135
    bu_no_room_refused: int = 0  # status 130
    bu_accepted: int = 0
    bu_lifetime_reduced: int = 0  # RFC 6275 §9.5.2: more than MAX_RR_BINDING_LIFETIME
    deregistrations: int = 0
    ba_sent: int = 0
    bindings_expired: int = 0
    brr_sent: int = 0
    hao_accepted: int = 0
    hao_malformed_drop: int = 0
    hao_no_binding_drop: int = 0  # RFC 6275 §9.3.1: Binding Error status 1
    be_sent: int = 0
    be_rate_limited: int = 0
    route_optimised: int = 0  # packets sent with a type 2 routing header (RFC 6275 §9.3.2)


class CorrespondentNode:
    """RFC 6275 §9 for one host: the Binding Cache, the nonces, the message handlers."""

    def __init__(
        self, host: Host, capacity: int = DEFAULT_CAPACITY, kcn: bytes | None = None
    ) -> None:
        self.host = host
        self.counters = MobilityCounters()
        self.cache = BindingCache(capacity, label=f"{host.name} ")
        self.cache.trace_sink = host.trace_sink
        self.nonces = rr.NonceTable(host.rng, kcn)
        self._last_binding_error: float | None = None
        #: The home agent this node also is (RFC 6275 §10), which takes home registrations.
        self.home_agent: HomeAgent | None = None

    # -- receive: the Mobility Header (RFC 6275 §9.2) ---------------------------------------
    def _header_field_problem(self, d: Delivery, original: Ipv6Header, pointer: int) -> None:
        """RFC 6275 §9.2: ICMPv6 Parameter Problem, code 0 (erroneous header field), with
        ``pointer`` at the offending field of the Mobility Header."""
        self.host.icmpv6.parameter_problem(
            d.interface, original, d.packet, wire_icmp.PARAM_PROBLEM_HEADER_FIELD, pointer, d.now
        )

    def receive(self, d: Delivery) -> None:
        c = self.counters
        c.mh_received += 1
        buf = d.payload
        original = Ipv6Header.parse(d.packet)
        if len(buf) >= 8:
            kind = wire_mh.MESSAGE_CLASSES.get(buf[2])
            if kind is not None and (buf[1] + 1) * 8 - wire_mh.HEADER_LEN < kind.FIXED_LEN:
                # RFC 6275 §9.2: Header Len shorter than the message: Parameter Problem
                # code 0 pointing at Header Len.
                c.mh_header_len_drop += 1
                self._header_field_problem(d, original, d.offset + 1)
                return
        try:
            mh = wire_mh.MobilityHeader.parse(buf, d.header.src, d.header.dst)
        except ChecksumError:
            c.mh_checksum_drop += 1  # RFC 6275 §9.2: silently discarded
            return
        except WireError:
            c.mh_malformed_drop += 1
            return
        if mh.payload_proto != IPPROTO_NONE:
            # RFC 6275 §9.2: Parameter Problem code 0 pointing at Payload Proto.
            c.mh_payload_proto_drop += 1
            self._header_field_problem(d, original, d.offset)
            return
        msg = mh.message
        home = d.header.src
        care_of = original.src
        with_hao = home != care_of
        if isinstance(msg, wire_mh.UnknownMessage):
            # RFC 6275 §9.2: Binding Error status 2 to the source of the packet.
            c.mh_unknown_type_drop += 1
            hao_home = home if with_hao else wire_mh.UNSPECIFIED
            self._binding_error(
                care_of, d.header.dst, wire_mh.BE_UNRECOGNIZED_MH_TYPE, hao_home, d.now
            )
        elif isinstance(msg, wire_mh.HomeTestInit | wire_mh.CareOfTestInit):
            if with_hao:
                c.test_init_with_hao_drop += 1  # RFC 6275 §9.4.1, RFC 6275 §9.4.2
                return
            self._test_init(msg, care_of, d.header.dst, d.now)
        elif isinstance(msg, wire_mh.BindingUpdate):
            c.bu_received += 1
            self._binding_update(mh, msg, home, care_of, d.header.dst, d.now)
        else:
            c.mh_not_for_correspondent_drop += 1

    # -- return routability (RFC 6275 §9.4) ---------------------------------------------
    def _test_init(
        self,
        msg: wire_mh.HomeTestInit | wire_mh.CareOfTestInit,
        peer: IPv6Address,
        ours: IPv6Address,
        now: float,
    ) -> None:
        nonce = self.nonces.current_nonce(now)
        kcn = self.nonces.kcn
        reply: wire_mh.MhMessage
        if isinstance(msg, wire_mh.HomeTestInit):
            # RFC 6275 §9.4.1: to the home address (through the home agent), no RH2.
            token = rr.home_keygen_token(kcn, peer, nonce.value)
            reply = wire_mh.HomeTest(nonce.index, msg.home_init_cookie, token)
            self.counters.home_tests_sent += 1
        else:
            # RFC 6275 §9.4.2: straight back to the care-of address.
            token = rr.care_of_keygen_token(kcn, peer, nonce.value)
            reply = wire_mh.CareOfTest(nonce.index, msg.care_of_init_cookie, token)
            self.counters.care_of_tests_sent += 1
        self.send_mh(wire_mh.MobilityHeader.aligned(reply), peer, None, ours, now)

    # -- Binding Update (RFC 6275 §9.5) -------------------------------------------------
    def _binding_update(
        self,
        mh: wire_mh.MobilityHeader,
        bu: wire_mh.BindingUpdate,
        home: IPv6Address,
        care_of: IPv6Address,
        ours: IPv6Address,
        now: float,
    ) -> None:
        c = self.counters
        alternate = mh.option(wire_mh.AlternateCareOfAddress)
        if isinstance(alternate, wire_mh.AlternateCareOfAddress):
            care_of = alternate.address  # RFC 6275 §9.5.1
        if not _unicast(home) or not _unicast(care_of):
            c.bu_bad_address_drop += 1  # RFC 6275 §9.5.1: "unicast routable"
            return
        if bu.h and self.home_agent is not None:
            # RFC 6275 §10.3.1: a home registration, for the home agent.
            self.home_agent.binding_update(bu, home, care_of, ours, now)
            return
        if bu.h:
            # RFC 6275 §9.5.1: a home registration at a node that is no home agent.
            c.bu_home_registration_refused += 1
            self.acknowledge(
                wire_mh.BA_HOME_REGISTRATION_NOT_SUPPORTED,
                bu.sequence,
                0,
                home,
                care_of,
                ours,
                now,
            )
            return
        nonces = mh.option(wire_mh.NonceIndices)
        auth = mh.option(wire_mh.BindingAuthorizationData)
        if not isinstance(nonces, wire_mh.NonceIndices) or not isinstance(
            auth, wire_mh.BindingAuthorizationData
        ):
            c.bu_missing_options_drop += 1  # RFC 6275 §9.5.1: silently discarded
            return
        real = [o for o in mh.options if not isinstance(o, wire_mh.MhPad1 | wire_mh.MhPadN)]
        if real[-1] is not auth:
            c.bu_auth_not_last_drop += 1  # RFC 6275 §6.2.7
            return
        # RFC 6275 §9.5.1 / RFC 6275 §5.2.5: a deregistration (lifetime 0, or back home) uses the
        # home keygen token only.
        dereg = bu.lifetime == 0 or care_of == home
        home_nonce = self.nonces.valid(nonces.home_nonce_index, now)
        care_of_nonce = None if dereg else self.nonces.valid(nonces.care_of_nonce_index, now)
        entry = self.cache.get(home)
        if home_nonce is None or (not dereg and care_of_nonce is None):
            # RFC 6275 §9.5.1: 136 home nonce index, 137 care-of, 138 both expired.
            if home_nonce is not None:
                status = wire_mh.BA_EXPIRED_CARE_OF_NONCE_INDEX
            elif dereg or care_of_nonce is not None:
                status = wire_mh.BA_EXPIRED_HOME_NONCE_INDEX
            else:
                status = wire_mh.BA_EXPIRED_NONCES
            c.bu_expired_nonce_refused += 1
            if entry is not None:
                self.cache.fire(entry, "bu_rejected", now)
            # RFC 6275 §9.5.4: MUST be sent; no Kbm, so no Binding Authorization Data.
            self.acknowledge(status, bu.sequence, 0, home, care_of, ours, now)
            return
        kcn = self.nonces.kcn
        home_token = rr.home_keygen_token(kcn, home, home_nonce.value)
        care_of_token = (
            None
            if care_of_nonce is None
            else rr.care_of_keygen_token(kcn, care_of, care_of_nonce.value)
        )
        kbm = rr.binding_management_key(home_token, care_of_token)
        expected = rr.authenticator(kbm, care_of, ours, mh)
        if not hmac.compare_digest(expected, auth.authenticator):
            c.bu_authenticator_drop += 1  # RFC 6275 §9.5.1: silently discarded
            return
        last = self.cache.refused_sequence(entry, bu.sequence, now)
        if last is not None:
            # RFC 6275 §9.5.1: status 135 with the last accepted Sequence Number.
            c.bu_sequence_refused += 1
            self.acknowledge(
                wire_mh.BA_SEQUENCE_NUMBER_OUT_OF_WINDOW, last, 0, home, care_of, ours, now, kbm
            )
            return
        if dereg:
            # RFC 6275 §9.5.3: delete the entry, if any.
            c.deregistrations += 1
            if entry is not None:
                self.cache.fire(entry, "deregistered", now)
            if bu.a:
                self.acknowledge(wire_mh.BA_ACCEPTED, bu.sequence, 0, home, care_of, ours, now, kbm)
            return
        # RFC 6275 §9.5.2: at most what was asked, and at most MAX_RR_BINDING_LIFETIME.
        granted = min(bu.lifetime, MAX_RR_BINDING_LIFETIME // 4)
        if granted < bu.lifetime:
            c.bu_lifetime_reduced += 1
        if self.cache.accept(home, care_of, bu.sequence, granted * 4.0, now) is None:
            c.bu_no_room_refused += 1  # RFC 6275 §9.5.2: status 130, MUST be sent
            self.acknowledge(
                wire_mh.BA_INSUFFICIENT_RESOURCES, bu.sequence, 0, home, care_of, ours, now, kbm
            )
            return
        c.bu_accepted += 1
        if bu.a:
            self.acknowledge(
                wire_mh.BA_ACCEPTED, bu.sequence, granted, home, care_of, ours, now, kbm
            )

    def acknowledge(
        self,
        status: int,
        sequence: int,
        lifetime: int,
        home: IPv6Address,
        care_of: IPv6Address,
        ours: IPv6Address,
        now: float,
        kbm: bytes | None = None,
    ) -> None:
        """RFC 6275 §9.5.4: to the care-of address, with a type 2 routing header carrying
        the home address (none when they are the same); Binding Authorization Data last
        when Kbm is known. A home agent's (RFC 6275 §10.3.1) goes without it."""
        ba = wire_mh.BindingAcknowledgement(status, sequence, lifetime)
        if kbm is None:
            header = wire_mh.MobilityHeader.aligned(ba)
        else:
            header = rr.authenticate(kbm, care_of, ours, ba)
        self.counters.ba_sent += 1
        self.send_mh(header, home, care_of, ours, now)

    # -- Binding Errors (RFC 6275 §9.3.1, RFC 6275 §9.2) -----------------------------------------
    def _binding_error(
        self, dst: IPv6Address, src: IPv6Address, status: int, home: IPv6Address, now: float
    ) -> None:
        last = self._last_binding_error
        if last is not None and now - last < BE_MIN_INTERVAL:
            self.counters.be_rate_limited += 1
            return
        self._last_binding_error = now
        self.counters.be_sent += 1
        be = wire_mh.MobilityHeader.aligned(wire_mh.BindingError(status, home))
        self.send_mh(be, dst, None, src, now)

    def send_mh(
        self,
        header: wire_mh.MobilityHeader,
        dst: IPv6Address,
        care_of: IPv6Address | None,
        src: IPv6Address | None,
        now: float,
    ) -> None:
        """Send ``header`` to ``dst``; through ``care_of`` with a type 2 routing header
        when it is given and differs (the checksum is over the final destination, RFC
        8200 §8.1)."""
        if src is None:
            path = self.host.route_with_source(care_of or dst, None, None, now)
            if path is None:
                return
            src = path[2]
        raw = header.build(src, dst)
        if care_of is not None and care_of != dst:
            rh = wire_ext.Type2RoutingHeader(wire_mh.IPPROTO_MH, dst).build()
            self.host.ipv6.send(care_of, IPPROTO_ROUTING, rh + raw, now, src=src)
        else:
            self.host.ipv6.send(dst, wire_mh.IPPROTO_MH, raw, now, src=src)

    # -- the hooks in the IPv6 layer (RFC 6275 §9.3) ---------------------------------------
    def home_address_option(
        self, hdr: Ipv6Header, packet: bytes, off: int, now: float
    ) -> Ipv6Header | None:
        """RFC 6275 §9.3.1: the Destination Options header at ``off`` was processed; if it
        carries a Home Address option, the header the rest of the chain sees has the home
        address as source, or the packet is dropped (None) and a Binding Error sent."""
        c = self.counters
        opts = wire_ext.OptionsHeader.parse(memoryview(packet)[off:])
        hao = next(
            (
                o
                for o in opts.options
                if isinstance(o, wire_ext.Option) and o.type == wire_mh.HOME_ADDRESS_OPTION
            ),
            None,
        )
        if hao is None:
            return hdr
        try:
            home = wire_mh.parse_home_address_option(hao)
        except WireError:
            c.hao_malformed_drop += 1
            return None
        if not _unicast(home):
            c.hao_malformed_drop += 1
            return None
        # "unless the packet contains a Binding Update": that is checked on its own (RFC
        # 6275 §9.5.1), and is no use of the binding (RFC 6275 §9.5.5).
        end = off + opts.buffer_len()
        carries_bu = len(packet) > end + 2 and packet[end + 2] == wire_mh.MH_BU
        if packet[off] == wire_mh.IPPROTO_MH and carries_bu:
            return dataclasses.replace(hdr, src=home)
        entry = self.cache.get(home)
        if entry is not None and entry.care_of_address == hdr.src:
            entry.used = True
            c.hao_accepted += 1
            return dataclasses.replace(hdr, src=home)
        ha = self.home_agent
        home_entry = None if ha is None else ha.cache.get(home)
        if home_entry is not None and home_entry.care_of_address == hdr.src:
            # RFC 6275 §10.6.2: a registered mobile node's own messages to its home agent
            # (a Mobile Prefix Solicitation) carry the Home Address option too.
            c.hao_accepted += 1
            return dataclasses.replace(hdr, src=home)
        c.hao_no_binding_drop += 1
        self._binding_error(hdr.src, hdr.dst, wire_mh.BE_UNKNOWN_BINDING_FOR_HAO, home, now)
        return None

    def route_optimise(self, dst: IPv6Address) -> IPv6Address | None:
        """RFC 6275 §9.3.2: the care-of address to send a packet for ``dst`` through (in a
        type 2 routing header), when ``dst`` is a home address with a binding."""
        entry = self.cache.get(dst)
        if entry is None:
            return None
        entry.used = True
        self.counters.route_optimised += 1
        return entry.care_of_address

    # -- timers ---------------------------------------------------------------------------
    def next_deadline(self) -> float | None:
        return self.cache.next_deadline()

    def poll(self, now: float) -> None:
        for event in self.cache.poll(now):
            if isinstance(event, BindingExpired):
                self.counters.bindings_expired += 1
            elif isinstance(event, BindingRefreshDue):
                # RFC 6275 §9.5.5: a Binding Refresh Request to the mobile node.
                e = event.entry
                self.counters.brr_sent += 1
                brr = wire_mh.MobilityHeader.aligned(wire_mh.BindingRefreshRequest())
                self.send_mh(brr, e.home_address, e.care_of_address, None, now)


def _unicast(a: IPv6Address) -> bool:
    return not (a.is_multicast or a.is_unspecified or a.is_loopback)


def enable_correspondent(
    host: Host, capacity: int = DEFAULT_CAPACITY, kcn: bytes | None = None
) -> CorrespondentNode:
    """Make ``host`` a Mobile IPv6 correspondent node (RFC 6275 §8.2, RFC 6275 §9)."""
    cn = CorrespondentNode(host, capacity, kcn)
    host.mobility = cn
    host.register_protocol(wire_mh.IPPROTO_MH, cn.receive)
    return cn


__all__ = [
    "BE_MIN_INTERVAL",
    "KNOWN_DESTINATION_OPTIONS",
    "MAX_RR_BINDING_LIFETIME",
    "CorrespondentNode",
    "MobilityCounters",
    "enable_correspondent",
    "sequence_greater",
]
