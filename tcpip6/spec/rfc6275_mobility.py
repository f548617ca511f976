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
