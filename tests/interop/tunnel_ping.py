"""A tcpip6 host that pings once it is up: ``python -m tests.interop.tunnel_ping TARGET
--link ... [--control PATH] [--count N] [--settle S]``.

It builds the same host ``tcpip6 host`` runs (:class:`~tcpip6.apps.host.LiveHost`), so its
links are the real thing, lets it run ``--settle`` seconds (DAD, the first ND), then runs
tcpip6's own ping6 on it and exits with ping's status. Its lines go to stdout, the host's
first ("link tun0 up: ..."), then ping's; with ``--neighbors``, a last line
``neighbors {JSON}``: its neighbor cache as ``tcpip6 show neighbors --json`` prints it.
"""

from __future__ import annotations

import argparse
import json
import sys

from tcpip6.apps import show
from tcpip6.apps.host import LiveHost, config_from
from tcpip6.apps.ping6 import PingOptions, ping6


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("target")
    p.add_argument("--link", action="append", required=True)
    p.add_argument("--address", action="append")
    p.add_argument("--route", action="append")
    p.add_argument("--control")
    p.add_argument("--pcap")
    p.add_argument("--count", type=int, default=3)
    p.add_argument("--size", type=int, default=56)
    p.add_argument("--settle", type=float, default=0.0)
    p.add_argument("--neighbors", action="store_true", help="print the neighbor cache (JSON)")
    args = p.parse_args()
    flags = {
        "links": args.link,
        "addresses": args.address,
        "routes": args.route,
        "control": args.control,
        "pcap": args.pcap,
    }
    live = LiveHost(config_from(flags), sys.stdout)
    try:
        live.start()
        if args.settle:
            live.driver.wait(lambda: False, args.settle)
        live.print_events()
        opts = PingOptions(count=args.count, interval=0.2, size=args.size, timeout=2.0)
        status = ping6(live.stack, args.target, sys.stdout, opts)
        live.print_events()
        if args.neighbors:
            view = show.snapshot(live.host, "neighbors", live.driver.now)
            print(f"neighbors {json.dumps(view)}")
        return status
    finally:
        live.close()


if __name__ == "__main__":
    sys.exit(main())
