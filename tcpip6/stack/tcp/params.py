"""What a TCP connection can be configured with: one dataclass, the defaults the RFCs
recommend (and, where the Windows NT/2000 TCP papers name a registry value, that name)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TcpParameters:
    # -- retransmission (RFC 6298) -------------------------------------------------------
    #: RFC 6298 §2.1: "the sender SHOULD set RTO <- 1 second" (Windows used 3 s).
    initial_rto: float = 1.0
    #: RFC 6298 §2.4: "RTO SHOULD be rounded up to 1 second" when below it. Settable per
    #: host (``tcpip6 host --tcp min_rto=0.2``) and per socket (``TCP_MIN_RTO``): Linux
    #: uses 200 ms, Windows 300 ms.
    min_rto: float = 1.0
    #: RFC 6298 §2.5: "A maximum value MAY be placed on RTO provided it is at least 60 s".
    max_rto: float = 60.0
    #: Clock granularity G of RFC 6298 §2.
    clock_granularity: float = 0.001
    #: Windows' TcpMaxDataRetransmissions: timeouts of one segment before giving up
    #: (RFC 1122 §4.2.3.5 R2).
    max_data_retransmissions: int = 5
    #: Windows' TcpMaxConnectRetransmissions: SYN retransmissions before giving up.
    max_connect_retransmissions: int = 3
    # -- TIME-WAIT (RFC 9293 §3.4.2) -----------------------------------------------------
    #: Maximum Segment Lifetime: "arbitrarily defined to be 2 minutes" (RFC 9293 §3.4.2).
    msl: float = 120.0
    # -- options (RFC 7323, RFC 2018) ----------------------------------------------------
    window_scaling: bool = True
    timestamps: bool = True
    sack: bool = True
    # -- buffers -------------------------------------------------------------------------
    send_buffer: int = 128 * 1024
    receive_buffer: int = 64 * 1024
    #: Receive-buffer auto-tuning (Linux's dynamic right-sizing): the buffer grows up to
    #: this bound with what the application reads per round trip, and the window scale
    #: offered is the bound's. 0: off, the buffer stays receive_buffer (SO_RCVBUF sets 0).
    receive_buffer_max: int = 0
    # -- acknowledgments and small segments ----------------------------------------------
    #: RFC 1122 §4.2.3.2: delayed ACKs, "the delay MUST be less than 0.5 seconds".
    delayed_ack: bool = True
    delayed_ack_time: float = 0.2
    #: RFC 896: Nagle's algorithm (TCP_NODELAY turns it off per socket).
    nagle: bool = True
    #: RFC 1122 §4.2.3.4: the override timeout of sender SWS avoidance.
    sws_override: float = 0.2
    # -- congestion control (RFC 5681, RFC 6582, RFC 6675) --------------------------------
    #: The congestion window's algorithm, by name (as Linux's TCP_CONGESTION): "reno",
    #: RFC 5681 §3.1 (the default), or "cubic", RFC 9438. Loss recovery follows the
    #: handshake: RFC 6675 with SACK, else RFC 6582 NewReno (tcpip6.stack.tcp.congestion).
    congestion_control: str = "reno"
    #: RFC 5681 §3.1 (and RFC 3390): IW = min(4*SMSS, max(2*SMSS, 4380)) octets.
    initial_window_segments: int = 0  # 0: the RFC 5681 formula
    dup_thresh: int = 3
    #: RFC 6937 Proportional Rate Reduction (PRR-SSRB, the RFC's recommendation) paces
    #: what SACK-based recovery sends (RFC 6675 would set cwnd = ssthresh at once).
    prr: bool = True
    #: RFC 8985 RACK-TLP: loss marked by time (a later-sent segment delivered, RACK.rtt
    #: plus a reordering window passed), lost retransmissions found, tail loss probes.
    #: Needs SACK. On by default, as in Linux (tcp_recovery=1); off, RFC 6675's DupThresh
    #: rule alone marks losses (and no probe goes before the RFC 6298 timeout).
    rack: bool = True
    # -- keepalive (RFC 1122 §4.2.3.6) ---------------------------------------------------
    keepalive: bool = False
    #: "MUST default to no less than two hours".
    keepalive_idle: float = 7200.0
    keepalive_interval: float = 75.0
    keepalive_probes: int = 9
    # -- paths ----------------------------------------------------------------------------
    #: Windows' EnablePMTUBHDetect: after this many timeouts of full-size segments, send
    #: smaller ones (RFC 4821's idea); off by default.
    pmtu_blackhole_detection: bool = False
    blackhole_timeouts: int = 2
    #: Windows' EnableDeadGWDetect: past half the retransmission limit on a connection
    #: through a default router, suspect the router (RFC 4861 §6.3.6).
    dead_gateway_detection: bool = True
    # -- limits ---------------------------------------------------------------------------
    #: The most connections (all states) the host keeps; SYNs beyond it are dropped.
    max_connections: int = 4096
    #: The most connections in TIME-WAIT; beyond it the oldest is freed early.
    max_time_wait: int = 1024
    #: The largest listen backlog a socket may ask for (Linux's somaxconn).
    max_backlog: int = 128
    #: RFC 4987 §3.6: when a listener's SYN queue is full, answer SYNs with SYN cookies
    #: instead of dropping them (Linux's tcp_syncookies=1).
    syn_cookies: bool = True
    #: Windows' SynAttackProtect (RFC 4987 §3.3, "Reducing SYN-RECEIVED Timer"): past
    #: either half-open threshold below, the host is under attack and the connections its
    #: listeners make answer with fewer SYN,ACK retransmissions, so a flood's half-open
    #: connections leave the SYN queue sooner (cookies still take over when it is full).
    syn_attack_protect: bool = True
    #: Windows' TcpMaxHalfOpen: connections in SYN-RECEIVED (all listeners) at which the
    #: host is under attack (Windows NT Server's default).
    max_half_open: int = 100
    #: Windows' TcpMaxHalfOpenRetried: of those, the ones whose SYN,ACK was retransmitted
    #: at least once at which the host is under attack (Windows NT Server's default).
    max_half_open_retried: int = 80
    #: Windows' TcpMaxConnectResponseRetransmissions under attack: a connection made
    #: while the host is under attack retransmits its SYN,ACK this many times (with
    #: initial_rto 1 s: at 1 s, given up at 3 s) instead of max_connect_retransmissions
    #: (at 1, 3 and 7 s, given up at 15 s). Windows 2000 cuts its default 2 the same way.
    syn_attack_response_retransmissions: int = 1
    #: Orphaned FIN-WAIT-2 (the application closed): freed after this long (Linux's
    #: tcp_fin_timeout), so a peer that never closes cannot hold the connection forever.
    fin_wait_2_timeout: float = 60.0
    #: RFC 9293 §3.8.6.1: zero-window probes back off to at most this interval.
    max_persist: float = 60.0
