"""A witness on the Linux end of the link: every IPv6 frame that arrives on an interface,
written to a pcap until SIGTERM. ``python -m tests.interop.sniff IFNAME FILE`` (in a
network namespace: ``ip netns exec NS ...``). Prints ``sniffing IFNAME`` once it listens.

Only frames arriving from the link are kept (the port ignores what this end sends), and
the kernel's IPv6 may stay on: the sniffer sends nothing.
"""

from __future__ import annotations

import sys
import time

from tcpip6.io.pcap import PcapWriter
from tcpip6.io.rawsock import RawSocketPort
from tcpip6.io.runtime import LiveDriver


def main(ifname: str, path: str) -> int:
    port = RawSocketPort(ifname, require_kernel_ipv6_off=False)
    driver = LiveDriver(sources=[port])
    driver.stop_on_signals()
    with PcapWriter(path) as pcap:
        port.receiver = lambda frame, now: pcap.write(frame, time.time())
        print(f"sniffing {ifname}", flush=True)
        driver.run(pcap.flush)
    port.close()
    driver.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
