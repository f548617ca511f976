"""The transforms' framing of the primitives, through tcpip6's own code path, against
published vectors: RFC 4231 (HMAC-SHA-256) and the GCM specification's test cases 3 and 4
(McGrew and Viega; also NIST SP 800-38D)."""

from __future__ import annotations

import pytest

from tcpip6.stack.ipsec.algorithms import ENCRYPTION, INTEGRITY, IntegrityAlgorithm

# RFC 4231 §4.2 (test case 1), RFC 4231 §4.3 (test case 2), RFC 4231 §4.6 (test case 5: 128-bit
# truncation).
RFC4231 = [
    (
        b"\x0b" * 20,
        b"Hi There",
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
    ),
    (
        b"Jefe",
        b"what do ya want for nothing?",
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    ),
    (b"\x0c" * 20, b"Test With Truncation", "a3b6167473100ee06e0c796c2955552b"),
]


@pytest.mark.parametrize(("key", "data", "mac"), RFC4231)
def test_hmac_sha256_rfc4231(key: bytes, data: bytes, mac: str) -> None:
    # The same class the SAs use, with the vector's key length and truncation.
    alg = IntegrityAlgorithm("hmac-sha256-test", "sha256", len(key), len(mac) // 2, "RFC 4231")
    keyed = alg.keyed(key)
    assert keyed.icv(data).hex() == mac
    assert keyed.verify(data, bytes.fromhex(mac))
    assert not keyed.verify(data + b"x", bytes.fromhex(mac))


def test_hmac_sha256_128_truncates_rfc4231_case5() -> None:
    # RFC 4868 §2.3: HMAC-SHA-256-128 is the first 128 bits; RFC 4231 case 5 gives them.
    base = INTEGRITY["hmac-sha256-128"]
    alg = IntegrityAlgorithm("t", base.digest, 20, base.icv_len, "RFC 4868")
    assert alg.keyed(b"\x0c" * 20).icv(b"Test With Truncation").hex() == (
        "a3b6167473100ee06e0c796c2955552b"
    )


GCM_KEY = bytes.fromhex("feffe9928665731c6d6a8f9467308308")
GCM_NONCE = bytes.fromhex("cafebabefacedbaddecaf888")
GCM_P = bytes.fromhex(
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255"
)
GCM_C = bytes.fromhex(
    "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
    "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985"
)


@pytest.mark.parametrize(
    ("aad", "plaintext", "ciphertext", "tag"),
    [
        (b"", GCM_P, GCM_C, "4d5c2af327cd64a62cf35abd2ba6fab4"),
        (
            bytes.fromhex("feedfacedeadbeeffeedfacedeadbeefabaddad2"),
            GCM_P[:60],
            GCM_C[:60],
            "5bc94fbc3221a5db94fae95ae7121a47",
        ),
    ],
)
def test_aes_gcm_16_rfc4106_framing(
    aad: bytes, plaintext: bytes, ciphertext: bytes, tag: str
) -> None:
    # RFC 4106 §4, RFC 4106 §8.1: the key material is the key then the 4-octet salt; the nonce is
    # salt || 8-octet explicit IV. The vector's 12-octet nonce splits the same way.
    cipher = ENCRYPTION["aes-gcm-16"].keyed(GCM_KEY + GCM_NONCE[:4])
    out = cipher.encrypt(GCM_NONCE[4:], plaintext, aad)
    assert out == ciphertext + bytes.fromhex(tag)
    assert cipher.decrypt(GCM_NONCE[4:], out, aad) == plaintext
    bad = out[:-1] + bytes([out[-1] ^ 1])
    assert cipher.decrypt(GCM_NONCE[4:], bad, aad) is None


def test_key_lengths_checked() -> None:
    with pytest.raises(ValueError, match="aes-gcm-16"):
        ENCRYPTION["aes-gcm-16"].keyed(bytes(16))  # the salt is missing
    with pytest.raises(ValueError, match="hmac-sha1-96"):
        INTEGRITY["hmac-sha1-96"].keyed(bytes(32))
