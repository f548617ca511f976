"""Every graph's IGNORED and IMPOSSIBLE pairs, fired at real stack entities.

For every graph in ``tcpip6/stack/machines/``, a real entity of the stack (the NCE of a
NeighborCache, the NTE of an AddressTable, the TCP connection of a Host, the session of a
NAT64, ...) is brought into each state that names an ignored or an impossible pair. Then:

* an ignored pair is fired through the owner's own dispatch where it has one (the code the
  stack runs for that trigger), else through the graph (``Graph.fire``): nothing the test
  can observe may change: the state, the entity's fields, the owner's deadlines and
  counters, the actions returned, the frames on the wire;
* an impossible pair is fired through the graph and must raise ``MachineError`` (a hole in
  the table is never silent), leaving the entity as it was.

The entities are reached from the states their owners create them in by the graph's own
rows, shortest path first (the NCE and TCP rigs of the model tests walk there by the RFC's
events instead). A test at the end checks that every declared pair of every graph was
fired, so that a pair added without a way to reach its state fails here.
"""

from __future__ import annotations

import dataclasses
import enum
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address
from typing import Any

import pytest
from transitions.core import MachineError

from tcpip6.stack.addresses import AddressTable, Origin
from tcpip6.stack.fragment import ReassemblyBuffer
from tcpip6.stack.ipsec import Lifetime
from tcpip6.stack.machines import all_graphs
from tcpip6.stack.machines.graph import Graph
from tcpip6.stack.mld import MulticastListener
from tcpip6.stack.mobility.binding_cache import BindingCacheEntry
from tcpip6.stack.params import InterfaceParameters
from tcpip6.stack.router_solicitation import RouterSolicitor
from tcpip6.stack.tcp import TcpState
from tcpip6.stack.tcp.timers import TcpTimer
from tests.model import (
    test_correspondent_registration,
    test_ipsec,
    test_mobility,
    test_nat64_tcp,
    test_nce,
    test_registration,
    test_tcp,
)

GRAPHS = all_graphs()

#: (graph, state, trigger) of every pair fired here, across the tests of this module.
IGNORED_FIRED: set[tuple[str, str, str]] = set()
IMPOSSIBLE_FIRED: set[tuple[str, str, str]] = set()

NOW = 5.0


@dataclass
class Arena:
    """A real entity of the stack and what can be seen of it and around it."""

    entity: Any
    #: Fires a trigger as the stack does (the owner's dispatch); returns the actions the
    #: owner produced (packets to send, timers, events), which an ignored pair must not.
    fire: Callable[[str, float], list[Any]]
    #: Whatever else can be seen: the owner's deadlines and counters, frames on the wire.
    around: Callable[[], Any] = lambda: None
    #: Fires a trigger through the graph alone (used to walk to a state).
    walk: Callable[[str, float], bool] | None = None
    extras: dict[str, Any] = field(default_factory=dict)


def _freeze(value: Any, depth: int = 0, seen: frozenset[int] = frozenset()) -> Any:
    """A value that compares equal exactly when what can be read of ``value`` is the same:
    plain values as they are, containers item by item, other objects field by field (two
    levels deep; deeper, or a cycle, by type: an identity would change with every new but
    equal object the stack makes, say a cache key)."""
    if value is None or isinstance(
        value, (bool, int, float, str, bytes, enum.Enum, IPv6Address, IPv4Address)
    ):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if id(value) in seen or depth > 2 or callable(value):
        return ("object", type(value).__name__)
    inner = seen | {id(value)}
    if isinstance(value, (list, tuple, deque)):
        return (type(value).__name__, tuple(_freeze(v, depth + 1, inner) for v in value))
    if isinstance(value, (set, frozenset)):
        return ("set", tuple(sorted(repr(_freeze(v, depth + 1, inner)) for v in value)))
    if isinstance(value, dict):
        items = [
            (repr(_freeze(k, depth + 1, inner)), _freeze(v, depth + 1, inner))
            for k, v in value.items()
        ]
        return ("dict", tuple(sorted(items, key=lambda kv: kv[0])))
    return (type(value).__name__, _fields(value, depth + 1, inner))


def _fields(obj: Any, depth: int = 0, seen: frozenset[int] = frozenset()) -> Any:
    names: list[str] = []
    for klass in type(obj).__mro__:
        names += [n for n in getattr(klass, "__slots__", ()) if n not in names]
    names += [n for n in getattr(obj, "__dict__", {}) if n not in names]
    out = []
    for name in sorted(names):
        if name in ("trace_sink", "__weakref__", "__dict__") or not hasattr(obj, name):
            continue
        out.append((name, _freeze(getattr(obj, name), depth, seen | {id(obj)})))
    return tuple(out)


def observe(arena: Arena) -> dict[str, Any]:
    """What can be seen, field by field (so that a failure names what changed)."""
    seen = {"state": arena.entity.state, "around": _freeze(arena.around())}
    seen.update(_fields(arena.entity))
    return seen


def changed(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


def _counters(owner: Any) -> Any:
    return owner.counters.as_dict()


# -- rigs: a fresh entity in the state its owner creates it in -----------------------------
def _graph_fire(graph: Graph, entity: Any) -> Callable[[str, float], list[Any]]:
    def fire(trigger: str, now: float) -> list[Any]:
        graph.fire(entity, trigger, now)
        return []

    return fire


def dad_arena() -> Arena:
    table = AddressTable(InterfaceParameters(dup_addr_detect_transmits=1))
    address = IPv6Address("2001:db8::5")
    table.add(address, 64, Origin.STATIC, 0.0, preferred_lifetime=600.0, valid_lifetime=900.0)
    nte = table.get(address)
    return Arena(
        nte,
        _graph_fire(GRAPHS["dad"], nte),
        lambda: (table.next_deadline(), _counters(table), len(table)),
    )


def mld_arena() -> Arena:
    owner = MulticastListener(random.Random(2710))
    group = IPv6Address("ff02::1:3")
    owner.join(group, 0.0)
    listener = owner.listener(group)
    return Arena(
        listener,
        _graph_fire(GRAPHS["mld"], listener),
        lambda: (owner.next_deadline(), _counters(owner), owner.groups()),
    )


def router_solicitation_arena(state: str) -> Arena:
    """A solicitor with RFC 7559's backoff on, brought to ``state`` by its own events (the
    row to BACKING_OFF is guarded by the switch)."""
    rs = RouterSolicitor(random.Random(7559), backoff=True)
    if state != "IDLE":
        rs.begin(0.0, 0.5)
    if state in ("SOLICITING", "DONE"):
        rs.poll(0.5)
    if state == "DONE":
        rs.on_router_advertisement(0.6, 1800.0)
    while state == "BACKING_OFF" and rs.state.name != state:
        deadline = rs.next_deadline()
        assert deadline is not None
        rs.poll(deadline)
    assert rs.state.name == state, (state, rs.state)
    return Arena(rs, _graph_fire(GRAPHS["router_solicitation"], rs), rs.next_deadline)


def reassembly_arena() -> Arena:
    # What Reassembler.add makes for the first fragment of a packet (RFC 8200 §4.5).
    key = (IPv6Address("2001:db8::1"), IPv6Address("2001:db8::2"), 0x1234)
    buf = ReassemblyBuffer(key, 0.0, None)
    return Arena(buf, _graph_fire(GRAPHS["reassembly"], buf))


def nat64_tcp_arena() -> Arena:
    rig = test_nat64_tcp.Nat64TcpVersusSpec()
    rig.segment_from_v6("S")
    opened = rig.session()
    assert opened is not None
    # The session as the NAT64 creates it, before its first segment is processed.
    session = dataclasses.replace(opened, state=opened.state)
    GRAPHS["nat64_tcp"].attach(session)

    def fire(trigger: str, now: float) -> list[Any]:
        rig.nat._tcp_event(session, trigger, now)
        return []

    return Arena(session, fire, lambda: (rig.nat.next_deadline(), _counters(rig.nat)))


def binding_cache_arena() -> Arena:
    rig = test_mobility.CorrespondentVersusSpec()
    cache = rig.mn.cn.cache
    home, care_of = IPv6Address("2001:db8:10::100"), IPv6Address("2001:db8:20::200")
    # What BindingCache.accept makes for a home address it does not know (RFC 6275 §9.5.2).
    entry = BindingCacheEntry(home, care_of, 1, 420.0, 0.0)
    cache.entries[home] = entry

    def fire(trigger: str, now: float) -> list[Any]:
        cache.fire(entry, trigger, now)
        return []

    return Arena(
        entry,
        fire,
        lambda: (sorted(cache.entries), cache.next_deadline(), _counters(rig.mn.cn)),
        walk=lambda trigger, now: GRAPHS["binding_cache"].fire(entry, trigger, now),
    )


def registration_arena() -> Arena:
    rig = test_registration.RegistrationVersusSpec()
    node = rig.node

    def fire(trigger: str, now: float) -> list[Any]:
        node._fire(trigger, now)
        return []

    def around() -> Any:
        rig.world.run_for(0.001)  # whatever the node sent reaches the home agent's port
        return (node.next_deadline(), _counters(node), len(rig.frames))

    return Arena(node.entry, fire, around)


def correspondent_registration_arena() -> Arena:
    rig = test_correspondent_registration.CorrespondentRegistrationVersusSpec()
    ro, entry = rig.ro, rig.entry

    def fire(trigger: str, now: float) -> list[Any]:
        ro._fire(entry, trigger, now)
        return []

    def around() -> Any:
        rig.world.run_for(0.001)  # whatever the node sent reaches the correspondent's port
        return (ro.next_deadline(), _counters(ro), sorted(ro.entries), len(rig.frames))

    return Arena(entry, fire, around)


def sa_arena() -> Arena:
    rig = test_ipsec._one_sa_machine(False, Lifetime(soft_seconds=10.0, hard_seconds=40.0))
    ipsec = rig.host.ipsec
    sa = rig.stack_sas[0]
    return Arena(
        sa, _graph_fire(GRAPHS["sa"], sa), lambda: (ipsec.next_deadline(), _counters(ipsec))
    )


def nce_arena(state: str) -> Arena:
    """NCE model test's rig: an entry of a real NeighborCache taken to ``state`` by the
    RFC 4861 events (the shortest sequence)."""
    rig = test_nce.NceVersusSpec()
    rig.bring_to(test_nce.ADDRS[0], state)
    addr = test_nce.ADDRS[2] if state == "PERMANENT" else test_nce.ADDRS[0]
    nce = rig.cache.entries[addr]

    def fire(trigger: str, now: float) -> list[Any]:
        actions: list[Any] = []
        rig.cache._fire(nce, trigger, now, actions)
        return actions

    return Arena(
        nce,
        fire,
        lambda: (rig.cache.timers.next_deadline(), _counters(rig.cache), sorted(rig.cache.entries)),
    )


#: TCP states the model test's rig reaches, and how (its STARTS).
_TCP_STARTS = {key.split("/")[0]: key for key in sorted(test_tcp.STARTS)}


def tcp_arena(state: str) -> Arena:
    """TCP model test's rig: the connection of a real Host taken to ``state`` by user calls
    and the peer's segments (RFC 9293 §3.5, RFC 9293 §3.6); CLOSED is a listener closed by
    its user."""
    rig = test_tcp.TcpVersusSpec()
    if state == "CLOSED":
        rig.passive_open()
        conn = rig.listener
        assert conn is not None
        conn.close(rig.now)
    else:
        rig._go(test_tcp.STARTS[_TCP_STARTS[state]])
        conn = rig._tracked()
    assert conn is not None and conn.tcp_state is TcpState[state], state
    rig.wire.frames.clear()
    tcp = rig.host.tcp

    def around() -> Any:
        timers = {t.name: tcp.timers.deadline((conn, t)) for t in TcpTimer}
        return (timers, _counters(tcp), len(rig.wire.frames), rig.host.next_deadline())

    return Arena(conn, _graph_fire(GRAPHS["tcp"], conn), around)


#: For each graph: a fresh entity in the state its owner creates it in (then walked along
#: the graph's own rows), or an entity brought to a given state by the RFC's events.
FRESH: dict[str, Callable[[], Arena]] = {
    "dad": dad_arena,
    "mld": mld_arena,
    "reassembly": reassembly_arena,
    "nat64_tcp": nat64_tcp_arena,
    "binding_cache": binding_cache_arena,
    "registration": registration_arena,
    "correspondent_registration": correspondent_registration_arena,
    "sa": sa_arena,
}
AT: dict[str, Callable[[str], Arena]] = {
    "nce": nce_arena,
    "tcp": tcp_arena,
    "router_solicitation": router_solicitation_arena,
}


def _path(graph: Graph, start: str, goal: str) -> list[str]:
    """The triggers of a shortest path of unguarded rows from ``start`` to ``goal``."""
    rows = [
        (row, src)
        for row in graph.transitions
        if not row.get("conditions") and not row.get("unless")
        for src in ([row["source"]] if isinstance(row["source"], str) else row["source"])
    ]
    paths: dict[str, list[str]] = {start: []}
    queue = deque([start])
    while queue:
        here = queue.popleft()
        for row, src in rows:
            dest = row["dest"]
            if src == here and dest not in paths:
                paths[dest] = [*paths[here], row["trigger"]]
                queue.append(dest)
    if goal not in paths:
        raise AssertionError(f"{graph.name}: no row leads from {start} to {goal}")
    return paths[goal]


def arena_in(name: str, state: str) -> Arena:
    if name in AT:
        return AT[name](state)
    arena = FRESH[name]()
    graph = GRAPHS[name]
    walk = arena.walk or (lambda trigger, now: graph.fire(arena.entity, trigger, now))
    for trigger in _path(graph, arena.entity.state.name, state):
        walk(trigger, 1.0)
    assert arena.entity.state.name == state, (name, state, arena.entity.state)
    return arena


def _pairs(kind: str) -> list[tuple[str, str, str]]:
    out = []
    for name, graph in sorted(GRAPHS.items()):
        pairs = graph.ignored if kind == "ignored" else set(graph.impossible)
        out += [(name, state, trigger) for state, trigger in sorted(pairs)]
    return out


def _by_state(kind: str) -> list[tuple[str, str, list[str]]]:
    grouped: dict[tuple[str, str], list[str]] = {}
    for name, state, trigger in _pairs(kind):
        grouped.setdefault((name, state), []).append(trigger)
    return [(name, state, triggers) for (name, state), triggers in sorted(grouped.items())]


@pytest.mark.parametrize(
    ("name", "state", "triggers"),
    _by_state("ignored"),
    ids=[f"{n}-{s}" for n, s, _ in _by_state("ignored")],
)
def test_an_ignored_pair_changes_nothing(name: str, state: str, triggers: list[str]) -> None:
    for trigger in triggers:
        arena = arena_in(name, state)
        before = observe(arena)
        actions = arena.fire(trigger, NOW)
        assert actions == [], (name, state, trigger, actions)
        assert changed(before, observe(arena)) == [], (name, state, trigger)
        IGNORED_FIRED.add((name, state, trigger))


@pytest.mark.parametrize(
    ("name", "state", "triggers"),
    _by_state("impossible"),
    ids=[f"{n}-{s}" for n, s, _ in _by_state("impossible")],
)
def test_an_impossible_pair_raises(name: str, state: str, triggers: list[str]) -> None:
    arena = arena_in(name, state)
    for trigger in triggers:
        before = observe(arena)
        with pytest.raises(MachineError):
            GRAPHS[name].fire(arena.entity, trigger, NOW)
        assert changed(before, observe(arena)) == [], (name, state, trigger)
        IMPOSSIBLE_FIRED.add((name, state, trigger))


def test_every_graph_has_a_rig() -> None:
    assert set(FRESH) | set(AT) == set(GRAPHS)


def test_every_ignored_and_impossible_pair_was_fired() -> None:
    """Runs after the two tests above (file order): each of them fired every pair it was
    given, and they were given every pair every graph declares."""
    for name, state, triggers in _by_state("ignored"):
        if (name, state, triggers[0]) not in IGNORED_FIRED:
            test_an_ignored_pair_changes_nothing(name, state, triggers)
    for name, state, triggers in _by_state("impossible"):
        if (name, state, triggers[0]) not in IMPOSSIBLE_FIRED:
            test_an_impossible_pair_raises(name, state, triggers)
    assert set(_pairs("ignored")) - IGNORED_FIRED == set()
    assert set(_pairs("impossible")) - IMPOSSIBLE_FIRED == set()
