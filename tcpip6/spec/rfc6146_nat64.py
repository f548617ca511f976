"""Stateful NAT64, the reference model: RFC 6146.

Written to be read beside RFC 6146:

* §3.1-§3.3: the conceptual structures, the Binding Information Bases (one per protocol:
  TCP, UDP, ICMP Query) that bind an IPv6 transport address X' to an IPv4 transport
  address T, and the session tables whose entries hold (X', Y') on the IPv6 side and
  (T, Z) on the IPv4 side, with a lifetime and, for TCP, a state;
* §3.5.2: the TCP session state machine, transcribed state by state below
  (:func:`on_segment`, :func:`on_lifetime_expired`);
* §4: the lifetimes (``TCP_TRANS``, ``TCP_EST``, ``TCP_INCOMING_SYN``, ``UDP_MIN``,
  ``UDP_DEFAULT``, ``ICMP_DEFAULT``).

How a segment is classified when it carries several flags is not written in RFC 6146; this
model reads the flags in the order RST, SYN, FIN (an RST ends whatever else the segment
says; a SYN opens before a FIN closes), and the stack does the same.

Plain data, pure functions, no state machine library, no I/O. The stack
(``tcpip6.stack.translate.nat64`` and its graph ``stack/machines/nat64_tcp.py``) is checked
against this model by ``tests/model/test_nat64_tcp.py``; it never imports it.

Actions are tuples, easy to compare:

* ``("translate",)``: the segment is translated and forwarded;
* ``("probe",)``: RFC 6146 §3.5.2.2 ESTABLISHED expiry: a probe (an ACK with sequence and
  acknowledgment numbers zero) is sent;
* ``("port_unreachable",)``: V4 INIT expiry: the stored IPv4 SYN is answered with ICMP
  Destination Unreachable (Port Unreachable);
* ``("delete",)``: the session is removed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from ipaddress import IPv4Address, IPv6Address

# RFC 6146 §4: lifetimes, in seconds.
UDP_MIN = 2 * 60
UDP_DEFAULT = 5 * 60
TCP_TRANS = 4 * 60
TCP_EST = 2 * 60 * 60 + 4 * 60
TCP_INCOMING_SYN = 6
ICMP_DEFAULT = 60

# RFC 6146 §3.5.2: the states, with the RFC's names.
CLOSED = "CLOSED"
V4_INIT = "V4 INIT"
V6_INIT = "V6 INIT"
ESTABLISHED = "ESTABLISHED"
V4_FIN_RCV = "V4 FIN RCV"
V6_FIN_RCV = "V6 FIN RCV"
V4_FIN_V6_FIN_RCV = "V4 FIN + V6 FIN RCV"
TRANS = "TRANS"

Action = tuple[str, ...]


@dataclass(frozen=True)
class BibEntry:
    """RFC 6146 §3.1: (X', T) for one protocol: X' = (IPv6 address, port or identifier),
    T = (IPv4 address, port or identifier)."""

    x: tuple[IPv6Address, int]
    t: tuple[IPv4Address, int]


@dataclass(frozen=True)
class TcpSession:
    """RFC 6146 §3.2: a TCP session table entry; only the parts §3.5.2 changes."""

    state: str = CLOSED
    #: when the lifetime runs out (None while CLOSED)
    expires: float | None = None


@dataclass(frozen=True)
class Segment:
    """What §3.5.2 looks at in a TCP segment: which side it came from and three flags."""

    from_v6: bool
    syn: bool = False
    fin: bool = False
    rst: bool = False


def on_segment(s: TcpSession, seg: Segment, now: float) -> tuple[TcpSession, list[Action]]:
    """RFC 6146 §3.5.2.2: a segment of this session arrives (from ``seg.from_v6``'s side).
    Returns the new session entry and what to do with the segment."""
    go: list[Action] = [("translate",)]
    if s.state == CLOSED:
        # "If a V6 SYN packet is received ... the state is moved to V6 INIT", lifetime
        # TCP_TRANS. "If a V4 SYN packet is received ... the state is moved to V4 INIT",
        # lifetime TCP_INCOMING_SYN. Anything else creates no session.
        if seg.syn and not seg.rst:
            if seg.from_v6:
                return TcpSession(V6_INIT, now + TCP_TRANS), go
            return TcpSession(V4_INIT, now + TCP_INCOMING_SYN), go
        return s, [("drop",)]
    if s.state == V4_INIT:
        # "If a V6 SYN is received ... ESTABLISHED ... lifetime TCP_EST." Else: translated.
        if seg.from_v6 and seg.syn and not seg.rst:
            return TcpSession(ESTABLISHED, now + TCP_EST), go
        return s, go
    if s.state == V6_INIT:
        # "If a V4 SYN is received ... ESTABLISHED ... TCP_EST"; "If a V6 SYN is received
        # ... lifetime ... TCP_TRANS". Else: translated, lifetime untouched.
        if seg.syn and not seg.rst:
            if seg.from_v6:
                return TcpSession(V6_INIT, now + TCP_TRANS), go
            return TcpSession(ESTABLISHED, now + TCP_EST), go
        return s, go
    if s.state == ESTABLISHED:
        # "If a V4 FIN ... V4 FIN RCV"; "If a V6 FIN ... V6 FIN RCV"; "If a V4 RST or a
        # V6 RST ... TRANS ... TCP_TRANS"; "If any other packet ... lifetime ... TCP_EST".
        if seg.rst:
            return TcpSession(TRANS, now + TCP_TRANS), go
        if seg.fin and not seg.syn:
            return TcpSession(V6_FIN_RCV if seg.from_v6 else V4_FIN_RCV, s.expires), go
        return TcpSession(ESTABLISHED, now + TCP_EST), go
    if s.state in (V4_FIN_RCV, V6_FIN_RCV):
        # "If a V6 FIN [in V4 FIN RCV; a V4 FIN in V6 FIN RCV] ... V4 FIN + V6 FIN RCV ...
        # TCP_TRANS"; "If any other packet ... lifetime ... TCP_EST".
        closing_half = seg.from_v6 if s.state == V4_FIN_RCV else not seg.from_v6
        if seg.fin and not seg.syn and not seg.rst and closing_half:
            return TcpSession(V4_FIN_V6_FIN_RCV, now + TCP_TRANS), go
        return TcpSession(s.state, now + TCP_EST), go
    if s.state == V4_FIN_V6_FIN_RCV:
        # "All packets are translated ... the lifetime is not updated."
        return s, go
    if s.state == TRANS:
        # "If a packet other than a RST ... lifetime TCP_EST ... ESTABLISHED." An RST:
        # translated, nothing else.
        if seg.rst:
            return s, go
        return TcpSession(ESTABLISHED, now + TCP_EST), go
    raise ValueError(f"unknown state {s.state!r}")


def on_lifetime_expired(s: TcpSession, now: float) -> tuple[TcpSession, list[Action]]:
    """RFC 6146 §3.5.2.2: the session lifetime ran out."""
    if s.state == ESTABLISHED:
        # "the NAT64 SHOULD send a probe packet ... The state is moved to TRANS", lifetime
        # TCP_TRANS: the session dies unless the probe brings an answer.
        return TcpSession(TRANS, now + TCP_TRANS), [("probe",)]
    if s.state == V4_INIT:
        # the stored IPv4 SYN is answered with ICMP Port Unreachable, the session deleted
        return TcpSession(CLOSED, None), [("port_unreachable",), ("delete",)]
    if s.state == CLOSED:
        raise ValueError("no lifetime runs in CLOSED")
    return TcpSession(CLOSED, None), [("delete",)]


def next_deadline(s: TcpSession) -> float | None:
    return s.expires


def is_due(s: TcpSession, now: float) -> bool:
    return s.expires is not None and now >= s.expires


def with_state(s: TcpSession, state: str) -> TcpSession:
    return replace(s, state=state)
