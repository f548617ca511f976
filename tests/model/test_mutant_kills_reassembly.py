"""Fragmentation that the derandomized profile never reached, found by `make mutants`
(bench/mutants.py): under CI the random bodies of the fragmentation test all fit in one
packet, so a broken RFC 8200 §4.5 ``fragment`` of the model went unseen. The same checks
(the stack's fragments equal the model's, fit the MTU, carry multiples of 8 octets and
reassemble to the packet) on bodies that must be split, and on packets that just fit; and
the bound on the octets held in all, which the random floods did not reach alone."""

from __future__ import annotations

from ipaddress import IPv6Address
from typing import Any

import pytest

from tcpip6.stack import fragment as fr
from tcpip6.wire.ipv6 import IPPROTO_UDP
from tests.model import test_reassembly

_GIVEN: Any = test_reassembly.test_fragments_fit_and_reassemble_to_the_packet
CHECK = _GIVEN.hypothesis.inner_test  # the test body, without Hypothesis


# 1224 and 1240 make packets of exactly 1280 octets (with and without the two headers).
@pytest.mark.parametrize("size", [1224, 1240, 1241, 1500, 2961, 4000])
@pytest.mark.parametrize("mtu", [1280, 1500, 1999])
@pytest.mark.parametrize(("hop_by_hop", "dest_options"), [(False, False), (True, True)])
def test_large_packets_are_fragmented_as_the_model_says(
    size: int, mtu: int, hop_by_hop: bool, dest_options: bool
) -> None:
    CHECK(bytes(range(256)) * (size // 256) + bytes(size % 256), hop_by_hop, dest_options, mtu)


def test_the_memory_bound_gives_up_the_oldest_packet_of_any_source() -> None:
    """Reassembly holds at most ``max_bytes`` in all: a first fragment of a new packet that
    would pass it makes room by giving up the oldest packet, whatever its source, and the
    bound holds after every fragment. (The per-source bounds are left wide open here.)"""
    limits = fr.ReassemblyLimits(
        max_bytes=3000, max_datagrams=64, max_bytes_per_source=1 << 20, max_datagrams_per_source=64
    )
    stack: fr.Reassembler[None] = fr.Reassembler(limits)
    sources = [IPv6Address(f"2001:db8::{i}") for i in range(1, 5)]
    for i, src in enumerate(sources):
        original = test_reassembly.original_packet(src, bytes(2000), IPPROTO_UDP, False, False)
        frag = test_reassembly.fragment_of(original, i + 1, 0, 1000, True)
        assert len(frag) == 1048
        stack.add(frag, *test_reassembly.locate(frag), float(i), None)
        assert stack.bytes_held <= limits.max_bytes
    # Two 1048-octet fragments fit in 3000 octets; each later one gave up the oldest.
    assert sorted(key[0] for key in stack.buffers) == sources[2:]
    assert stack.bytes_held == 2 * 1048
