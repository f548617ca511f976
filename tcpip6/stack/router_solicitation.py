"""A host's Router Solicitations (RFC 4861 §6.3.7), driven by its graph
(:mod:`tcpip6.stack.machines.router_solicitation`).

Wiring: call :meth:`RouterSolicitor.start` (or :meth:`~RouterSolicitor.begin` with a delay
already drawn) when the interface is enabled, :meth:`~RouterSolicitor.on_router_advertisement`
for every valid RA, and :meth:`~RouterSolicitor.poll` at :meth:`~RouterSolicitor.next_deadline`;
turn each :class:`SendRouterSolicitation` into an RS to all-routers (ff02::2).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from tcpip6.stack.machines.graph import TraceSink
from tcpip6.stack.machines.router_solicitation import GRAPH, SolicitationState
from tcpip6.stack.params import (
    MAX_RTR_SOLICITATION_DELAY,
    MAX_RTR_SOLICITATION_INTERVAL,
    MAX_RTR_SOLICITATIONS,
    RTR_SOLICITATION_INTERVAL,
)


@dataclass(frozen=True, slots=True)
class SendRouterSolicitation:
    """Send an RS to all-routers (ff02::2), from a link-local address of the interface
    with a Source Link-Layer Address option, or from the unspecified address without one
    (RFC 4861 §6.3.7)."""


@dataclass(frozen=True, slots=True)
class NoRouters:
    """RFC 4861 §6.3.7: MAX_RTR_SOLICITATIONS went unanswered: "the host concludes that there are
    no routers on the link for the purpose of [ADDRCONF]" (it keeps processing RAs)."""


SolicitationAction = SendRouterSolicitation | NoRouters


class RouterSolicitor:
    """One per interface. ``rng`` draws the initial delay for :meth:`start` and, with
    ``backoff`` (RFC 7559), the RAND of each backed-off interval."""

    def __init__(
        self, rng: random.Random | None = None, label: str = "", backoff: bool = False
    ) -> None:
        self.rng = rng
        #: RFC 7559: go on soliciting, with backoff, after MAX_RTR_SOLICITATIONS.
        self.backoff = backoff
        self.sent = 0
        #: RFC 7559 §2 (RFC 3315 §14): RT, the interval after the last RS.
        self.rt = RTR_SOLICITATION_INTERVAL
        #: When the last RS was sent.
        self.last_sent: float | None = None
        self.timer: float | None = None
        self.trace_label = f"{label}router-solicitation"
        self.trace_sink: TraceSink | None = None
        GRAPH.attach(self)
        self.state: SolicitationState

    def start(self, now: float) -> None:
        """The interface was enabled: solicit after a random delay in
        [0, MAX_RTR_SOLICITATION_DELAY] drawn from ``rng``."""
        if self.rng is None:
            raise ValueError("RouterSolicitor.start needs an rng; use begin(now, delay)")
        self.begin(now, self.rng.uniform(0.0, MAX_RTR_SOLICITATION_DELAY))

    def begin(self, now: float, delay: float) -> None:
        """The interface was enabled; the first RS goes ``delay`` seconds from ``now`` (0
        when a random delay was already waited, e.g. for DAD, RFC 4861 §6.3.7)."""
        if self.state is not SolicitationState.DELAYING:
            GRAPH.fire(self, "interface_enabled", now)
        self.sent = 0
        self.rt = RTR_SOLICITATION_INTERVAL
        self.timer = now + delay

    def backing_off(self, event: object) -> bool:
        """Guard of the graph: RFC 7559's retransmissions are on."""
        return self.backoff

    def _next_rt(self) -> float:
        # RFC 7559 §2, RFC 3315 §14: "RT = 2*RTprev + RAND*RTprev", RAND uniform in
        # [-0.1, 0.1]; past MRT (MAX_RTR_SOLICITATION_INTERVAL), "RT = MRT + RAND*MRT".
        if self.rng is None:
            raise ValueError("RouterSolicitor with backoff needs an rng")
        rt = 2 * self.rt + self.rng.uniform(-0.1, 0.1) * self.rt
        if rt > MAX_RTR_SOLICITATION_INTERVAL:
            mrt = MAX_RTR_SOLICITATION_INTERVAL
            rt = mrt + self.rng.uniform(-0.1, 0.1) * mrt
        return rt

    def on_router_advertisement(self, now: float, router_lifetime: float | None = None) -> None:
        """A valid RA arrived. ``router_lifetime`` in seconds; None when the caller does not
        say, taken as non-zero. Only an RA with a non-zero Router Lifetime ends
        soliciting (RFC 4861 §6.3.7)."""
        if router_lifetime == 0:
            return
        GRAPH.fire(self, "advertisement_received", now)
        if self.state is SolicitationState.DONE:
            self.timer = None

    def next_deadline(self) -> float | None:
        return self.timer

    def poll(self, now: float) -> list[SolicitationAction]:
        if self.timer is None or self.timer > now:
            return []
        if self.state is SolicitationState.DELAYING:
            GRAPH.fire(self, "delay_expired", now)
        elif self.state is SolicitationState.BACKING_OFF:
            # RFC 7559 §2: one more RS, and the next one RT later.
            self.sent += 1
            self.last_sent = now
            self.rt = self._next_rt()
            self.timer = now + self.rt
            return [SendRouterSolicitation()]
        elif self.sent >= MAX_RTR_SOLICITATIONS:
            # "after having waited MAX_RTR_SOLICITATION_DELAY seconds after sending the
            # last solicitation, the host concludes that there are no routers".
            GRAPH.fire(self, "solicitations_exhausted", now)
            if self.backoff:  # the graph's guard: BACKING_OFF now
                # RFC 7559 §2: the next RS one backed-off RT after the last one.
                self.rt = self._next_rt()
                assert self.last_sent is not None
                self.timer = self.last_sent + self.rt
            else:
                self.timer = None
            return [NoRouters()]
        self.sent += 1
        self.last_sent = now
        # "each separated by at least RTR_SOLICITATION_INTERVAL seconds".
        if self.sent < MAX_RTR_SOLICITATIONS:
            self.timer = now + RTR_SOLICITATION_INTERVAL
        else:
            self.timer = now + MAX_RTR_SOLICITATION_DELAY
        return [SendRouterSolicitation()]
