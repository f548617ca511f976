"""The FTP server's view of its directory: paths confined to the root, listings, and the
ASCII representation type (RFC 959 §3.1.1.1).

Paths are virtual (``/pub/a.txt``, relative to the root). :func:`resolve` walks them a
segment at a time: ``..`` above the root is refused, and the real path (symbolic links
resolved) must still lie under the root, so a link that points out is refused too.
"""

from __future__ import annotations

import os
import posixpath
import stat
import time
from dataclasses import dataclass
from pathlib import Path


class Refused(Exception):
    """A path the server will not touch (550)."""


@dataclass(frozen=True, slots=True)
class Place:
    virtual: str  # "/pub/a.txt"
    real: Path


def resolve(root: Path, cwd: str, arg: str) -> Place:
    """The place ``arg`` names from ``cwd``, confined to ``root``; Refused if it leaves."""
    if "\0" in arg or "\\" in arg:
        raise Refused("bad character in path")
    parts: list[str] = [] if arg.startswith("/") else [p for p in cwd.split("/") if p]
    for seg in arg.split("/"):
        if seg in ("", "."):
            continue
        if seg == "..":
            if not parts:
                raise Refused("the path leaves the root")
            parts.pop()
            continue
        parts.append(seg)
    base = root.resolve()
    real = base.joinpath(*parts).resolve()
    if not real.is_relative_to(base):
        raise Refused("the path leaves the root (a symbolic link out)")
    return Place("/" + "/".join(parts), real)


def mdtm(seconds: float) -> str:
    """RFC 3659 §2.3 time-val: YYYYMMDDHHMMSS, UTC."""
    return time.strftime("%Y%m%d%H%M%S", time.gmtime(seconds))


def mlsx_facts(st: os.stat_result, kind: str, writable: bool) -> str:
    """RFC 3659 §7: type, size, modify and perm facts, each ``fact=value;``."""
    if kind == "file":
        perm = "r" + ("adfw" if writable else "")
        return f"type=file;size={st.st_size};modify={mdtm(st.st_mtime)};perm={perm};"
    perm = "el" + ("cmp" if writable else "")
    return f"type={kind};modify={mdtm(st.st_mtime)};perm={perm};"


def mlsd_lines(root: Path, place: Place, writable: bool, limit: int) -> list[str]:
    """RFC 3659 §7.2: one ``facts name`` line per entry (the directory itself as cdir)."""
    lines = [f"{mlsx_facts(place.real.stat(), 'cdir', writable)} {place.virtual}"]
    for entry in _entries(root, place, limit):
        try:
            st = entry.stat()
        except OSError:
            continue
        kind = "dir" if stat.S_ISDIR(st.st_mode) else "file"
        lines.append(f"{mlsx_facts(st, kind, writable)} {entry.name}")
    return lines


def list_lines(root: Path, place: Place, limit: int, now: float) -> list[str]:
    """``ls -l`` style lines (what LIST shows; RFC 959 leaves the format open)."""
    targets = _entries(root, place, limit) if place.real.is_dir() else [place.real]
    lines = []
    for entry in targets:
        try:
            st = entry.stat()
        except OSError:
            continue
        mode = stat.filemode(st.st_mode)
        when = time.gmtime(st.st_mtime)
        # ls: the year instead of the time for files older than six months.
        recent = abs(now - st.st_mtime) < 182 * 86400
        stamp = time.strftime("%b %d %H:%M" if recent else "%b %d  %Y", when)
        lines.append(f"{mode} 1 ftp ftp {st.st_size:>12} {stamp} {entry.name}")
    return lines


def nlst_lines(root: Path, place: Place, limit: int) -> list[str]:
    return [e.name for e in _entries(root, place, limit)]


def _entries(root: Path, place: Place, limit: int) -> list[Path]:
    """The directory's entries, at most ``limit``, by name; a symbolic link is listed only
    when it leads somewhere inside the root."""
    base = root.resolve()
    out = []
    for entry in sorted(place.real.iterdir())[:limit]:
        if entry.is_symlink():
            target = entry.resolve()
            if not target.is_relative_to(base) or not target.exists():
                continue
        out.append(entry)
    return out


def ascii_size(path: Path, chunk: int = 1 << 16) -> int:
    """Octets a TYPE A transfer sends (RFC 3659 §4: SIZE counts the transfer form):
    every LF becomes CRLF."""
    total = 0
    with path.open("rb") as f:
        while data := f.read(chunk):
            total += len(data) + data.count(b"\n")
    return total


def to_ascii(data: bytes) -> bytes:
    """RFC 959 §3.1.1.1: the local end of line (LF) becomes NVT-ASCII's CRLF."""
    return data.replace(b"\n", b"\r\n")


class FromAscii:
    """NVT-ASCII's CRLF back to LF, across chunk boundaries (a CR at a chunk's end waits
    for the next chunk)."""

    def __init__(self) -> None:
        self.cr = False

    def feed(self, data: bytes) -> bytes:
        if self.cr:
            data = b"\r" + data
            self.cr = False
        if data.endswith(b"\r"):
            self.cr = True
            data = data[:-1]
        return data.replace(b"\r\n", b"\n")

    def end(self) -> bytes:
        out = b"\r" if self.cr else b""
        self.cr = False
        return out


def parent_of(virtual: str) -> str:
    return posixpath.dirname(virtual.rstrip("/")) or "/"
