"""tcpip6 host --ipsec FILE.toml (and ``ipsec`` under --config), and tcpip6 show ipsec:
two simnet hosts configured from files talk through ESP; a bad file is one line naming
the key and its line; the SAs are shown with their counters, never their keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scapy.layers.inet6 import IPv6

from tcpip6.apps import show
from tcpip6.apps.host import HostConfigError, config_from
from tcpip6.apps.ipsec_config import IpsecConfigError, apply_ipsec, load_ipsec_file
from tests.cli import tcpip6_cli
from tests.stack.conftest import A_LL, B_LL, Pair

KEY_AB = "0102030405060708090a0b0c0d0e0f10" + "a1a2a3a4"
KEY_BA = "1112131415161718191a1b1c1d1e1f20" + "b1b2b3b4"


def ipsec_toml(me: str, peer: str, spi_out: int, key_out: str, spi_in: int, key_in: str) -> str:
    return f"""
# Neighbor Discovery in the clear (RFC 4301 §4.4.1: the first match decides).
[[policy]]
name = "nd"
action = "bypass"
protocol = "icmpv6"
icmp_type = 135

[[policy]]
name = "nd-adv"
action = "bypass"
protocol = "icmpv6"
icmp_type = 136

[[policy]]
name = "peer"
action = "protect"
local = "{me}"
remote = "{peer}"
protect = ["esp/transport"]

[[policy]]
name = "rest"
action = "bypass"

[[sa]]
policy = "peer"
direction = "out"
protocol = "esp"
mode = "transport"
spi = "{spi_out:#x}"
src = "{me}"
dst = "{peer}"
encryption = "aes-gcm-16"
encryption_key = "{key_out}"

[[sa]]
policy = "peer"
direction = "in"
protocol = "esp"
mode = "transport"
spi = {spi_in}
src = "{peer}"
dst = "{me}"
encryption = "aes-gcm-16"
encryption_key = "{key_in}"
replay_window = 32
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_two_hosts_configured_from_files_ping_through_esp(pair: Pair, tmp_path: Path) -> None:
    a = load_ipsec_file(
        write(tmp_path, "a.toml", ipsec_toml(str(A_LL), str(B_LL), 0x100, KEY_AB, 0x200, KEY_BA))
    )
    b = load_ipsec_file(
        write(tmp_path, "b.toml", ipsec_toml(str(B_LL), str(A_LL), 0x200, KEY_BA, 0x100, KEY_AB))
    )
    apply_ipsec(pair.a, a, pair.world.now)
    apply_ipsec(pair.b, b, pair.world.now)
    seen: list[bytes] = []
    pair.world.observers.append(lambda iface, f, now: seen.append(f))
    assert pair.a.icmpv6.send_echo_request(B_LL, 1, 1, b"configured", pair.world.now)
    pair.world.run_for(1.0)
    assert [r.data for r in pair.a.icmpv6.echo_replies] == [b"configured"]
    assert [IPv6(f[14:]).nh for f in seen] == [50, 50]

    data = show.snapshot(pair.a, "ipsec", pair.world.now)
    assert [p["name"] for p in data["policies"]] == ["nd", "nd-adv", "peer", "rest"]
    assert data["policies"][2]["protect"] == ["esp/transport"]
    sas = {(s["direction"], s["spi"]): s for s in data["sas"]}
    assert sas["out", "0x00000100"]["counters"]["packets"] == 1
    assert sas["in", "0x00000200"]["counters"]["packets"] == 1
    assert sas["in", "0x00000200"]["replay_window"] == 32
    assert data["counters"]["out_ok"] == 1 and data["counters"]["in_ok"] == 1
    # The keys are never shown, in JSON or in the lines.
    text = json.dumps(data) + "\n".join(show.format_view("ipsec", data))
    for key in (KEY_AB, KEY_BA, KEY_AB[:16], bytes.fromhex(KEY_AB).hex(":")):
        assert key not in text
    lines = show.format_view("ipsec", data)
    assert lines[0] == "SPD (first match decides):"
    assert any("peer" in line and "protect esp/transport" in line for line in lines)
    assert any("esp spi 0x00000100 out transport" in line for line in lines)


BAD = [
    ('spi = "0x100"', 'spi = "zz"', "sa[0].spi: 'zz' is not a number", 'spi = "zz"'),
    ('encryption_key = "0102', 'encryption_key = "0g02', "sa[0].encryption_key: not hex", "0g02"),
    ('action = "protect"', 'action = "guard"', "policy[2].action: 'guard': choose", "guard"),
    (
        'encryption = "aes-gcm-16"\nencryption_key = "0102',
        'encryption = "aes-gcm-17"\nencryption_key = "0102',
        "sa[0].encryption: 'aes-gcm-17': choose",
        "aes-gcm-17",
    ),
    ('policy = "peer"', 'policy = "nope"', "sa[0].policy: no [[policy]] is named 'nope'", "nope"),
    ("replay_window = 32", "replay_window = 32\ncolor = 1", "sa[1].color: unknown key", "color"),
    ('local = "', 'local = "x', "policy[2].local:", 'local = "x'),
    (KEY_BA + '"\nreplay', KEY_BA[:-2] + '"\nreplay', "sa[1]: aes-gcm-16: key of 19 octets", None),
]


@pytest.mark.parametrize(("old", "new", "message", "marker"), BAD)
def test_a_bad_file_is_one_line_naming_the_key_and_line(
    tmp_path: Path, old: str, new: str, message: str, marker: str | None
) -> None:
    text = ipsec_toml(str(A_LL), str(B_LL), 0x100, KEY_AB, 0x200, KEY_BA)
    assert old in text
    bad = text.replace(old, new, 1)
    path = write(tmp_path, "bad.toml", bad)
    with pytest.raises(IpsecConfigError) as err:
        load_ipsec_file(path)
    msg = str(err.value)
    assert "\n" not in msg and message in msg, msg
    # The line number points at the key (or at the [[sa]] the error is about).
    line = int(msg.split(":")[1])
    at = bad.splitlines()[line - 1]
    assert (marker in at) if marker is not None else at.strip() == "[[sa]]", (msg, at)


def test_ipsec_under_config_and_on_the_command_line(tmp_path: Path) -> None:
    good = write(tmp_path, "a.toml", ipsec_toml(str(A_LL), str(B_LL), 1 << 8, KEY_AB, 512, KEY_BA))
    conf = write(tmp_path, "host.toml", f'links = ["ethernet:eth9"]\nipsec = "{good}"\n')
    config = config_from({}, conf)
    assert config.ipsec is not None and len(config.ipsec.policies) == 4
    bad = write(tmp_path, "bad.toml", "[[sa]]\nspi = 5\n")
    with pytest.raises(HostConfigError, match=r"bad.toml:1: sa\[0\]: policy is missing"):
        config_from({"ipsec": str(bad)}, None)
    done = tcpip6_cli("host", "--link", "ethernet:eth9", "--ipsec", str(bad))
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1 and "sa[0]: policy is missing" in done.stderr
