"""The timers of a TCP connection, by name: one member each, so that arming, cancelling
and dispatching a timer names a member a typo cannot miss (the host's
:class:`~tcpip6.stack.timers.DeadlineQueue` keys them as ``(connection, TcpTimer)``)."""

from __future__ import annotations

from enum import StrEnum


class TcpTimer(StrEnum):
    """Each value is the short name traces and counters show."""

    #: RFC 6298 §5: the retransmission timer.
    RETRANSMISSION = "rtx"
    #: RFC 1122 §4.2.3.2: the delayed-ACK timer ("less than 0.5 seconds").
    DELAYED_ACK = "delack"
    #: RFC 9293 §3.8.6.1: the persist timer that probes a zero window.
    PERSIST = "persist"
    #: RFC 1122 §4.2.3.6: the keepalive timer.
    KEEPALIVE = "keepalive"
    #: RFC 9293 §3.10.7.4: the time-wait timer (2 MSL).
    TIME_WAIT = "time_wait"
    #: An orphaned FIN-WAIT-2 is freed after ``fin_wait_2_timeout`` (Linux's
    #: tcp_fin_timeout): a peer that never closes cannot hold it for ever.
    FIN_WAIT_2 = "fin_wait_2"
    #: RFC 1122 §4.2.3.4: the override timeout of sender SWS avoidance.
    SWS_OVERRIDE = "sws"

    # The timer keys ``(connection, TcpTimer)`` are hashed each time a timer is armed,
    # cancelled or looked at (several times a segment): the string's own cached hash,
    # not Enum's Python-level one (equal members still hash equal).
    __hash__ = str.__hash__


#: RFC 9293 §3.10.7.4 TIME-WAIT: "Start the time-wait timer, turn off the other timers".
ALL_BUT_TIME_WAIT = tuple(t for t in TcpTimer if t is not TcpTimer.TIME_WAIT)
