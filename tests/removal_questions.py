"""The socket questions asked after an interface is removed, the same for tcpip6
(tests/stack/test_link_events.py) and for Linux (tests/interop/removal_probe.py): sockets
bound to, connected through and naming the interface, and what each call then gives."""

from __future__ import annotations

import errno
from collections.abc import Callable
from typing import Any


def removal_questions(
    udp: Callable[[], Any], own: str, lla: str, peer: str, peer_ll: str, index: int
) -> dict[str, Callable[[], object]]:
    """UDP sockets (made by ``udp``) bound to the interface's address ``own`` and
    link-local ``lla``, one connected to ``peer``; question name -> the call to ask."""
    bound, bound_ll, connected = udp(), udp(), udp()
    bound.bind((own, 0))
    bound_ll.bind((lla, 0, 0, index))
    connected.connect((peer, 9))
    return {
        "send_bound_to_address": lambda: bound.sendto(b"x", (peer, 9)),
        "send_bound_to_link_local": lambda: bound_ll.sendto(b"x", (peer_ll, 9, 0, index)),
        "send_connected": lambda: connected.send(b"x"),
        "sendto_scope_id": lambda: udp().sendto(b"x", (peer_ll, 9, 0, index)),
        "bind_scope_id": lambda: udp().bind((lla, 0, 0, index)),
        "bind_address": lambda: udp().bind((own, 0)),
    }


def answers(calls: dict[str, Callable[[], object]]) -> dict[str, str]:
    """Each call's outcome: "ok", or the name of the errno it raised."""
    seen: dict[str, str] = {}
    for name, call in calls.items():
        try:
            call()
            seen[name] = "ok"
        except OSError as exc:
            seen[name] = errno.errorcode[exc.errno]
    return seen
