"""The stack's defaults are the RFCs' constants as the spec models state them, or a
deviation written down here with its reason. A default changed in stack/params.py or
stack/tcp/params.py (DupAddrDetectTransmits 1 -> 2, RetransTimer 1 s -> 2 s, MSL) fails
here, even where no scenario happens to depend on it."""

from __future__ import annotations

from tcpip6.spec import rfc1970_nd as nd_spec
from tcpip6.spec import rfc1971_autoconf as autoconf_spec
from tcpip6.spec import rfc2710_mld as mld_spec
from tcpip6.spec import rfc6298_rto as rto_spec
from tcpip6.spec import rfc8200_ipv6 as ipv6_spec
from tcpip6.spec import rfc9293_tcp as tcp_spec
from tcpip6.stack import fragment, mld, params
from tcpip6.stack.tcp.params import TcpParameters


def test_neighbor_discovery_constants() -> None:
    # RFC 4861 §10 constants, as the ND model states them.
    assert params.MAX_MULTICAST_SOLICIT == nd_spec.MAX_MULTICAST_SOLICIT
    assert params.MAX_UNICAST_SOLICIT == nd_spec.MAX_UNICAST_SOLICIT
    assert params.DELAY_FIRST_PROBE_TIME == nd_spec.DELAY_FIRST_PROBE_TIME
    assert params.REACHABLE_TIME == nd_spec.REACHABLE_TIME
    assert params.RETRANS_TIMER == nd_spec.RETRANS_TIMER
    assert params.MAX_RTR_SOLICITATION_DELAY == nd_spec.MAX_RTR_SOLICITATION_DELAY
    assert params.RTR_SOLICITATION_INTERVAL == nd_spec.RTR_SOLICITATION_INTERVAL
    assert params.MAX_RTR_SOLICITATIONS == nd_spec.MAX_RTR_SOLICITATIONS
    assert autoconf_spec.MAX_RTR_SOLICITATION_DELAY == nd_spec.MAX_RTR_SOLICITATION_DELAY


def test_interface_variables_start_at_the_rfc_defaults() -> None:
    ifp = params.InterfaceParameters()
    nd_vars = nd_spec.Variables()
    assert ifp.base_reachable_time == nd_vars.reachable_time == nd_spec.REACHABLE_TIME
    assert ifp.retrans_timer == nd_vars.retrans_timer == nd_spec.RETRANS_TIMER
    # RFC 4862 §5.1: DupAddrDetectTransmits defaults to 1; RetransTimer as in RFC 4861.
    dad_vars = autoconf_spec.Variables()
    assert ifp.dup_addr_detect_transmits == dad_vars.DupAddrDetectTransmits == 1
    assert ifp.retrans_timer == dad_vars.RetransTimer
    # RFC 2710 §7.10: [Unsolicited Report Interval] 10 s.
    assert ifp.unsolicited_report_interval == mld_spec.UNSOLICITED_REPORT_INTERVAL
    assert mld.UNSOLICITED_REPORT_INTERVAL == mld_spec.UNSOLICITED_REPORT_INTERVAL


def test_reassembly_timeout() -> None:
    # RFC 8200 §4.5: 60 seconds from the first-arriving fragment.
    assert fragment.REASSEMBLY_TIMEOUT == ipv6_spec.REASSEMBLY_TIMEOUT


def test_tcp_defaults() -> None:
    p = TcpParameters()
    # RFC 9293 §3.4.2: MSL two minutes; TIME-WAIT lasts 2 MSL (the scenario test
    # tests/stack/test_tcp_time_wait.py times it on the wire).
    assert p.msl == tcp_spec.MSL
    # RFC 6298 §2.1, RFC 6298 §2.4, RFC 6298 §2.5.
    assert p.initial_rto == rto_spec.INITIAL_RTO
    assert p.min_rto == rto_spec.MIN_RTO
    assert p.max_rto == rto_spec.MAX_RTO


def _give_up_after(retransmissions: int) -> float:
    """Seconds from the first transmission to the timeout that gives up, after
    ``retransmissions`` retransmissions, with RFC 6298's timer: 1 s first (RFC 6298 §2.1),
    doubled at each timeout (RFC 6298 §5.5), at most 60 s (RFC 6298 §2.5)."""
    return sum(min(2.0**k, 60.0) for k in range(retransmissions + 1))


def test_tcp_give_up_limit_r2() -> None:
    # RFC 1122 §4.2.3.5: "The value of R2 SHOULD correspond to at least 100 seconds"; "R2 for a
    # SYN segment MUST be set large enough to provide retransmission of the segment for at least
    # 3 minutes". The model counts R2 in retransmissions: the fewest that reach those times.
    assert _give_up_after(tcp_spec.R2) >= 100.0 > _give_up_after(tcp_spec.R2 - 1)
    assert _give_up_after(tcp_spec.R2_SYN) >= 180.0 > _give_up_after(tcp_spec.R2_SYN - 1)
    assert tcp_spec.Params().r2 == tcp_spec.R2 and tcp_spec.Params().r2_syn == tcp_spec.R2_SYN
    # A deviation, written down: the stack keeps Windows' TcpMaxDataRetransmissions (5) and
    # TcpMaxConnectRetransmissions (3), and so gives up sooner than R2 (63 s of data, 15 s of
    # a SYN at a 1 s RTO). A change of either default is a decision to make here.
    p = TcpParameters()
    assert (p.max_data_retransmissions, p.max_connect_retransmissions) == (5, 3)
    assert p.max_data_retransmissions < tcp_spec.R2
    assert p.max_connect_retransmissions < tcp_spec.R2_SYN
