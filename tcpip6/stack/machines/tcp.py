"""The TCP connection (RFC 9293 §3.3.2, Figure 5), one graph per connection.

A connection's owner (:class:`~tcpip6.stack.tcp.connection.Connection`) processes each
arriving segment in the order of RFC 9293 §3.10.7 and each user call of RFC 9293 §3.10.1–3.10.5;
only what changes the state fires a trigger here (a trigger costs ~12 µs: the data path of
ESTABLISHED never fires one). The triggers name the event as the RFC does:

* ``passive_open`` / ``active_open``: the OPEN call (RFC 9293 §3.10.1);
* ``syn_received``: a SYN without an ACK, in LISTEN (RFC 9293 §3.10.7.2) or, a simultaneous open,
  in SYN-SENT (RFC 9293 §3.10.7.3); in a synchronized state it changes nothing (RFC 5961 §4: the
  owner sends a challenge ACK);
* ``syn_ack_received``: SYN-SENT gets the SYN that acknowledges ours (RFC 9293 §3.10.7.3);
* ``ack_of_syn``: SYN-RECEIVED gets the ACK of its SYN (RFC 9293 §3.10.7.4, fifth check);
* ``cookie_ack``: a listener's copy gets the ACK of a SYN,ACK sent with a SYN cookie
  when the SYN queue was full (RFC 4987 §3.6): ESTABLISHED at once, no SYN-RECEIVED kept;
* ``fin_received``: the FIN, processed after the ACK field (RFC 9293 §3.10.7.4, eighth check), so a
  FIN that also acknowledges our FIN first fires ``fin_acked`` (FIN-WAIT-1 → FIN-WAIT-2),
  then ``fin_received`` (FIN-WAIT-2 → TIME-WAIT), as the RFC's order implies;
* ``fin_acked``: the ACK of our FIN (RFC 9293 §3.10.7.4, fifth check);
* ``rst_received``: an acceptable RST (RFC 9293 §3.10.7.3, RFC 9293 §3.10.7.4 second check);
* ``close`` and ``abort``: the user calls (RFC 9293 §3.10.4, RFC 9293 §3.10.5);
* ``give_up``: the retransmission limit (RFC 1122 §4.2.3.5 R2), the user timeout
  (RFC 9293 §3.10.8) or unanswered keepalives (RFC 1122 §4.2.3.6) end the connection;
* ``time_wait_expired``: 2*MSL in TIME-WAIT (RFC 9293 §3.10.8).

A connection opened by LISTEN is a copy of the listener that enters the graph in LISTEN
and receives the SYN; an RST in SYN-RECEIVED returns it to LISTEN (RFC 9293 §3.10.7.4 second
check), where the owner frees it: the listener itself stays listening.
"""

from __future__ import annotations

import enum
from typing import Any

from tcpip6.stack.machines.graph import Graph


class TcpState(enum.Enum):
    CLOSED = "CLOSED"
    LISTEN = "LISTEN"
    SYN_SENT = "SYN-SENT"
    SYN_RECEIVED = "SYN-RECEIVED"
    ESTABLISHED = "ESTABLISHED"
    FIN_WAIT_1 = "FIN-WAIT-1"
    FIN_WAIT_2 = "FIN-WAIT-2"
    CLOSE_WAIT = "CLOSE-WAIT"
    CLOSING = "CLOSING"
    LAST_ACK = "LAST-ACK"
    TIME_WAIT = "TIME-WAIT"


#: RFC 9293 §3.3.2: the states after the three-way handshake (and SYN-RECEIVED, whose SYN is sent).
SYNCHRONIZED = [
    "ESTABLISHED",
    "FIN_WAIT_1",
    "FIN_WAIT_2",
    "CLOSE_WAIT",
    "CLOSING",
    "LAST_ACK",
    "TIME_WAIT",
]
#: States with something to retransmit or a peer to wait for.
RETRANSMITTING = [
    "SYN_SENT",
    "SYN_RECEIVED",
    "ESTABLISHED",
    "FIN_WAIT_1",
    "FIN_WAIT_2",
    "CLOSE_WAIT",
    "CLOSING",
    "LAST_ACK",
]

TRANSITIONS: list[dict[str, Any]] = [
    # RFC 9293 §3.10.1 OPEN: "Create a new transmission control block (TCB) ... passive: enter
    # the LISTEN state"; active: "issue a SYN segment ... Set SND.UNA to ISS, SND.NXT to
    # ISS+1, enter SYN-SENT state".
    {"trigger": "passive_open", "source": "CLOSED", "dest": "LISTEN", "rfc": "9293 §3.10.1"},
    {"trigger": "active_open", "source": "CLOSED", "dest": "SYN_SENT", "rfc": "9293 §3.10.1"},
    # RFC 9293 §3.10.7.2 LISTEN, third: "If the SYN bit is set ... send <SEQ=ISS><ACK=RCV.NXT>
    # <CTL=SYN,ACK> ... The state should be changed to SYN-RECEIVED."
    {
        "trigger": "syn_received",
        "source": "LISTEN",
        "dest": "SYN_RECEIVED",
        "rfc": "9293 §3.10.7.2",
    },
    # RFC 9293 §3.10.7.3 SYN-SENT, fourth: "Otherwise, enter SYN-RECEIVED, form a SYN,ACK segment"
    # (simultaneous open, Figure 7).
    {
        "trigger": "syn_received",
        "source": "SYN_SENT",
        "dest": "SYN_RECEIVED",
        "rfc": "9293 §3.10.7.3",
    },
    # RFC 9293 §3.10.7.4 fourth, SYN-RECEIVED: "If the connection was initiated with a passive
    # OPEN, then return this connection to the LISTEN state and return. Otherwise, handle
    # per the directions for synchronized states" (a challenge ACK, RFC 5961 §4).
    {
        "trigger": "syn_received",
        "source": "SYN_RECEIVED",
        "dest": "LISTEN",
        "conditions": "passive",
        "rfc": "9293 §3.10.7.4",
    },
    {
        "trigger": "syn_received",
        "source": "SYN_RECEIVED",
        "dest": "SYN_RECEIVED",
        "unless": "passive",
        "rfc": "5961 §4",
    },
    # RFC 9293 §3.10.7.3 SYN-SENT, fourth: "If SND.UNA > ISS (our SYN has been ACKed), change the
    # connection state to ESTABLISHED".
    {
        "trigger": "syn_ack_received",
        "source": "SYN_SENT",
        "dest": "ESTABLISHED",
        "rfc": "9293 §3.10.7.3",
    },
    # RFC 9293 §3.10.7.4 fifth, SYN-RECEIVED: "If SND.UNA < SEG.ACK =< SND.NXT, then enter
    # ESTABLISHED state".
    {
        "trigger": "ack_of_syn",
        "source": "SYN_RECEIVED",
        "dest": "ESTABLISHED",
        "rfc": "9293 §3.10.7.4",
    },
    # RFC 9293 §3.10.7.4 fifth: FIN-WAIT-1 "if the FIN segment is now acknowledged, then enter
    # FIN-WAIT-2"; CLOSING "enter the TIME-WAIT state"; LAST-ACK "delete the TCB, enter
    # the CLOSED state".
    {"trigger": "fin_acked", "source": "FIN_WAIT_1", "dest": "FIN_WAIT_2", "rfc": "9293 §3.10.7.4"},
    {"trigger": "fin_acked", "source": "CLOSING", "dest": "TIME_WAIT", "rfc": "9293 §3.10.7.4"},
    {"trigger": "fin_acked", "source": "LAST_ACK", "dest": "CLOSED", "rfc": "9293 §3.10.7.4"},
    # RFC 9293 §3.10.7.4 eighth, FIN: ESTABLISHED "Enter the CLOSE-WAIT state"; FIN-WAIT-1 (our FIN
    # not yet acknowledged) "enter the CLOSING state"; FIN-WAIT-2 "Enter the TIME-WAIT
    # state. Start the time-wait timer".
    {
        "trigger": "fin_received",
        "source": "ESTABLISHED",
        "dest": "CLOSE_WAIT",
        "rfc": "9293 §3.10.7.4",
    },
    {"trigger": "fin_received", "source": "FIN_WAIT_1", "dest": "CLOSING", "rfc": "9293 §3.10.7.4"},
    {
        "trigger": "fin_received",
        "source": "FIN_WAIT_2",
        "dest": "TIME_WAIT",
        "rfc": "9293 §3.10.7.4",
    },
    # RFC 9293 §3.10.4 CLOSE: LISTEN and SYN-SENT "delete the TCB"; SYN-RECEIVED and ESTABLISHED
    # "form a FIN segment ... enter FIN-WAIT-1"; CLOSE-WAIT "send a FIN ... enter LAST-ACK"
    # (the FIN goes after any data still queued).
    {"trigger": "close", "source": ["LISTEN", "SYN_SENT"], "dest": "CLOSED", "rfc": "9293 §3.10.4"},
    {
        "trigger": "close",
        "source": ["SYN_RECEIVED", "ESTABLISHED"],
        "dest": "FIN_WAIT_1",
        "rfc": "9293 §3.10.4",
    },
    {"trigger": "close", "source": "CLOSE_WAIT", "dest": "LAST_ACK", "rfc": "9293 §3.10.4"},
    # RFC 9293 §3.10.7.3 SYN-SENT, second: an RST with an acceptable ACK: "the user should be warned
    # with 'error: connection reset', drop the segment, enter CLOSED state".
    {"trigger": "rst_received", "source": "SYN_SENT", "dest": "CLOSED", "rfc": "9293 §3.10.7.3"},
    # RFC 9293 §3.10.7.4 second, SYN-RECEIVED: "If this connection was initiated with a passive OPEN
    # (i.e., came from the LISTEN state), then return this connection to LISTEN state";
    # active: "the connection was refused ... enter the CLOSED state".
    {
        "trigger": "rst_received",
        "source": "SYN_RECEIVED",
        "dest": "LISTEN",
        "conditions": "passive",
        "rfc": "9293 §3.10.7.4",
    },
    {
        "trigger": "rst_received",
        "source": "SYN_RECEIVED",
        "dest": "CLOSED",
        "unless": "passive",
        "rfc": "9293 §3.10.7.4",
    },
    # RFC 9293 §3.10.7.4 second: ESTABLISHED, FIN-WAIT-1, FIN-WAIT-2, CLOSE-WAIT: "all segment
    # queues should be flushed. Users should also receive an unsolicited general
    # 'connection reset' signal. Enter the CLOSED state"; CLOSING, LAST-ACK, TIME-WAIT
    # "enter the CLOSED state, delete the TCB, and return".
    {
        "trigger": "rst_received",
        "source": SYNCHRONIZED,
        "dest": "CLOSED",
        "rfc": "9293 §3.10.7.4",
    },
    # RFC 9293 §3.10.5 ABORT: LISTEN, SYN-SENT "delete the TCB"; SYN-RECEIVED, ESTABLISHED,
    # FIN-WAIT-1,
    # FIN-WAIT-2, CLOSE-WAIT "Send a reset segment"; CLOSING, LAST-ACK, TIME-WAIT "delete
    # the TCB, enter CLOSED state".
    {
        "trigger": "abort",
        "source": ["LISTEN", "SYN_SENT", "SYN_RECEIVED", *SYNCHRONIZED],
        "dest": "CLOSED",
        "rfc": "9293 §3.10.5",
    },
    # RFC 4987 §3.6: a listener whose SYN queue was full answered the SYN with a cookie and
    # kept no state; the ACK that brings the cookie back makes the connection, a copy of
    # the listener as a SYN would have, straight into ESTABLISHED.
    {"trigger": "cookie_ack", "source": "LISTEN", "dest": "ESTABLISHED", "rfc": "4987 §3.6"},
    # RFC 1122 §4.2.3.5: when retransmissions reach R2 "TCP SHOULD close the connection";
    # RFC 9293 §3.10.8 USER TIMEOUT: "flush all queues, signal the user 'error: connection aborted
    # due to user timeout' ... enter the CLOSED state". Unanswered keepalives too
    # (RFC 1122 §4.2.3.6).
    {"trigger": "give_up", "source": RETRANSMITTING, "dest": "CLOSED", "rfc": "1122 §4.2.3.5"},
    # RFC 9293 §3.10.8 TIME-WAIT TIMEOUT: "If the time-wait timeout expires on a connection, delete
    # the TCB, enter the CLOSED state".
    {
        "trigger": "time_wait_expired",
        "source": "TIME_WAIT",
        "dest": "CLOSED",
        "rfc": "9293 §3.10.8",
    },
]

#: Events the RFC answers without a change of state.
IGNORED = frozenset(
    {
        # RFC 9293 §3.10.7.2: "An incoming RST should be ignored" in LISTEN.
        ("LISTEN", "rst_received"),
        # RFC 5961 §4 (RFC 9293 §3.10.7.4 fourth): a SYN in a synchronized state gets a
        # challenge ACK, "and drop the segment and return".
        *((s, "syn_received") for s in SYNCHRONIZED),
        # RFC 9293 §3.10.4: CLOSE in FIN-WAIT-1, FIN-WAIT-2, CLOSING, LAST-ACK, TIME-WAIT: "respond
        # with 'error: connection closing'".
        *((s, "close") for s in ["FIN_WAIT_1", "FIN_WAIT_2", "CLOSING", "LAST_ACK", "TIME_WAIT"]),
        # RFC 9293 §3.10.7.4 eighth: CLOSE-WAIT, CLOSING, LAST-ACK "Remain in the ... state";
        # TIME-WAIT "Remain in the TIME-WAIT state. Restart the 2 MSL time-wait timeout."
        *((s, "fin_received") for s in ["CLOSE_WAIT", "CLOSING", "LAST_ACK", "TIME_WAIT"]),
    }
)

_NO_TCB = (
    "a CLOSED connection has no TCB: the TCP module answers its segments (RFC 9293 §3.10.7.1) and "
    "its user calls get 'connection does not exist'"
)


_OPEN = "OPEN on an existing connection is refused before the graph (RFC 9293 §3.10.1)"
_ALL_BUT_CLOSED = [
    "LISTEN", "SYN_SENT", "SYN_RECEIVED", "ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2",
    "CLOSE_WAIT", "CLOSING", "LAST_ACK", "TIME_WAIT",
]  # fmt: skip

#: The rest of the table, each pair with why the owner never fires it: with the rows and
#: IGNORED, a total table (written out, so that deleting a row leaves its pair nowhere and
#: the totality test fails). Fired anyway, these raise.
IMPOSSIBLE: dict[tuple[str, str], str] = {
    # A CLOSED connection has no TCB: nothing but an OPEN reaches its graph.
    **{
        ("CLOSED", t): _NO_TCB
        for t in [
            "syn_received",
            "syn_ack_received",
            "ack_of_syn",
            "fin_received",
            "fin_acked",
            "rst_received",
            "close",
            "abort",
            "give_up",
            "time_wait_expired",
        ]
    },
    **{
        (s, "cookie_ack"): "only a listener's copy checks a SYN cookie (RFC 4987 §3.6)"
        for s in ["CLOSED", *_ALL_BUT_CLOSED]
        if s != "LISTEN"
    },
    **{(s, "passive_open"): _OPEN for s in _ALL_BUT_CLOSED},
    **{(s, "active_open"): _OPEN for s in _ALL_BUT_CLOSED},
    **{
        (s, "syn_ack_received"): "only SYN-SENT waits for a SYN,ACK; elsewhere it is a SYN"
        for s in _ALL_BUT_CLOSED
        if s != "SYN_SENT"
    },
    **{
        (s, "ack_of_syn"): "our SYN is acknowledged once, in SYN-RECEIVED"
        for s in _ALL_BUT_CLOSED
        if s != "SYN_RECEIVED"
    },
    **{
        (s, "fin_acked"): "no FIN of ours is outstanding in this state"
        for s in [
            "LISTEN",
            "SYN_SENT",
            "SYN_RECEIVED",
            "ESTABLISHED",
            "FIN_WAIT_2",
            "CLOSE_WAIT",
            "TIME_WAIT",
        ]
    },
    **{
        (s, "fin_received"): (
            "RFC 9293 §3.10.7.2-3: LISTEN and SYN-SENT drop a FIN; SYN-RECEIVED drops a "
            "segment without an acceptable ACK before the FIN is looked at (RFC 9293 "
            "RFC 9293 §3.10.7.4 fifth)"
        )
        for s in ["LISTEN", "SYN_SENT", "SYN_RECEIVED"]
    },
    **{
        (s, "give_up"): "nothing is retransmitted or kept alive in this state"
        for s in ["LISTEN", "TIME_WAIT"]
    },
    **{
        (s, "time_wait_expired"): "the 2*MSL timer runs only in TIME-WAIT"
        for s in _ALL_BUT_CLOSED
        if s != "TIME_WAIT"
    },
}

GRAPH = Graph(
    name="tcp",
    states=TcpState,
    transitions=TRANSITIONS,
    initial=TcpState.CLOSED,
    rfc="9293 §3.3.2",
    description="A TCP connection",
    ignored=IGNORED,
    impossible=IMPOSSIBLE,
)
