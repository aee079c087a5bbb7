"""The engine's layers, as its imports draw them: each concern imports only the concerns below it.

Read from the source with `ast` (every import, module level or inside a function), so a new
module cannot slip an upward or sideways import in. The rules are the ones the subpackages'
`__init__.py` state:

- a concern of `index/` imports only the concerns in MAY_IMPORT, and never a facade;
- judging reads the archive but never writes it: from storage it takes frozen records only;
- nothing in `index/` imports Flask;
- `service/` imports only `index` itself (`from index import X`), the public surface that
  `index/__init__.py` names.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# The concerns, bottom up, and which others each may import (itself always).
MAY_IMPORT: dict[str, frozenset[str]] = {
    "common": frozenset(),
    "documents": frozenset({"common"}),
    "storage": frozenset({"common", "documents"}),
    "retrieval": frozenset({"common", "documents", "storage"}),
    "judging": frozenset({"common", "documents", "storage", "retrieval"}),
    "ingestion": frozenset({"common", "documents", "storage", "retrieval"}),
    "reviews": frozenset({"common", "documents", "storage", "retrieval", "judging"}),
}
FACADE = "facade"  # index/*.py: verify, drafts, writer, evaluation (and the package itself)
READS_ONLY = {"judging": "storage"}  # importer -> the concern it may take only frozen records from
NEVER_IN_INDEX = ("flask", "werkzeug")


def concern_of_file(path: Path, root: Path) -> str | None:
    parts = path.relative_to(root).parts
    if parts[0] != "index":
        return None
    return parts[1] if len(parts) > 2 else FACADE


def concern_of_module(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in MAY_IMPORT else FACADE


def imports(tree: ast.AST) -> list[tuple[int, str, list[str]]]:
    """(line, module, names imported from it) for every import of the tree."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"line {node.lineno}: relative import; the rules read absolute ones"
            found.append((node.lineno, node.module or "", [alias.name for alias in node.names]))
    return found


def is_frozen_record(module: str, name: str) -> bool:
    value = getattr(importlib.import_module(module), name, None)
    params = getattr(value, "__dataclass_params__", None)
    return isinstance(value, type) and dataclasses.is_dataclass(value) and bool(params and params.frozen)


def violations(root: Path) -> list[str]:
    """Every import under root/index and root/service that the rules do not allow."""
    found = []
    for path in sorted([*(root / "index").rglob("*.py"), *(root / "service").rglob("*.py")]):
        where = path.relative_to(root)
        importer = concern_of_file(path, root)
        for line, module, names in imports(ast.parse(path.read_text("utf-8"), str(path))):
            top = module.split(".")[0]
            if importer is None:  # service/
                if top == "index" and module != "index":
                    found.append(f"{where}:{line}: service imports {module}; only `from index import …`")
                continue
            if top in NEVER_IN_INDEX:
                found.append(f"{where}:{line}: the engine imports {module}")
            if top != "index" or importer == FACADE:
                continue
            target = concern_of_module(module)
            if module == "index" or target == FACADE:
                found.append(f"{where}:{line}: {importer} imports the facade layer ({module}), above it")
            elif target != importer and target not in MAY_IMPORT[importer]:
                found.append(f"{where}:{line}: {importer} imports {target} ({module}), not allowed")
            elif READS_ONLY.get(importer) == target:
                writes = [n for n in names if not is_frozen_record(module, n)] or ([] if names else [module])
                if writes:
                    found.append(f"{where}:{line}: {importer} takes {', '.join(writes)} from {target}: records only")
    return found


def test_the_engine_and_the_service_keep_the_rules():
    assert violations(ROOT) == []


def test_every_subpackage_of_index_is_a_concern_with_its_rules_stated():
    packages = {p.parent.name for p in (ROOT / "index").glob("*/__init__.py")}
    assert packages == set(MAY_IMPORT)
    for name in packages:
        doc = ast.get_docstring(ast.parse((ROOT / "index" / name / "__init__.py").read_text("utf-8")))
        assert doc and "Import" in doc, f"index/{name}/__init__.py should say what it may import"


def test_index_keeps_at_most_eight_top_level_modules():
    assert len(list((ROOT / "index").glob("*.py"))) <= 8


def test_service_reaches_the_engine_only_through_names_index_exports():
    import index

    for path in (ROOT / "service").rglob("*.py"):
        for line, module, names in imports(ast.parse(path.read_text("utf-8"))):
            for name in names if module == "index" else []:
                assert name in index.__all__, f"{path.name}:{line}: index does not export {name}"
                assert getattr(index, name) is not None


FORBIDDEN = [
    ("index/storage/bad.py", "from index.retrieval.ann import build_vector_index\n", "storage imports retrieval"),
    ("index/common/bad.py", "def f():\n    from index.verify import ClaimVerifier\n", "imports the facade layer"),
    ("index/ingestion/bad.py", "import index.judging.stance\n", "ingestion imports judging"),
    ("index/retrieval/bad.py", "from index import ClaimVerifier\n", "imports the facade layer"),
    ("index/judging/bad.py", "from index.storage.archive import Archive\n", "takes Archive from storage"),
    ("index/judging/bad2.py", "from index.storage import layout\n", "takes layout from storage"),
    ("index/reviews/bad.py", "from index.ingestion.builder import build_index\n", "reviews imports ingestion"),
    ("index/retrieval/bad.py", "import flask\n", "the engine imports flask"),
    ("service/bad.py", "from index.verify import ClaimVerifier\n", "service imports index.verify"),
]
ALLOWED = [
    ("index/judging/ok.py", "from index.storage.archive import ArticleRef, StoredSentence\n"),
    ("index/reviews/ok.py", "from index.judging import stance\nfrom index.retrieval.ann import excluding\n"),
    ("index/ok.py", "from index.ingestion.builder import build_index\n"),
    ("service/ok.py", "from index import ClaimVerifier\nimport flask\n"),
]


@pytest.mark.parametrize(("path", "source", "message"), FORBIDDEN, ids=[f[2] for f in FORBIDDEN])
def test_a_forbidden_import_is_caught(tmp_path, path, source, message):
    for name, allowed in ALLOWED:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(allowed)
    (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / path).write_text(source)
    found = violations(tmp_path)
    assert len(found) == 1 and found[0].startswith(f"{path}:") and message in found[0], found
