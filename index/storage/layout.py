"""On-disk layout of an index directory, and the atomic switch between versions.

    INDEX_DIR/
      archive.sqlite           the source of truth: articles, sentences, vectors (index/storage/archive.py)
      CURRENT                  name of the live version (replaced atomically)
      versions/<version>/      a snapshot of the archive at one generation, for fast search
        manifest.json          model, dimension, generation, counts, sha256 of every file
        vectors.faiss          FAISS inner-product index, ids = sentence ids
        lexical/               BM25 index (Tantivy, memory-mapped; lexical.json: its engine and format)

A snapshot is written to a new `versions/.building-*` directory beside the live one
and only then renamed and pointed at by `CURRENT`, so a build that crashes or is
killed leaves the previous version serving. Writes between snapshots live only in
the archive; readers add them on top of the snapshot (index/retrieval/live.py).
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from index.common.fileio import fsync_path, sha256_file, write_durably

CURRENT = "CURRENT"
VERSIONS = "versions"
MANIFEST = "manifest.json"
VECTORS = "vectors.faiss"
LEXICAL = "lexical"  # a Tantivy index (index/retrieval/lexical.py)
# 3: snapshot of archive.sqlite at a generation, with checksums; 4: the lexical index on Tantivy
FORMAT = 4


class IndexMissing(FileNotFoundError):
    """No usable index at the given directory."""


class CorruptIndex(ValueError):
    """An index file is damaged; the message names it."""


@dataclass(frozen=True)
class Manifest:
    version: str
    model: str
    dimension: int
    articles: int
    sentences: int
    built_at: str  # ISO 8601, UTC
    build_seconds: float
    generation: int  # the archive generation this snapshot holds
    files: dict[str, str]  # relative path -> sha256, checked when the version is loaded
    truncated_sentences: int = 0
    vector_index: str = "IDMap2,Flat"  # FAISS index type (index/retrieval/ann.py)
    format: int = FORMAT

    def write(self, directory: Path) -> None:
        write_durably(directory / MANIFEST, json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def read(cls, directory: Path) -> Manifest:
        path = directory / MANIFEST
        try:
            data = json.loads(path.read_text("utf-8"))
            return cls(**data)
        except FileNotFoundError as exc:
            raise IndexMissing(f"manifest not found: {path}") from exc
        except (ValueError, TypeError) as exc:
            raise CorruptIndex(f"manifest is corrupt: {path}: {exc}") from exc


def file_checksums(directory: Path) -> dict[str, str]:
    """sha256 of every file of a version (the manifest aside), by path relative to it."""
    return {
        str(path.relative_to(directory)): sha256_file(path)
        for path in sorted(directory.rglob("*"))
        if path.is_file() and path.name != MANIFEST
    }


def verify_checksums(directory: Path, expected: dict[str, str]) -> None:
    """Raise `CorruptIndex` naming the first file that is missing, truncated or altered."""
    for name, digest in expected.items():
        path = directory / name
        if not path.is_file():
            raise CorruptIndex(f"index file missing: {path}")
        if sha256_file(path) != digest:
            raise CorruptIndex(f"index file is corrupt (checksum mismatch): {path}")


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
        fsync_path(file)
    final = index_dir / VERSIONS / version
    os.rename(building_dir, final)
    fsync_path(final.parent)
    write_durably(index_dir / CURRENT, version + "\n")
    _remove_old_versions(index_dir, keep=keep)
    return final


def version_dirs(index_dir: Path) -> list[Path]:
    """Every published version, oldest first."""
    return sorted(p for p in (index_dir / VERSIONS).iterdir() if p.is_dir() and not p.name.startswith("."))


def _remove_old_versions(index_dir: Path, keep: int) -> None:
    """Keep the live version and the newest few before it (a process may still be reading one)."""
    live = (index_dir / CURRENT).read_text("utf-8").strip()
    old = [p for p in version_dirs(index_dir) if p.name != live]
    for path in old[: max(0, len(old) - (keep - 1))]:
        shutil.rmtree(path, ignore_errors=True)


def remove_abandoned_builds(index_dir: Path) -> None:
    """Delete `.building-*` directories left by builds that crashed or were killed."""
    versions = index_dir / VERSIONS
    if versions.is_dir():
        for path in versions.glob(".building-*"):
            shutil.rmtree(path, ignore_errors=True)
