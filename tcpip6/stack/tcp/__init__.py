"""TCP (RFC 9293) for one host: ``host.tcp``.

The package, by concern:

- :mod:`~tcpip6.stack.tcp.layer`: :class:`Tcp`, the protocol module the protocol switch
  hands Next Header 6 to: the connection table, listeners, timers, counters, paths;
- :mod:`~tcpip6.stack.tcp.connection`: :class:`Connection`, one TCB and the
  RFC 9293 §3.10 event processing;
- :mod:`~tcpip6.stack.tcp.params`, :mod:`~tcpip6.stack.tcp.timers`,
  :mod:`~tcpip6.stack.tcp.seq`, :mod:`~tcpip6.stack.tcp.ranges`,
  :mod:`~tcpip6.stack.tcp.rto`: parameters, timer names, sequence arithmetic, octet
  ranges, the RFC 6298 estimator.
"""

from __future__ import annotations

from tcpip6.stack.machines.tcp import TcpState
from tcpip6.stack.tcp.connection import Connection
from tcpip6.stack.tcp.layer import Tcp, TcpCounters
from tcpip6.stack.tcp.params import TcpParameters

__all__ = ["Connection", "Tcp", "TcpCounters", "TcpParameters", "TcpState"]
