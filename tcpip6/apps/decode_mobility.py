"""One-line summaries of Mobility Header messages (RFC 6275 §6.1) for the demo's timeline,
in the style of tcpdump's ``mobility`` lines."""

from __future__ import annotations

from tcpip6.wire import WireError
from tcpip6.wire import mobility as wire_mh


def mh_summary(data: bytes) -> str:
    """``MH Binding Update seq 1 lifetime 25 A``, or what is malformed. The checksum is not
    verified: its pseudo-header may take a Home Address option's or a type 2 routing
    header's address (RFC 6275 §6.3, §6.4)."""
    try:
        m = wire_mh.MobilityHeader.parse_unchecked(data).message
    except WireError as exc:
        return f"MH malformed ({exc})"
    if isinstance(m, wire_mh.BindingUpdate):
        flags = "".join(f for f, on in (("A", m.a), ("H", m.h), ("L", m.l), ("K", m.k)) if on)
        return f"MH Binding Update seq {m.sequence} lifetime {m.lifetime} {flags}".rstrip()
    if isinstance(m, wire_mh.BindingAcknowledgement):
        return f"MH Binding Ack status {m.status} seq {m.sequence} lifetime {m.lifetime}"
    if isinstance(m, wire_mh.BindingError):
        return f"MH Binding Error status {m.status} home {m.home_address}"
    if isinstance(m, wire_mh.HomeTest):
        return f"MH Home Test nonce index {m.home_nonce_index}"
    if isinstance(m, wire_mh.CareOfTest):
        return f"MH Care-of Test nonce index {m.care_of_nonce_index}"
    names = {
        wire_mh.MH_BRR: "Binding Refresh Request",
        wire_mh.MH_HOTI: "Home Test Init",
        wire_mh.MH_COTI: "Care-of Test Init",
    }
    return f"MH {names.get(m.MH_TYPE, f'type {m.MH_TYPE}')}"
