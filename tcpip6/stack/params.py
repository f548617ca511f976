"""Per-interface protocol variables (RFC 4861 §6.3.2 host variables, RFC 4862 §5.1,
RFC 2710 §7), shared by the ND, NUD, DAD and MLD code of one interface.

These are *variables*: Router Advertisements change ``cur_hop_limit``,
``base_reachable_time``, ``retrans_timer`` and ``link_mtu`` at run time, and
``reachable_time`` is re-drawn from ``base_reachable_time`` (RFC 4861 §6.3.4).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

# RFC 4861 §10 host constants.
MAX_RTR_SOLICITATION_DELAY = 1.0
RTR_SOLICITATION_INTERVAL = 4.0
MAX_RTR_SOLICITATIONS = 3
# RFC 7559 §2: the longest interval between Router Solicitations retransmitted with backoff.
MAX_RTR_SOLICITATION_INTERVAL = 3600.0
MAX_MULTICAST_SOLICIT = 3
MAX_UNICAST_SOLICIT = 3
MAX_ANYCAST_DELAY_TIME = 1.0
MAX_NEIGHBOR_ADVERTISEMENT = 3
REACHABLE_TIME = 30.0
RETRANS_TIMER = 1.0
DELAY_FIRST_PROBE_TIME = 5.0
MIN_RANDOM_FACTOR = 0.5
MAX_RANDOM_FACTOR = 1.5


def compute_reachable_time(base: float, rng: random.Random) -> float:
    """RFC 4861 §6.3.2: uniformly between MIN_RANDOM_FACTOR and MAX_RANDOM_FACTOR times base."""
    return base * rng.uniform(MIN_RANDOM_FACTOR, MAX_RANDOM_FACTOR)


@dataclass(slots=True)
class InterfaceParameters:
    """The variables one interface keeps (RFC 4861 §6.3.2, RFC 4862 §5.1)."""

    link_mtu: int = 1500
    cur_hop_limit: int = 64
    base_reachable_time: float = REACHABLE_TIME
    reachable_time: float = REACHABLE_TIME
    retrans_timer: float = RETRANS_TIMER
    # RFC 4862 §5.1: DupAddrDetectTransmits, default 1; 0 disables DAD.
    dup_addr_detect_transmits: int = 1
    # RFC 4429: Optimistic DAD for the addresses formed from the interface identifier
    # (link-local and autoconfigured); off by default, as in Linux (``optimistic_dad``).
    optimistic_dad: bool = False
    # RFC 2710 §7.10: [Unsolicited Report Interval].
    unsolicited_report_interval: float = 10.0
    # Entries the neighbor cache holds before it evicts (RFC 4861 §7.3.4 leaves the size
    # to the implementation; a router on a large link needs one per active neighbor).
    neighbor_cache_size: int = 256

    def rerandomize_reachable_time(self, rng: random.Random) -> None:
        self.reachable_time = compute_reachable_time(self.base_reachable_time, rng)
