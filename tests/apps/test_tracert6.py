"""tracert6 across three routers."""

from __future__ import annotations

import io
import re

from tcpip6.apps.topology import Topology
from tcpip6.apps.tracert6 import TraceOptions, tracert6

HOP = re.compile(r"^\s*(\d+)\s+((?:\S+ ms|\*)\s+){3}\s*(\S+)", re.M)


def hops(text: str) -> list[tuple[int, str]]:
    return [(int(m.group(1)), m.group(3)) for m in HOP.finditer(text)]


def test_chain_hop_by_hop(chain: Topology) -> None:
    out = io.StringIO()
    assert tracert6(chain.stack(), "z", out, address=chain.resolve("z")) == 0
    text = out.getvalue()
    assert text.startswith(f"Tracing route to z [{chain.addresses['z']}]\n")
    want = ["2001:db8:1::1", "2001:db8:2::2", "2001:db8:3::2", str(chain.addresses["z"])]
    assert hops(text) == list(enumerate(want, start=1))
    assert text.rstrip().endswith("Trace complete.")
    assert "*" not in text


def test_udp_probes(chain: Topology) -> None:
    out = io.StringIO()
    z = str(chain.addresses["z"])
    assert tracert6(chain.stack(), z, out, TraceOptions(udp=True)) == 0
    assert [a for _, a in hops(out.getvalue())][-1] == z
    assert len(hops(out.getvalue())) == 4


def test_silence_and_unreachable(chain: Topology) -> None:
    chain.world.segments["link3"].impairments.loss = 1.0
    out = io.StringIO()
    z = str(chain.addresses["z"])
    assert tracert6(chain.stack(), z, out, TraceOptions(max_hops=4, wait=0.5)) == 1
    text = out.getvalue()
    assert re.search(r"^\s+3\s+\*\s+\*\s+\*\s+Request timed out\.$", text, re.M)
    out = io.StringIO()
    assert tracert6(chain.stack(), "2001:db8:99::1", out, TraceOptions(max_hops=5)) == 1
    assert "2001:db8:1::1 !N" in out.getvalue()
