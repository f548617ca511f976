"""FTP between tcpip6 and Linux, both ways, files compared by SHA-256.

- Linux clients against ftpd6 (``tcpip6 host --serve ftp-upload=DIR``): ``curl``
  fetches and uploads, passively (EPSV) and actively (``-P -``: EPRT); ``lftp`` fetches
  and uploads with ``ftp:passive-mode`` on and off.
- tcpip6's client against Debian's ``vsftpd`` in the peer namespace: ``tcpip6 ftp6
  --control`` runs inside the live host and fetches passively and actively.

The files are :data:`SIZE` octets each way (see the module's measurements in the
README: a transfer of this size takes a few seconds through the live host).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.interop import netns
from tests.interop.netns import HOST_IF, PEER_IF, REPO, LineReader, Topology

SIZE = 10 * 1024 * 1024
HOST = "2001:db8:f::1"
PEER = "2001:db8:f::2"
TIMEOUT = 180


def sha(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


@dataclass
class Ftp:
    topo: Topology
    host: LineReader
    served: Path  # ftpd6's root
    peer_dir: Path  # files on the Linux side
    control: Path
    big: Path  # the SIZE-octet file ftpd6 serves
    upload: Path  # the SIZE-octet file Linux uploads

    def in_peer(self, *cmd: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.topo.in_peer(*cmd), capture_output=True, text=True, timeout=TIMEOUT
        )


@pytest.fixture(scope="module")
def ftp(module_topology: Topology, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ftp]:
    for tool in ("curl", "lftp", "vsftpd"):
        if shutil.which(tool) is None:
            raise AssertionError(f"{tool} is not installed (make test installs it)")
    topo = module_topology
    tmp = tmp_path_factory.mktemp("ftp")
    topo.peer_run("ip", "-6", "addr", "add", f"{PEER}/64", "dev", PEER_IF, "nodad")
    served = tmp / "served"
    (served / "up").mkdir(parents=True)
    big = served / "big.bin"
    big.write_bytes(os.urandom(SIZE))
    peer_dir = tmp / "peer"
    peer_dir.mkdir()
    upload = peer_dir / "upload.bin"
    upload.write_bytes(os.urandom(SIZE))
    control = tmp / "host.sock"
    host = netns.start_tcpip6_host(
        topo, tmp / "host.pcap", "--address", f"{HOST_IF}={HOST}/64",
        "--serve", f"ftp-upload={served}", "--control", str(control),
    )  # fmt: skip
    host.wait_for(rf"^serving ftp 21/tcp from {re.escape(str(served))} \(read-write\)$")
    host.wait_for(rf"^address {HOST}/64 on {HOST_IF} preferred")
    yield Ftp(topo, host, served, peer_dir, control, big, upload)
    assert netns.stop(host) == 0, host.rest()


@pytest.mark.parametrize("active", [False, True], ids=["EPSV", "EPRT"])
def test_curl_fetches_and_uploads(ftp: Ftp, active: bool) -> None:
    mode = ["-P", "-"] if active else []
    got = ftp.peer_dir / f"curl-{active}.bin"
    done = ftp.in_peer("curl", "-g", "-sS", "--max-time", str(TIMEOUT), *mode, "-o", str(got),
                       "-w", "%{size_download}", f"ftp://[{HOST}]/big.bin")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == str(SIZE)
    assert sha(got) == sha(ftp.big)
    name = f"curl-up-{active}.bin"
    done = ftp.in_peer("curl", "-g", "-sS", "--max-time", str(TIMEOUT), *mode,
                       "-T", str(ftp.upload), f"ftp://[{HOST}]/up/{name}")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert sha(ftp.served / "up" / name) == sha(ftp.upload)


def test_curl_is_refused_outside_the_root(ftp: Ftp) -> None:
    url = f"ftp://[{HOST}]/../../etc/passwd"
    # curl's default walks the path with CWD: the CWD .. is refused.
    done = ftp.in_peer("curl", "-g", "-v", "--path-as-is", "-o", "/dev/null", url)
    assert done.returncode == 9, done.stderr  # CURLE_REMOTE_ACCESS_DENIED
    assert "< 550 the path leaves the root" in done.stderr
    # One RETR of the whole path: 550.
    done = ftp.in_peer("curl", "-g", "-v", "--path-as-is", "--ftp-method", "nocwd",
                       "-o", "/dev/null", url)  # fmt: skip
    assert done.returncode == 78, done.stderr  # CURLE_REMOTE_FILE_NOT_FOUND
    assert "< 550 the path leaves the root" in done.stderr


@pytest.mark.parametrize("passive", [True, False], ids=["passive", "active"])
def test_lftp_fetches_and_uploads(ftp: Ftp, passive: bool) -> None:
    got = ftp.peer_dir / f"lftp-{passive}.bin"
    name = f"lftp-up-{passive}.bin"
    script = (
        f"set ftp:passive-mode {'on' if passive else 'off'}; set net:max-retries 1; "
        "set net:timeout 30; set xfer:clobber on; set cmd:fail-exit yes; "
        f"open -u anonymous,tcpip6@ ftp://[{HOST}]; get big.bin -o {got}; "
        f"put {ftp.upload} -o up/{name}; quit"
    )
    done = ftp.in_peer("lftp", "-c", script)
    assert done.returncode == 0, done.stderr + done.stdout
    assert sha(got) == sha(ftp.big)
    assert sha(ftp.served / "up" / name) == sha(ftp.upload)


VSFTPD_CONF = """\
listen=NO
listen_ipv6=YES
listen_address6={address}
background=NO
anonymous_enable=YES
no_anon_password=YES
anon_root={root}
ftp_username=ftp
local_enable=NO
write_enable=NO
pasv_enable=YES
port_enable=YES
connect_from_port_20=NO
seccomp_sandbox=NO
secure_chroot_dir={empty}
xferlog_enable=NO
"""


@pytest.fixture(scope="module")
def vsftpd(ftp: Ftp) -> Iterator[Path]:
    # vsftpd serves as Debian's ftp user from a chroot: a world-readable tree of its own.
    base = Path(tempfile.mkdtemp(prefix="tcpip6-vsftpd-"))
    try:
        root, empty = base / "root", base / "empty"
        root.mkdir()
        empty.mkdir()
        for d in (base, root, empty):
            d.chmod(0o755)
        shutil.copyfile(ftp.upload, root / "linux.bin")
        (root / "linux.bin").chmod(0o644)
        conf = base / "vsftpd.conf"
        conf.write_text(VSFTPD_CONF.format(address=PEER, root=root, empty=empty))
        proc = ftp.topo.start(ftp.topo.in_peer("vsftpd", str(conf)), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT)  # fmt: skip
        netns.sh(*ftp.topo.in_peer(sys.executable, "-c", WAIT_FOR_PORT, PEER, "21"))
        assert proc.poll() is None, "vsftpd did not start"
        yield root / "linux.bin"
        proc.terminate()
        proc.wait(timeout=10)
    finally:
        shutil.rmtree(base, ignore_errors=True)


WAIT_FOR_PORT = """
import socket, sys, time
end = time.monotonic() + 20
while True:
    try:
        socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1).close()
        break
    except OSError:
        if time.monotonic() > end:
            raise
        time.sleep(0.1)
"""


@pytest.mark.parametrize("active", [False, True], ids=["EPSV", "EPRT"])
def test_ftp6_in_the_live_host_fetches_from_vsftpd(
    ftp: Ftp, vsftpd: Path, tmp_path: Path, active: bool
) -> None:
    got = tmp_path / "from-vsftpd.bin"
    cmd = [sys.executable, "-m", "tcpip6", "ftp6", "--control", str(ftp.control),
           f"ftp://[{PEER}]/linux.bin", "-o", str(got)]  # fmt: skip
    if active:
        cmd.append("--active")
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"^<-- 220 ", done.stdout, re.M), done.stdout  # vsftpd's greeting
    assert ("--> EPRT |2|" if active else "--> EPSV") in done.stdout
    assert f"{SIZE} octets in " in done.stdout
    assert sha(got) == sha(vsftpd)
    assert f"sha256 {sha(vsftpd)}  {got}" in done.stdout


def ftpd_counters(ftp: Ftp) -> dict[str, int]:
    done = subprocess.run(
        [sys.executable, "-m", "tcpip6", "show", "counters", "--json", "--control",
         str(ftp.control)],
        cwd=REPO, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    counters: dict[str, int] = json.loads(done.stdout)["extra"]["ftpd"]
    return counters


def test_show_counters_counts_what_ftpd6_did(ftp: Ftp) -> None:
    before = ftpd_counters(ftp)
    done = ftp.in_peer("curl", "-g", "-sS", "-o", "/dev/null", f"ftp://[{HOST}]/big.bin")
    assert done.returncode == 0, done.stderr
    ftp.in_peer("curl", "-g", "-sS", "--ftp-method", "nocwd", "-o", "/dev/null",
                "--path-as-is", f"ftp://[{HOST}]/../x")  # fmt: skip
    after = ftpd_counters(ftp)
    assert after["sessions"] - before["sessions"] == 2
    assert after["files_sent"] - before["files_sent"] == 1
    assert after["octets_sent"] - before["octets_sent"] == SIZE
    assert after["refused_paths"] - before["refused_paths"] == 1
