"""The socket API over simnet (fake clock) and over the real-time loopback backend:
UDP with checksums scapy agrees with, UDP-Lite partial coverage, port unreachable, raw
ICMPv6 sockets, multicast membership visible as MLD, fragmentation of big datagrams,
the standard library's errors and timeouts, and the asyncio face."""

from __future__ import annotations

import asyncio
import errno
import struct
from ipaddress import IPv6Address

import pytest
from scapy.layers import inet6 as s6
from scapy.layers.l2 import Ether

from tcpip6.api import sockets as so
from tcpip6.api.sockets import Stack
from tcpip6.io.runtime import SimDriver, loopback_stack
from tcpip6.wire import icmpv6 as wi
from tests.stack.conftest import A_LL, B_LL, Pair
from tests.wire.test_udp import udplite_checksum_first_principles

A, B = str(A_LL), str(B_LL)


def stacks(pair: Pair) -> tuple[Stack, Stack]:
    driver = SimDriver(pair.world)
    return Stack(pair.a, driver), Stack(pair.b, driver)


def wire(pair: Pair) -> list[tuple[str, Ether]]:
    frames: list[tuple[str, Ether]] = []
    pair.world.observers.append(lambda iface, f, now: frames.append((iface.host.name, Ether(f))))
    return frames


def echo_once(server: Stack, client: Stack, server_host: str, payload: bytes) -> bytes:
    """Application code, the same on every backend: a UDP echo exchange."""
    srv = server.socket(so.AF_INET6, so.SOCK_DGRAM)
    srv.bind((server_host, 7))
    cli = client.socket(so.AF_INET6, so.SOCK_DGRAM)
    cli.settimeout(2.0)
    cli.sendto(payload, (server_host, 7))
    srv.settimeout(2.0)
    data, peer = srv.recvfrom(65535)
    srv.sendto(data, peer)
    reply, source = cli.recvfrom(65535)
    assert source[:2] == (server_host, 7)
    srv.close()
    cli.close()
    return reply


def test_the_same_application_runs_on_simnet_and_on_loopback(pair: Pair) -> None:
    sa, sb = stacks(pair)
    assert echo_once(sb, sa, B, b"on simnet") == b"on simnet"
    lo, _ = loopback_stack()
    assert echo_once(lo, lo, "::1", b"on loopback") == b"on loopback"


def test_udp_on_the_wire_has_the_checksum_scapy_computes(pair: Pair) -> None:
    frames = wire(pair)
    sa, sb = stacks(pair)
    srv = sb.socket()
    srv.bind(("::", 5000))
    cli = sa.socket()
    cli.bind((A, 4000))
    assert cli.sendto(b"datagram", (B, 5000)) == 8
    data, addr = srv.recvfrom(100)
    assert (data, addr) == (b"datagram", (A, 4000, 0, pair.ib.index))
    [udp] = [f[s6.UDP] for _, f in frames if s6.UDP in f]
    assert (udp.sport, udp.dport, udp.len, bytes(udp.payload)) == (4000, 5000, 16, b"datagram")
    rebuilt = s6.IPv6(bytes(udp.underlayer))
    del rebuilt[s6.UDP].chksum
    assert s6.IPv6(bytes(rebuilt))[s6.UDP].chksum == udp.chksum
    assert pair.b.udp.counters[17].in_datagrams == 1


def test_udplite_partial_coverage(pair: Pair) -> None:
    """RFC 3828: the sender covers 8 + 4 octets; a change beyond the coverage still
    arrives, a receiver asking for more coverage drops the datagram."""
    frames = wire(pair)
    sa, sb = stacks(pair)
    srv = sb.socket(so.AF_INET6, so.SOCK_DGRAM, so.IPPROTO_UDPLITE)
    srv.bind(("::", 6000))
    srv.settimeout(1.0)
    cli = sa.socket(so.AF_INET6, so.SOCK_DGRAM, so.IPPROTO_UDPLITE)
    cli.setsockopt(so.IPPROTO_UDPLITE, so.UDPLITE_SEND_CSCOV, 12)
    cli.sendto(b"headtail-not-covered", (B, 6000))
    assert srv.recvfrom(100)[0] == b"headtail-not-covered"
    [(_, frame)] = [(w, f) for w, f in frames if f[s6.IPv6].nh == 136]
    datagram = bytes(frame[s6.IPv6].payload)
    assert struct.unpack("!H", datagram[4:6])[0] == 12  # Checksum Coverage
    want = udplite_checksum_first_principles(A_LL, B_LL, datagram, 12)
    assert struct.unpack("!H", datagram[6:8])[0] == want
    # Octets past the coverage changed on the way: still delivered (RFC 3828 §3.3).
    hurt = bytearray(bytes(frame))
    hurt[-1] ^= 0xFF
    pair.b.receive(pair.ib, bytes(hurt), pair.world.now)
    assert srv.recvfrom(100)[0] == b"headtail-not-covere" + bytes([ord("d") ^ 0xFF])
    # A covered octet changed: a bad checksum, dropped and counted.
    hurt[14 + 40 + 9] ^= 0xFF
    pair.b.receive(pair.ib, bytes(hurt), pair.world.now)
    assert pair.b.udp.counters[136].bad_checksum == 1
    # RFC 3828 §3.3: a receiver may insist on a minimum coverage.
    srv.setsockopt(so.IPPROTO_UDPLITE, so.UDPLITE_RECV_CSCOV, 20)
    cli.sendto(b"headtail-not-covered", (B, 6000))
    with pytest.raises(TimeoutError):
        srv.recvfrom(100)
    assert pair.b.udp.counters[136].coverage_too_small_drop == 1


def test_port_unreachable_on_the_wire_and_to_the_socket(pair: Pair) -> None:
    frames = wire(pair)
    sa, _ = stacks(pair)
    cli = sa.socket()
    cli.settimeout(1.0)
    cli.connect((B, 9999))
    cli.send(b"anyone?")
    with pytest.raises(ConnectionRefusedError):
        cli.recv(100)
    [err] = [f for w, f in frames if w == "b" and s6.ICMPv6DestUnreach in f]
    assert err[s6.ICMPv6DestUnreach].code == wi.UNREACH_PORT
    assert pair.b.udp.counters[17].no_ports == 1
    # An unconnected socket is not interrupted; the error is kept for it to read.
    other = sa.socket()
    other.sendto(b"x", (B, 9998))
    pair.world.run_for(0.5)
    assert [(e.type, e.code, e.destination) for e in other.errors] == [
        (wi.DESTINATION_UNREACHABLE, wi.UNREACH_PORT, B_LL)
    ]


def test_raw_icmpv6_socket_sees_echo_requests_and_filters(pair: Pair) -> None:
    _, sb = stacks(pair)
    raw = sb.socket(so.AF_INET6, so.SOCK_RAW, so.IPPROTO_ICMPV6)
    raw.settimeout(1.0)
    pair.a.icmpv6.send_echo_request(B_LL, 0x77, 1, b"raw", pair.world.now)
    data, addr = raw.recvfrom(1500)
    assert addr == (A, 0, 0, pair.ib.index)
    msg = wi.parse_icmpv6(data, A_LL, B_LL)
    assert isinstance(msg, wi.EchoRequest) and (msg.identifier, msg.data) == (0x77, b"raw")
    pair.world.run_for(0.5)
    assert len(pair.a.icmpv6.echo_replies) == 1  # the stack still answered
    # ICMP6_FILTER (Linux: a set bit blocks the type): block echo requests.
    blocked = bytearray(32)
    blocked[wi.ECHO_REQUEST >> 3] |= 1 << (wi.ECHO_REQUEST & 7)
    raw.setsockopt(so.IPPROTO_ICMPV6, so.ICMP6_FILTER, bytes(blocked))
    pair.a.icmpv6.send_echo_request(B_LL, 0x77, 2, b"raw", pair.world.now)
    with pytest.raises(TimeoutError):
        raw.recvfrom(1500)
    assert raw.counters.filtered >= 1


def test_raw_icmpv6_socket_sends_with_the_checksum_filled_in(pair: Pair) -> None:
    sa, _ = stacks(pair)
    raw = sa.socket(so.AF_INET6, so.SOCK_RAW, so.IPPROTO_ICMPV6)
    raw.settimeout(1.0)
    request = bytes([wi.ECHO_REQUEST, 0, 0, 0]) + struct.pack("!HH", 5, 9) + b"ping"
    raw.sendto(request, (B, 0))
    while True:
        data, _ = raw.recvfrom(1500)
        msg = wi.parse_icmpv6(data, B_LL, A_LL)  # verifies the checksum B computed
        if isinstance(msg, wi.EchoReply):
            break
    assert (msg.identifier, msg.sequence, msg.data) == (5, 9, b"ping")


def test_multicast_membership_drives_mld_and_delivery(pair: Pair) -> None:
    frames = wire(pair)
    sa, sb = stacks(pair)
    group = "ff15::1234"
    rx = sb.socket()
    rx.bind(("::", 7000))
    rx.settimeout(1.0)
    mreq = struct.pack("16sI", IPv6Address(group).packed, pair.ib.index)
    rx.setsockopt(so.IPPROTO_IPV6, so.IPV6_JOIN_GROUP, mreq)
    pair.world.run_for(0.1)
    reports = [f for w, f in frames if w == "b" and s6.ICMPv6MLReport in f]
    assert [f[s6.ICMPv6MLReport].mladdr for f in reports] == [group]
    tx = sa.socket()
    tx.setsockopt(so.IPPROTO_IPV6, so.IPV6_MULTICAST_HOPS, 5)
    tx.sendto(b"to the group", (group, 7000))
    assert rx.recvfrom(100)[0] == b"to the group"
    [sent] = [f for w, f in frames if w == "a" and s6.UDP in f]
    assert sent[s6.IPv6].hlim == 5 and sent.dst == "33:33:00:00:12:34"
    rx.setsockopt(so.IPPROTO_IPV6, so.IPV6_LEAVE_GROUP, mreq)
    pair.world.run_for(0.1)
    dones = [f for w, f in frames if w == "b" and s6.ICMPv6MLDone in f]
    assert [f[s6.ICMPv6MLDone].mladdr for f in dones] == [group]
    tx.sendto(b"gone", (group, 7000))
    with pytest.raises(TimeoutError):
        rx.recvfrom(100)


def test_multicast_loop_delivers_our_own_datagram(pair: Pair) -> None:
    _, sb = stacks(pair)
    rx = sb.socket()
    rx.bind(("::", 7001))
    rx.setsockopt(so.IPPROTO_IPV6, so.IPV6_JOIN_GROUP, ("ff15::99", 0))
    rx.settimeout(0.5)
    tx = sb.socket()
    tx.sendto(b"loop", ("ff15::99", 7001))
    assert rx.recvfrom(10)[0] == b"loop"
    tx.setsockopt(so.IPPROTO_IPV6, so.IPV6_MULTICAST_LOOP, 0)
    tx.sendto(b"no loop", ("ff15::99", 7001))
    with pytest.raises(TimeoutError):
        rx.recvfrom(10)


def test_a_datagram_bigger_than_the_mtu_goes_in_fragments_and_arrives_whole(
    pair: Pair,
) -> None:
    frames = wire(pair)
    sa, sb = stacks(pair)
    srv = sb.socket()
    srv.bind(("::", 8000))
    srv.settimeout(1.0)
    big = bytes(range(256)) * 16
    sa.socket().sendto(big, (B, 8000))
    assert srv.recvfrom(65535)[0] == big
    frags = [f for w, f in frames if w == "a" and s6.IPv6ExtHdrFragment in f]
    assert len(frags) == 3 and all(len(f[s6.IPv6]) <= 1500 for f in frags)
    assert pair.b.ip.reassembly_ok == 1


def test_blocking_nonblocking_and_errors_like_the_standard_library(pair: Pair) -> None:
    sa, _ = stacks(pair)
    s = sa.socket()
    s.bind(("::", 9000))
    start = pair.world.now
    s.settimeout(2.0)
    with pytest.raises(TimeoutError):
        s.recvfrom(10)
    assert pair.world.now == pytest.approx(start + 2.0)  # two simulated seconds ran
    s.setblocking(False)
    with pytest.raises(BlockingIOError):
        s.recvfrom(10)
    other = sa.socket()
    with pytest.raises(OSError) as taken:
        other.bind(("::", 9000))
    assert taken.value.errno == errno.EADDRINUSE
    with pytest.raises(OSError) as not_ours:
        other.bind(("2001:db8::99", 1))
    assert not_ours.value.errno == errno.EADDRNOTAVAIL
    with pytest.raises(TypeError):
        other.sendto(b"x", "fe80::b")  # type: ignore[arg-type]
    with pytest.raises(OSError) as unreachable:
        other.sendto(b"x", ("2001:db8::99", 1))
    assert unreachable.value.errno == errno.ENETUNREACH
    with pytest.raises(OSError):
        sa.socket(so.AF_INET6, 99)
    s.close()
    with pytest.raises(OSError) as closed:
        s.recvfrom(10)
    assert closed.value.errno == errno.EBADF
    assert s.getsockopt(so.IPPROTO_IPV6, so.IPV6_UNICAST_HOPS) == 64


def test_a_full_receive_queue_drops_and_counts(pair: Pair) -> None:
    sa, sb = stacks(pair)
    rx = sb.socket()
    rx.bind(("::", 9100))
    rx.setsockopt(so.SOL_SOCKET, so.SO_RCVBUF, 3 * 2048)
    tx = sa.socket()
    for i in range(5):
        tx.sendto(bytes([i]), (B, 9100))
    pair.world.run_for(0.5)
    assert [q.data for q in rx.queue] == [b"\x00", b"\x01", b"\x02"]
    assert rx.counters.queue_full_drop == 2


def test_the_asyncio_face_on_the_loopback_backend() -> None:
    stack, driver = loopback_stack()

    class Echo(asyncio.DatagramProtocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport

        def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
            assert isinstance(self.transport, asyncio.DatagramTransport)
            self.transport.sendto(data[::-1], addr)

    class Client(asyncio.DatagramProtocol):
        def __init__(self) -> None:
            self.reply: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

        def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
            self.reply.set_result(data)

    async def main() -> bytes:
        runner = asyncio.create_task(driver.serve())
        server, _ = await so.create_datagram_endpoint(stack, Echo, local_addr=("::1", 7))
        client, proto = await so.create_datagram_endpoint(stack, Client, remote_addr=("::1", 7))
        client.sendto(b"asyncio")
        try:
            return await asyncio.wait_for(proto.reply, 2.0)
        finally:
            client.close()
            server.close()
            runner.cancel()

    assert asyncio.run(main()) == b"oicnysa"


def test_raw_icmpv6_sockets_never_see_a_bad_checksum(pair: Pair) -> None:
    """RFC 3542 §3.1: the stack verifies the ICMPv6 checksum before raw sockets get a copy."""
    _, sb = stacks(pair)
    raw = sb.socket(so.AF_INET6, so.SOCK_RAW, so.IPPROTO_ICMPV6)
    raw.setblocking(False)
    good = s6.IPv6(src=A, dst=B) / s6.ICMPv6EchoReply(id=1, seq=1, data=b"x")
    bad = s6.IPv6(bytes(good))
    bad[s6.ICMPv6EchoReply].cksum ^= 0xFFFF
    for pkt in (bad, good):
        frame = Ether(
            src=pair.ia.link.link_address.hex(":"), dst=pair.ib.link.link_address.hex(":")
        )
        pair.b.receive(pair.ib, bytes(frame / pkt), pair.world.now)
    assert pair.b.icmp.bad_checksum_drop == 1
    data, _ = raw.recvfrom(100)
    assert data == bytes(good[s6.ICMPv6EchoReply])
    with pytest.raises(BlockingIOError):
        raw.recvfrom(100)


def test_recvmsg_ancillary_data_dontfrag_and_path_mtu(pair: Pair) -> None:
    """RFC 3542 §6.1/RFC 3542 §6.3: IPV6_PKTINFO and IPV6_HOPLIMIT as recvmsg's ancillary data;
    RFC 3542 §11.2: IPV6_DONTFRAG refuses what would be fragmented; IPV6_MTU of a connected socket
    is the path MTU."""
    sa, sb = stacks(pair)
    rx = sb.socket()
    rx.bind(("::", 9200))
    rx.settimeout(1.0)
    rx.setsockopt(so.IPPROTO_IPV6, so.IPV6_RECVHOPLIMIT, 1)
    rx.setsockopt(so.IPPROTO_IPV6, so.IPV6_RECVPKTINFO, 1)
    tx = sa.socket()
    tx.setsockopt(so.IPPROTO_IPV6, so.IPV6_UNICAST_HOPS, 9)
    tx.sendto(b"anc", (B, 9200))
    data, anc, flags, addr = rx.recvmsg(2, 256)
    assert (data, flags & so.MSG_TRUNC, addr[0]) == (b"an", so.MSG_TRUNC, A)
    got = {(level, kind): value for level, kind, value in anc}
    assert struct.unpack("i", got[(so.IPPROTO_IPV6, so.IPV6_HOPLIMIT)]) == (9,)
    info = got[(so.IPPROTO_IPV6, so.IPV6_PKTINFO)]
    assert (IPv6Address(info[:16]), struct.unpack("I", info[16:])[0]) == (B_LL, pair.ib.index)
    tx.sendto(b"again", (B, 9200))
    _, anc, flags, _ = rx.recvmsg(100)  # no room for ancillary data
    assert anc == [] and flags & so.MSG_CTRUNC
    tx.connect((B, 9200))
    assert tx.getsockopt(so.IPPROTO_IPV6, so.IPV6_MTU) == 1500
    tx.setsockopt(so.IPPROTO_IPV6, so.IPV6_DONTFRAG, 1)
    with pytest.raises(OSError) as too_big:
        tx.send(bytes(1500 - 48 + 1))
    assert too_big.value.errno == errno.EMSGSIZE
    assert tx.send(bytes(1500 - 48)) == 1452  # exactly the MTU: sent whole
    assert rx.recvfrom(2000)[0] == bytes(1452)
    with pytest.raises(OSError) as unconnected:
        rx.getsockopt(so.IPPROTO_IPV6, so.IPV6_MTU)
    assert unconnected.value.errno == errno.ENOTCONN


def test_a_socket_bound_to_a_group_receives_only_that_group(pair: Pair) -> None:
    """Bound to ff15::77 (and a member), a socket gets datagrams sent to the group and
    none sent to the host's own address on that port; what it sends comes from a unicast
    source (RFC 4291 §2.7: never a multicast source)."""
    frames = wire(pair)
    sa, sb = stacks(pair)
    rx = sb.socket()
    rx.bind(("ff15::77", 7100))
    rx.setsockopt(so.IPPROTO_IPV6, so.IPV6_JOIN_GROUP, ("ff15::77", 0))
    rx.settimeout(0.5)
    assert rx.getsockname()[:2] == ("ff15::77", 7100)
    tx = sa.socket()
    tx.sendto(b"unicast", (B, 7100))
    tx.sendto(b"group", ("ff15::77", 7100))
    data, peer = rx.recvfrom(100)
    assert data == b"group"
    with pytest.raises(TimeoutError):
        rx.recvfrom(100)
    assert pair.b.udp.counters[17].no_ports == 1  # the unicast one found no socket
    rx.sendto(b"answer", peer)
    pair.world.run_for(0.5)
    [answer] = [f for w, f in frames if w == "b" and s6.UDP in f]
    assert answer[s6.IPv6].src == B
