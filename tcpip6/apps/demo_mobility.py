"""The Mobile IPv6 phase of ``tcpip6 demo`` (RFC 6275): b is a correspondent node; e, a
node with a home address and a care-of address on lan1, runs return routability with b
(Home Test Init / Care-of Test Init, RFC 6275 §5.2), binds its home address to its
care-of address with an authenticated Binding Update, gets b's pings to its home address
through the care-of address (a type 2 routing header, RFC 6275 §9.3.2), then deregisters
(RFC 6275 §9.5.3).

No home agent takes part yet: e holds its home address on the same link, so its Home Test
Init and b's Home Test travel directly. The messages are built with ``tcpip6.wire.mobility``
and ``return_routability``'s formulas, as a mobile node builds them (RFC 6275 §11.7.2).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv6Address, IPv6Network

from tcpip6.io.sim import SimWorld
from tcpip6.stack.host import Host
from tcpip6.stack.ipv6 import Delivery
from tcpip6.stack.machines.graph import TransitionRecord
from tcpip6.stack.mobility import return_routability as rr
from tcpip6.stack.mobility.correspondent import enable_correspondent
from tcpip6.wire import WireError
from tcpip6.wire import mobility as wire_mh
from tcpip6.wire.ipv6 import IPPROTO_DSTOPTS

MOBILITY_PING = b"to the home address"


@dataclass
class MobilityOutcome:
    """What the phase saw: the Binding Acknowledgements e received, and whether b's ping
    to e's home address was answered while the binding stood."""

    acks: list[wire_mh.BindingAcknowledgement] = field(default_factory=list)
    ping_answered: bool = False

    def ok(self) -> bool:
        return self.ping_answered and [(a.status, a.sequence) for a in self.acks] == [
            (wire_mh.BA_ACCEPTED, 1),
            (wire_mh.BA_ACCEPTED, 2),
        ]


def mobility_phase(
    world: SimWorld,
    correspondent: Host,
    correspondent_address: IPv6Address,
    prefix: IPv6Network,
    trace: Callable[[TransitionRecord], None],
) -> MobilityOutcome:
    cn = enable_correspondent(correspondent)
    cn.cache.trace_sink = trace
    mn = world.host("e")
    mn.trace_sink = trace
    iface = world.connect(mn, "lan1")
    home, care_of = prefix[0x100], prefix[0x201]
    iface.add_static_address(home, 64, world.now)
    iface.add_static_address(care_of, 64, world.now)
    mn.start(world.now)
    world.run_for(3.0)  # DAD of both addresses
    inbox: list[wire_mh.MobilityHeader] = []

    def receive(d: Delivery) -> None:
        with contextlib.suppress(WireError):
            inbox.append(wire_mh.MobilityHeader.parse(d.payload, d.header.src, d.header.dst))

    mn.register_protocol(wire_mh.IPPROTO_MH, receive)

    def send(header: wire_mh.MobilityHeader, src: IPv6Address, hao: bool = False) -> None:
        raw = header.build(home if hao else src, correspondent_address)
        if hao:  # RFC 6275 §6.3: from the care-of address, the home address in the option
            dopts = wire_mh.home_address_header(wire_mh.IPPROTO_MH, home).build()
            mn.ipv6.send(correspondent_address, IPPROTO_DSTOPTS, dopts + raw, world.now, src=src)
        else:
            mn.ipv6.send(correspondent_address, wire_mh.IPPROTO_MH, raw, world.now, src=src)

    out = MobilityOutcome()
    cookie = mn.rng.randbytes(8)
    send(wire_mh.MobilityHeader.aligned(wire_mh.HomeTestInit(cookie)), home)
    send(wire_mh.MobilityHeader.aligned(wire_mh.CareOfTestInit(cookie)), care_of)
    world.run_for(1.0)
    hot = next((m.message for m in inbox if isinstance(m.message, wire_mh.HomeTest)), None)
    cot = next((m.message for m in inbox if isinstance(m.message, wire_mh.CareOfTest)), None)
    if hot is None or cot is None:
        return out
    nonces = wire_mh.NonceIndices(hot.home_nonce_index, cot.care_of_nonce_index)
    for seq, lifetime in ((1, 25), (2, 0)):
        care_of_token = cot.care_of_keygen_token if lifetime else None
        kbm = rr.binding_management_key(hot.home_keygen_token, care_of_token)
        bu = wire_mh.BindingUpdate(sequence=seq, lifetime=lifetime, a=True)
        send(rr.authenticate(kbm, care_of, correspondent_address, bu, (nonces,)), care_of, True)
        world.run_for(1.0)
        out.acks += [
            m.message for m in inbox if isinstance(m.message, wire_mh.BindingAcknowledgement)
        ]
        inbox.clear()
        if seq == 1:
            correspondent.icmpv6.send_echo_request(home, 2, 1, MOBILITY_PING, world.now)
            world.run_for(1.0)
            out.ping_answered = any(
                r.data == MOBILITY_PING and r.src == home for r in correspondent.icmpv6.echo_replies
            )
    return out
