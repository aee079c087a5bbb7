"""What `pip install .` (the image's install) ships: every package of the project, subpackages included."""

from __future__ import annotations

import tomllib

from setuptools import find_packages

from service.processes import ROOT


def test_every_package_and_subpackage_is_in_the_distribution():
    find = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"]["packages"]["find"]
    shipped = set(find_packages(where=ROOT, include=find["include"]))
    on_disk = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in ("index", "service", "client")
        for init in (ROOT / top).rglob("__init__.py")
    }
    assert {"index.reviews", "index.sources"} <= on_disk
    assert on_disk <= shipped
    assert not {p for p in shipped if p.split(".")[0] not in ("index", "service", "client")}
