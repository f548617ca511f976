"""SAs made the same way for tcpip6 and for scapy's SecurityAssociation (the oracle)."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv6Address
from typing import Any

from scapy.layers.inet6 import IPv6
from scapy.layers.ipsec import AH as ScapyAh
from scapy.layers.ipsec import ESP as ScapyEsp
from scapy.layers.ipsec import SecurityAssociation

from tcpip6.stack.host import Host
from tcpip6.stack.ipsec import Action, AddressRange, Direction, Mode, SaTemplate, SpdEntry
from tcpip6.stack.ipsec import SecurityAssociation as Sa
from tcpip6.wire import ext as wire_ext
from tcpip6.wire import ipv6 as wire_ipv6


@dataclass(frozen=True)
class Suite:
    """One algorithm combination: tcpip6's names, scapy's names, key lengths."""

    protocol: int
    encryption: str
    integrity: str | None
    enc_key_len: int
    scapy_crypt: str | None
    scapy_auth: str | None

    @property
    def id(self) -> str:
        proto = "esp" if self.protocol == wire_ipv6.IPPROTO_ESP else "ah"
        return f"{proto}-{self.encryption}-{self.integrity}"

    def enc_key(self) -> bytes:
        return bytes(range(7, 7 + self.enc_key_len))

    def auth_key(self) -> bytes:
        n = {"hmac-sha1-96": 20, "hmac-sha256-128": 32}.get(self.integrity or "", 0)
        return bytes(range(100, 100 + n))


ESP, AH_ = wire_ipv6.IPPROTO_ESP, wire_ipv6.IPPROTO_AH

SUITES = [
    Suite(ESP, "null", "hmac-sha256-128", 0, "NULL", "SHA2-256-128"),
    Suite(ESP, "null", "hmac-sha1-96", 0, "NULL", "HMAC-SHA1-96"),
    Suite(ESP, "aes-cbc", "hmac-sha256-128", 16, "AES-CBC", "SHA2-256-128"),
    Suite(ESP, "aes-cbc", "hmac-sha1-96", 32, "AES-CBC", "HMAC-SHA1-96"),
    Suite(ESP, "aes-gcm-16", None, 20, "AES-GCM", None),
    Suite(ESP, "aes-gcm-16", None, 36, "AES-GCM", None),
    Suite(ESP, "chacha20-poly1305", None, 36, "CHACHA20-POLY1305", None),
    Suite(AH_, "null", "hmac-sha256-128", 0, None, "SHA2-256-128"),
    Suite(AH_, "null", "hmac-sha1-96", 0, None, "HMAC-SHA1-96"),
]


def tcpip6_sa(
    suite: Suite,
    mode: Mode,
    src: IPv6Address,
    dst: IPv6Address,
    direction: Direction,
    *,
    spi: int = 0x1000,
    policy: str = "p",
    esn: bool = False,
    enc_key: bytes | None = None,
) -> Sa:
    return Sa(
        spi=spi,
        protocol=suite.protocol,
        direction=direction,
        mode=mode,
        src=src,
        dst=dst,
        policy=policy,
        encryption=suite.encryption,
        encryption_key=suite.enc_key() if enc_key is None else enc_key,
        integrity=suite.integrity,
        integrity_key=suite.auth_key(),
        esn=esn,
    )


def scapy_sa(
    suite: Suite,
    mode: Mode,
    src: IPv6Address,
    dst: IPv6Address,
    *,
    spi: int = 0x1000,
    seq_num: int = 1,
    esn: bool = False,
) -> Any:
    tunnel = IPv6(src=str(src), dst=str(dst)) if mode is Mode.TUNNEL else None
    common: dict[str, Any] = {
        "spi": spi,
        "seq_num": seq_num,
        "auth_algo": suite.scapy_auth,
        "tunnel_header": tunnel,
        "esn_en": esn,
    }
    if suite.protocol == ESP:
        return SecurityAssociation(
            ScapyEsp,
            crypt_algo=suite.scapy_crypt,
            crypt_key=suite.enc_key(),
            auth_key=suite.auth_key() or None,
            **common,
        )
    return SecurityAssociation(ScapyAh, auth_key=suite.auth_key(), **common)


def locate(packet: bytes) -> tuple[int, int, int]:
    """(next header, offset in the packet, offset of the Next Header field naming it) of
    the first header the extension walk does not parse (AH, ESP, upper layer)."""
    rows = wire_ext.walk(packet[6], packet[40:])
    nh, off, _ = rows[-1]
    pointer = 6 if len(rows) == 1 else 40 + rows[-2][1]
    return nh, 40 + off, pointer


ND_TYPES = (133, 134, 135, 136, 137)


def protect_between(
    host: Host,
    suite: Suite,
    mode: Mode,
    local: IPv6Address,
    remote: IPv6Address,
    *,
    outer: tuple[IPv6Address, IPv6Address] | None = None,
    spi_out: int,
    spi_in: int,
    bundle: tuple[Suite, ...] = (),
    esn: bool = False,
    enc_key_in: bytes | None = None,
) -> None:
    """On ``host``: ND in the clear, everything between ``local`` and ``remote`` through
    ``suite`` (then each of ``bundle``, outward) in ``mode``, the rest in the clear. The
    SAs' endpoints are ``outer`` (tunnel) or the two addresses."""
    for t in ND_TYPES:
        host.ipsec.add_policy(
            SpdEntry(f"nd-{t}", Action.BYPASS, next_layer=wire_ipv6.IPPROTO_ICMPV6, icmp_type=t)
        )
    suites = (suite, *bundle)
    host.ipsec.add_policy(
        SpdEntry(
            "between",
            Action.PROTECT,
            local=AddressRange(local, local),
            remote=AddressRange(remote, remote),
            protect=tuple(SaTemplate(s.protocol, mode.value) for s in suites),
        )
    )
    host.ipsec.add_policy(SpdEntry("rest", Action.BYPASS))
    me, peer = outer if outer is not None else (local, remote)
    for i, s in enumerate(suites):
        host.ipsec.add_sa(
            tcpip6_sa(
                s, mode, me, peer, Direction.OUTBOUND, spi=spi_out + i, policy="between", esn=esn
            )
        )
        host.ipsec.add_sa(
            tcpip6_sa(
                s,
                mode,
                peer,
                me,
                Direction.INBOUND,
                spi=spi_in + i,
                policy="between",
                esn=esn,
                enc_key=enc_key_in,
            )
        )
