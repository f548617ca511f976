"""A minimal HTTP/1.1 file server (RFC 9110, RFC 9112) and a tiny client, over tcpip6's TCP.

The server answers GET and HEAD with the file under its root the path names
(``index.html`` for a directory), with Content-Length, keeping the connection open
between requests (HTTP/1.1's default; ``Connection: close`` or HTTP/1.0 without
keep-alive closes it after the response). It refuses what it should:

- 400 a malformed request line or header, a path with a ``..`` segment, a path that is
  not absolute (``/...``) or that resolves outside the root (a symbolic link out);
- 404 nothing there; 405 another method (with ``Allow: GET, HEAD``);
- 414 a request target longer than :data:`MAX_TARGET`; 431 a header section longer than
  :data:`MAX_REQUEST` (the request is never buffered beyond that).

Each connection is a :class:`~tcpip6.apps.tcpserve.StreamHandler`: the file goes out in
pieces as the send buffer has room, read from disk as it goes, so a large file and a
slow client cost one send buffer each; a request that arrives while a response is being
sent waits in the receive buffer (pipelining, RFC 9112 §9.3.2). The server handles
:data:`~tcpip6.apps.tcpserve.DEFAULT_MAX_CONNECTIONS` connections at once.

An HTTP/1.0 request gets an HTTP/1.0 response (RFC 9110 §6.2 lets a server answer in the
client's version), and without keep-alive the connection is closed right after it
(RFC 9112 §9.3): the status line, the header fields and the start of the body leave in
one write, with Nagle off, so nothing waits for the client's delayed ACK. A connection
that waits for a request (a kept-alive one between requests, or one sending its request
too slowly) longer than ``idle_timeout`` is closed (RFC 9112 §9.5: a server "SHOULD
send a close notification" -- the FIN); :class:`Httpd` is a node of the driver for that
timer (``next_deadline``/``poll``).
"""

from __future__ import annotations

import argparse
import hashlib
import mimetypes
import re
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, TextIO
from urllib.parse import unquote, urlsplit

from tcpip6.api.sockets import AF_INET6, SOCK_STREAM, Stack
from tcpip6.apps.command import Backend, CliError, Subparsers, tool_parser
from tcpip6.apps.tcpserve import DEFAULT_MAX_CONNECTIONS, StreamHandler, TcpServer
from tcpip6.stack.tcp import Connection

HTTP_PORT = 80
#: The longest header section (request line and fields) the server reads.
MAX_REQUEST = 8192
#: The longest request target (RFC 9112 §3: "recommended ... at least 8000 octets"; a
#: file server needs far less).
MAX_TARGET = 2048
#: Requests served on one connection before the server closes it.
MAX_REQUESTS = 100
#: Octets read from the file at a time.
CHUNK = 1 << 16
#: Seconds a connection may wait for (the rest of) a request before the server closes it.
IDLE_TIMEOUT = 15.0
SERVER = "tcpip6-httpd"
REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    414: "URI Too Long",
    431: "Request Header Fields Too Large",
}
_TOKEN = re.compile(rb"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


@dataclass
class Request:
    method: str
    target: str
    version: str
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def keep_alive(self) -> bool:
        """RFC 9112 §9.3: HTTP/1.1 persists unless "close"; HTTP/1.0 only with keep-alive."""
        tokens = {t.strip().lower() for t in self.headers.get("connection", "").split(",")}
        if self.version == "HTTP/1.1":
            return "close" not in tokens
        return "keep-alive" in tokens


class BadRequest(Exception):
    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status


def parse_request(head: bytes) -> Request:
    """The request line and header fields (without the empty line). BadRequest if bad."""
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or not _TOKEN.match(parts[0]):
        raise BadRequest(400, "malformed request line")
    method, target, version = (p.decode("latin-1") for p in parts)
    if len(target) > MAX_TARGET:
        raise BadRequest(414, "request target too long")
    if version not in ("HTTP/1.1", "HTTP/1.0"):
        raise BadRequest(400, f"unsupported version {version!r}")
    request = Request(method, target, version)
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not _TOKEN.match(name):
            raise BadRequest(400, "malformed header field")  # RFC 9112 §5.1: no space
        request.headers[name.decode("ascii").lower()] = value.strip().decode("latin-1")
    if version == "HTTP/1.1" and "host" not in request.headers:
        raise BadRequest(400, "HTTP/1.1 needs Host")  # RFC 9112 §3.2
    if "content-length" in request.headers or "transfer-encoding" in request.headers:
        raise BadRequest(400, "a GET or HEAD here has no body")
    return request


def resolve_path(root: Path, target: str) -> Path:
    """The file ``target`` names under ``root``; BadRequest (400) for what would leave it."""
    path = urlsplit(target).path if not target.startswith("/") else target.split("?", 1)[0]
    if not path.startswith("/"):
        raise BadRequest(400, "the path is not absolute")
    decoded = unquote(path)
    segments = decoded.split("/")
    if ".." in segments or "\\" in decoded or "\0" in decoded:
        raise BadRequest(400, "the path leaves the root")
    base = root.resolve()
    found = (base / decoded.lstrip("/")).resolve()
    if not found.is_relative_to(base):
        raise BadRequest(400, "the path leaves the root")
    if found.is_dir():
        found = found / "index.html"
    return found


@dataclass
class HttpCounters:
    requests: int = 0
    responses: dict[int, int] = field(default_factory=dict)
    body_octets: int = 0
    idle_closed: int = 0  # connections closed after idle_timeout without a request


class HttpHandler(StreamHandler):
    """One HTTP connection: parse, answer, stream the file, and again."""

    def __init__(self, server: TcpServer, conn: Connection, httpd: Httpd) -> None:
        super().__init__(server, conn)
        self.httpd = httpd
        self.head = bytearray()
        self.out = b""  # the status line and fields still to queue
        self.body: BinaryIO | None = None
        self.left = 0  # body octets still to queue
        self.close_after = False
        self.served = 0
        self.version = "HTTP/1.1"  # of the response being sent (RFC 9110 §6.2)
        #: When the server closes the connection if no request has come by then.
        self.deadline: float | None = None
        # The response's first segment carries the head and the body's start; its last one
        # and the FIN go at once (no Nagle wait for the client's delayed ACK).
        conn.nodelay = True

    def changed(self) -> None:
        while not self.done:
            if self.out or self.body is not None:
                if not self._send_response():
                    return  # the send buffer is full: more when it drains
                if self.close_after:
                    self.finish()
                    return
                continue
            if not self._read_request():
                return

    def _read_request(self) -> bool:
        """Read up to the end of a header section; True when a response was queued."""
        while b"\r\n\r\n" not in self.head:
            want = MAX_REQUEST + 4 - len(self.head)
            data = self.read(want) if want > 0 else b""
            if not data:
                if len(self.head) >= MAX_REQUEST + 4:
                    self._respond_error(431, "header section too large")
                    return True
                if self.peer_closed:
                    self.finish()
                elif self.deadline is None:
                    self.deadline = self.now + self.httpd.idle_timeout
                    self.httpd.wake()
                return False
            self.deadline = None  # the client is talking: a new wait begins after this
            self.head += data
        end = self.head.index(b"\r\n\r\n")
        head, rest = bytes(self.head[:end]), self.head[end + 4 :]
        # Octets after the header section begin the next request (pipelining).
        self.head = bytearray(rest)
        self.httpd.counters.requests += 1
        self.served += 1
        self.version = "HTTP/1.1"
        try:
            request = parse_request(head)
            # RFC 9110 §6.2: "A server MAY send an HTTP/1.0 response to an HTTP/1.0 request".
            self.version = request.version
            self._respond(request)
        except BadRequest as exc:
            self._respond_error(exc.status, str(exc))
        return True

    def _respond(self, request: Request) -> None:
        if request.method not in ("GET", "HEAD"):
            self._respond_error(405, f"method {request.method}", allow=True)
            return
        path = resolve_path(self.httpd.root, request.target)
        try:
            f = path.open("rb")
            size = path.stat().st_size
        except OSError:
            self._respond_error(404, "nothing there", keep=request.keep_alive)
            return
        keep = request.keep_alive and self.served < MAX_REQUESTS
        ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        self._status(200, size, keep, ctype)
        if request.method == "GET" and size:
            self.body, self.left = f, size
            # The body's start rides with the head: one write, one segment for a small file.
            first = f.read(min(size, CHUNK))
            self.out += first
            self.left -= len(first)
            self.httpd.counters.body_octets += len(first)
        else:
            f.close()

    def _respond_error(
        self, status: int, why: str, *, keep: bool = False, allow: bool = False
    ) -> None:
        body = f"{status} {REASONS[status]}: {why}\n".encode()
        extra = "Allow: GET, HEAD\r\n" if allow else ""
        self._status(status, len(body), keep, "text/plain; charset=utf-8", extra)
        self.out += body

    def _status(self, status: int, length: int, keep: bool, ctype: str, extra: str = "") -> None:
        counts = self.httpd.counters.responses
        counts[status] = counts.get(status, 0) + 1
        self.close_after = not keep
        self.out = (
            f"{self.version} {status} {REASONS[status]}\r\n"
            f"Server: {SERVER}\r\n"
            f"Content-Type: {ctype}\r\n"
            f"Content-Length: {length}\r\n"
            f"Connection: {'keep-alive' if keep else 'close'}\r\n{extra}\r\n"
        ).encode("latin-1")

    def _send_response(self) -> bool:
        """Queue what fits of the response; True when all of it is queued."""
        while self.out:
            n = self.send_some(self.out)
            if n == 0:
                return False
            self.out = self.out[n:]
        body = self.body
        while body is not None and self.left:
            room = self.conn.send_space
            if room <= 0:
                return False
            chunk = body.read(min(room, CHUNK, self.left))
            if not chunk:  # the file shrank: the promised length cannot be kept
                self.close_after = True
                self.left = 0
                break
            n = self.send_some(chunk)
            self.httpd.counters.body_octets += n
            self.left -= n
            if n < len(chunk):
                body.seek(n - len(chunk), 1)
                return False
        if body is not None:
            body.close()
            self.body = None
        return True

    def finish(self, abort: bool = False) -> None:
        if self.body is not None:
            self.body.close()
            self.body = None
        # A lingering close (RFC 9112 §9.6): what the client still sends is acknowledged
        # and dropped, so that no reset destroys the response before the client reads it.
        self.conn.shutdown_read()
        super().finish(abort)


class Httpd:
    """An HTTP file server for ``root`` on ``stack``'s port ``port``."""

    def __init__(
        self,
        stack: Stack,
        root: str | Path,
        port: int = HTTP_PORT,
        *,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        idle_timeout: float = IDLE_TIMEOUT,
    ) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise NotADirectoryError(f"{root}: not a directory")
        self.counters = HttpCounters()
        self.idle_timeout = idle_timeout
        #: Called when a connection starts waiting, so that a driver that caches deadlines
        #: (simnet's world: ``lambda: world.touch(httpd)``) asks again.
        self.wake: Callable[[], None] = lambda: None
        self.server = TcpServer(
            stack,
            port,
            lambda server, conn: HttpHandler(server, conn, self),
            max_connections=max_connections,
        )

    @property
    def port(self) -> int:
        return self.server.port

    # -- a node of the driver: the idle timer ----------------------------------------------
    def next_deadline(self) -> float | None:
        deadlines = [
            h.deadline
            for h in self.server.handlers
            if isinstance(h, HttpHandler) and h.deadline is not None
        ]
        return min(deadlines, default=None)

    def poll(self, now: float) -> float | None:
        """Close the connections that waited for a request until their deadline."""
        for handler in list(self.server.handlers):
            if not isinstance(handler, HttpHandler) or handler.done:
                continue
            if handler.deadline is not None and handler.deadline <= now:
                handler.deadline = None
                self.counters.idle_closed += 1
                handler.finish()
        return self.next_deadline()

    def close(self) -> None:
        self.server.close()


# -- the client ---------------------------------------------------------------------------
@dataclass
class Response:
    status: int
    reason: str
    headers: dict[str, str]
    body: bytes


def fetch(
    stack: Stack,
    host: str,
    path: str,
    port: int = HTTP_PORT,
    *,
    method: str = "GET",
    timeout: float = 30.0,
    limit: int = 64 << 20,
) -> Response:
    """``curl http://[host]:port/path``: one request with ``Connection: close``, the
    response read to the end (at most ``limit`` octets). OSError or ValueError on failure."""
    authority = f"[{host}]" if ":" in host else host
    if port != HTTP_PORT:
        authority += f":{port}"
    request = (
        f"{method} {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: tcpip6-fetch\r\n"
        "Accept: */*\r\nConnection: close\r\n\r\n"
    ).encode("latin-1")
    with stack.socket(AF_INET6, SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect((host, port))
        sock.sendall(request)
        data = bytearray()
        while len(data) <= limit and (chunk := sock.recv(CHUNK)):
            data += chunk
    return parse_response(bytes(data), head_only=method == "HEAD")


def parse_response(data: bytes, head_only: bool = False) -> Response:
    end = data.find(b"\r\n\r\n")
    if end < 0:
        raise ValueError("no complete response header")
    lines = data[:end].decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    code, _, reason = rest.partition(" ")
    if not version.startswith("HTTP/1.") or not code.isdigit():
        raise ValueError(f"not an HTTP response: {lines[0]!r}")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    body = b"" if head_only else data[end + 4 :]
    length = headers.get("content-length")
    if length is not None and not head_only and len(body) != int(length):
        raise ValueError(f"Content-Length {length}, {len(body)} octets came")
    return Response(int(code), reason, headers, body)


# -- the demonstration (tcpip6 httpd) -------------------------------------------------------
#: The file the demonstration serves when given no directory: big enough to span many
#: segments and windows.
DEMO_FILE = "tcpip6.bin"
DEMO_SIZE = 300 * 1024


def demo_root(directory: Path) -> Path:
    """Fill ``directory`` with an index.html and :data:`DEMO_FILE` (deterministic octets)."""
    (directory / "index.html").write_text(
        "<!doctype html><title>tcpip6</title><p>Served by tcpip6's TCP.</p>\n"
    )
    (directory / DEMO_FILE).write_bytes(bytes((i * 31 + (i >> 8)) % 256 for i in range(DEMO_SIZE)))
    return directory


def demonstrate(
    server: Stack,
    client: Stack,
    address: str,
    root: Path,
    path: str,
    out: TextIO,
    *,
    name: str | None = None,
    port: int = HTTP_PORT,
) -> int:
    """Serve ``root`` on ``server``, fetch ``path`` from ``client`` and compare it with the
    file on disk. 0 when a 200 response carried the file byte for byte."""
    httpd = Httpd(server, root, port)
    try:
        authority = f"[{address}]" + (f":{port}" if port != HTTP_PORT else "")
        print(f"httpd on {name or address} ({authority}) serving {root}", file=out)
        print(f"GET http://{authority}{path}", file=out)
        start = client.driver.now
        try:
            response = fetch(client, address, path, port)
        except (OSError, ValueError) as exc:
            print(f"fetch failed: {getattr(exc, 'strerror', None) or exc}", file=out)
            return 1
        seconds = client.driver.now - start
        print(f"HTTP/1.1 {response.status} {response.reason}", file=out)
        for key in ("content-type", "content-length", "connection"):
            if key in response.headers:
                print(f"  {key.title()}: {response.headers[key]}", file=out)
        size = len(response.body)
        rate = size / max(seconds, 0.001) / 1024
        print(f"{size} octets in {seconds:.3f} seconds = {rate:.2f} KB/sec", file=out)
        if response.status != 200:
            return 1
        try:
            expected = resolve_path(root, path).read_bytes()
        except (OSError, BadRequest):
            expected = b""
        digest = hashlib.sha256(response.body).hexdigest()[:16]
        if response.body != expected:
            print(f"DIFFERENT from the file on disk ({len(expected)} octets)", file=out)
            return 1
        print(f"byte for byte the file on disk (sha256 {digest}...)", file=out)
        return 0
    finally:
        httpd.close()


# -- the command line: tcpip6 httpd ----------------------------------------------------


def add_parser(sub: Subparsers) -> argparse.ArgumentParser:
    p = tool_parser(
        sub,
        "httpd",
        "serve files over HTTP/1.1 and fetch one, like curl",
        "A minimal HTTP/1.1 file server on tcpip6's TCP (GET and HEAD, Content-Length, "
        "keep-alive; 400 for a path with '..' or outside the root, 404, 405, 414; bounded "
        "requests and connections), and a tiny client that fetches PATH from it and checks "
        "the body byte for byte against the file on disk. With --sim the server is SERVER "
        "(default b in demo, z in chain) and the client a; with --loopback both are ::1. "
        f"Without --root it serves a temporary directory holding index.html and a "
        f"300 KB {DEMO_FILE}, and fetches /{DEMO_FILE}. A live host serves a directory with "
        "'tcpip6 host --serve http=DIR'.\n\nexamples:\n"
        "  tcpip6 httpd --sim demo                    a fetches /tcpip6.bin from b\n"
        "  tcpip6 httpd --sim demo --root site /a.txt  a fetches site/a.txt from b\n"
        "  tcpip6 httpd --sim demo c                  from c, across the router (MTU 1280)",
        serves=True,
    )
    p.add_argument("path", nargs="?", default="/", help="the path to fetch (default /)")
    p.add_argument("--root", metavar="DIR", help="the directory to serve")
    p.add_argument(
        "--port",
        type=int,
        default=HTTP_PORT,
        metavar="PORT",
        help=f"the server's port (default {HTTP_PORT})",
    )
    return p


def run(args: argparse.Namespace) -> int:
    if args.root is not None and not Path(args.root).is_dir():
        raise CliError(f"--root {args.root}: no such directory", 2)
    if not args.path.startswith("/"):
        raise CliError(f"{args.path}: a path starts with /", 2)
    backend = Backend(args)
    address, server, name = backend.server(args.server)
    with tempfile.TemporaryDirectory(prefix="tcpip6-httpd-") as tmp:
        root = Path(args.root) if args.root is not None else demo_root(Path(tmp))
        path = args.path if args.root is not None or args.path != "/" else "/" + DEMO_FILE
        shown = None if backend.topology is None else name
        return demonstrate(
            server, backend.stack, address, root, path, sys.stdout, name=shown, port=args.port
        )
