"""Bytes <-> typed headers. Pure: no state, no I/O, imports nothing else of tcpip6.

Conventions (every module follows them):

* a header or message is a frozen, slotted dataclass;
* ``Cls.parse(buf)`` takes ``bytes``/``memoryview`` and returns the value, raising only
  :class:`WireError` (or its subclass :class:`ChecksumError`) for malformed input;
* ``value.emit(buf, off)`` writes every byte of the encoding into a writable buffer and
  ``value.build()`` returns fresh ``bytes``; ``value.buffer_len()`` is the encoded length;
* messages protected by the upper-layer checksum take ``src``/``dst`` (IPv6 pseudo-header)
  in ``parse``/``emit``/``build``; the checksum itself is not a field: it is computed on
  emit and verified on parse;
* unknown code points survive parsing as plain ints.
"""

from tcpip6.wire.errors import ChecksumError, WireError

__all__ = ["ChecksumError", "WireError"]
