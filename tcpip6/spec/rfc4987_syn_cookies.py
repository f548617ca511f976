"""SYN cookies, the reference model: RFC 4987 §3.6 (and, at the end, RFC 4987 §3.3:
the shorter SYN-RECEIVED timer of a host under attack).

RFC 4987 §3.6 describes the cookie as the Initial Sequence Number of the SYN,ACK a listener
sends without keeping any state, "the top five bits being t mod 32, where t is a slowly
incrementing time counter, the next three bits being an encoding of an MSS value selected
by the server in response to the client's MSS option, and the final 24 bits being a
server-selected secret function of the client IP address and port number, the server IP
address and port number, and t". When the ACK of that SYN,ACK arrives, "the server
recomputes the secret function ... and checks that t is reasonably recent", and creates
the connection from what the cookie carries.

RFC 4987 §3.6 also says what is lost: the options of the SYN other than the MSS. As Linux
does, this model keeps the window scale and SACK-permitted of the SYN in the low bits of
the TSval of the SYN,ACK when the SYN carried timestamps (RFC 7323), and the ACK brings
them back in its TSecr; without timestamps the SYN,ACK offers no window scaling and no
SACK, so that nothing is agreed that the listener would forget.

The secret function is the listener's own: this model takes it as ``hash24(t)``, the 24
bits for counter value ``t``. Plain functions of integers; no tcpip6 import.
"""

from __future__ import annotations

from collections.abc import Callable

#: "a slowly incrementing time counter": Linux's, one tick every 64 seconds.
COUNTER_PERIOD = 64.0
#: "checks that t is reasonably recent": this tick or the one before (64 to 128 s).
COUNTER_TICKS_VALID = 2
#: The MSS values the three bits encode (IPv6: 1220 is the minimum MTU's, RFC 8200 §5).
MSS_TABLE = (536, 1220, 1280, 1380, 1420, 1440, 4036, 8940)
#: The TSval bits that carry the SYN's options: 4 bits of window scale (15: none), SACK.
WSCALE_NONE = 15
OPTION_BITS = 5


def counter(now: float) -> int:
    """t: the time counter at ``now``."""
    return int(now // COUNTER_PERIOD)


def mss_index(peer_mss: int) -> int:
    """The largest table value not above the peer's MSS (the smallest when all are)."""
    best = 0
    for i, value in enumerate(MSS_TABLE):
        if value <= peer_mss:
            best = i
    return best


def make_cookie(t: int, peer_mss: int, hash24: Callable[[int], int]) -> int:
    """The ISN of the SYN,ACK: t mod 32, the MSS encoding, the secret function."""
    return ((t % 32) << 27) | (mss_index(peer_mss) << 24) | (hash24(t) & 0xFFFFFF)


def check_cookie(cookie: int, now: float, hash24: Callable[[int], int]) -> int | None:
    """The MSS a returning cookie (SEG.ACK - 1) carries, or None when it is not one this
    listener made within the last ``COUNTER_TICKS_VALID`` ticks."""
    t_now = counter(now)
    for age in range(COUNTER_TICKS_VALID):
        t = t_now - age
        if cookie >> 27 == t % 32 and cookie & 0xFFFFFF == hash24(t) & 0xFFFFFF:
            return MSS_TABLE[(cookie >> 24) & 0x7]
    return None


def options_in_tsval(tsval: int, wscale: int | None, sack: bool) -> int:
    """The SYN,ACK's TSval with the SYN's window scale and SACK-permitted in its low bits."""
    bits = ((WSCALE_NONE if wscale is None else min(wscale, 14)) << 1) | int(sack)
    return (tsval & ~((1 << OPTION_BITS) - 1) & 0xFFFFFFFF) | bits


def options_from_tsecr(tsecr: int) -> tuple[int | None, bool]:
    """(window scale or None, SACK-permitted) from the TSecr of the returning ACK."""
    wscale = (tsecr >> 1) & 0xF
    return (None if wscale == WSCALE_NONE else wscale), bool(tsecr & 1)


# -- RFC 4987 §3.3 "Reducing SYN-RECEIVED Timer", as Windows' SynAttackProtect does it ----
#
# RFC 4987 §3.3 surveys this defence: a half-open connection is reaped sooner, so a flood
# holds each SYN queue slot for less time, at the price of legitimate handshakes on slow
# or lossy paths that need more retransmissions. The Windows
# 2000 TCP/IP stack decides when to shorten it with thresholds on its half-open
# (SYN-RECEIVED) connections: more than TcpMaxHalfOpen of them, or more than
# TcpMaxHalfOpenRetried whose SYN,ACK was already retransmitted, and the host is under
# attack; a connection made then retransmits its SYN,ACK fewer times.


def under_attack(
    half_open: int, half_open_retried: int, max_half_open: int, max_half_open_retried: int
) -> bool:
    """Whether the host is under a SYN attack by the two half-open thresholds."""
    return half_open >= max_half_open or half_open_retried >= max_half_open_retried


def syn_ack_retransmissions(attack: bool, normal: int, under_attack_limit: int) -> int:
    """The SYN,ACK retransmissions a new connection makes before giving up."""
    return min(normal, under_attack_limit) if attack else normal


def syn_ack_times(initial_rto: float, retransmissions: int) -> tuple[list[float], float]:
    """When (after the first SYN,ACK at 0) each retransmission goes out with the
    doubling of RFC 6298 §5.5, and when the connection gives up: the timer after the
    last one."""
    times: list[float] = []
    at, rto = 0.0, initial_rto
    for _ in range(retransmissions):
        at += rto
        times.append(at)
        rto *= 2
    return times, at + rto
