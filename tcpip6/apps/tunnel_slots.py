"""Configured tunnels added and released while a live host runs (the tunnel server side of
a tunnel broker, RFC 3053 §3.2: "the TB ... configures the tunnel server").

Through the control socket::

    -> {"tunnel": {"op": "add", "name": "tb1", "local": "10.0.0.1", "remote": "10.0.0.2",
                   "address": "2001:db8:100:1::1/64"}}
    <- {"tunnel": {"name": "tb1", "local": ..., "remote": ..., "address": ..., "mtu": 1480}}
    -> {"tunnel": {"op": "del", "name": "tb1"}}
    <- {"tunnel": {"name": "tb1", "released": true}}
    -> {"tunnel": {"op": "list"}}

An added tunnel is an RFC 4213 configured tunnel (its own raw IPv4 socket, accepting
datagrams from its remote end only, RFC 4213 §3.6) with the server's address of the
client's /64 on it, which makes the /64 on-link through the tunnel; unlike a tunnel given
with ``--link``, it adds no default route (the server routes to many clients). The host
has no interface removal, so a released tunnel keeps its interface as an idle slot: its
socket is closed, its address and on-link prefix removed, and an ``add`` of the same name
later reuses it with the new remote end. At most :data:`MAX_SLOTS` slots.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Interface
from typing import Any

from tcpip6.io.rawsock import LinkError
from tcpip6.io.runtime import LiveDriver
from tcpip6.io.tunnel import RawIpv4Port
from tcpip6.stack.host import Host
from tcpip6.stack.interface import Interface
from tcpip6.stack.tunnel import TunnelLink, interface_parameters, link_local

MAX_SLOTS = 256
_NAME = re.compile(r"^[a-z][a-z0-9]{0,14}$")


@dataclass
class Slot:
    iface: Interface
    link: TunnelLink
    port: RawIpv4Port | None
    address: IPv6Interface | None

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.iface.name,
            "local": str(self.link.local),
            "remote": str(self.link.remote),
            "address": str(self.address) if self.address else None,
            "mtu": self.link.mtu,
            "active": self.port is not None,
        }


class _Closed:
    """A released slot's port: what is sent is dropped and counted."""

    def __init__(self) -> None:
        self.dropped = 0

    def send_datagram(self, packet: bytes, dst: IPv4Address) -> None:
        self.dropped += 1


class TunnelSlots:
    def __init__(self, host: Host, driver: LiveDriver, say: Callable[[str], None]) -> None:
        self.host = host
        self.driver = driver
        self.say = say
        self.slots: dict[str, Slot] = {}

    def request(self, req: Any) -> dict[str, Any]:
        """A ``{"tunnel": ...}`` request's answer (ValueError: one line for the client)."""
        if not isinstance(req, Mapping):
            raise ValueError('"tunnel" is an object with "op": add, del or list')
        op = req.get("op")
        now = self.driver.now
        if op == "list":
            return {"tunnels": [s.describe() for s in self.slots.values()]}
        name = req.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValueError("name: 1-15 lowercase letters and digits, a letter first")
        if op == "add":
            return {"tunnel": self.add(name, req, now)}
        if op == "del":
            return {"tunnel": self.release(name, now)}
        raise ValueError(f"op {op!r}: add, del or list")

    def add(self, name: str, req: Mapping[str, Any], now: float) -> dict[str, Any]:
        try:
            local = IPv4Address(str(req.get("local")))
            remote = IPv4Address(str(req.get("remote")))
            address = IPv6Interface(str(req.get("address")))
        except ValueError as exc:
            raise ValueError(f"tunnel {name}: {exc}") from None
        if local == remote or remote.is_multicast or remote.is_unspecified or remote.is_loopback:
            raise ValueError(f"tunnel {name}: the remote end {remote} is not a usable address")
        if address.ip.is_link_local or address.ip.is_multicast:
            raise ValueError(f"tunnel {name}: {address} is not a global unicast address")
        slot = self.slots.get(name)
        if slot is not None and slot.port is not None:
            raise ValueError(f"tunnel {name} exists (remote {slot.link.remote})")
        if slot is None:
            if name in {i.name for i in self.host.interfaces}:
                raise ValueError(f"{name}: an interface of that name exists")
            if len(self.slots) >= MAX_SLOTS:
                raise ValueError(f"no more than {MAX_SLOTS} tunnels")
        try:
            port = RawIpv4Port(local, name)
        except LinkError as exc:
            raise ValueError(str(exc)) from None
        if slot is None:
            link = TunnelLink(port, local, remote=remote)
            iface = self.host.add_interface(link, name, interface_parameters(link))
            # RFC 4213 §3.7: fe80::V4ADDR; the far end a PERMANENT neighbor (no ND, RFC 4213 §3.8).
            iface.add_static_address(link_local(local), 64, now)
            slot = Slot(iface, link, None, None)
            self.slots[name] = slot
        else:
            slot.link.port = port
            slot.link.local = local
            slot.link.link_address = local.packed
            slot.link.remote = remote
        slot.iface.add_static_neighbor(link_local(remote), remote.packed)
        slot.iface.add_static_address(address.ip, address.network.prefixlen, now)
        slot.port, slot.address = port, address
        iface = slot.iface
        port.receiver = lambda frame, t: self.host.receive(iface, frame, t)
        self.driver.add_source(port)
        self.say(f"tunnel {name} added: configured {local} -> {remote}, {address}")
        return slot.describe()

    def release(self, name: str, now: float) -> dict[str, Any]:
        slot = self.slots.get(name)
        if slot is None or slot.port is None:
            raise ValueError(f"no tunnel {name}")
        self._close_port(slot)
        if slot.address is not None:
            iface = slot.iface
            actions = iface.addresses.remove(slot.address.ip)
            self.host.nd_module.apply_address_actions(iface, actions, now)
            table = self.host.routes
            table.remove_on_link_prefix(iface, slot.address.network)
            table.invalidate(interface=iface)
            slot.address = None
        self.say(f"tunnel {name} released")
        return {"name": name, "released": True}

    def _close_port(self, slot: Slot) -> None:
        port = slot.port
        if port is None:
            return
        self.driver.remove_source(port)
        port.close()
        slot.link.port = _Closed()
        slot.port = None

    def close(self) -> None:
        for slot in self.slots.values():
            self._close_port(slot)
