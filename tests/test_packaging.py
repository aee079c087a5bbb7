"""What `pip install .` (the image's install) ships: every package of the project, subpackages included.

setuptools' `packages.find` keeps the directories with an `__init__.py` whose dotted name matches
one of `include`'s patterns (fnmatch); the same rule is applied here without importing setuptools
(importing it puts its vendored packages' metadata on sys.path, which tests/test_dependencies.py
would then see as installed)."""

from __future__ import annotations

import fnmatch
import tomllib

from service.processes import ROOT


def test_every_package_and_subpackage_is_in_the_distribution():
    find = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"]["packages"]["find"]
    on_disk = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in ("index", "service", "client")
        for init in (ROOT / top).rglob("__init__.py")
    }
    shipped = {name for name in on_disk if any(fnmatch.fnmatchcase(name, p) for p in find["include"])}
    assert {"index.reviews", "index.ingestion.sources"} <= on_disk
    assert shipped == on_disk
    assert not any(fnmatch.fnmatchcase(name, p) for name in ("tests", "benchmarks", "scripts") for p in find["include"])
