"""IPv6 Stateless Address Autoconfiguration, the reference model: RFC 1971 (1996) ->
RFC 2462 (1998) -> RFC 4862 (2007).

Read it beside RFC 4862. It covers link-local address formation (RFC 4862 §5.3), Duplicate
Address Detection (RFC 4862 §5.4.1 - RFC 4862 §5.4.5), the processing of Prefix Information options
(RFC 4862 §5.5.3) and address lifetimes (RFC 4862 §5.5.4), as plain dataclasses (one
interface and the addresses configured on it) and pure functions that return the new
interface and a list of actions. No state machine library, no I/O, no clock: every rule
gets ``now``.

Where the three versions differ, for what this model covers:

* RFC 4862 §5.5.3 (e), a Prefix Information option for a prefix already autoconfigured. RFC 1971
  has no protection of the valid lifetime: a single advertisement with a short valid
  lifetime can end an address. RFC 2462 adds the "two hours" rule (rules 1 - 3 below),
  lifted for authenticated advertisements; RFC 4862 keeps it.
* RFC 4862 §5.4.2, the random delay before DAD. RFC 2462 delays *sending* the first Neighbor
  Solicitation when it is the first message sent from the interface after
  (re)initialization. RFC 4862 delays *joining* the solicited-node group (that is, the
  MLD report) and with it the first solicitation, and also asks for the delay when the
  address comes from a Router Advertisement sent to a multicast address.
* RFC 4862 §5.4.5, a duplicate link-local address. RFC 2462: if it was formed from an interface
  identifier, the interface SHOULD be disabled. RFC 4862 narrows this to an interface
  identifier based on the hardware address and spells out what disabling means (send
  nothing, drop everything received, forward nothing to the interface).
* RFC 4862 no longer says how a host reacts to the M and O flags of Router
  Advertisements (stateful configuration); neither does this model.

Optimistic DAD (RFC 4429, 2006) changes RFC 2462 for hosts that choose it (``Variables.
OptimisticDAD``): an address formed from a most likely unique interface identifier is
OPTIMISTIC while DAD runs, usable at once (RFC 4429 §3.3) though never preferred over a
preferred address (RFC 4429 §2.1); DAD starts without the random delay (RFC 4429 §3.3),
and a DAD message for it makes it a duplicate as for a tentative address. An address entered by
hand is not optimistic (RFC 4429 §3.1).

Choices this model makes where RFC 4862 leaves room:

* the interface does not loop back its own multicast, so any DAD Neighbor Solicitation
  for a tentative address comes from another node (RFC 4862 §5.4.3);
* a duplicate address keeps the valid lifetime it was configured with and is forgotten
  when that ends (RFC 4862 §5.5.4), so an address formed again later is checked again;
* a link-local address formed from the hardware address that is a duplicate stops
  autoconfiguration on the interface (RFC 4862 §5.4.5); disabling IP operation is the host's;
* a Prefix Information option also updates the lifetimes of an autoconfigured address
  that is still tentative;
* with Optimistic DAD, an address that a link coming up makes tentative again
  (RFC 4862 §5.3) is optimistic again at once (RFC 4429 §3.3), its first solicitation
  due then.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field, replace
from ipaddress import IPv6Address

# RFC 4861 §10 host constant, used by RFC 4862 §5.4.2.
MAX_RTR_SOLICITATION_DELAY = 1.0  # seconds
# RFC 4861 §4.6.2: "A value of all one bits (0xffffffff) represents infinity."
INFINITE = 0xFFFFFFFF
# RFC 4862 §5.5.3 (e).
TWO_HOURS = 2 * 60 * 60

ALL_NODES = IPv6Address("ff02::1")  # RFC 4291 §2.7.1

# The states of an address (RFC 4862 §2: "tentative address", "preferred address", "deprecated
# address"; RFC 4862 §5.4.5: a duplicate is not assigned). An invalid address is no longer in the
# table.
TENTATIVE = "TENTATIVE"
PREFERRED = "PREFERRED"
DEPRECATED = "DEPRECATED"
DUPLICATE = "DUPLICATE"
# RFC 4429 §1.2: "Optimistic Address - an address that is assigned to an interface and
# available for use, subject to restrictions, while its uniqueness on a link is being
# verified."
OPTIMISTIC = "OPTIMISTIC"

# Where an address came from.
LINK_LOCAL = "link-local"  # RFC 4862 §5.3, from the hardware-based interface identifier
STATIC = "static"  # configured by hand
AUTOCONF = "autoconf"  # RFC 4862 §5.5.3, from a Prefix Information option


@dataclass(frozen=True)
class Variables:
    """RFC 4862 §5.1: DupAddrDetectTransmits; RFC 4861 §6.3.2: RetransTimer (seconds here);
    whether the host chose Optimistic DAD (RFC 4429 §3.3: "A host MAY choose")."""

    DupAddrDetectTransmits: int = 1
    RetransTimer: float = 1.0
    OptimisticDAD: bool = False


@dataclass(frozen=True)
class PrefixInformation:
    """The fields of a Prefix Information option (RFC 4861 §4.6.2) that RFC 4862 §5.5.3 reads."""

    prefix: IPv6Address
    prefix_length: int
    autonomous_flag: bool
    valid_lifetime: int  # 32 bits, seconds, INFINITE for infinity
    preferred_lifetime: int


@dataclass(frozen=True)
class Address:
    """One address of the interface and what RFC 4862 says to remember about it."""

    prefix_length: int
    origin: str
    state: str
    preferred_until: float  # when the preferred lifetime ends (math.inf: never)
    valid_until: float  # when the valid lifetime ends
    solicitations_sent: int = 0  # RFC 4862 §5.4.2, out of DupAddrDetectTransmits
    dad_next: float | None = None  # when DAD does its next step
    joined: bool = False  # its solicited-node group has been joined for it


@dataclass(frozen=True)
class Interface:
    addresses: dict[IPv6Address, Address] = field(default_factory=dict)
    autoconf_disabled: bool = False  # RFC 4862 §5.4.5
    first_message_sent: bool = False  # RFC 4862 §5.4.2: since interface (re)initialization
    joined_all_nodes: bool = False  # RFC 4862 §5.4.2


# Actions, as plain tuples:
#   ("join", group)   ("leave", group)   ("dad_ns", target)
#   ("available", address)   ("deprecated", address)   ("preferred_again", address)
#   ("optimistic", address)
#   ("duplicate", address, is_link_local, interface_disabled)   ("removed", address)
Action = tuple[object, ...]
Result = tuple[Interface, list[Action]]


# -- addresses ------------------------------------------------------------------------


def lifetime_seconds(value: int) -> float:
    return math.inf if value == INFINITE else float(value)


def solicited_node_multicast_address(address: IPv6Address) -> IPv6Address:
    """RFC 4291 §2.7.1: FF02:0:0:0:0:1:FF00::/104 and the low-order 24 bits of address."""
    low24 = int(address) & 0xFFFFFF
    return IPv6Address(int(IPv6Address("ff02::1:ff00:0")) + low24)


def link_local_address(interface_id: bytes) -> IPv6Address | None:
    """RFC 4862 §5.3: "formed by prepending the well-known link-local prefix FE80::0 ... If the
    interface identifier has a length of N bits, the interface identifier replaces the
    rightmost N zero bits of the link-local prefix. If the interface identifier is more
    than 118 bits in length, autoconfiguration fails"."""
    n = len(interface_id) * 8
    if n > 118:
        return None
    return IPv6Address(int(IPv6Address("fe80::")) + int.from_bytes(interface_id, "big"))


def same_prefix(a: IPv6Address, b: IPv6Address, prefix_length: int) -> bool:
    """RFC 4862 §5.5.3 (d): "the first prefix-length bits of the prefixes are identical"."""
    if prefix_length < 0 or prefix_length > 128:
        return False
    bits_a = format(int(a), "0128b")
    bits_b = format(int(b), "0128b")
    return bits_a[:prefix_length] == bits_b[:prefix_length]


def form_address(
    prefix: IPv6Address, prefix_length: int, interface_id: bytes
) -> IPv6Address | None:
    """RFC 4862 §5.5.3 (d): | 128-N bits of prefix | N bits of interface identifier |. "If the sum
    of the prefix length and interface identifier length does not equal 128 bits, the
    Prefix Information option MUST be ignored" (None here)."""
    n = len(interface_id) * 8
    if prefix_length + n != 128:
        return None
    prefix_bits = format(int(prefix), "0128b")[:prefix_length]
    id_bits = format(int.from_bytes(interface_id, "big"), f"0{n}b") if n else ""
    return IPv6Address(int(prefix_bits + id_bits, 2))


def _put(ifc: Interface, address: IPv6Address, a: Address | None) -> Interface:
    table = dict(ifc.addresses)
    if a is None:
        del table[address]
    else:
        table[address] = a
    return replace(ifc, addresses=table)


# -- Duplicate Address Detection (RFC 4862 §5.4) -----------------------------------------------


def random_delay(ifc: Interface, from_multicast_ra: bool, rng: random.Random) -> float:
    """RFC 4862 §5.4.2: "If the Neighbor Solicitation is going to be the first message sent from an
    interface after interface (re)initialization, the node SHOULD delay joining the
    solicited-node multicast address by a random delay between 0 and
    MAX_RTR_SOLICITATION_DELAY", and the same "if the address being checked is configured
    by a router advertisement message sent to a multicast address"."""
    if not ifc.first_message_sent or from_multicast_ra:
        return rng.uniform(0.0, MAX_RTR_SOLICITATION_DELAY)
    return 0.0


def configure_address(
    ifc: Interface,
    address: IPv6Address,
    prefix_length: int,
    origin: str,
    now: float,
    v: Variables,
    rng: random.Random,
    preferred_lifetime: float = math.inf,
    valid_lifetime: float = math.inf,
    delay: float | None = None,
    from_multicast_ra: bool = False,
) -> Result:
    """RFC 4862 §5.4: a new address is tentative until DAD has checked it. ``delay``, when given,
    replaces the random delay of RFC 4862 §5.4.2."""
    if address in ifc.addresses:
        return ifc, []
    new = Address(prefix_length, origin, TENTATIVE, now + preferred_lifetime, now + valid_lifetime)
    ifc = _put(ifc, address, new)
    if v.DupAddrDetectTransmits == 0:
        # "An interface whose DupAddrDetectTransmits variable is set to zero does not
        # perform Duplicate Address Detection."
        ifc, joins = _join_groups(ifc, address)
        ifc, assigned = _assign(ifc, address, now)
        return ifc, joins + assigned
    if optimistic(origin, v):
        # RFC 4429 §3.3: "The Optimistic Address is configured and available for use on the
        # interface immediately"; "The host SHOULD NOT delay before sending Neighbor
        # Solicitation messages."
        ifc = _put(ifc, address, replace(new, state=OPTIMISTIC))
        ifc, started = _start_dad(ifc, address, now, v)
        return ifc, [*started, ("optimistic", address)]
    if delay is None:
        delay = random_delay(ifc, from_multicast_ra, rng)
    if delay > 0:
        return _put(ifc, address, replace(new, dad_next=now + delay)), []
    return _start_dad(ifc, address, now, v)


def optimistic(origin: str, v: Variables) -> bool:
    """RFC 4429 §3.3: the host chose Optimistic DAD; RFC 4429 §3.1: "Optimistic DAD SHOULD NOT
    be used for manually entered addresses" (the link-local address formed from the
    hardware identifier and the autoconfigured ones come from a most likely unique one)."""
    return v.OptimisticDAD and origin != STATIC


def _join_groups(ifc: Interface, address: IPv6Address) -> Result:
    """RFC 4862 §5.4.2: "Before sending a Neighbor Solicitation, an interface MUST join the
    all-nodes
    multicast address and the solicited-node multicast address of the tentative address"
    (all-nodes once for the interface)."""
    actions: list[Action] = []
    if not ifc.joined_all_nodes:
        ifc = replace(ifc, joined_all_nodes=True)
        actions.append(("join", ALL_NODES))
    ifc = _put(ifc, address, replace(ifc.addresses[address], joined=True))
    actions.append(("join", solicited_node_multicast_address(address)))
    return ifc, actions


def _start_dad(ifc: Interface, address: IPv6Address, now: float, v: Variables) -> Result:
    ifc, joins = _join_groups(ifc, address)
    ifc, sent = _send_solicitation(ifc, address, now, v)
    return ifc, joins + sent


def _send_solicitation(ifc: Interface, address: IPv6Address, now: float, v: Variables) -> Result:
    """RFC 4862 §5.4.2: "a node SHOULD send DupAddrDetectTransmits Neighbor Solicitations, each
    separated by RetransTimer milliseconds"; RFC 4862 §5.1: after the last one it waits RetransTimer
    before ending DAD."""
    a = ifc.addresses[address]
    a = replace(a, solicitations_sent=a.solicitations_sent + 1, dad_next=now + v.RetransTimer)
    ifc = replace(_put(ifc, address, a), first_message_sent=True)
    return ifc, [("dad_ns", address)]


def _assign(ifc: Interface, address: IPv6Address, now: float) -> Result:
    """DAD found no duplicate: the address is assigned; it is deprecated from the start if
    its preferred lifetime is already over (RFC 4862 §5.5.4)."""
    a = ifc.addresses[address]
    if a.preferred_until > now:
        return _put(ifc, address, replace(a, state=PREFERRED, dad_next=None)), [
            ("available", address)
        ]
    return _put(ifc, address, replace(a, state=DEPRECATED, dad_next=None)), [
        ("available", address),
        ("deprecated", address),
    ]


def dad_timer(ifc: Interface, address: IPv6Address, now: float, v: Variables) -> Result:
    """The next DAD step of a tentative address is due: the random delay ended (join and
    send the first solicitation), or send the next solicitation, or - RetransTimer after
    the last one with nothing heard - the address is unique."""
    a = ifc.addresses[address]
    if not a.joined:
        return _start_dad(ifc, address, now, v)
    if a.solicitations_sent < v.DupAddrDetectTransmits:
        return _send_solicitation(ifc, address, now, v)
    return _assign(ifc, address, now)


def on_link_up(ifc: Interface, now: float, v: Variables) -> Result:
    """RFC 4862 §5.3: an interface becomes enabled again when it "is reattached to a link after
    being detached for some time"; RFC 4862 §5.4: "Duplicate Address Detection MUST be performed
    on all unicast addresses prior to assigning them to an interface". Every address in
    DAD or assigned (its solicited-node group joined) is tentative again and its DAD
    starts over: the first solicitation is due at once. With DupAddrDetectTransmits zero
    no DAD is performed, and nothing changes. With Optimistic DAD an address it applies
    to is optimistic, usable, while this DAD runs (RFC 4429 §3.3)."""
    if v.DupAddrDetectTransmits == 0:
        return ifc, []
    actions: list[Action] = []
    for address in sorted(ifc.addresses):
        a = ifc.addresses[address]
        if a.joined and a.state in (TENTATIVE, OPTIMISTIC, PREFERRED, DEPRECATED):
            state = OPTIMISTIC if optimistic(a.origin, v) else TENTATIVE
            a = replace(a, state=state, solicitations_sent=0, dad_next=now)
            ifc = _put(ifc, address, a)
            if state == OPTIMISTIC:
                actions.append(("optimistic", address))
    return ifc, actions


def on_dad_solicitation(ifc: Interface, target: IPv6Address) -> Result:
    """RFC 4862 §5.4.3: a valid Neighbor Solicitation (RFC 4862 §5.4.1: one that passed the checks
    of RFC
    4861; others are silently discarded) from the unspecified address: "If the source
    address of the Neighbor Solicitation is the unspecified address, the solicitation is
    from a node performing Duplicate Address Detection" - for a tentative target the
    address is a duplicate. For an assigned target it is ordinary Neighbor Discovery.
    RFC 4429 §3.3: an optimistic target is a duplicate too ("The node MUST NOT reply to a
    Neighbor Solicitation for an Optimistic Address from the unspecified address")."""
    return _duplicate_if_tentative(ifc, target)


def on_neighbor_advertisement(ifc: Interface, target: IPv6Address) -> Result:
    """RFC 4862 §5.4.4: "If the target address is tentative, the tentative address is not unique."
    An advertisement for an assigned address is "beyond the scope of this document"; one
    for an optimistic address makes it a duplicate as for a tentative one (RFC 4429 §3.3)."""
    return _duplicate_if_tentative(ifc, target)


def _duplicate_if_tentative(ifc: Interface, target: IPv6Address) -> Result:
    a = ifc.addresses.get(target)
    if a is None or a.state not in (TENTATIVE, OPTIMISTIC):
        return ifc, []
    # RFC 4862 §5.4.5: "A tentative address that is determined to be a duplicate as described above
    # MUST NOT be assigned to an interface".
    actions: list[Action] = []
    if a.joined:
        actions.append(("leave", solicited_node_multicast_address(target)))
    ifc = _put(ifc, target, replace(a, state=DUPLICATE, dad_next=None, joined=False))
    # "If the address is a link-local address formed from an interface identifier based on
    # the hardware address ... IP operation on the interface SHOULD be disabled."
    disabled = a.origin == LINK_LOCAL
    if disabled:
        ifc = replace(ifc, autoconf_disabled=True)
    actions.append(("duplicate", target, target.is_link_local, disabled))
    return ifc, actions


# -- lifetimes (RFC 4862 §5.5.4) and time ------------------------------------------------------


def on_time(ifc: Interface, now: float, v: Variables) -> Result:
    """Everything due at ``now``: lifetimes first (RFC 4862 §5.5.4), then the DAD steps."""
    actions: list[Action] = []
    for address in sorted(ifc.addresses):
        a = ifc.addresses[address]
        if a.valid_until <= now:
            # "An address (and its association with an interface) becomes invalid when its
            # valid lifetime expires. An invalid address MUST NOT be used".
            if a.joined:
                actions.append(("leave", solicited_node_multicast_address(address)))
            ifc = _put(ifc, address, None)
            actions.append(("removed", address))
        elif a.state == PREFERRED and a.preferred_until <= now:
            # "A preferred address becomes deprecated when its preferred lifetime expires."
            ifc = _put(ifc, address, replace(a, state=DEPRECATED))
            actions.append(("deprecated", address))
    for address in sorted(ifc.addresses):
        a = ifc.addresses[address]
        if a.state in (TENTATIVE, OPTIMISTIC) and a.dad_next is not None and a.dad_next <= now:
            ifc, more = dad_timer(ifc, address, now, v)
            actions += more
    return ifc, actions


def next_time(ifc: Interface) -> float | None:
    """When something is next due: a DAD step, a preferred address's preferred lifetime, or
    any address's valid lifetime."""
    times: list[float] = []
    for a in ifc.addresses.values():
        if a.state in (TENTATIVE, OPTIMISTIC) and a.dad_next is not None:
            times.append(a.dad_next)
        if a.state == PREFERRED and a.preferred_until != math.inf:
            times.append(a.preferred_until)
        if a.valid_until != math.inf:
            times.append(a.valid_until)
    return min(times) if times else None


def remove_address(ifc: Interface, address: IPv6Address) -> Result:
    """An address removed by hand."""
    a = ifc.addresses.get(address)
    if a is None:
        return ifc, []
    actions: list[Action] = []
    if a.joined:
        actions.append(("leave", solicited_node_multicast_address(address)))
    return _put(ifc, address, None), [*actions, ("removed", address)]


# -- what the addresses are used for --------------------------------------------------


def source_addresses(ifc: Interface) -> set[IPv6Address]:
    """RFC 4862 §5.4: a tentative address is not assigned, so it is never a source; a duplicate
    never is (RFC 4862 §5.4.5); a deprecated one still may be (RFC 4862 §5.5.4), and so may
    an optimistic one (RFC 4429 §3.3: "available for use ... immediately")."""
    usable = (PREFERRED, DEPRECATED, OPTIMISTIC)
    return {addr for addr, a in ifc.addresses.items() if a.state in usable}


def preferred_sources(ifc: Interface) -> set[IPv6Address]:
    """The sources chosen before the others: RFC 4429 §2.1 "components of the IPv6 protocol
    stack should treat addresses in the Optimistic state equivalently to those in the
    Deprecated state, indicating that the address is available for use but should not be
    used if another suitable address is available" (RFC 6724 §5 rule 3 avoids them)."""
    return {addr for addr, a in ifc.addresses.items() if a.state == PREFERRED}


def receives(ifc: Interface, destination: IPv6Address) -> bool:
    """Unicast packets are received for assigned addresses only: RFC 4862 §5.4 "the node silently
    discards ... packets addressed to the tentative address"."""
    return destination in source_addresses(ifc)


def solicited_node_serves(ifc: Interface, group: IPv6Address) -> set[IPv6Address]:
    """The addresses whose solicited-node group ``group`` is, tentative ones included
    (RFC 4862 §5.4.2: the interface "MUST receive and process datagrams sent to ... the
    solicited-node multicast address of the tentative address during the delay period")."""
    return {
        addr
        for addr, a in ifc.addresses.items()
        if a.state != DUPLICATE and solicited_node_multicast_address(addr) == group
    }


# -- Router Advertisement processing (RFC 4862 §5.5.3) -----------------------------------------


def on_prefix_information(
    ifc: Interface,
    pio: PrefixInformation,
    interface_id: bytes,
    now: float,
    v: Variables,
    rng: random.Random,
    delay: float | None = None,
    from_multicast_ra: bool = True,
    authenticated: bool = False,
) -> Result:
    """RFC 4862 §5.5.3: a Prefix Information option of a valid Router Advertisement."""
    if ifc.autoconf_disabled:
        return ifc, []
    # a) "If the Autonomous flag is not set, silently ignore the Prefix Information option."
    if not pio.autonomous_flag:
        return ifc, []
    # b) "If the prefix is the link-local prefix, silently ignore the Prefix Information
    #    option."
    if pio.prefix.is_link_local:
        return ifc, []
    # c) "If the preferred lifetime is greater than the valid lifetime, silently ignore the
    #    Prefix Information option."
    if pio.preferred_lifetime > pio.valid_lifetime:
        return ifc, []
    valid = lifetime_seconds(pio.valid_lifetime)
    preferred = lifetime_seconds(pio.preferred_lifetime)
    configured = sorted(
        addr
        for addr, a in ifc.addresses.items()
        if a.origin == AUTOCONF
        and a.state != DUPLICATE
        and a.prefix_length == pio.prefix_length
        and same_prefix(addr, pio.prefix, pio.prefix_length)
    )
    if not configured:
        # d) "If the prefix advertised is not equal to the prefix of an address configured
        #    by stateless autoconfiguration already in the list of addresses associated
        #    with the interface ..., and if the Valid Lifetime is not 0, form an address".
        if valid == 0:
            return ifc, []
        address = form_address(pio.prefix, pio.prefix_length, interface_id)
        if address is None:
            return ifc, []
        # "If an address is formed successfully and the address is not yet in the list,
        #  the host adds it to the list of addresses assigned to the interface,
        #  initializing its preferred and valid lifetime values from the Prefix
        #  Information option." (configure_address ignores an address already there.)
        return configure_address(
            ifc,
            address,
            pio.prefix_length,
            AUTOCONF,
            now,
            v,
            rng,
            preferred,
            valid,
            delay,
            from_multicast_ra,
        )
    actions: list[Action] = []
    for address in configured:
        a = ifc.addresses[address]
        # e) "the preferred lifetime of the address is reset to the Preferred Lifetime in
        #    the received advertisement."
        a = replace(a, preferred_until=now + preferred)
        if a.state == PREFERRED and preferred == 0:
            a = replace(a, state=DEPRECATED)
            actions.append(("deprecated", address))
        elif a.state == DEPRECATED and preferred > 0:
            a = replace(a, state=PREFERRED)
            actions.append(("preferred_again", address))
        # The valid lifetime, with RemainingLifetime the time left before it ends:
        remaining = a.valid_until - now
        if valid > TWO_HOURS or valid > remaining:
            # 1. "If the received Valid Lifetime is greater than 2 hours or greater than
            #    RemainingLifetime, set the valid lifetime of the corresponding address to
            #    the advertised Valid Lifetime."
            a = replace(a, valid_until=now + valid)
        elif remaining <= TWO_HOURS:
            # 2. "If RemainingLifetime is less than or equal to 2 hours, ignore the Prefix
            #    Information option with regards to the valid lifetime, unless the Router
            #    Advertisement from which this option was obtained has been authenticated".
            if authenticated:
                a = replace(a, valid_until=now + valid)
        else:
            # 3. "Otherwise, reset the valid lifetime of the corresponding address to 2
            #    hours."
            a = replace(a, valid_until=now + TWO_HOURS)
        ifc = _put(ifc, address, a)
    return ifc, actions
