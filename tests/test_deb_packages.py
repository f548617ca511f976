"""`make test` installs the Debian packages the tests need, and notices when one goes.

A package removed with its configuration files left (`apt-get remove`) is in dpkg's
"deinstall ok config-files" state, for which `dpkg -s` still succeeds. The oracle here
is dpkg itself: a tiny package is built, installed and removed for real in a private
dpkg database (DPKG_ADMINDIR, no root, the machine's database untouched).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

#: The checkout (wherever this file sits under tests/).
ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
DEB_MISSING = ROOT / ".ci" / "deb-missing"


def _dpkg(admin: Path, *args: str) -> None:
    subprocess.run(
        [
            "dpkg",
            f"--admindir={admin}",
            f"--instdir={admin.parent / 'root'}",
            "--force-not-root",
            "--force-script-chrootless",
            *args,
        ],
        check=True,
        capture_output=True,
    )


def _package(tmp: Path, name: str) -> Path:
    """A .deb of one conffile (what `apt-get remove` leaves behind)."""
    pkg = tmp / name
    (pkg / "DEBIAN").mkdir(parents=True)
    (pkg / "etc" / name).mkdir(parents=True)
    (pkg / "etc" / name / "conf").write_text("x = 1\n")
    (pkg / "DEBIAN" / "conffiles").write_text(f"/etc/{name}/conf\n")
    (pkg / "DEBIAN" / "control").write_text(
        f"Package: {name}\nVersion: 1.0\nArchitecture: all\n"
        "Maintainer: tcpip6 tests <tests@example.invalid>\nDescription: a probe package\n"
    )
    deb = tmp / f"{name}.deb"
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", "-b", str(pkg), str(deb)],
        check=True,
        capture_output=True,
    )
    return deb


@pytest.fixture
def dpkg_db(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A private dpkg database holding tcpip6-kept (installed) and tcpip6-removed
    (removed, its conffile kept); the environment that points dpkg at it."""
    admin = tmp_path / "admin"
    for sub in ("updates", "info"):
        (admin / sub).mkdir(parents=True)
    (admin / "status").touch()
    (admin / "available").touch()
    (tmp_path / "root").mkdir()
    for name in ("tcpip6-kept", "tcpip6-removed"):
        _dpkg(admin, "-i", str(_package(tmp_path, name)))
    _dpkg(admin, "-r", "tcpip6-removed")
    yield {**os.environ, "DPKG_ADMINDIR": str(admin)}


def _missing(env: dict[str, str], *packages: str) -> list[str]:
    done = subprocess.run(
        [str(DEB_MISSING), *packages], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.split()


def test_a_removed_package_is_missing(dpkg_db: dict[str, str]) -> None:
    status = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", "tcpip6-removed"],
        env=dpkg_db,
        capture_output=True,
        text=True,
        check=True,
    )
    assert status.stdout == "deinstall ok config-files"
    # The check the Makefile used to make is fooled by it ...
    assert (
        subprocess.run(
            ["dpkg", "-s", "tcpip6-removed"], env=dpkg_db, capture_output=True
        ).returncode
        == 0
    )
    # ... deb-missing is not, and knows an installed package and an unknown name.
    assert _missing(dpkg_db, "tcpip6-kept", "tcpip6-removed", "tcpip6-never") == [
        "tcpip6-removed",
        "tcpip6-never",
    ]


def _make(env: dict[str, str], tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The Makefile's apt stamp rule, on the private dpkg database, with a stamp of its own
    (and a venv stamp that is there already: the venv is not this test's business)."""
    venv_stamp = tmp / "venv-stamp"
    if not venv_stamp.exists():
        venv_stamp.touch()  # newer than pyproject.toml: nothing to build
    return subprocess.run(
        [
            "make",
            "-C",
            str(ROOT),
            f"STAMP={venv_stamp}",
            f"APT_STAMP={tmp / 'apt-stamp'}",
            f"DPKG_STATUS={env['DPKG_ADMINDIR']}/status",
            *args,
        ],
        env=env,
        capture_output=True,
        text=True,
    )


def test_make_installs_what_was_removed_and_rechecks_after_dpkg_changes(
    dpkg_db: dict[str, str], tmp_path: Path
) -> None:
    # apt-get as a recorder: what make would have installed.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "apt-get.log"
    fake = bin_dir / "apt-get"
    fake.write_text(f'#!/bin/sh\necho "$@" >> {log}\n')
    fake.chmod(0o755)
    env = {**dpkg_db, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    stamp = tmp_path / "apt-stamp"
    stamp_target = str(stamp)

    done = _make(env, tmp_path, "DEB_PACKAGES=tcpip6-kept tcpip6-removed", stamp_target)
    assert "installing Debian packages: tcpip6-removed" in done.stdout
    if os.geteuid() != 0:
        assert done.returncode != 0 and "need root to apt-get install tcpip6-removed" in done.stderr
        return
    assert done.returncode == 0, done.stderr
    assert "tcpip6-kept" not in done.stdout
    assert "install -y -qq tcpip6-removed" in log.read_text()
    assert stamp.exists()
    # Up to date now; once dpkg's database changes (a package removed), checked again.
    assert _make(env, tmp_path, "-q", stamp_target).returncode == 0
    status = Path(dpkg_db["DPKG_ADMINDIR"]) / "status"
    later = stamp.stat().st_mtime + 10
    os.utime(status, (later, later))
    assert _make(env, tmp_path, "-q", stamp_target).returncode == 1
