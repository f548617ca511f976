"""TCP (RFC 9293) for one host: ``host.tcp``.

The package, by concern:

- :mod:`~tcpip6.stack.tcp.layer`: :class:`Tcp`, the protocol module the protocol switch
  hands Next Header 6 to: the connection table, listeners, timers, counters, paths;
- :mod:`~tcpip6.stack.tcp.connection`: :class:`Connection`, one TCB and the
  RFC 9293 §3.10 event processing;
- its parts: :mod:`~tcpip6.stack.tcp.sender`, :mod:`~tcpip6.stack.tcp.receiver`,
  :mod:`~tcpip6.stack.tcp.options`, and :mod:`~tcpip6.stack.tcp.tcb` (the RFC's
  variables as the wire sees them);
- :mod:`~tcpip6.stack.tcp.congestion`: congestion control and loss recovery, one policy
  a module;
- :mod:`~tcpip6.stack.tcp.params`, :mod:`~tcpip6.stack.tcp.timers`,
  :mod:`~tcpip6.stack.tcp.seq`, :mod:`~tcpip6.stack.tcp.ranges`,
  :mod:`~tcpip6.stack.tcp.rto`: parameters, timer names, sequence arithmetic, octet
  ranges, the RFC 6298 estimator.

What production TCPs add to the RFC's minimum, each behind a parameter of
:class:`TcpParameters`: the RFC 6298 retransmission timer with Karn's algorithm; RFC 5681
congestion control with NewReno (RFC 6582) or, when both ends permit SACK (RFC 2018),
SACK-based loss recovery (RFC 6675); window scaling, timestamps and PAWS (RFC 7323); MSS
from the path MTU, shrinking on Packet Too Big (RFC 8201), and optional black-hole
detection; Nagle (RFC 896) and both SWS avoidances (RFC 1122 §4.2.3.3-4); delayed ACKs
(RFC 1122 §4.2.3.2); keepalive (RFC 1122 §4.2.3.6); RFC 5961 challenge ACKs; dead gateway
detection (RFC 4861 §6.3.6, as Windows did it).
"""

from __future__ import annotations

from tcpip6.stack.machines.tcp import TcpState
from tcpip6.stack.tcp.connection import Connection
from tcpip6.stack.tcp.layer import Tcp, TcpCounters
from tcpip6.stack.tcp.params import TcpParameters

__all__ = ["Connection", "Tcp", "TcpCounters", "TcpParameters", "TcpState"]
