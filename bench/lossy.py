"""Transfers through a bad link between the Linux kernel and tcpip6 (``make stress``,
root): in network namespaces, the Linux peer sends ``--octets`` of random bytes to
tcpip6's echo service (RFC 862) and reads them back, so that both directions carry them
at once; nftables in the peer drops ``--loss`` % of the TCP packets each way
(``numgen random``, this kernel has no netem) and ip6tables queues the rest to an NFQUEUE
program
(bench/nfqueue.py) that lets one packet in ``--reorder-every`` be overtaken by the next
and sends one of Linux's packets in ``--duplicate-every`` twice (only the transfer's
connection, from port ``CLIENT_PORT``, is touched)::

    ns peer-PID-N (Linux: echo client; nft: drop; ip6tables: NFQUEUE 3 to bench.nfqueue)
       veth-p <==== veth ====> veth-h   ns host-PID-N (tcpip6 host --serve echo)

The row: whether the bytes came back identical (SHA-256 of what was sent and of what came
back), seconds, goodput each way, tcpip6's retransmitted segments and timeouts, the
kernel's TCP RetransSegs, and the packets dropped, reordered and duplicated.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.interop import netns

ECHO_PORT = 7
QUEUE = 3
#: The Linux client's port: the lossy rules and the NFQUEUE program take only its packets.
CLIENT_PORT = 40007

#: The Linux client: a writer thread sends the bytes while the main thread reads the echo.
CLIENT = r"""
import hashlib, json, random, socket, sys, threading, time
addr, port, octets, timeout = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
data = random.Random(6).randbytes(octets)
s = socket.create_connection((addr, port), timeout=timeout, source_address=("::", int(sys.argv[5])))
print("connected", flush=True)
t0 = time.monotonic()
def write():
    view = memoryview(data)
    for off in range(0, octets, 65536):
        s.sendall(view[off:off + 65536])
threading.Thread(target=write, daemon=True).start()
got = hashlib.sha256(); n = 0
while n < octets:
    b = s.recv(1 << 20)
    if not b:
        break
    got.update(b); n += len(b)
seconds = time.monotonic() - t0
s.close()
print(json.dumps({"octets_back": n, "seconds": round(seconds, 3),
                  "identical": got.hexdigest() == hashlib.sha256(data).hexdigest()}))
"""


def kernel_retrans(topo: netns.Topology) -> int:
    lines = topo.peer_run("cat", "/proc/net/snmp").splitlines()
    tcp = [line.split() for line in lines if line.startswith("Tcp:")]
    return int(tcp[1][tcp[0].index("RetransSegs")])


def nft_counters(topo: netns.Topology) -> dict[str, int]:
    out = json.loads(topo.peer_run("nft", "-j", "list", "table", "inet", "lossy"))
    packets: dict[str, int] = {}
    for item in out["nftables"]:
        rule = item.get("rule")
        if rule is None:
            continue
        for expr in rule["expr"]:
            if "counter" in expr:
                key = f"{rule['chain']}_dropped"
                packets[key] = packets.get(key, 0) + expr["counter"]["packets"]
    return packets


def tcp_counters(control: Path) -> dict[str, Any]:
    out = netns.sh(
        sys.executable, "-m", "tcpip6", "show", "counters", "--json", "--control", str(control)
    )
    tcp: dict[str, Any] = json.loads(out)["tcp"]
    return tcp


@dataclass
class Transfer:
    """A transfer under way through the lossy link of one topology."""

    topo: netns.Topology
    octets: int
    loss: int
    reorder_every: int
    duplicate_every: int
    nfqueue: subprocess.Popen[str]
    client: subprocess.Popen[str] | None = None
    retrans_before: int = 0
    t0: float = 0.0


def lossy_link(
    topo: netns.Topology, octets: int, loss: int, reorder_every: int, duplicate_every: int
) -> Transfer:
    """The peer's rules and the NFQUEUE program, for the transfer's connection only (the
    client's port ``CLIENT_PORT``: other traffic of the link passes untouched)."""
    for ns, dev in ((topo.peer, netns.PEER_IF), (topo.host, netns.HOST_IF)):
        with contextlib.suppress(AssertionError):  # what a veth cannot change stays
            netns.sh("ip", "netns", "exec", ns, "ethtool", "-K", dev, "tso", "off", "gso",
                     "off", "gro", "off")  # fmt: skip
    rules = f"""
table inet lossy {{
  chain in {{ type filter hook prerouting priority -10;
    tcp dport {CLIENT_PORT} numgen random mod 100 < {loss} counter drop; }}
  chain out {{ type filter hook output priority -10;
    tcp sport {CLIENT_PORT} numgen random mod 100 < {loss} counter drop; }}
}}
"""
    subprocess.run(topo.in_peer("nft", "-f", "-"), input=rules, text=True, check=True)
    # This kernel has NFQUEUE as an xtables target only (no nft "queue" expression).
    for chain, side in (("INPUT", "--dport"), ("OUTPUT", "--sport")):
        topo.peer_run("ip6tables", "-A", chain, "-p", "tcp", side, str(CLIENT_PORT), "-j",
                      "NFQUEUE", "--queue-num", str(QUEUE), "--queue-bypass")  # fmt: skip
    cmd = [sys.executable, "-m", "bench.nfqueue", "--queue", str(QUEUE)]
    cmd += ["--every", str(reorder_every), "--duplicate-every", str(duplicate_every)]
    cmd += ["--ifname", netns.PEER_IF, "--dst-mac", topo.host_mac().hex(":")]
    nfqueue = topo.start(topo.in_peer(*cmd), cwd=netns.REPO, stdout=subprocess.PIPE)
    assert nfqueue.stdout is not None
    assert nfqueue.stdout.readline().strip() == "ready"
    return Transfer(topo, octets, loss, reorder_every, duplicate_every, nfqueue)


def start_transfer(transfer: Transfer, target: str) -> None:
    """The Linux client, sending and reading back at once (``target``: tcpip6's echo)."""
    transfer.retrans_before = kernel_retrans(transfer.topo)
    transfer.t0 = time.monotonic()
    args = (target, str(ECHO_PORT), str(transfer.octets), "60", str(CLIENT_PORT))
    client = [sys.executable, "-c", CLIENT, *args]
    transfer.client = transfer.topo.start(
        transfer.topo.in_peer(*client), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    # Under way (handshake done) before anything else starts: what the floods then meet is
    # an established transfer (the echo checks are the handshakes under flood).
    assert transfer.client.stdout is not None
    transfer.client.stdout.readline()


def finish_transfer(transfer: Transfer, control: Path, timeout: float = 1800) -> dict[str, Any]:
    """Wait for the client; the row (the link's rules and program stay until teardown)."""
    assert transfer.client is not None
    out, err = transfer.client.communicate(timeout=timeout)
    elapsed = time.monotonic() - transfer.t0
    topo = transfer.topo
    result = json.loads(out.strip().splitlines()[-1]) if transfer.client.returncode == 0 else {}
    tcp = tcp_counters(control)
    dropped = nft_counters(topo)
    retrans = kernel_retrans(topo) - transfer.retrans_before
    transfer.nfqueue.terminate()
    queued = json.loads((transfer.nfqueue.communicate(timeout=10)[0] or "{}").strip() or "{}")
    seconds = result.get("seconds")
    octets = transfer.octets
    return {
        "octets_each_way": octets,
        "loss_percent": transfer.loss,
        "reorder_every": transfer.reorder_every,
        "duplicate_every": transfer.duplicate_every,
        "identical": bool(result.get("identical")) and result.get("octets_back") == octets,
        "client_error": err.strip().splitlines()[-1] if transfer.client.returncode else None,
        "seconds": seconds,
        "wall_seconds": round(elapsed, 3),
        "goodput_MBps_each_way": round(octets / seconds / 1e6, 3) if seconds else None,
        "tcpip6_retransmitted_segments": tcp.get("retransmitted_segments", 0),
        "tcpip6_timeouts": tcp.get("timeouts", 0),
        "tcpip6_fast_retransmits": tcp.get("fast_retransmits", 0),
        "linux_retrans_segs": retrans,
        "nft_dropped": dropped,
        "nfqueue": queued,
    }


def transfer_row(
    octets: int, loss: int, reorder_every: int, duplicate_every: int, tmp: Path
) -> dict[str, Any]:
    """One transfer alone, in a fresh topology."""
    with netns.topology() as topo:
        transfer = lossy_link(topo, octets, loss, reorder_every, duplicate_every)
        control = tmp / "lossy.sock"
        host = netns.start_tcpip6_host(
            topo, tmp / "lossy.pcap", "--control", str(control), "--serve", "echo"
        )
        link_local = host.wait_for(netns.link_local_line()).group(1)
        host.wait_for(rf"^control socket {control}$")
        start_transfer(transfer, f"{link_local}%{netns.PEER_IF}")
        row = finish_transfer(transfer, control)
        assert netns.stop(host) == 0, host.rest()
    return row


if __name__ == "__main__":
    tmpdir = Path(subprocess.check_output(["mktemp", "-d"], text=True).strip())
    octets, loss, reorder, duplicate = (int(a) for a in sys.argv[1:5])
    print(json.dumps(transfer_row(octets, loss, reorder, duplicate, tmpdir)))
