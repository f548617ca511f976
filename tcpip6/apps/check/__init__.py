"""``tcpip6 check``: the RFC models judge a capture made by any stack.

A pcap or pcapng file goes in; every IPv6 packet is parsed with tcpip6's own parsers and
run through the rules of :mod:`~tcpip6.apps.check.icmp` (IPv6 fragments, ICMPv6 errors,
Neighbor Discovery, NUD, DAD, router solicitation, MLD) and :mod:`~tcpip6.apps.check.tcp`
(each TCP connection from both sides). Out comes, per conversation, how many packets were judged
and every deviation: frame number, time, rule, RFC section, what was seen and what the
model expected. The exit status is 1 when a deviation is found that the allow-list (a
TOML file of known, deliberate choices with their reasons) does not name, 2 for a file
that cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from collections import OrderedDict, defaultdict
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

from tcpip6.apps.check.icmp import IcmpChecker, Variables
from tcpip6.apps.check.packet import Deviation, Observed, observe
from tcpip6.apps.check.tcp import TcpChecker
from tcpip6.apps.command import Subparsers
from tcpip6.io.capture import CaptureError, CaptureStats, read_capture
from tcpip6.spec import rfc6298_rto as rto_spec
from tcpip6.stack.machines.graph import TransitionRecord
from tcpip6.stack.machines.tcp import GRAPH as TCP_GRAPH


@dataclass(frozen=True)
class Allowance:
    """A deviation a stack makes on purpose: matched by rule (and RFC, flow if given)."""

    rule: str
    reason: str
    rfc: str | None = None
    flow: str | None = None

    def allows(self, d: Deviation) -> bool:
        return (
            self.rule == d.rule
            and (self.rfc is None or self.rfc == d.rfc)
            and (self.flow is None or self.flow in d.flow)
        )


def load_allow_list(path: str) -> list[Allowance]:
    """``[[allow]]`` tables with ``rule`` and ``reason`` (``rfc``, ``flow`` optional).
    ValueError with a one-line message for anything else."""
    try:
        data = tomllib.loads(Path(path).read_text())
    except OSError as exc:
        raise ValueError(f"{path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: {exc}") from None
    entries = data.get("allow", [])
    if not isinstance(entries, list):
        raise ValueError(f"{path}: 'allow' is a list of tables ([[allow]])")
    out = []
    for i, entry in enumerate(entries, 1):
        if not isinstance(entry, dict) or not isinstance(entry.get("rule"), str):
            raise ValueError(f"{path}: allow entry {i} needs a 'rule' string")
        if not isinstance(entry.get("reason"), str) or not entry["reason"].strip():
            raise ValueError(f"{path}: allow entry {i} ({entry['rule']!r}) needs a 'reason'")
        unknown = set(entry) - {"rule", "reason", "rfc", "flow"}
        if unknown:
            raise ValueError(f"{path}: allow entry {i}: unknown key {sorted(unknown)[0]!r}")
        out.append(Allowance(entry["rule"], entry["reason"], entry.get("rfc"), entry.get("flow")))
    return out


@dataclass
class FlowReport:
    flow: str
    packets: int = 0
    deviations: list[Deviation] = field(default_factory=list)
    allowed: list[tuple[Deviation, str]] = field(default_factory=list)


@dataclass
class CheckResult:
    path: str
    stats: CaptureStats
    flows: dict[str, FlowReport]
    unparsed: dict[str, int]
    transitions: list[TransitionRecord]

    @property
    def deviations(self) -> list[Deviation]:
        return [d for f in self.flows.values() for d in f.deviations]

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.path,
            "frames": self.stats.frames,
            "ipv6_packets": self.stats.ipv6,
            "skipped": dict(self.stats.skipped),
            "unparsed": self.unparsed,
            "flows": [
                {
                    "flow": f.flow,
                    "packets": f.packets,
                    "deviations": [asdict(d) for d in f.deviations],
                    "allowed": [{**asdict(d), "reason": why} for d, why in f.allowed],
                }
                for f in self.flows.values()
            ],
            "deviations": len(self.deviations),
        }


def _flow_name(obs: Observed) -> str:
    if obs.tcp is not None:
        a = f"[{obs.src}]:{obs.tcp.src_port}"
        b = f"[{obs.dst}]:{obs.tcp.dst_port}"
        return f"TCP {min(a, b)} <> {max(a, b)}"
    a, b = sorted((str(obs.src), str(obs.dst)))
    return f"IPv6 {a} <> {b}"


def check_capture(
    path: str,
    variables: Variables | None = None,
    allow: list[Allowance] | None = None,
    min_rto: float = rto_spec.MIN_RTO,
) -> CheckResult:
    """Judge every IPv6 packet of the capture at ``path``. Raises CaptureError."""
    stats = CaptureStats()
    flows: dict[str, FlowReport] = {}
    unparsed: dict[str, int] = defaultdict(int)
    allow = allow or []

    def report(obs: Observed, rule: str, rfc: str, observed: str, expected: str) -> None:
        name = _flow_name(obs)
        d = Deviation(obs.frame, obs.time, name, rule, rfc, observed, expected)
        flow = flows.setdefault(name, FlowReport(name))
        for a in allow:
            if a.allows(d):
                flow.allowed.append((d, a.reason))
                return
        flow.deviations.append(d)

    icmp = IcmpChecker(variables or Variables(), report)
    tcp = TcpChecker(report, min_rto=min_rto)
    downstream = _Downstream()
    for captured in read_capture(path, stats):
        obs = observe(captured)
        if isinstance(obs, str):
            unparsed[obs.split(":")[0]] += 1
            continue
        if downstream.seen_before(obs):
            # The same packet captured again further along its path (a capture on both
            # sides of a router): judged once, where it was first seen.
            unparsed["seen again past a router"] += 1
            continue
        icmp.sent(obs)
        if obs.fragment is not None and not obs.fragment.is_atomic:
            flows.setdefault(_flow_name(obs), FlowReport(_flow_name(obs))).packets += 1
            whole = icmp.fragment(obs, captured.packet)
            if whole is None:
                continue
            reassembled = observe(replace(captured, packet=whole))
            if isinstance(reassembled, str):
                unparsed[reassembled.split(":")[0]] += 1
                continue
            obs = reassembled
            if obs.tcp is not None:
                report(
                    obs,
                    "TCP segment fragmented by its sender",
                    "RFC 9293 §3.7.1",
                    f"a segment of {len(obs.payload)} octets sent in fragments",
                    "segments no larger than Eff.snd.MSS plus the TCP header and options, so "
                    "that IP need not fragment them",
                )
        else:
            flows.setdefault(_flow_name(obs), FlowReport(_flow_name(obs))).packets += 1
        if obs.icmp is not None:
            icmp.icmp(obs)
            icmp.router_advertised(obs)
        elif obs.tcp is not None:
            tcp.segment(obs)
    return CheckResult(path, stats, flows, dict(unparsed), _records(tcp))


class _Downstream:
    """Packets seen at one capture point and again past a router: the same octets after
    the IPv6 header, the same addresses, a lower hop limit (RFC 8200 §3: each node that
    forwards decrements it). A retransmission by the sender keeps its hop limit."""

    LIMIT = 4096

    def __init__(self) -> None:
        self._seen: OrderedDict[bytes, int] = OrderedDict()

    def seen_before(self, obs: Observed) -> bool:
        key = obs.src.packed + obs.dst.packed + obs.payload
        earlier = self._seen.get(key)
        if earlier is not None and obs.header.hop_limit < earlier:
            self._seen[key] = obs.header.hop_limit
            return True
        self._seen[key] = obs.header.hop_limit
        self._seen.move_to_end(key)
        if len(self._seen) > self.LIMIT:
            self._seen.popitem(last=False)
        return False


def _records(tcp: TcpChecker) -> list[TransitionRecord]:
    """The inferred state changes that are rows of the TCP graph, as ``--trace`` writes
    them (``tcpip6 diagram tcp --highlight FILE`` draws them)."""
    declared = {(s, t, d) for s, d, t, _, _ in TCP_GRAPH.edges()}
    out = []
    for conn in tcp.connections.values():
        for (addr, port), old, trigger, new, t in conn.states:
            if (old, trigger, new) in declared:
                out.append(
                    TransitionRecord(
                        now=t,
                        graph="tcp",
                        entity=f"[{addr}]:{port}",
                        old=old,
                        trigger=trigger,
                        new=new,
                        rfc=TCP_GRAPH.rfc_of(old, trigger, new),
                    )
                )
    return sorted(out, key=lambda r: r.now or 0.0)


def print_report(result: CheckResult, out: TextIO) -> None:
    s = result.stats
    print(
        f"{result.path}: {s.frames} frames, {s.ipv6} IPv6 packets, {len(result.flows)} "
        f"conversations, {len(result.deviations)} deviations",
        file=out,
    )
    for flow in result.flows.values():
        allowed = f", {len(flow.allowed)} allowed" if flow.allowed else ""
        verdict = "accepted" if not flow.deviations else f"{len(flow.deviations)} deviations"
        print(f"  {flow.flow}: {flow.packets} packets, {verdict}{allowed}", file=out)
    for flow in result.flows.values():
        if flow.deviations:
            print(f"\n{flow.flow}", file=out)
            for d in flow.deviations:
                print(d.format(), file=out)
        for d, why in flow.allowed:
            print(f"  (allowed) frame {d.frame}: {d.rule} [{d.rfc}]: {why}", file=out)
    if result.unparsed:
        parts = ", ".join(f"{n} {why}" for why, n in sorted(result.unparsed.items()))
        print(f"not judged: {parts}", file=out)


def add_parser(subparsers: Subparsers) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "check",
        help="judge a capture of any stack against the RFC models",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Read a pcap or pcapng capture (Ethernet, raw IPv6, Linux cooked, loopback) and\n"
            "judge every IPv6 packet with the RFC models of tcpip6/spec: IPv6 fragments\n"
            "(RFC 8200, RFC 5722, RFC 7112), ICMPv6 errors (RFC 4443 §2.4), Neighbor\n"
            "Discovery validity (RFC 4861 §6.1, RFC 4861 §7.1), DAD (RFC 4862 §5.4), address\n"
            "resolution, unreachability detection and router solicitation timing\n"
            "(RFC 4861 §7.2.2, RFC 4861 §7.3.3, RFC 4861 §6.3.7), MLD reports within the\n"
            "Maximum Response Delay of the query (RFC 2710 §4, RFC 3810 §6.2),\n"
            "and each TCP connection: acknowledgments (RFC 9293 §3.4), the offered window\n"
            "(RFC 9293 §3.8.6), options as negotiated (RFC 7323, RFC 2018), retransmission\n"
            "timing (RFC 6298 §2.4, RFC 6298 §5.5).\n\n"
            "Exit status: 0 when nothing deviates, 1 when something does (and the allow-list\n"
            "does not name it), 2 when the capture cannot be read.\n\n"
            "An allow-list is TOML: [[allow]] tables with rule = '...', reason = '...' and\n"
            "optionally rfc = '...' and flow = '...' (a part of the conversation's name).\n\n"
            "example:\n  tcpip6 check linux.pcapng --allow linux-allow.toml --trace tcp.jsonl\n"
            "  tcpip6 diagram tcp --highlight tcp.jsonl --format svg --output tcp.svg"
        ),
    )
    p.add_argument("capture", help="a pcap or pcapng file")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--allow", metavar="FILE", help="TOML allow-list of deliberate deviations")
    p.add_argument(
        "--min-rto",
        type=float,
        default=rto_spec.MIN_RTO,
        help="the lowest retransmission timeout to accept (default %(default)s s, RFC 6298 §2.4)",
    )
    p.add_argument(
        "--retrans-timer",
        type=float,
        default=Variables().retrans_timer,
        help="RetransTimer for ND and DAD timing (default %(default)s s, RFC 4861 §10)",
    )
    p.add_argument(
        "--dad-transmits",
        type=int,
        default=Variables().dup_addr_detect_transmits,
        help="DupAddrDetectTransmits (default %(default)s, RFC 4862 §5.1)",
    )
    p.add_argument(
        "--delay-first-probe-time",
        type=float,
        default=Variables().delay_first_probe_time,
        help="DELAY_FIRST_PROBE_TIME for NUD timing (default %(default)s s, RFC 4861 §10; "
        "Linux: net.ipv6.neigh.IF.delay_first_probe_time)",
    )
    p.add_argument(
        "--trace",
        metavar="FILE.jsonl",
        help="write the inferred TCP state changes as JSON Lines for diagram --highlight",
    )
    return p


def run(args: argparse.Namespace) -> int:
    if (
        args.min_rto < 0
        or args.retrans_timer <= 0
        or args.dad_transmits < 0
        or args.delay_first_probe_time < 0
    ):
        print(
            "tcpip6 check: --min-rto, --retrans-timer, --dad-transmits, "
            "--delay-first-probe-time: positive values",
            file=sys.stderr,
        )
        return 2
    try:
        allow = load_allow_list(args.allow) if args.allow else []
        variables = Variables(
            retrans_timer=args.retrans_timer,
            dup_addr_detect_transmits=args.dad_transmits,
            delay_first_probe_time=args.delay_first_probe_time,
        )
        result = check_capture(args.capture, variables, allow, min_rto=args.min_rto)
    except (CaptureError, ValueError) as exc:
        print(f"tcpip6 check: {exc}", file=sys.stderr)
        return 2
    if args.trace:
        try:
            with open(args.trace, "w") as f:
                for rec in result.transitions:
                    f.write(json.dumps(asdict(rec)) + "\n")
        except OSError as exc:
            print(f"tcpip6 check: {args.trace}: {exc.strerror or exc}", file=sys.stderr)
            return 2
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        print_report(result, sys.stdout)
    return 1 if result.deviations else 0
