"""Encoding the claims of concurrent requests together, one model call at a time.

A gunicorn worker serves several requests at once on its threads, and each one needs its
claim embedded. One model call on 8 short texts costs about 80% of 8 calls on one text
each (BENCHMARKS.md, "Serving"), and the model runs one call at a time per worker anyway
(one runtime thread per worker, so workers don't fight over the cores). So callers queue,
and whoever finds the model idle runs it for everybody queued. There is no timer: a lone
request never waits for company, and under load every call carries what arrived while
the previous one ran.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from index.embedder import Embedder

# Texts per model call at most (a request bigger than this still goes alone, in one call).
MAX_BATCH_TEXTS = 64


@dataclass(eq=False)
class _Job:
    texts: list[str]
    vectors: np.ndarray | None = None
    error: BaseException | None = None
    done: bool = False

    def result(self) -> np.ndarray:
        if self.error is not None:
            raise self.error
        return self.vectors


@dataclass(frozen=True)
class BatchingStats:
    calls: int  # model calls made
    jobs: int  # encode() calls served
    texts: int

    @property
    def jobs_per_call(self) -> float:
        return self.jobs / self.calls if self.calls else 0.0


class BatchingEmbedder(Embedder):
    """An `Embedder` whose `encode` is safe to call from many threads and batches their texts.

    Everything else (name, dimension, token counts) is the wrapped embedder's.
    """

    def __init__(self, embedder: Embedder, max_batch_texts: int = MAX_BATCH_TEXTS):
        self.inner = embedder
        self.name = embedder.name
        self.backend = embedder.backend
        self.batch_size = embedder.batch_size
        self.max_batch_texts = max_batch_texts
        self._changed = threading.Condition()
        self._queue: deque[_Job] = deque()
        self._running = False
        self._calls = self._jobs = self._texts = 0

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    @property
    def max_tokens(self) -> int:
        return self.inner.max_tokens

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        # Not beside a model call: a transformers tokenizer is shared state ("Already borrowed").
        with self._changed:
            while self._running:
                self._changed.wait()
            self._running = True
        try:
            return self.inner.token_counts(texts)
        finally:
            with self._changed:
                self._running = False
                self._changed.notify_all()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        job = _Job(list(texts))
        with self._changed:
            self._queue.append(job)
        # Jobs run in arrival order; a caller may run a call or two for others before its own.
        while True:
            with self._changed:
                while self._running and not job.done:
                    self._changed.wait()
                if job.done:
                    return job.result()
                batch = self._take()
                self._running = True
            self._run(batch)

    def stats(self) -> BatchingStats:
        with self._changed:
            return BatchingStats(self._calls, self._jobs, self._texts)

    def _take(self) -> list[_Job]:
        """The oldest queued jobs, up to `max_batch_texts` texts (always at least one job)."""
        batch = [self._queue.popleft()]
        size = len(batch[0].texts)
        while self._queue and size + len(self._queue[0].texts) <= self.max_batch_texts:
            size += len(self._queue[0].texts)
            batch.append(self._queue.popleft())
        return batch

    def _run(self, batch: list[_Job]) -> None:
        vectors, error = None, None
        try:
            vectors = self.inner.encode([text for job in batch for text in job.texts])
        except BaseException as exc:  # every caller in the batch gets the error, and the queue moves on
            error = exc
        finally:
            with self._changed:
                start = 0
                for job in batch:
                    if error is None and vectors is not None:
                        job.vectors = vectors[start : start + len(job.texts)]
                        start += len(job.texts)
                    else:
                        job.error = error or RuntimeError("encode did not finish")
                    job.done = True
                self._calls += 1
                self._jobs += len(batch)
                self._texts += start
                self._running = False
                self._changed.notify_all()
