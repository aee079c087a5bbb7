"""Claim verification: claim → vector → nearest sentences → evidence → verdict."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import faiss
import numpy as np

from index import layout
from index.embedder import Embedder
from index.store import ArticleRef, SentenceStore

SUPPORTED = "supported"
NOT_FOUND = "not_found"

# Cosine similarity (all-MiniLM-L6-v2) at or above which the best sentence counts as
# support. Calibrated on the supported and not_found claims of tests/data/dev_claims.jsonl
# with `scripts/evaluate.py --calibrate` (midpoint of the widest best-accuracy gap); see README.
DEFAULT_SUPPORT_THRESHOLD = 0.563


class IndexMismatch(ValueError):
    """The index was built with a different embedding model than the one loaded."""


@dataclass(frozen=True)
class Context:
    """The sentences just before and after the evidence in its article."""

    before: str | None
    after: str | None


@dataclass(frozen=True)
class Evidence:
    text: str
    score: float
    article: ArticleRef
    start: int  # article body[start:end] == text
    end: int
    context: Context


@dataclass(frozen=True)
class Verification:
    claim: str
    verdict: str
    evidence: list[Evidence]
    took_ms: float
    warnings: list[str] = field(default_factory=list)


@dataclass
class LoadedIndex:
    """One version of the index, opened for reading."""

    manifest: layout.Manifest
    vectors: faiss.Index
    store: SentenceStore
    directory: Path


def load_index(index_dir: str | Path) -> LoadedIndex:
    """Open the live version of an index; raises with the offending file's name on any problem."""
    directory = layout.current_version_dir(index_dir)
    manifest = layout.Manifest.read(directory)
    vectors_path = directory / layout.VECTORS
    if not vectors_path.is_file():
        raise layout.IndexMissing(f"vector index not found: {vectors_path}")
    try:
        vectors = faiss.read_index(str(vectors_path))
    except RuntimeError as exc:
        raise ValueError(f"vector index is corrupt: {vectors_path}: {str(exc).splitlines()[0]}") from exc
    store = SentenceStore(directory / layout.STORE)
    articles, sentences = store.counts()
    if (articles, sentences, vectors.ntotal, vectors.d) != (
        manifest.articles,
        manifest.sentences,
        manifest.sentences,
        manifest.dimension,
    ):
        raise ValueError(
            f"index files disagree in {directory}: manifest {manifest.articles} articles, "
            f"{manifest.sentences} sentences × {manifest.dimension}d; {vectors_path.name} {vectors.ntotal} × "
            f"{vectors.d}d; {layout.STORE} {articles} articles, {sentences} sentences"
        )
    return LoadedIndex(manifest=manifest, vectors=vectors, store=store, directory=directory)


class ClaimVerifier:
    """Answers claims against one loaded index with one embedder (both loaded once per process)."""

    def __init__(self, embedder: Embedder, index: LoadedIndex, support_threshold: float = DEFAULT_SUPPORT_THRESHOLD):
        if index.manifest.dimension != embedder.dimension or index.manifest.model != embedder.name:
            raise IndexMismatch(
                f"index {index.directory} was built with {index.manifest.model} ({index.manifest.dimension}d) "
                f"but the service loaded {embedder.name} ({embedder.dimension}d); rebuild the index"
            )
        self.embedder = embedder
        self.index = index
        self.support_threshold = support_threshold
        # A torch module is not guaranteed re-entrant across threads; serialise encodes.
        self._encode_lock = threading.Lock()

    def verify_claim(self, claim: str, top_k: int = 5, min_score: float | None = None) -> Verification:
        return self.verify_claims([claim], top_k=top_k, min_score=min_score)[0]

    def verify_claims(
        self, claims: Sequence[str], top_k: int = 5, min_score: float | None = None
    ) -> list[Verification]:
        """Verify several claims, embedding them in one batch."""
        started = time.perf_counter()
        claims = [" ".join(c.split()) for c in claims]
        with self._encode_lock:
            vectors = self.embedder.encode(claims)
            truncated = self.embedder.truncated(claims)
        k = min(top_k, self.index.vectors.ntotal)
        scores, ids = self.index.vectors.search(vectors, k) if k else (np.zeros((len(claims), 0)), None)
        wanted = sorted({int(i) for row in (ids if ids is not None else []) for i in row if i >= 0})
        sentences = self.index.store.sentences(wanted)
        took_ms = (time.perf_counter() - started) * 1000
        results = []
        for row, claim in enumerate(claims):
            evidence = []
            for col in range(k):
                sid, score = int(ids[row, col]), float(scores[row, col])
                if sid < 0 or sid not in sentences or (min_score is not None and score < min_score):
                    continue
                s = sentences[sid]
                evidence.append(
                    Evidence(s.text, round(score, 4), s.article, s.start, s.end, Context(s.before, s.after))
                )
            best = evidence[0].score if evidence else 0.0
            warnings = []
            if truncated[row]:
                warnings.append(
                    f"the claim is longer than the model reads ({self.embedder.max_tokens} word pieces); "
                    "only its beginning was compared"
                )
            results.append(
                Verification(
                    claim=claim,
                    verdict=SUPPORTED if best >= self.support_threshold else NOT_FOUND,
                    evidence=evidence,
                    took_ms=round(took_ms, 2),
                    warnings=warnings,
                )
            )
        return results

    def stats(self) -> dict:
        m = self.index.manifest
        return {
            "version": m.version,
            "articles": m.articles,
            "sentences": m.sentences,
            "model": m.model,
            "dimension": m.dimension,
            "built_at": m.built_at,
        }
