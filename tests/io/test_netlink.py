"""rtnetlink link messages (rtnetlink(7)): what the parser takes from a message laid out
as the kernel lays it out, and malformed input counted, never raised (the namespaces test
reads the kernel's own messages)."""

from __future__ import annotations

import struct

from tcpip6.io.netlink import (
    IFF_LOWER_UP,
    IFF_UP,
    IFLA_IFNAME,
    IFLA_OPERSTATE,
    RTM_DELLINK,
    RTM_NEWLINK,
    NetlinkCounters,
    parse,
)


def message(kind: int, index: int, flags: int, name: bytes) -> bytes:
    attrs = b""
    for atype, value in ((IFLA_IFNAME, name + b"\0"), (IFLA_OPERSTATE, b"\x06")):
        attr = struct.pack("=HH", 4 + len(value), atype) + value
        attrs += attr + b"\0" * (-len(attr) % 4)
    body = struct.pack("=BxHiII", 0, 1, index, flags, 0xFFFFFFFF) + attrs
    return struct.pack("=IHHII", 16 + len(body), kind, 0, 0, 0) + body


def test_new_and_deleted_links() -> None:
    counters = NetlinkCounters()
    data = (
        message(RTM_NEWLINK, 7, IFF_UP | IFF_LOWER_UP, b"veth-h")
        + message(RTM_NEWLINK, 7, IFF_UP, b"veth-h")
        + message(RTM_DELLINK, 7, 0, b"veth-h")
        + struct.pack("=IHHII", 16, 20, 0, 0, 0)  # RTM_NEWADDR: not ours
    )
    events = list(parse(data, counters))
    assert [(e.index, e.name, e.up, e.deleted) for e in events] == [
        (7, "veth-h", True, False),
        (7, "veth-h", False, False),
        (7, "veth-h", False, True),
    ]
    assert counters == NetlinkCounters(messages=4, link_events=3, other_message_ignored=1)


def test_malformed_messages_are_counted() -> None:
    good = message(RTM_NEWLINK, 3, IFF_UP | IFF_LOWER_UP, b"eth0")
    for data in (good[:10], good[:-3], struct.pack("=IHHII", 8, RTM_NEWLINK, 0, 0, 0) + good,
                 struct.pack("=IHHII", 20, RTM_NEWLINK, 0, 0, 0) + b"\0" * 4):  # fmt: skip
        counters = NetlinkCounters()
        events = list(parse(data, counters))
        assert events == [] and counters.malformed_drop == 1, data
