"""``tcpip6 demo``: a simulated network, its timeline, and its pcap (no root needed)."""

from __future__ import annotations

import json
from ipaddress import IPv6Address
from pathlib import Path

from tcpip6.apps.decode import summarize_frame
from tcpip6.io.sim import SimWorld
from tcpip6.stack.interface import Interface
from tcpip6.stack.machines.graph import TransitionRecord


def run_demo(pcap_path: Path, trace: bool = False, trace_format: str = "text") -> int:
    world = SimWorld(seed=2026)
    lines: list[tuple[float, str]] = []

    def record(iface: Interface, frame: bytes, now: float) -> None:
        lines.append((now, f"{iface.host.name:>3} {iface.name} > {summarize_frame(frame)}"))

    def on_transition(rec: TransitionRecord) -> None:
        if not trace:
            return
        if trace_format == "json":
            print(
                json.dumps(
                    rec.__dict__
                    if hasattr(rec, "__dict__")
                    else {f: getattr(rec, f) for f in rec.__slots__}
                )
            )
        else:
            print(rec.format())

    names = ("a", "b", "c")
    hosts = {n: world.host(n) for n in names}
    ifaces = {n: world.connect(h, "lan0") for n, h in hosts.items()}
    pcap = world.capture(pcap_path)
    world.observers.append(record)
    for host in hosts.values():
        host.trace_sink = on_transition
    addrs = {n: IPv6Address(f"fe80::{i + 1}") for i, n in enumerate(names)}
    for n, iface in ifaces.items():
        iface.add_static_address(addrs[n])
        for m, other in ifaces.items():
            if m != n:
                iface.add_static_neighbor(addrs[m], other.link.link_address)

    print("tcpip6 demo: three hosts on one simulated Ethernet segment (lan0)")
    for n, iface in ifaces.items():
        print(f"  {n}: {iface.name} {iface.link.link_address.hex(':')}  {addrs[n]}/64")
    world.run_for(0.1)
    seq = 0
    for src in names:
        for dst in names:
            if src != dst:
                seq += 1
                hosts[src].icmpv6.send_echo_request(addrs[dst], 1, seq, b"tcpip6 demo", world.now)
                world.run_for(0.5)
    world.run_for(1.0)
    pcap.close()

    print("\ntimeline (simulated seconds):")
    for now, text in lines:
        print(f"  {now:8.4f}  {text}")
    print("\nresults:")
    ok = True
    for n, host in hosts.items():
        got = sorted(str(r.src) for r in host.icmpv6.echo_replies)
        want = sorted(str(addrs[m]) for m in names if m != n)
        ok &= got == want
        print(f"  {n}: {len(got)} echo replies from {', '.join(got)}")
    print(f"\npcap: {pcap_path} ({pcap.frames} frames) — open it with tshark -r or Wireshark")
    return 0 if ok else 1
