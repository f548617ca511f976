"""CUBIC (RFC 9438): in congestion avoidance the window follows a cubic function of the
time since the last congestion event, W_cubic(t) = C*(t - K)**3 + W_max, flat near the
window where the loss happened (W_max) and growing fast away from it; in the
"Reno-friendly region" it grows at least as fast as an AIMD flow with the same backoff
would (W_est). Slow start is RFC 5681's; a loss multiplies the window by beta_cubic = 0.7
(not Reno's 0.5). Linux's default "cubic"."""

from __future__ import annotations

from tcpip6.stack.tcp.congestion.base import CongestionControl
from tcpip6.stack.tcp.params import TcpParameters

#: RFC 9438 §5.1: "C SHOULD be set to 0.4" (segments / second**3).
C = 0.4
#: RFC 9438 §5.1: "beta_cubic SHOULD be set to 0.7".
BETA_CUBIC = 0.7
#: RFC 9438 §4.3: alpha_cubic = 3 * (1 - beta_cubic) / (1 + beta_cubic), the Reno-friendly
#: additive increase, in segments a round trip.
ALPHA_CUBIC = 3 * (1 - BETA_CUBIC) / (1 + BETA_CUBIC)


class Cubic(CongestionControl):
    """RFC 9438 (Linux's "cubic"). Windows in the formulas are in segments of SMSS."""

    name = "cubic"

    def __init__(self, params: TcpParameters) -> None:
        super().__init__(params)
        self.w_max = 0.0  # RFC 9438 W_max: the window (segments) at the last loss
        self.k = 0.0  # RFC 9438 K: seconds from the epoch to W_max again
        self.epoch: float | None = None  # RFC 9438 t_epoch: when this avoidance began
        self.cwnd_epoch = 0.0  # RFC 9438 cwnd_epoch (segments)
        self.w_est = 0.0  # RFC 9438 §4.3 W_est (segments)
        self.cwnd_f = 0.0  # cwnd in octets with its fraction, between ACKs

    def w_cubic(self, t: float) -> float:
        """RFC 9438 §4.2 equation 1: W_cubic(t) = C*(t - K)**3 + W_max."""
        return C * (t - self.k) ** 3 + self.w_max

    def on_ack(self, acked: int, smss: int, now: float) -> None:
        if self.cwnd < self.ssthresh:
            # RFC 9438 §4.10 (RFC 5681 §3.1): slow start.
            self.cwnd += min(acked, smss)
            return
        if int(self.cwnd_f) != self.cwnd:
            self.cwnd_f = float(self.cwnd)  # a recovery set cwnd itself
        cwnd = self.cwnd_f / smss
        if self.epoch is None:
            # RFC 9438 §4.2: a new congestion avoidance epoch. K = cbrt((W_max -
            # cwnd_epoch) / C) (equation 2), 0 when the window is already past W_max.
            self.epoch = now
            self.cwnd_epoch = cwnd
            if self.w_max <= cwnd:
                self.w_max, self.k = cwnd, 0.0
            else:
                self.k = ((self.w_max - cwnd) / C) ** (1 / 3)
            self.w_est = cwnd
        t = now - self.epoch
        segments = acked / smss
        # RFC 9438 §4.3: W_est = W_est + alpha_cubic * segments_acked / cwnd.
        self.w_est += ALPHA_CUBIC * segments / cwnd
        if self.w_cubic(t) < self.w_est:
            # RFC 9438 §4.3 the Reno-friendly region: "cwnd SHOULD be set to W_est".
            new = max(cwnd, self.w_est)
        else:
            # RFC 9438 §4.4-4.5 concave and convex regions: target = W_cubic(t + RTT),
            # within [cwnd, 1.5 * cwnd]; cwnd grows by (target - cwnd) / cwnd an ACK.
            target = min(max(self.w_cubic(t + self.srtt), cwnd), 1.5 * cwnd)
            new = cwnd + (target - cwnd) / cwnd * segments
        self.cwnd_f = new * smss
        self.cwnd = int(self.cwnd_f)

    def on_congestion(self, flight: int, smss: int, now: float) -> None:
        cwnd = self.cwnd / smss
        # RFC 9438 §4.7 fast convergence: a window lower than the last W_max releases
        # bandwidth: W_max = cwnd * (1 + beta_cubic) / 2.
        self.w_max = cwnd * (1 + BETA_CUBIC) / 2 if cwnd < self.w_max else cwnd
        # RFC 9438 §4.6: ssthresh = flight_size * beta_cubic (at least 2 segments).
        self.ssthresh = max(int(flight * BETA_CUBIC), 2 * smss)
        self.epoch = None
