"""On-disk layout of an index directory, and the atomic switch between versions.

    INDEX_DIR/
      CURRENT                  name of the live version (replaced atomically)
      versions/<version>/
        manifest.json          model, dimension, counts, build time, version id
        vectors.faiss          FAISS inner-product index, ids = sentence ids
        lexical/               BM25 index (bm25s), document i = sentence id i
        store.sqlite           articles and sentences

A build writes a new `versions/<version>/` beside the live one and only then
points `CURRENT` at it, so a build that crashes or is killed leaves the previous
version serving.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

CURRENT = "CURRENT"
VERSIONS = "versions"
MANIFEST = "manifest.json"
VECTORS = "vectors.faiss"
STORE = "store.sqlite"
LEXICAL = "lexical"  # bm25s files
FORMAT = 2  # 2: adds the lexical (BM25) index


class IndexMissing(FileNotFoundError):
    """No usable index at the given directory."""


@dataclass(frozen=True)
class Manifest:
    version: str
    model: str
    dimension: int
    articles: int
    sentences: int
    built_at: str  # ISO 8601, UTC
    build_seconds: float
    truncated_sentences: int = 0
    format: int = FORMAT

    def write(self, directory: Path) -> None:
        _write_durably(directory / MANIFEST, json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def read(cls, directory: Path) -> Manifest:
        path = directory / MANIFEST
        try:
            data = json.loads(path.read_text("utf-8"))
            return cls(**data)
        except FileNotFoundError as exc:
            raise IndexMissing(f"manifest not found: {path}") from exc
        except (ValueError, TypeError) as exc:
            raise ValueError(f"manifest is corrupt: {path}: {exc}") from exc


def new_version_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ") + "-" + uuid.uuid4().hex[:6]  # sorts by build time


def new_version_dir(index_dir: Path, version: str) -> Path:
    """A fresh directory for a version being built (not live until `publish`)."""
    path = index_dir / VERSIONS / f".building-{version}"
    path.mkdir(parents=True)
    return path


def current_version_dir(index_dir: str | Path) -> Path:
    """The directory of the live version; `IndexMissing` if there is none."""
    index_dir = Path(index_dir)
    pointer = index_dir / CURRENT
    try:
        version = pointer.read_text("utf-8").strip()
    except FileNotFoundError as exc:
        raise IndexMissing(
            f"no index at {index_dir} (missing {pointer}); build one with scripts/build_index.py"
        ) from exc
    path = index_dir / VERSIONS / version
    if not version or not path.is_dir():
        raise IndexMissing(f"{pointer} names version {version!r}, but {path} does not exist")
    return path


def publish(index_dir: Path, building_dir: Path, version: str, keep: int = 2) -> Path:
    """Make a finished build live: fsync it, rename it into place, swap CURRENT atomically."""
    for file in building_dir.rglob("*"):
        _fsync_path(file)
    final = index_dir / VERSIONS / version
    os.rename(building_dir, final)
    _fsync_path(final.parent)
    _write_durably(index_dir / CURRENT, version + "\n")
    _remove_old_versions(index_dir, keep=keep)
    return final


def _remove_old_versions(index_dir: Path, keep: int) -> None:
    """Keep the live version and the newest few before it (a process may still be reading one)."""
    live = (index_dir / CURRENT).read_text("utf-8").strip()
    versions = sorted(p for p in (index_dir / VERSIONS).iterdir() if p.is_dir() and not p.name.startswith("."))
    old = [p for p in versions if p.name != live]
    for path in old[: max(0, len(old) - (keep - 1))]:
        shutil.rmtree(path, ignore_errors=True)


def remove_abandoned_builds(index_dir: Path) -> None:
    """Delete `.building-*` directories left by builds that crashed or were killed."""
    versions = index_dir / VERSIONS
    if versions.is_dir():
        for path in versions.glob(".building-*"):
            shutil.rmtree(path, ignore_errors=True)


def _write_durably(path: Path, text: str) -> None:
    """Write via a temporary file + fsync + rename, so readers see the old or the new file, never half."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_path(path.parent)


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
