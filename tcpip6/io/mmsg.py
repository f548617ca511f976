"""Many frames in one system call: ``sendmmsg(2)`` and ``recvmmsg(2)`` on a socket's file
descriptor.

A :class:`MessageBatch` owns preallocated C arrays (``struct mmsghdr`` and ``struct
iovec``, one buffer slot per message): :meth:`MessageBatch.send` copies up to
:data:`BATCH_SLOTS` frames into the slots, writes their lengths into the iovecs and makes
one ``sendmmsg`` call, with no ctypes object made per frame.

``sendmmsg`` returns how many messages the kernel took, from the first on; the rest were
not sent (man sendmmsg(2): an error after the first message is not reported, and a call
that starts at the first message not sent reports it). A caller keeps what was not taken:
:class:`~tcpip6.io.rawsock.RawSocketPort` keeps it in its back-pressure queue, in order.

A :class:`ReceiveBatch` reads up to :data:`BATCH_SLOTS` frames, each with its ancillary
data, in one ``recvmmsg``, into preallocated slots.

Where the C library has no ``sendmmsg`` (not Linux), :func:`message_batch` gives None and
the caller sends a frame per ``send``; so :func:`receive_batch` without ``recvmmsg``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
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


#: Where an iovec's iov_len is, as a native size_t (msg_controllen is one too).
_IOV_LEN = struct.Struct("N")
_IOV_LEN_AT = _Iovec.iov_len.offset
_IOV_SIZE = ctypes.sizeof(_Iovec)
_MSG_LEN = struct.Struct("I")
_CONTROLLEN_AT = _Mmsghdr.msg_hdr.offset + _Msghdr.msg_controllen.offset


def _libc(name: str, *argtypes: type) -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        fn = getattr(libc, name)
    except (OSError, AttributeError):
        return None
    fn.argtypes = argtypes
    fn.restype = ctypes.c_int
    return fn


_SENDMMSG = _libc("sendmmsg", ctypes.c_int, ctypes.c_void_p, ctypes.c_uint, ctypes.c_int)
_RECVMMSG = _libc(
    "recvmmsg", ctypes.c_int, ctypes.c_void_p, ctypes.c_uint, ctypes.c_int, ctypes.c_void_p
)
#: recvmmsg's flags: do not wait (the socket is non-blocking anyway).
MSG_DONTWAIT = 0x40
#: struct cmsghdr: cmsg_len (size_t), cmsg_level, cmsg_type (int); the data after it.
_CMSGHDR = struct.Struct("Nii")
_MSG_LEN_AT = _Mmsghdr.msg_len.offset
_MSG_SIZE = ctypes.sizeof(_Mmsghdr)


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
        """Send ``frames[start:]`` (the first :attr:`slots` of them, up to one larger
        than a slot) in one ``sendmmsg``: how many the kernel took (at least one);
        OSError when it took none, ValueError when ``frames[start]`` exceeds a slot."""
        n = min(len(frames) - start, self.slots)
        view, iov_view, size = self._view, self._iov_view, self.slot_size
        pack = _IOV_LEN.pack_into
        for i in range(n):
            frame = frames[start + i]
            length = len(frame)
            if length > size:
                if not i:
                    raise ValueError(f"a frame of {length} octets in a slot of {size}")
                n = i  # the ones before it
                break
            at = i * size
            view[at : at + length] = frame
            pack(iov_view, i * _IOV_SIZE + _IOV_LEN_AT, length)
        assert _SENDMMSG is not None
        sent: int = _SENDMMSG(fd, self._msgs_at, n, 0)
        if sent < 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
        if sent == 0:  # never for n > 0 (sendmmsg(2)); taken as "no room now"
            raise BlockingIOError(errno.EAGAIN, os.strerror(errno.EAGAIN))
        return sent


class ReceiveBatch:
    """Up to ``slots`` frames of at most ``slot_size`` octets each, read in one
    ``recvmmsg``, each with up to ``control_size`` octets of ancillary data and no
    address (which Python's own recvmsg turns into an interface name with an ioctl)."""

    def __init__(self, slot_size: int, control_size: int, slots: int = BATCH_SLOTS) -> None:
        if _RECVMMSG is None:
            raise OSError("the C library has no recvmmsg")
        self.slot_size = slot_size
        self.control_size = control_size
        self.slots = slots
        self._data = ctypes.create_string_buffer(slot_size * slots)
        self._view = memoryview(self._data).cast("B")
        self._control = ctypes.create_string_buffer(control_size * slots)
        self._control_view = memoryview(self._control).cast("B")
        self._iovs = (_Iovec * slots)()
        self._msgs = (_Mmsghdr * slots)()
        base = ctypes.addressof(self._data)
        control = ctypes.addressof(self._control)
        for i in range(slots):
            self._iovs[i].iov_base = base + i * slot_size
            self._iovs[i].iov_len = slot_size
            hdr = self._msgs[i].msg_hdr
            hdr.msg_iov = ctypes.pointer(self._iovs[i])
            hdr.msg_iovlen = 1
            hdr.msg_control = control + i * control_size
            hdr.msg_controllen = control_size
        self._msgs_at = ctypes.addressof(self._msgs)
        self._msgs_view = memoryview(self._msgs).cast("B")
        # The kernel shortens msg_controllen to what it wrote: restored before each call.
        self._pristine = bytes(self._msgs_view)

    def receive(self, fd: int) -> list[tuple[bytes, bytes]]:
        """The frames waiting (at most :attr:`slots`), each with its ancillary data (the
        control messages as the kernel wrote them); [] when none waits; OSError for any
        other failure."""
        self._msgs_view[:] = self._pristine
        assert _RECVMMSG is not None
        n: int = _RECVMMSG(fd, self._msgs_at, self.slots, MSG_DONTWAIT, None)
        if n < 0:
            err = ctypes.get_errno()
            if err in (errno.EAGAIN, errno.EINTR):
                return []
            raise OSError(err, os.strerror(err))
        out = []
        view, control, msgs = self._view, self._control_view, self._msgs_view
        size, csize = self.slot_size, self.control_size
        length_of = _MSG_LEN.unpack_from
        controllen_of = _IOV_LEN.unpack_from
        for i in range(n):
            at = i * _MSG_SIZE
            (length,) = length_of(msgs, at + _MSG_LEN_AT)
            (controllen,) = controllen_of(msgs, at + _CONTROLLEN_AT)
            start = i * size
            cstart = i * csize
            out.append(
                (
                    bytes(view[start : start + min(length, size)]),
                    bytes(control[cstart : cstart + controllen]),
                )
            )
        return out


def control_messages(control: bytes) -> list[tuple[int, int, bytes]]:
    """The (level, type, data) of each control message in ``control`` (cmsg(3))."""
    out = []
    at = 0
    align = ctypes.sizeof(ctypes.c_size_t)
    while at + _CMSGHDR.size <= len(control):
        length, level, kind = _CMSGHDR.unpack_from(control, at)
        if length < _CMSGHDR.size or at + length > len(control):
            break
        out.append((level, kind, control[at + _CMSGHDR.size : at + length]))
        at += -(-length // align) * align
    return out


def receive_batch(
    slot_size: int, control_size: int, slots: int = BATCH_SLOTS
) -> ReceiveBatch | None:
    """A :class:`ReceiveBatch`, or None where the C library has no ``recvmmsg``."""
    if _RECVMMSG is None:
        return None
    return ReceiveBatch(slot_size, control_size, slots)


def message_batch(slot_size: int, slots: int = BATCH_SLOTS) -> MessageBatch | None:
    """A :class:`MessageBatch`, or None where the C library has no ``sendmmsg``."""
    if _SENDMMSG is None:
        return None
    return MessageBatch(slot_size, slots)
