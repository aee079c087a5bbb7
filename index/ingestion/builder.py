"""Building the index: articles → sentences → vectors → archive, and archive → snapshot → publish."""

from __future__ import annotations

import fcntl
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import faiss
import numpy as np

from index.documents.articles import Article
from index.documents.sentences import Sentence, article_sentences
from index.ingestion.ingest import IngestProblem, IngestResult, read_articles
from index.retrieval import ann
from index.retrieval.embedder import Embedder
from index.retrieval.lexical import LexicalIndex
from index.storage import layout
from index.storage.archive import Archive, PreparedArticle, content_hash
from index.storage.postgres import PostgresArchive

# Vectors are embedded and added in chunks so memory stays flat for large corpora.
CHUNK_SENTENCES = 4096

# The two steps a build can hand to other machines (index/ingestion/ray_build.py supplies both); the
# archive and the snapshot are always written here, by the one process that runs the build.
# Reading and splitting: every input's articles and problems, each article with its sentences.
SplitInputs = Callable[[Iterable[str | Path]], tuple[IngestResult, list[tuple[Article, list[Sentence]]]]]
# Embedding: vectors for `texts`, yielded in parts as (positions in `texts`, their vectors), in
# any order; the progress bar moves by each part.
EncodeTexts = Callable[[Sequence[str]], Iterable[tuple[np.ndarray, np.ndarray]]]


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
    embedded: int = 0  # sentences embedded by this build (the rest were already stored)
    unchanged: int = 0  # articles already stored with the same content

    @property
    def sentences_per_second(self) -> float:
        return self.sentences / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        return (
            f"indexed {self.articles} articles, {self.sentences} sentences in {self.seconds:.1f}s "
            f"({self.sentences_per_second:.0f} sentences/s); version {self.version}; "
            f"{self.embedded} sentences embedded, {self.unchanged} articles unchanged, "
            f"{len(self.problems)} skipped, {self.duplicates} duplicates"
        )


@contextmanager
def _build_lock(index_dir: Path, wait: bool):
    """One snapshot writer at a time per index directory."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".build.lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise SnapshotBusy(f"another build is running on {index_dir}") from exc
        yield


class SnapshotBusy(RuntimeError):
    """Another process is writing a snapshot of this index directory."""


def split_inputs(paths: Iterable[str | Path]) -> tuple[IngestResult, list[tuple[Article, list[Sentence]]]]:
    """Read the inputs and split every article into sentences, in this process."""
    ingest = read_articles(paths)
    return ingest, [(article, article_sentences(article)) for article in ingest.articles]


def encode_locally(embedder: Embedder) -> EncodeTexts:
    """Embedding in this process, CHUNK_SENTENCES texts at a time."""

    def encode(texts: Sequence[str]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for first in range(0, len(texts), CHUNK_SENTENCES):
            chunk = texts[first : first + CHUNK_SENTENCES]
            yield np.arange(first, first + len(chunk)), embedder.encode(chunk)

    return encode


def prepare_articles(
    items: Sequence[tuple[Article, Sequence[Sentence]]],
    embedder: Embedder,
    archive: Archive | None = None,
    progress: Callable[[int], None] | None = None,
    encode: EncodeTexts | None = None,
) -> tuple[list[PreparedArticle], int]:
    """Embed the sentences of articles; returns them and how many texts were embedded.

    A sentence already stored for the same article keeps its vector, and a text that
    occurs several times is embedded once. `encode` embeds the new texts (default: `embedder`,
    here); `embedder` still names the model and tells which sentences it truncates."""
    known: dict[str, np.ndarray] = {}
    if archive is not None:
        for article, _ in items:
            known.update(archive.known_vectors(article.id))
    # Similar lengths in one batch waste the least padding.
    new_texts = sorted({s.text for _, sentences in items for s in sentences} - known.keys(), key=len)
    done = np.zeros(len(new_texts), dtype=bool)
    for positions, vectors in (encode or encode_locally(embedder))(new_texts):
        if len(positions) != len(vectors) or done[positions].any():
            raise RuntimeError(f"the encoder gave {len(vectors)} vectors for {len(positions)} texts, or a text twice")
        done[positions] = True
        known.update(zip((new_texts[i] for i in positions), vectors, strict=True))
        if progress:
            progress(len(positions))
    if not done.all():
        raise RuntimeError(f"the encoder returned no vector for {int((~done).sum())} of {len(new_texts)} texts")
    truncated = dict(zip(new_texts, embedder.truncated(new_texts), strict=True))
    dimension = embedder.dimension
    prepared = [
        PreparedArticle(
            article,
            sentences,
            np.array([known[s.text] for s in sentences], dtype=np.float32).reshape(len(sentences), dimension),
            [truncated.get(s.text, False) for s in sentences],
        )
        for article, sentences in items
    ]
    return prepared, len(new_texts)


def build_index(
    paths: Iterable[str | Path],
    index_dir: str | Path,
    embedder: Embedder,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
    split: SplitInputs = split_inputs,
    encode: EncodeTexts | None = None,
    primary: PostgresArchive | None = None,
) -> BuildReport:
    """Add or replace articles from files in the archive, then write a new snapshot and make it live.

    Articles whose content is unchanged are not embedded again; articles posted over HTTP
    are kept. `on_total(n)` is called with the number of sentences to embed, `progress(k)`
    after each chunk of k (for a progress bar). `split` and `encode` read and embed
    elsewhere (index/ingestion/ray_build.py); the archive and the snapshot are written here either way.
    With `primary` the articles go to the shared archive, and `index_dir` is this host's replica.
    """
    started = time.perf_counter()
    index_dir = Path(index_dir)
    ingest, per_article = split(paths)
    per_article = [(a, s) for a, s in per_article if s]
    if not per_article:
        raise NothingToIndex(ingest.problems)
    archive = Archive.open(index_dir, create=True, primary=primary)
    archive.catch_up()  # its stored vectors: nothing already in the shared archive is embedded again
    archive.check_model(embedder.name, embedder.dimension)  # before embedding anything
    hashes = archive.content_hashes()
    changed = [(a, s) for a, s in per_article if hashes.get(a.id) != content_hash(a)]
    if on_total:
        on_total(len({s.text for _, sentences in changed for s in sentences}))
    prepared, embedded = prepare_articles(changed, embedder, archive, progress, encode)
    archive.put_articles(prepared, model=embedder.name)
    manifest = write_snapshot(index_dir, archive, model=embedder.name)
    sentences = sum(len(s) for _, s in per_article)
    return BuildReport(
        version=manifest.version,
        directory=index_dir / layout.VERSIONS / manifest.version,
        articles=len(per_article),
        sentences=sentences,
        seconds=time.perf_counter() - started,
        duplicates=ingest.duplicates,
        truncated_sentences=manifest.truncated_sentences,
        problems=ingest.problems,
        embedded=embedded,
        unchanged=len(per_article) - len(changed),
    )


@dataclass
class ReplicaReport:
    version: str
    generation: int
    articles: int
    sentences: int
    copy_seconds: float  # the shared archive's rows into the local replica
    snapshot_seconds: float  # FAISS and BM25 from the stored vectors

    def summary(self) -> str:
        return (
            f"replicated {self.articles} articles, {self.sentences} sentences at generation {self.generation} "
            f"in {self.copy_seconds:.1f}s; snapshot {self.version} in {self.snapshot_seconds:.1f}s (nothing embedded)"
        )


def build_from_archive(primary: PostgresArchive, index_dir: str | Path) -> ReplicaReport:
    """A host's replica and snapshot from the shared archive's stored vectors: how a new host
    joins, and how one too far behind catches up, without loading the model."""
    started = time.perf_counter()
    archive = Archive.open(index_dir, create=True, primary=primary)
    archive.catch_up()
    if archive.model() is None:
        raise ValueError(
            f"the shared archive {primary.display} holds no sentences yet: build into it first "
            "(scripts/build_index.py --archive URL --out DIR FILES)"
        )
    copied = time.perf_counter()
    manifest = write_snapshot(index_dir, archive)
    return ReplicaReport(
        version=manifest.version,
        generation=manifest.generation,
        articles=manifest.articles,
        sentences=manifest.sentences,
        copy_seconds=copied - started,
        snapshot_seconds=time.perf_counter() - copied,
    )


def write_snapshot(
    index_dir: str | Path, archive: Archive, model: str | None = None, wait: bool = True
) -> layout.Manifest:
    """Write FAISS and BM25 over every sentence live now as a new version, make it live, and
    drop archive rows that no kept version needs. `SnapshotBusy` if another is being written
    and `wait` is False."""
    started = time.perf_counter()
    index_dir = Path(index_dir)
    with _build_lock(index_dir, wait):
        layout.remove_abandoned_builds(index_dir)
        # Rows are filtered by generation, so writes committing meanwhile simply land in the next snapshot.
        generation = archive.generation()
        rows = archive.live_rows(generation)
        articles = archive.live_articles()
        stored_model, dimension = archive.model() or (model or "", rows.vectors.shape[1])
        version = layout.new_version_id()
        building = layout.new_version_dir(index_dir, version)
        # Exact search for small archives, IVF-Flat above ann.FLAT_MAX_VECTORS, IVF-PQ with a refine
        # step from ann.REFINE_MIN_VECTORS (measured, see index/retrieval/ann.py).
        spec = ann.choose_index_spec(len(rows.ids))
        vectors = ann.build_vector_index(rows.vectors.reshape(-1, dimension), rows.ids, spec)
        faiss.write_index(vectors, str(building / layout.VECTORS))
        LexicalIndex.build(rows.texts, rows.ids, directory=building / layout.LEXICAL)
        manifest = layout.Manifest(
            version=version,
            model=stored_model,
            dimension=dimension,
            articles=articles,
            sentences=len(rows.ids),
            built_at=datetime.now(UTC).isoformat(timespec="seconds"),
            build_seconds=round(time.perf_counter() - started, 3),
            generation=generation,
            files=layout.file_checksums(building),
            truncated_sentences=rows.truncated,
            vector_index=spec,
        )
        manifest.write(building)
        layout.publish(index_dir, building, version)
        # Rows retired before the oldest kept version are in no index any process may still use.
        kept = [layout.Manifest.read(path).generation for path in layout.version_dirs(index_dir)]
        archive.collect_garbage(min(kept))
        archive.checkpoint()
    return manifest
