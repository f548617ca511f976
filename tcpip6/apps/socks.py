"""SOCKS Protocol Version 5 (RFC 1928), the server's side, without I/O.

Bytes in, bytes and events out: :class:`ServerHandshake` takes what a client sends, in
pieces of any size, and tells the caller what it asked for; the caller opens the
connection (or the UDP association) and hands back the outcome with :meth:`reply`. The
I/O glue that runs it on a live host is :mod:`tcpip6.apps.socks_relay`.

Only what tcpip6 can do is accepted: method X'00' NO AUTHENTICATION REQUIRED (a client
offering nothing else is answered X'FF', §3), CONNECT and UDP ASSOCIATE to IPv6
destinations. An IPv4 destination (ATYP X'01') is answered X'08' Address type not
supported; a domain name (ATYP X'03') works only when it is an IPv6 literal, since there
is no resolver: any other name is answered X'04' Host unreachable. BIND is answered X'07'
Command not supported.

The §4 request, the §6 reply and the §7 UDP request header::

    +----+-----+-------+------+----------+----------+
    |VER | CMD |  RSV  | ATYP | DST.ADDR | DST.PORT |      (REP in place of CMD in a reply)
    +----+-----+-------+------+----------+----------+
    | 1  |  1  | X'00' |  1   | Variable |    2     |
    +----+-----+-------+------+----------+----------+

    +----+------+------+----------+----------+----------+
    |RSV | FRAG | ATYP | DST.ADDR | DST.PORT |   DATA   |
    +----+------+------+----------+----------+----------+
    | 2  |  1   |  1   | Variable |    2     | Variable |
    +----+------+------+----------+----------+----------+
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import TypeVar

_T = TypeVar("_T")

VERSION = 5
#: §3 METHOD values.
METHOD_NO_AUTH = 0x00
METHOD_NO_ACCEPTABLE = 0xFF
#: §4 CMD values.
CMD_CONNECT = 0x01
CMD_BIND = 0x02
CMD_UDP_ASSOCIATE = 0x03
#: §4 ATYP values.
ATYP_IPV4 = 0x01
ATYP_DOMAIN = 0x03
ATYP_IPV6 = 0x04

_PORT = struct.Struct("!H")


class Rep(enum.IntEnum):
    """§6 REP values."""

    SUCCEEDED = 0x00
    GENERAL_FAILURE = 0x01
    NOT_ALLOWED = 0x02
    NETWORK_UNREACHABLE = 0x03
    HOST_UNREACHABLE = 0x04
    CONNECTION_REFUSED = 0x05
    TTL_EXPIRED = 0x06
    COMMAND_NOT_SUPPORTED = 0x07
    ADDRESS_TYPE_NOT_SUPPORTED = 0x08


class SocksError(Exception):
    """The client broke the protocol (wrong version, bad field): close the connection."""


class ReplyError(Exception):
    """A well-formed request tcpip6 refuses: answer with ``rep`` and close."""

    def __init__(self, rep: Rep, message: str) -> None:
        super().__init__(message)
        self.rep = rep


@dataclass(frozen=True, slots=True)
class Request:
    """A §4 request: ``host`` is the address or name as sent (a name is decoded Latin-1)."""

    command: int
    atyp: int
    host: str
    port: int

    def destination(self) -> IPv6Address:
        """The IPv6 destination, or ReplyError with the §6 code that refuses it."""
        return destination(self.atyp, self.host)


def destination(atyp: int, host: str) -> IPv6Address:
    if atyp == ATYP_IPV6:
        return IPv6Address(host)
    if atyp == ATYP_IPV4:
        raise ReplyError(Rep.ADDRESS_TYPE_NOT_SUPPORTED, f"{host}: IPv4 is not spoken here")
    # A name: only an IPv6 literal (with or without brackets) goes anywhere, no resolver.
    literal = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        address = ip_address(literal)
    except ValueError:
        raise ReplyError(Rep.HOST_UNREACHABLE, f"{host}: no resolver for names") from None
    if isinstance(address, IPv4Address):
        raise ReplyError(Rep.ADDRESS_TYPE_NOT_SUPPORTED, f"{host}: IPv4 is not spoken here")
    return address


# -- pieces of the wire format ---------------------------------------------------------------


def parse_greeting(buf: bytes | bytearray) -> tuple[tuple[int, ...], int] | None:
    """§3 VER NMETHODS METHODS: (methods, octets taken), or None while incomplete."""
    if len(buf) < 2:
        return None
    if buf[0] != VERSION:
        raise SocksError(f"version {buf[0]}, not 5")
    end = 2 + buf[1]
    if len(buf) < end:
        return None
    return tuple(buf[2:end]), end


def choose_method(methods: tuple[int, ...]) -> int:
    """§3: X'00' if the client offers it, else X'FF' NO ACCEPTABLE METHODS."""
    return METHOD_NO_AUTH if METHOD_NO_AUTH in methods else METHOD_NO_ACCEPTABLE


def method_reply(method: int) -> bytes:
    return bytes((VERSION, method))


def _parse_address(buf: bytes | bytearray, off: int) -> tuple[int, str, int, int] | None:
    """ATYP DST.ADDR DST.PORT at ``off``: (atyp, host, port, end), None while incomplete."""
    if len(buf) < off + 1:
        return None
    atyp = buf[off]
    if atyp == ATYP_IPV4:
        end = off + 1 + 4 + 2
        if len(buf) < end:
            return None
        host = str(IPv4Address(bytes(buf[off + 1 : off + 5])))
    elif atyp == ATYP_IPV6:
        end = off + 1 + 16 + 2
        if len(buf) < end:
            return None
        host = str(IPv6Address(bytes(buf[off + 1 : off + 17])))
    elif atyp == ATYP_DOMAIN:
        if len(buf) < off + 2:
            return None
        n = buf[off + 1]
        end = off + 2 + n + 2
        if len(buf) < end:
            return None
        host = bytes(buf[off + 2 : off + 2 + n]).decode("latin-1")
    else:
        raise SocksError(f"address type {atyp}")
    (port,) = _PORT.unpack_from(buf, end - 2)
    return atyp, host, port, end


def parse_request(buf: bytes | bytearray) -> tuple[Request, int] | None:
    """§4: (request, octets taken), or None while incomplete."""
    if len(buf) < 4:
        return None
    if buf[0] != VERSION:
        raise SocksError(f"version {buf[0]}, not 5")
    if buf[2] != 0:
        raise SocksError("reserved octet not 0")
    parsed = _parse_address(buf, 3)
    if parsed is None:
        return None
    atyp, host, port, end = parsed
    return Request(buf[1], atyp, host, port), end


def _address(host: IPv6Address | IPv4Address | str | None, port: int) -> bytes:
    address = ip_address(host) if isinstance(host, str) else host
    if address is None:
        address = IPv4Address(0)
    atyp = ATYP_IPV6 if isinstance(address, IPv6Address) else ATYP_IPV4
    return bytes((atyp,)) + address.packed + _PORT.pack(port)


def build_reply(
    rep: Rep | int, bound: IPv6Address | IPv4Address | str | None = None, port: int = 0
) -> bytes:
    """§6 VER REP RSV ATYP BND.ADDR BND.PORT (no address: 0.0.0.0 port 0)."""
    return bytes((VERSION, int(rep), 0)) + _address(bound, port)


@dataclass(frozen=True, slots=True)
class UdpDatagram:
    """A §7 UDP request: the header's fields and the data."""

    frag: int
    atyp: int
    host: str
    port: int
    data: bytes


def parse_udp(buf: bytes) -> UdpDatagram:
    """§7; SocksError for a short or malformed header."""
    if len(buf) < 4:
        raise SocksError("UDP request shorter than its header")
    if buf[0] or buf[1]:
        raise SocksError("reserved octets not 0")
    parsed = _parse_address(buf, 3)
    if parsed is None:
        raise SocksError("UDP request shorter than its header")
    atyp, host, port, end = parsed
    return UdpDatagram(buf[2], atyp, host, port, bytes(buf[end:]))


def build_udp(source: IPv6Address, port: int, data: bytes) -> bytes:
    """§7: the header a datagram from ``source``.``port`` is relayed to the client with."""
    return b"\x00\x00\x00" + _address(source, port) + data


# -- the handshake ---------------------------------------------------------------------------


class Phase(enum.Enum):
    GREETING = "greeting"  # waiting for VER NMETHODS METHODS
    REQUEST = "request"  # waiting for the §4 request
    PENDING = "pending"  # the request is being carried out; reply() answers it
    OPEN = "open"  # succeeded: what follows is the relayed stream
    CLOSED = "closed"  # refused or broken: send what is left, then close


class ServerHandshake:
    """One client's handshake: :meth:`receive` takes octets, :attr:`outgoing` holds what
    to send; the request, once complete, is :attr:`request` (phase PENDING) until
    :meth:`reply` answers it. Octets after the request are kept in :attr:`leftover`."""

    def __init__(self) -> None:
        self.phase = Phase.GREETING
        self.inbox = bytearray()
        self.outgoing = bytearray()
        self.request: Request | None = None
        #: Why the handshake closed (a line for a log), when it did.
        self.reason = ""

    @property
    def leftover(self) -> bytes:
        return bytes(self.inbox)

    def receive(self, data: bytes) -> Request | None:
        """More octets from the client; the request when it is complete (once)."""
        if self.phase in (Phase.CLOSED, Phase.OPEN):
            return None
        self.inbox += data
        try:
            if self.phase is Phase.GREETING:
                methods = self._take(parse_greeting)
                if methods is None:
                    return None
                method = choose_method(methods)
                self.outgoing += method_reply(method)
                if method == METHOD_NO_ACCEPTABLE:
                    # §3: "the client MUST close the connection"; so do we.
                    self._close("no acceptable method offered")
                    return None
                self.phase = Phase.REQUEST
            if self.phase is Phase.REQUEST:
                request = self._take(parse_request)
                if request is None:
                    return None
                self.request = request
                if request.command not in (CMD_CONNECT, CMD_UDP_ASSOCIATE):
                    self.refuse(Rep.COMMAND_NOT_SUPPORTED, f"command {request.command}")
                    return None
                if request.command == CMD_CONNECT:
                    try:
                        request.destination()
                    except ReplyError as exc:
                        self.refuse(exc.rep, str(exc))
                        return None
                self.phase = Phase.PENDING
                return request
        except SocksError as exc:
            self._close(str(exc))
        return None

    def _take(self, parse: Callable[[bytearray], tuple[_T, int] | None]) -> _T | None:
        """What ``parse`` finds at the start of the inbox, its octets taken from it; None
        while it is incomplete."""
        parsed = parse(self.inbox)
        if parsed is None:
            return None
        value, used = parsed
        del self.inbox[:used]
        return value

    def reply(
        self, rep: Rep, bound: IPv6Address | IPv4Address | str | None = None, port: int = 0
    ) -> None:
        """Answer the pending request: SUCCEEDED opens the relay, anything else closes."""
        if self.phase is not Phase.PENDING:
            raise RuntimeError(f"no request to answer (phase {self.phase.value})")
        self.outgoing += build_reply(rep, bound, port)
        if rep is Rep.SUCCEEDED:
            self.phase = Phase.OPEN
        else:
            self._close(f"refused: {rep.name.lower()}")

    def refuse(self, rep: Rep, reason: str) -> None:
        """§6: a failure reply; "the SOCKS server MUST terminate the TCP connection"."""
        self.outgoing += build_reply(rep)
        self._close(reason)

    def _close(self, reason: str) -> None:
        self.phase = Phase.CLOSED
        self.reason = reason
        self.inbox.clear()

    def take_outgoing(self) -> bytes:
        out = bytes(self.outgoing)
        self.outgoing.clear()
        return out


__all__ = [
    "ATYP_DOMAIN",
    "ATYP_IPV4",
    "ATYP_IPV6",
    "CMD_BIND",
    "CMD_CONNECT",
    "CMD_UDP_ASSOCIATE",
    "METHOD_NO_ACCEPTABLE",
    "METHOD_NO_AUTH",
    "Phase",
    "Rep",
    "ReplyError",
    "Request",
    "ServerHandshake",
    "SocksError",
    "UdpDatagram",
    "build_reply",
    "build_udp",
    "choose_method",
    "destination",
    "method_reply",
    "parse_greeting",
    "parse_request",
    "parse_udp",
]
