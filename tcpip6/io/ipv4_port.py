"""An IPv4 packet port for simulation: it stands where a TUN device stands on a live host,
carrying the IPv4 side of translators (stack/translate/hook.py) without root. Each packet
goes to the translator that claims its destination (a NAT64 pool address, a SIIT mapped
address); the rest are counted and dropped, as the kernel would with no route."""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address

from tcpip6.stack.translate.hook import Translator


@dataclass
class Ipv4PacketPort:
    translators: list[Translator] = field(default_factory=list)
    #: every IPv4 packet that crossed, for tests and captures (bounded)
    seen: list[bytes] = field(default_factory=list)
    max_seen: int = 10_000
    delivered: int = 0
    no_route_drop: int = 0
    malformed_drop: int = 0

    def send(self, packet: bytes, now: float) -> None:
        if len(packet) < 20 or packet[0] >> 4 != 4:
            self.malformed_drop += 1
            return
        if len(self.seen) < self.max_seen:
            self.seen.append(packet)
        dst = IPv4Address(packet[16:20])
        for t in self.translators:
            if t.claims_v4(dst):
                self.delivered += 1
                t.from_v4(packet, now)
                return
        self.no_route_drop += 1
