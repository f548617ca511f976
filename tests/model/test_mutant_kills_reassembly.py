"""Fragmentation that the derandomized profile never reached, found by `make mutants`
(bench/mutants.py): under CI the random bodies of the fragmentation test all fit in one
packet, so a broken RFC 8200 §4.5 ``fragment`` of the model went unseen. The same checks
(the stack's fragments equal the model's, fit the MTU, carry multiples of 8 octets and
reassemble to the packet) on bodies that must be split, and on packets that just fit."""

from __future__ import annotations

from typing import Any

import pytest

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
