"""``tcpip6 6to4cfg``: the 6to4 (RFC 3056) configuration an IPv4 address gives, as the MSR
IPv6 kit's 6to4cfg printed it: the site prefix 2002:V4ADDR::/48 (RFC 3056 §2), the host's 6to4
address on subnet 0 with the ::V4ADDR interface identifier (RFC 4213 §3.7, what
``tcpip6 host --link tunnel:6to4`` configures), the relay router's 6to4 address (RFC
3068), and the ``tcpip6 host`` command line and config file lines that set it up.

Pure but for :func:`interface_ipv4`, which asks the kernel for an interface's address.
"""

from __future__ import annotations

import argparse
import fcntl
import socket
import struct
from ipaddress import IPv4Address

from tcpip6.apps.command import CliError, Subparsers
from tcpip6.stack.tunnel import RELAY_ANYCAST, sixtofour_address, sixtofour_prefix

#: linux/sockios.h: get the interface's (first) IPv4 address.
SIOCGIFADDR = 0x8915
#: IFNAMSIZ - 1.
MAX_IFNAME = 15


def parse_ipv4(text: str, what: str) -> IPv4Address:
    """A unicast IPv4 address a 6to4 site (or relay) can have; ValueError, one line."""
    try:
        v4 = IPv4Address(text)
    except ValueError as exc:
        raise ValueError(f"{what} {text}: {exc}") from None
    if (
        v4.is_multicast
        or v4.is_unspecified
        or v4.is_loopback
        or v4.is_reserved
        or (v4 == IPv4Address("255.255.255.255"))
    ):
        raise ValueError(f"{what} {v4}: not a unicast address a 6to4 site can have")
    return v4


def interface_ipv4(name: str) -> IPv4Address:
    """The IPv4 address of interface ``name`` (SIOCGIFADDR); ValueError, one line."""
    if not name or len(name) > MAX_IFNAME or "/" in name or any(c.isspace() for c in name):
        raise ValueError(f"{name!r} is neither an IPv4 address nor an interface name")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            reply = fcntl.ioctl(sock.fileno(), SIOCGIFADDR, struct.pack("256s", name.encode()))
        except OSError as exc:
            if exc.errno == 19:  # ENODEV
                raise ValueError(f"{name}: no such interface (nor an IPv4 address)") from None
            if exc.errno == 99:  # EADDRNOTAVAIL
                raise ValueError(f"{name} has no IPv4 address (ip -4 addr show {name})") from None
            raise ValueError(f"{name}: {exc.strerror}") from None
    # struct ifreq: the name (16 octets), then a sockaddr_in: family, port, address.
    return IPv4Address(reply[20:24])


def resolve(text: str) -> IPv4Address:
    """An IPv4 address as given, or the address of the interface so named."""
    if text.replace(".", "").isdigit():
        return parse_ipv4(text, "address")
    return parse_ipv4(str(interface_ipv4(text)), f"{text}'s address")


def parse_relay(text: str) -> IPv4Address:
    """``anycast`` (RFC 3068's 192.88.99.1) or a relay router's IPv4 address."""
    return RELAY_ANYCAST if text == "anycast" else parse_ipv4(text, "--relay")


def report(
    v4: IPv4Address, relay: IPv4Address | None = None, source: str | None = None
) -> list[str]:
    """The lines ``tcpip6 6to4cfg`` prints for the site at ``v4``."""
    spec = f"tunnel:6to4:{v4}" + (f":{relay}" if relay is not None else "")
    from_ = f" (from {source})" if source is not None and source != str(v4) else ""
    lines = [
        f"IPv4 address     {v4}{from_}",
        f"6to4 prefix      {sixtofour_prefix(v4)}   (RFC 3056 §2: 2002:V4ADDR::/48)",
        f"6to4 address     {sixtofour_address(v4)}/16   (subnet 0, identifier ::{v4})",
    ]
    if relay is not None:
        relay6 = sixtofour_prefix(relay).network_address
        lines.append(f"relay router     {relay} = {relay6}   (RFC 3068: the default route)")
    else:
        lines.append("relay router     none: only 2002::/16 destinations are reachable")
    if v4.is_private or v4.is_link_local or v4.is_global is False:
        lines.append(
            f"note             {v4} is not a global address: RFC 3056 §2 needs one to reach "
            "other 6to4 sites (fine between lab namespaces)"
        )
    lines += [
        "",
        "command line:",
        f"  tcpip6 host --link {spec}",
        "config file (tcpip6 host --config FILE.toml):",
        f'  links = ["{spec}"]',
    ]
    return lines


# -- the command line: tcpip6 6to4cfg -------------------------------------------------

EPILOG = """\
examples:
  tcpip6 6to4cfg 192.0.2.7                 the prefix 2002:c000:207::/48 and its address
  tcpip6 6to4cfg eth0                      the same for eth0's IPv4 address
  tcpip6 6to4cfg 192.0.2.7 --relay anycast also the default route through RFC 3068's
                                           anycast relay 192.88.99.1

RFC 3056 gives every globally unique IPv4 address V4ADDR an IPv6 site prefix,
2002:V4ADDR::/48. Packets to other 6to4 sites go straight to the IPv4 address their
destination embeds; everything else goes to a relay router (RFC 3068). The printed
command line runs tcpip6 on that prefix (root: it opens a raw IPv4 socket, protocol 41).
"""


def run(args: argparse.Namespace) -> int:
    try:
        v4 = resolve(args.address)
        relay = parse_relay(args.relay) if args.relay is not None else None
    except ValueError as exc:
        raise CliError(str(exc)) from None
    for line in report(v4, relay, source=args.address):
        print(line)
    return 0


def add_parser(sub: Subparsers) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "6to4cfg",
        help="print the 6to4 prefix, address and tcpip6 host settings of an IPv4 address",
        description=(
            "Print the 6to4 configuration (RFC 3056) of an IPv4 address, or of an\n"
            "interface's IPv4 address: the site prefix, the host's 6to4 address, and the\n"
            "tcpip6 host command line and TOML lines that configure it."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("address", metavar="IPV4ADDR|IFNAME", help="an IPv4 address or interface")
    p.add_argument(
        "--relay",
        metavar="RELAY4|anycast",
        help="a 6to4 relay router for native IPv6 destinations (anycast: 192.88.99.1)",
    )
    return p


__all__ = ["interface_ipv4", "parse_ipv4", "parse_relay", "report", "resolve"]
