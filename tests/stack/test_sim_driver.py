"""The simulated driver: a non-blocking call that is not ready returns without running
the world (no simulated time passes, nothing in flight moves); a call with a timeout runs
the world until it is ready or the timeout has passed."""

from __future__ import annotations

from ipaddress import IPv6Address

from tcpip6.io.runtime import SimDriver
from tcpip6.io.sim import SimWorld


def test_a_call_that_cannot_proceed_does_not_step_the_world() -> None:
    world = SimWorld(seed=2)
    a = world.host("a")
    world.add_loopback(a)
    world.run_for(1.0)
    driver = SimDriver(world)
    # An echo to ::1 waits in the loopback port, due now: only a step delivers it.
    a.icmpv6.send_echo_request(IPv6Address("::1"), 1, 1, b"x", world.now)
    now = world.now
    answered = lambda: a.icmp.in_echo_replies > 0  # noqa: E731
    assert not driver.wait(answered, 0.0)
    assert (world.now, a.icmp.in_echo_requests, a.icmp.in_echo_replies) == (now, 0, 0)
    # With a timeout the world runs until the reply is in, without time passing.
    assert driver.wait(answered, 5.0)
    assert world.now == now
    assert (a.icmp.in_echo_requests, a.icmp.in_echo_replies) == (1, 1)
