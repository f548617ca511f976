"""A live tcpip6 host under floods (``make stress``, root): in network namespaces, a Linux
peer floods tcpip6 for ``--seconds`` each with

- ``syn``: SYNs to the echo port from spoofed on-link sources (random fe80::/64 addresses
  behind the flooder's MAC, random ports): the SYN queue, SYN cookies, SynAttackProtect
  (RFC 4987), and the neighbor cache that must resolve each source to answer (RFC 6583);
- ``fragment``: first fragments that never complete, random sources and identifications
  (RFC 8200 §4.5 reassembly; the oldest incomplete packet is evicted);
- ``ns``: Neighbor Solicitations from random sources with a Source Link-Layer Address,
  half for tcpip6's own address (each answered, each a new STALE entry), half for random
  targets on the link (RFC 4861 §7.2.3, RFC 6583);
- ``ra``: Router Advertisements from random routers, each with a new on-link, autonomous
  /64 (the prefix and Default Router Lists and the addresses stay bounded: full lists
  refuse and count, RFC 4861 §6.3.4);
- ``mld``: MLDv1 and MLDv2 reports for random groups (RFC 2710, RFC 3810);
- ``icmp-error``: Packet Too Big and Destination Unreachable from random on-link sources
  quoting TCP segments: half the live connection's 4-tuple with random sequence numbers,
  half random 4-tuples (RFC 5927);
- ``blind``: RSTs, SYNs and data at the live connection's 4-tuple with random sequence and
  acknowledgment numbers (RFC 5961 challenge ACKs);

and, while each flood runs and right after it, the Linux kernel of the same peer (its
real address, not spoofed) opens a TCP connection to tcpip6's echo service and pings it;
a connection opened before the flood (the live one) must still echo after it::

    ns peer-PID-N (Linux: flooder on a packet socket, echo client, ping)
       veth-p <==== veth ====> veth-h   ns host-PID-N (tcpip6 host --serve echo)

Each row: frames sent and their rate, the echo during the flood (succeeded, seconds to
the answer), the echo right after (seconds to the answer), ping RTT after (ms, average of
5), whether the live connection survived, tcpip6's counters that moved (``tcpip6 show
counters --json``), its peak RSS, and how far behind its driver ran its timers (the
largest gap between a timer's deadline and the time it ran, ``extra/driver`` counters),
and whether the transfers were still running when it ended.

All floods aim at one tcpip6 host, one after the other, while ``--octets`` go each way
between the Linux kernel and it through a lossy, reordering, duplicating link
(bench/lossy.py, only that connection's packets); they must come back identical, and
tcpip6's peak RSS stay under ``RSS_BOUND_MB``. The JSON goes to
``bench/results/stress-<date>.json``. Namespaces are removed at the end, also on failure.
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.lossy import finish_transfer, lossy_link, start_transfer
from tests.interop import netns

HERE = Path(__file__).resolve().parent
ECHO_PORT = 7
#: Right after a flood, a fresh TCP echo answers within this many seconds.
AFTER_LIMIT = 1.0
#: tcpip6's resident set stays under this through every flood and both transfers (its
#: caches and queues are bounded; the transfers' buffers are the send and receive windows).
RSS_BOUND_MB = 150
FLOODS = ("syn", "fragment", "ns", "ra", "mld", "icmp-error", "blind")

#: The flooder, run in the peer namespace: frames built by scapy once (2,048 distinct
#: ones), then sent as fast as a packet socket takes them for the given seconds; prints
#: how many went out.
FLOODER = r"""
import json, random, socket, sys, time
from scapy.layers.inet import TCP
from scapy.layers.inet6 import (IPv6, IPv6ExtHdrFragment, ICMPv6ND_NS,
    ICMPv6NDOptSrcLLAddr, ICMPv6ND_RA, ICMPv6NDOptPrefixInfo, ICMPv6MLReport,
    ICMPv6MLReport2, ICMPv6MLDMultAddrRec, ICMPv6PacketTooBig, ICMPv6DestUnreach,
    IPv6ExtHdrHopByHop, RouterAlert, UDP)
from scapy.layers.l2 import Ether
kind, ifname, dst_mac, dst, port, seconds, peer, peer_port = sys.argv[1:9]
src_mac = open(f"/sys/class/net/{ifname}/address").read().strip()
rng = random.Random(17)
def spoofed():
    return "fe80::%x:%x:%x:%x" % tuple(rng.getrandbits(16) for _ in range(4))
def random_mac():
    return "02:00:%02x:%02x:%02x:%02x" % tuple(rng.getrandbits(8) for _ in range(4))
frames = []
for i in range(2048):
    src = spoofed()
    eth = Ether(src=src_mac, dst=dst_mac)
    if kind == "ra":
        # RFC 4861 §6.3.4: each RA from a new router, with a new /64 (on-link, autonomous).
        prefix = "2001:db8:%x:%x::" % (rng.getrandbits(16), rng.getrandbits(16))
        l3 = (IPv6(src=src, dst="ff02::1", hlim=255) / ICMPv6ND_RA(routerlifetime=1800)
              / ICMPv6NDOptSrcLLAddr(lladdr=random_mac())
              / ICMPv6NDOptPrefixInfo(prefix=prefix, prefixlen=64, L=1, A=1,
                                      validlifetime=86400, preferredlifetime=14400))
        eth = Ether(src=src_mac, dst="33:33:00:00:00:01")
    elif kind == "mld":
        # RFC 2710 §3 / RFC 3810 §5.2: reports for random groups, Router Alert, hop limit 1.
        # A third for tcpip6's own solicited-node group (it hears those: report
        # suppression, RFC 2710 §4), a third for random groups, a third MLDv2 to ff02::16.
        group = "ff0e::%x:%x" % (rng.getrandbits(16), rng.getrandbits(16))
        if i % 3 == 0:
            own = int.from_bytes(socket.inet_pton(socket.AF_INET6, dst)[-3:], "big")
            group = "ff02::1:ff%02x:%04x" % (own >> 16, own & 0xFFFF)
        hbh = IPv6ExtHdrHopByHop(options=[RouterAlert(value=0)])
        if i % 3 != 2:
            l3 = IPv6(src=src, dst=group, hlim=1) / hbh / ICMPv6MLReport(mladdr=group)
            eth = Ether(src=src_mac, dst="33:33:" + ":".join(
                "%02x" % b for b in socket.inet_pton(socket.AF_INET6, group)[-4:]))
        else:
            rec = ICMPv6MLDMultAddrRec(rtype=4, dst=group)
            l3 = IPv6(src=src, dst="ff02::16", hlim=1) / hbh / ICMPv6MLReport2(records=[rec])
            eth = Ether(src=src_mac, dst="33:33:00:00:00:16")
    elif kind == "icmp-error":
        # RFC 5927 §4-5: errors from random on-link routers quoting TCP segments tcpip6
        # would have sent: half the live connection with a random sequence number, half
        # random 4-tuples from tcpip6's echo port.
        live = i % 2 == 0
        quoted = IPv6(src=dst, dst=peer if live else spoofed()) / TCP(
            sport=int(port), dport=int(peer_port) if live else rng.randrange(1024, 65536),
            seq=rng.getrandbits(32), flags="A")
        err = (ICMPv6PacketTooBig(mtu=1280) if i % 4 < 2
               else ICMPv6DestUnreach(code=rng.choice((1, 3, 4))))
        l3 = IPv6(src=src, dst=dst) / err / quoted
    elif kind == "blind":
        # RFC 5961 §3-5: RSTs, SYNs and data at the live connection's 4-tuple with random
        # sequence numbers (the peer's own address: an off-path attacker's best guess).
        flags = ("R", "S", "PA", "RA")[i % 4]
        payload = b"blind data" if flags == "PA" else b""
        l3 = IPv6(src=peer, dst=dst) / TCP(sport=int(peer_port), dport=int(port),
            flags=flags, seq=rng.getrandbits(32), ack=rng.getrandbits(32)) / payload
    elif kind == "syn":
        l3 = IPv6(src=src, dst=dst) / TCP(sport=rng.randrange(1024, 65536), dport=int(port),
            flags="S", seq=rng.getrandbits(32), options=[("MSS", 1440)])
    elif kind == "fragment":
        l3 = (IPv6(src=src, dst=dst) / IPv6ExtHdrFragment(id=rng.getrandbits(32), m=1,
            offset=0) / UDP(sport=1000, dport=9, len=1008) / (b"x" * 1000))
    else:
        target = dst if i % 2 == 0 else spoofed()
        mac = "02:00:%02x:%02x:%02x:%02x" % tuple(rng.getrandbits(8) for _ in range(4))
        tgt = int.from_bytes(socket.inet_pton(socket.AF_INET6, target)[-3:], "big")
        group = "ff02::1:ff%02x:%04x" % (tgt >> 16, tgt & 0xFFFF)
        l3 = (IPv6(src=src, dst=group, hlim=255) / ICMPv6ND_NS(tgt=target)
              / ICMPv6NDOptSrcLLAddr(lladdr=mac))
        eth = Ether(src=src_mac, dst="33:33:ff:%02x:%02x:%02x" % (
            tgt >> 16, tgt >> 8 & 0xFF, tgt & 0xFF))
    frames.append(bytes(eth / l3))
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((ifname, 0))
print("ready", flush=True)
sent, end = 0, time.monotonic() + float(seconds)
while time.monotonic() < end:
    for f in frames[:256]:
        try:
            s.send(f)
            sent += 1
        except OSError:
            pass
    frames = frames[256:] + frames[:256]
print(json.dumps({"sent": sent}), flush=True)
"""

#: The legitimate client, in the peer namespace with the kernel's own address: connect to
#: the echo port, send a line, read it back; prints the outcome and the seconds it took.
ECHO_CLIENT = r"""
import json, socket, sys, time
addr, port, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
t0 = time.monotonic()
try:
    s = socket.create_connection((addr, port), timeout=timeout)
    s.settimeout(max(0.1, timeout - (time.monotonic() - t0)))
    s.sendall(b"hello through the flood\n")
    got = b""
    while len(got) < 24:
        b = s.recv(100)
        if not b:
            break
        got += b
    s.close()
    ok = got == b"hello through the flood\n"
except OSError as e:
    ok, got = False, str(e).encode()
print(json.dumps({"ok": ok, "seconds": round(time.monotonic() - t0, 4)}), flush=True)
"""


#: A live connection, in the peer namespace: connect to the echo port, print the 4-tuple's
#: peer side, hold it through the flood (the blind and ICMPv6-error floods aim at it), then
#: at a line on stdin send a line and read it back: did the connection survive?
HOLDER = r"""
import json, socket, sys, time
addr, port = sys.argv[1], int(sys.argv[2])
s = socket.create_connection((addr, port), timeout=5)
local = s.getsockname()
print(json.dumps({"addr": local[0].split("%")[0], "port": local[1]}), flush=True)
sys.stdin.readline()
try:
    s.settimeout(5)
    s.sendall(b"still here after the flood\n")
    got = b""
    while len(got) < 27:
        b = s.recv(100)
        if not b:
            break
        got += b
    ok = got == b"still here after the flood\n"
except OSError:
    ok = False
print(json.dumps({"ok": ok}), flush=True)
"""


def in_peer(topo: netns.Topology, code: str, *args: str) -> list[str]:
    return topo.in_peer(sys.executable, "-c", code, *args)


def echo(topo: netns.Topology, target: str, timeout: float) -> dict[str, Any]:
    out = subprocess.run(
        in_peer(topo, ECHO_CLIENT, target, str(ECHO_PORT), str(timeout)),
        capture_output=True,
        text=True,
        timeout=timeout + 30,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def ping_ms(topo: netns.Topology, target: str) -> float | None:
    out = subprocess.run(
        topo.in_peer("ping", "-6", "-n", "-q", "-c", "5", "-i", "0.2", "-W", "1", target),
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout
    m = re.search(r"= [\d.]+/([\d.]+)/", out)
    return float(m.group(1)) if m else None


def counters(control: Path) -> dict[str, Any]:
    out = netns.sh(
        sys.executable, "-m", "tcpip6", "show", "counters", "--json", "--control", str(control)
    )
    result: dict[str, Any] = json.loads(out)
    return result


def peak_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def flat(data: dict[str, Any], prefix: str = "") -> dict[str, int]:
    """Every counter as ``group/.../name``."""
    out: dict[str, int] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(flat(value, f"{prefix}{key}/"))
        elif isinstance(value, int):
            out[f"{prefix}{key}"] = value
    return out


def moved(before: dict[str, Any], after: dict[str, Any]) -> dict[str, int]:
    """The counters that changed: after - before."""
    old, new = flat(before), flat(after)
    return {k: v - old.get(k, 0) for k, v in new.items() if v != old.get(k, 0)}


def moved_counter(before: dict[str, Any], after: dict[str, Any], name: str) -> int:
    old, new = before["extra"]["driver"], after["extra"]["driver"]
    return int(new[name]) - int(old[name])


@dataclass
class Live:
    """The tcpip6 host the floods aim at."""

    topo: netns.Topology
    host: netns.LineReader
    control: Path
    link_local: str

    @property
    def target(self) -> str:
        return f"{self.link_local}%{netns.PEER_IF}"


def flood_row(live: Live, kind: str, seconds: float) -> dict[str, Any]:
    """One flood against the running host."""
    topo, control, target = live.topo, live.control, live.target
    mac = topo.host_mac().hex(":")
    warm = echo(topo, target, 5.0)  # also resolves each other (REACHABLE both ways)
    holder = topo.start(
        in_peer(topo, HOLDER, target, str(ECHO_PORT)),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert holder.stdout is not None and holder.stdin is not None
    conn = json.loads(holder.stdout.readline())
    before = counters(control)
    args: tuple[str, ...] = (
        kind,
        netns.PEER_IF,
        mac,
        live.link_local,
        str(ECHO_PORT),
        str(seconds),
    )
    args += (str(conn["addr"]), str(conn["port"]))
    flooder = topo.start(in_peer(topo, FLOODER, *args), stdout=subprocess.PIPE)
    assert flooder.stdout is not None
    assert flooder.stdout.readline().strip() == "ready"
    t0 = time.monotonic()
    time.sleep(min(1.0, seconds / 3))
    during = echo(topo, target, 5.0)
    out, _ = flooder.communicate(timeout=seconds + 60)
    flood_seconds = time.monotonic() - t0
    sent = json.loads(out.strip().splitlines()[-1])["sent"]
    after = echo(topo, target, 5.0)
    rtt = ping_ms(topo, target)
    holder.stdin.write("go\n")
    holder.stdin.flush()
    survived = json.loads(holder.communicate(timeout=30)[0].strip().splitlines()[-1])["ok"]
    after_counters = counters(control)
    return {
        "flood": kind,
        "frames_sent": sent,
        "frames_per_second": round(sent / max(flood_seconds, 1e-9)),
        "echo_before": warm,
        "echo_during": during,
        "echo_after": after,
        "ping_after_ms": rtt,
        "live_connection_survived": survived,
        "rss_peak_kb": peak_rss_kb(live.host.proc.pid),
        # How far behind the driver ran its timers (since the host started).
        "timer_lag_max_ms": round(after_counters["extra"]["driver"]["timer_lag_max_us"] / 1e3, 1),
        "timers_run_late": moved_counter(before, after_counters, "timers_run_late"),
        "counters": moved(before, after_counters),
    }


def run(
    kinds: Sequence[str], seconds: float, tmp: Path, transfer_args: tuple[int, int, int, int]
) -> tuple[list[dict[str, Any]], dict[str, Any] | None, int]:
    """One tcpip6 host; the lossy transfers (when ``octets``, the first of
    ``transfer_args``, is not 0) started first, then each flood while they run; the rows,
    the transfer's row and the host's peak RSS (kB)."""
    octets = transfer_args[0]
    with netns.topology() as topo:
        transfer = lossy_link(topo, *transfer_args) if octets else None
        control = tmp / "stress.sock"
        host = netns.start_tcpip6_host(
            topo, tmp / "stress.pcap", "--control", str(control), "--serve", "echo"
        )
        link_local = host.wait_for(netns.link_local_line()).group(1)
        host.wait_for(rf"^control socket {control}$")
        live = Live(topo, host, control, link_local)
        if transfer is not None:
            start_transfer(transfer, live.target)
        rows = []
        for kind in kinds:
            row = flood_row(live, kind, seconds)
            client = None if transfer is None else transfer.client
            row["transfer"] = (
                "none" if client is None else "running" if client.poll() is None else "ended"
            )
            rows.append(row)
        transfer_row = None if transfer is None else finish_transfer(transfer, control)
        rss = peak_rss_kb(host.proc.pid)
        assert netns.stop(host) == 0, host.rest()
    return rows, transfer_row, rss


def table(rows: list[dict[str, Any]]) -> str:
    head = f"{'flood':10} {'sent':>9} {'frames/s':>9} {'echo during':>13} {'echo after':>11} "
    head += f"{'ping after':>11} {'RSS peak':>9} {'live conn':>9} {'timer lag':>10} "
    head += f"{'transfers':>9}"
    lines = [head]
    for r in rows:
        d, a = r["echo_during"], r["echo_after"]
        during = f"{d['seconds']:.3f} s" if d["ok"] else "failed"
        after = f"{a['seconds']:.3f} s" if a["ok"] else "failed"
        ping = f"{r['ping_after_ms']:.2f} ms" if r["ping_after_ms"] is not None else "none"
        lines.append(
            f"{r['flood']:10} {r['frames_sent']:>9} {r['frames_per_second']:>9} "
            f"{during:>13} {after:>11} {ping:>11} {r['rss_peak_kb'] // 1024:>6} MB "
            f"{'intact' if r['live_connection_survived'] else 'LOST':>9} "
            f"{r['timer_lag_max_ms']:>7.1f} ms {r['transfer']:>9}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.stress", description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0, help="each flood's length")
    parser.add_argument("--only", action="append", choices=FLOODS, help="one flood")
    parser.add_argument(
        "--no-floods", action="store_true", help="the lossy transfer alone (make lossy)"
    )
    parser.add_argument(
        "--octets", type=int, default=50_000_000, help="the lossy transfer, each way (0: none)"
    )
    parser.add_argument("--loss", type=int, default=2, help="percent of TCP dropped each way")
    parser.add_argument("--reorder-every", type=int, default=20, help="one packet in N reordered")
    parser.add_argument(
        "--duplicate-every", type=int, default=25, help="one of Linux's packets in N duplicated"
    )
    parser.add_argument("--output", type=Path, default=HERE / "results", help="JSON directory")
    args = parser.parse_args(argv)
    tmp = Path(subprocess.check_output(["mktemp", "-d"], text=True).strip())
    floods = () if args.no_floods else args.only or FLOODS
    transfer_args = (args.octets, args.loss, args.reorder_every, args.duplicate_every)
    rows, transfer, rss = run(floods, args.seconds, tmp, transfer_args)
    if rows:
        print(table(rows))
    print(f"tcpip6 RSS peak {rss // 1024} MB (bound {RSS_BOUND_MB} MB)")
    if transfer is not None:
        outcome = "identical" if transfer["identical"] else "NOT identical"
        print(f"transfers{' during the floods' if rows else ''}: {outcome}")
        print(
            f"lossy link ({args.loss} % dropped each way, 1 in {args.reorder_every} reordered, "
            f"1 in {args.duplicate_every} duplicated): "
            f"{args.octets} octets each way, identical {transfer['identical']}, "
            f"{transfer['seconds']} s ({transfer['goodput_MBps_each_way']} MB/s each way), "
            f"tcpip6 retransmitted {transfer['tcpip6_retransmitted_segments']} "
            f"(timeouts {transfer['tcpip6_timeouts']}), Linux retransmitted "
            f"{transfer['linux_retrans_segs']}"
        )
    args.output.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%d-%H%M%S")
    path = args.output / f"stress-{stamp}.json"
    record = {
        "kind": "stress",
        "seconds": args.seconds,
        "rows": rows,
        "lossy_transfer": transfer,
        "rss_peak_kb": rss,
        "rss_bound_mb": RSS_BOUND_MB,
    }
    path.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {path}")
    # The bar: a legitimate echo answers during each flood, and within 1 s right after it.
    failed = [
        r["flood"]
        for r in rows
        if not (r["echo_during"]["ok"] and r["echo_after"]["ok"])
        or r["echo_after"]["seconds"] > AFTER_LIMIT
        or not r["live_connection_survived"]
    ]
    if transfer is not None and not transfer["identical"]:
        failed.append("lossy transfer")
    if rss > RSS_BOUND_MB * 1024:
        failed.append(f"RSS {rss // 1024} MB over {RSS_BOUND_MB} MB")
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
