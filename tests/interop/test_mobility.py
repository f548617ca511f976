"""The tcpip6 correspondent node (``tcpip6 host --mobility correspondent``, RFC 6275 §9)
against a mobile node made of scapy's MIPv6 layers on the Linux end of the veth: return
routability, a Binding Update and its acknowledgement, route optimisation both ways, the
status codes of RFC 6275 §9.5.1; tshark dissects every mobility message of the pcap; ``tcpip6
show bindings`` lists the binding."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.interop import netns
from tests.interop.netns import HOST_IF, PEER_IF, Topology

CN = "2001:db8:6::c"
HOME = "2001:db8:6::100"
COA = "2001:db8:6::201"


def test_mobile_node_binds_at_the_tcpip6_correspondent(topology: Topology, tmp_path: Path) -> None:
    topo = topology
    pcap = tmp_path / "cn.pcap"
    control = tmp_path / "cn.sock"
    # The Linux peer holds the home and care-of addresses, so that it answers tcpip6's
    # Neighbor Solicitations for them; the scapy mobile node does the rest.
    for addr in (HOME, COA):
        topo.peer_run("ip", "-6", "addr", "add", f"{addr}/64", "dev", PEER_IF, "nodad")
    host = netns.start_tcpip6_host(
        topo,
        pcap,
        "--control",
        str(control),
        "--address",
        f"{HOST_IF}={CN}/64",
        "--mobility",
        "correspondent",
    )
    host.wait_for(rf"^address {CN}/64 on {HOST_IF} preferred")
    mac = topo.host_mac().hex(":")
    done = subprocess.run(
        topo.in_peer(
            sys.executable, "-m", "tests.interop.mobile_node", PEER_IF, mac, CN, HOME, COA
        ),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=netns.REPO,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["hot"]["cookie"] == "homecook" and seen["cot"]["cookie"] == "coacook!"
    rh2 = [2, 1, [HOME]]
    # RFC 6275 §9.5.4: accepted, to the care-of address, the home address in a type 2 header.
    assert seen["bu"] == [{"status": 0, "seq": 10, "lifetime": 30, "dst": COA, "rh2": rh2}]
    assert seen["echo"] == [{"dst": COA, "rh2": [HOME], "data": "mip6"}]
    # RFC 6275 §9.5.1: a bad Authenticator is silently discarded; an old Sequence Number
    # gets status 135 with the last accepted number; RFC 6275 §9.5.2: a lifetime over
    # MAX_RR_BINDING_LIFETIME is cut to 420 s (105 units), accepted.
    assert seen["bad_authenticator"] == []
    assert seen["old_sequence"] == [
        {"status": 135, "seq": 10, "lifetime": 0, "dst": COA, "rh2": rh2}
    ]
    assert seen["long_lifetime"] == [
        {"status": 0, "seq": 12, "lifetime": 105, "dst": COA, "rh2": rh2}
    ]

    data = netns.show_json(control, "bindings")
    (entry,) = data["binding_cache"]
    assert (entry["home_address"], entry["care_of_address"], entry["sequence_number"]) == (
        HOME,
        COA,
        12,
    )
    assert entry["state"] == "BOUND" and entry["lifetime"] == 420.0
    assert data["counters"]["bu_authenticator_drop"] == 1
    assert data["counters"]["bu_sequence_refused"] == 1
    text = subprocess.run(
        [sys.executable, "-m", "tcpip6", "show", "--control", str(control), "bindings"],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=netns.REPO,
    ).stdout
    assert f"  {HOME} via {COA} seq 12" in text
    assert netns.stop(host) == 0

    # tshark dissects every mobility message in the pcap, without a malformed packet or an
    # expert warning about them.
    names = subprocess.run(
        ["tshark", "-r", str(pcap), "-Y", "mipv6", "-T", "fields", "-e", "mip6.mhtype"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert names.returncode == 0, names.stderr
    types = sorted({int(t) for t in names.stdout.split()})
    assert types == [1, 2, 3, 4, 5, 6], types  # HoTI, CoTI, HoT, CoT, BU, BA
    bad = subprocess.run(
        [
            "tshark",
            "-r",
            str(pcap),
            "-Y",
            "mipv6 and (_ws.malformed or _ws.expert.severity >= warning)",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 0 and bad.stdout == "", bad.stdout
