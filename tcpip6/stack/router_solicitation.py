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
    MAX_RTR_SOLICITATIONS,
    RTR_SOLICITATION_INTERVAL,
)


@dataclass(frozen=True, slots=True)
class SendRouterSolicitation:
    """Send an RS to all-routers (ff02::2), from a link-local address of the interface
    with a Source Link-Layer Address option, or from the unspecified address without one
    (§6.3.7)."""


@dataclass(frozen=True, slots=True)
class NoRouters:
    """§6.3.7: MAX_RTR_SOLICITATIONS went unanswered: "the host concludes that there are
    no routers on the link for the purpose of [ADDRCONF]" (it keeps processing RAs)."""


SolicitationAction = SendRouterSolicitation | NoRouters


class RouterSolicitor:
    """One per interface. ``rng`` draws the initial delay for :meth:`start`."""

    def __init__(self, rng: random.Random | None = None, label: str = "") -> None:
        self.rng = rng
        self.sent = 0
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
        when a random delay was already waited, e.g. for DAD, §6.3.7)."""
        if self.state is not SolicitationState.DELAYING:
            GRAPH.fire(self, "interface_enabled", now)
        self.sent = 0
        self.timer = now + delay

    def on_router_advertisement(self, now: float, router_lifetime: float | None = None) -> None:
        """A valid RA arrived. ``router_lifetime`` in seconds; None when the caller does not
        say, taken as non-zero. Only an RA with a non-zero Router Lifetime ends
        soliciting (§6.3.7)."""
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
        elif self.sent >= MAX_RTR_SOLICITATIONS:
            # "after having waited MAX_RTR_SOLICITATION_DELAY seconds after sending the
            # last solicitation, the host concludes that there are no routers".
            GRAPH.fire(self, "solicitations_exhausted", now)
            self.timer = None
            return [NoRouters()]
        self.sent += 1
        # "each separated by at least RTR_SOLICITATION_INTERVAL seconds".
        if self.sent < MAX_RTR_SOLICITATIONS:
            self.timer = now + RTR_SOLICITATION_INTERVAL
        else:
            self.timer = now + MAX_RTR_SOLICITATION_DELAY
        return [SendRouterSolicitation()]
