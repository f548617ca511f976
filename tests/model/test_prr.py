"""RFC 6937 Proportional Rate Reduction: the stack's choice during SACK-based recovery
(tcpip6.stack.tcp.congestion.sack, ``cwnd = pipe + sndcnt``) against the RFC 6937 model
(tcpip6/spec/rfc6937_prr.py) on random ACK sequences.

A sends a flight into a silenced link; the test plays the receiver with crafted ACKs
(random SACK blocks and cumulative acknowledgments). The model's inputs are the test's
own: DeliveredData from the ACKs it sent, prr_out from the data segments A put on the
wire since recovery began, RecoverFS and ssthresh (RFC 5681 §3.1 equation 4) from the
flight at the ACK that started recovery; only pipe (RFC 6675 SetPipe, not under test
here) is the stack's. After every ACK in recovery, the stack's cwnd must be pipe plus
the model's sndcnt, and the octets A sent on that ACK the whole segments sndcnt allows."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from tcpip6.spec import rfc6937_prr as spec
from tcpip6.stack.tcp import TcpParameters
from tcpip6.wire import tcp as wt
from tests.profiles import examples
from tests.stack.conftest import make_pair
from tests.stack.tcpscenario import Connected, connected, inject, tcp_wire

#: Segments in A's first flight.
FLIGHT = 24

EVENTS = st.lists(
    st.tuples(st.sampled_from(["sack", "sack", "sack", "cum"]), st.integers(0, 1000)),
    min_size=3,
    max_size=40,
)


def _client(p: TcpParameters) -> TcpParameters:
    # RFC 6675's DupThresh rule starts recovery on the ACK the test sends (RACK-TLP, the
    # default, may start it later, from its reordering timer, with a different flight).
    return dataclasses.replace(p, timestamps=False, nagle=False, rack=False)


def _server(p: TcpParameters) -> TcpParameters:
    """The receiver the test plays (also RACK's, tests/model/test_rack.py): no timestamps,
    a window far above the flight, every segment acknowledged at once."""
    return dataclasses.replace(p, timestamps=False, receive_buffer=1 << 20, delayed_ack=False)


def _ack(c: Connected, cum: int, blocks: list[tuple[int, int]], window: int) -> wt.TcpSegment:
    base = c.ca.iss + 1
    mss = c.ca.mss
    sack = tuple(((base + s * mss) % 2**32, (base + e * mss) % 2**32) for s, e in blocks)
    opts: tuple[wt.TcpOption, ...] = (
        (wt.NoOperation(), wt.NoOperation(), wt.Sack(sack)) if sack else ()
    )
    return wt.TcpSegment(
        src_port=c.cb.local_port,
        dst_port=c.ca.local_port,
        seq=c.cb.snd_nxt,
        ack=(base + cum * mss) % 2**32,
        flags=wt.ACK,
        window=window,
        options=opts,
    )


def _runs(indices: set[int], newest: int | None) -> list[tuple[int, int]]:
    """Segment indices as [start, end) runs, three at most: RFC 2018 §4, the first block
    the one holding the newest segment, then the others, highest first."""
    runs: list[tuple[int, int]] = []
    for i in sorted(indices):
        if runs and runs[-1][1] == i:
            runs[-1] = (runs[-1][0], i + 1)
        else:
            runs.append((i, i + 1))
    runs.sort(key=lambda r: (not r[0] <= (newest if newest is not None else -1) < r[1], -r[0]))
    return runs[:3]


@settings(max_examples=examples(40))
@given(EVENTS)
def test_prr_paces_recovery_as_rfc_6937(events: list[tuple[str, int]]) -> None:
    pair = make_pair()
    c = connected(pair, _client, _server)
    a = c.ca
    mss = a.mss
    a.cwnd = FLIGHT * mss
    pair.world.segment("lan").impairments.loss = 1.0  # B hears nothing: the test is B
    wire = tcp_wire(pair.world)
    c.client.send(bytes(3 * FLIGHT * mss))
    window = a.snd_wnd >> a.snd_wscale
    rec = a.snd.recovery
    seen: list[tuple[int, int]] = []
    orig_after_ack = rec.after_ack

    def after_ack(now: float) -> None:
        pipe = rec.pipe()
        orig_after_ack(now)
        seen.append((pipe, a.cwnd))

    rec.after_ack = after_ack  # type: ignore[method-assign]
    cum = 0  # segments cumulatively acknowledged
    reported: set[int] = set()  # segments SACKed (above cum)
    in_recovery = False
    prr_delivered = prr_out = recover_fs = ssthresh = 0
    checked = 0
    for kind, k in events:
        sent_segments = max(
            ((s.seg.seq - a.iss - 1) % 2**32 + len(s.data) + mss - 1) // mss
            for s in wire
            if s.host == "a" and s.data
        )
        open_ = [i for i in range(cum, sent_segments) if i not in reported]
        before = mss * (cum + len(reported))
        newest = None
        if kind == "sack" and len(open_) > 1:
            newest = open_[1 + k % (len(open_) - 1)]  # never the first hole itself
            reported.add(newest)
            new_cum = cum
        elif kind == "cum":
            new_cum = min(cum + 1 + k % 4, sent_segments)
        else:
            continue
        reported = {i for i in reported if i >= new_cum}
        # RFC 6937 §3: DeliveredData = change_in(snd.una) + change_in(SACKd).
        delivered = mss * (new_cum + len(reported)) - before
        flight = a.snd.max - a.snd.una
        cum = new_cum
        mark = len(wire)
        seen.clear()
        inject(pair, _ack(c, cum, _runs(reported, newest), window), to_a=True)
        pair.world.run_for(0.0001)
        out = [len(s.data) for s in wire[mark:] if s.host == "a" and s.data]
        if not in_recovery and a.in_recovery:
            # The ACK that starts recovery: RFC 5681 §3.1 equation 4, RecoverFS, and the
            # fast retransmit sent before PRR counts (RFC 6937 §3).
            in_recovery = True
            ssthresh = max(flight // 2, 2 * mss)
            recover_fs = flight
            prr_delivered = 0
            prr_out = out[0]
            out = out[1:]
        elif not a.in_recovery:
            if in_recovery:
                break  # recovery over (cwnd = ssthresh: RFC 6675 §5)
            continue
        prr_delivered += delivered
        assert a.ssthresh == ssthresh
        (pipe, cwnd), *_ = seen
        sndcnt = spec.prr_sndcnt(
            prr_delivered=prr_delivered,
            prr_out=prr_out,
            delivered_data=delivered,
            pipe=pipe,
            ssthresh=ssthresh,
            recover_fs=recover_fs,
            mss=mss,
        )
        assert cwnd == pipe + sndcnt
        # What went out on this ACK: the whole segments sndcnt allows (new data is there).
        assert sum(out) == sndcnt // mss * mss
        prr_out += sum(out)
        checked += 1
    event(f"ACKs checked in recovery: {min(checked, 5)}+")
    assert a.state.name == "ESTABLISHED"


#: RFC 6937 §3 by hand: RecoverFS 20 segments, ssthresh 10 (MSS 1000). Each row:
#: prr_delivered, prr_out, DeliveredData, pipe, PRR-CRB?, then the expected sndcnt.
WORKED = [
    # pipe above ssthresh: proportional, one segment out for every two delivered.
    (2000, 0, 2000, 17_000, False, 1000),
    (3000, 1000, 1000, 16_000, False, 500),
    # pipe at or below ssthresh: PRR-SSRB catches up, by DeliveredData + MSS at most.
    (12_000, 6000, 3000, 5000, False, 5000),
    (12_000, 11_500, 1000, 5000, False, 2000),
    # PRR-CRB stays within what was delivered.
    (12_000, 11_500, 1000, 5000, True, 500),
]


@pytest.mark.parametrize(
    ("prr_delivered", "prr_out", "delivered_data", "pipe", "conservative", "sndcnt"), WORKED
)
def test_a_worked_example(
    prr_delivered: int,
    prr_out: int,
    delivered_data: int,
    pipe: int,
    conservative: bool,
    sndcnt: int,
) -> None:
    got = spec.prr_sndcnt(
        prr_delivered=prr_delivered,
        prr_out=prr_out,
        delivered_data=delivered_data,
        pipe=pipe,
        ssthresh=10_000,
        recover_fs=20_000,
        mss=1000,
        conservative=conservative,
    )
    assert got == sndcnt
