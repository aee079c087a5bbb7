"""Service configuration: one object, read from the environment (documented in the README)."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields

from index.verify import DEFAULT_SUPPORT_THRESHOLD
from index.writer import DEFAULT_SNAPSHOT_AFTER


def _bool(value: str) -> bool:
    if value.strip().lower() in {"1", "true", "yes", "on"}:
        return True
    if value.strip().lower() in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"not a boolean: {value!r}")


@dataclass(frozen=True)
class Settings:
    index_dir: str = "var/index"
    embedding_model: str | None = None  # local directory; None = the packaged all-MiniLM-L6-v2
    nli_model: str | None = None  # local NLI CrossEncoder directory; None = explicit checks only
    support_threshold: float = DEFAULT_SUPPORT_THRESHOLD
    max_request_bytes: int = 4 * 1024 * 1024  # also bounds a batch of posted articles
    torch_threads: int = 1  # per worker: workers × threads should not exceed the cores
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

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Each field from the upper-case environment variable of the same name, if set."""
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
        if "log_level" in values:
            # gunicorn takes any case (gunicorn.conf.py lower-cases it); Python's logging only upper case.
            level = values["log_level"].strip().upper()
            if level not in {"CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"}:
                raise ValueError(f"invalid LOG_LEVEL={values['log_level']!r}: not a log level")
            values["log_level"] = level
        return cls(**values)
