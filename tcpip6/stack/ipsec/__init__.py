"""IPsec (RFC 4301): the Security Policy Database, the Security Association Database, AH
(RFC 4302) and ESP (RFC 4303) with manually keyed SAs."""

from __future__ import annotations

from tcpip6.stack.ipsec.layer import IPSEC_PROTOCOLS, Ipsec, IpsecCounters
from tcpip6.stack.ipsec.sad import (
    Lifetime,
    Mode,
    SaState,
    SecurityAssociation,
    SecurityAssociationDatabase,
)
from tcpip6.stack.ipsec.spd import (
    Action,
    AddressRange,
    Direction,
    PortRange,
    SaTemplate,
    SecurityPolicyDatabase,
    SpdEntry,
)

__all__ = [
    "IPSEC_PROTOCOLS",
    "Action",
    "AddressRange",
    "Direction",
    "Ipsec",
    "IpsecCounters",
    "Lifetime",
    "Mode",
    "PortRange",
    "SaState",
    "SaTemplate",
    "SecurityAssociation",
    "SecurityAssociationDatabase",
    "SecurityPolicyDatabase",
    "SpdEntry",
]
