"""Claim verification: claim → vector → nearest sentences → evidence → verdict."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import faiss
import numpy as np

from index import layout
from index.checks import run_checks
from index.embedder import Embedder
from index.lexical import LexicalIndex, reciprocal_rank_fusion
from index.nli import NliScorer
from index.stance import (
    RELATED_THRESHOLD,
    SAME_TOPIC_THRESHOLD,
    Context,
    Evidence,
    decide_verdict,
    nli_findings,
    stance_of,
)
from index.store import SentenceStore

# Sentences this similar in different articles are the same report (wire copy, light edits).
DUPLICATE_COSINE = 0.97
DUPLICATE_HEADROOM = 3
# Cosine similarity (all-MiniLM-L6-v2) at or above which the best sentence counts as
# support. Calibrated on the supported and not_found claims of tests/data/dev_claims.jsonl
# with `scripts/evaluate.py --calibrate` (midpoint of the widest best-accuracy gap); see README.
DEFAULT_SUPPORT_THRESHOLD = 0.542


RETRIEVAL_MODES = ("hybrid", "dense")
# How deep each ranking (dense, lexical) goes before fusion.
CANDIDATES = 50
# Fused candidates this far below the best cosine are ranked after the rest, by cosine.
FUSION_COSINE_MARGIN = 0.25


def _normalise_text(text: str) -> str:
    return " ".join("".join(ch for ch in text.lower() if ch.isalnum() or ch.isspace()).split())


class IndexMismatch(ValueError):
    """The index was built with a different embedding model than the one loaded."""


@dataclass(frozen=True)
class Verification:
    claim: str
    verdict: str
    confidence: float
    evidence: list[Evidence]
    took_ms: float
    decided_by: int | None = None  # index into `evidence` of the item that decided the verdict
    warnings: list[str] = field(default_factory=list)


@dataclass
class LoadedIndex:
    """One version of the index, opened for reading."""

    manifest: layout.Manifest
    vectors: faiss.Index
    lexical: LexicalIndex
    store: SentenceStore
    directory: Path


def load_index(index_dir: str | Path) -> LoadedIndex:
    """Open the live version of an index; raises with the offending file's name on any problem."""
    directory = layout.current_version_dir(index_dir)
    manifest = layout.Manifest.read(directory)
    if manifest.format != layout.FORMAT:
        raise ValueError(f"index format {manifest.format} in {directory} is not {layout.FORMAT}; rebuild the index")
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
    lexical = LexicalIndex.load(directory / layout.LEXICAL, size=manifest.sentences)
    return LoadedIndex(manifest=manifest, vectors=vectors, lexical=lexical, store=store, directory=directory)


class ClaimVerifier:
    """Answers claims against one loaded index with one embedder (both loaded once per process)."""

    def __init__(
        self,
        embedder: Embedder,
        index: LoadedIndex,
        support_threshold: float = DEFAULT_SUPPORT_THRESHOLD,
        retrieval: str = "hybrid",
        nli: NliScorer | None = None,
    ):
        if retrieval not in RETRIEVAL_MODES:
            raise ValueError(f"retrieval must be one of {RETRIEVAL_MODES}, not {retrieval!r}")
        if index.manifest.dimension != embedder.dimension or index.manifest.model != embedder.name:
            raise IndexMismatch(
                f"index {index.directory} was built with {index.manifest.model} ({index.manifest.dimension}d) "
                f"but the service loaded {embedder.name} ({embedder.dimension}d); rebuild the index"
            )
        self.embedder = embedder
        self.index = index
        self.support_threshold = support_threshold
        self.retrieval = retrieval
        self.nli = nli
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
        # Retrieve deeper than asked: near-duplicates collapse into one item below.
        candidates = self.retrieve(claims, vectors, top_k * DUPLICATE_HEADROOM)
        sentences = self.index.store.sentences(sorted({sid for row in candidates for sid, _ in row}))
        results = []
        for row, claim in enumerate(claims):
            kept = [
                (sid, score)
                for sid, score in candidates[row]
                if sid in sentences and (min_score is None or score >= min_score)
            ]
            evidence = []
            groups = self._collapse_duplicates(kept, sentences)[:top_k]
            nli_reasons = nli_findings(self.nli, claim, [sentences[g[0][0]].text for g in groups])
            for group, nli_reason in zip(groups, nli_reasons, strict=True):
                (sid, score), copies = group[0], group[1:]
                s = sentences[sid]
                context = s.before or ""  # resolves "he" / "the talks" to the names one sentence back
                reasons = run_checks(claim, s.text, context, same_topic=score >= SAME_TOPIC_THRESHOLD)
                if nli_reason is not None and score >= RELATED_THRESHOLD:
                    reasons.append(nli_reason)
                evidence.append(
                    Evidence(
                        s.text,
                        round(score, 4),
                        s.article,
                        s.start,
                        s.end,
                        Context(s.before, s.after),
                        stance=stance_of(score, reasons, self.support_threshold),
                        reasons=reasons,
                        also_in=[sentences[c].article for c, _ in copies],
                    )
                )
            verdict, confidence, decided_by = decide_verdict(evidence, self.support_threshold)
            warnings = []
            if truncated[row]:
                warnings.append(
                    f"the claim is longer than the model reads ({self.embedder.max_tokens} word pieces); "
                    "only its beginning was compared"
                )
            results.append(
                Verification(
                    claim=claim,
                    verdict=verdict,
                    confidence=confidence,
                    evidence=evidence,
                    decided_by=decided_by,
                    took_ms=0.0,
                    warnings=warnings,
                )
            )
        took_ms = round((time.perf_counter() - started) * 1000, 2)
        return [dataclasses.replace(r, took_ms=took_ms) for r in results]

    def _collapse_duplicates(self, ranked: list[tuple[int, float]], sentences: dict) -> list[list[tuple[int, float]]]:
        """Group the same sentence appearing in several articles (wire copy): first occurrence leads."""
        groups: list[list[tuple[int, float]]] = []
        keys: list[str] = []
        vectors: list[np.ndarray] = []
        for sid, score in ranked:
            key = _normalise_text(sentences[sid].text)
            vector = self.index.vectors.reconstruct(sid)
            for i, (other_key, other_vector) in enumerate(zip(keys, vectors, strict=True)):
                same_article = sentences[groups[i][0][0]].article.id == sentences[sid].article.id
                if not same_article and (key == other_key or float(vector @ other_vector) >= DUPLICATE_COSINE):
                    groups[i].append((sid, score))
                    break
            else:
                groups.append([(sid, score)])
                keys.append(key)
                vectors.append(vector)
        return groups

    def verdict(self, evidence: list[Evidence]) -> tuple[str, float, int | None]:
        return decide_verdict(evidence, self.support_threshold)

    def retrieve(self, claims: Sequence[str], vectors: np.ndarray, top_k: int) -> list[list[tuple[int, float]]]:
        """Per claim, up to `top_k` (sentence id, cosine) pairs, best first.

        Hybrid: the FAISS and BM25 rankings (each `CANDIDATES` deep) are fused by
        reciprocal rank, so a sentence naming the claim's figures or names is found
        even where the embedding alone ranks it low. The score stays the cosine.
        """
        depth = min(max(top_k, CANDIDATES), self.index.vectors.ntotal)
        if depth == 0:
            return [[] for _ in claims]
        scores, ids = self.index.vectors.search(vectors, depth)
        dense = [
            {int(i): float(s) for i, s in zip(ids[r], scores[r], strict=True) if i >= 0} for r in range(len(claims))
        ]
        if self.retrieval == "dense":
            return [list(d.items())[:top_k] for d in dense]
        lexical = self.index.lexical.search(claims, depth)
        ranked = []
        for row, cosines in enumerate(dense):
            fused = reciprocal_rank_fusion([list(cosines), [sid for sid, _ in lexical[row]]])
            # Score every fused candidate by cosine (BM25-only finds included), then keep the
            # fused order for those close to the best cosine; far weaker ones (sharing a
            # word such as "Russia" and little else) go after them, by cosine.
            head = sorted(fused, key=lambda sid: -fused[sid])[: max(top_k, CANDIDATES)]
            for sid in head:
                if sid not in cosines:  # found by BM25 only
                    cosines[sid] = float(self.index.vectors.reconstruct(sid) @ vectors[row])
            floor = max(cosines[sid] for sid in head) - FUSION_COSINE_MARGIN
            # Stable sort: the close ones keep their fused order, the weak ones follow by cosine.
            order = sorted(head, key=lambda sid: (0.0, 0.0) if cosines[sid] >= floor else (1.0, -cosines[sid]))
            ranked.append([(sid, cosines[sid]) for sid in order[:top_k]])
        return ranked

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
