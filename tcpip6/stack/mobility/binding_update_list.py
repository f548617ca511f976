"""The timing rules shared by a mobile node's Binding Update List entries (RFC 6275 §11.1):
the home registration's (:mod:`tcpip6.stack.mobility.mobile_node`) and each
correspondent's (:mod:`tcpip6.stack.mobility.route_optimisation`)."""

from __future__ import annotations


def refresh_time(expires: float | None, last_sent: float | None, lead_time: float) -> float | None:
    """RFC 6275 §11.7.1: when to send the next Binding Update for an acknowledged binding,
    ``lead_time`` before it expires (halfway through a shorter lifetime); None without one."""
    if expires is None or last_sent is None:
        return None
    return expires - min(lead_time, (expires - last_sent) / 2)


def granted_expiry(sent: float, asked: float, granted: int) -> float:
    """RFC 6275 §11.7.3: when an acknowledged binding ends: the lifetime granted (the
    Binding Acknowledgement's, in units of 4 seconds), never more than the ``asked``
    seconds, counted from the moment the Binding Update was ``sent``."""
    return sent + min(asked, granted * 4)
