"""Input fairness on a live link: the frames that ask for something new get a share of
each batch a port reads, so that a flood of them cannot starve what is established.

A packet socket hands the host at most ``READ_BUDGET`` frames per driver turn (all read
with one clock value). Of those, the frames of a class a flood is made of, told apart
from the first bytes without parsing (a TCP SYN without ACK, a fragment, a Neighbor
Solicitation, a Router Advertisement, an MLD report), are handed on only up to ``share``
per class and turn (the fragments of one packet count once); the rest are dropped before
the stack parses them and counted. The
frames of established connections, Neighbor Advertisements, echo traffic and everything
else always go through. When nothing floods, a turn holds a few frames and nothing is
dropped; under a SYN flood, the SYNs a turn hands on are what the SYN queue and cookies
(RFC 4987) can take, while a connection made meanwhile keeps its segments. It is an
implementation choice, like a kernel's per-class input queues; RFC 6583 §7.1 asks the
same of ND: to put the processing of existing entries ahead of new ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tcpip6.stack.counters import CounterSet

#: Frames of one class handed on per turn (a quarter of rawsock's READ_BUDGET).
SHARE = 16

_ETHERTYPE_IPV6 = b"\x86\xdd"
_NEXT_HEADER = 14 + 6  # the IPv6 fixed header's Next Header, behind Ethernet's 14 octets
_UPPER = 14 + 40  # the first octet after the fixed header
_SOURCE = 14 + 8  # the Source Address
_TCP, _FRAGMENT, _ICMPV6 = 6, 44, 58
_SYN, _ACK = 0x02, 0x10
#: ICMPv6 types a flood is made of: MLDv1/v2 reports, Router Advertisement, NS.
_ICMP_CLASSES = {131: "mld", 143: "mld", 134: "ra", 135: "ns"}


def flood_class(frame: bytes) -> str | None:
    """The class of a frame that asks for something new, or None."""
    if frame[12:14] != _ETHERTYPE_IPV6 or len(frame) <= _UPPER:
        return None
    nh = frame[_NEXT_HEADER]
    if nh == _TCP:
        if len(frame) > _UPPER + 13 and frame[_UPPER + 13] & (_SYN | _ACK) == _SYN:
            return "syn"
        return None
    if nh == _FRAGMENT:
        return "fragment"
    if nh == _ICMPV6:
        return _ICMP_CLASSES.get(frame[_UPPER])
    return None


@dataclass
class FairnessCounters(CounterSet):
    """Frames dropped over their class's share of a turn."""

    syn_over_share_drop: int = 0
    fragment_over_share_drop: int = 0
    ns_over_share_drop: int = 0
    ra_over_share_drop: int = 0
    mld_over_share_drop: int = 0


class FairShare:
    """A port's receiver in front of the host's: ``share`` frames per class and turn."""

    def __init__(self, receiver: Callable[[bytes, float], None], share: int = SHARE) -> None:
        self.receiver = receiver
        self.share = share
        self.counters = FairnessCounters()
        self._turn: float | None = None
        self._taken: dict[str, int] = {}
        self._datagrams: set[bytes] = set()

    def __call__(self, frame: bytes, now: float) -> None:
        cls = flood_class(frame)
        if cls is not None:
            if now != self._turn:
                self._turn = now
                self._taken.clear()
                self._datagrams.clear()
            if cls == "fragment":
                # The fragments of one packet (RFC 8200 §4.5: one Source Address and
                # Identification) count once: a large datagram's arrive together.
                key = frame[_SOURCE : _SOURCE + 16] + frame[_UPPER + 4 : _UPPER + 8]
                if key in self._datagrams:
                    self.receiver(frame, now)
                    return
                self._datagrams.add(key)
            taken = self._taken.get(cls, 0)
            if taken >= self.share:
                name = f"{cls}_over_share_drop"
                setattr(self.counters, name, getattr(self.counters, name) + 1)
                return
            self._taken[cls] = taken + 1
        self.receiver(frame, now)
