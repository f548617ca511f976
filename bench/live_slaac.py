"""Autoconfiguration start-up on a veth, tcpip6 beside the Linux kernel (``make bench-live``;
the runner is :mod:`bench.live`; alone: ``python -m bench.live --only slaac``).

The topologies of :mod:`bench.live_tcp` (radvd on the Linux peer, RA every 3–4 s, prefix
``2001:db8:24:1::/64``), without the transfers. Each repetition starts the host side
afresh and times start → link-local address usable and start → SLAAC address usable:

- tcpip6 as ``tcpip6 host`` runs by default, with Optimistic DAD (RFC 4429): an address
  is usable when it is optimistic; the process start (Python's) is included;
- tcpip6 with ``--no-optimistic-dad``: classic DAD (RFC 4862 §5.4), usable when preferred;
- the reference, both rows: the Linux kernel of the host namespace, its link set down and
  up, with its defaults (no Optimistic DAD), usable when no longer tentative.
"""

from __future__ import annotations

from bench.live_tcp import Series, Side, alternating

ROWS = (
    ("ll", "start → link-local usable, Optimistic DAD", "s"),
    ("slaac", "start → SLAAC address usable, Optimistic DAD (radvd)", "s"),
    ("ll_classic", "start → link-local usable, classic DAD", "s"),
    ("slaac_classic", "start → SLAAC address usable, classic DAD (radvd)", "s"),
)
#: The two starts of a repetition: their rows, and tcpip6's arguments (Linux: none).
RUNS = (("ll", "slaac", ()), ("ll_classic", "slaac_classic", ("--no-optimistic-dad",)))


def _repetition(side: Side, series: dict[str, Series]) -> None:
    for ll_key, slaac_key, args in RUNS:
        side.host_args = args if side.kind == "tcpip6" else ()
        t_ll = t_slaac = None
        try:
            t_ll, t_slaac = side.start()
        except Exception as exc:  # one failed start is a gap, said in the row
            series[ll_key].errors.append(f"{side.kind}: {type(exc).__name__}: {exc}"[:300])
        series[ll_key].add(side.kind, t_ll)
        series[slaac_key].add(side.kind, t_slaac)
    side.stop()


def rows(reps: int) -> list[dict[str, object]]:
    series = {key: Series(name, unit) for key, name, unit in ROWS}
    for _, side in alternating(reps, "slaac", "network namespaces, AF_PACKET"):
        _repetition(side, series)
    return [series[key].row() for key, _, _ in ROWS]
