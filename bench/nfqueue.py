"""A reordering and duplicating NFQUEUE program over raw netlink (no library): run in a
namespace whose rules queue packets to queue N (with bypass), it gives each its verdict,
holding one packet in ``--every`` back until the next one is accepted, so that the two
swap places, or for at most ``HOLD`` seconds when no next one comes (the kernel accepts
verdicts in any order; bypass: packets pass if it dies).
With ``--duplicate-every N --ifname DEV --dst-mac MAC``, one locally sent packet in N
(the output hook's) is also sent a second time, as a copy in an Ethernet frame on DEV to
MAC through a packet socket (which netfilter does not see again).

``python -m bench.nfqueue --queue 3 --every 20``; prints ``ready`` once bound and, at
SIGTERM, a JSON line with the packets seen, those reordered and those duplicated.

The messages (linux/netfilter/nfnetlink_queue.h): NFQNL_MSG_CONFIG with NFQA_CFG_CMD
(bind the queue) and NFQA_CFG_PARAMS (copy only the metadata, or the whole packet when
duplicating); NFQNL_MSG_PACKET with NFQA_PACKET_HDR (the packet id and the hook) and
NFQA_PAYLOAD in; NFQNL_MSG_VERDICT with NFQA_VERDICT_HDR out.
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
NFQNL_COPY_META, NFQNL_COPY_PACKET = 1, 2
NFQA_PACKET_HDR, NFQA_VERDICT_HDR, NFQA_PAYLOAD = 1, 2, 10
NF_INET_LOCAL_OUT = 3
#: The longest a packet is held back waiting to be overtaken (then it goes out in order).
HOLD = 0.05
ETH_P_IPV6 = 0x86DD
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


def _packet(body: bytes) -> tuple[int, int, bytes] | None:
    """The packet id, the hook and the payload (empty unless copied) of a packet message."""
    off = _NFGEN.size
    header: tuple[int, int] | None = None
    payload = b""
    while off + _ATTR.size <= len(body):
        length, kind = _ATTR.unpack_from(body, off)
        if length < _ATTR.size:
            return None
        if kind & 0x7FFF == NFQA_PACKET_HDR:
            # struct nfqnl_msg_packet_hdr: packet id (32 bits), hw_protocol (16), hook (8).
            packet_id, _, hook = struct.unpack_from("!IHB", body, off + _ATTR.size)
            header = (int(packet_id), int(hook))
        elif kind & 0x7FFF == NFQA_PAYLOAD:
            payload = body[off + _ATTR.size : off + length]
        off += _align(length)
    return None if header is None else (*header, payload)


class Reorderer:
    def __init__(
        self,
        queue: int,
        every: int,
        duplicate_every: int = 0,
        ifname: str | None = None,
        dst_mac: bytes = b"",
    ) -> None:
        self.queue, self.every, self.duplicate_every = queue, every, duplicate_every
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.sock.bind((0, 0))
        self.seen = self.reordered = self.duplicated = self.sent_out = self.released = 0
        self.held: int | None = None
        self.link: socket.socket | None = None
        self.ether = b""
        if duplicate_every:
            if ifname is None or len(dst_mac) != 6:
                raise ValueError("--duplicate-every needs --ifname and --dst-mac")
            with open(f"/sys/class/net/{ifname}/address") as f:
                src_mac = bytes.fromhex(f.read().strip().replace(":", ""))
            self.ether = dst_mac + src_mac + struct.pack("!H", ETH_P_IPV6)
            self.link = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
            self.link.bind((ifname, 0))

    def _ack(self, msg: bytes) -> None:
        self.sock.send(msg)
        for kind, body in _messages(self.sock.recv(65536)):
            if kind == NLMSG_ERROR and struct.unpack_from("=i", body)[0] != 0:
                raise OSError(-struct.unpack_from("=i", body)[0], "nfqueue config refused")

    def bind(self) -> None:
        cmd = struct.pack("!BBH", NFQNL_CFG_CMD_BIND, 0, 0)
        self._ack(_message(NFQNL_MSG_CONFIG, NLM_F_ACK, self.queue, _attr(NFQA_CFG_CMD, cmd)))
        # struct nfqnl_msg_config_params: copy_range (32 bits), copy_mode (8).
        if self.duplicate_every:
            params = struct.pack("!IB", 0xFFFF, NFQNL_COPY_PACKET)
        else:
            params = struct.pack("!IB", 0, NFQNL_COPY_META)
        attrs = _attr(NFQA_CFG_PARAMS, params)
        self._ack(_message(NFQNL_MSG_CONFIG, NLM_F_ACK, self.queue, attrs))

    def verdict(self, packet_id: int) -> None:
        hdr = struct.pack("!II", NF_ACCEPT, packet_id)
        self.sock.send(_message(NFQNL_MSG_VERDICT, 0, self.queue, _attr(NFQA_VERDICT_HDR, hdr)))

    def duplicate(self, payload: bytes) -> None:
        """A copy of an outgoing packet onto the link (the original keeps its verdict)."""
        assert self.link is not None
        try:
            self.link.send(self.ether + payload)
            self.duplicated += 1
        except OSError:
            pass

    def run(self) -> None:
        # A held packet waits at most HOLD seconds for one to overtake it: Linux sends
        # nothing more on a connection whose only segment in flight is still in a host
        # queue (it does not retransmit an skb that has not left: skb_still_in_host_queue),
        # so a packet held until the next one could wait forever.
        self.sock.settimeout(HOLD)
        while True:
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                if self.held is not None:
                    self.verdict(self.held)
                    self.held = None
                    self.released += 1
                continue
            for kind, body in _messages(data):
                if kind & 0xFF != NFQNL_MSG_PACKET:
                    continue
                packet = _packet(body)
                if packet is None:
                    continue
                packet_id, hook, payload = packet
                self.seen += 1
                if hook == NF_INET_LOCAL_OUT:
                    self.sent_out += 1
                    if self.duplicate_every and self.sent_out % self.duplicate_every == 0:
                        self.duplicate(payload)
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
    parser.add_argument(
        "--duplicate-every", type=int, default=0, help="one sent packet in N duplicated (0: none)"
    )
    parser.add_argument("--ifname", help="the link the duplicates go out on")
    parser.add_argument("--dst-mac", default="", help="their Ethernet destination")
    args = parser.parse_args(argv)
    if args.every < 1 or args.duplicate_every < 0:
        parser.error("--every must be at least 1, --duplicate-every at least 0")
    try:
        dst_mac = bytes.fromhex(args.dst_mac.replace(":", ""))
        r = Reorderer(args.queue, args.every, args.duplicate_every, args.ifname, dst_mac)
    except (ValueError, OSError) as exc:
        parser.error(str(exc))
    r.bind()

    def done(signum: int, frame: FrameType | None) -> None:
        if r.held is not None:
            r.verdict(r.held)
        counts = {"seen": r.seen, "reordered": r.reordered, "duplicated": r.duplicated}
        counts["released_unovertaken"] = r.released
        print(json.dumps(counts), flush=True)
        sys.exit(0)

    signal.signal(signal.SIGTERM, done)
    print("ready", flush=True)
    r.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
