"""Building an index version: articles → sentences → vectors → FAISS + SQLite → publish."""

from __future__ import annotations

import fcntl
import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import faiss
import numpy as np

from index import layout
from index.embedder import Embedder
from index.ingest import IngestProblem, read_articles
from index.lexical import LexicalIndex
from index.sentences import article_sentences
from index.store import SentenceStore

# Vectors are embedded and added in chunks so memory stays flat for large corpora.
CHUNK_SENTENCES = 4096


class NothingToIndex(ValueError):
    """No input produced a single sentence; `problems` says why each input was skipped."""

    def __init__(self, problems: list[IngestProblem]):
        super().__init__("no article could be indexed")
        self.problems = problems


@dataclass
class BuildReport:
    version: str
    directory: Path
    articles: int
    sentences: int
    seconds: float
    duplicates: int = 0
    truncated_sentences: int = 0
    problems: list[IngestProblem] = field(default_factory=list)

    @property
    def sentences_per_second(self) -> float:
        return self.sentences / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        return (
            f"indexed {self.articles} articles, {self.sentences} sentences in {self.seconds:.1f}s "
            f"({self.sentences_per_second:.0f} sentences/s); version {self.version}; "
            f"{len(self.problems)} skipped, {self.duplicates} duplicates"
        )


def new_faiss_index(dimension: int) -> faiss.Index:
    """Exact inner-product search over normalised vectors (= cosine), with our own ids."""
    return faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))


@contextmanager
def _build_lock(index_dir: Path):
    """One build at a time per index directory (a second one fails instead of racing)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".build.lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise RuntimeError(f"another build is running on {index_dir}") from exc
        yield


def build_index(
    paths: Iterable[str | Path],
    index_dir: str | Path,
    embedder: Embedder,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> BuildReport:
    """Build a new version of the index from article files and make it live atomically.

    `on_total(n)` is called once the sentence count is known, `progress(k)` after each
    chunk of k sentences is embedded (for a progress bar).
    """
    started = time.perf_counter()
    index_dir = Path(index_dir)
    ingest = read_articles(paths)
    per_article = [(article, article_sentences(article)) for article in ingest.articles]
    per_article = [(a, s) for a, s in per_article if s]
    texts = [s.text for _, sentences in per_article for s in sentences]
    if not texts:
        raise NothingToIndex(ingest.problems)
    if on_total:
        on_total(len(texts))

    version = layout.new_version_id()
    with _build_lock(index_dir):
        layout.remove_abandoned_builds(index_dir)
        building = layout.new_version_dir(index_dir, version)
        store = SentenceStore.create(building / layout.STORE)
        store.add_articles(per_article)
        store.close()

        vectors = new_faiss_index(embedder.dimension)
        for first in range(0, len(texts), CHUNK_SENTENCES):
            chunk = texts[first : first + CHUNK_SENTENCES]
            vectors.add_with_ids(embedder.encode(chunk), np.arange(first, first + len(chunk), dtype=np.int64))
            if progress:
                progress(len(chunk))
        faiss.write_index(vectors, str(building / layout.VECTORS))
        LexicalIndex.build(texts).save(building / layout.LEXICAL)

        truncated = sum(embedder.truncated(texts))
        seconds = time.perf_counter() - started
        layout.Manifest(
            version=version,
            model=embedder.name,
            dimension=embedder.dimension,
            articles=len(per_article),
            sentences=len(texts),
            built_at=datetime.now(UTC).isoformat(timespec="seconds"),
            build_seconds=round(seconds, 3),
            truncated_sentences=truncated,
        ).write(building)
        final = layout.publish(index_dir, building, version)
    return BuildReport(
        version=version,
        directory=final,
        articles=len(per_article),
        sentences=len(texts),
        seconds=time.perf_counter() - started,
        duplicates=ingest.duplicates,
        truncated_sentences=truncated,
        problems=ingest.problems,
    )
