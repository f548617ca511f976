"""The packet socket's transmit ring (``PACKET_TX_RING``, tcpip6.io.rawsock) against the
Linux kernel: frames a tcpip6 port sends in batches arrive at the other end of the veth
whole and in order, as a plain packet socket of the standard library reads them there.

The sender writes more frames than the ring has slots without a pause, so frames also
wait in the port's queue for the slots the kernel gives back.
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.interop import netns
from tests.interop.netns import HOST_IF, PEER_IF, LineReader, Topology

FRAMES = 700

#: In the host namespace: a tcpip6 port sends FRAMES IPv6 frames (next header 59, "no
#: next header", RFC 8200 §4.7), each carrying its number, then prints its counters.
SEND = """
import json, struct, sys, time
from tcpip6.io.rawsock import RawSocketPort
port = RawSocketPort(sys.argv[1], tx_ring=True)
dst, n = bytes.fromhex(sys.argv[2]), int(sys.argv[3])
src = bytes(15) + b"\\x01"
group = bytes.fromhex("ff020000000000000000000000000001")
for i in range(n):
    body = i.to_bytes(8, "big")
    ip = struct.pack("!IHBB", 6 << 28, len(body), 59, 1) + src + group
    port.send_frame(dst + port.mac + b"\\x86\\xdd" + ip + body)
end = time.monotonic() + 10
while port.queue and time.monotonic() < end:
    time.sleep(0.001)
    port.flush()
port.flush()
print(json.dumps({"ring": port.ring is not None, **vars(port.counters)}), flush=True)
port.close()
"""

#: In the peer namespace: the numbers of the frames of that shape that arrive, in order.
RECEIVE = """
import json, socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x86DD))
s.setsockopt(socket.SOL_SOCKET, 33, 1 << 23)  # SO_RCVBUFFORCE: room for the whole burst
s.bind((sys.argv[1], 0x86DD))
s.settimeout(3.0)
print("listening", flush=True)
got = []
try:
    while True:
        frame = s.recv(2048)
        if len(frame) == 14 + 40 + 8 and frame[14 + 6] == 59:
            got.append(int.from_bytes(frame[-8:], "big"))
except TimeoutError:
    pass
print(json.dumps(got), flush=True)
"""


def _peer_mac(topo: Topology) -> str:
    text = netns.sh("ip", "-n", topo.peer, "-br", "link", "show", PEER_IF)
    return text.split()[2].replace(":", "")


def test_batched_frames_arrive_whole_and_in_order(topology: Topology) -> None:
    receiver = LineReader(
        topology.start(topology.in_peer(sys.executable, "-u", "-c", RECEIVE, PEER_IF),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    )  # fmt: skip
    receiver.wait_for("^listening$")
    out = netns.sh(
        *topology.in_host(sys.executable, "-c", SEND, HOST_IF, _peer_mac(topology), str(FRAMES)),
        timeout=60,
    )
    counters = json.loads(out)
    got = json.loads(receiver.wait_for(r"^(\[.*\])$", timeout=30).group(1))
    assert counters["ring"], "the kernel refused PACKET_TX_RING"
    assert got == list(range(FRAMES))
    assert counters["frames_sent"] == FRAMES
    assert counters["send_queue_full_drop"] == counters["send_error_drop"] == 0
    # Batches: far fewer system calls than frames.
    assert 0 < counters["tx_ring_flushes"] <= FRAMES // 8
