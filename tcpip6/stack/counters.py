"""Counters, one dataclass per protocol, like ``netstat -s``.

Every drop in the receive path increments exactly one counter that names its reason
(``<condition>_drop``), so a test can compare whole counter objects and a person can see
why a packet vanished.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields


class CounterSet:
    """Mixin: ``as_dict()`` for ``tcpip6 show counters --json``, ``nonzero()`` for display,
    ``increment(name)`` for a counter chosen at run time."""

    def as_dict(self) -> dict[str, int]:
        return asdict(self)  # type: ignore[call-overload, no-any-return]

    def nonzero(self) -> dict[str, int]:
        return {k: v for k, v in self.as_dict().items() if v}

    def increment(self, name: str) -> None:
        """One more of the counter ``name`` (a drop reason or a message kind held as a
        string)."""
        setattr(self, name, getattr(self, name) + 1)

    def reset(self) -> None:
        for f in fields(self):  # type: ignore[arg-type]
            setattr(self, f.name, 0)


@dataclass
class LinkCounters(CounterSet):
    frames_received: int = 0
    frames_sent: int = 0
    not_ipv6_or_not_for_us_drop: int = 0
    frame_too_big_drop: int = 0
    link_down_drop: int = 0


@dataclass
class Ipv6Counters(CounterSet):
    """RFC 4293 names where they exist (ipSystemStats*)."""

    in_receives: int = 0
    in_delivers: int = 0
    out_requests: int = 0
    out_transmits: int = 0
    forwarded: int = 0
    truncated_drop: int = 0
    source_multicast_drop: int = 0
    source_loopback_drop: int = 0
    destination_not_ours_drop: int = 0
    destination_tentative_drop: int = 0
    hop_by_hop_not_first_drop: int = 0
    ext_header_malformed_drop: int = 0
    unknown_option_drop: int = 0
    padding_too_long_drop: int = 0  # more than 7 octets of padding in a row (RFC 4942)
    jumbo_payload_error_drop: int = 0  # RFC 2675 §3 errors: Parameter Problem code 0
    jumbo_payload_malformed_drop: int = 0  # Opt Data Len not 4 or misaligned (RFC 2675 §2)
    jumbogram_drop: int = 0  # a valid jumbogram: this host has no link that carries one
    unknown_next_header_drop: int = 0
    routing_header_drop: int = 0
    routing_type2_drop: int = 0
    no_route_drop: int = 0
    link_local_off_link_drop: int = 0
    too_big_drop: int = 0
    hop_limit_exceeded_drop: int = 0
    resolution_failed_drop: int = 0
    # RFC 8200 §4.5 reassembly: ipSystemStatsReasmReqds, ReasmOKs, ReasmFails (packets
    # given up: overlap, length conflict, timeout; each also counted by its reason below).
    fragments_received: int = 0
    reassembly_ok: int = 0
    reassembly_failed_drop: int = 0
    atomic_fragments: int = 0  # RFC 6946: processed whole, apart from any buffer
    fragment_bad_length_drop: int = 0  # M=1, not a multiple of 8: Parameter Problem
    fragment_too_long_drop: int = 0  # reassembled > 65535 octets: Parameter Problem
    fragment_incomplete_chain_drop: int = 0  # RFC 7112: Parameter Problem code 3
    fragment_empty_drop: int = 0  # M=1 and no data: adds nothing
    fragment_duplicate_drop: int = 0  # exact duplicate, dropped alone (RFC 5722 §4)
    fragment_overlap_drop: int = 0  # RFC 5722: the packet is discarded
    fragment_length_conflict_drop: int = 0  # fragments disagree on the end: discarded
    fragment_after_discard_drop: int = 0  # later fragments of a discarded packet
    reassembly_timeout_drop: int = 0  # 60 s passed (Time Exceeded if the first came)
    reassembly_source_limit_drop: int = 0  # over one source's share of reassembly memory
    reassembly_memory_limit_drop: int = 0  # over the total reassembly memory
    reassembly_evicted_drop: int = 0  # the oldest packet given up to make room
    clock_backwards_clamped: int = 0  # a call brought a time older than an earlier one
    link_down_no_source: int = 0  # no source address: the outgoing link is down
    interface_removed_drop: int = 0  # received on an interface the host has removed
    # Fragmentation on send: ipSystemStatsOutFragOKs, OutFragCreates.
    fragmented_ok: int = 0
    fragments_created: int = 0
    no_next_header: int = 0
    no_source_drop: int = 0
    loopback_queue_full_drop: int = 0


@dataclass
class Icmpv6Counters(CounterSet):
    """RFC 4293 icmpStatsTable / icmpMsgStatsTable, plus drop reasons."""

    in_msgs: int = 0
    in_errors: int = 0
    out_msgs: int = 0
    out_errors: int = 0
    in_echo_requests: int = 0
    in_echo_replies: int = 0
    out_echo_replies: int = 0
    out_echo_requests: int = 0
    in_dest_unreachable: int = 0
    in_packet_too_big: int = 0
    in_time_exceeded: int = 0
    in_parameter_problem: int = 0
    out_dest_unreachable: int = 0
    out_packet_too_big: int = 0
    out_time_exceeded: int = 0
    out_parameter_problem: int = 0
    malformed_drop: int = 0
    bad_checksum_drop: int = 0
    unknown_type_drop: int = 0
    error_rate_limited: int = 0
    error_suppressed: int = 0
    error_invoking_malformed_drop: int = 0
    error_not_about_our_packet_drop: int = 0
    mld_source_not_link_local_drop: int = 0


@dataclass
class NdCounters(CounterSet):
    """Neighbor Discovery validity checks (RFC 4861 §6.1, RFC 4861 §7.1, RFC 4861 §8.1), one counter
    each."""

    in_router_solicitations: int = 0
    in_router_advertisements: int = 0
    in_neighbor_solicitations: int = 0
    in_neighbor_advertisements: int = 0
    in_redirects: int = 0
    out_router_solicitations: int = 0
    out_router_advertisements: int = 0
    out_neighbor_solicitations: int = 0
    out_neighbor_advertisements: int = 0
    out_redirects: int = 0
    # RFC 4429 §3.2: no NS from an optimistic address; with no other source it waits.
    ns_optimistic_source_deferred: int = 0
    hop_limit_not_255_drop: int = 0
    code_not_zero_drop: int = 0
    bad_option_drop: int = 0
    ns_target_multicast_drop: int = 0
    ns_unspecified_source_not_solicited_node_drop: int = 0
    ns_unspecified_source_with_sllao_drop: int = 0
    na_target_multicast_drop: int = 0
    na_solicited_to_multicast_drop: int = 0
    ra_source_not_link_local_drop: int = 0
    rs_unspecified_source_with_sllao_drop: int = 0
    redirect_source_not_link_local_drop: int = 0
    redirect_destination_multicast_drop: int = 0
    redirect_target_invalid_drop: int = 0
    redirect_not_from_first_hop_drop: int = 0
    not_for_us_drop: int = 0
    ra_ignored_as_router: int = 0
    rs_ignored_as_host: int = 0
    in_fragment_drop: int = 0
    resolution_failures: int = 0
    duplicate_addresses: int = 0
    attachment_probes: int = 0  # RFC 6059: routers probed after a link up
