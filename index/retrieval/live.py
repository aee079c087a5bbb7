"""`LiveIndex`: what a serving process searches: the newest snapshot plus the archive's changes since.

A snapshot (`versions/<version>/`, see layout.py) holds FAISS and BM25 over every sentence
live at one archive generation. Writes after it exist only in the archive; an `IndexView`
adds them on top: sentences added since the snapshot go into a small in-memory delta
index, and the snapshot's sentences retired since are filtered out of its results. So a
view at generation g answers as a full rebuild at g would (up to BM25's term statistics,
which for the snapshot's own sentences stay those of the snapshot until the next one).

`LiveIndex.view()` is called once per request. It costs two tiny reads (the CURRENT
pointer and the archive's generation) and builds a new view only when either moved, so
a write committed by any process is visible to every process's next request. Requests
already running keep the view they started with.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

import faiss
import numpy as np

from index.common.observe import observer
from index.retrieval import ann
from index.retrieval.lexical import LexicalDelta, LexicalIndex
from index.storage import layout
from index.storage.archive import Archive
from index.storage.postgres import ArchiveUnavailable, PostgresArchive

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Snapshot:
    """One version of the index, opened for reading."""

    manifest: layout.Manifest
    directory: Path
    vectors: faiss.Index
    lexical: LexicalIndex


def load_snapshot(directory: Path) -> Snapshot:
    """Open a version directory; raises naming the offending file if anything is missing or damaged."""
    manifest = layout.Manifest.read(directory)
    if manifest.format != layout.FORMAT:
        raise layout.CorruptIndex(
            f"index format {manifest.format} in {directory} is not {layout.FORMAT}: write a new snapshot of the "
            "archive with scripts/build_index.py --out INDEX_DIR --snapshot (nothing is embedded)"
        )
    layout.verify_checksums(directory, manifest.files)
    vectors_path = directory / layout.VECTORS
    try:
        # Memory-mapped: every worker reads the same pages of the file instead of holding a copy.
        vectors = ann.read_vector_index(vectors_path, mmap=True)
    except RuntimeError as exc:
        raise layout.CorruptIndex(f"vector index is corrupt: {vectors_path}: {str(exc).splitlines()[0]}") from exc
    lexical = LexicalIndex.load(directory / layout.LEXICAL)
    if (vectors.ntotal, lexical.size, vectors.d) != (manifest.sentences, manifest.sentences, manifest.dimension):
        raise layout.CorruptIndex(
            f"index files disagree in {directory}: manifest {manifest.sentences} sentences × {manifest.dimension}d; "
            f"{layout.VECTORS} {vectors.ntotal} × {vectors.d}d; {layout.LEXICAL} {lexical.size}"
        )
    return Snapshot(manifest=manifest, directory=directory, vectors=vectors, lexical=lexical)


@dataclass(frozen=True)
class Filter:
    """Restricts a search to these sentence ids (already resolved from the article filters)."""

    ids: np.ndarray
    # FAISS keeps a raw pointer to the selector; holding it here keeps it alive.
    _selector: faiss.IDSelector = field(repr=False)

    @classmethod
    def of(cls, ids: np.ndarray) -> Filter:
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        return cls(ids, faiss.IDSelectorBatch(ids))


@dataclass(frozen=True)
class IndexView:
    """The index as of one archive generation: snapshot minus retired sentences, plus the delta."""

    snapshot: Snapshot
    generation: int
    retired: np.ndarray  # snapshot sentence ids no longer live at `generation`
    articles: int  # live articles
    delta_vectors: faiss.Index
    delta_lexical: LexicalDelta
    _keep_alive: tuple = field(default=(), repr=False)
    _base_params: faiss.SearchParameters | None = field(default=None, repr=False)

    @property
    def version(self) -> str:
        return self.snapshot.manifest.version

    @property
    def delta_size(self) -> int:
        """Sentences written since the snapshot (a new snapshot folds them in)."""
        return int(self.delta_vectors.ntotal)

    @property
    def size(self) -> int:
        return int(self.snapshot.vectors.ntotal - len(self.retired) + self.delta_vectors.ntotal)

    def dense(self, vectors: np.ndarray, k: int, allowed: Filter | None = None) -> list[list[tuple[int, float]]]:
        """Per query vector, up to k (sentence id, cosine) pairs, best first."""
        # The filter's ids are all live, so it replaces the snapshot's retired-ids exclusion.
        base_params, delta_params = self._base_params, None
        if allowed is not None:
            base_params = ann.search_parameters(self.snapshot.vectors, allowed._selector, exhaustive=True)
            delta_params = faiss.SearchParameters(sel=allowed._selector)
        searches = ((self.snapshot.vectors, base_params), (self.delta_vectors, delta_params))
        results: list[list[tuple[int, float]]] = [[] for _ in range(len(vectors))]
        for index, params in searches:
            depth = min(k, index.ntotal)
            if depth == 0:
                continue
            scores, ids = index.search(vectors, depth, params=params)
            for row in range(len(vectors)):
                results[row].extend((int(i), float(s)) for i, s in zip(ids[row], scores[row], strict=True) if i >= 0)
        return [sorted(row, key=lambda pair: -pair[1])[:k] for row in results]

    def lexical(self, queries: list[str], k: int, allowed: Filter | None = None) -> list[list[tuple[int, float]]]:
        """Per query, up to k (sentence id, BM25 score) pairs, best first."""
        base = self.snapshot.lexical
        # The filter's ids are all live, so it replaces the retired ids' exclusion.
        if allowed is None:
            results = base.search(queries, k, excluded=self.retired)
        else:
            results = base.search(queries, k, allowed=allowed.ids)
        if self.delta_lexical.size:
            delta_allowed = None if allowed is None else allowed.ids
            for row, found in enumerate(self.delta_lexical.search(queries, k, delta_allowed)):
                results[row] = sorted(results[row] + found, key=lambda pair: -pair[1])[:k]
        return results


def build_view(snapshot: Snapshot, archive: Archive, generation: int) -> IndexView:
    """The view at `generation`: what changed in the archive since the snapshot, applied on top of it."""
    base = snapshot.manifest.generation
    if generation < base:
        raise layout.CorruptIndex(
            f"snapshot {snapshot.directory} is at generation {base} but {archive.path} only at {generation}"
        )
    retired = archive.retired_ids(added_up_to=base, retired_after=base, retired_up_to=generation)
    added = archive.live_rows(generation, added_after=base)
    delta_vectors = ann.new_exact_index(snapshot.manifest.dimension)
    if len(added.ids):
        ann.add_vectors(delta_vectors, added.vectors, added.ids)
    delta_lexical = LexicalDelta(snapshot.lexical, added.texts, added.ids)
    params, keep_alive = ann.excluding(snapshot.vectors, retired)
    return IndexView(
        snapshot=snapshot,
        generation=generation,
        retired=retired,
        articles=archive.live_articles(),
        delta_vectors=delta_vectors,
        delta_lexical=delta_lexical,
        _keep_alive=keep_alive,
        _base_params=params,
    )


class LiveIndex:
    """The index of one directory as one process serves it; `view()` per request."""

    def __init__(self, index_dir: str | Path, primary: PostgresArchive | None = None):
        self.index_dir = Path(index_dir)
        directory = layout.current_version_dir(self.index_dir)
        self.archive = Archive.open(self.index_dir, primary=primary)
        self.archive.check()
        # A schema this release cannot read leaves the worker not ready (SchemaMismatch names the
        # fix). An archive out of reach does not: reads are answered from the replica.
        try:
            self.archive.catch_up()  # what was written while this host was away
        except ArchiveUnavailable as exc:
            log.warning("serving reads from this host's replica; writes answer 503 until it returns: %s", exc)
        snapshot = load_snapshot(directory)
        self._view = build_view(snapshot, self.archive, self.archive.generation())
        self._lock = threading.Lock()
        self._failed_version: str | None = None
        self.reload_error: str | None = None  # why the newest snapshot is not the one in use

    @property
    def manifest(self) -> layout.Manifest:
        return self._view.snapshot.manifest

    def view(self) -> IndexView:
        """The current view, refreshed first if the archive or the CURRENT snapshot moved."""
        current = self._view
        version = self._current_version()
        generation = self.archive.generation()
        if generation == current.generation and version in (current.version, self._failed_version):
            return current
        with self._lock:
            current = self._view
            snapshot = current.snapshot
            if version not in (current.version, self._failed_version):
                snapshot = self._load_newer(version) or snapshot
            generation = self.archive.generation()
            if snapshot is not current.snapshot or generation != current.generation:
                self._view = build_view(snapshot, self.archive, generation)
            return self._view

    def reload(self) -> IndexView:
        """Re-read CURRENT and retry a snapshot that failed to load (e.g. after SIGHUP)."""
        self._failed_version = None
        return self.view()

    def _current_version(self) -> str | None:
        try:
            return (self.index_dir / layout.CURRENT).read_text("utf-8").strip()
        except OSError:
            return None

    def _load_newer(self, version: str | None) -> Snapshot | None:
        """Load the snapshot CURRENT names; on failure keep serving the old one and say why."""
        try:
            snapshot = load_snapshot(layout.current_version_dir(self.index_dir))
        except (OSError, ValueError) as exc:
            self._failed_version = version
            self.reload_error = f"{type(exc).__name__}: {exc}"
            log.error("new index version not loaded, still serving %s: %s", self._view.version, self.reload_error)
            observer().reload_failed()
            return None
        self._failed_version = None
        self.reload_error = None
        log.info("index version %s loaded (generation %d)", snapshot.manifest.version, snapshot.manifest.generation)
        return snapshot


def load_index(index_dir: str | Path, primary: PostgresArchive | None = None) -> LiveIndex:
    """Open an index directory for serving; raises naming the offending file on any problem.
    With `primary`, the directory's archive is a replica of that shared archive."""
    return LiveIndex(index_dir, primary)
