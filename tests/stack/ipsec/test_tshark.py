"""tshark, with the SAs' keys in its esp_sa table, decrypts the ESP of a tcpip6 pcap
(transport and tunnel mode), checks the HMAC ICVs, and finds nothing wrong."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tcpip6.stack.ipsec import Mode
from tests.stack.conftest import A_LL, B_LL, Pair
from tests.stack.ipsec.helpers import SUITES, Suite
from tests.stack.ipsec.test_scenario import configure

#: Wireshark's names (its esp_sa UAT) for our algorithms.
WIRESHARK_ENCRYPTION = {
    "null": "NULL",
    "aes-cbc": "AES-CBC [RFC3602]",
    "aes-gcm-16": "AES-GCM with 16 octet ICV [RFC4106]",
}
WIRESHARK_INTEGRITY = {
    None: "NULL",
    "hmac-sha1-96": "HMAC-SHA-1-96 [RFC2404]",
    "hmac-sha256-128": "HMAC-SHA-256-128 [RFC4868]",
}
FIELDS = (
    "esp.spi",
    "esp.icv_good",
    "esp.icv_bad",
    "icmpv6.type",
    "icmpv6.echo.sequence_number",
    "_ws.malformed",
    "_ws.expert.severity",
)


def esp_sa_uat(suite: Suite, src: str, dst: str, spi: int) -> str:
    fields = [
        "IPv6",
        src,
        dst,
        f"{spi:#010x}",
        WIRESHARK_ENCRYPTION[suite.encryption],
        "0x" + suite.enc_key().hex() if suite.enc_key() else "",
        WIRESHARK_INTEGRITY[suite.integrity],
        "0x" + suite.auth_key().hex() if suite.auth_key() else "",
    ]
    return "uat:esp_sa:" + ",".join(f'"{f}"' for f in fields)


TSHARK_SUITES = [s for s in SUITES if s.protocol == 50 and s.encryption in WIRESHARK_ENCRYPTION]


@pytest.mark.parametrize("mode", [Mode.TRANSPORT, Mode.TUNNEL], ids=lambda m: m.value)
@pytest.mark.parametrize("suite", TSHARK_SUITES, ids=lambda s: s.id)
def test_tshark_decrypts_a_tcpip6_pcap(
    pair: Pair, suite: Suite, mode: Mode, tmp_path: Path
) -> None:
    tshark = shutil.which("tshark")
    assert tshark is not None, "tshark is not installed (make test installs it)"
    _, b = configure(pair, suite, mode)
    pcap = tmp_path / "esp.pcap"
    pair.ping_captured(pcap, b, 7, b"decrypt me" * 3)
    assert len(pair.a.icmpv6.echo_replies) == 3
    cmd = [tshark, "-r", str(pcap), "-o", "esp.enable_encryption_decode:TRUE"]
    cmd += ["-o", "esp.enable_authentication_check:TRUE"]
    cmd += ["-o", esp_sa_uat(suite, str(A_LL), str(B_LL), 0x1000)]
    cmd += ["-o", esp_sa_uat(suite, str(B_LL), str(A_LL), 0x2000)]
    cmd += ["-T", "fields", "-E", "occurrence=a"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=60).stdout
    rows = [line.split("\t") for line in out.splitlines()]
    esp = [r for r in rows if r[0]]
    assert len(esp) == 6
    got = [(int(r[0], 0), r[3], r[4]) for r in esp]
    want = []
    for seq in range(3):
        want += [(0x1000, "128", str(seq)), (0x2000, "129", str(seq))]
    assert got == want
    for r in esp:
        if suite.integrity is not None:  # an HMAC ICV tshark computed itself
            assert (r[1], r[2]) == ("1", "0"), r
        assert r[5] == "" and r[6] == "", r  # nothing malformed, no expert warning


def test_sim_ipsec_topology_shows_esp_in_its_pcap(tmp_path: Path) -> None:
    from tcpip6.apps import topology
    from tcpip6.apps.ipsec_sim import KEYS

    topo = topology.build("ipsec")
    pcap = tmp_path / "sim.pcap"
    topo.world.capture(pcap)
    a, b = topo.addresses["a"], topo.addresses["b"]
    for seq in range(2):
        topo.hosts["a"].icmpv6.send_echo_request(b, 5, seq, b"through the tunnel", topo.world.now)
        topo.world.run_for(1.0)
    topo.world.pcap.close()  # type: ignore[union-attr]
    assert len(topo.hosts["a"].icmpv6.echo_replies) == 2
    tshark = shutil.which("tshark")
    assert tshark is not None
    uat = []
    for spi, src, dst in ((0x1000, a, b), (0x2000, b, a)):
        fields = ["IPv6", str(src), str(dst), f"{spi:#010x}", WIRESHARK_ENCRYPTION["aes-gcm-16"]]
        fields += ["0x" + KEYS[spi].hex(), "NULL", ""]
        uat += ["-o", "uat:esp_sa:" + ",".join(f'"{f}"' for f in fields)]
    cmd = [tshark, "-r", str(pcap), "-o", "esp.enable_encryption_decode:TRUE", *uat]
    cmd += ["-T", "fields", "-E", "occurrence=a", "-e", "esp.spi", "-e", "ipv6.src"]
    cmd += ["-e", "icmpv6.type", "-e", "_ws.expert.severity"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=60).stdout
    esp = [line.split("\t") for line in out.splitlines() if line.split("\t")[0]]
    # Tunnel mode: the outer and the inner header, then the echo inside.
    assert [(int(r[0], 0), r[1], r[2]) for r in esp] == [
        (0x1000, f"{a},{a}", "128"),
        (0x2000, f"{b},{b}", "129"),
    ] * 2
    assert all(r[3] == "" for r in esp)
