"""A mobile node built from scapy's MIPv6 layers, facing a tcpip6 correspondent on a
simulated segment: it sends what RFC 6275 §11 says a mobile node sends and reads what
the correspondent answers, with its own transcription of RFC 6275 §5.2 (keygen tokens are
the correspondent's secret; Kbm and the Authenticator are computed here from the RFC's
formulas, not with tcpip6's code)."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from ipaddress import IPv6Address
from typing import Any

from scapy.layers import inet6 as s6
from scapy.layers.l2 import Ether
from scapy.packet import Packet

from tcpip6.io.sim import SimWorld
from tcpip6.io.simnet import SimPort
from tcpip6.stack.host import Host
from tcpip6.stack.interface import Interface
from tcpip6.stack.mobility.correspondent import CorrespondentNode, enable_correspondent
from tcpip6.stack.params import InterfaceParameters

CN = IPv6Address("2001:db8::c")
HOME = IPv6Address("2001:db8::100")
COA1 = IPv6Address("2001:db8::201")
COA2 = IPv6Address("2001:db8::202")
MN_MAC = bytes.fromhex("02000000aa01")


def kbm(home_token: bytes, care_of_token: bytes | None) -> bytes:
    """RFC 6275 §5.2.5."""
    return hashlib.sha1(home_token + (care_of_token or b"")).digest()


def authenticate(layer: Packet, key: bytes, coa: IPv6Address, cn: IPv6Address) -> Packet:
    """RFC 6275 §5.2.6: put First(96, HMAC_SHA1(Kbm, coa | cn | MH data)) in the last
    option (a MIP6OptBindingAuthData), MH data being the header with checksum zero and
    without the 12 Authenticator octets."""
    raw = bytes(s6.IPv6(src=str(coa), dst=str(cn)) / layer)[40:]
    raw = raw[:4] + b"\x00\x00" + raw[6:]
    assert raw[-14] == 5 and raw[-13] == 12, "the Binding Authorization Data option is last"
    data = coa.packed + cn.packed + raw[:-12]
    auth = hmac.new(key, data, hashlib.sha1).digest()[:12]
    layer = layer.copy()
    layer.options[-1].authenticator = int.from_bytes(auth, "big")
    return layer


@dataclass
class MobileNode:
    """The scapy mobile node and the tcpip6 correspondent it talks to."""

    world: SimWorld
    cn_host: Host
    cn_iface: Interface
    cn: CorrespondentNode
    port: SimPort
    received: list[Packet] = field(default_factory=list)
    #: Binding Refresh Requests, kept apart: the correspondent sends them on its own time.
    refresh_requests: list[Packet] = field(default_factory=list)
    #: Hand each packet to the correspondent at once (at ``world.now``, the time the model
    #: test gives its reference model) instead of over the segment.
    direct: bool = False
    home_token: tuple[int, bytes] | None = None
    care_of_tokens: dict[IPv6Address, tuple[int, bytes]] = field(default_factory=dict)

    def send(self, pkt: Packet) -> None:
        frame = Ether(src=MN_MAC.hex(":"), dst=self.cn_iface.link.link_address.hex(":")) / pkt
        if self.direct:
            self.cn_host.receive(self.cn_iface, bytes(frame), self.world.now)
            self.world.run_for(0.001)
            return
        self.port.send_frame(bytes(frame))
        self.world.run_for(0.01)

    def take(self) -> list[Packet]:
        out, self.received = self.received, []
        return out

    def mh(self, cls: Any) -> list[Packet]:
        return [p[cls] for p in self.take() if cls in p]

    # -- return routability (RFC 6275 §11.6.1) ---------------------------------------------
    def return_routability(self, coa: IPv6Address) -> tuple[float, float]:
        """Home Test Init and Care-of Test Init; the times the correspondent got them."""
        sent_home = self.world.now
        self.send(s6.IPv6(src=str(HOME), dst=str(CN)) / s6.MIP6MH_HoTI(cookie=b"homecook"))
        sent_care_of = self.world.now
        self.send(s6.IPv6(src=str(coa), dst=str(CN)) / s6.MIP6MH_CoTI(cookie=b"coacook!"))
        replies = self.take()
        hot = [p[s6.MIP6MH_HoT] for p in replies if s6.MIP6MH_HoT in p]
        cot = [p[s6.MIP6MH_CoT] for p in replies if s6.MIP6MH_CoT in p]
        assert len(hot) == 1 and len(cot) == 1, replies
        assert hot[0].cookie == b"homecook" and cot[0].cookie == b"coacook!"
        self.home_token = (hot[0].index, bytes(hot[0].token))
        self.care_of_tokens[coa] = (cot[0].index, bytes(cot[0].token))
        return sent_home, sent_care_of

    def binding_update(
        self,
        coa: IPv6Address,
        seq: int,
        lifetime: int,
        *,
        ack: bool = True,
        bad_auth: bool = False,
        home_index: int | None = None,
        care_of_index: int | None = None,
    ) -> Packet:
        """A BU as RFC 6275 §11.7.2 builds it: from the care-of address, the home address
        in a Home Address option, Nonce Indices and Binding Authorization Data last."""
        assert self.home_token is not None
        dereg = lifetime == 0 or coa == HOME
        h_index, h_token = self.home_token
        c_index, c_token = self.care_of_tokens.get(coa, (0, b""))
        key = kbm(h_token, None if dereg else c_token)
        bu = s6.MIP6MH_BU(
            seq=seq,
            flags="A" if ack else 0,
            mhtime=lifetime,
            options=[
                s6.MIP6OptNonceIndices(
                    olen=4,
                    hni=h_index if home_index is None else home_index,
                    coni=c_index if care_of_index is None else care_of_index,
                ),
                s6.MIP6OptBindingAuthData(olen=12, authenticator=0),
            ],
        )
        bu = authenticate(bu, key, coa, CN)
        if bad_auth:
            bu.options[-1].authenticator ^= 1
        if coa == HOME:
            pkt = s6.IPv6(src=str(HOME), dst=str(CN)) / bu
        else:
            hao = s6.IPv6ExtHdrDestOpt(options=[s6.HAO(hoa=str(HOME))])
            pkt = s6.IPv6(src=str(coa), dst=str(CN)) / hao / bu
        self.send(pkt)
        return pkt


def correspondent(seed: int = 1, capacity: int = 1024, kcn: bytes | None = None) -> MobileNode:
    world = SimWorld(seed=seed)
    host = world.host("cn")
    iface = world.connect(host, "lan", params=InterfaceParameters(dup_addr_detect_transmits=0))
    iface.add_static_address(CN, 64, world.now)
    for a in (HOME, COA1, COA2):
        iface.add_static_neighbor(a, MN_MAC)
    cn = enable_correspondent(host, capacity=capacity, kcn=kcn)
    port = world.segment("lan").attach(MN_MAC)
    mn = MobileNode(world, host, iface, cn, port)

    def receive(frame: bytes, now: float) -> None:
        pkt = Ether(frame)
        # A Binding Refresh Request itself, not one quoted in an ICMPv6 error.
        brr = s6.MIP6MH_BRR in pkt and pkt[s6.IPv6].nh in (43, 135)
        (mn.refresh_requests if brr else mn.received).append(pkt)

    port.receiver = receive
    world.run_for(0.01)
    mn.take()
    return mn
