"""The common shape of every state-machine graph in tcpip6.

A graph module declares, for a reader with the RFC open:

* ``States``: an :class:`enum.Enum` of the RFC's states;
* ``TRANSITIONS``: a module-level list of rows ``{"trigger", "source", "dest", "rfc"}``
  (optionally ``"conditions"``/``"unless"`` naming boolean attributes or methods of the model,
  as ``transitions`` understands them), each citing the RFC section it implements;
* ``IGNORED``: the (source, trigger) pairs the RFC says leave the state unchanged;
* ``IMPOSSIBLE``: the (source, trigger) pairs that cannot happen (say, a timer that does not
  run in that state), each with its reason, so that the table is visibly total;
* ``GRAPH = Graph(...)``: one :class:`transitions.Machine` for the whole process; entities
  attach themselves with :meth:`Graph.attach`, change state with :meth:`Graph.fire` and
  detach with :meth:`Graph.detach` when they end.

The machine is built with ``model=None`` and never decorates an entity: an entity is its
own fields plus ``state`` (the machine's ``model_attribute``), and :meth:`Graph.fire` runs
the shared machine's event for it (``machine.events[trigger].trigger(model, ...)``, what a
bound trigger method would call). ``add_model`` would give every entity a bound callable
per trigger and per state (kilobytes each) and keep it in a list searched on every add and
removal; attaching and detaching here are O(1). The graph knows its live entities only
weakly (a :class:`weakref.WeakSet`): an owner detaches an entity when it ends (an NCE
removed, an address deleted, a connection freed), and whatever a dropped host still had
attached is forgotten when it is collected; ``len(graph)`` counts them, so that a test can
see an entity still held.

Triggers are fired with ``now`` so that every state change can be traced with its time.
A trigger for a (state, trigger) pair that is in neither the table nor ``IGNORED`` raises
:class:`transitions.core.MachineError`: a hole in the table is a bug, never silent.
Timers never live in the graph (``transitions`` timeout states start threads): they are
deadlines kept by the entity's owner, which fires triggers when they fall due.
"""

from __future__ import annotations

import enum
import json
import weakref
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, fields
from typing import Any, TextIO

from transitions import EventData, Machine
from transitions.core import Event, MachineError

#: The attribute of an entity that holds its state (an enum member of the graph's States).
MODEL_ATTRIBUTE = "state"

#: Keys ``transitions`` accepts in a transition definition.
_MACHINE_KEYS = frozenset({"trigger", "source", "dest", "conditions", "unless", "before", "after"})


@dataclass(frozen=True, slots=True)
class TransitionRecord:
    """One state change as it happened: what ``--trace`` prints."""

    now: float | None
    graph: str
    entity: str
    old: str
    trigger: str
    new: str
    rfc: str

    def format(self) -> str:
        when = "       -" if self.now is None else f"{self.now:8.3f}"
        return (
            f"{when}  {self.graph:<20} {self.entity:<28} "
            f"{self.old} --{self.trigger}--> {self.new}  [RFC {self.rfc}]"
        )

    @classmethod
    def from_json(cls, line: str) -> TransitionRecord:
        """One line of ``--trace-format json``. Raises ValueError for anything else."""
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not a JSON trace line: {line[:60]!r}") from exc
        names = [f.name for f in fields(cls)]
        if not isinstance(data, dict) or sorted(data) != sorted(names):
            raise ValueError(f"a trace line has the keys {', '.join(names)}: {line[:60]!r}")
        now = data["now"]
        if now is not None and not isinstance(now, (int, float)):
            raise ValueError(f"'now' is a number or null: {line[:60]!r}")
        if not all(isinstance(data[n], str) for n in names if n != "now"):
            raise ValueError(f"trace fields other than 'now' are strings: {line[:60]!r}")
        return cls(**data)


TraceSink = Callable[[TransitionRecord], None]

#: What ``--trace-format`` accepts.
TRACE_FORMATS = ("text", "json")


def trace_printer(out: TextIO, fmt: str = "text") -> TraceSink:
    """A sink that prints each state change as it happens: ``text`` (one aligned line) or
    ``json`` (one object per line, what ``tcpip6 diagram --highlight`` reads)."""
    if fmt not in TRACE_FORMATS:
        raise ValueError(f"trace format {fmt!r}: choose {' or '.join(TRACE_FORMATS)}")

    def sink(rec: TransitionRecord) -> None:
        print(json.dumps(asdict(rec)) if fmt == "json" else rec.format(), file=out, flush=True)

    return sink


def self_loops(trigger: str, sources: Iterable[str], rfc: str) -> list[dict[str, Any]]:
    """Rows for ``trigger`` from each state of ``sources`` back to that same state: one row a
    state, so that each is drawn, traced and covered on its own. (A self-loop acts: the owner
    sends or restarts something; an ``IGNORED`` pair changes nothing.)"""
    return [{"trigger": trigger, "source": s, "dest": s, "rfc": rfc} for s in sources]


def _names(source: Any) -> list[str]:
    if isinstance(source, str):
        return [source]
    if isinstance(source, enum.Enum):
        return [source.name]
    return [s.name if isinstance(s, enum.Enum) else str(s) for s in source]


class Graph:
    """A transitions table made into one shared :class:`transitions.Machine`."""

    def __init__(
        self,
        name: str,
        states: type[enum.Enum],
        transitions: list[dict[str, Any]],
        initial: enum.Enum,
        rfc: str,
        description: str,
        ignored: Iterable[tuple[str, str]] = (),
        impossible: dict[tuple[str, str], str] | None = None,
    ) -> None:
        self.name = name
        self.states = states
        self.transitions = transitions
        self.initial = initial
        self.rfc = rfc
        self.description = description
        self.ignored = frozenset(ignored)
        #: (state, trigger) pairs the owner can never fire, each with the reason: with the
        #: rows and the ignored pairs they make the table total. Fired anyway, they raise.
        self.impossible = dict(impossible or {})
        for row in transitions:
            if not row.get("rfc"):
                raise ValueError(f"{name}: row {row} cites no RFC section")
            unknown = set(row) - _MACHINE_KEYS - {"rfc"}
            if unknown:
                raise ValueError(f"{name}: row {row} has unknown keys {unknown}")
        self._rfc_of: dict[tuple[str, str, str], str] = {}
        for row in transitions:
            for src in _names(row["source"]):
                dest = _names(row["dest"])[0] if row["dest"] is not None else src
                self._rfc_of[(src, row["trigger"], dest)] = row["rfc"]
        # Ignored (state, trigger) pairs become internal transitions (dest None): legal, no change.
        rows = [{k: v for k, v in row.items() if k in _MACHINE_KEYS} for row in transitions]
        rows += [
            {"trigger": trig, "source": src, "dest": None} for src, trig in sorted(self.ignored)
        ]
        self.machine = Machine(
            model=None,
            states=states,
            transitions=rows,
            initial=initial,
            auto_transitions=False,
            send_event=True,
            after_state_change=self._after_state_change,
            model_attribute=MODEL_ATTRIBUTE,
        )
        self._events: dict[str, Event] = dict(self.machine.events)
        #: (state, trigger) -> what :meth:`_plain_row` found (filled as pairs are fired).
        self._plain: dict[tuple[enum.Enum, str], Any] = {}
        #: The entities attached and not yet detached (weakly: never what keeps one alive).
        self._live: weakref.WeakSet[Any] = weakref.WeakSet()

    # -- entities -------------------------------------------------------------------------
    def attach(self, model: Any, initial: enum.Enum | None = None) -> None:
        """Put ``model`` in its initial state (MSR: an entry enters its graph). O(1)."""
        setattr(model, MODEL_ATTRIBUTE, initial if initial is not None else self.initial)
        self._live.add(model)

    def detach(self, model: Any) -> None:
        """``model`` has ended (its owner forgets it): the graph forgets it too. O(1); the
        model keeps its last state for whoever still reads it."""
        self._live.discard(model)

    def attached(self, model: Any) -> bool:
        return model in self._live

    def __len__(self) -> int:
        """Entities attached and not yet detached."""
        return len(self._live)

    def fire(self, model: Any, trigger: str, now: float, **kwargs: Any) -> bool:
        """Run ``trigger`` for ``model`` on the shared machine: the row of its state whose
        guards hold, an ignored pair (no change), or MachineError for a hole in the table.
        ``now`` (and ``kwargs``) reach the guards and the trace. False when every row's
        guard refused.

        A (state, trigger) pair whose only row has no guard and no callback, on a machine
        with no callback but this graph's trace, is carried out here from the machine's
        own row (``machine.events[trigger].transitions[state]``): what ``transitions``
        would do for it is set the state and call the trace, nothing else, and this is a
        tenth of its cost (the upper-layer reachability hint fires once per new TCP
        acknowledgment). Any other pair, and every pair once another callback is added
        (``make graph-coverage`` adds one), runs through ``transitions``."""
        state = getattr(model, MODEL_ATTRIBUTE)
        key = (state, trigger)
        dest = self._plain.get(key, _UNKNOWN)
        if dest is _UNKNOWN:
            dest = self._plain[key] = self._plain_row(state, trigger)
        if dest is not None and self._plain_machine():
            if dest is not _INTERNAL:
                setattr(model, MODEL_ATTRIBUTE, dest)
                self._record(model, state.name, trigger, dest.name, now)
            return True
        event = self._events.get(trigger)
        if event is None:
            raise MachineError(f"{self.name}: no trigger {trigger!r}")
        return bool(event.trigger(model, now=now, **kwargs))

    def _plain_row(self, state: enum.Enum, trigger: str) -> Any:
        """The destination state of ``state``'s only row for ``trigger`` when that row has
        no guard and no callback (``_INTERNAL`` for an ignored pair); else None."""
        event = self._events.get(trigger)
        if event is None:
            return None
        rows = event.transitions.get(state.name)
        if rows is None or len(rows) != 1:
            return None
        row = rows[0]
        if row.prepare or row.conditions or row.before or row.after:
            return None
        if row.dest is None:
            return _INTERNAL
        source = self.machine.get_state(row.source)
        dest = self.machine.get_state(row.dest)
        if source.on_exit or dest.on_enter or dest.final:
            return None
        return dest.value

    def _plain_machine(self) -> bool:
        """The machine calls nothing around a transition but this graph's trace."""
        m = self.machine
        return (
            len(m.after_state_change) == 1
            and not m.before_state_change
            and not m.prepare_event
            and not m.finalize_event
            and not m.on_exception
            and not m.has_queue
        )

    def triggers(self) -> list[str]:
        return sorted({row["trigger"] for row in self.transitions})

    def rfc_of(self, source: str, trigger: str, dest: str) -> str:
        return self._rfc_of.get((source, trigger, dest), self.rfc)

    def _after_state_change(self, event: EventData) -> None:
        if event.transition is None:
            return
        dest = event.transition.dest
        if dest is None:  # internal transition: no state change
            return
        source = event.transition.source
        self._record(event.model, source, event.event.name, dest, event.kwargs.get("now"))

    def _record(self, model: Any, source: str, trigger: str, dest: str, now: Any) -> None:
        sink: TraceSink | None = getattr(model, "trace_sink", None)
        if sink is None:
            return
        sink(
            TransitionRecord(
                now=now if isinstance(now, (int, float)) else None,
                graph=self.name,
                entity=str(getattr(model, "trace_label", model)),
                old=source,
                trigger=trigger,
                new=dest,
                rfc=self.rfc_of(source, trigger, dest),
            )
        )

    # -- drawing --------------------------------------------------------------------------
    def edges(self) -> list[tuple[str, str, str, str, str]]:
        """(source, dest, trigger, guard, rfc) for every declared transition."""
        out = []
        for row in self.transitions:
            guard = _guard_text(row)
            for src in _names(row["source"]):
                dest = _names(row["dest"])[0]
                out.append((src, dest, row["trigger"], guard, row["rfc"]))
        return out

    def diagram(
        self, fmt: str = "dot", counts: dict[tuple[str, str, str], int] | None = None
    ) -> str:
        """The graph as ``dot`` or ``mermaid`` source (``svg`` needs Graphviz's ``dot``);
        ``counts`` highlights the transitions a recorded run took (:meth:`taken`)."""
        from tcpip6.stack.machines import render

        return render.render(self, fmt, counts)

    def taken(self, records: Iterable[TransitionRecord]) -> Counter[tuple[str, str, str]]:
        """How often ``records`` (a recorded trace) took each transition of this graph.
        Raises ValueError for a record of this graph that the table does not declare."""
        declared = {(src, trig, dest) for src, dest, trig, _, _ in self.edges()}
        counts: Counter[tuple[str, str, str]] = Counter()
        for rec in records:
            if rec.graph != self.name:
                continue
            key = (rec.old, rec.trigger, rec.new)
            if key not in declared:
                raise ValueError(
                    f"{self.name} has no transition {rec.old} --{rec.trigger}--> {rec.new}"
                )
            counts[key] += 1
        return counts


#: ``_plain_row`` not asked yet; an ignored pair (an internal transition: no change).
_UNKNOWN = object()
_INTERNAL = object()


def _guard_text(row: dict[str, Any]) -> str:
    parts: list[str] = []
    for key, neg in (("conditions", ""), ("unless", "not ")):
        val = row.get(key)
        if val is None:
            continue
        for c in [val] if isinstance(val, str) else list(val):
            parts.append(f"{neg}{c}")
    return " and ".join(parts)
