"""Reference model of IPsec processing for manually keyed SAs: RFC 4301 (the SPD and SAD,
RFC 4301 §4.4; outbound RFC 4301 §5.1, inbound RFC 4301 §5.2), the anti-replay window of
RFC 4303 §3.4.3 (with
Extended Sequence Numbers, RFC 4303 Appendix A2) and SA lifetimes (RFC 4301 §4.4.2.1)
with the PF_KEY v2 state names (RFC 2367 §2.3.3).

Plain values and pure functions, transcribed for a reader with the RFCs open; no
cryptography (whether an ICV verifies is an input), no I/O. Addresses are integers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

# RFC 4301 §4.4.1: the three things an SPD entry can say.
PROTECT = "PROTECT"
BYPASS = "BYPASS"
DISCARD = "DISCARD"

INBOUND = "in"
OUTBOUND = "out"

# RFC 2367 §2.3.3 SADB_SASTATE_*.
MATURE = "MATURE"
DYING = "DYING"
DEAD = "DEAD"

# RFC 4303 §3.4.3: "a window size of 64 is preferred and SHOULD be employed as the default".
DEFAULT_WINDOW = 64

ESP = 50
AH = 51

ANY_PORTS = (0, 0xFFFF)


@dataclass(frozen=True)
class Packet:
    """The selector values of a packet, from this host's side (RFC 4301 §4.4.1.1)."""

    local: int
    remote: int
    next_layer: int
    local_port: int | None = None
    remote_port: int | None = None
    icmp_type: int | None = None
    icmp_code: int | None = None
    mh_type: int | None = None
    opaque: bool = False


@dataclass(frozen=True)
class Entry:
    """An SPD entry (RFC 4301 §4.4.1.2); a None selector is ANY."""

    name: str
    action: str
    local: tuple[int, int] = (0, (1 << 128) - 1)
    remote: tuple[int, int] = (0, (1 << 128) - 1)
    next_layer: int | None = None
    local_ports: tuple[int, int] = ANY_PORTS
    remote_ports: tuple[int, int] = ANY_PORTS
    icmp_type: int | None = None
    icmp_code: int | None = None
    mh_type: int | None = None
    direction: str | None = None
    #: (protocol, mode) of each SA of the bundle, innermost first.
    protect: tuple[tuple[int, str], ...] = ()


def _within(value: int, bounds: tuple[int, int]) -> bool:
    return bounds[0] <= value <= bounds[1]


def entry_matches(e: Entry, p: Packet, direction: str) -> bool:
    """RFC 4301 §4.4.1.1: every selector of the entry admits the packet's value."""
    if e.direction not in (None, direction):
        return False
    if not (_within(p.local, e.local) and _within(p.remote, e.remote)):
        return False
    if e.next_layer is None:
        return True
    if p.next_layer != e.next_layer:
        return False
    wants_ports = e.local_ports != ANY_PORTS or e.remote_ports != ANY_PORTS
    if p.opaque:
        # "OPAQUE" port values match only ANY.
        return not wants_ports and e.icmp_type is None and e.mh_type is None
    if wants_ports:
        if p.local_port is None or p.remote_port is None:
            return False
        if not (_within(p.local_port, e.local_ports) and _within(p.remote_port, e.remote_ports)):
            return False
    if e.icmp_type is not None and p.icmp_type != e.icmp_type:
        return False
    if e.icmp_code is not None and p.icmp_code != e.icmp_code:
        return False
    return not (e.mh_type is not None and p.mh_type != e.mh_type)


def spd_lookup(spd: tuple[Entry, ...], p: Packet, direction: str) -> Entry | None:
    """RFC 4301 §4.4.1: the SPD is ordered, and the first entry that matches decides."""
    for e in spd:
        if entry_matches(e, p, direction):
            return e
    return None


# -- the anti-replay window (RFC 4303 §3.4.3) ---------------------------------------------
@dataclass(frozen=True)
class Window:
    size: int = DEFAULT_WINDOW
    #: The right edge: the highest sequence number authenticated so far (0: none).
    right: int = 0
    #: The authenticated sequence numbers within the window.
    seen: frozenset[int] = frozenset()


def esn_high(w: Window, seq_low: int) -> int:
    """RFC 4303 Appendix A2.1: the full 64-bit number of a received low half."""
    th, tl = divmod(w.right, 1 << 32)
    if tl >= w.size - 1:  # Case A
        high = th if seq_low >= tl - w.size + 1 else th + 1
    else:  # Case B
        high = th - 1 if seq_low >= (tl - w.size + 1) % (1 << 32) else th
    return max(high, 0) * (1 << 32) + seq_low


def replay_verdict(w: Window, seq: int) -> str:
    """RFC 4303 §3.4.3: "ok", or why a packet is discarded: "replay" (received before,
    or 0, which is never sent, RFC 4303 §3.3.3) or "too_old" (left of the window)."""
    if seq == 0:
        return "replay"
    if seq > w.right:
        return "ok"
    if seq <= w.right - w.size:
        return "too_old"
    return "replay" if seq in w.seen else "ok"


def window_update(w: Window, seq: int) -> Window:
    """RFC 4303 §3.4.3: after the ICV verifies: a new right edge slides the window."""
    right = max(w.right, seq)
    seen = frozenset(s for s in (*w.seen, seq) if s > right - w.size)
    return Window(w.size, right, seen)


# -- SAs and their lifetimes (RFC 4301 §4.4.2.1) -------------------------------------------
@dataclass(frozen=True)
class Sa:
    spi: int
    dst: int
    protocol: int
    direction: str
    mode: str
    policy: str
    esn: bool = False
    window: Window = Window()
    soft_seconds: float = 0.0
    hard_seconds: float = 0.0
    soft_octets: int = 0
    hard_octets: int = 0
    added: float = 0.0
    state: str = MATURE
    #: RFC 4301 §4.4.2.1 Sequence Number Counter (outbound): the last one sent.
    counter: int = 0
    octets: int = 0
    packets: int = 0


def lifetime(sa: Sa, now: float) -> Sa:
    """RFC 4301 §4.4.2.1: "If a soft lifetime expires ... warning"; "if a hard lifetime
    expires, the SA MUST be terminated". A DEAD SA stays DEAD."""
    if sa.state == DEAD:
        return sa
    age = now - sa.added
    hard = (sa.hard_seconds and age >= sa.hard_seconds) or (
        sa.hard_octets and sa.octets >= sa.hard_octets
    )
    if hard:
        return replace(sa, state=DEAD)
    soft = (sa.soft_seconds and age >= sa.soft_seconds) or (
        sa.soft_octets and sa.octets >= sa.soft_octets
    )
    return replace(sa, state=DYING) if soft else sa


def delete(sa: Sa) -> Sa:
    """RFC 2367 §3.1.4 SADB_DELETE."""
    return replace(sa, state=DEAD)


# -- processing (RFC 4301 §5) ----------------------------------------------------------------
@dataclass(frozen=True)
class Outbound:
    verdict: str  # "bypass", "discard", "no_policy", "no_sa", "expired", "overflow", "protect"
    spis: tuple[int, ...] = ()
    sequence_numbers: tuple[int, ...] = ()


def outbound(
    spd: tuple[Entry, ...], sas: tuple[Sa, ...], p: Packet, size: int, now: float
) -> tuple[Outbound, tuple[Sa, ...]]:
    """RFC 4301 §5.1: SPD lookup; BYPASS and DISCARD; PROTECT through the SAs made for
    the entry (manual keying: the first configured that is not DEAD), with a packet of
    ``size`` octets handed to each. Returns the verdict and the SAD after."""
    entry = spd_lookup(spd, p, OUTBOUND)
    if entry is None:
        return Outbound("no_policy"), sas  # RFC 4301 §5.1 step 3a
    if entry.action == BYPASS:
        return Outbound("bypass"), sas
    if entry.action == DISCARD:
        return Outbound("discard"), sas
    table = list(sas)
    chosen: list[int] = []
    for proto, _mode in entry.protect:
        i = next(
            (
                i
                for i, sa in enumerate(table)
                if sa.policy == entry.name
                and sa.protocol == proto
                and sa.direction == OUTBOUND
                and sa.state != DEAD
            ),
            None,
        )
        if i is None:
            return Outbound("no_sa"), tuple(table)
        table[i] = lifetime(table[i], now)
        if table[i].state == DEAD:
            return Outbound("expired"), tuple(table)
        # RFC 4303 §3.3.3: the counter never cycles (2^32 - 1, or 2^64 - 1 with ESN).
        if table[i].counter >= (1 << (64 if table[i].esn else 32)) - 1:
            return Outbound("overflow"), tuple(table)
        chosen.append(i)
    for i in chosen:
        sa = table[i]
        table[i] = lifetime(
            replace(sa, counter=sa.counter + 1, octets=sa.octets + size, packets=sa.packets + 1),
            now,
        )
    return (
        Outbound(
            "protect",
            tuple(table[i].spi for i in chosen),
            tuple(table[i].counter for i in chosen),
        ),
        tuple(table),
    )


def inbound_protected(
    spd: tuple[Entry, ...],
    sas: tuple[Sa, ...],
    spi: int,
    dst: int,
    protocol: int,
    seq_low: int,
    icv_ok: bool,
    size: int,
    inner: Packet,
    now: float,
) -> tuple[str, tuple[Sa, ...]]:
    """RFC 4301 §5.2 and RFC 4303 §3.4 for one AH or ESP with one SA: "accepted", or why
    the packet is dropped ("unknown_spi", "expired", "replay", "too_old", "bad_icv",
    "policy_mismatch"). ``inner`` is what the decapsulated packet carries."""
    table = list(sas)
    i = next(
        (
            i
            for i, sa in enumerate(table)
            if (sa.spi, sa.dst, sa.protocol, sa.direction) == (spi, dst, protocol, INBOUND)
        ),
        None,
    )
    if i is None:
        return "unknown_spi", sas  # RFC 4301 §4.1: SPI, destination, protocol
    table[i] = lifetime(table[i], now)
    sa = table[i]
    if sa.state == DEAD:
        return "expired", tuple(table)
    seq = esn_high(sa.window, seq_low) if sa.esn else seq_low
    if sa.window.size:
        verdict = replay_verdict(sa.window, seq)  # RFC 4303 §3.4.3, before the ICV
        if verdict != "ok":
            return verdict, tuple(table)
    if not icv_ok:
        return "bad_icv", tuple(table)  # RFC 4303 §3.4.4
    window = window_update(sa.window, seq) if sa.window.size else sa.window
    table[i] = lifetime(
        replace(sa, window=window, octets=sa.octets + size, packets=sa.packets + 1), now
    )
    # RFC 4301 §5.2 step 4: the decapsulated packet must match the SPD entry the SA was
    # made for, with the same protocols and modes.
    entry = spd_lookup(spd, inner, INBOUND)
    if (
        entry is None
        or entry.action != PROTECT
        or entry.name != sa.policy
        or set(entry.protect) != {(sa.protocol, sa.mode)}
    ):
        return "policy_mismatch", tuple(table)
    return "accepted", tuple(table)


def inbound_clear(spd: tuple[Entry, ...], p: Packet) -> str:
    """RFC 4301 §5.2 step 3: a packet without AH or ESP: delivered only when the first
    matching entry is BYPASS ("bypass"); else "discard", "unprotected" or "no_policy"."""
    entry = spd_lookup(spd, p, INBOUND)
    if entry is None:
        return "no_policy"
    if entry.action == DISCARD:
        return "discard"
    if entry.action == PROTECT:
        return "unprotected"
    return "bypass"
