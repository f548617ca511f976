"""``tcpip6 ftp6`` and ``tcpip6 ftpd6``: FTP for IPv6 over tcpip6's TCP.

``ftp6`` fetches (or uploads, or lists) one path, as ``curl ftp://...`` does, and prints
the control dialog, the time the transfer took and the SHA-256 of what it moved:

- ``--sim demo`` / ``--loopback``: an ftpd6 on the server host (``--root DIR``, or a
  temporary directory holding a demonstration file) and the client on host a; the file
  that arrives is compared with the one on disk by SHA-256;
- ``--control PATH URL``: inside a running ``tcpip6 host`` (its own stack, a
  control-socket job), against any FTP server: ``ftp://[2001:db8::2]/pub/file``.

``ftpd6`` runs the server on a simulated network and shows a client's session with it
(a live host serves with ``tcpip6 host --serve ftp=DIR`` or ``ftp-upload=DIR``).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import os
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, TextIO
from urllib.parse import unquote, urlsplit

from tcpip6.api.sockets import Stack
from tcpip6.apps.command import Subparsers
from tcpip6.apps.ftpclient import FtpClient, FtpError, Transfer
from tcpip6.apps.ftpd import FTP_PORT, Ftpd
from tcpip6.apps.jobs import Job
from tcpip6.apps.steps import Steps, StepsRunner, run_blocking

DEMO_FILE = "tcpip6.bin"
DEMO_SIZE = 1 << 20


@dataclass
class Order:
    """What one ftp6 run does."""

    host: str
    path: str
    port: int = FTP_PORT
    output: str | None = None  # RETR into this file (None: count and hash only)
    upload: str | None = None  # STOR this file to path
    listing: bool = False  # MLSD path
    active: bool = False
    ascii: bool = False
    resume: bool = False  # REST from the output file's size
    user: str = "anonymous"
    password: str = "tcpip6@"
    timeout: float = 30.0


class _Hashing:
    """A sink that hashes what it is given (and writes it on, when given a file)."""

    def __init__(self, f: BinaryIO | None) -> None:
        self.f = f
        self.sha = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.sha.update(data)
        if self.f is not None:
            self.f.write(data)
        return len(data)


def rate_line(t: Transfer) -> str:
    rate = t.octets / max(t.seconds, 0.001) / 1024
    return f"{t.octets} octets in {t.seconds:.3f} seconds = {rate:.2f} KB/sec"


def session(stack: Stack, order: Order, out: TextIO) -> Steps[int]:
    """One ftp6 run; its exit status (0 done, 1 the server refused, 2 no connection)."""
    client = FtpClient(
        stack,
        active=order.active,
        timeout=order.timeout,
        log=lambda line: print(line, file=out),
    )
    try:
        yield from client.open(order.host, order.port)
        yield from client.login(order.user, order.password)
        yield from client.set_type(not order.ascii)
        if order.listing:
            for line in (yield from client.listing("MLSD", order.path)):
                print(line, file=out)
        elif order.upload is not None:
            with open(order.upload, "rb") as f:
                t = yield from client.store(order.path, f)
            print(rate_line(t), file=out)
            print(f"sent {order.upload}", file=out)
        else:
            yield from _get(client, order, out)
        yield from client.quit()
        return 0
    except FtpError as exc:
        print(f"ftp6: {exc}", file=out)
        return 1
    except (OSError, ValueError) as exc:
        print(f"ftp6: {getattr(exc, 'strerror', None) or exc}", file=out)
        return 2
    finally:
        client.close()


def _get(client: FtpClient, order: Order, out: TextIO) -> Steps[None]:
    rest = 0
    if order.resume and order.output is not None and os.path.exists(order.output):
        rest = os.path.getsize(order.output)
    f = open(order.output, "ab" if rest else "wb") if order.output is not None else None  # noqa: SIM115
    try:
        sink = _Hashing(f)
        t = yield from client.retrieve(order.path, sink, rest)
    finally:
        if f is not None:
            f.close()
    print(rate_line(t) + (f" (resumed at {rest})" if rest else ""), file=out)
    if order.output is not None:
        with open(order.output, "rb") as f2:
            digest = hashlib.file_digest(f2, "sha256").hexdigest()
        print(f"sha256 {digest}  {order.output}", file=out)
    else:
        print(f"sha256 {sink.sha.hexdigest()}  (received)", file=out)


# -- inside a live host ------------------------------------------------------------------------
class FtpJob(Job):
    """ftp6 as a control-socket job: the session stepped by the host's loop."""

    def __init__(self, stack: Stack, order: Order) -> None:
        super().__init__()
        self.runner = StepsRunner(session(stack, order, self.out))

    def _pending(self) -> bool:
        return self.runner.pending()

    def _step(self, now: float) -> None:
        self.wake = self.runner.step(now)
        if self.runner.result is not None:
            self.status = self.runner.result

    def _close(self) -> None:
        self.runner.steps.close()

    def _interrupt(self) -> None:
        self.runner.steps.close()
        print("ftp6: interrupted", file=self.out)
        self.status = 130


def ftp6_job(stack: Stack, args: Mapping[str, Any]) -> Job:
    """The job of ``{"run": "ftp6", "args": {...}}`` (ValueError when the args are bad)."""
    fields = Order.__dataclass_fields__
    unknown = set(args) - set(fields)
    if unknown:
        raise ValueError(f"unknown arguments {sorted(unknown)}")
    for key, value in args.items():
        kind = fields[key].type
        ok = {
            "str": isinstance(value, str),
            "int": isinstance(value, int) and not isinstance(value, bool),
            "bool": isinstance(value, bool),
            "float": isinstance(value, int | float) and not isinstance(value, bool),
            "str | None": value is None or isinstance(value, str),
        }.get(str(kind), False)
        if not ok:
            raise ValueError(f"{key}: expected {kind}")
    if "host" not in args or "path" not in args:
        raise ValueError("give host and path")
    order = Order(**args)
    for name in ("output", "upload"):
        value = getattr(order, name)
        if value is not None and not os.path.isabs(value):
            raise ValueError(f"{name} {value!r}: an absolute path (the host's cwd is its own)")
    stack.host.scoped_destination(order.host)
    return FtpJob(stack, order)


# -- the command line --------------------------------------------------------------------------
def parse_url(url: str) -> tuple[str, int, str]:
    """``ftp://[ADDR]:PORT/PATH`` -> (ADDR, PORT, PATH). ValueError when it is not one."""
    parts = urlsplit(url)
    if parts.scheme != "ftp" or not parts.hostname:
        raise ValueError(f"{url}: expected ftp://[ADDRESS]/PATH")
    hostport = parts.netloc.rpartition("@")[2]
    host = unquote(hostport.partition("]")[0].lstrip("["))
    if not hostport.startswith("[") or not host:
        raise ValueError(f"{url}: the address goes in brackets, ftp://[2001:db8::1]/PATH")
    return host, parts.port or FTP_PORT, unquote(parts.path.lstrip("/")) or "."


def add_parser(sub: Subparsers) -> argparse.ArgumentParser:
    from tcpip6.apps.command import tool_parser

    p = tool_parser(
        sub,
        "ftp6",
        "fetch, upload or list over FTP (RFC 959, RFC 2428 EPSV/EPRT), like curl ftp://",
        "An FTP client on tcpip6's TCP: binary (default) or ASCII type, passive (EPSV) or "
        "active (EPRT) data connections, REST to resume, MLSD listings. With --sim or "
        "--loopback an ftpd6 serves --root DIR (or a 1 MB demonstration file) on the server "
        "host and the file fetched is compared with the one on disk by SHA-256. With "
        "--control PATH the host at PATH runs the client with its own stack, against any "
        "FTP server (files are the host's: absolute paths).\n\nexamples:\n"
        "  tcpip6 ftp6 --sim demo                        a fetches /tcpip6.bin from b\n"
        "  tcpip6 ftp6 --sim demo c --active --ascii     from c across the router\n"
        "  tcpip6 ftp6 --control /tmp/h.sock ftp://[2001:db8::2]/pub/f -o /tmp/f",
        in_host=True,
    )
    p.add_argument("target", nargs="?", help="--control: ftp://[ADDR]/PATH; --sim: SERVER")
    p.add_argument("path", nargs="?", help="with --sim/--loopback, the path to fetch")
    p.add_argument("--root", metavar="DIR", help="with --sim/--loopback, the served directory")
    p.add_argument("-o", "--output", metavar="FILE", help="write what is fetched to FILE")
    p.add_argument("-T", "--upload", metavar="FILE", help="upload FILE to the path (STOR)")
    p.add_argument("--list", action="store_true", help="list the path (MLSD)")
    p.add_argument("--active", action="store_true", help="active data connections (EPRT)")
    p.add_argument("--ascii", action="store_true", help="TYPE A (CRLF on the wire)")
    p.add_argument("-C", "--resume", action="store_true", help="REST from -o FILE's size")
    p.add_argument("--user", default="anonymous", help="user (default anonymous)")
    p.add_argument("--password", default="tcpip6@", help="password (default tcpip6@)")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds without progress")
    p.set_defaults(run=run)

    d = tool_parser(
        sub,
        "ftpd6",
        "serve a directory over FTP on a simulated network and show a session with it",
        "ftpd6, tcpip6's FTP server (RFC 959, RFC 2428, RFC 3659), confined to its "
        "directory, anonymous and read-only unless --upload. Here it serves --root DIR (or "
        "a demonstration file) on the server host, and host a lists it, fetches a file "
        "passively and actively and tries to leave the root. A live host serves with "
        "'tcpip6 host --serve ftp=DIR' (or ftp-upload=DIR).",
        serves=True,
    )
    d.add_argument("--root", metavar="DIR", help="the directory to serve")
    d.add_argument("--upload", action="store_true", help="allow STOR, DELE, MKD")
    d.set_defaults(run=run_server)
    return p


def _order_from(args: argparse.Namespace, host: str, path: str) -> Order:
    if args.timeout <= 0:
        raise ValueError("--timeout is positive")
    return Order(
        host=host,
        path=path,
        output=os.path.abspath(args.output) if args.output else None,
        upload=os.path.abspath(args.upload) if args.upload else None,
        listing=args.list,
        active=args.active,
        ascii=args.ascii,
        resume=args.resume,
        user=args.user,
        password=args.password,
        timeout=args.timeout,
    )


def run(args: argparse.Namespace) -> int:
    from tcpip6.apps.command import CliError, run_in_host

    if args.resume and not args.output:
        raise CliError("--resume needs -o FILE", 2)
    if args.upload and not os.path.isfile(args.upload):
        raise CliError(f"-T {args.upload}: no such file", 2)
    if args.control:
        if args.path or args.root:
            raise CliError("with --control give one ftp://[ADDR]/PATH and no --root", 2)
        try:
            host, port, path = parse_url(args.target or "")
            order = _order_from(args, host, path)
        except ValueError as exc:
            raise CliError(str(exc), 2) from None
        order.port = port
        return run_in_host("ftp6", args.control, vars(order))
    return _demonstrate(args)


@contextlib.contextmanager
def _served(
    args: argparse.Namespace, chosen: str | None
) -> Iterator[tuple[Path, Stack, Stack, str, str]]:
    """What a run with a server needs: the directory it serves (--root, or a demo tree in a
    temporary directory removed afterwards), the server's and the client's stacks, and the
    server's name and address. On a loopback host both are that host; with --sim the
    server is ``chosen`` (by default the topology's peer) and the client its origin."""
    from tcpip6.apps.command import Backend, CliError

    if args.root is not None and not Path(args.root).is_dir():
        raise CliError(f"--root {args.root}: no such directory", 2)
    backend = Backend(args)
    topo = backend.topology
    with tempfile.TemporaryDirectory(prefix="tcpip6-ftpd-") as tmp:
        root = Path(args.root) if args.root else demo_root(Path(tmp))
        if topo is None:
            yield root, backend.stack, backend.stack, "::1", "::1"
            return
        name = chosen or topo.peer
        if name not in topo.hosts or name == topo.origin:
            raise CliError(f"{name}: name a host of {topo.name} other than {topo.origin}", 2)
        yield root, topo.stack(name), topo.stack(), name, topo.resolve(name)


def _demonstrate(args: argparse.Namespace) -> int:
    from tcpip6.apps.command import CliError

    with _served(args, args.target) as (root, server, client, name, address):
        path = args.path or ("." if args.list else DEMO_FILE)
        try:
            order = _order_from(args, address, path)
        except ValueError as exc:
            raise CliError(str(exc), 2) from None
        ftpd = Ftpd(server, root, upload=order.upload is not None)
        try:
            print(f"ftpd6 on {name} ([{address}]:21) serving {root}")
            status = run_blocking(session(client, order, sys.stdout), client.driver)
        finally:
            ftpd.close()
        if status or order.listing or order.upload is not None:
            return status
        return _compare(root / path, order, sys.stdout)


def _compare(original: Path, order: Order, out: TextIO) -> int:
    """The file on the server's disk, by SHA-256, against what came (0 when equal)."""
    if order.output is None or order.ascii or order.resume:
        return 0
    with open(original, "rb") as a, open(order.output, "rb") as b:
        same = (
            hashlib.file_digest(a, "sha256").digest() == hashlib.file_digest(b, "sha256").digest()
        )
    print(
        "identical to the served file (SHA-256)" if same else "DIFFERENT from the served file",
        file=out,
    )
    return 0 if same else 1


def demo_root(directory: Path) -> Path:
    (directory / DEMO_FILE).write_bytes(bytes((i * 31 + (i >> 9)) % 251 for i in range(DEMO_SIZE)))
    (directory / "README.txt").write_text("Served by tcpip6's ftpd6.\nLines end in LF here.\n")
    (directory / "pub").mkdir()
    return directory


def run_server(args: argparse.Namespace) -> int:
    with _served(args, args.server) as (root, server, client, _, address):
        ftpd = Ftpd(server, root, upload=args.upload)
        try:
            mode = "read-write" if args.upload else "read-only"
            print(f"ftpd6 at [{address}]:21 serving {root} ({mode})")
            status = run_blocking(_tour(client, address), client.driver)
        finally:
            ftpd.close()
        print(f"ftpd6 counters: {ftpd.counters}")
        return status


def _tour(stack: Stack, address: str) -> Steps[int]:
    """A client's visit: list, fetch passively and actively, try to leave the root."""
    client = FtpClient(stack, log=print)
    try:
        yield from client.open(address)
        yield from client.login()
        yield from client.set_type(True)
        facts = yield from client.listing("MLSD")
        files = [f.split(" ", 1)[1] for f in facts if f.startswith("type=file;")]
        for name in files[:2]:
            yield from client.size(name)
        for active in (False, True):
            client.active = active
            if files:
                t = yield from client.retrieve(files[0], io.BytesIO())
                print(rate_line(t))
        reply = yield from client.command("CWD ../..")
        yield from client.quit()
        return 0 if reply.code == 550 else 1
    except (FtpError, OSError, ValueError) as exc:
        print(f"ftpd6: {exc}")
        return 1
    finally:
        client.close()


__all__ = ["FtpJob", "Order", "add_parser", "ftp6_job", "parse_url", "run", "run_server", "session"]
