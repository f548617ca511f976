"""Receive coalescing (tcpip6.io.coalesce) on frames built by scapy: in-order segments of
one connection become one segment whose data is theirs and whose checksum scapy finds
valid; anything else goes through as it came, in order. And the packet socket's side of
the virtio-net header (tcpip6.io.rawsock)."""

from __future__ import annotations

from ipaddress import IPv6Address

from scapy.layers.inet import TCP
from scapy.layers.inet6 import IPv6, IPv6ExtHdrDestOpt
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from tcpip6.io.coalesce import coalesce
from tcpip6.io.rawsock import VNET_HDR, complete_partial_checksum, gso_header
from tcpip6.wire.checksum import pseudo_header_sum

SRC, DST = "2001:db8::1", "2001:db8::2"
MSS = 1000


def frame(seq: int, data: bytes, flags: str = "A", tsval: int = 7, sport: int = 5001) -> bytes:
    return bytes(
        Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
        / IPv6(src=SRC, dst=DST)
        / TCP(sport=sport, dport=80, seq=seq, ack=99, flags=flags, window=300,
              options=[("NOP", None), ("NOP", None), ("Timestamp", (tsval, 3))])
        / Raw(data)
    )  # fmt: skip


def partial(f: bytes) -> bytes:
    """The frame as a sender leaving its checksum to offload hands it: the field holds
    the pseudo-header sum."""
    p = pseudo_header_sum(IPv6Address(SRC), IPv6Address(DST), len(f) - 54, 6)
    return f[:70] + p.to_bytes(2, "big") + f[72:]


def valid(f: bytes) -> bool:
    tcp = Ether(f)[TCP]
    sent = tcp.chksum
    del tcp.chksum
    return bool(TCP(bytes(IPv6(bytes(Ether(f)[IPv6])))[40:]).chksum == sent)


DATA = bytes((i * 11) % 256 for i in range(4 * MSS + 333))
CHUNKS = [DATA[i : i + MSS] for i in range(0, len(DATA), MSS)]


def run(seq: int = 1000, flags_last: str = "PA") -> list[bytes]:
    out, off = [], 0
    for i, c in enumerate(CHUNKS):
        out.append(frame(seq + off, c, flags_last if i == len(CHUNKS) - 1 else "A"))
        off += len(c)
    return out


def test_a_run_becomes_one_valid_segment() -> None:
    for kind in (False, True):
        frames = [partial(f) if kind else f for f in run()]
        out = coalesce([(f, kind) for f in frames])
        assert len(out) == 1
        merged, still_partial, n = out[0]
        assert (still_partial, n) == (False, len(CHUNKS))
        assert valid(merged)
        ip = Ether(merged)[IPv6]
        assert ip.plen == len(merged) - 54
        assert bytes(ip[TCP].payload) == DATA
        assert ip[TCP].seq == 1000 and str(ip[TCP].flags) == "PA"


def test_what_cannot_merge_goes_through_in_order() -> None:
    frames = run()
    bad = bytearray(frames[2])
    bad[-1] ^= 0xFF  # a corrupted segment: through unmerged, for the stack to drop
    other_ts = frame(1000 + 4 * MSS, CHUNKS[4], "A", tsval=8)  # a newer TSval
    gap = frame(1000 + 9 * MSS, CHUNKS[0])  # not the next sequence number
    push = [frame(50_000, CHUNKS[0], "PA"), frame(50_000 + MSS, CHUNKS[1])]  # PSH ends a run
    other = frame(1000 + 4 * MSS, CHUNKS[4], sport=6000)  # another connection
    udp = bytes(Ether() / IPv6(src=SRC, dst=DST) / Raw(b"x" * 40))
    batch = [frames[0], frames[1], bytes(bad), frames[3], other_ts, gap, *push, other, udp]
    out = coalesce([(f, False) for f in batch])
    assert [n for _, _, n in out] == [2, 1, 1, 1, 1, 1, 1, 1, 1]
    assert [f for f, _, _ in out[1:]] == batch[2:]
    assert valid(out[0][0])
    assert bytes(Ether(out[0][0])[TCP].payload) == CHUNKS[0] + CHUNKS[1]


def test_a_short_segment_ends_a_run() -> None:
    short = frame(1000 + MSS, b"y" * 10)
    after = frame(1000 + MSS + 10, CHUNKS[1])
    out = coalesce([(f, False) for f in (frame(1000, CHUNKS[0]), short, after)])
    assert [n for _, _, n in out] == [2, 1]
    assert out[1][0] == after


def test_virtio_net_header_checksum_completion_and_request() -> None:
    """What a virtio-net header with NEEDS_CSUM asks (the sum from csum_start, the field
    holding the pseudo-header's): completed, scapy's checksum; and the header the port
    sends with a large TCP frame (virtio 1.1 section 5.1.6: flags, gso_type, hdr_len,
    gso_size, csum_start, csum_offset)."""
    good = bytes(
        Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
        / IPv6(src=SRC, dst=DST)
        / IPv6ExtHdrDestOpt()
        / TCP(sport=5000, dport=80, flags="A")
        / Raw(b"x" * 333)
    )
    at = 14 + 40 + 8  # the TCP header, after the Destination Options header
    p = pseudo_header_sum(IPv6Address(SRC), IPv6Address(DST), len(good) - at, 6)
    partial = good[: at + 16] + p.to_bytes(2, "big") + good[at + 18 :]
    assert complete_partial_checksum(partial, at, 16) == good
    assert complete_partial_checksum(partial, at, len(good)) is None
    large = frame(1000, DATA)
    assert VNET_HDR.unpack(gso_header(large, 1428)) == (1, 4, 54 + 32, 1428, 54, 16)
