"""An ESP peer written with scapy, for the namespace on the Linux side of the veth (whose
kernel has xfrm but no esp6): it answers Neighbor Solicitations for its address and
ICMPv6 echo requests that arrive through its inbound ESP SA, with replies through its
outbound SA (scapy's SecurityAssociation, code independent of tcpip6).

    python -m tests.interop.esp_peer IFACE ADDRESS SPI_IN KEY_IN SPI_OUT KEY_OUT

Prints ``ready``, then ``answered N`` for each echo request it answered.
"""

from __future__ import annotations

import sys
from typing import Any

from scapy.arch import get_if_hwaddr
from scapy.config import conf
from scapy.layers.inet6 import (
    ICMPv6EchoReply,
    ICMPv6EchoRequest,
    ICMPv6ND_NA,
    ICMPv6ND_NS,
    ICMPv6NDOptDstLLAddr,
    IPv6,
)
from scapy.layers.ipsec import ESP, SecurityAssociation
from scapy.layers.l2 import Ether
from scapy.sendrecv import sniff


def main() -> None:
    iface, address, spi_in, key_in, spi_out, key_out = sys.argv[1:7]
    mac = get_if_hwaddr(iface)
    rx = SecurityAssociation(ESP, spi=int(spi_in, 0), crypt_algo="AES-GCM",
                             crypt_key=bytes.fromhex(key_in))  # fmt: skip
    tx = SecurityAssociation(ESP, spi=int(spi_out, 0), crypt_algo="AES-GCM",
                             crypt_key=bytes.fromhex(key_out))  # fmt: skip
    sock = conf.L2socket(iface=iface)
    answered = 0

    def handle(frame: Any) -> None:
        nonlocal answered
        if IPv6 not in frame or frame[Ether].src == mac:
            return
        ip = frame[IPv6]
        if ICMPv6ND_NS in ip and ip[ICMPv6ND_NS].tgt == address:
            na = (
                IPv6(src=address, dst=ip.src, hlim=255)
                / ICMPv6ND_NA(tgt=address, R=0, S=1, O=1)
                / ICMPv6NDOptDstLLAddr(lladdr=mac)
            )
            sock.send(Ether(src=mac, dst=frame[Ether].src) / na)
            return
        if ip.nh != 50 or ip.dst != address or ip[ESP].spi != rx.spi:
            return
        inner = IPv6(bytes(rx.decrypt(ip)))
        if ICMPv6EchoRequest not in inner:
            return
        req = inner[ICMPv6EchoRequest]
        reply = IPv6(src=address, dst=inner.src) / ICMPv6EchoReply(
            id=req.id, seq=req.seq, data=req.data
        )
        sock.send(Ether(src=mac, dst=frame[Ether].src) / tx.encrypt(reply))
        answered += 1
        print(f"answered {answered}", flush=True)

    print("ready", flush=True)
    sniff(iface=iface, prn=handle, store=False)


if __name__ == "__main__":
    main()
