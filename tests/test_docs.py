"""The docs pages are written from the code and a demo run, and the committed ones are up
to date: regenerated, they are byte for byte what the repository holds."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tcpip6.apps.docs import write_docs
from tcpip6.stack.machines import all_graphs
from tests.cli import tcpip6_cli

DOCS = Path(__file__).resolve().parent.parent / "docs"


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("docs")
    write_docs(out)
    return out


def test_committed_pages_are_what_the_code_writes(fresh: Path) -> None:
    written = sorted(p.relative_to(fresh) for p in fresh.rglob("*.md"))
    committed = sorted(p.relative_to(DOCS) for p in DOCS.glob("machines*/**/*.md"))
    committed += [Path("machines.md")] if (DOCS / "machines.md").exists() else []
    assert sorted(committed) == written
    for rel in written:
        assert (DOCS / rel).read_text() == (fresh / rel).read_text(), (
            f"docs/{rel} is stale: run 'make diagrams' (or 'tcpip6 docs')"
        )


@pytest.mark.parametrize("name", sorted(all_graphs()))
def test_each_page_embeds_its_graph_and_a_real_run(fresh: Path, name: str) -> None:
    graph = all_graphs()[name]
    text = (fresh / "machines" / f"{name}.md").read_text()
    mermaid = re.search(r"```mermaid\n(.*?)```", text, re.S)
    assert mermaid is not None and mermaid.group(1) == graph.diagram("mermaid")
    assert f"![the {name} graph](../diagrams/{name}.svg)" in text
    # One table row per declared transition, with its RFC section.
    rows = re.findall(r"^\| (\w+) \| `(\w+)`[^|]* \| (\w+) \| ([^|]+) \| (\d+) \|$", text, re.M)
    assert {(s, t, d) for s, t, d, _, _ in rows} == {(s, t, d) for s, d, t, _, _ in graph.edges()}
    # The walk through the run shows transitions of this graph, and the counts agree.
    run = re.search(r"## A real run.*?```text\n(.*?)```", text, re.S)
    assert run is not None
    shown = re.findall(rf"\[{name}\] .*?: (\w+) --(\w+)--> (\w+) \(RFC", run.group(1))
    assert shown, f"the demo run never changed the state of {name}"
    counts = {(s, t, d): int(n) for s, t, d, _, n in rows}
    for key in set(shown):
        assert counts[key] >= shown.count(key)


def test_make_diagrams_writes_every_file_the_pages_embed(tmp_path: Path) -> None:
    """What ``make diagrams`` runs (``tcpip6 diagram --all``) writes the DOT, mermaid, SVG
    and PNG of every machine under the names the pages link to."""
    import xml.etree.ElementTree as ET

    out = tmp_path / "diagrams"
    done = tcpip6_cli("diagram", "--all", "--output-dir", str(out))
    assert done.returncode == 0, done.stderr
    for name, graph in all_graphs().items():
        assert (out / f"{name}.dot").read_text() == graph.diagram("dot")
        assert (out / f"{name}.mmd").read_text() == graph.diagram("mermaid")
        assert ET.parse(out / f"{name}.svg").getroot().tag.endswith("svg")
        assert (out / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        page = (DOCS / "machines" / f"{name}.md").read_text()
        for linked in re.findall(r"\(\.\./diagrams/([^)]+)\)", page):
            assert (out / linked).exists(), linked
