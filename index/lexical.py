"""Lexical retrieval (BM25 via bm25s) beside FAISS, so names and figures are found even
where the embedding ranks them low, and reciprocal-rank fusion of the two rankings."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import bm25s

# Small English stop list: function words only, so figures and names always count.
_STOPWORDS = (
    "a an and are as at be been by for from has have had he her his in is it its of on or "
    "that the their they this to was were will with would said says say"
)
STOPWORDS = frozenset(_STOPWORDS.split())
_TOKEN_RE = re.compile(r"\w+")

# Reciprocal-rank fusion constant (Cormack et al. 2009): damps the head of each ranking.
RRF_K = 60


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens without stop words (numbers kept: "133" is a token)."""
    return [t for t in _TOKEN_RE.findall(text.lower()) if t not in STOPWORDS]


class LexicalIndex:
    """BM25 over the sentences; document i is the sentence with id i."""

    def __init__(self, retriever: bm25s.BM25, size: int):
        self.retriever = retriever
        self.size = size

    @classmethod
    def build(cls, texts: Sequence[str]) -> LexicalIndex:
        retriever = bm25s.BM25()
        retriever.index([tokenize(t) or ["_"] for t in texts], show_progress=False)
        return cls(retriever, len(texts))

    def save(self, directory: Path) -> None:
        self.retriever.save(str(directory), show_progress=False)

    @classmethod
    def load(cls, directory: Path, size: int) -> LexicalIndex:
        if not directory.is_dir():
            raise FileNotFoundError(f"lexical index not found: {directory}")
        try:
            retriever = bm25s.BM25.load(str(directory), mmap=True, show_progress=False)
        except (OSError, ValueError, KeyError) as exc:
            raise ValueError(f"lexical index is corrupt: {directory}: {exc}") from exc
        return cls(retriever, size)

    def search(self, queries: Sequence[str], k: int) -> list[list[tuple[int, float]]]:
        """Per query, (sentence id, BM25 score) best first; sentences sharing no term are left out."""
        k = min(k, self.size)
        if k <= 0:
            return [[] for _ in queries]
        tokens = [tokenize(q) or ["_"] for q in queries]
        ids, scores = self.retriever.retrieve(tokens, k=k, show_progress=False, n_threads=1)
        return [
            [(int(i), float(s)) for i, s in zip(row_ids, row_scores, strict=True) if s > 0]
            for row_ids, row_scores in zip(ids, scores, strict=True)
        ]


def reciprocal_rank_fusion(rankings: Sequence[Sequence[int]], k: int = RRF_K) -> dict[int, float]:
    """Fused score per id: the sum over rankings of 1 / (k + rank)."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + 1.0 / (k + rank)
    return fused
