"""ftpd6: an FTP server (RFC 959) for IPv6 (RFC 2428) over tcpip6's TCP.

What it speaks: USER/PASS (anonymous only: ``anonymous`` or ``ftp``, any password), PWD,
CWD, CDUP, TYPE A and I (RFC 959 §3.1.1; TYPE A turns the file's LF into CRLF on the
wire and back on upload), MODE S, STRU F, EPSV and EPRT (RFC 2428; PASV and PORT carry
IPv4 addresses and are refused with 502), RETR, LIST, NLST, MLSD and MLST, SIZE and MDTM
(RFC 3659), REST for a resumed transfer (RFC 3659 §5, stream mode), FEAT and OPTS UTF8
(RFC 2389), SYST, NOOP, HELP, ABOR, QUIT; with uploads enabled also STOR, APPE, DELE, MKD
and RMD. Read-only unless made with ``upload=True`` (``--serve ftp-upload=DIR``).

Confinement (:mod:`tcpip6.apps.ftpfs`): every path is resolved under the root, ``..``
above the root and symbolic links that lead out are refused (550). RFC 2577 §3, RFC 2577 §4:
EPRT may only name the control connection's own peer and a port of 1024 or above (no
bounce), and a passive data connection from any other address is reset.

Bounds: :data:`MAX_SESSIONS` sessions at once (more wait in the listen backlog), a
command line of at most :data:`MAX_LINE` octets, :data:`MAX_FAILED_LOGINS` failed logins
and :data:`MAX_COMMANDS` commands per session, listings of at most
:data:`MAX_LISTING` entries, and TCP keepalive on the control connection so that a
vanished client frees its session. A transfer is one command at a time: commands sent
during it wait in the receive buffer until it ends (ABOR then answers 226).

Why not pyftpdlib: it is maintained and complete, but it is built on the operating
system's sockets and its own ioloop (``select``/``epoll`` over file descriptors,
``asyncore``-style dispatchers calling ``socket.accept``/``recv`` on real descriptors).
tcpip6's sockets have no file descriptor (``fileno()`` is -1: the stack lives in the
process), and the simulated network runs on a fake clock that no ioloop waits on, so
pyftpdlib would need its I/O layer replaced, i.e. the parts this module is. The session
is a generator (:mod:`tcpip6.apps.steps`) resumed by the connections' change callbacks,
so the one code runs on simnet, the loopback host and a live host.
"""

from __future__ import annotations

import errno
import time
from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import IPv6Address
from pathlib import Path
from typing import BinaryIO

from tcpip6.api.sockets import AF_INET6, SOCK_STREAM, Stack
from tcpip6.api.stream import StreamSocket
from tcpip6.apps import ftpfs
from tcpip6.apps.ftpfs import Place, Refused
from tcpip6.apps.steps import (
    LineReader,
    Resumable,
    Steps,
    broken,
    finished_sending,
    readable,
    release,
    send_all,
    until,
)
from tcpip6.apps.tcpserve import StreamHandler, TcpServer
from tcpip6.stack.counters import CounterSet
from tcpip6.stack.machines.tcp import TcpState
from tcpip6.stack.tcp import Connection

FTP_PORT = 21
#: RFC 959 §3.2: the server's default data port is L-1.
FTP_DATA_PORT = 20
MAX_SESSIONS = 16
MAX_LINE = 1024
MAX_FAILED_LOGINS = 3
MAX_COMMANDS = 10000
MAX_LISTING = 10000
CHUNK = 1 << 16
ANONYMOUS = ("anonymous", "ftp")
FEATURES = ("EPRT", "EPSV", "MDTM", "MLST type*;size*;modify*;perm*;", "REST STREAM", "SIZE",
            "UTF8", "TVFS")  # fmt: skip
#: Commands before login (RFC 959 §4.1.1: the rest need USER/PASS first).
BEFORE_LOGIN = {"USER", "PASS", "QUIT", "FEAT", "SYST", "NOOP", "HELP", "OPTS", "AUTH"}
UPLOAD_COMMANDS = {"STOR", "APPE", "DELE", "MKD", "XMKD", "RMD", "XRMD"}


@dataclass
class FtpCounters(CounterSet):
    sessions: int = 0
    commands: int = 0
    logins: int = 0
    failed_logins: int = 0
    files_sent: int = 0
    files_received: int = 0
    octets_sent: int = 0
    octets_received: int = 0
    refused_paths: int = 0
    bounce_refused: int = 0
    data_peer_mismatch_reset: int = 0


class Reply(Exception):
    """Answer the current command with ``code text`` (an error path)."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text


class FtpSession(StreamHandler):
    """One control connection: its commands, its data connections."""

    def __init__(self, server: TcpServer, conn: Connection, ftpd: Ftpd) -> None:
        super().__init__(server, conn)
        self.ftpd = ftpd
        self.stack = server.stack
        self.lines = LineReader(self.stack, conn, MAX_LINE)
        self.user: str | None = None
        self.logged_in = False
        self.failed = 0
        self.cwd = "/"
        self.binary = False  # RFC 959 §3.1.1.1: TYPE A is the default
        self.rest = 0
        self.epsv_all = False
        self.passive: StreamSocket | None = None
        self.active: tuple[IPv6Address, int] | None = None
        self.data: Connection | None = None
        self.rename_from: Place | None = None
        self.runner = Resumable(self.session(), self._ended)
        conn.set_keepalive(True, self.now)
        ftpd.counters.sessions += 1

    # -- driving ----------------------------------------------------------------------------
    def started(self) -> None:
        self.runner.kick()

    def changed(self) -> None:
        self.runner.kick()

    def _ended(self, exc: BaseException | None) -> None:
        self._close_data(abort=exc is not None)
        self.finish(abort=exc is not None)

    def cleanup(self) -> None:
        """The control connection ended (reset, timeout): drop the rest."""
        self.runner.close()
        self._close_data(abort=True)

    def _close_data(self, abort: bool = False) -> None:
        if self.passive is not None:
            self.passive.close()
            self.passive = None
        if self.data is not None:
            release(self.stack, self.data, abort=abort or bool(self.data.rcvbuf))
            self.data = None

    # -- the conversation -------------------------------------------------------------------
    def reply(self, code: int, text: str | list[str]) -> Steps[None]:
        """RFC 959 §4.2: one line ``code text``, or ``code-`` lines ending ``code text``."""
        lines = [text] if isinstance(text, str) else text
        # RFC 959 §4.2: the first line "code-", the ones between as they are (each
        # begins with a space here: RFC 2389 §3.2's feature lines), the last "code ".
        out = f"{code}-{lines[0]}\r\n" if len(lines) > 1 else ""
        out += "".join(f"{line}\r\n" for line in lines[1:-1])
        out += f"{code} {lines[-1]}\r\n"
        yield from send_all(self.stack, self.conn, out.encode("utf-8"), None)

    def session(self) -> Steps[None]:
        yield from self.reply(220, "tcpip6 ftpd6 ready")
        commands = 0
        while True:
            try:
                line = yield from self.lines.line(None)
            except ValueError:
                yield from self.reply(500, "command line too long")
                return
            if line is None:
                return
            commands += 1
            self.ftpd.counters.commands += 1
            verb, _, arg = line.strip().partition(" ")
            verb = verb.upper()
            if verb == "QUIT":
                yield from self.reply(221, "Goodbye.")
                return
            if commands > MAX_COMMANDS:
                yield from self.reply(421, "too many commands; closing")
                return
            try:
                yield from self.dispatch(verb, arg)
            except Reply as answer:
                yield from self.reply(answer.code, answer.text)
            except Refused as exc:
                self.ftpd.counters.refused_paths += 1
                yield from self.reply(550, str(exc))
            except OSError as exc:
                if exc is self.conn.error or broken(self.conn):
                    return
                yield from self.reply(550, exc.strerror or str(exc))
            if self.failed >= MAX_FAILED_LOGINS:
                yield from self.reply(421, "too many failed logins; closing")
                return

    def dispatch(self, verb: str, arg: str) -> Steps[None]:
        if not self.logged_in and verb not in BEFORE_LOGIN:
            raise Reply(530, "Please login with USER and PASS.")
        if verb in UPLOAD_COMMANDS and not self.ftpd.upload:
            raise Reply(550, "Permission denied (read-only server).")
        handler = getattr(self, f"ftp_{verb.lower()}", None)
        if handler is None or not verb.isalpha():
            raise Reply(502, f"{verb[:16]} not implemented.")
        yield from handler(arg)

    def place(self, arg: str) -> Place:
        return ftpfs.resolve(self.ftpd.root, self.cwd, arg)

    # -- login and state --------------------------------------------------------------------
    def ftp_user(self, arg: str) -> Steps[None]:
        self.user, self.logged_in = arg, False
        yield from self.reply(331, "Any password will do for anonymous.")

    def ftp_pass(self, arg: str) -> Steps[None]:
        if self.user is None:
            raise Reply(503, "Login with USER first.")
        if self.user.lower() not in ANONYMOUS:
            self.failed += 1
            self.ftpd.counters.failed_logins += 1
            raise Reply(530, "Login incorrect (anonymous only).")
        self.logged_in = True
        self.ftpd.counters.logins += 1
        mode = "read-write" if self.ftpd.upload else "read-only"
        yield from self.reply(230, f"Login successful ({mode}).")

    def ftp_syst(self, arg: str) -> Steps[None]:
        yield from self.reply(215, "UNIX Type: L8")

    def ftp_noop(self, arg: str) -> Steps[None]:
        yield from self.reply(200, "NOOP ok.")

    def ftp_help(self, arg: str) -> Steps[None]:
        names = sorted(n[4:].upper() for n in dir(self) if n.startswith("ftp_"))
        yield from self.reply(214, ["Commands:", " " + " ".join(names), "Help OK."])

    def ftp_feat(self, arg: str) -> Steps[None]:
        # RFC 2389 §3.2: each feature on its own line, indented by a space.
        yield from self.reply(211, ["Features:", *(f" {f}" for f in FEATURES), "End"])

    def ftp_opts(self, arg: str) -> Steps[None]:
        if arg.upper().startswith("UTF8"):
            yield from self.reply(200, "Always in UTF8 mode.")
            return
        raise Reply(501, "Option not understood.")

    def ftp_auth(self, arg: str) -> Steps[None]:
        raise Reply(502, "No TLS here.")
        yield  # pragma: no cover

    def ftp_type(self, arg: str) -> Steps[None]:
        kind = arg.upper().split()
        if kind in (["I"], ["L", "8"]):
            self.binary = True
            yield from self.reply(200, "Switching to Binary mode.")
        elif kind in (["A"], ["A", "N"]):
            self.binary = False
            yield from self.reply(200, "Switching to ASCII mode.")
        else:
            raise Reply(504, "TYPE A or I only.")

    def ftp_mode(self, arg: str) -> Steps[None]:
        if arg.upper() != "S":
            raise Reply(504, "MODE S only.")
        yield from self.reply(200, "Mode set to S.")

    def ftp_stru(self, arg: str) -> Steps[None]:
        if arg.upper() != "F":
            raise Reply(504, "STRU F only.")
        yield from self.reply(200, "Structure set to F.")

    def ftp_pwd(self, arg: str) -> Steps[None]:
        quoted = self.cwd.replace('"', '""')  # RFC 959 Appendix II
        yield from self.reply(257, f'"{quoted}" is the current directory')

    ftp_xpwd = ftp_pwd

    def ftp_cwd(self, arg: str) -> Steps[None]:
        place = self.place(arg or "/")
        if not place.real.is_dir():
            raise Reply(550, "Failed to change directory.")
        self.cwd = place.virtual
        yield from self.reply(250, "Directory successfully changed.")

    def ftp_cdup(self, arg: str) -> Steps[None]:
        yield from self.ftp_cwd("..")

    ftp_xcup = ftp_cdup

    def ftp_rest(self, arg: str) -> Steps[None]:
        if not arg.isdigit():
            raise Reply(501, "REST takes a number of octets.")
        self.rest = int(arg)
        yield from self.reply(350, f"Restart position accepted ({self.rest}).")

    def ftp_size(self, arg: str) -> Steps[None]:
        place = self.place(arg)
        if not place.real.is_file():
            raise Reply(550, "Could not get file size.")
        # RFC 3659 §4: the octets the transfer would send in the current TYPE.
        size = place.real.stat().st_size if self.binary else ftpfs.ascii_size(place.real)
        yield from self.reply(213, str(size))

    def ftp_mdtm(self, arg: str) -> Steps[None]:
        place = self.place(arg)
        if not place.real.is_file():
            raise Reply(550, "Could not get file modification time.")
        yield from self.reply(213, ftpfs.mdtm(place.real.stat().st_mtime))

    def ftp_mlst(self, arg: str) -> Steps[None]:
        place = self.place(arg or ".")
        if not place.real.exists():
            raise Reply(550, "No such file or directory.")
        kind = "dir" if place.real.is_dir() else "file"
        facts = ftpfs.mlsx_facts(place.real.stat(), kind, self.ftpd.upload)
        # RFC 3659 §7.2: the entry on its own line, after a space.
        yield from self.reply(250, ["Listing:", f" {facts} {place.virtual}", "End"])

    def ftp_abor(self, arg: str) -> Steps[None]:
        self._close_data(abort=True)
        yield from self.reply(226, "No transfer to abort.")

    # -- data connections (RFC 2428) --------------------------------------------------------
    def ftp_pasv(self, arg: str) -> Steps[None]:
        raise Reply(502, "PASV is IPv4's: use EPSV (RFC 2428).")
        yield  # pragma: no cover

    def ftp_port(self, arg: str) -> Steps[None]:
        raise Reply(502, "PORT is IPv4's: use EPRT (RFC 2428).")
        yield  # pragma: no cover

    def ftp_epsv(self, arg: str) -> Steps[None]:
        if arg.upper() == "ALL":
            self.epsv_all = True  # RFC 2428 §4: only EPSV from now on
            yield from self.reply(200, "EPSV ALL ok.")
            return
        if arg and arg != "2":
            raise Reply(522, "Network protocol not supported, use (2)")
        self._close_data(abort=True)
        self.active = None
        sock = self.stack.socket(AF_INET6, SOCK_STREAM)
        try:
            sock.bind((str(self.conn.local_address), 0))
            sock.listen(1)
        except OSError:
            sock.close()
            raise Reply(425, "Cannot open a passive port.") from None
        assert sock.listener is not None
        sock.listener.on_change = lambda _: self.runner.kick()
        self.passive = sock
        port = sock.getsockname()[1]
        # RFC 2428 §3: "229 Entering Extended Passive Mode (|||port|)".
        yield from self.reply(229, f"Entering Extended Passive Mode (|||{port}|)")

    def ftp_eprt(self, arg: str) -> Steps[None]:
        if self.epsv_all:
            raise Reply(503, "EPSV ALL was given: EPRT refused (RFC 2428 §4).")
        fields = arg.split(arg[:1]) if arg else []
        # RFC 2428 §2: EPRT<space><d><net-prt><d><net-addr><d><tcp-port><d>
        if len(fields) != 5 or fields[0] or fields[4]:
            raise Reply(501, "EPRT |2|address|port|")
        proto, addr, port = fields[1:4]
        if proto != "2":
            raise Reply(522, "Network protocol not supported, use (2)")
        try:
            address = IPv6Address(addr.split("%")[0])
            number = int(port)
        except ValueError:
            raise Reply(501, "EPRT: bad address or port.") from None
        # RFC 2577 §3: no bounce: only the client itself, and not a privileged port.
        if address != self.conn.remote_address or not 1024 <= number <= 65535:
            self.ftpd.counters.bounce_refused += 1
            raise Reply(504, "EPRT to another host or a port below 1024 refused (RFC 2577).")
        self._close_data(abort=True)
        self.active = (address, number)
        yield from self.reply(200, "EPRT command successful.")

    def open_data(self) -> Steps[Connection]:
        """RFC 959 §5.2: the data connection for a transfer (150 said already)."""
        # No deadline: a client that never opens it holds its own session until its
        # control connection ends (the session count is bounded).
        now = self.now
        deadline = None
        if self.passive is not None:
            listener = self.passive.listener
            assert listener is not None
            while True:
                yield from until(lambda: bool(listener.accept_queue), deadline, "data connect")
                conn = listener.accept_queue.popleft()
                if conn.remote_address == self.conn.remote_address:
                    break
                # RFC 2577 §5: a data connection from another address is not ours.
                self.ftpd.counters.data_peer_mismatch_reset += 1
                release(self.stack, conn, abort=True)
            self.passive.close()
            self.passive = None
        elif self.active is not None:
            address, port = self.active
            self.active = None
            conn = self._connect_active(address, port, now)
            yield from until(lambda: conn.state is not TcpState.SYN_SENT, deadline, "connect")
            if conn.state is not TcpState.ESTABLISHED:
                release(self.stack, conn, abort=True)
                raise Reply(425, "Cannot open the data connection.")
        else:
            raise Reply(425, "Use EPSV or EPRT first.")
        conn.on_change = lambda _: self.runner.kick()
        self.data = conn
        return conn

    def _connect_active(self, address: IPv6Address, port: int, now: float) -> Connection:
        tcp = self.stack.host.tcp
        local = self.conn.local_address
        iface = self.conn.interface
        try:
            # RFC 959 §3.2: from port L-1 (20); an ephemeral one when that four-tuple is
            # still taken (an earlier transfer's TIME-WAIT).
            return tcp.connect(
                address, port, now, local=local, local_port=FTP_DATA_PORT, interface=iface
            )
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise Reply(425, "Cannot open the data connection.") from None
        try:
            return tcp.connect(address, port, now, local=local, interface=iface)
        except OSError:
            raise Reply(425, "Cannot open the data connection.") from None

    def _pre_transfer(self) -> None:
        if self.passive is None and self.active is None:
            raise Reply(425, "Use EPSV or EPRT first.")

    def send_lines(self, lines: list[str], what: str) -> Steps[None]:
        self._pre_transfer()
        yield from self.reply(150, f"Here comes the {what}.")
        data = yield from self.open_data()
        yield from self._send_data(data, [("\r\n".join(lines) + "\r\n" if lines else "").encode()])
        yield from self.reply(226, f"{what.capitalize()} send OK.")

    def _send_data(self, data: Connection, chunks: Iterator[bytes] | list[bytes]) -> Steps[None]:
        for chunk in chunks:
            yield from send_all(self.stack, data, chunk, None)
            self.ftpd.counters.octets_sent += len(chunk)
        data.close(self.now)
        yield from until(lambda: finished_sending(data), None, "data sent")
        self.data = None
        failed = data.error is not None and not data.fin_acked
        release(self.stack, data)
        if failed:
            raise Reply(426, "Connection closed; transfer aborted.")

    def ftp_list(self, arg: str) -> Steps[None]:
        path = " ".join(w for w in arg.split() if not w.startswith("-"))  # ls flags
        place = self.place(path or ".")
        if not place.real.exists():
            raise Reply(550, "No such file or directory.")
        lines = ftpfs.list_lines(self.ftpd.root, place, MAX_LISTING, time.time())
        yield from self.send_lines(lines, "directory listing")

    def ftp_nlst(self, arg: str) -> Steps[None]:
        place = self.place(arg or ".")
        if not place.real.is_dir():
            raise Reply(550, "No such directory.")
        yield from self.send_lines(
            ftpfs.nlst_lines(self.ftpd.root, place, MAX_LISTING), "directory listing"
        )

    def ftp_mlsd(self, arg: str) -> Steps[None]:
        place = self.place(arg or ".")
        if not place.real.is_dir():
            raise Reply(501, "Not a directory.")  # RFC 3659 §7.2.1
        lines = ftpfs.mlsd_lines(self.ftpd.root, place, self.ftpd.upload, MAX_LISTING)
        yield from self.send_lines(lines, "directory listing")

    def ftp_retr(self, arg: str) -> Steps[None]:
        place = self.place(arg)
        offset, self.rest = self.rest, 0
        if not place.real.is_file():
            raise Reply(550, "Failed to open file.")
        self._pre_transfer()
        f = place.real.open("rb")
        try:
            f.seek(offset)
            size = place.real.stat().st_size - offset
            kind = "BINARY" if self.binary else "ASCII"
            yield from self.reply(150, f"Opening {kind} mode data connection ({size} bytes).")
            data = yield from self.open_data()
            yield from self._send_data(data, self._read_file(f))
        finally:
            f.close()
        self.ftpd.counters.files_sent += 1
        yield from self.reply(226, "Transfer complete.")

    def _read_file(self, f: BinaryIO) -> Iterator[bytes]:
        while chunk := f.read(CHUNK):
            yield chunk if self.binary else ftpfs.to_ascii(chunk)

    def ftp_stor(self, arg: str) -> Steps[None]:
        yield from self._store(arg, append=False)

    def ftp_appe(self, arg: str) -> Steps[None]:
        yield from self._store(arg, append=True)

    def _store(self, arg: str, append: bool) -> Steps[None]:
        place = self.place(arg)
        offset, self.rest = self.rest, 0
        if not arg or place.real.is_dir() or not place.real.parent.is_dir():
            raise Reply(553, "Could not create file.")
        self._pre_transfer()
        f: BinaryIO
        if append:
            f = place.real.open("ab")
        elif offset:
            f = place.real.open("r+b" if place.real.exists() else "wb")
            f.seek(offset)  # RFC 3659 §5.5: the restarted STOR writes from the marker
            f.truncate()
        else:
            f = place.real.open("wb")
        try:
            yield from self.reply(150, "Ok to send data.")
            data = yield from self.open_data()
            decode = ftpfs.FromAscii() if not self.binary else None
            while True:
                yield from until(lambda: readable(data), None, "data")
                chunk = data.read(CHUNK, self.now)
                if chunk:
                    self.ftpd.counters.octets_received += len(chunk)
                    f.write(decode.feed(chunk) if decode else chunk)
                    continue
                if data.eof or broken(data):
                    break
            if decode is not None:
                f.write(decode.end())
            complete = data.eof
            self.data = None
            release(self.stack, data, abort=not complete)
        finally:
            f.close()
        if not complete:
            raise Reply(426, "Connection closed; transfer aborted.")
        self.ftpd.counters.files_received += 1
        yield from self.reply(226, "Transfer complete.")

    def ftp_dele(self, arg: str) -> Steps[None]:
        place = self.place(arg)
        if not place.real.is_file() or place.real.is_symlink():
            raise Reply(550, "Delete operation failed.")
        place.real.unlink()
        yield from self.reply(250, "Delete operation successful.")

    def ftp_mkd(self, arg: str) -> Steps[None]:
        place = self.place(arg)
        if place.virtual == "/" or place.real.exists():
            raise Reply(550, "Create directory operation failed.")
        place.real.mkdir()
        quoted = place.virtual.replace('"', '""')
        yield from self.reply(257, f'"{quoted}" created')

    ftp_xmkd = ftp_mkd

    def ftp_rmd(self, arg: str) -> Steps[None]:
        place = self.place(arg)
        if place.virtual == "/" or not place.real.is_dir():
            raise Reply(550, "Remove directory operation failed.")
        place.real.rmdir()
        yield from self.reply(250, "Remove directory operation successful.")

    ftp_xrmd = ftp_rmd


class _Listener(TcpServer):
    def release(self, handler: StreamHandler) -> None:
        if isinstance(handler, FtpSession):
            handler.cleanup()
        super().release(handler)


class Ftpd:
    """An FTP server of ``root`` on ``stack``'s port ``port`` (read-only unless
    ``upload``)."""

    def __init__(
        self,
        stack: Stack,
        root: str | Path,
        port: int = FTP_PORT,
        *,
        upload: bool = False,
        max_sessions: int = MAX_SESSIONS,
    ) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, f"{root}: not a directory")
        self.upload = upload
        self.counters = FtpCounters()
        self.server = _Listener(
            stack,
            port,
            lambda server, conn: FtpSession(server, conn, self),
            max_connections=max_sessions,
        )

    @property
    def port(self) -> int:
        return self.server.port

    def close(self) -> None:
        self.server.close()


__all__ = ["FTP_PORT", "FtpCounters", "FtpSession", "Ftpd"]
