"""ftp6 and ftpd6 on simnet (demo: a and b on one segment, c behind the router): files
by SHA-256 over passive (EPSV) and active (EPRT) data connections, REST resume, TYPE A
on the wire, the root's confinement (``..`` and symbolic links), uploads, RFC 2577's
refusals, and the session bounds; ftp6 as a control-socket job of a loopback host."""

from __future__ import annotations

import hashlib
import io
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tcpip6.apps import ftpfs
from tcpip6.apps.ftp6 import parse_url
from tcpip6.apps.ftpclient import FtpClient, FtpError
from tcpip6.apps.ftpd import MAX_LINE, Ftpd
from tcpip6.apps.host import build_config
from tcpip6.apps.steps import Steps, run_blocking
from tcpip6.apps.topology import Topology
from tests.apps.conftest import Rig, lines
from tests.cli import tcpip6_cli

SIZE = 700 * 1024
TEXT = b"first line\nsecond\n\nlast line without CR\n" * 50


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "pub").mkdir(parents=True)
    rng = random.Random(7)
    (root / "big.bin").write_bytes(rng.randbytes(SIZE))
    (root / "pub" / "text.txt").write_bytes(TEXT)
    (tmp_path / "secret").write_text("outside the root\n")
    (root / "out").symlink_to(tmp_path / "secret")
    (root / "pub" / "up").symlink_to(tmp_path)
    (root / "inside").symlink_to(root / "big.bin")
    return root


class Session:
    """An FTP client on a, logged in to an ftpd6 on ``server``."""

    def __init__(self, topo: Topology, server: str = "b", active: bool = False) -> None:
        self.stack = topo.stack("a")
        self.client = FtpClient(self.stack, active=active)
        self.run(self.client.open(topo.resolve(server)))
        self.run(self.client.login())

    def run(self, steps: Steps[object]) -> object:
        return run_blocking(steps, self.stack.driver)

    def code(self, line: str) -> int:
        return self.run(self.client.command(line)).code  # type: ignore[attr-defined,no-any-return]

    def get(self, path: str, rest: int = 0) -> bytes:
        sink = io.BytesIO()
        self.run(self.client.retrieve(path, sink, rest))
        return sink.getvalue()


@pytest.fixture
def served(demo: Topology, root: Path) -> Iterator[tuple[Topology, Ftpd]]:
    ftpd = Ftpd(demo.stack("b"), root, upload=False)
    yield demo, ftpd
    ftpd.close()


@pytest.mark.parametrize("active", [False, True], ids=["passive-EPSV", "active-EPRT"])
def test_a_file_arrives_identical_by_sha256(
    served: tuple[Topology, Ftpd], root: Path, active: bool
) -> None:
    topo, ftpd = served
    s = Session(topo, active=active)
    s.run(s.client.set_type(True))
    assert s.run(s.client.size("big.bin")) == SIZE
    assert sha(s.get("big.bin")) == sha((root / "big.bin").read_bytes())
    s.run(s.client.quit())
    assert ftpd.counters.files_sent == 1 and ftpd.counters.octets_sent == SIZE


def test_across_the_router_and_its_smaller_mtu(demo: Topology, root: Path) -> None:
    ftpd = Ftpd(demo.stack("c"), root)
    s = Session(demo, "c", active=True)
    s.run(s.client.set_type(True))
    assert sha(s.get("/big.bin")) == sha((root / "big.bin").read_bytes())
    ftpd.close()


def test_rest_resumes_a_transfer(served: tuple[Topology, Ftpd], root: Path) -> None:
    topo, _ = served
    whole = (root / "big.bin").read_bytes()
    s = Session(topo)
    s.run(s.client.set_type(True))
    have = whole[:123457]
    rest = s.get("big.bin", rest=len(have))
    assert len(rest) == SIZE - len(have)
    assert sha(have + rest) == sha(whole)


def test_type_a_sends_crlf_and_stores_lf(demo: Topology, root: Path) -> None:
    ftpd = Ftpd(demo.stack("b"), root, upload=True)
    s = Session(demo)
    s.run(s.client.set_type(False))
    # RFC 3659 §4: SIZE counts the octets of the transfer in the current TYPE.
    assert s.run(s.client.size("pub/text.txt")) == len(TEXT) + TEXT.count(b"\n")
    assert s.get("pub/text.txt") == TEXT  # the client turns CRLF back into LF
    # On the wire: NVT-ASCII CRLF line ends (read as they came, undecoded).
    s.client.binary = True
    assert s.get("pub/text.txt") == TEXT.replace(b"\n", b"\r\n")
    s.client.binary = False
    # An ASCII upload: CRLF on the wire (the client encodes), LF on the server's disk.
    s.run(s.client.store("pub/up.txt", io.BytesIO(b"one\ntwo\n")))
    assert (root / "pub" / "up.txt").read_bytes() == b"one\ntwo\n"
    s.run(s.client.set_type(True))
    s.run(s.client.store("pub/crlf.bin", io.BytesIO(b"a\r\nb\r\n")))
    assert (root / "pub" / "crlf.bin").read_bytes() == b"a\r\nb\r\n"  # binary: as sent
    ftpd.close()


def test_the_root_confines_every_path(served: tuple[Topology, Ftpd], root: Path) -> None:
    topo, ftpd = served
    s = Session(topo)
    for line in (
        "RETR ../secret",
        "RETR /../secret",
        "RETR pub/../../secret",
        "CWD ..",
        "CWD /pub/../..",
        "RETR out",  # a symbolic link to a file outside
        "CWD pub/up",  # a symbolic link to a directory outside
        "SIZE out",
        "MLST ../secret",
    ):
        assert s.code(line) == 550, line
    assert s.code("CWD pub") == 250
    assert s.code("CWD ..") == 250  # .. inside the root is fine
    assert s.code("PWD") == 257
    assert ftpd.counters.refused_paths == 9
    names = s.run(s.client.listing("NLST"))
    assert names == ["big.bin", "inside", "pub"]  # "out" leads outside: not shown
    s.run(s.client.set_type(True))
    assert len(s.get("inside")) == SIZE  # a link that stays inside is followed


def test_read_only_unless_uploads_are_enabled(demo: Topology, root: Path, tmp_path: Path) -> None:
    ftpd = Ftpd(demo.stack("b"), root)
    s = Session(demo)
    for line in ("STOR x", "DELE big.bin", "MKD new", "RMD pub", "APPE big.bin"):
        assert s.code(line) == 550, line
    ftpd.close()
    ftpd = Ftpd(demo.stack("b"), root, upload=True)
    s = Session(demo, active=True)
    s.run(s.client.set_type(True))
    data = random.Random(3).randbytes(300 * 1024)
    s.run(s.client.store("pub/new.bin", io.BytesIO(data)))
    assert sha((root / "pub" / "new.bin").read_bytes()) == sha(data)
    with pytest.raises(FtpError, match=r"STOR: 550 "):
        s.run(s.client.store("../escape.bin", io.BytesIO(b"x")))
    assert not (tmp_path / "escape.bin").exists()
    assert s.code("MKD made") == 257 and (root / "made").is_dir()
    assert s.code("DELE pub/new.bin") == 250 and not (root / "pub" / "new.bin").exists()
    assert s.code("DELE out") == 550 and (tmp_path / "secret").exists()
    ftpd.close()


def test_mlsd_mlst_mdtm_and_feat(served: tuple[Topology, Ftpd], root: Path) -> None:
    topo, _ = served
    s = Session(topo)
    facts = s.run(s.client.listing("MLSD"))
    assert isinstance(facts, list)
    assert facts[0].startswith("type=cdir;")
    big = next(f for f in facts if f.endswith(" big.bin"))
    assert f"size={SIZE};" in big and "type=file;" in big and "perm=r;" in big
    stamp = ftpfs.mdtm((root / "big.bin").stat().st_mtime)
    assert s.run(s.client.mdtm("big.bin")) == stamp and f"modify={stamp};" in big
    feat = s.run(s.client.command("FEAT"))
    assert {" EPSV", " EPRT", " REST STREAM", " SIZE", " MDTM"} <= set(feat.lines)  # type: ignore[attr-defined]


def test_rfc2577_refusals_and_ipv4_commands(served: tuple[Topology, Ftpd]) -> None:
    topo, ftpd = served
    s = Session(topo)
    # EPRT to a third host (the FTP bounce attack) or to a privileged port: refused.
    assert s.code(f"EPRT |2|{topo.resolve('c')}|5000|") == 504
    assert s.code(f"EPRT |2|{s.client.ctrl.local_address}|80|") == 504  # type: ignore[union-attr]
    assert s.code("EPRT |1|192.0.2.1|5000|") == 522
    assert s.code("EPRT nonsense") == 501
    assert ftpd.counters.bounce_refused == 2
    assert s.code("PASV") == 502 and s.code("PORT 192,0,2,1,4,1") == 502
    assert s.code("EPSV 1") == 522
    assert s.code("RETR big.bin") == 425  # no data connection asked for


def test_logins_and_bounds(served: tuple[Topology, Ftpd]) -> None:
    topo, ftpd = served
    s = Session(topo)
    assert s.code("USER root") == 331 and s.code("PASS x") == 530
    assert s.code("RETR big.bin") == 530  # not logged in any more
    assert s.code("PASS y") == 530
    assert s.code("PASS z") == 530
    assert s.run(s.client.read_reply()).code == 421  # type: ignore[attr-defined]
    assert ftpd.counters.failed_logins == 3
    s2 = Session(topo)
    reply = s2.run(s2.client.command("NOOP " + "x" * MAX_LINE))
    assert reply.code == 500  # type: ignore[attr-defined]


def test_sessions_beyond_the_bound_wait(demo: Topology, root: Path) -> None:
    ftpd = Ftpd(demo.stack("b"), root, max_sessions=2)
    first, _second = Session(demo), Session(demo)
    third = FtpClient(demo.stack("a"), timeout=3.0)
    with pytest.raises(TimeoutError):  # connected, but no greeting: it waits its turn
        run_blocking(third.open(demo.resolve("b")), demo.stack("a").driver)
    first.run(first.client.quit())
    # A session has ended: the waiting connection is greeted now.
    assert run_blocking(third.read_reply(), demo.stack("a").driver).code == 220
    assert len(ftpd.server.handlers) == 2
    ftpd.close()


def test_resolve_walks_segments() -> None:
    base = Path("/srv")
    assert ftpfs.resolve(base, "/pub", "a/../b").virtual == "/pub/b"
    assert ftpfs.resolve(base, "/pub", "/x").virtual == "/x"
    assert ftpfs.resolve(base, "/", ".").virtual == "/"
    for bad in ("..", "/..", "a/../..", "x\0y", "a\\..\\b"):
        with pytest.raises(ftpfs.Refused):
            ftpfs.resolve(base, "/", bad)


@given(st.binary(max_size=300), st.lists(st.integers(1, 50), max_size=10))
def test_ascii_round_trip_across_chunks(text: bytes, cuts: list[int]) -> None:
    local = text.replace(b"\r", b"")  # a local text file: LF line ends only
    wire = ftpfs.to_ascii(local)
    decode, out, at = ftpfs.FromAscii(), bytearray(), 0
    for n in cuts:
        out += decode.feed(wire[at : at + n])
        at += n
    out += decode.feed(wire[at:]) + decode.end()
    assert bytes(out) == local


def test_parse_url() -> None:
    assert parse_url("ftp://[2001:db8::1]/pub/f") == ("2001:db8::1", 21, "pub/f")
    assert parse_url("ftp://[fe80::1%25eth0]:2121/") == ("fe80::1%eth0", 2121, ".")
    for bad in ("http://[::1]/", "ftp://host/x", "ftp:///x"):
        with pytest.raises(ValueError):
            parse_url(bad)


def test_ftp6_as_a_job_of_a_live_host(rig: Rig, root: Path, tmp_path: Path) -> None:
    ftpd = Ftpd(rig.stack, root)
    out = tmp_path / "got.bin"
    args = {"host": "::1", "path": "big.bin", "output": str(out), "active": True}
    answers = rig.answers(rig.ask({"run": "ftp6", "args": args}))
    text = lines(answers)
    assert answers[-1] == {"done": True, "status": 0}, text
    digest = sha((root / "big.bin").read_bytes())
    assert f"sha256 {digest}  {out}" in text
    assert out.read_bytes() == (root / "big.bin").read_bytes()
    bad = rig.answers(
        rig.ask({"run": "ftp6", "args": {"host": "::1", "path": "x", "output": "r"}}), "error"
    )
    assert "absolute path" in bad[-1]["error"]
    ftpd.close()


def test_the_command_line(tmp_path: Path) -> None:

    got = tmp_path / "got.bin"
    done = tcpip6_cli("ftp6", "--sim", "demo", "-o", str(got))
    assert done.returncode == 0, done.stderr
    assert "identical to the served file (SHA-256)" in done.stdout
    done = tcpip6_cli("ftpd6", "--sim", "demo")
    assert done.returncode == 0, done.stdout
    assert "550 the path leaves the root" in done.stdout
    for args, message in (
        (("ftp6", "--control", "/nx.sock", "http://x/"), "expected ftp://"),
        (("ftp6", "--sim", "demo", "--resume"), "--resume needs -o FILE"),
        (("ftp6", "--sim", "demo", "--root", "/no/such"), "no such directory"),
        (("ftp6",), "say where to run"),
    ):
        done = tcpip6_cli(*args)
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert done.stderr.count("\n") == 1 and message in done.stderr, done.stderr


def test_host_serve_ftp(tmp_path: Path) -> None:
    config = build_config(links=["ethernet:eth1"], serve=[f"echo,ftp={tmp_path}"])
    assert config.ftp_root == tmp_path and not config.ftp_upload and config.serve == ["echo"]
    config = build_config(links=["ethernet:eth1"], serve=[f"ftp-upload={tmp_path}"])
    assert config.ftp_root == tmp_path and config.ftp_upload
