"""A reordering NFQUEUE program over raw netlink (no library): run in a namespace whose
nftables rules ``queue num N bypass`` packets, it gives each its verdict, holding one
packet in ``--every`` back until the next one is accepted, so that the two swap places
(the kernel accepts verdicts in any order; ``bypass``: packets pass if it dies).

``python -m bench.nfqueue --queue 3 --every 20``; prints ``ready`` once bound and, at
SIGTERM, a JSON line with the packets seen and those reordered.

The messages (linux/netfilter/nfnetlink_queue.h): NFQNL_MSG_CONFIG with NFQA_CFG_CMD
(bind the queue) and NFQA_CFG_PARAMS (copy only the metadata); NFQNL_MSG_PACKET with
NFQA_PACKET_HDR (the packet id) in; NFQNL_MSG_VERDICT with NFQA_VERDICT_HDR out.
"""

from __future__ import annotations

import argparse
import json
import signal
import socket
import struct
import sys
from collections.abc import Iterator, Sequence
from types import FrameType

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET, NFQNL_MSG_VERDICT, NFQNL_MSG_CONFIG = 0, 1, 2
NFQA_CFG_CMD, NFQA_CFG_PARAMS = 1, 2
NFQNL_CFG_CMD_BIND = 1
NFQNL_COPY_META = 1
NFQA_PACKET_HDR, NFQA_VERDICT_HDR = 1, 2
NF_ACCEPT = 1
NLM_F_REQUEST, NLM_F_ACK = 1, 4
NLMSG_ERROR = 2
_NLMSG = struct.Struct("=IHHII")  # length, type, flags, seq, pid
_NFGEN = struct.Struct("!BBH")  # family, version, queue number (big-endian)
_ATTR = struct.Struct("=HH")


def _align(n: int) -> int:
    return (n + 3) & ~3


def _attr(kind: int, payload: bytes) -> bytes:
    raw = _ATTR.pack(_ATTR.size + len(payload), kind) + payload
    return raw + b"\0" * (_align(len(raw)) - len(raw))


def _message(kind: int, flags: int, queue: int, attrs: bytes, seq: int = 0) -> bytes:
    body = _NFGEN.pack(socket.AF_UNSPEC, 0, queue) + attrs
    msg_type = (NFNL_SUBSYS_QUEUE << 8) | kind
    return _NLMSG.pack(_NLMSG.size + len(body), msg_type, NLM_F_REQUEST | flags, seq, 0) + body


def _messages(data: bytes) -> Iterator[tuple[int, bytes]]:
    off = 0
    while off + _NLMSG.size <= len(data):
        length, kind, _, _, _ = _NLMSG.unpack_from(data, off)
        if length < _NLMSG.size:
            return
        yield kind, data[off + _NLMSG.size : off + length]
        off += _align(length)


def _packet_id(body: bytes) -> int | None:
    off = _NFGEN.size
    while off + _ATTR.size <= len(body):
        length, kind = _ATTR.unpack_from(body, off)
        if length < _ATTR.size:
            return None
        if kind & 0x7FFF == NFQA_PACKET_HDR:
            (packet_id,) = struct.unpack_from("!I", body, off + _ATTR.size)
            return int(packet_id)
        off += _align(length)
    return None


class Reorderer:
    def __init__(self, queue: int, every: int) -> None:
        self.queue, self.every = queue, every
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.sock.bind((0, 0))
        self.seen = self.reordered = 0
        self.held: int | None = None

    def _ack(self, msg: bytes) -> None:
        self.sock.send(msg)
        for kind, body in _messages(self.sock.recv(65536)):
            if kind == NLMSG_ERROR and struct.unpack_from("=i", body)[0] != 0:
                raise OSError(-struct.unpack_from("=i", body)[0], "nfqueue config refused")

    def bind(self) -> None:
        cmd = struct.pack("!BBH", NFQNL_CFG_CMD_BIND, 0, 0)
        self._ack(_message(NFQNL_MSG_CONFIG, NLM_F_ACK, self.queue, _attr(NFQA_CFG_CMD, cmd)))
        params = struct.pack("!IB", 0, NFQNL_COPY_META) + b"\0" * 3
        attrs = _attr(NFQA_CFG_PARAMS, params[:5])
        self._ack(_message(NFQNL_MSG_CONFIG, NLM_F_ACK, self.queue, attrs))

    def verdict(self, packet_id: int) -> None:
        hdr = struct.pack("!II", NF_ACCEPT, packet_id)
        self.sock.send(_message(NFQNL_MSG_VERDICT, 0, self.queue, _attr(NFQA_VERDICT_HDR, hdr)))

    def run(self) -> None:
        while True:
            data = self.sock.recv(65536)
            for kind, body in _messages(data):
                if kind & 0xFF != NFQNL_MSG_PACKET:
                    continue
                packet_id = _packet_id(body)
                if packet_id is None:
                    continue
                self.seen += 1
                if self.held is None and self.seen % self.every == 0:
                    self.held = packet_id  # held: the next packet overtakes it
                    continue
                self.verdict(packet_id)
                if self.held is not None:
                    self.verdict(self.held)
                    self.held = None
                    self.reordered += 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.nfqueue", description=__doc__)
    parser.add_argument("--queue", type=int, default=3)
    parser.add_argument("--every", type=int, default=20, help="one packet in EVERY reordered")
    args = parser.parse_args(argv)
    r = Reorderer(args.queue, args.every)
    r.bind()

    def done(signum: int, frame: FrameType | None) -> None:
        if r.held is not None:
            r.verdict(r.held)
        print(json.dumps({"seen": r.seen, "reordered": r.reordered}), flush=True)
        sys.exit(0)

    signal.signal(signal.SIGTERM, done)
    print("ready", flush=True)
    r.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
