"""curl in the Linux peer namespace against the live host's HTTP server: ``curl --http1.0``
gets an HTTP/1.0 response with the file, and the server closes right after the body
(RFC 9112 §9.3): in tcpip6's capture the head and the body of a small file leave in one
segment, and the FIN follows without waiting for curl's acknowledgment of it. curl is the
independent client, scapy reads the capture."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from scapy.layers.inet import TCP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether

from tcpip6.io.pcap import read_pcap
from tests.interop import netns
from tests.interop.netns import PEER_IF, Topology

FIN = 0x01


def test_curl_http_1_0_gets_http_1_0_and_the_close_right_after(
    topology: Topology, tmp_path: Path
) -> None:
    if shutil.which("curl") is None:
        raise AssertionError("curl is not installed (make test installs it)")
    www = tmp_path / "www"
    www.mkdir()
    data = bytes(i % 97 for i in range(100))
    (www / "small.txt").write_bytes(data)
    pcap = tmp_path / "host.pcap"
    host = netns.start_tcpip6_host(topology, pcap, "--serve", f"http={www}")
    link_local = host.wait_for(netns.link_local_line()).group(1)
    host.wait_for(rf"^serving http 80/tcp from {www}$")
    out = tmp_path / "got.txt"
    headers = tmp_path / "headers.txt"
    done = subprocess.run(
        topology.in_peer("curl", "-6", "-g", "-sS", "--http1.0", "--max-time", "30",
                         "-D", str(headers), "-o", str(out), "-w", "%{http_code}",
                         f"http://[{link_local}%25{PEER_IF}]/small.txt"),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == "200"
    assert out.read_bytes() == data
    head = headers.read_text().splitlines()
    assert head[0] == "HTTP/1.0 200 OK"
    assert "Connection: close" in head
    assert netns.stop(host) == 0, host.rest()
    segments = [
        Ether(frame)[IPv6]
        for _, frame in read_pcap(pcap)
        if TCP in Ether(frame) and 80 in (Ether(frame)[TCP].sport, Ether(frame)[TCP].dport)
    ]
    body = [i for i, s in enumerate(segments) if s[TCP].sport == 80 and len(s[TCP].payload)]
    # One segment carries the whole response, head and body: nothing of it waits for an ACK.
    (response,) = [bytes(segments[i][TCP].payload) for i in body]
    assert response.startswith(b"HTTP/1.0 200 OK\r\n") and response.endswith(data)
    (fin,) = [i for i, s in enumerate(segments) if s[TCP].sport == 80 and s[TCP].flags & FIN]
    assert body and body[-1] <= fin
    last = segments[body[-1]][TCP]
    end_of_body = last.seq + len(last.payload)
    # Between the last octet of the body and the FIN, no acknowledgment of that octet from
    # curl: the FIN did not wait for it (Nagle, delayed ACK).
    acked_between = [
        s for s in segments[body[-1] + 1 : fin]
        if s[TCP].dport == 80 and s[TCP].ack >= end_of_body
    ]  # fmt: skip
    assert acked_between == []
