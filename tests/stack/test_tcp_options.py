"""RFC 7323 on the wire: window scale and timestamps offered in the SYN and accepted in the
SYN,ACK, neither used when one end does not offer it, a receive buffer above 64 KiB
advertised through the scale, and PAWS dropping a segment with an old timestamp."""

from __future__ import annotations

import dataclasses

from tcpip6.api import sockets as so
from tcpip6.api.stream import StreamSocket
from tcpip6.stack.tcp import TcpParameters
from tcpip6.wire.tcp import ACK, PSH, SYN, MaxSegmentSize, TcpSegment, Timestamps, WindowScale
from tests.stack.conftest import Pair
from tests.stack.tcpscenario import Sent, connected, inject, tcp_wire


def _syns(wire: list[Sent]) -> tuple[Sent, Sent]:
    [syn] = [s for s in wire if s.has(SYN) and not s.has(ACK)]
    [syn_ack] = [s for s in wire if s.has(SYN) and s.has(ACK)]
    return syn, syn_ack


def test_both_ends_offer_window_scale_and_timestamps(pair: Pair) -> None:
    wire = tcp_wire(pair.world)
    c = connected(pair)
    syn, syn_ack = _syns(wire)
    # 64 KiB of receive buffer needs a shift of 1 (65536 > 65535).
    assert syn.seg.option(WindowScale) == WindowScale(1)
    assert syn_ack.seg.option(WindowScale) == WindowScale(1)
    ts_syn, ts_syn_ack = syn.seg.option(Timestamps), syn_ack.seg.option(Timestamps)
    assert ts_syn is not None and ts_syn.tsecr == 0
    assert ts_syn_ack is not None and ts_syn_ack.tsecr == ts_syn.tsval  # RFC 7323 §3.2 echo
    assert (c.ca.snd_wscale, c.ca.rcv_wscale, c.cb.snd_wscale, c.cb.rcv_wscale) == (1, 1, 1, 1)
    assert c.ca.ts_ok and c.cb.ts_ok
    c.client.send(b"scaled")
    assert c.server.recv(10) == b"scaled"
    pair.world.run_for(0.5)
    # The SYNs offer whole segments: 45 * 1440 fits in 16 bits, 46 does not.
    assert syn.seg.window == syn_ack.seg.window == 45 * 1440
    # Every later segment carries timestamps (RFC 7323 §3.2), and windows are scaled: the field
    # times 2 is the receive buffer (64 KiB rounded up to whole 1440-octet segments).
    later = [s for s in wire if not s.has(SYN)]
    assert later and all(s.seg.option(Timestamps) is not None for s in later)
    last_from_b = [s for s in later if s.host == "b"][-1]
    assert last_from_b.seg.window << 1 == c.cb.receive_buffer == 46 * 1440
    assert c.ca.snd_wnd == 46 * 1440


def test_window_scale_off_at_one_end_means_neither_uses_it(pair: Pair) -> None:
    wire = tcp_wire(pair.world)
    c = connected(pair, server_params=lambda p: TcpParameters(window_scaling=False))
    syn, syn_ack = _syns(wire)
    assert syn.seg.option(WindowScale) == WindowScale(1)
    assert syn_ack.seg.option(WindowScale) is None
    assert (c.ca.snd_wscale, c.ca.rcv_wscale, c.cb.snd_wscale, c.cb.rcv_wscale) == (0, 0, 0, 0)
    # Unscaled, the client's 64 KiB buffer is cut to whole segments below 65535.
    assert c.ca.receive_buffer == 45 * 1440
    c.server.send(b"x")
    assert c.client.recv(10) == b"x"
    pair.world.run_for(0.5)
    from_a = [s for s in wire if s.host == "a" and not s.has(SYN)]
    assert from_a[0].seg.window == 45 * 1440  # the ACK of the SYN,ACK: unscaled
    # After one octet taken and read, the right edge stays (receiver SWS avoidance).
    assert from_a[-1].seg.window == 45 * 1440 - 1


def test_timestamps_off_at_one_end_means_neither_sends_them(pair: Pair) -> None:
    wire = tcp_wire(pair.world)
    c = connected(pair, client_params=lambda p: TcpParameters(timestamps=False))
    syn, syn_ack = _syns(wire)
    assert syn.seg.option(Timestamps) is None and syn_ack.seg.option(Timestamps) is None
    assert not c.ca.ts_ok and not c.cb.ts_ok
    c.client.send(b"a" * 3000)
    assert len(c.server.recv(4000)) > 0
    pair.world.run_for(0.5)
    later = [s for s in wire if not s.has(SYN)]
    assert later and all(s.seg.option(Timestamps) is None for s in later)
    # Without the 12 octets of timestamps, segments carry the whole MSS.
    assert max(len(s.data) for s in later) == 1440


def test_a_256_kib_receive_buffer_is_advertised_with_a_shift_of_3(pair: Pair) -> None:
    def big_buffer(client: StreamSocket, listener: StreamSocket) -> None:
        listener.setsockopt(so.SOL_SOCKET, so.SO_RCVBUF, 256 * 1024)

    wire = tcp_wire(pair.world)
    c = connected(pair, before_connect=big_buffer)
    _, syn_ack = _syns(wire)
    # 262144 >> 3 = 32768 is the first shift below 65536 (RFC 7323 §2.3).
    assert syn_ack.seg.option(WindowScale) == WindowScale(3)
    # RFC 7323 §2.2: the window of a SYN is never scaled (whole segments below 65536).
    assert syn_ack.seg.window == 45 * 1440
    c.client.send(b"hello")
    assert c.server.recv(10) == b"hello"
    pair.world.run_for(0.5)
    assert c.cb.receive_buffer == 183 * 1440  # 263520, whole segments
    ack = [s for s in wire if s.host == "b" and not s.has(SYN)][-1]
    assert ack.seg.window == 263520 >> 3
    assert c.ca.snd_wnd == 263520 > 0xFFFF


def test_paws_drops_a_segment_with_an_old_timestamp(pair: Pair) -> None:
    c = connected(pair)
    c.client.send(b"fresh")
    assert c.server.recv(10) == b"fresh"
    pair.world.run_for(0.5)
    cb = c.cb
    wire = tcp_wire(pair.world)
    rcv_nxt, recent = cb.rcv_nxt, cb.ts_recent
    old = TcpSegment(
        c.ca.local_port,
        c.ca.remote_port,
        rcv_nxt,
        cb.snd_nxt,
        ACK | PSH,
        1000,
        options=(Timestamps((recent - 1000) % 2**32, cb.ts_recent),),
        payload=b"replayed",
    )
    inject(pair, old)
    assert pair.b.tcp.counters.paws_drop == 1
    assert (cb.rcv_nxt, bytes(cb.rcvbuf), cb.ts_recent) == (rcv_nxt, b"", recent)
    # RFC 7323 §5.3 R1: "send an acknowledgment in reply".
    [reply] = [s for s in wire if s.host == "b"]
    assert (reply.seg.flags, reply.seg.seq, reply.seg.ack) == (ACK, cb.snd_nxt, rcv_nxt)
    # The same segment with a current timestamp is accepted.
    inject(pair, dataclasses.replace(old, options=(Timestamps(recent + 5, 0),)))
    assert bytes(cb.rcvbuf) == b"replayed" and cb.ts_recent == recent + 5


def test_mss_option_is_the_interface_mtu_less_60(pair: Pair) -> None:
    wire = tcp_wire(pair.world)
    c = connected(pair)
    syn, syn_ack = _syns(wire)
    assert syn.seg.option(MaxSegmentSize) == MaxSegmentSize(1500 - 60)
    assert syn_ack.seg.option(MaxSegmentSize) == MaxSegmentSize(1500 - 60)
    # RFC 6691: the 12 octets of timestamps come out of each segment's data.
    assert c.ca.mss == 1428
    c.client.sendall(b"m" * 5000)
    pair.world.run_for(0.5)
    full = [s for s in wire if s.host == "a" and len(s.data) == 1428]
    assert len(full) == 3 and {s.frame_len for s in full} == {14 + 1500}
