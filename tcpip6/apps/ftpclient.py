"""The FTP client of ``tcpip6 ftp6`` (RFC 959, RFC 2428, RFC 3659) over tcpip6's TCP.

Every operation is a generator of :mod:`tcpip6.apps.steps`, so the same client runs on
simnet and the loopback host (:func:`~tcpip6.apps.steps.run_blocking`) and inside a live
host as a control-socket job. Data connections are passive (EPSV, RFC 2428 §3: the client
connects to the port the server names, at the control connection's address) or active
(EPRT, RFC 2428 §2: the client listens and names its address and port).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO, Protocol

from tcpip6.api.sockets import AF_INET6, SOCK_STREAM, Stack
from tcpip6.api.stream import StreamSocket
from tcpip6.apps import ftpfs
from tcpip6.apps.steps import (
    LineReader,
    Steps,
    broken,
    finished_sending,
    readable,
    release,
    send_all,
    until,
)
from tcpip6.stack.machines.tcp import TcpState
from tcpip6.stack.tcp import Connection

MAX_REPLY_LINE = 4096
MAX_REPLY_LINES = 1000
#: A listing is read into memory: at most this much.
MAX_LISTING = 8 << 20
CHUNK = 1 << 16
_EPSV = re.compile(r"\((.)\1\1(\d{1,5})\1\)")


class Sink(Protocol):
    def write(self, data: bytes, /) -> object: ...


class FtpError(Exception):
    """The server answered with a code we did not want."""

    def __init__(self, reply: FtpReply, wanted: str) -> None:
        super().__init__(f"{wanted}: {reply.code} {reply.text}")
        self.reply = reply


@dataclass
class FtpReply:
    code: int
    lines: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.lines[-1][4:] if self.lines else ""


@dataclass
class Transfer:
    octets: int = 0
    started: float = 0.0
    ended: float = 0.0

    @property
    def seconds(self) -> float:
        return self.ended - self.started


class FtpClient:
    """One FTP session. ``log`` gets the control dialog (``--> CMD``, ``<-- reply``)."""

    def __init__(
        self,
        stack: Stack,
        *,
        active: bool = False,
        timeout: float = 30.0,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.stack = stack
        self.active = active
        self.timeout = timeout
        self.log = log or (lambda line: None)
        self.ctrl: Connection | None = None
        self.lines: LineReader | None = None
        self.binary = False
        self._data: Connection | None = None
        self._listener: StreamSocket | None = None

    @property
    def now(self) -> float:
        return self.stack.driver.now

    # -- the control connection -------------------------------------------------------------
    def open(self, host: str, port: int = 21) -> Steps[FtpReply]:
        from tcpip6.apps.steps import connect

        self.ctrl = yield from connect(self.stack, host, port, self.timeout)
        self.lines = LineReader(self.stack, self.ctrl, MAX_REPLY_LINE)
        reply = yield from self.read_reply()
        if reply.code != 220:
            raise FtpError(reply, "greeting")
        return reply

    def read_reply(self) -> Steps[FtpReply]:
        """RFC 959 §4.2: ``123 text``, or ``123-`` ... up to a line ``123 text``."""
        assert self.lines is not None
        reply: FtpReply | None = None
        while True:
            line = yield from self.lines.line(self.timeout)
            if line is None:
                raise ConnectionResetError("the server closed the control connection")
            self.log(f"<-- {line}")
            if reply is None:
                if len(line) < 3 or not line[:3].isdigit():
                    raise ValueError(f"not an FTP reply: {line[:60]!r}")
                reply = FtpReply(int(line[:3]))
            reply.lines.append(line)
            if len(reply.lines) > MAX_REPLY_LINES:
                raise ValueError("a reply of too many lines")
            if line[:3] == str(reply.code) and line[3:4] != "-":
                return reply

    def command(self, line: str) -> Steps[FtpReply]:
        assert self.ctrl is not None
        self.log("--> " + ("PASS ****" if line.startswith("PASS ") else line))
        yield from send_all(self.stack, self.ctrl, (line + "\r\n").encode(), self.timeout)
        reply = yield from self.read_reply()
        return reply

    def expect(self, line: str, *codes: int) -> Steps[FtpReply]:
        reply = yield from self.command(line)
        if reply.code not in codes:
            raise FtpError(reply, line.split(" ")[0])
        return reply

    def login(self, user: str = "anonymous", password: str = "tcpip6@") -> Steps[None]:
        reply = yield from self.expect(f"USER {user}", 230, 331)
        if reply.code == 331:
            yield from self.expect(f"PASS {password}", 230, 202)

    def set_type(self, binary: bool) -> Steps[None]:
        yield from self.expect("TYPE I" if binary else "TYPE A", 200)
        self.binary = binary

    def size(self, path: str) -> Steps[int]:
        reply = yield from self.expect(f"SIZE {path}", 213)
        return int(reply.text.strip())

    def mdtm(self, path: str) -> Steps[str]:
        reply = yield from self.expect(f"MDTM {path}", 213)
        return reply.text.strip()

    def quit(self) -> Steps[None]:
        yield from self.expect("QUIT", 221)

    def close(self) -> None:
        for conn in (self._data, self.ctrl):
            if conn is not None and conn.state is not TcpState.CLOSED:
                release(self.stack, conn, abort=bool(conn.rcvbuf))
        self._data = self.ctrl = None
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    # -- data connections -------------------------------------------------------------------
    def _prepare_data(self) -> Steps[None]:
        """EPSV (connect now) or EPRT (listen now, accept after the 150)."""
        ctrl = self.ctrl
        assert ctrl is not None and ctrl.remote_address is not None
        if self.active:
            sock = self.stack.socket(AF_INET6, SOCK_STREAM)
            self._listener = sock
            sock.bind((str(ctrl.local_address), 0))
            sock.listen(1)
            port = sock.getsockname()[1]
            # RFC 2428 §2: EPRT |2|address|port| (no zone: the server knows its link).
            yield from self.expect(f"EPRT |2|{ctrl.local_address}|{port}|", 200)
            return
        reply = yield from self.expect("EPSV", 229)
        m = _EPSV.search(reply.text)
        if m is None or not 0 < int(m.group(2)) < 65536:
            raise ValueError(f"EPSV reply without a port: {reply.text!r}")
        now = self.now
        conn = self.stack.host.tcp.connect(
            ctrl.remote_address,
            int(m.group(2)),
            now,
            local=ctrl.local_address,
            interface=ctrl.interface,
        )
        self._data = conn
        yield from until(lambda: conn.state is not TcpState.SYN_SENT, now + self.timeout, "EPSV")
        if conn.state is not TcpState.ESTABLISHED:
            raise conn.error or ConnectionRefusedError("the data connection was refused")

    def _data_connection(self) -> Steps[Connection]:
        """The data connection, once the server said 150 (active: accept it now)."""
        if self._data is not None:
            return self._data
        sock = self._listener
        assert sock is not None and sock.listener is not None
        listener = sock.listener
        ctrl = self.ctrl
        assert ctrl is not None
        deadline = self.now + self.timeout
        while True:
            yield from until(lambda: bool(listener.accept_queue), deadline, "EPRT accept")
            conn = listener.accept_queue.popleft()
            if conn.remote_address == ctrl.remote_address:
                break
            release(self.stack, conn, abort=True)  # RFC 2577 §5: not our server
        sock.close()
        self._listener = None
        self._data = conn
        return conn

    def _start(self, line: str) -> Steps[Connection]:
        yield from self._prepare_data()
        try:
            yield from self.expect(line, 125, 150)
        except FtpError:
            self._drop_data()
            raise
        conn = yield from self._data_connection()
        return conn

    def _drop_data(self) -> None:
        if self._data is not None:
            release(self.stack, self._data, abort=True)
            self._data = None
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def _receive(
        self, conn: Connection, write: Callable[[bytes], object], limit: int
    ) -> Steps[int]:
        """Read the data connection to its end; the octets read."""
        total = 0
        decode = None if self.binary else ftpfs.FromAscii()
        while True:
            yield from until(lambda: readable(conn), self.now + self.timeout, "data")
            chunk = conn.read(CHUNK, self.now)
            if chunk:
                total += len(chunk)
                if total > limit:
                    raise ValueError(f"more than {limit} octets")
                write(decode.feed(chunk) if decode else chunk)
                continue
            if conn.eof:
                break
            if broken(conn):
                raise conn.error or ConnectionResetError("the data connection was reset")
        if decode is not None:
            write(decode.end())
        release(self.stack, conn)
        self._data = None
        return total

    def retrieve(self, path: str, sink: Sink, rest: int = 0) -> Steps[Transfer]:
        """RETR ``path`` into ``sink`` (after REST ``rest`` when not 0, RFC 3659 §5)."""
        transfer = Transfer(started=self.now)
        if rest:
            yield from self.expect(f"REST {rest}", 350)
        conn = yield from self._start(f"RETR {path}")
        transfer.octets = yield from self._receive(conn, sink.write, 1 << 62)
        yield from self._finish_reply()
        transfer.ended = self.now
        return transfer

    def listing(self, verb: str, path: str = "") -> Steps[list[str]]:
        """LIST, NLST or MLSD: the lines the data connection carried."""
        out = bytearray()
        conn = yield from self._start(f"{verb} {path}".rstrip())
        binary, self.binary = self.binary, True  # listings are lines already
        try:
            yield from self._receive(conn, out.extend, MAX_LISTING)
        finally:
            self.binary = binary
        yield from self._finish_reply()
        return [line for line in out.decode("utf-8", "replace").split("\r\n") if line]

    def store(self, path: str, source: BinaryIO, *, append: bool = False) -> Steps[Transfer]:
        """STOR (or APPE) ``path`` from ``source``: sent, our FIN acknowledged, 226."""
        transfer = Transfer(started=self.now)
        conn = yield from self._start(f"{'APPE' if append else 'STOR'} {path}")
        while chunk := source.read(CHUNK):
            data = chunk if self.binary else ftpfs.to_ascii(chunk)
            yield from send_all(self.stack, conn, data, self.timeout)
            transfer.octets += len(data)
        conn.close(self.now)
        yield from until(lambda: finished_sending(conn), self.now + self.timeout, "data sent")
        release(self.stack, conn)
        self._data = None
        yield from self._finish_reply()
        transfer.ended = self.now
        return transfer

    def _finish_reply(self) -> Steps[None]:
        reply = yield from self.read_reply()
        if reply.code not in (226, 250):
            raise FtpError(reply, "transfer")


__all__ = ["FtpClient", "FtpError", "FtpReply", "Transfer"]
