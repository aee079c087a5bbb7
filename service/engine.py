"""The process's one `ClaimVerifier`: loaded once per worker, after fork, optionally in the background."""

from __future__ import annotations

import logging
import threading

from flask import current_app

from index import (
    RULES,
    ArticleWriter,
    ClaimVerifier,
    Embedder,
    NliModelMissing,
    NliScorer,
    PostgresArchive,
    QueryAdapter,
    VerdictRules,
    load_adapter,
    load_embedder,
    load_index,
    load_nli,
    read_rules_file,
)
from service.config import Settings
from service.errors import ApiError

log = logging.getLogger(__name__)


class VerifierHolder:
    """Holds the verifier once loaded, or the reason it could not be."""

    def __init__(self, verifier: ClaimVerifier | None = None, snapshot_after: int | None = None):
        self.verifier = verifier
        self.writer = ArticleWriter(verifier, **_writer_options(snapshot_after)) if verifier else None
        self.error: str | None = None
        self._lock = threading.Lock()

    @property
    def ready(self) -> bool:
        return self.verifier is not None

    def reason(self) -> str:
        return self.error or "loading the model and index"

    def load(self, settings: Settings) -> None:
        """Load the model and the index; on failure keep the reason for /readyz and log it."""
        with self._lock:
            if self.verifier is not None:
                return
            try:
                embedder = load_embedder(
                    settings.embedding_model,
                    threads=settings.model_threads,
                    backend=settings.embedding_backend,
                    onnx_dir=settings.onnx_dir,
                )
                index = load_index(settings.index_dir, _primary(settings))
                nli, degraded_reason = _load_judge(settings)
                rules, rules_source = _load_rules(settings, nli)
                adapter = _load_review_adapter(settings, embedder)
                verifier = ClaimVerifier(
                    embedder,
                    index,
                    support_threshold=settings.support_threshold,
                    nli=nli,
                    encode_batch_texts=settings.encode_batch_texts,
                    degraded_reason=degraded_reason,
                    rules=rules,
                    rules_source=rules_source,
                    review_adapter=adapter,
                )
                self.writer = ArticleWriter(verifier, **_writer_options(settings.snapshot_after))
                self.verifier = verifier
            except Exception as exc:  # any failure must leave the process up and not ready
                self.error = f"{type(exc).__name__}: {exc}"
                log.error("index not loaded, service not ready: %s", self.error)
                return
            m = index.manifest
            log.info(
                "ready: index %s (%d articles, %d sentences), model %s on %s, judge %s",
                m.version,
                m.articles,
                m.sentences,
                m.model,
                embedder.backend,
                nli.name if nli else f"none (degraded: {degraded_reason})",
            )

    def start(self, settings: Settings, background: bool) -> None:
        if self.verifier is not None:
            return
        if background:
            threading.Thread(target=self.load, args=(settings,), name="load-index", daemon=True).start()
        else:
            self.load(settings)


def _primary(settings: Settings) -> PostgresArchive | None:
    """The shared archive, if ARCHIVE_URL names one (its pool opens without waiting for it)."""
    if not settings.archive_url:
        return None
    return PostgresArchive(
        settings.archive_url,
        pool_max=settings.archive_pool_max,
        statement_timeout_ms=settings.archive_statement_timeout_ms,
        poll_seconds=settings.archive_poll_seconds,
    )


def _load_judge(settings: Settings) -> tuple[NliScorer | None, str | None]:
    """(the NLI judge, None) or (None, why not). A model named by NLI_MODEL must load (the
    exception keeps the worker not ready); the shipped default may be missing (degraded)."""
    if (settings.nli_model or "").lower() == "off":
        return None, "NLI_MODEL=off"
    if settings.nli_model:
        return load_nli(
            settings.nli_model, threads=settings.model_threads, cache_pairs=settings.judge_cache_pairs
        ), None
    try:
        return load_nli(None, threads=settings.model_threads, cache_pairs=settings.judge_cache_pairs), None
    except NliModelMissing as exc:
        log.error("no NLI judge, verdicts are degraded: %s", exc)
        return None, str(exc)


def _load_rules(settings: Settings, nli: NliScorer | None) -> tuple[VerdictRules, dict]:
    """The verdict rules the judge uses, and where they come from: RULES_FILE (it must be fitted
    for the loaded judge, else the worker is not ready) or the shipped `RULES`."""
    if not settings.rules_file:
        return RULES, {"file": None}
    if nli is None:
        log.warning("RULES_FILE=%s is not used: no judge, the degraded rules decide", settings.rules_file)
        return RULES, {"file": None}
    rules, fitted_on = read_rules_file(settings.rules_file, nli.identity)
    log.info("verdict rules from %s (fitted on %s)", settings.rules_file, fitted_on)
    return rules, {"file": settings.rules_file, "fitted_on": fitted_on}


def _load_review_adapter(settings: Settings, embedder: Embedder) -> QueryAdapter | None:
    """The query adapter of review matching: none unless REVIEW_ADAPTER names one (`shipped`:
    models/review-adapter). It is off by default since issue 36: trained on tweets, it lowers
    MAP@5 on debate sentences (dev 0.398 → 0.388 alone; benchmarks/same_claim_fit.py). A named
    adapter must load for this embedder (the exception keeps the worker not ready)."""
    choice = (settings.review_adapter or "").strip()
    if not choice or choice.lower() == "off":
        return None
    named = {} if choice.lower() == "shipped" else {"directory": choice}
    adapter = load_adapter(**named, model=embedder.name, dimension=embedder.dimension)
    log.info("review matching with the query adapter sha256 %s", adapter.sha256[:12])
    return adapter


def _writer_options(snapshot_after: int | None) -> dict:
    return {} if snapshot_after is None else {"snapshot_after": snapshot_after}


def get_writer() -> ArticleWriter:
    """The article writer (same readiness rules as `get_verifier`)."""
    get_verifier()
    return current_app.extensions["verifier"].writer


def get_verifier() -> ClaimVerifier:
    """The loaded verifier, or a 503 with Retry-After while it is loading or failed to load."""
    holder: VerifierHolder = current_app.extensions["verifier"]
    if holder.verifier is None:
        raise ApiError(503, "not_ready", "The service is not ready yet; see /readyz.", headers={"Retry-After": "5"})
    return holder.verifier
