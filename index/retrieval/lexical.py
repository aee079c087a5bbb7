"""Lexical retrieval (BM25 on Tantivy) beside FAISS, so names and figures are found even where
the embedding ranks them low, and reciprocal-rank fusion of the two rankings.

Tantivy (the Rust engine under Quickwit and ParadeDB) keeps an inverted index on disk,
memory-mapped, so a host's workers share its pages; its top-k collector prunes with block-max
WAND, reading the postings that can still make the top k rather than scoring every sentence.
The bm25s engine it replaces scored the whole archive into an array for every claim: at 5M
synthetic sentences 33.0 ms a claim at p50 against Tantivy's 14.3 ms, in one run, with a quarter
of the disk (BENCHMARKS.md, "BM25 at scale").
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import tantivy

# Small English stop list: function words only, so figures and names always count.
_STOPWORDS = (
    "a an and are as at be been by for from has have had he her his in is it its of on or "
    "that the their they this to was were will with would said says say"
)
STOPWORDS = frozenset(_STOPWORDS.split())
_TOKEN_RE = re.compile(r"\w+")

# Reciprocal-rank fusion constant (Cormack et al. 2009): damps the head of each ranking.
RRF_K = 60

# Tantivy's BM25 (tantivy/src/query/bm25.rs): score = idf · (1 + K1) · tf / (tf + K1 · (1 − B + B · len / avg len)),
# idf = ln(1 + (N − df + 0.5) / (df + 0.5)). The delta below scores its sentences the same way.
K1, B = 1.2, 0.75

FORMAT = 1  # lexical/lexical.json's "format": what this release reads
ENGINE = "tantivy"
_TEXT, _ID = "text", "id"
_ANALYZER = "claimcheck"
WRITER_HEAP_BYTES = 256 * 1024 * 1024  # one writer thread's budget while a snapshot is built


class LexicalFormatError(ValueError):
    """A snapshot's lexical index from another engine or format version; the message names the fix."""


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens without stop words (numbers kept: "133" is a token).

    The word-overlap checks use this; the BM25 index uses the same decisions written as a
    Tantivy analyser (`_analyzer`), and its queries go through that analyser."""
    return [t for t in _TOKEN_RE.findall(text.lower()) if t not in STOPWORDS]


def _new_analyzer() -> tantivy.TextAnalyzer:
    # The same decisions as `tokenize`: \w+ words, lower-cased, the stop list out, numbers kept.
    # Unicode edge cases may split differently from Python's (a dotted capital I); index and
    # queries both use this one, so they always agree.
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.regex(r"\w+"))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.custom_stopword(sorted(STOPWORDS)))
        .build()
    )


_local = threading.local()


def _analyzer() -> tantivy.TextAnalyzer:
    """One analyser per thread (a Tantivy analyser is not shared across threads)."""
    analyzer = getattr(_local, "analyzer", None)
    if analyzer is None:
        analyzer = _local.analyzer = _new_analyzer()
    return analyzer


def terms(text: str) -> list[str]:
    """The BM25 index's terms of `text`: what the analyser indexes (and queries with)."""
    return _analyzer().analyze(text)


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field(_TEXT, stored=False, tokenizer_name=_ANALYZER, index_option="freq")
    builder.add_integer_field(_ID, indexed=True, fast=True)  # the sentence id: FAISS's id
    return builder.build()


class LexicalIndex:
    """BM25 over sentences on Tantivy; each document carries its sentence id."""

    META_FILE = "lexical.json"  # engine, format, sentences, average length in terms

    def __init__(self, index: tantivy.Index, size: int, avg_doc_len: float, directory: Path | None = None):
        self.index = index
        self.schema = index.schema
        self.searcher = index.searcher()
        self._size = size
        self.avg_doc_len = avg_doc_len  # terms; the delta needs it
        self.directory = directory
        self.common_share: float | None = None  # see `_query`

    @property
    def size(self) -> int:
        return self._size

    @classmethod
    def build(cls, texts: Sequence[str], ids: np.ndarray | None = None, directory: Path | None = None) -> LexicalIndex:
        """Index `texts` (document i is sentence `ids[i]`, ascending) in `directory`, or in memory."""
        ids = np.arange(len(texts), dtype=np.int64) if ids is None else np.asarray(ids, dtype=np.int64)
        if len(ids) != len(texts) or np.any(np.diff(ids) <= 0):
            raise ValueError("ids must be ascending, one per text")
        schema = _schema()
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)
        index = tantivy.Index(schema) if directory is None else tantivy.Index(schema, path=str(directory), reuse=False)
        index.register_tokenizer(_ANALYZER, _new_analyzer())
        writer = index.writer(WRITER_HEAP_BYTES, 1)
        total = 0
        analyzer = _analyzer()
        for sid, text in zip(ids.tolist(), texts, strict=True):
            document = tantivy.Document()
            document.add_text(_TEXT, text)
            document.add_integer(_ID, sid)
            writer.add_document(document)
            total += len(analyzer.analyze(text))
        writer.commit()
        writer.wait_merging_threads()
        index.reload()
        avg = total / len(texts) if texts else 0.0
        if directory is not None:
            meta = {"engine": ENGINE, "format": FORMAT, "sentences": len(texts), "avg_doc_len": avg}
            (directory / cls.META_FILE).write_text(json.dumps(meta) + "\n", "utf-8")
        return cls(index, len(texts), avg, directory)

    @classmethod
    def load(cls, directory: Path) -> LexicalIndex:
        """Open a snapshot's index, memory-mapped; `LexicalFormatError` if another engine or
        format wrote it, `ValueError` naming the folder if it is damaged."""
        if not directory.is_dir():
            raise FileNotFoundError(f"lexical index not found: {directory}")
        meta_path = directory / cls.META_FILE
        if not meta_path.is_file():
            raise LexicalFormatError(
                f"the lexical index in {directory} is not a {ENGINE} index of format {FORMAT} (an older release's "
                "bm25s files?): write a new snapshot with scripts/build_index.py --out INDEX_DIR --snapshot"
            )
        try:
            meta = json.loads(meta_path.read_text("utf-8"))
            found = (meta["engine"], int(meta["format"]))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"lexical index is corrupt: {meta_path}: {exc}") from exc
        if found != (ENGINE, FORMAT):
            raise LexicalFormatError(
                f"the lexical index in {directory} is {found[0]} format {found[1]}, this release reads {ENGINE} "
                f"format {FORMAT}: write a new snapshot with scripts/build_index.py --out INDEX_DIR --snapshot"
            )
        try:
            index = tantivy.Index.open(str(directory))
            index.register_tokenizer(_ANALYZER, _new_analyzer())
            loaded = cls(index, int(meta["sentences"]), float(meta["avg_doc_len"]), directory)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"lexical index is corrupt: {directory}: {exc}") from exc
        if loaded.searcher.num_docs != loaded.size:
            raise ValueError(
                f"lexical index is corrupt: {directory}: {loaded.searcher.num_docs} documents, not {loaded.size}"
            )
        return loaded

    def document_frequency(self, term: str) -> int:
        """In how many documents `term` occurs."""
        return int(self.searcher.doc_freq(_TEXT, term)) if self._size else 0

    def search(
        self,
        queries: Sequence[str],
        k: int,
        allowed: np.ndarray | None = None,
        excluded: np.ndarray | None = None,
    ) -> list[list[tuple[int, float]]]:
        """Per query, up to k (sentence id, BM25 score) best first; only `allowed` ids (if
        given) and never `excluded` ones. Sentences sharing no term are left out. Tantivy's
        top-k collector (block-max WAND) decides what to read: no query scans the archive."""
        k = min(k, self._size)
        if k <= 0:
            return [[] for _ in queries]
        excluded = np.empty(0, dtype=np.int64) if excluded is None else np.asarray(excluded, dtype=np.int64)
        # Retired sentences (a few thousand at most, SNAPSHOT_AFTER) are dropped from a deeper
        # top-k: exact, and cheaper than a must-not clause over their ids on every query.
        depth = min(self._size, k + len(excluded))
        drop = set(excluded.tolist())
        return [self._search(query, k, depth, allowed, drop) for query in queries]

    def _search(self, text: str, k: int, depth: int, allowed: np.ndarray | None, drop: set[int]):
        words = terms(text)
        if not words:
            return []
        query = self._query(words)
        if allowed is not None:
            # Only these sentences: a filter that adds nothing to the score.
            only = tantivy.Query.term_set_query(self.schema, _ID, [int(i) for i in allowed])
            query = tantivy.Query.boolean_query(
                [(tantivy.Occur.Must, query), (tantivy.Occur.Must, tantivy.Query.const_score_query(only, 0.0))]
            )
        hits = self.searcher.search(query, depth, count=False).hits
        if not hits:
            return []
        ids = self.searcher.fast_field_values(_ID, [address for _, address in hits])
        found = [(int(sid), float(score)) for (score, _), sid in zip(hits, ids, strict=True) if sid not in drop]
        found.sort(key=lambda pair: (-pair[1], pair[0]))  # equal scores in id order, as the delta's
        return found[:k]

    def _term(self, word: str) -> tantivy.Query:
        return tantivy.Query.term_query(self.schema, _TEXT, word)

    def _query(self, words: list[str]) -> tantivy.Query:
        """BM25 over every word: a disjunction, which Tantivy's top-k prunes with block-max WAND.

        With `common_share` set, words in more than that share of the sentences only add to the
        score of sentences that share a rarer word with the claim, and match nothing alone
        (Lucene's CommonTermsQuery): the postings read are the rare words', not the archive's
        commonest. A claim of common words only is one disjunction, as without it."""
        if self.common_share is None:
            return tantivy.Query.boolean_query([(tantivy.Occur.Should, self._term(w)) for w in words])
        cutoff = self.common_share * self._size
        frequency = {w: self.document_frequency(w) for w in set(words)}
        rare = [w for w in words if frequency[w] <= cutoff]
        common = [w for w in words if frequency[w] > cutoff]
        if not rare or not common:
            return tantivy.Query.boolean_query([(tantivy.Occur.Should, self._term(w)) for w in words])
        must = tantivy.Query.boolean_query([(tantivy.Occur.Should, self._term(w)) for w in rare])
        return tantivy.Query.boolean_query(
            [(tantivy.Occur.Must, must)] + [(tantivy.Occur.Should, self._term(w)) for w in common]
        )


class LexicalDelta:
    """BM25 over the few sentences added since a snapshot, scored with the snapshot's statistics.

    A snapshot is written once; a separate small index would score its documents with its
    own (tiny-corpus) term statistics, out of scale with the snapshot's. So these are scored
    by Tantivy's own formula (K1, B above) with document frequencies and average length taken
    over snapshot + delta, which is what a rebuilt snapshot would use.
    """

    def __init__(self, base: LexicalIndex, texts: Sequence[str], ids: np.ndarray):
        self.ids = np.asarray(ids, dtype=np.int64)
        docs = [terms(t) for t in texts]
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
        lengths = np.array([len(d) for d in docs], dtype=np.float64)
        self._norm = K1 * ((1 - B) + B * lengths / (avg_len or 1.0))

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
            for token in terms(query):  # a repeated word counts again, as in the snapshot's query
                for position, tf in self.postings.get(token, ()):
                    scores[position] += self.idf[token] * (1 + K1) * tf / (self._norm[position] + tf)
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
