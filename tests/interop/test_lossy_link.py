"""A transfer through a bad link between the Linux kernel and tcpip6: nftables drops 2 %
of the TCP packets each way, an NFQUEUE program (bench/nfqueue.py) lets one packet in 20
be overtaken; the Linux client sends 300 kB of random bytes to tcpip6's echo service and
checks the SHA-256 of what comes back (the 50 MB run is ``make stress``)."""

from __future__ import annotations

from pathlib import Path

from bench.lossy import transfer_row
from tests.interop import netns

OCTETS = 300_000


def test_300_kb_each_way_through_loss_and_reordering_comes_back_identical(
    topology: netns.Topology, tmp_path: Path
) -> None:
    row = transfer_row(OCTETS, 2, 20, tmp_path, topology)
    assert row["identical"], row
    assert row["nfqueue"]["reordered"] > 0  # the link did reorder
    dropped = row["nft_dropped"]
    assert dropped.get("in_dropped", 0) + dropped.get("out_dropped", 0) > 0
