"""Neighbor Discovery validity checks (RFC 4861 §6.1.1, §6.1.2, §7.1.1, §7.1.2, §8.1).

Each check returns the name of the :class:`~tcpip6.stack.counters.NdCounters` field that
counts the drop, or ``None`` when the message is valid. The wire layer has already
checked lengths, option lengths (none is zero) and the ICMPv6 checksum.
"""

from __future__ import annotations

from ipaddress import IPv6Address

from tcpip6.wire import nd as wire_nd
from tcpip6.wire.ipv6 import Ipv6Header, solicited_node


def _common(hdr: Ipv6Header, code: int) -> str | None:
    # "The IP Hop Limit field has a value of 255, i.e., the packet could not possibly
    # have been forwarded by a router."  "ICMP Code is 0."
    if hdr.hop_limit != 255:
        return "hop_limit_not_255_drop"
    if code != 0:
        return "code_not_zero_drop"
    return None


def _common_with_target(
    hdr: Ipv6Header,
    msg: wire_nd.NeighborSolicitation | wire_nd.NeighborAdvertisement,
    multicast_target: str,
) -> str | None:
    """The common checks, then RFC 4861 §7.1.1 and §7.1.2 alike: "Target Address is not a
    multicast address" (``multicast_target`` counts it)."""
    return _common(hdr, msg.code) or (multicast_target if msg.target.is_multicast else None)


def _has(msg: wire_nd.NdMessage, option_type: type) -> bool:
    return any(isinstance(o, option_type) for o in msg.options)


def check_router_solicitation(hdr: Ipv6Header, msg: wire_nd.RouterSolicitation) -> str | None:
    """RFC 4861 §6.1.1."""
    reason = _common(hdr, msg.code)
    if reason:
        return reason
    # "If the IP source address is the unspecified address, there is no source
    # link-layer address option in the message."
    if hdr.src.is_unspecified and _has(msg, wire_nd.SourceLinkLayerAddress):
        return "rs_unspecified_source_with_sllao_drop"
    return None


def check_router_advertisement(hdr: Ipv6Header, msg: wire_nd.RouterAdvertisement) -> str | None:
    """RFC 4861 §6.1.2."""
    # "IP Source Address is a link-local address."
    if not hdr.src.is_link_local:
        return "ra_source_not_link_local_drop"
    return _common(hdr, msg.code)


def check_neighbor_solicitation(hdr: Ipv6Header, msg: wire_nd.NeighborSolicitation) -> str | None:
    """RFC 4861 §7.1.1."""
    reason = _common_with_target(hdr, msg, "ns_target_multicast_drop")
    if reason:
        return reason
    if hdr.src.is_unspecified:
        # "If the IP source address is the unspecified address, the IP destination address
        # is a solicited-node multicast address."
        if hdr.dst != solicited_node(msg.target):
            return "ns_unspecified_source_not_solicited_node_drop"
        # "... there is no source link-layer address option in the message."
        if _has(msg, wire_nd.SourceLinkLayerAddress):
            return "ns_unspecified_source_with_sllao_drop"
    return None


def check_neighbor_advertisement(hdr: Ipv6Header, msg: wire_nd.NeighborAdvertisement) -> str | None:
    """RFC 4861 §7.1.2."""
    reason = _common_with_target(hdr, msg, "na_target_multicast_drop")
    if reason:
        return reason
    # "If the IP Destination Address is a multicast address the Solicited flag is zero."
    if hdr.dst.is_multicast and msg.solicited:
        return "na_solicited_to_multicast_drop"
    return None


def check_redirect(hdr: Ipv6Header, msg: wire_nd.Redirect) -> str | None:
    """RFC 4861 §8.1 (the check against the current first-hop router is the router
    list's, since it needs the destination cache)."""
    if not hdr.src.is_link_local:
        return "redirect_source_not_link_local_drop"
    reason = _common(hdr, msg.code)
    if reason:
        return reason
    # "The ICMP Destination Address field in the redirect message does not contain a
    # multicast address."
    if msg.destination.is_multicast:
        return "redirect_destination_multicast_drop"
    # "The ICMP Target Address is either a link-local address (when redirected to a
    # router) or the same as the ICMP Destination Address (when redirected to the
    # on-link destination)."
    if not (msg.target.is_link_local or msg.target == msg.destination):
        return "redirect_target_invalid_drop"
    return None


def source_link_address(msg: wire_nd.NdMessage) -> bytes | None:
    """The address field of the first source link-layer address option."""
    for opt in msg.options:
        if isinstance(opt, wire_nd.SourceLinkLayerAddress):
            return opt.address
    return None


def target_link_address(msg: wire_nd.NdMessage) -> bytes | None:
    """The address field of the first target link-layer address option."""
    for opt in msg.options:
        if isinstance(opt, wire_nd.TargetLinkLayerAddress):
            return opt.address
    return None


def is_link_local_or_unspecified(addr: IPv6Address) -> bool:
    return addr.is_link_local or addr.is_unspecified
