"""SYN cookies (RFC 4987 §3.6): a listener whose SYN queue is full answers a SYN with a
SYN,ACK whose ISN encodes what it needs to create the connection later, and keeps no
state; the ACK of that SYN,ACK brings the ISN back (SEG.ACK - 1) and the connection
starts ESTABLISHED (the TCP graph's ``cookie_ack``).

The ISN: 5 bits of a 64 s time counter, 3 bits for the MSS of the SYN (rounded down to
a table), 24 bits of HMAC-SHA-256 over the four-tuple and the counter under a secret of
the host's. The SYN's window scale and SACK-permitted ride in the low bits of the
SYN,ACK's TSval when the SYN had timestamps (RFC 7323), as Linux does; without them the
SYN,ACK offers neither, so the two ends never agree on what the listener forgets.
"""

from __future__ import annotations

import hashlib
import hmac
from ipaddress import IPv6Address

#: RFC 4987 §3.6 "a slowly incrementing time counter": one tick every 64 s.
COUNTER_PERIOD = 64.0
#: A cookie is good for the tick it was made in and the next one.
TICKS_VALID = 2
MSS_TABLE = (536, 1220, 1280, 1380, 1420, 1440, 4036, 8940)
_WSCALE_NONE = 15
_OPTION_MASK = 0x1F


class SynCookies:
    """The secret and the arithmetic of one host's cookies."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _hash(self, local: IPv6Address, lport: int, remote: IPv6Address, rport: int, t: int) -> int:
        msg = local.packed + remote.packed + bytes(
            (lport >> 8, lport & 0xFF, rport >> 8, rport & 0xFF)
        ) + t.to_bytes(8, "big")  # fmt: skip
        return int.from_bytes(hmac.digest(self._secret, msg, hashlib.sha256)[:3], "big")

    def make(
        self,
        local: IPv6Address,
        lport: int,
        remote: IPv6Address,
        rport: int,
        peer_mss: int,
        now: float,
    ) -> int:
        """The ISN of a stateless SYN,ACK (RFC 4987 §3.6: t mod 32, MSS, secret function)."""
        t = int(now // COUNTER_PERIOD)
        index = max((i for i, v in enumerate(MSS_TABLE) if v <= peer_mss), default=0)
        return ((t % 32) << 27) | (index << 24) | self._hash(local, lport, remote, rport, t)

    def check(
        self,
        cookie: int,
        local: IPv6Address,
        lport: int,
        remote: IPv6Address,
        rport: int,
        now: float,
    ) -> int | None:
        """The MSS ``cookie`` encodes, or None if this host did not make it recently."""
        t_now = int(now // COUNTER_PERIOD)
        for t in range(t_now, t_now - TICKS_VALID, -1):
            if cookie >> 27 == t % 32 and cookie & 0xFFFFFF == self._hash(
                local, lport, remote, rport, t
            ):
                return MSS_TABLE[(cookie >> 24) & 0x7]
        return None

    def ts_offset(self, local: IPv6Address, remote: IPv6Address) -> int:
        """A TSval offset for the pair of addresses (RFC 7323 §7.1: not guessable across
        pairs), the same when the SYN,ACK is sent and when its ACK comes back."""
        digest = hmac.digest(self._secret, b"ts" + local.packed + remote.packed, hashlib.sha256)
        return int.from_bytes(digest[:4], "big")


def options_in_tsval(tsval: int, wscale: int | None, sack: bool) -> int:
    """The SYN's window scale (15: none) and SACK-permitted in the low 5 bits of TSval."""
    bits = ((_WSCALE_NONE if wscale is None else min(wscale, 14)) << 1) | int(sack)
    return (tsval & ~_OPTION_MASK & 0xFFFFFFFF) | bits


def options_from_tsecr(tsecr: int) -> tuple[int | None, bool]:
    wscale = (tsecr >> 1) & 0xF
    return (None if wscale == _WSCALE_NONE else wscale), bool(tsecr & 1)
