"""The documents the code cites exist and hold what is cited: every `docs/method.md §N.M` names a section (or a
numbered point of §6/§7) of docs/method.md."""

from __future__ import annotations

import re

from support.workspace import REPO

CITING = ["msl_core", "workflow", "tests", "README.md", "config.yaml", "docs/architecture.md"]


def method_sections() -> set[str]:
    sections, chapter = set(), None
    for line in (REPO / "docs/method.md").read_text().splitlines():
        if heading := re.match(r"#{2,3} (\d+(?:\.\d+)?)\.? ", line):
            sections.add(heading.group(1))
            chapter = heading.group(1).split(".")[0]
        elif point := re.match(r"(\d+)\. ", line):  # the numbered points of §6 and §7
            sections.add(f"{chapter}.{point.group(1)}")
    return sections


def lines_citing() -> list[tuple[str, str]]:
    """(file, line) of every line naming docs/method.md in the code, workflow, tests and docs (this file aside)."""
    files = [p for name in CITING for p in ([REPO / name] if (REPO / name).is_file() else (REPO / name).rglob("*"))
             if p.is_file() and p.suffix in {".py", ".smk", ".md", ".yaml", ""} and p.name != "test_docs.py"]
    return [(str(path.relative_to(REPO)), line) for path in files
            for line in path.read_text(errors="ignore").splitlines() if "docs/method.md" in line]


def citations() -> list[tuple[str, str]]:
    """(file, section number) of every `§N.M` (and both ends of `§N.M–N.K`) on those lines."""
    return [(path, n) for path, line in lines_citing()
            for numbers in re.findall(r"§(\d+(?:\.\d+)?)(?:[–-](\d+\.\d+))?", line) for n in numbers if n]


def test_every_cited_section_of_the_method_exists():
    sections = method_sections()
    assert {"1.1", "3.1", "5.2", "6.2", "7.3"} <= sections
    cited = citations()
    assert len(cited) > 30
    missing = [f"{path}: §{n}" for path, n in cited if n not in sections]
    assert not missing, missing


def test_method_md_is_cited_where_it_lives():
    outside = [f"{path}: {line.strip()}" for path, line in lines_citing() if re.search(r"(?<!docs/)method\.md", line)]
    assert not outside, outside
