"""The translator options of ``tcpip6 host`` and ``tcpip6 show translations``, without root:
bad values are one line; the config file's keys give the same config as the flags; the
translator that :func:`translate_config.attach` builds on a simulated router, with a
stand-in for the TUN device, translates a ping (the IPv4 packets checked with scapy), keeps
a NAT64 session that the ``translations`` view lists and that expires, and counts what it
drops."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from pathlib import Path

import pytest
from scapy.layers.inet import ICMP, IP

from tcpip6.apps import show, translate_config
from tcpip6.apps.host import HostConfigError, config_from
from tcpip6.io.sim import SimWorld
from tcpip6.stack.translate.nat64 import Nat64
from tcpip6.stack.translate.rfc6052 import Rfc6052Prefix
from tcpip6.stack.translate.siit import Siit

LAN = IPv6Network("2001:db8:1::/64")
PREFIX = "2001:db8:64::/96"
PEER4 = IPv4Address("198.51.100.7")


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"translate": "nat46:2001:db8:64::/96"}, "expected MODE:PREFIX, MODE one of siit, nat64"),
        ({"translate": "siit:2001:db8:64::/95", "tun": "t"}, "RFC 6052 §2.2: prefix length 95"),
        ({"translate": f"nat64:{PREFIX}"}, "needs --tun NAME"),
        ({"translate": f"nat64:{PREFIX}", "tun": "t"}, "needs --pool4 A.B.C.D/N"),
        (
            {
                "translate": f"nat64:{PREFIX}",
                "tun": "a-name-too-long-for-linux",
                "pool4": ["192.0.2.0/28"],
            },
            "--tun a-name-too-long-for-linux",
        ),
        ({"translate": f"nat64:{PREFIX}", "tun": "t", "pool4": ["192.0.2.300/28"]}, "--pool4"),
        (
            {"translate": f"nat64:{PREFIX}", "tun": "t", "pool4": ["192.0.2.1/28"]},
            "has host bits set",
        ),
        (
            {"translate": f"siit:{PREFIX}", "tun": "t", "pool4": ["192.0.2.0/28"]},
            "needs --translator-ipv4",
        ),
        (
            {"translate": f"siit:{PREFIX}", "tun": "t", "eam": ["192.0.2.16/32=2001:db8::/127"]},
            "RFC 7757 §3.2",
        ),
        (
            {
                "translate": f"nat64:{PREFIX}",
                "tun": "t",
                "pool4": ["192.0.2.0/28"],
                "eam": ["192.0.2.16/32=2001:db8::1/128"],
            },
            "--eam is for siit",
        ),
        (
            {
                "translate": f"nat64:{PREFIX}",
                "tun": "t",
                "pool4": ["192.0.2.0/28"],
                "nat64_lifetimes": "udp=-1",
            },
            "udp: a positive number",
        ),
        (
            {
                "translate": f"nat64:{PREFIX}",
                "tun": "t",
                "pool4": ["192.0.2.0/28"],
                "nat64_lifetimes": "tcp=5",
            },
            "KEY one of udp, icmp",
        ),
        ({"tun": "t"}, "--tun needs --translate"),
        ({"pool4": ["192.0.2.0/28"]}, "--pool4 needs --translate"),
    ],
)
def test_bad_translator_options_are_one_line(flags: dict[str, object], message: str) -> None:
    with pytest.raises(HostConfigError) as info:
        config_from({"links": ["ethernet:a"], **flags})
    assert message in str(info.value) and "\n" not in str(info.value)


def test_bad_translate_on_the_command_line_exits_1_with_one_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tcpip6", "host", "--link", "ethernet:a",
         "--translate", f"nat64:{PREFIX}", "--tun", "t"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr == (
        f"tcpip6 host: --translate nat64:{PREFIX} needs --pool4 A.B.C.D/N: the NAT64's IPv4 "
        "addresses\n"
    )


def test_config_file_keys_and_flags_over_them(tmp_path: Path) -> None:
    conf = tmp_path / "x.toml"
    conf.write_text(
        'links = ["ethernet:a"]\n'
        f'translate = "siit:{PREFIX}"\n'
        'tun = "siit"\n'
        'eam = ["192.0.2.16/32=2001:db8:1::10/128"]\n'
        'translator_ipv4 = "192.0.2.1"\n'
    )
    config = config_from({}, conf)
    x = config.translate
    assert x is not None and config.router  # a translator forwards: the host is a router
    assert (x.mode, x.prefix.prefix, x.tun, x.ipv4_address) == (
        "siit", IPv6Network(PREFIX), "siit", IPv4Address("192.0.2.1"),
    )  # fmt: skip
    assert x.pool4 == (IPv4Network("192.0.2.16/32"),)  # the EAM's IPv4 side by default
    conf.write_text(
        'links = ["ethernet:a"]\n'
        f'translate = "nat64:{PREFIX}"\n'
        'tun = "nat64"\n'
        'pool4 = "192.0.2.0/28"\n'
        'nat64_lifetimes = "udp=10,tcp-est=600"\n'
    )
    x = config_from({"tun": "other"}, conf).translate
    assert x is not None
    assert (x.mode, x.tun, x.pool4) == ("nat64", "other", (IPv4Network("192.0.2.0/28"),))
    # RFC 6146: the NAT64's own address is its first pool address unless told
    assert x.ipv4_address == IPv4Address("192.0.2.1")
    assert x.lifetimes == {"udp_lifetime": 10.0, "tcp_est": 600.0}
    conf.write_text('links = ["ethernet:a"]\npool4 = 7\n')
    with pytest.raises(HostConfigError, match="pool4 should be a list of strings"):
        config_from({}, conf)


@dataclass
class FakeTun:
    """What attach() needs of a TunPort: a name, an MTU, send, and a receiver slot."""

    name: str = "xlat"
    mtu: int = 1500
    sent: list[bytes] = field(default_factory=list)
    receiver: object = None

    def send(self, packet: bytes, now: float = 0.0) -> None:
        self.sent.append(packet)


def _network(mode: str) -> tuple[SimWorld, object, object, FakeTun, IPv6Address]:
    world = SimWorld(seed=5)
    router = world.router("r")
    world.connect_router(router, "lan", LAN)
    a = world.host("a")
    ai = world.connect(a, "lan")
    for h in (router.host, a):
        h.start(world.now)
    world.run_for(10.0)
    a_addr = next(x for x in ai.source_candidates() if x in LAN)
    if mode == "nat64":
        flags = {"translate": f"nat64:{PREFIX}", "tun": "xlat", "pool4": ["192.0.2.0/28"],
                 "nat64_lifetimes": "icmp=30"}  # fmt: skip
    else:
        flags = {"translate": f"siit:{PREFIX}", "tun": "xlat", "translator_ipv4": "192.0.2.1",
                 "eam": [f"192.0.2.16/32={a_addr}/128"]}  # fmt: skip
    config = config_from({"links": ["ethernet:lan"], **flags}).translate
    assert config is not None
    tun = FakeTun()
    translator = translate_config.attach(router.host, config, tun)  # type: ignore[arg-type]
    return world, a, translator, tun, a_addr


@pytest.mark.parametrize("mode", ["nat64", "siit"])
def test_attached_translator_pings_and_shows(mode: str) -> None:
    world, a, translator, tun, a_addr = _network(mode)
    peer6 = Rfc6052Prefix(IPv6Network(PREFIX)).embed(PEER4)
    assert peer6 is not None
    a.icmpv6.send_echo_request(peer6, 77, 1, b"through the tun", world.now)  # type: ignore[attr-defined]
    world.run_for(0.5)
    (out,) = [IP(p) for p in tun.sent]
    src4 = "192.0.2.1" if mode == "nat64" else "192.0.2.16"
    # RFC 7915 §5.1, RFC 7915 §5.2: hop limit 64 -> TTL 63, ICMPv6 Echo Request -> ICMPv4 type 8
    assert (out.src, out.dst, out.ttl, out[ICMP].type) == (src4, str(PEER4), 63, 8)
    reply = IP(src=str(PEER4), dst=src4, ttl=50) / ICMP(
        type=0, id=out[ICMP].id, seq=out[ICMP].seq
    ) / bytes(out[ICMP].payload)  # fmt: skip
    tun.receiver(bytes(reply), world.now)  # type: ignore[misc]
    world.run_for(0.5)
    (echo,) = a.icmpv6.echo_replies  # type: ignore[attr-defined]
    # one hop for the translator and router together (RFC 7915 §4.1), not two
    assert (echo.src, echo.identifier, echo.data, echo.hop_limit) == (
        peer6, 77, b"through the tun", 49,
    )  # fmt: skip
    # ... and no Redirect check for it (RFC 4861 §8.2: it came from no neighbor on the link),
    # which looked up a route to its source, the IPv4 host's address, for every packet
    assert world.hosts["r"].routes.counters.no_route == 0  # type: ignore[attr-defined]
    # an IPv4 packet for an address outside pool4 is counted, not translated
    stray = IP(src=str(PEER4), dst="203.0.113.9") / ICMP(type=0)
    tun.receiver(bytes(stray), world.now)  # type: ignore[misc]
    assert translator.counters.v4_not_pool_drop == 1  # type: ignore[attr-defined]

    data = show.snapshot(world.hosts["r"], "translations", world.now)  # type: ignore[attr-defined]
    assert json.loads(json.dumps(data)) == data
    (t,) = data["translators"]
    assert (t["mode"], t["prefix"], t["ipv4_side"], t["mtu4"], t["mtu6"]) == (
        mode, PREFIX, "xlat", 1500, 1500,
    )  # fmt: skip
    assert t["counters"]["v6_translated"] == 1 and t["counters"]["v4_translated"] == 1
    assert t["counters"]["v4_not_pool_drop"] == 1
    lines = show.format_view("translations", data)
    if mode == "siit":
        assert isinstance(translator.engine, Siit)  # type: ignore[attr-defined]
        assert t["sessions"] == [] and t["eam"] == [{"ipv4": "192.0.2.16/32",
                                                     "ipv6": f"{a_addr}/128"}]  # fmt: skip
        assert lines[1] == f"    eam 192.0.2.16/32 {a_addr}/128"
        return
    assert isinstance(translator.engine, Nat64)  # type: ignore[attr-defined]
    (s,) = t["sessions"]
    assert (s["protocol"], s["x_address"], s["x_port"], s["y_address"]) == (
        "icmp", str(a_addr), 77, str(peer6),
    )  # fmt: skip
    assert (s["t_address"], s["z_address"], s["state"], s["expires"]) == (
        "192.0.2.1", str(PEER4), None, 29,
    )  # fmt: skip
    assert lines[0] == (
        f"nat64 prefix {PREFIX} pool4 192.0.2.0/28 dev xlat mtu4 1500 mtu6 1500 "
        "src4 192.0.2.1 src6 2001:db8:64::c000:201"
    )
    assert lines[1:5] == [
        "bib (1 entries):",
        f"    icmp [{a_addr}]:77 <-> 192.0.2.1:{s['t_port']} sessions 1",
        "sessions (1):",
        f"    icmp [{a_addr}]:77 [{peer6}]:77 <-> 192.0.2.1:{s['t_port']} "
        f"{PEER4}:{s['z_port']} expires 29sec",
    ]
    world.run_for(30.0)  # RFC 6146 §3.5.3: the ICMP session's configured lifetime
    (t,) = show.snapshot(world.hosts["r"], "translations", world.now)["translators"]  # type: ignore[attr-defined]
    assert (t["bib"], t["sessions"], t["counters"]["sessions_expired"]) == ([], [], 1)


def test_no_translator_says_how_to_start_one() -> None:
    assert show.format_view("translations", {"translators": []}) == [
        "no translator (tcpip6 host --translate siit:PREFIX or nat64:PREFIX --tun NAME)"
    ]
