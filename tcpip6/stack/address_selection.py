"""Default address selection (RFC 6724) and scoped addresses with zone indexes (RFC 4007).

Pure functions over values, in the RFC's names:

* the policy table of RFC 6724 §2.1 (:data:`DEFAULT_POLICY_TABLE`) with its longest-prefix
  lookup (:func:`precedence`, :func:`label`), and ``CommonPrefixLen`` of RFC 6724 §2.2
  (:func:`common_prefix_len`);
* ``Scope(A)`` of RFC 6724 §3.1 and RFC 6724 §3.2 (:func:`scope`), RFC 4291 §2.7 for multicast;
* source address selection, RFC 6724 §5 (:func:`select_source`), over :class:`SourceCandidate`
  values: an address with what the rules need to know about it;
* destination address selection, RFC 6724 §6 (:func:`sort_destinations`), for an application that
  resolved a name to several addresses;
* the ``<address>%<zone_id>`` text format of RFC 4007 §11 (:func:`parse_scoped`,
  :func:`format_scoped`) and whether an address is ambiguous without a zone
  (:func:`needs_zone`).

IPv4 addresses take part as IPv4-mapped addresses (``::ffff:a.b.c.d``, RFC 6724 §3.2), so
that the destination rules can sort a mixed list the way the RFC's examples do.

Not here: rule 4 of RFC 6724 §5 and RFC 6724 §6 (home addresses: this host has no Mobile
IPv6), rule 5.5 of RFC 6724 §5 (prefer addresses in a prefix advertised by the next hop, a
MAY), rule 7 of RFC 6724 §6 (native transport: no transition mechanism is known to these
functions). Rule 7 of RFC 6724 §5 (temporary addresses) is here, but the host has no
temporary addresses (RFC 8981), so only a caller that builds its own candidates can use it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Address, IPv6Network

# -- scopes (RFC 4291 §2.7, RFC 7346) -----------------------------------------------------
# The multicast scope values; RFC 6724 §3.1 gives unicast addresses the same values.
INTERFACE_LOCAL = 0x1
LINK_LOCAL = 0x2
REALM_LOCAL = 0x3
ADMIN_LOCAL = 0x4
SITE_LOCAL = 0x5
ORGANIZATION_LOCAL = 0x8
GLOBAL = 0xE

_LOOPBACK = IPv6Address("::1")
_UNSPECIFIED = IPv6Address("::")
_IPV4_MAPPED = IPv6Network("::ffff:0:0/96")
#: RFC 6724 §3.2: IPv4 auto-configuration and loopback addresses have link-local scope.
_IPV4_LINK_LOCAL = (IPv4Network("169.254.0.0/16"), IPv4Network("127.0.0.0/8"))


def scope(address: IPv6Address) -> int:
    """``Scope(A)``: an integer that grows with the reach of the address."""
    if address.is_multicast:
        # RFC 4291 §2.7: the 4-bit scop field of the multicast address.
        return address.packed[1] & 0x0F
    mapped = address.ipv4_mapped
    if mapped is not None:
        # RFC 6724 §3.2: 169.254/16 and 127/8 are link-local, every other IPv4 unicast
        # address (the private ones too) is global.
        return LINK_LOCAL if any(mapped in net for net in _IPV4_LINK_LOCAL) else GLOBAL
    if address.is_link_local or address == _LOOPBACK:
        # RFC 4007 §4: the loopback address is treated as link-local, on the link of the
        # loopback interface.
        return LINK_LOCAL
    if address.is_site_local:
        # fec0::/10, deprecated by RFC 3879, keeps its site-local scope (RFC 6724 §3.1).
        return SITE_LOCAL
    # RFC 6724 §3.1: everything else, unique local addresses (fc00::/7) included, is global.
    return GLOBAL


# -- the policy table (RFC 6724 §2.1) -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class PolicyEntry:
    prefix: IPv6Network
    precedence: int
    label: int


def _entry(prefix: str, precedence: int, label: int) -> PolicyEntry:
    return PolicyEntry(IPv6Network(prefix), precedence, label)


#: RFC 6724 §2.1, the default policy table.
DEFAULT_POLICY_TABLE: tuple[PolicyEntry, ...] = (
    _entry("::1/128", 50, 0),  # loopback
    _entry("::/0", 40, 1),  # IPv6 in general
    _entry("::ffff:0:0/96", 35, 4),  # IPv4 (IPv4-mapped)
    _entry("2002::/16", 30, 2),  # 6to4
    _entry("2001::/32", 5, 5),  # Teredo
    _entry("fc00::/7", 3, 13),  # unique local
    _entry("::/96", 1, 3),  # IPv4-compatible (deprecated)
    _entry("fec0::/10", 1, 11),  # site-local (deprecated)
    _entry("3ffe::/16", 1, 12),  # 6bone (returned)
)

PolicyTable = Sequence[PolicyEntry]


def lookup_policy(address: IPv6Address, table: PolicyTable = DEFAULT_POLICY_TABLE) -> PolicyEntry:
    """RFC 6724 §2.1: the entry with the longest prefix that matches ``address``."""
    best: PolicyEntry | None = None
    for entry in table:
        if address in entry.prefix and (
            best is None or entry.prefix.prefixlen > best.prefix.prefixlen
        ):
            best = entry
    if best is None:
        raise ValueError(f"the policy table has no entry for {address} (it needs ::/0)")
    return best


def precedence(address: IPv6Address, table: PolicyTable = DEFAULT_POLICY_TABLE) -> int:
    """``Precedence(A)``."""
    return lookup_policy(address, table).precedence


def label(address: IPv6Address, table: PolicyTable = DEFAULT_POLICY_TABLE) -> int:
    """``Label(A)``."""
    return lookup_policy(address, table).label


def common_prefix_len(source: IPv6Address, destination: IPv6Address, prefix_length: int) -> int:
    """RFC 6724 §2.2 ``CommonPrefixLen(S, D)``: the bits S and D share from the left, up to the
    length of S's prefix (``prefix_length``, the part before the interface identifier)."""
    differing = int(source) ^ int(destination)
    shared = 128 - differing.bit_length()
    return max(0, min(shared, prefix_length))


def _is_ipv4(address: IPv6Address) -> bool:
    return address in _IPV4_MAPPED


# -- source address selection (RFC 6724 §4, RFC 6724 §5) -------------------------------------------


@dataclass(frozen=True, slots=True)
class SourceCandidate:
    """An address that may be a source, with what the rules of RFC 6724 §5 look at.

    ``prefix_length``: the on-link prefix the address was formed from (rule 8 compares no
    further); ``deprecated``: its preferred lifetime is over (RFC 4862 §5.5.4);
    ``temporary``: a temporary address (RFC 8981); ``interface``: the index of the interface
    it is assigned to, when candidates come from several interfaces (rule 5).
    """

    address: IPv6Address
    prefix_length: int = 64
    deprecated: bool = False
    temporary: bool = False
    interface: int | None = None


def candidate_set(
    destination: IPv6Address,
    candidates: Iterable[SourceCandidate],
    outgoing_interface: int | None = None,
) -> list[SourceCandidate]:
    """RFC 6724 §4 ``CandidateSource(D)``: the addresses that could be a source for
    ``destination``."""
    ipv4 = _is_ipv4(destination)
    link_bound = destination.is_multicast or destination.is_link_local
    chosen = []
    for c in candidates:
        a = c.address
        # RFC 6724 §4: "multicast addresses and the unspecified address MUST NOT be included".
        if a.is_multicast or a == _UNSPECIFIED:
            continue
        # RFC 6724 §3.2: IPv4 is an IPv4-mapped address; an IPv4 destination takes an IPv4 source
        # and an IPv6 destination an IPv6 one.
        if _is_ipv4(a) != ipv4:
            continue
        # RFC 6724 §4: for multicast and link-local destinations, only addresses of the outgoing
        # interface's link (one interface is one link here).
        elsewhere = c.interface is not None and c.interface != outgoing_interface
        if link_bound and outgoing_interface is not None and elsewhere:
            continue
        chosen.append(c)
    return chosen


def compare_sources(
    sa: SourceCandidate,
    sb: SourceCandidate,
    d: IPv6Address,
    *,
    outgoing_interface: int | None = None,
    policy_table: PolicyTable = DEFAULT_POLICY_TABLE,
    prefer_temporary: bool = True,
) -> int:
    """RFC 6724 §5: negative when SA is preferred for destination D, positive for SB, 0 if the
    rules do not choose. The rules apply in order; the first that chooses decides."""
    # RFC 6724 §5 rule 1: prefer same address.
    if sa.address == d or sb.address == d:
        return (sb.address == d) - (sa.address == d)
    # RFC 6724 §5 rule 2: prefer appropriate scope.
    scope_a, scope_b, scope_d = scope(sa.address), scope(sb.address), scope(d)
    if scope_a < scope_b:
        return 1 if scope_a < scope_d else -1
    if scope_b < scope_a:
        return -1 if scope_b < scope_d else 1
    # RFC 6724 §5 rule 3: avoid deprecated addresses (SA and SB have the same scope now).
    if sa.deprecated != sb.deprecated:
        return 1 if sa.deprecated else -1
    # RFC 6724 §5 rule 4: prefer home addresses. Not applicable: no Mobile IPv6.
    # RFC 6724 §5 rule 5: prefer outgoing interface.
    if outgoing_interface is not None:
        on_a, on_b = sa.interface == outgoing_interface, sb.interface == outgoing_interface
        if on_a != on_b:
            return -1 if on_a else 1
    # RFC 6724 §5 rule 5.5 (prefer addresses in a prefix advertised by the next hop) is a
    # MAY that needs the next hop's advertisements: not implemented.
    # RFC 6724 §5 rule 6: prefer matching label.
    label_d = label(d, policy_table)
    match_a = label(sa.address, policy_table) == label_d
    match_b = label(sb.address, policy_table) == label_d
    if match_a != match_b:
        return -1 if match_a else 1
    # RFC 6724 §5 rule 7: prefer temporary addresses (the application may reverse it).
    # Only candidates built with ``temporary`` set take part: the host has none.
    if sa.temporary != sb.temporary:
        return -1 if sa.temporary == prefer_temporary else 1
    # RFC 6724 §5 rule 8: use longest matching prefix, up to the prefix length of the source.
    return _longer_match_first(sa, d, sb, d)


def _longer_match_first(
    sa: SourceCandidate, da: IPv6Address, sb: SourceCandidate, db: IPv6Address
) -> int:
    """-1 when source ``sa`` shares the longer prefix with its destination ``da``, 1 when
    ``sb`` does with ``db``, 0 on a tie (RFC 6724 §5 rule 8, RFC 6724 §6 rule 9)."""
    cpl_a = common_prefix_len(sa.address, da, sa.prefix_length)
    cpl_b = common_prefix_len(sb.address, db, sb.prefix_length)
    if cpl_a != cpl_b:
        return -1 if cpl_a > cpl_b else 1
    return 0


def select_source(
    destination: IPv6Address,
    candidates: Iterable[SourceCandidate],
    *,
    outgoing_interface: int | None = None,
    policy_table: PolicyTable = DEFAULT_POLICY_TABLE,
    prefer_temporary: bool = True,
) -> SourceCandidate | None:
    """RFC 6724 §5: the best source for ``destination`` among ``candidates``, None when the
    candidate set (RFC 6724 §4) is empty. When the rules do not choose, the first in
    ``candidates`` order wins (the RFC leaves that tie-breaker unspecified).

    The host's candidates come from the outgoing interface alone (RFC 6724 §4 RECOMMENDED), so rule
    5 chooses nothing there; give ``outgoing_interface`` and candidates of several
    interfaces to use it."""
    order = functools.partial(
        compare_sources,
        d=destination,
        outgoing_interface=outgoing_interface,
        policy_table=policy_table,
        prefer_temporary=prefer_temporary,
    )
    best: SourceCandidate | None = None
    for c in candidate_set(destination, candidates, outgoing_interface):
        if best is None or order(c, best) < 0:
            best = c
    return best


# -- destination address selection (RFC 6724 §6) ------------------------------------------


def compare_destinations(
    da: IPv6Address,
    db: IPv6Address,
    source_a: SourceCandidate | None,
    source_b: SourceCandidate | None,
    *,
    unreachable_a: bool = False,
    unreachable_b: bool = False,
    policy_table: PolicyTable = DEFAULT_POLICY_TABLE,
) -> int:
    """RFC 6724 §6: negative when DA goes before DB, positive when after, 0 if no rule orders them.
    ``source_a`` is ``Source(DA)``, the source RFC 6724 §5 chose for DA (None: undefined)."""
    # RFC 6724 §6 rule 1: avoid unusable destinations.
    usable_a = not unreachable_a and source_a is not None
    usable_b = not unreachable_b and source_b is not None
    if usable_a != usable_b:
        return -1 if usable_a else 1
    if source_a is not None and source_b is not None:
        sa, sb = source_a.address, source_b.address
        # RFC 6724 §6 rule 2: prefer matching scope.
        scope_match_a = scope(da) == scope(sa)
        scope_match_b = scope(db) == scope(sb)
        if scope_match_a != scope_match_b:
            return -1 if scope_match_a else 1
        # RFC 6724 §6 rule 3: avoid deprecated addresses.
        if source_a.deprecated != source_b.deprecated:
            return 1 if source_a.deprecated else -1
        # RFC 6724 §6 rule 4: prefer home addresses. Not applicable: no Mobile IPv6.
        # RFC 6724 §6 rule 5: prefer matching label.
        label_match_a = label(sa, policy_table) == label(da, policy_table)
        label_match_b = label(sb, policy_table) == label(db, policy_table)
        if label_match_a != label_match_b:
            return -1 if label_match_a else 1
    # RFC 6724 §6 rule 6: prefer higher precedence.
    prec_a, prec_b = precedence(da, policy_table), precedence(db, policy_table)
    if prec_a != prec_b:
        return -1 if prec_a > prec_b else 1
    # RFC 6724 §6 rule 7: prefer native transport. Not applicable: which destinations an
    # encapsulating transition mechanism reaches is not known here.
    # RFC 6724 §6 rule 8: prefer smaller scope.
    scope_a, scope_b = scope(da), scope(db)
    if scope_a != scope_b:
        return -1 if scope_a < scope_b else 1
    # RFC 6724 §6 rule 9: use longest matching prefix, when DA and DB are of the same
    # address family.
    if source_a is not None and source_b is not None and _is_ipv4(da) == _is_ipv4(db):
        # RFC 6724 §6 rule 10 on a tie: otherwise, leave the order unchanged (0).
        return _longer_match_first(source_a, da, source_b, db)
    # RFC 6724 §6 rule 10: otherwise, leave the order unchanged.
    return 0


def sort_destinations(
    destinations: Iterable[IPv6Address],
    source_for: Callable[[IPv6Address], SourceCandidate | None],
    *,
    unreachable: Callable[[IPv6Address], bool] | None = None,
    policy_table: PolicyTable = DEFAULT_POLICY_TABLE,
) -> list[IPv6Address]:
    """RFC 6724 §6: ``destinations`` best first. ``source_for(D)`` is ``Source(D)``: the source the
    host would use for D (e.g. :func:`select_source` over the candidates of the interface
    that reaches D), None if it has none; ``unreachable(D)`` says whether D is known to be
    unreachable. The sort is stable: rule 10 keeps the given order of equals."""
    items = list(destinations)
    sources = {d: source_for(d) for d in items}
    down = {d: unreachable(d) if unreachable is not None else False for d in items}

    def order(da: IPv6Address, db: IPv6Address) -> int:
        return compare_destinations(
            da,
            db,
            sources[da],
            sources[db],
            unreachable_a=down[da],
            unreachable_b=down[db],
            policy_table=policy_table,
        )

    return sorted(items, key=functools.cmp_to_key(order))


# -- zone indexes (RFC 4007 §6, RFC 4007 §11) ------------------------------------------------------

Zone = int | str


def needs_zone(address: IPv6Address) -> bool:
    """RFC 4007 §6: the address is ambiguous on a host with several interfaces unless a
    zone says which: link-local unicast, interface-local and link-local multicast. (The
    loopback address is not: it is on the loopback interface only, RFC 4007 §11.1.)"""
    if address.is_multicast:
        return scope(address) in (INTERFACE_LOCAL, LINK_LOCAL)
    return address.is_link_local


def _check_zone(address: IPv6Address, zone: Zone) -> None:
    # RFC 4007 §11.1: the format is for non-global addresses; it "is meaningless and should
    # not be used for global addresses", nor for the loopback address, and the unspecified
    # address has no scope.
    if address in (_UNSPECIFIED, _LOOPBACK) or scope(address) >= GLOBAL:
        raise ValueError(f"{address} takes no zone index (RFC 4007 §11.1)")
    if isinstance(zone, bool) or not isinstance(zone, int | str):
        raise ValueError(f"a zone index is an int or a str, not {zone!r}")
    if isinstance(zone, int):
        if zone < 0:
            raise ValueError(f"a numeric zone index is not negative: {zone}")
        return
    if not zone:
        raise ValueError("empty zone index after '%'")
    if any(ch.isspace() or ch in "%/" for ch in zone) or not zone.isprintable():
        raise ValueError(f"bad character in zone index {zone!r}")


#: ``IPv6Address(text)``, remembered: applications name the same few peers in every call
#: (``sendto(data, ("fe80::1", 7))``), and parsing takes microseconds.
_parse_address = functools.lru_cache(maxsize=1024)(IPv6Address)


def parse_scoped(text: str) -> tuple[IPv6Address, Zone | None]:
    """RFC 4007 §11.2 ``<address>%<zone_id>``: the address and its zone, None without
    ``%``. A zone of decimal digits is a numerical zone index, an int (RFC 4007 §11.2; 0 stands for
    the default zone, RFC 6724 §6); any other is a name such as ``eth0``, a str. ValueError on
    anything else."""
    if not isinstance(text, str):
        raise ValueError(f"a scoped address is text, not {text!r}")
    address_text, percent, zone_text = text.partition("%")
    try:
        address = _parse_address(address_text)
    except ValueError as exc:
        raise ValueError(f"{text!r}: not an IPv6 address ({exc})") from None
    if not percent:
        return address, None
    zone: Zone = int(zone_text) if zone_text.isascii() and zone_text.isdigit() else zone_text
    try:
        _check_zone(address, zone)
    except ValueError as exc:
        raise ValueError(f"{text!r}: {exc}") from None
    return address, zone


def format_scoped(address: IPv6Address, zone: Zone | None) -> str:
    """RFC 4007 §11.2: ``fe80::1%2``, ``fe80::1%eth0``; the address alone without a zone."""
    if zone is None:
        return str(address)
    _check_zone(address, zone)
    return f"{address}%{zone}"
