"""Optimistic DAD (RFC 4429) of the live host against the Linux kernel.

tcpip6 host (Optimistic DAD on, its default) on one end of a veth pair, radvd and the Linux
kernel on the other: Linux reaches tcpip6's link-local and autoconfigured addresses while
they are optimistic, before their DAD can have ended, and the Neighbor Advertisements
tcpip6 sends for them keep the Override flag clear (scapy reads tcpip6's pcap). With the
Linux peer holding the link-local address tcpip6 would form, tcpip6 still finds the
duplicate and stops using it.
"""

from __future__ import annotations

from ipaddress import IPv6Address
from pathlib import Path

from scapy.layers import inet6 as s6
from scapy.layers.l2 import Ether

from tcpip6.io.pcap import read_pcap
from tests.interop import netns
from tests.interop.netns import HOST_IF, PEER_IF, Topology

PREFIX = "2001:db8:4429:"
PEER_GLOBAL = "2001:db8:4429::1"
#: RFC 4861 §10: RetransTimer; DupAddrDetectTransmits is 1 (RFC 4862 §5.1).
RETRANS_TIMER = 1.0


def _eui64_link_local(mac: bytes) -> IPv6Address:
    """RFC 4291 §2.5.1 / RFC 2464 §4: the modified EUI-64 of a MAC, under fe80::/64."""
    iid = bytes([mac[0] ^ 0x02, *mac[1:3], 0xFF, 0xFE, *mac[3:]])
    return IPv6Address(b"\xfe\x80" + bytes(6) + iid)


def _ping(topo: Topology, target: str) -> str:
    return topo.peer_run("ping", "-6", "-c", "1", "-W", "1", target)


def test_linux_reaches_optimistic_addresses_before_their_dad_ends(
    topology: Topology, tmp_path: Path
) -> None:
    topology.start_radvd(netns.radvd_conf(f"{PREFIX}:/64"), tmp_path, peer_address=PEER_GLOBAL)
    pcap = tmp_path / "host.pcap"
    host = netns.start_tcpip6_host(topology, pcap)
    usable = rf"/64 on {HOST_IF} optimistic \((link-local|autoconf); DAD running\)"
    lla = host.wait_for(rf"^address (fe80::[0-9a-f:]+){usable}").group(1)
    out = _ping(topology, f"{lla}%{PEER_IF}")
    assert "1 received" in out, out
    gua = host.wait_for(rf"^address ({PREFIX}[0-9a-f:]+){usable}").group(1)
    out = _ping(topology, gua)
    assert "1 received" in out, out
    host.wait_for(rf"^address {gua}/64 on {HOST_IF} preferred \(autoconf; DAD: no duplicate\)")
    assert netns.stop(host) == 0

    frames = [(t, Ether(f)) for t, f in read_pcap(pcap)]
    for address in (lla, gua):
        # The DAD NS (from ::) starts the RetransTimer after which DAD ends; the echo reply
        # from the address left before that.
        dad_ns = [
            t
            for t, f in frames
            if f.haslayer(s6.ICMPv6ND_NS)
            and f[s6.IPv6].src == "::"
            and f[s6.ICMPv6ND_NS].tgt == address
        ]
        replies = [
            t for t, f in frames if f.haslayer(s6.ICMPv6EchoReply) and f[s6.IPv6].src == address
        ]
        assert len(dad_ns) == 1 and replies, (address, dad_ns, replies)
        assert replies[0] < dad_ns[0] + RETRANS_TIMER, (address, replies[0] - dad_ns[0])
        # RFC 4429 §2.2: the NAs tcpip6 sent for it while optimistic do not override.
        na = [
            f[s6.ICMPv6ND_NA]
            for t, f in frames
            if f.haslayer(s6.ICMPv6ND_NA)
            and f[s6.ICMPv6ND_NA].tgt == address
            and t < dad_ns[0] + RETRANS_TIMER
        ]
        assert na and all(n.O == 0 for n in na), (address, [n.O for n in na])
    # RFC 4429 §3.2: no NS from an optimistic address, no SLLAO in an RS from one.
    for t, f in frames:
        if f.haslayer(s6.ICMPv6ND_RS) and f[s6.IPv6].src == lla:
            dad = next(
                t0 for t0, g in frames if g.haslayer(s6.ICMPv6ND_NS) and g[s6.IPv6].src == "::"
            )
            if t < dad + RETRANS_TIMER:
                assert not f.haslayer(s6.ICMPv6NDOptSrcLLAddr)


def test_a_duplicate_of_an_optimistic_address_is_found(topology: Topology, tmp_path: Path) -> None:
    """Linux holds the link-local address tcpip6 forms from its MAC: tcpip6 says the
    address is optimistic, sends its DAD NS, and on Linux's NA marks it duplicate."""
    lla = _eui64_link_local(topology.host_mac())
    topology.peer_run("ip", "-6", "addr", "add", f"{lla}/64", "dev", PEER_IF, "nodad")
    host = netns.start_tcpip6_host(topology, tmp_path / "host.pcap")
    host.wait_for(rf"^address {lla}/64 on {HOST_IF} optimistic \(link-local; DAD running\)")
    host.wait_for(rf"^address {lla} on {HOST_IF} duplicate \(DAD: another node has it")
    assert netns.stop(host) == 0
    lines = host.rest()
    assert not any(f"address {lla}/64 on {HOST_IF} preferred" in line for line in lines), lines
