"""Linux's answers, the oracle of tests/stack/test_link_events.py's AFTER_REMOVAL: sockets
bound to, connected through and naming an interface (a veth made here), asked the same
questions after the interface is deleted. Run in a namespace of the test's own; prints
one JSON object, question -> "ok" or the errno's name."""

from __future__ import annotations

import errno
import json
import socket
import subprocess
import time
from collections.abc import Callable

OWN, PEER = "2001:db8:1::1", "2001:db8:1::2"
LLA, PEER_LL = "fe80::1", "fe80::2"


def sh(*cmd: str) -> None:
    subprocess.run(cmd, check=True)


def main() -> None:
    sh("ip", "link", "add", "rm-a", "type", "veth", "peer", "name", "rm-b")
    sh("sysctl", "-qw", "net.ipv6.conf.rm-a.accept_dad=0")
    sh("ip", "link", "set", "rm-a", "up")
    sh("ip", "link", "set", "rm-b", "up")
    sh("ip", "-6", "addr", "add", f"{OWN}/64", "dev", "rm-a", "nodad")
    sh("ip", "-6", "addr", "add", f"{LLA}/64", "dev", "rm-a", "nodad")
    index = socket.if_nametoindex("rm-a")

    def udp() -> socket.socket:
        return socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)

    bound, bound_ll, connected = udp(), udp(), udp()
    bound.bind((OWN, 0))
    bound_ll.bind((LLA, 0, 0, index))
    connected.connect((PEER, 9))
    calls: dict[str, Callable[[], object]] = {
        "send_bound_to_address": lambda: bound.sendto(b"x", (PEER, 9)),
        "send_bound_to_link_local": lambda: bound_ll.sendto(b"x", (PEER_LL, 9, 0, index)),
        "send_connected": lambda: connected.send(b"x"),
        "sendto_scope_id": lambda: udp().sendto(b"x", (PEER_LL, 9, 0, index)),
        "bind_scope_id": lambda: udp().bind((LLA, 0, 0, index)),
        "bind_address": lambda: udp().bind((OWN, 0)),
    }
    sh("ip", "link", "del", "rm-a")
    time.sleep(0.2)
    seen: dict[str, str] = {}
    for name, call in calls.items():
        try:
            call()
            seen[name] = "ok"
        except OSError as exc:
            seen[name] = errno.errorcode[exc.errno]
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
