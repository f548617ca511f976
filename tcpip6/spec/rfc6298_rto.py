"""RFC 6298, Computing TCP's Retransmission Timer, as a reference model.

The variables of §2 (SRTT, RTTVAR, RTO) as a frozen dataclass and the rules of §2 and §5
as pure functions, for a reader holding the RFC: each function returns the new state.
Clock granularity G is a parameter, as the RFC leaves it to the implementation. The model
imports nothing of tcpip6 and does no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

#: RFC 6298 §2: "alpha=1/8 and beta=1/4 (as suggested in [JK88])", K = 4.
ALPHA = 1 / 8
BETA = 1 / 4
K = 4
#: RFC 6298 §2.1: "Until a round-trip time (RTT) measurement has been made ... the sender
#: SHOULD set RTO <- 1 second".
INITIAL_RTO = 1.0
#: RFC 6298 §2.4: "Whenever RTO is computed, if it is less than 1 second, then the RTO
#: SHOULD be rounded up to 1 second."
MIN_RTO = 1.0
#: RFC 6298 §2.5: "A maximum value MAY be placed on RTO provided it is at least 60 seconds."
MAX_RTO = 60.0
#: RFC 6298 §5.7: after a SYN timeout, RTO is re-initialized to 3 seconds for data.
SYN_TIMEOUT_RTO = 3.0


@dataclass(frozen=True)
class Rto:
    """The RFC 6298 §2 state variables of one connection; ``srtt`` None before the first
    measurement."""

    srtt: float | None = None
    rttvar: float = 0.0
    rto: float = INITIAL_RTO


def _bounded(rto: float, min_rto: float, max_rto: float) -> float:
    # RFC 6298 §2.4 (the lower bound), RFC 6298 §2.5 (the upper bound).
    return min(max(rto, min_rto), max_rto)


def on_measurement(
    state: Rto,
    r: float,
    *,
    granularity: float,
    min_rto: float = MIN_RTO,
    max_rto: float = MAX_RTO,
) -> Rto:
    """A new RTT measurement R."""
    if state.srtt is None:
        # RFC 6298 §2.2: "SRTT <- R, RTTVAR <- R/2, RTO <- SRTT + max (G, K*RTTVAR)".
        srtt, rttvar = r, r / 2
    else:
        # RFC 6298 §2.3: "RTTVAR <- (1 - beta) * RTTVAR + beta * |SRTT - R'|" first, then
        # "SRTT <- (1 - alpha) * SRTT + alpha * R'".
        rttvar = (1 - BETA) * state.rttvar + BETA * abs(state.srtt - r)
        srtt = (1 - ALPHA) * state.srtt + ALPHA * r
    rto = _bounded(srtt + max(granularity, K * rttvar), min_rto, max_rto)
    return Rto(srtt=srtt, rttvar=rttvar, rto=rto)


def on_timeout(state: Rto, *, max_rto: float = MAX_RTO) -> Rto:
    """RFC 6298 §5.5: "The host MUST set RTO <- RTO * 2 ('back off the timer')", within the
    maximum of §2.5."""
    return replace(state, rto=min(state.rto * 2, max_rto))


def on_syn_timeout_then_data(state: Rto) -> Rto:
    """RFC 6298 §5.7: "If the timer expires awaiting the ACK of a SYN segment and the TCP
    implementation is using an RTO less than 3 seconds, the RTO MUST be re-initialized to 3
    seconds when data transmission begins" (when no RTT sample was taken)."""
    if state.srtt is None:
        return replace(state, rto=max(state.rto, SYN_TIMEOUT_RTO))
    return state
