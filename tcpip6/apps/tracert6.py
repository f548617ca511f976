"""tracert6: the routers on the path to a destination, one hop limit at a time.

Probes go out with Hop Limit 1, 2, 3…: the router where the hop limit runs out answers
Time Exceeded (RFC 4443 §3.3, RFC 8200 §3), so each hop names itself; the destination
answers the probe itself. Probes are ICMPv6 Echo Requests by default, as Windows tracert
sends; with ``udp=True`` they are UDP datagrams to ports 33434 and up, as traceroute
sends, and the destination answers Port Unreachable (RFC 4443 §3.1). Application code over
the socket API: a raw ICMPv6 socket hears the answers::

    Tracing route to z [2001:db8:4::5eff:fe00:8]
    over a maximum of 30 hops:

      1     0.231 ms     0.222 ms     0.222 ms  2001:db8:1::1
      2     0.444 ms     0.444 ms     0.444 ms  2001:db8:2::2
      ...

    Trace complete.
"""

from __future__ import annotations

import argparse
import struct
import sys
from dataclasses import dataclass
from ipaddress import IPv6Address
from typing import TextIO

from tcpip6.api.sockets import (
    AF_INET6,
    ICMP6_FILTER,
    IPPROTO_ICMPV6,
    IPPROTO_IPV6,
    IPV6_UNICAST_HOPS,
    SOCK_DGRAM,
    SOCK_RAW,
    Socket,
    Stack,
)
from tcpip6.apps.command import Backend, Subparsers, options, run_in_host, tool_parser
from tcpip6.apps.ping6 import checked_destination, format_time, icmp6_filter
from tcpip6.wire import icmpv6 as wi
from tcpip6.wire.errors import WireError
from tcpip6.wire.ipv6 import IPPROTO_UDP, Ipv6Header

DEFAULT_MAX_HOPS = 30
DEFAULT_PROBES = 3
#: Seconds to wait for the answer to a probe.
DEFAULT_WAIT = 3.0
#: traceroute's first UDP port; probe n goes to BASE_PORT + n.
BASE_PORT = 33434
#: Echo data of a probe (Windows tracert sends 32 octets, iputils ping 56).
PROBE_DATA = bytes(range(32))
_UDP_PORTS = struct.Struct("!HH")
#: traceroute's marks for a Destination Unreachable.
UNREACHABLE_MARKS = {
    wi.UNREACH_NO_ROUTE: "!N",
    wi.UNREACH_ADMIN_PROHIBITED: "!X",
    wi.UNREACH_BEYOND_SCOPE: "!S",
    wi.UNREACH_ADDRESS: "!H",
    wi.UNREACH_SOURCE_POLICY: "!X",
    wi.UNREACH_REJECT_ROUTE: "!X",
}


@dataclass
class TraceOptions:
    max_hops: int = DEFAULT_MAX_HOPS
    probes: int = DEFAULT_PROBES
    wait: float = DEFAULT_WAIT
    udp: bool = False

    def check(self) -> None:
        if not 1 <= self.max_hops <= 255:
            raise ValueError(f"max hops {self.max_hops}: must be 1-255")
        if not 1 <= self.probes <= 10:
            raise ValueError(f"probes per hop {self.probes}: must be 1-10")
        if not 0 < self.wait <= 3600:
            raise ValueError(f"wait {self.wait}: must be more than 0 seconds")


@dataclass(frozen=True, slots=True)
class Answer:
    """What came back for one probe: who, after how long, and what it means."""

    source: str
    rtt_ms: float
    reached: bool  # the destination answered
    mark: str = ""  # a Destination Unreachable from a router: the path ends here


class Tracer:
    def __init__(self, stack: Stack, dst: IPv6Address, opts: TraceOptions) -> None:
        self.stack = stack
        self.dst = dst
        self.opts = opts
        self.identifier = (id(self) >> 4) & 0xFFFF
        self.serial = 0
        self.listener = stack.socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6)
        passed = (wi.ECHO_REPLY, wi.DESTINATION_UNREACHABLE, wi.TIME_EXCEEDED)
        self.listener.setsockopt(IPPROTO_ICMPV6, ICMP6_FILTER, icmp6_filter(*passed))
        self.prober: Socket = stack.socket(AF_INET6, SOCK_DGRAM) if opts.udp else self.listener
        self.udp_port = 0
        if opts.udp:
            self.prober.bind(("::", 0))
            self.udp_port = self.prober.getsockname()[1]

    def close(self) -> None:
        self.listener.close()
        self.prober.close()

    def send_probe(self, hops: int) -> tuple[int, float]:
        """Send one probe with Hop Limit ``hops``: its serial and when it left."""
        self.serial += 1
        serial = self.serial & 0xFFFF
        self.prober.setsockopt(IPPROTO_IPV6, IPV6_UNICAST_HOPS, hops)
        sent = self.stack.driver.now
        if self.opts.udp:
            port = BASE_PORT + self.serial - 1
            self.prober.sendto(PROBE_DATA, (str(self.dst), port))
        else:
            request = wi.EchoRequest(self.identifier, serial, PROBE_DATA)
            self.prober.sendto(request.build(self.dst, self.dst), (str(self.dst), 0))
        return serial, sent

    def match(self, data: bytes, src: str, serial: int, sent: float) -> Answer | None:
        """A message the listener received: the answer to probe ``serial``, or None."""
        return self._match(data, src, serial, sent)

    def probe(self, hops: int) -> Answer | None:
        """Send one probe with Hop Limit ``hops``; its answer, or None after the wait."""
        serial, sent = self.send_probe(hops)
        end = sent + self.opts.wait
        while (left := end - self.stack.driver.now) > 0:
            self.listener.settimeout(left)
            try:
                data, addr = self.listener.recvfrom(0xFFFF)
            except (TimeoutError, BlockingIOError):
                break
            answer = self._match(data, addr[0], serial, sent)
            if answer is not None:
                return answer
        return None

    def _match(self, data: bytes, src: str, serial: int, sent: float) -> Answer | None:
        try:
            msg = wi.parse_icmpv6_unchecked(data)
        except WireError:
            return None
        rtt = (self.stack.driver.now - sent) * 1000.0
        if isinstance(msg, wi.EchoReply):
            ours = msg.identifier == self.identifier and msg.sequence == serial
            return Answer(src, rtt, reached=True) if ours and not self.opts.udp else None
        if not isinstance(msg, (wi.TimeExceeded, wi.DestinationUnreachable)):
            return None
        if not self._quotes_probe(msg.invoking, serial):
            return None
        if isinstance(msg, wi.TimeExceeded):
            return Answer(src, rtt, reached=False)
        if msg.code == wi.UNREACH_PORT or src == str(self.dst):
            return Answer(src, rtt, reached=True)
        return Answer(src, rtt, reached=False, mark=UNREACHABLE_MARKS.get(msg.code, "!"))

    def _quotes_probe(self, invoking: bytes, serial: int) -> bool:
        """Whether an error quotes the probe just sent (RFC 4443 §2.4 (c))."""
        try:
            hdr = Ipv6Header.parse(invoking)
        except WireError:
            return False
        body = invoking[Ipv6Header.HEADER_LEN :]
        if hdr.dst != self.dst:
            return False
        if self.opts.udp:
            if hdr.next_header != IPPROTO_UDP or len(body) < _UDP_PORTS.size:
                return False
            sport, dport = _UDP_PORTS.unpack_from(body)
            return bool(sport == self.udp_port and dport == BASE_PORT + self.serial - 1)
        if hdr.next_header != IPPROTO_ICMPV6:
            return False
        try:
            echo = wi.parse_icmpv6_unchecked(body)
        except WireError:
            return False
        if not isinstance(echo, wi.EchoRequest):
            return False
        return bool(echo.identifier == self.identifier and echo.sequence == serial)


def header_lines(
    destination: str, dst: IPv6Address, address: str | None, opts: TraceOptions
) -> list[str]:
    if address is not None or destination != str(dst):
        first = f"Tracing route to {destination} [{dst}]"
    else:
        first = f"Tracing route to {dst}"
    return [first, f"over a maximum of {opts.max_hops} hops:", ""]


def hop_line(hops: int, answers: list[Answer | None]) -> tuple[str, bool, bool]:
    """The line of one hop from its probes' answers; whether the destination answered,
    and whether the trace ends here (it did, or a router said it is unreachable)."""
    fields: list[str] = []
    sources: list[str] = []
    marks: list[str] = []
    reached = False
    for answer in answers:
        if answer is None:
            fields.append(f"{'*':>7}   ")
            continue
        fields.append(f"{format_time(answer.rtt_ms):>7} ms")
        if answer.source not in sources:
            sources.append(answer.source)
        reached = reached or answer.reached
        if answer.mark and answer.mark not in marks:
            marks.append(answer.mark)
    who = " ".join(sources) if sources else "Request timed out."
    tail = "".join(f" {m}" for m in marks)
    return f"{hops:3d}  {'  '.join(fields)}  {who}{tail}", reached, reached or bool(marks)


def tracert6(
    stack: Stack,
    destination: str,
    out: TextIO,
    opts: TraceOptions | None = None,
    address: str | None = None,
) -> int:
    """Trace the route to ``destination`` (``address`` is what it names, when it is a
    name), printing a line per hop to ``out``. 0 when the destination answered, 1 when it
    did not within the hops, 2 on an error."""
    opts = opts or TraceOptions()
    unknown = f"Unable to resolve target system name {destination}."
    dst = checked_destination(stack, opts.check, destination, address, out, "tracert6", unknown)
    if dst is None:
        return 2
    for line in header_lines(destination, dst, address, opts):
        print(line, file=out)
    tracer = Tracer(stack, dst, opts)
    reached = False
    try:
        for hops in range(1, opts.max_hops + 1):
            answers: list[Answer | None] = []
            for _ in range(opts.probes):
                try:
                    answers.append(tracer.probe(hops))
                except OSError as exc:
                    print(f"tracert6: {exc.strerror or exc}", file=out)
                    return 2
            line, reached, last = hop_line(hops, answers)
            print(line, file=out)
            if last:
                break
    except KeyboardInterrupt:
        pass
    finally:
        tracer.close()
    print("\nTrace complete.", file=out)
    return 0 if reached else 1


# -- the command line: tcpip6 tracert6 -------------------------------------------------


def add_parser(sub: Subparsers) -> argparse.ArgumentParser:
    trace = tool_parser(
        sub,
        "tracert6",
        "show the routers on the path to a destination",
        "Send probes with Hop Limit 1, 2, 3...: the router where the hop limit runs out "
        "answers Time Exceeded (RFC 4443 §3.3), so each line names a hop, with the "
        "round-trip time of each probe ('*': no answer within the wait). Stops when the "
        "destination answers. Probes are ICMPv6 Echo Requests, as Windows tracert sends; "
        "-U sends UDP datagrams to ports 33434 and up, as traceroute does.",
        add_help=False,
        in_host=True,
    )
    trace.add_argument("destination", help="an IPv6 address, or with --sim a host name (z)")
    trace.add_argument(
        "-h",
        dest="max_hops",
        type=int,
        metavar="MAX_HOPS",
        help=f"the largest hop limit tried (default {DEFAULT_MAX_HOPS})",
    )
    trace.add_argument(
        "-q",
        dest="probes",
        type=int,
        metavar="PROBES",
        help=f"probes per hop (default {DEFAULT_PROBES})",
    )
    trace.add_argument(
        "-w",
        dest="wait",
        type=float,
        metavar="SECONDS",
        help=f"seconds to wait for each answer (default {DEFAULT_WAIT:g})",
    )
    trace.add_argument("-U", dest="udp", action="store_true", help="UDP probes, not echo")
    return trace


def run(args: argparse.Namespace) -> int:
    opts = options(TraceOptions, vars(args))
    if args.control:
        return run_in_host(
            "tracert6", args.control, {"destination": args.destination, **vars(opts)}
        )
    backend = Backend(args)
    address = backend.address(args.destination)
    return tracert6(backend.stack, args.destination, sys.stdout, opts, address=address)
