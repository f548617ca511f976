"""A tool's options object, built from a command line or from a control-socket request.

``tcpip6 ping6 -c 3 ...`` and ``{"run": "ping6", "args": {"count": 3, ...}}`` go through the
same :func:`build_options`: a value left out (or ``None``) takes the options dataclass's
default, so each default is written once, on the dataclass; a value of the wrong type is a
ValueError naming the field, and so is one the tool's own ``check()`` refuses.
"""

from __future__ import annotations

import math
import types
import typing
from collections.abc import Mapping
from dataclasses import MISSING, fields
from typing import Any, Protocol, TypeVar


class Checked(Protocol):
    def check(self) -> None: ...


T = TypeVar("T", bound=Checked)


def _kinds(hint: Any) -> tuple[type, ...]:
    """The plain types a field's annotation allows (``int | None`` -> (int,))."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return tuple(k for k in typing.get_args(hint) if k is not type(None))
    return (hint,)


def _typed(name: str, kinds: tuple[type, ...], value: Any) -> Any:
    if float in kinds and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    # bool is an int to Python, never to a JSON client: 'true' is not a count.
    if isinstance(value, bool) and bool not in kinds:
        raise ValueError(f"{name}: expected a {kinds[0].__name__}")
    if not isinstance(value, kinds):
        raise ValueError(f"{name}: expected a {kinds[0].__name__}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{name}: expected a finite number")
    return value


def build_options(cls: type[T], values: Mapping[str, Any]) -> T:
    """``cls`` (an options dataclass with a ``check()``) from ``values``: argparse's
    namespace as a dict, or a request's JSON ``args``. Keys that are not fields are
    ignored; a missing or ``None`` value takes the field's default. Raises ValueError
    (one line) for a wrong type or a value ``check()`` refuses."""
    hints = typing.get_type_hints(cls)
    chosen: dict[str, Any] = {}
    for f in fields(cls):  # type: ignore[arg-type]
        value = values.get(f.name)
        if value is None:
            if f.default is MISSING and f.default_factory is MISSING:
                raise ValueError(f"{f.name}: missing")
            continue
        chosen[f.name] = _typed(f.name, _kinds(hints[f.name]), value)
    opts = cls(**chosen)
    opts.check()
    return opts


def defaults(cls: type[Any]) -> dict[str, Any]:
    """The default of every field of an options dataclass (for help texts)."""
    return {f.name: f.default for f in fields(cls) if f.default is not MISSING}


__all__ = ["build_options", "defaults"]
