"""Mobile IPv6 (RFC 6275): the correspondent node's rules, as a reference model.

Transcribed over the RFC's conceptual data structures: the Binding Cache (RFC 6275 §9.1),
the correspondent's secret Kcn and its nonces (RFC 6275 §5.2.1, §5.2.2, §5.2.7), and the
processing of Home Test Init, Care-of Test Init (RFC 6275 §9.4) and Binding Update messages
(RFC 6275 §9.5), with the lifetime of each entry (RFC 6275 §9.1) and the correspondent's
Binding Refresh Request (RFC 6275 §9.5.5). Pure: frozen dataclasses and functions
``rule(state, input, now) -> (state, actions)``; no I/O, no clock, no randomness (fresh
nonce values come in as arguments).

What RFC 6275 leaves to the implementation is a named parameter here, with the value the
stack uses: NONCE_REGENERATION_INTERVAL (RFC 6275 §5.2.7: "every few minutes") and
BRR_LEAD_TIME (RFC 6275 §9.5.5: "about to expire").
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, replace
from ipaddress import IPv6Address

# -- RFC 6275 §12: protocol constants ------------------------------------------------------
MAX_NONCE_LIFETIME = 240  # seconds
MAX_TOKEN_LIFETIME = 210  # seconds
MAX_RR_BINDING_LIFETIME = 420  # seconds

# -- what the RFC leaves open (the stack's choices) ----------------------------------------
NONCE_REGENERATION_INTERVAL = 30.0
BRR_LEAD_TIME = 30.0

# -- RFC 6275 §6.1.8: Binding Acknowledgement status values used by a correspondent --------
ACCEPTED = 0
INSUFFICIENT_RESOURCES = 130
HOME_REGISTRATION_NOT_SUPPORTED = 131
SEQUENCE_NUMBER_OUT_OF_WINDOW = 135
EXPIRED_HOME_NONCE_INDEX = 136
EXPIRED_CARE_OF_NONCE_INDEX = 137
EXPIRED_NONCES = 138


# -- RFC 6275 §5.2.5, §5.2.6: the cryptographic functions ----------------------------------
def first(bits: int, data: bytes) -> bytes:
    """RFC 6275 §5.2.5: "First(size, input) ... the first size bits of the input"."""
    return data[: bits // 8]


def home_keygen_token(kcn: bytes, home_address: IPv6Address, nonce: bytes) -> bytes:
    """RFC 6275 §5.2.5: First (64, HMAC_SHA1 (Kcn, (home address | nonce | 0)))."""
    return first(64, hmac.new(kcn, home_address.packed + nonce + bytes([0]), "sha1").digest())


def care_of_keygen_token(kcn: bytes, care_of_address: IPv6Address, nonce: bytes) -> bytes:
    """RFC 6275 §5.2.5: First (64, HMAC_SHA1 (Kcn, (care-of address | nonce | 1)))."""
    return first(64, hmac.new(kcn, care_of_address.packed + nonce + bytes([1]), "sha1").digest())


def kbm(home_token: bytes, care_of_token: bytes | None) -> bytes:
    """RFC 6275 §5.2.5: Kbm = SHA1 (home keygen token | care-of keygen token); when
    deregistering from home, Kbm = SHA1 (home keygen token)."""
    if care_of_token is None:
        return hashlib.sha1(home_token).digest()
    return hashlib.sha1(home_token + care_of_token).digest()


def authenticator(
    key: bytes, care_of_address: IPv6Address, correspondent: IPv6Address, mh_data: bytes
) -> bytes:
    """RFC 6275 §5.2.6: First (96, HMAC_SHA1 (Kbm, Mobility Data)), Mobility Data =
    care-of address | correspondent | MH Data (the header without the Authenticator,
    its Checksum zero)."""
    data = care_of_address.packed + correspondent.packed + mh_data
    return first(96, hmac.new(key, data, "sha1").digest())


def sequence_greater(new: int, old: int) -> bool:
    """RFC 6275 §9.5.1: modulo 2**16, "a Sequence Number of 0 is greater than 65535"."""
    return 0 < (new - old) % 2**16 < 2**15


# -- conceptual data structures ------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Nonce:
    """RFC 6275 §5.2.2: a nonce and its index, and when it was generated (RFC 6275 §5.2.7)."""

    index: int
    value: bytes
    generated: float


@dataclass(frozen=True, slots=True)
class BindingCacheEntry:
    """RFC 6275 §9.1, the fields a correspondent keeps, plus whether the binding was used
    since it was last updated and whether a Binding Refresh Request went out (RFC 6275 §9.5.5)."""

    home_address: IPv6Address
    care_of_address: IPv6Address
    lifetime: float  # seconds granted
    registered: float  # when the Binding Update was accepted
    sequence_number: int
    used: bool = False
    refresh_requested: bool = False

    @property
    def expires(self) -> float:
        return self.registered + self.lifetime

    @property
    def refresh_at(self) -> float:
        return self.expires - min(BRR_LEAD_TIME, self.lifetime / 2)


@dataclass(frozen=True, slots=True)
class Correspondent:
    """The correspondent node's state: its address, Kcn, nonces, Binding Cache."""

    address: IPv6Address
    kcn: bytes
    next_nonce_index: int
    capacity: int
    nonces: tuple[Nonce, ...] = ()
    binding_cache: tuple[BindingCacheEntry, ...] = ()

    def entry(self, home_address: IPv6Address) -> BindingCacheEntry | None:
        return next((e for e in self.binding_cache if e.home_address == home_address), None)

    def nonce(self, index: int, now: float) -> Nonce | None:
        """RFC 6275 §5.2.7: a nonce is usable for MAX_NONCE_LIFETIME seconds."""
        n = next((n for n in self.nonces if n.index == index), None)
        if n is None or now - n.generated > MAX_NONCE_LIFETIME:
            return None
        return n


def _without(cn: Correspondent, home_address: IPv6Address) -> tuple[BindingCacheEntry, ...]:
    return tuple(e for e in cn.binding_cache if e.home_address != home_address)


# -- inputs and actions --------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class BindingUpdate:
    """A received Binding Update (RFC 6275 §6.1.7) with what RFC 6275 §9.5.1 looks at."""

    home_address: IPv6Address
    care_of_address: IPv6Address
    sequence_number: int
    lifetime: int  # units of 4 seconds
    acknowledge: bool
    home_registration: bool
    home_nonce_index: int | None  # None: no Nonce Indices option
    care_of_nonce_index: int | None
    authenticator: bytes | None  # None: no Binding Authorization Data option
    mh_data: bytes  # RFC 6275 §5.2.6 MH Data


@dataclass(frozen=True, slots=True)
class SendBindingAcknowledgement:
    """RFC 6275 §9.5.4: to the care-of address (a type 2 routing header naming the home
    address); ``authorized`` when it carries Binding Authorization Data (Kbm known)."""

    status: int
    sequence_number: int
    lifetime: int  # units of 4 seconds
    care_of_address: IPv6Address
    home_address: IPv6Address
    authorized: bool


@dataclass(frozen=True, slots=True)
class SendHomeTest:
    """RFC 6275 §9.4.1."""

    home_nonce_index: int
    home_keygen_token: bytes


@dataclass(frozen=True, slots=True)
class SendCareOfTest:
    """RFC 6275 §9.4.2."""

    care_of_nonce_index: int
    care_of_keygen_token: bytes


@dataclass(frozen=True, slots=True)
class SendBindingRefreshRequest:
    """RFC 6275 §9.5.5."""

    home_address: IPv6Address
    care_of_address: IPv6Address


@dataclass(frozen=True, slots=True)
class Discard:
    """RFC 6275 §9.5.1: "silently discard"; ``reason`` says which rule."""

    reason: str


Action = (
    SendBindingAcknowledgement | SendHomeTest | SendCareOfTest | SendBindingRefreshRequest | Discard
)


# -- RFC 6275 §5.2.7, §9.4: return routability ---------------------------------------------
def current_nonce(cn: Correspondent, fresh_value: bytes, now: float) -> tuple[Correspondent, Nonce]:
    """The nonce handed out now: the current one, or (every NONCE_REGENERATION_INTERVAL) a
    new one with the next index and ``fresh_value``."""
    latest = max(cn.nonces, key=lambda n: n.generated, default=None)
    if latest is not None and now - latest.generated < NONCE_REGENERATION_INTERVAL:
        return cn, latest
    new = Nonce(cn.next_nonce_index, fresh_value, now)
    live = tuple(n for n in cn.nonces if now - n.generated <= MAX_NONCE_LIFETIME)
    cn = replace(cn, nonces=(*live, new), next_nonce_index=(new.index + 1) % 2**16)
    return cn, new


def on_home_test_init(
    cn: Correspondent, home_address: IPv6Address, fresh_value: bytes, now: float
) -> tuple[Correspondent, list[Action]]:
    """RFC 6275 §9.4.1: answer with the home nonce index and the home keygen token."""
    cn, nonce = current_nonce(cn, fresh_value, now)
    return cn, [SendHomeTest(nonce.index, home_keygen_token(cn.kcn, home_address, nonce.value))]


def on_care_of_test_init(
    cn: Correspondent, care_of_address: IPv6Address, fresh_value: bytes, now: float
) -> tuple[Correspondent, list[Action]]:
    """RFC 6275 §9.4.2: answer with the care-of nonce index and care-of keygen token."""
    cn, nonce = current_nonce(cn, fresh_value, now)
    token = care_of_keygen_token(cn.kcn, care_of_address, nonce.value)
    return cn, [SendCareOfTest(nonce.index, token)]


# -- RFC 6275 §9.5: Binding Update ---------------------------------------------------------
def on_binding_update(
    cn: Correspondent, bu: BindingUpdate, now: float
) -> tuple[Correspondent, list[Action]]:
    """RFC 6275 §9.5.1 (checks), RFC 6275 §9.5.2 (requests to cache a binding), RFC 6275 §9.5.3
    (deregistration), RFC 6275 §9.5.4 (sending Binding Acknowledgements)."""
    home, coa = bu.home_address, bu.care_of_address

    def ack(status: int, seq: int, lifetime: int, authorized: bool) -> SendBindingAcknowledgement:
        return SendBindingAcknowledgement(status, seq, lifetime, coa, home, authorized)

    # RFC 6275 §9.5.1: the H bit at a node that is not a home agent.
    if bu.home_registration:
        return cn, [ack(HOME_REGISTRATION_NOT_SUPPORTED, bu.sequence_number, 0, False)]
    # RFC 6275 §9.5.1: a Nonce Indices and a Binding Authorization Data option, or
    # silently discard.
    if bu.home_nonce_index is None or bu.care_of_nonce_index is None or bu.authenticator is None:
        return cn, [Discard("missing options")]
    # RFC 6275 §9.5.1: "If the Lifetime field ... is 0 or the care-of address equals the
    # home address"
    # the mobile node is deregistering; only the home keygen token is used (RFC 6275 §5.2.5).
    deregistration = bu.lifetime == 0 or coa == home
    entry = cn.entry(home)
    home_nonce = cn.nonce(bu.home_nonce_index, now)
    care_of_nonce = None if deregistration else cn.nonce(bu.care_of_nonce_index, now)
    # RFC 6275 §9.5.1: nonce indices the correspondent no longer accepts: status 136, 137 or 138;
    # RFC 6275 §9.5.4: such a rejection is always acknowledged.
    if home_nonce is None and care_of_nonce is None and not deregistration:
        return cn, [ack(EXPIRED_NONCES, bu.sequence_number, 0, False)]
    if home_nonce is None:
        return cn, [ack(EXPIRED_HOME_NONCE_INDEX, bu.sequence_number, 0, False)]
    if care_of_nonce is None and not deregistration:
        return cn, [ack(EXPIRED_CARE_OF_NONCE_INDEX, bu.sequence_number, 0, False)]
    # RFC 6275 §9.5.1: regenerate the tokens, Kbm, and verify the Authenticator; else discard.
    home_token = home_keygen_token(cn.kcn, home, home_nonce.value)
    care_of_token = (
        None if care_of_nonce is None else care_of_keygen_token(cn.kcn, coa, care_of_nonce.value)
    )
    key = kbm(home_token, care_of_token)
    if authenticator(key, coa, cn.address, bu.mh_data) != bu.authenticator:
        return cn, [Discard("authenticator")]
    # RFC 6275 §9.5.1: the Sequence Number must be greater than the last accepted one (if
    # any entry);
    # status 135 carries the last accepted number.
    if entry is not None and not sequence_greater(bu.sequence_number, entry.sequence_number):
        return cn, [ack(SEQUENCE_NUMBER_OUT_OF_WINDOW, entry.sequence_number, 0, True)]
    if deregistration:
        # RFC 6275 §9.5.3: delete the entry (if any); acknowledge if asked.
        cn = replace(cn, binding_cache=_without(cn, home))
        return cn, [ack(ACCEPTED, bu.sequence_number, 0, True)] if bu.acknowledge else []
    # RFC 6275 §9.5.2: the granted lifetime is at most the requested one and, authorised by return
    # routability, at most MAX_RR_BINDING_LIFETIME.
    granted = min(bu.lifetime, MAX_RR_BINDING_LIFETIME // 4)
    if entry is None and len(cn.binding_cache) >= cn.capacity:
        return cn, [ack(INSUFFICIENT_RESOURCES, bu.sequence_number, 0, True)]
    new = BindingCacheEntry(home, coa, granted * 4.0, now, bu.sequence_number)
    cn = replace(cn, binding_cache=(*_without(cn, home), new))
    return cn, [ack(ACCEPTED, bu.sequence_number, granted, True)] if bu.acknowledge else []


# -- RFC 6275 §9.3.2, §9.1, §9.5.5: use and time -------------------------------------------
def on_packet_to_home_address(
    cn: Correspondent, home_address: IPv6Address
) -> tuple[Correspondent, IPv6Address | None]:
    """RFC 6275 §9.3.2: a packet for ``home_address`` goes to the care-of address of its
    binding (None: no binding, sent as is); the binding is now in use."""
    entry = cn.entry(home_address)
    if entry is None:
        return cn, None
    used = replace(entry, used=True)
    cn = replace(cn, binding_cache=(*_without(cn, home_address), used))
    return cn, entry.care_of_address


def on_home_address_option(
    cn: Correspondent, home_address: IPv6Address, source: IPv6Address
) -> tuple[Correspondent, bool]:
    """RFC 6275 §9.3.1: a packet from ``source`` with a Home Address option naming
    ``home_address`` is accepted only if a binding of the two exists (then it is in use)."""
    entry = cn.entry(home_address)
    if entry is None or entry.care_of_address != source:
        return cn, False
    used = replace(entry, used=True)
    return replace(cn, binding_cache=(*_without(cn, home_address), used)), True


def on_time(cn: Correspondent, now: float) -> tuple[Correspondent, list[Action]]:
    """RFC 6275 §9.5.5: a used binding about to expire gets one Binding Refresh Request;
    RFC 6275 §9.1: an entry whose lifetime has passed is deleted."""
    actions: list[Action] = []
    kept: list[BindingCacheEntry] = []
    for e in cn.binding_cache:
        # Due at refresh_at, before the end: sent then even if the entry has expired by now.
        if e.used and not e.refresh_requested and now >= e.refresh_at:
            actions.append(SendBindingRefreshRequest(e.home_address, e.care_of_address))
            e = replace(e, refresh_requested=True)
        if now < e.expires:
            kept.append(e)
    return replace(cn, binding_cache=tuple(kept)), actions


# == the mobile node's home registration (RFC 6275 §11.1, §11.7.1, §11.7.3, §11.8) ========
# RFC 6275 §13: protocol constants and configuration variables, in seconds.
INITIAL_BINDACK_TIMEOUT = 1.0
INITIAL_BINDACK_TIMEOUT_FIRST_REG = 1.5
MAX_BINDACK_TIMEOUT = 32.0
# What the RFC leaves open (the stack's choices): the lifetime asked of the home agent, and
# how long before the acknowledged lifetime ends the binding is refreshed (RFC 6275 §11.7.1).
HOME_REGISTRATION_LIFETIME = 600
REFRESH_LEAD_TIME = 60.0

# The registration's states: no binding; a Binding Update outstanding for a new care-of
# address, to extend the binding, or to delete it; an acknowledged binding.
NO_BINDING = "NO_BINDING"
REGISTERING = "REGISTERING"
BOUND = "BOUND"
REFRESHING = "REFRESHING"
DEREGISTERING = "DEREGISTERING"
OUTSTANDING = (REGISTERING, REFRESHING, DEREGISTERING)


def _refresh_at(expires: float | None, sent_at: float | None, lead_time: float) -> float | None:
    """RFC 6275 §11.7.1: a Binding Update List entry's next Binding Update, ``lead_time``
    before its binding expires (halfway through a shorter lifetime); None without one."""
    if expires is None or sent_at is None:
        return None
    return expires - min(lead_time, (expires - sent_at) / 2)


def _granted_expiry(sent_at: float, asked: int, granted: int) -> float:
    """RFC 6275 §11.7.3: the granted lifetime (units of 4 seconds), never more than the
    ``asked`` seconds, counts from when the Binding Update was sent."""
    return sent_at + min(asked, granted * 4)


@dataclass(frozen=True, slots=True)
class BindingUpdateListEntry:
    """RFC 6275 §11.1, the home agent's entry: the care-of address, the lifetime sent (in
    seconds), when the acknowledged binding ends, the largest Sequence Number sent, when
    the last Binding Update was sent, and the retransmission state (RFC 6275 §11.8)."""

    state: str = NO_BINDING
    care_of_address: IPv6Address | None = None
    sequence_number: int = 0
    lifetime: int = 0
    expires: float | None = None
    sent_at: float | None = None
    timeout: float = INITIAL_BINDACK_TIMEOUT
    retransmit_at: float | None = None

    @property
    def refresh_at(self) -> float | None:
        return _refresh_at(self.expires, self.sent_at, REFRESH_LEAD_TIME)


@dataclass(frozen=True, slots=True)
class SendBindingUpdate:
    """RFC 6275 §11.7.1: H and A set; ``lifetime`` in units of 4 seconds; from the care-of
    address with a Home Address option, or (``care_of_address`` None) from the home
    address when deregistering at home (RFC 6275 §11.5.5)."""

    sequence_number: int
    lifetime: int
    care_of_address: IPv6Address | None


def _send(
    e: BindingUpdateListEntry, now: float, timeout: float
) -> tuple[BindingUpdateListEntry, list[SendBindingUpdate]]:
    """RFC 6275 §11.7.1: each Binding Update carries a Sequence Number greater (modulo
    2^16) than the last one sent; RFC 6275 §11.8: wait ``timeout`` for the acknowledgement."""
    seq = (e.sequence_number + 1) % 0x10000
    lifetime = 0 if e.state == DEREGISTERING else HOME_REGISTRATION_LIFETIME
    e = replace(
        e,
        sequence_number=seq,
        lifetime=lifetime,
        sent_at=now,
        timeout=timeout,
        retransmit_at=now + timeout,
    )
    via = None if e.state == DEREGISTERING else e.care_of_address
    return e, [SendBindingUpdate(seq, lifetime // 4, via)]


def on_new_care_of_address(
    e: BindingUpdateListEntry, care_of_address: IPv6Address, now: float
) -> tuple[BindingUpdateListEntry, list[SendBindingUpdate]]:
    """RFC 6275 §11.7.1: a new primary care-of address is registered with the home agent;
    the first registration waits INITIAL_BINDACK_TIMEOUT_FIRST_REG (RFC 6275 §11.8)."""
    first = e.state == NO_BINDING
    e = replace(e, state=REGISTERING, care_of_address=care_of_address)
    timeout = INITIAL_BINDACK_TIMEOUT_FIRST_REG if first else INITIAL_BINDACK_TIMEOUT
    return _send(e, now, timeout)


def on_returned_home(
    e: BindingUpdateListEntry, now: float
) -> tuple[BindingUpdateListEntry, list[SendBindingUpdate]]:
    """RFC 6275 §11.5.5: back home, a registration (outstanding or acknowledged) is deleted
    with a Binding Update of lifetime 0; nothing else to do otherwise."""
    if e.state not in (REGISTERING, BOUND, REFRESHING):
        return e, []
    return _send(replace(e, state=DEREGISTERING), now, INITIAL_BINDACK_TIMEOUT)


def on_binding_refresh_request(
    e: BindingUpdateListEntry, now: float
) -> tuple[BindingUpdateListEntry, list[SendBindingUpdate]]:
    """RFC 6275 §11.7.4: the home agent asks for a fresh Binding Update (acted on when the
    binding is acknowledged and nothing is outstanding)."""
    if e.state != BOUND:
        return e, []
    return _send(replace(e, state=REFRESHING), now, INITIAL_BINDACK_TIMEOUT)


def on_binding_acknowledgement(
    e: BindingUpdateListEntry, status: int, sequence_number: int, lifetime: int, now: float
) -> tuple[BindingUpdateListEntry, list[SendBindingUpdate]]:
    """RFC 6275 §11.7.3. ``lifetime`` in units of 4 seconds."""
    if e.state not in OUTSTANDING:
        return e, []  # nothing outstanding: silently discarded
    if status == SEQUENCE_NUMBER_OUT_OF_WINDOW:
        # "the mobile node MUST ... use the Sequence Number in the Binding Acknowledgement
        # ... plus one" in a new Binding Update.
        return _send(replace(e, sequence_number=sequence_number), now, INITIAL_BINDACK_TIMEOUT)
    if sequence_number != e.sequence_number:
        return e, []  # not the outstanding Binding Update's: silently discarded
    if status >= 128:
        # The registration failed.
        return replace(e, state=NO_BINDING, expires=None, retransmit_at=None), []
    if e.state == DEREGISTERING:
        return replace(e, state=NO_BINDING, expires=None, retransmit_at=None), []
    assert e.sent_at is not None
    expires = _granted_expiry(e.sent_at, e.lifetime, lifetime)
    return replace(e, state=BOUND, expires=expires, retransmit_at=None), []


def next_registration_deadline(e: BindingUpdateListEntry) -> float | None:
    """When :func:`on_registration_time` next has something to do."""
    if e.state in OUTSTANDING:
        if e.state == REFRESHING and e.expires is not None and e.retransmit_at is not None:
            return min(e.expires, e.retransmit_at)
        return e.retransmit_at
    if e.state == BOUND:
        return e.refresh_at
    return None


def on_registration_time(
    e: BindingUpdateListEntry, now: float
) -> tuple[BindingUpdateListEntry, list[SendBindingUpdate]]:
    """Everything due by ``now``, each at its own moment: RFC 6275 §11.7.1, the binding
    ends with its lifetime or is refreshed before; RFC 6275 §11.8, an unacknowledged
    Binding Update is sent again after twice the wait, at most MAX_BINDACK_TIMEOUT."""
    sent: list[SendBindingUpdate] = []
    while (at := next_registration_deadline(e)) is not None and at <= now:
        if e.state in (BOUND, REFRESHING) and e.expires is not None and at >= e.expires:
            e = replace(e, state=NO_BINDING, expires=None, retransmit_at=None)
        elif e.state == BOUND:
            e, more = _send(replace(e, state=REFRESHING), at, INITIAL_BINDACK_TIMEOUT)
            sent += more
        else:
            e, more = _send(e, at, min(e.timeout * 2, MAX_BINDACK_TIMEOUT))
            sent += more
    return e, sent


# == the mobile node's registration with a correspondent (RFC 6275 §11.6, §11.7.2) ========
# RFC 6275 §12, RFC 6275 §13: constants, in seconds.
MAX_BINDACK_TIMEOUT_RR = MAX_BINDACK_TIMEOUT
# What the RFC leaves open (the stack's choice): how long before the acknowledged lifetime
# ends return routability runs again (RFC 6275 §11.7.2).
RR_REFRESH_LEAD_TIME = 30.0
# The entry's states besides NO_BINDING, BOUND and DEREGISTERING: Home Test Init and
# Care-of Test Init outstanding; the Binding Update outstanding.
TESTING = "TESTING"
# (REGISTERING, as for the home registration: the Binding Update is outstanding.)


@dataclass(frozen=True, slots=True)
class CorrespondentEntry:
    """RFC 6275 §11.1, a correspondent's entry, with RFC 6275 §11.6's return routability
    state: which tests are outstanding, the keygen tokens and nonce indices received (and
    when the home token came), the largest Sequence Number sent, the binding the
    correspondent acknowledged (its care-of address and end) and the retransmission state
    (RFC 6275 §11.8). ``care_of_address`` is the address being registered: the home
    address when deregistering (RFC 6275 §11.5.5)."""

    state: str = NO_BINDING
    care_of_address: IPv6Address | None = None
    home_test_outstanding: bool = False
    care_of_test_outstanding: bool = False
    home_token: bytes | None = None
    home_nonce_index: int = 0
    home_token_at: float | None = None
    care_of_token: bytes | None = None
    care_of_nonce_index: int = 0
    sequence_number: int = 0
    lifetime: int = 0
    bu_outstanding: bool = False
    not_supported: bool = False
    bound_care_of: IPv6Address | None = None
    expires: float | None = None
    sent_at: float | None = None
    timeout: float = INITIAL_BINDACK_TIMEOUT
    retransmit_at: float | None = None

    @property
    def refresh_at(self) -> float | None:
        if self.state != BOUND:
            return None
        return _refresh_at(self.expires, self.sent_at, RR_REFRESH_LEAD_TIME)


@dataclass(frozen=True, slots=True)
class SendHomeTestInit:
    """RFC 6275 §11.6.1: from the home address (through the home agent when away)."""


@dataclass(frozen=True, slots=True)
class SendCareOfTestInit:
    """RFC 6275 §11.6.1: straight from ``care_of_address``."""

    care_of_address: IPv6Address


@dataclass(frozen=True, slots=True)
class SendCorrespondentBindingUpdate:
    """RFC 6275 §11.7.2: A set, H clear; ``lifetime`` in units of 4 seconds; Nonce Indices;
    Binding Authorization Data computed with ``kbm``; from ``care_of_address`` with a Home
    Address option, or from the home address (deregistering at home, RFC 6275 §11.5.5)."""

    sequence_number: int
    lifetime: int
    care_of_address: IPv6Address
    home_nonce_index: int
    care_of_nonce_index: int
    kbm: bytes


RrAction = SendHomeTestInit | SendCareOfTestInit | SendCorrespondentBindingUpdate


def _start_tests(
    e: CorrespondentEntry, state: str, care_of: IPv6Address, now: float
) -> tuple[CorrespondentEntry, list[RrAction]]:
    """RFC 6275 §11.6.1: both tests, fresh cookies; RFC 6275 §11.8: a reply awaited for
    INITIAL_BINDACK_TIMEOUT."""
    e = replace(
        e,
        state=state,
        care_of_address=care_of,
        home_test_outstanding=True,
        care_of_test_outstanding=True,
        bu_outstanding=False,
        timeout=INITIAL_BINDACK_TIMEOUT,
        retransmit_at=now + INITIAL_BINDACK_TIMEOUT,
    )
    return e, [SendHomeTestInit(), SendCareOfTestInit(care_of)]


def _send_rr_binding_update(
    e: CorrespondentEntry, home_address: IPv6Address, now: float
) -> tuple[CorrespondentEntry, list[RrAction]]:
    """RFC 6275 §11.7.2: the next Sequence Number; lifetime MAX_RR_BINDING_LIFETIME, or 0
    with Kbm from the home keygen token alone at home (RFC 6275 §5.2.5, RFC 6275 §11.5.5)."""
    care_of, home_token = e.care_of_address, e.home_token
    assert care_of is not None and home_token is not None
    home = care_of == home_address
    key = kbm(home_token, None if home else e.care_of_token)
    seq = (e.sequence_number + 1) % 0x10000
    lifetime = 0 if home else MAX_RR_BINDING_LIFETIME
    e = replace(
        e,
        sequence_number=seq,
        lifetime=lifetime,
        bu_outstanding=True,
        sent_at=now,
        retransmit_at=now + e.timeout,
    )
    coni = 0 if home else e.care_of_nonce_index
    bu = SendCorrespondentBindingUpdate(seq, lifetime // 4, care_of, e.home_nonce_index, coni, key)
    return e, [bu]


def on_rr_care_of_registered(
    e: CorrespondentEntry, care_of: IPv6Address, now: float
) -> tuple[CorrespondentEntry, list[RrAction]]:
    """RFC 6275 §11.6.1: the home agent has the new care-of address: both tests, whatever
    the entry was doing (unless the correspondent has no Mobile IPv6, RFC 6275 §11.3.5)."""
    if e.not_supported:
        return e, []
    return _start_tests(e, TESTING, care_of, now)


def on_rr_parameter_problem(
    e: CorrespondentEntry, code: int
) -> tuple[CorrespondentEntry, list[RrAction]]:
    """RFC 6275 §11.3.5: Parameter Problem code 1 about a Mobility Header message, while
    one is outstanding: the correspondent has no Mobile IPv6; no route optimisation with
    it from now on."""
    if code != 1 or e.state not in (TESTING, REGISTERING, DEREGISTERING):
        return e, []
    e = replace(
        e,
        state=NO_BINDING,
        not_supported=True,
        home_test_outstanding=False,
        care_of_test_outstanding=False,
        bu_outstanding=False,
        retransmit_at=None,
        bound_care_of=None,
        expires=None,
    )
    return e, []


def on_rr_binding_refresh_request(
    e: CorrespondentEntry, now: float
) -> tuple[CorrespondentEntry, list[RrAction]]:
    """RFC 6275 §11.7.4: acted on for an acknowledged binding."""
    if e.state != BOUND or e.care_of_address is None:
        return e, []
    return _start_tests(e, TESTING, e.care_of_address, now)


def on_rr_returned_home(
    e: CorrespondentEntry, home_address: IPv6Address, now: float
) -> tuple[CorrespondentEntry, list[RrAction]]:
    """RFC 6275 §11.5.5: the binding is deleted with lifetime 0, authorised by the home
    keygen token: the one in hand while younger than MAX_TOKEN_LIFETIME, else a new one."""
    if e.state in (NO_BINDING, DEREGISTERING):
        return e, []
    e = replace(
        e,
        state=DEREGISTERING,
        care_of_address=home_address,
        home_test_outstanding=False,
        care_of_test_outstanding=False,
        bu_outstanding=False,
        timeout=INITIAL_BINDACK_TIMEOUT,
        retransmit_at=now + INITIAL_BINDACK_TIMEOUT,
    )
    if e.home_token_at is not None and now - e.home_token_at < MAX_TOKEN_LIFETIME:
        return _send_rr_binding_update(e, home_address, now)
    return replace(e, home_test_outstanding=True), [SendHomeTestInit()]


def _tests_answered(
    e: CorrespondentEntry, home_address: IPv6Address, now: float
) -> tuple[CorrespondentEntry, list[RrAction]]:
    if e.home_test_outstanding or e.care_of_test_outstanding:
        return e, []
    # RFC 6275 §11.7.2: every token needed is in: the Binding Update.
    if e.state == TESTING:
        e = replace(e, state=REGISTERING)
    return _send_rr_binding_update(replace(e, timeout=INITIAL_BINDACK_TIMEOUT), home_address, now)


def on_rr_home_test(
    e: CorrespondentEntry,
    cookie_matches: bool,
    nonce_index: int,
    token: bytes,
    home_address: IPv6Address,
    now: float,
) -> tuple[CorrespondentEntry, list[RrAction]]:
    """RFC 6275 §11.6.2: taken only while a Home Test Init is outstanding and the cookie is
    its own; the token and nonce index are kept."""
    if not e.home_test_outstanding or not cookie_matches:
        return e, []
    e = replace(
        e,
        home_test_outstanding=False,
        home_token=token,
        home_nonce_index=nonce_index,
        home_token_at=now,
    )
    return _tests_answered(e, home_address, now)


def on_rr_care_of_test(
    e: CorrespondentEntry,
    cookie_matches: bool,
    nonce_index: int,
    token: bytes,
    home_address: IPv6Address,
    now: float,
) -> tuple[CorrespondentEntry, list[RrAction]]:
    """RFC 6275 §11.6.2: as the Home Test, for the Care-of Test Init."""
    if not e.care_of_test_outstanding or not cookie_matches:
        return e, []
    e = replace(
        e, care_of_test_outstanding=False, care_of_token=token, care_of_nonce_index=nonce_index
    )
    return _tests_answered(e, home_address, now)


def on_rr_binding_acknowledgement(
    e: CorrespondentEntry,
    status: int,
    sequence_number: int,
    lifetime: int,
    authentic: bool,
    home_address: IPv6Address,
    now: float,
) -> tuple[CorrespondentEntry, list[RrAction]]:
    """RFC 6275 §11.7.3. ``lifetime`` in units of 4 seconds; ``authentic``: whether its
    Binding Authorization Data is present and right under the entry's Kbm."""
    if not e.bu_outstanding:
        return e, []  # no Binding Update outstanding: silently discarded
    if sequence_number != e.sequence_number and status != SEQUENCE_NUMBER_OUT_OF_WINDOW:
        return e, []
    expired = (EXPIRED_HOME_NONCE_INDEX, EXPIRED_CARE_OF_NONCE_INDEX, EXPIRED_NONCES)
    if status not in expired and not authentic:
        return e, []  # "MUST be present and have a valid value"
    e = replace(e, bu_outstanding=False, retransmit_at=None)
    if status == SEQUENCE_NUMBER_OUT_OF_WINDOW:
        # The correspondent's last accepted number, plus one, in a new Binding Update.
        return _send_rr_binding_update(
            replace(e, sequence_number=sequence_number), home_address, now
        )
    if status in expired:
        # New nonces, through new tests (at home the home test alone).
        care_of = e.care_of_address
        assert care_of is not None
        if e.state == DEREGISTERING:
            e = replace(
                e,
                home_test_outstanding=True,
                timeout=INITIAL_BINDACK_TIMEOUT,
                retransmit_at=now + INITIAL_BINDACK_TIMEOUT,
            )
            return e, [SendHomeTestInit()]
        return _start_tests(e, TESTING, care_of, now)
    if status >= 128:
        return replace(e, state=NO_BINDING, bound_care_of=None, expires=None), []
    if e.state == DEREGISTERING:
        return replace(e, state=NO_BINDING, bound_care_of=None, expires=None), []
    assert e.sent_at is not None
    expires = _granted_expiry(e.sent_at, e.lifetime, lifetime)
    return replace(e, state=BOUND, bound_care_of=e.care_of_address, expires=expires), []


def next_rr_deadline(e: CorrespondentEntry) -> float | None:
    """When :func:`on_rr_time` next has something to do."""
    times = [t for t in (e.retransmit_at, e.expires, e.refresh_at) if t is not None]
    return min(times) if times else None


def on_rr_time(
    e: CorrespondentEntry, home_address: IPv6Address, now: float
) -> tuple[CorrespondentEntry, list[RrAction]]:
    """Everything due by ``now``, each at its own moment: RFC 6275 §11.7.2, the binding
    ends (route optimisation with it) or, while BOUND, return routability runs again before
    it does; RFC 6275 §11.8, what is outstanding is sent again after twice the wait."""
    sent: list[RrAction] = []
    while (at := next_rr_deadline(e)) is not None and at <= now:
        if e.expires is not None and at >= e.expires:
            state = NO_BINDING if e.state == BOUND else e.state
            e = replace(e, state=state, bound_care_of=None, expires=None)
        elif e.state == BOUND:
            assert e.care_of_address is not None
            e, more = _start_tests(e, TESTING, e.care_of_address, at)
            sent += more
        else:
            e = replace(e, timeout=min(e.timeout * 2, MAX_BINDACK_TIMEOUT_RR))
            if e.bu_outstanding:
                e, more = _send_rr_binding_update(e, home_address, at)
            else:
                e = replace(e, retransmit_at=at + e.timeout)
                more = [SendHomeTestInit()] if e.home_test_outstanding else []
                if e.care_of_test_outstanding:
                    assert e.care_of_address is not None
                    more.append(SendCareOfTestInit(e.care_of_address))
            sent += more
    return e, sent
