"""RFC 5681 §3.1 window growth: slow start below ``ssthresh``, congestion avoidance above,
and ``ssthresh = max(FlightSize / 2, 2*SMSS)`` after a loss (RFC 5681 §3.1 equation 4)."""

from __future__ import annotations

from tcpip6.stack.tcp.congestion.base import CongestionControl
from tcpip6.stack.tcp.params import TcpParameters


class Reno(CongestionControl):
    """The standard window of RFC 5681 (Linux's "reno")."""

    name = "reno"

    def __init__(self, params: TcpParameters) -> None:
        super().__init__(params)
        #: Octets acknowledged in congestion avoidance since cwnd last grew.
        self.ca_acked = 0

    def on_ack(self, acked: int, smss: int, now: float) -> None:
        if self.cwnd < self.ssthresh:
            # RFC 5681 §3.1 slow start: "cwnd += min (N, SMSS)".
            self.cwnd += min(acked, smss)
            return
        # Congestion avoidance, the RECOMMENDED way of RFC 5681 §3.1: count the octets
        # acknowledged; each time they reach cwnd, cwnd grows by one SMSS (one segment a
        # round trip, where RFC 5681 equation 3's SMSS*SMSS/cwnd per ACK falls a little
        # short).
        self.ca_acked += acked
        if self.ca_acked >= self.cwnd:
            self.ca_acked -= self.cwnd
            self.cwnd += smss

    def on_congestion(self, flight: int, smss: int, now: float) -> None:
        # RFC 5681 §3.1 equation 4: ssthresh = max (FlightSize / 2, 2*SMSS).
        self.ssthresh = max(flight // 2, 2 * smss)
