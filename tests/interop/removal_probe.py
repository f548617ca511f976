"""Linux's answers, the oracle of tests/stack/test_link_events.py's AFTER_REMOVAL: sockets
bound to, connected through and naming an interface (a veth made here), asked the same
questions after the interface is deleted. Run in a namespace of the test's own; prints
one JSON object, question -> "ok" or the errno's name."""

from __future__ import annotations

import json
import socket
import subprocess
import time

from tests.removal_questions import answers, removal_questions

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

    calls = removal_questions(udp, OWN, LLA, PEER, PEER_LL, index)
    sh("ip", "link", "del", "rm-a")
    time.sleep(0.2)
    print(json.dumps(answers(calls)))


if __name__ == "__main__":
    main()
