"""Every path a file of the repository cites exists in the repository: a comment, a
docstring or a page that points at ``DESIGN.md``, ``docs/architecture.md`` or
``tcpip6/stack/link.py`` points at something a reader can open. Markdown links are
resolved from the page that holds them."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path, PurePosixPath

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: A repository path (``docs/…``, ``tcpip6/…``, ``tests/…``, ``bench/…``, ``.ci/…``) or a
#: top-level page in capitals (``README.md``, ``DESIGN.md``).
CITED = re.compile(
    r"(?<![\w/.\-])((?:docs|tcpip6|tests|bench|\.ci)/[\w./\-]*[\w/]|[A-Z][A-Z_]*\.md)"
)
#: A Markdown link target that is not a URL or an anchor.
LINK = re.compile(r"\]\((?!https?:|mailto:|#)([^)\s#]+)")
#: Directories the tools write into, which the repository does not hold.
GENERATED = {
    "docs/diagrams": "make diagrams writes the SVG/PNG/DOT/mermaid files there",
    "bench/results": "make bench writes its JSON there",
}
#: This file quotes missing paths on purpose, to show the check finds them.
SELF = "tests/test_docs_paths.py"
#: Text files whose citations are checked.
SUFFIXES = (".py", ".md", ".toml", ".cfg", ".txt", ".sh")


def _tracked() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out.split()


def _missing(files: list[str], read: dict[str, str]) -> list[str]:
    known = set(files)
    for f in files:
        known.update(str(parent) for parent in PurePosixPath(f).parents)
    bad = []
    for f, text in sorted(read.items()):
        for match in CITED.finditer(text):
            ref = match.group(1).rstrip("/.")
            after = text[match.end(1) : match.end(1) + 1]
            if after in "*{" and after:
                continue  # a glob (tests/test_*.py), not a path
            if ref in known or _generated(ref):
                continue
            bad.append(f"{f}: {ref}")
        if f.endswith(".md"):
            for match in LINK.finditer(text):
                target = PurePosixPath(f).parent / match.group(1)
                resolved = PurePosixPath(*_normalize(target.parts))
                if str(resolved) not in known and not _generated(str(resolved)):
                    bad.append(f"{f}: link {match.group(1)}")
    return bad


def _generated(path: str) -> bool:
    return any(path == g or path.startswith(f"{g}/") for g in GENERATED)


def _normalize(parts: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for part in parts:
        if part == "..":
            if out:
                out.pop()
        elif part != ".":
            out.append(part)
    return out


def test_every_cited_path_exists() -> None:
    files = _tracked()
    checked = [f for f in files if f.endswith(SUFFIXES) or f in ("Makefile", ".ci/run")]
    checked.remove(SELF)
    read = {f: (ROOT / f).read_text() for f in checked if (ROOT / f).exists()}
    assert _missing(files, read) == []


def test_architecture_page_exists_and_is_linked_from_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "docs/architecture.md" in readme
    assert (ROOT / "docs" / "architecture.md").is_file()


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Sans-I/O (DESIGN.md): driven from outside", ["x.py: DESIGN.md"]),
        ("see docs/architecture.md and tcpip6/stack/nowhere.py", ["x.py: tcpip6/stack/nowhere.py"]),
        ("tests/test_*.py and docs/diagrams/nce.svg", []),
        ("README.md, tcpip6/stack/link.py, docs/.", []),
    ],
)
def test_the_check_finds_a_missing_path(text: str, found: list[str]) -> None:
    files = ["README.md", "docs/architecture.md", "tcpip6/stack/link.py", "x.py"]
    assert _missing(files, {"x.py": text}) == found


def test_the_check_resolves_markdown_links_from_their_page() -> None:
    files = ["docs/machines.md", "docs/machines/nce.md"]
    text = "[nce](machines/nce.md) [gone](machines/tcp.md) [web](https://example.org/x.md)"
    assert _missing(files, {"docs/machines.md": text}) == ["docs/machines.md: link machines/tcp.md"]
