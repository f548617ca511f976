"""``tcpip6 check``: tcpip6's own captures have no deviation (the demo, a lossy transfer,
NUD after a silence, MLD answering queries, a simultaneous close); captures mutated with
scapy (an independent packet builder) are caught with the right rule and RFC section, at
the frame that was changed; pcapng reads like pcap."""

from __future__ import annotations

import json
from collections.abc import Callable
from ipaddress import IPv6Address
from pathlib import Path

import pytest
from scapy.layers.inet import UDP
from scapy.layers.inet6 import TCP as ScapyTCP
from scapy.layers.inet6 import (
    ICMPv6DestUnreach,
    ICMPv6MLQuery,
    ICMPv6MLReport,
    ICMPv6ND_NA,
    ICMPv6ND_NS,
    ICMPv6ND_RS,
    ICMPv6NDOptSrcLLAddr,
    IPv6,
    IPv6ExtHdrHopByHop,
    RouterAlert,
)
from scapy.layers.l2 import Ether
from scapy.utils import PcapNgWriter, PcapWriter, rdpcap

from tcpip6.apps.check import Allowance, check_capture, load_allow_list
from tcpip6.apps.demo import Timeline, simulate
from tcpip6.cli import main
from tcpip6.io.sim import SimWorld
from tcpip6.stack.host import Host
from tcpip6.stack.interface import Interface
from tcpip6.stack.params import InterfaceParameters
from tests.stack.conftest import make_pair
from tests.stack.tcpscenario import connected, drop_once


@pytest.fixture(scope="module")
def demo_pcap(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("check") / "demo.pcap"
    simulate(path, Timeline(False, "text"))
    return path


def _rewrite(src: Path, dst: Path, change: dict[int, Ether], extra: list[Ether] = ()) -> None:  # type: ignore[assignment]
    """Copy ``src`` to ``dst`` with the frames numbered in ``change`` (from 1) replaced."""
    packets = rdpcap(str(src))
    with PcapWriter(str(dst), linktype=1) as out:
        for n, p in enumerate(packets, 1):
            out.write(change.get(n, p))
        for p in extra:
            p.time = packets[-1].time + 1
            out.write(p)


def test_the_demo_capture_has_no_deviation(demo_pcap: Path) -> None:
    result = check_capture(str(demo_pcap))
    assert result.deviations == []
    assert result.stats.ipv6 == result.stats.frames > 50
    tcp = [f for f in result.flows.values() if f.flow.startswith("TCP")]
    # One connection across the router, and one through NAT64 and SIIT (seen under the
    # addresses of each side of the translators).
    assert len(tcp) >= 2 and all(f.packets >= 8 for f in tcp)
    # The inferred states: every end through the textbook path, to CLOSED or TIME-WAIT.
    ends = {}
    for rec in result.transitions:
        ends[rec.entity] = rec.new
    assert set(ends.values()) == {"CLOSED", "TIME_WAIT"}
    assert {r.trigger for r in result.transitions} >= {
        "active_open", "passive_open", "syn_received", "ack_of_syn", "close", "fin_acked",
    }  # fmt: skip


def test_a_lossy_transfer_of_tcpip6_has_no_deviation(tmp_path: Path) -> None:
    """Losses and their recovery (fast retransmit, timeouts with backoff, go-back-N) as
    tcpip6 does them, both ways through one lossy segment."""
    path = tmp_path / "lossy.pcap"
    pair = make_pair()
    pair.world.capture(path)
    c = connected(pair)
    pair.world.segments["lan"].impairments.loss = 0.05
    data = bytes(range(256)) * 400
    c.client.sendall(data)
    c.server.sendall(data)
    got_b = bytearray()
    got_a = bytearray()
    while len(got_b) < len(data) or len(got_a) < len(data):
        if len(got_b) < len(data):
            got_b += c.server.recv(65536)
        if len(got_a) < len(data):
            got_a += c.client.recv(65536)
    assert bytes(got_a) == bytes(got_b) == data
    c.client.close()
    c.server.close()
    pair.world.run_for(5.0)
    assert pair.world.pcap is not None
    pair.world.pcap.close()
    lost = pair.world.segments["lan"].counters.frames_lost
    result = check_capture(str(path))
    assert lost > 5
    assert result.deviations == [], "\n".join(d.format() for d in result.deviations)


def test_a_tail_loss_probe_is_no_deviation_and_a_second_early_copy_is_caught(
    tmp_path: Path,
) -> None:
    """RFC 8985 §7.3 (RACK-TLP, tcpip6's default): a lone segment lost is sent again
    after PTO = 2*SRTT + 200 ms, well before RFC 6298's 1 s minimum RTO: a tail loss
    probe, not a deviation. A second early copy (scapy inserts one 0.1 s after the
    probe) is caught as RFC 6298 §2.4's."""
    path = tmp_path / "tlp.pcap"
    pair = make_pair()
    pair.world.capture(path)
    c = connected(pair)
    c.client.sendall(b"warm")  # an RTT sample: SRTT for the PTO
    assert c.server.recv(10) == b"warm"
    pair.world.run_for(0.5)
    drop_once(pair.world, pair.ib, {c.ca.snd_nxt})
    c.client.sendall(b"lone")
    assert c.server.recv(10) == b"lone"
    pair.world.run_for(1.0)
    c.client.close()
    c.server.close()
    pair.world.run_for(5.0)
    assert pair.world.pcap is not None
    pair.world.pcap.close()
    counters = pair.a.tcp.counters
    assert (counters.tail_loss_probes, counters.timeouts) == (1, 0)
    assert check_capture(str(path)).deviations == []
    packets = rdpcap(str(path))
    copies = [p for p in packets if p.haslayer(ScapyTCP) and bytes(p[ScapyTCP].payload) == b"lone"]
    assert len(copies) == 2  # the original (lost on the way into b) and the probe
    probe = copies[1]
    assert 0.2 < float(probe.time - copies[0].time) < 0.3
    again = probe.copy()
    again.time = probe.time + 0.1
    mutated = tmp_path / "two-probes.pcap"
    with PcapWriter(str(mutated), linktype=1) as out:
        for p in sorted([*packets, again], key=lambda p: float(p.time)):
            out.write(p)
    result = check_capture(str(mutated))
    assert [(d.rule, d.rfc) for d in result.deviations] == [
        ("retransmission before the minimum RTO", "RFC 6298 §2.4")
    ]


def _first(packets: list[Ether], want: type, pred: object = None) -> int:
    for n, p in enumerate(packets, 1):
        if p.haslayer(want) and (pred is None or pred(p)):  # type: ignore[operator]
            return n
    raise AssertionError(f"no {want.__name__} in the capture")


def _mutate_first(
    src: Path, dst: Path, layer: type, pred: object, mutate: Callable[[Ether], None]
) -> int:
    """Copy ``src`` to ``dst`` with the first frame carrying ``layer`` (and passing
    ``pred``) changed by ``mutate`` and its checksum left for scapy to compute again;
    that frame's number."""
    packets = rdpcap(str(src))
    n = _first(packets, layer, pred)
    p = packets[n - 1].copy()
    mutate(p)
    delattr(p[layer], "chksum" if layer is ScapyTCP else "cksum")
    _rewrite(src, dst, {n: Ether(bytes(p))})
    return n


def _na_to_all_nodes(p: Ether) -> None:
    p[IPv6].dst = "ff02::1"


def _ack_beyond_snd_nxt(p: Ether) -> None:
    p[ScapyTCP].ack = (p[ScapyTCP].ack + 100_000) % 2**32


def _na_to_multicast(p: Ether) -> None:
    p[Ether].dst = "33:33:00:00:00:01"
    p[IPv6].dst = "ff02::1"


def _dad_probe_from_its_target(p: Ether) -> None:
    p[IPv6].src = p[ICMPv6ND_NS].tgt


def _ns_for_a_multicast_target(p: Ether) -> None:
    p[ICMPv6ND_NS].tgt = "ff02::1"


def _na_for_a_multicast_target(p: Ether) -> None:
    p[ICMPv6ND_NA].tgt = "ff02::1"


def test_an_ack_beyond_snd_nxt_is_caught(demo_pcap: Path, tmp_path: Path) -> None:
    out = tmp_path / "ack.pcap"
    n = _mutate_first(
        demo_pcap,
        out,
        ScapyTCP,
        lambda p: p[ScapyTCP].flags == "A" and not bytes(p[ScapyTCP].payload),
        _ack_beyond_snd_nxt,
    )
    devs = check_capture(str(out)).deviations
    assert [(d.frame, d.rule, d.rfc) for d in devs][:1] == [
        (n, "ACK of data never sent", "RFC 9293 §3.4")
    ]


@pytest.mark.parametrize(
    ("layer", "pred", "mutate", "rule", "rfc"),
    [
        (
            ICMPv6ND_NA,
            lambda p: p[ICMPv6ND_NA].S == 1,
            _na_to_multicast,
            "solicited NA to a multicast address",
            "RFC 4861 §7.1.2",
        ),
        (
            ICMPv6ND_NS,
            lambda p: p[IPv6].src == "::",
            _dad_probe_from_its_target,
            "DAD probe with a source address",
            "RFC 4862 §5.4.2",
        ),
        (
            ICMPv6ND_NS,
            lambda p: p[IPv6].src != "::",
            _ns_for_a_multicast_target,
            "NS for a multicast target",
            "RFC 4861 §7.1.1",
        ),
        (
            ICMPv6ND_NA,
            lambda p: p[ICMPv6ND_NA].S == 0,
            _na_for_a_multicast_target,
            "NA for a multicast target",
            "RFC 4861 §7.1.2",
        ),
    ],
    ids=[
        "solicited-na-to-multicast",
        "dad-probe-with-a-source",
        "ns-for-a-multicast-target",
        "na-for-a-multicast-target",
    ],
)
def test_a_mutated_nd_message_is_caught(
    demo_pcap: Path,
    tmp_path: Path,
    layer: type,
    pred: object,
    mutate: Callable[[Ether], None],
    rule: str,
    rfc: str,
) -> None:
    out = tmp_path / "nd.pcap"
    n = _mutate_first(demo_pcap, out, layer, pred, mutate)
    devs = check_capture(str(out)).deviations
    assert [(d.frame, d.rule, d.rfc) for d in devs] == [(n, rule, rfc)]


def test_an_icmpv6_error_about_an_error_is_caught(demo_pcap: Path, tmp_path: Path) -> None:
    a, b = "2001:db8:1::a", "2001:db8:1::b"
    inner = IPv6(src=b, dst=a) / ICMPv6DestUnreach(code=4) / IPv6(src=a, dst=b) / UDP(dport=9)
    frame = Ether(src="02:00:00:00:00:0a", dst="02:00:00:00:00:0b") / IPv6(src=a, dst=b)
    frame = frame / ICMPv6DestUnreach(code=4) / inner
    out = tmp_path / "err.pcap"
    _rewrite(demo_pcap, out, {}, [Ether(bytes(frame))])
    result = check_capture(str(out))
    last = result.stats.frames
    assert [(d.frame, d.rule, d.rfc) for d in result.deviations] == [
        (last, "ICMPv6 error about an ICMPv6 error", "RFC 4443 §2.4")
    ]


def test_a_multicast_ns_without_its_link_layer_address_is_caught(tmp_path: Path) -> None:
    ns = (
        Ether(src="02:00:00:00:00:0a", dst="33:33:ff:00:00:0b")
        / IPv6(src="fe80::a", dst="ff02::1:ff00:b", hlim=255)
        / ICMPv6ND_NS(tgt="fe80::b")
    )
    good = ns / ICMPv6NDOptSrcLLAddr(lladdr="02:00:00:00:00:0a")
    out = tmp_path / "ns.pcap"
    first, second = Ether(bytes(good)), Ether(bytes(ns))
    first.time, second.time = 100.0, 102.0  # RetransTimer apart (RFC 4861 §7.2.2)
    with PcapWriter(str(out), linktype=1) as w:
        w.write(first)
        w.write(second)
    assert [(d.frame, d.rfc) for d in check_capture(str(out)).deviations] == [(2, "RFC 4861 §4.3")]


def test_pcapng_reads_like_pcap(demo_pcap: Path, tmp_path: Path) -> None:
    ng = tmp_path / "demo.pcapng"
    with PcapNgWriter(str(ng)) as w:
        for p in rdpcap(str(demo_pcap)):
            w.write(p)
    a, b = check_capture(str(demo_pcap)), check_capture(str(ng))
    assert (b.stats.frames, b.stats.ipv6) == (a.stats.frames, a.stats.ipv6)
    assert [f.packets for f in b.flows.values()] == [f.packets for f in a.flows.values()]
    assert [(r.entity, r.new) for r in b.transitions] == [(r.entity, r.new) for r in a.transitions]


def test_the_command_line(
    demo_pcap: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(demo_pcap)]) == 0
    assert "0 deviations" in capsys.readouterr().out
    # A mutated capture: exit 1, the deviation in the JSON report, and allowed by a list.
    bad = tmp_path / "bad.pcap"
    _mutate_first(demo_pcap, bad, ICMPv6ND_NA, lambda p: p[ICMPv6ND_NA].S == 1, _na_to_all_nodes)
    assert main(["check", "--json", str(bad)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["deviations"] == 1
    allow = tmp_path / "allow.toml"
    allow.write_text(
        '[[allow]]\nrule = "solicited NA to a multicast address"\nreason = "on purpose"\n'
    )
    assert main(["check", "--allow", str(allow), str(bad)]) == 0
    assert "(allowed)" in capsys.readouterr().out
    # Bad input: one line, exit 2.
    junk = tmp_path / "junk.pcap"
    junk.write_bytes(b"not a capture at all")
    assert main(["check", str(junk)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "neither a pcap nor a pcapng" in err
    allow.write_text('[[allow]]\nrule = "x"\n')
    assert main(["check", "--allow", str(allow), str(demo_pcap)]) == 2
    assert "needs a 'reason'" in capsys.readouterr().err
    assert main(["check", "--delay-first-probe-time", "-1", str(demo_pcap)]) == 2
    assert "positive values" in capsys.readouterr().err


def test_allow_list_entries_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"/nonexistent/allow\.toml"):
        load_allow_list("/nonexistent/allow.toml")
    f = tmp_path / "a.toml"
    f.write_text('[[allow]]\nrule = "r"\nreason = "why"\nflow = "TCP"\ncolour = 1\n')
    with pytest.raises(ValueError, match="unknown key 'colour'"):
        load_allow_list(str(f))
    f.write_text('[[allow]]\nrule = "r"\nreason = "why"\nflow = "TCP"\n')
    assert load_allow_list(str(f)) == [Allowance("r", "why", None, "TCP")]


# -- NUD, MLD and a simultaneous close, from tcpip6's own simnet captures ----------------


def _captured_pair(path: Path, seed: int) -> tuple[SimWorld, Host, Host, Interface, Interface]:
    """Hosts a (fe80::a) and b (fe80::b) on segment ``lan`` without DAD, the world
    captured to ``path``."""
    world = SimWorld(seed=seed)
    world.capture(path)
    a, b = world.host("a"), world.host("b")
    ia = world.connect(a, "lan", params=InterfaceParameters(dup_addr_detect_transmits=0))
    ib = world.connect(b, "lan", params=InterfaceParameters(dup_addr_detect_transmits=0))
    ia.add_static_address(NUD_A, 64, 0.0)
    ib.add_static_address(NUD_B, 64, 0.0)
    return world, a, b, ia, ib


def _nud_capture(path: Path) -> float:
    """a pings b, ReachableTime passes in silence, a pings again: DELAY, PROBE, and b
    answers the first unicast probe; then b goes silent and a's next packet ends in
    MAX_UNICAST_SOLICIT unanswered probes. The time of a's last echo request."""
    world, a, _b, ia, ib = _captured_pair(path, seed=3)
    world.run_for(0.1)
    a.icmpv6.send_echo_request(NUD_B, 1, 1, b"", world.now)
    world.run_for(46.0)  # past ReachableTime (at most 1.5 * 30 s): STALE
    a.icmpv6.send_echo_request(NUD_B, 1, 2, b"", world.now)
    world.run_for(50.0)  # DELAY, PROBE, b answers: REACHABLE, then STALE again
    ib.link.port.up = False  # type: ignore[attr-defined]
    t0 = world.now
    a.icmpv6.send_echo_request(NUD_B, 1, 3, b"", world.now)
    world.run_for(10.0)
    assert ia.neighbors.get(NUD_B) is None  # the probes went unanswered
    assert world.pcap is not None
    world.pcap.close()
    return t0


NUD_A, NUD_B = IPv6Address("fe80::a"), IPv6Address("fe80::b")


def _unicast_probes(packets: list[Ether]) -> list[int]:
    """Frame numbers of a's unicast NSs (NUD probes)."""
    return [
        n
        for n, p in enumerate(packets, 1)
        if p.haslayer(ICMPv6ND_NS)
        and p[IPv6].src == str(NUD_A)
        and not IPv6Address(p[IPv6].dst).is_multicast
    ]


def _retimed(src: Path, dst: Path, times: dict[int, float], extra: list[Ether] = ()) -> None:  # type: ignore[assignment]
    """``src`` with the frames numbered in ``times`` moved to those times (and ``extra``
    added), written in time order."""
    packets = list(rdpcap(str(src))) + list(extra)
    for n, t in times.items():
        packets[n - 1].time = t
    with PcapWriter(str(dst), linktype=1) as out:
        for p in sorted(packets, key=lambda p: float(p.time)):
            out.write(p)


@pytest.fixture(scope="module")
def nud_pcap(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    path = tmp_path_factory.mktemp("check") / "nud.pcap"
    return path, _nud_capture(path)


def test_tcpip6_nud_after_silence_has_no_deviation(nud_pcap: tuple[Path, float]) -> None:
    path, _ = nud_pcap
    packets = rdpcap(str(path))
    probes = _unicast_probes(packets)
    # One answered probe, then MAX_UNICAST_SOLICIT (3) unanswered ones: real probes to judge.
    assert len(probes) == 4
    assert check_capture(str(path)).deviations == []


def test_a_nud_probe_before_delay_first_probe_time_is_caught(
    nud_pcap: tuple[Path, float], tmp_path: Path
) -> None:
    """b answered a's first probe (its entry is REACHABLE again); a probe 2 s later could
    not have waited DELAY_FIRST_PROBE_TIME after a packet sent to a STALE entry."""
    path, _ = nud_pcap
    packets = rdpcap(str(path))
    answered, silent = _unicast_probes(packets)[:2]
    when = float(packets[answered - 1].time) + 2.0
    out = tmp_path / "early.pcap"
    _retimed(path, out, {silent: when})
    moved = [n for n, p in enumerate(rdpcap(str(out)), 1) if float(p.time) == when]
    devs = check_capture(str(out)).deviations
    assert [(d.frame, d.rule, d.rfc) for d in devs] == [
        (moved[0], "NUD probe before DELAY_FIRST_PROBE_TIME", "RFC 4861 §7.3.3")
    ]


def test_a_probe_right_after_reattaching_is_not_a_nud_probe(
    nud_pcap: tuple[Path, float], tmp_path: Path
) -> None:
    """The same early probe, but its sender ran DAD again 1 s before (it has just come
    back to the link): RFC 6059's unicast probe of a router it knew, sent at once."""
    path, _ = nud_pcap
    packets = rdpcap(str(path))
    answered, silent = _unicast_probes(packets)[:2]
    when = float(packets[answered - 1].time) + 2.0
    probe = packets[silent - 1]
    me = IPv6Address(probe[IPv6].src)
    group = IPv6Address(int(IPv6Address("ff02::1:ff00:0")) | int(me) & 0xFFFFFF)
    dad = (
        Ether(src=probe[Ether].src, dst="33:33:" + group.packed[-4:].hex(":"))
        / IPv6(src="::", dst=str(group), hlim=255)
        / ICMPv6ND_NS(tgt=str(me))
    )
    dad.time = when - 1.0
    out = tmp_path / "reattached.pcap"
    _retimed(path, out, {silent: when}, [dad])
    assert check_capture(str(out)).deviations == []


def test_nud_probes_closer_than_retrans_timer_are_caught(
    nud_pcap: tuple[Path, float], tmp_path: Path
) -> None:
    path, t0 = nud_pcap
    packets = rdpcap(str(path))
    second = _unicast_probes(packets)[2]  # t0 + 6
    out = tmp_path / "close.pcap"
    _retimed(path, out, {second: t0 + 5.5})
    devs = check_capture(str(out)).deviations
    assert [(d.rule, d.rfc) for d in devs] == [
        ("NUD probes closer than RetransTimer", "RFC 4861 §7.3.3")
    ]
    assert float(rdpcap(str(out))[devs[0].frame - 1].time) == t0 + 5.5


def test_too_many_unicast_probes_are_caught(nud_pcap: tuple[Path, float], tmp_path: Path) -> None:
    path, t0 = nud_pcap
    packets = rdpcap(str(path))
    last = packets[_unicast_probes(packets)[-1] - 1].copy()
    last.time = t0 + 8.0  # a fourth probe, RetransTimer after the third
    out = tmp_path / "more.pcap"
    _retimed(path, out, {}, [last])
    devs = check_capture(str(out)).deviations
    assert [(d.rule, d.rfc) for d in devs] == [
        ("more unicast NS than MAX_UNICAST_SOLICIT", "RFC 4861 §7.3.3")
    ]
    assert float(rdpcap(str(out))[devs[0].frame - 1].time) == t0 + 8.0


MLD_GROUP = IPv6Address("ff05::1234")


def _mld_capture(path: Path) -> list[float]:
    """Two tcpip6 listeners and General Queries (Maximum Response Delay 2 s) from a
    querier the test stands in for, written into the capture: the query times."""
    world, a, b, ia, ib = _captured_pair(path, seed=11)
    world.run_for(20.0)
    a.join_group(ia, MLD_GROUP, world.now)
    b.join_group(ib, MLD_GROUP, world.now)
    world.run_for(11.0)
    query = (
        Ether(dst="33:33:00:00:00:01", src="02:00:00:00:00:99")
        / IPv6(src="fe80::99", dst="ff02::1", hlim=1)
        / IPv6ExtHdrHopByHop(options=[RouterAlert()])
        / ICMPv6MLQuery(mrd=2000, mladdr="::")
    )
    times = []
    for _ in range(3):
        assert world.pcap is not None
        world.pcap.write(bytes(query), world.now)
        times.append(world.now)
        for host, iface in ((a, ia), (b, ib)):
            host.receive(iface, bytes(query), world.now)
        world.run_for(10.0)
    assert world.pcap is not None
    world.pcap.close()
    return times


def test_tcpip6_mld_answers_have_no_deviation_and_a_late_one_is_caught(tmp_path: Path) -> None:
    path = tmp_path / "mld.pcap"
    queries = _mld_capture(path)
    assert check_capture(str(path)).deviations == []
    packets = rdpcap(str(path))
    answers = [
        n
        for n, p in enumerate(packets, 1)
        if p.haslayer(ICMPv6MLReport) and queries[1] < float(p.time) < queries[2]
    ]
    # Each query is answered, within its Maximum Response Delay (the oracle: the times).
    assert answers and all(float(packets[n - 1].time) <= queries[1] + 2.0 for n in answers)
    out = tmp_path / "late.pcap"
    _retimed(path, out, {answers[0]: queries[1] + 3.0})
    devs = check_capture(str(out)).deviations
    assert [(d.rule, d.rfc) for d in devs] == [
        ("MLD report later than the Maximum Response Delay", "RFC 2710 §4")
    ]
    assert float(rdpcap(str(out))[devs[0].frame - 1].time) == queries[1] + 3.0


def test_a_simultaneous_close_goes_through_closing(tmp_path: Path) -> None:
    """Both ends close at once (the FINs cross): no deviation, and each end is followed
    FIN-WAIT-1 -> CLOSING -> TIME-WAIT (RFC 9293 §3.6), as the stack's own graph went."""
    path = tmp_path / "simultaneous.pcap"
    pair = make_pair()
    pair.world.capture(path)
    c = connected(pair)
    ca, cb = c.ca, c.cb
    ca.close(pair.world.now)
    cb.close(pair.world.now)
    pair.world.run_for(1.0)
    assert (ca.state.name, cb.state.name) == ("TIME_WAIT", "TIME_WAIT")
    assert pair.world.pcap is not None
    pair.world.pcap.close()
    result = check_capture(str(path))
    assert result.deviations == []
    paths: dict[str, list[str]] = {}
    for rec in result.transitions:
        paths.setdefault(rec.entity, []).append(f"{rec.old}-{rec.trigger}->{rec.new}")
    assert len(paths) == 2
    for steps in paths.values():
        assert steps[-3:] == [
            "ESTABLISHED-close->FIN_WAIT_1",
            "FIN_WAIT_1-fin_received->CLOSING",
            "CLOSING-fin_acked->TIME_WAIT",
        ], steps


def test_a_late_mldv2_current_state_report_is_caught(tmp_path: Path) -> None:
    """RFC 3810 §6.2: a Current State Record answers a query, within its Maximum Response
    Delay; a State Change Record may come at any time."""
    from scapy.layers.inet6 import ICMPv6MLDMultAddrRec, ICMPv6MLQuery2, ICMPv6MLReport2

    def packet(mac: str, src: str, dst: str, body: object, t: float) -> Ether:
        p = Ether(bytes(
            Ether(src=mac, dst="33:33:00:00:00:16")
            / IPv6(src=src, dst=dst, hlim=1)
            / IPv6ExtHdrHopByHop(options=[RouterAlert()])
            / body  # type: ignore[operator]
        ))  # fmt: skip
        p.time = t
        return p

    query = ICMPv6MLQuery2(mrd=1000, mladdr="::")

    def report(rtype: int) -> object:
        return ICMPv6MLReport2(records=[ICMPv6MLDMultAddrRec(rtype=rtype, dst="ff05::1234")])

    frames = [
        packet("02:00:00:00:00:0a", "fe80::a", "ff02::16", report(4), 10.0),  # join: TO_EX
        packet("02:00:00:00:00:99", "fe80::99", "ff02::1", query, 20.0),
        packet("02:00:00:00:00:0a", "fe80::a", "ff02::16", report(2), 20.6),  # IS_EX, in time
        packet("02:00:00:00:00:0a", "fe80::a", "ff02::16", report(4), 25.0),  # a change: any time
        packet("02:00:00:00:00:99", "fe80::99", "ff02::1", query, 30.0),
        packet("02:00:00:00:00:0a", "fe80::a", "ff02::16", report(2), 31.5),  # IS_EX, late
        # A node not seen before: its Current State Record answers some query, too late.
        packet("02:00:00:00:00:0c", "fe80::c", "ff02::16", report(1), 31.6),
    ]
    out = tmp_path / "mldv2.pcap"
    with PcapWriter(str(out), linktype=1) as w:
        for f in frames:
            w.write(f)
    devs = check_capture(str(out)).deviations
    late = "MLD report later than the Maximum Response Delay"
    assert [(d.frame, d.rule, d.rfc) for d in devs] == [
        (6, late, "RFC 3810 §6.2"),
        (7, late, "RFC 3810 §6.2"),
    ]


def test_router_solicitations_past_the_limit_only_with_a_backoff(tmp_path: Path) -> None:
    """RFC 7559 §2 (updating RFC 4861 §6.3.7): past MAX_RTR_SOLICITATIONS a host may go on
    soliciting only with an exponential backoff; without one, the fourth is a deviation,
    and one 3 s after the last is too soon whatever the count."""

    def capture(name: str, times: list[float]) -> list[tuple[int, str]]:
        out = tmp_path / name
        with PcapWriter(str(out), linktype=1) as w:
            for t in times:
                p = Ether(bytes(
                    Ether(src="02:00:00:00:00:0a", dst="33:33:00:00:00:02")
                    / IPv6(src="fe80::a", dst="ff02::2", hlim=255)
                    / ICMPv6ND_RS()
                    / ICMPv6NDOptSrcLLAddr(lladdr="02:00:00:00:00:0a")
                ))  # fmt: skip
                p.time = t
                w.write(p)
        return [(d.frame, d.rule) for d in check_capture(str(out)).deviations]

    assert capture("backoff.pcap", [0.0, 4.1, 11.9, 27.5, 58.0]) == []
    assert capture("steady.pcap", [0.0, 4.0, 8.0, 12.0]) == [
        (4, "more router solicitations than MAX_RTR_SOLICITATIONS")
    ]
    assert capture("soon.pcap", [0.0, 3.0]) == [
        (2, "router solicitations closer than RTR_SOLICITATION_INTERVAL")
    ]


def test_delay_first_probe_time_is_the_node_s(
    nud_pcap: tuple[Path, float], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A node configured with a shorter DELAY_FIRST_PROBE_TIME (Linux lets one set it) is
    judged against its own value when told: the probe 2 s after the answer passes at 1 s."""
    path, _ = nud_pcap
    packets = rdpcap(str(path))
    answered, silent = _unicast_probes(packets)[:2]
    out = tmp_path / "early.pcap"
    _retimed(path, out, {silent: float(packets[answered - 1].time) + 2.0})
    assert main(["check", str(out)]) == 1
    assert "NUD probe before DELAY_FIRST_PROBE_TIME" in capsys.readouterr().out
    assert main(["check", "--delay-first-probe-time", "1", str(out)]) == 0
