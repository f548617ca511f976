"""Multicast Listener Discovery (MLD, version 1) for IPv6, the listener side: RFC 2710.

The reference model, to be read with RFC 2710 §4 ("Protocol Description") and RFC 2710 §5 ("Node
State Transition Diagram") open. A node keeps, for each multicast address it listens to
on each interface, one :class:`Listener`: a state (Non-Listener, Delaying Listener, Idle
Listener), a timer, and a flag saying whether it was the last node to send a Report for
the address. Each event of RFC 2710 §5 is one function below, written state by state as the RFC's
tables are; a function returns the new listener and the actions to take.

Randomness is an argument: ``random_delay(maximum)`` returns a value chosen uniformly
from [0, maximum] (RFC 2710 §4: "a random value selected from the range [0, Maximum Response
Delay]"). Times are seconds; ``timer`` is the time the timer expires, ``None`` when it is
not running.

RFC 3810 §8: an MLDv2 node in MLDv1 compatibility mode (on a link with MLDv1 routers)
speaks MLDv1 as described here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv6Address

# RFC 2710 §5: the states of a node, per multicast address and interface.
NON_LISTENER = "Non-Listener"
DELAYING_LISTENER = "Delaying Listener"
IDLE_LISTENER = "Idle Listener"

# RFC 2710 §7: timers and default values, in seconds. A listener uses only the Unsolicited Report
# Interval; the others are the routers' (the Maximum Response Delay a listener sees in a
# General Query is normally the Query Response Interval).
ROBUSTNESS_VARIABLE = 2  # RFC 2710 §7.1
QUERY_INTERVAL = 125.0  # RFC 2710 §7.2
QUERY_RESPONSE_INTERVAL = 10.0  # RFC 2710 §7.3
LAST_LISTENER_QUERY_INTERVAL = 1.0  # RFC 2710 §7.8
UNSOLICITED_REPORT_INTERVAL = 10.0  # RFC 2710 §7.10

ALL_NODES = IPv6Address("ff02::1")  # link-scope all-nodes
ALL_ROUTERS = IPv6Address("ff02::2")  # link-scope all-routers: where Done messages go


@dataclass(frozen=True)
class Listener:
    """One multicast address on one interface (RFC 2710 §5). A Non-Listener "requires no storage
    in the node"; it is kept here only as the value events start from and end in."""

    multicast_address: IPv6Address
    state: str = NON_LISTENER
    timer: float | None = None
    flag: bool = False  # "we were the last node to send a Report for this address"


@dataclass(frozen=True)
class SendReport:
    """Send a Report carrying ``multicast_address``, to that address (RFC 2710 §4)."""

    multicast_address: IPv6Address


@dataclass(frozen=True)
class SendDone:
    """Send a Done carrying ``multicast_address``, to ALL_ROUTERS (RFC 2710 §4)."""

    multicast_address: IPv6Address


Action = SendReport | SendDone
Result = tuple[Listener, list[Action]]
RandomDelay = Callable[[float], float]


def is_reported(address: IPv6Address) -> bool:
    """RFC 2710 §5: "The link-scope all-nodes address (FF02::1) is handled as a special case. The
    node starts in Idle Listener state for that address on every interface, never
    transitions to another state, and never sends a Report or Done for that address."
    And: "MLD messages are never sent for multicast addresses whose scope is 0 (reserved)
    or 1 (node-local)." Every other address (solicited-node addresses too) is reported.
    The functions below concern reported addresses only."""
    scope = address.packed[1] & 0x0F
    if address == ALL_NODES:
        return False
    return scope not in (0, 1)


def query_concerns(query_address: IPv6Address, listener: Listener) -> bool:
    """RFC 2710 §4: a General Query (Multicast Address field zero, i.e. ``::``) concerns every
    address the node listens to on the interface; a Multicast-Address-Specific Query
    concerns only the address it carries."""
    if query_address == IPv6Address("::"):
        return True
    return query_address == listener.multicast_address


def start_listening(listener: Listener, now: float, random_delay: RandomDelay) -> Result:
    """The upper layer starts listening to the address.

    Non-Listener: "send report, set flag, start timer" -> Delaying Listener. RFC 2710 §4 repeats
    the first Report "after short delays [Unsolicited Report Interval]"; RFC 2710 §5: for an
    unsolicited Report the timer is "chosen uniformly from the interval [0, [Unsolicited
    Report Interval]]". Any other state: already listening, nothing happens.
    """
    if listener.state == NON_LISTENER:
        timer = now + random_delay(UNSOLICITED_REPORT_INTERVAL)
        new = Listener(listener.multicast_address, DELAYING_LISTENER, timer, flag=True)
        return new, [SendReport(listener.multicast_address)]
    return listener, []


def stop_listening(listener: Listener) -> Result:
    """The upper layer stops listening to the address.

    Delaying Listener: "stop timer, send done if flag set" -> Non-Listener.
    Idle Listener: "send done if flag set" -> Non-Listener.
    (RFC 2710 §4: a node whose last Report was suppressed by another's "MAY send nothing".)
    Non-Listener: nothing.
    """
    if listener.state == DELAYING_LISTENER or listener.state == IDLE_LISTENER:
        actions: list[Action] = []
        if listener.flag:
            actions.append(SendDone(listener.multicast_address))
        return Listener(listener.multicast_address, NON_LISTENER, None, flag=False), actions
    return listener, []


def query_received(
    listener: Listener, now: float, max_response_delay: float, random_delay: RandomDelay
) -> Result:
    """A Query concerning the address arrived (see :func:`query_concerns`).

    Idle Listener: "start timer" (a random value in [0, Maximum Response Delay]) ->
    Delaying Listener.
    Delaying Listener: "reset timer if Max Response Delay < current timer": RFC 2710 §4, "it is
    reset to the new random value only if the requested Maximum Response Delay is less
    than the remaining value of the running timer". Stays Delaying Listener.
    Non-Listener: nothing.
    """
    if listener.state == IDLE_LISTENER:
        timer = now + random_delay(max_response_delay)
        new = Listener(listener.multicast_address, DELAYING_LISTENER, timer, listener.flag)
        return new, []
    if listener.state == DELAYING_LISTENER:
        assert listener.timer is not None
        remaining = listener.timer - now
        if max_response_delay < remaining:
            timer = now + random_delay(max_response_delay)
            new = Listener(listener.multicast_address, DELAYING_LISTENER, timer, listener.flag)
            return new, []
        return listener, []
    return listener, []


def report_received(listener: Listener) -> Result:
    """Another node's Report for the address was heard.

    Delaying Listener: "stop timer, clear flag" -> Idle Listener (RFC 2710 §4: the node "does not
    send a Report for that address, thus suppressing duplicate reports on the link").
    Idle Listener and Non-Listener: nothing.
    """
    if listener.state == DELAYING_LISTENER:
        new = Listener(listener.multicast_address, IDLE_LISTENER, None, flag=False)
        return new, []
    return listener, []


def timer_expired(listener: Listener) -> Result:
    """The address's timer expired.

    Delaying Listener: "send report, set flag" -> Idle Listener.
    Other states have no timer running: nothing.
    """
    if listener.state == DELAYING_LISTENER:
        new = Listener(listener.multicast_address, IDLE_LISTENER, None, flag=True)
        return new, [SendReport(listener.multicast_address)]
    return listener, []


def link_up(listener: Listener, now: float, random_delay: RandomDelay) -> Result:
    """The interface is attached to a link again: the routers of that link know nothing of
    the node's listening, so a listener starts over as in :func:`start_listening`
    (RFC 2710 §4: "When a node starts listening to a multicast address on an interface, it
    should immediately transmit an unsolicited Report for that address on that interface",
    and repeat it after [0, Unsolicited Report Interval]).

    Delaying or Idle Listener: send report, set flag, (re)start timer -> Delaying Listener.
    Non-Listener: nothing.
    """
    if listener.state == DELAYING_LISTENER or listener.state == IDLE_LISTENER:
        timer = now + random_delay(UNSOLICITED_REPORT_INTERVAL)
        new = Listener(listener.multicast_address, DELAYING_LISTENER, timer, flag=True)
        return new, [SendReport(listener.multicast_address)]
    return listener, []
