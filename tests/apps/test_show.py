"""``tcpip6 show`` without a live host: the views of a simulated network's host (dicts and
lines checked against what the test configured), the control socket on a real Unix
socket served by a LiveDriver stepped by the test, and ``tcpip6 host``'s config file."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import IPv6Address, IPv6Network
from pathlib import Path
from typing import Any

import pytest

from tcpip6.api.sockets import Stack
from tcpip6.apps import show
from tcpip6.apps.host import (
    HostConfigError,
    config_from,
    load_config_file,
    parse_serve,
)
from tcpip6.apps.services import Services
from tcpip6.io.control import ControlError, ControlServer, request
from tcpip6.io.runtime import LiveDriver, SimDriver
from tcpip6.io.sim import SimWorld
from tcpip6.stack.host import Host
from tcpip6.stack.interface import Interface
from tests.cli import tcpip6_cli
from tests.stack.conftest import routed_lan

PREFIX = IPv6Network("2001:db8:1::/64")
STATIC = IPv6Network("2001:db8:9::/48")
STATIC_VIA = IPv6Address("fe80::99")


@dataclass
class Net:
    world: SimWorld
    a: Host
    ai: Interface
    ri: Interface
    b_global: IPv6Address
    stack: Stack


@pytest.fixture
def net() -> Net:
    """Router r advertising 2001:db8:1::/64 to hosts a and b; a pings b, has a static
    route and serves echo and discard."""
    world = SimWorld(seed=3)
    _, ri, (a, _), (ai, bi) = routed_lan(world, PREFIX, ("a", "b"))
    b_global = next(x for x in bi.source_candidates() if x in PREFIX)
    a.icmpv6.send_echo_request(b_global, 1, 1, b"x", world.now)
    world.run_for(2.0)
    a.routes.add_static_route(STATIC, ai, STATIC_VIA)
    stack = Stack(a, SimDriver(world))
    Services(stack).start(("echo", "discard"))
    return Net(world, a, ai, ri, b_global, stack)


def view(net: Net, name: str) -> dict[str, Any]:
    data = show.snapshot(net.a, name, net.world.now)
    # Plain values only: JSON carries them unchanged (what the control socket sends).
    assert json.loads(json.dumps(data)) == data
    return data


def test_interfaces(net: Net) -> None:
    (entry,) = view(net, "interfaces")["interfaces"]
    assert entry["name"] == "eth0" and entry["kind"] == "ethernet"
    assert entry["link_address"] == net.ai.link.link_address.hex(":")
    assert entry["mtu"] == 1500 and entry["cur_hop_limit"] == 64
    assert "ff02::1" in entry["groups"]
    lines = show.format_view("interfaces", view(net, "interfaces"))
    assert lines[0] == "1: eth0: <UP> mtu 1500"
    assert lines[1] == f"    link/ethernet {entry['link_address']}"


def test_addresses_have_dad_state_and_lifetimes_left(net: Net) -> None:
    now = net.world.now
    got = {a["address"]: a for a in view(net, "addresses")["addresses"]}
    lla = next(e for e in net.ai.addresses if e.address.is_link_local)
    gua = next(e for e in net.ai.addresses if e.address in PREFIX)
    assert got[str(lla.address)] == {
        "interface": "eth0",
        "address": str(lla.address),
        "prefix_length": 64,
        "scope": "link",
        "state": "PREFERRED",
        "origin": "link-local",
        "valid_lft": None,
        "preferred_lft": None,
    }
    g = got[str(gua.address)]
    assert (g["state"], g["origin"], g["scope"]) == ("PREFERRED", "autoconf", "global")
    # AdvPrefix's defaults, 30 and 7 days, less the seconds since the advertisement.
    assert g["valid_lft"] == int(gua.valid_until - now) and 2592000 - 12 <= g["valid_lft"] < 2592000
    assert g["preferred_lft"] == int(gua.preferred_until - now) and g["preferred_lft"] < 604800
    lines = show.format_view("addresses", view(net, "addresses"))
    assert lines[0] == "eth0:"
    i = lines.index(f"    inet6 {gua.address}/64 scope global autoconf PREFERRED")
    assert (
        lines[i + 1]
        == f"       valid_lft {g['valid_lft']}sec preferred_lft {g['preferred_lft']}sec"
    )
    j = lines.index(f"    inet6 {lla.address}/64 scope link link-local PREFERRED")
    assert lines[j + 1] == "       valid_lft forever preferred_lft forever"


def test_tentative_address_shows_as_tentative(net: Net) -> None:
    net.ai.add_static_address(IPv6Address("2001:db8:1::77"), 64, net.world.now)
    got = {a["address"]: a for a in view(net, "addresses")["addresses"]}
    assert got["2001:db8:1::77"]["state"] == "TENTATIVE"
    assert got["2001:db8:1::77"]["origin"] == "static"


def test_neighbors_as_ip_neigh(net: Net) -> None:
    router_lla = net.ri.link_local_address()
    assert router_lla is not None
    got = {n["neighbor"]: n for n in view(net, "neighbors")["neighbors"]}
    r = got[str(router_lla)]
    nce = net.ai.neighbors.get(router_lla)
    assert nce is not None
    assert r["is_router"] is True and r["state"] == nce.state.name
    assert r["link_address"] == net.ri.link.link_address.hex(":")
    assert got[str(net.b_global)]["is_router"] is False
    lines = show.format_view("neighbors", view(net, "neighbors"))
    mac = net.ri.link.link_address.hex(":")
    assert f"{router_lla} dev eth0 lladdr {mac} router {nce.state.name}" in lines


def test_routes_prefix_list_static_and_default_routers(net: Net) -> None:
    router_lla = net.ri.link_local_address()
    data = view(net, "routes")
    (prefix,) = data["prefixes"]
    assert prefix["prefix"] == str(PREFIX) and prefix["origin"] == "router_advertisement"
    assert 2592000 - 12 <= prefix["expires"] < 2592000
    assert data["static_routes"] == [
        {"prefix": str(STATIC), "interface": "eth0", "next_hop": str(STATIC_VIA)}
    ]
    (router,) = data["default_routers"]
    assert router["router"] == str(router_lla) and router["preference"] == "medium"
    assert 1800 - 12 <= router["expires"] < 1800  # 3 * MaxRtrAdvInterval
    assert show.format_view("routes", data) == [
        f"{PREFIX} dev eth0 proto ra expires {prefix['expires']}sec",
        f"{STATIC} via {STATIC_VIA} dev eth0 proto static",
        f"default via {router_lla} dev eth0 proto ra expires {router['expires']}sec pref medium",
    ]


def test_destinations_are_the_route_cache(net: Net) -> None:
    a_global = next(x for x in net.ai.source_candidates() if x in PREFIX)
    data = view(net, "destinations")
    assert {
        "destination": str(net.b_global),
        "next_hop": str(net.b_global),
        "interface": "eth0",
        "preferred_source": str(a_global),
        "path_mtu": 1500,
        "reason": "on_link_prefix",
    } in data["destinations"]
    assert f"{net.b_global} dev eth0 src {a_global} pmtu 1500 (on link prefix)" in show.format_view(
        "destinations", data
    )


def test_destination_lowered_pmtu_and_router_next_hop(net: Net) -> None:
    far = IPv6Address("2001:db8:5::1")
    rce = net.a.routes.route(far, net.ai, net.world.now)
    assert rce is not None
    rce.path_mtu = 1400
    got = {d["destination"]: d for d in view(net, "destinations")["destinations"]}
    assert got[str(far)]["path_mtu"] == 1400 and got[str(far)]["reason"] == "default_router"
    assert got[str(far)]["next_hop"] == str(net.ri.link_local_address())


def test_counters_like_netstat_s(net: Net) -> None:
    data = view(net, "counters")
    assert data["icmp"]["out_echo_requests"] == 1 and data["icmp"]["in_echo_replies"] == 1
    assert data["nd"]["in_router_advertisements"] >= 1
    assert set(data["udp"]) >= {"in_datagrams", "out_datagrams", "no_ports"}  # every key
    assert data["interfaces"]["eth0"]["link"]["frames_sent"] == net.ai.counters.frames_sent
    lines = show.format_view("counters", data)
    assert lines[0] == "Ip6:"
    i = lines.index("Icmp6:")
    assert "    1 out_echo_requests" in lines[i:]
    assert "Udp6:" not in lines  # nothing counted: not printed
    assert "    0 " not in "\n".join(lines)


def test_sockets_lists_the_services(net: Net) -> None:
    raw = net.stack.socket(socket.AF_INET6, socket.SOCK_RAW, 58)
    data = view(net, "sockets")
    kinds = [(s["protocol"], s["local_address"], s["local_port"]) for s in data["sockets"]]
    assert kinds == [
        ("tcp", "::", 7), ("tcp", "::", 9), ("udp", "::", 7), ("udp", "::", 9), ("raw", "::", 58)
    ]  # fmt: skip
    lines = show.format_view("sockets", data)
    assert lines[0].split() == [
        "Netid", "State", "Recv-Q", "Send-Q", "Local", "Address:Port", "Peer", "Address:Port",
    ]  # fmt: skip
    assert lines[1].split() == ["tcp", "LISTEN", "0", "16", "[::]:7", "*"]
    assert ["udp", "UNCONN", "0", "0", "[::]:7", "*"] in [r.split() for r in lines]
    # "sockets" is the older name of "connections".
    assert view(net, "connections")["connections"] == data["sockets"]
    raw.close()


def test_connections_lists_tcp_like_ss(net: Net) -> None:
    """b listens on port 80, a connects and sends 5 octets b has not read: ss's
    columns, and the TCP counters in the Tcp6 section of counters."""
    world, a = net.world, net.a
    b = world.hosts["b"]
    listener = b.tcp.listen(IPv6Address("::"), 80, 5, world.now)
    conn = a.tcp.connect(net.b_global, 80, world.now)
    world.run_for(1.0)
    conn.send(b"hello", world.now)
    world.run_for(1.0)
    data = view(net, "connections")
    # (a also serves echo and discard: their listeners come first.)
    tcp = [c for c in data["connections"] if c["protocol"] == "tcp" and c["state"] != "LISTEN"]
    assert tcp == [
        {
            "protocol": "tcp",
            "state": "ESTABLISHED",
            "recv_q": 0,
            "send_q": 0,  # acknowledged: nothing left in the send buffer
            "local_address": str(conn.local_address),
            "local_port": conn.local_port,
            "remote_address": str(net.b_global),
            "remote_port": 80,
            "interface": None,
            "queued": 0,
            "received": None,
            "sent": None,
        }
    ]
    lines = show.format_view("connections", data)
    row = next(r.split() for r in lines if "ESTABLISHED" in r)
    assert row == ["tcp", "ESTABLISHED", "0", "0", f"[{conn.local_address}]:{conn.local_port}",
                   f"[{net.b_global}]:80"]  # fmt: skip
    # b's side: the listener with one connection waiting in its accept queue (Recv-Q), its
    # backlog (Send-Q), and the accepted connection holding the 5 octets.
    b_rows = [r.split() for r in show.format_view("connections", show.connections(b, world.now))]
    assert ["tcp", "LISTEN", "1", "5", "[::]:80", "*"] in b_rows
    assert ["tcp", "ESTABLISHED", "5", "0", f"[{net.b_global}]:80",
            f"[{conn.local_address}]:{conn.local_port}"] in b_rows  # fmt: skip
    counters = view(net, "counters")
    assert counters["tcp"]["active_opens"] == 1 and counters["tcp"]["out_octets"] == 5
    lines = show.format_view("counters", counters)
    i = lines.index("Tcp6:")
    assert "    1 active_opens" in lines[i:] and "    5 out_octets" in lines[i:]
    listener.close(world.now)


def test_udp_datagram_counted_and_answered(net: Net) -> None:
    b = net.world.hosts["b"]
    with Stack(b, SimDriver(net.world)).socket() as s:
        a_global = next(x for x in net.ai.source_candidates() if x in PREFIX)
        s.settimeout(2.0)
        s.sendto(b"ping", (str(a_global), 7))
        assert s.recvfrom(100)[0] == b"ping"
    data = view(net, "counters")
    assert data["udp"]["in_datagrams"] == 1 and data["udp"]["out_datagrams"] == 1
    lines = show.format_view("counters", data)
    i = lines.index("Udp6:")
    assert lines[i + 1 : i + 3] == ["    1 in_datagrams", "    1 out_datagrams"]


def test_unknown_view_is_a_value_error(net: Net) -> None:
    with pytest.raises(ValueError, match="unknown view 'bogus'"):
        show.snapshot(net.a, "bogus", 0.0)
    with pytest.raises(ValueError, match="unknown view"):
        show.format_view("bogus", {})


def test_seconds_left() -> None:
    assert show.seconds_left(float("inf"), 5.0) is None
    assert show.seconds_left(100.9, 0.5) == 100
    assert show.seconds_left(1.0, 2.0) == 0


# -- the control socket ----------------------------------------------------------------


@dataclass
class Served:
    driver: LiveDriver
    server: ControlServer
    path: Path

    def step(self, times: int = 5) -> None:
        for _ in range(times):
            self.driver.step(self.driver.now + 0.01)

    def ask(self, raw: bytes, conn: socket.socket | None = None) -> bytes:
        """Send ``raw``, let the driver step until a whole line comes back."""
        s = conn or self.connect()
        s.sendall(raw)
        data = b""
        for _ in range(200):
            self.step(1)
            try:
                data += s.recv(1 << 20)
            except BlockingIOError:
                continue
            if data.endswith(b"\n") or not data:
                break
        if conn is None:
            s.close()
        return data

    def connect(self) -> socket.socket:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(str(self.path))
        s.setblocking(False)
        return s


@pytest.fixture
def served(tmp_path: Path, net: Net) -> Iterator[Served]:
    driver = LiveDriver()
    path = tmp_path / "ctl" / "c.sock"

    def handler(req: dict[str, Any]) -> dict[str, Any]:
        if set(req) != {"show"}:
            raise ValueError("expected {'show': VIEW}")
        return show.snapshot(net.a, str(req["show"]), net.world.now)

    server = ControlServer(path, handler, max_clients=2, max_request=256)
    server.attach(driver)
    yield Served(driver, server, path)
    server.close()
    driver.close()


def test_control_socket_answers_a_view(served: Served, net: Net) -> None:
    assert (served.path.parent.stat().st_mode & 0o777) == 0o700
    answer = json.loads(served.ask(b'{"show": "neighbors"}\n'))
    assert answer == show.snapshot(net.a, "neighbors", net.world.now)


def test_control_socket_two_requests_on_one_connection(served: Served) -> None:
    conn = served.connect()
    first = json.loads(served.ask(b'{"show": "routes"}\n', conn))
    second = json.loads(served.ask(b'{"show": "sockets"}\n', conn))
    assert "prefixes" in first and "sockets" in second
    conn.close()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"not json\n", "not a JSON line"),
        (b"[1, 2]\n", "a request is a JSON object"),
        (b'{"show": "bogus"}\n', "unknown view 'bogus'"),
        (b'{"show": "neighbors", "x": 1}\n', "expected"),
        (b"\xff\xfe\n", "not a JSON line"),
    ],
)
def test_bad_request_gets_a_json_error(served: Served, raw: bytes, message: str) -> None:
    answer = json.loads(served.ask(raw))
    assert set(answer) == {"error"} and message in answer["error"]
    # The server still answers.
    assert "neighbors" in json.loads(served.ask(b'{"show": "neighbors"}\n'))


def test_long_request_is_refused_and_closed(served: Served) -> None:
    conn = served.connect()
    answer = served.ask(b"x" * 300, conn)
    assert json.loads(answer) == {"error": "request longer than 256 octets"}
    served.step()
    assert conn.recv(10) == b""  # closed by the server
    conn.close()
    assert served.server.clients == []


def test_clients_beyond_the_limit_are_told_and_closed(served: Served) -> None:
    kept = [served.connect(), served.connect()]
    served.step()
    assert len(served.server.clients) == 2
    extra = served.connect()
    served.step()
    extra.setblocking(True)
    extra.settimeout(2.0)
    assert json.loads(extra.recv(1000)) == {"error": "busy: 2 clients already"}
    assert served.server.refused == 1
    for s in [*kept, extra]:
        s.close()
    served.step()
    assert served.server.clients == []  # closed ones are dropped


def test_idle_client_is_dropped(served: Served) -> None:
    # Long enough to see the client arrive on a loaded machine; then short, read at each
    # check (control.py compares now - last_active with the server's idle_timeout).
    served.server.idle_timeout = 60.0
    conn = served.connect()
    served.step()
    assert len(served.server.clients) == 1
    served.server.idle_timeout = 0.05
    for _ in range(30):
        served.step(1)
        if not served.server.clients:
            break
    assert served.server.clients == []
    conn.close()


def test_close_removes_the_socket(served: Served) -> None:
    assert served.path.exists()
    served.server.close()
    assert not served.path.exists()
    with pytest.raises(ControlError, match=f"no control socket at {served.path}"):
        request(served.path, {"show": "neighbors"})


def test_stale_socket_file_is_replaced_and_live_one_kept(tmp_path: Path) -> None:
    path = tmp_path / "s.sock"
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))
    stale.close()  # the file stays, nobody listens
    server = ControlServer(path, lambda r: {})
    with pytest.raises(ControlError, match="another host is serving it"):
        ControlServer(path, lambda r: {})
    server.close()
    path.write_text("not a socket")
    with pytest.raises(ControlError, match="exists and is not a socket"):
        ControlServer(path, lambda r: {})


def test_slow_reader_gets_the_answer_a_piece_at_a_time(served: Served, net: Net) -> None:
    # An answer larger than the socket buffer: the server sends what fits, then the
    # rest from its poll, while the client reads slowly.
    big = {"blob": "x" * 3_000_000}
    served.server.handler = lambda r: big
    conn = served.connect()
    conn.sendall(b'{"show": "anything"}\n')
    data = b""
    for _ in range(5000):
        served.step(1)
        try:
            data += conn.recv(65536)
        except BlockingIOError:
            continue
        if data.endswith(b"\n"):
            break
    assert json.loads(data) == big
    conn.close()


def test_request_client_against_a_served_driver(served: Served, net: Net) -> None:
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            served.driver.step(served.driver.now + 0.01)

    thread = threading.Thread(target=run)
    thread.start()
    try:
        answer = request(served.path, {"show": "addresses"})
        assert answer == show.snapshot(net.a, "addresses", net.world.now)
        done = tcpip6_cli("show", "--control", str(served.path), "routes")
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines() == show.format_view(
            "routes", show.snapshot(net.a, "routes", net.world.now)
        )
    finally:
        stop.set()
        thread.join()


def test_show_without_a_host_is_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "none.sock"
    done = tcpip6_cli("show", "--control", str(path), "neighbors")
    assert done.returncode == 1
    assert done.stderr == (f"tcpip6 show: no control socket at {path} (is tcpip6 host running?)\n")


# -- tcpip6 host --config, --serve ---------------------------------------------------------


def test_config_file_and_flags_over_it(tmp_path: Path) -> None:
    conf = tmp_path / "h.toml"
    conf.write_text(
        'links = ["ethernet:eth1"]\n'
        'addresses = ["eth1=2001:db8:1::1/64"]\n'
        "router = true\n"
        'advertise = ["eth1=2001:db8:1::/64"]\n'
        'pcap = "h.pcap"\n'
        "seed = 7\n"
        'serve = "echo,discard"\n'
        'control = "/tmp/h.sock"\n'
    )
    config = config_from({"seed": None, "router": False}, conf)
    assert config.links == ["eth1"] and config.router and config.seed == 7
    assert config.addresses[0][1].ip == IPv6Address("2001:db8:1::1")
    assert config.advertise == [("eth1", PREFIX)]
    assert config.serve == ["echo", "discard"] and config.control_path == Path("/tmp/h.sock")
    assert config.pcap == Path("h.pcap")
    over = config_from({"seed": 9, "serve": ["qotd"], "control": "/tmp/o.sock"}, conf)
    assert over.seed == 9 and over.serve == ["qotd"] and over.control == Path("/tmp/o.sock")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("links = [", "not TOML"),
        ("color = 'blue'", "unknown setting 'color'"),
        ("seed = 'seven'", "seed should be a int"),
        ("router = 1", "router should be true or false"),
        ("links = [1]", "links should be a list of strings"),
    ],
)
def test_bad_config_file_is_one_line(tmp_path: Path, text: str, message: str) -> None:
    conf = tmp_path / "bad.toml"
    conf.write_text(text + "\n")
    with pytest.raises(HostConfigError, match=message) as info:
        load_config_file(conf)
    assert "\n" not in str(info.value) and str(conf) in str(info.value)


def test_missing_config_file_via_the_cli(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    done = tcpip6_cli("host", "--config", str(path))
    assert done.returncode == 1
    assert done.stderr == f"tcpip6 host: --config {path}: No such file or directory\n"


def test_serve_names() -> None:
    assert parse_serve(["echo,discard", "echo", "chargen"]) == ["echo", "discard", "chargen"]
    with pytest.raises(HostConfigError, match="unknown service 'telnet'"):
        parse_serve(["echo,telnet"])
