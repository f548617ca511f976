"""Every citation names its RFC: in a module that cites more than one RFC, a bare "§7.3.3"
could be any of them, and one grep (``RFC 4861 §7.3.3``) would not find every place a rule
lives. Fails on a "§" not preceded by "RFC NNNN " in such a module."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RFC = re.compile(r"RFC ?(\d{3,4})")
#: A "§" not right after "RFC NNNN " (or "NNNN ", the form of a graph row's "rfc" field), nor
#: the second half of a range ("§4.2-§4.3").
BARE = re.compile(r"(?<!\d{3} )(?<!\d{4} )(?<![\w§\-–])§\d")
#: Where the MSR paper's sections are cited ("MSR IPv6 §4.4") the "§" is not an RFC's.
MSR = re.compile(r"MSR(?: IPv6)?[^§]{0,40}§\d")
FILES = sorted(
    p
    for d in ("tcpip6", "tests", "bench")
    for p in (ROOT / d).rglob("*.py")
    if p.name != "test_citations.py"
)


def bare_citations(text: str) -> list[tuple[int, str]]:
    if len(set(RFC.findall(text))) < 2:
        return []
    return [
        (n, line.strip())
        for n, line in enumerate(text.splitlines(), 1)
        if BARE.search(MSR.sub("", line))
    ]


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(ROOT)) for p in FILES])
def test_every_citation_names_its_rfc(path: Path) -> None:
    assert bare_citations(path.read_text()) == []


def test_the_check_can_fail() -> None:
    text = "# RFC 4861 §7.2.5 and RFC 4862 §5.4\n# §7.3.3: a bare one\n"
    assert bare_citations(text) == [(2, "# §7.3.3: a bare one")]
    assert bare_citations("# RFC 4861 §7.3.3, RFC 4862 §5.4.2, RFC 4861 §4.2-§4.3\n") == []
    assert bare_citations("# RFC 4861 §7.3.3 (MSR IPv6 §4.4), RFC 4862 §5.4\n") == []
