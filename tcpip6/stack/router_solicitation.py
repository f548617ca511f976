"""A host's Router Solicitations at start-up (RFC 4861 §6.3.7), driven by its graph
(:mod:`tcpip6.stack.machines.router_solicitation`)."""

from __future__ import annotations

from dataclasses import dataclass

from tcpip6.stack.machines.graph import TraceSink
from tcpip6.stack.machines.router_solicitation import GRAPH, SolicitationState
from tcpip6.stack.params import MAX_RTR_SOLICITATIONS, RTR_SOLICITATION_INTERVAL


@dataclass(frozen=True, slots=True)
class SendRouterSolicitation:
    """Send an RS to all-routers (ff02::2)."""


class RouterSolicitor:
    """One per interface."""

    def __init__(self, label: str = "") -> None:
        self.sent = 0
        self.timer: float | None = None
        self.trace_label = f"{label}router-solicitation"
        self.trace_sink: TraceSink | None = None
        GRAPH.attach(self)
        self.state: SolicitationState

    def fire(self, trigger: str, now: float) -> None:
        self.trigger(trigger, now=now)  # type: ignore[attr-defined]

    def begin(self, now: float, delay: float) -> None:
        """``delay``: the caller's random draw in [0, MAX_RTR_SOLICITATION_DELAY]."""
        self.fire("start", now)
        self.timer = now + delay

    def on_router_advertisement(self, now: float) -> None:
        self.fire("advertisement_received", now)
        if self.state is SolicitationState.DONE:
            self.timer = None

    def next_deadline(self) -> float | None:
        return self.timer

    def poll(self, now: float) -> list[SendRouterSolicitation]:
        if self.timer is None or self.timer > now:
            return []
        if self.state is SolicitationState.DELAYING:
            self.fire("delay_expired", now)
        elif self.sent >= MAX_RTR_SOLICITATIONS:
            self.fire("solicitations_exhausted", now)
            self.timer = None
            return []
        else:
            self.fire("interval_expired", now)
        self.sent += 1
        self.timer = now + RTR_SOLICITATION_INTERVAL
        return [SendRouterSolicitation()]
