"""``tcpip6 check`` on captures the tests make in namespaces: the Linux kernel talking to
itself (DAD and a duplicate address, address resolution, SLAAC from
radvd, TCP bulk, TCP under loss with and without SACK, a lost FIN, an abortive close; then
MLD with a bridge querier, NUD after a silence and with a deaf neighbor, a simultaneous
close), and tcpip6 talking to Linux. Linux's deviations are exactly those written down in
docs/linux-deviations.toml (and docs/deviations.md); tcpip6's packets have none."""

from __future__ import annotations

import itertools
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scapy.layers.inet6 import TCP, ICMPv6MLQuery, ICMPv6MLReport, ICMPv6ND_NS, IPv6
from scapy.utils import PcapNgReader

from tcpip6.apps.check import check_capture, load_allow_list
from tcpip6.io.capture import read_capture
from tests.interop import netns
from tests.interop.checkcorpus import A_ADDR, A_IF, B_ADDR, B_IF, linux_capture
from tests.interop.netns import REPO, Topology

DUPLICATE = "2001:db8:c::d"
DOCUMENTED = REPO / "docs" / "linux-deviations.toml"
#: What only the capture with short neighbor timers shows (docs/deviations.md).
SHORT_REACHABLE_TIME = {("NUD probe before DELAY_FIRST_PROBE_TIME", "RFC 4861 §7.3.3")}
EARLY_RETRANSMISSION = ("retransmission before the minimum RTO", "RFC 6298 §2.4")
RADVD_CONF = f"""interface {A_IF} {{
    AdvSendAdvert on;
    MinRtrAdvInterval 3;
    MaxRtrAdvInterval 4;
    prefix 2001:db8:5:1::/64 {{ AdvOnLink on; AdvAutonomous on; }};
}};
"""


def _address_line(run: Callable[..., str], ifname: str, address: str, gone: str = "") -> str:
    """What ``ip -6 addr`` says of ``address`` on ``ifname``; ``gone`` when it is not there."""
    for entry in run("ip", "-6", "addr", "show", "dev", ifname).split("inet6 "):
        if entry.startswith(address + "/"):
            return entry
    return gone


def _wait_for(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def _loss(run: object, rule: str) -> None:
    """An nft rule on b's input: the capture (on b's end, before netfilter) sees the
    packets b then drops, so the sender's retransmissions follow their originals."""
    assert callable(run)
    run("nft", "add table inet loss")
    run("nft", "add chain inet loss inp { type filter hook input priority 0 ; }")
    run("nft", f"add rule inet loss inp {rule} drop")


def test_linux_talking_to_linux(tmp_path: Path) -> None:
    assert shutil.which("dumpcap") and shutil.which("nft") and shutil.which("ethtool")
    path = tmp_path / "linux.pcapng"
    with linux_capture(path) as lx:
        for run, ifname in ((lx.run_a, A_IF), (lx.run_b, B_IF)):
            # One packet a segment on the wire (no TSO/GSO/GRO).
            run("ethtool", "-K", ifname, "tso", "off", "gso", "off", "gro", "off")
        lx.run_a("ip", "addr", "add", f"{A_ADDR}/64", "dev", A_IF)
        lx.run_b("ip", "addr", "add", f"{B_ADDR}/64", "dev", B_IF)
        # A duplicate: b tries an address a already holds (RFC 4862 §5.4.4), once a's DAD
        # for it is over.
        lx.run_a("ip", "addr", "add", f"{DUPLICATE}/64", "dev", A_IF)
        _wait_for(lambda: "tentative" not in _address_line(lx.run_a, A_IF, DUPLICATE))
        lx.run_b("ip", "addr", "add", f"{DUPLICATE}/64", "dev", B_IF)
        conf = tmp_path / "radvd.conf"
        conf.write_text(RADVD_CONF)
        lx.run_a("sysctl", "-qw", "net.ipv6.conf.all.forwarding=1")
        radvd = subprocess.Popen(
            ["ip", "netns", "exec", lx.a, "radvd", "-n", "-C", str(conf),
             "-p", str(tmp_path / "radvd.pid"), "-m", "stderr"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            # Linux found the duplicate: the address is marked dadfailed, or gone.
            _wait_for(lambda: "dadfailed" in _address_line(lx.run_b, B_IF, DUPLICATE, "dadfailed"))
            time.sleep(1.0)  # b's SLAAC address from radvd's first advertisement
            ping = lx.run_a("ping", "-6", "-c", "3", "-i", "0.2", B_ADDR)
            assert "3 received" in ping, ping
            assert lx.transfer(1_000_000, 5001) == "999936"
            # Every 40th TCP packet into b is lost, with SACK and then without.
            _loss(lx.run_b, "meta l4proto tcp numgen inc mod 40 == 7")
            assert lx.transfer(1_000_000, 5002) == "999936"
            lx.run_a("sysctl", "-qw", "net.ipv4.tcp_sack=0")
            assert lx.transfer(1_000_000, 5003) == "999936"
            lx.run_b("nft", "delete table inet loss")
            # The client's first FIN is lost: a tail loss that only a timer recovers.
            _loss(lx.run_b, "tcp flags & fin == fin quota until 100 bytes")
            assert lx.transfer(100_000, 5004) == "99840"
            lx.run_b("nft", "delete table inet loss")
            assert lx.transfer(100_000, 5005, abort=True) == "aborted"
            time.sleep(0.5)
        finally:
            radvd.kill()
            radvd.wait()
    result = check_capture(str(path))
    found = {(d.rule, d.rfc) for d in result.deviations}
    documented = {(a.rule, a.rfc) for a in load_allow_list(str(DOCUMENTED))}
    report = "\n".join(d.format() for d in result.deviations)
    # Every deviation found is a documented one, and every documented one shows here but
    # Linux's early retransmission: its RTO after the lost FIN is 200 ms plus the RTT's
    # variance, which on a loaded machine can reach RFC 6298's 1 s (one fresh-clone run
    # in several showed none); the staged simultaneous close below may show it too.
    assert found <= documented - SHORT_REACHABLE_TIME, report
    assert documented - SHORT_REACHABLE_TIME - {EARLY_RETRANSMISSION} <= found, report
    assert result.stats.ipv6 > 2000
    kinds = {f.flow.split()[0] for f in result.flows.values()}
    assert kinds == {"IPv6", "TCP"}
    # The allow-list turns the check green, as a CI of another stack would use it.
    allowed = check_capture(str(path), allow=load_allow_list(str(DOCUMENTED)))
    assert allowed.deviations == []
    # The TCP state inference followed every connection to its end.
    ends: dict[str, str] = {}
    for rec in result.transitions:
        ends[rec.entity] = rec.new
    assert len(ends) == 10 and set(ends.values()) <= {"CLOSED", "TIME_WAIT"}, ends


def test_tcpip6_talking_to_linux(topology: Topology, tmp_path: Path) -> None:
    """tcpip6's own capture of a live exchange with Linux: ND, ping, TCP into its discard
    service: no packet of tcpip6's deviates."""
    pcap = tmp_path / "host.pcap"
    host = netns.start_tcpip6_host(topology, pcap, "--serve", "discard")
    link_local = host.wait_for(netns.link_local_line()).group(1)
    out = topology.peer_run("ping", "-6", "-c", "3", "-i", "0.2", f"{link_local}%{netns.PEER_IF}")
    assert "3 received" in out, out
    sender = (
        "import socket, sys\n"
        "s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)\n"
        "s.settimeout(20)\n"
        "s.connect((sys.argv[1], 9, 0, int(sys.argv[2])))\n"
        "s.sendall(bytes(300000))\n"
        "s.close()\n"
    )
    index = topology.peer_run("cat", f"/sys/class/net/{netns.PEER_IF}/ifindex").strip()
    topology.peer_run("python3", "-c", sender, link_local, index)
    time.sleep(1.0)
    assert netns.stop(host) == 0
    result = check_capture(str(pcap))
    tcp = [f for f in result.flows.values() if f.flow.startswith("TCP")]
    # Linux hands tcpip6 coalesced segments of up to 64 KB (GRO on its veth): few packets.
    assert len(tcp) == 1 and tcp[0].packets > 10
    # Nothing tcpip6 sent deviates; Linux only as documented.
    senders = {c.frame: c.link_source for c in read_capture(pcap)}
    mac = topology.host_mac()
    assert [d for d in result.deviations if senders[d.frame] == mac] == []
    documented = {(a.rule, a.rfc) for a in load_allow_list(str(DOCUMENTED))}
    assert {(d.rule, d.rfc) for d in result.deviations} <= documented
    ends = {rec.entity: rec.new for rec in result.transitions}
    assert sorted(ends.values()) in (["CLOSED", "TIME_WAIT"], ["CLOSED", "CLOSED"]), ends


UDP_SEND = (
    "import socket, sys\n"
    "socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).sendto(b'nud', (sys.argv[1], 7))\n"
)


def test_linux_timers_and_a_simultaneous_close(tmp_path: Path) -> None:
    """Linux with a Linux bridge as MLD querier (General Queries every 2 s, Maximum
    Response Delay 1 s), a simultaneous close, and NUD: a datagram, then silence while
    ReachableTime passes (DELAY, then PROBE: a unicast NS, answered), then b deaf to its
    unicast NSs (MAX_UNICAST_SOLICIT unanswered probes, the entry FAILED) and resolution
    again. Judged by the MLD, NUD and TCP rules; the facts they judge are counted here with
    scapy and read from the kernel (ip neigh, sysctl)."""
    assert shutil.which("dumpcap") and shutil.which("nft") and shutil.which("tc")
    path = tmp_path / "timers.pcapng"
    with linux_capture(path, querier=True) as lx:
        lx.run_a("ip", "addr", "add", f"{A_ADDR}/64", "dev", A_IF, "nodad")
        lx.run_b("ip", "addr", "add", f"{B_ADDR}/64", "dev", lx.b_if, "nodad")
        # BaseReachableTime 1 s (RFC 4861 §6.3.2 lets a router advertise it): ReachableTime
        # passes within the test. DELAY_FIRST_PROBE_TIME, RetransTimer, MAX_UNICAST_SOLICIT
        # stay the RFC's (Linux's defaults).
        lx.run_a("sysctl", "-qw", f"net.ipv6.neigh.{A_IF}.base_reachable_time_ms=1000")
        assert lx.run_a("sysctl", "-n", f"net.ipv6.neigh.{A_IF}.ucast_solicit").strip() == "3"
        time.sleep(0.5)
        lx.simultaneous_close(5006)
        # b counts the unicast NSs for its address (NUD probes; resolution's go to its
        # solicited-node address).
        lx.run_b("nft", "add table inet nud")
        lx.run_b("nft", "add chain inet nud inp { type filter hook input priority 0 ; }")
        probe = f"ip6 daddr {B_ADDR} icmpv6 type nd-neighbor-solicit"
        lx.run_b("nft", f"add rule inet nud inp {probe} counter")
        # One datagram, then silence: ReachableTime passes, DELAY (Linux enters it from
        # REACHABLE: the datagram was sent less than DELAY_FIRST_PROBE_TIME before), PROBE
        # after DELAY_FIRST_PROBE_TIME, answered.
        lx.run_a(sys.executable, "-c", UDP_SEND, B_ADDR)
        _wait_for(lambda: "packets 0 " not in lx.run_b("nft", "list chain inet nud inp"), 12.0)
        # Then b deaf to them: the next probes go unanswered until a gives up.
        lx.run_b("nft", f"add rule inet nud inp {probe} drop")
        _wait_for(lambda: "FAILED" in lx.run_a("ip", "-6", "neigh", "show", B_ADDR), 15.0)
        lx.run_b("nft", "delete table inet nud")
        # And a datagram resolves b again (multicast NS, answered).
        lx.run_a(sys.executable, "-c", UDP_SEND, B_ADDR)
        time.sleep(0.5)
    result = check_capture(str(path))
    report = "\n".join(d.format() for d in result.deviations)
    # Linux's only deviation here: a probe with nothing sent since the last confirmation
    # (its REACHABLE -> DELAY shortcut, its own probe counted as a use). Deterministic: a
    # sends b's address nothing between b's answer to the first probe and the next run.
    # The staging (rto_min 1 s on the routes, no tail loss probe) keeps Linux's other
    # documented deviation, a retransmission sooner than RFC 6298's 1 s, out of most runs
    # but not all on a loaded machine (one in three fresh-clone runs showed one at 0.56 s);
    # when it shows, it is the documented one, and the allow-list below must cover it.
    seen = {(d.rule, d.rfc) for d in result.deviations} - {EARLY_RETRANSMISSION}
    assert seen == SHORT_REACHABLE_TIME, report
    nud = [d for d in result.deviations if "2001:db8:c::b" in d.observed]
    assert nud and all("no packet sent to that neighbor since its last" in d.observed for d in nud)
    allowed = check_capture(str(path), allow=load_allow_list(str(DOCUMENTED)))
    assert allowed.deviations == []
    packets = list(PcapNgReader(str(path)))
    # MLD: queries from the bridge, and a's answers after them.
    queries = [float(p.time) for p in packets if p.haslayer(ICMPv6MLQuery)]
    assert len(queries) >= 5
    answers = [
        float(p.time) for p in packets if p.haslayer(ICMPv6MLReport) and float(p.time) > queries[0]
    ]
    assert len(answers) >= 2 * (len(queries) - 2)
    # NUD: a's unicast NSs for b: one answered probe, then MAX_UNICAST_SOLICIT unanswered.
    probes = [
        float(p.time)
        for p in packets
        if p.haslayer(ICMPv6ND_NS) and p[IPv6].dst == B_ADDR and p[ICMPv6ND_NS].tgt == B_ADDR
    ]
    assert len(probes) == 4, probes
    assert [round(b - a) for a, b in itertools.pairwise(probes[1:])] == [1, 1]
    # The simultaneous close: each FIN acknowledges nothing of the other's.
    # (The first FIN of each end: a retransmission of one, as in the comment above, is
    # the same FIN again.)
    first: dict[int, Any] = {}
    for p in packets:
        if p.haslayer(TCP) and p[TCP].flags.F:
            first.setdefault(p[TCP].sport, p[TCP])
    fins = list(first.values())
    assert len(fins) == 2, fins
    assert fins[0].ack == fins[1].seq and fins[1].ack == fins[0].seq
    paths: dict[str, list[str]] = {}
    for rec in result.transitions:
        paths.setdefault(rec.entity, []).append(rec.new)
    assert len(paths) == 2
    assert all(p[-3:] == ["FIN_WAIT_1", "CLOSING", "TIME_WAIT"] for p in paths.values()), paths
