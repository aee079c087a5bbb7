"""The README stays true where a test can tell: its layout table names every module, and its drawing
every subpackage of index/."""

from __future__ import annotations

import re

import pytest

from service.processes import ROOT


@pytest.mark.parametrize("package", ["index", "service", "scripts"])
def test_the_layout_table_names_every_module(package):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = [line for line in readme.splitlines() if line.startswith(f"| `{package}/")]  # index/reviews/ too
    named = set(re.findall(r"`([\w]+\.py)`", " ".join(rows)))
    modules = {p.name for p in (ROOT / package).rglob("*.py")}  # subpackages too (index/reviews/)
    assert modules - named - {"__init__.py"} == set(), f"README's `{package}/` row misses them"
    assert named - modules == set(), f"README's `{package}/` row names modules that are gone"


def test_the_layout_drawing_names_every_concern():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    layout = readme[readme.index("## Layout") :]
    drawing = layout[layout.index("```") : layout.index("```", layout.index("```") + 3)]
    concerns = {p.parent.name for p in (ROOT / "index").glob("*/__init__.py")}
    drawn = set(re.findall(r"^  (\w+)/", drawing, flags=re.M))
    assert drawn == concerns
    for facade in (ROOT / "index").glob("*.py"):
        assert facade.name == "__init__.py" or facade.name in drawing, facade.name
