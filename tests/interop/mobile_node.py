"""A Mobile IPv6 mobile node made of scapy's MIPv6 layers, on the Linux end of the veth:
``python -m tests.interop.mobile_node IFNAME CN_MAC CN HOME COA`` (in the peer namespace).

Against the tcpip6 correspondent at CN it runs return routability (Home Test Init from the
home address, Care-of Test Init from the care-of address), sends an authenticated Binding
Update from the care-of address with the home address in a Home Address option, reads the
Binding Acknowledgement, pings the correspondent with a Home Address option and reads the
reply (which must come in a type 2 routing header), then sends a Binding Update with a bad
Authenticator, one with an old Sequence Number and one asking for the longest lifetime.
Prints one JSON object of what it saw. Kbm and the Authenticator are computed with the
RFC 6275 §5.2 formulas of tests/stack/mip6.py, not tcpip6's code.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from ipaddress import IPv6Address
from typing import Any

from scapy.config import conf
from scapy.layers import inet6 as s6
from scapy.layers.l2 import Ether
from scapy.packet import Packet
from scapy.sendrecv import AsyncSniffer, sendp

from tests.stack.mip6 import authenticate, kbm

WAIT = 3.0


class Node:
    def __init__(self, ifname: str, cn_mac: str, cn: IPv6Address, home: IPv6Address) -> None:
        self.ifname = ifname
        self.cn_mac = cn_mac
        self.cn = cn
        self.home = home
        self.mac = Ether(bytes(Ether()))  # placeholder for the source MAC scapy picks

    def exchange(self, pkt: Packet, want: Callable[[Packet], bool]) -> list[Packet]:
        """Send ``pkt``; the packets from the correspondent that ``want`` picks, within WAIT."""
        sniffer = AsyncSniffer(
            iface=self.ifname,
            lfilter=lambda p: s6.IPv6 in p and p[s6.IPv6].src == str(self.cn) and want(p),
            store=True,
        )
        sniffer.start()
        time.sleep(0.3)
        sendp(Ether(dst=self.cn_mac) / pkt, iface=self.ifname, verbose=False)
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline and not sniffer.results:
            time.sleep(0.05)
        time.sleep(0.3)
        sniffer.stop()
        return list(sniffer.results or [])


def ba_fields(p: Packet) -> dict[str, Any]:
    ba = p[s6.MIP6MH_BA]
    rh = p.getlayer(s6.IPv6ExtHdrRouting)
    return {
        "status": ba.status,
        "seq": ba.seq,
        "lifetime": ba.mhtime,
        "dst": p[s6.IPv6].dst,
        "rh2": None if rh is None else [rh.type, rh.segleft, [str(a) for a in rh.addresses]],
    }


def main(ifname: str, cn_mac: str, cn_text: str, home_text: str, coa_text: str) -> int:
    conf.verb = 0
    cn, home, coa = IPv6Address(cn_text), IPv6Address(home_text), IPv6Address(coa_text)
    node = Node(ifname, cn_mac, cn, home)
    out: dict[str, Any] = {}
    is_mh = lambda cls: lambda p: cls in p  # noqa: E731
    # RFC 6275 §5.2.3, §5.2.4: the two tests.
    (hot,) = node.exchange(
        s6.IPv6(src=str(home), dst=str(cn)) / s6.MIP6MH_HoTI(cookie=b"homecook"),
        is_mh(s6.MIP6MH_HoT),
    )
    (cot,) = node.exchange(
        s6.IPv6(src=str(coa), dst=str(cn)) / s6.MIP6MH_CoTI(cookie=b"coacook!"),
        is_mh(s6.MIP6MH_CoT),
    )
    hot, cot = hot[s6.MIP6MH_HoT], cot[s6.MIP6MH_CoT]
    out["hot"] = {"cookie": bytes(hot.cookie).decode(), "index": hot.index}
    out["cot"] = {"cookie": bytes(cot.cookie).decode(), "index": cot.index}
    key = kbm(bytes(hot.token), bytes(cot.token))

    def bu(seq: int, lifetime: int, bad: bool = False) -> list[dict[str, Any]]:
        layer = s6.MIP6MH_BU(
            seq=seq,
            flags="A",
            mhtime=lifetime,
            options=[
                s6.MIP6OptNonceIndices(olen=4, hni=hot.index, coni=cot.index),
                s6.MIP6OptBindingAuthData(olen=12, authenticator=0),
            ],
        )
        layer = authenticate(layer, key, coa, cn)
        if bad:
            layer.options[-1].authenticator ^= 1
        hao = s6.IPv6ExtHdrDestOpt(options=[s6.HAO(hoa=str(home))])
        got = node.exchange(s6.IPv6(src=str(coa), dst=str(cn)) / hao / layer, is_mh(s6.MIP6MH_BA))
        return [ba_fields(p) for p in got]

    out["bu"] = bu(10, 30)
    # RFC 6275 §9.3: from the care-of address, the home address in a Home Address option;
    # the answer goes to the care-of address with the home address in a type 2 header.
    hao = s6.IPv6ExtHdrDestOpt(options=[s6.HAO(hoa=str(home))])
    replies = node.exchange(
        s6.IPv6(src=str(coa), dst=str(cn)) / hao / s6.ICMPv6EchoRequest(id=77, seq=1, data=b"mip6"),
        lambda p: s6.ICMPv6EchoReply in p,
    )
    out["echo"] = [
        {
            "dst": p[s6.IPv6].dst,
            "rh2": [str(a) for a in p[s6.IPv6ExtHdrRouting].addresses]
            if s6.IPv6ExtHdrRouting in p
            else None,
            "data": bytes(p[s6.ICMPv6EchoReply].data).decode(),
        }
        for p in replies
    ]
    out["bad_authenticator"] = bu(11, 30, bad=True)
    out["old_sequence"] = bu(9, 30)
    out["long_lifetime"] = bu(12, 0xFFFF)
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:6]))
