"""The README stays true where a test can tell: its layout table names every module."""

from __future__ import annotations

import re

import pytest

from service.processes import ROOT


@pytest.mark.parametrize("package", ["index", "service", "scripts"])
def test_the_layout_table_names_every_module(package):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    row = next(line for line in readme.splitlines() if line.startswith(f"| `{package}/` |"))
    named = set(re.findall(r"`([\w]+\.py)`", row))
    modules = {p.name for p in (ROOT / package).rglob("*.py")}  # subpackages too (index/reviews/)
    assert modules - named - {"__init__.py"} == set(), f"README's `{package}/` row misses them"
    assert named - modules == set(), f"README's `{package}/` row names modules that are gone"
