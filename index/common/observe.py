"""What the engine reports as it works, for whoever watches (the service's `/metrics`).

The engine never imports a metrics library. It reports through the process's one
`Observer`: the time of each step of a claim, each model call with how many texts or
pairs it carried, and each failed index reload. By default nobody listens (the methods do
nothing); the service installs a Prometheus observer (`service/metrics.py`) with
`set_observer`.

Steps, in the order a claim goes through them: `encode` (the claim's vector), `vector_search`
(FAISS), `bm25`, `checks` (figures, dates, names), `judge` (the NLI model).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)

STEPS = ("encode", "vector_search", "bm25", "checks", "judge", "reviews")


class Observer:
    """Does nothing; subclass it to record."""

    def step(self, name: str, seconds: float) -> None:
        """One step (one of STEPS) of one request took `seconds` (for all the request's claims)."""

    def model_call(self, model: str, items: int, seconds: float) -> None:
        """One call of `model` ("embedder" or "judge") carried `items` texts or pairs."""

    def reload_failed(self) -> None:
        """A new index version could not be loaded; the previous one is still served."""


class _Guarded(Observer):
    """An observer whose failures are logged, never raised: watching must not fail a claim."""

    def __init__(self, inner: Observer):
        self.inner = inner

    def step(self, name: str, seconds: float) -> None:
        self._call(self.inner.step, name, seconds)

    def model_call(self, model: str, items: int, seconds: float) -> None:
        self._call(self.inner.model_call, model, items, seconds)

    def reload_failed(self) -> None:
        self._call(self.inner.reload_failed)

    @staticmethod
    def _call(method, *args) -> None:
        try:
            method(*args)
        except Exception:
            log.exception("observer %s failed; the request goes on", method.__qualname__)


_observer: Observer = Observer()


def observer() -> Observer:
    return _observer


def set_observer(new: Observer) -> Observer:
    """Install `new` for this process (its failures are logged, not raised); returns the previous one."""
    global _observer
    previous, _observer = _observer, _Guarded(new)
    return previous.inner if isinstance(previous, _Guarded) else previous


@contextmanager
def timed(step: str) -> Iterator[None]:
    """Report the time the block takes as `step`."""
    started = time.perf_counter()
    try:
        yield
    finally:
        _observer.step(step, time.perf_counter() - started)
