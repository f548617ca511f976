"""AH (RFC 4302 §2) and ESP (RFC 4303 §2) headers, checked against scapy."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scapy.layers.ipsec import AH, ESP

from tcpip6.wire import WireError
from tcpip6.wire.ipsec import (
    AuthenticationHeader,
    EspHeader,
    esp_pad_length,
    esp_padding,
    esp_plaintext,
    esp_trailer,
)

u8 = st.integers(0, 255)
u32 = st.integers(0, 0xFFFFFFFF)
icvs = st.integers(0, 8).flatmap(lambda n: st.binary(min_size=4 * n, max_size=4 * n))


@given(u8, u32, u32, icvs)
def test_ah_matches_scapy(nh: int, spi: int, seq: int, icv: bytes) -> None:
    ah = AuthenticationHeader(nh, spi, seq, icv)
    raw = ah.build()
    theirs = AH(raw)
    assert (theirs.nh, theirs.spi, theirs.seq) == (nh, spi, seq)
    # RFC 4302 §2.2: Payload Len is the length in 32-bit words minus 2.
    assert theirs.payloadlen == ah.payload_len == len(raw) // 4 - 2
    assert bytes(theirs.icv) + bytes(theirs.padding or b"") == icv
    built = bytes(AH(nh=nh, spi=spi, seq=seq, icv=icv, payloadlen=len(raw) // 4 - 2))
    assert built == raw
    assert AuthenticationHeader.parse(built) == ah


@given(u32, u32)
def test_esp_header_matches_scapy(spi: int, seq: int) -> None:
    raw = EspHeader(spi, seq).build()
    assert raw == bytes(ESP(spi=spi, seq=seq))
    assert EspHeader.parse(raw + b"payload") == EspHeader(spi, seq)


def test_ah_truncated_and_bad_length() -> None:
    raw = AuthenticationHeader(17, 0x1000, 1, bytes(12)).build()
    for n in range(len(raw)):
        with pytest.raises(WireError):
            AuthenticationHeader.parse(raw[:n])
    with pytest.raises(WireError):  # Payload Len 0 -> 8 octets, shorter than the fixed part
        AuthenticationHeader.parse(bytes([17, 0]) + raw[2:])
    with pytest.raises(WireError):
        EspHeader.parse(b"\x00" * 7)


@given(st.binary(max_size=64), u8, st.sampled_from([1, 4, 8, 16]))
def test_esp_plaintext_trailer(payload: bytes, nh: int, block: int) -> None:
    pt = esp_plaintext(payload, nh, block)
    # RFC 4303 §2.4: aligned to the block size and to 4 octets, default padding 1, 2, ...
    assert len(pt) % max(4, block) == 0
    t = esp_trailer(pt)
    assert (pt[: t.payload_len], t.next_header) == (payload, nh)
    assert t.padding == esp_padding(esp_pad_length(len(payload), block))
    assert t.padding_is_default()


def test_esp_trailer_bad_pad_length() -> None:
    with pytest.raises(WireError):
        esp_trailer(b"\x01")
    with pytest.raises(WireError):
        esp_trailer(b"\x01\x02\x05\x11")  # Pad Length 5 in a 4-octet plaintext
    assert not esp_trailer(b"\x00\x09\x02\x11").padding_is_default()
