"""ping6: ICMPv6 Echo Request / Echo Reply (RFC 4443 §4), with the output of iputils' ping.

Application code over the socket API only: a raw ICMPv6 socket (RFC 3542 §3) sends Echo
Requests carrying an identifier, a sequence number and a timestamp, and receives the
replies and the errors routers send back (Time Exceeded, Destination Unreachable, Packet
Too Big). The same function runs on simnet (fake clock) and on the live backends::

    PING c(2001:db8:2::5eff:fe00:5) 56 data bytes
    64 bytes from 2001:db8:2::5eff:fe00:5: icmp_seq=1 ttl=63 time=0.437 ms
    ...
    --- c ping statistics ---
    3 packets transmitted, 3 received, 0% packet loss, time 2000ms
    rtt min/avg/max/mdev = 0.437/0.437/0.437/0.000 ms

Exit status as iputils: 0 when a reply came, 1 when none did, 2 on an error.
"""

from __future__ import annotations

import argparse
import errno
import itertools
import math
import os
import struct
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv6Address
from typing import TYPE_CHECKING, TextIO

from tcpip6.api.sockets import (
    AF_INET6,
    ICMP6_FILTER,
    IPPROTO_ICMPV6,
    IPPROTO_IPV6,
    IPV6_DONTFRAG,
    IPV6_HOPLIMIT,
    IPV6_MTU,
    IPV6_MULTICAST_HOPS,
    IPV6_RECVHOPLIMIT,
    IPV6_TCLASS,
    IPV6_UNICAST_HOPS,
    SOCK_DGRAM,
    SOCK_RAW,
    Stack,
)
from tcpip6.apps.command import Backend, Subparsers, options, run_in_host, tool_parser
from tcpip6.wire import icmpv6 as wi
from tcpip6.wire.errors import WireError
from tcpip6.wire.ipv6 import MIN_MTU, Ipv6Header

if TYPE_CHECKING:
    pass

#: iputils' defaults: 56 data octets (64 with the ICMPv6 header), one a second.
DEFAULT_SIZE = 56
DEFAULT_INTERVAL = 1.0
#: -W: seconds to wait for a reply when none has come (iputils' MAXWAIT).
DEFAULT_TIMEOUT = 10.0
#: The largest Echo Request data: an IPv6 payload is at most 65535 octets (no jumbograms).
MAX_SIZE = 0xFFFF - wi.ECHO_HEADER_LEN
IPV6_HEADER = Ipv6Header.HEADER_LEN
#: The timestamp at the start of the data (iputils: a struct timeval, 16 octets).
_STAMP = struct.Struct("!QQ")
PMTUDISC = ("do", "dont", "want")

_instances = itertools.count()


def icmp6_filter(*passed: int) -> bytes:
    """An ICMP6_FILTER value (Linux semantics: a set bit blocks) passing only ``passed``."""
    bits = bytearray(b"\xff" * 32)
    for t in passed:
        bits[t >> 3] &= ~(1 << (t & 7)) & 0xFF
    return bytes(bits)


def path_mtu(stack: Stack, dst: IPv6Address) -> int:
    """The path MTU the stack knows for ``dst``, the way tracepath asks Linux: a UDP
    socket connected to it, ``getsockopt(IPV6_MTU)`` (RFC 8201 estimate)."""
    with stack.socket(AF_INET6, SOCK_DGRAM) as probe:
        probe.connect((str(dst), 9))
        mtu = probe.getsockopt(IPPROTO_IPV6, IPV6_MTU)
    return mtu if isinstance(mtu, int) else MIN_MTU


def resolve(stack: Stack, text: str) -> IPv6Address:
    """A destination as an address (zone included, ``fe80::1%eth0``). No DNS (yet)."""
    addr, _ = stack.host.scoped_destination(text)
    return addr


def checked_destination(
    stack: Stack,
    check: Callable[[], None],
    destination: str,
    address: str | None,
    out: TextIO,
    tool: str,
    unknown_name: str,
) -> IPv6Address | None:
    """Run the options' ``check`` and resolve ``destination`` (``address`` is what it
    names, when it is a name), as ping6 and tracert6 start. On an error, print
    ``tool: reason`` to ``out`` (``unknown_name`` when ``destination`` is a name there is
    no resolver for yet) and return None."""
    try:
        check()
        return resolve(stack, address or destination)
    except ValueError as exc:
        text = str(exc)
        if address is None and ":" not in destination:
            text = unknown_name
        print(f"{tool}: {text}", file=out)
        return None


def describe_error(msg: wi.ErrorMessage) -> str:
    """The text iputils prints for an ICMPv6 error (ping6_common.c, pr_icmph)."""
    if isinstance(msg, wi.DestinationUnreachable):
        reasons = {
            wi.UNREACH_NO_ROUTE: "No route",
            wi.UNREACH_ADMIN_PROHIBITED: "Administratively prohibited",
            wi.UNREACH_BEYOND_SCOPE: "Beyond scope",
            wi.UNREACH_ADDRESS: "Address unreachable",
            wi.UNREACH_PORT: "Port unreachable",
            wi.UNREACH_SOURCE_POLICY: "Source address failed ingress/egress policy",
            wi.UNREACH_REJECT_ROUTE: "Reject route to destination",
        }
        return "Destination unreachable: " + reasons.get(msg.code, f"Unknown code {msg.code}")
    if isinstance(msg, wi.PacketTooBig):
        return f"Packet too big: mtu={msg.mtu}" + (f", code={msg.code}" if msg.code else "")
    if isinstance(msg, wi.TimeExceeded):
        reasons = {
            wi.TIME_EXCEEDED_HOP_LIMIT: "Hop limit",
            wi.TIME_EXCEEDED_REASSEMBLY: "Defragmentation failure",
        }
        return "Time exceeded: " + reasons.get(msg.code, f"code {msg.code}")
    problems = {
        wi.PARAM_PROBLEM_HEADER_FIELD: "Wrong header field ",
        wi.PARAM_PROBLEM_NEXT_HEADER: "Unknown header ",
        wi.PARAM_PROBLEM_OPTION: "Unknown option ",
    }
    return f"Parameter problem: {problems.get(msg.code, '')}at {msg.pointer}"


def quoted_echo(msg: wi.ErrorMessage) -> wi.EchoRequest | None:
    """The Echo Request an ICMPv6 error quotes, when it quotes one right after the IPv6
    header (RFC 4443 §2.4 (c): as much of the invoking packet as fits)."""
    invoking = msg.invoking
    try:
        hdr = Ipv6Header.parse(invoking)
        if hdr.next_header != IPPROTO_ICMPV6:
            return None
        echo = wi.parse_icmpv6_unchecked(invoking[IPV6_HEADER:])
    except WireError:
        return None
    return echo if isinstance(echo, wi.EchoRequest) else None


def format_time(ms: float) -> str:
    """iputils' precision for a round-trip time: fewer decimals as it grows."""
    if ms >= 100:
        return f"{ms:.0f}"
    if ms >= 10:
        return f"{ms:.1f}"
    if ms >= 1:
        return f"{ms:.2f}"
    return f"{ms:.3f}"


@dataclass
class PingOptions:
    count: int | None = None  # None: until interrupted
    interval: float = DEFAULT_INTERVAL
    size: int = DEFAULT_SIZE
    hop_limit: int | None = None
    tclass: int | None = None
    timeout: float = DEFAULT_TIMEOUT
    pmtudisc: str = "dont"

    def check(self) -> None:
        """Raises ValueError with iputils' wording for an out-of-range option."""
        if self.count is not None and self.count < 1:
            raise ValueError(f"invalid argument: '{self.count}': out of range: 1 <= value")
        if not 0 <= self.size <= MAX_SIZE:
            raise ValueError(
                f"invalid -s value: '{self.size}': out of range: 0 <= value <= {MAX_SIZE}"
            )
        if self.hop_limit is not None and not 0 <= self.hop_limit <= 255:
            raise ValueError(
                f"invalid -t value: '{self.hop_limit}': out of range: 0 <= value <= 255"
            )
        if self.tclass is not None and not 0 <= self.tclass <= 255:
            raise ValueError(f"invalid -Q value: '{self.tclass}': out of range: 0 <= value <= 255")
        if not self.interval >= 0 or math.isinf(self.interval):
            raise ValueError(f"bad timing interval: {self.interval}")
        if not self.timeout > 0 or math.isinf(self.timeout):
            raise ValueError(f"bad linger time: {self.timeout}")
        if self.pmtudisc not in PMTUDISC:
            raise ValueError(f"invalid -M argument: {self.pmtudisc}: use do, dont or want")


@dataclass
class PingStats:
    """What iputils counts: transmitted, received, duplicates, errors, round-trip times."""

    transmitted: int = 0
    received: int = 0
    duplicates: int = 0
    errors: int = 0
    rtts: list[float] = field(default_factory=list)  # milliseconds
    elapsed: float = 0.0  # seconds from the first send to the last event

    @property
    def loss(self) -> float:
        if not self.transmitted:
            return 0.0
        return (self.transmitted - self.received) * 100.0 / self.transmitted

    def mdev(self) -> float:
        """iputils: sqrt(mean of squares - square of mean), a population deviation."""
        n = len(self.rtts)
        mean = sum(self.rtts) / n
        return math.sqrt(max(sum(t * t for t in self.rtts) / n - mean * mean, 0.0))

    def lines(self, name: str) -> list[str]:
        parts = [f"{self.transmitted} packets transmitted", f"{self.received} received"]
        if self.duplicates:
            parts.append(f"+{self.duplicates} duplicates")
        if self.errors:
            parts.append(f"+{self.errors} errors")
        parts.append(f"{self.loss:g}% packet loss")
        parts.append(f"time {int(self.elapsed * 1000)}ms")
        out = [f"--- {name} ping statistics ---", ", ".join(parts)]
        if self.rtts:
            lo, hi = min(self.rtts), max(self.rtts)
            avg = sum(self.rtts) / len(self.rtts)
            out.append(f"rtt min/avg/max/mdev = {lo:.3f}/{avg:.3f}/{hi:.3f}/{self.mdev():.3f} ms")
        return out


class Pinger:
    """One run of ping6 against one destination."""

    def __init__(
        self, stack: Stack, name: str, dst: IPv6Address, opts: PingOptions, out: TextIO
    ) -> None:
        self.stack = stack
        self.name = name
        self.dst = dst
        self.opts = opts
        self.out = out
        self.stats = PingStats()
        self.identifier = (os.getpid() + next(_instances)) & 0xFFFF
        self.answered: set[int] = set()
        self._start = self._last_event = self._next_send = 0.0
        self._seq = 1
        self._linger_end = math.inf
        self.sock = stack.socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6)
        # RFC 3542 §6.3: the Hop Limit of each reply, as ancillary data of recvmsg.
        self.sock.setsockopt(IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1)
        if opts.pmtudisc == "do":
            self.sock.setsockopt(IPPROTO_IPV6, IPV6_DONTFRAG, 1)
        passed = (wi.ECHO_REPLY, *range(wi.DESTINATION_UNREACHABLE, wi.PARAMETER_PROBLEM + 1))
        self.sock.setsockopt(IPPROTO_ICMPV6, ICMP6_FILTER, icmp6_filter(*passed))
        if opts.hop_limit is not None:
            self.sock.setsockopt(IPPROTO_IPV6, IPV6_UNICAST_HOPS, opts.hop_limit)
            self.sock.setsockopt(IPPROTO_IPV6, IPV6_MULTICAST_HOPS, opts.hop_limit)
        if opts.tclass is not None:
            self.sock.setsockopt(IPPROTO_IPV6, IPV6_TCLASS, opts.tclass)

    @property
    def now(self) -> float:
        return self.stack.driver.now

    def payload(self, seq: int) -> bytes:
        """The Echo data: a timestamp when there is room, then octets counting up (the
        iputils fill pattern)."""
        size = self.opts.size
        data = bytearray(i & 0xFF for i in range(size))
        if size >= _STAMP.size:
            usec = round(self.now * 1e6)
            _STAMP.pack_into(data, 0, usec // 1_000_000, usec % 1_000_000)
        return bytes(data)

    def send(self, seq: int) -> None:
        self.stats.transmitted += 1
        data = self.payload(seq)
        request = wi.EchoRequest(self.identifier, seq & 0xFFFF, data)
        try:
            # The stack computes the checksum of what a raw ICMPv6 socket sends.
            self.sock.sendto(request.build(self.dst, self.dst), (str(self.dst), 0))
        except OSError as exc:
            self.stats.errors += 1
            if exc.errno == errno.EMSGSIZE:
                # -M do (IPV6_DONTFRAG): the sender refuses what it would fragment.
                mtu = path_mtu(self.stack, self.dst)
                print(f"ping6: local error: message too long, mtu={mtu}", file=self.out)
            else:
                print(f"ping6: sendmsg: {exc.strerror or exc}", file=self.out)

    def receive(self, data: bytes, src: str, hops: int) -> None:
        try:
            msg = wi.parse_icmpv6_unchecked(data)
        except WireError:
            return
        if isinstance(msg, wi.EchoReply):
            self._reply(msg, len(data), src, hops)
        elif isinstance(msg, wi.ErrorMessage):
            echo = quoted_echo(msg)
            if echo is None or echo.identifier != self.identifier:
                return  # about someone else's packet
            self.stats.errors += 1
            self.answered.add(echo.sequence)
            print(f"From {src} icmp_seq={echo.sequence} {describe_error(msg)}", file=self.out)

    def _reply(self, msg: wi.EchoReply, length: int, src: str, hops: int) -> None:
        if msg.identifier != self.identifier:
            return
        line = f"{length} bytes from {src}: icmp_seq={msg.sequence}"
        if hops >= 0:
            line += f" ttl={hops}"
        if len(msg.data) >= _STAMP.size:
            sec, usec = _STAMP.unpack_from(msg.data)
            rtt = max(self.now - (sec + usec / 1e6), 0.0) * 1000.0
            line += f" time={format_time(rtt)} ms"
        else:
            rtt = None
        if msg.sequence in self.answered:
            self.stats.duplicates += 1
            line += " (DUP!)"
        else:
            self.answered.add(msg.sequence)
            self.stats.received += 1
            if rtt is not None:
                self.stats.rtts.append(rtt)
        print(line, file=self.out)

    def done_sending(self, seq: int) -> bool:
        return self.opts.count is not None and seq > self.opts.count

    # -- one run, a step at a time (a live host's control socket drives it so) -------------
    def start(self) -> None:
        print(f"PING {self.name}({self.dst}) {self.opts.size} data bytes", file=self.out)
        self._start = self._last_event = self._next_send = self.now
        self._seq = 1
        self._linger_end = math.inf

    def step(self) -> float | None:
        """Send the request that is due and check for the end: when to step next, or None
        when the run is over."""
        opts = self.opts
        if not self.done_sending(self._seq) and self.now >= self._next_send:
            self.send(self._seq)
            self._last_event = self.now
            self._seq += 1
            self._next_send += opts.interval
            if self.done_sending(self._seq):
                # iputils: after the last request, two of the longest round trips when
                # replies came, else the -W time.
                rtts = self.stats.rtts
                wait = max(2 * max(rtts) / 1000, 0.001) if rtts else opts.timeout
                self._linger_end = self.now + wait
        if opts.count is not None:
            if self.stats.received + self.stats.errors >= opts.count:
                return None
            if self.done_sending(self._seq) and self.now >= self._linger_end:
                return None
        return self._linger_end if self.done_sending(self._seq) else self._next_send

    def take(self, data: bytes, src: str, hops: int) -> None:
        """A message the raw socket received."""
        self.receive(data, src, hops)
        self._last_event = self.now

    def finish(self) -> int:
        """Close the socket, print the statistics; the exit status."""
        self.sock.close()
        self.stats.elapsed = self._last_event - self._start
        print(file=self.out)
        for line in self.stats.lines(self.name):
            print(line, file=self.out)
        return 0 if self.stats.received else 1

    def run(self) -> int:
        self.start()
        try:
            while (until := self.step()) is not None:
                self.sock.settimeout(max(until - self.now, 0.0))
                try:
                    data, ancdata, _, addr = self.sock.recvmsg(0xFFFF, 64)
                except (TimeoutError, BlockingIOError):
                    continue
                hops = next(
                    (
                        struct.unpack("i", value)[0]
                        for level, kind, value in ancdata
                        if (level, kind) == (IPPROTO_IPV6, IPV6_HOPLIMIT)
                    ),
                    -1,
                )
                self.take(data, addr[0], hops)
        except KeyboardInterrupt:
            pass
        return self.finish()


def ping6(
    stack: Stack,
    destination: str,
    out: TextIO,
    opts: PingOptions | None = None,
    address: str | None = None,
) -> int:
    """Ping ``destination`` (printed as given; ``address`` is what it names, when it is a
    name) and print iputils' lines to ``out``. Returns the exit status."""
    opts = opts or PingOptions()
    unknown = f"{destination}: Name or service not known"
    dst = checked_destination(stack, opts.check, destination, address, out, "ping6", unknown)
    if dst is None:
        return 2
    try:
        pinger = Pinger(stack, destination, dst, opts, out)
    except OSError as exc:
        print(f"ping6: {exc.strerror or exc}", file=out)
        return 2
    return pinger.run()


# -- the command line: tcpip6 ping6 ----------------------------------------------------


def add_parser(sub: Subparsers) -> argparse.ArgumentParser:
    ping = tool_parser(
        sub,
        "ping6",
        "send ICMPv6 echo requests, like iputils ping",
        "Send ICMPv6 Echo Requests (RFC 4443 §4) from a raw ICMPv6 socket, print each "
        "Echo Reply with its round-trip time and each ICMPv6 error a router sends back, "
        "then the statistics, as iputils ping does. Exit status: 0 when a reply came, 1 "
        "when none did, 2 on an error.",
        in_host=True,
    )
    ping.add_argument("destination", help="an IPv6 address, or with --sim a host name (c)")
    ping.add_argument(
        "-c",
        dest="count",
        type=int,
        metavar="COUNT",
        help="stop after COUNT requests (default: until interrupted)",
    )
    ping.add_argument(
        "-i",
        dest="interval",
        type=float,
        metavar="SECONDS",
        help=f"seconds between requests (default {DEFAULT_INTERVAL:g})",
    )
    ping.add_argument(
        "-s",
        dest="size",
        type=int,
        metavar="SIZE",
        help=f"octets of data per request (default {DEFAULT_SIZE}: "
        f"{DEFAULT_SIZE + wi.ECHO_HEADER_LEN} with the header)",
    )
    ping.add_argument(
        "-t",
        dest="hop_limit",
        type=int,
        metavar="HOPS",
        help="Hop Limit of the requests (iputils' -t, the IPv4 TTL)",
    )
    ping.add_argument(
        "-Q", dest="tclass", type=int, metavar="TCLASS", help="Traffic Class of the requests, 0-255"
    )
    ping.add_argument(
        "-W",
        dest="timeout",
        type=float,
        metavar="SECONDS",
        help=f"seconds to wait for a reply when none has come (default {DEFAULT_TIMEOUT:g})",
    )
    ping.add_argument(
        "-M",
        dest="pmtudisc",
        choices=PMTUDISC,
        help="don't-fragment semantics. IPv6 routers never fragment: a packet "
        "too big for the next link is dropped and the router sends Packet Too "
        "Big. So only the sender can fragment: 'do' forbids it, and a request "
        "bigger than the path MTU is refused here ('message too long', as "
        "Linux ping -M do says); 'dont' and 'want' let the stack fragment to the "
        f"path MTU it knows (default {PingOptions.pmtudisc})",
    )
    return ping


def run(args: argparse.Namespace) -> int:
    opts = options(PingOptions, vars(args))
    if args.control:
        job = {k: v for k, v in vars(opts).items() if v is not None}
        return run_in_host("ping6", args.control, {"destination": args.destination, **job})
    backend = Backend(args)
    address = backend.address(args.destination)
    return ping6(backend.stack, args.destination, sys.stdout, opts, address=address)


__all__ = ["PingOptions", "PingStats", "Pinger", "ping6"]
