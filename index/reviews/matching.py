"""Matching a claim against the reviewed claims: the articles' engine (dense + BM25, fused by
reciprocal rank) over the reviews' own index, kept at the archive's generation.

`ReviewIndex.view(generation)` gives the reviews live at that generation. Like the articles'
snapshot + delta (index/retrieval/live.py) it keeps a *base* (`ReviewBase`: a FAISS index and BM25 over
every review live when it was built) and, when the generation moves, adds a *delta*: rows
written since (an exact matrix + BM25 scored with the base's term statistics) and the base
rows retired since, excluded from its searches. It reads only the rows that changed. Once
`REBUILD_AFTER` rows have changed, a new base is built on a background thread while requests
go on with the old base and its delta, so no request waits for a rebuild (10-20 s at 100k
reviews on this project's machine). So a review written through any worker is matched by
every worker's next request, as an article is.

`match_reviews` is the one call `ClaimVerifier.verify_claims` makes: claims and their vectors
in, per claim the best `REVIEWS_SHOWN` reviews out, each with its cosine and the same-claim
decision (same_claim.py).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import faiss
import numpy as np

from index.retrieval import ann
from index.retrieval.lexical import LexicalDelta, LexicalIndex, reciprocal_rank_fusion
from index.reviews import same_claim
from index.reviews.adapter import QueryAdapter
from index.reviews.review import ReviewMatch, claim_key
from index.reviews.store import ReviewStore

log = logging.getLogger(__name__)

# How many reviews a claim's answer lists, best first.
REVIEWS_SHOWN = 5
# How deep each ranking (dense, BM25) goes before fusion (as for articles, index/verify.py).
CANDIDATES = 50
# Rows written or retired since the base before a new base is built (in the background).
REBUILD_AFTER = 2000
# Exact search up to this many reviews, IVF-Flat above (index/retrieval/ann.py's choice, with a lower
# threshold: matching is one part of a request, with a budget of 3 ms at 100k reviews). Exact
# costs ~0.055 µs of CPU a vector (ann.FLAT_MAX_VECTORS): ~1 ms at 20k, ~6 ms at 100k, where
# IVF-Flat answers in ~0.3 ms. Measured: benchmarks/review_matching.py (BENCHMARKS.md,
# "Review matching").
EXACT_MAX_REVIEWS = 20_000

# What a pasted post carries that is not the claim: links, and a tweet's trailing signature
# "— Name (@handle) January 14, 2020". Removed before matching (the claim itself is unchanged).
_LINK = re.compile(r"(?:https?://|www\.|pic\.twitter\.com/)\S*")
_SIGNATURE = re.compile(r"\s[—–-]+\s[^—–\n]{0,80}\(@\w{1,30}\)\s+\w+\s+\d{1,2},\s+\d{4}\s*$")


def matching_text(claim: str) -> str:
    """The claim as it is matched: without links and a social-media post's signature."""
    text = _SIGNATURE.sub("", claim)
    text = " ".join(_LINK.sub(" ", text).split())
    return text or claim


@dataclass(frozen=True)
class ReviewBase:
    """Every review row live at `generation`, indexed for search (built once, then read-only)."""

    generation: int
    seqs: np.ndarray  # int64 ascending
    vectors: faiss.Index  # ids are the rows' seqs
    lexical: LexicalIndex

    @classmethod
    def build(cls, store: ReviewStore, generation: int, dimension: int) -> ReviewBase:
        rows = store.rows(generation)
        if len(rows.seqs):
            spec = ann.choose_index_spec(len(rows.seqs), flat_max=EXACT_MAX_REVIEWS)
            vectors = ann.build_vector_index(rows.vectors, rows.seqs, spec)
        else:
            vectors = ann.new_exact_index(dimension)
        return cls(generation, rows.seqs, vectors, LexicalIndex.build(rows.texts, rows.seqs))


@dataclass(frozen=True)
class ReviewView:
    """The reviews live at one generation: the base (minus rows retired since) plus the delta."""

    generation: int
    base: ReviewBase
    retired: np.ndarray  # base seqs retired since base.generation
    delta_seqs: np.ndarray
    delta_vectors: np.ndarray  # float32 (n, d), exact
    delta_lexical: LexicalDelta
    _params: faiss.SearchParameters | None = field(default=None, repr=False)
    _keep_alive: tuple = field(default=(), repr=False)  # FAISS holds raw pointers to the selector

    @classmethod
    def of(cls, store: ReviewStore, base: ReviewBase, generation: int) -> ReviewView:
        """The view at `generation` over `base`: the rows changed since read from the store."""
        retired = store.retired_seqs(
            added_up_to=base.generation, retired_after=base.generation, retired_up_to=generation
        )
        added = store.rows(generation, added_after=base.generation)
        params, keep_alive = ann.excluding(base.vectors, retired)
        return cls(
            generation,
            base,
            retired,
            added.seqs,
            added.vectors,
            LexicalDelta(base.lexical, added.texts, added.seqs),
            params,
            keep_alive,
        )

    @property
    def base_generation(self) -> int:
        return self.base.generation

    @property
    def size(self) -> int:
        return len(self.base.seqs) - len(self.retired) + len(self.delta_seqs)

    @property
    def changed(self) -> int:
        return len(self.retired) + len(self.delta_seqs)

    def search(
        self, texts: Sequence[str], vectors: np.ndarray, k: int, queries: np.ndarray | None = None
    ) -> list[list[tuple[int, float]]]:
        """Per claim, up to k (review row seq, cosine) pairs, best first by fused rank.

        `queries`, when given, are what the dense search looks with (the claims' vectors through
        the query adapter, adapter.py); the cosines returned are always of the claims' own `vectors`.
        """
        if self.size == 0 or not len(texts):
            return [[] for _ in texts]
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        depth = min(CANDIDATES, self.size)
        dense = self._dense(vectors if queries is None else np.ascontiguousarray(queries, dtype=np.float32), depth)
        lexical = self.base.lexical.search(list(texts), depth, excluded=self.retired)
        if self.delta_lexical.size:
            for row, found in enumerate(self.delta_lexical.search(list(texts), depth)):
                lexical[row] = sorted(lexical[row] + found, key=lambda pair: -pair[1])[:depth]
        results = []
        for row in range(len(texts)):
            cosines = dict(dense[row]) if queries is None else {}
            fused = reciprocal_rank_fusion([[seq for seq, _ in dense[row]], [seq for seq, _ in lexical[row]]])
            best = sorted(fused, key=lambda seq: -fused[seq])[:k]
            missing = [seq for seq in best if seq not in cosines]
            cosines.update(zip(missing, self._cosines(missing, vectors[row]), strict=True))
            results.append([(seq, cosines[seq]) for seq in best])
        return results

    def _dense(self, vectors: np.ndarray, depth: int) -> list[list[tuple[int, float]]]:
        """Per claim, the `depth` nearest live rows (seq, cosine), base and delta merged."""
        found: list[list[tuple[int, float]]] = [[] for _ in range(len(vectors))]
        base_depth = min(depth, self.base.vectors.ntotal)
        if base_depth:
            scores, ids = self.base.vectors.search(vectors, base_depth, params=self._params)
            for row in range(len(vectors)):
                found[row] = [(int(i), float(s)) for i, s in zip(ids[row], scores[row], strict=True) if i >= 0]
        if len(self.delta_seqs):
            cosines = self.delta_vectors @ vectors.T
            for row in range(len(vectors)):
                column = cosines[:, row]
                top = np.argsort(-column, kind="stable")[:depth]
                merged = found[row] + [(int(self.delta_seqs[i]), float(column[i])) for i in top]
                found[row] = sorted(merged, key=lambda pair: -pair[1])[:depth]
        return found

    def _cosines(self, seqs: list[int], vector: np.ndarray) -> list[float]:
        """The plain cosines of a few rows (found by BM25 alone, or by the adapted query), the base's
        read back from its index in one call."""
        found: dict[int, float] = {}
        in_base = []
        for seq in seqs:
            position = np.searchsorted(self.delta_seqs, seq)
            if position < len(self.delta_seqs) and self.delta_seqs[position] == seq:
                found[seq] = float(self.delta_vectors[position] @ vector)
            else:
                in_base.append(seq)
        if in_base:
            rows = self.base.vectors.reconstruct_batch(np.array(in_base, dtype=np.int64))
            found.update(zip(in_base, (float(c) for c in rows @ vector), strict=True))
        return [found[seq] for seq in seqs]


class ReviewIndex:
    """The reviews of one archive as one process matches them; `view(generation)` per request."""

    def __init__(
        self,
        store: ReviewStore,
        dimension: int,
        rebuild_in_background: bool = True,
        adapter: QueryAdapter | None = None,
    ):
        self.store = store
        self.dimension = dimension
        if adapter is not None and adapter.dimension != dimension:
            raise ValueError(f"the query adapter is {adapter.dimension}-d, the reviews' vectors {dimension}-d")
        self.adapter = adapter  # the dense search's query adapter (adapter.py), or None
        self.rebuild_in_background = rebuild_in_background
        self._view: ReviewView | None = None
        self._lock = threading.Lock()
        self._rebuild: threading.Thread | None = None

    def view(self, generation: int) -> ReviewView:
        """The reviews live at `generation` (or at a newer one this process already holds)."""
        current = self._view
        if current is not None and current.generation >= generation:
            return current
        with self._lock:
            current = self._view
            if current is None:
                base = ReviewBase.build(self.store, generation, self.dimension)
                self._view = ReviewView.of(self.store, base, generation)
            elif current.generation < generation:
                self._view = ReviewView.of(self.store, current.base, generation)
            view = self._view
            due = view.changed >= REBUILD_AFTER and self._rebuild is None
            if due and self.rebuild_in_background:
                self._rebuild = threading.Thread(
                    target=self._rebuild_base, args=(view.generation,), name="review-index-rebuild", daemon=True
                )
                self._rebuild.start()
        if due and not self.rebuild_in_background:
            self._rebuild_base(view.generation)
        return self._view

    def wait_for_rebuild(self, timeout: float | None = None) -> None:
        """Wait for a background rebuild in progress, if any (tests, benchmarks)."""
        rebuild = self._rebuild
        if rebuild is not None:
            rebuild.join(timeout)

    def _rebuild_base(self, generation: int) -> None:
        try:
            base = ReviewBase.build(self.store, generation, self.dimension)
            with self._lock:
                newest = max(generation, self._view.generation if self._view else generation)
                self._view = ReviewView.of(self.store, base, newest)
        except Exception:  # the old base and its delta keep serving; the next change retries
            log.exception("rebuilding the review index at generation %d failed", generation)
        finally:
            self._rebuild = None


def match_reviews(
    index: ReviewIndex,
    claims: Sequence[str],
    vectors: np.ndarray,
    generation: int,
    encode: Callable[[list[str]], np.ndarray] | None = None,
) -> list[list[ReviewMatch]]:
    """Per claim, the best reviews (up to `REVIEWS_SHOWN`), each with its cosine, `same_claim`
    and the reasons it was matched.

    `vectors` are the claims' own; a claim that carries links or a post's signature is matched
    without them, re-embedded by `encode` (when given). With the index's query `adapter` the dense
    search looks with the adapted vectors (adapter.py); cosines and `same_claim` stay plain. The
    same-claim decision reads no model (same_claim.py).
    """
    view = index.view(generation)
    if view.size == 0 or not claims:
        return [[] for _ in claims]
    texts = [matching_text(c) for c in claims]
    changed = [i for i, (t, c) in enumerate(zip(texts, claims, strict=True)) if t != c]
    if changed and encode is not None:
        vectors = np.array(vectors, dtype=np.float32, copy=True)
        vectors[changed] = encode([texts[i] for i in changed])
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    queries = index.adapter.apply(vectors) if index.adapter is not None else None
    found = view.search(texts, vectors, REVIEWS_SHOWN, queries)
    reviews = index.store.by_seq(sorted({seq for row in found for seq, _ in row}))
    marked = index.store.marked_pairs(claims)  # an editor's "not the same claim": never shown again
    candidates = [
        [(reviews[seq], cosine) for seq, cosine in row if seq in reviews and (key, reviews[seq].id) not in marked]
        for key, row in zip(map(claim_key, claims), found, strict=True)
    ]
    return [
        [
            ReviewMatch(
                review,
                round(cosine, 4),
                same_claim.MODEL.decide(signals),
                tuple(same_claim.reasons(signals)),
            )
            for (review, cosine), signals in zip(row, row_signals, strict=True)
        ]
        for row, row_signals in zip(candidates, same_claim.signals(texts, candidates), strict=True)
    ]
