"""What the DAD model test did not look at, found by `make mutants` (bench/mutants.py):
``AddressTable.receives`` (the fast path asked for every packet) against the RFC 4862
model's ``receives``, the anycast entry, prefix matching at every length, the counters, and
the two-hour rule of RFC 4862 §5.5.3 (e) at its edges."""

from __future__ import annotations

import dataclasses
import random
from ipaddress import IPv6Address, IPv6Network

from tcpip6.spec import rfc1971_autoconf as spec
from tcpip6.stack import addresses as ad
from tcpip6.stack.params import InterfaceParameters

IID = bytes.fromhex("02005efffe000001")
PREFIX = IPv6Address("2001:db8:1::")
FIRST = IPv6Address("fe80::1")
SECOND = IPv6Address("2001:db8:9::9")
NEVER = IPv6Address("2001:db8:9::10")


def _pair() -> tuple[ad.AddressTable, spec.Interface, spec.Variables]:
    params = InterfaceParameters(retrans_timer=1.0, dup_addr_detect_transmits=1)
    return ad.AddressTable(params, rng=random.Random(1)), spec.Interface(), spec.Variables(1, 1.0)


def _both_advertised(
    table: ad.AddressTable,
    model: spec.Interface,
    v: spec.Variables,
    rng: random.Random,
    lifetimes: tuple[int, int],
    now: float,
    dad_delay: float | None = None,
) -> spec.Interface:
    """A Prefix Information option for PREFIX/64 with the (valid, preferred) ``lifetimes``
    at ``now``, seen by the table and by the model: the model's interface after it."""
    valid, preferred = lifetimes
    table.on_prefix_information(PREFIX, 64, True, valid, preferred, IID, now, dad_delay=dad_delay)
    pio = spec.PrefixInformation(PREFIX, 64, True, valid, preferred)
    model, _ = spec.on_prefix_information(model, pio, IID, now, v, rng, delay=dad_delay)
    return model


def test_receives_agrees_with_the_model_in_every_state() -> None:
    table, model, v = _pair()
    rng = random.Random(1)
    inf = ad.INFINITY

    def check() -> None:
        for addr in (FIRST, SECOND, NEVER):
            want = spec.receives(model, addr)
            assert table.receives(addr) is want, addr
            assert (table.lookup_ade(addr) is not None) is want, addr

    for addr in (FIRST, SECOND):
        table.add(addr, 64, ad.Origin.STATIC, 0.0, dad_delay=0.0)
        model, _ = spec.configure_address(
            model, addr, 64, ad.Origin.STATIC.value, 0.0, v, rng, inf, inf, 0.0
        )
    check()  # both tentative: RFC 4862 §5.4, not received
    table.on_neighbor_advertisement(SECOND, 0.5)
    model, _ = spec.on_neighbor_advertisement(model, SECOND)
    table.poll(1.0)
    model, _ = spec.on_time(model, 1.0, v)
    assert spec.receives(model, FIRST) and not spec.receives(model, SECOND)
    check()  # one assigned, one duplicate (RFC 4862 §5.4.5)


def test_two_hour_rule_when_the_valid_lifetime_equals_remaining_lifetime() -> None:
    """RFC 4862 §5.5.3 (e) 1. applies only to a valid lifetime "greater than"
    RemainingLifetime; equal to it (and under two hours) is case 2.: ignored, and counted."""
    table, model, v = _pair()
    rng = random.Random(1)
    model = _both_advertised(table, model, v, rng, (3600, 3600), 0.0, dad_delay=0.0)
    (address,) = model.addresses
    assert table.counters.two_hour_rule_applied == 0
    # 600 s later RemainingLifetime is 3000 s: advertise exactly that.
    model = _both_advertised(table, model, v, rng, (3000, 3000), 600.0)
    assert table.counters.two_hour_rule_applied == 1
    assert table.entries[address].valid_until == model.addresses[address].valid_until == 3600.0


def test_anycast_entry_holds_the_assigned_addresses_on_its_prefix() -> None:
    """The NTEs that answer for an anycast address are the assigned ones (RFC 4862 §5.4:
    the model's source addresses) on its prefix (the model's ``same_prefix``)."""
    table, model, v = _pair()
    rng = random.Random(1)
    inf = ad.INFINITY
    on_prefix, other, late = (
        IPv6Address("2001:db8:1::1"),
        SECOND,
        IPv6Address("2001:db8:1::2"),
    )
    for addr, at in ((on_prefix, 0.0), (other, 0.0), (late, 0.5)):
        table.add(addr, 64, ad.Origin.STATIC, at, dad_delay=0.0)
        model, _ = spec.configure_address(
            model, addr, 64, ad.Origin.STATIC.value, at, v, rng, inf, inf, 0.0
        )
    table.add_anycast(PREFIX, 64, 0.0)  # the Subnet-Router anycast address (RFC 4291 §2.6.1)
    table.poll(1.0)
    model, _ = spec.on_time(model, 1.0, v)
    ade = table.lookup_ade(PREFIX)
    assert ade is not None and ade.kind is ad.AdeKind.ANYCAST
    want = {a for a in spec.source_addresses(model) if spec.same_prefix(a, PREFIX, 64)}
    assert want == {on_prefix}  # `late` is still tentative, `other` is off the prefix
    assert {e.address for e in ade.ntes} == want


def test_prefix_match_at_every_length_against_ipaddress() -> None:
    """The model's ``same_prefix`` and the stack's ``in_prefix`` at every prefix length,
    /0 and /128 included, against the standard library's networks."""
    a = IPv6Address("2001:db8:1:8000::1")
    pairs = [(a, a), (a, IPv6Address("2001:db8:1::")), (a, IPv6Address("3fff::"))]
    for x, y in pairs:
        for plen in range(129):
            want = IPv6Network((x, plen), strict=False) == IPv6Network((y, plen), strict=False)
            assert spec.same_prefix(x, y, plen) is want, (x, y, plen)
            assert ad.in_prefix(x, y, plen) is want, (x, y, plen)
    assert not spec.same_prefix(a, a, 129) and not spec.same_prefix(a, a, -1)
    assert not ad.in_prefix(a, a, 129) and not ad.in_prefix(a, a, -1)


def test_each_ignored_prefix_and_dad_event_is_counted_under_its_reason() -> None:
    """Where the RFC 4862 model ignores a Prefix Information option (RFC 4862 §5.5.3 (a)-(d))
    the table leaves its addresses alone too and counts the one reason; a duplicate and a DAD
    restarted on link-up are counted once per address."""
    table, model, v = _pair()
    rng = random.Random(1)
    assert all(value == 0 for value in dataclasses.asdict(table.counters).values())
    ignored = [
        ("prefix_ignored_not_autonomous", spec.PrefixInformation(PREFIX, 64, False, 3600, 3600)),
        ("prefix_ignored_link_local", spec.PrefixInformation(FIRST, 64, True, 3600, 3600)),
        (
            "prefix_ignored_preferred_exceeds_valid",
            spec.PrefixInformation(PREFIX, 64, True, 3600, 7200),
        ),
        ("prefix_ignored_zero_valid_lifetime", spec.PrefixInformation(PREFIX, 64, True, 0, 0)),
        ("prefix_ignored_bad_length", spec.PrefixInformation(PREFIX, 48, True, 3600, 3600)),
    ]
    for reason, pio in ignored:
        before = dataclasses.asdict(table.counters)
        got = table.on_prefix_information(
            pio.prefix, pio.prefix_length, pio.autonomous_flag, pio.valid_lifetime,
            pio.preferred_lifetime, IID, 0.0, dad_delay=0.0,
        )  # fmt: skip
        after_model, want = spec.on_prefix_information(model, pio, IID, 0.0, v, rng, delay=0.0)
        assert after_model == model and want == [] and got == [] and not table.entries
        changed = {k for k, n in dataclasses.asdict(table.counters).items() if n != before[k]}
        assert changed == {reason} and getattr(table.counters, reason) == before[reason] + 1
    inf = ad.INFINITY
    for addr in (FIRST, SECOND):
        table.add(addr, 64, ad.Origin.STATIC, 0.0, dad_delay=0.0)
        model, _ = spec.configure_address(
            model, addr, 64, ad.Origin.STATIC.value, 0.0, v, rng, inf, inf, 0.0
        )
    table.on_neighbor_advertisement(SECOND, 0.5)
    model, _ = spec.on_neighbor_advertisement(model, SECOND)
    assert model.addresses[SECOND].state == spec.DUPLICATE
    assert table.counters.duplicates_detected == 1
    table.poll(1.0)
    model, _ = spec.on_time(model, 1.0, v)
    model, _ = spec.on_link_up(model, 2.0, v)
    table.link_up(2.0)
    restarted = [a for a, e in model.addresses.items() if e.state == spec.TENTATIVE]
    assert restarted == [FIRST]  # the duplicate stays one (RFC 4862 §5.4.5)
    assert table.counters.dad_restarted_link_up == len(restarted)


def test_two_hour_rule_resets_a_long_remaining_lifetime_to_two_hours() -> None:
    """RFC 4862 §5.5.3 (e) 3.: RemainingLifetime over two hours, an advertised valid lifetime
    of at most two hours and not above it: the valid lifetime becomes two hours, counted."""
    table, model, v = _pair()
    rng = random.Random(1)
    model = _both_advertised(table, model, v, rng, (10000, 3600), 0.0, dad_delay=0.0)
    (address,) = model.addresses
    model = _both_advertised(table, model, v, rng, (3600, 3600), 100.0)
    assert table.counters.two_hour_rule_applied == 1
    assert table.entries[address].valid_until == model.addresses[address].valid_until == 7300.0
