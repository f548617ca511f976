"""Congestion control and loss recovery of the TCP sender, one policy per module (see
:mod:`~tcpip6.stack.tcp.congestion.base` for the two interfaces).

A new congestion control is a new module with a :class:`CongestionControl` subclass,
listed in :data:`CONGESTION_CONTROLS`; a new loss recovery, a :class:`LossRecovery`
subclass chosen in :func:`loss_recovery`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tcpip6.stack.tcp.congestion.base import CongestionControl, LossRecovery
from tcpip6.stack.tcp.congestion.cubic import Cubic
from tcpip6.stack.tcp.congestion.newreno import NewReno
from tcpip6.stack.tcp.congestion.rack import RackRecovery
from tcpip6.stack.tcp.congestion.reno import Reno
from tcpip6.stack.tcp.congestion.sack import SackRecovery
from tcpip6.stack.tcp.params import TcpParameters

if TYPE_CHECKING:
    from tcpip6.stack.tcp.sender import Sender

__all__ = [
    "CONGESTION_CONTROLS",
    "CongestionControl",
    "Cubic",
    "LossRecovery",
    "NewReno",
    "RackRecovery",
    "Reno",
    "SackRecovery",
    "congestion_control",
    "loss_recovery",
]

#: The congestion controls by the name ``TcpParameters.congestion_control`` gives.
CONGESTION_CONTROLS: dict[str, type[CongestionControl]] = {Reno.name: Reno, Cubic.name: Cubic}


def congestion_control(params: TcpParameters) -> CongestionControl:
    """The congestion control ``params`` names; ValueError for an unknown name."""
    try:
        cls = CONGESTION_CONTROLS[params.congestion_control]
    except KeyError:
        known = ", ".join(sorted(CONGESTION_CONTROLS))
        raise ValueError(
            f"no congestion control {params.congestion_control!r} (there is {known})"
        ) from None
    return cls(params)


def loss_recovery(cc: CongestionControl, snd: Sender, *, sack: bool) -> LossRecovery:
    """RFC 6675 SACK-based recovery when both ends permitted SACK (RFC 2018 §2), with
    RFC 8985 RACK-TLP loss detection when ``TcpParameters.rack`` (RACK needs SACK); else
    RFC 6582 NewReno."""
    if sack and snd.conn.params.rack:
        return RackRecovery(cc, snd)
    if sack:
        return SackRecovery(cc, snd)
    return NewReno(cc, snd)
