"""Return routability (RFC 6275 §5.2): the correspondent's secret, its nonces, the keygen
tokens, the binding management key and the Authenticator.

RFC 6275 §5.2.5::

    home keygen token  = First(64, HMAC_SHA1(Kcn, (home address | nonce | 0)))
    care-of keygen token = First(64, HMAC_SHA1(Kcn, (care-of address | nonce | 1)))

RFC 6275 §5.2.5 and RFC 6275 §5.2.6::

    Kbm = SHA1(home keygen token | care-of keygen token)
    Kbm = SHA1(home keygen token)              when deregistering from home
    Mobility Data = care-of address | correspondent | MH Data
    Authenticator = First(96, HMAC_SHA1(Kbm, Mobility Data))

"MH Data is the content of the Mobility Header, excluding the Authenticator field itself",
with the Checksum field taken as zero (RFC 6275 §5.2.6).
"""

from __future__ import annotations

import hashlib
import hmac
import random
from dataclasses import dataclass
from ipaddress import IPv6Address

from tcpip6.wire import mobility as wire_mh

#: RFC 6275 §5.2.1: Kcn is a 20-octet secret.
KCN_LEN = 20
#: RFC 6275 §5.2.2 leaves the nonce's length to the correspondent; 64 bits here.
NONCE_LEN = 8
#: RFC 6275 §12: how long a nonce stays valid for Binding Updates.
MAX_NONCE_LIFETIME = 240.0
#: How often this correspondent makes a fresh nonce (RFC 6275 §5.2.7 says only "every
#: few minutes"; every 30 s keeps at most 9 nonces within MAX_NONCE_LIFETIME).
NONCE_REGENERATION_INTERVAL = 30.0
#: Nonce indices are 16 bits (RFC 6275 §6.1.5).
NONCE_INDEX_MODULUS = 1 << 16


def _first(bits: int, data: bytes) -> bytes:
    return data[: bits // 8]


def home_keygen_token(kcn: bytes, home_address: IPv6Address, nonce: bytes) -> bytes:
    """RFC 6275 §5.2.5: First(64, HMAC_SHA1(Kcn, (home address | nonce | 0)))."""
    mac = hmac.new(kcn, home_address.packed + nonce + b"\x00", hashlib.sha1).digest()
    return _first(64, mac)


def care_of_keygen_token(kcn: bytes, care_of_address: IPv6Address, nonce: bytes) -> bytes:
    """RFC 6275 §5.2.5: First(64, HMAC_SHA1(Kcn, (care-of address | nonce | 1)))."""
    mac = hmac.new(kcn, care_of_address.packed + nonce + b"\x01", hashlib.sha1).digest()
    return _first(64, mac)


def binding_management_key(home_token: bytes, care_of_token: bytes | None) -> bytes:
    """RFC 6275 §5.2.5: Kbm = SHA1(home keygen token | care-of keygen token), or
    SHA1(home keygen token) alone when deregistering from home (``care_of_token`` None)."""
    return hashlib.sha1(home_token + (care_of_token or b"")).digest()


def mh_data(header: wire_mh.MobilityHeader) -> bytes:
    """RFC 6275 §5.2.6: the Mobility Header with Checksum zero, without the Authenticator
    field of its Binding Authorization Data option (the option's type and length stay)."""
    raw = header.encode_zero_checksum()
    off = wire_mh.HEADER_LEN + len(header.message.encode())
    for opt in header.options:
        if isinstance(opt, wire_mh.BindingAuthorizationData):
            start = off + 2
            return raw[:start] + raw[start + len(opt.authenticator) :]
        off += opt.buffer_len()
    return raw


def authenticator(
    kbm: bytes,
    care_of_address: IPv6Address,
    correspondent: IPv6Address,
    header: wire_mh.MobilityHeader,
) -> bytes:
    """RFC 6275 §5.2.6: First(96, HMAC_SHA1(Kbm, (care-of address | correspondent | MH
    Data))). ``header`` may carry any Authenticator (or none): it is left out."""
    data = care_of_address.packed + correspondent.packed + mh_data(header)
    return _first(96, hmac.new(kbm, data, hashlib.sha1).digest())


def authenticate(
    kbm: bytes,
    care_of_address: IPv6Address,
    correspondent: IPv6Address,
    message: wire_mh.MhMessage,
    options: tuple[wire_mh.MhOption, ...] = (),
) -> wire_mh.MobilityHeader:
    """``message`` with ``options`` and a Binding Authorization Data option last (RFC 6275
    RFC 6275 §6.2.7), aligned, its Authenticator computed."""
    placeholder = wire_mh.BindingAuthorizationData(b"\x00" * wire_mh.AUTHENTICATOR_LEN)
    draft = wire_mh.MobilityHeader.aligned(message, (*options, placeholder))
    auth = authenticator(kbm, care_of_address, correspondent, draft)
    final = tuple(
        wire_mh.BindingAuthorizationData(auth)
        if isinstance(o, wire_mh.BindingAuthorizationData)
        else o
        for o in draft.options
    )
    return wire_mh.MobilityHeader(message, final)


@dataclass(frozen=True, slots=True)
class Nonce:
    """One nonce of the correspondent (RFC 6275 §5.2.2) with its index and birth time."""

    index: int
    value: bytes
    generated: float


class NonceTable:
    """The correspondent's secret Kcn and its recent nonces (RFC 6275 §5.2.7): a fresh nonce
    every NONCE_REGENERATION_INTERVAL, each valid for MAX_NONCE_LIFETIME; bounded by that
    ratio (older ones are forgotten)."""

    def __init__(self, rng: random.Random, kcn: bytes | None = None) -> None:
        self.rng = rng
        self.kcn = kcn if kcn is not None else rng.randbytes(KCN_LEN)
        self.nonces: dict[int, Nonce] = {}
        self.current: Nonce | None = None
        self.next_index = rng.randrange(NONCE_INDEX_MODULUS)
        self.limit = int(MAX_NONCE_LIFETIME // NONCE_REGENERATION_INTERVAL) + 1

    def current_nonce(self, now: float) -> Nonce:
        """The nonce to hand out in a Home Test or Care-of Test now (RFC 6275 §9.4.1),
        made fresh when the current one is NONCE_REGENERATION_INTERVAL old."""
        cur = self.current
        if cur is None or now - cur.generated >= NONCE_REGENERATION_INTERVAL:
            cur = Nonce(self.next_index, self.rng.randbytes(NONCE_LEN), now)
            self.next_index = (self.next_index + 1) % NONCE_INDEX_MODULUS
            self.nonces[cur.index] = cur
            self.current = cur
            while len(self.nonces) > self.limit:
                del self.nonces[min(self.nonces.values(), key=lambda n: n.generated).index]
        return cur

    def valid(self, index: int, now: float) -> Nonce | None:
        """RFC 6275 §5.2.7, RFC 6275 §9.5.1: the nonce of ``index`` if it is not older than
        MAX_NONCE_LIFETIME, else None (the Binding Update gets status 136, 137 or 138)."""
        nonce = self.nonces.get(index)
        if nonce is None or now - nonce.generated > MAX_NONCE_LIFETIME:
            return None
        return nonce
