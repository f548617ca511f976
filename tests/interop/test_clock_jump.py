"""A clock jump: the live host stopped (SIGSTOP) for 6 s and continued, as Linux sees it.

Before the stop, Linux (three TCP connections to tcpip6's echo service over its link-local
address) sends a line on each, and drops what tcpip6 sends back (nftables in the peer
namespace; dumpcap still sees it), so that tcpip6 has data in flight with its retransmission
timer running (RTO 1 s, RFC 6298 §2.1); radvd, whose advertisements hold a 6 s valid
lifetime for tcpip6's global address, is killed without a goodbye. During the stop the
timers of three backed-off retransmissions (1, 3 and 7 s after the send) and the address's
lifetime pass; Linux's drop rule is removed.

After SIGCONT: tcpip6 says it woke late; the address it autoconfigured is removed (its valid
lifetime ran out while it was stopped, RFC 4862 §5.5.4); on each connection exactly one
retransmission reaches Linux's capture in the next 1.5 s (the catch-up fires each timer
once, no burst of the stale ones), Linux acknowledges it and each client gets its line
echoed: the connections recover (RFC 6298 §5).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from ipaddress import IPv6Address
from pathlib import Path

from tests.interop import netns
from tests.interop.netns import HOST_IF, PEER_IF, Topology

RADVD_CONF = netns.radvd_conf(
    "2001:db8:7a::/64", prefix_options=("AdvValidLifetime 6", "AdvPreferredLifetime 4")
)

CLIENTS = """\
import socket, sys
conns = [socket.create_connection((f"{sys.argv[1]}%{sys.argv[2]}", 7)) for _ in range(3)]
print("connected", " ".join(str(c.getsockname()[1]) for c in conns), flush=True)
sys.stdin.readline()
for i, c in enumerate(conns):
    c.sendall(f"line {i}\\n".encode())
print("sent", flush=True)
for c in conns:
    c.settimeout(20)
    print(c.recv(100).decode().strip(), flush=True)
"""
STOPPED = 6.0


def test_timers_catch_up_once_after_the_host_was_stopped(
    topology: Topology, tmp_path: Path
) -> None:
    radvd = topology.start_radvd(RADVD_CONF, tmp_path)
    host = netns.start_tcpip6_host(topology, tmp_path / "host.pcap", "--serve", "echo")
    lla = IPv6Address(host.wait_for(netns.link_local_line()).group(1))
    address = host.wait_for(rf"^address (2001:db8:7a:[0-9a-f:]+)/64 on {HOST_IF} pref").group(1)
    cap_path = str(tmp_path / "linux.pcapng")
    dumpcap = topology.in_peer("dumpcap", "-q", "-i", PEER_IF, "-f", "tcp port 7", "-w", cap_path)
    cap = topology.start(dumpcap, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    end = time.monotonic() + 20
    while not os.path.exists(cap_path) or os.path.getsize(cap_path) == 0:
        assert cap.poll() is None and time.monotonic() < end, "dumpcap did not start"
        time.sleep(0.1)
    clients = topology.start(
        topology.in_peer(sys.executable, "-c", CLIENTS, str(lla), PEER_IF),
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    assert clients.stdin is not None and clients.stdout is not None
    first = clients.stdout.readline()
    assert first.startswith("connected "), first + clients.stdout.read()
    ports = first.split()[1:]
    # What tcpip6 sends from port 7 is dropped by Linux (after dumpcap has seen it).
    topology.peer_run("nft", "add table inet stopped; add chain inet stopped dropin "
                      "{ type filter hook input priority 0 ; }; "
                      "add rule inet stopped dropin tcp sport 7 drop")  # fmt: skip
    clients.stdin.write("go\n")
    clients.stdin.flush()
    assert clients.stdout.readline() == "sent\n"
    time.sleep(0.3)  # the echoes went out (and were dropped): data in flight, RTO 1 s
    radvd.kill()  # no goodbye advertisement: the lifetimes just run out
    os.kill(host.proc.pid, signal.SIGSTOP)
    time.sleep(STOPPED)
    topology.peer_run("nft", "delete table inet stopped")
    cont_at = time.time()
    os.kill(host.proc.pid, signal.SIGCONT)
    late = float(host.wait_for(r"^clock jumped: woke (\d+\.\d) s late").group(1))
    assert STOPPED - 1.5 < late < STOPPED + 3.0, late
    host.wait_for(rf"^address {address} on {HOST_IF} removed$")  # RFC 4862 §5.5.4
    echoed = [clients.stdout.readline() for _ in ports]
    assert echoed == [f"line {i}\n" for i in range(3)], [*echoed, clients.stdout.read()]
    time.sleep(0.5)
    cap.send_signal(signal.SIGINT)
    cap.wait(timeout=10)
    out = netns.sh("tshark", "-r", cap_path, "-Y", "tcp.srcport == 7 && tcp.len > 0",
                   "-T", "fields", "-e", "frame.time_epoch", "-e", "tcp.dstport")  # fmt: skip
    sent = [(float(t), port) for t, port in (line.split("\t") for line in out.splitlines())]
    for port in ports:
        before = [t for t, p in sent if p == port and t < cont_at]
        after = [t for t, p in sent if p == port and cont_at <= t < cont_at + 1.5]
        assert before, (port, sent)  # the echo Linux dropped
        assert len(after) == 1, (port, sent)  # one retransmission, not a burst
    assert netns.stop(host) == 0, host.rest()
