"""Neighbor Discovery, the reference model: RFC 1970 -> RFC 2461 -> RFC 4861.

Written to be read beside RFC 4861. Each function is one rule of the RFC, transcribed
section by section as if/else over the conceptual data structures of RFC 4861 §5.1; no state
machine library, no I/O, no cleverness. The stack (``tcpip6.stack``) is checked against
this model by ``tests/model``; the stack never imports it.

The history, as far as this model depends on it:

* RFC 1970 (1996) introduced Neighbor Discovery, with the conceptual data structures of
  RFC 4861 §5.1 and the reachability states INCOMPLETE, REACHABLE, STALE, DELAY and PROBE. RFC
  2461 (1998) and RFC 4861 (2007) each obsoleted the one before and keep those states.
  Where the texts differ, this model follows RFC 4861.
* Next-hop determination (RFC 4861 §5.2): RFC 2461 said that when the Default Router List is
  empty the sender assumes the destination is on-link. RFC 4943 explained why that rule
  does harm and RFC 4861 removed it: :func:`next_hop` finds no next hop instead.
* Default router selection (RFC 4861 §6.3.6): RFC 4861 points to RFC 4311 (which updated RFC
  2461) for sharing load among equally good routers. This model does not share load: it
  takes the first router, in list order, that is reachable or probably reachable.

The model leaves out what RFC 4861 does not describe: the stack's PERMANENT (static)
entries, and the bound on the number of entries.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from ipaddress import IPv6Address, IPv6Network

# RFC 4861 §10, node constants.
MAX_MULTICAST_SOLICIT = 3
MAX_UNICAST_SOLICIT = 3
DELAY_FIRST_PROBE_TIME = 5.0
REACHABLE_TIME = 30.0
RETRANS_TIMER = 1.0

# RFC 4861 §7.3.2 Neighbor Cache entry states.
INCOMPLETE = "INCOMPLETE"
REACHABLE = "REACHABLE"
STALE = "STALE"
DELAY = "DELAY"
PROBE = "PROBE"


@dataclass(frozen=True)
class Variables:
    """The host variables of RFC 4861 §6.3.2 this model reads (seconds), and how many packets an
    entry queues while INCOMPLETE (RFC 4861 §7.2.2 leaves the number to the implementation)."""

    reachable_time: float = REACHABLE_TIME
    retrans_timer: float = RETRANS_TIMER
    queue_limit: int = 3


# -- RFC 4861 §5.1 Conceptual data structures ----------------------------------------------------


@dataclass(frozen=True)
class NeighborCacheEntry:
    """RFC 4861 §5.1 Neighbor Cache entry: "its link-layer address, a flag indicating whether the
    neighbor is a router or a host ..., a pointer to any queued packets waiting for
    address resolution to complete, ... the number of unanswered probes, and the time the
    next Neighbor Unreachability Detection event is scheduled to take place"."""

    state: str
    link_layer_address: bytes | None = None
    is_router: bool = False
    unanswered_probes: int = 0
    timer: float | None = None
    queued: tuple[bytes, ...] = ()


@dataclass(frozen=True)
class DestinationCacheEntry:
    """RFC 4861 §5.1 Destination Cache entry: "maps a destination IP address to the IP address of
    the next-hop neighbor" (plus, e.g., the Path MTU)."""

    destination: IPv6Address
    next_hop: IPv6Address
    path_mtu: int = 1280


@dataclass(frozen=True)
class PrefixListEntry:
    """RFC 4861 §5.1 Prefix List entry: an on-link prefix and when it becomes invalid."""

    prefix: IPv6Network
    invalidation_time: float


@dataclass(frozen=True)
class DefaultRouterListEntry:
    """RFC 4861 §5.1 Default Router List entry: a router's address and when it becomes invalid."""

    router: IPv6Address
    invalidation_time: float


# Actions: plain tuples, easy to compare.
#   ("multicast_ns",)                  NS to the solicited-node multicast address
#   ("unicast_ns", lla)                NS to the cached link-layer address (a probe)
#   ("transmit", lla, packets)         send packets to lla
#   ("address_unreachable", packets)   ICMPv6 destination unreachable for each packet
#   ("unreachable", was_router)        the entry was deleted after failed probes
#   ("router_flag_cleared",)           IsRouter TRUE -> FALSE (RFC 4861 §7.2.5)
#   ("router_solicitation",)           send an RS to all-routers (RFC 4861 §6.3.7)
#   ("no_routers",)                    no RA came: no routers on the link (RFC 4861 §6.3.7)
Action = tuple[object, ...]
Result = tuple[NeighborCacheEntry | None, list[Action]]


# -- RFC 4861 §7.2.2 Sending a packet; RFC 4861 §7.3.3 the first packet to a STALE entry -----------


def send_packet(
    entry: NeighborCacheEntry | None, packet: bytes, now: float, v: Variables
) -> Result:
    if entry is None:
        # RFC 4861 §7.2.2: "the sender creates one, sets its state to INCOMPLETE, initiates Address
        # Resolution, and then queues the data packet pending completion"; it "sends a
        # Neighbor Solicitation ... and [sets] a timer to RetransTimer".
        new = NeighborCacheEntry(
            INCOMPLETE, unanswered_probes=1, timer=now + v.retrans_timer, queued=(packet,)
        )
        return new, [("multicast_ns",)]
    if entry.state == INCOMPLETE:
        # RFC 4861 §7.2.2: "If the queue overflows, the new packet SHOULD replace the oldest one."
        queued = (*entry.queued, packet)[-v.queue_limit :]
        return replace(entry, queued=queued), []
    assert entry.link_layer_address is not None
    actions: list[Action] = [("transmit", entry.link_layer_address, (packet,))]
    if entry.state == STALE:
        # RFC 4861 §7.3.3: "The first time a node sends a packet to a neighbor whose entry is
        # STALE, the sender changes the state to DELAY and sets a timer to expire in
        # DELAY_FIRST_PROBE_TIME seconds."
        return replace(entry, state=DELAY, timer=now + DELAY_FIRST_PROBE_TIME), actions
    return entry, actions


# -- RFC 4861 §7.2.3, RFC 4861 §6.2.6, RFC 4861 §6.3.4, RFC 4861 §8.3: a link-layer address in an
# NS, RS, RA or Redirect ------


def receive_link_layer_address(
    entry: NeighborCacheEntry | None, lla: bytes | None, is_router: bool | None
) -> Result:
    """The sender's link-layer address from a Neighbor Solicitation (RFC 4861 §7.2.3), Router
    Solicitation (RFC 4861 §6.2.6) or Router Advertisement (RFC 4861 §6.3.4), or the target's from a
    Redirect (RFC 4861 §8.3); ``lla`` is None when the message had no such option.
    ``is_router``: False for an RS (RFC 4861 §6.2.6: "the entry's IsRouter flag MUST be set to
    FALSE"), True for an RA (RFC 4861 §6.3.4: "the IsRouter flag ... MUST be set to TRUE", with
    or without the option) and for a Redirect whose target is not its destination (RFC 4861 §8.3),
    None otherwise."""
    actions: list[Action] = []
    if entry is None:
        if lla is None:
            # Appendix C: "NS, RS, Redirect; No link-layer address": no entry is made.
            return None, []
        # RFC 4861 §7.2.3: "If an entry does not already exist, the node SHOULD create a new one
        # and set its reachability state to STALE".
        entry = NeighborCacheEntry(STALE, lla)
    elif lla is not None and lla != entry.link_layer_address:
        # RFC 4861 §7.2.3: "If an entry already exists, and the cached link-layer address differs
        # from the one in the received Source Link-Layer option, the cached address
        # should be replaced by the received address, and the entry's reachability state
        # MUST be set to STALE." Appendix C: an INCOMPLETE entry also "Send[s] queued
        # packets".
        if entry.queued:
            actions.append(("transmit", lla, entry.queued))
        entry = replace(
            entry, state=STALE, link_layer_address=lla, unanswered_probes=0, timer=None, queued=()
        )
    # Otherwise (the same address, or none) the state is unchanged.
    if is_router is not None:
        if entry.is_router and not is_router:
            actions.append(("router_flag_cleared",))
        entry = replace(entry, is_router=is_router)
    return entry, actions


# -- RFC 4861 §7.2.5 Receipt of Neighbor Advertisements --------------------------------------------


def receive_neighbor_advertisement(
    entry: NeighborCacheEntry | None,
    target_lla: bytes | None,
    router: bool,
    solicited: bool,
    override: bool,
    now: float,
    v: Variables,
) -> Result:
    # "If no entry exists, the advertisement SHOULD be silently discarded."
    if entry is None:
        return None, []
    actions: list[Action] = []
    # "In those cases where the IsRouter flag changes from TRUE to FALSE as a result of
    # this update, the node MUST remove that router from the Default Router List".
    if entry.is_router and not router:
        router_cleared: list[Action] = [("router_flag_cleared",)]
    else:
        router_cleared = []
    if entry.state == INCOMPLETE:
        # "If the link layer has addresses and no Target Link-Layer Address option is
        # included, the receiving node SHOULD silently discard the received
        # advertisement."
        if target_lla is None:
            return entry, []
        # "Otherwise, the receiving node performs the following steps: It records the
        # link-layer address in the Neighbor Cache entry. If the advertisement's Solicited
        # flag is set, the state of the entry is set to REACHABLE; otherwise, it is set to
        # STALE. It sets the IsRouter flag in the cache entry based on whether or not the
        # Router flag is set in the received advertisement. It sends any packets queued
        # for the neighbor awaiting address resolution."
        if entry.queued:
            actions.append(("transmit", target_lla, entry.queued))
        if solicited:
            new = replace(entry, state=REACHABLE, timer=now + v.reachable_time)
        else:
            new = replace(entry, state=STALE, timer=None)
        new = replace(
            new, link_layer_address=target_lla, is_router=router, unanswered_probes=0, queued=()
        )
        return new, actions + router_cleared
    # "If the target's Neighbor Cache entry is in any state other than INCOMPLETE ...":
    different = target_lla is not None and target_lla != entry.link_layer_address
    # "I. If the Override flag is clear and the supplied link-layer address differs from
    # that in the cache, then one of two actions takes place: a. If the state of the entry
    # is REACHABLE, set it to STALE, but do not update the entry in any other way.
    # b. Otherwise, the received advertisement should be ignored and MUST NOT update the
    # cache."
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
    # received advertisement."
    return replace(new, is_router=router), router_cleared


# -- RFC 4861 §7.3.1 Reachability confirmation -----------------------------------------------------


def upper_layer_confirmation(entry: NeighborCacheEntry | None, now: float, v: Variables) -> Result:
    """RFC 4861 §7.3.1: "forward progress" reported by an upper layer confirms reachability;
    Appendix C: "!INCOMPLETE, upper-layer reachability confirmation -> REACHABLE"."""
    if entry is None or entry.state == INCOMPLETE:
        return entry, []
    return replace(entry, state=REACHABLE, timer=now + v.reachable_time, unanswered_probes=0), []


# -- RFC 6059 Detecting Network Attachment -----------------------------------------------------


def attachment_probe(entry: NeighborCacheEntry | None, now: float, v: Variables) -> Result:
    """RFC 6059 (Simple DNA): when the link comes up, a router of the previous attachment is
    probed with a unicast NS to the link-layer address it had; a solicited NA in reply
    identifies the link as the one the host knew. The probe is NUD's PROBE state
    (RFC 4861 §7.3.3: "sends a Neighbor Solicitation and sets a timer to expire after
    RetransTimer milliseconds"), so its retransmissions and its end are NUD's. An entry
    without a link-layer address has nothing to probe."""
    if entry is None or entry.state == INCOMPLETE:
        return entry, []
    assert entry.link_layer_address is not None
    return replace(entry, state=PROBE, unanswered_probes=1, timer=now + v.retrans_timer), [
        ("unicast_ns", entry.link_layer_address)
    ]


# -- Timers: RFC 4861 §7.2.2 retransmissions, RFC 4861 §7.3.3 NUD ----------------------------------


def timer_expired(entry: NeighborCacheEntry, now: float, v: Variables) -> Result:
    """The entry's timer fired."""
    if entry.state == INCOMPLETE:
        # RFC 4861 §7.2.2: "retransmit ... every RetransTimer milliseconds until ... a response ...
        # or ... MAX_MULTICAST_SOLICIT solicitations have been sent without a response.
        # ... the entry SHOULD be deleted ... For each packet queued awaiting address
        # resolution, the sending node SHOULD send an ICMP destination unreachable
        # message".
        if entry.unanswered_probes < MAX_MULTICAST_SOLICIT:
            return replace(
                entry, unanswered_probes=entry.unanswered_probes + 1, timer=now + v.retrans_timer
            ), [("multicast_ns",)]
        return None, [("address_unreachable", entry.queued)]
    if entry.state == REACHABLE:
        # RFC 4861 §7.3.3: "When ReachableTime milliseconds have passed since receipt of the last
        # reachability confirmation ... the entry's state changes from REACHABLE to STALE."
        return replace(entry, state=STALE, timer=None), []
    assert entry.link_layer_address is not None
    if entry.state == DELAY:
        # RFC 4861 §7.3.3: "If the entry is still in the DELAY state when the timer expires, the
        # entry's state changes to PROBE", the node "sends a Neighbor Solicitation and sets
        # a timer to expire after RetransTimer milliseconds".
        return replace(entry, state=PROBE, unanswered_probes=1, timer=now + v.retrans_timer), [
            ("unicast_ns", entry.link_layer_address)
        ]
    if entry.state == PROBE:
        # RFC 4861 §7.3.3: "If no response is received after waiting RetransTimer milliseconds after
        # sending the MAX_UNICAST_SOLICIT solicitations, retransmissions cease and the
        # entry SHOULD be deleted."
        if entry.unanswered_probes < MAX_UNICAST_SOLICIT:
            return replace(
                entry, unanswered_probes=entry.unanswered_probes + 1, timer=now + v.retrans_timer
            ), [("unicast_ns", entry.link_layer_address)]
        return None, [("unreachable", entry.is_router)]
    return entry, []  # STALE runs no timer


# -- RFC 4861 §5.2 Next-hop determination, RFC 4861 §6.3.6 Default Router Selection ----------------


def is_on_link(destination: IPv6Address, prefix_list: list[PrefixListEntry], now: float) -> bool:
    """RFC 4861 §5.2: "the sender performs a longest prefix match against the Prefix List to
    determine whether the packet's destination is on- or off-link"; the link-local prefix
    is always on the Prefix List (RFC 4861 §5.1) and multicast needs no next hop."""
    if destination.is_link_local or destination.is_multicast:
        return True
    return any(destination in p.prefix and p.invalidation_time > now for p in prefix_list)


def select_default_router(
    routers: list[DefaultRouterListEntry],
    reachability: dict[IPv6Address, str | None],
    round_robin_start: int,
    now: float,
) -> IPv6Address | None:
    """RFC 4861 §6.3.6: "1) Routers that are reachable or probably reachable (i.e., in any state
    other than INCOMPLETE) SHOULD be preferred over routers whose reachability is unknown
    or suspect (i.e., in the INCOMPLETE state, or for which no Neighbor Cache entry
    exists)." "2) When no routers on the list are known to be reachable or probably
    reachable, routers SHOULD be selected in a round-robin fashion". ``reachability``
    maps a router to its Neighbor Cache state (None: no entry); ``round_robin_start``
    counts the earlier selections made under rule 2."""
    live = [r for r in routers if r.invalidation_time > now]
    if not live:
        return None
    for r in live:
        state = reachability.get(r.router)
        if state is not None and state != INCOMPLETE:
            return r.router
    return live[round_robin_start % len(live)].router


def next_hop(
    destination: IPv6Address,
    destination_cache: dict[IPv6Address, DestinationCacheEntry],
    prefix_list: list[PrefixListEntry],
    routers: list[DefaultRouterListEntry],
    reachability: dict[IPv6Address, str | None],
    round_robin_start: int,
    now: float,
) -> tuple[IPv6Address | None, dict[IPv6Address, DestinationCacheEntry]]:
    """RFC 4861 §5.2: "the sender examines the Destination Cache for a matching entry. If the
    Destination Cache does not contain an entry for the destination, next-hop
    determination is invoked": on-link, the next hop is the destination; otherwise "the
    sender selects a router from the Default Router List (following the rules described
    in Section 6.3.6)". "The results of next-hop determination computations are saved in
    the Destination Cache". None: no next hop (RFC 4861 makes no on-link assumption)."""
    cached = destination_cache.get(destination)
    if cached is not None:
        return cached.next_hop, destination_cache
    if is_on_link(destination, prefix_list, now):
        hop: IPv6Address | None = destination
    else:
        hop = select_default_router(routers, reachability, round_robin_start, now)
    if hop is None:
        return None, destination_cache
    return hop, {**destination_cache, destination: DestinationCacheEntry(destination, hop)}


# -- RFC 4861 §6.3.7 Sending Router Solicitations --------------------------------------------------

# RFC 4861 §10, host constants.
MAX_RTR_SOLICITATION_DELAY = 1.0
RTR_SOLICITATION_INTERVAL = 4.0
MAX_RTR_SOLICITATIONS = 3
# RFC 7559 §2: the retransmissions after MAX_RTR_SOLICITATIONS back off as RFC 3315 §14's,
# with IRT = RTR_SOLICITATION_INTERVAL, MRT = MAX_RTR_SOLICITATION_INTERVAL, MRC = MRD = 0
# (no end but a Router Advertisement), and RAND uniform in [-0.1, 0.1].
MAX_RTR_SOLICITATION_INTERVAL = 3600.0


@dataclass(frozen=True)
class Solicitation:
    """What a host remembers while it solicits routers on an interface: whether the
    interface is enabled, whether soliciting is over, how many RSs it sent, and when it
    acts next; with RFC 7559, whether it is retransmitting with backoff and its RT."""

    enabled: bool = False
    done: bool = False
    sent: int = 0
    next_time: float | None = None
    backing_off: bool = False
    rt: float = RTR_SOLICITATION_INTERVAL
    last_sent: float | None = None


def interface_enabled(s: Solicitation, now: float, delay: float) -> Solicitation:
    """ "Router Solicitations may be sent after any of the following events: the interface
    is initialized ..., reinitialized ..., the host attaches to a link" ...: a host
    "SHOULD delay the transmission for a random amount of time between 0 and
    MAX_RTR_SOLICITATION_DELAY" (``delay``). The count starts afresh."""
    return Solicitation(enabled=True, next_time=now + delay)


def solicitation_timer(
    s: Solicitation, now: float, backoff: bool = False, rand: random.Random | None = None
) -> tuple[Solicitation, list[Action]]:
    """A host "SHOULD transmit up to MAX_RTR_SOLICITATIONS Router Solicitation messages,
    each separated by at least RTR_SOLICITATION_INTERVAL seconds". "If a host sends
    MAX_RTR_SOLICITATIONS solicitations, and receives no Router Advertisements after
    having waited MAX_RTR_SOLICITATION_DELAY seconds after sending the last solicitation,
    the host concludes that there are no routers on the link"."""
    if not s.enabled or s.done or s.next_time is None or s.next_time > now:
        return s, []
    if s.backing_off:
        # RFC 7559 §2 (RFC 3315 §14): "RT = 2*RTprev + RAND*RTprev", and past MRT
        # "RT = MRT + RAND*MRT".
        assert rand is not None
        rt = 2 * s.rt + rand.uniform(-0.1, 0.1) * s.rt
        if rt > MAX_RTR_SOLICITATION_INTERVAL:
            rt = (
                MAX_RTR_SOLICITATION_INTERVAL
                + rand.uniform(-0.1, 0.1) * MAX_RTR_SOLICITATION_INTERVAL
            )
        s = replace(s, sent=s.sent + 1, rt=rt, last_sent=now, next_time=now + rt)
        return s, [("router_solicitation",)]
    if s.sent < MAX_RTR_SOLICITATIONS:
        sent = s.sent + 1
        if sent < MAX_RTR_SOLICITATIONS:
            wait = RTR_SOLICITATION_INTERVAL
        else:
            wait = MAX_RTR_SOLICITATION_DELAY
        s = replace(s, sent=sent, last_sent=now, next_time=now + wait)
        return s, [("router_solicitation",)]
    if backoff:
        # RFC 7559 §2: the host keeps soliciting; the next RS is one backed-off RT after the
        # last (RTR_SOLICITATION_INTERVAL the RT before it). The RFC 4861 §6.3.7 conclusion
        # for autoconfiguration stands.
        assert rand is not None and s.last_sent is not None
        rt = 2 * s.rt + rand.uniform(-0.1, 0.1) * s.rt
        if rt > MAX_RTR_SOLICITATION_INTERVAL:
            rt = (
                MAX_RTR_SOLICITATION_INTERVAL
                + rand.uniform(-0.1, 0.1) * MAX_RTR_SOLICITATION_INTERVAL
            )
        s = replace(s, backing_off=True, rt=rt, next_time=s.last_sent + rt)
        return s, [("no_routers",)]
    return replace(s, done=True, next_time=None), [("no_routers",)]


def advertisement_received(s: Solicitation, router_lifetime: float) -> Solicitation:
    """ "Once the host sends a Router Solicitation, and receives a valid Router
    Advertisement with a non-zero Router Lifetime, the host MUST desist from sending
    additional solicitations on that interface". "Moreover, a host SHOULD send at least
    one solicitation in the case where an advertisement is received prior to having sent
    a solicitation": an advertisement before the first RS changes nothing."""
    if not s.enabled or s.done or s.sent == 0 or router_lifetime == 0:
        return s
    return replace(s, done=True, backing_off=False, next_time=None)
