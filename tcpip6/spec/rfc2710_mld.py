"""Multicast Listener Discovery (MLDv1), the reference model: RFC 2710 §4-§6.

One listener per multicast address and interface, as RFC 2710 §6 describes it: a state
(Non-Listener, Delaying Listener, Idle Listener), a timer, and a flag saying whether this
node was the last to send a Report. Each function is one row of the RFC's event table,
written as if/else. Random delays are inputs (the caller draws them). RFC 3810 §8
(MLDv2 hosts in MLDv1 compatibility mode) behaves like this model for MLDv1 queries.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from ipaddress import IPv6Address

NON_LISTENER = "Non-Listener"
DELAYING_LISTENER = "Delaying Listener"
IDLE_LISTENER = "Idle Listener"

UNSOLICITED_REPORT_INTERVAL = 10.0  # §7.10, seconds


@dataclass(frozen=True)
class Listener:
    state: str = NON_LISTENER
    timer: float | None = None
    flag: bool = False  # "we were the last host to send a Report for this address"


# Actions: ("report",) — send a Report to the address; ("done",) — send Done to ff02::2.
Action = tuple[str, ...]
Result = tuple[Listener, list[Action]]


def reported(address: IPv6Address) -> bool:
    """§5: "The link-scope all-nodes address (FF02::1) is handled as a special case ...
    never sends a Report or Done for that address"; "MLD messages are never sent for
    multicast addresses whose scope is 0 (reserved) or 1 (node-local)"."""
    return address != IPv6Address("ff02::1") and (address.packed[1] & 0x0F) > 1


def start_listening(s: Listener, now: float, delay: float) -> Result:
    """§6 Non-Listener, "start listening": send report, set flag, start timer (§4: the
    unsolicited report is repeated after a delay up to [Unsolicited Report Interval])."""
    if s.state != NON_LISTENER:
        return s, []
    return Listener(DELAYING_LISTENER, now + delay, True), [("report",)]


def stop_listening(s: Listener) -> Result:
    """§6 Delaying/Idle Listener, "stop listening": "send done if flag set", (Delaying)
    "stop timer"."""
    if s.state == NON_LISTENER:
        return s, []
    return Listener(), [("done",)] if s.flag else []


def query_received(s: Listener, now: float, max_response_delay: float, delay: float) -> Result:
    """§6: Idle Listener: "start timer" (random in [0, Maximum Response Delay]);
    Delaying Listener: "reset timer if Max Response Delay < current timer"."""
    if s.state == IDLE_LISTENER:
        return replace(s, state=DELAYING_LISTENER, timer=now + delay), []
    if s.state == DELAYING_LISTENER:
        assert s.timer is not None
        if max_response_delay < s.timer - now:
            return replace(s, timer=now + delay), []
    return s, []


def report_received(s: Listener) -> Result:
    """§6 Delaying Listener, "report received": "stop timer, clear flag"."""
    if s.state == DELAYING_LISTENER:
        return replace(s, state=IDLE_LISTENER, timer=None, flag=False), []
    return s, []


def timer_expired(s: Listener) -> Result:
    """§6 Delaying Listener, "timer expired": "send report, set flag"."""
    if s.state == DELAYING_LISTENER:
        return replace(s, state=IDLE_LISTENER, timer=None, flag=True), [("report",)]
    return s, []
