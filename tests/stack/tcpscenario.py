"""Shared pieces of the TCP scenario tests (tests/stack/test_tcp_*.py): the segments on the
wire, parsed with tcpip6.wire.tcp, and a connected pair of stream sockets on simnet."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv6Address

from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from tcpip6.api import sockets as so
from tcpip6.api.sockets import Stack
from tcpip6.api.stream import StreamSocket
from tcpip6.io.runtime import SimDriver
from tcpip6.io.sim import SimWorld
from tcpip6.io.simnet import SimPort
from tcpip6.stack.interface import Interface
from tcpip6.stack.tcp import Connection, TcpParameters
from tcpip6.wire import tcp as wt
from tcpip6.wire.tcp import TcpSegment
from tests.stack.conftest import A_LL, B_LL, Pair

A, B = str(A_LL), str(B_LL)
PORT = 5001
#: Octets of the Ethernet and IPv6 headers before the TCP header (no extension headers).
TCP_AT = 14 + 40


def rack_off(p: TcpParameters) -> TcpParameters:
    """RFC 6675 recovery without RFC 8985 RACK-TLP (the default): for the tests of
    RFC 6298's timings, which a tail loss probe ahead of the first timeout would move."""
    return dataclasses.replace(p, rack=False)


@dataclass(frozen=True)
class Sent:
    """One TCP segment as it left a host."""

    t: float
    host: str
    src: IPv6Address
    dst: IPv6Address
    seg: TcpSegment
    frame_len: int
    raw: bytes  # the TCP header and data as sent

    @property
    def flags(self) -> str:
        return wt.format_flags(self.seg.flags)

    @property
    def data(self) -> bytes:
        return self.seg.payload

    def has(self, flag: int) -> bool:
        return bool(self.seg.flags & flag)


def tcp_wire(world: SimWorld) -> list[Sent]:
    """Every TCP segment any host of ``world`` sends from now on, in order."""
    out: list[Sent] = []

    def observe(iface: object, frame: bytes, now: float) -> None:
        if len(frame) < TCP_AT or frame[12:14] != b"\x86\xdd" or frame[14 + 6] != 6:
            return
        src = IPv6Address(frame[22:38])
        dst = IPv6Address(frame[38:54])
        seg = TcpSegment.parse(frame[TCP_AT:], src, dst)
        name = iface.host.name  # type: ignore[attr-defined]
        out.append(Sent(now, name, src, dst, seg, len(frame), frame[TCP_AT:]))

    world.observers.append(observe)
    return out


def stacks(pair: Pair) -> tuple[Stack, Stack]:
    driver = SimDriver(pair.world)
    return Stack(pair.a, driver), Stack(pair.b, driver)


@dataclass
class Connected:
    """A connection a (client) -> b (server), both ESTABLISHED."""

    pair: Pair
    sa: Stack
    sb: Stack
    client: StreamSocket
    server: StreamSocket
    listener: StreamSocket

    @property
    def ca(self) -> Connection:
        assert self.client.conn is not None
        return self.client.conn

    @property
    def cb(self) -> Connection:
        assert self.server.conn is not None
        return self.server.conn

    def transfer(self, data: bytes) -> None:
        """The client sends ``data``; the server reads until it has as many octets, and
        they are the same."""
        self.client.sendall(data)
        got = bytearray()
        while len(got) < len(data):
            got += self.server.recv(1 << 16)
        assert got == data


def connected(
    pair: Pair,
    client_params: Callable[[TcpParameters], TcpParameters] | None = None,
    server_params: Callable[[TcpParameters], TcpParameters] | None = None,
    *,
    port: int = PORT,
    before_connect: Callable[[StreamSocket, StreamSocket], None] | None = None,
) -> Connected:
    """Open a connection from a to b; ``*_params`` edit each host's TcpParameters first."""
    if client_params is not None:
        pair.a.tcp.params = client_params(dataclasses.replace(pair.a.tcp.params))
    if server_params is not None:
        pair.b.tcp.params = server_params(dataclasses.replace(pair.b.tcp.params))
    sa, sb = stacks(pair)
    listener = sb.socket(so.AF_INET6, so.SOCK_STREAM)
    listener.bind(("::", port))
    client = sa.socket(so.AF_INET6, so.SOCK_STREAM)
    if before_connect is not None:
        before_connect(client, listener)
    listener.listen(8)
    client.settimeout(30.0)
    listener.settimeout(30.0)
    client.connect((B, port))
    server, _ = listener.accept()
    server.settimeout(30.0)
    return Connected(pair, sa, sb, client, server, listener)


def data_segments(wire: list[Sent], host: str) -> list[Sent]:
    return [s for s in wire if s.host == host and s.seg.payload]


def pure_acks(wire: list[Sent], host: str) -> list[Sent]:
    return [s for s in wire if s.host == host and not s.seg.payload and s.seg.flags == wt.ACK]


def parse_frame(frame: bytes) -> TcpSegment | None:
    """The TCP segment in an Ethernet frame, or None."""
    if len(frame) < TCP_AT or frame[12:14] != b"\x86\xdd" or frame[14 + 6] != 6:
        return None
    return TcpSegment.parse(frame[TCP_AT:], IPv6Address(frame[22:38]), IPv6Address(frame[38:54]))


def sim_port(iface: Interface) -> SimPort:
    """The simulated NIC of ``iface`` on its segment (found by its link address: the
    link's own port may be wrapped, as by a SoftGsoPort); its ``receiver`` is what frames
    coming in are handed to."""
    segment = iface.link.port.segment  # type: ignore[attr-defined]
    port: SimPort = next(p for p in segment.ports if p.mac == iface.link.link_address)
    return port


def drop_once(world: SimWorld, iface: Interface, seqs: set[int]) -> list[TcpSegment]:
    """Lose, on their way into ``iface``, the first copy of the data segments whose
    sequence numbers are in ``seqs`` (later copies, the retransmissions, arrive)."""
    port = sim_port(iface)
    inner = port.receiver
    assert inner is not None
    dropped: list[TcpSegment] = []
    pending = set(seqs)

    def receiver(frame: bytes, now: float) -> None:
        seg = parse_frame(frame)
        if seg is not None and seg.payload and seg.seq in pending:
            pending.discard(seg.seq)
            dropped.append(seg)
            return
        inner(frame, now)

    port.receiver = receiver
    return dropped


def inject(pair: Pair, seg: TcpSegment, *, to_a: bool = False) -> None:
    """Deliver a crafted segment to b as if a had sent it (or to a, from b)."""
    src, dst = (pair.ib, pair.ia) if to_a else (pair.ia, pair.ib)
    s_ll, d_ll = (B_LL, A_LL) if to_a else (A_LL, B_LL)
    frame = (
        Ether(src=src.link.link_address, dst=dst.link.link_address)
        / IPv6(src=str(s_ll), dst=str(d_ll), nh=6, hlim=64)
        / Raw(seg.build(s_ll, d_ll))
    )
    (pair.a if to_a else pair.b).receive(dst, bytes(frame), pair.world.now)
