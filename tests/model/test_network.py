"""A whole simulated network under random events: hosts boot and autoconfigure from a
router, join and leave groups, ping each other over a lossy segment, go silent, and are
configured with addresses already in use. Invariants hold at every step: no tentative
(or duplicate) address is ever a source on the wire, every NCE is in a legal state,
every cache and queue stays within its bound, and two hosts that both finished DAD on a
loss-free link never share an address."""

from __future__ import annotations

from ipaddress import IPv6Address, IPv6Network

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from tcpip6.io.sim import SimWorld
from tcpip6.stack.host import Host
from tcpip6.stack.interface import Interface
from tcpip6.stack.machines.dad import AddressState
from tcpip6.stack.machines.nce import NceState
from tcpip6.stack.router import AdvertisingParameters, AdvPrefix
from tests.profiles import examples

PREFIX = IPv6Network("2001:db8:7::/64")
GROUPS = [IPv6Address("ff05::1"), IPv6Address("ff02::1:3"), IPv6Address("ff0e::db8")]
MAX_HOSTS = 5
LIVE_NCE_STATES = set(NceState) - {NceState.UNREACHABLE}


class Network(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.world = SimWorld(seed=42)
        self.router = self.world.router("r")
        params = AdvertisingParameters(max_rtr_adv_interval=30.0, prefixes=(AdvPrefix(PREFIX),))
        self.world.connect_router(self.router, "lan", PREFIX, params)
        self.router.host.start(self.world.now)
        self.hosts: list[tuple[Host, Interface]] = []
        self.violations: list[str] = []
        self.world.observers.append(self._check_source)
        for _ in range(3):
            self._boot()
        self.world.run_for(5.0)

    def _boot(self) -> None:
        host = self.world.host(f"h{len(self.hosts)}")
        iface = self.world.connect(host, "lan")
        host.start(self.world.now)
        self.hosts.append((host, iface))

    def _check_source(self, iface: Interface, frame: bytes, now: float) -> None:
        """On the wire, at the moment of sending: the source is :: or a usable address."""
        if frame[12:14] != b"\x86\xdd" or len(frame) < 54:
            return
        src = IPv6Address(frame[22:38])
        if src.is_unspecified:
            return
        nte = iface.addresses.get(src)
        if nte is None or not nte.usable:
            state = None if nte is None else nte.state.name
            self.violations.append(f"{iface.host.name} sent from {src} ({state})")

    @precondition(lambda self: len(self.hosts) < MAX_HOSTS)
    @rule()
    def boot_host(self) -> None:
        self._boot()

    @rule(loss=st.sampled_from([0.0, 0.0, 0.1, 0.3]))
    def set_loss(self, loss: float) -> None:
        self.world.segments["lan"].impairments.loss = loss

    @rule(dt=st.sampled_from([0.5, 2.0, 8.0, 40.0]))
    def time_passes(self, dt: float) -> None:
        self.world.run_for(dt)

    @rule(data=st.data())
    def ping(self, data: st.DataObject) -> None:
        a = data.draw(st.integers(0, len(self.hosts) - 1))
        b = data.draw(st.integers(0, len(self.hosts) - 1))
        src_host, _ = self.hosts[a]
        _, dst_iface = self.hosts[b]
        targets = dst_iface.source_candidates()
        if targets:
            dst = data.draw(st.sampled_from(sorted(targets)))
            src_host.icmpv6.send_echo_request(dst, 1, 1, b"ping", self.world.now)

    @rule(data=st.data(), group=st.sampled_from(GROUPS), join=st.booleans())
    def membership(self, data: st.DataObject, group: IPv6Address, join: bool) -> None:
        host, iface = self.hosts[data.draw(st.integers(0, len(self.hosts) - 1))]
        if join:
            host.join_group(iface, group, self.world.now)
        elif group in iface.mld.listeners:
            host.leave_group(iface, group, self.world.now)

    @rule(data=st.data(), up=st.booleans())
    def link_state(self, data: st.DataObject, up: bool) -> None:
        _, iface = self.hosts[data.draw(st.integers(0, len(self.hosts) - 1))]
        iface.link.port.up = up  # type: ignore[attr-defined]

    @rule(data=st.data())
    def duplicate_address(self, data: st.DataObject) -> None:
        """Configure on one host an address another host uses; DAD runs on a loss-free
        link with every host up, as DAD's guarantee assumes."""
        seg = self.world.segments["lan"]
        seg.impairments.loss = 0.0
        for port in seg.ports:
            port.up = True
        owner_i = data.draw(st.integers(0, len(self.hosts) - 1))
        taken = sorted(self.hosts[owner_i][1].source_candidates())
        if not taken:
            return
        victim = data.draw(st.integers(0, len(self.hosts) - 1))
        address = data.draw(st.sampled_from(taken))
        _, iface = self.hosts[victim]
        if iface.addresses.get(address) is None:
            iface.add_static_address(address, 64, self.world.now)
        self.world.run_for(3.0)

    @invariant()
    def no_tentative_source(self) -> None:
        assert self.violations == []

    @invariant()
    def caches_legal_and_bounded(self) -> None:
        for host, iface in self.hosts:
            assert host.internal_errors == 0
            assert len(iface.neighbors) <= iface.neighbors.capacity
            for nce in iface.neighbors.entries.values():
                assert nce.state in LIVE_NCE_STATES
                assert len(nce.queue) <= iface.neighbors.queue_limit
                if nce.state is not NceState.INCOMPLETE:
                    assert nce.link_address is not None
            assert len(iface.addresses.entries) <= iface.addresses.capacity
            assert len(iface.mld.listeners) <= iface.mld.max_groups
            assert len(host.routes.route_cache) <= host.routes.route_cache_capacity

    @invariant()
    def no_shared_address_after_dad(self) -> None:
        owners: dict[IPv6Address, str] = {}
        for host, iface in self.hosts:
            for nte in iface.addresses:
                if nte.state not in (AddressState.PREFERRED, AddressState.DEPRECATED):
                    continue
                if nte.address.is_link_local or nte.address in PREFIX:
                    assert owners.setdefault(nte.address, host.name) == host.name, (
                        f"{nte.address} used by {owners[nte.address]} and {host.name}"
                    )


Network.TestCase.settings = settings(
    max_examples=examples(25), stateful_step_count=20, deadline=None
)
TestNetwork = Network.TestCase
