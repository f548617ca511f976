"""SYN cookies (RFC 4987 §3.6) under a SYN flood on simnet: scapy builds the flood and
reads the SYN,ACKs; the reference model (spec/rfc4987_syn_cookies.py) judges the cookies;
a tcpip6 client connects in the middle of the flood and its data arrives whole."""

from __future__ import annotations

from ipaddress import IPv6Address

from hypothesis import example, given
from hypothesis import strategies as st
from scapy.layers.inet import TCP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether

from tcpip6.api import sockets as so
from tcpip6.api.sockets import Stack
from tcpip6.io.runtime import SimDriver
from tcpip6.spec import rfc4987_syn_cookies as spec
from tcpip6.spec import rfc9293_tcp as tcp_spec
from tcpip6.stack.machines.tcp import TcpState
from tcpip6.stack.tcp.cookies import SynCookies, options_from_tsecr, options_in_tsval
from tests.stack.conftest import A_LL, B_LL, Pair

ATTACKER = IPv6Address("fe80::bad")
NOBODY = bytes.fromhex("02000000bad0")  # no NIC on the segment has it
PORT = 80


def flood(pair: Pair, count: int, *, timestamps: bool = True) -> None:
    """``count`` SYNs from ATTACKER's random ports, as a SYN flood sends them."""
    pair.ib.add_static_neighbor(ATTACKER, NOBODY)
    eth = Ether(src=NOBODY.hex(":"), dst=pair.ib.link.link_address.hex(":"))
    opts = [("MSS", 1440), ("SAckOK", b""), ("WScale", 7)]
    if timestamps:
        opts.append(("Timestamp", (12345, 0)))
    for i in range(count):
        syn = TCP(sport=20000 + i, dport=PORT, flags="S", seq=1000 * i, options=opts)
        frame = eth / IPv6(src=str(ATTACKER), dst=str(B_LL)) / syn
        pair.b.receive(pair.ib, bytes(frame), pair.world.now)


def syn_acks(seen: list[bytes]) -> list[TCP]:
    out = []
    for frame in seen:
        pkt = Ether(frame)
        if TCP in pkt and pkt[TCP].flags == "SA" and pkt[IPv6].dst == str(ATTACKER):
            out.append(pkt[TCP])
    return out


def listen(pair: Pair, backlog: int) -> tuple[Stack, so.StreamSocket]:
    driver = SimDriver(pair.world)
    sb = Stack(pair.b, driver)
    listener = sb.socket(so.AF_INET6, so.SOCK_STREAM)
    listener.bind(("::", PORT))
    listener.listen(backlog)
    listener.settimeout(30.0)
    return Stack(pair.a, driver), listener


def test_a_full_syn_queue_answers_with_cookies_the_model_accepts(pair: Pair) -> None:
    seen: list[bytes] = []
    pair.world.observers.append(lambda iface, frame, now: seen.append(frame))
    listen(pair, backlog=2)
    flood(pair, 20)
    pair.world.run_for(0.01)
    answers = syn_acks(seen)
    c = pair.b.tcp.counters
    assert (c.syn_cookies_sent, c.listen_overflow_drop) == (18, 0)
    listener = pair.b.tcp.listeners[PORT][0]
    assert len(listener.syn_queue) == 2  # the two that came first; the rest: no state
    cookies = [a for a in answers if a.seq >> 27 == spec.counter(pair.world.now) % 32]
    assert len(cookies) >= 18
    for a in cookies[-18:]:
        assert (a.seq >> 24) & 7 == spec.mss_index(1440)  # RFC 4987 §3.6: the MSS bits
        opts = dict(a.options)
        tsval, tsecr = opts["Timestamp"]
        assert tsecr == 12345
        assert spec.options_from_tsecr(tsval) == (7, True)  # the SYN's options ride along
        assert "WScale" in opts and "SAckOK" in opts


def test_a_client_connects_during_the_flood_and_its_data_arrives(pair: Pair) -> None:
    sa, listener = listen(pair, backlog=2)
    flood(pair, 50)
    client = sa.socket(so.AF_INET6, so.SOCK_STREAM)
    client.settimeout(30.0)
    client.connect((str(B_LL), PORT))
    server, (peer, *_) = listener.accept()
    assert IPv6Address(peer.split("%")[0]) == A_LL
    c = pair.b.tcp.counters
    assert c.syn_cookies_accepted == 1
    child = next(conn for conn in pair.b.tcp.connections.values() if conn.remote_address == A_LL)
    assert child.state is TcpState.ESTABLISHED
    # The TCB the model's RFC 4987 §3.6 rule makes from the ACK of the cookie.
    listener_tcb, _ = tcp_spec.open_passive()
    ack = tcp_spec.Segment(
        (child.irs + 1) % 2**32, (child.iss + 1) % 2**32, tcp_spec.ACK, child.snd_wnd
    )
    want = tcp_spec.listen_cookie_ack(listener_tcb, ack, child.iss)
    assert want.state.name == child.state.name
    got = (child.snd_una, child.snd_nxt, child.rcv_nxt, child.irs)
    assert got == (want.snd_una, want.snd_nxt, want.rcv_nxt, want.irs)
    assert spec.check_cookie(child.iss, pair.world.now, lambda t: child.iss & 0xFFFFFF) == 1440
    # What the cookie and the TSecr carried: the options both ends agreed.
    mine = next(conn for conn in pair.a.tcp.connections.values() if conn.remote_port == PORT)
    assert child.opt.sack_ok and mine.opt.sack_ok
    assert child.opt.snd_wscale == mine.opt.rcv_wscale
    assert child.opt.rcv_wscale == mine.opt.snd_wscale
    assert child.opt.ts_ok and mine.opt.ts_ok
    data = bytes(range(256)) * 400
    client.sendall(data)
    got = b""
    while len(got) < len(data):
        got += server.recv(65536)
    assert got == data
    server.sendall(b"and back")
    assert client.recv(100) == b"and back"
    assert pair.b.tcp.counters.paws_drop == 0 and pair.a.tcp.counters.paws_drop == 0


def test_an_ack_with_no_cookie_of_ours_gets_a_reset(pair: Pair) -> None:
    seen: list[bytes] = []
    pair.world.observers.append(lambda iface, frame, now: seen.append(frame))
    listen(pair, backlog=1)
    flood(pair, 3)
    answers = syn_acks(seen)
    forged = TCP(sport=20001, dport=PORT, flags="A", seq=1001, ack=(answers[-1].seq ^ 0x55) + 1)
    eth = Ether(src=NOBODY.hex(":"), dst=pair.ib.link.link_address.hex(":"))
    pair.b.receive(pair.ib, bytes(eth / IPv6(src=str(ATTACKER), dst=str(B_LL)) / forged), 0.02)
    pair.world.run_for(0.01)
    c = pair.b.tcp.counters
    assert (c.syn_cookies_failed, c.syn_cookies_accepted) == (1, 0)
    resets = [Ether(f)[TCP] for f in seen if TCP in Ether(f) and Ether(f)[TCP].flags == "R"]
    assert resets and resets[-1].seq == forged.ack  # RFC 9293 §3.10.7.2: <SEQ=SEG.ACK>


def test_without_timestamps_the_syn_ack_offers_no_option_it_would_forget(pair: Pair) -> None:
    seen: list[bytes] = []
    pair.world.observers.append(lambda iface, frame, now: seen.append(frame))
    listen(pair, backlog=1)
    flood(pair, 3, timestamps=False)
    last = syn_acks(seen)[-1]
    assert [name for name, _ in last.options] == ["MSS"]


ADDRESSES = st.sampled_from([A_LL, B_LL, ATTACKER, IPv6Address("2001:db8::1")])


@given(
    local=ADDRESSES,
    remote=ADDRESSES,
    ports=st.tuples(st.integers(1, 65535), st.integers(1, 65535)),
    mss=st.integers(1, 65535),
    now=st.floats(0, 1e6),
    later=st.floats(0, 300),
    flip=st.integers(0, 31),
)
def test_the_cookie_arithmetic_is_the_models(
    local: IPv6Address,
    remote: IPv6Address,
    ports: tuple[int, int],
    mss: int,
    now: float,
    later: float,
    flip: int,
) -> None:
    """The stack's cookies against RFC 4987 §3.6 as the model writes it, the secret
    function shared (it is the listener's own)."""
    cookies = SynCookies(b"k" * 32)

    def hash24(t: int) -> int:
        return cookies._hash(local, ports[0], remote, ports[1], t)

    made = cookies.make(local, ports[0], remote, ports[1], mss, now)
    assert made == spec.make_cookie(spec.counter(now), mss, hash24)
    for cookie in (made, made ^ (1 << flip)):
        assert cookies.check(cookie, local, ports[0], remote, ports[1], now + later) == (
            spec.check_cookie(cookie, now + later, hash24)
        )
    assert (
        cookies.check(made, local, ports[0], remote, ports[1], now)
        == (spec.MSS_TABLE[spec.mss_index(mss)])
    )


@given(tsval=st.integers(0, 2**32 - 1), ws=st.none() | st.integers(0, 20), sack=st.booleans())
@example(tsval=0, ws=14, sack=True)  # the largest shift
@example(tsval=0, ws=15, sack=False)  # beyond it: 14 (and not "no option")
def test_the_options_in_the_timestamp_are_the_models(
    tsval: int, ws: int | None, sack: bool
) -> None:
    ours = options_in_tsval(tsval, ws, sack)
    assert ours == spec.options_in_tsval(tsval, ws, sack)
    # RFC 7323 §2.3: a shift above 14 is used as 14.
    kept = None if ws is None else min(ws, 14)
    assert options_from_tsecr(ours) == spec.options_from_tsecr(ours) == (kept, sack)
