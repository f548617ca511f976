"""RFC 1928 without I/O: the greeting, the request and the replies, byte for byte."""

from __future__ import annotations

from ipaddress import IPv6Address

import pytest

from tcpip6.apps import socks
from tcpip6.apps.socks import Phase, Rep, ServerHandshake

DST = IPv6Address("2001:db8::80")
#: §4: VER 5, CMD CONNECT, RSV, ATYP 4, 16 octets of address, port 80.
CONNECT_V6 = b"\x05\x01\x00\x04" + DST.packed + b"\x00\x50"


def handshake(*pieces: bytes) -> tuple[ServerHandshake, list[socks.Request | None]]:
    hs = ServerHandshake()
    return hs, [hs.receive(p) for p in pieces]


def test_greeting_with_no_auth_is_answered_x00() -> None:
    assert socks.parse_greeting(b"\x05\x02\x00\x02") == ((0, 2), 4)
    assert socks.parse_greeting(b"\x05\x02\x00") is None  # one method still to come
    hs, events = handshake(b"\x05\x01\x00")
    assert events == [None] and hs.take_outgoing() == b"\x05\x00"
    assert hs.phase is Phase.REQUEST


def test_greeting_without_an_acceptable_method_is_answered_xff_and_closed() -> None:
    # §3: only USERNAME/PASSWORD (X'02') and GSSAPI (X'01') offered.
    hs, _ = handshake(b"\x05\x02\x01\x02")
    assert hs.take_outgoing() == b"\x05\xff"
    assert hs.phase is Phase.CLOSED


def test_a_wrong_version_closes_without_a_reply() -> None:
    hs, _ = handshake(b"\x04\x01\x00\x50\x7f\x00\x00\x01\x00")  # a SOCKS4 CONNECT
    assert hs.phase is Phase.CLOSED and hs.take_outgoing() == b""
    with pytest.raises(socks.SocksError):
        socks.parse_request(b"\x04\x01\x00\x04")


def test_connect_to_an_ipv6_address_octet_by_octet() -> None:
    data = b"\x05\x01\x00" + CONNECT_V6 + b"GET /"
    hs = ServerHandshake()
    got = [hs.receive(data[i : i + 1]) for i in range(len(data))]
    requests = [r for r in got if r is not None]
    assert requests == [socks.Request(socks.CMD_CONNECT, socks.ATYP_IPV6, str(DST), 80)]
    assert requests[0].destination() == DST
    assert hs.phase is Phase.PENDING
    assert hs.leftover == b"GET /"  # the client did not wait for the reply
    assert hs.take_outgoing() == b"\x05\x00"


def test_success_reply_carries_the_bound_ipv6_address_and_port() -> None:
    hs, _ = handshake(b"\x05\x01\x00", CONNECT_V6)
    hs.take_outgoing()
    hs.reply(Rep.SUCCEEDED, IPv6Address("2001:db8::2"), 49152)
    assert hs.take_outgoing() == (
        b"\x05\x00\x00\x04" + IPv6Address("2001:db8::2").packed + b"\xc0\x00"
    )
    assert hs.phase is Phase.OPEN


@pytest.mark.parametrize(
    ("error", "rep"),
    [
        (ConnectionRefusedError(111, "refused"), Rep.CONNECTION_REFUSED),
        (TimeoutError(110, "timed out"), Rep.TTL_EXPIRED),
        (OSError(113, "no route to host"), Rep.HOST_UNREACHABLE),
        (OSError(101, "network unreachable"), Rep.NETWORK_UNREACHABLE),
        (OSError(105, "no buffer space"), Rep.GENERAL_FAILURE),
    ],
)
def test_failure_replies(error: OSError, rep: Rep) -> None:
    from tcpip6.apps.socks_relay import reply_for

    assert reply_for(error) is rep
    hs, _ = handshake(b"\x05\x01\x00", CONNECT_V6)
    hs.take_outgoing()
    hs.reply(rep)
    # §6: on failure the server answers, then MUST close (BND: 0.0.0.0 port 0).
    assert hs.take_outgoing() == bytes((5, rep, 0, 1, 0, 0, 0, 0, 0, 0))
    assert hs.phase is Phase.CLOSED


def test_domain_name_that_is_an_ipv6_literal_is_a_destination() -> None:
    for name in (b"2001:db8::80", b"[2001:db8::80]"):
        req = b"\x05\x01\x00\x03" + bytes((len(name),)) + name + b"\x1f\x90"
        hs, events = handshake(b"\x05\x01\x00", req)
        assert events[1] is not None and events[1].destination() == DST
        assert events[1].port == 8080 and hs.phase is Phase.PENDING


@pytest.mark.parametrize(
    ("request_bytes", "rep"),
    [
        # ATYP 3 with a real name: no resolver here.
        (b"\x05\x01\x00\x03\x0bexample.com\x00\x50", Rep.HOST_UNREACHABLE),
        # ATYP 1: IPv4 is not spoken here.
        (b"\x05\x01\x00\x01\xc0\x00\x02\x01\x00\x50", Rep.ADDRESS_TYPE_NOT_SUPPORTED),
        # A name that is an IPv4 literal, likewise.
        (b"\x05\x01\x00\x03\x09192.0.2.1\x00\x50", Rep.ADDRESS_TYPE_NOT_SUPPORTED),
        # BIND (CMD 2).
        (b"\x05\x02\x00\x04" + DST.packed + b"\x00\x50", Rep.COMMAND_NOT_SUPPORTED),
    ],
)
def test_refused_requests(request_bytes: bytes, rep: Rep) -> None:
    hs, events = handshake(b"\x05\x01\x00", request_bytes)
    assert events == [None, None]
    assert hs.take_outgoing() == b"\x05\x00" + bytes((5, rep, 0, 1, 0, 0, 0, 0, 0, 0))
    assert hs.phase is Phase.CLOSED


def test_udp_associate_is_handed_to_the_caller() -> None:
    hs, events = handshake(b"\x05\x01\x00", b"\x05\x03\x00\x01\x00\x00\x00\x00\x00\x00")
    assert events[1] == socks.Request(socks.CMD_UDP_ASSOCIATE, socks.ATYP_IPV4, "0.0.0.0", 0)
    hs.take_outgoing()
    hs.reply(Rep.SUCCEEDED, "127.0.0.1", 40000)
    assert hs.take_outgoing() == b"\x05\x00\x00\x01\x7f\x00\x00\x01\x9c\x40"


def test_unknown_address_type_closes() -> None:
    hs, _ = handshake(b"\x05\x01\x00", b"\x05\x01\x00\x07\x00\x00")
    assert hs.phase is Phase.CLOSED


def test_udp_header_round_trip_and_fragments() -> None:
    wire = socks.build_udp(DST, 7, b"hello")
    assert wire == b"\x00\x00\x00\x04" + DST.packed + b"\x00\x07hello"
    dgram = socks.parse_udp(wire)
    assert (dgram.frag, dgram.atyp, dgram.host, dgram.port, dgram.data) == (
        0,
        socks.ATYP_IPV6,
        str(DST),
        7,
        b"hello",
    )
    assert socks.parse_udp(b"\x00\x00\x01" + wire[3:]).frag == 1
    for bad in (b"\x00\x00", b"\x00\x01\x00\x04", b"\x00\x00\x00\x04\x20\x01"):
        with pytest.raises(socks.SocksError):
            socks.parse_udp(bad)


def test_reply_before_a_request_is_a_bug() -> None:
    with pytest.raises(RuntimeError):
        ServerHandshake().reply(Rep.SUCCEEDED)
