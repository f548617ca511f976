"""RFC 6937, Proportional Rate Reduction for TCP, as a reference model.

RFC 6937 §3 gives the algorithm as pseudo-code run on every ACK during fast recovery;
here it is a pure function of the variables the RFC names, in octets:

- ``prr_delivered``: "Total bytes delivered to the receiver since the start of recovery",
  this ACK's DeliveredData already added;
- ``prr_out``: "Total bytes transmitted during recovery";
- ``delivered_data``: "The total number of bytes that the current ACK indicates have been
  delivered to the receiver" (change_in(snd.una) + change_in(SACKd));
- ``pipe``: RFC 6675's estimate of the octets in the network;
- ``ssthresh`` and ``recover_fs`` (RecoverFS, "snd.nxt-snd.una" at the start of recovery).

The result is ``sndcnt``, the octets the sender may send on this ACK (the sender then
sets ``cwnd = pipe + sndcnt``). The model imports nothing of tcpip6 and does no I/O.
"""

from __future__ import annotations

import math


def prr_sndcnt(
    *,
    prr_delivered: int,
    prr_out: int,
    delivered_data: int,
    pipe: int,
    ssthresh: int,
    recover_fs: int,
    mss: int,
    conservative: bool = False,
) -> int:
    """RFC 6937 §3.1 "On every ACK during recovery"; PRR-SSRB (slow start reduction bound,
    the RFC's recommendation) unless ``conservative`` asks for PRR-CRB. Never below 0 (a
    negative count sends nothing)."""
    if pipe > ssthresh:
        # RFC 6937 §3.1: "Proportional Rate Reduction":
        # sndcnt = CEIL(prr_delivered * ssthresh / RecoverFS) - prr_out
        sndcnt = math.ceil(prr_delivered * ssthresh / max(recover_fs, 1)) - prr_out
    else:
        # RFC 6937 §3.1: "Two versions of the Reduction Bound".
        if conservative:
            limit = prr_delivered - prr_out  # PRR-CRB
        else:
            limit = max(prr_delivered - prr_out, delivered_data) + mss  # PRR-SSRB
        # "Attempt to catch up, as permitted by limit": sndcnt = MIN(ssthresh - pipe, limit)
        sndcnt = min(ssthresh - pipe, limit)
    return max(sndcnt, 0)
