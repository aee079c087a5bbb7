"""The README and the documentation site stay true where a test can tell.

- docs/architecture.md: its layout table names every module, and its drawing every subpackage
  of index/ (these checks lived on the README before it became a front door);
- README.md: at most 150 lines, and every link it makes goes to a page and an anchor that the
  strictly built site has.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from service.processes import ROOT

ARCHITECTURE = ROOT / "docs" / "architecture.md"


@pytest.mark.parametrize("package", ["index", "service", "scripts"])
def test_the_layout_table_names_every_module(package):
    page = ARCHITECTURE.read_text(encoding="utf-8")
    rows = [line for line in page.splitlines() if line.startswith(f"| `{package}/")]  # index/reviews/ too
    named = set(re.findall(r"`([\w]+\.py)`", " ".join(rows)))
    modules = {p.name for p in (ROOT / package).rglob("*.py")}  # subpackages too (index/reviews/)
    assert modules - named - {"__init__.py"} == set(), f"docs/architecture.md's `{package}/` row misses them"
    assert named - modules == set(), f"docs/architecture.md's `{package}/` row names modules that are gone"


def test_the_layout_drawing_names_every_concern():
    page = ARCHITECTURE.read_text(encoding="utf-8")
    layout = page[page.index("## Layout") :]
    drawing = layout[layout.index("```") : layout.index("```", layout.index("```") + 3)]
    concerns = {p.parent.name for p in (ROOT / "index").glob("*/__init__.py")}
    drawn = set(re.findall(r"^  (\w+)/", drawing, flags=re.M))
    assert drawn == concerns
    for facade in (ROOT / "index").glob("*.py"):
        assert facade.name == "__init__.py" or facade.name in drawing, facade.name


def test_the_readme_is_a_front_door():
    assert len((ROOT / "README.md").read_text("utf-8").splitlines()) <= 150


def test_every_readme_link_reaches_a_page_and_anchor_of_the_strict_site(tmp_path):
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    mkdocs = [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-d", str(site)]
    built = subprocess.run(mkdocs, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-3000:]
    readme = (ROOT / "README.md").read_text("utf-8")
    links = re.findall(r"\]\(([^)\s]+)\)", readme)
    assert links, "the README links into the documentation"
    for link in links:
        if link.startswith(("http://", "https://")):
            continue
        path, _, anchor = link.partition("#")
        assert (ROOT / path).is_file(), f"README links to {path}, which does not exist"
        if path.startswith("docs/") and path.endswith(".md"):
            page = site / path.removeprefix("docs/").removesuffix(".md") / "index.html"
            html = page.read_text("utf-8")
            assert not anchor or f'id="{anchor}"' in html, f"README links to {link}: no such anchor on the page"
