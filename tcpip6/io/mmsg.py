"""Many frames in one system call: ``sendmmsg(2)`` on a socket's file descriptor.

A :class:`MessageBatch` owns preallocated C arrays (``struct mmsghdr`` and ``struct
iovec``, one buffer slot per message): :meth:`MessageBatch.send` copies up to
:data:`BATCH_SLOTS` frames into the slots, writes their lengths into the iovecs and makes
one ``sendmmsg`` call, with no ctypes object made per frame.

``sendmmsg`` returns how many messages the kernel took, from the first on; the rest were
not sent (man sendmmsg(2): an error after the first message is not reported, and a call
that starts at the first message not sent reports it). A caller keeps what was not taken:
:class:`~tcpip6.io.rawsock.RawSocketPort` keeps it in its back-pressure queue, in order.

Where the C library has no ``sendmmsg`` (not Linux), :func:`message_batch` gives None and
the caller sends a frame per ``send``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import struct
from collections.abc import Sequence

#: Messages per ``sendmmsg`` call at most (a 64 KB TCP segment cut at a 1,500-octet MTU
#: is 46 frames). Linux takes at most UIO_MAXIOV (1024) per call.
BATCH_SLOTS = 64


class _Iovec(ctypes.Structure):
    _fields_ = (("iov_base", ctypes.c_void_p), ("iov_len", ctypes.c_size_t))


class _Msghdr(ctypes.Structure):
    _fields_ = (
        ("msg_name", ctypes.c_void_p),
        ("msg_namelen", ctypes.c_uint32),
        ("msg_iov", ctypes.POINTER(_Iovec)),
        ("msg_iovlen", ctypes.c_size_t),
        ("msg_control", ctypes.c_void_p),
        ("msg_controllen", ctypes.c_size_t),
        ("msg_flags", ctypes.c_int),
    )


class _Mmsghdr(ctypes.Structure):
    _fields_ = (("msg_hdr", _Msghdr), ("msg_len", ctypes.c_uint))


#: Where an iovec's iov_len is, as a native size_t.
_IOV_LEN = struct.Struct("N")
_IOV_LEN_AT = _Iovec.iov_len.offset
_IOV_SIZE = ctypes.sizeof(_Iovec)


def _libc_sendmmsg() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        fn = libc.sendmmsg
    except (OSError, AttributeError):
        return None
    fn.argtypes = (ctypes.c_int, ctypes.c_void_p, ctypes.c_uint, ctypes.c_int)
    fn.restype = ctypes.c_int
    return fn


_SENDMMSG = _libc_sendmmsg()


class MessageBatch:
    """Up to ``slots`` frames of at most ``slot_size`` octets each, sent in one call."""

    def __init__(self, slot_size: int, slots: int = BATCH_SLOTS) -> None:
        if _SENDMMSG is None:
            raise OSError("the C library has no sendmmsg")
        self.slot_size = slot_size
        self.slots = slots
        self._data = ctypes.create_string_buffer(slot_size * slots)
        self._view = memoryview(self._data).cast("B")
        self._iovs = (_Iovec * slots)()
        self._iov_view = memoryview(self._iovs).cast("B")
        self._msgs = (_Mmsghdr * slots)()
        base = ctypes.addressof(self._data)
        for i in range(slots):
            self._iovs[i].iov_base = base + i * slot_size
            hdr = self._msgs[i].msg_hdr
            hdr.msg_iov = ctypes.pointer(self._iovs[i])
            hdr.msg_iovlen = 1
        self._msgs_at = ctypes.addressof(self._msgs)

    def send(self, fd: int, frames: Sequence[bytes], start: int = 0) -> int:
        """Send ``frames[start:]`` (the first :attr:`slots` of them) in one ``sendmmsg``:
        how many the kernel took (at least one); OSError when it took none."""
        n = min(len(frames) - start, self.slots)
        view, iov_view, size = self._view, self._iov_view, self.slot_size
        pack = _IOV_LEN.pack_into
        for i in range(n):
            frame = frames[start + i]
            length = len(frame)
            if length > size:
                raise ValueError(f"a frame of {length} octets in a slot of {size}")
            at = i * size
            view[at : at + length] = frame
            pack(iov_view, i * _IOV_SIZE + _IOV_LEN_AT, length)
        assert _SENDMMSG is not None
        sent: int = _SENDMMSG(fd, self._msgs_at, n, 0)
        if sent < 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
        return sent


def message_batch(slot_size: int, slots: int = BATCH_SLOTS) -> MessageBatch | None:
    """A :class:`MessageBatch`, or None where the C library has no ``sendmmsg``."""
    if _SENDMMSG is None:
        return None
    return MessageBatch(slot_size, slots)
