"""RFC 4213 §3.4 against the Linux kernel: an ICMPv4 error about a tunnelled datagram
comes back to tcpip6's application as an ICMPv6 error.

tcpip6 (host namespace) has a configured tunnel to 10.0.0.1, where nothing listens for
protocol 41: Linux answers each datagram with ICMPv4 protocol unreachable (type 3, code 2),
quoting the IPv6 header inside. tcpip6's raw socket has IP_RECVERR; the error becomes an
ICMPv6 Destination Unreachable, code 3 (address unreachable), from the tunnel endpoint
fe80::a00:1, and tcpip6's ping6 prints it.
"""

from __future__ import annotations

from pathlib import Path

from tests.interop.netns import Topology
from tests.interop.test_tunnel_automatic import run_pinger
from tests.interop.test_tunnels import HOST_V4, PEER_V4, _ipv4_path


def test_protocol_unreachable_is_relayed_as_address_unreachable(
    topology: Topology, tmp_path: Path
) -> None:
    _ipv4_path(topology)
    status, out = run_pinger(
        topology, tmp_path, "2001:db8:46::1",
        "--link", f"tunnel:configured:{HOST_V4}:{PEER_V4}",
        "--address", "tun0=2001:db8:46::2/64", "--count", "2",
    )  # fmt: skip
    assert status == 1, out
    assert "From fe80::a00:1 icmp_seq=1 Destination unreachable: Address unreachable" in out, out
    assert "2 packets transmitted, 0 received, +2 errors" in out, out
