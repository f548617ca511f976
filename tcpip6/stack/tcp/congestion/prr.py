"""RFC 6937 Proportional Rate Reduction: how many octets fast recovery may send on one
ACK (``sndcnt``), from what has been delivered and sent since recovery began. The
sender sets ``cwnd = pipe + sndcnt`` (tcpip6.stack.tcp.congestion.sack)."""

from __future__ import annotations


def prr_sndcnt(
    *,
    prr_delivered: int,
    prr_out: int,
    delivered_data: int,
    pipe: int,
    ssthresh: int,
    recover_fs: int,
    mss: int,
) -> int:
    """RFC 6937 §3, PRR-SSRB (the slow start reduction bound the RFC recommends)."""
    if pipe > ssthresh:
        # RFC 6937 §3: proportional part: CEIL(prr_delivered * ssthresh / RecoverFS) - prr_out
        # (integer octets: the ceiling of a quotient without floats).
        sndcnt = -(-(prr_delivered * ssthresh) // max(recover_fs, 1)) - prr_out
    else:
        # RFC 6937 §3 PRR-SSRB: limit = MAX(prr_delivered - prr_out, DeliveredData) + MSS;
        # sndcnt = MIN(ssthresh - pipe, limit).
        limit = max(prr_delivered - prr_out, delivered_data) + mss
        sndcnt = min(ssthresh - pipe, limit)
    return sndcnt if sndcnt > 0 else 0
