"""What the TCP model tests did not look at, found by `make mutants` (bench/mutants.py):
the states' values (what ``show`` prints for a connection) are RFC 9293's, as its model
spells them, and a SYN in SYN-RECEIVED of an active open keeps the state (RFC 5961 §4),
traced as that row."""

from __future__ import annotations

import pytest

from tcpip6.spec import rfc9293_tcp as spec
from tcpip6.stack.machines import tcp as tcp_graph
from tcpip6.stack.machines.graph import TransitionRecord
from tcpip6.stack.machines.tcp import TcpState


def test_the_state_names_are_the_rfc_9293_models() -> None:
    # RFC 9293 §3.3.2 names the states ("SYN-RECEIVED", "FIN-WAIT-1", ...).
    assert {s.name: s.value for s in TcpState} == {s.name: s.value for s in spec.State}


class Connection:
    state: TcpState

    def __init__(self, passive: bool) -> None:
        self.passive = passive
        self.trace_label = "c"
        self.records: list[TransitionRecord] = []
        self.trace_sink = self.records.append


@pytest.mark.parametrize(
    ("passive", "dest", "rfc"),
    [(False, TcpState.SYN_RECEIVED, "5961 §4"), (True, TcpState.LISTEN, "9293 §3.10.7.4")],
)
def test_a_syn_in_syn_received(passive: bool, dest: TcpState, rfc: str) -> None:
    """RFC 9293 §3.10.7.4 fourth, SYN-RECEIVED: a passive OPEN returns to LISTEN; else the
    synchronized states' rule, a challenge ACK and no change (RFC 5961 §4)."""
    c = Connection(passive)
    tcp_graph.GRAPH.attach(c, TcpState.SYN_RECEIVED)
    try:
        assert tcp_graph.GRAPH.fire(c, "syn_received", 1.0)
        assert c.state is dest
        assert [(r.old, r.new, r.rfc) for r in c.records] == [("SYN_RECEIVED", dest.name, rfc)]
    finally:
        tcp_graph.GRAPH.detach(c)
