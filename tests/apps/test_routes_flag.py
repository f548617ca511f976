"""``tcpip6 host --route PREFIX=NEXTHOP%IFNAME``: parsing, validation, the config file, and
the route it installs (on a tunnel, with the no-ND neighbor entry for the next hop)."""

from __future__ import annotations

from ipaddress import IPv6Address, IPv6Network
from pathlib import Path

import pytest

from tcpip6.apps.host import (
    HostConfigError,
    StaticRouteSpec,
    add_route,
    build_config,
    config_from,
    parse_route,
)
from tcpip6.stack.machines.nce import NceState
from tcpip6.stack.tunnel import TunnelLink, sixtofour_address
from tests.cli import tcpip6_cli as run
from tests.stack.test_tunnel import (
    ROUTER4,
    V4_A,
    Ipv4Net,
    assert_echo_goes_to_the_router,
    behind_a_6to4_router,
    tunnel_host,
)


def test_parse_route() -> None:
    assert parse_route("2001:db8:9::/48=fe80::1%eth1") == StaticRouteSpec(
        IPv6Network("2001:db8:9::/48"), IPv6Address("fe80::1"), "eth1"
    )
    assert parse_route("default=fe80::1%tun0").prefix == IPv6Network("::/0")
    on_link = parse_route("2001:db8:9::/64=%eth1")
    assert on_link.next_hop is None and str(on_link) == "2001:db8:9::/64 on-link dev eth1"
    assert str(parse_route("::/0=fe80::1%eth1")) == "::/0 via fe80::1 dev eth1"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2001:db8:9::/48", "expected PREFIX=NEXTHOP%IFNAME"),
        ("2001:db8:9::/48=fe80::1", "expected PREFIX=NEXTHOP%IFNAME"),
        ("2001:db8:9::/48=fe80::1%", "expected PREFIX=NEXTHOP%IFNAME"),
        ("=fe80::1%eth1", "expected PREFIX=NEXTHOP%IFNAME"),
        ("2001:db8:9::1/48=fe80::1%eth1", "has host bits set"),
        ("2001:db8:9::/48=fe80::zz%eth1", "fe80::zz"),
        ("ff02::/16=fe80::1%eth1", "unicast destinations"),
        ("2001:db8:9::/48=ff02::1%eth1", "unicast neighbor"),
        ("2001:db8:9::/48=::%eth1", "unicast neighbor"),
    ],
)
def test_bad_routes(text: str, message: str) -> None:
    with pytest.raises(HostConfigError, match=message):
        parse_route(text)


def test_routes_are_checked_against_the_links() -> None:
    with pytest.raises(HostConfigError, match="--route names eth2, which is not a --link"):
        from tcpip6.apps.host import validate

        validate(build_config(["ethernet:eth1"], routes=["default=fe80::1%eth2"]))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--route", "2001:db8::/32"], "--route 2001:db8::/32: expected PREFIX=NEXTHOP%IFNAME"),
        (["--route", "default=fe80::1%b"], "--route names b, which is not a --link"),
        (
            ["--route", "::/0=fe80::1%a", "--route", "::/0=fe80::2%a"],
            "--route ::/0 via fe80::2 dev a: one route per prefix and interface",
        ),
    ],
)
def test_bad_route_flags_are_one_line_errors(args: list[str], message: str) -> None:
    done = run("host", "--link", "ethernet:a", *args)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert message in done.stderr


def test_routes_from_the_config_file_and_the_flags(tmp_path: Path) -> None:
    conf = tmp_path / "h.toml"
    conf.write_text('links = ["ethernet:eth1"]\nroutes = "2001:db8:9::/48=fe80::1%eth1"\n')
    config = config_from({"routes": None}, conf)
    assert config.routes == [parse_route("2001:db8:9::/48=fe80::1%eth1")]
    # The flag overrides the file's setting, as every other flag does.
    config = config_from({"routes": ["default=fe80::2%eth1"]}, conf)
    assert [str(r) for r in config.routes] == ["::/0 via fe80::2 dev eth1"]
    conf.write_text('links = ["ethernet:eth1"]\nroutes = ["2001:db8:9::/48"]\n')
    with pytest.raises(HostConfigError, match=r"for on-link\) \(with --config "):
        config_from({}, conf)
    conf.write_text('links = ["ethernet:eth1"]\nroutes = 7\n')
    with pytest.raises(HostConfigError, match="routes should be a list of strings"):
        config_from({}, conf)


def test_a_route_through_a_6to4_router_reaches_its_ipv4_address() -> None:
    """On a link without ND the next hop becomes a PERMANENT neighbor at the IPv4 address
    the link maps it to (the 6to4 router's embedded V4ADDR), not the relay."""
    net, a, ia, r = behind_a_6to4_router()
    hop = sixtofour_address(ROUTER4)
    add_route(a, parse_route(f"2001:db8:99::/64={hop}%tun0"))
    nce = ia.neighbors.get(hop)
    assert nce is not None and nce.state is NceState.PERMANENT
    assert nce.link_address == ROUTER4.packed
    assert_echo_goes_to_the_router(net, a, r)


def test_an_on_link_route() -> None:
    net = Ipv4Net()
    a, ia = tunnel_host(net, "a", TunnelLink(net.port(V4_A), V4_A))
    add_route(a, parse_route("2001:db8:5::/64=%tun0"))
    assert a.routes.next_hop(IPv6Address("2001:db8:5::7"), None, 0.0) == (
        ia,
        IPv6Address("2001:db8:5::7"),
    )
