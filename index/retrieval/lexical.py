"""Lexical retrieval (BM25 via bm25s) beside FAISS, so names and figures are found even
where the embedding ranks them low, and reciprocal-rank fusion of the two rankings."""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import bm25s
import numpy as np

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
    """BM25 over sentences; document i is the sentence with id `ids[i]` (ids ascending)."""

    IDS_FILE = "ids.npy"
    STATS_FILE = "stats.json"

    def __init__(self, retriever: bm25s.BM25 | None, ids: np.ndarray, avg_doc_len: float = 0.0):
        self.retriever = retriever
        self.ids = ids
        self.avg_doc_len = avg_doc_len  # tokens; bm25s does not keep it, a delta needs it

    def document_frequency(self, token: str) -> int:
        """In how many documents `token` occurs (from bm25s's token-major score matrix)."""
        if self.retriever is None or token not in self.retriever.vocab_dict:
            return 0
        column = self.retriever.vocab_dict[token]
        indptr = self.retriever.scores["indptr"]
        return int(indptr[column + 1] - indptr[column])

    @property
    def size(self) -> int:
        return len(self.ids)

    @classmethod
    def build(cls, texts: Sequence[str], ids: np.ndarray | None = None) -> LexicalIndex:
        ids = np.arange(len(texts), dtype=np.int64) if ids is None else np.asarray(ids, dtype=np.int64)
        if len(ids) != len(texts) or np.any(np.diff(ids) <= 0):
            raise ValueError("ids must be ascending, one per text")
        if not texts:
            return cls(None, ids)
        corpus = [tokenize(t) or ["_"] for t in texts]
        retriever = bm25s.BM25()
        retriever.index(corpus, show_progress=False)
        return cls(retriever, ids, avg_doc_len=sum(map(len, corpus)) / len(corpus))

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        if self.retriever is not None:
            self.retriever.save(str(directory), show_progress=False)
        np.save(directory / self.IDS_FILE, self.ids)
        (directory / self.STATS_FILE).write_text(json.dumps({"avg_doc_len": self.avg_doc_len}), "utf-8")

    @classmethod
    def load(cls, directory: Path) -> LexicalIndex:
        if not directory.is_dir():
            raise FileNotFoundError(f"lexical index not found: {directory}")
        try:
            ids = np.load(directory / cls.IDS_FILE)
            avg_doc_len = float(json.loads((directory / cls.STATS_FILE).read_text("utf-8"))["avg_doc_len"])
            retriever = bm25s.BM25.load(str(directory), mmap=True, show_progress=False) if len(ids) else None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"lexical index is corrupt: {directory}: {exc}") from exc
        return cls(retriever, ids, avg_doc_len)

    def mask(self, allowed: np.ndarray | None = None, excluded: np.ndarray | None = None) -> np.ndarray | None:
        """A BM25 weight mask keeping only `allowed` ids (if given) minus `excluded` ones; None keeps all."""
        if allowed is None and (excluded is None or not len(excluded)):
            return None
        mask = np.ones(self.size, dtype=np.float32) if allowed is None else np.zeros(self.size, dtype=np.float32)
        if allowed is not None:
            mask[self._positions(allowed)] = 1.0
        if excluded is not None:
            mask[self._positions(excluded)] = 0.0
        return mask

    def _positions(self, ids: np.ndarray) -> np.ndarray:
        """Document positions of those `ids` that are in this index."""
        ids = np.asarray(ids, dtype=np.int64)
        positions = np.searchsorted(self.ids, ids)
        inside = positions < self.size
        positions, ids = positions[inside], ids[inside]
        return positions[self.ids[positions] == ids]

    def search(self, queries: Sequence[str], k: int, mask: np.ndarray | None = None) -> list[list[tuple[int, float]]]:
        """Per query, (sentence id, BM25 score) best first, equal scores in id order; sentences
        sharing no term, or masked out, are left out."""
        k = min(k, self.size)
        if k <= 0 or self.retriever is None:
            return [[] for _ in queries]
        # bm25s's own scores (`get_scores`: the same sums `retrieve` makes); the top k are chosen
        # here among the positive scores only. `retrieve` partitions the whole array, most of it
        # zeros (a claim's words are in a minority of sentences), which at 100k sentences took
        # 2.4 ms a query against 0.5 ms, and left the order of equal scores to argpartition.
        return [self._best(self.retriever.get_scores(tokenize(q) or ["_"], weight_mask=mask), k) for q in queries]

    def _best(self, scores: np.ndarray, k: int) -> list[tuple[int, float]]:
        positions = np.flatnonzero(scores > 0)
        if len(positions) > k:
            values = scores[positions]
            kth = np.partition(values, len(values) - k)[len(values) - k]  # the k-th best score
            above = positions[values > kth]
            tied = positions[values == kth][: k - len(above)]  # the first of the tied, in id order
            positions = np.concatenate([above, tied])
        positions = positions[np.lexsort((positions, -scores[positions]))]
        return [(int(self.ids[p]), float(scores[p])) for p in positions]


class LexicalDelta:
    """BM25 over a few sentences added since a snapshot, scored with the snapshot's statistics.

    bm25s cannot add documents to an index, and a separate small index would score its
    documents with its own (tiny-corpus) term statistics, out of scale with the
    snapshot's. So these are scored by the same formula as bm25s's default ("lucene":
    Robertson term frequency, Lucene idf) with document frequencies and average length
    taken over snapshot + delta, which is what a rebuilt snapshot would use.
    """

    def __init__(self, base: LexicalIndex, texts: Sequence[str], ids: np.ndarray):
        self.ids = np.asarray(ids, dtype=np.int64)
        docs = [tokenize(t) or ["_"] for t in texts]
        self.postings: dict[str, list[tuple[int, int]]] = {}
        for position, tokens in enumerate(docs):
            for token, tf in Counter(tokens).items():
                self.postings.setdefault(token, []).append((position, tf))
        n_docs = base.size + len(docs)
        self.idf = {
            token: math.log(1 + (n_docs - df + 0.5) / (df + 0.5))
            for token, postings in self.postings.items()
            for df in [base.document_frequency(token) + len(postings)]
        }
        total_len = base.avg_doc_len * base.size + sum(map(len, docs))
        avg_len = total_len / n_docs if n_docs else 1.0
        k1, b = (base.retriever.k1, base.retriever.b) if base.retriever is not None else (1.5, 0.75)
        self._norm = k1 * ((1 - b) + b * np.array([len(d) for d in docs], dtype=np.float64) / avg_len)

    @property
    def size(self) -> int:
        return len(self.ids)

    def search(
        self, queries: Sequence[str], k: int, allowed: np.ndarray | None = None
    ) -> list[list[tuple[int, float]]]:
        """Per query, (sentence id, BM25 score) best first, like `LexicalIndex.search`."""
        keep = None if allowed is None else np.isin(self.ids, allowed)
        results = []
        for query in queries:
            scores = np.zeros(self.size)
            for token in set(tokenize(query)):
                for position, tf in self.postings.get(token, ()):
                    scores[position] += self.idf[token] * tf / (self._norm[position] + tf)
            if keep is not None:
                scores[~keep] = 0.0
            best = np.argsort(-scores, kind="stable")[:k]
            results.append([(int(self.ids[p]), float(scores[p])) for p in best if scores[p] > 0])
        return results


def reciprocal_rank_fusion(rankings: Sequence[Sequence[int]], k: int = RRF_K) -> dict[int, float]:
    """Fused score per id: the sum over rankings of 1 / (k + rank)."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + 1.0 / (k + rank)
    return fused
