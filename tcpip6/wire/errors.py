"""The one exception type for malformed input."""

from __future__ import annotations


class WireError(ValueError):
    """Raised by every parser for malformed input (truncation, bad lengths, bad values)."""


class ChecksumError(WireError):
    """The bytes are well formed but the checksum does not verify."""
