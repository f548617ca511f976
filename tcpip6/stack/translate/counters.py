"""What the translator did with every packet, ``netstat -s`` style: one counter per outcome,
one ``*_drop`` counter per reason a packet was not translated."""

from __future__ import annotations

from dataclasses import dataclass

from tcpip6.stack.counters import CounterSet


@dataclass
class TranslateCounters(CounterSet):
    # IPv4 -> IPv6 (RFC 7915 §4)
    v4_in: int = 0
    v4_translated: int = 0
    v6_fragments_made: int = 0
    v4_malformed_drop: int = 0
    v4_header_checksum_drop: int = 0
    v4_source_unmapped_drop: int = 0
    v4_destination_unmapped_drop: int = 0
    v4_ttl_exceeded_drop: int = 0
    v4_source_route_drop: int = 0
    v4_fragment_length_drop: int = 0
    v4_too_big_df_drop: int = 0
    v4_udp_zero_checksum_fragment_drop: int = 0
    #: RFC 7915 §4.5: zero UDP checksums the translator computed
    v4_udp_checksum_computed: int = 0
    v4_transport_truncated_drop: int = 0
    v4_icmp_fragmented_drop: int = 0
    v4_icmp_checksum_drop: int = 0
    v4_icmp_type_drop: int = 0
    v4_icmp_inner_drop: int = 0
    # IPv6 -> IPv4 (RFC 7915 §5)
    v6_in: int = 0
    v6_translated: int = 0
    v4_fragments_made: int = 0
    v6_malformed_drop: int = 0
    v6_source_unmapped_drop: int = 0
    v6_destination_unmapped_drop: int = 0
    v6_hop_limit_exceeded_drop: int = 0
    v6_routing_segments_left_drop: int = 0
    v6_fragment_length_drop: int = 0
    v6_too_big_drop: int = 0
    v6_udp_zero_checksum_drop: int = 0
    v6_transport_truncated_drop: int = 0
    v6_icmp_fragmented_drop: int = 0
    v6_icmp_checksum_drop: int = 0
    v6_icmp_type_drop: int = 0
    v6_icmp_ptb_mtu_drop: int = 0
    v6_icmp_inner_drop: int = 0
    # errors the translator itself sent back (RFC 7915 §4.1, §5.1)
    icmpv4_errors_sent: int = 0
    icmpv6_errors_sent: int = 0
