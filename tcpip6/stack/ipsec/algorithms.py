"""The transforms of an SA: integrity algorithms (HMACs from the standard library) and
encryption algorithms (from the ``cryptography`` package). No primitive is written here;
this module only frames them the way the IPsec RFCs say.

Integrity (ICV truncated to the RFC's length):
    ``hmac-sha1-96``     RFC 2404
    ``hmac-sha256-128``  RFC 4868 §2.1 (AUTH_HMAC_SHA2_256_128)
Encryption:
    ``null``             RFC 2410 (with an integrity algorithm)
    ``aes-cbc``          RFC 3602 (with an integrity algorithm; 16-octet explicit IV)
    ``aes-gcm-16``       RFC 4106 (AEAD, 16-octet tag; 4-octet salt at the end of the
                         key material, 8-octet explicit IV)
    ``chacha20-poly1305`` RFC 7634 (AEAD, 16-octet tag; 32-octet key then 4-octet salt)
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

# The cryptography package (its Rust bindings) is imported when a key is first made
# (``keyed``): a host without SAs, and every command line tool, starts without it.
if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305


class KeyedIntegrity(Protocol):
    icv_len: int

    def icv(self, data: bytes) -> bytes: ...

    def verify(self, data: bytes, icv: bytes) -> bool: ...


class KeyedCipher(Protocol):
    #: Octets of explicit IV in front of the ciphertext.
    iv_len: int
    #: RFC 4303 §2.4: what the plaintext (with its trailer) is padded to a multiple of.
    block_size: int
    #: The AEAD tag (the ESP ICV of a combined-mode algorithm); 0 otherwise.
    icv_len: int
    aead: bool

    def encrypt(self, iv: bytes, plaintext: bytes, aad: bytes) -> bytes: ...

    def decrypt(self, iv: bytes, ciphertext: bytes, aad: bytes) -> bytes | None: ...


@dataclass(frozen=True, slots=True)
class IntegrityAlgorithm:
    name: str
    digest: str
    key_len: int
    icv_len: int
    rfc: str

    def keyed(self, key: bytes) -> HmacIntegrity:
        if len(key) != self.key_len:
            raise ValueError(f"{self.name}: key of {len(key)} octets, need {self.key_len}")
        return HmacIntegrity(self, key)


class HmacIntegrity:
    """An HMAC truncated to the algorithm's ICV length (RFC 2104; RFC 2404, RFC 4868)."""

    __slots__ = ("_template", "algorithm", "icv_len")

    def __init__(self, algorithm: IntegrityAlgorithm, key: bytes) -> None:
        self.algorithm = algorithm
        self.icv_len = algorithm.icv_len
        self._template = hmac.new(key, digestmod=getattr(hashlib, algorithm.digest))

    def icv(self, data: bytes) -> bytes:
        h = self._template.copy()
        h.update(data)
        return h.digest()[: self.icv_len]

    def verify(self, data: bytes, icv: bytes) -> bool:
        # RFC 4303 §3.4.4.1 / RFC 4302 §3.4.4: compared in constant time.
        return hmac.compare_digest(self.icv(data), icv)


INTEGRITY: dict[str, IntegrityAlgorithm] = {
    a.name: a
    for a in (
        IntegrityAlgorithm("hmac-sha1-96", "sha1", 20, 12, "RFC 2404"),
        IntegrityAlgorithm("hmac-sha256-128", "sha256", 32, 16, "RFC 4868"),
    )
}


@dataclass(frozen=True, slots=True)
class EncryptionAlgorithm:
    name: str
    #: Allowed lengths of the key material (salt included for the AEADs).
    key_lens: tuple[int, ...]
    aead: bool
    rfc: str

    def keyed(self, key: bytes) -> KeyedCipher:
        if len(key) not in self.key_lens:
            allowed = " or ".join(str(n) for n in self.key_lens)
            raise ValueError(f"{self.name}: key of {len(key)} octets, need {allowed}")
        if self.name == "null":
            return NullCipher()
        if self.name == "aes-cbc":
            return AesCbc(key)
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

        if self.name == "aes-gcm-16":
            return Aead(AESGCM(key[:-4]), key[-4:], block_size=4)
        return Aead(ChaCha20Poly1305(key[:-4]), key[-4:], block_size=4)


ENCRYPTION: dict[str, EncryptionAlgorithm] = {
    a.name: a
    for a in (
        EncryptionAlgorithm("null", (0,), False, "RFC 2410"),
        EncryptionAlgorithm("aes-cbc", (16, 24, 32), False, "RFC 3602"),
        # RFC 4106 §8.1: the key material is the AES key then a 4-octet salt.
        EncryptionAlgorithm("aes-gcm-16", (20, 28, 36), True, "RFC 4106"),
        # RFC 7634 §2: a 256-bit key then a 4-octet salt.
        EncryptionAlgorithm("chacha20-poly1305", (36,), True, "RFC 7634"),
    )
}


class NullCipher:
    """RFC 2410: the identity; no IV, block size 1 (so padding aligns to 4 octets)."""

    iv_len = 0
    block_size = 1
    icv_len = 0
    aead = False

    def encrypt(self, iv: bytes, plaintext: bytes, aad: bytes) -> bytes:
        return plaintext

    def decrypt(self, iv: bytes, ciphertext: bytes, aad: bytes) -> bytes | None:
        return ciphertext


class AesCbc:
    """RFC 3602: AES in CBC mode with a 16-octet explicit IV; the plaintext is padded to
    the block size by ESP itself (RFC 3602 §2.4), so no cipher padding here."""

    iv_len = 16
    block_size = 16
    icv_len = 0
    aead = False

    def __init__(self, key: bytes) -> None:
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

        self._key = algorithms.AES(key)
        self._cipher, self._cbc = Cipher, modes.CBC

    def encrypt(self, iv: bytes, plaintext: bytes, aad: bytes) -> bytes:
        enc = self._cipher(self._key, self._cbc(iv)).encryptor()
        return enc.update(plaintext) + enc.finalize()

    def decrypt(self, iv: bytes, ciphertext: bytes, aad: bytes) -> bytes | None:
        if len(ciphertext) % self.block_size:
            return None
        dec = self._cipher(self._key, self._cbc(iv)).decryptor()
        return dec.update(ciphertext) + dec.finalize()


class Aead:
    """RFC 4106 §4 / RFC 7634 §2: nonce = salt (4 octets) || explicit IV (8 octets); the
    AAD is the SPI and the sequence number (RFC 4106 §5); the 16-octet tag is the ICV."""

    iv_len = 8
    icv_len = 16
    aead = True

    def __init__(self, cipher: AESGCM | ChaCha20Poly1305, salt: bytes, block_size: int) -> None:
        from cryptography.exceptions import InvalidTag

        self._invalid_tag = InvalidTag
        self._cipher = cipher
        self._salt = salt
        self.block_size = block_size

    def encrypt(self, iv: bytes, plaintext: bytes, aad: bytes) -> bytes:
        return self._cipher.encrypt(self._salt + iv, plaintext, aad)

    def decrypt(self, iv: bytes, ciphertext: bytes, aad: bytes) -> bytes | None:
        try:
            # The tag is checked by the library (in constant time) before any plaintext.
            return self._cipher.decrypt(self._salt + iv, ciphertext, aad)
        except self._invalid_tag:
            return None
