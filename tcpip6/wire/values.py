"""Frozen, slotted dataclasses that are quick to build: the values made for every packet
(a header parsed, a segment built) are built millions of times in a simulated network.

The ``__init__`` that ``dataclass`` writes for a frozen class sets each field with
``object.__setattr__(self, name, value)`` (its own ``__setattr__`` refuses), a lookup and
a generic call per field. :func:`quick_init` gives such a class an ``__init__`` that sets
each field through its slot's descriptor instead: the same fields, order, defaults and
errors, about half the cost. The class stays frozen; only its construction changes.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

_T = TypeVar("_T")


def quick_init(cls: type[_T]) -> type[_T]:
    """Replace the generated ``__init__`` of the frozen, slotted dataclass ``cls`` (put
    this decorator above ``@dataclass(frozen=True, slots=True)``). Refused (TypeError)
    for what that ``__init__`` would have to do besides storing its arguments: a
    ``__post_init__``, default factories, fields outside ``__init__`` or keyword-only."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__}: quick_init is for frozen, slotted dataclasses")
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    if hasattr(cls, "__post_init__") or any(
        not f.init or f.kw_only or f.default_factory is not dataclasses.MISSING for f in fields
    ):
        raise TypeError(f"{cls.__name__}: its __init__ does more than store its arguments")
    cells: dict[str, Any] = {}
    args: list[str] = []
    body: list[str] = []
    for i, f in enumerate(fields):
        cells[f"_set{i}"] = cls.__dict__[f.name].__set__
        if f.default is dataclasses.MISSING:
            args.append(f.name)
        else:
            cells[f"_default{i}"] = f.default
            args.append(f"{f.name}=_default{i}")
        body.append(f"        _set{i}(self, {f.name})")
    # The setters and defaults are closure cells of the new __init__, not parameters a
    # caller could pass by mistake.
    source = (
        f"def _make({', '.join(cells)}):\n"
        f"    def __init__(self, {', '.join(args)}):\n"
        + ("\n".join(body) or "        pass")
        + "\n    return __init__\n"
    )
    namespace: dict[str, Any] = {}
    # Generated from the field names, as dataclass generates the __init__ it replaces.
    exec(source, namespace)
    init = namespace["_make"](**cells)
    init.__annotations__ = {**{f.name: f.type for f in fields}, "return": None}
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    setattr(cls, "__init__", init)  # noqa: B010 - mypy refuses assigning to a method
    return cls
