"""quick_init: the classes it speeds up are built exactly as dataclass would build them."""

from __future__ import annotations

import dataclasses
import inspect
from ipaddress import IPv6Address
from typing import Any

import pytest

from tcpip6.stack.ipv6 import Delivery
from tcpip6.stack.link import Received
from tcpip6.wire.ipv6 import Ipv6Header
from tcpip6.wire.tcp import TcpSegment, Timestamps
from tcpip6.wire.values import quick_init

QUICK = (TcpSegment, Timestamps, Ipv6Header, Delivery, Received)


def _reference(cls: type) -> Any:
    """The same fields in a plain frozen, slotted dataclass: the __init__ dataclass writes."""
    fields = [
        (f.name, f.type, dataclasses.field(default=f.default))
        if f.default is not dataclasses.MISSING
        else (f.name, f.type)
        for f in dataclasses.fields(cls)
    ]
    return dataclasses.make_dataclass("Reference", fields, frozen=True, slots=True)


@pytest.mark.parametrize("cls", QUICK)
def test_same_signature_fields_and_frozen(cls: type) -> None:
    ref = _reference(cls)
    assert list(inspect.signature(cls).parameters.values()) == list(
        inspect.signature(ref).parameters.values()
    )
    names = [f.name for f in dataclasses.fields(cls)]
    values = [object() for _ in names]
    for made in (cls(*values), cls(**dict(zip(names, values, strict=True)))):
        assert [getattr(made, n) for n in names] == values
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(made, names[0], 1)
    required = [f for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING]
    made = cls(*values[: len(required)])
    assert [getattr(made, f.name) for f in dataclasses.fields(cls)] == [
        getattr(ref(*values[: len(required)]), f.name) for f in dataclasses.fields(cls)
    ]
    with pytest.raises(TypeError):
        cls(*values, 0)  # one argument too many, as for the generated __init__
    with pytest.raises(TypeError):
        cls(*values[: len(required) - 1])


def test_equal_values_compare_and_hash_alike() -> None:
    a = IPv6Address("2001:db8::1")
    h1 = Ipv6Header(0, 0, 20, 6, 64, a, a)
    h2 = Ipv6Header(
        traffic_class=0, flow_label=0, payload_length=20, next_header=6, hop_limit=64, src=a, dst=a
    )
    assert h1 == h2 and hash(h1) == hash(h2)
    assert TcpSegment(1, 2, 3, 4, 0x10, 5) == TcpSegment(1, 2, 3, 4, 0x10, 5, 0, (), b"", 0)


def test_refuses_what_it_cannot_do() -> None:
    @dataclasses.dataclass(frozen=True)
    class NoSlots:
        x: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class PostInit:
        x: int

        def __post_init__(self) -> None:
            pass

    @dataclasses.dataclass(frozen=True, slots=True)
    class Factory:
        x: list[int] = dataclasses.field(default_factory=list)

    for cls in (NoSlots, PostInit, Factory):
        with pytest.raises(TypeError):
            quick_init(cls)
