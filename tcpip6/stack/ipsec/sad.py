"""The Security Association Database (RFC 4301 §4.4.2): one entry per SA, found inbound by
SPI, destination and protocol (RFC 4301 §4.1), outbound through the SPD entry it was made
for. Manually keyed (RFC 4301 §4.5): the SAs, their SPIs and keys are configuration.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from ipaddress import IPv6Address

from tcpip6.stack.counters import CounterSet
from tcpip6.stack.ipsec.algorithms import (
    ENCRYPTION,
    INTEGRITY,
    KeyedCipher,
    KeyedIntegrity,
)
from tcpip6.stack.ipsec.replay import DEFAULT_REPLAY_WINDOW, MAX_REPLAY_WINDOW, ReplayWindow
from tcpip6.stack.ipsec.spd import Direction
from tcpip6.stack.machines.graph import TraceSink
from tcpip6.stack.machines.sa import GRAPH, SaLifetimeState
from tcpip6.wire import ipv6 as wire_ipv6

#: RFC 4301 §4.4.2: the SAD is bounded here; adding more is a configuration error.
SAD_MAX_ENTRIES = 1024

PROTOCOL_NAMES = {wire_ipv6.IPPROTO_ESP: "esp", wire_ipv6.IPPROTO_AH: "ah"}


class Mode(enum.Enum):
    """RFC 4301 §4.1: IPsec protocol mode."""

    TRANSPORT = "transport"
    TUNNEL = "tunnel"


#: PF_KEY v2 SA states (RFC 2367 §2.3.3), the states of the SA lifetime graph.
SaState = SaLifetimeState


@dataclass(frozen=True, slots=True)
class Lifetime:
    """RFC 4301 §4.4.2.1 "Lifetime of this SA": time and octet limits, soft and hard;
    0 means no limit."""

    soft_seconds: float = 0.0
    hard_seconds: float = 0.0
    soft_octets: int = 0
    hard_octets: int = 0


@dataclass
class SaCounters(CounterSet):
    """Per SA, like ``ip -s xfrm state`` (lifetime current, stats)."""

    packets: int = 0
    octets: int = 0
    replay: int = 0
    integrity_failed: int = 0
    padding_failed: int = 0
    policy_mismatch: int = 0


@dataclass(eq=False)
class SecurityAssociation:
    """One SAD entry (RFC 4301 §4.4.2.1). ``src``/``dst`` are the SA's endpoints: the
    packet's addresses in transport mode, the outer header's in tunnel mode."""

    spi: int
    protocol: int  # IPPROTO_ESP or IPPROTO_AH
    direction: Direction
    mode: Mode
    src: IPv6Address
    dst: IPv6Address
    #: The SPD entry this SA was made for (RFC 4301 §4.4.2.1 "SPD entry"; RFC 4301 §5.2 checks
    #: inbound traffic against it).
    policy: str
    encryption: str = "null"
    encryption_key: bytes = b""
    integrity: str | None = None
    integrity_key: bytes = b""
    #: RFC 4303 §2.2.1 Extended (64-bit) Sequence Numbers.
    esn: bool = False
    replay_window_size: int = DEFAULT_REPLAY_WINDOW
    lifetime: Lifetime = field(default_factory=Lifetime)
    #: RFC 4301 §4.4.2.1 Sequence Number Counter: the last number sent.
    sequence_number: int = 0
    added: float = 0.0
    counters: SaCounters = field(default_factory=SaCounters)
    replay: ReplayWindow = field(init=False)
    cipher: KeyedCipher | None = field(init=False, default=None)
    auth: KeyedIntegrity | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self._check()
        self.trace_label = f"{self.protocol_name} spi {self.spi:#x} {self.direction.value}"
        self.trace_sink: TraceSink | None = None
        # RFC 2367 §2.3.3: a manually keyed SA is MATURE from the start.
        GRAPH.attach(self)
        self.state: SaLifetimeState

    def end(self) -> None:
        """Leave the graph (the SA is gone from the SAD)."""
        GRAPH.detach(self)

    def _check(self) -> None:
        if self.protocol not in PROTOCOL_NAMES:
            raise ValueError(f"SA {self.spi:#x}: protocol {self.protocol} is not AH or ESP")
        if self.spi < 256 or self.spi > 0xFFFFFFFF:
            # RFC 4303 §2.1: 1-255 are reserved by IANA, 0 is local use only.
            raise ValueError(f"SA spi {self.spi:#x}: 256 to 0xffffffff")
        if not 0 <= self.replay_window_size <= MAX_REPLAY_WINDOW:
            raise ValueError(f"SA {self.spi:#x}: replay window 0 to {MAX_REPLAY_WINDOW}")
        self.replay = ReplayWindow(self.replay_window_size)
        if self.integrity is not None:
            alg = INTEGRITY.get(self.integrity)
            if alg is None:
                raise ValueError(f"SA {self.spi:#x}: unknown integrity {self.integrity!r}")
            self.auth = alg.keyed(self.integrity_key)
        if self.protocol == wire_ipv6.IPPROTO_AH:
            if self.auth is None:
                raise ValueError(f"SA {self.spi:#x}: AH needs an integrity algorithm")
            return
        enc = ENCRYPTION.get(self.encryption)
        if enc is None:
            raise ValueError(f"SA {self.spi:#x}: unknown encryption {self.encryption!r}")
        self.cipher = enc.keyed(self.encryption_key)
        if enc.aead and self.auth is not None:
            raise ValueError(f"SA {self.spi:#x}: {enc.name} is combined mode, no integrity")
        if not enc.aead and self.auth is None:
            # RFC 4303 §3.2: confidentiality-only ESP is not offered here, and NULL
            # encryption without integrity is forbidden (RFC 4303 §3.2, RFC 2410 §2).
            raise ValueError(f"SA {self.spi:#x}: {enc.name} needs an integrity algorithm")

    @property
    def protocol_name(self) -> str:
        return PROTOCOL_NAMES[self.protocol]

    @property
    def key(self) -> tuple[int, IPv6Address, int]:
        return (self.spi, self.dst, self.protocol)

    def icv_len(self) -> int:
        if self.auth is not None:
            return self.auth.icv_len
        return self.cipher.icv_len if self.cipher is not None else 0

    def describe(self) -> dict[str, object]:
        """Everything about the SA except its keys (for ``tcpip6 show ipsec``)."""
        return {
            "spi": f"{self.spi:#010x}",
            "protocol": self.protocol_name,
            "direction": self.direction.value,
            "mode": self.mode.value,
            "src": str(self.src),
            "dst": str(self.dst),
            "policy": self.policy,
            "encryption": self.encryption if self.protocol == wire_ipv6.IPPROTO_ESP else None,
            "integrity": self.integrity,
            "esn": self.esn,
            "state": self.state.name,
            "sequence_number": self.sequence_number,
            "replay_window": self.replay.size,
            "replay_top": self.replay.top,
            "lifetime": {
                "soft_seconds": self.lifetime.soft_seconds,
                "hard_seconds": self.lifetime.hard_seconds,
                "soft_octets": self.lifetime.soft_octets,
                "hard_octets": self.lifetime.hard_octets,
            },
            "counters": self.counters.as_dict(),
        }


class SecurityAssociationDatabase:
    """RFC 4301 §4.4.2, bounded."""

    def __init__(self, limit: int = SAD_MAX_ENTRIES) -> None:
        self._by_key: dict[tuple[int, IPv6Address, int], SecurityAssociation] = {}
        self.limit = limit

    def __len__(self) -> int:
        return len(self._by_key)

    def all(self) -> list[SecurityAssociation]:
        return list(self._by_key.values())

    def add(self, sa: SecurityAssociation) -> None:
        if sa.key in self._by_key:
            raise ValueError(f"SA {sa.protocol_name} spi {sa.spi:#x} dst {sa.dst} exists")
        if len(self._by_key) >= self.limit:
            raise ValueError(f"SAD full ({self.limit} SAs)")
        self._by_key[sa.key] = sa

    def remove(self, sa: SecurityAssociation) -> None:
        if self._by_key.pop(sa.key, None) is not None:
            sa.end()

    def inbound(self, spi: int, dst: IPv6Address, protocol: int) -> SecurityAssociation | None:
        """RFC 4301 §4.1: the SA of an inbound packet, by SPI, destination and protocol."""
        sa = self._by_key.get((spi, dst, protocol))
        if sa is None or sa.direction is not Direction.INBOUND:
            return None
        return sa

    def outbound(self, policy: str, protocol: int) -> SecurityAssociation | None:
        """RFC 4301 §5.1 step 3c: the outbound SA made for SPD entry ``policy`` (manual
        keying: the first one configured that is not DEAD)."""
        for sa in self._by_key.values():
            if (
                sa.policy == policy
                and sa.protocol == protocol
                and sa.direction is Direction.OUTBOUND
                and sa.state is not SaState.DEAD
            ):
                return sa
        return None
