"""Segmentation offload (``PACKET_VNET_HDR``, tcpip6.io.rawsock) against the Linux kernel:
Linux sends 600 KB through tcpip6's echo service and gets it back byte for byte, while
tshark, capturing on the Linux end of the veth, sees only frames of at most the MTU from
tcpip6, none malformed, every TCP checksum valid; tcpip6 handed its link segments of
several MSS (its port's ``large_frames_sent``), which the kernel cut up. The same with
``--no-offload``: no large frames for the kernel, and the same clean wire, both when the
port cuts TCP's large segments itself (its software segmentation, ``soft_gso_frames_cut``,
sent many per sendmmsg) and with ``TCPIP6_SOFT_GSO=0`` (a segment per MSS from TCP).

The tcpip6 end of the veth computes no checksums in hardware for this test (``ethtool -K
veth-h tx off``): the kernel then completes each segment's checksum from the virtio-net
header's ``csum_start``/``csum_offset`` and the pseudo-header sum tcpip6 put in the field,
so a wrong convention shows as bad checksums on the wire (and as data Linux drops). With
the veth's checksum offload on, the kernel leaves them for a NIC that a veth does not have.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from scapy.layers.inet import TCP
from scapy.layers.l2 import Ether
from scapy.utils import rdpcap

from tests.interop import netns
from tests.interop.netns import HOST_IF, PEER_IF, LineReader, Topology
from tests.tshark import read

SIZE = 600_000

ECHO = """
import socket, sys, threading
data = bytes((i * 7 + (i >> 12)) % 251 for i in range(int(sys.argv[2])))
s = socket.create_connection((sys.argv[1], 7), timeout=30)
threading.Thread(target=lambda: (s.sendall(data), s.shutdown(socket.SHUT_WR))).start()
got = bytearray()
while chunk := s.recv(65536):
    got += chunk
print("echoed" if got == data else f"got {len(got)} octets, not the same")
"""


def start_capture(topology: Topology, pcap: Path) -> LineReader:
    """tshark on the Linux end: the TCP frames that come from tcpip6's end."""
    mac = topology.host_mac().hex(":")
    cmd = topology.in_peer(
        "tshark", "-n", "-i", PEER_IF, "-w", str(pcap), "-f", f"ether src {mac} and ip6 and tcp"
    )
    proc = topology.start(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    reader = LineReader(proc)
    reader.wait_for(r"Capturing on")
    return reader


@pytest.mark.parametrize(
    ("offload", "soft_gso"),
    [(True, False), (False, True), (False, False)],
    ids=["offload", "no-offload", "no-offload-per-segment"],
)
def test_the_wire_carries_mtu_sized_valid_segments(
    topology: Topology,
    tmp_path: Path,
    offload: bool,
    soft_gso: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TCPIP6_SOFT_GSO", "1" if soft_gso else "0")
    netns.sh(*topology.in_host("ethtool", "-K", HOST_IF, "tx", "off"))
    pcap = tmp_path / "peer.pcap"
    subprocess.run(["chmod", "a+rwx", str(tmp_path)], check=True)  # dumpcap may drop root
    capture = start_capture(topology, pcap)
    args = ["--serve", "echo"] + ([] if offload else ["--no-offload"])
    host = netns.start_tcpip6_host(topology, tmp_path / "host.pcap", *args)
    host.wait_for(rf"^link {HOST_IF} offload: " + ("gso\\+gro$" if offload else "off "))
    link_local = host.wait_for(netns.link_local_line()).group(1)
    host.wait_for(r"^serving echo ")
    echoed = subprocess.run(
        topology.in_peer(sys.executable, "-c", ECHO, f"{link_local}%{PEER_IF}", str(SIZE)),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert echoed.returncode == 0, echoed.stderr
    assert echoed.stdout.strip() == "echoed"
    counters = netns.show_json(tmp_path / "host.sock", "counters")
    port = counters["extra"][f"{HOST_IF} port"]
    if offload:
        assert port["large_frames_sent"] > 10
    else:
        assert port.get("large_frames_sent", 0) == 0
    if not offload:
        # Read many per recvmmsg, the checksums Linux left to the veth completed.
        assert port["recvmmsg_calls"] > 0 and port["checksums_completed"] > 10
    if soft_gso:
        assert port["soft_gso_frames_cut"] > 10
        assert 0 < port["sendmmsg_calls"] < port["frames_sent"] // 2
    else:
        assert port.get("soft_gso_frames_cut", 0) == 0
    assert (port.get("send_error_drop", 0), port.get("send_queue_full_drop", 0)) == (0, 0)
    assert netns.stop(host) == 0
    assert netns.stop(capture) == 0
    frames = read(pcap)
    assert not [f for f in frames if f.malformed or f.bad_checksum]
    ours = [Ether(bytes(p)) for p in rdpcap(str(pcap))]
    data = [e for e in ours if TCP in e and len(e[TCP].payload) > 0]
    assert sum(len(e[TCP].payload) for e in data) >= SIZE
    assert max(len(e) for e in ours) <= 14 + 1500
