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

from tcpip6.apps.show_bindings import Data, binding_lines, bindings
from tcpip6.io.sim import SimWorld
from tcpip6.io.simnet import SimPort
from tcpip6.stack.host import Host
from tcpip6.stack.interface import Interface
from tcpip6.stack.ipv6 import Delivery
from tcpip6.stack.link import EthernetLink
from tcpip6.stack.machines.correspondent_registration import CorrespondentRegistrationState
from tcpip6.stack.machines.graph import TransitionRecord
from tcpip6.stack.machines.registration import RegistrationState
from tcpip6.stack.mobility import return_routability as rr
from tcpip6.stack.mobility.correspondent import enable_correspondent
from tcpip6.stack.mobility.home_agent import enable_home_agent
from tcpip6.stack.mobility.mobile_node import enable_mobile_node
from tcpip6.wire import WireError
from tcpip6.wire import icmpv6 as wire_icmp
from tcpip6.wire import mobility as wire_mh
from tcpip6.wire.ipv6 import IPPROTO_DSTOPTS, IPPROTO_ICMPV6

MOBILITY_PING = b"to the home address"


@dataclass
class MobilityOutcome:
    """What the phase saw: the Binding Acknowledgements e received, and whether b's ping
    to e's home address was answered while the binding stood."""

    acks: list[wire_mh.BindingAcknowledgement] = field(default_factory=list)
    ping_answered: bool = False
    #: Whether m, away from home on lan2, got b's answer to a ping from its home address
    #: through its home agent r (and deregistered back home).
    home_agent_ping: bool = False

    def ok(self) -> bool:
        return (
            self.ping_answered
            and self.home_agent_ping
            and [(a.status, a.sequence) for a in self.acks]
            == [
                (wire_mh.BA_ACCEPTED, 1),
                (wire_mh.BA_ACCEPTED, 2),
            ]
        )


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
    out.home_agent_ping = home_agent_phase(world, correspondent_address, prefix, trace)
    return out


HOME_AGENT_PING = b"from the home address, through the home agent"


def home_agent_phase(
    world: SimWorld,
    correspondent_address: IPv6Address,
    prefix: IPv6Network,
    trace: Callable[[TransitionRecord], None],
) -> bool:
    """The router r becomes the home agent of ``prefix`` on lan1 (RFC 6275 §10); m, a mobile
    node at home there, moves to lan2, registers, pings the correspondent from its home
    address through the tunnel (which starts return routability with it,
    RFC 6275 §11.7.2), and comes home again (RFC 6275 §11). Whether the answer came and
    the registrations ended."""
    router = world.hosts["r"]
    home_if = next(i for i in router.interfaces if any(a in prefix for a in i.source_candidates()))
    enable_home_agent(router, home_if, prefix, now=world.now)
    mn = world.host("m")
    mn.trace_sink = trace
    iface = world.connect(mn, "lan1")
    home = prefix[0x300]
    iface.add_static_address(home, prefix.prefixlen, world.now)
    node = enable_mobile_node(mn, iface, home, prefix, prefix[1], route_optimisation=True)
    mn.start(world.now)
    world.run_for(5.0)  # DAD done well before the move (tcpip6 check tells DAD runs apart)
    move(world, iface, "lan2")
    world.run_for(5.0)
    echo = wire_icmp.EchoRequest(3, 1, HOME_AGENT_PING).build(home, correspondent_address)
    mn.ipv6.send(correspondent_address, IPPROTO_ICMPV6, echo, world.now, src=home)
    world.run_for(1.0)
    answered = any(
        r.data == HOME_AGENT_PING and r.src == correspondent_address for r in mn.icmpv6.echo_replies
    )
    move(world, iface, "lan1")
    world.run_for(5.0)
    ended = node.ro is not None and all(
        e.state is CorrespondentRegistrationState.NO_BINDING for e in node.ro.entries.values()
    )
    return answered and ended and node.entry.state is RegistrationState.NO_BINDING


# -- the home agent and the mobile node (RFC 6275 §10, RFC 6275 §11) ------------------------
#: ``tcpip6 demo --sim mobile``: the links and their prefixes. One tcpip6 router, ``ha``, is
#: the home agent on ``home`` and the access router of the two foreign links and of the
#: correspondent's link.
HOME_PREFIX = IPv6Network("2001:db8:10::/64")
VISIT1_PREFIX = IPv6Network("2001:db8:20::/64")
VISIT2_PREFIX = IPv6Network("2001:db8:30::/64")
CN_PREFIX = IPv6Network("2001:db8:40::/64")
HOME_ADDRESS = HOME_PREFIX[0x100]
MOBILE_PORT = 5001
#: The application writes this much every tenth of a second (30 kB/s), so the transfer
#: runs through every move.
APP_CHUNK = 3000
#: Where the mobile node is at each simulated second of the transfer (after it starts).
ITINERARY = ((2.0, "visit1"), (14.0, "visit2"), (26.0, "home"))


@dataclass
class MobileRun:
    """What ``tcpip6 demo --sim mobile`` saw."""

    sent: bytes
    received: bytes
    resets: int
    #: (time, segment, care-of address once registered or None at home, BUL state).
    stops: list[tuple[float, str, str | None, str]]
    ha: Host
    mn: Host
    cn: Host
    finished_at: float
    #: ``tcpip6 show bindings`` of mn and ha while mn was registered on visit2.
    away: dict[str, Data]

    def ok(self) -> bool:
        return self.received == self.sent and self.resets == 0


def segment_of(iface: Interface) -> str:
    """The simulated segment ``iface`` is plugged into."""
    link = iface.link
    assert isinstance(link, EthernetLink) and isinstance(link.port, SimPort)
    return link.port.segment.name


def move(world: SimWorld, iface: Interface, segment: str) -> None:
    """Unplug ``iface`` from its segment and plug it into ``segment`` (the same NIC, the
    same MAC): the host sees its link go down and come up (RFC 4862 §5.3)."""
    host = iface.host
    link = iface.link
    assert isinstance(link, EthernetLink)
    old = link.port
    assert isinstance(old, SimPort)
    host.link_down(iface, world.now)
    old.segment.detach(old)
    port = world.segment(segment).attach(old.mac)
    port.receiver, port.node = old.receiver, old.node
    link.port = port
    port.set_multicast_filter(link.multicast)
    host.link_up(iface, world.now)
    world.touch(host)


def mobile_scenario(
    size: int = 900_000,
    trace: Callable[[TransitionRecord], None] | None = None,
    seed: int = 0,
    observe: Callable[[Interface, bytes, float], None] | None = None,
    pcap: str | None = None,
) -> MobileRun:
    """The mobile node sends ``size`` octets over TCP from its home address to the
    correspondent while it moves home -> visit1 -> visit2 -> home. ``observe`` sees every
    frame sent; ``pcap`` records them."""
    world = SimWorld(seed)
    if observe is not None:
        world.observers.append(observe)
    if pcap is not None:
        world.capture(pcap)
    router = world.router("ha")
    home_if = world.connect_router(router, "home", HOME_PREFIX)
    for segment, prefix in (
        ("visit1", VISIT1_PREFIX),
        ("visit2", VISIT2_PREFIX),
        ("cnlink", CN_PREFIX),
    ):
        world.connect_router(router, segment, prefix)
    ha = router.host
    enable_home_agent(ha, home_if, HOME_PREFIX, now=world.now)
    cn = world.host("cn")
    world.connect(cn, "cnlink")
    # RFC 6275 §9: cn is a correspondent node; mn optimises its route (RFC 6275 §11.7.2).
    enable_correspondent(cn)
    mn = world.host("mn")
    mn_if = world.connect(mn, "home")
    mn_if.add_static_address(HOME_ADDRESS, HOME_PREFIX.prefixlen, world.now)
    node = enable_mobile_node(
        mn, mn_if, HOME_ADDRESS, HOME_PREFIX, HOME_PREFIX[1], route_optimisation=True
    )
    if trace is not None:
        for h in (ha, cn, mn):
            h.trace_sink = trace
        node.entry.trace_sink = trace
        assert ha.home_agent is not None and cn.mobility is not None
        ha.home_agent.cache.trace_sink = trace
        cn.mobility.cache.trace_sink = trace
    for h in (ha, cn, mn):
        h.start(world.now)
    world.run_for(5.0)
    cn_address = next(a for a in cn.interfaces[0].source_candidates() if a in CN_PREFIX)
    listener = cn.tcp.listen(IPv6Address("::"), MOBILE_PORT, 4, world.now)
    client = mn.tcp.connect(cn_address, MOBILE_PORT, world.now, local=HOME_ADDRESS)
    world.run_for(1.0)
    server = listener.accept_queue.popleft()
    sent = mn.rng.randbytes(size)
    received = bytearray()
    offset = 0
    start = world.now
    stops: list[tuple[float, str, str | None, str]] = [(0.0, "home", None, "NO_BINDING")]
    away: dict[str, Data] = {}
    plan = list(ITINERARY)
    resets_before = cn.tcp.counters.in_resets + mn.tcp.counters.in_resets
    while world.now - start < 120.0:
        if plan and world.now - start >= plan[0][0]:
            _, segment = plan.pop(0)
            move(world, mn_if, segment)
        if offset < len(sent):
            offset += client.send(sent[offset : offset + APP_CHUNK], world.now)
        elif client.state.name == "ESTABLISHED" and not plan:
            client.close(world.now)
        received += server.read(1 << 20, world.now)
        world.run_for(0.1)
        where = "home" if node.at_home else segment_of(mn_if)
        care_of = node.care_of_address
        last = stops[-1]
        row = (
            round(world.now - start, 1),
            where,
            None if care_of is None else str(care_of),
            node.entry.state.name,
        )
        if (last[1], last[2], last[3]) != row[1:]:
            stops.append(row)
            if row[3] == "BOUND" and care_of is not None and care_of in VISIT2_PREFIX:
                # What ``tcpip6 show bindings`` says while mn is away and registered.
                away = {"mn": bindings(mn, world.now), "ha": bindings(ha, world.now)}
        if len(received) == len(sent) and not plan:
            break
    finished = world.now - start
    server.close(world.now)
    world.run_for(2.0)
    resets = cn.tcp.counters.in_resets + mn.tcp.counters.in_resets - resets_before
    if world.pcap is not None:
        world.pcap.close()
    return MobileRun(sent, bytes(received), resets, stops, ha, mn, cn, finished, away)


def run_mobile_demo(pcap_path: str, trace: bool = False) -> int:
    """``tcpip6 demo --sim mobile``: the moving TCP transfer, its timeline and the bindings."""
    print("tcpip6 demo --sim mobile: one tcpip6 router, ha, joins four simulated segments")
    print(f"  home {HOME_PREFIX} (ha is the home agent here)   visit1 {VISIT1_PREFIX}")
    print(f"  visit2 {VISIT2_PREFIX}   cnlink {CN_PREFIX} (the correspondent cn)")
    print(
        f"mn (home address {HOME_ADDRESS}) sends cn a TCP stream from its home address and "
        "moves home -> visit1 -> visit2 -> home"
    )
    records: list[TransitionRecord] = []

    def keep(rec: TransitionRecord) -> None:
        if rec.graph in ("registration", "correspondent_registration", "binding_cache"):
            if trace:
                print(rec.format())
            records.append(rec)

    run = mobile_scenario(trace=keep, pcap=pcap_path)
    if not trace:
        print("\nthe binding graphs (simulated seconds):")
        for rec in records:
            print(rec.format())
    print("\nwhere mn was (seconds into the transfer, link, registered care-of address, state):")
    for at, where, care_of, state in run.stops:
        print(f"  {at:6.1f}  {where:<7} {care_of or '-':<28} {state}")
    for name in ("mn", "ha"):
        print(f"\n{name}'s bindings on visit2 (tcpip6 show bindings):")
        for line in binding_lines(run.away.get(name, {})):
            print(f"  {line}")
    same = run.received == run.sent
    print(
        f"\nTCP: {len(run.received)} of {len(run.sent)} octets arrived, identical: {same}; "
        f"resets: {run.resets}; done {run.finished_at:.1f} s after the start"
    )
    print(f"pcap: {pcap_path}")
    return 0 if run.ok() else 1
