"""The simple services over UDP and TCP: echo (RFC 862), discard (RFC 863), daytime
(RFC 867), quote of the day (RFC 865) and character generator (RFC 864).

``Services(stack).start()`` binds them on the well-known ports, both transports. Over UDP
each is a datagram protocol (the asyncio face of the sockets) whose callback answers as
the datagram arrives; over TCP each connection has a handler
(:mod:`tcpip6.apps.tcpserve`) that runs as the connection moves. So on simnet the host
serves while the world runs, with no polling. ``query`` is the UDP client (one datagram,
the answer within a timeout), ``query_tcp`` the TCP one (connect, send, read to the end).

Over TCP, RFC 862-867 say: echo sends back what it receives until the client closes;
discard reads and drops; daytime and qotd send their text and close; chargen sends its
lines "until the calling user terminates the connection" (RFC 864), as fast as the
window lets it, never more than the send buffer holds.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TextIO

from tcpip6.api.sockets import (
    AF_INET6,
    SOCK_DGRAM,
    SOCK_STREAM,
    Address,
    DatagramTransport,
    Stack,
)
from tcpip6.api.stream import SHUT_WR
from tcpip6.apps.command import Backend, CliError, Subparsers, tool_parser
from tcpip6.apps.tcpserve import StreamHandler, TcpServer
from tcpip6.stack.tcp import Connection

ECHO_PORT = 7
DISCARD_PORT = 9
DAYTIME_PORT = 13
QOTD_PORT = 17
CHARGEN_PORT = 19
PORTS = {
    "echo": ECHO_PORT,
    "discard": DISCARD_PORT,
    "daytime": DAYTIME_PORT,
    "qotd": QOTD_PORT,
    "chargen": CHARGEN_PORT,
}

#: RFC 864: the 95 printable ASCII characters, lines of 72 of them, each line starting
#: one character further on than the one before.
CHARGEN_CHARS = bytes(range(32, 127))
CHARGEN_LINE = 72
#: RFC 864 (UDP): each answer holds a random number of characters, 0 to 512.
CHARGEN_MAX = 512
#: RFC 865: a quote should be shorter than 512 characters.
QOTD_MAX = 511
QUOTES = (
    "Be conservative in what you do, be liberal in what you accept from others.\r\n"
    "  -- RFC 793, section 2.10\r\n",
    "IPv6 nodes must not assume that the network will silently fragment for them:\r\n"
    "in IPv6, fragmentation is done only by the source.\r\n  -- after RFC 8200, section 4.5\r\n",
    "A host that sends a Router Solicitation does not wait for an answer forever:\r\n"
    "MAX_RTR_SOLICITATIONS is 3.\r\n  -- RFC 4861, section 10\r\n",
    "Every bit of the address space is precious; use it wisely.\r\n  -- tcpip6\r\n",
)


def chargen_line(n: int) -> bytes:
    """Line ``n`` of RFC 864's pattern, CRLF included."""
    start = n % len(CHARGEN_CHARS)
    doubled = CHARGEN_CHARS + CHARGEN_CHARS
    return doubled[start : start + CHARGEN_LINE] + b"\r\n"


def daytime_text(when: datetime) -> str:
    """RFC 867 names no syntax; this is its example's: 'Weekday, Month Day, Year Time-Zone'."""
    return when.strftime("%A, %B %d, %Y %H:%M:%S-") + (when.strftime("%Z") or "UTC") + "\r\n"


class _Service(asyncio.DatagramProtocol):
    """A UDP service: ``answer`` turns a request into a reply (None: nothing back)."""

    def __init__(self, answer: Callable[[bytes], bytes | None]) -> None:
        self.answer = answer
        self.transport: asyncio.DatagramTransport | None = None
        self.requests = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.DatagramTransport)
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Address) -> None:
        self.requests += 1
        reply = self.answer(data)
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)


class _EchoHandler(StreamHandler):
    def changed(self) -> None:
        # Read only what can be sent back now: a client that does not read its echo
        # fills our send buffer, then its own window closes (never an unbounded queue).
        while (room := self.conn.send_space) > 0 and self.conn.rcvbuf:
            self.send_some(self.read(room))
        if self.peer_closed:
            self.finish()


class _DiscardHandler(StreamHandler):
    def changed(self) -> None:
        while self.read():
            pass
        if self.conn.eof:
            self.finish()


class _TextHandler(StreamHandler):
    """daytime, qotd: the text, then close; what the client sends is ignored."""

    def __init__(self, server: TcpServer, conn: Connection, text: bytes) -> None:
        super().__init__(server, conn)
        self.text = text

    def started(self) -> None:
        self.send_some(self.text)  # far below any send buffer
        self.finish()


class _ChargenHandler(StreamHandler):
    def __init__(self, server: TcpServer, conn: Connection) -> None:
        super().__init__(server, conn)
        self.line = 0
        self.pending = b""

    def changed(self) -> None:
        while self.read():
            pass  # RFC 864: "Any data received is thrown away"
        if self.conn.eof:
            self.finish()
            return
        while self.conn.send_space > 0:
            if not self.pending:
                self.pending = b"".join(chargen_line(self.line + i) for i in range(16))
                self.line += 16
            n = self.send_some(self.pending)
            if n == 0:
                break
            self.pending = self.pending[n:]


class Services:
    """echo, discard, daytime, qotd and chargen on one stack, over UDP and TCP."""

    def __init__(
        self,
        stack: Stack,
        *,
        rng: random.Random | None = None,
        wallclock: Callable[[], datetime] | None = None,
        quotes: tuple[str, ...] = QUOTES,
    ) -> None:
        if any(len(q.encode()) > QOTD_MAX for q in quotes):
            raise ValueError("RFC 865: a quote is shorter than 512 characters")
        self.stack = stack
        self.rng = rng or random.Random()
        self.wallclock = wallclock or (lambda: datetime.now(UTC))
        self.quotes = quotes
        self._quote = 0
        self._line = 0
        self.protocols: dict[str, _Service] = {}
        self.transports: list[DatagramTransport] = []
        self.servers: dict[str, TcpServer] = {}

    # -- the answers ----------------------------------------------------------------------
    def echo(self, data: bytes) -> bytes:
        return data  # RFC 862: "send back any data received"

    def discard(self, data: bytes) -> None:
        return None  # RFC 863: "throw away any data received"

    def daytime(self, data: bytes) -> bytes:
        return daytime_text(self.wallclock()).encode("ascii")

    def qotd(self, data: bytes) -> bytes:
        quote = self.quotes[self._quote % len(self.quotes)]
        self._quote += 1
        return quote.encode("ascii")

    def chargen(self, data: bytes) -> bytes:
        """RFC 864 (UDP): a random number of characters, 0-512, of the line pattern, from
        the start of the next line in the rotation."""
        size = self.rng.randint(0, CHARGEN_MAX)
        out = bytearray()
        while len(out) < size:
            out += chargen_line(self._line)
            self._line += 1
        return bytes(out[:size])

    def handler(self, name: str, server: TcpServer, conn: Connection) -> StreamHandler:
        """The TCP handler of service ``name`` for a new connection."""
        if name == "echo":
            return _EchoHandler(server, conn)
        if name == "discard":
            return _DiscardHandler(server, conn)
        if name == "chargen":
            return _ChargenHandler(server, conn)
        text = self.daytime(b"") if name == "daytime" else self.qotd(b"")
        return _TextHandler(server, conn, text)

    # -- serving ------------------------------------------------------------------------
    def start(self, names: tuple[str, ...] = tuple(PORTS), *, tcp: bool = True) -> None:
        """Bind the services ``names`` on their well-known ports (all five by default),
        over UDP and (unless ``tcp`` is False) TCP."""
        try:
            for name in names:
                sock = self.stack.socket(AF_INET6, SOCK_DGRAM)
                try:
                    sock.bind(("::", PORTS[name]))
                except OSError:
                    sock.close()
                    raise
                protocol = _Service(getattr(self, name))
                transport = DatagramTransport(sock, protocol)
                protocol.connection_made(transport)
                self.protocols[name] = protocol
                self.transports.append(transport)
                if tcp:
                    self.servers[name] = TcpServer(
                        self.stack,
                        PORTS[name],
                        lambda server, conn, n=name: self.handler(n, server, conn),  # type: ignore[misc]
                    )
        except OSError:
            self.close()
            raise

    def close(self) -> None:
        for transport in self.transports:
            transport.close()
        self.transports.clear()
        for server in self.servers.values():
            server.close()
        self.servers.clear()

    def __enter__(self) -> Services:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def query(
    stack: Stack, server: str, port: int, data: bytes = b"\r\n", timeout: float = 2.0
) -> bytes | None:
    """Send ``data`` to ``server``:``port`` over UDP; the first answer, or None."""
    with stack.socket(AF_INET6, SOCK_DGRAM) as sock:
        sock.connect((server, port))
        sock.settimeout(timeout)
        sock.send(data)
        try:
            return sock.recv(0xFFFF)
        except (TimeoutError, ConnectionRefusedError):
            return None


def query_tcp(
    stack: Stack,
    server: str,
    port: int,
    data: bytes = b"",
    *,
    limit: int = 1 << 16,
    timeout: float = 5.0,
) -> bytes | None:
    """Connect to ``server``:``port`` over TCP, send ``data`` and close our side (when
    there is data), then read until the server closes or ``limit`` octets came (then
    close: how a chargen client stops). None when the connection failed."""
    with stack.socket(AF_INET6, SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        got = bytearray()
        try:
            sock.connect((server, port))
            if data:
                sock.sendall(data)
                sock.shutdown(SHUT_WR)
            while len(got) < limit and (chunk := sock.recv(limit - len(got))):
                got += chunk
        except OSError:
            return None
        return bytes(got)


def demonstrate(client: Stack, server: str, out: TextIO, name: str | None = None) -> int:
    """Query each service at ``server`` from ``client`` over UDP, then over TCP, and
    print what came back. 0 when every answer was right."""
    failed = _demonstrate_udp(client, server, out, name)
    failed += _demonstrate_tcp(client, server, out, name)
    return 1 if failed else 0


#: Octets the chargen demonstration reads before it closes the connection.
CHARGEN_DEMO_OCTETS = 10 * (CHARGEN_LINE + 2)


def _demonstrate_tcp(client: Stack, server: str, out: TextIO, name: str | None) -> int:
    print(f"the same services of {name or server} over TCP:", file=out)
    failed = 0
    hello = b"hello, echo over TCP"
    for service in PORTS:
        port = PORTS[service]
        label = f"  {service:<8}{port:>3}/tcp"
        if service == "echo":
            answer = query_tcp(client, server, port, hello)
            ok = answer == hello
            print(f"{label}  {answer!r} came back (RFC 862)", file=out)
        elif service == "discard":
            answer = query_tcp(client, server, port, b"into the void" * 100)
            ok = answer == b""
            print(f"{label}  sent 1300 octets, the server closed, nothing came back", file=out)
        elif service == "chargen":
            answer = query_tcp(client, server, port, limit=CHARGEN_DEMO_OCTETS)
            lines = (answer or b"").split(b"\r\n")
            ok = answer is not None and all(
                line + b"\r\n" == chargen_line(i) for i, line in enumerate(lines[:-1])
            )
            print(
                f"{label}  {len(answer or b'')} octets of a continuous stream (RFC 864), "
                "then we closed; first lines:",
                file=out,
            )
            for first in lines[:2]:
                print(f"      {first.decode('ascii', 'replace')}", file=out)
        else:
            answer = query_tcp(client, server, port)
            ok = bool(answer)
            rfc = "RFC 867" if service == "daytime" else "RFC 865"
            text = (answer or b"").decode("ascii", "replace").rstrip()
            print(f"{label}  ({rfc}) {text.splitlines()[0] if text else 'no answer'}", file=out)
            for line in text.splitlines()[1:]:
                print(f"      {line}", file=out)
        if answer is None:
            print(f"{label}  no connection", file=out)
        failed += not ok
    return failed


def _demonstrate_udp(client: Stack, server: str, out: TextIO, name: str | None) -> int:
    print(f"querying the simple services of {name or server} over UDP:", file=out)
    failed = 0
    hello = b"hello, echo"
    checks: list[tuple[str, bytes]] = [
        ("echo", hello),
        ("discard", b"into the void"),
        ("daytime", b""),
        ("qotd", b""),
        ("chargen", b""),
    ]
    for service, data in checks:
        port = PORTS[service]
        # Silence is the right answer from discard: wait less for it.
        answer = query(client, server, port, data, 0.5 if service == "discard" else 2.0)
        label = f"  {service:<8}{port:>3}/udp"
        if service == "discard":
            ok = answer is None
            print(f"{label}  sent {len(data)} octets, nothing came back (RFC 863)", file=out)
        elif answer is None:
            ok = False
            print(f"{label}  no answer", file=out)
        elif service == "echo":
            ok = answer == data
            print(f"{label}  {answer!r} came back (RFC 862)", file=out)
        elif service == "chargen":
            ok = True
            first = answer.split(b"\r\n")[0].decode("ascii")
            print(f"{label}  {len(answer)} octets (RFC 864); first line:", file=out)
            print(f"      {first}", file=out)
        else:
            ok = True
            rfc = "RFC 867" if service == "daytime" else "RFC 865"
            text = answer.decode("ascii", "replace").rstrip()
            print(f"{label}  ({rfc}) {text.splitlines()[0] if text else ''}", file=out)
            for line in text.splitlines()[1:]:
                print(f"      {line}", file=out)
        failed += not ok
    return failed


# -- the command line: tcpip6 services -------------------------------------------------


def add_parser(sub: Subparsers) -> argparse.ArgumentParser:
    p = tool_parser(
        sub,
        "services",
        "serve echo, discard, daytime, qotd, chargen and query each",
        "Start the simple services on a host, over UDP and TCP: echo (RFC 862, port 7), "
        "discard (RFC 863, 9), daytime (RFC 867, 13), quote of the day (RFC 865, 17) and "
        "character generator (RFC 864, 19); then query each from host a, over UDP and then "
        "over TCP, and print the answers (TCP chargen is a continuous stream: the client "
        "reads 740 octets and closes). Exit status 1 if an answer was wrong. With "
        "--sim the server is SERVER (default b in demo, z in chain); with --loopback both "
        "are ::1.",
        serves=True,
    )
    return p


def run(args: argparse.Namespace) -> int:
    backend = Backend(args)
    server, stack, name = backend.server(args.server)
    with Services(stack) as services:
        try:
            services.start()
        except OSError as exc:
            raise CliError(f"cannot bind the services: {exc.strerror or exc}") from None
        return demonstrate(backend.stack, server, sys.stdout, name)
