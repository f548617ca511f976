"""ttcp: the Test TCP throughput tool (Muuss, 1984), over TCP (the default) or UDP.

The transmitter writes ``nbuf`` buffers of ``buflen`` octets; the receiver counts them and
both print the classic line::

    ttcp-t: 1048576 bytes in 0.09 real seconds = 11390.82 KB/sec +++

Over TCP (:func:`ttcp_tcp_pair`) the receiver listens and accepts, the transmitter
connects, writes, and closes its side: the receiver's clock runs from the accept to the
end of file, the transmitter's from the connect to its last write. The receiver checks
every octet against ttcp's pattern, so a count is also a proof of delivery.

UDP has no connection to open or close, so, as the original did, the transmitter marks the
start and the end with datagrams of 4 octets: the receiver's clock starts at the first and
stops at the next (and the transmitter sends the end mark 4 more times, in case one is
lost). Datagrams lost on the way are simply not counted by the receiver.

Both sides run in one process here: the receiver is a datagram protocol whose callback
runs as datagrams arrive (the asyncio face of the sockets), the transmitter a loop over
``sendto`` that lets the network run between writes. On simnet the fake clock gives the
seconds; on the loopback backend, real time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from ipaddress import IPv6Address
from typing import TextIO

from tcpip6.api.sockets import (
    AF_INET6,
    ICMP6_FILTER,
    IPPROTO_ICMPV6,
    SOCK_DGRAM,
    SOCK_RAW,
    SOCK_STREAM,
    Address,
    DatagramTransport,
    Stack,
)
from tcpip6.api.stream import SHUT_WR, StreamSocket
from tcpip6.apps.command import Backend, CliError, Subparsers, options, run_in_host, tool_parser
from tcpip6.apps.ping6 import icmp6_filter
from tcpip6.wire import icmpv6 as wi

DEFAULT_BUFLEN = 8192
DEFAULT_NBUF = 2048
DEFAULT_PORT = 5001
#: A datagram this long or shorter is a start/end mark, never data.
MARK_LEN = 4
#: End marks the transmitter sends after it stops its clock.
END_MARKS = 4
#: The largest UDP payload (RFC 768: the length field is 16 bits, the header 8 octets).
MAX_BUFLEN = 0xFFFF - 8
#: Seconds the receiver stays bound after the end mark, for the repeated end marks.
LINGER = 0.05
#: Seconds to wait for the echo reply that opens the path before the transfer.
PRIME_WAIT = 3.0
#: Seconds the receiver waits for the end mark after the transmitter is done.
DRAIN_TIME = 10.0
#: Over TCP: seconds to wait for the connection, and for any progress of the transfer.
CONNECT_WAIT = 10.0
STALL_TIME = 30.0
#: The largest TCP buffer a write may be (a TCP write has no datagram limit).
MAX_TCP_BUFLEN = 1 << 20


@dataclass
class TtcpOptions:
    buflen: int = DEFAULT_BUFLEN
    nbuf: int = DEFAULT_NBUF
    port: int = DEFAULT_PORT
    udp: bool = False  # over TCP, as ttcp; -u: UDP

    def check(self) -> None:
        if not self.udp and not 0 < self.buflen <= MAX_TCP_BUFLEN:
            raise ValueError(f"-l {self.buflen}: a TCP buffer is 1-{MAX_TCP_BUFLEN} octets")
        if self.udp and not MARK_LEN < self.buflen <= MAX_BUFLEN:
            raise ValueError(
                f"-l {self.buflen}: a UDP buffer is {MARK_LEN + 1}-{MAX_BUFLEN} octets "
                f"(up to {MARK_LEN} is the start/end mark)"
            )
        if self.nbuf < 1:
            raise ValueError(f"-n {self.nbuf}: send at least one buffer")
        if not 0 < self.port <= 0xFFFF:
            raise ValueError(f"-p {self.port}: a port is 1-65535")

    def header(self, side: str) -> str:
        return (
            f"ttcp-{side}: buflen={self.buflen}, nbuf={self.nbuf}, align=16384/0, port={self.port}"
        )


@dataclass
class Result:
    """One side's count: octets, I/O calls and seconds."""

    nbytes: int = 0
    calls: int = 0
    seconds: float = 0.0

    def lines(self, side: str) -> list[str]:
        # ttcp: a zero time is taken as a millisecond, so a rate is always printed.
        real = self.seconds if self.seconds > 0 else 0.001
        calls = max(self.calls, 1)
        return [
            f"ttcp-{side}: {self.nbytes} bytes in {real:.2f} real seconds = "
            f"{self.nbytes / real / 1024:.2f} KB/sec +++",
            f"ttcp-{side}: {self.calls} I/O calls, msec/call = {1000 * real / calls:.2f}, "
            f"calls/sec = {self.calls / real:.2f}",
        ]


def pattern(buflen: int) -> bytes:
    """ttcp's buffer: the printable characters from space to tilde, over and over."""
    return (bytes(range(32, 127)) * -(-buflen // 95))[:buflen]


class PatternCheck:
    """The receiver's proof of delivery: every octet read against ttcp's pattern, which
    starts again with each buffer of ``buflen`` octets the transmitter wrote."""

    def __init__(self, buflen: int) -> None:
        self.buflen = buflen
        self._double = pattern(buflen) * 2
        self.mismatched = 0  # octets that were not ttcp's pattern where they arrived

    def check(self, offset: int, chunk: bytes) -> None:
        """``chunk`` (at most ``buflen`` octets) arrived ``offset`` octets into the stream."""
        start = offset % self.buflen
        expected = self._double[start : start + len(chunk)]
        if chunk != expected:
            self.mismatched += sum(a != b for a, b in zip(chunk, expected, strict=True))


class Receiver(asyncio.DatagramProtocol):
    """ttcp -r over UDP: counts what arrives between the start mark and the end mark."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.result = Result()
        self.going = False
        self.done = False
        self.started = 0.0

    def datagram_received(self, data: bytes, addr: Address) -> None:
        if self.done:
            return
        self.result.calls += 1
        if len(data) <= MARK_LEN:
            if self.going:
                self.done = True  # "EOF"
                self.result.seconds = self.clock() - self.started
            else:
                self.going = True
                self.started = self.clock()
        elif self.going:
            self.result.nbytes += len(data)


def receive(stack: Stack, opts: TtcpOptions) -> tuple[Receiver, DatagramTransport]:
    """Bind a ttcp receiver on ``opts.port``: it counts as the network delivers."""
    sock = stack.socket(AF_INET6, SOCK_DGRAM)
    sock.bind(("::", opts.port))
    receiver = Receiver(lambda: stack.driver.now)
    transport = DatagramTransport(sock, receiver)
    receiver.connection_made(transport)
    return receiver, transport


def prime(stack: Stack, dst: str) -> bool:
    """One Echo Request to ``dst`` and its reply: the neighbour caches on the way resolve
    now, not while the transmitter writes (a sender keeps very few packets for a neighbour
    being resolved, RFC 4861 §7.2.2, and UDP would lose the rest). True on a reply."""
    with stack.socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6) as sock:
        sock.setsockopt(IPPROTO_ICMPV6, ICMP6_FILTER, icmp6_filter(wi.ECHO_REPLY))
        request = wi.EchoRequest(0x7474, 1, b"ttcp")  # "tt"
        sock.sendto(request.build(IPv6Address("::"), IPv6Address("::")), (dst, 0))
        end = stack.driver.now + PRIME_WAIT
        while (left := end - stack.driver.now) > 0:
            sock.settimeout(left)
            try:
                data, _ = sock.recvfrom(0xFFFF)
            except (TimeoutError, BlockingIOError):
                return False
            reply = wi.parse_icmpv6_unchecked(data)
            if isinstance(reply, wi.EchoReply) and reply.identifier == 0x7474:
                return True
    return False


def transmit(
    stack: Stack,
    dst: str,
    opts: TtcpOptions,
    room: Callable[[], bool] | None = None,
) -> Result:
    """ttcp -t over UDP to ``dst``. Between writes the network runs; with ``room`` the
    transmitter waits, before each write, until ``room()`` (where a real socket's full
    send buffer would block it)."""
    driver = stack.driver
    result = Result()
    buf = pattern(opts.buflen)
    addr = (dst, opts.port)
    with stack.socket(AF_INET6, SOCK_DGRAM) as sock:

        def write(data: bytes) -> None:
            if room is not None and not room():
                driver.wait(room, None)
            sock.sendto(data, addr)
            result.calls += 1
            driver.wait(lambda: False, 0)  # what is due now: the network moves on

        start = driver.now
        write(buf[:MARK_LEN])  # receiver: start
        for _ in range(opts.nbuf):
            write(buf)
            result.nbytes += opts.buflen
        write(buf[:MARK_LEN])  # receiver: end
        result.seconds = driver.now - start
        for _ in range(END_MARKS):
            write(buf[:MARK_LEN])
    return result


def _checked(opts: TtcpOptions, out: TextIO) -> bool:
    """``opts`` are usable; if not, ttcp's one line says why."""
    try:
        opts.check()
    except ValueError as exc:
        print(f"ttcp: {exc}", file=out)
        return False
    return True


def _say_sockets(
    out: TextIO, opts: TtcpOptions, proto: str, say_r: bool, say_t: bool, peer: str
) -> None:
    """ttcp's first lines: each side's settings and its socket."""
    if say_r:
        print(f"{opts.header('r')}  {proto}", file=out)
        print("ttcp-r: socket", file=out)
    if say_t:
        print(f"{opts.header('t')}  {proto}  -> {peer}", file=out)
        print("ttcp-t: socket", file=out)


def ttcp_pair(
    tx: Stack,
    rx: Stack,
    dst: str,
    out: TextIO,
    opts: TtcpOptions | None = None,
    *,
    room: Callable[[], bool] | None = None,
    sides: str = "tr",
    name: str | None = None,
) -> int:
    """Run a receiver on ``rx`` and a transmitter on ``tx`` sending to ``dst`` (an
    address of ``rx``), printing ttcp's lines for the ``sides`` asked ("t", "r" or both).
    0 when the receiver saw the end mark, 1 when it did not, 2 on an error."""
    opts = replace(opts, udp=True) if opts is not None else TtcpOptions(udp=True)
    if not _checked(opts, out):
        return 2
    say_r, say_t = "r" in sides, "t" in sides
    try:
        receiver, transport = receive(rx, opts)
    except OSError as exc:
        print(f"ttcp-r: bind: {exc.strerror or exc}", file=out)
        return 2
    try:
        _say_sockets(out, opts, "udp", say_r, say_t, name or dst)
        try:
            prime(tx, dst)
            sent = transmit(tx, dst, opts, room)
        except OSError as exc:
            print(f"ttcp-t: sendto: {exc.strerror or exc}", file=out)
            return 2
        if say_t:
            for line in sent.lines("t"):
                print(line, file=out)
        rx.driver.wait(lambda: receiver.done, DRAIN_TIME)
        # The repeated end marks still on their way land here, not on a later receiver.
        rx.driver.wait(lambda: False, LINGER)
        if say_r:
            if receiver.done:
                for line in receiver.result.lines("r"):
                    print(line, file=out)
            else:
                print("ttcp-r: no end mark: the transfer did not finish", file=out)
    finally:
        transport.close()
    return 0 if receiver.done else 1


# -- TCP ------------------------------------------------------------------------------------
class TcpTransfer:
    """Both ends of a ttcp transfer over TCP, moved by one loop in one thread: write what
    the send buffer takes, read what has arrived, and when neither can move, let the
    network run until one can (what select() would wait for)."""

    def __init__(self, tsock: StreamSocket, rsock: StreamSocket, opts: TtcpOptions) -> None:
        self.tsock, self.rsock, self.opts = tsock, rsock, opts
        self.buf = pattern(opts.buflen)
        self.checker = PatternCheck(opts.buflen)
        self.sent, self.received = Result(), Result()
        self.eof = False
        self._left = opts.nbuf
        self._off = 0  # into the buffer being written

    def run(self, clock: Callable[[], float], wait: Callable[..., bool]) -> bool:
        """Until the receiver's end of file: True, or False if the transfer stalled."""
        tsock, rsock = self.tsock, self.rsock
        tconn, rconn = tsock.conn, rsock.conn
        assert tconn is not None and rconn is not None
        tsock.setblocking(False)
        rsock.setblocking(False)
        t_start = r_start = clock()
        view = memoryview(self.buf)

        def movable() -> bool:
            writable = bool(self._left) and tconn.send_space > 0
            return writable or bool(rconn.rcvbuf) or rconn.eof or rconn.error is not None

        while not self.eof:
            if self._left:
                with contextlib.suppress(BlockingIOError):
                    self._off += tsock.send(view[self._off :])
                if self._off == self.opts.buflen:
                    self._off = 0
                    self._left -= 1
                    self.sent.calls += 1
                    self.sent.nbytes += self.opts.buflen
                    if not self._left:
                        self.sent.seconds = clock() - t_start
                        tsock.shutdown(SHUT_WR)  # ttcp closes: the receiver's end of file
            try:
                chunk = rsock.recv(self.opts.buflen)
            except BlockingIOError:
                if not wait(movable, STALL_TIME):
                    return False
                continue
            self.received.calls += 1
            if not chunk:
                self.eof = True
                self.received.seconds = clock() - r_start
                break
            self._check(chunk)
            self.received.nbytes += len(chunk)
        return True

    @property
    def mismatched(self) -> int:
        """Octets that were not ttcp's pattern where they arrived."""
        return self.checker.mismatched

    def _check(self, chunk: bytes) -> None:
        self.checker.check(self.received.nbytes, chunk)


def ttcp_tcp_pair(
    tx: Stack,
    rx: Stack,
    dst: str,
    out: TextIO,
    opts: TtcpOptions | None = None,
    *,
    sides: str = "tr",
    name: str | None = None,
) -> int:
    """ttcp over TCP: a receiver on ``rx`` listening on ``opts.port``, a transmitter on
    ``tx`` connecting to ``dst``. 0 when every octet arrived as sent, 1 when the transfer
    stalled or the data differed, 2 on an error (bind, connect)."""
    opts = opts or TtcpOptions()
    if not _checked(opts, out):
        return 2
    say_r, say_t = "r" in sides, "t" in sides
    listener = rx.socket(AF_INET6, SOCK_STREAM)
    tsock = tx.socket(AF_INET6, SOCK_STREAM)
    rsock: StreamSocket | None = None
    try:
        try:
            listener.bind(("::", opts.port))
            listener.listen(1)
        except OSError as exc:
            print(f"ttcp-r: bind: {exc.strerror or exc}", file=out)
            return 2
        _say_sockets(out, opts, "tcp", say_r, say_t, name or dst)
        try:
            tsock.settimeout(CONNECT_WAIT)
            tsock.connect((dst, opts.port))
            listener.settimeout(CONNECT_WAIT)
            rsock, peer = listener.accept()
        except OSError as exc:
            print(f"ttcp-t: connect: {exc.strerror or exc}", file=out)
            return 2
        if say_t:
            print("ttcp-t: connect", file=out)
        if say_r:
            print(f"ttcp-r: accept from {peer[0]}", file=out)
        transfer = TcpTransfer(tsock, rsock, opts)
        try:
            finished = transfer.run(lambda: rx.driver.now, rx.driver.wait)
        except OSError as exc:
            print(f"ttcp: {exc.strerror or exc}", file=out)
            return 2
        if say_t:
            for line in transfer.sent.lines("t"):
                print(line, file=out)
        if not finished:
            print("ttcp-r: the transfer stalled: no end of file", file=out)
            return 1
        if say_r:
            for line in transfer.received.lines("r"):
                print(line, file=out)
        if transfer.mismatched or transfer.received.nbytes != transfer.sent.nbytes:
            print(
                f"ttcp-r: {transfer.received.nbytes} of {transfer.sent.nbytes} octets "
                f"arrived, {transfer.mismatched} differ from what was sent",
                file=out,
            )
            return 1
        return 0
    finally:
        for sock in (tsock, rsock, listener):
            if sock is not None:
                sock.close()


# -- the command line: tcpip6 ttcp -----------------------------------------------------

DESCRIPTION = """\
The Test TCP tool: the transmitter (-t) writes NBUF buffers of BUFLEN octets, the
receiver (-r) counts them, and each prints 'N bytes in S real seconds = R KB/sec'.

Over TCP by default: the receiver accepts a connection, the transmitter writes and
closes, and the receiver checks every octet it reads against ttcp's pattern (exit status
1 if one differs or the transfer stalls). With -u over UDP: as the original did, small
datagrams mark the start and the end, and lost datagrams are simply not counted.

Both sides run in this process: with --sim the transmitter is a and the receiver HOST
(default: b in demo, z in chain), with the simulated clock giving the seconds (every NIC
runs at 100 Mb/s); with --loopback both are ::1, in real time. -t or -r alone prints only
that side.

With --control, one side runs inside a live host: -t HOST transmits to a receiver at
HOST, -r receives one connection on the port until the sender closes (with -u: until the
end mark)."""


def add_parser(sub: Subparsers) -> argparse.ArgumentParser:
    ttcp = tool_parser(
        sub,
        "ttcp",
        "measure throughput, like the classic ttcp",
        DESCRIPTION,
        in_host=True,
    )
    ttcp.add_argument("host", nargs="?", help="the receiving host (with --sim, its name)")
    ttcp.add_argument("-t", dest="transmit", action="store_true", help="the transmitter's lines")
    ttcp.add_argument("-r", dest="receive", action="store_true", help="the receiver's lines")
    ttcp.add_argument("-u", dest="udp", action="store_true", help="UDP instead of TCP")
    ttcp.add_argument(
        "-l",
        dest="buflen",
        type=int,
        metavar="BUFLEN",
        help=f"octets per write (default {DEFAULT_BUFLEN})",
    )
    ttcp.add_argument(
        "-n",
        dest="nbuf",
        type=int,
        metavar="NBUF",
        help=f"buffers to write (default {DEFAULT_NBUF})",
    )
    ttcp.add_argument(
        "-p",
        dest="port",
        type=int,
        metavar="PORT",
        help=f"the receiver's port (default {DEFAULT_PORT})",
    )
    return ttcp


def run(args: argparse.Namespace) -> int:
    opts = options(TtcpOptions, vars(args))
    if args.control:
        if args.transmit == args.receive:
            raise CliError("with --control, one side: -t HOST or -r", 2)
        if args.transmit and not args.host:
            raise CliError("-t: give the receiver's address", 2)
        if args.receive and args.host:
            raise CliError(f"-r takes no host ({args.host}): it listens on port {opts.port}", 2)
        job: dict[str, object] = {"transmit": args.transmit, **vars(opts)}
        if args.host:
            job["destination"] = args.host
        return run_in_host("ttcp", args.control, job)
    backend = Backend(args)
    topo = backend.topology
    sides = ("t" if args.transmit else "") + ("r" if args.receive else "") or "tr"
    if topo is None:
        dst = backend.address(args.host or "::1")
        if dst != "::1":
            raise CliError("on --loopback both sides are this host: use ::1", 2)
        if opts.udp:
            return ttcp_pair(backend.stack, backend.stack, dst, sys.stdout, opts, sides=sides)
        return ttcp_tcp_pair(backend.stack, backend.stack, dst, sys.stdout, opts, sides=sides)
    peer = args.host or topo.peer
    if peer not in topo.hosts:
        raise CliError(f"{peer}: not a host of {topo.name} ({', '.join(topo.hosts)})", 2)
    if peer == topo.origin:
        raise CliError(f"{peer} is the transmitter: name another host", 2)
    sender, receiver, dst = topo.stack(), topo.stack(peer), topo.resolve(peer)
    if not opts.udp:
        return ttcp_tcp_pair(sender, receiver, dst, sys.stdout, opts, sides=sides, name=peer)
    room = topo.send_buffer_has_room()
    return ttcp_pair(sender, receiver, dst, sys.stdout, opts, room=room, sides=sides, name=peer)
