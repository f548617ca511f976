"""Send IPv6 packets to the Linux peer and print what it answers, one line per packet:
the first IPv6 frame it sent back, in hex, or ``none``. ``python -m
tests.interop.linux_answers IFNAME DST_MAC`` (in the host namespace, whose kernel IPv6 is
off on IFNAME) reads the packets from stdin, one hex line each.
"""

from __future__ import annotations

import sys
import time

from scapy.layers import inet6 as s6
from scapy.layers.l2 import Ether
from scapy.packet import Packet
from scapy.sendrecv import AsyncSniffer, sendp

#: How long an answer may take.
WAIT = 1.0


def main(ifname: str, dst_mac: str) -> int:
    for line in sys.stdin:
        packet = s6.IPv6(bytes.fromhex(line.strip()))
        # An answer comes from the peer to the packet's source; MLD reports, Router and
        # Neighbor Solicitations go elsewhere.
        to_us = packet.src

        def answer(frame: Packet, to_us: str = to_us) -> bool:
            return bool(
                s6.IPv6 in frame and frame[Ether].src == dst_mac and frame[s6.IPv6].dst == to_us
            )

        sniffer = AsyncSniffer(iface=ifname, lfilter=answer, store=True)
        sniffer.start()
        time.sleep(0.2)
        sendp(Ether(dst=dst_mac) / packet, iface=ifname, verbose=False)
        time.sleep(WAIT)
        got = [bytes(f) for f in sniffer.stop() or []]
        print(got[0].hex() if got else "none", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
