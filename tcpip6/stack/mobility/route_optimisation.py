"""The mobile node's side of return routability and route optimisation (RFC 6275 §5.2,
RFC 6275 §11.6, RFC 6275 §11.7.2).

For each correspondent it talks to (a bounded number), the mobile node keeps a Binding
Update List entry (RFC 6275 §11.1), a model of the ``correspondent_registration`` graph:

* RFC 6275 §11.6.1: once the home agent has acknowledged a new care-of address, a Home
  Test Init goes to the correspondent from the home address (so through the home agent's
  tunnel, RFC 6275 §11.3.1) and a Care-of Test Init straight from the care-of address, each
  with a fresh 64-bit cookie;
* RFC 6275 §11.6.2: a Home Test (to the home address) or Care-of Test (to the care-of
  address) is taken only with the cookie outstanding; its keygen token and nonce index are
  kept;
* RFC 6275 §11.7.2, RFC 6275 §5.2.5, RFC 6275 §5.2.6: with both tokens, Kbm = SHA1(home
  token | care-of token) and a Binding Update (A flag, lifetime at most
  MAX_RR_BINDING_LIFETIME) from the care-of address with a Home Address option, Nonce
  Indices and Binding Authorization Data last;
* RFC 6275 §11.7.3: the Binding Acknowledgement matches the Sequence Number and carries a
  valid Authenticator (except with status 136-138, which have no Kbm); 135 makes the node
  take the correspondent's number, 136-138 run return routability again;
* RFC 6275 §11.3.1: while the acknowledged binding names the current care-of address,
  packets from the home address to the correspondent leave from the care-of address with
  a Home Address option (the upper-layer checksum stays over the home address, RFC 6275
  §6.3); packets to us with a type 2 routing header are accepted by the IPv6 layer (RFC
  6275 §11.3.3);
* RFC 6275 §11.7.2, RFC 6275 §11.7.4: before the binding ends, or on a Binding Refresh
  Request, return routability and the Binding Update again; RFC 6275 §11.8: what is
  outstanding is retransmitted after INITIAL_BINDACK_TIMEOUT, doubling up to
  MAX_BINDACK_TIMEOUT;
* RFC 6275 §11.5.5: back home, a Binding Update of lifetime 0 from the home address,
  authorised by the home keygen token alone (reused while younger than
  MAX_TOKEN_LIFETIME, else from a new Home Test).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from ipaddress import IPv6Address
from typing import TYPE_CHECKING

from tcpip6.stack.counters import CounterSet
from tcpip6.stack.machines.correspondent_registration import (
    GRAPH,
    CorrespondentRegistrationState,
)
from tcpip6.stack.machines.graph import TraceSink
from tcpip6.stack.mobility import return_routability as rr
from tcpip6.stack.mobility.binding_update_list import granted_expiry, refresh_time
from tcpip6.wire import ipv6 as wire_ipv6
from tcpip6.wire import mobility as wire_mh

if TYPE_CHECKING:
    from tcpip6.stack.mobility.mobile_node import MobileNode

S = CorrespondentRegistrationState
#: RFC 6275 §13 / RFC 6275 §12: constants, in seconds.
INITIAL_BINDACK_TIMEOUT = 1.0
MAX_BINDACK_TIMEOUT = 32.0
MAX_TOKEN_LIFETIME = 210.0
MAX_RR_BINDING_LIFETIME = 420
#: How many correspondents the Binding Update List holds beside the home agent.
MAX_CORRESPONDENTS = 16
#: RFC 6275 §11.7.2 leaves the moment of a refresh to the node: when this much of the
#: acknowledged lifetime (or half of it, if shorter) is left.
REFRESH_LEAD_TIME = 30.0
_OUTSTANDING = (S.TESTING, S.REGISTERING, S.DEREGISTERING)
_NONCE_EXPIRED = (
    wire_mh.BA_EXPIRED_HOME_NONCE_INDEX,
    wire_mh.BA_EXPIRED_CARE_OF_NONCE_INDEX,
    wire_mh.BA_EXPIRED_NONCES,
)


@dataclass
class RouteOptimisationCounters(CounterSet):
    """What the mobile node did with its correspondents (each drop counted once)."""

    correspondents_full_drop: int = 0  # no room for another Binding Update List entry
    hoti_sent: int = 0
    coti_sent: int = 0
    tests_retransmitted: int = 0
    hot_received: int = 0
    cot_received: int = 0
    test_unmatched_drop: int = 0  # RFC 6275 §11.6.2: no such cookie outstanding
    bu_sent: int = 0
    bu_retransmitted: int = 0
    ba_received: int = 0
    ba_accepted: int = 0
    ba_rejected: int = 0
    ba_nonce_expired: int = 0
    ba_sequence_resync: int = 0
    ba_unmatched_drop: int = 0  # RFC 6275 §11.7.3: no outstanding Binding Update
    ba_authenticator_drop: int = 0  # RFC 6275 §11.7.3: missing or wrong authenticator
    brr_received: int = 0
    binding_errors: int = 0
    not_supported: int = 0  # RFC 6275 §11.3.5: Parameter Problem code 1 for our MH
    bindings_expired: int = 0
    route_optimised: int = 0  # packets sent with a Home Address option


class CorrespondentEntry:
    """RFC 6275 §11.1: a correspondent's Binding Update List entry with the return
    routability state of RFC 6275 §11.6 (cookies outstanding, tokens and nonce indices)."""

    def __init__(self, peer: IPv6Address, home_address: IPv6Address, sequence: int) -> None:
        self.peer = peer
        self.home_address = home_address
        #: The address the tests and the Binding Update are for (the home address when
        #: deregistering).
        self.care_of_address: IPv6Address | None = None
        self.home_cookie: bytes | None = None  # outstanding Home Test Init
        self.care_of_cookie: bytes | None = None  # outstanding Care-of Test Init
        self.home_token: bytes | None = None
        self.home_nonce_index = 0
        self.home_token_at: float | None = None
        self.care_of_token: bytes | None = None
        self.care_of_nonce_index = 0
        self.kbm: bytes | None = None
        self.sequence_number = sequence
        self.lifetime = 0  # requested, seconds
        self.bu_outstanding = False
        #: RFC 6275 §11.3.5: the correspondent answered a Mobility Header message with
        #: Parameter Problem code 1: no route optimisation with it any more.
        self.not_supported = False
        #: The binding the correspondent acknowledged, and its end.
        self.bound_care_of: IPv6Address | None = None
        self.expires: float | None = None
        self.last_sent: float | None = None
        self.timeout = INITIAL_BINDACK_TIMEOUT
        self.retransmit_at: float | None = None
        self.state: CorrespondentRegistrationState
        self.trace_label = f"{home_address}->{peer}"
        self.trace_sink: TraceSink | None = None
        GRAPH.attach(self)

    @property
    def refresh_at(self) -> float | None:
        if self.state is not S.BOUND:
            return None
        return refresh_time(self.expires, self.last_sent, REFRESH_LEAD_TIME)

    def next_deadline(self) -> float | None:
        times = [t for t in (self.retransmit_at, self.expires, self.refresh_at) if t is not None]
        return min(times) if times else None

    def __repr__(self) -> str:
        return (
            f"<CorrespondentEntry {self.home_address} -> {self.bound_care_of} at {self.peer} "
            f"seq {self.sequence_number} {self.state.name}>"
        )


class RouteOptimisation:
    """The correspondents of one mobile node (RFC 6275 §11.6, RFC 6275 §11.7.2)."""

    def __init__(self, mn: MobileNode, capacity: int = MAX_CORRESPONDENTS) -> None:
        self.mn = mn
        self.capacity = capacity
        self.entries: dict[IPv6Address, CorrespondentEntry] = {}
        self.counters = RouteOptimisationCounters()
        #: The care-of address the home agent last acknowledged (None at home).
        self.registered_care_of: IPv6Address | None = None

    # -- which correspondents -------------------------------------------------------------
    def want(self, peer: IPv6Address, now: float) -> CorrespondentEntry | None:
        """RFC 6275 §11.7.2: the node decides with whom to optimise routes: here every
        global unicast correspondent it sends to from its home address."""
        entry = self.entries.get(peer)
        if entry is not None:
            return entry
        mn = self.mn
        if peer == mn.home_agent or not _global_unicast(peer):
            return None
        if len(self.entries) >= self.capacity:
            self.counters.correspondents_full_drop += 1
            return None
        entry = CorrespondentEntry(peer, mn.home_address, mn.host.rng.getrandbits(16))
        entry.trace_label = f"{mn.host.name} {entry.trace_label}"
        entry.trace_sink = mn.host.trace_sink
        self.entries[peer] = entry
        if self.registered_care_of is not None:
            self._start_tests(entry, "moved", self.registered_care_of, now)
        return entry

    def route_optimised(self, peer: IPv6Address, now: float) -> IPv6Address | None:
        """RFC 6275 §11.3.1: the care-of address to send from (with a Home Address option)
        while the correspondent's acknowledged binding names the current one."""
        entry = self.entries.get(peer)
        care_of = self.mn.care_of_address
        if entry is None or care_of is None or self.mn.want_care_of or entry.not_supported:
            return None
        if entry.bound_care_of != care_of or entry.expires is None or entry.expires <= now:
            return None
        self.counters.route_optimised += 1
        return care_of

    # -- movement (RFC 6275 §11.6.1, RFC 6275 §11.5.5) -------------------------------------
    def home_registered(self, care_of: IPv6Address, now: float) -> None:
        """The home agent acknowledged ``care_of``: return routability with every
        correspondent for it (the Home Test Init needs the home agent's new binding)."""
        if care_of == self.registered_care_of:
            return
        self.registered_care_of = care_of
        for entry in self.entries.values():
            if not entry.not_supported:
                self._start_tests(entry, "moved", care_of, now)

    def returned_home(self, now: float) -> None:
        """RFC 6275 §11.5.5: delete each correspondent's binding."""
        self.registered_care_of = None
        for entry in self.entries.values():
            if entry.state in (S.NO_BINDING, S.DEREGISTERING):
                self._fire(entry, "returned_home", now)
                continue
            self._fire(entry, "returned_home", now)
            self._begin(entry, entry.home_address, now)
            fresh = entry.home_token_at is not None and now - entry.home_token_at < (
                MAX_TOKEN_LIFETIME
            )
            if fresh:
                # RFC 6275 §5.2.5: the home keygen token is still good: no new test.
                self._fire(entry, "tests_complete", now)
                self._send_binding_update(entry, now)
            else:
                self._send_home_test_init(entry, now)

    def _begin(self, entry: CorrespondentEntry, care_of: IPv6Address, now: float) -> None:
        entry.care_of_address = care_of
        entry.home_cookie = entry.care_of_cookie = None
        entry.bu_outstanding = False
        entry.timeout = INITIAL_BINDACK_TIMEOUT
        entry.retransmit_at = now + entry.timeout

    def _start_tests(
        self, entry: CorrespondentEntry, trigger: str, care_of: IPv6Address, now: float
    ) -> None:
        """RFC 6275 §11.6.1: a Home Test Init and a Care-of Test Init, fresh cookies."""
        self._fire(entry, trigger, now)
        self._begin(entry, care_of, now)
        self._send_home_test_init(entry, now)
        self._send_care_of_test_init(entry, now)

    def _send_home_test_init(self, entry: CorrespondentEntry, now: float) -> None:
        mn = self.mn
        if entry.home_cookie is None:
            entry.home_cookie = mn.host.rng.randbytes(8)
        self.counters.hoti_sent += 1
        header = wire_mh.MobilityHeader.aligned(wire_mh.HomeTestInit(entry.home_cookie))
        raw = header.build(mn.home_address, entry.peer)
        # RFC 6275 §11.6.1: from the home address: away from home, through the tunnel.
        mn.host.ipv6.send(entry.peer, wire_mh.IPPROTO_MH, raw, now, src=mn.home_address)

    def _send_care_of_test_init(self, entry: CorrespondentEntry, now: float) -> None:
        care_of = entry.care_of_address
        assert care_of is not None
        if entry.care_of_cookie is None:
            entry.care_of_cookie = self.mn.host.rng.randbytes(8)
        self.counters.coti_sent += 1
        header = wire_mh.MobilityHeader.aligned(wire_mh.CareOfTestInit(entry.care_of_cookie))
        raw = header.build(care_of, entry.peer)
        # RFC 6275 §11.6.1: straight from the care-of address.
        self.mn.host.ipv6.send(entry.peer, wire_mh.IPPROTO_MH, raw, now, src=care_of)

    def _send_binding_update(self, entry: CorrespondentEntry, now: float) -> None:
        """RFC 6275 §11.7.2: the next Sequence Number, Nonce Indices, Authenticator."""
        mn, e = self.mn, entry
        care_of = e.care_of_address
        assert care_of is not None and e.home_token is not None
        home = care_of == e.home_address
        # RFC 6275 §5.2.5: Kbm from both tokens, or the home token alone when home.
        e.kbm = rr.binding_management_key(e.home_token, None if home else e.care_of_token)
        e.sequence_number = (e.sequence_number + 1) % 0x10000
        e.lifetime = 0 if home else MAX_RR_BINDING_LIFETIME
        e.last_sent = now
        e.bu_outstanding = True
        e.retransmit_at = now + e.timeout
        bu = wire_mh.BindingUpdate(e.sequence_number, e.lifetime // 4, a=True)
        nonces = wire_mh.NonceIndices(e.home_nonce_index, 0 if home else e.care_of_nonce_index)
        header = rr.authenticate(e.kbm, care_of, e.peer, bu, (nonces,))
        raw = header.build(e.home_address, e.peer)
        self.counters.bu_sent += 1
        if home:
            # RFC 6275 §11.5.5: from the home address, no Home Address option.
            mn.host.ipv6.send(e.peer, wire_mh.IPPROTO_MH, raw, now, src=e.home_address)
            return
        # RFC 6275 §11.7.2: from the care-of address, the home address in the option.
        dopts = wire_mh.home_address_header(wire_mh.IPPROTO_MH, e.home_address).build()
        mn.host.ipv6.send(e.peer, wire_ipv6.IPPROTO_DSTOPTS, dopts + raw, now, src=care_of)

    def _fire(self, entry: CorrespondentEntry, trigger: str, now: float) -> None:
        GRAPH.fire(entry, trigger, now)

    def parameter_problem(self, peer: IPv6Address, code: int, now: float) -> None:
        """RFC 6275 §11.3.5: an ICMPv6 Parameter Problem with code 1 (unrecognized Next
        Header) about a Mobility Header message sent to ``peer``: it has no Mobile IPv6, and
        the node stops trying route optimisation with it (packets go through the home
        agent, as to any other node)."""
        entry = self.entries.get(peer)
        if entry is None or code != 1 or entry.state not in _OUTSTANDING:
            return
        self.counters.not_supported += 1
        entry.not_supported = True
        entry.home_cookie = entry.care_of_cookie = None
        entry.bu_outstanding = False
        entry.retransmit_at = None
        entry.bound_care_of = entry.expires = None
        self._fire(entry, "not_supported", now)

    # -- the Mobility Header from a correspondent (RFC 6275 §11.6.2, RFC 6275 §11.7.3) ---------
    def receive(
        self, mh: wire_mh.MobilityHeader, src: IPv6Address, dst: IPv6Address, now: float
    ) -> bool:
        """A Mobility Header message from ``src`` to ``dst`` (the home address after a type
        2 routing header, or the care-of address); False when no entry is ``src``'s."""
        entry = self.entries.get(src)
        if entry is None:
            return False
        msg = mh.message
        if isinstance(msg, wire_mh.HomeTest):
            self.home_test(entry, msg, dst, now)
        elif isinstance(msg, wire_mh.CareOfTest):
            self.care_of_test(entry, msg, dst, now)
        elif isinstance(msg, wire_mh.BindingAcknowledgement):
            self.binding_acknowledgement(entry, mh, msg, now)
        elif isinstance(msg, wire_mh.BindingRefreshRequest):
            self.binding_refresh_request(entry, now)
        elif isinstance(msg, wire_mh.BindingError):
            # RFC 6275 §11.3.6: the correspondent has no binding for our Home Address
            # option: stop sending with it; return routability starts again.
            self.counters.binding_errors += 1
            if entry.state is S.BOUND and self.registered_care_of is not None:
                entry.bound_care_of = None
                self._start_tests(entry, "refresh_due", self.registered_care_of, now)
        else:
            return False
        return True

    def home_test(
        self, entry: CorrespondentEntry, msg: wire_mh.HomeTest, dst: IPv6Address, now: float
    ) -> None:
        """RFC 6275 §11.6.2: to the home address, with the outstanding home cookie."""
        self.counters.hot_received += 1
        cookie = entry.home_cookie
        if not self._test_matches(cookie, msg.home_init_cookie, dst, entry.home_address):
            return
        entry.home_cookie = None
        entry.home_token = msg.home_keygen_token
        entry.home_nonce_index = msg.home_nonce_index
        entry.home_token_at = now
        self._test_answered(entry, now)

    def care_of_test(
        self, entry: CorrespondentEntry, msg: wire_mh.CareOfTest, dst: IPv6Address, now: float
    ) -> None:
        """RFC 6275 §11.6.2: to the care-of address, with the outstanding care-of cookie."""
        self.counters.cot_received += 1
        cookie = entry.care_of_cookie
        if not self._test_matches(cookie, msg.care_of_init_cookie, dst, entry.care_of_address):
            return
        entry.care_of_cookie = None
        entry.care_of_token = msg.care_of_keygen_token
        entry.care_of_nonce_index = msg.care_of_nonce_index
        self._test_answered(entry, now)

    def _test_matches(
        self,
        outstanding: bytes | None,
        cookie: bytes,
        dst: IPv6Address,
        expected_dst: IPv6Address | None,
    ) -> bool:
        """RFC 6275 §11.6.2: a Home Test or Care-of Test is taken only at the address its
        Init was sent from and with the cookie of that Init, still outstanding; any other
        is dropped and counted."""
        if (
            outstanding is None
            or dst != expected_dst
            or not hmac.compare_digest(cookie, outstanding)
        ):
            self.counters.test_unmatched_drop += 1
            return False
        return True

    def _test_answered(self, entry: CorrespondentEntry, now: float) -> None:
        if entry.home_cookie is not None or entry.care_of_cookie is not None:
            self._fire(entry, "test_received", now)
            return
        self._fire(entry, "tests_complete", now)
        entry.timeout = INITIAL_BINDACK_TIMEOUT
        self._send_binding_update(entry, now)

    def binding_acknowledgement(
        self,
        entry: CorrespondentEntry,
        mh: wire_mh.MobilityHeader,
        ba: wire_mh.BindingAcknowledgement,
        now: float,
    ) -> None:
        """RFC 6275 §11.7.3."""
        c, e = self.counters, entry
        c.ba_received += 1
        resync = ba.status == wire_mh.BA_SEQUENCE_NUMBER_OUT_OF_WINDOW
        if not e.bu_outstanding or (ba.sequence != e.sequence_number and not resync):
            c.ba_unmatched_drop += 1  # status 135 carries the correspondent's number
            return
        if ba.status not in _NONCE_EXPIRED:
            # RFC 6275 §11.7.3: "the Binding Authorization Data mobility option MUST be
            # present and have a valid value" (statuses 136-138 have no Kbm).
            auth = mh.option(wire_mh.BindingAuthorizationData)
            assert e.kbm is not None and e.care_of_address is not None
            if not isinstance(auth, wire_mh.BindingAuthorizationData) or not (
                hmac.compare_digest(
                    auth.authenticator, rr.authenticator(e.kbm, e.care_of_address, e.peer, mh)
                )
            ):
                c.ba_authenticator_drop += 1
                return
        e.bu_outstanding = False
        e.retransmit_at = None
        if ba.status == wire_mh.BA_SEQUENCE_NUMBER_OUT_OF_WINDOW:
            c.ba_sequence_resync += 1
            self._fire(e, "ba_sequence_out_of_window", now)
            e.sequence_number = ba.sequence
            self._send_binding_update(e, now)
            return
        if ba.status in _NONCE_EXPIRED:
            # RFC 6275 §11.7.3, RFC 6275 §5.2.7: fresh nonces through new tests.
            c.ba_nonce_expired += 1
            self._fire(e, "ba_nonce_expired", now)
            care_of = e.care_of_address
            assert care_of is not None
            self._begin(e, care_of, now)
            self._send_home_test_init(e, now)
            if care_of != e.home_address:
                self._send_care_of_test_init(e, now)
            return
        if not ba.accepted:
            # RFC 6275 §11.7.3: the registration failed; route optimisation stops with it.
            c.ba_rejected += 1
            e.bound_care_of = e.expires = None
            self._fire(e, "ba_rejected", now)
            return
        c.ba_accepted += 1
        if e.state is S.DEREGISTERING:
            e.bound_care_of = e.expires = None
            self._fire(e, "ba_accepted", now)
            return
        sent = e.last_sent if e.last_sent is not None else now
        e.bound_care_of = e.care_of_address
        e.expires = granted_expiry(sent, e.lifetime, ba.lifetime)
        self._fire(e, "ba_accepted", now)

    def binding_refresh_request(self, entry: CorrespondentEntry, now: float) -> None:
        """RFC 6275 §11.7.4: a bound entry runs return routability again."""
        self.counters.brr_received += 1
        if entry.state is S.BOUND and entry.care_of_address is not None:
            self._start_tests(entry, "refresh_due", entry.care_of_address, now)

    # -- timers -------------------------------------------------------------------------
    def next_deadline(self) -> float | None:
        times = [t for e in self.entries.values() if (t := e.next_deadline()) is not None]
        return min(times) if times else None

    def poll(self, now: float) -> None:
        for e in self.entries.values():
            while (at := e.next_deadline()) is not None and at <= now:
                if e.expires is not None and at >= e.expires:
                    # RFC 6275 §11.7.2: the binding ended: route optimisation stops.
                    self.counters.bindings_expired += 1
                    e.expires = None
                    e.bound_care_of = None
                    self._fire(e, "lifetime_expired", at)
                elif e.state is S.BOUND:
                    assert e.care_of_address is not None
                    self._start_tests(e, "refresh_due", e.care_of_address, at)
                else:
                    self._retransmit(e, at)

    def _retransmit(self, e: CorrespondentEntry, now: float) -> None:
        """RFC 6275 §11.8: what is outstanding, again, after twice the wait."""
        self._fire(e, "retransmit_timeout", now)
        e.timeout = min(e.timeout * 2, MAX_BINDACK_TIMEOUT)
        if e.bu_outstanding:
            self.counters.bu_retransmitted += 1
            self._send_binding_update(e, now)
            return
        e.retransmit_at = now + e.timeout
        self.counters.tests_retransmitted += 1
        if e.home_cookie is not None:
            self._send_home_test_init(e, now)
        if e.care_of_cookie is not None:
            self._send_care_of_test_init(e, now)


def _global_unicast(a: IPv6Address) -> bool:
    return not (a.is_multicast or a.is_unspecified or a.is_loopback or a.is_link_local)


__all__ = [
    "MAX_CORRESPONDENTS",
    "CorrespondentEntry",
    "RouteOptimisation",
    "RouteOptimisationCounters",
]
