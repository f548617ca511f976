"""``tcpip6 host --tcp KEY=VALUE`` (and ``tcp = ["KEY=VALUE", ...]`` in its TOML file): the
TCP parameters a live host runs with, beyond the RFCs' defaults (TcpParameters)::

    --tcp min_rto=0.2          RFC 6298 §2.4's minimum RTO, in seconds (default 1)
    --tcp congestion=cubic     the congestion control by name (reno, the default, or cubic)
    --tcp prr=off              RFC 6937 Proportional Rate Reduction in recovery (default on)
    --tcp rack=off             RFC 8985 RACK-TLP loss detection with SACK (default on;
                               off: RFC 6675's DupThresh rule alone)

Each key is checked here, so a bad one is a one-line error before the host starts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from tcpip6.stack.tcp import TcpParameters
from tcpip6.stack.tcp.congestion import CONGESTION_CONTROLS

#: The smallest and largest minimum RTO accepted, seconds (RFC 6298 §2.5: RTO's maximum
#: is at least 60 s).
MIN_RTO_RANGE = (0.001, 60.0)


def _min_rto(text: str) -> tuple[str, Any]:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"min_rto={text}: give seconds, e.g. min_rto=0.2") from None
    if not MIN_RTO_RANGE[0] <= value <= MIN_RTO_RANGE[1]:
        raise ValueError(f"min_rto={text}: between {MIN_RTO_RANGE[0]} and {MIN_RTO_RANGE[1]} s")
    return "min_rto", value


def _congestion(text: str) -> tuple[str, Any]:
    if text not in CONGESTION_CONTROLS:
        known = ", ".join(sorted(CONGESTION_CONTROLS))
        raise ValueError(f"congestion={text}: unknown (known: {known})")
    return "congestion_control", text


def _switch(field: str) -> Callable[[str], tuple[str, Any]]:
    def parse(text: str) -> tuple[str, Any]:
        if text not in ("on", "off"):
            raise ValueError(f"{field}={text}: on or off")
        return field, text == "on"

    return parse


#: Each key: the TcpParameters field it sets and the value, from the text.
KEYS: dict[str, Callable[[str], tuple[str, Any]]] = {
    "min_rto": _min_rto,
    "congestion": _congestion,
    "prr": _switch("prr"),
    "rack": _switch("rack"),
}


def parse_tcp(texts: Sequence[str]) -> dict[str, Any]:
    """``["min_rto=0.2", ...]`` -> ``{"min_rto": 0.2, ...}``, TcpParameters field names;
    ValueError (one line) for a bad one."""
    settings: dict[str, Any] = {}
    for text in texts:
        key, sep, value = text.partition("=")
        parse = KEYS.get(key.strip())
        if not sep or parse is None:
            raise ValueError(f"--tcp {text}: expected KEY=VALUE, KEY one of {', '.join(KEYS)}")
        field, parsed = parse(value.strip())
        settings[field] = parsed
    return settings


def apply_tcp(params: TcpParameters, settings: dict[str, Any]) -> None:
    """Set what :func:`parse_tcp` returned on a host's parameters."""
    for field, value in settings.items():
        setattr(params, field, value)
