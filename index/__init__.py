"""The engine: articles in, verdicts out. No Flask here; `service/` is a thin shell around it.

One folder per concern; imports run downwards only (tests/index/test_import_rules.py keeps it so):

    common/       helpers every floor may use: durable file I/O, step timings, CPU facts, metric maths
    documents/    the records: an article and its sentences with character offsets
    storage/      the versioned SQLite archive and the published snapshot directories
    retrieval/    the embedder, batching, FAISS, BM25 and fusion, the live index
    judging/      the NLI judge, the explaining checks, and every verdict rule (stance.py)
    ingestion/    files and web sources (sources/) to an index: the build and the sync
    reviews/      the newsroom's reviews: stored, imported (ClaimReview), matched to each claim

The facades, on top, may import any of them:

    verify.py     ClaimVerifier: claim -> vector -> candidates -> judge -> verdict, with provenance
    drafts.py     check_draft: a draft's checkable claims, each verified
    writer.py     ArticleWriter: add, replace and delete articles in a live index
    evaluation.py claim sets, the dev fact sets, fitting the verdict's numbers

`service/` imports only the names below, as `from index import X`. Each is loaded on first use,
so importing `index` loads neither torch nor FAISS.
"""

from __future__ import annotations

import importlib
from typing import Any

# name -> (module, attribute): the engine's public surface.
_PUBLIC = {
    # facades
    "ClaimVerifier": ("index.verify", "ClaimVerifier"),
    "ArticleFilter": ("index.verify", "ArticleFilter"),
    "load_index": ("index.verify", "load_index"),
    "check_draft": ("index.drafts", "check_draft"),
    "CLAIM_KINDS": ("index.drafts", "CLAIM_KINDS"),
    "NOT_CLAIM_KINDS": ("index.drafts", "NOT_CLAIM_KINDS"),
    "ArticleWriter": ("index.writer", "ArticleWriter"),
    "RecordError": ("index.writer", "RecordError"),
    "DEFAULT_SNAPSHOT_AFTER": ("index.writer", "DEFAULT_SNAPSHOT_AFTER"),
    "build_index": ("index.ingestion.builder", "build_index"),
    # the models and the rules a service loads at start
    "load_embedder": ("index.retrieval.embedder", "load_embedder"),
    "Embedder": ("index.retrieval.embedder", "Embedder"),
    "BACKENDS": ("index.retrieval.embedder", "BACKENDS"),
    "DEFAULT_BACKEND": ("index.retrieval.embedder", "DEFAULT_BACKEND"),
    "MAX_BATCH_TEXTS": ("index.retrieval.batching", "MAX_BATCH_TEXTS"),
    "load_nli": ("index.judging.nli", "load_nli"),
    "NliScorer": ("index.judging.nli", "NliScorer"),
    "NliModelMissing": ("index.judging.nli", "NliModelMissing"),
    "DEFAULT_CACHE_PAIRS": ("index.judging.nli", "DEFAULT_CACHE_PAIRS"),
    "RULES": ("index.judging.stance", "RULES"),
    "DEGRADED_RULES": ("index.judging.stance", "DEGRADED_RULES"),
    "VerdictRules": ("index.judging.stance", "VerdictRules"),
    "read_rules_file": ("index.judging.stance", "read_rules_file"),
    "STANCES": ("index.judging.stance", "STANCES"),
    "VERDICTS": ("index.judging.stance", "VERDICTS"),
    # records and parsing the HTTP shell shows or validates
    "ArticleSummary": ("index.storage.archive", "ArticleSummary"),
    "parse_date": ("index.documents.articles", "parse_date"),
    # the shared archive (ARCHIVE_URL) and the errors its writes raise
    "PostgresArchive": ("index.storage.postgres", "PostgresArchive"),
    "ArchiveUnavailable": ("index.storage.postgres", "ArchiveUnavailable"),
    "WriteConflict": ("index.storage.archive", "WriteConflict"),
    "ARCHIVE_POOL_MAX": ("index.storage.postgres", "DEFAULT_POOL_MAX"),
    "ARCHIVE_STATEMENT_TIMEOUT_MS": ("index.storage.postgres", "DEFAULT_STATEMENT_TIMEOUT_MS"),
    "ARCHIVE_POLL_SECONDS": ("index.storage.postgres", "DEFAULT_POLL_SECONDS"),
    # reviews
    "Review": ("index.reviews.review", "Review"),
    "ReviewError": ("index.reviews.review", "ReviewError"),
    "REVIEW_VERDICTS": ("index.reviews.review", "VERDICTS"),
    "ReviewStore": ("index.reviews.store", "ReviewStore"),
    "record_review": ("index.reviews.store", "record_review"),
    "EvidenceMissing": ("index.reviews.store", "EvidenceMissing"),
    "claimreview_feed": ("index.reviews.claimreview", "claimreview_feed"),
    "QueryAdapter": ("index.reviews.adapter", "QueryAdapter"),
    "load_adapter": ("index.reviews.adapter", "load_adapter"),
    # what the engine reports as it works, for /metrics
    "Observer": ("index.common.observe", "Observer"),
    "set_observer": ("index.common.observe", "set_observer"),
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    """Import the module that holds `name` on first use (PEP 562)."""
    try:
        module, attribute = _PUBLIC[name]
    except KeyError:
        raise AttributeError(f"module 'index' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_PUBLIC})
