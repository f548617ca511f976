"""Neighbor Discovery, the reference model: RFC 1970 -> RFC 2461 -> RFC 4861.

Written to be read beside RFC 4861. Each function is one rule of the RFC, transcribed
section by section as if/else over the conceptual data structures of §5.1; no state
machine library, no I/O, no cleverness. The stack (``tcpip6.stack``) is checked against
this model by ``tests/model``; the stack never imports it.

Where the versions differ (only what this model depends on):

* RFC 1970 (1996) defined the Neighbor Cache states INCOMPLETE, REACHABLE, STALE, DELAY
  and PROBE and Appendix C's table; RFC 2461 (1998) and RFC 4861 (2007) keep them.
* RFC 4861 §7.2.5 spells out that a *solicited* advertisement with Override clear and a
  *different* link-layer address does not update the entry and only moves REACHABLE to
  STALE; RFC 2461 already said so, RFC 1970 words it less precisely.
* RFC 4861 §7.2.2 says the per-entry packet queue "SHOULD" replace its oldest packet when
  it overflows; RFC 1970 only asked that the queue be bounded.
* RFC 4861 removed RFC 2461's rule that a host with no default router assumes every
  destination is on-link (see RFC 4943): :func:`next_hop` implements RFC 4861.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from ipaddress import IPv6Address, IPv6Network

# RFC 4861 §10, node constants.
MAX_MULTICAST_SOLICIT = 3
MAX_UNICAST_SOLICIT = 3
DELAY_FIRST_PROBE_TIME = 5.0
REACHABLE_TIME = 30.0
RETRANS_TIMER = 1.0

INCOMPLETE = "INCOMPLETE"
REACHABLE = "REACHABLE"
STALE = "STALE"
DELAY = "DELAY"
PROBE = "PROBE"


@dataclass(frozen=True)
class Variables:
    """The host variables of §6.3.2 this model reads."""

    reachable_time: float = REACHABLE_TIME
    retrans_timer: float = RETRANS_TIMER
    queue_limit: int = 3


@dataclass(frozen=True)
class NeighborCacheEntry:
    """§5.1 Neighbor Cache entry: "its link-layer address, a flag indicating whether the
    neighbor is a router or a host, a pointer to any queued packets waiting for address
    resolution to complete, ... the number of unanswered probes, and the time the next
    Neighbor Unreachability Detection event is scheduled to take place"."""

    state: str
    link_layer_address: bytes | None = None
    is_router: bool = False
    unanswered_probes: int = 0
    timer: float | None = None
    queued: tuple[bytes, ...] = ()


# Actions: plain tuples, easy to compare.
#   ("multicast_ns",)                  NS to the solicited-node multicast address
#   ("unicast_ns", lla)                NS to the cached link-layer address (a probe)
#   ("transmit", lla, packets)         send packets to lla
#   ("address_unreachable", packets)   ICMPv6 destination unreachable for each packet
#   ("unreachable", was_router)        the entry was deleted after failed probes
#   ("router_flag_cleared",)           IsRouter TRUE -> FALSE (§7.2.5)
Action = tuple[object, ...]
Result = tuple[NeighborCacheEntry | None, list[Action]]


def _queue(entry: NeighborCacheEntry, packet: bytes, v: Variables) -> tuple[bytes, ...]:
    # §7.2.2: "If the queue overflows, the new packet SHOULD replace the oldest one."
    return ((*entry.queued, packet))[-v.queue_limit :]


def send_packet(
    entry: NeighborCacheEntry | None, packet: bytes, now: float, v: Variables
) -> Result:
    """§7.2.2 (address resolution) and §7.3.3 (the first packet to a STALE entry)."""
    if entry is None:
        # "the sender creates one, sets its state to INCOMPLETE, initiates Address
        # Resolution, and then queues the data packet pending completion"; "the node
        # ... sends a Neighbor Solicitation ... and [sets] a timer to RetransTimer".
        new = NeighborCacheEntry(
            INCOMPLETE, unanswered_probes=1, timer=now + v.retrans_timer, queued=(packet,)
        )
        return new, [("multicast_ns",)]
    if entry.state == INCOMPLETE:
        return replace(entry, queued=_queue(entry, packet, v)), []
    assert entry.link_layer_address is not None
    actions: list[Action] = [("transmit", entry.link_layer_address, (packet,))]
    if entry.state == STALE:
        # "The first time a node sends a packet to a neighbor whose entry is STALE, the
        # sender changes the state to DELAY and sets a timer to expire in
        # DELAY_FIRST_PROBE_TIME seconds."
        return replace(entry, state=DELAY, timer=now + DELAY_FIRST_PROBE_TIME), actions
    return entry, actions


def receive_link_layer_address(
    entry: NeighborCacheEntry | None, lla: bytes, is_router: bool | None
) -> Result:
    """A Neighbor Solicitation (§7.2.3), Router Solicitation (§6.2.6), Router
    Advertisement (§6.3.4) or Redirect (§8.3) carrying the sender's (or target's)
    link-layer address. ``is_router``: True for RAs, False for RSs, None otherwise."""

    def router_flag(e: NeighborCacheEntry, actions: list[Action]) -> NeighborCacheEntry:
        if is_router is None:
            return e
        if e.is_router and not is_router:
            actions.append(("router_flag_cleared",))
        return replace(e, is_router=is_router)

    actions: list[Action] = []
    if entry is None:
        # "If an entry does not already exist, the node SHOULD create a new one and set
        # its reachability state to STALE."
        return router_flag(NeighborCacheEntry(STALE, lla), actions), actions
    if entry.link_layer_address == lla:
        return router_flag(entry, actions), actions
    # "If an entry already exists, and the cached link-layer address differs from the one
    # in the received Source Link-Layer option, the cached address should be replaced by
    # the received address, and the entry's reachability state MUST be set to STALE."
    # Appendix C: INCOMPLETE -> STALE also sends the queued packets.
    if entry.queued:
        actions.append(("transmit", lla, entry.queued))
    new = replace(
        entry, state=STALE, link_layer_address=lla, unanswered_probes=0, timer=None, queued=()
    )
    return router_flag(new, actions), actions


def receive_neighbor_advertisement(
    entry: NeighborCacheEntry | None,
    target_lla: bytes | None,
    router: bool,
    solicited: bool,
    override: bool,
    now: float,
    v: Variables,
) -> Result:
    """§7.2.5 Receipt of Neighbor Advertisements."""
    # "If no entry exists, the advertisement SHOULD be silently discarded."
    if entry is None:
        return None, []
    actions: list[Action] = []
    if entry.state == INCOMPLETE:
        # "If the target's Neighbor Cache entry is in the INCOMPLETE state when the
        # advertisement is received, one of two things happens. If the link layer has
        # addresses and no Target Link-Layer Address option is included, the receiving
        # node SHOULD silently discard the received advertisement."
        if target_lla is None:
            return entry, []
        # "Otherwise, the receiving node performs the following steps: It records the
        # link-layer address in the Neighbor Cache entry. If the advertisement's Solicited
        # flag is set, the state of the entry is set to REACHABLE; otherwise, it is set to
        # STALE. It sets the IsRouter flag ... based on the Router flag ... It sends any
        # packets queued for the neighbor awaiting address resolution."
        if entry.queued:
            actions.append(("transmit", target_lla, entry.queued))
        if solicited:
            new = replace(entry, state=REACHABLE, timer=now + v.reachable_time)
        else:
            new = replace(entry, state=STALE, timer=None)
        new = replace(
            new, link_layer_address=target_lla, is_router=router, unanswered_probes=0, queued=()
        )
        return new, actions
    # "If the target's Neighbor Cache entry is in any state other than INCOMPLETE ...":
    different = target_lla is not None and target_lla != entry.link_layer_address
    # "I. If the Override flag is clear and the supplied link-layer address differs from
    # that in the cache, then one of two actions takes place: a. If the state of the entry
    # is REACHABLE, set it to STALE, but do not update the entry in any other way.
    # b. Otherwise, the received advertisement should be ignored ..."
    if not override and different:
        if entry.state == REACHABLE:
            return replace(entry, state=STALE, timer=None), []
        return entry, []
    # "II. If the Override flag is set, or the supplied link-layer address is the same as
    # that in the cache, or no Target Link-Layer Address option was supplied, the received
    # advertisement MUST update the Neighbor Cache entry as follows:"
    new = entry
    # "- The link-layer address in the Target Link-Layer Address option MUST be inserted
    # in the cache (if one is supplied and differs from the already recorded address)."
    if different:
        new = replace(new, link_layer_address=target_lla)
    # "- If the Solicited flag is set, the state of the entry MUST be set to REACHABLE.
    # If the Solicited flag is zero and the link-layer address was updated with a
    # different address, the state MUST be set to STALE. Otherwise, the entry's state
    # remains unchanged."
    if solicited:
        new = replace(new, state=REACHABLE, timer=now + v.reachable_time, unanswered_probes=0)
    elif different:
        new = replace(new, state=STALE, timer=None, unanswered_probes=0)
    # "- The IsRouter flag in the cache entry MUST be set based on the Router flag in the
    # received advertisement. In those cases where the IsRouter flag changes from TRUE to
    # FALSE ... the node MUST remove that router from the Default Router List".
    if entry.is_router and not router:
        actions.append(("router_flag_cleared",))
    return replace(new, is_router=router), actions


def upper_layer_confirmation(entry: NeighborCacheEntry | None, now: float, v: Variables) -> Result:
    """§7.3.1: "forward progress" from an upper layer confirms reachability: an entry
    with a link-layer address becomes REACHABLE."""
    if entry is None or entry.state == INCOMPLETE:
        return entry, []
    return replace(entry, state=REACHABLE, timer=now + v.reachable_time, unanswered_probes=0), []


def timer_expired(entry: NeighborCacheEntry, now: float, v: Variables) -> Result:
    """The entry's timer fired (§7.2.2 retransmissions, §7.3.3 NUD)."""
    if entry.state == INCOMPLETE:
        # §7.2.2: "retransmit ... every RetransTimer milliseconds until ... or
        # MAX_MULTICAST_SOLICIT solicitations have been sent without a response. If no
        # ... response ... the entry SHOULD be deleted ... For each packet queued ... the
        # sending node SHOULD send an ICMP destination unreachable message".
        if entry.unanswered_probes < MAX_MULTICAST_SOLICIT:
            return replace(
                entry, unanswered_probes=entry.unanswered_probes + 1, timer=now + v.retrans_timer
            ), [("multicast_ns",)]
        return None, [("address_unreachable", entry.queued)]
    if entry.state == REACHABLE:
        # §7.3.3: "When ReachableTime milliseconds have passed since receipt of the last
        # reachability confirmation ... the entry's state changes from REACHABLE to STALE."
        return replace(entry, state=STALE, timer=None), []
    assert entry.link_layer_address is not None
    if entry.state == DELAY:
        # "If the entry is still in the DELAY state when the timer expires, the entry's
        # state changes to PROBE ... sends a Neighbor Solicitation and sets a timer to
        # expire after RetransTimer milliseconds."
        return replace(entry, state=PROBE, unanswered_probes=1, timer=now + v.retrans_timer), [
            ("unicast_ns", entry.link_layer_address)
        ]
    if entry.state == PROBE:
        # "If no response is received after waiting RetransTimer milliseconds after
        # sending the MAX_UNICAST_SOLICIT solicitations, retransmissions cease and the
        # entry SHOULD be deleted."
        if entry.unanswered_probes < MAX_UNICAST_SOLICIT:
            return replace(
                entry, unanswered_probes=entry.unanswered_probes + 1, timer=now + v.retrans_timer
            ), [("unicast_ns", entry.link_layer_address)]
        return None, [("unreachable", entry.is_router)]
    return entry, []


# -- §5.1 Prefix List, Default Router List; §5.2 next-hop determination; §6.3.6 -----------


@dataclass(frozen=True)
class PrefixListEntry:
    prefix: IPv6Network
    invalidation_time: float


@dataclass(frozen=True)
class DefaultRouterListEntry:
    router: IPv6Address
    invalidation_time: float


def is_on_link(destination: IPv6Address, prefix_list: list[PrefixListEntry], now: float) -> bool:
    """§5.2: "the sender performs a longest prefix match against the Prefix List to
    determine whether the packet's destination is on- or off-link"; link-local addresses
    are always on-link (§5.1: the link-local prefix is considered on the Prefix List)."""
    if destination.is_link_local or destination.is_multicast:
        return True
    return any(destination in p.prefix and p.invalidation_time > now for p in prefix_list)


def select_default_router(
    routers: list[DefaultRouterListEntry],
    reachability: dict[IPv6Address, str | None],
    round_robin_start: int,
    now: float,
) -> IPv6Address | None:
    """§6.3.6 Default Router Selection: "1) Routers that are reachable or probably
    reachable (i.e., in any state other than INCOMPLETE) SHOULD be preferred over routers
    whose reachability is unknown or suspect (i.e., in the INCOMPLETE state, or for which
    no Neighbor Cache entry exists)." ... "2) When no routers on the list are known to be
    reachable or probably reachable, routers SHOULD be selected in a round-robin fashion".
    ``reachability`` maps a router to its Neighbor Cache state (None: no entry)."""
    live = [r for r in routers if r.invalidation_time > now]
    if not live:
        return None
    for r in live:
        state = reachability.get(r.router)
        if state is not None and state != INCOMPLETE:
            return r.router
    return live[round_robin_start % len(live)].router


# -- §6.3.7 Sending Router Solicitations ---------------------------------------------------

MAX_RTR_SOLICITATION_DELAY = 1.0
RTR_SOLICITATION_INTERVAL = 4.0
MAX_RTR_SOLICITATIONS = 3


@dataclass(frozen=True)
class Solicitation:
    """What a host remembers while it solicits routers: whether it has started, whether
    it is done, how many RSs it sent, and when it acts next."""

    started: bool = False
    done: bool = False
    sent: int = 0
    next_time: float | None = None


def start_soliciting(s: Solicitation, now: float, delay: float) -> Solicitation:
    """A host transmits up to MAX_RTR_SOLICITATIONS Router Solicitations, the first after
    a random delay between 0 and MAX_RTR_SOLICITATION_DELAY (``delay``)."""
    if s.started:
        return s
    return Solicitation(started=True, next_time=now + delay)


def solicitation_timer(s: Solicitation, now: float) -> tuple[Solicitation, list[Action]]:
    """Solicitations are sent RTR_SOLICITATION_INTERVAL apart, up to
    MAX_RTR_SOLICITATIONS of them; a valid Router Advertisement ends them. Once the last
    interval passes with no advertisement the host stops (and concludes there is no
    router on the link); this model waits one RTR_SOLICITATION_INTERVAL after the last."""
    if not s.started or s.done or s.next_time is None or s.next_time > now:
        return s, []
    if s.sent < MAX_RTR_SOLICITATIONS:
        return replace(s, sent=s.sent + 1, next_time=now + RTR_SOLICITATION_INTERVAL), [
            ("router_solicitation",)
        ]
    return replace(s, done=True, next_time=None), []


def advertisement_received(s: Solicitation) -> Solicitation:
    if not s.started or s.done:
        return s
    return replace(s, done=True, next_time=None)
