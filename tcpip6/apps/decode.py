"""One-line summaries of frames, tcpdump style, from tcpip6's own parsers."""

from __future__ import annotations

from tcpip6.apps.decode_mobility import mh_summary
from tcpip6.wire import WireError
from tcpip6.wire import ext as wire_ext
from tcpip6.wire import icmpv6 as wi
from tcpip6.wire import ipv6 as wire_ipv6
from tcpip6.wire import mld as wm
from tcpip6.wire import nd as wn
from tcpip6.wire import tcp as wire_tcp
from tcpip6.wire.ethernet import ETHERTYPE_IPV6, EthernetHeader
from tcpip6.wire.mobility import IPPROTO_MH

#: The errors summarized by their name and code alone.
_ERROR_NAMES: dict[type, str] = {
    wi.DestinationUnreachable: "destination unreachable",
    wi.TimeExceeded: "time exceeded",
}


def _icmp_summary(msg: wi.Icmpv6Message) -> str:
    if isinstance(msg, wi.EchoRequest | wi.EchoReply):
        kind = "request" if isinstance(msg, wi.EchoRequest) else "reply"
        return f"echo {kind} id {msg.identifier} seq {msg.sequence}, {len(msg.data)} bytes"
    if isinstance(msg, wi.ParameterProblem):
        return f"parameter problem code {msg.code} pointer {msg.pointer}"
    if isinstance(msg, wi.PacketTooBig):
        return f"packet too big mtu {msg.mtu}"
    if isinstance(msg, wi.DestinationUnreachable | wi.TimeExceeded):
        return f"{_ERROR_NAMES[type(msg)]} code {msg.code}"
    if isinstance(msg, wn.NeighborSolicitation):
        return f"neighbor solicitation, who has {msg.target}"
    if isinstance(msg, wn.NeighborAdvertisement):
        flags = "".join(
            f for f, on in (("R", msg.router), ("S", msg.solicited), ("O", msg.override)) if on
        )
        return f"neighbor advertisement, tgt is {msg.target} [{flags or '-'}]"
    if isinstance(msg, wn.RouterSolicitation):
        return "router solicitation"
    if isinstance(msg, wn.RouterAdvertisement):
        prefixes = [
            f"{o.prefix}/{o.prefix_length}"
            for o in msg.options
            if isinstance(o, wn.PrefixInformation)
        ]
        return f"router advertisement, lifetime {msg.router_lifetime}s {' '.join(prefixes)}"
    if isinstance(msg, wn.Redirect):
        return f"redirect {msg.destination} to {msg.target}"
    if isinstance(msg, (wm.MldReport, wm.MldDone, wm.MldQuery)):
        kind = type(msg).__name__.replace("Mld", "MLD ").lower()
        return f"{kind} {msg.multicast_address}"
    if isinstance(msg, wm.MldV2Report):
        return "MLDv2 report " + " ".join(str(r.multicast_address) for r in msg.records)
    return f"icmp6 type {msg.type} code {msg.code}"


def _tcp_summary(seg: wire_tcp.TcpSegment) -> str:
    """tcpdump's line: flags, absolute seq/ack, window, options, length."""
    parts = [f"Flags [{wire_tcp.format_flags(seg.flags)}]", f"seq {seg.seq}"]
    if seg.flags & wire_tcp.ACK:
        parts.append(f"ack {seg.ack}")
    parts.append(f"win {seg.window}")
    if seg.flags & wire_tcp.URG:
        parts.append(f"urg {seg.urgent}")
    opts = [_tcp_option(o) for o in seg.options]
    opts = [o for o in opts if o]
    if opts:
        parts.append(f"options [{','.join(opts)}]")
    parts.append(f"length {len(seg.payload)}")
    return ", ".join(parts)


def _tcp_option(o: wire_tcp.TcpOption) -> str:
    if isinstance(o, wire_tcp.MaxSegmentSize):
        return f"mss {o.mss}"
    if isinstance(o, wire_tcp.WindowScale):
        return f"wscale {o.shift}"
    if isinstance(o, wire_tcp.SackPermitted):
        return "sackOK"
    if isinstance(o, wire_tcp.Timestamps):
        return f"TS val {o.tsval} ecr {o.tsecr}"
    if isinstance(o, wire_tcp.Sack):
        return "sack " + " ".join(f"{{{left}:{right}}}" for left, right in o.blocks)
    if isinstance(o, wire_tcp.NoOperation):
        return "nop"
    if isinstance(o, wire_tcp.EndOfOptions):
        return ""
    return f"opt-{o.kind}"


_NAMES = {
    wire_ipv6.IPPROTO_ICMPV6: "ICMP6",
    wire_ipv6.IPPROTO_UDP: "UDP",
    wire_ipv6.IPPROTO_UDPLITE: "UDP-Lite",
    wire_ipv6.IPPROTO_TCP: "TCP",
}


def summarize_packet(packet: bytes) -> str:
    try:
        hdr, payload = wire_ipv6.split(packet)
    except WireError as exc:
        return f"malformed IPv6: {exc}"
    head = f"{hdr.src} > {hdr.dst}"
    try:
        chain = wire_ext.walk(hdr.next_header, payload)
    except WireError:
        return f"{head}: malformed extension headers"
    frag = next((h for _, _, h in chain if isinstance(h, wire_ext.FragmentHeader)), None)
    if frag is not None and not frag.is_atomic:
        # Like tcpdump: where the fragment sits in the original packet; the upper-layer
        # message is split across the fragments, so it is named, not decoded.
        more = "+" if frag.more else ""
        name = _NAMES.get(frag.next_header, f"next header {frag.next_header}")
        return (
            f"{head}: frag (id 0x{frag.identification:08x}, offset {frag.offset_octets}{more})"
            f" {name}, {len(payload)} bytes"
        )
    nh, off, _ = chain[-1]
    if nh == wire_ipv6.IPPROTO_TCP:
        try:
            seg = wire_tcp.TcpSegment.parse(bytes(payload[off:]), hdr.src, hdr.dst)
        except WireError as exc:
            return f"{head}: TCP malformed ({exc})"
        return f"[{hdr.src}].{seg.src_port} > [{hdr.dst}].{seg.dst_port}: {_tcp_summary(seg)}"
    if nh == wire_ipv6.IPPROTO_ICMPV6:
        try:
            msg = wi.parse_icmpv6(bytes(payload[off:]), hdr.src, hdr.dst)
        except WireError as exc:
            return f"{head}: ICMP6 malformed ({exc})"
        return f"{head}: ICMP6, {_icmp_summary(msg)}"
    if nh == IPPROTO_MH:  # Mobile IPv6 (RFC 6275 §6.1)
        return f"{head}: {mh_summary(bytes(payload[off:]))}"
    return f"{head}: next header {nh}, {len(payload) - off} bytes"


def summarize_frame(frame: bytes) -> str:
    try:
        eth = EthernetHeader.parse(frame)
    except WireError:
        return "malformed Ethernet frame"
    if eth.ethertype != ETHERTYPE_IPV6:
        return f"ethertype 0x{eth.ethertype:04x}, {len(frame)} bytes"
    return summarize_packet(frame[EthernetHeader.HEADER_LEN :])
