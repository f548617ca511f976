"""The deadline queue against a plain dict model; a host's next deadline against its
timer owners'."""

from __future__ import annotations

from ipaddress import IPv6Address, IPv6Network

from hypothesis import given
from hypothesis import strategies as st

from tcpip6.io.sim import SimWorld
from tcpip6.stack.host import Host
from tcpip6.stack.timers import DeadlineQueue, earliest_of

ops = st.lists(
    st.one_of(
        st.tuples(st.just("arm"), st.integers(0, 9), st.floats(0, 100)),
        st.tuples(st.just("cancel"), st.integers(0, 9), st.just(0.0)),
        st.tuples(st.just("pop"), st.just(0), st.floats(0, 100)),
    ),
    max_size=200,
)


@given(ops)
def test_queue_agrees_with_dict_model(script: list[tuple[str, int, float]]) -> None:
    q: DeadlineQueue[int] = DeadlineQueue()
    model: dict[int, float] = {}
    for op, key, value in script:
        # The change count moves whenever the armed deadlines do (Host.next_deadline
        # keeps an earliest deadline until it moves).
        changes, before = q.changes[0], dict(model)
        if op == "arm":
            q.arm(key, value)
            model[key] = value
        elif op == "cancel":
            q.cancel(key)
            model.pop(key, None)
        else:
            due = q.pop_due(value)
            expected = sorted((d, k) for k, d in model.items() if d <= value)
            assert sorted(due) == sorted(k for _, k in expected)
            assert [model[k] for k in due] == sorted(model[k] for k in due)
            for k in due:
                del model[k]
        assert len(q) == len(model)
        assert q.next_deadline() == (min(model.values()) if model else None)
        assert (q.changes[0] != changes) == (model != before or op == "arm")


def _owners_earliest(host: Host) -> float | None:
    """The earliest deadline of the host's timer owners, each asked itself: what
    ``Host.next_deadline`` keeps part of between changes of its timer queues."""
    router = None if host.router is None else host.router.next_deadline()
    return earliest_of(
        host.routes.next_deadline(),
        host.ipv6.next_deadline(),
        host.tcp.next_deadline(),
        host.ipsec.next_deadline(),
        *(iface.next_deadline() for iface in host.interfaces),
        router,
    )


def test_host_deadline_is_the_earliest_of_its_owners() -> None:
    """Through boot (DAD, router solicitation, MLD), a TCP transfer, an interface added
    and one removed, the host's next deadline is after every event the earliest of its
    owners' (the owners' own ``next_deadline`` as the oracle)."""
    world = SimWorld(seed=6)
    router = world.router("r")
    world.connect_router(router, "lan", IPv6Network("2001:db8:6::/64"))
    router.host.start(world.now)
    a, b = world.host("a"), world.host("b")
    ia1 = world.connect(a, "lan")
    ib = world.connect(b, "lan")
    for h in (a, b):
        h.start(world.now)
    hosts = [a, b, router.host]
    asked = 0

    def run(seconds: float) -> None:
        nonlocal asked
        until = world.now + seconds
        while world.step(until):
            for h in hosts:
                assert h.next_deadline() == _owners_earliest(h)
                asked += 1

    run(5.0)
    b_global = next(e.address for e in ib.addresses if not e.address.is_link_local)
    b.tcp.listen(IPv6Address("::"), 7, 4, world.now)
    conn = a.tcp.connect(b_global, 7, world.now)
    run(1.0)
    assert conn.state.name == "ESTABLISHED"
    conn.send(bytes(20000), world.now)
    run(1.0)
    ia2 = world.connect(a, "lan2")
    a.start_interface(ia2, world.now)
    run(3.0)
    a.remove_interface(ia1, world.now)
    assert a.next_deadline() == _owners_earliest(a)
    run(60.0)  # idle: neighbor entries go STALE, timers fire and arm nothing new
    assert asked > 100
