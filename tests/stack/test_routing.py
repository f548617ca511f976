"""Prefix List, Default Router List, static routes and Destination Cache (RFC 4861 §5.2,
RFC 4861 §6.3.4-§6.3.6, RFC 4861 §8.3; RFC 8201; RFC 4443 §2.4 (f)), scenario by scenario
with a fake clock.
"""

from __future__ import annotations

from ipaddress import IPv6Address, IPv6Network
from typing import TYPE_CHECKING, cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tcpip6.spec import rfc1970_nd as spec
from tcpip6.stack.routing import (
    INFINITE_LIFETIME,
    MIN_MTU,
    NextHopReason,
    PathMtuIncreased,
    PrefixExpired,
    RouterExpired,
    Routes,
    RoutingCounters,
)

if TYPE_CHECKING:
    pass

A = IPv6Address
N = IPv6Network
ETH0, ETH1 = "eth0", "eth1"
R1, R2, R3 = A("fe80::1"), A("fe80::2"), A("fe80::3")
PREFIX = A("2001:db8:1::")
ON_LINK = A("2001:db8:1::42")
REMOTE = A("2001:db8:99::7")


class World:
    """Routes over string interfaces, with a reachability table and a fake clock."""

    def __init__(self, **kwargs: object) -> None:
        self.now = 0.0
        self.reach: dict[tuple[str, IPv6Address], str] = {}
        self.mtu = {ETH0: 1500, ETH1: 9000}
        self.routes: Routes[str] = Routes(
            lambda i, a: self.reach.get((i, a), "unknown"),
            lambda i: self.mtu[i],
            **kwargs,  # type: ignore[arg-type]
        )

    def run_to_next_deadline(self) -> list[object]:
        deadline = self.routes.next_deadline()
        assert deadline is not None
        self.now = deadline
        return list(self.routes.poll(self.now))

    def hop(
        self, destination: IPv6Address, hint: str | None = None
    ) -> tuple[str, IPv6Address] | None:
        return self.routes.next_hop(destination, hint, self.now)


@pytest.fixture
def w() -> World:
    return World()


def counters(**changed: int) -> RoutingCounters:
    return RoutingCounters(**changed)


# -- Prefix List (RFC 4861 §6.3.4, RFC 4861 §6.3.5) ------------------------------------------------


def test_prefix_with_l_flag_makes_destinations_on_link(w: World) -> None:
    w.routes.on_router_advertisement(ETH0, R1, 1800, w.now)
    w.routes.on_prefix_information(ETH0, PREFIX, 64, True, 3600, w.now)
    assert w.hop(ON_LINK) == (ETH0, ON_LINK)
    assert w.hop(REMOTE) == (ETH0, R1)
    assert w.routes.route_cache[(ON_LINK, None)].reason is NextHopReason.ON_LINK_PREFIX


def test_prefix_without_l_flag_says_nothing_about_on_link(w: World) -> None:
    w.routes.on_router_advertisement(ETH0, R1, 1800, w.now)
    w.routes.on_prefix_information(ETH0, PREFIX, 64, False, 3600, w.now)
    assert w.routes.prefix_list == {}
    assert w.hop(ON_LINK) == (ETH0, R1)


def test_longest_prefix_wins(w: World) -> None:
    w.routes.on_prefix_information(ETH0, A("2001:db8::"), 32, True, 3600, w.now)
    w.routes.on_prefix_information(ETH1, PREFIX, 64, True, 3600, w.now)
    assert w.hop(ON_LINK) == (ETH1, ON_LINK)
    assert w.hop(A("2001:db8:2::1")) == (ETH0, A("2001:db8:2::1"))


def test_link_local_prefix_is_ignored(w: World) -> None:
    w.routes.on_prefix_information(ETH0, A("fe80::"), 64, True, 3600, w.now)
    assert w.routes.prefix_list == {}
    assert w.routes.counters == counters(prefix_link_local_ignored=1)


def test_bad_prefix_length_is_ignored(w: World) -> None:
    w.routes.on_prefix_information(ETH0, PREFIX, 129, True, 3600, w.now)
    assert w.routes.prefix_list == {}
    assert w.routes.counters == counters(prefix_bad_length_ignored=1)


def test_prefix_expires_and_its_destinations_choose_again(w: World) -> None:
    w.routes.on_router_advertisement(ETH0, R1, 9000, w.now)
    w.routes.on_prefix_information(ETH0, PREFIX, 64, True, 100, w.now)
    assert w.hop(ON_LINK) == (ETH0, ON_LINK)
    w.now = 60.0
    w.routes.on_prefix_information(ETH0, PREFIX, 64, True, 100, w.now)  # refresh
    assert w.routes.next_deadline() == 160.0
    assert w.run_to_next_deadline() == [PrefixExpired(ETH0, N("2001:db8:1::/64"))]
    assert (ON_LINK, None) not in w.routes.route_cache
    assert w.hop(ON_LINK) == (ETH0, R1)
    assert w.routes.counters.prefixes_removed == 1


def test_expiry_is_seen_by_lookups_before_poll(w: World) -> None:
    w.routes.on_prefix_information(ETH0, PREFIX, 64, True, 100, w.now)
    w.now = 100.0
    assert w.hop(ON_LINK) is None
    assert w.routes.poll(w.now) == [PrefixExpired(ETH0, N("2001:db8:1::/64"))]
    assert w.routes.poll(w.now) == []


def test_zero_valid_lifetime_removes_and_is_ignored_when_absent(w: World) -> None:
    w.routes.on_prefix_information(ETH0, PREFIX, 64, True, 0, w.now)
    assert w.routes.prefix_list == {}
    w.routes.on_prefix_information(ETH0, PREFIX, 64, True, 100, w.now)
    w.routes.on_prefix_information(ETH0, PREFIX, 64, True, 0, w.now)
    assert w.routes.prefix_list == {}
    assert w.routes.next_deadline() is None
    assert w.routes.counters == counters(prefixes_added=1, prefixes_removed=1)


def test_infinite_valid_lifetime_never_expires(w: World) -> None:
    w.routes.on_prefix_information(ETH0, PREFIX, 64, True, INFINITE_LIFETIME, w.now)
    assert w.routes.next_deadline() is None
    w.now = 1e9
    assert w.hop(ON_LINK) == (ETH0, ON_LINK)


def test_static_on_link_prefix_is_not_advertised_away(w: World) -> None:
    net = N("2001:db8:1::/64")
    w.routes.on_prefix_information(ETH0, PREFIX, 64, True, 100, w.now)
    assert w.routes.add_on_link_prefix(ETH0, net)
    w.routes.on_prefix_information(ETH0, PREFIX, 64, True, 0, w.now)
    assert w.routes.next_deadline() is None
    assert w.hop(ON_LINK) == (ETH0, ON_LINK)
    assert w.routes.remove_on_link_prefix(ETH0, net)
    assert not w.routes.remove_on_link_prefix(ETH0, net)
    assert w.hop(ON_LINK) is None


def test_new_prefix_turns_routed_destinations_on_link(w: World) -> None:
    w.routes.on_router_advertisement(ETH0, R1, 1800, w.now)
    assert w.hop(ON_LINK) == (ETH0, R1)
    w.routes.on_prefix_information(ETH0, PREFIX, 64, True, 3600, w.now)
    assert w.hop(ON_LINK) == (ETH0, ON_LINK)


def test_prefix_list_is_bounded() -> None:
    w = World(max_prefixes=1)
    w.routes.on_prefix_information(ETH0, PREFIX, 64, True, 100, w.now)
    w.routes.on_prefix_information(ETH0, A("2001:db8:2::"), 64, True, 100, w.now)
    assert len(w.routes.prefix_list) == 1
    assert w.routes.counters == counters(prefixes_added=1, prefix_list_full_drop=1)


# -- Default Router List (RFC 4861 §6.3.4-§6.3.6) --------------------------------------------------


def test_no_router_means_unreachable_not_on_link(w: World) -> None:
    # RFC 4861 §5.2, RFC 4943: no "assume on-link" when the Default Router List is empty.
    assert w.hop(REMOTE) is None
    assert w.routes.counters == counters(no_route=1)


def test_router_lifetime_expiry_flushes_its_destinations(w: World) -> None:
    w.routes.on_router_advertisement(ETH0, R1, 1800, w.now)
    w.routes.on_router_advertisement(ETH0, R2, 3600, w.now)
    w.reach[(ETH0, R1)] = "reachable"
    assert w.hop(REMOTE) == (ETH0, R1)
    assert w.routes.next_deadline() == 1800.0
    assert w.run_to_next_deadline() == [RouterExpired(ETH0, R1)]
    assert [r.router for r in w.routes.default_router_list] == [R2]
    assert w.hop(REMOTE) == (ETH0, R2)
    assert w.run_to_next_deadline() == [RouterExpired(ETH0, R2)]
    assert w.hop(REMOTE) is None
    assert w.routes.next_deadline() is None


def test_refreshed_router_lives_on(w: World) -> None:
    w.routes.on_router_advertisement(ETH0, R1, 1800, w.now)
    w.now = 1000.0
    w.routes.on_router_advertisement(ETH0, R1, 1800, w.now)
    assert w.routes.next_deadline() == 2800.0
    w.now = 2000.0
    assert w.hop(REMOTE) == (ETH0, R1)


def test_zero_router_lifetime_removes_at_once(w: World) -> None:
    w.routes.on_router_advertisement(ETH0, R1, 1800, w.now)
    assert w.hop(REMOTE) == (ETH0, R1)
    w.routes.on_router_advertisement(ETH0, R1, 0, w.now)
    assert w.routes.default_router_list == []
    assert w.routes.route_cache == {}
    assert w.routes.next_deadline() is None
    w.routes.on_router_advertisement(ETH0, R2, 0, w.now)
    assert w.routes.default_router_list == []


def test_router_list_is_bounded() -> None:
    w = World(max_routers=2)
    for r in (R1, R2, R3):
        w.routes.on_router_advertisement(ETH0, r, 1800, w.now)
    assert [r.router for r in w.routes.default_router_list] == [R1, R2]
    assert w.routes.counters == counters(routers_added=2, router_list_full_drop=1)


def test_reachable_router_preferred_over_earlier_incomplete_one(w: World) -> None:
    for r in (R1, R2, R3):
        w.routes.on_router_advertisement(ETH0, r, 1800, w.now)
    w.reach[(ETH0, R1)] = "incomplete"
    w.reach[(ETH0, R2)] = "unreachable"
    w.reach[(ETH0, R3)] = "probably"  # STALE, DELAY or PROBE
    assert w.hop(REMOTE) == (ETH0, R3)
    assert w.routes.round_robin_cursor == 0


def test_round_robin_when_no_router_is_known_reachable(w: World) -> None:
    for r in (R1, R2, R3):
        w.routes.on_router_advertisement(ETH0, r, 1800, w.now)
    w.reach[(ETH0, R2)] = "incomplete"
    hops = [w.hop(A(f"2001:db8:99::{i}")) for i in range(1, 5)]
    assert hops == [(ETH0, R1), (ETH0, R2), (ETH0, R3), (ETH0, R1)]


def test_dead_router_replaced_by_the_next_one(w: World) -> None:
    w.routes.on_router_advertisement(ETH0, R1, 1800, w.now)
    w.routes.on_router_advertisement(ETH0, R2, 1800, w.now)
    w.reach[(ETH0, R1)] = "incomplete"
    assert w.hop(REMOTE) == (ETH0, R1)
    assert w.hop(A("2001:db8:99::8")) == (ETH0, R2)  # moves the round-robin on
    assert w.hop(A("2001:db8:99::9")) == (ETH0, R1)
    # RFC 4861 §7.3.3: address resolution of R1 failed; its NCE is gone.
    w.reach[(ETH0, R1)] = "unknown"
    w.routes.neighbor_unreachable(ETH0, R1)
    assert (REMOTE, None) not in w.routes.route_cache
    assert w.hop(REMOTE) == (ETH0, R2)
    assert [r.router for r in w.routes.default_router_list] == [R1, R2]
    # Once R2 answers it is preferred by every new destination.
    w.reach[(ETH0, R2)] = "reachable"
    assert w.hop(A("2001:db8:99::a")) == (ETH0, R2)
    assert w.hop(A("2001:db8:99::b")) == (ETH0, R2)


def test_router_preference_among_reachable_routers(w: World) -> None:
    w.routes.on_router_advertisement(ETH0, R1, 1800, w.now, preference=-1)
    w.routes.on_router_advertisement(ETH0, R2, 1800, w.now, preference=1)
    w.routes.on_router_advertisement(ETH0, R3, 1800, w.now, preference=2)  # reserved: 0
    for r in (R1, R2, R3):
        w.reach[(ETH0, r)] = "reachable"
    assert w.hop(REMOTE) == (ETH0, R2)
    w.reach[(ETH0, R2)] = "incomplete"
    assert w.hop(A("2001:db8:99::8")) == (ETH0, R3)


def test_router_flag_cleared_removes_router_and_its_destinations(w: World) -> None:
    w.routes.on_router_advertisement(ETH0, R1, 1800, w.now)
    w.routes.on_router_advertisement(ETH0, R2, 1800, w.now)
    assert w.hop(REMOTE) == (ETH0, R1)
    w.routes.router_flag_cleared(ETH0, R1)  # RFC 4861 §7.2.5
    assert [r.router for r in w.routes.default_router_list] == [R2]
    assert w.routes.route_cache == {}
    assert w.routes.next_deadline() == 1800.0
    assert w.hop(REMOTE) == (ETH0, R2)


def test_interface_hint_restricts_the_choice(w: World) -> None:
    w.routes.on_router_advertisement(ETH0, R1, 1800, w.now)
    w.routes.on_router_advertisement(ETH1, R2, 1800, w.now)
    w.reach[(ETH0, R1)] = "reachable"
    assert w.hop(REMOTE) == (ETH0, R1)
    assert w.hop(REMOTE, ETH1) == (ETH1, R2)
    w.routes.on_prefix_information(ETH1, PREFIX, 64, True, 100, w.now)
    assert w.hop(ON_LINK, ETH0) == (ETH0, R1)


# -- scope zones (RFC 4007) ----------------------------------------------------------------


def test_link_local_and_multicast_need_an_interface(w: World) -> None:
    w.routes.on_router_advertisement(ETH0, R1, 1800, w.now)
    for dst in (A("fe80::99"), A("ff02::1"), A("ff0e::101")):
        assert w.hop(dst) is None
        assert w.hop(dst, ETH1) == (ETH1, dst)
        assert w.routes.route_cache[(dst, ETH1)].reason is NextHopReason.ON_LINK_SCOPE
    assert w.routes.counters == counters(routers_added=1, zone_missing=3)


def test_same_link_local_address_on_two_links_are_two_entries(w: World) -> None:
    peer = A("fe80::99")
    assert w.hop(peer, ETH0) == (ETH0, peer)
    assert w.hop(peer, ETH1) == (ETH1, peer)
    assert w.routes.path_mtu(peer, w.now, ETH0) == 1500
    assert w.routes.path_mtu(peer, w.now, ETH1) == 9000


# -- static routes -----------------------------------------------------------------------


def test_static_routes_longest_prefix_match(w: World) -> None:
    gw0, gw1 = A("fe80::a"), A("fe80::b")
    assert w.routes.add_static_route(N("::/0"), ETH0, gw0)
    assert w.routes.add_static_route(N("2001:db8::/32"), ETH1, gw1)
    assert w.routes.add_static_route(N("2001:db8:5::/48"), ETH1, None)
    assert w.hop(A("2001:4860::1")) == (ETH0, gw0)
    assert w.hop(A("2001:db8:6::1")) == (ETH1, gw1)
    assert w.hop(A("2001:db8:5::1")) == (ETH1, A("2001:db8:5::1"))
    assert w.hop(A("2001:db8:6::1"), ETH0) == (ETH0, gw0)
    assert w.routes.remove_static_route(N("2001:db8::/32"), ETH1)
    assert not w.routes.remove_static_route(N("2001:db8::/32"), ETH1)
    assert w.hop(A("2001:db8:6::1")) == (ETH0, gw0)


def test_prefix_list_before_static_routes_before_default_routers(w: World) -> None:
    w.routes.on_router_advertisement(ETH0, R1, 1800, w.now)
    assert w.hop(REMOTE) == (ETH0, R1)
    w.routes.add_static_route(N("2001:db8::/32"), ETH1, R2)
    assert w.hop(REMOTE) == (ETH1, R2)
    w.routes.on_prefix_information(ETH0, A("2001:db8:99::"), 64, True, 100, w.now)
    assert w.hop(REMOTE) == (ETH0, REMOTE)


def test_static_routes_are_bounded_and_replace_by_prefix_and_interface() -> None:
    w = World(max_static_routes=1)
    assert w.routes.add_static_route(N("::/0"), ETH0, R1)
    assert w.routes.add_static_route(N("::/0"), ETH0, R2)
    assert not w.routes.add_static_route(N("::/0"), ETH1, R3)
    assert w.hop(REMOTE) == (ETH0, R2)
    assert w.routes.counters.static_routes_full_drop == 1


# -- Redirect (RFC 4861 §8.1, RFC 4861 §8.3) -------------------------------------------------------


def test_redirect_accepted_only_from_the_current_first_hop(w: World) -> None:
    w.routes.on_router_advertisement(ETH0, R1, 1800, w.now)
    w.routes.on_router_advertisement(ETH0, R2, 1800, w.now)
    w.reach[(ETH0, R1)] = "reachable"
    assert w.hop(REMOTE) == (ETH0, R1)
    assert not w.routes.on_redirect(ETH0, R2, R3, REMOTE, w.now)
    assert not w.routes.on_redirect(ETH1, R1, R3, REMOTE, w.now)
    assert w.hop(REMOTE) == (ETH0, R1)
    assert w.routes.on_redirect(ETH0, R1, R3, REMOTE, w.now)
    assert w.hop(REMOTE) == (ETH0, R3)
    rce = w.routes.route_cache[(REMOTE, None)]
    assert rce.redirected and not rce.on_link
    # Now R3 is the first hop: R1 can no longer redirect this destination.
    assert not w.routes.on_redirect(ETH0, R1, R2, REMOTE, w.now)
    assert w.routes.counters.redirects_accepted == 1
    assert w.routes.counters.redirects_not_from_first_hop_ignored == 3


def test_redirect_without_destination_cache_entry(w: World) -> None:
    w.routes.on_router_advertisement(ETH0, R1, 1800, w.now)
    w.reach[(ETH0, R1)] = "reachable"
    assert w.routes.on_redirect(ETH0, R1, R2, REMOTE, w.now)  # RFC 4861 §8.3: entry created
    assert w.hop(REMOTE) == (ETH0, R2)


def test_redirect_to_the_destination_means_on_link(w: World) -> None:
    w.routes.on_router_advertisement(ETH0, R1, 1800, w.now)
    assert w.hop(REMOTE) == (ETH0, R1)
    assert w.routes.on_redirect(ETH0, R1, REMOTE, REMOTE, w.now)
    assert w.hop(REMOTE) == (ETH0, REMOTE)
    assert w.routes.route_cache[(REMOTE, None)].on_link


def test_redirect_to_a_global_router_address_is_ignored(w: World) -> None:
    w.routes.on_router_advertisement(ETH0, R1, 1800, w.now)
    assert not w.routes.on_redirect(ETH0, R1, A("2001:db8::1"), REMOTE, w.now)
    assert w.routes.counters.redirects_bad_target_ignored == 1
    assert w.hop(REMOTE) == (ETH0, R1)


def test_redirected_destination_survives_removal_of_the_old_router(w: World) -> None:
    w.routes.on_router_advertisement(ETH0, R1, 1800, w.now)
    w.routes.on_router_advertisement(ETH0, R2, 1800, w.now)
    assert w.hop(REMOTE) == (ETH0, R1)
    assert w.routes.on_redirect(ETH0, R1, R3, REMOTE, w.now)
    w.routes.on_router_advertisement(ETH0, R1, 0, w.now)
    assert w.hop(REMOTE) == (ETH0, R3)
    w.routes.neighbor_unreachable(ETH0, R3)  # the better router died: choose again
    assert w.hop(REMOTE) == (ETH0, R2)


# -- Path MTU (RFC 8201) -----------------------------------------------------------------


def test_packet_too_big_lowers_but_never_below_1280_nor_raises(w: World) -> None:
    w.routes.on_router_advertisement(ETH0, R1, 9000, w.now)
    assert w.routes.path_mtu(REMOTE, w.now) == 1500
    assert w.routes.on_packet_too_big(REMOTE, 1400, w.now)
    assert w.routes.path_mtu(REMOTE, w.now) == 1400
    assert not w.routes.on_packet_too_big(REMOTE, 1450, w.now)
    assert w.routes.on_packet_too_big(REMOTE, 576, w.now)
    assert w.routes.path_mtu(REMOTE, w.now) == MIN_MTU
    assert not w.routes.on_packet_too_big(REMOTE, 1000, w.now)
    assert w.routes.path_mtu(REMOTE, w.now) == MIN_MTU
    assert w.routes.counters == counters(
        routers_added=1,
        packet_too_big_accepted=2,
        packet_too_big_not_lower_ignored=2,
        packet_too_big_below_minimum=2,
    )


def test_pmtu_aging_raises_back_to_the_link_mtu(w: World) -> None:
    w.routes.on_router_advertisement(ETH0, R1, 9000, w.now)
    w.now = 10.0
    assert w.routes.on_packet_too_big(REMOTE, 1300, w.now)
    assert w.routes.route_cache[(REMOTE, None)].pmtu_timestamp == 10.0
    assert w.routes.next_deadline() == 610.0
    w.now = 609.0
    assert w.routes.path_mtu(REMOTE, w.now) == 1300
    assert w.run_to_next_deadline() == [PathMtuIncreased(REMOTE, ETH0, 1500)]
    assert w.routes.path_mtu(REMOTE, w.now) == 1500
    assert w.routes.route_cache[(REMOTE, None)].pmtu_timestamp is None
    assert w.routes.next_deadline() == 9000.0


def test_pmtu_aging_restarts_with_each_decrease_and_is_configurable() -> None:
    w = World(pmtu_aging=60.0)
    w.routes.add_static_route(N("::/0"), ETH0, R1)
    w.routes.on_packet_too_big(REMOTE, 1400, w.now)
    w.now = 30.0
    w.routes.on_packet_too_big(REMOTE, 1300, w.now)
    w.now = 89.0
    assert w.routes.path_mtu(REMOTE, w.now) == 1300
    w.now = 90.0
    assert w.routes.path_mtu(REMOTE, w.now) == 1500  # due: applied before answering
    assert w.routes.poll(w.now) == [PathMtuIncreased(REMOTE, ETH0, 1500)]


def test_pmtu_never_above_the_link_mtu(w: World) -> None:
    w.routes.add_static_route(N("::/0"), ETH1, R1)
    assert w.routes.path_mtu(REMOTE, w.now) == 9000
    w.mtu[ETH1] = 1500  # an RA MTU option lowered the link MTU
    assert w.routes.path_mtu(REMOTE, w.now) == 1500
    assert not w.routes.on_packet_too_big(REMOTE, 4000, w.now)


def test_packet_too_big_without_route_is_ignored(w: World) -> None:
    assert not w.routes.on_packet_too_big(REMOTE, 1300, w.now)
    assert w.routes.path_mtu(REMOTE, w.now) is None
    assert w.routes.counters == counters(packet_too_big_no_route_ignored=1, no_route=1)


def test_packet_too_big_recreates_an_evicted_entry() -> None:
    w = World(route_cache_capacity=1)
    w.routes.add_static_route(N("::/0"), ETH0, R1)
    w.hop(REMOTE)
    w.hop(ON_LINK)
    assert w.routes.on_packet_too_big(REMOTE, 1300, w.now)
    assert w.routes.path_mtu(REMOTE, w.now) == 1300


# -- Destination Cache bound, flushes and the ICMPv6 error rate ------------------------


def test_route_cache_is_lru_bounded_and_counts_evictions() -> None:
    w = World(route_cache_capacity=2)
    w.routes.add_static_route(N("::/0"), ETH0, R1)
    d1, d2, d3 = (A(f"2001:db8:99::{i}") for i in (1, 2, 3))
    w.hop(d1)
    w.hop(d2)
    w.routes.on_packet_too_big(d2, 1300, w.now)
    w.hop(d1)  # d1 is now the most recently used
    w.hop(d3)
    assert [key[0] for key in w.routes.route_cache] == [d1, d3]
    assert w.routes.counters.route_cache_evictions == 1
    assert w.routes.next_deadline() is None  # d2's PMTU timer left with it


def test_asking_again_for_the_same_destination_object_keeps_every_rule() -> None:
    """A repeated lookup of one destination object (a connection's every segment) gives
    its RCE without a search: still the LRU order, flushes and new routes are seen."""
    w = World(route_cache_capacity=2)
    w.routes.add_static_route(N("::/0"), ETH0, R1)
    d1, d2, d3 = (A(f"2001:db8:99::{i}") for i in (1, 2, 3))
    first = w.routes.route(d1, None, w.now)
    assert first is not None and w.routes.route(d1, None, w.now) is first
    w.hop(d2)
    assert w.routes.route(d1, None, w.now) is first  # d1 the most recently used again
    assert w.routes.route(d1, None, w.now) is first
    w.hop(d3)  # evicts d2, not d1
    assert [key[0] for key in w.routes.route_cache] == [d1, d3]
    assert w.routes.route(d3, None, w.now) is not None
    assert w.routes.invalidate() == 2  # a flush forgets it: next-hop determination again
    again = w.routes.route(d3, None, w.now)
    assert again is not None and again is not first and w.routes.route(d3, None, w.now) is again
    w.routes.add_static_route(N("2001:db8:99::/64"), ETH1, R2)
    routed = w.routes.route(d3, None, w.now)
    assert routed is not None and routed.interface == ETH1 and routed.next_hop == R2


def test_preferred_source_is_kept_with_the_route(w: World) -> None:
    w.routes.add_static_route(N("::/0"), ETH0, R1)
    rce = w.routes.route(REMOTE, None, w.now)
    assert rce is not None
    rce.preferred_source = A("2001:db8:1::5")
    again = w.routes.lookup(REMOTE)
    assert again is not None and again.preferred_source == A("2001:db8:1::5")
    assert w.routes.lookup(REMOTE, ETH1) is None


def test_invalidate_filters(w: World) -> None:
    w.routes.add_static_route(N("::/0"), ETH0, R1)
    w.routes.on_prefix_information(ETH0, PREFIX, 64, True, 100, w.now)
    w.hop(REMOTE)
    w.hop(ON_LINK)
    w.hop(A("fe80::5"), ETH1)
    assert w.routes.invalidate(next_hop=R1) == 1
    assert w.routes.invalidate(interface=ETH1) == 1
    assert w.routes.invalidate(prefix=N("2001:db8:1::/64")) == 1
    assert w.routes.route_cache == {}
    assert w.routes.counters.route_cache_flushes == 3


def test_icmp_error_token_bucket() -> None:
    w = World(icmp_error_rate=2.0, icmp_error_bucket_size=3.0)
    w.routes.add_static_route(N("::/0"), ETH0, R1)
    w.hop(REMOTE)
    w.hop(ON_LINK)
    assert [w.routes.allow_icmp_error(REMOTE, w.now) for _ in range(4)] == [
        True,
        True,
        True,
        False,
    ]
    assert w.routes.allow_icmp_error(ON_LINK, w.now)  # a bucket per destination
    w.now = 0.5  # one token back
    assert [w.routes.allow_icmp_error(REMOTE, w.now) for _ in range(2)] == [True, False]
    w.now = 100.0  # never more than the bucket size
    assert sum(w.routes.allow_icmp_error(REMOTE, w.now) for _ in range(5)) == 3
    assert w.routes.counters.icmp_errors_rate_limited == 4


def test_icmp_errors_to_uncached_destinations_share_a_bucket() -> None:
    w = World(icmp_error_rate=1.0, icmp_error_bucket_size=2.0)
    allowed = [w.routes.allow_icmp_error(A(f"2001:db8::{i}"), w.now) for i in range(1, 4)]
    assert allowed == [True, True, False]
    rce = w.routes.route(A("fe80::1"), ETH0, w.now)
    assert rce is not None and rce.allow_icmp_error(w.now)


# -- agreement with the reference model (tcpip6/spec/rfc1970_nd.py) ---------------------

SPEC_STATES = (None, spec.INCOMPLETE, spec.REACHABLE, spec.STALE, spec.DELAY, spec.PROBE)
AS_REACHABILITY = {
    None: "unknown",
    spec.INCOMPLETE: "incomplete",
    spec.REACHABLE: "reachable",
    spec.STALE: "probably",
    spec.DELAY: "probably",
    spec.PROBE: "probably",
}
router_pool = [A(f"fe80::{i}") for i in range(1, 7)]
routers_st = st.lists(
    st.tuples(st.sampled_from(router_pool), st.integers(1, 100), st.sampled_from(SPEC_STATES)),
    max_size=5,
    unique_by=lambda t: t[0],
)
prefixes_st = st.lists(
    st.tuples(
        st.sampled_from([N("2001:db8::/32"), N("2001:db8:1::/48"), N("2001:db8:1:2::/64")]),
        st.integers(1, 100),
    ),
    max_size=3,
    unique_by=lambda t: t[0],
)
destination_st = st.sampled_from(
    [
        A(a)
        for a in (
            "2001:db8:1:2::9",
            "2001:db8:1:3::9",
            "2001:db8:7::9",
            "2002::9",
            "fe80::9",
            "ff02::1",
            "ff05::2",
        )
    ]
)


def _world(routers: list[tuple[IPv6Address, int, str | None]], cursor: int) -> World:
    w = World()
    for router, lifetime, state in routers:
        w.routes.on_router_advertisement(ETH0, router, lifetime, 0.0)
        w.reach[(ETH0, router)] = AS_REACHABILITY[state]
    w.routes.round_robin_cursor = cursor
    return w


@given(routers_st, st.integers(0, 10), st.floats(0, 120))
def test_default_router_selection_agrees_with_the_spec(
    routers: list[tuple[IPv6Address, int, str | None]], cursor: int, now: float
) -> None:
    w = _world(routers, cursor)
    chosen = w.routes.select_default_router(None, now)
    expected = spec.select_default_router(
        [spec.DefaultRouterListEntry(r, float(life)) for r, life, _ in routers],
        {r: state for r, _, state in routers},
        cursor,
        now,
    )
    assert (None if chosen is None else chosen.router) == expected


@given(routers_st, prefixes_st, destination_st, st.integers(0, 10), st.floats(0, 120))
def test_next_hop_determination_agrees_with_the_spec(
    routers: list[tuple[IPv6Address, int, str | None]],
    prefixes: list[tuple[IPv6Network, int]],
    destination: IPv6Address,
    cursor: int,
    now: float,
) -> None:
    w = _world(routers, cursor)
    for net, lifetime in prefixes:
        w.routes.on_prefix_information(
            ETH0, net.network_address, net.prefixlen, True, lifetime, 0.0
        )
    got = w.routes.next_hop(destination, ETH0, now)
    prefix_list = [spec.PrefixListEntry(net, float(life)) for net, life in prefixes]
    if spec.is_on_link(destination, prefix_list, now):
        expected: IPv6Address | None = destination
    else:
        expected = spec.select_default_router(
            [spec.DefaultRouterListEntry(r, float(life)) for r, life, _ in routers],
            {r: state for r, _, state in routers},
            cursor,
            now,
        )
    assert (None if got is None else got[1]) == expected
    assert got is None or got[0] == ETH0


# -- one place for zones: the default zone, and the host on top -----------------------------


def test_default_zone_routes_a_zoned_destination_sent_without_one() -> None:
    """RFC 4007 §6: with a default zone (a host with a single interface), a link-local or
    multicast destination sent without a zone goes to it; the RCE key carries the zone."""
    w = World(default_zone=lambda: ETH0)
    for dst in (A("fe80::99"), A("ff02::1")):
        assert w.routes.zone(dst, None) == ETH0
        assert w.hop(dst) == (ETH0, dst)
        assert w.routes.lookup(dst) is w.routes.route_cache[(dst, ETH0)]
        # An explicit zone still wins over the default one.
        assert w.hop(dst, ETH1) == (ETH1, dst)
    # A global destination has no zone: next-hop determination picks the interface.
    assert w.routes.zone(REMOTE, ETH1) is None
    assert w.hop(REMOTE) is None
    assert w.routes.counters == counters(no_route=1)


def test_packet_too_big_for_a_link_local_destination_lowers_its_link_only(w: World) -> None:
    peer = A("fe80::99")
    assert w.hop(peer, ETH0) == (ETH0, peer) and w.hop(peer, ETH1) == (ETH1, peer)
    assert w.routes.on_packet_too_big(peer, 1400, w.now, w.routes.zone(peer, ETH1))
    assert w.routes.path_mtu(peer, w.now, ETH0) == 1500
    assert w.routes.path_mtu(peer, w.now, ETH1) == 1400
    # Without a zone there is no RCE to lower (and no default zone here).
    assert not w.routes.on_packet_too_big(peer, 1300, w.now)
    assert w.routes.counters.packet_too_big_no_route_ignored == 1


def test_host_routes_through_its_destination_cache_with_its_default_zone() -> None:
    """``Host.route`` is next-hop determination by ``Host.routes``: one interface gives a
    default zone; with two, a link-local destination without a zone has no route and is
    counted as zone_missing, and the same address on each link is its own RCE."""
    from tcpip6.io.sim import SimWorld
    from tcpip6.stack.params import InterfaceParameters

    world = SimWorld(seed=1)
    no_dad = InterfaceParameters(dup_addr_detect_transmits=0)
    h = world.host("h")
    eth0 = world.connect(h, "lan0", params=no_dad)
    peer = A("fe80::99")
    assert h.route(peer, None, world.now) == (eth0, peer)
    assert (peer, eth0) in h.routes.route_cache
    eth1 = world.connect(h, "lan1", params=no_dad)
    assert h.routes.zone(peer, None) is None
    assert h.route(peer, None, world.now) is None
    assert h.routes.counters.zone_missing == 1
    assert h.route(peer, eth1, world.now) == (eth1, peer)
    assert {key for key in h.routes.route_cache if key[0] == peer} == {
        (peer, eth0),
        (peer, eth1),
    }


ops_st = st.lists(
    st.one_of(
        st.tuples(st.just("send"), destination_st),
        st.tuples(st.just("reach"), st.sampled_from(router_pool), st.sampled_from(SPEC_STATES)),
    ),
    max_size=30,
)


@given(routers_st, prefixes_st, ops_st)
def test_destination_cache_and_round_robin_agree_with_the_spec(
    routers: list[tuple[IPv6Address, int, str | None]],
    prefixes: list[tuple[IPv6Network, int]],
    ops: list[tuple[object, ...]],
) -> None:
    """RFC 4861 §5.2 over a sequence of sends: cached next hops are reused, new destinations go
    through RFC 4861 §6.3.6 with the round-robin advancing only when no router is reachable."""
    w = _world(routers, 0)
    for net, _ in prefixes:
        w.routes.on_prefix_information(ETH0, net.network_address, net.prefixlen, True, 1e6, 0.0)
    prefix_list = [spec.PrefixListEntry(net, 1e6) for net, _ in prefixes]
    router_list = [spec.DefaultRouterListEntry(r, 1e6) for r, _, _ in routers]
    reach = {r: state for r, _, state in routers}
    cache: dict[IPv6Address, spec.DestinationCacheEntry] = {}
    round_robin = 0
    for op in ops:
        if op[0] == "reach":
            router, state = cast(IPv6Address, op[1]), cast("str | None", op[2])
            reach[router] = state
            w.reach[(ETH0, router)] = AS_REACHABILITY[state]
            continue
        destination = cast(IPv6Address, op[1])
        by_rule_2 = (
            destination not in cache
            and not spec.is_on_link(destination, prefix_list, w.now)
            and all(reach.get(r.router) in (None, spec.INCOMPLETE) for r in router_list)
        )
        expected, cache = spec.next_hop(
            destination, cache, prefix_list, router_list, reach, round_robin, w.now
        )
        round_robin += by_rule_2 and bool(router_list)
        got = w.hop(destination, ETH0)
        assert (None if got is None else got[1]) == expected
        assert {d: rce.next_hop for (d, _), rce in w.routes.route_cache.items()} == {
            d: e.next_hop for d, e in cache.items()
        }
