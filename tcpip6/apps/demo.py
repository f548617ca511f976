"""``tcpip6 demo``: a simulated network boots, autoconfigures and pings (no root needed).

One Ethernet segment (simnet), a router advertising 2001:db8:1::/64, three tcpip6 hosts
that form link-local and global addresses (DAD, SLAAC), solicit the router, resolve each
other (ND) and ping each other; a fourth host configured by hand with an address already
in use detects the duplicate. Prints a timeline of frames and of graph state changes (with
the RFC section of each transition) and writes a pcap.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from ipaddress import IPv6Address, IPv6Network
from pathlib import Path

from tcpip6.apps.decode import summarize_frame
from tcpip6.io.sim import AdvertisingRouter, SimWorld
from tcpip6.stack.interface import Interface
from tcpip6.stack.machines.graph import TransitionRecord

PREFIX = IPv6Network("2001:db8:1::/64")


def run_demo(pcap_path: Path, trace: bool = False, trace_format: str = "text") -> int:
    world = SimWorld(seed=2026)
    timeline: list[tuple[float, int, str]] = []
    order = 0

    def on_frame(iface: Interface, frame: bytes, now: float) -> None:
        nonlocal order
        order += 1
        timeline.append((now, order, f"{iface.host.name} {iface.name} > {summarize_frame(frame)}"))

    def on_transition(rec: TransitionRecord) -> None:
        nonlocal order
        order += 1
        timeline.append(
            (
                rec.now or 0.0,
                order,
                f"  [{rec.graph}] {rec.entity}: {rec.old} --{rec.trigger}--> "
                f"{rec.new} (RFC {rec.rfc})",
            )
        )
        if trace:
            print(json.dumps(asdict(rec)) if trace_format == "json" else rec.format(), flush=True)

    pcap = world.capture(pcap_path)
    world.observers.append(on_frame)
    router = AdvertisingRouter(world, "lan0", [(PREFIX.network_address, 64)])
    hosts = {n: world.host(n) for n in ("a", "b", "c")}
    ifaces = {n: world.connect(h, "lan0") for n, h in hosts.items()}
    for host in hosts.values():
        host.trace_sink = on_transition
        host.start(world.now)

    if not trace:
        print("tcpip6 demo: a router and three hosts on one simulated Ethernet segment")
        print(f"  router {router.address} advertises {PREFIX}")
    world.run_for(8.0)

    addrs: dict[str, IPv6Address] = {}
    for n, iface in ifaces.items():
        addrs[n] = next(a for a in iface.source_candidates() if a in PREFIX)
    seq = 0
    for src in hosts:
        for dst in hosts:
            if src != dst:
                seq += 1
                hosts[src].icmpv6.send_echo_request(addrs[dst], 1, seq, b"tcpip6", world.now)
                world.run_for(1.0)

    dup = world.host("d")
    dup.trace_sink = on_transition
    idup = world.connect(dup, "lan0")
    idup.add_static_address(addrs["a"], 64, world.now)
    world.run_for(4.0)
    pcap.close()

    ok = True
    if not trace:
        print("\ntimeline (simulated seconds):")
        for now, _, text in sorted(timeline):
            print(f"  {now:8.4f}  {text}")
        print("\naddresses (like `ip -6 addr`):")
    for n, iface in [*ifaces.items(), ("d", idup)]:
        for nte in iface.addresses:
            if not trace:
                print(
                    f"  {n} {iface.name}: {nte.address}/{nte.prefix_length} "
                    f"{nte.state.name.lower()} {nte.origin.value}"
                )
    if not trace:
        print("\nping results:")
    for n, host in hosts.items():
        got = sorted(str(r.src) for r in host.icmpv6.echo_replies)
        want = sorted(str(addrs[m]) for m in hosts if m != n)
        ok &= got == want
        if not trace:
            print(f"  {n}: {len(got)} echo replies from {', '.join(got)}")
    duplicate = idup.addresses.get(addrs["a"])
    ok &= duplicate is not None and duplicate.state.name == "DUPLICATE"
    if not trace:
        print(
            f"  d: {addrs['a']} is a duplicate and is not used: "
            f"{duplicate is not None and duplicate.state.name == 'DUPLICATE'}"
        )
        print(f"\npcap: {pcap_path} ({pcap.frames} frames); open it with tshark -r or Wireshark")
    return 0 if ok else 1
