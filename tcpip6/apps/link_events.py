"""Plug-and-play links of a live host: the kernel's link events and the link commands.

- The kernel says (rtnetlink, :mod:`tcpip6.io.netlink`) when an Ethernet link of the
  host loses its carrier or is set down, and when it is back: the host stops sending on
  it (its addresses are no source), and when it is back enables it again
  (:meth:`~tcpip6.stack.host.Host.link_up`: DAD again for every address, RFC 4862 §5.4;
  Router Solicitations again, RFC 4861 §6.3.7; MLD Reports again, RFC 2710 §4; the routers
  it knew probed with unicast NSs as RFC 6059 does, the other neighbor entries dropped).
- An interface that vanishes (``RTM_DELLINK``: a USB NIC unplugged, a veth deleted) is
  removed (:meth:`~tcpip6.stack.host.Host.remove_interface`: its addresses, groups,
  neighbors, routes and graphs forgotten; sockets bound to it find no route, ENETUNREACH,
  and connections through it time out with that error unless the route comes back, as on
  Linux) and its port closed; the host runs on with its other links.
- ``tcpip6 link add ethernet:IF --control PATH`` attaches another Ethernet link to the
  running host (``{"link": {"op": "add", "link": "ethernet:IF"}}``: a new interface, DAD
  and router solicitation as at start); ``tcpip6 link del IF`` removes one as if it had
  vanished. The same NIC added again is a new interface (a new index) with the same
  link-local and autoconfigured addresses, so connections through a global address resume.

The live driver runs on ``CLOCK_BOOTTIME`` (:mod:`tcpip6.io.runtime`), which a wall-clock
step (NTP, a date set by hand) never moves and a suspend does; a wake after a jump (a stop,
a suspend) reads the frames that waited, then fires each due timer once.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from tcpip6.apps.command import Subparsers
from tcpip6.io.netlink import LinkEvent, NetlinkMonitor
from tcpip6.io.rawsock import LinkError, RawSocketPort
from tcpip6.stack.link import EthernetLink

if TYPE_CHECKING:
    from tcpip6.apps.host import LiveHost


class DetachedPort:
    """What the link of a removed interface transmits through: nothing (frames are
    counted), so that nothing reaches the closed port."""

    def __init__(self) -> None:
        self.dropped = 0

    def send_frame(self, frame: bytes) -> None:
        self.dropped += 1

    def set_multicast_filter(self, link_addresses: frozenset[bytes]) -> None:
        pass  # the interface is gone: no filter to program


class LinkEvents:
    def __init__(self, live: LiveHost, say: Callable[[str], None]) -> None:
        self.live = live
        self.say = say
        self.monitor: NetlinkMonitor | None = None

    def start(self) -> None:
        try:
            self.monitor = NetlinkMonitor(self.on_event)
        except OSError as exc:
            self.say(f"no link events ({exc.strerror or exc}): links are taken as up")
            return
        self.live.driver.add_source(self.monitor)

    def _port(self, name: str) -> RawSocketPort | None:
        for port in self.live.ports:
            if isinstance(port, RawSocketPort) and port.ifname == name:
                return port
        return None

    def on_event(self, event: LinkEvent, now: float) -> None:
        port = self._port(event.name)
        if port is None:
            return
        host = self.live.host
        iface = host.interface(event.name)
        if event.deleted:
            self._remove(port, now)
            self.say(f"link {event.name} vanished: removed, the host runs on")
        elif not event.up and iface.link_is_up:
            host.link_down(iface, now)
            self.say(f"link {event.name} down")
        elif event.up and not iface.link_is_up:
            host.link_up(iface, now)
            self.say(f"link {event.name} up again: DAD and router solicitation again")
        self.live.print_events()

    def _remove(self, port: RawSocketPort, now: float) -> None:
        """The port closed and its interface removed from the host (as Linux removes a
        deleted device: :meth:`~tcpip6.stack.host.Host.remove_interface`)."""
        self.live.driver.remove_source(port)
        port.close()
        self.live.ports.remove(port)
        iface = self.live.host.interface(port.ifname)
        if isinstance(iface.link, EthernetLink):
            iface.link.port = DetachedPort()
        self.live.host.remove_interface(iface, now)

    def request(self, req: Any) -> dict[str, Any]:
        """``{"link": {"op": "add", "link": "ethernet:IF"}}`` or ``{"op": "del", "name": IF}``."""
        if not isinstance(req, Mapping):
            raise ValueError('"link" is an object with "op": add or del')
        now = self.live.driver.now
        host = self.live.host
        if req.get("op") == "del":
            name = req.get("name")
            port = self._port(name) if isinstance(name, str) else None
            if port is None:
                raise ValueError(f"no Ethernet link {name!r} attached")
            self._remove(port, now)
            self.say(f"link {port.ifname} removed")
            self.live.print_events()
            return {"link": port.ifname, "attached": False}
        if req.get("op") != "add":
            raise ValueError("op: add or del")
        spec = req.get("link")
        if not isinstance(spec, str) or not spec.startswith("ethernet:") or len(spec) <= 9:
            raise ValueError("link: ethernet:IFNAME")
        name = spec[len("ethernet:") :]
        if any(i.name == name for i in host.interfaces):
            raise ValueError(f"{name} is attached already")
        try:
            port = self.live.packet_port(name)
        except LinkError as exc:
            raise ValueError(str(exc)) from None
        self.live.ports.append(port)
        iface = self.live._attach(port)
        host.start_interface(iface, now)
        self.live.print_events()
        return {"link": name, "attached": True, "mac": port.mac.hex(":")}

    def close(self) -> None:
        if self.monitor is not None:
            self.live.driver.remove_source(self.monitor)
            self.monitor.close()
            self.monitor = None


# -- tcpip6 link add|del -----------------------------------------------------------------------
def add_parser(sub: Subparsers) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "link",
        help="add or remove an Ethernet link of a running tcpip6 host",
        description="Add (add ethernet:IFNAME) or remove (del IFNAME) an Ethernet link of "
        "the tcpip6 host whose control socket is --control PATH. An added link runs DAD and "
        "router solicitation as at start; a removed one is gone as if its NIC had vanished.",
    )
    p.add_argument("verb", choices=("add", "del"))
    p.add_argument("link", help="add: ethernet:IFNAME; del: IFNAME")
    p.add_argument("--control", required=True, metavar="PATH", help="the host's control socket")
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from tcpip6.apps.command import CliError
    from tcpip6.io.control import ControlError, request

    if args.verb == "add":
        req: dict[str, Any] = {"op": "add", "link": args.link}
    else:
        req = {"op": "del", "name": args.link}
    try:
        answer = request(Path(args.control), {"link": req})
    except ControlError as exc:
        raise CliError(str(exc)) from None
    if "error" in answer:
        raise CliError(str(answer["error"]), 2)
    state = "attached" if answer.get("attached") else "removed"
    print(f"{answer.get('link')} {state}")
    return 0
