"""The drawings a classroom sees: the TCP graph's textbook path stays readable, the
transitions from (almost) every state are drawn once, and no row of the table is lost.

The oracle for the textbook view is RFC 9293's Figure 5 (the TCP connection state
diagram), transcribed here by hand in the stack's trigger names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tcpip6.stack.machines import all_graphs, get_graph
from tcpip6.stack.machines.render import ANY, layout, to_dot, to_mermaid
from tests.cli import tcpip6_cli
from tests.model.test_graphs import expected, parse_dot, parse_mermaid

#: RFC 9293 Figure 5, arrow by arrow: (from, to, event).
FIGURE_5 = {
    ("CLOSED", "LISTEN", "passive_open"),
    ("CLOSED", "SYN_SENT", "active_open"),
    ("LISTEN", "SYN_RECEIVED", "syn_received"),
    ("LISTEN", "CLOSED", "close"),
    ("SYN_SENT", "SYN_RECEIVED", "syn_received"),
    ("SYN_SENT", "ESTABLISHED", "syn_ack_received"),
    ("SYN_SENT", "CLOSED", "close"),
    ("SYN_RECEIVED", "ESTABLISHED", "ack_of_syn"),
    ("SYN_RECEIVED", "FIN_WAIT_1", "close"),
    ("ESTABLISHED", "FIN_WAIT_1", "close"),
    ("ESTABLISHED", "CLOSE_WAIT", "fin_received"),
    ("FIN_WAIT_1", "FIN_WAIT_2", "fin_acked"),
    ("FIN_WAIT_1", "CLOSING", "fin_received"),
    ("FIN_WAIT_2", "TIME_WAIT", "fin_received"),
    ("CLOSING", "TIME_WAIT", "fin_acked"),
    ("CLOSE_WAIT", "LAST_ACK", "close"),
    ("LAST_ACK", "CLOSED", "fin_acked"),
    ("TIME_WAIT", "CLOSED", "time_wait_expired"),
}
#: The "from any state" transitions of TCP (RFC 9293 §3.10.5, RFC 9293 §3.10.7.4;
#: RFC 1122 §4.2.3.5).
FAN_IN = {"abort", "rst_received", "give_up"}


def _arrows(dot: str) -> list[tuple[str, str, str]]:
    return re.findall(r'^\s+"([^"]+)" -> "([^"]+)" \[label="([^"]*)"', dot, re.M)


def test_tcp_simple_view_is_the_textbook_figure() -> None:
    dot = to_dot(get_graph("tcp"), simple=True)
    _, edges = parse_dot(dot)
    assert edges >= FIGURE_5
    # No abort, RST or give-up fan-in, and nothing from an "any state" node.
    assert not {t for _, _, t in edges} & {"abort", "give_up"}
    assert ANY not in dot
    into_closed = {(s, t) for s, d, t in edges if d == "CLOSED"}
    assert into_closed == {
        ("LISTEN", "close"),
        ("SYN_SENT", "close"),
        ("SYN_SENT", "rst_received"),  # RFC 9293 §3.10.7.3, its own section
        ("SYN_RECEIVED", "rst_received"),  # [not passive]
        ("LAST_ACK", "fin_acked"),
        ("TIME_WAIT", "time_wait_expired"),
    }
    # What is left out is said, in the caption.
    caption = re.search(r'graph \[rankdir=\w+ label="([^"]*)"', dot)
    assert caption is not None
    assert "not drawn: rst_received, abort, give_up to CLOSED from any state" in caption.group(1)
    assert "(RFC 5961 §4)" in caption.group(1)
    assert "(9293 §" not in dot  # labels without sections


def test_tcp_full_view_draws_the_fan_in_once_and_keeps_every_row() -> None:
    graph = get_graph("tcp")
    dot = to_dot(graph)
    arrows = _arrows(dot)
    from_any = [(d, label) for s, d, label in arrows if s == ANY]
    assert len(from_any) == 1 and from_any[0][0] == "CLOSED"
    assert {line.split()[0] for line in re.split(r"\\l", from_any[0][1]) if line} == FAN_IN
    # Into CLOSED: the any-state arrow and five others, not thirty.
    assert len([a for a in arrows if a[1] == "CLOSED"]) == 6
    states, edges = expected(graph)
    assert parse_dot(dot) == (states, edges)
    assert parse_mermaid(to_mermaid(graph)) == (states, edges)


@pytest.mark.parametrize("name", sorted(all_graphs()))
def test_one_arrow_per_pair_of_states(name: str) -> None:
    """Parallel rows (a self-loop's too) share an arrow, a label line each: no two labels
    are drawn on the same curve."""
    pairs = [(s, d) for s, d, _ in _arrows(to_dot(get_graph(name)))]
    assert len(pairs) == len(set(pairs))
    graph = get_graph(name)
    simple = layout(graph, simple=True)
    full = layout(graph)
    # The textbook view only leaves out; what it keeps is drawn as in the full view.
    assert {(a.src, a.dest) for a in simple.arrows} <= {(a.src, a.dest) for a in full.arrows}


def test_nce_self_loops_have_one_label_each() -> None:
    arrows = {(s, d): label for s, d, label in _arrows(to_dot(get_graph("nce")))}
    assert arrows[("REACHABLE", "REACHABLE")] == "solicited_na (4861 §7.2.5)"
    assert arrows[("STALE", "STALE")] == "unsolicited_na_new_lla (4861 §7.2.5)"
    # reachability_confirmed, lla_changed and attachment_probe (RFC 6059), from every state
    # with a link-layer address, are the any-state arrows into REACHABLE, STALE and PROBE.
    any_into = {d for s, d, _ in _arrows(to_dot(get_graph("nce"))) if s == ANY}
    assert any_into == {"REACHABLE", "STALE", "PROBE"}


def test_highlight_of_a_fan_in_row_is_its_own_red_arrow() -> None:
    dot = to_dot(get_graph("tcp"), {("ESTABLISHED", "abort", "CLOSED"): 2})
    assert '"ESTABLISHED" -> "CLOSED" [label="2x abort (9293 §3.10.5)" color="red"' in dot
    assert f'"{ANY}" -> "CLOSED"' in dot


def test_cli_simple_and_all(tmp_path: Path) -> None:
    done = tcpip6_cli("diagram", "tcp", "--simple", "--format", "mermaid")
    assert done.returncode == 0, done.stderr
    assert (
        "CLOSED --> LISTEN: passive_open" in done.stdout
        and "abort" not in done.stdout.split("note right of")[0]
    )
    out = tmp_path / "d"
    done = tcpip6_cli("diagram", "--all", "--output-dir", str(out))
    assert done.returncode == 0, done.stderr
    for name in all_graphs():
        assert (out / f"{name}-simple.svg").read_text().lstrip().startswith("<?xml")
        assert (out / f"{name}-simple.png").read_bytes()[:4] == b"\x89PNG"
