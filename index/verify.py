"""Claim verification: claim → vector → nearest sentences → evidence → verdict."""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from index.archive import StoredSentence
from index.batching import MAX_BATCH_TEXTS, BatchingEmbedder
from index.checks import run_checks
from index.embedder import Embedder
from index.lexical import reciprocal_rank_fusion
from index.live import Filter, IndexView, LiveIndex, load_index
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


# Everything but letters, digits and whitespace (re's \w is str.isalnum() plus "_").
_NOT_ALNUM_OR_SPACE = re.compile(r"[^\w\s]|_")


def _normalise_text(text: str) -> str:
    return " ".join(_NOT_ALNUM_OR_SPACE.sub("", text.lower()).split())


class IndexMismatch(ValueError):
    """The index was built with a different embedding model than the one loaded."""


@dataclass(frozen=True)
class ArticleFilter:
    """Which articles may be evidence; None means no restriction."""

    published_after: str | None = None  # ISO date, inclusive
    published_before: str | None = None  # ISO date, inclusive
    article_ids: Sequence[str] | None = None

    def __bool__(self) -> bool:
        return any(v is not None for v in (self.published_after, self.published_before, self.article_ids))


@dataclass(frozen=True)
class IndexRef:
    """The state of the index a result was computed against."""

    version: str  # snapshot version
    generation: int  # archive generation (moves with every write)
    articles: int
    sentences: int


@dataclass(frozen=True)
class Verification:
    claim: str
    verdict: str
    confidence: float
    evidence: list[Evidence]
    took_ms: float
    index: IndexRef
    decided_by: int | None = None  # index into `evidence` of the item that decided the verdict
    warnings: list[str] = field(default_factory=list)


__all__ = ["ArticleFilter", "ClaimVerifier", "IndexMismatch", "IndexRef", "Verification", "load_index"]


class ClaimVerifier:
    """Answers claims against one loaded index with one embedder (both loaded once per process)."""

    def __init__(
        self,
        embedder: Embedder,
        index: LiveIndex,
        support_threshold: float = DEFAULT_SUPPORT_THRESHOLD,
        retrieval: str = "hybrid",
        nli: NliScorer | None = None,
        encode_batch_texts: int = MAX_BATCH_TEXTS,
    ):
        if retrieval not in RETRIEVAL_MODES:
            raise ValueError(f"retrieval must be one of {RETRIEVAL_MODES}, not {retrieval!r}")
        if index.manifest.dimension != embedder.dimension or index.manifest.model != embedder.name:
            raise IndexMismatch(
                f"index {index.index_dir} was built with {index.manifest.model} ({index.manifest.dimension}d) "
                f"but the service loaded {embedder.name} ({embedder.dimension}d); rebuild the index"
            )
        # Encodes the claims of concurrent requests in one model call (and one call at a time).
        if not isinstance(embedder, BatchingEmbedder):
            embedder = BatchingEmbedder(embedder, max_batch_texts=encode_batch_texts)
        self.embedder = embedder
        self.index = index
        self.support_threshold = support_threshold
        self.retrieval = retrieval
        self.nli = nli

    def verify_claim(
        self, claim: str, top_k: int = 5, min_score: float | None = None, only: ArticleFilter | None = None
    ) -> Verification:
        return self.verify_claims([claim], top_k=top_k, min_score=min_score, only=only)[0]

    def verify_claims(
        self,
        claims: Sequence[str],
        top_k: int = 5,
        min_score: float | None = None,
        only: ArticleFilter | None = None,
    ) -> list[Verification]:
        """Verify several claims, embedding them in one batch; `only` restricts the evidence."""
        started = time.perf_counter()
        claims = [" ".join(c.split()) for c in claims]
        view = self.index.view()  # one consistent state for the whole request
        vectors = self.embedder.encode(claims)
        truncated = self.embedder.truncated(claims)
        search_filter, filter_warning = None, None
        if only:
            allowed = self.index.archive.filtered_ids(
                view.generation, only.published_after, only.published_before, only.article_ids
            )
            search_filter = Filter.of(allowed)
            if not len(allowed):  # e.g. a date range with nothing in it, or published_after > published_before
                filter_warning = "no indexed article matches the filters, so there is no evidence"
        # Retrieve deeper than asked: near-duplicates collapse into one item below.
        candidates = self.retrieve(claims, vectors, top_k * DUPLICATE_HEADROOM, view, search_filter)
        sentences = self.index.archive.sentences(sorted({sid for row in candidates for sid, _ in row}))
        index_ref = self._index_ref(view)
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
            warnings = [filter_warning] if filter_warning else []
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
                    index=index_ref,
                    warnings=warnings,
                )
            )
        took_ms = round((time.perf_counter() - started) * 1000, 2)
        return [dataclasses.replace(r, took_ms=took_ms) for r in results]

    def _collapse_duplicates(
        self, ranked: list[tuple[int, float]], sentences: dict[int, StoredSentence]
    ) -> list[list[tuple[int, float]]]:
        """Group the same sentence appearing in several articles (wire copy): first occurrence leads."""
        groups: list[list[tuple[int, float]]] = []
        keys: list[str] = []
        vectors: list[np.ndarray] = []
        for sid, score in ranked:
            key = _normalise_text(sentences[sid].text)
            vector = sentences[sid].vector
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

    def retrieve(
        self,
        claims: Sequence[str],
        vectors: np.ndarray,
        top_k: int,
        view: IndexView | None = None,
        only: Filter | None = None,
    ) -> list[list[tuple[int, float]]]:
        """Per claim, up to `top_k` (sentence id, cosine) pairs, best first.

        Hybrid: the FAISS and BM25 rankings (each `CANDIDATES` deep) are fused by
        reciprocal rank, so a sentence naming the claim's figures or names is found
        even where the embedding alone ranks it low. The score stays the cosine.
        """
        view = view or self.index.view()
        depth = max(top_k, CANDIDATES)
        dense = [dict(row) for row in view.dense(vectors, depth, only)]
        if self.retrieval == "dense":
            return [list(d.items())[:top_k] for d in dense]
        lexical = view.lexical(list(claims), depth, only)
        fused_heads = []
        for row, cosines in enumerate(dense):
            fused = reciprocal_rank_fusion([list(cosines), [sid for sid, _ in lexical[row]]])
            fused_heads.append(sorted(fused, key=lambda sid: -fused[sid])[:depth])
        # Sentences found by BM25 only still need their cosine.
        missing = sorted({sid for row, head in enumerate(fused_heads) for sid in head if sid not in dense[row]})
        stored = self.index.archive.vectors(missing)
        ranked = []
        for row, (cosines, head) in enumerate(zip(dense, fused_heads, strict=True)):
            head = [sid for sid in head if sid in cosines or sid in stored]
            for sid in head:
                if sid not in cosines:
                    cosines[sid] = float(stored[sid] @ vectors[row])
            if not head:
                ranked.append([])
                continue
            # Keep the fused order for candidates close to the best cosine; far weaker ones
            # (sharing a word such as "Russia" and little else) go after them, by cosine.
            floor = max(cosines[sid] for sid in head) - FUSION_COSINE_MARGIN
            # Stable sort: the close ones keep their fused order, the weak ones follow by cosine.
            order = sorted(head, key=lambda sid: (0.0, 0.0) if cosines[sid] >= floor else (1.0, -cosines[sid]))
            ranked.append([(sid, cosines[sid]) for sid in order[:top_k]])
        return ranked

    def _index_ref(self, view: IndexView) -> IndexRef:
        return IndexRef(view.version, view.generation, view.articles, view.size)

    def stats(self) -> dict:
        view = self.index.view()
        m = view.snapshot.manifest
        encoder = self.embedder.stats()
        return {
            "version": m.version,
            "generation": view.generation,
            "articles": view.articles,
            "sentences": view.size,
            "pending_sentences": view.delta_size,
            "model": m.model,
            "dimension": m.dimension,
            "built_at": m.built_at,
            "reload_error": self.index.reload_error,
            "encoder": {
                "backend": self.embedder.backend,
                "model_calls": encoder.calls,
                "requests": encoder.jobs,
                "texts": encoder.texts,
            },
        }
