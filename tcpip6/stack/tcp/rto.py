"""The retransmission timer's value (RFC 6298), with Karn's algorithm and backoff."""

from __future__ import annotations

from tcpip6.stack.tcp.params import TcpParameters


class RtoEstimator:
    """SRTT, RTTVAR and RTO of one connection (RFC 6298 §2)."""

    __slots__ = ("backoff", "params", "rto", "rttvar", "srtt")

    def __init__(self, params: TcpParameters) -> None:
        self.params = params
        self.srtt: float | None = None
        self.rttvar = 0.0
        # §2.1: "Until a round-trip time (RTT) measurement has been made ... RTO <- 1 second".
        self.rto = params.initial_rto
        self.backoff = 0

    def sample(self, r: float) -> None:
        """A new RTT measurement R (§2.2, §2.3); also ends any backoff (§5.7 keeps it
        until a new measurement)."""
        r = max(r, 0.0)
        if self.srtt is None:
            # §2.2: SRTT <- R, RTTVAR <- R/2.
            self.srtt = r
            self.rttvar = r / 2
        else:
            # §2.3, alpha = 1/8, beta = 1/4, RTTVAR updated first.
            self.rttvar = 0.75 * self.rttvar + 0.25 * abs(self.srtt - r)
            self.srtt = 0.875 * self.srtt + 0.125 * r
        self.backoff = 0
        self.rto = self._bounded(self.srtt + max(self.params.clock_granularity, 4 * self.rttvar))

    def timed_out(self) -> None:
        """§5.5: "The host MUST set RTO <- RTO * 2 ('back off the timer')"."""
        self.backoff += 1
        self.rto = min(self.rto * 2, self.params.max_rto)

    def syn_timed_out_reset(self) -> None:
        """§5.7: a timeout awaiting the ACK of a SYN with RTO below 3 s: "the RTO MUST be
        re-initialized to 3 seconds when data transmission begins"."""
        if self.srtt is None:
            self.rto = max(self.rto, 3.0)

    def _bounded(self, rto: float) -> float:
        # §2.4: "rounded up to 1 second" (min_rto); §2.5: a maximum of at least 60 s.
        return min(max(rto, self.params.min_rto), self.params.max_rto)
