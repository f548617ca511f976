"""The ``ipsec`` simulated network (``--sim ipsec``): hosts a and b on one segment with a
router advertising 2001:db8:1::/64, and an ESP tunnel (AES-GCM-16, RFC 4106; manually
keyed, RFC 4301 §4.5) between a and b, so that ping6 and ttcp from a to b go through ESP::

    a ==ESP tunnel== b        (both on lan1 2001:db8:1::/64, router r)

Neighbor Discovery and MLD stay in the clear (the SPD bypasses ICMPv6 types 130-143).
The keys are fixed (:data:`KEYS`), so that a pcap of the run can be decrypted.
"""

from __future__ import annotations

from ipaddress import IPv6Address, IPv6Network

from tcpip6.apps import topology
from tcpip6.stack.host import Host
from tcpip6.stack.ipsec import (
    Action,
    AddressRange,
    Direction,
    Lifetime,
    Mode,
    SaTemplate,
    SecurityAssociation,
    SpdEntry,
)
from tcpip6.wire import ipv6 as wire_ipv6

#: SPI -> AES-GCM-16 key material (16-octet key, 4-octet salt): a to b, b to a.
KEYS = {
    0x1000: bytes.fromhex("00112233445566778899aabbccddeeff01020304"),
    0x2000: bytes.fromhex("ffeeddccbbaa99887766554433221100a1a2a3a4"),
}
#: ICMPv6 types of ND (RFC 4861) and MLD (RFC 2710, RFC 3810): never protected here.
CLEAR_ICMPV6 = (130, 131, 132, 133, 134, 135, 136, 137, 143)


def protect(
    host: Host,
    me: IPv6Address,
    peer: IPv6Address,
    out_spi: int,
    in_spi: int,
    lifetime: Lifetime | None = None,
    now: float = 0.0,
) -> None:
    """ESP in tunnel mode between ``me`` and ``peer`` (the tunnel's ends are the hosts),
    the SAs added at ``now`` with ``lifetime`` (default: none)."""
    for t in CLEAR_ICMPV6:
        host.ipsec.add_policy(
            SpdEntry(f"icmpv6-{t}", Action.BYPASS, next_layer=wire_ipv6.IPPROTO_ICMPV6, icmp_type=t)
        )
    esp_between(host, me, peer, out_spi, in_spi, KEYS, Mode.TUNNEL, "tunnel", lifetime, now)


def esp_between(
    host: Host,
    me: IPv6Address,
    peer: IPv6Address,
    out_spi: int,
    in_spi: int,
    keys: dict[int, bytes],
    mode: Mode,
    name: str,
    lifetime: Lifetime | None = None,
    now: float = 0.0,
) -> None:
    """Manually keyed ESP with AES-GCM-16 (RFC 4106, RFC 4301 §4.5) for everything between
    ``me`` and ``peer`` (SPD entry ``name``), the rest bypassed: the SA pair, ``keys`` by
    SPI, added at ``now`` with ``lifetime`` (default: none)."""
    host.ipsec.add_policy(
        SpdEntry(
            name,
            Action.PROTECT,
            local=AddressRange(me, me),
            remote=AddressRange(peer, peer),
            protect=(SaTemplate(wire_ipv6.IPPROTO_ESP, mode.value),),
        )
    )
    host.ipsec.add_policy(SpdEntry("rest", Action.BYPASS))
    for spi, direction, src, dst in (
        (out_spi, Direction.OUTBOUND, me, peer),
        (in_spi, Direction.INBOUND, peer, me),
    ):
        host.ipsec.add_sa(
            SecurityAssociation(
                spi=spi,
                protocol=wire_ipv6.IPPROTO_ESP,
                direction=direction,
                mode=mode,
                src=src,
                dst=dst,
                policy=name,
                encryption="aes-gcm-16",
                encryption_key=keys[spi],
                lifetime=lifetime or Lifetime(),
                added=now,
            )
        )


def ipsec_topology(seed: int = 2026) -> topology.Topology:
    lan1 = IPv6Network("2001:db8:1::/64")
    b = topology._Builder("ipsec", "a", "b", seed)
    r = b.router("r")
    b.advertise(r, "lan1", lan1)
    b.host("a", "lan1", lan1)
    b.host("b", "lan1", lan1)
    topo = b.boot()
    a_addr, b_addr = topo.addresses["a"], topo.addresses["b"]
    now = topo.world.now
    protect(topo.hosts["a"], a_addr, b_addr, 0x1000, 0x2000, now=now)
    protect(topo.hosts["b"], b_addr, a_addr, 0x2000, 0x1000, now=now)
    return topo
