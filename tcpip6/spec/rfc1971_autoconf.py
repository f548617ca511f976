"""IPv6 Stateless Address Autoconfiguration, the reference model: RFC 1971 -> RFC 2462 ->
RFC 4862.

Read it beside RFC 4862: Duplicate Address Detection (§5.4) and the processing of
Prefix Information options (§5.5.3), with address lifetimes (§5.5.4), as pure functions
over a plain table of addresses. No state machine library, no I/O.

Where the versions differ (only what this model depends on):

* RFC 1971 (1996) had no protection against a forged short valid lifetime; RFC 2462
  (1998) added the "two hours" rule of §5.5.3 (e), which RFC 4862 keeps (and RFC 4862
  dropped RFC 2462's special case for authenticated Router Advertisements).
* RFC 4862 §5.4.5 adds that when a duplicate link-local address is formed from an
  interface identifier based on the hardware address, IP operation on the interface
  SHOULD be disabled; this model stops autoconfiguration on the interface.
* RFC 4862 §5.4.2 asks for a random delay before the first DAD message sent after
  interface (re)initialization; the delay is an input of :func:`add_address` here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from ipaddress import IPv6Address, IPv6Network

TENTATIVE = "TENTATIVE"
PREFERRED = "PREFERRED"
DEPRECATED = "DEPRECATED"
DUPLICATE = "DUPLICATE"

INFINITY = math.inf
TWO_HOURS = 7200.0
LINK_LOCAL = "link-local"
AUTOCONF = "autoconf"


@dataclass(frozen=True)
class Variables:
    dup_addr_detect_transmits: int = 1  # §5.1 DupAddrDetectTransmits
    retrans_timer: float = 1.0  # RFC 4861 RetransTimer


@dataclass(frozen=True)
class Address:
    """One address of the interface and what §5 says to remember about it."""

    prefix_length: int
    origin: str
    state: str
    preferred_until: float
    valid_until: float
    dad_sent: int = 0
    dad_due: float | None = None  # when the next DAD step (send, or decide) is due


@dataclass(frozen=True)
class Interface:
    addresses: dict[IPv6Address, Address]
    autoconf_disabled: bool = False


# Actions: ("dad_ns", address), ("available", address), ("duplicate", address, disabled),
# ("removed", address).
Action = tuple[object, ...]
Result = tuple[Interface, list[Action]]


def _set(ifc: Interface, address: IPv6Address, a: Address | None) -> Interface:
    table = dict(ifc.addresses)
    if a is None:
        table.pop(address, None)
    else:
        table[address] = a
    return replace(ifc, addresses=table)


def add_address(
    ifc: Interface,
    address: IPv6Address,
    prefix_length: int,
    origin: str,
    now: float,
    dad_delay: float,
    preferred: float,
    valid: float,
    v: Variables,
) -> Result:
    """§5.4.2: a new address is tentative; DAD sends DupAddrDetectTransmits solicitations
    RetransTimer apart, the first after ``dad_delay``. With DupAddrDetectTransmits zero
    DAD is not performed (§5.4)."""
    if address in ifc.addresses:
        return ifc, []
    a = Address(prefix_length, origin, TENTATIVE, now + preferred, now + valid)
    if v.dup_addr_detect_transmits == 0:
        return _dad_complete(_set(ifc, address, a), address, now)
    return _set(ifc, address, replace(a, dad_due=now + dad_delay)), []


def _dad_complete(ifc: Interface, address: IPv6Address, now: float) -> Result:
    a = ifc.addresses[address]
    state = PREFERRED if a.preferred_until > now else DEPRECATED
    return _set(ifc, address, replace(a, state=state, dad_due=None)), [("available", address)]


def dad_step(ifc: Interface, address: IPv6Address, now: float, v: Variables) -> Result:
    """The DAD timer of a tentative address fired."""
    a = ifc.addresses[address]
    if a.dad_sent < v.dup_addr_detect_transmits:
        new = replace(a, dad_sent=a.dad_sent + 1, dad_due=now + v.retrans_timer)
        return _set(ifc, address, new), [("dad_ns", address)]
    # "If no ... Neighbor Advertisement or Neighbor Solicitation for the tentative address
    # is received within RetransTimer after the last one was sent, the address is unique."
    return _dad_complete(ifc, address, now)


def duplicate_detected(ifc: Interface, address: IPv6Address) -> Result:
    """§5.4.3 (an NS from the unspecified address targets a tentative address) and §5.4.4
    (an NA targets a tentative address): "the tentative address is a duplicate ... and
    MUST NOT be assigned to the interface". Nothing happens for a non-tentative address."""
    a = ifc.addresses.get(address)
    if a is None or a.state != TENTATIVE:
        return ifc, []
    disabled = a.origin == LINK_LOCAL  # §5.4.5
    ifc = _set(ifc, address, replace(a, state=DUPLICATE, dad_due=None))
    if disabled:
        ifc = replace(ifc, autoconf_disabled=True)
    return ifc, [("duplicate", address, disabled)]


def lifetimes_pass(ifc: Interface, now: float) -> Result:
    """§5.5.4: a preferred address whose preferred lifetime expired becomes deprecated;
    an address whose valid lifetime expired becomes invalid and is removed."""
    actions: list[Action] = []
    for address, a in sorted(ifc.addresses.items()):
        if a.state == DUPLICATE:
            continue
        if a.valid_until <= now:
            ifc = _set(ifc, address, None)
            actions.append(("removed", address))
        elif a.state == PREFERRED and a.preferred_until <= now:
            ifc = _set(ifc, address, replace(a, state=DEPRECATED))
    return ifc, actions


def prefix_information(
    ifc: Interface,
    prefix: IPv6Address,
    prefix_length: int,
    autonomous: bool,
    valid: float,
    preferred: float,
    interface_id: bytes,
    now: float,
    dad_delay: float,
    v: Variables,
) -> Result:
    """§5.5.3: processing of a Prefix Information option (lifetimes in seconds, INFINITY
    for all ones)."""
    if ifc.autoconf_disabled:
        return ifc, []
    # a) "If the Autonomous flag is not set, silently ignore the Prefix Information option."
    # b) "If the prefix is the link-local prefix, silently ignore ..."
    # c) "If the preferred lifetime is greater than the valid lifetime, silently ignore".
    if not autonomous or prefix.is_link_local or preferred > valid:
        return ifc, []
    net = IPv6Network((prefix, prefix_length), strict=False)
    mine = sorted(
        addr
        for addr, a in ifc.addresses.items()
        if a.origin == AUTOCONF and addr in net and a.prefix_length == prefix_length
    )
    if not mine:
        # d) "If the prefix advertised is not equal to the prefix of an address configured
        # by stateless autoconfiguration already in the list ... and if the Valid Lifetime
        # is not 0, form an address" ... "If the sum of the prefix length and interface
        # identifier length does not equal 128 bits, the Prefix Information option MUST be
        # ignored."
        if valid == 0 or prefix_length + 8 * len(interface_id) != 128:
            return ifc, []
        address = IPv6Address(net.network_address.packed[:8] + interface_id)
        return add_address(
            ifc, address, prefix_length, AUTOCONF, now, dad_delay, preferred, valid, v
        )
    for address in mine:
        a = ifc.addresses[address]
        if a.state == DUPLICATE:
            continue
        # e) "the preferred lifetime of the address is reset to the Preferred Lifetime in
        # the received advertisement."
        a = replace(a, preferred_until=now + preferred)
        if a.state == DEPRECATED and preferred > 0:
            a = replace(a, state=PREFERRED)
        elif a.state == PREFERRED and preferred == 0:
            a = replace(a, state=DEPRECATED)
        remaining = a.valid_until - now
        # 1. "If the received Valid Lifetime is greater than 2 hours or greater than
        #    RemainingLifetime, set the valid lifetime of the address to the advertised."
        # 2. "If RemainingLifetime is less than or equal to 2 hours, ignore the Prefix
        #    Information option with regards to the valid lifetime."
        # 3. "Otherwise, reset the valid lifetime of the address to 2 hours."
        if valid > TWO_HOURS or valid > remaining:
            a = replace(a, valid_until=now + valid)
        elif remaining > TWO_HOURS:
            a = replace(a, valid_until=now + TWO_HOURS)
        ifc = _set(ifc, address, a)
    return ifc, []
