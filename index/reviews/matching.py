"""Matching a claim against the reviewed claims: the articles' engine (dense + BM25, fused by
reciprocal rank) over the reviews' own small index, kept at the archive's generation.

`ReviewIndex.view(generation)` gives the reviews live at that generation. Like the articles'
snapshot + delta (index/live.py) it keeps a *base* (an exact in-memory matrix and BM25 over
every review live when it was built) and, when the generation moves, adds a *delta*: rows
written since (exact matrix + BM25 scored with the base's term statistics) and a mask of base
rows retired since. It reads only the rows that changed, and folds the delta into a new base
once it holds `REBUILD_AFTER` rows. So a review written through any worker is matched by
every worker's next request, as an article is.

`match_reviews` is the one call `ClaimVerifier.verify_claims` makes: claims and their vectors
in, per claim the best `REVIEWS_SHOWN` reviews out, each with its cosine and the same-claim
decision (same_claim.py).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from index.lexical import LexicalDelta, LexicalIndex, reciprocal_rank_fusion
from index.nli import NliScorer
from index.reviews import same_claim
from index.reviews.review import ReviewMatch
from index.reviews.store import ReviewStore

# How many reviews a claim's answer lists, best first.
REVIEWS_SHOWN = 5
# How deep each ranking (dense, BM25) goes before fusion (as for articles, index/verify.py).
CANDIDATES = 50
# Rows written or retired since the base before the next view folds them into a new base.
REBUILD_AFTER = 2000

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
class ReviewView:
    """The reviews live at one generation: base (minus rows retired since) plus delta."""

    generation: int
    base_generation: int
    base_seqs: np.ndarray  # int64 ascending
    base_vectors: np.ndarray  # float32 (n, d)
    base_lexical: LexicalIndex
    retired: np.ndarray  # base seqs retired since base_generation
    delta_seqs: np.ndarray
    delta_vectors: np.ndarray
    delta_lexical: LexicalDelta

    @property
    def size(self) -> int:
        return len(self.base_seqs) - len(self.retired) + len(self.delta_seqs)

    @property
    def changed(self) -> int:
        return len(self.retired) + len(self.delta_seqs)

    @cached_property
    def seqs(self) -> np.ndarray:
        """Every row's seq, ascending (delta rows were all added after the base's)."""
        return np.concatenate([self.base_seqs, self.delta_seqs])

    @cached_property
    def _retired_rows(self) -> np.ndarray:
        return np.isin(self.base_seqs, self.retired)

    @cached_property
    def _lexical_mask(self) -> np.ndarray | None:
        return self.base_lexical.mask(excluded=self.retired)

    def search(self, texts: Sequence[str], vectors: np.ndarray, k: int) -> list[list[tuple[int, float]]]:
        """Per claim, up to k (review row seq, cosine) pairs, best first by fused rank."""
        if self.size == 0 or not len(texts):
            return [[] for _ in texts]
        seqs = self.seqs
        cosines = np.concatenate([self.base_vectors @ vectors.T, self.delta_vectors @ vectors.T])
        if len(self.retired):
            cosines[: len(self.base_seqs)][self._retired_rows] = -np.inf
        depth = min(CANDIDATES, len(seqs))
        lexical = self.base_lexical.search(list(texts), depth, mask=self._lexical_mask)
        if self.delta_lexical.size:
            for row, found in enumerate(self.delta_lexical.search(list(texts), depth)):
                lexical[row] = sorted(lexical[row] + found, key=lambda pair: -pair[1])[:depth]
        results = []
        for row in range(len(texts)):
            column = cosines[:, row]
            top = np.argpartition(-column, depth - 1)[:depth] if depth < len(seqs) else np.arange(len(seqs))
            top = top[np.argsort(-column[top], kind="stable")]
            dense = [int(seqs[i]) for i in top if np.isfinite(column[i])]
            fused = reciprocal_rank_fusion([dense, [seq for seq, _ in lexical[row]]])
            best = sorted(fused, key=lambda seq: -fused[seq])[:k]
            results.append([(seq, float(column[np.searchsorted(seqs, seq)])) for seq in best])
        return results


class ReviewIndex:
    """The reviews of one archive as one process matches them; `view(generation)` per request."""

    def __init__(self, store: ReviewStore, dimension: int):
        self.store = store
        self.dimension = dimension
        self._view: ReviewView | None = None
        self._lock = threading.Lock()

    def view(self, generation: int) -> ReviewView:
        """The reviews live at `generation` (or at a newer one this process already holds)."""
        current = self._view
        if current is not None and current.generation >= generation:
            return current
        with self._lock:
            current = self._view
            if current is None or current.generation < generation:
                self._view = self._build(current, generation)
            return self._view

    def _build(self, current: ReviewView | None, generation: int) -> ReviewView:
        store = self.store
        if current is None or current.changed >= REBUILD_AFTER:
            rows = store.rows(generation)
            lexical = LexicalIndex.build(rows.texts, rows.seqs)
            vectors = rows.vectors if len(rows.seqs) else np.zeros((0, self.dimension), dtype=np.float32)
            none = np.zeros(0, dtype=np.int64)
            matrix = np.zeros((0, self.dimension), dtype=np.float32)
            return ReviewView(
                generation, generation, rows.seqs, vectors, lexical, none, none, matrix, LexicalDelta(lexical, [], none)
            )
        base = current.base_generation
        retired = store.retired_seqs(added_up_to=base, retired_after=base, retired_up_to=generation)
        added = store.rows(generation, added_after=base)
        vectors = added.vectors if len(added.seqs) else np.zeros((0, self.dimension), dtype=np.float32)
        return ReviewView(
            generation,
            base,
            current.base_seqs,
            current.base_vectors,
            current.base_lexical,
            retired,
            added.seqs,
            vectors,
            LexicalDelta(current.base_lexical, added.texts, added.seqs),
        )


def match_reviews(
    index: ReviewIndex,
    claims: Sequence[str],
    vectors: np.ndarray,
    generation: int,
    nli: NliScorer | None = None,
    encode: Callable[[list[str]], np.ndarray] | None = None,
) -> list[list[ReviewMatch]]:
    """Per claim, the best reviews (up to `REVIEWS_SHOWN`), each with its cosine and `same_claim`.

    `vectors` are the claims' own; a claim that carries links or a post's signature is matched
    without them, re-embedded by `encode` (when given). The same-claim rule's NLI readings go to
    `nli` in one call for the whole request.
    """
    view = index.view(generation)
    if view.size == 0 or not claims:
        return [[] for _ in claims]
    texts = [matching_text(c) for c in claims]
    changed = [i for i, (t, c) in enumerate(zip(texts, claims, strict=True)) if t != c]
    if changed and encode is not None:
        vectors = np.array(vectors, dtype=np.float32, copy=True)
        vectors[changed] = encode([texts[i] for i in changed])
    found = view.search(texts, np.ascontiguousarray(vectors, dtype=np.float32), REVIEWS_SHOWN)
    reviews = index.store.by_seq(sorted({seq for row in found for seq, _ in row}))
    candidates = [[(reviews[seq], cosine) for seq, cosine in row if seq in reviews] for row in found]
    decisions = same_claim.decide(texts, candidates, nli)
    return [
        [ReviewMatch(review, round(cosine, 4), same) for (review, cosine), same in zip(row, flags, strict=True)]
        for row, flags in zip(candidates, decisions, strict=True)
    ]
