"""ttcp: the Test TCP throughput tool (Muuss, 1984), over UDP for now (TCP comes later).

The transmitter writes ``nbuf`` buffers of ``buflen`` octets; the receiver counts them and
both print the classic line::

    ttcp-t: 1048576 bytes in 0.09 real seconds = 11390.82 KB/sec +++

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

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv6Address
from typing import TextIO

from tcpip6.apps.ping6 import icmp6_filter
from tcpip6.stack.sockets import (
    AF_INET6,
    ICMP6_FILTER,
    IPPROTO_ICMPV6,
    SOCK_DGRAM,
    SOCK_RAW,
    Address,
    DatagramTransport,
    Stack,
)
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


@dataclass
class TtcpOptions:
    buflen: int = DEFAULT_BUFLEN
    nbuf: int = DEFAULT_NBUF
    port: int = DEFAULT_PORT

    def check(self) -> None:
        if not MARK_LEN < self.buflen <= MAX_BUFLEN:
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
    return bytes(32 + i % 95 for i in range(buflen))


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
    opts = opts or TtcpOptions()
    try:
        opts.check()
    except ValueError as exc:
        print(f"ttcp: {exc}", file=out)
        return 2
    say_r, say_t = "r" in sides, "t" in sides
    try:
        receiver, transport = receive(rx, opts)
    except OSError as exc:
        print(f"ttcp-r: bind: {exc.strerror or exc}", file=out)
        return 2
    try:
        if say_r:
            print(f"{opts.header('r')}  udp", file=out)
            print("ttcp-r: socket", file=out)
        if say_t:
            print(f"{opts.header('t')}  udp  -> {name or dst}", file=out)
            print("ttcp-t: socket", file=out)
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
