"""Service configuration: one object, read from the environment (documented in docs/operations.md, "Configuration")."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields

from index import (
    ARCHIVE_POLL_SECONDS,
    ARCHIVE_POOL_MAX,
    ARCHIVE_STATEMENT_TIMEOUT_MS,
    BACKENDS,
    DEFAULT_BACKEND,
    DEFAULT_CACHE_PAIRS,
    DEFAULT_SNAPSHOT_AFTER,
    DEGRADED_RULES,
    MAX_BATCH_TEXTS,
)


def _bool(value: str) -> bool:
    if value.strip().lower() in {"1", "true", "yes", "on"}:
        return True
    if value.strip().lower() in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"not a boolean: {value!r}")


# The Settings fields that bound a request's size (service/schemas.py binds them per app).
REQUEST_LIMITS = (
    "max_claim_chars", "max_batch_claims", "max_top_k", "max_article_chars", "max_articles_per_request",
    "max_draft_chars",
)  # fmt: skip


@dataclass(frozen=True)
class Settings:
    index_dir: str = "var/index"
    # The shared archive (docs/archive.md, "Several hosts"): unset = INDEX_DIR/archive.sqlite on
    # this machine; postgresql://… = PostgreSQL, with INDEX_DIR this host's replica and snapshots.
    # Never shown (repr, logs, /v1/index) with its password.
    archive_url: str | None = field(default=None, repr=False)
    archive_pool_max: int = ARCHIVE_POOL_MAX  # connections per worker
    archive_statement_timeout_ms: int = ARCHIVE_STATEMENT_TIMEOUT_MS  # also bounds the wait for the write lock
    archive_poll_seconds: float = ARCHIVE_POLL_SECONDS  # pull even without a NOTIFY this often
    embedding_model: str | None = None  # local directory; None = the packaged all-MiniLM-L6-v2
    embedding_backend: str = DEFAULT_BACKEND  # torch | onnx | onnx-int8 (see index/retrieval/embedder.py)
    onnx_dir: str | None = None  # the model's ONNX export; None = var/models/<model>-onnx
    # The NLI judge: unset = the shipped model (degraded, with a warning, if it is missing);
    # a directory = that model (the worker is not ready if it cannot load); "off" = none.
    nli_model: str | None = None
    # The judge's readings kept per worker (0: none): re-checked drafts and repeated claims skip the model.
    judge_cache_pairs: int = DEFAULT_CACHE_PAIRS
    # A rules file (`scripts/evaluate.py --reviews --fit`): the verdict's cut-offs and confidence
    # map refitted on the newsroom's reviews, in place of the shipped ones (index/judging/stance.py).
    rules_file: str | None = None
    # The query adapter of review matching (index/reviews/adapter.py): unset = the shipped one
    # (models/review-adapter; plain matching, with a warning, if it is missing); a directory = that
    # one (the worker is not ready if it cannot load); "off" = none, the claim's plain vector.
    review_adapter: str | None = None
    support_threshold: float = DEGRADED_RULES.support_cosine
    max_request_bytes: int = 4 * 1024 * 1024  # also bounds a batch of posted articles
    # Threads per worker for every model and search runtime (ONNX Runtime, torch, FAISS, BLAS):
    # workers × threads should not exceed the cores. TORCH_THREADS, its old name, still works.
    model_threads: int = 1
    # Texts one model call may carry for concurrent requests in a worker (1: no batching).
    encode_batch_texts: int = MAX_BATCH_TEXTS
    # False: a worker takes requests only once loaded, so no client sees a 503 while it boots.
    # True: /healthz answers at once and /readyz turns 200 when loading is done.
    load_in_background: bool = False
    log_level: str = "INFO"
    cors_origins: tuple[str, ...] = ()  # CORS_ORIGINS: comma-separated origins, or * for any
    # API_KEYS: comma-separated `name:role:key` (role `read` or `write`); API_KEYS_FILE: one per line.
    api_keys: tuple[str, ...] = ()
    api_keys_file: str | None = None
    require_auth_for_reads: bool = False
    snapshot_after: int = DEFAULT_SNAPSHOT_AFTER  # sentences written before a new snapshot is taken
    # Request limits (422 beyond): part of the API contract. The committed openapi.yaml has
    # these defaults; an app's /openapi.yaml shows the ones in force (service/schemas.py).
    max_claim_chars: int = 1000
    max_batch_claims: int = 64
    max_top_k: int = 50
    max_article_chars: int = 200_000
    max_articles_per_request: int = 100
    # A draft for /v1/drafts/check: 120,000 characters holds a 1,000-line debate transcript (95k
    # characters, 363 claims: 12 s at the median on one worker thread, judge on; BENCHMARKS.md,
    # "Checking a transcript"), within WORKER_TIMEOUT; a long story is 7,000.
    max_draft_chars: int = 120_000

    def __post_init__(self):
        # gunicorn takes any case (gunicorn.conf.py lower-cases it); Python's logging only upper case.
        level = self.log_level.strip().upper()
        if level not in {"CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"}:
            raise ValueError(f"invalid LOG_LEVEL={self.log_level!r}: not a log level")
        object.__setattr__(self, "log_level", level)
        for name in ("encode_batch_texts", *REQUEST_LIMITS):
            if getattr(self, name) < 1:
                raise ValueError(f"invalid {name.upper()}={getattr(self, name)}: must be at least 1")
        if self.archive_url and not self.archive_url.startswith(("postgresql://", "postgres://")):
            raise ValueError("invalid ARCHIVE_URL: must start with postgresql:// (unset: the local SQLite archive)")
        for name in ("archive_pool_max", "archive_statement_timeout_ms"):
            if getattr(self, name) < 1:
                raise ValueError(f"invalid {name.upper()}={getattr(self, name)}: must be at least 1")
        if self.archive_poll_seconds <= 0:
            raise ValueError(f"invalid ARCHIVE_POLL_SECONDS={self.archive_poll_seconds}: must be above 0")
        if self.judge_cache_pairs < 0:
            raise ValueError(f"invalid JUDGE_CACHE_PAIRS={self.judge_cache_pairs}: must be 0 (off) or more")
        if self.embedding_backend not in BACKENDS:
            raise ValueError(
                f"invalid EMBEDDING_BACKEND={self.embedding_backend!r}: must be one of {', '.join(BACKENDS)}"
            )

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Each field from the upper-case environment variable of the same name, if set."""
        environ = dict(os.environ if environ is None else environ)
        if not environ.get("MODEL_THREADS") and environ.get("TORCH_THREADS"):
            environ["MODEL_THREADS"] = environ["TORCH_THREADS"]  # the old name
        return _from_env(cls, environ)


def _from_env(cls, environ: dict[str, str] | None):
    environ = os.environ if environ is None else environ
    values = {}
    for f in fields(cls):
        raw = environ.get(f.name.upper())
        if raw is None or raw == "":
            continue
        kind = f.type if isinstance(f.type, str) else f.type.__name__
        try:
            if kind.startswith("tuple"):
                values[f.name] = tuple(o.strip() for o in raw.split(",") if o.strip())
            elif kind.startswith("bool"):
                values[f.name] = _bool(raw)
            elif kind.startswith("int"):
                values[f.name] = int(raw)
            elif kind.startswith("float"):
                values[f.name] = float(raw)
            else:
                values[f.name] = raw
        except ValueError as exc:
            raise ValueError(f"invalid {f.name.upper()}={raw!r}: {exc}") from exc
    return cls(**values)


def check_environment() -> None:
    """Exit with one line naming the bad setting, before any worker starts (gunicorn.conf.py
    runs this in a subprocess: the master itself must not import FAISS before it forks)."""
    from service.auth import load_keys

    try:
        settings = Settings.from_env()
        load_keys(settings.api_keys, settings.api_keys_file)
    except ValueError as exc:
        raise SystemExit(f"claimcheck: invalid configuration: {exc}") from None


if __name__ == "__main__":
    check_environment()
